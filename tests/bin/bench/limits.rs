//! Row 6: posting through one runtime at Discord's rate limits: 429s, and the delivery time
//! against the floor those limits allow.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use alerter_emulator::{Emulator, Options};
use alerter_host::config::{self, AlerterSpec};
use alerter_host::runtime::CallConfig;
use alerter_host::types::{Message, Params};
use alerter_host::{Runtime, SecretStore};

use crate::report::{Check, Goal, Report, Row};
use crate::stats::{median, pct};

/// Discord's documented pace, as the emulator's limiter enforces it.
pub const BUCKET_LIMIT: u32 = 5;
pub const BUCKET_WINDOW_MS: u64 = 5_000;
pub const GLOBAL_LIMIT: u32 = 50;
pub const LOAD_CHANNELS: usize = 5;

/// The fastest `alerts` creates spread evenly over `channels` can go: the busiest channel's
/// `BUCKET_LIMIT` per window, the first window starting at once, or the global limit
/// (as tests/bin/load.rs computes it).
pub fn limits_floor_s(alerts: usize, channels: usize) -> f64 {
    let per_channel = alerts.div_ceil(channels) as u64;
    let by_bucket = per_channel
        .div_ceil(u64::from(BUCKET_LIMIT))
        .saturating_sub(1)
        * BUCKET_WINDOW_MS;
    let by_global = (alerts as u64).saturating_sub(1) * 1000 / u64::from(GLOBAL_LIMIT);
    by_bucket.max(by_global) as f64 / 1000.0
}

