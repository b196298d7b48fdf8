//! An emulator of Discord's REST API v10 on 127.0.0.1.
//!
//! It serves the routes a REST-polling bot needs (`/users/@me`, channels, messages with file
//! uploads, threads, reactions, guild members), and webhook executes, the way Discord does, validates every request
//! body against Discord's OpenAPI spec and documented limits, checks every answer against the
//! spec, and records what it saw.
//! Tests drive the other side (people writing, reacting) through [`Emulator`] methods or, from
//! another process, through the `/_emulator` control API (see the `control` module). Faults
//! (429s, 5xx, dropped connections, ...) are injected with [`Emulator::push_fault`].
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let emu = alerter_emulator::Emulator::start(Default::default()).await?;
//! println!("POST {}/channels/{}/messages", emu.base_url(), emu.default_channel_id());
//! assert!(emu.violations().is_empty());
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! This file is the public API ([`Emulator`], [`Options`], [`User`], [`Webhook`],
//! [`RecordedRequest`], [`RecordedFile`], and [`Fault`] / [`FaultKind`] from `faults`); the work is in private
//! modules. An API request goes `server` (read, record, fault?) -> `routes` (route, auth, rate
//! limit) -> a handler in `routes::*` (using `state`, `validate`, `mentions`) -> a `reply` ->
//! `server` (answer checked against the spec, rate-limit headers, HTTP response).
//! `/_emulator/...` goes `server` -> `control` -> `state`.
//!
//! - `server`: accept loop, one hyper HTTP/1 task per connection (numbered, kept alive); per
//!   request reads the body (at most 25 MiB, else 413), parses a `multipart/form-data` one with
//!   `multipart`, records it in `state`, applies the first matching fault, checks the answer
//!   against its spec schema (a mismatch is an emulator bug), waits out
//!   [`Options::latency_ms`], and writes the HTTP response.
//! - `control`: the `/_emulator` control API (no auth): what the [`Emulator`] methods do, for
//!   other processes.
//! - `routes`: matches `/api/v10` routes (404 and a violation for others), notes a bad
//!   `User-Agent` or `Content-Type`, checks the token (401), takes a rate-limit slot (429), and
//!   calls the handler; also the helpers the handlers share.
//! - `routes::messages`: create, list, get and edit messages; embeds and components as
//!   Discord returns them.
//! - `routes::uploads`: the files of a create (limits, `attachments[]` ids, names) and
//!   `attachment://` references in embeds.
//! - `routes::threads`: start a thread from a message.
//! - `routes::webhooks`: execute a webhook (no bot token; the webhook's token in the path),
//!   JSON or multipart like a create, into its channel or a thread of it.
//! - `routes::reactions`: the bot reacts; who reacted with an emoji.
//! - `routes::guild`: `/users/@me`, a channel, a guild member.
//! - `state`: the emulated guild (users, roles, members, channels and threads, messages,
//!   reactions, uploaded files), the recorded requests and violations, pending faults and
//!   rate-limit buckets; `state::render` the JSON objects Discord returns for them,
//!   `state::threads` starting threads, `state::webhooks` making webhooks.
//! - `multipart`: the `multipart/form-data` parser.
//! - `attachments`: stored attachments, their bytes (bounded) and URLs, Discord's filename rule.
//! - `threads`: what makes a channel a thread, and why one cannot be started.
//! - `webhooks`: webhooks (id, token, text channel, name), their tokens, and the pseudo-user
//!   their messages are written by.
//! - `validate`: the compiled-in OpenAPI spec, cached schema validators, Discord's own limits,
//!   and Discord-shaped `errors` trees.
//! - `ratelimit`: route buckets, the global limit, and the `X-RateLimit-*` / `Retry-After`
//!   headers.
//! - `faults`: the injectable faults and the queue that hands them out.
//! - `reply`: the answer a handler produces, and Discord's error bodies.
//! - `mentions`: who a message pings (`<@id>`, `<@&id>`, `@everyone`, `allowed_mentions`).
//! - `snowflake`: ids and timestamps made like Discord's.
//! - `url`: percent-decoding of paths and queries; the control API's path prefix.
//!
//! The modules form no circle: the plain data (`threads`, `webhooks`, `attachments`,
//! `mentions`, `faults`, `ratelimit`) and `validate`, `snowflake`, `url` are below `state`;
//! `reply` is above `validate`; `control`, `routes` and `server` are on top.

mod attachments;
mod control;
mod faults;
mod mentions;
mod multipart;
mod ratelimit;
mod reply;
mod routes;
mod server;
mod snowflake;
mod state;
mod stream;
mod threads;
mod url;
mod validate;
mod webhooks;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::watch;

pub use faults::{Fault, FaultKind};

use state::State;

/// How to start an emulator.
#[derive(Clone, Debug)]
pub struct Options {
    /// Port on 127.0.0.1; 0 picks any free port.
    pub port: u16,
    /// The bot token requests must carry as `Authorization: Bot <token>`.
    pub token: String,
    /// The bot user's username.
    pub bot_name: String,
    /// Whether the bot has the privileged MESSAGE_CONTENT intent (default true). Without it,
    /// messages the bot reads come back with empty `content` and `embeds`, except its own and
    /// those that mention it.
    pub message_content_intent: bool,
    /// Enforce rate limits (default false): 5 requests per second per route bucket, 50 per
    /// second overall; over that, 429. Headers are sent either way.
    pub rate_limiter: bool,
    /// With the limiter on: requests per bucket per window (Discord-like default 5).
    pub bucket_limit: u32,
    /// Length of a bucket's window in ms (default 1000). 5000 with `bucket_limit` 5 is
    /// Discord's documented pace for message creates in one channel.
    pub bucket_window_ms: u64,
    /// With the limiter on: requests per second over all buckets (Discord's 50).
    pub global_limit: u32,
    /// Check request and response bodies against the OpenAPI spec (default true). Discord's
    /// limits (2000 characters, embed sizes, ...) are enforced either way.
    pub validate: bool,
    /// Largest uploaded file accepted, in bytes (default 10 MiB, Discord's default upload limit;
    /// boosted servers allow more). A bigger one is a 413 (40005) and a violation.
    pub max_file_bytes: usize,
    /// Emulated network latency in ms (default 0, none): one emulated round trip per response,
    /// e.g. 20 to look like a client far from Discord's edge. Every answer of an API route
    /// (errors and 429s included) waits this long after the request is read and handled,
    /// before its head is sent; a connection a fault drops is dropped after the wait too.
    /// `/_emulator` control routes are never delayed. Change it while serving with
    /// [`Emulator::set_latency_ms`].
    pub latency_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            port: 0,
            token: "emulator-bot-token".to_string(),
            bot_name: "alerter-bot".to_string(),
            message_content_intent: true,
            rate_limiter: false,
            bucket_limit: ratelimit::BUCKET_LIMIT,
            bucket_window_ms: ratelimit::BUCKET_WINDOW_MS,
            global_limit: ratelimit::GLOBAL_LIMIT,
            validate: true,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            latency_ms: 0,
        }
    }
}

