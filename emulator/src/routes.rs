//! The Discord API routes (`/api/v10/...`): routing, authentication, rate limiting, request
//! validation and the handlers themselves. Handlers are synchronous and hold the state lock only
//! while they run; the server module does the HTTP around them.

use serde_json::{json, Map, Value};

use crate::mentions::Allowed;
use crate::ratelimit::{self, BucketInfo};
use crate::reply::Reply;
use crate::snowflake;
use crate::state::{ChannelRec, Emoji, NewMessage, State};
use crate::url;
use crate::validate::{self, FieldError};
use crate::Inner;

/// The API prefix.
pub const PREFIX: &str = "/api/v10";

/// A request as the handlers see it: body read, JSON parsed.
pub struct ApiRequest {
    pub method: String,
    /// Path without the query.
    pub path: String,
    pub query: Option<String>,
    /// Lowercase names.
    pub headers: Vec<(String, String)>,
    /// `None`: no body. `Some(Err)`: a body that is not JSON.
    pub body: Option<Result<Value, String>>,
}

impl ApiRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `METHOD /path`, for violation messages.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// The routes the emulator serves, with their raw (decoded) path parameters.
#[derive(Debug, Clone, PartialEq)]
enum Route {
    Me,
    Channel(String),
    Messages(String),
    Message(String, String),
    Reactions(String, String, String),
    MyReaction(String, String, String),
    Member(String, String),
}

impl Route {
    fn parse(segs: &[String]) -> Option<Route> {
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        Some(match s.as_slice() {
            ["users", "@me"] => Route::Me,
            ["channels", c] => Route::Channel(c.to_string()),
            ["channels", c, "messages"] => Route::Messages(c.to_string()),
            ["channels", c, "messages", m] => Route::Message(c.to_string(), m.to_string()),
            ["channels", c, "messages", m, "reactions", e] => {
                Route::Reactions(c.to_string(), m.to_string(), e.to_string())
            }
            ["channels", c, "messages", m, "reactions", e, "@me"] => {
                Route::MyReaction(c.to_string(), m.to_string(), e.to_string())
            }
            ["guilds", g, "members", u] => Route::Member(g.to_string(), u.to_string()),
            _ => return None,
        })
    }

    fn serves(&self, method: &str) -> bool {
        let methods: &[&str] = match self {
            Route::Me | Route::Channel(_) | Route::Reactions(..) | Route::Member(..) => &["GET"],
            Route::Messages(_) => &["GET", "POST"],
            Route::Message(..) => &["GET", "PATCH"],
            Route::MyReaction(..) => &["PUT"],
        };
        methods.contains(&method)
    }

    /// (bucket key with the major parameter, route template without it).
    fn bucket(&self, method: &str) -> (String, String) {
        let (major, template) = match self {
            Route::Me => (String::new(), "/users/@me"),
            Route::Channel(c) => (c.clone(), "/channels/{channel_id}"),
            Route::Messages(c) => (c.clone(), "/channels/{channel_id}/messages"),
            Route::Message(c, _) => (c.clone(), "/channels/{channel_id}/messages/{message_id}"),
            Route::Reactions(c, ..) | Route::MyReaction(c, ..) => (
                c.clone(),
                "/channels/{channel_id}/messages/{message_id}/reactions",
            ),
            Route::Member(g, _) => (g.clone(), "/guilds/{guild_id}/members/{user_id}"),
        };
        let template = format!("{method} {template}");
        (format!("{template} {major}"), template)
    }
}

/// What a handler produced, plus violations to record.
struct Out {
    reply: Reply,
    violations: Vec<String>,
}

impl From<Reply> for Out {
    fn from(reply: Reply) -> Out {
        Out {
            reply,
            violations: Vec::new(),
        }
    }
}

fn attach(mut reply: Reply, info: &BucketInfo) -> Reply {
    reply.headers.extend(ratelimit::headers(info));
    reply
}

/// Handles one API request (after faults): returns the reply with rate-limit headers, and
/// records violations in the state.
pub fn handle(inner: &Inner, req: &ApiRequest) -> Reply {
    let mut violations = Vec::new();
    let label = req.label();
    if !req
        .header("user-agent")
        .is_some_and(|ua| ua.starts_with("DiscordBot ("))
    {
        violations.push(format!(
            "{label}: User-Agent {:?} does not start with \"DiscordBot (\"",
            req.header("user-agent").unwrap_or("")
        ));
    }
    if req.body.is_some()
        && !req
            .header("content-type")
            .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/json"))
    {
        violations.push(format!(
            "{label}: body sent with Content-Type {:?}, not application/json",
            req.header("content-type").unwrap_or("")
        ));
    }
    let out = route_and_run(inner, req, &label);
    violations.extend(out.violations);
    if !violations.is_empty() {
        let mut s = inner.lock();
        for v in violations {
            s.violation(v);
        }
    }
    out.reply
}

