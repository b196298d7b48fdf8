//! Rows 4, 5 and 10: the host library's throughput and latency against a native client, and
//! what instantiating per call costs.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use alerter_emulator::Emulator;
use alerter_host::runtime::CallConfig;
use alerter_host::types::{AlertError, Message, Params};
use alerter_host::{CallError, Runtime};

use crate::native::{connect, last_create, native_post, round, Ctx, Mode, Template};
use crate::report::{Check, Goal, Report, Row};
use crate::stats::{median, ms, pct, spread, us};

/// A library runtime posting to an emulator of its own, and the request it sends, recorded
/// for the native client to replay.
pub fn library_ctx(tokio_rt: &tokio::runtime::Runtime, emu: &Emulator, home: &Path) -> Arc<Ctx> {
    let cfg = alerter_e2e::resolve_call(&alerter_e2e::spec_for(emu), home);
    let runtime = Runtime::embedded().expect("component");
    tokio_rt.block_on(async {
        runtime
            .post(
                &cfg,
                &Message::Text("bench alert".into()),
                &Params::default(),
            )
            .await
            .expect("library post");
    });
    Arc::new(Ctx {
        runtime,
        cfg,
        template: Template::from_recorded(&last_create(emu), emu.addr().to_string()),
        nonce: AtomicU64::new(1 << 32),
    })
}

/// What row 10 quotes from row 4.
pub struct ThroughputFigures {
    /// Median latency of a sequential native keep-alive post, µs.
    pub keep_alive_us: f64,
}

/// Row 4: throughput, rounds alternating library / native keep-alive / native new-connection,
/// sequentially and with 8 workers.
pub fn throughput(
    tokio_rt: &tokio::runtime::Runtime,
    ctx: &Arc<Ctx>,
    report: &mut Report,
    rounds: usize,
    alerts: usize,
) -> ThroughputFigures {
    const MODES: [(Mode, &str); 3] = [
        (Mode::Library, "library"),
        (Mode::NativeKeepAlive, "native keep-alive"),
        (Mode::NativeNew, "native new-connection"),
    ];
    let mut tput: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); 3]; 2]; // [concurrency][mode]
    let mut seq_lat: Vec<Vec<f64>> = vec![Vec::new(); 3];
    let conns_before = ctx.runtime.connections_opened();
    tokio_rt.block_on(async {
        for (m, _) in MODES {
            round(ctx, m, 50, 1).await;
            round(ctx, m, 50, 8).await;
        }
        for _ in 0..rounds {
            for (ci, conc) in [1usize, 8].into_iter().enumerate() {
                for (mi, (m, _)) in MODES.into_iter().enumerate() {
                    let (el, lat) = round(ctx, m, alerts, conc).await;
                    tput[ci][mi].push(alerts as f64 / el.as_secs_f64());
                    if conc == 1 {
                        seq_lat[mi].extend(lat.iter().map(|d| us(*d)));
                    }
                }
            }
        }
    });
    let lib_posts = (rounds * alerts + 50) * 2;
    let lib_conns = ctx.runtime.connections_opened() - conns_before;
    report.detail(4, "### 4. Library throughput vs a native client\n");
    report.detail(
        4,
        format!("- {rounds} rounds; each round runs, in this order, {alerts} alerts sequentially through the library, the native client with keep-alive (one connection per worker), the native client with a new connection per request, then the same three with 8 concurrent workers. The rate of a round is alerts / round time; the table shows the median over rounds."),
    );
    report.detail(
        4,
        format!("- the library opened {lib_conns} TCP connections for its {lib_posts} posts here (`Runtime::connections_opened()`)."),
    );
    for (ci, label) in ["sequential", "concurrency 8"].into_iter().enumerate() {
        let [lib, ka, new] = [0, 1, 2].map(|mi| median(&tput[ci][mi]));
        let r = lib / ka;
        report.add(Row {
            key: (4, 2 * ci as u8),
            what: format!("4. library throughput, {label} (median of {rounds} rounds × {alerts})"),
            value: format!("{lib:.0} alerts/s"),
            baseline: format!("native hyper, keep-alive: {ka:.0}/s"),
            ratio: format!("{r:.2}x"),
            goal: Some(
                Check::new(
                    format!("library throughput ({label}) / native keep-alive"),
                    Goal::AtLeast(0.5),
                    r,
                    "x",
                    2,
                )
                .extra(format!(
                    " ({:.0} alerts/s short of 0.5 × {ka:.0})",
                    0.5 * ka - lib
                )),
            ),
            info: "",
        });
        report.add(Row {
            key: (4, 2 * ci as u8 + 1),
            what: format!("4. library throughput, {label}, vs a new connection per request"),
            value: format!("{lib:.0} alerts/s"),
            baseline: format!("native hyper, new conn per request: {new:.0}/s"),
            ratio: format!("{:.2}x", lib / new),
            goal: None,
            info: "— (second baseline)",
        });
        for (mi, (_, name)) in MODES.into_iter().enumerate() {
            let v = &tput[ci][mi];
            report.detail(
                4,
                format!(
                    "- {label}, {name}: median {:.0} alerts/s (min {:.0}, max {:.0})",
                    median(v),
                    pct(v, 0.0),
                    pct(v, 100.0)
                ),
            );
        }
    }
    for (mi, (_, name)) in MODES.into_iter().enumerate() {
        let v = &seq_lat[mi];
        report.detail(
            4,
            format!(
                "- latency per call, sequential, {name}: median {:.0} µs, p99 {:.0} µs ({} calls)",
                median(v),
                pct(v, 99.0),
                v.len()
            ),
        );
    }
    report.detail(4, "");
    report.method(4, "Rows 4, 5, 10: `Runtime::post` (one fresh store and instance per call, pooling allocator; the host pools connections per origin) against a hyper 1 HTTP/1.1 client in the same tokio runtime (2 worker threads) sending the same request (headers and body the component sent, fresh nonce) and reading the whole response and the message id. The goal's baseline keeps one connection per worker alive; a client opening a new TCP connection per request (plain connect, no `TCP_NODELAY`, default http1 handshake: what the host did before it pooled) is a second baseline. Ratios are ratios of medians.");
    println!(
        "throughput: sequential {:.0} vs {:.0} (keep-alive) vs {:.0} (new); c8 {:.0} vs {:.0} vs {:.0} alerts/s; {lib_conns} connections",
        median(&tput[0][0]),
        median(&tput[0][1]),
        median(&tput[0][2]),
        median(&tput[1][0]),
        median(&tput[1][1]),
        median(&tput[1][2])
    );
    ThroughputFigures {
        keep_alive_us: median(&seq_lat[1]),
    }
}