/// Discord's default upload limit per file, 10 MiB.
pub const DEFAULT_MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// A Discord user of the emulated guild.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct User {
    /// Snowflake.
    pub id: String,
    /// Username.
    pub username: String,
    /// Whether it is a bot account.
    pub bot: bool,
}

/// One request the API received (control API requests are not recorded).
#[derive(Clone, Debug, Serialize)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path without the query, as sent (still percent-encoded).
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// Headers with lowercase names, in the order received.
    pub headers: Vec<(String, String)>,
    /// The JSON body; a body that is not JSON is kept as a JSON string. For a
    /// `multipart/form-data` request, the parsed `payload_json` part (a string if it is not
    /// JSON; `None` without one); for one that is not valid multipart, its first 64 KiB as a
    /// string.
    pub body: Option<serde_json::Value>,
    /// The request's `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The file parts of a `multipart/form-data` request, in order (empty for JSON requests).
    pub files: Vec<RecordedFile>,
    /// Milliseconds since the emulator started.
    pub at_ms: u64,
    /// The status answered; 0 when no response was sent (dropped or lost by a fault).
    pub status: u16,
    /// The TCP connection it came on: accepted connections are numbered 1, 2, ... in order
    /// (see [`Emulator::connections`]); requests sharing a number shared a kept-alive
    /// connection.
    pub connection: u64,
}

/// A webhook of a text channel, made with [`Emulator::add_webhook`] (or `POST
/// /_emulator/channels/{channel_id}/webhooks`). Executing it needs no bot token.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Webhook {
    /// Snowflake; also `webhook_id` and `author.id` of the messages it posts.
    pub id: String,
    /// The secret in its URL: 68 characters of `[A-Za-z0-9_-]`.
    pub token: String,
    /// The text channel it posts into (its threads take `?thread_id=`).
    pub channel_id: String,
    /// `{base_url}/webhooks/{id}/{token}`, e.g.
    /// `http://127.0.0.1:PORT/api/v10/webhooks/123/abc...`.
    pub url: String,
}

