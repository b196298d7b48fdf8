//! Decoding of request paths and query strings, and the path prefix of the control API.

/// The control API prefix (`control` serves under it; attachment URLs point into it).
pub const CONTROL_PREFIX: &str = "/_emulator";

/// Percent-decodes a path segment or query value (UTF-8; invalid escapes stay as written,
/// invalid UTF-8 becomes U+FFFD). With `plus_is_space`, `+` decodes to a space (queries).
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' && i + 2 < bytes.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if plus_is_space && b == b'+' { b' ' } else { b });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The segments of a path after a prefix, decoded: `/a/%40me` gives `["a", "@me"]`.
pub fn segments(path: &str) -> Vec<String> {
    path.trim_start_matches('/')
        .split('/')
        .map(|s| percent_decode(s, false))
        .collect()
}

/// `a=1&b=x%20y` as decoded pairs; keys without `=` get an empty value.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes() {
        assert_eq!(percent_decode("%E2%9C%85", false), "✅");
        assert_eq!(percent_decode("%F0%9F%91%8D", false), "👍");
        assert_eq!(percent_decode("%40me", false), "@me");
        assert_eq!(percent_decode("100%", false), "100%");
        assert_eq!(percent_decode("%4", false), "%4");
        assert_eq!(percent_decode("%zz", false), "%zz");
        assert_eq!(percent_decode("a+b", true), "a b");
        assert_eq!(
            segments("/channels/1/messages"),
            ["channels", "1", "messages"]
        );
        assert_eq!(
            query_pairs(Some("limit=5&after=12&x")),
            vec![
                ("limit".to_string(), "5".to_string()),
                ("after".to_string(), "12".to_string()),
                ("x".to_string(), String::new())
            ]
        );
    }
}
