//! The sandbox holds against a hostile component: it may not reach other hosts, exhaust memory,
//! spin forever, read files or the environment, or leak the token through its output; each
//! attempt is stopped with a clear error and the same runtime keeps serving the next call.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alerter_e2e::{Emulator, Options};
use alerter_emulator::{Fault, FaultKind};
use alerter_host::types::{AlertError, Message, Params};
use alerter_host::{CallConfig, CallError, Policy, Runtime};

const TOKEN: &str = "sandbox.secret.token-123";

/// The hostile component, loaded once for the tests that do not read the guest log.
fn runtime() -> &'static Runtime {
    static RT: std::sync::OnceLock<Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(load)
}

/// A runtime of its own, for a test that reads the guest log: tests run in parallel, and on a
/// shared runtime one test's drain would take the other's lines.
fn load() -> Runtime {
    Runtime::from_file(env!("SANDBOX_COMPONENT").as_ref()).expect("sandbox component loads")
}

fn config(emu: &Emulator) -> CallConfig {
    let mut policy = Policy::for_api_base(&emu.base_url()).expect("policy");
    policy.memory_limit = 32 << 20;
    policy.cpu_budget = Duration::from_millis(500);
    // A post's bound is one delivery (the guest's default 30 s) plus the slack; this makes
    // it 2 s, so the deadline test is quick.
    policy.slack = Duration::from_secs(2);
    let mut secrets = BTreeMap::new();
    secrets.insert("discord_token".to_string(), TOKEN.to_string());
    CallConfig {
        settings: BTreeMap::from([("delivery_deadline_seconds".into(), "0".into())]),
        secrets,
        policy: Arc::new(policy),
    }
}

async fn cmd(cfg: &CallConfig, text: &str) -> Result<String, CallError> {
    cmd_on(runtime(), cfg, text).await
}

async fn cmd_on(rt: &Runtime, cfg: &CallConfig, text: &str) -> Result<String, CallError> {
    rt.post(cfg, &Message::Text(text.into()), &Params::default())
        .await
        .map(|r| r.channel_id)
}

