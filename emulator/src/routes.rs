//! The Discord API routes (`/api/v10/...`): routing, authentication, rate limiting and the
//! helpers the handlers share. The handlers live in one submodule per resource (`messages`,
//! `reactions`, `guild`, `threads`, `webhooks`; `uploads` checks the files of a create or a
//! webhook execute); they are
//! synchronous and hold the state lock only while they run. The server module does the HTTP
//! around them.

mod guild;
mod messages;
mod reactions;
mod threads;
mod uploads;
mod webhooks;

use serde_json::{json, Value};

use crate::multipart::Form;
use crate::ratelimit::{self, BucketInfo};
use crate::reply::Reply;
use crate::snowflake;
use crate::state::{ChannelRec, State};
use crate::url;
use crate::validate::{self, FieldError};
use crate::Inner;

/// The API prefix.
pub const PREFIX: &str = "/api/v10";

/// A request as the handlers see it: body read, JSON parsed.
pub struct ApiRequest {
    /// `GET`, `POST`, ..., as sent.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// The query string as sent (still percent-encoded), if any.
    pub query: Option<String>,
    /// Lowercase names.
    pub headers: Vec<(String, String)>,
    /// `None`: no body. `Some(Err)`: a body that is not JSON. For a `multipart/form-data`
    /// request, its `payload_json` part (`None` without one).
    pub body: Option<Result<Value, String>>,
    /// `Some` for a `multipart/form-data` request: the form, or why it is not valid multipart.
    pub form: Option<Result<Form, String>>,
}

impl ApiRequest {
    /// The first value of a header (`name` in lowercase).
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `METHOD /path`, for violation messages, with a webhook token in the path replaced by
    /// `{webhook_token}` (a webhook URL's token stays out of messages that get printed).
    pub fn label(&self) -> String {
        let hook = format!("{PREFIX}/webhooks/");
        if let Some(rest) = self.path.strip_prefix(&hook) {
            let mut parts = rest.splitn(3, '/');
            if let (Some(id), Some(_token)) = (parts.next(), parts.next()) {
                let more = parts.next().map(|m| format!("/{m}")).unwrap_or_default();
                return format!("{} {hook}{id}/{{webhook_token}}{more}", self.method);
            }
        }
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
    MessageThreads(String, String),
    Reactions(String, String, String),
    MyReaction(String, String, String),
    Member(String, String),
    /// `/webhooks/{webhook_id}/{webhook_token}`, raw id and token.
    Webhook(String, String),
}

impl Route {
    /// The route of decoded path segments after `/api/v10`, if the emulator serves it.
    fn parse(segs: &[String]) -> Option<Route> {
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        Some(match s.as_slice() {
            ["users", "@me"] => Route::Me,
            ["channels", c] => Route::Channel(c.to_string()),
            ["channels", c, "messages"] => Route::Messages(c.to_string()),
            ["channels", c, "messages", m] => Route::Message(c.to_string(), m.to_string()),
            ["channels", c, "messages", m, "threads"] => {
                Route::MessageThreads(c.to_string(), m.to_string())
            }
            ["channels", c, "messages", m, "reactions", e] => {
                Route::Reactions(c.to_string(), m.to_string(), e.to_string())
            }
            ["channels", c, "messages", m, "reactions", e, "@me"] => {
                Route::MyReaction(c.to_string(), m.to_string(), e.to_string())
            }
            ["guilds", g, "members", u] => Route::Member(g.to_string(), u.to_string()),
            ["webhooks", w, t] => Route::Webhook(w.to_string(), t.to_string()),
            _ => return None,
        })
    }