/// One file part of a recorded `multipart/form-data` request (its bytes are kept apart, see
/// [`Emulator::attachment`]).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RecordedFile {
    /// The part's name, e.g. `files[0]`.
    pub field: String,
    /// The part's `filename`.
    pub filename: String,
    /// The part's `Content-Type`, if it had one.
    pub content_type: Option<String>,
    /// Bytes.
    pub size: usize,
}

/// Shared by the handle and the server tasks.
pub(crate) struct Inner {
    /// The address served.
    pub(crate) addr: SocketAddr,
    /// The bot token requests must carry.
    pub(crate) token: String,
    /// [`Options::validate`].
    pub(crate) validate: bool,
    /// [`Options::rate_limiter`].
    pub(crate) rate_limiter: bool,
    /// [`Options::max_file_bytes`].
    pub(crate) max_file_bytes: usize,
    /// When the emulator started (for [`RecordedRequest::at_ms`]).
    pub(crate) started: Instant,
    /// [`Options::latency_ms`], changed by [`Emulator::set_latency_ms`].
    pub(crate) latency_ms: AtomicU64,
    /// TCP connections accepted so far; the last one's [`RecordedRequest::connection`].
    pub(crate) connections: AtomicU64,
    /// The emulated world; take it with [`Inner::lock`].
    pub(crate) state: Mutex<State>,
    /// Set to true to stop serving.
    shutdown: watch::Sender<bool>,
}

impl Inner {
    /// The state, even if a thread panicked while holding it.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `http://127.0.0.1:PORT/api/v10`.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}/api/v10", self.addr)
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The public view of a stored webhook, with its URL.
    pub(crate) fn webhook(&self, w: &webhooks::WebhookRec) -> Webhook {
        Webhook {
            id: w.id.to_string(),
            token: w.token.clone(),
            channel_id: w.channel_id.to_string(),
            url: format!("{}/webhooks/{}/{}", self.base_url(), w.id, w.token),
        }
    }
}

/// A running emulator. Clones share it; it keeps serving until [`Emulator::shutdown`] (or the
/// runtime / process it runs on ends), even when every handle is dropped.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.inner.addr)
            .finish_non_exhaustive()
    }
}

/// A non-blocking listener on 127.0.0.1 (`port` 0: any free port).
fn bind(port: u16) -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

impl Emulator {
    /// The handle for `addr`, not serving yet, and the receiver its server stops on.
    fn new(opts: Options, addr: SocketAddr) -> (Emulator, watch::Receiver<bool>) {
        let (shutdown, rx) = watch::channel(false);
        let inner = Inner {
            addr,
            token: opts.token,
            validate: opts.validate,
            rate_limiter: opts.rate_limiter,
            max_file_bytes: opts.max_file_bytes,
            started: Instant::now(),
            latency_ms: AtomicU64::new(opts.latency_ms),
            connections: AtomicU64::new(0),
            state: Mutex::new({
                let mut st = State::new(&opts.bot_name, opts.message_content_intent);
                st.limiter = ratelimit::RateLimiter::new(opts.bucket_limit, opts.global_limit);
                st.limiter.bucket_window_ms = opts.bucket_window_ms.max(1);
                st
            }),
            shutdown,
        };
        (
            Emulator {
                inner: Arc::new(inner),
            },
            rx,
        )
    }

    /// Builds the spec validators (cached per process; the first emulator pays for it).
    fn warm_up(&self) {
        if self.inner.validate {
            if let Err(e) = validate::warm_up() {
                self.inner
                    .lock()
                    .violation(format!("emulator bug: spec validators: {e}"));
            }
        }
    }

    /// Binds 127.0.0.1 and serves on the current tokio runtime.
    pub async fn start(opts: Options) -> std::io::Result<Emulator> {
        let std_listener = bind(opts.port)?;
        let addr = std_listener.local_addr()?;
        let listener = tokio::net::TcpListener::from_std(std_listener)?;
        let (emu, rx) = Emulator::new(opts, addr);
        let warm = emu.clone();
        // Validator building is CPU work; keep it off the async threads.
        if tokio::task::spawn_blocking(move || warm.warm_up())
            .await
            .is_err()
        {
            emu.inner
                .lock()
                .violation("emulator bug: validator warm-up panicked".to_string());
        }
        tokio::spawn(server::serve(listener, emu.inner.clone(), rx));
        Ok(emu)
    }

