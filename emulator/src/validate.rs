//! Validation against Discord's OpenAPI spec and Discord's documented limits.
//!
//! The spec (`spec/openapi.json`, MIT, from discord/discord-api-spec) is compiled in. Validators
//! are built on first use, one per JSON pointer, and cached for the whole process, so many
//! emulators in one test binary share them. [`warm_up`] builds every validator the emulator uses.
//!
//! Request bodies are checked against the spec *and* Discord's real limits, which are stricter
//! in places: the spec allows 4000 characters of `content` where a bot gets 2000, and it has no
//! 6000-character total over a message's embeds (see
//! <https://discord.com/developers/docs/resources/message#create-message> and
//! <https://discord.com/developers/docs/resources/message#embed-object-embed-limits>). Problems
//! become Discord-shaped `errors` trees for a 400 50035 answer. Response bodies are checked against the spec schema of their operation and
//! status; error bodies only at the top level (`{"code": int, "message": str}`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use jsonschema::{Draft, Registry, RegistryBuilder, Validator};
use serde_json::{json, Map, Value};

/// The spec document, compiled in.
const SPEC: &str = include_str!("../spec/openapi.json");
/// The URI the spec is registered under.
const SPEC_URI: &str = "urn:discord-openapi";

/// Request body of `POST /channels/{channel_id}/messages`.
pub const MESSAGE_CREATE: &str = "#/components/schemas/MessageCreateRequest";
/// Request body of `PATCH /channels/{channel_id}/messages/{message_id}`.
pub const MESSAGE_EDIT: &str = "#/components/schemas/MessageEditRequestPartial";
/// Request body of `POST /channels/{channel_id}/messages/{message_id}/threads`.
pub const THREAD_CREATE: &str = "#/components/schemas/CreateTextThreadWithMessageRequest";
/// Request body of `POST /webhooks/{webhook_id}/{webhook_token}` (execute_webhook): `anyOf`
/// [`INCOMING_WEBHOOK`] and `IncomingWebhookUpdateRequestPartial`; see [`webhook_errors`].
pub const WEBHOOK_EXECUTE: &str = "#/paths/~1webhooks~1{webhook_id}~1{webhook_token}/post/requestBody/content/application~1json/schema";
/// The fuller branch of [`WEBHOOK_EXECUTE`], whose errors are reported when neither matches.
pub const INCOMING_WEBHOOK: &str = "#/components/schemas/IncomingWebhookRequestPartial";
/// Top level of any error body (the spec's `ErrorResponse` cannot hold real field errors).
pub const ERROR: &str = "#/components/schemas/Error";
/// A 429 body.
pub const RATE_LIMITED: &str = "#/components/schemas/RatelimitedResponse";
/// Longest webhook name (and `username` override of an execute).
pub const WEBHOOK_NAME_MAX: usize = 80;

/// The 200 schema of an operation: `path` as in the spec (`/channels/{channel_id}`).
pub fn ok_schema(path: &str, method: &str) -> String {
    response_schema(path, method, 200)
}

/// The JSON schema of an operation's answer with this status (`201` for thread creation).
pub fn response_schema(path: &str, method: &str, status: u16) -> String {
    let escaped = path.replace('~', "~0").replace('/', "~1");
    format!("#/paths/{escaped}/{method}/responses/{status}/content/application~1json/schema")
}

/// 200 schemas of the operations the emulator serves.
pub const OPERATIONS: &[(&str, &str)] = &[
    ("/users/@me", "get"),
    ("/channels/{channel_id}", "get"),
    ("/channels/{channel_id}/messages", "get"),
    ("/channels/{channel_id}/messages", "post"),
    ("/channels/{channel_id}/messages/{message_id}", "get"),
    ("/channels/{channel_id}/messages/{message_id}", "patch"),
    (
        "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}",
        "get",
    ),
    ("/guilds/{guild_id}/members/{user_id}", "get"),
    ("/webhooks/{webhook_id}/{webhook_token}", "post"),
];

/// 201 schemas of the operations the emulator serves.
pub const CREATED_OPERATIONS: &[(&str, &str)] = &[(
    "/channels/{channel_id}/messages/{message_id}/threads",
    "post",
)];

