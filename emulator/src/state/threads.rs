//! Starting threads, finding the thread a message started, and a thread's `ThreadResponse`
//! object: the `State` side of the `threads` module's data.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{ChannelRec, MessageRec, State};
use crate::snowflake;
use crate::threads::{ThreadError, ThreadMeta, PUBLIC_THREAD};

impl State {
    /// Starts a public thread under `parent`, from message `from` (the thread gets its id) or
    /// from nothing (a new id). Returns the thread's id.
    pub fn start_thread(
        &mut self,
        parent: u64,
        from: Option<u64>,
        name: &str,
        owner_id: u64,
        auto_archive_duration: u64,
    ) -> Result<u64, ThreadError> {
        let p = self
            .channels
            .get(&parent)
            .ok_or(ThreadError::UnknownChannel)?;
        if p.thread.is_some() {
            return Err(ThreadError::NotATextChannel);
        }
        let hidden = p.hidden;
        let starter_author = match from {
            Some(m) => {
                let source = self.message(parent, m).ok_or(ThreadError::UnknownMessage)?;
                Some((source.author_id, source.webhook.clone()))
            }
            None => None,
        };
        let id = from.unwrap_or_else(snowflake::next_id);
        if self.channels.contains_key(&id) {
            return Err(ThreadError::AlreadyExists);
        }
        let now = snowflake::now_ms();
        self.channels.insert(
            id,
            ChannelRec {
                id,
                name: name.to_string(),
                position: 0,
                hidden,
                thread: Some(ThreadMeta {
                    parent_id: parent,
                    owner_id,
                    auto_archive_duration,
                    created_ms: now,
                }),
            },
        );
        let mut messages = BTreeMap::new();
        if let (Some(m), Some((author_id, webhook))) = (from, starter_author) {
            let sid = snowflake::next_id();
            messages.insert(
                sid,
                MessageRec {
                    id: sid,
                    channel_id: id,
                    author_id,
                    content: String::new(),
                    embeds: Vec::new(),
                    components: Vec::new(),
                    reply_to: None,
                    mention_everyone: false,
                    mentions: Vec::new(),
                    mention_roles: Vec::new(),
                    edited_ms: None,
                    flags: 0,
                    tts: false,
                    reactions: Vec::new(),
                    attachments: Vec::new(),
                    starter_of: Some((parent, m)),
                    webhook,
                },
            );
        }
        self.messages.insert(id, messages);
        Ok(id)
    }

    /// The thread a message started, if any.
    pub fn thread_of(&self, m: &MessageRec) -> Option<&ChannelRec> {
        self.channels.get(&m.id).filter(|c| {
            c.thread
                .as_ref()
                .is_some_and(|t| t.parent_id == m.channel_id)
        })
    }

    /// A `ThreadResponse`, for a thread (`None` for a text channel).
    pub fn thread_json(&self, c: &ChannelRec) -> Option<Value> {
        let t = c.thread.as_ref()?;
        let messages = self.messages.get(&c.id);
        let last = messages
            .and_then(|m| m.keys().next_back())
            .map(ToString::to_string);
        // Discord does not count the starter message.
        let count = messages.map_or(0, |m| m.values().filter(|m| m.starter_of.is_none()).count());
        let created = snowflake::rfc3339(t.created_ms);
        Some(json!({
            "id": c.id.to_string(),
            "type": PUBLIC_THREAD,
            "last_message_id": last,
            "flags": 0,
            "guild_id": self.guild_id.to_string(),
            "name": c.name,
            "parent_id": t.parent_id.to_string(),
            "rate_limit_per_user": 0,
            "owner_id": t.owner_id.to_string(),
            "thread_metadata": {
                "archived": false,
                "archive_timestamp": created,
                "auto_archive_duration": t.auto_archive_duration,
                "locked": false,
                "create_timestamp": created,
            },
            "message_count": count,
            "member_count": 1,
            "total_message_sent": count,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threads::HAS_THREAD;

    #[test]
    fn threads_from_messages_and_from_nothing() {
        let mut s = State::new("bot", true);
        let c = s.default_channel_id;
        let bot = s.bot_id;
        let m = s.say(c, bot, "alert", None).unwrap();
        let t = s.start_thread(c, Some(m), "talk", bot, 60).unwrap();
        assert_eq!(t, m);
        assert_eq!(
            s.start_thread(c, Some(m), "again", bot, 60),
            Err(ThreadError::AlreadyExists)
        );
        assert_eq!(
            s.start_thread(t, None, "nested", bot, 60),
            Err(ThreadError::NotATextChannel)
        );
        assert_eq!(
            s.start_thread(c, Some(1), "x", bot, 60),
            Err(ThreadError::UnknownMessage)
        );
        assert_eq!(
            s.start_thread(1, None, "x", bot, 60),
            Err(ThreadError::UnknownChannel)
        );
        let starter = s.messages_json(t).unwrap();
        assert_eq!(starter.len(), 1);
        assert_eq!(starter[0]["type"], 21);
        assert_eq!(starter[0]["referenced_message"]["id"], m.to_string());
        let parent = s.message_json(s.message(c, m).unwrap(), false);
        assert_eq!(parent["flags"], HAS_THREAD);
        assert_eq!(parent["thread"]["id"], t.to_string());
        assert_eq!(parent["thread"]["message_count"], 0);
        // Everything rendered matches the spec.
        let ok = |pointer: &str, v: &Value| {
            crate::validate::check_response(pointer, v).unwrap_or_else(|e| panic!("{e}: {v}"));
        };
        let thread = s.thread_json(&s.channels[&t]).unwrap();
        ok("#/components/schemas/ThreadResponse", &thread);
        ok(
            &crate::validate::ok_schema("/channels/{channel_id}", "get"),
            &thread,
        );
        ok("#/components/schemas/MessageResponse", &parent);
        ok("#/components/schemas/MessageResponse", &starter[0]);
        assert!(crate::validate::check_response(
            "#/components/schemas/ThreadResponse",
            &json!({"id": "1", "type": 11})
        )
        .is_err());
        let bare = s.start_thread(c, None, "side", bot, 1440).unwrap();
        assert!(s.messages_json(bare).unwrap().is_empty());
        let other = s.add_channel("other");
        assert_eq!(s.channels[&other].position, 1, "threads take no position");
    }
}
