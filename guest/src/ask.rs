//! Asking for approval in three steps, each usable alone, and `ask`, which is the three in one
//! call. Nothing is kept between steps but the question's two ids: everything else (who
//! answered, the approvals so far, the reminders sent, whether it is closed and how) is read
//! back from the channel, so any process can resume a question.
//!
//! 1. [`open`] posts the question (instructions line, deadline, key marker) and adds ✅ / ❌;
//!    with a key it first looks for that question in the channel (`open.rs`): one still open
//!    is reused, one approved or declined returns its answer.
//! 2. [`wait`] polls in rounds (`poll.rs`) for at most `max-wait-ms`: messages after the
//!    question, then the question's reactions, [`approval`] deciding which count, then any
//!    reminder or escalation due (`remind.rs`). It ends with the answer (approved, declined,
//!    or timed out once the deadline has passed), or with the progress when its slice runs
//!    out. The deadline is the question's own time (from its id) plus the timeout, on the wall
//!    clock, so every process resuming it shares one deadline; the slice is measured on the
//!    monotonic clock.
//! 3. [`close`] edits the question with an outcome record (`record.rs`): the decision, or that
//!    nobody waits any more, so people stop answering. `open` and `wait` read that record back.
//!
//! # Bounds
//!
//! Each of these is one delivery ([`Client::begin_delivery`]): every request in it, retries
//! and rate-limit waits included, ends within one delivery deadline
//! (`delivery_deadline_seconds`):
//! - `open` (the key search, posting every part, the reactions);
//! - each round of `wait` (the reads, member lookups and the reminder it sends; the first
//!   round also reads the bot's id and the channel);
//! - `close` (reading the question back and editing it).
//!
//! Between rounds `wait` sleeps, never past its slice or the deadline, and it starts no round
//! once its slice has run out, so a call takes at most `max-wait-ms` + 1 delivery deadline
//! (0: exactly one round). Hence `open` <= 1 delivery deadline, `wait` <= `max-wait-ms` + 1,
//! `close` <= 1, and `ask` (which waits for at most the timeout) <= timeout + 3.
//!
//! # Failures
//!
//! While polling, 401/403/404 and invalid input end the call; anything else fails only the
//! round, and consecutive failed rounds back off: the poll interval doubles per failed round
//! up to 60 s (or a longer `retry_after` from a rate limit), back to normal after a round that
//! works. Reading messages' text needs the bot's privileged MESSAGE_CONTENT intent, except for
//! messages that mention the bot; reactions need no intent
//! (<https://discord.com/developers/docs/events/gateway#message-content-intent>).
//!
//! [`approval`]: crate::approval
//! [`Client::begin_delivery`]: crate::discord::Client::begin_delivery

mod close;
mod open;
mod plan;
mod poll;
mod record;
mod remind;
#[cfg(test)]
mod tests;
mod wire;

use crate::bindings::{
    AlertError, Answer, CloseReason, Decision, Message, Opened, Params, QuestionRef, WaitStatus,
};
use crate::discord::{short, Transport};
use crate::service::Service;
use plan::{Plan, Target};
use poll::{round, Watch};

pub use record::{KEY_PREFIX, MAX_KEY, OUTCOME_FOOTER};
pub use remind::{ESCALATION, REMINDER};

/// Default time between polls.
pub const DEFAULT_POLL_MS: u64 = 2_000;
/// Shortest poll interval allowed, to stay far below Discord's rate limits.
pub const MIN_POLL_MS: u64 = 200;
/// Longest time between rounds while failures back the polling off (unless a rate limit
/// asks for longer).
pub const MAX_BACKOFF_MS: u64 = 60_000;
/// Shortest `remind-every-ms` allowed.
pub const MIN_REMIND_MS: u64 = 1_000;
/// Messages or reaction users per page: Discord's maximum `limit`.
const PAGE: usize = 100;
const MS: u64 = 1_000_000;

