//! Rows 3 and 7: a waiting `alerter ask`, its TCP connections and its CPU.

use std::collections::BTreeMap;
use std::process::Command;

use alerter_emulator::{Emulator, Options};

use crate::child::{cpu_ms, run_child, run_expect, Run};
use crate::cli::{CliFigures, Env};
use crate::report::{Check, Goal, Report, Row};
use crate::stats::{median, ms};

/// An emulator of its own and the config file for it, for the `ask` rows.
pub struct AskTarget {
    pub emu: Emulator,
    pub cfg: String,
}

impl AskTarget {
    pub fn new(env: &Env) -> AskTarget {
        let emu = Emulator::start_background(Options {
            validate: false,
            ..Options::default()
        })
        .expect("emulator");
        let cfg = alerter_e2e::config_for(&emu, &env.subdir("ask"));
        AskTarget {
            emu,
            cfg: cfg.to_string_lossy().into_owned(),
        }
    }

    /// `alerter ask` that nobody answers, timing out after `seconds`.
    pub fn ask(&self, env: &Env, seconds: u64) -> Command {
        let t = seconds.to_string();
        env.alerter(
            &env.cache,
            &[
                "--config",
                &self.cfg,
                "ask",
                "--body",
                "bench question",
                "--timeout",
                &t,
            ],
        )
    }

    pub fn polls(&self) -> usize {
        self.emu
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path.contains("/messages"))
            .count()
    }
}

/// Row 3: the TCP connections one unanswered ask opens, against the requests it makes.
pub fn ask_connections(env: &Env, target: &AskTarget, report: &mut Report, seconds: u64) {
    let (c0, r0) = (target.emu.connections(), target.emu.requests().len());
    let run = run_expect(
        &mut target.ask(env, seconds),
        4,
        "an unanswered `alerter ask` (timed out is 4)",
    );
    let conns = target.emu.connections() - c0;
    let requests = target.emu.requests();
    let made = &requests[r0..];
    report.add(Row {
        key: (3, 0),
        what: format!("3. TCP connections of an unanswered {seconds} s `alerter ask`"),
        value: format!("{conns}"),
        baseline: format!("its requests: {}", made.len()),
        ratio: format!("{:.2} per request", conns as f64 / made.len().max(1) as f64),
        goal: Some(Check::new(
            "connections of a 6 s ask",
            Goal::AtMost(2.0),
            conns as f64,
            " connections",
            0,
        )),
        info: "",
    });
    let mut by_route: BTreeMap<String, usize> = BTreeMap::new();
    for r in made {
        *by_route
            .entry(format!("{} {}", r.method, route(&r.path)))
            .or_default() += 1;
    }
    let routes: Vec<String> = by_route
        .iter()
        .map(|(k, n)| format!("{n}× `{k}`"))
        .collect();
    report.detail(3, "### 3. Connections of a waiting `ask`\n");
    report.detail(
        3,
        format!("- `alerter ask --body 'bench question' --timeout {seconds}`, nobody answers, default poll interval; it exited 4 (timed out) after {:.2} s. It made {} requests ({}) over {conns} TCP connections (`Emulator::connections()` before and after).\n", run.wall.as_secs_f64(), made.len(), routes.join(", ")),
    );
    report.method(3, "Row 3: an unanswered `alerter ask` against an emulator of its own; connections are the emulator's accepted TCP connections (`Emulator::connections()`) before and after, requests the ones it recorded.");
    println!(
        "ask: {} requests over {conns} connections in {seconds} s",
        made.len()
    );
}

/// A path with its ids as `:id`, to group requests by route.
pub fn route(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                ":id"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Row 7's asks, started now on threads of their own (they mostly wait, so they run while
/// the load test does); [`ask_cpu`] collects them.
pub fn start_asks(
    env: &Env,
    target: &AskTarget,
    runs: usize,
    seconds: u64,
) -> Vec<std::thread::JoinHandle<Run>> {
    (0..runs)
        .map(|_| {
            let mut cmd = target.ask(env, seconds);
            std::thread::spawn(move || run_child(&mut cmd))
        })
        .collect()
}

/// Row 7: CPU of the unanswered asks [`start_asks`] started, against their wall time.
pub fn ask_cpu(
    asks: Vec<std::thread::JoinHandle<Run>>,
    target: &AskTarget,
    polls_before: usize,
    report: &mut Report,
    seconds: u64,
    cli: &CliFigures,
) {
    let runs: Vec<Run> = asks
        .into_iter()
        .map(|h| h.join().expect("ask thread"))
        .collect();
    for r in &runs {
        assert_eq!(r.code, 4, "an unanswered ask should time out (exit 4)");
    }
    let n = runs.len();
    let share: Vec<f64> = runs
        .iter()
        .map(|r| 100.0 * r.cpu.as_secs_f64() / r.wall.as_secs_f64())
        .collect();
    let (cpu, wall, share_med) = (
        median(&cpu_ms(&runs)),
        median(
            &runs
                .iter()
                .map(|r| r.wall.as_secs_f64())
                .collect::<Vec<_>>(),
        ),
        median(&share),
    );
    report.add(Row {
        key: (7, 0),
        what: format!("7. CPU of a {seconds} s unanswered `alerter ask` (median of {n})"),
        value: format!("{cpu:.0} ms user+sys"),
        baseline: format!("its wall time: {wall:.1} s"),
        ratio: format!("{share_med:.3}%"),
        goal: Some(
            Check::new(
                "CPU of an unanswered ask / its wall time",
                Goal::AtMost(0.05),
                share_med,
                "%",
                3,
            )
            .extra(format!(
                "; {:.0} ms of CPU where the goal allows {:.0} ms",
                cpu,
                0.0005 * wall * 1e3
            )),
        ),
        info: "",
    });
    let polls = target.polls() - polls_before;
    report.detail(7, "### 7. CPU of a waiting `ask`\n");
    report.detail(
        7,
        format!("- {n} `alerter ask --body 'bench question' --timeout {seconds}` at once, nobody answers, default poll interval; exit 4 (timed out) each time. The emulator saw {polls} message-list polls in all ({:.1} per run). CPU is user+sys from `wait4`'s rusage (no GNU time around them).", polls as f64 / n.max(1) as f64),
    );
    for r in &runs {
        report.detail(
            7,
            format!(
                "- run: {:.2} s wall, {:.1} ms CPU ({:.4}%)",
                r.wall.as_secs_f64(),
                ms(r.cpu),
                100.0 * r.cpu.as_secs_f64() / r.wall.as_secs_f64()
            ),
        );
    }
    report.detail(
        7,
        format!("- for scale: a whole warm `alerter post` (start, load, one request, exit) costs {:.1} ms CPU (median, row 2), so about {:.0} ms of an ask's CPU is the waiting and polling.\n", cli.post_cpu_ms, (cpu - cli.post_cpu_ms).max(0.0)),
    );
    report.method(7, "Row 7: the asks run while row 6's load test does (they are mostly idle; each one's CPU is its own rusage), against the same kind of emulator as row 3.");
    println!("ask: {n} × {seconds} s, {cpu:.0} ms CPU median ({share_med:.3}%)");
}
