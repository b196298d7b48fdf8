//! `open`: post the question with its ✅ / ❌ reactions or, with a key, find the one already
//! asked. With a key the newest 1000 messages of the channel are searched (10 pages of
//! `GET /channels/{c}/messages?limit=100`, then `before=` the oldest seen) for a message of the
//! bot's carrying the key marker; the newest match decides: open -> reused as it is; approved
//! or declined -> its answer; timed out or cancelled -> a new question is posted.

use super::plan::{bot_id, guild_of, Plan};
use super::record::{self, Outcome};
use super::wire::ChannelMessage;
use super::PAGE;
use crate::bindings::{AlertError, Decision, Message, Opened, Params, QuestionRef};
use crate::discord::{encode_emoji, short, Method, Transport};
use crate::render::{CreateMessage, Document};
use crate::service::Service;
use crate::snowflake;

/// Pages of history searched for a key.
const KEY_PAGES: usize = 10;

/// Validate everything, then post or find the question, as one delivery.
pub(super) fn open<T: Transport>(
    svc: &mut Service<T>,
    question: &Message,
    params: &Params,
) -> Result<Opened, AlertError> {
    let plan = Plan::new(&svc.settings, params)?;
    let channel = svc.channel(params)?;
    let mut doc = Document::from_message(question, params)?;
    let until = svc.client.unix_ms().saturating_add(plan.timeout_ms);
    doc.trailer = Some(plan.trailer(until));
    doc.marker = plan.key.as_deref().map(record::key_marker);
    let parts = svc.render(&doc, params)?;
    svc.client.begin_delivery();
    let opened = find_or_post(svc, &plan, &channel, parts);
    svc.client.end_delivery();
    opened
}

fn find_or_post<T: Transport>(
    svc: &mut Service<T>,
    plan: &Plan,
    channel: &str,
    parts: Vec<CreateMessage>,
) -> Result<Opened, AlertError> {
    if !plan.rules.approver_roles.is_empty() {
        // Fail before posting a question nobody could answer.
        guild_of(svc, channel)?;
    }
    if let Some(key) = &plan.key {
        let bot = bot_id(svc)?;
        if let Some(found) = find_by_key(svc, channel, bot, key)? {
            let opened = |answer| Opened {
                question: QuestionRef {
                    channel_id: channel.to_string(),
                    message_id: found.id.clone(),
                },
                posted: false,
                asked_at: asked_at(&found.id),
                answer,
            };
            match record::read_outcome(&found.embeds, channel, &found.id) {
                None => return Ok(opened(None)),
                Some(Outcome::Answered(a)) if a.decision != Decision::TimedOut => {
                    return Ok(opened(Some(a)))
                }
                Some(_) => {} // timed out or cancelled: ask again
            }
        }
    }
    let receipt = svc.send_parts(channel, parts)?;
    let question = receipt.message_ids[0].clone();
    for emoji in plan.rules.reaction_emoji().iter().take(2) {
        let path = format!(
            "/channels/{channel}/messages/{question}/reactions/{}/@me",
            encode_emoji(emoji)
        );
        let route = format!("PUT /channels/{channel}/messages/reactions");
        if let Err(e) = svc.client.call(Method::Put, &path, &route, None) {
            svc.client.notice(&format!(
                "could not add the {emoji} reaction ({}); people can still react or reply",
                short(&e)
            ));
        }
    }
    Ok(Opened {
        question: QuestionRef {
            channel_id: channel.to_string(),
            message_id: question.clone(),
        },
        posted: true,
        asked_at: asked_at(&question),
        answer: None,
    })
}

fn asked_at(id: &str) -> String {
    snowflake::rfc3339(snowflake::parse(id).map_or(0, snowflake::unix_ms))
}

/// The newest message of the bot's in the channel's recent history that carries `key`.
fn find_by_key<T: Transport>(
    svc: &mut Service<T>,
    channel: &str,
    bot: u64,
    key: &str,
) -> Result<Option<ChannelMessage>, AlertError> {
    let route = format!("GET /channels/{channel}/messages");
    let mut before: Option<u64> = None;
    for _ in 0..KEY_PAGES {
        let mut path = format!("/channels/{channel}/messages?limit={PAGE}");
        if let Some(b) = before {
            path.push_str(&format!("&before={b}"));
        }
        let mut page: Vec<ChannelMessage> = svc.client.get_json(&path, &route)?;
        let full = page.len() == PAGE;
        page.sort_by_key(|m| std::cmp::Reverse(snowflake::parse(&m.id).unwrap_or(0)));
        let oldest = page.iter().filter_map(|m| snowflake::parse(&m.id)).min();
        if let Some(i) = page.iter().position(|m| {
            snowflake::parse(&m.author.id) == Some(bot)
                && before.is_none_or(|b| snowflake::parse(&m.id).is_some_and(|id| id < b))
                && record::carries_key(&m.content, &m.embeds, key)
        }) {
            return Ok(Some(page.swap_remove(i)));
        }
        match oldest {
            Some(o) if full && before.is_none_or(|b| o < b) => before = Some(o),
            _ => break,
        }
    }
    Ok(None)
}
