//! The guild directory routes: `GET /users/@me` (the bot), `GET /channels/{channel_id}` (a
//! text channel or a thread) and `GET /guilds/{guild_id}/members/{user_id}`.

use super::channel;
use crate::reply::Reply;
use crate::snowflake;
use crate::validate;
use crate::Inner;

/// `GET /users/@me`: the bot user.
pub(super) fn get_me(inner: &Inner) -> Reply {
    let s = inner.lock();
    Reply::ok(s.me_json(), validate::ok_schema("/users/@me", "get"))
}

/// `GET /channels/{channel_id}`: a guild text channel or a thread (`ThreadResponse`) the bot
/// can see.
pub(super) fn get_channel(inner: &Inner, c_raw: &str) -> Reply {
    let s = inner.lock();
    match channel(&s, c_raw) {
        Ok(ch) => Reply::ok(
            s.thread_json(ch).unwrap_or_else(|| s.channel_json(ch)),
            validate::ok_schema("/channels/{channel_id}", "get"),
        ),
        Err(r) => r,
    }
}

/// `GET /guilds/{guild_id}/members/{user_id}`: 404 10004 for another guild, 10007 for a user who
/// is not a member.
pub(super) fn get_member(inner: &Inner, g_raw: &str, u_raw: &str) -> Reply {
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
