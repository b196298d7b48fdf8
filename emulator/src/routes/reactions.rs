//! The reaction routes: `PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me`
//! (the bot reacts) and `GET .../reactions/{emoji}` (who reacted).

use serde_json::Value;

use super::{
    channel, invalid_form, message_id, parse_limit, query, unknown_message, ApiRequest, Out,
};
use crate::reply::Reply;
use crate::snowflake;
use crate::state::Emoji;
use crate::url;
use crate::validate;
use crate::Inner;

/// 400 Unknown Emoji (10014).
fn unknown_emoji() -> Reply {
    Reply::error(400, 10014, "Unknown Emoji")
}

/// `PUT .../reactions/{emoji}/@me`: the bot reacts (again is a no-op); 204.
pub(super) fn add_reaction(inner: &Inner, c_raw: &str, m_raw: &str, e_raw: &str) -> Reply {
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

/// `GET .../reactions/{emoji}`: the users who reacted, by id, above `after`, at most `limit`
/// (1-100, default 25).
pub(super) fn list_reactions(
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
