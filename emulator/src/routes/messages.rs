//! The message routes: `POST` and `GET /channels/{channel_id}/messages`, `GET` and `PATCH
//! /channels/{channel_id}/messages/{message_id}`, and how request embeds and components become
//! the ones Discord returns.

use serde_json::{json, Map, Value};

use super::uploads;
use super::{
    channel, invalid_form, json_object, message_id, parse_limit, query, schema_problems,
    unknown_message, ApiRequest, Out,
};
use crate::mentions::Allowed;
use crate::reply::Reply;
use crate::snowflake;
use crate::state::NewMessage;
use crate::url;
use crate::validate::{self, FieldError};
use crate::Inner;

/// Spec path of the channel's message list.
const MESSAGES: &str = "/channels/{channel_id}/messages";
/// Spec path of one message.
const MESSAGE: &str = "/channels/{channel_id}/messages/{message_id}";
/// Message flags a bot may set: SUPPRESS_EMBEDS and SUPPRESS_NOTIFICATIONS.
pub(super) const SETTABLE_FLAGS: u64 = (1 << 2) | (1 << 12);

/// A nonce as a map key: a string or a number (anything else is no nonce).
fn nonce_key(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `POST /channels/{channel_id}/messages`, as JSON or as `multipart/form-data` (a
/// `payload_json` part and `files[n]` parts): checks the files (see `uploads`) and the body
/// (spec and limits; 50006 when there is nothing to show, files counting), honours
/// `enforce_nonce` (the same nonce within [`NONCE_WINDOW_MS`] answers the message it made),
/// resolves a `message_reference` reply, and stores the bot's message with its attachments.
///
/// [`NONCE_WINDOW_MS`]: crate::state::NONCE_WINDOW_MS
pub(super) fn create_message(inner: &Inner, req: &ApiRequest, c_raw: &str, label: &str) -> Out {
    let mut violations = Vec::new();
    let form = match uploads::form(req, label) {
        Ok(f) => f,
        Err(out) => return out,
    };
    if let Err(out) = uploads::check_files(inner, form, label, &mut violations) {
        return out.with(violations);
    }
    let body = match json_object(req, label) {
        Ok(b) => b,
        Err(out) => return out.with(violations),
    };
    let errors = form_errors(inner, validate::MESSAGE_CREATE, &body, &mut violations);
    if !errors.is_empty() {
        return invalid_form(&errors, label).with(violations);
    }
    let files = match uploads::uploads(form, &body, label, &mut violations) {
        Ok(f) => f,
        Err(out) => return out.with(violations),
    };
    if !validate::has_payload(&body) && files.is_empty() {
        return empty_message(label).with(violations);
    }
    let now = snowflake::now_ms();
    let mut s = inner.lock();
    let c = match channel(&s, c_raw) {
        Ok(c) => c.id,
        Err(r) => return r.into(),
    };
    let nonce = body.get("nonce").and_then(nonce_key);
    let enforce = body
        .get("enforce_nonce")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let (Some(n), true) = (&nonce, enforce) {
        if let Some(&(id, at)) = s.nonces.get(&(c, n.clone())) {
            if now.saturating_sub(at) < crate::state::NONCE_WINDOW_MS {
                if let Some(m) = s.message(c, id) {
                    let mut v = s.message_json(m, false);
                    v["nonce"] = body.get("nonce").cloned().unwrap_or(Value::Null);
                    return Out {
                        reply: Reply::ok(v, validate::ok_schema(MESSAGES, "post")),
                        violations,
                    };
                }
            }
        }
    }
    let mut reply_to = None;
    if let Some(r) = body.get("message_reference").filter(|v| v.is_object()) {
        let target = r
            .get("message_id")
            .and_then(Value::as_str)
            .and_then(snowflake::parse);
        let same_channel = r
            .get("channel_id")
            .and_then(Value::as_str)
            .is_none_or(|rc| snowflake::parse(rc) == Some(c));
        let found = target.filter(|t| same_channel && s.message(c, *t).is_some());
        let fail = r
            .get("fail_if_not_exists")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        match found {
            Some(t) => reply_to = Some(t),
            None if fail => {
                return Out {
                    reply: Reply::invalid_form(&[FieldError {
                        path: vec!["message_reference".into()],
                        code: "MESSAGE_REFERENCE_UNKNOWN_MESSAGE".into(),
                        message: "Unknown message".into(),
                    }]),
                    violations,
                }
            }
            None => {}
        }
    }
    let mut attachments = uploads::store(&mut s, inner, c, files);
    let mut embeds: Vec<Value> = array(&body, "embeds").iter().map(embed_response).collect();
    uploads::link_embeds(&mut embeds, &mut attachments, label, &mut violations);
    let new = NewMessage {
        channel_id: c,
        author_id: s.bot_id,
        content: body
            .get("content")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        embeds,
        attachments,
        components: components_response(&array(&body, "components")),
        reply_to,
        allowed: Allowed::from_json(body.get("allowed_mentions")),
        flags: body.get("flags").and_then(Value::as_u64).unwrap_or(0) & SETTABLE_FLAGS,
        tts: body.get("tts").and_then(Value::as_bool).unwrap_or(false),
        webhook: None,
    };
    let Some(id) = s.insert_message(new) else {
        return Reply::error(404, 10003, "Unknown Channel").into();
    };
    if let Some(n) = nonce {
        s.nonces.insert((c, n), (id, now));
    }
    let Some(m) = s.message(c, id) else {
        return unknown_message().into();
    };
    let mut v = s.message_json(m, false);
    if let Some(n) = body.get("nonce").filter(|n| !n.is_null()) {
        v["nonce"] = n.clone();
    }
    Out {
        reply: Reply::ok(v, validate::ok_schema(MESSAGES, "post")),
        violations,
    }
}

/// `GET /channels/{channel_id}/messages`: newest first; at most one of `around`, `before`,
/// `after`; `limit` 1-100 (default 50); content masked by the message content intent rule.
pub(super) fn list_messages(inner: &Inner, req: &ApiRequest, c_raw: &str, label: &str) -> Out {
    let pairs = url::query_pairs(req.query.as_deref());
    let mut anchors = Vec::new();
    for key in ["around", "before", "after"] {
        if let Some(raw) = query(&pairs, key) {
            match snowflake::parse(raw) {
                Some(id) => anchors.push((key, id)),
                None => {
                    return Out {
                        reply: Reply::not_snowflake(key, raw),
                        violations: vec![format!("{label}: {key}={raw:?} is not a snowflake")],
                    }
                }
            }
        }
    }
    if anchors.len() > 1 {
        return invalid_form(
            &[FieldError {
                path: Vec::new(),
                code: "BASE_TYPE_INVALID".into(),
                message: "Only one of around, before and after may be given.".into(),
            }],
            label,
        );
    }
    let limit = match parse_limit(query(&pairs, "limit"), 50, 100) {
        Ok(l) => l as usize,
        Err(e) => return invalid_form(&[e], label),
    };
    let s = inner.lock();
    let c = match channel(&s, c_raw) {
        Ok(c) => c.id,
        Err(r) => return r.into(),
    };
    let Some(all) = s.messages.get(&c) else {
        return Reply::error(404, 10003, "Unknown Channel").into();
    };
    // Newest first in every case.
    let picked: Vec<u64> = match anchors.first() {
        None => all.keys().rev().take(limit).copied().collect(),
        Some(("before", id)) => all
            .range(..*id)
            .rev()
            .take(limit)
            .map(|(k, _)| *k)
            .collect(),
        Some(("after", id)) => {
            let mut v: Vec<u64> = all
                .range(id.saturating_add(1)..)
                .take(limit)
                .map(|(k, _)| *k)
                .collect();
            v.reverse();
            v
        }
        Some((_, id)) => {
            // around: the message itself (if any) and the nearest ones on both sides.
            let newer = limit / 2;
            let mut after: Vec<u64> = all
                .range(id.saturating_add(1)..)
                .take(newer)
                .map(|(k, _)| *k)
                .collect();
            after.reverse();
            let older: Vec<u64> = all
                .range(..=*id)
                .rev()
                .take(limit - after.len())
                .map(|(k, _)| *k)
                .collect();
            after.into_iter().chain(older).collect()
        }
    };
    let list: Vec<Value> = picked
        .iter()
        .filter_map(|id| all.get(id))
        .map(|m| s.message_json(m, true))
        .collect();
    Reply::ok(Value::Array(list), validate::ok_schema(MESSAGES, "get")).into()
}

/// `GET /channels/{channel_id}/messages/{message_id}`, masked like the list.
pub(super) fn get_message(inner: &Inner, c_raw: &str, m_raw: &str) -> Reply {
    let s = inner.lock();
    let c = match channel(&s, c_raw) {
        Ok(c) => c.id,
        Err(r) => return r,
    };
    let id = match message_id(m_raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match s.message(c, id) {
        Some(m) => Reply::ok(s.message_json(m, true), validate::ok_schema(MESSAGE, "get")),
        None => unknown_message(),
    }
}

/// `PATCH /channels/{channel_id}/messages/{message_id}`: only the bot's own messages (else 403
/// 50005); replaces the fields given; recomputes who is pinged when the content or
/// `allowed_mentions` changes.
pub(super) fn edit_message(
    inner: &Inner,
    req: &ApiRequest,
    c_raw: &str,
    m_raw: &str,
    label: &str,
) -> Out {
    let body = match json_object(req, label) {
        Ok(b) => b,
        Err(out) => return out,
    };
    let mut violations = Vec::new();
    let errors = form_errors(inner, validate::MESSAGE_EDIT, &body, &mut violations);
    if !errors.is_empty() {
        return invalid_form(&errors, label).with(violations);
    }
    let mut s = inner.lock();
    let c = match channel(&s, c_raw) {
        Ok(c) => c.id,
        Err(r) => return r.into(),
    };
    let id = match message_id(m_raw) {
        Ok(id) => id,
        Err(r) => return r.into(),
    };
    let bot = s.bot_id;
    let Some(old) = s.message(c, id).cloned() else {
        return unknown_message().into();
    };
    if old.author_id != bot {
        return Reply::error(403, 50005, "Cannot edit a message authored by another user").into();
    }
    let mut m = old.clone();
    let obj: &Map<String, Value> = match body.as_object() {
        Some(o) => o,
        None => return unknown_message().into(),
    };
    if let Some(v) = obj.get("content") {
        m.content = v.as_str().unwrap_or("").to_string();
    }
    if let Some(v) = obj.get("embeds") {
        m.embeds = v
            .as_array()
            .map(|a| a.iter().map(embed_response).collect())
            .unwrap_or_default();
        uploads::link_embeds(&mut m.embeds, &mut m.attachments, label, &mut violations);
    }
    if let Some(v) = obj.get("attachments") {
        // The attachments listed by id stay (and those shown by an embed, which the client
        // never saw listed); the others are removed.
        let keep: Vec<String> = v
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.get("id").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        m.attachments
            .retain(|a| a.in_embed || keep.contains(&a.id.to_string()));
    }
    if let Some(v) = obj.get("components") {
        m.components = components_response(v.as_array().map(Vec::as_slice).unwrap_or_default());
    }
    if let Some(v) = obj.get("flags") {
        let suppress = 1 << 2;
        m.flags = (m.flags & !suppress) | (v.as_u64().unwrap_or(0) & suppress);
    }
    let rendered = json!({
        "content": m.content,
        "embeds": m.embeds,
        "components": m.components,
        "attachments": m.attachments.iter().map(|a| a.id).collect::<Vec<_>>(),
    });
    if !validate::has_payload(&rendered) {
        return empty_message(label).with(violations);
    }
    m.edited_ms = Some(snowflake::now_ms());
    let content_changed = m.content != old.content;
    if let Some(slot) = s.message_mut(c, id) {
        *slot = m;
    }
    if content_changed || obj.contains_key("allowed_mentions") {
        s.repoint_mentions(c, id, &Allowed::from_json(obj.get("allowed_mentions")));
    }
    let Some(m) = s.message(c, id) else {
        return unknown_message().into();
    };
    Out {
        reply: Reply::ok(
            s.message_json(m, false),
            validate::ok_schema(MESSAGE, "patch"),
        ),
        violations,
    }
}

/// Spec and limit problems of a message body, as field errors; records emulator bugs too.
fn form_errors(
    inner: &Inner,
    pointer: &str,
    body: &Value,
    violations: &mut Vec<String>,
) -> Vec<FieldError> {
    let schema = schema_problems(inner, pointer, body, violations);
    validate::merge(validate::message_limits(body), schema)
}

/// 400 Cannot send an empty message (50006), and a violation.
pub(super) fn empty_message(label: &str) -> Out {
    Out {
        reply: Reply::error(400, 50006, "Cannot send an empty message"),
        violations: vec![format!("{label}: empty message (no content, embeds, ...)")],
    }
}

/// Drops `null` members, recursively.
fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

/// A request embed as Discord returns it: `type` "rich", fields `inline` false by default.
pub(super) fn embed_response(e: &Value) -> Value {
    let mut e = strip_nulls(e);
    if let Value::Object(o) = &mut e {
        o.entry("type").or_insert_with(|| json!("rich"));
        if let Some(Value::Array(fields)) = o.get_mut("fields") {
            for f in fields.iter_mut().filter_map(Value::as_object_mut) {
                f.entry("inline").or_insert(json!(false));
            }
        }
        if o.get("provider").is_some_and(|p| p.get("name").is_none()) {
            o.remove("provider");
        }
        for key in ["image", "thumbnail", "video"] {
            if let Some(Value::Object(m)) = o.get_mut(key) {
                m.retain(|k, _| matches!(k.as_str(), "url" | "width" | "height" | "description"));
            }
        }
    }
    e
}

/// Request components as Discord returns them: nulls dropped, every component numbered `id`.
pub(super) fn components_response(components: &[Value]) -> Vec<Value> {
    fn number(v: &mut Value, next: &mut i64) {
        if let Value::Object(o) = v {
            if !o.get("id").is_some_and(Value::is_i64) {
                o.insert("id".into(), json!(*next));
            }
            *next += 1;
            if let Some(Value::Array(children)) = o.get_mut("components") {
                for c in children {
                    number(c, next);
                }
            }
        }
    }
    let mut next = 1;
    components
        .iter()
        .map(|c| {
            let mut c = strip_nulls(c);
            number(&mut c, &mut next);
            c
        })
        .collect()
}

/// `body[key]` if it is an array, else empty.
pub(super) fn array(body: &Value, key: &str) -> Vec<Value> {
    body.get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embed_and_components_shapes() {
        let e =
            embed_response(&json!({"title":"t","color":null,"fields":[{"name":"a","value":"b"}]}));
        assert_eq!(
            e,
            json!({"type":"rich","title":"t","fields":[{"name":"a","value":"b","inline":false}]})
        );
        let c = components_response(&[
            json!({"type":1,"components":[{"type":2,"style":1,"label":"x","custom_id":"y"}]}),
        ]);
        assert_eq!(c[0]["id"], 1);
        assert_eq!(c[0]["components"][0]["id"], 2);
    }
}
