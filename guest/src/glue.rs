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
    fn post(message: Message, mut params: Params) -> Result<PostReceipt, AlertError> {
        let files = std::mem::take(&mut params.attachments);
        platform::run(|svc| {
            svc.attach(files)?;
            svc.post(&message, &params)
        })
    }

    fn ask(question: Message, mut params: Params) -> Result<Answer, AlertError> {
        let files = std::mem::take(&mut params.attachments);
        platform::run(|svc| {
            svc.require_bot("ask")?;
            svc.attach(files)?;
            ask::ask(svc, &question, &params)
        })
    }

    fn open(question: Message, mut params: Params) -> Result<Opened, AlertError> {
        let files = std::mem::take(&mut params.attachments);
        platform::run(|svc| {
            svc.require_bot("ask")?;
            svc.attach(files)?;
            ask::open(svc, &question, &params)
        })
    }

    fn wait(
        question: QuestionRef,
        params: Params,
        max_wait_ms: u64,
        resume: Option<String>,
    ) -> Result<WaitStatus, AlertError> {
        platform::run(|svc| {
            svc.require_bot("ask")?;
            ask::wait(svc, &question, &params, max_wait_ms, resume.as_deref())
        })
    }

    fn close(question: QuestionRef, params: Params, reason: CloseReason) -> Result<(), AlertError> {
        platform::run(|svc| {
            svc.require_bot("ask")?;
            ask::close(svc, &question, &params, &reason)
        })
    }

    fn check(params: Params) -> Result<CheckReport, AlertError> {
        platform::run(|svc| {
            svc.require_bot("check")?;
            svc.check(&params)
        })
    }
}

impl bindings::HooksGuest for Component {
    fn on_success(context: RunContext, mut params: Params) -> Result<PostReceipt, AlertError> {
        let doc = hooks::success_message(&context);
        let files = std::mem::take(&mut params.attachments);
        platform::run(|svc| {
            svc.attach(files)?;
            svc.post_document(&doc, &params)
        })
    }

    fn on_failure(
        context: RunContext,
        exception: ExceptionInfo,
        mut params: Params,
    ) -> Result<PostReceipt, AlertError> {
        let doc = hooks::failure_message(&context, &exception);
        let files = std::mem::take(&mut params.attachments);
        platform::run(|svc| {
            svc.attach(files)?;
            svc.post_document(&doc, &params)
        })
    }
}

bindings::export!(Component with_types_in crate::bindings::generated);
