//! The Discord flavor of the alerter, built as a WASI 0.2 component (`wasm32-wasip2`).
//!
//! This file holds the generated bindings and the export glue, nothing else. The Discord logic
//! lives in plain modules that unit-test on the native target:
//! `config` (settings), `snowflake` (ids), `render` (messages -> request bodies within Discord's
//! limits), `discord` (REST calls, rate limits, retries over a [`discord::Transport`]),
//! `approval` (which answers decide an ask), `ask` (the polling loop), `hooks` (ZenML-style run
//! notifications) and `service` (the two verbs). The only WASI code is in `platform.rs`.

pub mod approval;
pub mod ask;
pub mod config;
pub mod discord;
pub mod hooks;
#[cfg(target_arch = "wasm32")]
mod platform;
pub mod render;
pub mod service;
pub mod snowflake;

wit_bindgen::generate!({
    world: "flavor",
    path: "../wit",
    with: {
        "wasi:http/types@0.2.12": wasip2::http::types,
        "wasi:http/outgoing-handler@0.2.12": wasip2::http::outgoing_handler,
        "wasi:io/poll@0.2.12": wasip2::io::poll,
        "wasi:io/streams@0.2.12": wasip2::io::streams,
        "wasi:io/error@0.2.12": wasip2::io::error,
        "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
        "wasi:clocks/wall-clock@0.2.12": wasip2::clocks::wall_clock,
        "wasi:random/random@0.2.12": wasip2::random::random,
        "wasi:config/store@0.2.0-rc.1": generate,
        "wasmcloud:secrets/store@0.1.0-draft": generate,
        "wasmcloud:secrets/reveal@0.1.0-draft": generate,
        "alerter:core/types@0.1.0": generate,
        "alerter:core/alerter@0.1.0": generate,
        "alerter:core/hooks@0.1.0": generate,
    },
    additional_derives: [PartialEq],
});

/// The WIT types every module speaks (`alerter:core/types`).
pub use alerter::core::types as wit;

/// Every field "not set": the documented defaults apply.
#[allow(clippy::derivable_impls)] // generated type: it cannot carry a derive
impl Default for wit::Params {
    fn default() -> Self {
        wit::Params {
            channel_id: None,
            approve_keywords: None,
            disapprove_keywords: None,
            payload: None,
            include_format_blocks: None,
            severity: None,
            mention_users: Vec::new(),
            mention_roles: Vec::new(),
            ask: None,
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod glue {
    use super::exports::alerter::core::{alerter, hooks};
    use super::wit::{AlertError, Answer, Message, Params, PostReceipt};

    struct Component;

    impl alerter::Guest for Component {
        fn post(message: Message, params: Params) -> Result<PostReceipt, AlertError> {
            super::platform::run(|svc| svc.post(&message, &params))
        }

        fn ask(question: Message, params: Params) -> Result<Answer, AlertError> {
            super::platform::run(|svc| svc.ask(&question, &params))
        }

        fn check(params: Params) -> Result<alerter::CheckReport, AlertError> {
            super::platform::run(|svc| svc.check(&params))
        }
    }

    impl hooks::Guest for Component {
        fn on_success(
            context: hooks::RunContext,
            params: Params,
        ) -> Result<PostReceipt, AlertError> {
            let doc = super::hooks::success_message(&context);
            super::platform::run(|svc| svc.post_document(&doc, &params))
        }

        fn on_failure(
            context: hooks::RunContext,
            exception: hooks::ExceptionInfo,
            params: Params,
        ) -> Result<PostReceipt, AlertError> {
            let doc = super::hooks::failure_message(&context, &exception);
            super::platform::run(|svc| svc.post_document(&doc, &params))
        }
    }

    super::export!(Component with_types_in super);
}