/// Post `question` (or find it by key), wait for a decision until the timeout, and mark the
/// question with the outcome: [`open`], [`wait`] and [`close`] in one call. A failure to mark
/// the question is a notice: the answer stands.
pub fn ask<T: Transport>(
    svc: &mut Service<T>,
    question: &Message,
    params: &Params,
) -> Result<Answer, AlertError> {
    let opened = open(svc, question, params)?;
    if let Some(answer) = opened.answer {
        return Ok(answer);
    }
    let timeout_ms = Plan::new(&svc.settings, params)?.timeout_ms;
    let answer = match wait(svc, &opened.question, params, timeout_ms)? {
        WaitStatus::Done(answer) => answer,
        // The slice ran out before the deadline by the wall clock (a clock that lags
        // Discord's): the timeout has passed all the same.
        WaitStatus::Open(p) => Answer {
            approved: false,
            decision: Decision::TimedOut,
            responder: None,
            via: None,
            keyword: None,
            answered_at: crate::snowflake::rfc3339(svc.client.unix_ms()),
            approvers: p.approvers,
            channel_id: opened.question.channel_id.clone(),
            question_message_id: opened.question.message_id.clone(),
            reminders_sent: p.reminders_sent,
            escalated: p.escalated,
        },
    };
    let reason = CloseReason::Answered(answer.clone());
    if let Err(e) = close(svc, &opened.question, params, &reason) {
        svc.client.notice(&format!(
            "could not mark the question with its outcome: {}",
            short(&e)
        ));
    }
    Ok(answer)
}

/// Post the question with its ✅ / ❌ reactions or, with a key, find the one already asked.
/// Everything is validated before the first request.
pub fn open<T: Transport>(
    svc: &mut Service<T>,
    question: &Message,
    params: &Params,
) -> Result<Opened, AlertError> {
    open::open(svc, question, params)
}

/// Look for a decision on `question` for at most `max_wait_ms`, sending due reminders.
/// `params` must be those the question was opened with.
pub fn wait<T: Transport>(
    svc: &mut Service<T>,
    question: &QuestionRef,
    params: &Params,
    max_wait_ms: u64,
) -> Result<WaitStatus, AlertError> {
    let plan = Plan::new(&svc.settings, params)?;
    let target = Target::new(question)?;
    let deadline_ms = target.asked_ms().saturating_add(plan.timeout_ms);
    let slice_end = svc
        .client
        .now_ns()
        .saturating_add(max_wait_ms.saturating_mul(MS));
    let mut watch = Watch::new(target, &plan);
    let mut failures: u32 = 0;
    loop {
        svc.client.begin_delivery();
        let outcome = round(svc, &plan, &mut watch, deadline_ms);
        svc.client.end_delivery();
        let retry_after_ms = match outcome {
            Ok(Some(answer)) => return Ok(WaitStatus::Done(answer)),
            Ok(None) => {
                failures = 0;
                0
            }
            Err(
                e @ (AlertError::Unauthorized(_)
                | AlertError::Forbidden(_)
                | AlertError::NotFound(_)
                | AlertError::InvalidInput(_)
                | AlertError::InvalidConfig(_)),
            ) => return Err(e),
            Err(e) => {
                failures = failures.saturating_add(1);
                svc.client
                    .notice(&format!("polling failed, will retry: {}", short(&e)));
                match e {
                    AlertError::RateLimited(r) => r.retry_after_ms,
                    _ => 0,
                }
            }
        };
        let wall = svc.client.unix_ms();
        if wall >= deadline_ms {
            return Ok(WaitStatus::Done(watch.timed_out(wall)));
        }
        let now = svc.client.now_ns();
        if now >= slice_end {
            return Ok(WaitStatus::Open(watch.progress()));
        }
        let pause = next_round_in_ms(plan.poll_ms, failures, retry_after_ms)
            .min(deadline_ms - wall)
            .saturating_mul(MS)
            .min(slice_end - now);
        svc.client.sleep_ns(pause);
    }
}

/// Time to the next round: the poll interval, doubled for each consecutive failed round up to
/// [`MAX_BACKOFF_MS`] (or the interval, if longer), or a rate limit's wait if longer still.
pub fn next_round_in_ms(poll_ms: u64, failures: u32, retry_after_ms: u64) -> u64 {
    if failures == 0 {
        return poll_ms;
    }
    let doubled = poll_ms.saturating_mul(1u64 << failures.min(20));
    doubled.min(MAX_BACKOFF_MS.max(poll_ms)).max(retry_after_ms)
}

/// Edit `question` to show `reason`: the outcome, or that nobody waits for an answer any more.
/// A question already closed is left as it is.
pub fn close<T: Transport>(
    svc: &mut Service<T>,
    question: &QuestionRef,
    _params: &Params,
    reason: &CloseReason,
) -> Result<(), AlertError> {
    close::close(svc, question, reason)
}
