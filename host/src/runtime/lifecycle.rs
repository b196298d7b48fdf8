//! An ask in steps: [`Runtime::open`], [`Runtime::wait`], [`Runtime::close`], each one guest
//! call in a fresh store, and [`Runtime::ask_until`], which drives them and marks the question
//! as cancelled when the caller gives up (Ctrl-C, a CI job's SIGTERM, a dropped request).
//!
//! Nothing is kept between the steps but the question's two ids: the guest reads who answered,
//! the approvals so far and the reminders sent back from the channel on every `wait`. So a
//! long gate is a series of bounded calls ([`WAIT_SLICE`] each), and a process that died can be
//! replaced by one that opens the same key.

use std::future::Future;
use std::pin::pin;
use std::time::{Duration, Instant};

use super::{bound, CallConfig, Runtime};
use crate::error::CallError;
use crate::types::{Answer, CloseReason, Message, Opened, Params, QuestionRef, WaitStatus};

/// The longest single `wait` that [`Runtime::ask_until`] makes.
pub const WAIT_SLICE: Duration = Duration::from_secs(15 * 60);
/// The shortest: the guest times the ask out by Discord's clock (the question's id), which may
/// run a little behind this machine's.
const MIN_SLICE: Duration = Duration::from_secs(5);
/// How long marking a question as cancelled may take. CI runners follow SIGTERM with SIGKILL
/// within seconds (GitHub Actions after 7.5 s), so this must finish well before.
pub const CANCEL_MARK_BOUND: Duration = Duration::from_secs(5);

/// Whether an ask still open after `elapsed` has outlived what a flavor that times out by
/// itself can take: the timeout, a whole slice more (Discord's clock may run behind this
/// machine's), and a delivery for each of the two rounds that may run past them (the last
/// round of a slice, and the look that finds the timeout). A large delivery deadline makes a
/// slow last round take long, and it must end as timed out, not as a host deadline.
fn overdue(elapsed: Duration, timeout: Duration, delivery: Duration) -> bool {
    elapsed
        > timeout
            .saturating_add(WAIT_SLICE)
            .saturating_add(delivery.saturating_mul(2))
}

impl Runtime {
    /// Post the question, or with `ask.key` find the one already asked (see the WIT's
    /// `open`). One delivery.
    pub async fn open(
        &self,
        cfg: &CallConfig,
        question: &Message,
        params: &Params,
    ) -> Result<Opened, CallError> {
        super::files_fit(params)?;
        self.call(cfg, bound(cfg, Duration::ZERO, 1), async |f, s| {
            f.alerter_core_alerter()
                .call_open(s, question, params)
                .await
        })
        .await
    }

    /// Look for a decision for at most `max_wait` (zero: look once). Pass the previous
    /// wait's `progress.resume` as `resume` (or `None`: read the channel from the question
    /// again). Bounded by `max_wait` plus one delivery: the guest's last round may start just
    /// before the wait ends.
    pub async fn wait(
        &self,
        cfg: &CallConfig,
        question: &QuestionRef,
        params: &Params,
        max_wait: Duration,
        resume: Option<&str>,
    ) -> Result<WaitStatus, CallError> {
        let ms = u64::try_from(max_wait.as_millis()).unwrap_or(u64::MAX);
        self.call(cfg, bound(cfg, max_wait, 1), async |f, s| {
            f.alerter_core_alerter()
                .call_wait(s, question, params, ms, resume)
                .await
        })
        .await
    }

    /// Edit the question to show its outcome, or that it was cancelled. One delivery.
    pub async fn close(
        &self,
        cfg: &CallConfig,
        question: &QuestionRef,
        params: &Params,
        reason: &CloseReason,
    ) -> Result<(), CallError> {
        self.call(cfg, bound(cfg, Duration::ZERO, 1), async |f, s| {
            f.alerter_core_alerter()
                .call_close(s, question, params, reason)
                .await
        })
        .await
    }