/// Row 6: `alerts` posts round-robin over 5 channels through one runtime, `concurrency` at a
/// time, against the emulator's rate limiter at Discord's limits: 429s and time vs the floor.
pub fn load(
    tokio_rt: &tokio::runtime::Runtime,
    home: &Path,
    report: &mut Report,
    alerts: usize,
    concurrency: usize,
) {
    let emu = Emulator::start_background(Options {
        rate_limiter: true,
        bucket_limit: BUCKET_LIMIT,
        bucket_window_ms: BUCKET_WINDOW_MS,
        global_limit: GLOBAL_LIMIT,
        validate: false,
        ..Options::default()
    })
    .expect("emulator");
    let mut channels = vec![emu.default_channel_id()];
    while channels.len() < LOAD_CHANNELS {
        channels.push(emu.add_channel(&format!("load-{}", channels.len())));
    }
    let spec = AlerterSpec {
        flavor: "discord".into(),
        discord_token: Some(emu.token()),
        api_base_url: Some(emu.base_url()),
        delivery_deadline_seconds: Some(60.0),
        ..AlerterSpec::default()
    };
    let cfg = Arc::new(
        config::resolve(&spec, &SecretStore::new(home), &|_| None)
            .expect("config")
            .call,
    );
    let runtime = Arc::new(Runtime::embedded().expect("component"));
    let channels = Arc::new(channels);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let (latencies, failures) = deliver(
        tokio_rt,
        &runtime,
        &cfg,
        &channels,
        &next,
        alerts,
        concurrency,
    );
    let elapsed = started.elapsed().as_secs_f64();
    runtime.take_guest_log();
    let requests = emu.requests();
    let limited = requests.iter().filter(|r| r.status == 429).count();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for c in channels.iter() {
        for m in emu.messages(c) {
            *seen
                .entry(m["content"].as_str().unwrap_or("").to_string())
                .or_default() += 1;
        }
    }
    let stored: usize = seen.values().sum();
    let duplicated = seen.values().filter(|&&n| n > 1).count();
    let floor = limits_floor_s(alerts, LOAD_CHANNELS);
    let ratio = elapsed / floor.max(0.001);
    report.add(Row {
        key: (6, 0),
        what: format!("6. 429s posting {alerts} alerts to {LOAD_CHANNELS} channels at Discord's limits, one runtime"),
        value: format!("{limited}"),
        baseline: format!("requests sent: {}", requests.len()),
        ratio: format!("{:.1}% of requests", 100.0 * limited as f64 / requests.len().max(1) as f64),
        goal: Some(Check::new("429s at Discord's limits", Goal::AtMost(0.0), limited as f64, "", 0)),
        info: "",
    });
    report.add(Row {
        key: (6, 1),
        what: format!("6. time to deliver those {alerts} alerts"),
        value: format!("{elapsed:.1} s"),
        baseline: format!("the limits' floor: {floor:.1} s"),
        ratio: format!("{ratio:.3}x"),
        goal: Some(
            Check::new(
                "delivery time at Discord's limits / the limits' floor",
                Goal::AtMost(1.1),
                ratio,
                "x",
                3,
            )
            .extra(format!(
                " ({:.1} s over 1.1 × {floor:.1} s)",
                elapsed - 1.1 * floor
            )),
        ),
        info: "",
    });
    report.detail(6, "### 6. At Discord's rate limits\n");
    report.detail(
        6,
        format!("- {alerts} alerts round-robin over {LOAD_CHANNELS} channels, {concurrency} workers, one `Runtime` (whose pacer shares what Discord's answers say about the buckets), against the emulator's limiter: {BUCKET_LIMIT} creates per {BUCKET_WINDOW_MS} ms per channel and {GLOBAL_LIMIT} requests per second in all. No faults injected."),
    );
    report.detail(
        6,
        format!("- delivered {} of {alerts} ({stored} stored, {duplicated} duplicated, {} failed calls) in {elapsed:.1} s; {} requests, {limited} answered 429; {} TCP connections (`Runtime::connections_opened()`).", latencies.len(), failures.len(), requests.len(), runtime.connections_opened()),
    );
    for f in failures.iter().take(3) {
        report.detail(6, format!("  - failure {f}"));
    }
    report.detail(
        6,
        format!("- latency per alert (queueing behind the limits included): median {:.2} s, p99 {:.2} s, max {:.2} s.", median(&latencies), pct(&latencies, 99.0), pct(&latencies, 100.0)),
    );
    report.detail(
        6,
        format!("- the floor: the busiest channel's {} creates at {BUCKET_LIMIT} per window, the first window at once: {floor:.1} s.\n", alerts.div_ceil(LOAD_CHANNELS)),
    );
    report.method(6, "Row 6: like `./dev load` (tests/bin/load.rs) without its faults: an emulator with its rate limiter on at Discord's documented limits; 429s are the responses it recorded with status 429; the floor is the time those limits allow at best.");
    println!("load: {alerts} alerts in {elapsed:.1} s against a floor of {floor:.1} s ({ratio:.3}x); {limited} 429s of {} requests", requests.len());
}

/// Row 6's posts: `concurrency` workers take the next of `alerts` until none is left, each to
/// the next channel round-robin; returns the latencies (s) of the delivered ones and the
/// failures.
fn deliver(
    tokio_rt: &tokio::runtime::Runtime,
    runtime: &Arc<Runtime>,
    cfg: &Arc<CallConfig>,
    channels: &Arc<Vec<String>>,
    next: &Arc<AtomicUsize>,
    alerts: usize,
    concurrency: usize,
) -> (Vec<f64>, Vec<String>) {
    tokio_rt.block_on(async {
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let (runtime, cfg, next, channels) =
                    (runtime.clone(), cfg.clone(), next.clone(), channels.clone());
                tokio::spawn(async move {
                    let (mut lat, mut failed) = (Vec::new(), Vec::new());
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= alerts {
                            break (lat, failed);
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
                            Ok(r) if r.message_ids.len() == 1 => {
                                lat.push(t.elapsed().as_secs_f64());
                            }
                            other => failed.push(format!("#{i}: {other:?}")),
                        }
                    }
                })
            })
            .collect();
        let (mut lat, mut failed) = (Vec::new(), Vec::new());
        for w in workers {
            let (l, f) = w.await.expect("load worker");
            lat.extend(l);
            failed.extend(f);
        }
        (lat, failed)
    })
}
