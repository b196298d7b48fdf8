//! The control API under `/_emulator`, for tests and people outside the Rust process. No
//! authentication; never shows the bot token. Errors are `{"error": "..."}` with 400 or 404.
//!
//! | Method and path | Body | Answer |
//! | --- | --- | --- |
//! | `GET /_emulator/state` | | `{"base_url","guild_id","default_channel_id","bot":{"id","username"},"connections","latency_ms"}` |
//! | `POST /_emulator/users` | `{"username","bot"?}` | the user `{"id","username","bot"}` |
//! | `POST /_emulator/roles` | `{"name"}` | `{"id"}` |
//! | `PUT /_emulator/members/{uid}/roles/{rid}` | | 204 |
//! | `POST /_emulator/channels` | `{"name"}` | `{"id"}` |
//! | `POST /_emulator/channels/{cid}/hide` | | 204 (the bot loses access) |
//! | `POST /_emulator/channels/{cid}/threads` | `{"name"}` | `{"id"}` (a public thread, no starter message) |
//! | `POST /_emulator/channels/{cid}/webhooks` | `{"name"}` (1-80 characters) | `{"id","token","url","channel_id"}` (400 for a thread: webhooks belong to text channels) |
//! | `PUT /_emulator/intent` | `{"message_content": bool}` | 204 |
//! | `PUT /_emulator/latency` | `{"ms": n}` (0 for none) | 204 |
//! | `POST /_emulator/channels/{cid}/messages` | `{"user_id","content","reply_to"?}` | `{"id"}` (`cid` may be a thread) |
//! | `PUT /_emulator/channels/{cid}/messages/{mid}/reactions/{emoji}/{uid}` | | 204 |
//! | `GET /_emulator/channels/{cid}/messages` | | stored messages, oldest first (threads too) |
//! | `GET /_emulator/files/{cid}/{aid}/{filename}` | | an uploaded file's bytes, with its `Content-Type` (the attachment's `url`) |
//! | `GET /_emulator/requests` | | recorded API requests with their `connection` number (the `authorization` value redacted) |
//! | `GET /_emulator/violations` | | violation strings |
//! | `POST /_emulator/faults` | a fault | 204 |

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::faults::Fault;
use crate::reply::Body;
use crate::reply::Reply;
use crate::snowflake;
use crate::state::State;
use crate::threads::{ThreadError, DEFAULT_AUTO_ARCHIVE};
use crate::url;
use crate::webhooks::WebhookError;
use crate::Inner;

/// The control API prefix.
pub use crate::url::CONTROL_PREFIX as PREFIX;

fn err(status: u16, message: impl Into<String>) -> Reply {
    let mut r = Reply::json(status, json!({ "error": message.into() }));
    r.no_rate_limit_headers = true;
    r
}

fn ok(v: Value) -> Reply {
    let mut r = Reply::json(200, v);
    r.no_rate_limit_headers = true;
    r
}

fn done() -> Reply {
    let mut r = Reply::no_content();
    r.no_rate_limit_headers = true;
    r
}

fn id(raw: &str, what: &str) -> Result<u64, Reply> {
    snowflake::parse(raw).ok_or_else(|| err(400, format!("{what} is not a snowflake: {raw:?}")))
}

fn str_field<'a>(body: &'a Value, key: &str) -> Result<&'a str, Reply> {
    body.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| err(400, format!("body needs a string \"{key}\"")))
}

/// Handles a control request; `body` is the parsed JSON body (`Null` if none).
pub fn handle(inner: &Inner, method: &str, path: &str, body: Result<Value, String>) -> Reply {
    match run(inner, method, path, body) {
        Ok(r) | Err(r) => r,
    }
}

/// A control request's method and path segments (after the prefix).
type Route<'a> = (&'a str, &'a [&'a str]);

fn run(
    inner: &Inner,
    method: &str,
    path: &str,
    body: Result<Value, String>,
) -> Result<Reply, Reply> {
    let rest = path.strip_prefix(PREFIX).unwrap_or("");
    let segs = url::segments(rest);
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let body = body.map_err(|e| err(400, format!("body is not JSON: {e}")))?;
    let mut st = inner.lock();
    let route = (method, s.as_slice());
    if let Some(r) = guild(inner, &mut st, route, &body)? {
        return Ok(r);
    }
    if let Some(r) = people(&mut st, route, &body)? {
        return Ok(r);
    }
    if let Some(r) = emulator(inner, &mut st, route, &body)? {
        return Ok(r);
    }
    Err(err(404, format!("no control route {method} {path}")))
}

