//! The verbs `post` (render, then create each part in order, each after the first as a reply
//! to the first) and `check` (token and channel), and the pieces `ask` builds on: the channel of
//! a call, rendering, delivering parts. Pure over a [`Transport`].

use serde::Deserialize;

use crate::bindings::{
    AlertError, Attachment, ChannelInfo, CheckReport, IncompletePost, Message, Params, PostReceipt,
};
use crate::config::{Settings, Webhook};
use crate::discord::{short, Client, Method, Transport};
use crate::render::{self, files, long, CreateMessage, Document, FilePart, MessageReference};
use crate::snowflake;

/// The part of Discord's Message object the flavor reads.
#[derive(Debug, Clone, Deserialize)]
pub struct MessageRef {
    /// The message's id.
    pub id: String,
    /// The channel it is in.
    pub channel_id: String,
}

/// One configured Discord flavor instance, alive for one call.
pub struct Service<T: Transport> {
    /// The instance's settings.
    pub settings: Settings,
    /// The REST client every request goes through.
    pub client: Client<T>,
    /// The call's files ([`Service::attach`]), sent with the first message it posts.
    files: Vec<FilePart>,
    /// A channel webhook that posts go through ([`Service::set_webhook`]).
    webhook: Option<Webhook>,
}

/// The part of Discord's thread channel object the flavor reads.
#[derive(Deserialize)]
struct ThreadRef {
    id: String,
}

/// Characters of a thread name.
const THREAD_NAME: usize = 100;
/// Characters of an idempotency key.
const KEY: usize = 100;
/// Discord's error code for "a thread has already been created for this message".
const THREAD_EXISTS: u32 = 160_004;

impl<T: Transport> Service<T> {
    /// `token` must be validated (`config::validate_token`).
    pub fn new(settings: Settings, token: &str, transport: T) -> Self {
        let client = Client::new(
            transport,
            &settings.api_base,
            token,
            settings.delivery_deadline_ms,
        );
        Service {
            settings,
            client,
            files: Vec::new(),
            webhook: None,
        }
    }

    /// Post through this channel webhook (when a call names no other channel).
    pub fn set_webhook(&mut self, webhook: Webhook) {
        self.client.set_webhook_base(&webhook.base);
        self.webhook = Some(webhook);
    }

    /// An error unless there is a bot token: `what` needs one.
    pub fn require_bot(&self, what: &str) -> Result<(), AlertError> {
        if self.client.has_bot() {
            return Ok(());
        }
        Err(AlertError::InvalidConfig(format!(
            "{what} needs a bot token (`discord_token`): a webhook can post to its channel, but \
             cannot read answers, check a channel, start a thread or post elsewhere"
        )))
    }

    /// Take the call's files. The caller moves them out of its `params` (their
    /// `attachments` are not read here), so the bytes are never copied.
    pub fn attach(&mut self, attachments: Vec<Attachment>) -> Result<(), AlertError> {
        self.files = attachments
            .into_iter()
            .map(FilePart::from_wit)
            .collect::<Result<_, _>>()?;
        Ok(())
    }

    /// The channel for a call: its thread (`thread-id`), else the per-call channel, else the
    /// configured default.
    pub fn channel(&self, params: &Params) -> Result<String, AlertError> {
        if let Some(thread) = params.thread_id.as_deref().map(str::trim) {
            if !snowflake::is_valid(thread) {
                return Err(snowflake::not_an_id("thread", thread));
            }
            return Ok(thread.to_string());
        }
        let channel = params
            .channel_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .or(self.settings.default_channel.as_deref())
            .ok_or_else(|| {
                AlertError::InvalidConfig(
                    "no channel: pass a channel id or configure `default_discord_channel_id`"
                        .into(),
                )
            })?;
        if !snowflake::is_valid(channel) {
            return Err(snowflake::not_an_id("channel", channel));
        }
        Ok(channel.to_string())
    }

    /// Post a message and return every message id created.
    pub fn post(&mut self, message: &Message, params: &Params) -> Result<PostReceipt, AlertError> {
        let doc = Document::from_message(message, params)?;
        self.post_document(&doc, params)
    }

