//! What a hostile guest can make the host spend, measured: each scenario runs in a child
//! process of its own (this test binary again), and the parent reads the child's peak RSS and
//! CPU time from `wait4`, against a child that runs a plain call in the same run.
//!
//! - `deny-flood`: denied requests with 63 KiB paths, as fast as the host answers. The host
//!   keeps the first few, cut short, and counts the rest (it kept every line whole before).
//! - `random-loop`: host calls that compute and never wait. Such work is charged like wasm
//!   (before, every host call of 1 ms or more earned CPU time back, so a loop of 16 MiB
//!   random fills kept a core busy until the call's wall-clock bound), and a request for more
//!   random bytes than the policy's cap is refused.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use alerter_e2e::{Emulator, Options};
use alerter_host::types::{Message, Params};
use alerter_host::{CallConfig, CallError, Instances, Policy, Runtime};

/// Set in the child to the scenario it runs.
const CHILD: &str = "ALERTER_BOUNDS_CHILD";
const TOKEN: &str = "bounds.secret.token-456";
/// The guest's CPU budget in every scenario.
const BUDGET: Duration = Duration::from_millis(500);
/// The call's wall-clock bound: the slack alone (the delivery deadline is 0).
const WALL: Duration = Duration::from_secs(4);

/// What one child did and spent.
#[derive(Debug)]
struct Spent {
    /// The `OUTCOME` line the child printed, and the guest log lines after it.
    out: String,
    peak_rss_mib: u64,
    cpu: Duration,
}

/// Run `scenario` (a hostile command) in a child process and measure it.
// The child is reaped by `wait4`, which std's `Child` does not know about.
#[allow(clippy::zombie_processes)]
fn child(scenario: &str) -> Spent {
    let exe = std::env::current_exe().expect("test binary");
    let mut child = std::process::Command::new(exe)
        .args([
            "--exact",
            "hostile_loops_are_bounded_in_host_memory_and_cpu",
        ])
        .args(["--nocapture", "--test-threads=1"])
        .env(CHILD, scenario)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the child");
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).ok();
        s
    });
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet waited for; both pointers are to live locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4");
    let out = reader.join().expect("reader");
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child for {scenario} failed ({status}): {out}"
    );
    // The harness prints `test NAME ... ` before the first line and its summary after.
    let out = out
        .lines()
        .skip_while(|l| !l.contains("OUTCOME "))
        .take_while(|l| *l != "END")
        .map(|l| match l.split_once("OUTCOME ") {
            Some((_, o)) => o,
            None => l.strip_prefix("LOG ").unwrap_or(l),
        })
        .collect::<Vec<_>>()
        .join("\n");
    Spent {
        out,
        peak_rss_mib: u64::try_from(usage.ru_maxrss).unwrap_or(0) / 1024,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
    }
}

/// In the child: run `scenario` against an emulator and print its outcome and the guest log.
fn run_child(scenario: &str) {
    let rt = tokio::runtime::Runtime::new().expect("tokio");
    rt.block_on(async {
        let emu = Emulator::start(Options::default()).await.expect("emulator");
        let runtime =
            Runtime::from_file_with(env!("SANDBOX_COMPONENT").as_ref(), Instances::OnDemand)
                .expect("the hostile component loads");
        let mut policy = Policy::for_api_base(&emu.base_url()).expect("policy");
        policy.cpu_budget = BUDGET;
        policy.slack = WALL;
        let cfg = CallConfig {
            settings: BTreeMap::from([("delivery_deadline_seconds".into(), "0".into())]),
            secrets: BTreeMap::from([("discord_token".into(), TOKEN.into())]),
            policy: Arc::new(policy),
        };
        let outcome = runtime
            .post(&cfg, &Message::Text(scenario.into()), &Params::default())
            .await;
        let line = match outcome {
            Ok(r) => format!("ok {}", r.channel_id),
            Err(CallError::Sandbox(m)) => format!("sandbox {m}"),
            Err(CallError::Deadline(d)) => format!("deadline {d:?}"),
            Err(e) => format!("error {e}"),
        };
        println!("OUTCOME {line}");
        for l in runtime.take_guest_log() {
            println!("LOG {l}");
        }
        println!("END");
    });
}

#[test]
fn hostile_loops_are_bounded_in_host_memory_and_cpu() {
    if let Ok(scenario) = std::env::var(CHILD) {
        return run_child(&scenario);
    }
    // The baseline twice: the first pays for compiling the component into the cache.
    child("ok");
    let base = child("ok");
    assert_eq!(base.out, "ok ok", "{base:?}");
    let report = |name: &str, s: &Spent| {
        eprintln!(
            "{name}: peak RSS {} MiB (baseline {} MiB), CPU {:?} (baseline {:?}, budget {BUDGET:?})",
            s.peak_rss_mib, base.peak_rss_mib, s.cpu, base.cpu
        );
    };
    // Within the budget, plus what a busy 2-core machine adds to a process's own work.
    let cpu_bound = base.cpu + BUDGET + Duration::from_millis(700);

    let flood = child("deny-flood 63");
    report("deny-flood 63 KiB paths", &flood);
    assert!(
        flood.peak_rss_mib < base.peak_rss_mib + 64,
        "denials grew the host to {} MiB",
        flood.peak_rss_mib
    );
    assert!(flood.cpu < cpu_bound, "{:?} of CPU", flood.cpu);
    assert!(
        flood
            .out
            .starts_with("sandbox it used more CPU time than the policy allows"),
        "{}",
        flood.out.lines().next().unwrap_or_default()
    );
    let lines: Vec<&str> = flood
        .out
        .lines()
        .filter(|l| l.starts_with("egress denied: "))
        .collect();
    assert_eq!(lines.len(), 33, "32 kept and a count");
    let more: u64 = lines[32]
        .strip_prefix("egress denied: and ")
        .and_then(|l| l.strip_suffix(" more"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", lines[32]));
    assert!(more > 100, "the guest was denied {more} more times");
    assert!(
        lines[0].starts_with("egress denied: GET https://x.invalid/aaaa")
            && lines[0].ends_with('…')
            && lines[0].chars().count() <= 250,
        "a kept line is cut: {} chars",
        lines[0].chars().count()
    );

    let huge = child("random-loop 16384");
    report("random-loop 16 MiB", &huge);
    assert!(
        huge.out.starts_with("sandbox ") && huge.out.contains("exceeds limit 65536"),
        "{huge:?}"
    );
    assert!(huge.cpu < cpu_bound, "{:?} of CPU", huge.cpu);

    let capped = child("random-loop 64");
    report("random-loop 64 KiB", &capped);
    assert!(
        capped
            .out
            .starts_with("sandbox it used more CPU time than the policy allows"),
        "{capped:?}"
    );
    assert!(capped.cpu < cpu_bound, "{:?} of CPU", capped.cpu);
}