/// Row 5: sequential posts, library and native keep-alive alternating, while every response
/// of the emulator takes `latency_ms`.
pub fn latency(
    tokio_rt: &tokio::runtime::Runtime,
    ctx: &Arc<Ctx>,
    emu: &Emulator,
    report: &mut Report,
    posts: usize,
    latency_ms: u64,
) {
    let message = Message::Text("bench alert".into());
    emu.set_latency_ms(latency_ms);
    let (mut lib, mut native) = (Vec::new(), Vec::new());
    let conns_before = ctx.runtime.connections_opened();
    tokio_rt.block_on(async {
        let mut sender = connect(&ctx.template.authority).await;
        for i in 0..posts + 3 {
            let t = Instant::now();
            let r = ctx
                .runtime
                .post(&ctx.cfg, &message, &Params::default())
                .await;
            let d = t.elapsed();
            assert!(
                matches!(&r, Ok(r) if r.message_ids.len() == 1),
                "library post: {r:?}"
            );
            let nonce = ctx.nonce.fetch_add(1, Ordering::Relaxed);
            let t = Instant::now();
            native_post(&mut sender, &ctx.template, nonce).await;
            // The first three of each are warm-up.
            if i >= 3 {
                lib.push(ms(d));
                native.push(ms(t.elapsed()));
            }
        }
        ctx.runtime.take_guest_log();
    });
    emu.set_latency_ms(0);
    let conns = ctx.runtime.connections_opened() - conns_before;
    let (l, n) = (median(&lib), median(&native));
    let r = n / l;
    report.add(Row {
        key: (5, 0),
        what: format!(
            "5. post latency with {latency_ms} ms per response, sequential (median of {posts})"
        ),
        value: format!("library {l:.2} ms"),
        baseline: format!("native hyper, keep-alive: {n:.2} ms"),
        ratio: format!("{r:.3}x (native / library)"),
        goal: Some(
            Check::new(
                "post latency, native / library, 20 ms per response",
                Goal::AtLeast(0.95),
                r,
                "x",
                3,
            )
            .extra(format!(
                " ({:.2} ms more per post than the {:.2} ms the goal allows)",
                l - n / 0.95,
                n / 0.95
            )),
        ),
        info: "",
    });
    report.detail(
        5,
        format!("### 5. Latency with {latency_ms} ms per response\n"),
    );
    report.detail(
        5,
        format!("- {posts} pairs (after 3 warm-up pairs), alternating a library post and a native keep-alive post (one connection for the whole row), with the emulator's `latency_ms` = {latency_ms}; the library opened {conns} new connection(s) in this row."),
    );
    report.detail(
        5,
        format!(
            "- library: {}, p99 {:.2} ms",
            spread(&lib, 2, "ms"),
            pct(&lib, 99.0)
        ),
    );
    report.detail(
        5,
        format!(
            "- native keep-alive: {}, p99 {:.2} ms",
            spread(&native, 2, "ms"),
            pct(&native, 99.0)
        ),
    );
    report.detail(
        5,
        format!(
            "- the library adds {:.2} ms per post (difference of medians).\n",
            l - n
        ),
    );
    report.method(5, format!("Row 5: the same runtime and emulator as row 4 with `Emulator::set_latency_ms({latency_ms})`: every API response waits {latency_ms} ms before its head, like a client far from Discord's edge. The ratio is native median / library median, so ≥ 0.95x means the library is at most ~5% slower."));
    println!("latency: library {l:.2} ms, native {n:.2} ms: {r:.3}x");
}