    /// Render and deliver a document; every part after the first replies to the first (or,
    /// with `thread-name`, goes into the thread started from the first).
    pub fn post_document(
        &mut self,
        doc: &Document,
        params: &Params,
    ) -> Result<PostReceipt, AlertError> {
        if let Some(w) = self.webhook.clone() {
            // What only the bot can do goes through the bot when there is one.
            let webhook_can = params.channel_id.is_none()
                && params.thread_name.is_none()
                && params.idempotency_key.is_none();
            if webhook_can || !self.client.has_bot() {
                return self.post_via_webhook(&w, doc, params);
            }
        }
        self.require_bot("posting")?;
        let channel = self.channel(params)?;
        let thread_name = params
            .thread_name
            .as_deref()
            .map(check_thread_name)
            .transpose()?;
        if thread_name.is_some() && params.thread_id.is_some() {
            return Err(AlertError::InvalidInput(
                "give a thread to post into or a name for a new one, not both".into(),
            ));
        }
        let batch = match params.idempotency_key.as_deref() {
            Some(key) => key_batch(&channel, key)?,
            None => self.client.random_u64(),
        };
        let parts = self.render(doc, params)?;
        let mut receipt = self.deliver(&channel, parts, batch, thread_name)?;
        if receipt.thread_id.is_none() && params.thread_id.is_some() {
            receipt.thread_id = Some(channel);
        }
        Ok(receipt)
    }

