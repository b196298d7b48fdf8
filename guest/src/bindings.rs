//! The generated bindings of `wit/alerter.wit` (world `flavor`), and the one place that names
//! their paths: every other module imports WIT types from here. The generated code itself sits
//! in the crate-private `generated` module; only this file and `glue.rs` look inside it.

/// Everything `wit_bindgen::generate!` produced (see `world.rs` for the recipe).
#[allow(missing_docs)]
pub(crate) mod generated {
    generate_flavor!("../wit", additional_derives: [PartialEq],);
}

pub use generated::alerter::core::types::{
    AlertError, AlerterMessage, Answer, AnswerVia, ApiError, AskSettings, Attachment, CloseReason,
    Decision, IncompletePost, Message, MetadataEntry, MetadataValue, Opened, Params, Payload,
    PostReceipt, Progress, QuestionRef, RateLimit, Responder, Severity, WaitStatus,
};
pub use generated::exports::alerter::core::alerter::{ChannelInfo, CheckReport};
pub use generated::exports::alerter::core::hooks::{ExceptionInfo, RunContext};

/// What the export glue and the WASI layer use: the traits to implement, the export macro, and
/// the host's config and secrets stores.
#[cfg(target_arch = "wasm32")]
pub(crate) use generated::{
    export,
    exports::alerter::core::{alerter::Guest as AlerterGuest, hooks::Guest as HooksGuest},
    wasi::config::store as config_store,
    wasmcloud::secrets::{reveal, store as secrets},
};

/// Every field "not set": the documented defaults apply.
#[allow(clippy::derivable_impls)] // generated type: it cannot carry a derive
impl Default for Params {
    fn default() -> Self {
        Params {
            channel_id: None,
            approve_keywords: None,
            disapprove_keywords: None,
            payload: None,
            include_format_blocks: None,
            severity: None,
            mention_users: Vec::new(),
            mention_roles: Vec::new(),
            ask: None,
            attachments: Vec::new(),
            thread_id: None,
            thread_name: None,
            idempotency_key: None,
        }
    }
}

/// Every field "not set": the documented defaults apply.
#[allow(clippy::derivable_impls)] // generated type: it cannot carry a derive
impl Default for AskSettings {
    fn default() -> Self {
        AskSettings {
            timeout_ms: None,
            poll_interval_ms: None,
            approvers: Vec::new(),
            approver_roles: Vec::new(),
            ignore_case: false,
            required_approvals: None,
            key: None,
            remind_every_ms: None,
            escalate_after_ms: None,
            escalate_roles: Vec::new(),
        }
    }
}