fn route_and_run(inner: &Inner, req: &ApiRequest, label: &str) -> Out {
    let now = snowflake::now_ms();
    let segs = match req.path.strip_prefix(PREFIX) {
        Some(rest) if rest.starts_with('/') => url::segments(rest),
        _ => Vec::new(),
    };
    let route = Route::parse(&segs).filter(|r| r.serves(&req.method));
    let Some(route) = route else {
        let info = inner
            .lock()
            .limiter
            .peek(label, label, now, inner.rate_limiter);
        let why = if validate::in_spec(&req.method, &segs) {
            "a Discord route the emulator does not implement"
        } else {
            "not a route of Discord's API"
        };
        return Out {
            reply: attach(Reply::not_found(), &info),
            violations: vec![format!("{label}: {why}")],
        };
    };
    let (key, template) = route.bucket(&req.method);
    if req.header("authorization") != Some(format!("Bot {}", inner.token).as_str()) {
        let info = inner
            .lock()
            .limiter
            .peek(&key, &template, now, inner.rate_limiter);
        return attach(Reply::error(401, 0, "401: Unauthorized"), &info).into();
    }
    let taken = inner
        .lock()
        .limiter
        .take(&key, &template, now, inner.rate_limiter);
    let info = match taken {
        Ok(info) => info,
        Err(limited) => {
            let mut reply = rate_limited(limited.retry_after, limited.global);
            reply.headers.extend(ratelimit::headers(&limited.info));
            return reply.into();
        }
    };
    let mut out = run(inner, req, &route, label);
    out.reply = attach(out.reply, &info);
    out
}

/// A 429 with Discord's body and the 429-only headers (not the bucket ones).
pub fn rate_limited(retry_after: f64, global: bool) -> Reply {
    let mut reply = Reply::json(
        429,
        json!({
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": global,
            "code": 0,
        }),
    );
    reply.schema = Some(validate::RATE_LIMITED.to_string());
    reply.headers = ratelimit::limited_headers(retry_after, global);
    reply
}

fn run(inner: &Inner, req: &ApiRequest, route: &Route, label: &str) -> Out {
    match (route, req.method.as_str()) {
        (Route::Me, _) => {
            let s = inner.lock();
            Reply::ok(s.me_json(), validate::ok_schema("/users/@me", "get")).into()
        }
        (Route::Channel(c), _) => {
            let s = inner.lock();
            match channel(&s, c) {
                Ok(ch) => Reply::ok(
                    s.channel_json(ch),
                    validate::ok_schema("/channels/{channel_id}", "get"),
                )
                .into(),
                Err(r) => r.into(),
            }
        }
        (Route::Messages(c), "POST") => create_message(inner, req, c, label),
        (Route::Messages(c), _) => list_messages(inner, req, c, label),
        (Route::Message(c, m), "PATCH") => edit_message(inner, req, c, m, label),
        (Route::Message(c, m), _) => get_message(inner, c, m).into(),
        (Route::MyReaction(c, m, e), _) => add_reaction(inner, c, m, e).into(),
        (Route::Reactions(c, m, e), _) => list_reactions(inner, req, c, m, e, label),
        (Route::Member(g, u), _) => get_member(inner, g, u).into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The channel, if the bot can see it.
fn channel<'s>(s: &'s State, raw: &str) -> Result<&'s ChannelRec, Reply> {
    let id = snowflake::parse(raw).ok_or_else(|| Reply::not_snowflake("channel_id", raw))?;
    let c = s
        .channels
        .get(&id)
        .ok_or_else(|| Reply::error(404, 10003, "Unknown Channel"))?;
    if c.hidden {
        return Err(Reply::error(403, 50001, "Missing Access"));
    }
    Ok(c)
}

fn message_id(raw: &str) -> Result<u64, Reply> {
    snowflake::parse(raw).ok_or_else(|| Reply::not_snowflake("message_id", raw))
}

fn unknown_message() -> Reply {
    Reply::error(404, 10008, "Unknown Message")
}