    /// Post through the webhook: the same rendering and limits, without nonces or replies
    /// (the webhook API has neither), so a part is never sent again once it may have arrived.
    fn post_via_webhook(
        &mut self,
        webhook: &Webhook,
        doc: &Document,
        params: &Params,
    ) -> Result<PostReceipt, AlertError> {
        let refuse = |why: &str| Err(AlertError::InvalidInput(format!("a webhook post {why}")));
        if params.channel_id.is_some() {
            return refuse("goes to the webhook's own channel: naming another needs a bot token");
        }
        if params.thread_name.is_some() {
            return refuse("cannot start a thread in a text channel: that needs a bot token");
        }
        if params.idempotency_key.is_some() {
            return refuse(
                "cannot be deduplicated (webhooks take no nonce): drop the key, or use a bot token",
            );
        }
        let query = match params.thread_id.as_deref().map(str::trim) {
            Some(t) if !snowflake::is_valid(t) => return Err(snowflake::not_an_id("thread", t)),
            Some(t) => format!("?wait=true&thread_id={t}"),
            None => "?wait=true".to_string(),
        };
        let parts = self.render(doc, params)?;
        let total = parts.len();
        let path = format!("{}{query}", webhook.path);
        let route = format!("POST /webhooks/{}", webhook.id);
        let mut ids = Vec::with_capacity(total);
        let mut channel = String::new();
        self.client.begin_delivery();
        let mut outcome = Ok(());
        for mut part in parts {
            part.nonce = None;
            part.enforce_nonce = None;
            part.message_reference = None;
            let sent = self
                .client
                .post_once::<MessageRef>(&path, &route, &part, &part.files);
            match sent {
                Ok(m) => {
                    channel = m.channel_id;
                    ids.push(m.id);
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        self.client.end_delivery();
        finish(&channel, ids, total, params.thread_id.clone(), outcome)
    }

    /// Render a document for this call (validating mentions, content and files). A body
    /// that would take more than `long_body_max_parts` messages is sent as an excerpt and a
    /// file; the call's files go with the first message.
    pub fn render(
        &self,
        doc: &Document,
        params: &Params,
    ) -> Result<Vec<CreateMessage>, AlertError> {
        let mentions = render::allowed_mentions(params)?;
        let now = snowflake::rfc3339(self.client.unix_ms());
        let mut files = self.files.clone();
        for url in &doc.images {
            let Some(name) = url.strip_prefix("attachment://") else {
                continue;
            };
            if !files.iter().any(|f| f.filename == name) {
                let names: Vec<&str> = files.iter().map(|f| f.filename.as_str()).collect();
                return Err(AlertError::InvalidInput(format!(
                    "the image attachment://{name} names no attached file (attached: {})",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                )));
            }
            if !files::is_embeddable_image(name) {
                return Err(AlertError::InvalidInput(format!(
                    "`{name}` cannot be shown in the alert: Discord shows .png, .jpg, .jpeg, \
                     .gif and .webp images (attach it as a file instead)"
                )));
            }
        }
        let mut parts = render::render(doc, &mentions, &now)?;
        let max = self.settings.long_body_max_parts;
        if max > 0 && parts.len() > max {
            let taken: Vec<&str> = files.iter().map(|f| f.filename.as_str()).collect();
            if let Some((short, file)) = long::attach_long_text(doc, &taken) {
                // Only when it helps: many fields, not a long text, can make the parts too.
                let fewer = render::render(&short, &mentions, &now)?;
                if fewer.len() < parts.len() {
                    parts = fewer;
                    files.push(file);
                }
            }
        }
        files::check_files(&files, self.settings.max_attachment_bytes)?;
        // Discord resolves `attachment://` only against the files of the same message.
        if let Some(late) = parts.iter().skip(1).find_map(|p| {
            p.embeds
                .iter()
                .filter_map(|e| e.image.as_ref())
                .find(|i| i.url.starts_with("attachment://"))
        }) {
            return Err(AlertError::InvalidInput(format!(
                "the image {} would land in a later message than its file, where Discord cannot \
                 show it: attach fewer images, or shorten the alert",
                late.url
            )));
        }
        if !files.is_empty() {
            parts[0].attach(files);
        }
        Ok(parts)
    }

    /// Create rendered parts in order, each after the first as a reply to the first.
    pub fn send_parts(
        &mut self,
        channel: &str,
        parts: Vec<CreateMessage>,
    ) -> Result<PostReceipt, AlertError> {
        let batch = self.client.random_u64();
        self.send_parts_as(channel, parts, batch)
    }

    /// [`Service::send_parts`] with the nonces of `batch` ([`nonce`]): a second post of the
    /// same batch within Discord's nonce window returns the first post's messages.
    pub fn send_parts_as(
        &mut self,
        channel: &str,
        parts: Vec<CreateMessage>,
        batch: u64,
    ) -> Result<PostReceipt, AlertError> {
        self.deliver(channel, parts, batch, None)
    }

    /// Create `parts` in order with the nonces of `batch`, within one delivery deadline. With
    /// `thread_name`, a thread is started from the first part and the rest go into it;
    /// otherwise each after the first replies to the first. When a part fails after others
    /// were created, the error is [`AlertError::Incomplete`], naming them.
    fn deliver(
        &mut self,
        channel: &str,
        parts: Vec<CreateMessage>,
        batch: u64,
        thread_name: Option<&str>,
    ) -> Result<PostReceipt, AlertError> {
        let total = parts.len();
        let mut ids: Vec<String> = Vec::with_capacity(total);
        let mut thread: Option<String> = None;
        self.client.begin_delivery();
        let mut outcome = Ok(());
        for (i, part) in parts.into_iter().enumerate() {
            let (target, reply_to) = match &thread {
                Some(t) => (t.clone(), None),
                None => (channel.to_string(), ids.first().cloned()),
            };
            match self.create_message(&target, part, batch, i, reply_to.as_ref()) {
                Ok(created) => ids.push(created.id),
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
            if let (0, Some(name)) = (i, thread_name) {
                match self.start_thread(channel, &ids[0], name) {
                    Ok(t) => thread = Some(t),
                    Err(e) => {
                        outcome = Err(thread_failed(e));
                        break;
                    }
                }
            }
        }
        self.client.end_delivery();
        finish(channel, ids, total, thread, outcome)
    }

    /// Start a public thread from `message` (its id becomes the thread's); an earlier attempt
    /// that already started it counts.
    fn start_thread(
        &mut self,
        channel: &str,
        message: &str,
        name: &str,
    ) -> Result<String, AlertError> {
        #[derive(serde::Serialize)]
        struct StartThread<'a> {
            name: &'a str,
        }
        let path = format!("/channels/{channel}/messages/{message}/threads");
        let route = format!("POST /channels/{channel}/messages/threads");
        let body = StartThread { name };
        match self
            .client
            .send_json::<ThreadRef>(Method::Post, &path, &route, Some(&body))
        {
            Ok(t) => Ok(t.id),
            Err(AlertError::Api(a)) if a.code == Some(THREAD_EXISTS) => Ok(message.to_string()),
            Err(e) => Err(e),
        }
    }

    /// Create one message with a nonce unique to this logical message, so a retry after a
    /// lost response returns the first message instead of posting a second.
    pub fn create_message(
        &mut self,
        channel: &str,
        mut body: CreateMessage,
        batch: u64,
        index: usize,
        reply_to: Option<&String>,
    ) -> Result<MessageRef, AlertError> {
        body.nonce = Some(nonce(batch, index));
        body.enforce_nonce = Some(true);
        body.message_reference = reply_to.map(|id| MessageReference {
            message_id: id.clone(),
            fail_if_not_exists: false,
        });
        self.create(channel, &body)
    }

    /// Create one message exactly as given (its nonce, if any, included).
    pub fn create(
        &mut self,
        channel: &str,
        body: &CreateMessage,
    ) -> Result<MessageRef, AlertError> {
        let path = format!("/channels/{channel}/messages");
        let route = format!("POST /channels/{channel}/messages");
        if body.files.is_empty() {
            self.client
                .send_json::<MessageRef>(Method::Post, &path, &route, Some(body))
        } else {
            self.client
                .send_form::<MessageRef>(Method::Post, &path, &route, body, &body.files)
        }
    }

    /// Validate the token (`GET /users/@me`) and the channel (`GET /channels/{id}`).
    pub fn check(&mut self, params: &Params) -> Result<CheckReport, AlertError> {
        #[derive(Deserialize)]
        struct Me {
            id: String,
            username: String,
        }
        #[derive(Deserialize)]
        struct Chan {
            id: String,
            #[serde(default)]
            name: Option<String>,
            #[serde(default)]
            guild_id: Option<String>,
        }
        let channel = match self.channel(params) {
            Ok(c) => Some(Ok(c)),
            Err(AlertError::InvalidConfig(_)) => None,
            Err(e) => Some(Err(e)),
        };
        let me: Me = self.client.get_json("/users/@me", "GET /users/@me")?;
        let channel = channel.map(|c| {
            let id = c?;
            let path = format!("/channels/{id}");
            let ch: Chan = self.client.get_json(&path, &format!("GET {path}"))?;
            Ok(ChannelInfo {
                id: ch.id,
                name: ch.name.unwrap_or_default(),
                guild_id: ch.guild_id,
            })
        });
        Ok(CheckReport {
            bot_id: me.id,
            bot_name: me.username,
            channel,
        })
    }
}

/// A failure to start the alert's thread, said so in its text, keeping its kind (and a rate
/// limit's wait).
fn thread_failed(mut e: AlertError) -> AlertError {
    let say = |m: &mut String| *m = format!("the thread could not be started: {m}");
    match &mut e {
        AlertError::RateLimited(r) => say(&mut r.message),
        AlertError::Transport(m) => say(m),
        AlertError::Unauthorized(a)
        | AlertError::Forbidden(a)
        | AlertError::NotFound(a)
        | AlertError::Api(a) => say(&mut a.message),
        AlertError::InvalidConfig(_) | AlertError::InvalidInput(_) | AlertError::Incomplete(_) => {}
    }
    e
}

/// The receipt of a delivery, or its error: the plain one when nothing was created, else
/// [`AlertError::Incomplete`] naming what was.
fn finish(
    channel: &str,
    ids: Vec<String>,
    total: usize,
    thread_id: Option<String>,
    outcome: Result<(), AlertError>,
) -> Result<PostReceipt, AlertError> {
    match outcome {
        Ok(()) => Ok(PostReceipt {
            channel_id: channel.to_string(),
            message_ids: ids,
            thread_id,
        }),
        Err(e) if ids.is_empty() => Err(e),
        Err(e) => Err(AlertError::Incomplete(IncompletePost {
            channel_id: channel.to_string(),
            message_ids: ids,
            parts: u32::try_from(total).unwrap_or(u32::MAX),
            reason: short(&e),
            retry_after_ms: match &e {
                AlertError::RateLimited(r) => Some(r.retry_after_ms),
                _ => None,
            },
        })),
    }
}

/// A thread name Discord takes: 1-100 characters, not blank.
fn check_thread_name(name: &str) -> Result<&str, AlertError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > THREAD_NAME || name.contains(['\n', '\r']) {
        return Err(AlertError::InvalidInput(format!(
            "a thread name must be one line of 1-{THREAD_NAME} characters"
        )));
    }
    Ok(name)
}

/// The nonce batch of a keyed post: the same channel and key give the same nonces, so Discord
/// returns the parts a first attempt created (FNV-1a, stable across builds and hosts).
fn key_batch(channel: &str, key: &str) -> Result<u64, AlertError> {
    let key = key.trim();
    if key.is_empty() || key.chars().count() > KEY || key.chars().any(char::is_control) {
        return Err(AlertError::InvalidInput(format!(
            "an idempotency key must be 1-{KEY} characters without control characters"
        )));
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in channel.bytes().chain([0]).chain(key.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    Ok(h)
}

/// A nonce of at most 25 characters: 16 hex digits of randomness per post (or of its key),
/// then the part.
pub fn nonce(batch: u64, index: usize) -> String {
    format!("{batch:016x}.{index}")
}

#[cfg(test)]
mod files_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod webhook_tests;
