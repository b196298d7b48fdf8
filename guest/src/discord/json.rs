//! Any JSON value, read the way `serde_json::Value` reads it (the same values accepted, the same
//! numbers out of range refused) but holding only what the flavor looks at: objects, arrays and
//! strings. A typed stand-in for `Value` in Discord's answers, so the component carries no
//! `Value` machinery.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value; numbers, booleans and `null` are only known to be there.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// An object, its keys sorted and a repeated key's last value kept (as `Value` has them).
    Object(Vec<(String, Json)>),
    /// An array.
    Array(Vec<Json>),
    /// A string.
    Str(String),
    /// A number, a boolean or `null`.
    Other,
}

impl Json {
    /// The array's items (`None` for anything else).
    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The string (`None` for anything else).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// An object's value under `key` (`None` if it is no object or has no such key).
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(map) => map
                .binary_search_by(|(k, _)| k.as_str().cmp(key))
                .ok()
                .map(|i| &map[i].1),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Json, E> {
        Ok(Json::Other)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Json, E> {
        Ok(Json::Other)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Json, E> {
        Ok(Json::Other)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Json, E> {
        Ok(Json::Other)
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Other)
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Str(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::Str(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries: Vec<(String, Json)> = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        // Sorted by key (a stable sort keeps a repeated key's values in order), then each
        // repeated key keeps its last value.
        let order = crate::order::stable_order(entries.len(), &|a, b| entries[a].0 < entries[b].0);
        let entries = crate::order::permute(entries, &order);
        let mut object: Vec<(String, Json)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            match object.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => object.push((k, v)),
            }
        }
        Ok(Json::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::Json;

    /// Every value `serde_json::Value` reads, and only those: the same answer either way.
    #[test]
    fn reads_what_value_reads() {
        for text in [
            r#"{"b": [1, -2, 3.5, true, null, "x"], "a": {"_errors": []}}"#,
            r#"[1e400]"#,
            r#"{"a": 1e-400}"#,
            r#""\ud800""#,
            r#"{"a": "\u00e9\n"}"#,
            r#"{"a": 1,}"#,
            "18446744073709551616",
            "-9223372036854775809",
            r#"{"k": 1, "k": "last"}"#,
        ] {
            let ours = serde_json::from_str::<Json>(text).map_err(|e| e.to_string());
            let value = serde_json::from_str::<serde_json::Value>(text).map_err(|e| e.to_string());
            assert_eq!(ours.is_ok(), value.is_ok(), "{text}: {ours:?} vs {value:?}");
            if let (Err(a), Err(b)) = (&ours, &value) {
                assert_eq!(a, b, "{text}");
            }
        }
    }

    #[test]
    fn objects_are_sorted_and_keep_a_repeated_keys_last_value() {
        let j: Json = serde_json::from_str(r#"{"k": 1, "b": "x", "k": "last", "a": []}"#).unwrap();
        let Json::Object(map) = &j else {
            panic!("{j:?}")
        };
        let keys: Vec<&str> = map.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b", "k"]);
        assert_eq!(j.get("k").and_then(Json::as_str), Some("last"));
        assert_eq!(j.get("a").and_then(Json::as_array), Some(&[][..]));
        assert_eq!(j.get("z"), None);
        assert_eq!(Json::Other.get("a"), None);
    }
}