/// The guild's routes: users, roles, channels, threads, webhooks. `None`: not one of them.
fn guild(
    inner: &Inner,
    st: &mut State,
    route: Route<'_>,
    body: &Value,
) -> Result<Option<Reply>, Reply> {
    Ok(Some(match route {
        ("POST", ["users"]) => {
            let username = str_field(body, "username")?;
            let bot = body.get("bot").and_then(Value::as_bool).unwrap_or(false);
            let u = st.add_user(username, bot);
            ok(json!({ "id": u.id.to_string(), "username": u.username, "bot": u.bot }))
        }
        ("POST", ["roles"]) => {
            let name = str_field(body, "name")?;
            ok(json!({ "id": st.add_role(name).to_string() }))
        }
        ("PUT", ["members", uid, "roles", rid]) => {
            let (u, r) = (id(uid, "user id")?, id(rid, "role id")?);
            if !st.grant_role(u, r) {
                return Err(err(404, "unknown member or role"));
            }
            done()
        }
        ("POST", ["channels"]) => {
            let name = str_field(body, "name")?;
            ok(json!({ "id": st.add_channel(name).to_string() }))
        }
        ("POST", ["channels", cid, "hide"]) => {
            let c = id(cid, "channel id")?;
            match st.channels.get_mut(&c) {
                Some(ch) => ch.hidden = true,
                None => return Err(err(404, "unknown channel")),
            }
            done()
        }
        ("POST", ["channels", cid, "threads"]) => {
            let c = id(cid, "channel id")?;
            let name = str_field(body, "name")?;
            if name.is_empty() || name.chars().count() > 100 {
                return Err(err(400, "\"name\" must be 1-100 characters"));
            }
            let owner = st.bot_id;
            match st.start_thread(c, None, name, owner, DEFAULT_AUTO_ARCHIVE) {
                Ok(t) => ok(json!({ "id": t.to_string() })),
                Err(ThreadError::NotATextChannel) => {
                    return Err(err(400, "a thread cannot be started in a thread"))
                }
                Err(_) => return Err(err(404, "unknown channel")),
            }
        }
        ("POST", ["channels", cid, "webhooks"]) => {
            let c = id(cid, "channel id")?;
            let name = str_field(body, "name")?;
            match st.add_webhook(c, name) {
                Ok(w) => ok(json!(inner.webhook(&w))),
                Err(WebhookError::UnknownChannel) => return Err(err(404, "unknown channel")),
                Err(e) => return Err(err(400, e.to_string())),
            }
        }
        _ => return Ok(None),
    }))
}

/// What people do: write (as anyone), react, and the messages as stored. `None`: not one
/// of those routes.
fn people(st: &mut State, route: Route<'_>, body: &Value) -> Result<Option<Reply>, Reply> {
    Ok(Some(match route {
        ("POST", ["channels", cid, "messages"]) => {
            let c = id(cid, "channel id")?;
            let user = id(str_field(body, "user_id")?, "user_id")?;
            let content = str_field(body, "content")?;
            let reply_to = match body.get("reply_to").and_then(Value::as_str) {
                Some(r) => Some(id(r, "reply_to")?),
                None => None,
            };
            let mid = st
                .say(c, user, content, reply_to)
                .map_err(|e| err(404, e))?;
            ok(json!({ "id": mid.to_string() }))
        }
        ("PUT", ["channels", cid, "messages", mid, "reactions", emoji, uid]) => {
            let (c, m, u) = (
                id(cid, "channel id")?,
                id(mid, "message id")?,
                id(uid, "user id")?,
            );
            st.react_as(c, m, emoji, u).map_err(|e| err(404, e))?;
            done()
        }
        ("GET", ["channels", cid, "messages"]) => {
            let c = id(cid, "channel id")?;
            let list = st
                .messages_json(c)
                .ok_or_else(|| err(404, "unknown channel"))?;
            ok(Value::Array(list))
        }
        _ => return Ok(None),
    }))
}

/// The emulator's own routes: its state, settings (intent, latency), uploaded files, what it
/// recorded, and faults. `None`: not one of them.
fn emulator(
    inner: &Inner,
    st: &mut State,
    route: Route<'_>,
    body: &Value,
) -> Result<Option<Reply>, Reply> {
    Ok(Some(match route {
        ("GET", ["state"]) => {
            let bot = st.user_json(st.bot_id);
            ok(json!({
                "base_url": inner.base_url(),
                "guild_id": st.guild_id.to_string(),
                "default_channel_id": st.default_channel_id.to_string(),
                "bot": { "id": bot["id"], "username": bot["username"] },
                "connections": inner.connections.load(Ordering::Relaxed),
                "latency_ms": inner.latency_ms.load(Ordering::Relaxed),
            }))
        }
        ("PUT", ["intent"]) => {
            let on = body
                .get("message_content")
                .and_then(Value::as_bool)
                .ok_or_else(|| err(400, "body needs a boolean \"message_content\""))?;
            st.message_content_intent = on;
            done()
        }
        ("PUT", ["latency"]) => {
            let ms = body
                .get("ms")
                .and_then(Value::as_u64)
                .ok_or_else(|| err(400, "body needs a non-negative integer \"ms\""))?;
            inner.latency_ms.store(ms, Ordering::Relaxed);
            done()
        }
        ("GET", ["files", cid, aid, filename]) => {
            let (c, a) = (id(cid, "channel id")?, id(aid, "attachment id")?);
            let f = st
                .files
                .get(a)
                .filter(|f| f.channel_id == c && f.filename == *filename)
                .ok_or_else(|| err(404, "unknown file"))?;
            let mut r = Reply::json(200, Value::Null);
            r.body = Body::Raw {
                content_type: f.content_type.as_str().into(),
                bytes: f.bytes.to_vec(),
            };
            r.no_rate_limit_headers = true;
            r
        }
        ("GET", ["requests"]) => {
            let mut requests: Vec<_> = st.requests.iter().cloned().collect();
            for r in &mut requests {
                for (name, value) in &mut r.headers {
                    if name == "authorization" {
                        let scheme = value.split(' ').next().unwrap_or("").to_string();
                        *value = format!("{scheme} [redacted]");
                    }
                }
            }
            ok(json!(requests))
        }
        ("GET", ["violations"]) => ok(json!(st.violations)),
        ("POST", ["faults"]) => {
            let fault: Fault = serde_json::from_value(body.clone())
                .map_err(|e| err(400, format!("not a fault: {e}")))?;
            st.faults.push(fault);
            done()
        }
        _ => return Ok(None),
    }))
}
