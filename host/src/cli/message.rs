//! Flags -> the library's inputs: a message, per-call params, ask settings, a run context.
//! Pure except for reading `--body-file` / `--traceback-file` (a file or stdin).

use std::io::Read;
use std::path::{Path, PathBuf};

use alerter_host::config;
use alerter_host::types::{
    AlerterMessage, AskSettings, Attachment, Message, MetadataEntry, MetadataValue, Params,
    Payload, Severity,
};
use alerter_host::{ExceptionInfo, RunContext};

use super::args::{AskArgs, HookArgs, HookKind, MessageArgs, SeverityArg};
use super::Failure;

/// The message of `post` or `ask`: plain text when only a body is given, else structured.
pub fn message(a: &MessageArgs) -> Result<Message, Failure> {
    let body = match (&a.body, &a.body_file) {
        (Some(b), _) => Some(b.clone()),
        (None, Some(path)) => Some(read_source(path)?),
        (None, None) => None,
    };
    let metadata = a
        .meta
        .iter()
        .map(|m| {
            key_value(m, "--meta").map(|(key, v)| MetadataEntry {
                key,
                value: typed_value(&v),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if a.title.is_none() && metadata.is_empty() && a.images.is_empty() {
        return match body {
            Some(b) => Ok(Message::Text(b)),
            None => Err(Failure::usage(
                "nothing to send: give --title, --body, --body-file, --meta or --image",
            )),
        };
    }
    let images = a
        .images
        .iter()
        .map(|i| match local_image(i) {
            Some(path) => format!("attachment://{}", file_name(path)),
            None => i.clone(),
        })
        .collect();
    Ok(Message::Structured(AlerterMessage {
        title: a.title.clone(),
        body,
        metadata,
        images,
    }))
}

/// An `--image` that is a local file rather than a URL (`http(s)://` in any case, or an
/// `attachment://` reference to an `--attach` file).
pub fn local_image(image: &str) -> Option<&Path> {
    let lower = image.get(..13).unwrap_or(image).to_ascii_lowercase();
    let url = ["https://", "http://", "attachment://"]
        .iter()
        .any(|p| lower.starts_with(p));
    (!url).then(|| Path::new(image))
}

/// The name a file is sent under: its last path component, as it is (the flavor refuses a
/// name Discord would rewrite, suggesting one).
pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The files of `--attach` and of local `--image`s, read whole. A file over Discord's 25 MiB
/// request limit is refused before it is read (the flavor checks the configured per-file limit).
pub fn attachments(a: &MessageArgs) -> Result<Vec<Attachment>, Failure> {
    read_files(&a.attach, &a.images, ("--attach", "--image"))
}

/// The files to attach and the local files among the images, read whole (`--attach` and
/// `--image`, or a JSON call's `attachments` and `images`); errors name them by `labels`.
pub fn read_files(
    attach: &[PathBuf],
    images: &[String],
    labels: (&'static str, &'static str),
) -> Result<Vec<Attachment>, Failure> {
    const MAX: u64 = alerter_host::runtime::MAX_FILE_BYTES_PER_MESSAGE;
    const FILES: usize = 10;
    let images = images.iter().filter_map(|i| local_image(i));
    let files: Vec<(&Path, &str)> = attach
        .iter()
        .map(|p| (p.as_path(), labels.0))
        .chain(images.map(|p| (p, labels.1)))
        .collect();
    if files.len() > FILES {
        return Err(Failure::usage(format!(
            "{} files for one message: Discord takes at most {FILES}",
            files.len()
        )));
    }
    // All of them are checked before any is read: the component could not hold more.
    let mut total: u64 = 0;
    for (path, _) in &files {
        total += std::fs::metadata(path).map_or(0, |m| m.len());
    }
    if total > MAX {
        return Err(Failure::usage(format!(
            "the files add up to {total} bytes, over Discord's {MAX} bytes per message"
        )));
    }
    let mut out = Vec::new();
    for (path, flag) in files {
        let cannot = |e: &dyn std::fmt::Display| {
            Failure::usage(format!("cannot read {flag} {}: {e}", path.display()))
        };
        let meta = std::fs::metadata(path).map_err(|e| cannot(&e))?;
        if !meta.is_file() {
            return Err(cannot(&"not a regular file"));
        }
        if meta.len() > MAX {
            return Err(Failure::usage(format!(
                "{flag} {} is {} bytes, over Discord's {MAX} bytes per message",
                path.display(),
                meta.len()
            )));
        }
        let data = std::fs::read(path).map_err(|e| cannot(&e))?;
        out.push(Attachment {
            filename: file_name(path),
            content_type: None,
            description: None,
            data,
        });
    }
    Ok(out)
}

/// Per-call params of `post` (and the base of `ask`'s), files read.
pub fn params(a: &MessageArgs) -> Result<Params, Failure> {
    let payload =
        (a.pipeline.is_some() || a.step.is_some() || a.stack.is_some()).then(|| Payload {
            pipeline_name: a.pipeline.clone(),
            step_name: a.step.clone(),
            stack_name: a.stack.clone(),
        });
    Ok(Params {
        channel_id: a.channel.clone(),
        thread_id: a.thread.clone(),
        attachments: attachments(a)?,
        payload,
        include_format_blocks: Some(!a.no_format_blocks),
        severity: a.severity.map(|s| match s {
            SeverityArg::Info => Severity::Info,
            SeverityArg::Success => Severity::Success,
            SeverityArg::Warning => Severity::Warning,
            SeverityArg::Error => Severity::Error,
        }),
        mention_users: a.mention_users.clone(),
        mention_roles: a.mention_roles.clone(),
        ..Params::default()
    })
}

/// Params of `ask`: the message params plus keywords and the ask settings.
pub fn ask_params(a: &AskArgs) -> Result<Params, Failure> {
    let settings = AskSettings {
        timeout_ms: a.timeout.map(|t| millis(t, "--timeout")).transpose()?,
        poll_interval_ms: a
            .poll_interval
            .map(|t| millis(t, "--poll-interval"))
            .transpose()?,
        approvers: a.approvers.clone(),
        approver_roles: a.approver_roles.clone(),
        ignore_case: a.ignore_case,
        required_approvals: a.required_approvals,
        key: a.key.clone(),
        remind_every_ms: a
            .remind_every
            .map(|t| millis(t, "--remind-every"))
            .transpose()?,
        escalate_after_ms: a
            .escalate_after
            .map(|t| millis(t, "--escalate-after"))
            .transpose()?,
        escalate_roles: a.escalate_roles.clone(),
    };
    Ok(Params {
        approve_keywords: (!a.approve.is_empty()).then(|| a.approve.clone()),
        disapprove_keywords: (!a.disapprove.is_empty()).then(|| a.disapprove.clone()),
        ask: Some(settings),
        ..params(&a.message)?
    })
}

/// The run context, params and (for `failure`) the exception of a `hook` command.
pub fn hook(h: &HookArgs) -> Result<(RunContext, Params, Option<ExceptionInfo>), Failure> {
    let parameters = h
        .params
        .iter()
        .map(|p| key_value(p, "--param"))
        .collect::<Result<Vec<_>, _>>()?;
    let ctx = RunContext {
        pipeline_name: h.pipeline.clone(),
        run_name: h.run.clone(),
        run_id: h.run_id.clone(),
        step_name: h.step.clone(),
        stack_name: h.stack.clone(),
        parameters,
    };
    let params = Params {
        channel_id: h.channel.clone(),
        thread_id: h.thread.clone(),
        thread_name: h.thread_name.clone(),
        mention_users: h.mention_users.clone(),
        mention_roles: h.mention_roles.clone(),
        ..Params::default()
    };
    let exception = match h.kind {
        HookKind::Failure => Some(ExceptionInfo {
            type_name: h
                .exception_type
                .clone()
                .unwrap_or_else(|| "Exception".into()),
            message: h.exception_message.clone().unwrap_or_default(),
            traceback: h.traceback_file.as_deref().map(read_source).transpose()?,
        }),
        HookKind::Success => None,
    };
    Ok((ctx, params, exception))
}

/// Seconds from a flag as whole milliseconds, validated like the config's durations.
pub fn millis(v: f64, flag: &str) -> Result<u64, Failure> {
    config::seconds(flag, v)?;
    Ok((v * 1000.0).round() as u64)
}

/// The text of a file, or of stdin for `-`.
fn read_source(path: &Path) -> Result<String, Failure> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Failure::usage(format!("cannot read stdin: {e}")))?;
        Ok(s)
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))
    }
}