    /// Whether the emulator serves `method` on this route.
    fn serves(&self, method: &str) -> bool {
        let methods: &[&str] = match self {
            Route::Me | Route::Channel(_) | Route::Reactions(..) | Route::Member(..) => &["GET"],
            Route::Messages(_) => &["GET", "POST"],
            Route::Message(..) => &["GET", "PATCH"],
            Route::MyReaction(..) => &["PUT"],
            Route::MessageThreads(..) | Route::Webhook(..) => &["POST"],
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
            Route::MessageThreads(c, _) => (
                c.clone(),
                "/channels/{channel_id}/messages/{message_id}/threads",
            ),
            Route::Reactions(c, ..) | Route::MyReaction(c, ..) => (
                c.clone(),
                "/channels/{channel_id}/messages/{message_id}/reactions",
            ),
            Route::Member(g, _) => (g.clone(), "/guilds/{guild_id}/members/{user_id}"),
            // The webhook id is the major parameter; the token stays out of the key.
            Route::Webhook(w, _) => (w.clone(), webhooks::PATH),
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

impl Out {
    /// This answer with `violations` (found before it was decided) recorded too.
    fn with(mut self, violations: Vec<String>) -> Out {
        self.violations.extend(violations);
        self
    }
}

impl From<Reply> for Out {
    fn from(reply: Reply) -> Out {
        Out {
            reply,
            violations: Vec::new(),
        }
    }
}

/// Adds a bucket's `X-RateLimit-*` headers to a reply.
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
    if req.form.is_some() {
        let create = req.method == "POST"
            && matches!(route_of(req), Some(Route::Messages(_) | Route::Webhook(..)));
        if !create {
            violations.push(format!(
                "{label}: multipart/form-data body; the emulator takes one only for POST /channels/{{channel_id}}/messages and POST /webhooks/{{webhook_id}}/{{webhook_token}}"
            ));
        }
    } else if req.body.is_some()
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

/// The decoded path segments after `/api/v10` (none for other paths).
fn segments(req: &ApiRequest) -> Vec<String> {
    match req.path.strip_prefix(PREFIX) {
        Some(rest) if rest.starts_with('/') => url::segments(rest),
        _ => Vec::new(),
    }
}

/// The route of a request, if the emulator serves it with this method.
fn route_of(req: &ApiRequest) -> Option<Route> {
    Route::parse(&segments(req)).filter(|r| r.serves(&req.method))
}

/// Routes, authenticates (401; for a webhook execute, the webhook and its token: 404 10015 /
/// 401 50027) and rate-limits (429) a request, then runs its handler. A route the emulator does
/// not serve is a 404 and a violation.
fn route_and_run(inner: &Inner, req: &ApiRequest, label: &str) -> Out {
    let now = snowflake::now_ms();
    let segs = segments(req);
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
    let refused = |reply: Reply, violations: Vec<String>| {
        let info = inner
            .lock()
            .limiter
            .peek(&key, &template, now, inner.rate_limiter);
        Out {
            reply: attach(reply, &info),
            violations,
        }
    };
    let mut violations = Vec::new();
    let webhook = if let Route::Webhook(w, t) = &route {
        violations.extend(webhooks::authorization_violation(inner, req, label));
        match webhooks::find(inner, w, t) {
            Ok(w) => Some(w),
            Err(reply) => return refused(reply, violations),
        }
    } else {
        if req.header("authorization") != Some(format!("Bot {}", inner.token).as_str()) {
            return refused(Reply::error(401, 0, "401: Unauthorized"), violations);
        }
        None
    };
    let taken = inner
        .lock()
        .limiter
        .take(&key, &template, now, inner.rate_limiter);
    let info = match taken {
        Ok(info) => info,
        Err(limited) => {
            let mut reply = rate_limited(limited.retry_after, limited.global);
            reply.headers.extend(ratelimit::headers(&limited.info));
            return Out { reply, violations };
        }
    };
    let mut out = match &webhook {
        Some(w) => webhooks::execute_webhook(inner, req, w, label),
        None => run(inner, req, &route, label),
    };
    out.reply = attach(out.reply, &info);
    violations.append(&mut out.violations);
    out.violations = violations;
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
/// Calls the handler of a routed, authenticated request.
fn run(inner: &Inner, req: &ApiRequest, route: &Route, label: &str) -> Out {
    match (route, req.method.as_str()) {
        (Route::Me, _) => guild::get_me(inner).into(),
        (Route::Channel(c), _) => guild::get_channel(inner, c).into(),
        (Route::Messages(c), "POST") => messages::create_message(inner, req, c, label),
        (Route::Messages(c), _) => messages::list_messages(inner, req, c, label),
        (Route::Message(c, m), "PATCH") => messages::edit_message(inner, req, c, m, label),
        (Route::Message(c, m), _) => messages::get_message(inner, c, m).into(),
        (Route::MessageThreads(c, m), _) => threads::create_thread(inner, req, c, m, label),
        (Route::MyReaction(c, m, e), _) => reactions::add_reaction(inner, c, m, e).into(),
        (Route::Reactions(c, m, e), _) => reactions::list_reactions(inner, req, c, m, e, label),
        (Route::Member(g, u), _) => guild::get_member(inner, g, u).into(),
        // Run by `route_and_run`, which found the webhook; not reached.
        (Route::Webhook(..), _) => Reply::error(404, 10015, "Unknown Webhook").into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the handlers

/// The channel (or thread), if the bot can see it.
fn channel<'s>(s: &'s State, raw: &str) -> Result<&'s ChannelRec, Reply> {
    let id = snowflake::parse(raw).ok_or_else(|| Reply::not_snowflake("channel_id", raw))?;
    let c = s
        .channels
        .get(&id)
        .ok_or_else(|| Reply::error(404, 10003, "Unknown Channel"))?;
    let parent_hidden = c
        .thread
        .as_ref()
        .and_then(|t| s.channels.get(&t.parent_id))
        .is_some_and(|p| p.hidden);
    if c.hidden || parent_hidden {
        return Err(Reply::error(403, 50001, "Missing Access"));
    }
    Ok(c)
}

/// A `message_id` path parameter, or the 400 for one that is not a snowflake.
fn message_id(raw: &str) -> Result<u64, Reply> {
    snowflake::parse(raw).ok_or_else(|| Reply::not_snowflake("message_id", raw))
}

/// 404 Unknown Message (10008).
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

/// Problems of a body against the spec schema at `pointer` (none with validation off); an
/// emulator bug (a validator that does not build) goes to `violations`.
fn schema_problems(
    inner: &Inner,
    pointer: &str,
    body: &Value,
    violations: &mut Vec<String>,
) -> Vec<FieldError> {
    if !inner.validate {
        return Vec::new();
    }
    validate::schema_errors(pointer, body).unwrap_or_else(|e| {
        violations.push(format!("emulator bug: {e}"));
        Vec::new()
    })
}

/// 400 Invalid Form Body (50035) for these field errors, each also a violation.
fn invalid_form(errors: &[FieldError], label: &str) -> Out {
    Out {
        reply: Reply::invalid_form(errors),
        violations: errors
            .iter()
            .map(|e| format!("{label}: {}: {} {}", e.field(), e.code, e.message))
            .collect(),
    }
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

/// The first value of `key` among decoded query pairs.
fn query<'q>(pairs: &'q [(String, String)], key: &str) -> Option<&'q str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
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
        assert_eq!(
            Route::parse(&segs("/webhooks/1/a-b_c")),
            Some(Route::Webhook("1".into(), "a-b_c".into()))
        );
        let (key, template) = Route::Webhook("1".into(), "secret".into()).bucket("POST");
        assert_eq!(key, "POST /webhooks/{webhook_id}/{webhook_token} 1");
        assert!(!template.contains("secret"));
        let req = |path: &str| ApiRequest {
            method: "POST".into(),
            path: path.into(),
            query: None,
            headers: Vec::new(),
            body: None,
            form: None,
        };
        assert_eq!(
            req("/api/v10/webhooks/1/secret").label(),
            "POST /api/v10/webhooks/1/{webhook_token}"
        );
        assert_eq!(
            req("/api/v10/webhooks/1/secret/messages/2").label(),
            "POST /api/v10/webhooks/1/{webhook_token}/messages/2"
        );
        assert_eq!(
            req("/api/v10/webhooks/1").label(),
            "POST /api/v10/webhooks/1"
        );
        assert!(!Route::Me.serves("POST"));
    }
}