/// The request body as a JSON object; no body counts as `{}`.
fn json_object(req: &ApiRequest, label: &str) -> Result<Value, Out> {
    match &req.body {
        None => Ok(json!({})),
        Some(Ok(v)) if v.is_object() => Ok(v.clone()),
        Some(Ok(_)) => Err(Out {
            reply: Reply::invalid_form(&[FieldError {
                path: Vec::new(),
                code: "DICT_TYPE_CONVERT".into(),
                message: "Only dictionaries may be used in a DictType".into(),
            }]),
            violations: vec![format!("{label}: body is not a JSON object")],
        }),
        Some(Err(e)) => Err(Out {
            reply: Reply::error(400, 50109, "The request body contains invalid JSON."),
            violations: vec![format!("{label}: body is not JSON ({e})")],
        }),
    }
}

/// Spec and limit problems of a message body, as field errors; records emulator bugs too.
fn form_errors(
    inner: &Inner,
    pointer: &str,
    body: &Value,
    violations: &mut Vec<String>,
) -> Vec<FieldError> {
    let schema = if inner.validate {
        match validate::schema_errors(pointer, body) {
            Ok(e) => e,
            Err(e) => {
                violations.push(format!("emulator bug: {e}"));
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    validate::merge(validate::message_limits(body), schema)
}

fn invalid_form(errors: &[FieldError], label: &str) -> Out {
    Out {
        reply: Reply::invalid_form(errors),
        violations: errors
            .iter()
            .map(|e| format!("{label}: {}: {} {}", e.field(), e.code, e.message))
            .collect(),
    }
}

fn empty_message(label: &str) -> Out {
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
fn embed_response(e: &Value) -> Value {
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
fn components_response(components: &[Value]) -> Vec<Value> {
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

fn array(body: &Value, key: &str) -> Vec<Value> {
    body.get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Parses a `limit` query value in `1..=max`.
fn parse_limit(raw: Option<&str>, default: u64, max: u64) -> Result<u64, FieldError> {
    let Some(raw) = raw else { return Ok(default) };
    let err = |code: &str, message: String| FieldError {
        path: vec!["limit".into()],
        code: code.into(),
        message,
    };
    let n: i64 = raw
        .parse()
        .map_err(|_| err("NUMBER_TYPE_COERCE", format!("Value \"{raw}\" is not int.")))?;
    if n < 1 {
        return Err(err(
            "NUMBER_TYPE_MIN",
            "int value should be greater than or equal to 1.".into(),
        ));
    }
    if n as u64 > max {
        return Err(err(
            "NUMBER_TYPE_MAX",
            format!("int value should be less than or equal to {max}."),
        ));
    }
    Ok(n as u64)
}

fn query<'q>(pairs: &'q [(String, String)], key: &str) -> Option<&'q str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

// ---------------------------------------------------------------------------------------------
// Messages

const MESSAGES: &str = "/channels/{channel_id}/messages";
const MESSAGE: &str = "/channels/{channel_id}/messages/{message_id}";
/// Message flags a bot may set: SUPPRESS_EMBEDS and SUPPRESS_NOTIFICATIONS.
const SETTABLE_FLAGS: u64 = (1 << 2) | (1 << 12);

fn nonce_key(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn create_message(inner: &Inner, req: &ApiRequest, c_raw: &str, label: &str) -> Out {
    let body = match json_object(req, label) {
        Ok(b) => b,
        Err(out) => return out,
    };
    let mut violations = Vec::new();
    let errors = form_errors(inner, validate::MESSAGE_CREATE, &body, &mut violations);
    if !errors.is_empty() {
        let mut out = invalid_form(&errors, label);
        out.violations.extend(violations);
        return out;
    }
    if !validate::has_payload(&body) {
        return empty_message(label);
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
    let new = NewMessage {
        channel_id: c,
        author_id: s.bot_id,
        content: body
            .get("content")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        embeds: array(&body, "embeds").iter().map(embed_response).collect(),
        components: components_response(&array(&body, "components")),
        reply_to,
        allowed: Allowed::from_json(body.get("allowed_mentions")),
        flags: body.get("flags").and_then(Value::as_u64).unwrap_or(0) & SETTABLE_FLAGS,
        tts: body.get("tts").and_then(Value::as_bool).unwrap_or(false),
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

fn list_messages(inner: &Inner, req: &ApiRequest, c_raw: &str, label: &str) -> Out {
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

fn get_message(inner: &Inner, c_raw: &str, m_raw: &str) -> Reply {
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

fn edit_message(inner: &Inner, req: &ApiRequest, c_raw: &str, m_raw: &str, label: &str) -> Out {
    let body = match json_object(req, label) {
        Ok(b) => b,
        Err(out) => return out,
    };
    let mut violations = Vec::new();
    let errors = form_errors(inner, validate::MESSAGE_EDIT, &body, &mut violations);
    if !errors.is_empty() {
        let mut out = invalid_form(&errors, label);
        out.violations.extend(violations);
        return out;
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
    }
    if let Some(v) = obj.get("components") {
        m.components = components_response(v.as_array().map(Vec::as_slice).unwrap_or_default());
    }
    if let Some(v) = obj.get("flags") {
        let suppress = 1 << 2;
        m.flags = (m.flags & !suppress) | (v.as_u64().unwrap_or(0) & suppress);
    }
    let rendered = json!({ "content": m.content, "embeds": m.embeds, "components": m.components });
    if !validate::has_payload(&rendered) {
        return empty_message(label);
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

// ---------------------------------------------------------------------------------------------
// Reactions and members

fn unknown_emoji() -> Reply {
    Reply::error(400, 10014, "Unknown Emoji")
}

fn add_reaction(inner: &Inner, c_raw: &str, m_raw: &str, e_raw: &str) -> Reply {
    let mut s = inner.lock();
    let c = match channel(&s, c_raw) {
        Ok(c) => c.id,
        Err(r) => return r,
    };
    let id = match message_id(m_raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    if s.message(c, id).is_none() {
        return unknown_message();
    }
    let Some(emoji) = Emoji::parse(e_raw) else {
        return unknown_emoji();
    };
    let bot = s.bot_id;
    if s.react(c, id, emoji, bot) {
        Reply::no_content()
    } else {
        unknown_message()
    }
}

fn list_reactions(
    inner: &Inner,
    req: &ApiRequest,
    c_raw: &str,
    m_raw: &str,
    e_raw: &str,
    label: &str,
) -> Out {
    let pairs = url::query_pairs(req.query.as_deref());
    let after = match query(&pairs, "after") {
        None => 0,
        Some(raw) => match snowflake::parse(raw) {
            Some(id) => id,
            None => return Reply::not_snowflake("after", raw).into(),
        },
    };
    let limit = match parse_limit(query(&pairs, "limit"), 25, 100) {
        Ok(l) => l as usize,
        Err(e) => return invalid_form(&[e], label),
    };
    let s = inner.lock();
    let c = match channel(&s, c_raw) {
        Ok(c) => c.id,
        Err(r) => return r.into(),
    };
    let id = match message_id(m_raw) {
        Ok(id) => id,
        Err(r) => return r.into(),
    };
    let Some(m) = s.message(c, id) else {
        return unknown_message().into();
    };
    let Some(emoji) = Emoji::parse(e_raw) else {
        return unknown_emoji().into();
    };
    let mut users: Vec<u64> = m
        .reactions
        .iter()
        .find(|r| r.emoji == emoji)
        .map(|r| r.users.clone())
        .unwrap_or_default();
    users.sort_unstable();
    let list: Vec<Value> = users
        .into_iter()
        .filter(|u| *u > after)
        .take(limit)
        .map(|u| s.user_json(u))
        .collect();
    Reply::ok(
        Value::Array(list),
        validate::ok_schema(
            "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}",
            "get",
        ),
    )
    .into()
}

fn get_member(inner: &Inner, g_raw: &str, u_raw: &str) -> Reply {
    let s = inner.lock();
    let Some(g) = snowflake::parse(g_raw) else {
        return Reply::not_snowflake("guild_id", g_raw);
    };
    if g != s.guild_id {
        return Reply::error(404, 10004, "Unknown Guild");
    }
    let Some(u) = snowflake::parse(u_raw) else {
        return Reply::not_snowflake("user_id", u_raw);
    };
    match s.member_json(u) {
        Some(v) => Reply::ok(
            v,
            validate::ok_schema("/guilds/{guild_id}/members/{user_id}", "get"),
        ),
        None => Reply::error(404, 10007, "Unknown Member"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse() {
        let segs = |p: &str| url::segments(p);
        assert_eq!(Route::parse(&segs("/users/@me")), Some(Route::Me));
        assert_eq!(
            Route::parse(&segs("/channels/1/messages/2/reactions/%E2%9C%85/%40me")),
            Some(Route::MyReaction("1".into(), "2".into(), "✅".into()))
        );
        assert_eq!(Route::parse(&segs("/channels/1/pins")), None);
        assert!(!Route::Me.serves("POST"));
    }

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
