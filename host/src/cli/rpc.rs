//! `alerter call`: one call described as JSON on stdin, its outcome as one JSON line on
//! stdout. The interface for programs in other languages (the Python package drives it): every
//! field of the contract can be given, nothing is typed from strings, a body of any size fits,
//! the token travels through a pipe (never argv or a file), and errors come back with the
//! fields of the WIT `alert-error` instead of one line of prose.
//!
//! The request and its answers are documented in the README ("Driving the CLI from another
//! language"). Exit codes are those of the other commands.

use std::io::{BufRead, Read};
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{json, Value};

use alerter_host::config::AlerterSpec;
use alerter_host::types::{
    AlertError, AlerterMessage, AskSettings, Message, MetadataEntry, MetadataValue, Params,
    Payload, Severity,
};
use alerter_host::{CallError, ExceptionInfo, RunContext};

use super::args::{CallArgs, Global};
use super::calls::Stop;
use super::{message, output, Failure, Invocation, Kind, Outcome};

/// The cancel reason when stdin closed under `--stop-on-eof`.
const CALLER_GONE: &str = "the caller went away";

/// The request: a verb and what it needs. Unknown fields are refused, so a typo is an error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    verb: Verb,
    /// The configuration itself (the config file's keys); else the global flags choose.
    #[serde(default)]
    config: Option<AlerterSpec>,
    /// A string, or an object parsed as [`WireStructured`] (so its errors name its fields).
    #[serde(default)]
    message: Option<Value>,
    #[serde(default)]
    params: WireParams,
    /// For `success` and `failure`.
    #[serde(default)]
    context: Option<WireContext>,
    /// For `failure`.
    #[serde(default)]
    exception: Option<WireException>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Debug)]
