//! Benchmarks (issues 7 and 14). Every figure is set against a baseline measured in the same
//! run, interleaved with it, as the median of many samples. The rows, in the table's order:
//!
//! 1. first `alerter post` on a machine (a fresh, empty `ALERTER_CACHE_DIR` per run; the
//!    embedded component's native code is precompiled at build time) vs `curl` sending the
//!    same POST; and, as a second baseline, the same first run with `--component PATH`, which
//!    compiles with Cranelift (what precompiling removed);
//! 2. warm `alerter post` (process start to exit) vs `curl`;
//! 3. TCP connections an unanswered 6 s `alerter ask` opens, vs the requests it makes;
//! 4. the host library posting alerts (fresh instance per call), sequentially and 8 at a time,
//!    vs a native hyper client in this process with keep-alive (the host pools connections
//!    too); a native client opening a new connection per request is a second baseline;
//! 5. a library post's latency vs the native keep-alive client's when every response takes
//!    20 ms (the emulator's `latency_ms`);
//! 6. 429s received posting 500 alerts to 5 channels at Discord's limits through one library
//!    runtime, and the delivery time vs the floor those limits allow;
//! 7. CPU used by a 60 s `alerter ask` that nobody answers, vs its wall time;
//! 8. the size of the embedded component;
//! 9. peak RSS of `alerter post` (vs curl's);
//! 10. instantiate + call + drop: a call that fails before any I/O, vs a real post
//!     (informational).
//!
//! Prints a markdown table and rewrites docs/benchmarks.md above its `## Analysis` section.
//!
//! `./dev bench [--first-runs N] [--cli-runs N] [--conn-ask-seconds S] [--rounds R] [--alerts N]
//!  [--latency-posts N] [--latency-ms MS] [--load-alerts N] [--load-concurrency C]
//!  [--ask-seconds S] [--ask-runs K] [--inst-samples N] [--out PATH | --no-write]
//!  [--current-thread]`

mod ask;
mod child;
mod cli;
mod doc;
mod library;
mod limits;
mod native;
mod report;
mod size;
mod stats;

use std::path::PathBuf;
use std::time::Instant;

use alerter_emulator::{Emulator, Options};
use alerter_host::runtime::EMBEDDED_COMPONENT;

use crate::ask::{ask_connections, ask_cpu, start_asks, AskTarget};
use crate::child::first_line;
use crate::cli::{cli_section, Env};
use crate::doc::{document, workspace_root};
use crate::library::{instantiation, latency, library_ctx, throughput};
use crate::limits::load;
use crate::report::Report;
use crate::size::size;
use crate::stats::{arg, arg_str, flag};

fn main() {
    let first_runs = arg("--first-runs", 10) as usize;
    let cli_runs = arg("--cli-runs", 40) as usize;
    let conn_ask_seconds = arg("--conn-ask-seconds", 6);
    let rounds = arg("--rounds", 11) as usize;
    let alerts = arg("--alerts", 200) as usize;
    let latency_posts = arg("--latency-posts", 50) as usize;
    let latency_ms = arg("--latency-ms", 20);
    let load_alerts = arg("--load-alerts", 500) as usize;
    let load_concurrency = arg("--load-concurrency", 32).max(1) as usize;
    let ask_seconds = arg("--ask-seconds", 60);
    let ask_runs = arg("--ask-runs", 3) as usize;
    let inst_samples = arg("--inst-samples", 1000) as usize;
    let out = arg_str("--out").map_or_else(
        || workspace_root().join("docs/benchmarks.md"),
        PathBuf::from,
    );

    let env = bench_env();
    // The library in this process uses the same compile cache as the CLI's warm runs.
    std::env::set_var("ALERTER_CACHE_DIR", &env.cache);

    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let started_at = first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let bench_started = Instant::now();
    let mut report = Report::default();

    let cli = cli_section(&env, &mut report, first_runs, cli_runs);
    let ask_target = AskTarget::new(&env);
    ask_connections(&env, &ask_target, &mut report, conn_ask_seconds);

    // In-process rows. `--current-thread`: a diagnostic, everything in-process on one thread
    // instead of tokio's default multi-thread runtime (one worker per CPU).
    let tokio_rt = if flag("--current-thread") {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    }
    .enable_all()
    .build()
    .expect("tokio");
    // The limiter is off, but the emulator's `X-RateLimit-*` headers still describe buckets of
    // `bucket_limit` per window, and the host's pacer honours them: advertise buckets too large
    // to matter, so these rows measure the host, not the headers. (The host still paces a bot
    // to Discord's 50 requests per second of its own accord.)
    let emu = Emulator::start_background(Options {
        validate: false,
        bucket_limit: 1_000_000,
        global_limit: 1_000_000,
        ..Options::default()
    })
    .expect("emulator");
    let ctx = library_ctx(&tokio_rt, &emu, &env.home);
    let tp = throughput(&tokio_rt, &ctx, &mut report, rounds, alerts);
    instantiation(&tokio_rt, &ctx, &emu, &mut report, inst_samples, &tp);
    latency(
        &tokio_rt,
        &ctx,
        &emu,
        &mut report,
        latency_posts,
        latency_ms,
    );

    // The long asks wait while the load test runs.
    let polls_before = ask_target.polls();
    let asks = start_asks(&env, &ask_target, ask_runs, ask_seconds);
    load(
        &tokio_rt,
        &env.home,
        &mut report,
        load_alerts,
        load_concurrency,
    );
    ask_cpu(
        asks,
        &ask_target,
        polls_before,
        &mut report,
        ask_seconds,
        &cli,
    );
    size(&env, &mut report);

    let tbl = report.table();
    println!("\n{tbl}");
    let missed = report.missed();
    for m in &missed {
        println!("missed: {m}");
    }
    let elapsed = bench_started.elapsed();
    println!("bench took {:.0} s", elapsed.as_secs_f64());
    let _ = std::fs::remove_dir_all(&env.home);
    if flag("--no-write") {
        return;
    }
    let doc = document(&report, &env, &started_at, elapsed, &load_before, &out);
    if let Some(dir) = out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(&out, doc).expect("write docs/benchmarks.md");
    println!("wrote {}", out.display());
}

/// The paths the CLI sections use: the release `alerter`, curl, and a scratch home with the
/// embedded component written out as a file.
fn bench_env() -> Env {
    // `target/release/alerter`, next to this binary.
    let alerter_bin = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("alerter")))
        .filter(|p| p.is_file())
        .expect("target/release/alerter not built: run `cargo build --release -p alerter-host`");
    let curl = ["/usr/bin/curl", "/usr/local/bin/curl"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("curl not found (apt-get install -y curl)");
    let home = alerter_e2e::scratch("bench");
    let component_file = home.join("alerter_discord.wasm");
    std::fs::write(&component_file, EMBEDDED_COMPONENT).expect("write the component file");
    Env {
        alerter_bin,
        curl,
        cache: home.join("cache"),
        rss_file: home.join("maxrss.txt"),
        component_file,
        home,
    }
}