/// The spec, parsed once.
fn spec() -> Result<&'static Value, String> {
    static PARSED: OnceLock<Result<Value, String>> = OnceLock::new();
    PARSED
        .get_or_init(|| serde_json::from_str(SPEC).map_err(|e| format!("spec is not JSON: {e}")))
        .as_ref()
        .map_err(Clone::clone)
}

fn registry() -> Result<&'static Registry<'static>, String> {
    static REGISTRY: OnceLock<Result<Registry<'static>, String>> = OnceLock::new();
    REGISTRY
        .get_or_init(|| {
            Registry::new()
                .draft(Draft::Draft202012)
                .add(SPEC_URI, spec()?)
                .and_then(RegistryBuilder::prepare)
                .map_err(|e| format!("spec registry: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Whether `method` on a path (decoded segments after `/api/v10`) is an operation in the spec.
pub fn in_spec(method: &str, segments: &[String]) -> bool {
    let Ok(spec) = spec() else { return false };
    let Some(paths) = spec.get("paths").and_then(Value::as_object) else {
        return false;
    };
    let method = method.to_ascii_lowercase();
    paths.iter().any(|(template, ops)| {
        let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
        parts.len() == segments.len()
            && parts
                .iter()
                .zip(segments)
                .all(|(p, s)| (p.starts_with('{') && !s.is_empty()) || p == s)
            && ops.get(&method).is_some()
    })
}

/// Percent-encodes what a URI fragment cannot hold (`{`, `}`), so pointers into `paths` work.
fn fragment(pointer: &str) -> String {
    pointer.replace('{', "%7B").replace('}', "%7D")
}

/// The cached validator for a JSON pointer into the spec (`#/components/...`).
pub fn validator(pointer: &str) -> Result<Arc<Validator>, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Validator>>>> = OnceLock::new();
    // One builder at a time: a thread that waited finds the validator built by the other.
    static BUILDING: Mutex<()> = Mutex::new(());
    let cache = CACHE.get_or_init(Default::default);
    let cached = || {
        cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(pointer)
            .cloned()
    };
    if let Some(v) = cached() {
        return Ok(v);
    }
    let _building = BUILDING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(v) = cached() {
        return Ok(v);
    }
    let registry = registry()?;
    let schema = json!({ "$ref": format!("{SPEC_URI}{}", fragment(pointer)) });
    let built = jsonschema::options()
        .with_draft(Draft::Draft202012)
        .with_registry(registry)
        .build(&schema)
        .map_err(|e| format!("schema {pointer}: {e}"))?;
    let built = Arc::new(built);
    cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(pointer.to_string(), built.clone());
    Ok(built)
}

/// Builds every validator the emulator uses (a few hundred ms in a debug build).
pub fn warm_up() -> Result<(), String> {
    for (path, method) in OPERATIONS {
        validator(&ok_schema(path, method))?;
    }
    for (path, method) in CREATED_OPERATIONS {
        validator(&response_schema(path, method, 201))?;
    }
    for p in [
        MESSAGE_CREATE,
        MESSAGE_EDIT,
        THREAD_CREATE,
        WEBHOOK_EXECUTE,
        INCOMING_WEBHOOK,
        ERROR,
        RATE_LIMITED,
    ] {
        validator(p)?;
    }
    Ok(())
}

/// One field problem, Discord style.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// Path to the field: object keys and array indices.
    pub path: Vec<String>,
    /// Discord's error code, e.g. `BASE_TYPE_MAX_LENGTH`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

impl FieldError {
    fn new(path: &[&str], code: &str, message: impl Into<String>) -> Self {
        FieldError {
            path: path.iter().map(ToString::to_string).collect(),
            code: code.to_string(),
            message: message.into(),
        }
    }

    fn at(path: Vec<String>, code: &str, message: impl Into<String>) -> Self {
        FieldError {
            path,
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// `embeds.0.title`-style name of the field, for violation messages.
    pub fn field(&self) -> String {
        if self.path.is_empty() {
            "(body)".to_string()
        } else {
            self.path.join(".")
        }
    }
}

/// Checks `instance` against the schema at `pointer`; `Err` only if the validator cannot be built.
pub fn schema_errors(pointer: &str, instance: &Value) -> Result<Vec<FieldError>, String> {
    let v = validator(pointer)?;
    let mut out = Vec::new();
    for err in v.iter_errors(instance) {
        let mut path: Vec<String> = err
            .instance_path()
            .segments()
            .map(|s| s.to_string())
            .collect();
        let (code, message) = match err.kind() {
            jsonschema::error::ValidationErrorKind::MaxLength { limit }
            | jsonschema::error::ValidationErrorKind::MaxItems { limit } => (
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {limit} or fewer in length."),
            ),
            jsonschema::error::ValidationErrorKind::MinLength { limit }
            | jsonschema::error::ValidationErrorKind::MinItems { limit } => (
                "BASE_TYPE_MIN_LENGTH",
                format!("Must be {limit} or more in length."),
            ),
            jsonschema::error::ValidationErrorKind::Required { property } => {
                path.push(property.as_str().unwrap_or_default().to_string());
                ("BASE_TYPE_REQUIRED", "This field is required".to_string())
            }
            _ => ("BASE_TYPE_INVALID", err.to_string()),
        };
        out.push(FieldError::at(path, code, message));
    }
    Ok(out)
}

/// Spec problems of an execute_webhook body. The spec's schema is `anyOf` two partial schemas
/// (marked `x-discord-union: oneOf`, but a plain body matches both, so it is checked as
/// `anyOf`): no problems if either matches; else the problems against
/// [`INCOMING_WEBHOOK`], which name fields (an `anyOf` failure alone names none).
pub fn webhook_errors(body: &Value) -> Result<Vec<FieldError>, String> {
    if schema_errors(WEBHOOK_EXECUTE, body)?.is_empty() {
        return Ok(Vec::new());
    }
    let detailed = schema_errors(INCOMING_WEBHOOK, body)?;
    if detailed.is_empty() {
        schema_errors(WEBHOOK_EXECUTE, body)
    } else {
        Ok(detailed)
    }
}

/// Whether a response body matches the schema at `pointer`; `Err` carries the reasons.
pub fn check_response(pointer: &str, body: &Value) -> Result<(), String> {
    let v = validator(pointer)?;
    let errors: Vec<String> = v
        .iter_errors(body)
        .take(5)
        .map(|e| format!("{} at '{}'", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// Builds Discord's nested `errors` object from field errors.
pub fn errors_tree(errors: &[FieldError]) -> Value {
    fn insert(node: &mut Map<String, Value>, path: &[String], error: Value) {
        match path.split_first() {
            None => {
                let list = node
                    .entry("_errors".to_string())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = list {
                    items.push(error);
                }
            }
            Some((head, rest)) => {
                let child = node
                    .entry(head.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = child {
                    insert(m, rest, error);
                }
            }
        }
    }
    let mut root = Map::new();
    for e in errors {
        insert(
            &mut root,
            &e.path,
            json!({ "code": e.code, "message": e.message }),
        );
    }
    Value::Object(root)
}

/// Merges limit errors and schema errors: a field that already has a limit error keeps only it.
pub fn merge(limit_errors: Vec<FieldError>, schema_errors: Vec<FieldError>) -> Vec<FieldError> {
    let mut out = limit_errors;
    let mut seen: BTreeMap<Vec<String>, ()> = out.iter().map(|e| (e.path.clone(), ())).collect();
    for e in schema_errors {
        if seen.contains_key(&e.path) {
            continue;
        }
        seen.insert(e.path.clone(), ());
        out.push(e);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Discord's limits (stricter than the spec, or not expressible in it).

/// Most characters in a message's content.
pub const CONTENT_MAX: usize = 2000;
/// Most embeds on a message.
pub const EMBEDS_MAX: usize = 10;
/// Most characters over all embeds' title, description, field names and values, footer text and
/// author name.
pub const EMBED_TOTAL_MAX: usize = 6000;
/// Most characters in a nonce.
pub const NONCE_MAX: usize = 25;

fn len(s: &str) -> usize {
    s.trim().chars().count()
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn non_empty_array(v: Option<&Value>) -> bool {
    v.and_then(Value::as_array).is_some_and(|a| !a.is_empty())
}

fn max_len(out: &mut Vec<FieldError>, path: Vec<String>, s: &str, max: usize) -> usize {
    let n = len(s);
    if n > max {
        out.push(FieldError::at(
            path,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {max} or fewer in length."),
        ));
    }
    n
}

/// Discord's limits on `content`, `embeds`, `nonce` and `allowed_mentions` of a create or edit body.
pub fn message_limits(body: &Value) -> Vec<FieldError> {
    let mut out = Vec::new();
    if let Some(content) = str_at(body, "content") {
        max_len(&mut out, vec!["content".into()], content, CONTENT_MAX);
    }
    if let Some(Value::String(nonce)) = body.get("nonce") {
        if nonce.chars().count() > NONCE_MAX {
            out.push(FieldError::new(
                &["nonce"],
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {NONCE_MAX} or fewer in length."),
            ));
        }
    }
    if let Some(embeds) = body.get("embeds").and_then(Value::as_array) {
        embed_limits(&mut out, embeds);
    }
    if let Some(am) = body.get("allowed_mentions").filter(|v| v.is_object()) {
        let parse: Vec<&str> = am
            .get("parse")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for kind in ["users", "roles"] {
            if parse.contains(&kind) && non_empty_array(am.get(kind)) {
                out.push(FieldError::new(
                    &["allowed_mentions", "parse"],
                    "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                    format!("parse:[\"{kind}\"] and {kind}: [ids...] are mutually exclusive."),
                ));
            }
        }
    }
    out
}

fn embed_limits(out: &mut Vec<FieldError>, embeds: &[Value]) {
    if embeds.len() > EMBEDS_MAX {
        out.push(FieldError::new(
            &["embeds"],
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {EMBEDS_MAX} or fewer in length."),
        ));
    }
    let mut total = 0usize;
    for (i, embed) in embeds.iter().enumerate() {
        let idx = i.to_string();
        let p = |rest: &[&str]| -> Vec<String> {
            let mut v = vec!["embeds".to_string(), idx.clone()];
            v.extend(rest.iter().map(ToString::to_string));
            v
        };
        if let Some(s) = str_at(embed, "title") {
            total += max_len(out, p(&["title"]), s, 256);
        }
        if let Some(s) = str_at(embed, "description") {
            total += max_len(out, p(&["description"]), s, 4096);
        }
        if let Some(footer) = embed.get("footer").filter(|v| v.is_object()) {
            match str_at(footer, "text") {
                Some(s) if !s.trim().is_empty() => {
                    total += max_len(out, p(&["footer", "text"]), s, 2048);
                }
                _ => out.push(FieldError::at(
                    p(&["footer", "text"]),
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                )),
            }
        }
        if let Some(author) = embed.get("author").filter(|v| v.is_object()) {
            match str_at(author, "name") {
                Some(s) if !s.trim().is_empty() => {
                    total += max_len(out, p(&["author", "name"]), s, 256);
                }
                _ => out.push(FieldError::at(
                    p(&["author", "name"]),
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                )),
            }
        }
        if let Some(fields) = embed.get("fields").and_then(Value::as_array) {
            if fields.len() > 25 {
                out.push(FieldError::at(
                    p(&["fields"]),
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 25 or fewer in length.",
                ));
            }
            for (j, field) in fields.iter().enumerate() {
                let j = j.to_string();
                for (key, max) in [("name", 256), ("value", 1024)] {
                    let path = p(&["fields", &j, key]);
                    match str_at(field, key) {
                        Some(s) if !s.trim().is_empty() => total += max_len(out, path, s, max),
                        _ => out.push(FieldError::at(
                            path,
                            "BASE_TYPE_REQUIRED",
                            "This field is required",
                        )),
                    }
                }
            }
        }
    }
    if total > EMBED_TOTAL_MAX {
        out.push(FieldError::new(
            &["embeds"],
            "MAX_EMBED_SIZE_EXCEEDED",
            format!("Embed size exceeds maximum size of {EMBED_TOTAL_MAX}"),
        ));
    }
}

/// Discord's limits on the webhook-only fields of an execute body: `username` 1-80 characters
/// and `avatar_url` at most 2048 (the spec's `anyOf` lets anything through there, since its
/// second branch does not list them).
pub fn webhook_limits(body: &Value) -> Vec<FieldError> {
    let mut out = Vec::new();
    if let Some(name) = str_at(body, "username") {
        let n = name.chars().count();
        if n == 0 || n > WEBHOOK_NAME_MAX {
            out.push(FieldError::new(
                &["username"],
                "BASE_TYPE_BAD_LENGTH",
                format!("Must be between 1 and {WEBHOOK_NAME_MAX} in length."),
            ));
        }
    }
    if let Some(url) = str_at(body, "avatar_url") {
        max_len(&mut out, vec!["avatar_url".into()], url, 2048);
    }
    if let Some(name) = str_at(body, "thread_name") {
        max_len(&mut out, vec!["thread_name".into()], name, 100);
    }
    out
}

/// Whether a create body has something to show (else Discord answers 50006); files count too,
/// and are checked by the caller.
pub fn has_payload(body: &Value) -> bool {
    str_at(body, "content").is_some_and(|c| !c.trim().is_empty())
        || ["embeds", "sticker_ids", "components", "attachments"]
            .iter()
            .any(|k| non_empty_array(body.get(*k)))
        || body.get("poll").is_some_and(|p| !p.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_nests_like_discord() {
        let t = errors_tree(&[
            FieldError::new(&["content"], "BASE_TYPE_MAX_LENGTH", "m"),
            FieldError::new(&["embeds", "0", "title"], "X", "y"),
        ]);
        assert_eq!(
            t,
            json!({"content":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH","message":"m"}]},
                   "embeds":{"0":{"title":{"_errors":[{"code":"X","message":"y"}]}}}})
        );
    }

    #[test]
    fn limits_catch_discord_rules() {
        let long = "x".repeat(2001);
        let e = message_limits(&json!({ "content": long }));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].field(), "content");
        // 2000 emoji are 2000 characters, fine.
        assert!(message_limits(&json!({ "content": "✅".repeat(2000) })).is_empty());
        let e = message_limits(&json!({"embeds":[{"fields":[{"name":"","value":"v"}]}]}));
        assert_eq!(e[0].field(), "embeds.0.fields.0.name");
        let big = "d".repeat(4000);
        let e = message_limits(
            &json!({"embeds":[{"description": big},{"description": "e".repeat(2001)}]}),
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].code, "MAX_EMBED_SIZE_EXCEEDED");
        assert!(!has_payload(&json!({"content":"   ","embeds":[]})));
        assert!(has_payload(&json!({"embeds":[{"title":"t"}]})));
    }

    #[test]
    fn spec_validators_build_and_check() {
        warm_up().expect("validators build");
        let errs = schema_errors(MESSAGE_CREATE, &json!({"content": 5, "tts": true})).unwrap();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field(), "content");
        assert!(check_response(ERROR, &json!({"code": 0, "message": "x"})).is_ok());
        assert!(check_response(ERROR, &json!({"message": "x"})).is_err());
        // Pointers into `paths` resolve to the real schemas (they reject an empty object).
        let created = CREATED_OPERATIONS
            .iter()
            .map(|(path, method)| response_schema(path, method, 201));
        for p in OPERATIONS
            .iter()
            .map(|(path, method)| ok_schema(path, method))
            .chain(created)
        {
            assert!(
                check_response(&p, &json!({})).is_err(),
                "{p} accepts anything"
            );
        }
        assert!(check_response(
            &ok_schema("/channels/{channel_id}/messages", "get"),
            &json!([])
        )
        .is_ok());
        assert!(in_spec("GET", &["gateway".to_string()]));
        assert!(!in_spec("GET", &["nope".to_string()]));
        assert!(in_spec(
            "DELETE",
            &["channels".to_string(), "1".to_string()]
        ));
    }
}
