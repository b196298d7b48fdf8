//! Every text a guest hands back, redacted before the library returns it: its errors
//! ([`AlertError`]) and its results (receipts, answers, reports, a wait's progress). A hostile
//! component can put the token in any string field, and an embedder logs what it gets.

use crate::bindings::types::{
    AlertError, Answer, ApiError, IncompletePost, Opened, PostReceipt, Progress, QuestionRef,
    RateLimit, Responder, WaitStatus,
};
use crate::bindings::ChannelInfo;
use crate::secrets::Redactor;
use crate::CheckReport;

/// A value whose every string is passed through a [`Redactor`].
pub(crate) trait Redact: Sized {
    /// `self` with each secret in its strings replaced by `[redacted]`.
    fn redact(self, r: &Redactor) -> Self;
}

impl Redact for String {
    fn redact(self, r: &Redactor) -> Self {
        r.redact(&self)
    }
}

impl Redact for () {
    fn redact(self, _: &Redactor) -> Self {}
}

impl<T: Redact> Redact for Option<T> {
    fn redact(self, r: &Redactor) -> Self {
        self.map(|v| v.redact(r))
    }
}

impl<T: Redact> Redact for Vec<T> {
    fn redact(self, r: &Redactor) -> Self {
        self.into_iter().map(|v| v.redact(r)).collect()
    }
}

impl<T: Redact, E: Redact> Redact for Result<T, E> {
    fn redact(self, r: &Redactor) -> Self {
        self.map(|v| v.redact(r)).map_err(|e| e.redact(r))
    }
}

impl Redact for ApiError {
    fn redact(self, r: &Redactor) -> Self {
        ApiError {
            message: self.message.redact(r),
            ..self
        }
    }
}

impl Redact for AlertError {
    fn redact(self, r: &Redactor) -> Self {
        match self {
            AlertError::InvalidConfig(m) => AlertError::InvalidConfig(m.redact(r)),
            AlertError::InvalidInput(m) => AlertError::InvalidInput(m.redact(r)),
            AlertError::Transport(m) => AlertError::Transport(m.redact(r)),
            AlertError::Unauthorized(a) => AlertError::Unauthorized(a.redact(r)),
            AlertError::Forbidden(a) => AlertError::Forbidden(a.redact(r)),
            AlertError::NotFound(a) => AlertError::NotFound(a.redact(r)),
            AlertError::Api(a) => AlertError::Api(a.redact(r)),
            AlertError::RateLimited(l) => AlertError::RateLimited(RateLimit {
                message: l.message.redact(r),
                ..l
            }),
            AlertError::Incomplete(i) => AlertError::Incomplete(IncompletePost {
                channel_id: i.channel_id.redact(r),
                message_ids: i.message_ids.redact(r),
                reason: i.reason.redact(r),
                ..i
            }),
        }
    }
}

impl Redact for PostReceipt {
    fn redact(self, r: &Redactor) -> Self {
        PostReceipt {
            channel_id: self.channel_id.redact(r),
            message_ids: self.message_ids.redact(r),
            thread_id: self.thread_id.redact(r),
        }
    }
}

impl Redact for Responder {
    fn redact(self, r: &Redactor) -> Self {
        Responder {
            id: self.id.redact(r),
            username: self.username.redact(r),
        }
    }
}

impl Redact for Answer {
    fn redact(self, r: &Redactor) -> Self {
        Answer {
            responder: self.responder.redact(r),
            keyword: self.keyword.redact(r),
            answered_at: self.answered_at.redact(r),
            approvers: self.approvers.redact(r),
            channel_id: self.channel_id.redact(r),
            question_message_id: self.question_message_id.redact(r),
            ..self
        }
    }
}

impl Redact for QuestionRef {
    fn redact(self, r: &Redactor) -> Self {
        QuestionRef {
            channel_id: self.channel_id.redact(r),
            message_id: self.message_id.redact(r),
        }
    }
}

impl Redact for Opened {
    fn redact(self, r: &Redactor) -> Self {
        Opened {
            question: self.question.redact(r),
            asked_at: self.asked_at.redact(r),
            answer: self.answer.redact(r),
            ..self
        }
    }
}

impl Redact for Progress {
    fn redact(self, r: &Redactor) -> Self {
        Progress {
            approvers: self.approvers.redact(r),
            resume: self.resume.redact(r),
            ..self
        }
    }
}

impl Redact for WaitStatus {
    fn redact(self, r: &Redactor) -> Self {
        match self {
            WaitStatus::Done(a) => WaitStatus::Done(a.redact(r)),
            WaitStatus::Open(p) => WaitStatus::Open(p.redact(r)),
        }
    }
}

impl Redact for ChannelInfo {
    fn redact(self, r: &Redactor) -> Self {
        ChannelInfo {
            id: self.id.redact(r),
            name: self.name.redact(r),
            guild_id: self.guild_id.redact(r),
        }
    }
}

impl Redact for CheckReport {
    fn redact(self, r: &Redactor) -> Self {
        CheckReport {
            bot_id: self.bot_id.redact(r),
            bot_name: self.bot_name.redact(r),
            channel: self.channel.redact(r),
        }
    }
}