    /// `ask` in steps: open, wait (in slices) until decided or `timeout`, close. When `cancel`
    /// resolves first, the wait stops at once, the question is edited to say it was cancelled
    /// (with the reason `cancel` gives, bounded by [`CANCEL_MARK_BOUND`]) and the result is
    /// [`CallError::Cancelled`]. A `cancel` that is ready before anything is sent ends the ask
    /// with nothing posted (`question: None`). A question being posted is never abandoned
    /// half-way: a cancel during `open` takes effect when it returns.
    pub async fn ask_until(
        &self,
        cfg: &CallConfig,
        question: &Message,
        params: &Params,
        timeout: Duration,
        cancel: impl Future<Output = String>,
    ) -> Result<Answer, CallError> {
        let mut cancel = pin!(cancel);
        // A caller that is gone already gets nothing posted: no question, no reactions, no
        // pings to mark cancelled a moment later.
        let mut now = std::task::Context::from_waker(std::task::Waker::noop());
        if let std::task::Poll::Ready(reason) = cancel.as_mut().poll(&mut now) {
            return Err(CallError::Cancelled {
                reason,
                question: None,
                marked: false,
            });
        }
        let mut opening = pin!(self.open(cfg, question, params));
        let (opened, stop) = tokio::select! {
            biased;
            o = &mut opening => (o?, None),
            r = &mut cancel => match opening.await {
                Ok(o) => (o, Some(r)),
                Err(e) => {
                    // Nothing to mark; the caller still learns it was cancelled.
                    self.note(cfg, &format!("warning: posting the question failed after the cancel: {e}"));
                    return Err(CallError::Cancelled { reason: r, question: None, marked: false });
                }
            },
        };
        if let Some(answer) = opened.answer {
            return Ok(answer); // decided before: nothing waits, nothing to mark
        }
        let q = opened.question;
        if let Some(reason) = stop {
            return Err(self.cancelled(cfg, q, params, reason).await);
        }
        let started = Instant::now();
        let mut resume: Option<String> = None;
        loop {
            let slice = WAIT_SLICE.min(timeout.saturating_sub(started.elapsed()).max(MIN_SLICE));
            let status = tokio::select! {
                biased;
                reason = &mut cancel => {
                    return Err(self.cancelled(cfg, q.clone(), params, reason).await)
                }
                s = self.wait(cfg, &q, params, slice, resume.as_deref()) => s?,
            };
            match status {
                WaitStatus::Done(answer) => {
                    // Decided: mark it, unless the caller gives up meanwhile (the answer
                    // stands either way; an unmarked question is found again by its key).
                    let closing = CloseReason::Answered(answer.clone());
                    let marked = tokio::select! {
                        biased;
                        _ = &mut cancel => Err("the caller stopped waiting first".to_string()),
                        r = self.close(cfg, &q, params, &closing) => r.map_err(|e| e.to_string()),
                    };
                    if let Err(e) = marked {
                        self.note(
                            cfg,
                            &format!("warning: could not mark the question with its outcome: {e}"),
                        );
                    }
                    return Ok(answer);
                }
                WaitStatus::Open(_)
                    if overdue(started.elapsed(), timeout, cfg.delivery_deadline()) =>
                {
                    // The guest times out by itself; this only stops a flavor that never does.
                    return Err(CallError::Deadline(started.elapsed()));
                }
                WaitStatus::Open(progress) => resume = Some(progress.resume),
            }
        }
    }

    /// Mark `question` as cancelled for `reason`, within [`CANCEL_MARK_BOUND`].
    async fn cancelled(
        &self,
        cfg: &CallConfig,
        question: QuestionRef,
        params: &Params,
        reason: String,
    ) -> CallError {
        let closing = CloseReason::Cancelled(reason.clone());
        let marked = match tokio::time::timeout(
            CANCEL_MARK_BOUND,
            self.close(cfg, &question, params, &closing),
        )
        .await
        {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                self.note(
                    cfg,
                    &format!("warning: could not mark the question as cancelled: {e}"),
                );
                false
            }
            Err(_) => {
                self.note(cfg, &format!(
                    "warning: marking the question as cancelled took longer than {CANCEL_MARK_BOUND:?}"
                ));
                false
            }
        };
        CallError::Cancelled {
            reason,
            question: Some(question),
            marked,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ask_is_overdue_only_past_its_timeout_a_slice_and_two_deliveries() {
        let s = Duration::from_secs;
        let (timeout, delivery) = (s(60), s(3600));
        // A last round as slow as a one-hour delivery deadline lets it be: the guest reports
        // the timeout on the next wait (before, this was a host deadline, exit 3).
        assert!(!overdue(timeout + WAIT_SLICE + s(3000), timeout, delivery));
        assert!(!overdue(timeout + WAIT_SLICE + s(7200), timeout, delivery));
        assert!(overdue(timeout + WAIT_SLICE + s(7201), timeout, delivery));
        assert!(overdue(timeout + WAIT_SLICE + s(61), timeout, s(30)));
        assert!(!overdue(Duration::MAX, Duration::MAX, delivery));
    }
}
