//! The component's exports (wasm32 only): each WIT function builds a service from the host's
//! config and secrets (`platform::run`) and hands the call on, to `service` for `post`, `check`
//! and the hooks' messages, to `ask` for `ask`, `open`, `wait` and `close`.

use crate::bindings::{
    self, AlertError, Answer, CheckReport, CloseReason, ExceptionInfo, Message, Opened, Params,
    PostReceipt, QuestionRef, RunContext, WaitStatus,
};
use crate::{ask, hooks, platform};

struct Component;

impl bindings::AlerterGuest for Component {
    fn post(message: Message, params: Params) -> Result<PostReceipt, AlertError> {
        platform::run(|svc| svc.post(&message, &params))
    }

    fn ask(question: Message, params: Params) -> Result<Answer, AlertError> {
        platform::run(|svc| ask::ask(svc, &question, &params))
    }

    fn open(question: Message, params: Params) -> Result<Opened, AlertError> {
        platform::run(|svc| ask::open(svc, &question, &params))
    }

    fn wait(
        question: QuestionRef,
        params: Params,
        max_wait_ms: u64,
        resume: Option<String>,
    ) -> Result<WaitStatus, AlertError> {
        platform::run(|svc| ask::wait(svc, &question, &params, max_wait_ms, resume.as_deref()))
    }

    fn close(question: QuestionRef, params: Params, reason: CloseReason) -> Result<(), AlertError> {
        platform::run(|svc| ask::close(svc, &question, &params, &reason))
    }

    fn check(params: Params) -> Result<CheckReport, AlertError> {
        platform::run(|svc| svc.check(&params))
    }
}

impl bindings::HooksGuest for Component {
    fn on_success(context: RunContext, params: Params) -> Result<PostReceipt, AlertError> {
        let doc = hooks::success_message(&context);
        platform::run(|svc| svc.post_document(&doc, &params))
    }

    fn on_failure(
        context: RunContext,
        exception: ExceptionInfo,
        params: Params,
    ) -> Result<PostReceipt, AlertError> {
        let doc = hooks::failure_message(&context, &exception);
        platform::run(|svc| svc.post_document(&doc, &params))
    }
}

bindings::export!(Component with_types_in crate::bindings::generated);