/// `KEY=VALUE` -> `(KEY, VALUE)`, the key trimmed and non-empty.
fn key_value(s: &str, what: &str) -> Result<(String, String), Failure> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| Failure::usage(format!("{what} `{s}` must look like KEY=VALUE")))
}

/// Type a metadata value: integers, decimals, booleans and JSON objects/arrays; else text. A
/// number is typed only when it is shown exactly as written (the component prints the
/// shortest form), so a model version `1.10` or a threshold `2.0` stays text, unchanged.
pub fn typed_value(v: &str) -> MetadataValue {
    if let Ok(i) = v.parse::<i64>() {
        if i.to_string() == v {
            return MetadataValue::Integer(i);
        }
    }
    if let Ok(f) = v.parse::<f64>() {
        if f.is_finite() && v.contains('.') && f.to_string() == v {
            return MetadataValue::Float(f);
        }
    }
    match v {
        "true" => return MetadataValue::Boolean(true),
        "false" => return MetadataValue::Boolean(false),
        _ => {}
    }
    if (v.starts_with('{') || v.starts_with('['))
        && serde_json::from_str::<serde_json::Value>(v).is_ok()
    {
        return MetadataValue::Json(v.to_string());
    }
    MetadataValue::Text(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_values_are_typed_only_when_exact() {
        use MetadataValue as V;
        assert!(matches!(typed_value("12"), V::Integer(12)));
        assert!(matches!(typed_value("012"), V::Text(t) if t == "012"));
        assert!(matches!(typed_value("0.93"), V::Float(f) if f == 0.93));
        assert!(matches!(typed_value("1."), V::Text(_)));
        assert!(matches!(typed_value("-2.5"), V::Float(f) if f == -2.5));
        // Shown as written, or not a number: a version is not a float.
        assert!(matches!(typed_value("1.10"), V::Text(t) if t == "1.10"));
        assert!(matches!(typed_value("2.0"), V::Text(t) if t == "2.0"));
        assert!(matches!(
            typed_value("0.1000000000000000055511"),
            V::Text(_)
        ));
        assert!(matches!(typed_value(".5"), V::Text(_)));
        assert!(matches!(typed_value("1e5"), V::Text(_)));
        assert!(matches!(typed_value("true"), V::Boolean(true)));
        assert!(matches!(typed_value("True"), V::Text(_)));
        assert!(matches!(typed_value(r#"{"a":1}"#), V::Json(j) if j == r#"{"a":1}"#));
        assert!(matches!(typed_value("{oops"), V::Text(_)));
    }

    #[test]
    fn flag_seconds_are_validated_and_rounded_to_milliseconds() {
        assert_eq!(millis(0.25, "--poll-interval").ok(), Some(250));
        assert_eq!(millis(1.0004, "--timeout").ok(), Some(1000));
        assert_eq!(millis(1.0006, "--timeout").ok(), Some(1001));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e9] {
            let e = millis(bad, "--timeout").unwrap_err();
            assert!(e.message.starts_with("--timeout must be"), "{}", e.message);
        }
    }
}