#[serde(rename_all = "lowercase")]
enum Verb {
    Post,
    Ask,
    Success,
    Failure,
    Check,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireStructured {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    body: Option<String>,
    /// `[key, value]` pairs in the order shown; a value keeps its JSON type.
    #[serde(default)]
    metadata: Vec<(String, Value)>,
    /// URLs, `attachment://NAME`, or local files (sent with the message, as `--image` does).
    #[serde(default)]
    images: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WireParams {
    channel_id: Option<String>,
    thread_id: Option<String>,
    thread_name: Option<String>,
    idempotency_key: Option<String>,
    approve_keywords: Option<Vec<String>>,
    disapprove_keywords: Option<Vec<String>>,
    payload: Option<WirePayload>,
    include_format_blocks: Option<bool>,
    severity: Option<WireSeverity>,
    #[serde(default)]
    mention_users: Vec<String>,
    #[serde(default)]
    mention_roles: Vec<String>,
    /// Local files, read by the host as `--attach` reads them.
    #[serde(default)]
    attachments: Vec<PathBuf>,
    ask: Option<WireAsk>,
}

impl WireParams {
    /// The names of the fields the request set.
    fn set_fields(&self) -> Vec<&'static str> {
        let set = [
            ("channel_id", self.channel_id.is_some()),
            ("thread_id", self.thread_id.is_some()),
            ("thread_name", self.thread_name.is_some()),
            ("idempotency_key", self.idempotency_key.is_some()),
            ("approve_keywords", self.approve_keywords.is_some()),
            ("disapprove_keywords", self.disapprove_keywords.is_some()),
            ("payload", self.payload.is_some()),
            (
                "include_format_blocks",
                self.include_format_blocks.is_some(),
            ),
            ("severity", self.severity.is_some()),
            ("mention_users", !self.mention_users.is_empty()),
            ("mention_roles", !self.mention_roles.is_empty()),
            ("attachments", !self.attachments.is_empty()),
            ("ask", self.ask.is_some()),
        ];
        set.into_iter()
            .filter(|(_, s)| *s)
            .map(|(n, _)| n)
            .collect()
    }
}

/// Whether a params field means anything to a verb (a field that does not is refused, so a
/// misplaced setting is not silently ignored).
fn field_belongs(field: &str, verb: Verb) -> bool {
    match verb {
        Verb::Post => !matches!(field, "approve_keywords" | "disapprove_keywords" | "ask"),
        Verb::Ask => !matches!(field, "thread_name" | "idempotency_key"),
        Verb::Success | Verb::Failure => matches!(
            field,
            "channel_id" | "thread_id" | "thread_name" | "mention_users" | "mention_roles"
        ),
        Verb::Check => field == "channel_id",
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WirePayload {
    pipeline_name: Option<String>,
    step_name: Option<String>,
    stack_name: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum WireSeverity {
    Info,
    Success,
    Warning,
    Error,
}

/// Ask settings, durations in seconds as on the command line.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WireAsk {
    timeout_seconds: Option<f64>,
    poll_interval_seconds: Option<f64>,
    #[serde(default)]
    approvers: Vec<String>,
    #[serde(default)]
    approver_roles: Vec<String>,
    #[serde(default)]
    ignore_case: bool,
    required_approvals: Option<u32>,
    key: Option<String>,
    remind_every_seconds: Option<f64>,
    escalate_after_seconds: Option<f64>,
    #[serde(default)]
    escalate_roles: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireContext {
    pipeline_name: String,
    run_name: String,
    run_id: Option<String>,
    step_name: Option<String>,
    stack_name: Option<String>,
    /// `[key, value]` pairs, in order.
    #[serde(default)]
    parameters: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireException {
    type_name: String,
    #[serde(default)]
    message: String,
    traceback: Option<String>,
}

/// A failure as `call` reports it: which exit code, and the `error` object.
struct CallFailure {
    exit: Kind,
    error: Value,
}

impl CallFailure {
    /// The request or a file it names cannot be used: nothing was sent.
    fn input(message: impl Into<String>) -> CallFailure {
        CallFailure {
            exit: Kind::Usage,
            error: json!({"kind": "invalid-input", "message": message.into()}),
        }
    }

    /// The configuration (or a secret it refers to, or the component) cannot be used.
    fn config(f: &Failure) -> CallFailure {
        CallFailure {
            exit: f.kind,
            error: json!({"kind": "invalid-config", "message": f.message}),
        }
    }

    /// What a call to the component returned, with every field of the error.
    fn from_call(e: &CallError) -> CallFailure {
        let message = e.to_string();
        let exit = Kind::of_call(e);
        let error = match e {
            CallError::Alert(a) => alert_error(a, &message),
            CallError::Sandbox(_) => json!({"kind": "sandbox", "message": message}),
            CallError::Deadline(d) => {
                json!({"kind": "deadline", "message": message, "deadline_ms": d.as_millis() as u64})
            }
            CallError::Cancelled {
                reason,
                question,
                marked,
            } => json!({
                "kind": "cancelled",
                "message": message,
                "reason": reason,
                "marked": marked,
                "question": question.as_ref().map(|q| json!({"channel_id": q.channel_id, "message_id": q.message_id})),
            }),
        };
        CallFailure { exit, error }
    }
}

/// The WIT `alert-error` case as JSON: its kebab-case name, the line `describe` gives, and
/// the case's fields.
fn alert_error(e: &AlertError, message: &str) -> Value {
    let api = |kind: &str, a: &alerter_host::types::ApiError| json!({"kind": kind, "message": message, "status": a.status, "code": a.code, "detail": a.message});
    match e {
        AlertError::InvalidConfig(_) => json!({"kind": "invalid-config", "message": message}),
        AlertError::InvalidInput(_) => json!({"kind": "invalid-input", "message": message}),
        AlertError::Unauthorized(a) => api("unauthorized", a),
        AlertError::Forbidden(a) => api("forbidden", a),
        AlertError::NotFound(a) => api("not-found", a),
        AlertError::Api(a) => api("api", a),
        AlertError::RateLimited(r) => json!({
            "kind": "rate-limited", "message": message, "status": 429,
            "retry_after_ms": r.retry_after_ms, "global": r.global, "detail": r.message,
        }),
        AlertError::Transport(_) => json!({"kind": "transport", "message": message}),
        AlertError::Incomplete(i) => json!({
            "kind": "incomplete", "message": message, "channel_id": i.channel_id,
            "message_ids": i.message_ids, "parts": i.parts, "reason": i.reason,
            "retry_after_ms": i.retry_after_ms,
        }),
    }
}

/// `alerter call`: read the request, make the call, print `{"ok": true, "result": ...}` or
/// `{"ok": false, "error": ...}`. Failures are reported on stdout, so this never returns `Err`.
pub async fn call(g: &Global, a: &CallArgs) -> Result<Outcome, Failure> {
    let mut redact: Option<alerter_host::Redactor> = None;
    let (line, outcome) = match run(g, a, &mut redact).await {
        Ok((result, outcome)) => (json!({"ok": true, "result": result}), outcome),
        Err(f) => (
            json!({"ok": false, "error": f.error}),
            Outcome::Problem(f.exit),
        ),
    };
    let line = line.to_string();
    match &redact {
        Some(r) => println!("{}", r.redact(&line)),
        None => println!("{line}"),
    }
    Ok(outcome)
}

async fn run(
    g: &Global,
    a: &CallArgs,
    redact: &mut Option<alerter_host::Redactor>,
) -> Result<(Value, Outcome), CallFailure> {
    let request = read_request(a.stop_on_eof)?;
    let input = Input::of(&request)?;
    let params = params(&request)?;
    let inv = Invocation::prepare_inline(g, request.config).map_err(|f| CallFailure::config(&f))?;
    *redact = Some(inv.resolved.redactor.clone());
    let cfg = &inv.resolved.call;
    let rt = &inv.runtime;
    let (result, outcome) = match input {
        Input::Post(msg) => {
            let r = inv.log(rt.post(cfg, &msg, &params).await);
            (r.map(|r| output::receipt_json(&r)), Outcome::Done)
        }
        Input::Ask(question) => {
            let timeout = inv.ask_timeout(&params);
            let stop = Stop::first().map_err(|f| CallFailure {
                exit: f.kind,
                error: json!({"kind": "host", "message": f.message}),
            })?;
            let cancel = async {
                if !a.stop_on_eof {
                    return stop.await.reason().to_string();
                }
                if stdin_is_closed_now() {
                    return CALLER_GONE.to_string();
                }
                // A signal that comes with the EOF wins (Ctrl-C in a shell pipeline reaches
                // the caller and this process together), and one after it still ends the
                // process while the question is marked.
                let mut stop = Box::pin(stop);
                let first = tokio::select! {
                    biased;
                    s = &mut stop => Some(s),
                    () = stdin_closed() => None,
                };
                match first {
                    Some(s) => s.reason().to_string(),
                    None => {
                        tokio::spawn(async move {
                            std::process::exit(i32::from(stop.await.exit_code()));
                        });
                        CALLER_GONE.to_string()
                    }
                }
            };
            let r = inv.log(rt.ask_until(cfg, &question, &params, timeout, cancel).await);
            match r {
                Ok(answer) => (
                    Ok(output::answer_json(&answer)),
                    Outcome::Decided(answer.decision),
                ),
                Err(e) => (Err(e), Outcome::Done),
            }
        }
        Input::Success(ctx) => {
            let r = inv.log(rt.on_success(cfg, &ctx, &params).await);
            (r.map(|r| output::receipt_json(&r)), Outcome::Done)
        }
        Input::Failure(ctx, exc) => {
            let r = inv.log(rt.on_failure(cfg, &ctx, &exc, &params).await);
            (r.map(|r| output::receipt_json(&r)), Outcome::Done)
        }
        Input::Check => {
            let r = inv.log(rt.check(cfg, &params).await);
            match r {
                Ok(report) => (Ok(output::check_json(&report)), Outcome::of_check(&report)),
                Err(e) => (Err(e), Outcome::Done),
            }
        }
    };
    result
        .map(|v| (v, outcome))
        .map_err(|e| CallFailure::from_call(&e))
}

/// The request, from stdin: all of it, or with `--stop-on-eof` its first line (the caller
/// keeps stdin open while it waits).
fn read_request(first_line_only: bool) -> Result<Request, CallFailure> {
    let mut text = String::new();
    let stdin = std::io::stdin();
    let read = if first_line_only {
        stdin.lock().read_line(&mut text)
    } else {
        stdin.lock().read_to_string(&mut text)
    };
    read.map_err(|e| CallFailure::input(format!("cannot read the request from stdin: {e}")))?;
    parse_request(&text)
}

/// The request in `text`. Its errors never quote a config value: serde's "invalid type"
/// errors quote the value they met, which could be a token in the wrong field.
fn parse_request(text: &str) -> Result<Request, CallFailure> {
    if text.trim().is_empty() {
        return Err(CallFailure::input(
            "no request on stdin: send one JSON object, e.g. {\"verb\": \"post\", \"message\": \"hi\"}",
        ));
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| CallFailure::input(format!("the request is not JSON: {e}")))?;
    let mut secrets = Vec::new();
    strings_in(value.get("config").unwrap_or(&Value::Null), &mut secrets);
    serde_json::from_value(value).map_err(|e| {
        let text = alerter_host::Redactor::new(&secrets).redact(&e.to_string());
        CallFailure::input(format!("the request: {text}"))
    })
}

/// Every string inside a JSON value.
fn strings_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings_in(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings_in(x, out)),
        _ => {}
    }
}

/// Whether stdin has already reached its end, without waiting: poll(2) with no timeout says
/// it can be read, and a read then finds nothing (bytes after the request are discarded, as
/// [`stdin_closed`] does). A caller still writing is still there: past 64 KiB of them, the
/// answer is no, and [`stdin_closed`] watches on.
fn stdin_is_closed_now() -> bool {
    for _ in 0..256 {
        let mut fd = libc::pollfd {
            fd: libc::STDIN_FILENO,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, a zero timeout.
        if unsafe { libc::poll(&mut fd, 1, 0) } != 1 {
            return false; // nothing to read yet: the caller is still there
        }
        if fd.revents & (libc::POLLIN | libc::POLLHUP) == 0 {
            return fd.revents & libc::POLLNVAL != 0;
        }
        let mut sink = [0u8; 256];
        match std::io::stdin().read(&mut sink) {
            Ok(0) | Err(_) => return true,
            Ok(_) => {}
        }
    }
    false
}

/// Resolves once stdin reaches its end (the caller closed it, or died).
async fn stdin_closed() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut sink = [0u8; 256];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        let _ = tx.send(());
    });
    let _ = rx.await;
}

/// What the verb is called with, checked against what the request holds.
enum Input {
    Post(Message),
    Ask(Message),
    Success(RunContext),
    Failure(RunContext, ExceptionInfo),
    Check,
}

impl Input {
    fn of(r: &Request) -> Result<Input, CallFailure> {
        let misplaced = |what: &str| {
            CallFailure::input(format!(
                "`{what}` does not belong to a `{}` request",
                format!("{:?}", r.verb).to_lowercase()
            ))
        };
        let uses_message = matches!(r.verb, Verb::Post | Verb::Ask);
        let uses_context = matches!(r.verb, Verb::Success | Verb::Failure);
        if r.message.is_some() && !uses_message {
            return Err(misplaced("message"));
        }
        if r.context.is_some() && !uses_context {
            return Err(misplaced("context"));
        }
        if r.exception.is_some() && r.verb != Verb::Failure {
            return Err(misplaced("exception"));
        }
        for field in r.params.set_fields() {
            if !field_belongs(field, r.verb) {
                return Err(misplaced(&format!("params.{field}")));
            }
        }
        let context = || {
            r.context.as_ref().map(context).ok_or_else(|| {
                CallFailure::input("a hook request needs `context` (pipeline_name, run_name)")
            })
        };
        Ok(match r.verb {
            Verb::Post => Input::Post(wire_message(r.message.as_ref())?),
            Verb::Ask => Input::Ask(wire_message(r.message.as_ref())?),
            Verb::Success => Input::Success(context()?),
            Verb::Failure => {
                let e = r.exception.as_ref().ok_or_else(|| {
                    CallFailure::input("a `failure` request needs `exception` (type_name)")
                })?;
                Input::Failure(
                    context()?,
                    ExceptionInfo {
                        type_name: e.type_name.clone(),
                        message: e.message.clone(),
                        traceback: e.traceback.clone(),
                    },
                )
            }
            Verb::Check => Input::Check,
        })
    }
}

/// The structured message of a request, if its `message` is an object.
fn structured(m: Option<&Value>) -> Result<Option<WireStructured>, CallFailure> {
    match m {
        Some(v @ Value::Object(_)) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| CallFailure::input(format!("message: {e}"))),
        _ => Ok(None),
    }
}