async fn still_serving(cfg: &CallConfig) {
    assert_eq!(cmd(cfg, "ok").await.expect("the next call works"), "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn egress_is_limited_to_the_api_host() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let cfg = config(&emu);
    let rt = load();
    let allowed = format!("egress http://{}/api/v10/users/@me", emu.addr());
    let reached = cmd_on(&rt, &cfg, &allowed)
        .await
        .expect("the API host is reachable");
    assert!(reached.contains("reached"), "{reached}");
    let log = rt.take_guest_log();
    assert!(
        !log.iter().any(|l| l.starts_with("egress denied")),
        "an allowed request was logged as denied: {log:?}"
    );
    for url in [
        "http://127.0.0.1:1/".to_string(),
        "https://discord.com/api/v10/users/@me".to_string(),
        format!("http://localhost:{}/api/v10", emu.addr().port()),
        // Same host and port, other scheme.
        format!("https://{}/api/v10/users/@me", emu.addr()),
        "https://discord.com.evil.example/".to_string(),
    ] {
        match cmd_on(&rt, &cfg, &format!("egress {url}")).await {
            Err(CallError::Alert(AlertError::Transport(m))) => {
                assert!(m.contains("HttpRequestDenied"), "{url}: {m}");
            }
            other => panic!("{url} was not denied: {other:?}"),
        }
    }
    let log = rt.take_guest_log().join("\n");
    assert!(
        log.contains("egress denied: GET http://127.0.0.1:1/"),
        "{log}"
    );
    assert!(
        log.contains("egress denied: GET https://discord.com.evil.example/"),
        "{log}"
    );
    assert_eq!(
        cmd_on(&rt, &cfg, "ok").await.expect("the next call works"),
        "ok"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reused_connection_lets_no_denied_request_through() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let cfg = config(&emu);
    let rt = load();
    let allowed = format!("egress http://{}/api/v10/users/@me", emu.addr());
    // The same server and port under another name: another origin, not allowed, even though
    // a connection to that very socket is open and idle in the pool.
    let other_name = format!(
        "egress http://localhost:{}/api/v10/users/@me",
        emu.addr().port()
    );
    for (n, cmd) in [&allowed, &allowed, &other_name, &allowed]
        .into_iter()
        .enumerate()
    {
        let out = cmd_on(&rt, &cfg, cmd).await;
        if n == 2 {
            match out {
                Err(CallError::Alert(AlertError::Transport(m))) => {
                    assert!(m.contains("HttpRequestDenied"), "{m}");
                }
                other => panic!("{cmd} was not denied: {other:?}"),
            }
        } else {
            assert!(out.expect("allowed").contains("reached"));
        }
    }
    let requests = emu.requests();
    assert_eq!(requests.len(), 3, "the denied request reached the server");
    assert!(requests
        .iter()
        .all(|r| r.connection == requests[0].connection));
    assert_eq!(emu.connections(), 1);
    assert_eq!(rt.connections_opened(), 1);
    let log = rt.take_guest_log().join("\n");
    assert!(
        log.contains(&format!(
            "egress denied: GET http://localhost:{}/api/v10/users/@me",
            emu.addr().port()
        )),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_allocation_is_stopped() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let cfg = config(&emu);
    match cmd(&cfg, "alloc 256").await {
        Err(CallError::Sandbox(m)) => assert!(m.contains("memory"), "{m}"),
        other => panic!("256 MiB allowed under a 32 MiB cap: {other:?}"),
    }
    assert_eq!(
        cmd(&cfg, "alloc 4").await.expect("small is fine"),
        "allocated 4 MiB"
    );
    still_serving(&cfg).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_loop_is_stopped_by_the_cpu_budget() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let cfg = config(&emu);
    let start = Instant::now();
    match cmd(&cfg, "loop").await {
        Err(CallError::Sandbox(m)) => assert!(m.contains("CPU"), "{m}"),
        other => panic!("the loop was not stopped: {other:?}"),
    }
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
    still_serving(&cfg).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn waiting_is_not_charged_as_cpu() {
    // 70 waits of 25 ms: 1.75 s asleep and 70 wake-ups, under a 500 ms CPU budget. Charging
    // wall time or wake-ups would stop it; it only computes microseconds.
    let emu = Emulator::start(Options::default()).await.unwrap();
    let cfg = config(&emu);
    assert_eq!(
        cmd(&cfg, "naps 70").await.expect("not stopped"),
        "napped 70 times"
    );
}

/// The sandbox config with another CPU budget and refill rate.
fn with_cpu(emu: &Emulator, budget_ms: u64, refill_ms: u64) -> CallConfig {
    let mut cfg = config(emu);
    let mut policy = (*cfg.policy).clone();
    policy.cpu_budget = Duration::from_millis(budget_ms);
    policy.cpu_refill = Duration::from_millis(refill_ms);
    cfg.policy = Arc::new(policy);
    cfg
}

#[tokio::test(flavor = "multi_thread")]
async fn waiting_earns_cpu_back_so_hundreds_of_rounds_fit_a_tiny_budget() {
    // 300 rounds of a 5 ms wait and 10,000 loop iterations of work (well over 20 ms of fuel
    // in all, as the run without refill shows), under a 20 ms budget. Each wait earns 0.5 ms
    // back (100 ms per second waited), more than a round's work.
    let emu = Emulator::start(Options::default()).await.unwrap();
    let refilled = with_cpu(&emu, 20, 100);
    assert_eq!(
        cmd(&refilled, "work-naps 300").await.expect("not stopped"),
        "worked 300 rounds"
    );
    // The same work with one purse for the whole call is stopped: the budget is real.
    match cmd(&with_cpu(&emu, 20, 0), "work-naps 300").await {
        Err(CallError::Sandbox(m)) => assert!(m.contains("CPU"), "{m}"),
        other => {
            panic!("300 rounds fit 20 ms without refill, so this test proves nothing: {other:?}")
        }
    }
    // And refill does not free a busy loop, nor one that calls the host without waiting.
    for spin in ["loop", "spin-host"] {
        let start = Instant::now();
        match cmd(&refilled, spin).await {
            Err(CallError::Sandbox(m)) => assert!(m.contains("CPU"), "{spin}: {m}"),
            other => panic!("{spin} was not stopped: {other:?}"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{spin}: {:?}",
            start.elapsed()
        );
    }
    still_serving(&refilled).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_that_floods_its_output_loses_output_not_its_life() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let cfg = config(&emu);
    let rt = load();
    assert_eq!(
        cmd_on(&rt, &cfg, "flood 256")
            .await
            .expect("a full pipe drops output"),
        "flooded 256 KiB"
    );
    let log = rt.take_guest_log();
    let kept = log.iter().filter(|l| l.starts_with("xxx")).count();
    assert!((1..=64).contains(&kept), "kept {kept} lines of 1 KiB");
    assert!(
        log.iter()
            .any(|l| l.starts_with("warning: the guest wrote") && l.contains("more bytes")),
        "the loss is reported: {:?}",
        log.iter()
            .filter(|l| !l.starts_with("xxx"))
            .collect::<Vec<_>>()
    );
}

/// This process's resident memory, in MiB (`VmRSS` of /proc/self/status).
fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

#[tokio::test(flavor = "multi_thread")]
async fn host_memory_held_for_the_guest_is_capped() {
    // Header sets live in the host's memory, outside the guest's memory cap. Uncapped, this
    // guest creates thousands of 30 KB ones within its CPU budget (gigabytes of host memory);
    // the resource table's cap stops it at 1024.
    let emu = Emulator::start(Options::default()).await.unwrap();
    let cfg = config(&emu);
    let before = rss_mib();
    match cmd(&cfg, "hoard-headers").await {
        Err(CallError::Sandbox(m)) => assert!(m.contains("host resources"), "{m}"),
        other => panic!("the hoarding guest was not stopped: {other:?}"),
    }
    let grown = rss_mib().saturating_sub(before);
    eprintln!(
        "host RSS: {before} MiB before, {} MiB after the hoarding guest",
        before + grown
    );
    assert!(grown < 200, "the host grew by {grown} MiB");
    // One header set over the byte cap (64 KiB) stops the call; a smaller one is fine.
    match cmd(&cfg, "big-header 256").await {
        Err(CallError::Sandbox(m)) => assert!(m.contains("fields exceeds limit"), "{m}"),
        other => panic!("a 256 KiB header set was stored: {other:?}"),
    }
    assert_eq!(
        cmd(&cfg, "big-header 16").await.expect("16 KiB is fine"),
        "a 16 KiB header was accepted"
    );
    still_serving(&cfg).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_in_flight_are_capped() {
    // 20 requests at once to a slow endpoint: 8 (the policy's cap) wait for their answer, the
    // rest fail at once as ConnectionLimitReached instead of piling up in the host. The
    // emulator advertises a roomy bucket: the cap is under test here, not the host's
    // rate-limit pacing, which would hold the 8 to the default 5 per second.
    let emu = Emulator::start(Options {
        bucket_limit: 1000,
        ..Options::default()
    })
    .await
    .unwrap();
    emu.push_fault(Fault {
        method: None,
        path_contains: Some("/users/@me".into()),
        times: 20,
        kind: FaultKind::Delay { ms: 300 },
    });
    let cfg = config(&emu);
    let url = format!("http://{}/api/v10/users/@me", emu.addr());
    let out = cmd(&cfg, &format!("parallel 20 {url}"))
        .await
        .expect("the call itself works");
    assert_eq!(out, "ok 8 limited 12 other 0");
    still_serving(&cfg).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unread_response_keeps_its_slot_so_held_bytes_stay_bounded() {
    // One after another, the guest opens 12 requests to an endless body and reads none of
    // them. Each holds a connection and what the host buffered of its body. A slot used to be
    // freed when the response head arrived, so all 12 (or 12,000) stayed open; now a response
    // keeps its slot until its body is read or dropped, and the 9th request is refused.
    let emu = Emulator::start(Options::default()).await.unwrap();
    emu.push_fault(Fault {
        method: None,
        path_contains: Some("/users/@me".into()),
        times: 12,
        kind: FaultKind::EndlessBody,
    });
    let cfg = config(&emu);
    let url = format!("http://{}/api/v10/users/@me", emu.addr());
    let before = rss_mib();
    let out = cmd(&cfg, &format!("hold 12 {url}"))
        .await
        .expect("the call itself works");
    let after = rss_mib();
    eprintln!("host RSS: {before} MiB before, {after} MiB after 8 endless bodies held unread");
    assert_eq!(out, "ok 8 limited 4 other 0");
    assert!(
        after.saturating_sub(before) < 200,
        "{before} -> {after} MiB"
    );
    still_serving(&cfg).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_response_body_is_cut_at_the_hosts_byte_cap() {
    // A guest without a cap of its own reads an endless body: the host stops the stream at
    // the policy's 16 MiB instead of streaming forever.
    let emu = Emulator::start(Options::default()).await.unwrap();
    let cfg = config(&emu);
    let url = format!("http://{}/api/v10/users/@me", emu.addr());
    let normal = cmd(&cfg, &format!("drain {url}")).await.expect("drains");
    assert!(normal.ends_with("bytes, then END"), "{normal}");
    emu.push_fault(Fault {
        method: None,
        path_contains: Some("/users/@me".into()),
        times: 1,
        kind: FaultKind::EndlessBody,
    });
    let out = cmd(&cfg, &format!("drain {url}")).await.expect("drains");
    let (read, end) = out
        .strip_prefix("read ")
        .and_then(|r| r.split_once(" bytes, then "))
        .unwrap_or_else(|| panic!("{out}"));
    let read: u64 = read.parse().unwrap();
    let cap = Policy::default().max_response_bytes;
    assert!(
        read <= cap && read > cap - (1 << 20),
        "read {read} bytes of an endless body, cap {cap}"
    );
    assert!(
        end.contains(&format!(
            "HTTP response body size exceeds limit: {cap} bytes"
        )),
        "{end}"
    );
    still_serving(&cfg).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_call_is_cut_by_the_wall_clock_deadline() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    emu.push_fault(Fault {
        method: None,
        path_contains: Some("/users/@me".into()),
        times: 1,
        kind: FaultKind::Delay { ms: 5_000 },
    });
    let cfg = config(&emu);
    let start = Instant::now();
    let out = cmd(
        &cfg,
        &format!("egress http://{}/api/v10/users/@me", emu.addr()),
    )
    .await;
    assert!(
        matches!(out, Err(CallError::Deadline(d)) if d == Duration::from_secs(2)),
        "{out:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(3));
    still_serving(&cfg).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_files_no_environment() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let cfg = config(&emu);
    for path in ["/etc/passwd", "Cargo.toml", "."] {
        match cmd(&cfg, &format!("file {path}")).await {
            Err(CallError::Alert(AlertError::InvalidInput(m))) => {
                assert!(m.starts_with(&format!("file {path}:")), "{m}");
            }
            other => panic!("{path} was readable: {other:?}"),
        }
    }
    // The host process has plenty of environment; the guest sees none of it.
    assert!(std::env::vars().count() > 0);
    assert_eq!(cmd(&cfg, "env").await.unwrap(), "env vars: 0 args: 0");
    still_serving(&cfg).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn guest_output_reaches_the_log_with_the_token_redacted() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let cfg = config(&emu);
    let rt = load();
    assert_eq!(cmd_on(&rt, &cfg, "print-token").await.unwrap(), "printed");
    let log = rt.take_guest_log();
    assert!(
        log.iter().any(|l| l == "the token is [redacted]"),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l == "stderr also has [redacted]"),
        "{log:?}"
    );
    assert!(!log.join("\n").contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_the_guest_returns_reaches_the_embedder_with_the_token_redacted() {
    // A Rust embedder gets the flavor's error as a value (`CallError::Alert`), not through
    // the CLI's redaction: the library redacts every text in it.
    let emu = Emulator::start(Options::default()).await.unwrap();
    let cfg = config(&emu);
    match cmd(&cfg, "error-token").await {
        Err(CallError::Alert(AlertError::Incomplete(i))) => {
            assert_eq!(i.reason, "the token is [redacted]");
            assert_eq!(i.channel_id, "[redacted]");
            assert_eq!(i.message_ids, ["[redacted]"]);
            let e = CallError::Alert(AlertError::Incomplete(i));
            assert!(!e.to_string().contains(TOKEN), "{e}");
            assert!(!format!("{e:?}").contains(TOKEN), "{e:?}");
        }
        other => panic!("expected the guest's error: {other:?}"),
    }
}
