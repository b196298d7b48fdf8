//! A small Discord channel behind the [`Transport`] trait, on a virtual clock, for tests that run
//! many rounds: it keeps messages and reactions, pages `after` / `before` as Discord does
//! (newest first), creates messages with ids from the clock (honouring `enforce_nonce`),
//! edits them, and plays scheduled events (someone writes, reacts, removes a reaction) when
//! their time has come. Every create and edit body is checked against Discord's OpenAPI spec.
//! A `fault` hook can answer any request instead (outages, bans).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use jsonschema::{Draft, Registry, Validator};
use serde_json::{json, Value};

use crate::discord::{HttpRequest, HttpResponse, Method, Transport, TransportError};
use crate::snowflake::DISCORD_EPOCH_MS;

pub const CHANNEL: &str = "111111111111111111";
pub const GUILD: &str = "666666666666666666";
pub const BOT: u64 = 222_222_222_222_222_222;
pub const ALICE: u64 = 333_333_333_333_333_333;
pub const BOB: u64 = 444_444_444_444_444_444;
pub const CAROL: u64 = 555_555_555_555_555_555;
pub const SEC: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;
const API: &str = "http://127.0.0.1:1/api/v10";
/// How far back a create's nonce is checked ("the past few minutes", Discord says).
const NONCE_WINDOW_MS: u64 = 5 * 60 * 1000;