fn wire_message(m: Option<&Value>) -> Result<Message, CallFailure> {
    const SHAPE: &str = "`message` is a string or {title, body, metadata, images}";
    match (m, structured(m)?) {
        (None, _) => Err(CallFailure::input(format!("nothing to send: {SHAPE}"))),
        (Some(Value::String(t)), _) => Ok(Message::Text(t.clone())),
        (Some(_), None) => Err(CallFailure::input(SHAPE)),
        (Some(_), Some(s)) => Ok(Message::Structured(AlerterMessage {
            title: s.title.clone(),
            body: s.body.clone(),
            metadata: s
                .metadata
                .iter()
                .map(|(key, v)| MetadataEntry {
                    key: key.clone(),
                    value: metadata_value(v),
                })
                .collect(),
            images: s
                .images
                .iter()
                .map(|i| match message::local_image(i) {
                    Some(path) => format!("attachment://{}", message::file_name(path)),
                    None => i.clone(),
                })
                .collect(),
        })),
    }
}

/// A JSON value keeps its type: a string stays text, whatever it looks like.
fn metadata_value(v: &Value) -> MetadataValue {
    match v {
        Value::String(s) => MetadataValue::Text(s.clone()),
        Value::Bool(b) => MetadataValue::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => MetadataValue::Integer(i),
            None => MetadataValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        other => MetadataValue::Json(other.to_string()),
    }
}

