//! An independent checker for `POST /channels/{id}/messages` bodies: Discord's OpenAPI schema
//! (`MessageCreateRequest`, draft 2020-12) plus the documented limits the spec does not encode.
//!
//! Shared by the end-to-end tests (`tests/common/lib.rs`) and the guest's property tests
//! (`guest/tests/common/mod.rs`, via `#[path]`), so both hold the renderer to the same rules.
//! Needs only `serde_json` and `jsonschema` (0.61).
//!
//! Lengths are counted in UTF-16 units without trimming: never less than Discord's own count,
//! and the unit the renderer promises to respect.

#![allow(dead_code)]

use std::sync::OnceLock;

use jsonschema::{Draft, Registry, Validator};
use serde_json::{json, Value};

/// Discord's OpenAPI document, as vendored by the emulator.
const SPEC: &str = include_str!("../../emulator/spec/openapi.json");
const SPEC_URI: &str = "urn:discord-openapi";
/// JSON pointer of the create-message request body schema.
pub const MESSAGE_CREATE: &str = "#/components/schemas/MessageCreateRequest";

/// Discord's documented limits, from
/// <https://discord.com/developers/docs/resources/message#create-message> and
/// <https://discord.com/developers/docs/resources/message#embed-object-embed-limits>.
///
/// The component names the same limits in `guest/src/render` (`render::limits`). This copy is
/// kept independent on purpose: a checker that imported the numbers from the code it checks
/// would agree with any mistake in them.
pub mod limits {
    /// Characters of `content`.
    pub const CONTENT: usize = 2000;
    /// Embeds per message.
    pub const EMBEDS: usize = 10;
    /// Characters of an embed title.
    pub const TITLE: usize = 256;
    /// Characters of an embed description.
    pub const DESCRIPTION: usize = 4096;
    /// Fields per embed.
    pub const FIELDS: usize = 25;
    /// Characters of a field name.
    pub const FIELD_NAME: usize = 256;
    /// Characters of a field value.
    pub const FIELD_VALUE: usize = 1024;
    /// Characters of an embed footer.
    pub const FOOTER: usize = 2048;
    /// Characters of an embed author name.
    pub const AUTHOR: usize = 256;
    /// Characters of all embeds of a message together.
    pub const EMBED_TOTAL: usize = 6000;
    /// Characters of a nonce.
    pub const NONCE: usize = 25;
}

fn spec() -> &'static Value {
    static SPEC_JSON: OnceLock<Value> = OnceLock::new();
    SPEC_JSON.get_or_init(|| serde_json::from_str(SPEC).expect("the OpenAPI spec is JSON"))
}

fn registry() -> &'static Registry<'static> {
    static REGISTRY: OnceLock<Registry<'static>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        Registry::new()
            .draft(Draft::Draft202012)
            .add(SPEC_URI, spec())
            .and_then(jsonschema::RegistryBuilder::prepare)
            .expect("spec registry")
    })
}

/// The validator for `MessageCreateRequest`, built once per process.
pub fn message_create_validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| {
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(registry())
            .build(&json!({ "$ref": format!("{SPEC_URI}{MESSAGE_CREATE}") }))
            .expect("MessageCreateRequest validator")
    })
}