    /// Binds 127.0.0.1 and serves from a thread of its own with its own runtime, for callers
    /// without a tokio runtime. Serves until [`Emulator::shutdown`] or the process ends.
    pub fn start_background(opts: Options) -> std::io::Result<Emulator> {
        let std_listener = bind(opts.port)?;
        let addr = std_listener.local_addr()?;
        let (emu, rx) = Emulator::new(opts, addr);
        emu.warm_up();
        let inner = emu.inner.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
        std::thread::Builder::new()
            .name(format!("discord-emulator-{}", addr.port()))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(listener) => {
                            let _ = ready_tx.send(Ok(()));
                            server::serve(listener, inner, rx).await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(emu),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(std::io::Error::other(
                "emulator thread ended before serving",
            )),
        }
    }

    /// Stops accepting connections and closes the open ones.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// `http://127.0.0.1:PORT/api/v10`.
    pub fn base_url(&self) -> String {
        self.inner.base_url()
    }

    /// `http://127.0.0.1:PORT/_emulator`, the control API for other processes.
    pub fn control_url(&self) -> String {
        format!("http://{}{}", self.inner.addr, control::PREFIX)
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// The bot token requests must carry.
    pub fn token(&self) -> String {
        self.inner.token.clone()
    }

    /// The bot user the token belongs to.
    pub fn bot(&self) -> User {
        let s = self.inner.lock();
        user(&s, s.bot_id)
    }

    /// The guild's id.
    pub fn guild_id(&self) -> String {
        self.inner.lock().guild_id.to_string()
    }

    /// The text channel created at start (`alerts`).
    pub fn default_channel_id(&self) -> String {
        self.inner.lock().default_channel_id.to_string()
    }

    /// Creates a text channel in the guild; returns its id.
    pub fn add_channel(&self, name: &str) -> String {
        self.inner.lock().add_channel(name).to_string()
    }

    /// Creates a user (a person, or a bot with `bot`) who is also a member of the guild.
    pub fn add_user(&self, username: &str, bot: bool) -> User {
        let u = self.inner.lock().add_user(username, bot);
        User {
            id: u.id.to_string(),
            username: u.username,
            bot: u.bot,
        }
    }

    /// Creates a guild role; returns its id.
    pub fn add_role(&self, name: &str) -> String {
        self.inner.lock().add_role(name).to_string()
    }

    /// Gives a member a role.
    ///
    /// # Panics
    /// If the user or the role is unknown (a mistake in the test).
    pub fn grant_role(&self, user_id: &str, role_id: &str) {
        let ok = match (snowflake::parse(user_id), snowflake::parse(role_id)) {
            (Some(u), Some(r)) => self.inner.lock().grant_role(u, r),
            _ => false,
        };
        assert!(ok, "grant_role: unknown user {user_id} or role {role_id}");
    }

    /// The bot loses access to a channel: its requests there get 403 Missing Access (50001).
    pub fn hide_channel(&self, channel_id: &str) {
        if let Some(id) = snowflake::parse(channel_id) {
            if let Some(c) = self.inner.lock().channels.get_mut(&id) {
                c.hidden = true;
            }
        }
    }

    /// Sets the emulated network latency ([`Options::latency_ms`]); 0 turns it off. Requests
    /// already being handled may still get the old value.
    pub fn set_latency_ms(&self, ms: u64) {
        self.inner.latency_ms.store(ms, Ordering::Relaxed);
    }

    /// How many TCP connections have been accepted so far (the highest
    /// [`RecordedRequest::connection`] handed out). A client that keeps connections alive
    /// makes few; one that connects per request makes one per request.
    pub fn connections(&self) -> u64 {
        self.inner.connections.load(Ordering::Relaxed)
    }

    /// Turns the MESSAGE_CONTENT intent on or off.
    pub fn set_message_content_intent(&self, on: bool) {
        self.inner.lock().message_content_intent = on;
    }

    /// A user (person or bot) writes in a channel, as a Discord client would: everything in the
    /// content pings, and `reply_to` makes it a reply (type 19 with `message_reference`) that
    /// pings the replied-to author. Returns the message id.
    ///
    /// # Panics
    /// If the channel, the user or the replied-to message is unknown (a mistake in the test).
    pub fn say(
        &self,
        channel_id: &str,
        user_id: &str,
        content: &str,
        reply_to: Option<&str>,
    ) -> String {
        let parse = |raw: &str, what: &str| {
            snowflake::parse(raw).ok_or_else(|| format!("{what} {raw:?} is not a snowflake"))
        };
        let result = (|| -> Result<u64, String> {
            let c = parse(channel_id, "channel id")?;
            let u = parse(user_id, "user id")?;
            let r = reply_to.map(|r| parse(r, "reply_to")).transpose()?;
            self.inner.lock().say(c, u, content, r)
        })();
        match result {
            Ok(id) => id.to_string(),
            Err(e) => panic!("say: {e}"),
        }
    }

    /// A user reacts to a message; `emoji` is the emoji itself (`✅`) or `name:id`.
    ///
    /// # Panics
    /// If the message, the user or the emoji is unknown (a mistake in the test).
    pub fn react(&self, channel_id: &str, message_id: &str, emoji: &str, user_id: &str) {
        let ids = (
            snowflake::parse(channel_id),
            snowflake::parse(message_id),
            snowflake::parse(user_id),
        );
        let result = match ids {
            (Some(c), Some(m), Some(u)) => self.inner.lock().react_as(c, m, emoji, u),
            _ => Err("an id is not a snowflake".to_string()),
        };
        if let Err(e) = result {
            panic!("react: {e}");
        }
    }

    /// A user removes their reaction. Panics on unknown ids, like [`Emulator::react`].
    pub fn unreact(&self, channel_id: &str, message_id: &str, emoji: &str, user_id: &str) {
        let (Some(c), Some(m), Some(u), Some(e)) = (
            snowflake::parse(channel_id),
            snowflake::parse(message_id),
            snowflake::parse(user_id),
            state::Emoji::parse(emoji),
        ) else {
            panic!("unreact: bad id or emoji");
        };
        if !self.inner.lock().unreact(c, m, &e, u) {
            panic!("unreact: unknown message {message_id} in channel {channel_id}");
        }
    }

    /// The messages of a channel, oldest first, exactly as the API returns them (with
    /// `mentions`, `mention_roles`, `mention_everyone`, `reactions`), but never masked by the
    /// message content intent. Empty for an unknown channel.
    pub fn messages(&self, channel_id: &str) -> Vec<serde_json::Value> {
        snowflake::parse(channel_id)
            .and_then(|c| self.inner.lock().messages_json(c))
            .unwrap_or_default()
    }

    /// Starts a public thread (type 11) under a text channel, without a starter message, as a
    /// person would; returns its id. Post into it with [`Emulator::say`].
    ///
    /// # Panics
    /// If the channel is unknown or is itself a thread (a mistake in the test).
    pub fn add_thread(&self, parent_channel_id: &str, name: &str) -> String {
        let Some(parent) = snowflake::parse(parent_channel_id) else {
            panic!("add_thread: {parent_channel_id:?} is not a snowflake");
        };
        let mut s = self.inner.lock();
        let bot = s.bot_id;
        match s.start_thread(parent, None, name, bot, threads::DEFAULT_AUTO_ARCHIVE) {
            Ok(id) => id.to_string(),
            Err(e) => panic!("add_thread: {e:?} for channel {parent_channel_id}"),
        }
    }

    /// Makes a webhook named `name` (1-80 characters) on a text channel, as a server admin
    /// would; POST to its `url` to post as it. A webhook belongs to a text channel, never to a
    /// thread: post into a thread of its channel with `?thread_id=`.
    ///
    /// # Panics
    /// If the channel is unknown or a thread, or the name is empty or too long (a mistake in the
    /// test).
    pub fn add_webhook(&self, channel_id: &str, name: &str) -> Webhook {
        let Some(c) = snowflake::parse(channel_id) else {
            panic!("add_webhook: {channel_id:?} is not a snowflake");
        };
        let made = self.inner.lock().add_webhook(c, name);
        match made {
            Ok(w) => self.inner.webhook(&w),
            Err(e) => panic!("add_webhook: {e} (channel {channel_id}, name {name:?})"),
        }
    }

    /// An uploaded file by attachment id: its content type and bytes. `None` if unknown, or
    /// let go to keep the uploads kept under 256 MiB.
    pub fn attachment(&self, id: &str) -> Option<(String, Vec<u8>)> {
        let id = snowflake::parse(id)?;
        let s = self.inner.lock();
        let f = s.files.get(id)?;
        Some((f.content_type.clone(), f.bytes.to_vec()))
    }

    /// Every API request received, in order (the most recent 100,000).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.lock().requests.iter().cloned().collect()
    }

    /// Every spec or limit violation seen in requests, and any answer of the emulator that failed
    /// its own schema check (a bug). Tests assert this is empty.
    pub fn violations(&self) -> Vec<String> {
        self.inner.lock().violations.iter().cloned().collect()
    }

    /// Queues a fault; queued faults are consumed in order by matching requests.
    pub fn push_fault(&self, fault: Fault) {
        self.inner.lock().faults.push(fault);
    }
}

/// The public view of a user; empty name for an unknown id.
fn user(s: &State, id: u64) -> User {
    let u = s.users.get(&id);
    User {
        id: id.to_string(),
        username: u.map(|u| u.username.clone()).unwrap_or_default(),
        bot: u.is_some_and(|u| u.bot),
    }
}