/// Something that happens in the channel at a time (ns on the sim's clock).
#[derive(Debug, Clone)]
pub enum Event {
    /// `user` writes `text`, as a reply to the question when `reply`.
    Say(u64, &'static str, bool),
    /// `user` reacts with `emoji` on the question.
    React(u64, &'static str),
    /// `user` removes their `emoji` reaction from the question.
    Unreact(u64, &'static str),
}

/// A stored message.
#[derive(Debug, Clone)]
pub struct Msg {
    pub id: u64,
    pub author: u64,
    pub content: String,
    pub reference: Option<u64>,
    pub embeds: Vec<Value>,
    pub nonce: Option<String>,
    /// Emoji -> users, in the order they reacted.
    pub reactions: Vec<(String, Vec<u64>)>,
}

/// A fault: given the request and the clock, an answer that replaces the channel's.
pub type Fault = Box<dyn FnMut(&HttpRequest, u64) -> Option<HttpResponse>>;

pub struct Sim {
    pub now: u64,
    pub messages: BTreeMap<u64, Msg>,
    pub names: BTreeMap<u64, String>,
    pub member_roles: BTreeMap<u64, Vec<String>>,
    pub events: Vec<(u64, Event)>,
    pub sent: Vec<(Method, String, Option<Value>, u64)>,
    pub sleeps: Vec<u64>,
    pub notices: Vec<String>,
    pub fault: Option<Fault>,
    /// How far Discord's clock (the ids it hands out) runs ahead of ours, in ms.
    pub skew_ms: u64,
    seq: u64,
}

impl Sim {
    /// An empty channel at 1000 s on the clock; the bot, alice, bob and carol known.
    pub fn new() -> Sim {
        let mut names = BTreeMap::new();
        for (id, name) in [
            (BOT, "alerter"),
            (ALICE, "alice"),
            (BOB, "bob"),
            (CAROL, "carol"),
        ] {
            names.insert(id, name.to_string());
        }
        Sim {
            now: 1_000 * 1_000 * MS,
            messages: BTreeMap::new(),
            names,
            member_roles: BTreeMap::new(),
            events: Vec::new(),
            sent: Vec::new(),
            sleeps: Vec::new(),
            notices: Vec::new(),
            fault: None,
            skew_ms: 0,
            seq: 0,
        }
    }

    /// Wall clock, Unix ms (the same mapping as `FakeTransport`).
    pub fn wall_ms(&self) -> u64 {
        1_790_000_000_000 + self.now / MS
    }

    /// A fresh id at the current time.
    pub fn next_id(&mut self) -> u64 {
        self.seq += 1;
        ((self.wall_ms() + self.skew_ms - DISCORD_EPOCH_MS) << 22) + self.seq
    }

    /// Add a message by `author` now; returns its id.
    pub fn say(&mut self, author: u64, content: &str, reference: Option<u64>) -> u64 {
        let id = self.next_id();
        self.messages.insert(
            id,
            Msg {
                id,
                author,
                content: content.to_string(),
                reference,
                embeds: Vec::new(),
                nonce: None,
                reactions: Vec::new(),
            },
        );
        id
    }

    /// The question: the first message the bot posted.
    pub fn question(&self) -> Option<&Msg> {
        self.messages
            .values()
            .find(|m| m.author == BOT && m.reference.is_none())
    }

    /// The bot's replies to `to`, oldest first.
    pub fn replies(&self, to: u64) -> Vec<&Msg> {
        self.messages
            .values()
            .filter(|m| m.author == BOT && m.reference == Some(to))
            .collect()
    }

    /// Requests as "METHOD /path", in order.
    pub fn requests(&self) -> Vec<String> {
        self.sent
            .iter()
            .map(|(m, p, _, _)| format!("{} {p}", m.as_str()))
            .collect()
    }

    fn play_events(&mut self) {
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) = self.events.drain(..).partition(|(t, _)| *t <= now);
        self.events = later;
        let Some(q) = self.question().map(|m| m.id) else {
            self.events.extend(due);
            return;
        };
        for (_, e) in due {
            match e {
                Event::Say(user, text, reply) => {
                    self.say(user, text, reply.then_some(q));
                }
                Event::React(user, emoji) => react(self.messages.get_mut(&q).unwrap(), emoji, user),
                Event::Unreact(user, emoji) => {
                    for (e, users) in &mut self.messages.get_mut(&q).unwrap().reactions {
                        if e == emoji {
                            users.retain(|u| *u != user);
                        }
                    }
                }
            }
        }
    }

    fn user(&self, id: u64) -> Value {
        let name = self
            .names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("u{id}"));
        json!({"id": id.to_string(), "username": name, "bot": id == BOT})
    }

    fn message_json(&self, m: &Msg) -> Value {
        let reactions: Vec<Value> = m
            .reactions
            .iter()
            .filter(|(_, users)| !users.is_empty())
            .map(|(e, users)| {
                json!({"count": users.len(), "me": users.contains(&BOT),
                       "emoji": {"id": null, "name": e}})
            })
            .collect();
        let mut v = json!({
            "id": m.id.to_string(), "channel_id": CHANNEL, "content": m.content,
            "author": self.user(m.author), "type": if m.reference.is_some() { 19 } else { 0 },
            "embeds": m.embeds, "reactions": reactions,
        });
        if let Some(r) = m.reference {
            v["message_reference"] = json!({"message_id": r.to_string()});
        }
        v
    }

    fn serve(&mut self, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let (route, query) = path.split_once('?').unwrap_or((path, ""));
        let q = |k: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                .and_then(|v| v.parse::<u64>().ok())
        };
        let seg: Vec<String> = route.split('/').skip(1).map(decode).collect();
        let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
        let limit = q("limit").unwrap_or(50) as usize;
        match (method, seg.as_slice()) {
            (Method::Get, ["users", "@me"]) => (200, self.user(BOT)),
            (Method::Get, ["channels", c]) => (200, json!({"id": c, "guild_id": GUILD})),
            (Method::Get, ["guilds", _, "members", u]) => {
                match self.member_roles.get(&u.parse().unwrap()) {
                    Some(r) => (200, json!({"roles": r})),
                    None => (404, json!({"message": "Unknown Member", "code": 10007})),
                }
            }
            (Method::Get, ["channels", _, "messages"]) => {
                let mut ids: Vec<u64> = match (q("after"), q("before")) {
                    (Some(a), _) => self
                        .messages
                        .range(a + 1..)
                        .map(|(k, _)| *k)
                        .take(limit)
                        .collect(),
                    (None, Some(b)) => self
                        .messages
                        .range(..b)
                        .rev()
                        .map(|(k, _)| *k)
                        .take(limit)
                        .collect(),
                    (None, None) => self.messages.keys().rev().copied().take(limit).collect(),
                };
                ids.sort_unstable_by(|a, b| b.cmp(a));
                let page: Vec<Value> = ids
                    .iter()
                    .map(|id| self.message_json(&self.messages[id]))
                    .collect();
                (200, Value::Array(page))
            }
            (Method::Get, ["channels", _, "messages", m]) => {
                match self.messages.get(&m.parse().unwrap()) {
                    Some(msg) => (200, self.message_json(msg)),
                    None => (404, json!({"message": "Unknown Message", "code": 10008})),
                }
            }
            (Method::Get, ["channels", _, "messages", m, "reactions", e]) => {
                let msg = &self.messages[&m.parse().unwrap()];
                let mut users: Vec<u64> = msg
                    .reactions
                    .iter()
                    .filter(|(x, _)| x == e)
                    .flat_map(|(_, u)| u.clone())
                    .filter(|u| q("after").is_none_or(|a| *u > a))
                    .collect();
                users.sort_unstable();
                users.truncate(limit);
                (
                    200,
                    Value::Array(users.iter().map(|u| self.user(*u)).collect()),
                )
            }
            (Method::Put, ["channels", _, "messages", m, "reactions", e, "@me"]) => {
                react(self.messages.get_mut(&m.parse().unwrap()).unwrap(), e, BOT);
                (204, Value::Null)
            }
            (Method::Post, ["channels", _, "messages"]) => {
                let body = body.unwrap();
                check(body, "MessageCreateRequest");
                let nonce = body["nonce"].as_str().map(String::from);
                let recent = (self.wall_ms() + self.skew_ms - DISCORD_EPOCH_MS)
                    .saturating_sub(NONCE_WINDOW_MS)
                    << 22;
                if let Some(m) = self
                    .messages
                    .range(recent..)
                    .map(|(_, m)| m)
                    .find(|m| nonce.is_some() && m.nonce == nonce)
                {
                    return (200, self.message_json(&m.clone()));
                }
                let id = self.next_id();
                let reference = body["message_reference"]["message_id"]
                    .as_str()
                    .map(|r| r.parse().unwrap());
                let m = Msg {
                    id,
                    author: BOT,
                    content: body["content"].as_str().unwrap_or("").to_string(),
                    reference,
                    embeds: body["embeds"].as_array().cloned().unwrap_or_default(),
                    nonce,
                    reactions: Vec::new(),
                };
                self.messages.insert(id, m.clone());
                (200, self.message_json(&m))
            }
            (Method::Patch, ["channels", _, "messages", m]) => {
                let body = body.unwrap();
                check(body, "MessageEditRequestPartial");
                let msg = self.messages.get_mut(&m.parse().unwrap()).unwrap();
                msg.embeds = body["embeds"].as_array().cloned().unwrap();
                let msg = msg.clone();
                (200, self.message_json(&msg))
            }
            other => panic!("the sim does not serve {other:?}"),
        }
    }
}

