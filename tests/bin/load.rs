//! Load test: N alerts (default 10,000) through the host library, with concurrency, against the
//! emulator with its rate limiter on and random transient faults injected while it runs
//! (5xx, Discord's 130000, 429s, dropped connections, responses lost after the message was
//! stored, slow answers). Passes only if exactly N messages arrive, none duplicated, and every
//! request was spec-valid. Reports throughput and p50/p99 latency per alert.
//!
//! The limiter defaults to Discord's documented pace: 5 message creates per 5 s per channel
//! and 50 requests per second in all. Besides the 429s, it reports the time against the floor
//! those limits allow (the last channel's last window).
//!
//! `./dev load [--alerts N] [--concurrency C] [--channels K] [--fault-percent P]
//!  [--bucket-limit N] [--bucket-window-ms MS] [--global-limit N]`

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use alerter_emulator::{Emulator, Fault, FaultKind, Options};
use alerter_host::config::{self, AlerterSpec};
use alerter_host::types::{Message, Params};
use alerter_host::{Runtime, SecretStore};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small xorshift generator: the load test needs variety, not cryptography.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn random_fault(rng: &mut Rng) -> Fault {
    let kind = match rng.next() % 8 {
        0 => FaultKind::Status {
            status: 500,
            code: None,
        },
        1 => FaultKind::Status {
            status: 502,
            code: None,
        },
        2 => FaultKind::Status {
            status: 503,
            code: Some(130_000),
        },
        3 => FaultKind::Status {
            status: 504,
            code: None,
        },
        4 => FaultKind::LoseResponse,
        5 => FaultKind::DropConnection,
        6 => FaultKind::RateLimited {
            retry_after: 0.05 + (rng.next() % 300) as f64 / 1000.0,
            global: rng.next().is_multiple_of(4),
        },
        _ => FaultKind::Delay {
            ms: 100 + rng.next() % 400,
        },
    };
    Fault {
        method: Some("POST".into()),
        path_contains: Some("/messages".into()),
        times: 1,
        kind,
    }
}

/// The run's shape, from the command line.
struct Load {
    alerts: usize,
    concurrency: usize,
    fault_percent: u64,
}

/// What the workers saw: per-alert latencies of the calls that worked, the failures, and the
/// faults injected (all, and the 429s among them).
struct Ran {
    latencies: Vec<std::time::Duration>,
    failures: Vec<String>,
    injected: usize,
    injected_429: usize,
}

#[tokio::main]
async fn main() {
    let load = Load {
        alerts: arg("--alerts", 500) as usize,
        concurrency: arg("--concurrency", 32) as usize,
        fault_percent: arg("--fault-percent", 2),
    };
    let channels_n = arg("--channels", 5).max(1) as usize;
    let bucket_limit = arg("--bucket-limit", 5).max(1) as u32;
    let bucket_window_ms = arg("--bucket-window-ms", 5_000).max(1);
    let global_limit = arg("--global-limit", 50).max(1) as u32;

    let emu = Emulator::start(Options {
        rate_limiter: true,
        bucket_limit,
        bucket_window_ms,
        global_limit,
        validate: true,
        ..Options::default()
    })
    .await
    .expect("emulator");
    let mut channels = vec![emu.default_channel_id()];
    while channels.len() < channels_n {
        channels.push(emu.add_channel(&format!("load-{}", channels.len())));
    }
    let spec = AlerterSpec {
        flavor: "discord".into(),
        discord_token: Some(emu.token()),
        api_base_url: Some(emu.base_url()),
        delivery_deadline_seconds: Some(60.0),
        ..AlerterSpec::default()
    };
    let home = std::env::temp_dir().join("alerter-load-home");
    let cfg = Arc::new(
        config::resolve(&spec, &SecretStore::new(&home), &|_| None)
            .expect("config")
            .call,
    );
    let runtime = Arc::new(Runtime::embedded().expect("component"));

    let (alerts, concurrency, fault_percent) = (load.alerts, load.concurrency, load.fault_percent);
    println!(
        "load: {alerts} alerts, concurrency {concurrency}, {channels_n} channels, limiter {bucket_limit} per {bucket_window_ms} ms per channel + {global_limit}/s global, a random transient fault on {fault_percent}% of alerts"
    );
    // The fastest the limits allow: the busiest channel's creates, `bucket_limit` per window,
    // the first window starting at once.
    let per_channel = alerts.div_ceil(channels_n) as u64;
    let floor_s = (per_channel
        .div_ceil(u64::from(bucket_limit))
        .saturating_sub(1)
        * bucket_window_ms)
        .max((alerts as u64).saturating_sub(1) * 1000 / u64::from(global_limit))
        as f64
        / 1000.0;
    let started = Instant::now();
    let ran = run(&load, &emu, &runtime, &cfg, &channels).await;
    let elapsed = started.elapsed();
    let ok = report(&load, &emu, &channels, ran, elapsed, floor_s);
    std::process::exit(if ok { 0 } else { 1 });
}

