//! The webhook route: `POST /webhooks/{webhook_id}/{webhook_token}` (execute_webhook), a
//! message posted as the webhook into its channel or, with `?thread_id=`, a thread of it. JSON
//! or `multipart/form-data` exactly like a message create (the same `uploads` code), with the
//! webhook's own schema and fields. No `Authorization` is needed: the token in the path is the
//! credential ([`find`] checks it before the rate limiter counts the request).

use serde_json::Value;

use super::messages::{array, components_response, embed_response, empty_message, SETTABLE_FLAGS};
use super::{invalid_form, json_object, query, uploads, ApiRequest, Out};
use crate::attachments::AttachmentRec;
use crate::mentions::Allowed;
use crate::reply::Reply;
use crate::snowflake;
use crate::state::{NewMessage, State};
use crate::url;
use crate::validate::{self, FieldError};
use crate::webhooks::{WebhookAuthor, WebhookRec};
use crate::Inner;

/// Spec path of the operation.
pub(super) const PATH: &str = "/webhooks/{webhook_id}/{webhook_token}";

/// Fields of a message create that a webhook body does not have. Discord ignores them, so the
/// emulator does too, but sending one is a violation: a retried webhook post is never
/// deduplicated by a nonce, and a webhook cannot reply.
const NOT_WEBHOOK_FIELDS: &[&str] = &["nonce", "enforce_nonce", "message_reference", "sticker_ids"];

/// The webhook a path names: 400 50035 for an id that is not a snowflake, 404 10015 Unknown
/// Webhook, 401 50027 Invalid Webhook Token (Discord's status for a wrong token).
pub(super) fn find(inner: &Inner, id_raw: &str, token: &str) -> Result<WebhookRec, Reply> {
    let id = snowflake::parse(id_raw).ok_or_else(|| Reply::not_snowflake("webhook_id", id_raw))?;
    let s = inner.lock();
    let w = s
        .webhooks
        .get(&id)
        .ok_or_else(|| Reply::error(404, 10015, "Unknown Webhook"))?;
    if w.token != token {
        return Err(Reply::error(401, 50027, "Invalid Webhook Token"));
    }
    Ok(w.clone())
}

/// A violation for an `Authorization` header on a webhook execute: it needs none, and the bot
/// token must never go to a webhook URL (such URLs end up in configs, logs and other hands).
pub(super) fn authorization_violation(
    inner: &Inner,
    req: &ApiRequest,
    label: &str,
) -> Option<String> {
    let auth = req.header("authorization")?;
    Some(if auth == format!("Bot {}", inner.token) {
        format!(
            "{label}: a webhook execute carried the bot token (Authorization: Bot ...); webhook URLs need no Authorization and must never get the bot token"
        )
    } else {
        format!(
            "{label}: a webhook execute carried an Authorization header; webhook URLs need none"
        )
    })
}

/// A boolean query value as Discord takes it (`True`/`true`/`1`, `False`/`false`/`0`).
fn bool_query(pairs: &[(String, String)], key: &str) -> Result<Option<bool>, FieldError> {
    match query(pairs, key) {
        None => Ok(None),
        Some("True" | "true" | "1") => Ok(Some(true)),
        Some("False" | "false" | "0") => Ok(Some(false)),
        Some(raw) => Err(FieldError {
            path: vec![key.to_string()],
            code: "BOOLEAN_TYPE_CONVERT".into(),
            message: format!("Value \"{raw}\" is not a valid boolean."),
        }),
    }
}

/// The query of an execute: `wait`, `with_components` (both false unless set) and
/// `thread_id`.
struct ExecuteQuery {
    wait: bool,
    with_components: bool,
    thread: Option<u64>,
}

impl ExecuteQuery {
    /// The query of `req`: 400 50035 for a value that is not a boolean, 400 for a `thread_id`
    /// that is not a snowflake (with a violation).
    fn of(req: &ApiRequest, label: &str) -> Result<ExecuteQuery, Out> {
        let pairs = url::query_pairs(req.query.as_deref());
        let mut flags = Vec::new();
        for key in ["wait", "with_components"] {
            match bool_query(&pairs, key) {
                Ok(b) => flags.push(b.unwrap_or(false)),
                Err(e) => return Err(invalid_form(&[e], label)),
            }
        }
        let (wait, with_components) = (flags[0], flags[1]);
        let thread = match query(&pairs, "thread_id") {
            None => None,
            Some(raw) => match snowflake::parse(raw) {
                Some(t) => Some(t),
                None => {
                    return Err(Out {
                        reply: Reply::not_snowflake("thread_id", raw),
                        violations: vec![format!("{label}: thread_id={raw:?} is not a snowflake")],
                    })
                }
            },
        };
        Ok(ExecuteQuery {
            wait,
            with_components,
            thread,
        })
    }
}