fn react(m: &mut Msg, emoji: &str, user: u64) {
    match m.reactions.iter_mut().find(|(e, _)| e == emoji) {
        Some((_, users)) if users.contains(&user) => {}
        Some((_, users)) => users.push(user),
        None => m.reactions.push((emoji.to_string(), vec![user])),
    }
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Check a request body against a request schema of Discord's OpenAPI spec.
pub fn check(body: &Value, schema: &str) {
    static SPEC: OnceLock<Value> = OnceLock::new();
    static REGISTRY: OnceLock<Registry<'static>> = OnceLock::new();
    let spec = SPEC.get_or_init(|| {
        serde_json::from_str(include_str!("../../../../emulator/spec/openapi.json")).unwrap()
    });
    let registry = REGISTRY.get_or_init(|| {
        Registry::new()
            .draft(Draft::Draft202012)
            .add("urn:discord", spec)
            .and_then(jsonschema::RegistryBuilder::prepare)
            .unwrap()
    });
    let v: Validator = jsonschema::options()
        .with_draft(Draft::Draft202012)
        .with_registry(registry)
        .build(&json!({ "$ref": format!("urn:discord#/components/schemas/{schema}") }))
        .unwrap();
    let problems: Vec<String> = v
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(problems.is_empty(), "{schema}: {problems:?}\n{body}");
}

impl Transport for Sim {
    fn send(&mut self, r: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let path = r
            .url
            .strip_prefix(API)
            .expect("the sim's API base")
            .to_string();
        let body: Option<Value> = r.body.as_ref().map(|b| serde_json::from_slice(b).unwrap());
        self.sent
            .push((r.method, path.clone(), body.clone(), self.now));
        self.now += MS;
        self.play_events();
        if let Some(f) = self.fault.as_mut() {
            if let Some(resp) = f(r, self.now) {
                return Ok(resp);
            }
        }
        let (status, v) = self.serve(r.method, &path, body.as_ref());
        let body = if v.is_null() {
            Vec::new()
        } else {
            v.to_string().into_bytes()
        };
        Ok(HttpResponse {
            status,
            headers: Vec::new(),
            body,
        })
    }
    fn now_ns(&self) -> u64 {
        self.now
    }
    fn sleep_ns(&mut self, ns: u64) {
        self.sleeps.push(ns);
        self.now += ns;
    }
    fn unix_ms(&self) -> u64 {
        self.wall_ms()
    }
    fn random_u64(&mut self) -> u64 {
        self.seq += 1;
        self.seq.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
    fn notice(&mut self, text: &str) {
        self.notices.push(text.to_string());
    }
}

/// A service over `sim` for the default channel, with this delivery deadline.
pub fn service(sim: Sim, delivery_ms: u64) -> crate::service::Service<Sim> {
    let settings = crate::config::Settings {
        delivery_deadline_ms: delivery_ms,
        ..crate::config::Settings::from_lookup(|k| {
            Ok(match k {
                "api_base_url" => Some(API.into()),
                "default_discord_channel_id" => Some(CHANNEL.into()),
                _ => None,
            })
        })
        .unwrap()
    };
    crate::service::Service::new(settings, "tok", sim)
}

/// The sim behind a service.
pub fn of(svc: &mut crate::service::Service<Sim>) -> &mut Sim {
    svc.client.transport()
}

/// A new process over the same channel: a fresh service, nothing remembered.
pub fn restart(
    svc: crate::service::Service<Sim>,
    delivery_ms: u64,
) -> crate::service::Service<Sim> {
    service(svc.client.into_transport(), delivery_ms)
}

/// Params with these ask settings (timeout 60 s and poll 1 s unless `f` changes them).
pub fn params(f: impl FnOnce(&mut crate::bindings::AskSettings)) -> crate::bindings::Params {
    let mut ask = crate::bindings::AskSettings {
        timeout_ms: Some(60_000),
        poll_interval_ms: Some(1_000),
        ..crate::bindings::AskSettings::default()
    };
    f(&mut ask);
    crate::bindings::Params {
        ask: Some(ask),
        ..crate::bindings::Params::default()
    }
}

/// "Deploy to prod?" as a structured message.
pub fn question() -> crate::bindings::Message {
    crate::bindings::Message::Structured(crate::bindings::AlerterMessage {
        title: Some("Deploy to prod?".into()),
        body: None,
        metadata: vec![],
        images: vec![],
    })
}

/// The reference to question `id` in the channel.
pub fn qref(id: &str) -> crate::bindings::QuestionRef {
    crate::bindings::QuestionRef {
        channel_id: CHANNEL.into(),
        message_id: id.into(),
    }
}