/// Row 10: a call that fails inside the component before any I/O, a denied post and a real
/// post, interleaved.
pub fn instantiation(
    tokio_rt: &tokio::runtime::Runtime,
    ctx: &Arc<Ctx>,
    emu: &Emulator,
    report: &mut Report,
    samples: usize,
    tp: &ThroughputFigures,
) {
    let message = Message::Text("bench alert".into());
    let bad = Params {
        channel_id: Some("x".into()),
        ..Params::default()
    };
    // For the breakdown: the same post with the egress policy allowing nothing, so the call
    // renders the message and builds the whole wasi:http request, which the host then denies.
    let mut deny_all = (*ctx.cfg.policy).clone();
    deny_all.allowed_origins.clear();
    let denied_cfg = CallConfig {
        policy: Arc::new(deny_all),
        ..ctx.cfg.clone()
    };
    let before = emu.requests().len();
    let (mut fail_us, mut denied_us, mut real_us) = (Vec::new(), Vec::new(), Vec::new());
    let mut denied_err = String::new();
    tokio_rt.block_on(async {
        for i in 0..samples + 50 {
            let t = Instant::now();
            let r = ctx.runtime.post(&ctx.cfg, &message, &bad).await;
            let d = t.elapsed();
            assert!(
                matches!(r, Err(CallError::Alert(AlertError::InvalidInput(_)))),
                "the fail-fast call should be InvalidInput: {r:?}"
            );
            let t = Instant::now();
            let r = ctx
                .runtime
                .post(&denied_cfg, &message, &Params::default())
                .await;
            let d3 = t.elapsed();
            match r {
                Err(CallError::Alert(e)) => denied_err = format!("{e:?}"),
                other => panic!("the denied post should fail in the component: {other:?}"),
            }
            let t = Instant::now();
            ctx.runtime
                .post(&ctx.cfg, &message, &Params::default())
                .await
                .expect("real post");
            let d2 = t.elapsed();
            if i >= 50 {
                fail_us.push(us(d));
                denied_us.push(us(d3));
                real_us.push(us(d2));
            }
            if i % 100 == 0 {
                ctx.runtime.take_guest_log();
            }
        }
        ctx.runtime.take_guest_log();
    });
    let requests_made = emu.requests().len() - before;
    assert_eq!(
        requests_made,
        samples + 50,
        "the fail-fast call must not reach the network"
    );
    let (f_med, f_p99, r_med, d_med) = (
        median(&fail_us),
        pct(&fail_us, 99.0),
        median(&real_us),
        median(&denied_us),
    );
    report.add(Row {
        key: (10, 0),
        what: format!("10. instantiate + call + drop (call fails before I/O), median of {samples}"),
        value: format!("{f_med:.0} µs (p99 {f_p99:.0} µs)"),
        baseline: format!("real post through the library: {r_med:.0} µs"),
        ratio: format!("{:.0}% of a post", 100.0 * f_med / r_med),
        goal: None,
        info: "— (informational)",
    });
    report.detail(10, "### 10. Instantiation per call\n");
    report.detail(
        10,
        format!("- {samples} triples (after 50 warm-up triples): `post` with channel id `x` (the component returns `invalid-input` before any request: the emulator saw only the real posts' {requests_made} requests), a denied post (below), then a real `post`, sequential on one runtime."),
    );
    report.detail(
        10,
        format!("- fail-fast call: median {f_med:.1} µs, p99 {f_p99:.1} µs, min {:.1} µs; real post: median {r_med:.1} µs, p99 {:.1} µs.", pct(&fail_us, 0.0), pct(&real_us, 99.0)),
    );
    report.detail(
        10,
        format!("- breakdown (second call of each triple: the same post with an egress policy that allows nothing, so the component renders the message and builds the wasi:http request, and the host's hook denies it; the component answers `{}`): median {d_med:.1} µs.", denied_err.split('(').next().unwrap_or("")),
    );
    report.detail(
        10,
        format!("- so a real post's {r_med:.0} µs split roughly: instantiate + config/secret + drop {f_med:.0} µs; rendering + building the request {:.0} µs; sending it over a pooled connection and reading the answer {:.0} µs, against {:.0} µs for the native keep-alive client doing the same exchange (row 4's sequential median).\n", (d_med - f_med).max(0.0), (r_med - d_med).max(0.0), tp.keep_alive_us),
    );
    report.method(10, "Row 10: the same runtime; a `post` with channel id `x` fails inside the component (`invalid-input`) before any I/O, so its time is instantiate (InstancePre + pooling) + reading config and secret + the call + dropping the store. Interleaved with real posts; medians and nearest-rank p99.");
    println!("instantiation: {f_med:.0} µs median, p99 {f_p99:.0} µs; real post {r_med:.0} µs");
}