/// Length as counted for the limits: UTF-16 units, untrimmed (>= Discord's count).
pub fn units(s: &str) -> usize {
    s.encode_utf16().count()
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Every problem with a create-message body: schema errors, then limit errors. Empty = valid.
pub fn create_body_problems(body: &Value) -> Vec<String> {
    let mut out: Vec<String> = message_create_validator()
        .iter_errors(body)
        .map(|e| format!("schema: {e} at '{}'", e.instance_path()))
        .collect();
    let mut max = |what: String, s: &str, limit: usize| -> usize {
        let n = units(s);
        if n > limit {
            out.push(format!("{what}: {n} > {limit}"));
        }
        n
    };
    let content = str_at(body, "content");
    if let Some(c) = content {
        max("content".into(), c, limits::CONTENT);
    }
    if let Some(n) = str_at(body, "nonce") {
        max("nonce".into(), n, limits::NONCE);
    }
    let embeds = body.get("embeds").and_then(Value::as_array);
    let mut total = 0;
    let mut blank: Vec<String> = Vec::new();
    for (i, e) in embeds.into_iter().flatten().enumerate() {
        if let Some(t) = str_at(e, "title") {
            total += max(format!("embeds[{i}].title"), t, limits::TITLE);
        }
        if let Some(d) = str_at(e, "description") {
            total += max(format!("embeds[{i}].description"), d, limits::DESCRIPTION);
        }
        if let Some(f) = e.get("footer") {
            let t = str_at(f, "text").unwrap_or("");
            if t.trim().is_empty() {
                blank.push(format!("embeds[{i}].footer.text is blank"));
            }
            total += max(format!("embeds[{i}].footer.text"), t, limits::FOOTER);
        }
        if let Some(a) = e.get("author") {
            let n = str_at(a, "name").unwrap_or("");
            if n.trim().is_empty() {
                blank.push(format!("embeds[{i}].author.name is blank"));
            }
            total += max(format!("embeds[{i}].author.name"), n, limits::AUTHOR);
        }
        let fields = e.get("fields").and_then(Value::as_array);
        if fields.is_some_and(|f| f.len() > limits::FIELDS) {
            blank.push(format!(
                "embeds[{i}].fields: {} > {}",
                fields.map_or(0, Vec::len),
                limits::FIELDS
            ));
        }
        for (j, f) in fields.into_iter().flatten().enumerate() {
            let name = str_at(f, "name").unwrap_or("");
            let value = str_at(f, "value").unwrap_or("");
            if name.trim().is_empty() || value.trim().is_empty() {
                blank.push(format!("embeds[{i}].fields[{j}] has a blank name or value"));
            }
            total += max(
                format!("embeds[{i}].fields[{j}].name"),
                name,
                limits::FIELD_NAME,
            );
            total += max(
                format!("embeds[{i}].fields[{j}].value"),
                value,
                limits::FIELD_VALUE,
            );
        }
    }
    if total > limits::EMBED_TOTAL {
        out.push(format!(
            "embeds: {total} characters in all > {}",
            limits::EMBED_TOTAL
        ));
    }
    let n_embeds = embeds.map_or(0, Vec::len);
    if n_embeds > limits::EMBEDS {
        out.push(format!("embeds: {n_embeds} > {}", limits::EMBEDS));
    }
    if content.is_none_or(|c| c.trim().is_empty()) && n_embeds == 0 {
        out.push("the message has neither content nor embeds".into());
    }
    out.extend(blank);
    out
}

/// Panics with every problem if `body` is not a valid create-message body.
pub fn assert_valid_create_body(body: &Value) {
    let problems = create_body_problems(body);
    assert!(
        problems.is_empty(),
        "invalid create-message body: {problems:#?}\nbody: {}",
        truncate_for_log(&body.to_string())
    );
}

/// At most ~2000 characters of `s`, for panic messages.
pub fn truncate_for_log(s: &str) -> String {
    if s.chars().count() <= 2000 {
        s.to_string()
    } else {
        format!(
            "{}… ({} chars)",
            s.chars().take(2000).collect::<String>(),
            s.chars().count()
        )
    }
}

#[cfg(test)]
mod self_tests {
    use super::*;

    #[test]
    fn the_checker_rejects_what_discord_rejects() {
        assert!(create_body_problems(&json!({"content": "hi"})).is_empty());
        let cases = [
            json!({"content": "x".repeat(2001)}),
            json!({"content": "  "}),
            json!({"content": 5}),
            json!({"embeds": [{"title": "t".repeat(257)}]}),
            json!({"embeds": [{"description": "d".repeat(4097)}]}),
            json!({"embeds": [{"description": "d".repeat(4000)}, {"description": "d".repeat(2001)}]}),
            json!({"embeds": (0..11).map(|_| json!({"title": "t"})).collect::<Vec<_>>()}),
            json!({"embeds": [{"fields": (0..26).map(|_| json!({"name": "n", "value": "v"})).collect::<Vec<_>>()}]}),
            json!({"embeds": [{"fields": [{"name": "n".repeat(257), "value": "v"}]}]}),
            json!({"embeds": [{"fields": [{"name": "n", "value": "v".repeat(1025)}]}]}),
            json!({"embeds": [{"footer": {"text": "f".repeat(2049)}}]}),
            json!({"embeds": [{"author": {"name": "a".repeat(257)}}]}),
            json!({"content": "x", "nonce": "n".repeat(26)}),
        ];
        for c in cases {
            assert!(!create_body_problems(&c).is_empty(), "accepted {c}");
        }
    }
}
