//! The thread route: `POST /channels/{channel_id}/messages/{message_id}/threads`, a public
//! thread started from a message (the thread takes the message's id).

use serde_json::Value;

use super::{channel, invalid_form, json_object, message_id, schema_problems, ApiRequest, Out};
use crate::reply::Reply;
use crate::threads::{ThreadError, DEFAULT_AUTO_ARCHIVE};
use crate::validate;
use crate::Inner;

/// Spec path of the operation.
const PATH: &str = "/channels/{channel_id}/messages/{message_id}/threads";

/// `POST .../messages/{message_id}/threads`: checks the body (`name` 1-100 characters,
/// `auto_archive_duration` 60, 1440, 4320 or 10080), then starts the thread and answers 201
/// with it. 404 10003 / 10008 for an unknown channel or message, 400 50024 in a thread, 400
/// 160004 when the message already has a thread.
pub(super) fn create_thread(
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
    let errors = schema_problems(inner, validate::THREAD_CREATE, &body, &mut violations);
    if !errors.is_empty() {
        return invalid_form(&errors, label).with(violations);
    }
    let name = body.get("name").and_then(Value::as_str).unwrap_or("");
    let duration = body
        .get("auto_archive_duration")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_AUTO_ARCHIVE);
    let mut s = inner.lock();
    let c = match channel(&s, c_raw) {
        Ok(c) => c.id,
        Err(r) => return r.into(),
    };
    let m = match message_id(m_raw) {
        Ok(id) => id,
        Err(r) => return r.into(),
    };
    let bot = s.bot_id;
    let reply = match s.start_thread(c, Some(m), name, bot, duration) {
        Ok(t) => match s.channels.get(&t).and_then(|ch| s.thread_json(ch)) {
            Some(v) => Reply::created(v, validate::response_schema(PATH, "post", 201)),
            None => Reply::error(404, 10003, "Unknown Channel"),
        },
        Err(ThreadError::UnknownChannel) => Reply::error(404, 10003, "Unknown Channel"),
        Err(ThreadError::UnknownMessage) => Reply::error(404, 10008, "Unknown Message"),
        Err(ThreadError::NotATextChannel) => {
            violations.push(format!("{label}: a thread cannot be started in a thread"));
            Reply::error(400, 50024, "Cannot execute action on this channel type")
        }
        Err(ThreadError::AlreadyExists) => Reply::error(
            400,
            160_004,
            "A thread has already been created for this message",
        ),
    };
    Out { reply, violations }
}