/// `POST /webhooks/{webhook_id}/{webhook_token}` for a found webhook: checks the query (`wait`,
/// `thread_id`, `with_components`), the files and the body (spec `anyOf`, Discord's limits,
/// 50006 when there is nothing to show), resolves the target (the webhook's channel, or a
/// thread of it: 404 10003 otherwise; `thread_name` is 400 220003 on a text channel), and
/// stores the message as the webhook's. `wait=true` answers 200 with the message, else 204.
pub(super) fn execute_webhook(inner: &Inner, req: &ApiRequest, w: &WebhookRec, label: &str) -> Out {
    let mut violations = Vec::new();
    let q = match ExecuteQuery::of(req, label) {
        Ok(q) => q,
        Err(out) => return out,
    };
    let form = match uploads::form(req, label) {
        Ok(f) => f,
        Err(out) => return out,
    };
    if let Err(out) = uploads::check_files(inner, form, label, &mut violations) {
        return out.with(violations);
    }
    let mut body = match json_object(req, label) {
        Ok(b) => b,
        Err(out) => return out.with(violations),
    };
    note_ignored_fields(&mut body, q.with_components, label, &mut violations);
    let errors = body_errors(inner, &body, &mut violations);
    if !errors.is_empty() {
        return invalid_form(&errors, label).with(violations);
    }
    if !q.with_components {
        if let Some(obj) = body.as_object_mut() {
            obj.remove("components");
        }
    }
    let files = match uploads::uploads(form, &body, label, &mut violations) {
        Ok(f) => f,
        Err(out) => return out.with(violations),
    };
    if !validate::has_payload(&body) && files.is_empty() {
        return empty_message(label).with(violations);
    }
    let thread_name = body
        .get("thread_name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty());
    if thread_name.is_some() {
        violations.push(format!(
            "{label}: thread_name on a webhook of a text channel; only forum and media channels take it (post into a thread with ?thread_id=)"
        ));
        return Out {
            reply: Reply::error(
                400,
                220_003,
                "Webhooks can only create threads in forum channels",
            ),
            violations,
        };
    }
    let mut s = inner.lock();
    let Some(target) = target_channel(&s, w, q.thread) else {
        return Out {
            reply: Reply::error(404, 10003, "Unknown Channel"),
            violations,
        };
    };
    let mut attachments = uploads::store(&mut s, inner, target, files);
    let mut embeds: Vec<Value> = array(&body, "embeds").iter().map(embed_response).collect();
    uploads::link_embeds(&mut embeds, &mut attachments, label, &mut violations);
    let new = webhook_message(&body, w, target, embeds, attachments);
    let Some(id) = s.insert_message(new) else {
        return Out {
            reply: Reply::error(404, 10003, "Unknown Channel"),
            violations,
        };
    };
    let reply = match (q.wait, s.message(target, id)) {
        (true, Some(m)) => Reply::ok(s.message_json(m, false), validate::ok_schema(PATH, "post")),
        (true, None) => Reply::error(404, 10008, "Unknown Message"),
        (false, _) => Reply::no_content(),
    };
    Out { reply, violations }
}

/// Notes the fields Discord ignores on an execute: a create's fields that webhooks do not have
/// (removed from `body`), and components without `?with_components=true`.
fn note_ignored_fields(
    body: &mut Value,
    with_components: bool,
    label: &str,
    violations: &mut Vec<String>,
) {
    if let Some(obj) = body.as_object_mut() {
        for key in NOT_WEBHOOK_FIELDS {
            if obj.remove(*key).is_some() {
                violations.push(format!(
                    "{label}: a webhook execute carried \"{key}\", which webhooks do not have (Discord ignores it; strip it)"
                ));
            }
        }
        let has_components = obj
            .get("components")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        if has_components && !with_components {
            violations.push(format!(
                "{label}: components sent without ?with_components=true; Discord ignores them"
            ));
        }
    }
}

/// What is wrong with an execute body: Discord's limits (a message's and the webhook-only
/// fields') and, when validating, the spec's errors, merged.
fn body_errors(inner: &Inner, body: &Value, violations: &mut Vec<String>) -> Vec<FieldError> {
    let mut errors = validate::message_limits(body);
    errors.extend(validate::webhook_limits(body));
    let schema = if inner.validate {
        validate::webhook_errors(body).unwrap_or_else(|e| {
            violations.push(format!("emulator bug: {e}"));
            Vec::new()
        })
    } else {
        Vec::new()
    };
    validate::merge(errors, schema)
}

/// Where an execute posts: the webhook's channel, or `thread` if it is a thread of that
/// channel; `None` if there is no such channel.
fn target_channel(s: &State, w: &WebhookRec, thread: Option<u64>) -> Option<u64> {
    match thread {
        None => Some(w.channel_id).filter(|c| s.channels.contains_key(c)),
        Some(t) => Some(t).filter(|t| {
            s.channels
                .get(t)
                .and_then(|c| c.thread.as_ref())
                .is_some_and(|meta| meta.parent_id == w.channel_id)
        }),
    }
}

/// The message an execute body makes, written by the webhook (as `username` if given) into
/// `target`.
fn webhook_message(
    body: &Value,
    w: &WebhookRec,
    target: u64,
    embeds: Vec<Value>,
    attachments: Vec<AttachmentRec>,
) -> NewMessage {
    let username = body
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or(&w.name)
        .to_string();
    NewMessage {
        channel_id: target,
        author_id: w.id,
        content: body
            .get("content")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        embeds,
        attachments,
        components: components_response(&array(body, "components")),
        reply_to: None,
        allowed: Allowed::from_json(body.get("allowed_mentions")),
        flags: body.get("flags").and_then(Value::as_u64).unwrap_or(0) & SETTABLE_FLAGS,
        tts: body.get("tts").and_then(Value::as_bool).unwrap_or(false),
        webhook: Some(WebhookAuthor {
            webhook_id: w.id,
            username,
        }),
    }
}
