//! Row 8: the embedded component's size.

use alerter_host::runtime::{EMBEDDED_COMPONENT, PRECOMPILED_COMPONENT};

use crate::cli::Env;
use crate::report::{Check, Goal, Report, Row};

/// Row 8: the embedded component's size, against the goal itself.
pub fn size(env: &Env, report: &mut Report) {
    let bytes = EMBEDDED_COMPONENT.len();
    let kib = bytes as f64 / 1024.0;
    report.add(Row {
        key: (8, 0),
        what: "8. embedded component size".into(),
        value: format!("{kib:.1} KiB"),
        baseline: "goal: 300 KiB".into(),
        ratio: format!("{:.2}x", kib / 300.0),
        goal: Some(Check::new(
            "the embedded component's size",
            Goal::AtMost(300.0),
            kib,
            " KiB",
            1,
        )),
        info: "",
    });
    report.detail(8, "### 8. Size\n");
    report.detail(
        8,
        format!("- `EMBEDDED_COMPONENT.len()` = {bytes} bytes; its native code precompiled at build time (`PRECOMPILED_COMPONENT`) is {:.0} KiB; the release `alerter` binary is {:.1} MiB.\n", PRECOMPILED_COMPONENT.len() as f64 / 1024.0, std::fs::metadata(&env.alerter_bin).map_or(0.0, |m| m.len() as f64 / 1_048_576.0)),
    );
    report.method(
        8,
        "Row 8: `alerter_host::runtime::EMBEDDED_COMPONENT.len()`.",
    );
}
