//! Asking for approval in three steps, each usable alone, and `ask`, which is the three in one
//! call. Nothing is needed between steps but the question's two ids: everything else (who
//! answered, the approvals so far, the reminders sent, whether it is closed and how) is read
//! back from the channel, so any process can resume a question. A `wait` also hands the next
//! one a resume hint (`hint.rs`) that saves reading again what it already read; without it,
//! the answer is the same.
//!
//! 1. [`open`] posts the question (instructions line, deadline, key marker) and adds ✅ / ❌;
//!    with a key it first looks for that question in the channel (`open.rs`): one still open
//!    is reused, one approved or declined returns its answer, one left open past its deadline
//!    gets a last round and is closed.
//! 2. [`wait`] polls in rounds (`poll.rs`) for at most `max-wait-ms`: messages after the
//!    question, then the question's reactions, [`approval`] deciding which count, then any
//!    reminder or escalation due (`remind.rs`). It ends with the answer (approved, declined,
//!    or timed out once the deadline has passed), or with the progress when its slice runs
//!    out. The deadline is the question's own time (from its id) plus the timeout, on the wall
//!    clock, so every process resuming it shares one deadline; the slice is measured on the
//!    monotonic clock. Answers count only if given by the deadline: a message by its id's
//!    time, a reaction only in a round that starts at the deadline or before (up to
//!    [`FINAL_ROUND_GRACE_MS`] after it, where a waiter's last round falls; `poll.rs`), so a
//!    wait resumed long after the deadline times out unless a message decided in time.
//! 3. [`close`] edits the question with an outcome record (`record.rs`): the decision, or that
//!    nobody waits any more, so people stop answering. `open` and `wait` read that record back.
//!
//! # Resuming in slices
//!
//! A host may call `wait` in short slices in a loop (say 500 ms), passing each call the
//! `resume` hint of the last progress (format and contents: `hint.rs`). The hint says when the
//! next round is due: a call that comes earlier sleeps until then, and if its slice ends first
//! it returns `open` with the same hint without a request. So the loop polls at the poll
//! interval, backs off across calls as one long wait does (failed rounds are counted on), reads
//! each message once and the bot's id once. A hint for another question, other params or
//! another version is ignored (a notice says so) and the wait starts afresh; text that is not
//! a hint this flavor wrote is `invalid-input`. No answer depends on the hint: without it,
//! everything is read again from the channel.
//!
//! # Bounds
//!
//! Each of these is one delivery ([`Client::begin_delivery`]): every request in it, retries
//! and rate-limit waits included, ends within one delivery deadline
//! (`delivery_deadline_seconds`):
//! - `open` (the key search, posting every part, the reactions; with a key that finds its
//!   question left open past the deadline, also that question's last round and its close);
//!   an `open` that posted only some parts marks the first as cancelled in a second delivery
//!   (`open.rs`);
//! - each round of `wait` (the reads, member lookups and the reminder it sends; a call's first
//!   round also reads the bot's id and, for approver roles, the channel, unless its hint
//!   carries them);
//! - `close` (reading the question back and editing it).
//!
//! Between rounds `wait` sleeps, never past its slice or the deadline, and it starts no round
//! once its slice has run out, nor one before it is due (a round that is due only after the
//! slice ends is left to the next call), so a call takes at most `max-wait-ms` + 1 delivery
//! deadline. With 0 it does one round, or none if its hint says the next is not due yet.
//! Hence `open` <= 1 delivery deadline (2 when it fails part-way), `wait` <= `max-wait-ms` +
//! 1, `close` <= 1, and `ask` (which waits for at most the timeout) <= timeout + 3.
//!
//! # Failures
//!
//! While polling, 401/403/404, invalid input and a request the host denied (its egress policy
//! will not change while waiting) end the call; anything else fails only the round, and
//! consecutive failed rounds back off: the poll interval doubles per failed round
//! up to 60 s (or a longer `retry_after` from a rate limit), back to normal after a round that
//! works. Reading messages' text needs the bot's privileged MESSAGE_CONTENT intent, except for
//! messages that mention the bot; reactions need no intent
//! (<https://discord.com/developers/docs/events/gateway#message-content-intent>).
//!
//! [`approval`]: crate::approval
//! [`Client::begin_delivery`]: crate::discord::Client::begin_delivery

mod close;
mod hint;
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
use crate::discord::{is_denied, short, Transport};
use crate::service::Service;
use plan::{Plan, Target};
use poll::{round, Watch};

pub use hint::MAX_LEN as MAX_HINT;
pub use poll::FINAL_ROUND_GRACE_MS;
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
    let answer = match wait(svc, &opened.question, params, timeout_ms, None)? {
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
/// `params` must be those the question was opened with; `resume` is the hint of the last
/// progress, if any (an empty one is none).
pub fn wait<T: Transport>(
    svc: &mut Service<T>,
    question: &QuestionRef,
    params: &Params,
    max_wait_ms: u64,
    resume: Option<&str>,
) -> Result<WaitStatus, AlertError> {
    let plan = Plan::new(&svc.settings, params)?;
    let target = Target::new(question)?;
    let deadline_ms = target.asked_ms().saturating_add(plan.timeout_ms);
    let mut watch = Watch::new(target, &plan, deadline_ms);
    if let Some(hint) = resume.filter(|h| !h.is_empty()) {
        watch.resume(svc, hint)?;
    }
    let slice_end = svc
        .client
        .now_ns()
        .saturating_add(max_wait_ms.saturating_mul(MS));
    loop {
        // Not before the round is due; a round due only after the slice is the next call's.
        let wall = svc.client.unix_ms();
        if wall < watch.due_ms {
            let pause = (watch.due_ms - wall).saturating_mul(MS);
            let left = slice_end.saturating_sub(svc.client.now_ns());
            if pause > left {
                svc.client.sleep_ns(left);
                return Ok(WaitStatus::Open(watch.progress()));
            }
            svc.client.sleep_ns(pause);
        }
        svc.client.begin_delivery();
        let outcome = round(svc, &plan, &mut watch);
        svc.client.end_delivery();
        let retry_after_ms = match outcome {
            Ok(Some(answer)) => return Ok(WaitStatus::Done(answer)),
            Ok(None) => {
                watch.failures = 0;
                0
            }
            Err(
                e @ (AlertError::Unauthorized(_)
                | AlertError::Forbidden(_)
                | AlertError::NotFound(_)
                | AlertError::InvalidInput(_)
                | AlertError::InvalidConfig(_)),
            ) => return Err(e),
            Err(e) if is_denied(&e) => return Err(e),
            Err(e) => {
                watch.failures = watch.failures.saturating_add(1);
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
        watch.due_ms = wall
            .saturating_add(next_round_in_ms(
                plan.poll_ms,
                watch.failures,
                retry_after_ms,
            ))
            .min(deadline_ms);
        if svc.client.now_ns() >= slice_end {
            return Ok(WaitStatus::Open(watch.progress()));
        }
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
/// A question already closed (even with a record this version cannot read) is left as it is.
/// `params` is accepted because the WIT passes every step the same params, for flavors that
/// need them to close; Discord's needs only the question's two ids, so it is not read.
pub fn close<T: Transport>(
    svc: &mut Service<T>,
    question: &QuestionRef,
    _params: &Params,
    reason: &CloseReason,
) -> Result<(), AlertError> {
    close::close(svc, question, reason)
}
