//! ZenML-style run notifications: a run context (and, on failure, the exception) becomes a
//! document shaped like ZenML's `alerter_success_hook` / `alerter_failure_hook` messages.

use crate::bindings::{ExceptionInfo, RunContext, Severity};
use crate::render::Document;

/// Lines of the traceback's end shown in the first message when the whole does not fit there.
const TAIL_LINES: usize = 12;
/// A traceback up to this long is shown whole in the first message.
const INLINE_TRACEBACK: usize = 3000;

/// "Pipeline Success Notification".
pub fn success_message(ctx: &RunContext) -> Document {
    Document {
        title: Some("Pipeline Success Notification".into()),
        body: Some(format!("{} finished successfully.", where_text(ctx))),
        fields: context_fields(ctx, None),
        severity: Some(Severity::Success),
        ..Document::default()
    }
}

/// "Pipeline Failure Alert", with the exception and the traceback delivered whole: when the
/// traceback is long, its last lines (where the exception is) lead the first message and the
/// full traceback follows in order.
pub fn failure_message(ctx: &RunContext, exc: &ExceptionInfo) -> Document {
    let summary = format!(
        "{} failed.\n\n**{}**: {}",
        where_text(ctx),
        defuse_fences(&exc.type_name),
        defuse_fences(&exc.message)
    );
    let mut doc = Document {
        title: Some("Pipeline Failure Alert".into()),
        fields: context_fields(ctx, Some(&exc.type_name)),
        severity: Some(Severity::Error),
        ..Document::default()
    };
    match exc.traceback.as_deref().filter(|t| !t.trim().is_empty()) {
        None => doc.body = Some(summary),
        Some(raw) => {
            let tb = defuse_fences(raw.trim_end());
            if crate::render::len(&tb) <= INLINE_TRACEBACK {
                doc.body = Some(format!("{summary}\n\n**Traceback**\n```python\n{tb}\n```"));
            } else {
                let lines: Vec<&str> = tb.lines().collect();
                let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
                let tail: String = tail
                    .chars()
                    .rev()
                    .take(1500)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                doc.lead = Some(format!(
                    "{summary}\n\n**End of the traceback**\n```python\n{tail}\n```"
                ));
                doc.body = Some(format!("**Full traceback**\n```python\n{tb}\n```"));
                // Sent as a file instead when it would take too many messages.
                doc.body_file = Some(("traceback.txt".into(), raw.trim_end().to_string()));
            }
        }
    }
    doc
}

/// Text from an exception must not open or close our code blocks: ``` becomes ˋˋˋ.
fn defuse_fences(s: &str) -> String {
    s.replace("```", "ˋˋˋ")
}

fn where_text(ctx: &RunContext) -> String {
    let mut s = format!("Pipeline `{}`, run `{}`", ctx.pipeline_name, ctx.run_name);
    if let Some(step) = &ctx.step_name {
        s.push_str(&format!(", step `{step}`"));
    }
    s
}

fn context_fields(ctx: &RunContext, exception_type: Option<&str>) -> Vec<(String, String)> {
    let mut f = vec![
        ("Pipeline".to_string(), ctx.pipeline_name.clone()),
        ("Run".to_string(), ctx.run_name.clone()),
    ];
    if let Some(id) = &ctx.run_id {
        f.push(("Run ID".into(), id.clone()));
    }
    if let Some(step) = &ctx.step_name {
        f.push(("Step".into(), step.clone()));
    }
    if let Some(stack) = &ctx.stack_name {
        f.push(("Stack".into(), stack.clone()));
    }
    if let Some(t) = exception_type {
        f.push(("Exception".into(), t.to_string()));
    }
    for (k, v) in &ctx.parameters {
        f.push((format!("param: {k}"), v.clone()));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RunContext {
        RunContext {
            pipeline_name: "training".into(),
            run_name: "training-2026_11_28".into(),
            run_id: Some("abc-123".into()),
            step_name: Some("trainer".into()),
            stack_name: Some("prod".into()),
            parameters: vec![("lr".into(), "0.01".into())],
        }
    }

    #[test]
    fn success_names_the_run() {
        let d = success_message(&ctx());
        assert_eq!(d.title.as_deref(), Some("Pipeline Success Notification"));
        assert!(d.body.unwrap().contains("`training-2026_11_28`"));
        assert!(d.fields.iter().any(|(k, v)| k == "Stack" && v == "prod"));
        assert!(d
            .fields
            .iter()
            .any(|(k, v)| k == "param: lr" && v == "0.01"));
    }

    #[test]
    fn long_traceback_leads_with_its_end_and_follows_whole() {
        let tb: String = (0..400)
            .map(|i| format!("  File \"x.py\", line {i}, in f{i}\n"))
            .chain(["ValueError: loss is NaN".to_string()])
            .collect();
        let exc = ExceptionInfo {
            type_name: "ValueError".into(),
            message: "loss is NaN".into(),
            traceback: Some(tb.clone()),
        };
        let d = failure_message(&ctx(), &exc);
        assert_eq!(d.title.as_deref(), Some("Pipeline Failure Alert"));
        assert!(d.lead.as_ref().unwrap().contains("ValueError: loss is NaN"));
        assert!(d.body.as_ref().unwrap().contains(tb.trim_end()));
        assert!(d
            .fields
            .iter()
            .any(|(k, v)| k == "Exception" && v == "ValueError"));
    }

    #[test]
    fn short_traceback_is_inline() {
        let exc = ExceptionInfo {
            type_name: "KeyError".into(),
            message: "'x'".into(),
            traceback: Some("Traceback...\nKeyError: 'x'".into()),
        };
        let d = failure_message(&ctx(), &exc);
        assert!(d.lead.is_none());
        assert!(d
            .body
            .unwrap()
            .contains("```python\nTraceback...\nKeyError: 'x'\n```"));
    }
}