/// Post `load.alerts` alerts from `load.concurrency` workers, round-robin over `channels`,
/// queueing a random fault before about `load.fault_percent`% of them.
async fn run(
    load: &Load,
    emu: &Emulator,
    runtime: &Arc<Runtime>,
    cfg: &Arc<alerter_host::CallConfig>,
    channels: &[String],
) -> Ran {
    let (alerts, fault_percent) = (load.alerts, load.fault_percent);
    let injected = Arc::new(AtomicUsize::new(0));
    let injected_429 = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for worker in 0..load.concurrency as u64 {
        let (runtime, cfg, next, channels) = (
            runtime.clone(),
            cfg.clone(),
            next.clone(),
            channels.to_vec(),
        );
        let (emu, injected, injected_429) = (emu.clone(), injected.clone(), injected_429.clone());
        workers.push(tokio::spawn(async move {
            let mut rng =
                Rng(0x9E37_79B9_7F4A_7C15 ^ (worker + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
            let mut latencies = Vec::new();
            let mut failures = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= alerts {
                    break;
                }
                if rng.next() % 100 < fault_percent {
                    let f = random_fault(&mut rng);
                    if matches!(f.kind, FaultKind::RateLimited { .. }) {
                        injected_429.fetch_add(1, Ordering::Relaxed);
                    }
                    emu.push_fault(f);
                    injected.fetch_add(1, Ordering::Relaxed);
                }
                let params = Params {
                    channel_id: Some(channels[i % channels.len()].clone()),
                    ..Params::default()
                };
                let t = Instant::now();
                match runtime
                    .post(&cfg, &Message::Text(format!("load alert #{i}")), &params)
                    .await
                {
                    Ok(r) if r.message_ids.len() == 1 => latencies.push(t.elapsed()),
                    Ok(r) => failures.push(format!("#{i}: {} messages", r.message_ids.len())),
                    Err(e) => failures.push(format!("#{i}: {e}")),
                }
            }
            (latencies, failures)
        }));
    }
    let mut ran = Ran {
        latencies: Vec::new(),
        failures: Vec::new(),
        injected: 0,
        injected_429: 0,
    };
    for w in workers {
        let (l, f) = w.await.expect("worker");
        ran.latencies.extend(l);
        ran.failures.extend(f);
    }
    ran.injected = injected.load(Ordering::Relaxed);
    ran.injected_429 = injected_429.load(Ordering::Relaxed);
    ran
}

/// Count what arrived (every alert exactly once), print the figures, and say whether the
/// run passed.
fn report(
    load: &Load,
    emu: &Emulator,
    channels: &[String],
    mut ran: Ran,
    elapsed: std::time::Duration,
    floor_s: f64,
) -> bool {
    let alerts = load.alerts;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for c in channels {
        for m in emu.messages(c) {
            *seen
                .entry(m["content"].as_str().unwrap_or("").to_string())
                .or_default() += 1;
        }
    }
    let stored: usize = seen.values().sum();
    let duplicated = seen.values().filter(|&&n| n > 1).count();
    let missing = (0..alerts)
        .filter(|i| !seen.contains_key(&format!("load alert #{i}")))
        .count();
    let requests = emu.requests();
    let limited = requests.iter().filter(|r| r.status == 429).count();
    let violations = emu.violations();

    let latencies = &mut ran.latencies;
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "delivered {} of {alerts} in {:.1} s: {:.0} alerts/s",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency per alert: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        pct(1.0).as_secs_f64() * 1e3
    );
    println!(
        "requests {} for {stored} stored messages; {} faults injected; {limited} answered 429, {} of them from the limiter",
        requests.len(),
        ran.injected,
        limited.saturating_sub(ran.injected_429)
    );
    println!(
        "time {:.1} s against the limits' floor of {floor_s:.1} s: {:.2}x",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() / floor_s.max(0.001)
    );
    let failures = &ran.failures;
    println!("stored {stored}, missing {missing}, duplicated {duplicated}, failed calls {}, spec violations {}", failures.len(), violations.len());
    for f in failures.iter().take(5) {
        println!("  failure {f}");
    }
    for v in violations.iter().take(5) {
        println!("  violation {v}");
    }
    let ok = stored == alerts
        && missing == 0
        && duplicated == 0
        && failures.is_empty()
        && violations.is_empty();
    println!(
        "{}",
        if ok {
            "load test: PASS"
        } else {
            "load test: FAIL"
        }
    );
    ok
}