fn context(c: &WireContext) -> RunContext {
    RunContext {
        pipeline_name: c.pipeline_name.clone(),
        run_name: c.run_name.clone(),
        run_id: c.run_id.clone(),
        step_name: c.step_name.clone(),
        stack_name: c.stack_name.clone(),
        parameters: c.parameters.clone(),
    }
}

/// The request's params, its files read.
fn params(r: &Request) -> Result<Params, CallFailure> {
    let p = &r.params;
    let images = structured(r.message.as_ref())?.map_or_else(Vec::new, |s| s.images);
    let labels = ("params.attachments", "message.images");
    let files = message::read_files(&p.attachments, &images, labels)
        .map_err(|f| CallFailure::input(f.message))?;
    let seconds = |v: Option<f64>, what: &str| {
        v.map(|s| message::millis(s, what))
            .transpose()
            .map_err(|f| CallFailure::input(f.message))
    };
    let ask = match &p.ask {
        None if r.verb == Verb::Ask => Some(AskSettings::default()),
        None => None,
        Some(a) => Some(AskSettings {
            timeout_ms: seconds(a.timeout_seconds, "params.ask.timeout_seconds")?,
            poll_interval_ms: seconds(a.poll_interval_seconds, "params.ask.poll_interval_seconds")?,
            approvers: a.approvers.clone(),
            approver_roles: a.approver_roles.clone(),
            ignore_case: a.ignore_case,
            required_approvals: a.required_approvals,
            key: a.key.clone(),
            remind_every_ms: seconds(a.remind_every_seconds, "params.ask.remind_every_seconds")?,
            escalate_after_ms: seconds(
                a.escalate_after_seconds,
                "params.ask.escalate_after_seconds",
            )?,
            escalate_roles: a.escalate_roles.clone(),
        }),
    };
    Ok(Params {
        channel_id: p.channel_id.clone(),
        approve_keywords: p.approve_keywords.clone(),
        disapprove_keywords: p.disapprove_keywords.clone(),
        payload: p.payload.as_ref().map(|x| Payload {
            pipeline_name: x.pipeline_name.clone(),
            step_name: x.step_name.clone(),
            stack_name: x.stack_name.clone(),
        }),
        include_format_blocks: p.include_format_blocks,
        severity: p.severity.map(|s| match s {
            WireSeverity::Info => Severity::Info,
            WireSeverity::Success => Severity::Success,
            WireSeverity::Warning => Severity::Warning,
            WireSeverity::Error => Severity::Error,
        }),
        mention_users: p.mention_users.clone(),
        mention_roles: p.mention_roles.clone(),
        ask,
        attachments: files,
        thread_id: p.thread_id.clone(),
        thread_name: p.thread_name.clone(),
        idempotency_key: p.idempotency_key.clone(),
    })
}

#[cfg(test)]
#[path = "rpc_tests.rs"]
mod tests;
