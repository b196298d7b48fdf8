//! A hostile (or broken) server in front of Discord, under `alerter post`: every kind of bad
//! answer, once and then always. Once, the alert is still delivered exactly once; always, the
//! call ends within its delivery deadline in one clear error line with exit 3, never a panic
//! or a trap, and nothing is posted twice.

use std::time::{Duration, Instant};

use alerter_e2e::*;

/// The delivery deadline the "always" cases run under.
const DEADLINE_S: u64 = 3;

fn raw(
    status: u16,
    content_type: &str,
    headers: &[(&str, &str)],
    body: &str,
    process: bool,
) -> FaultKind {
    FaultKind::Raw {
        status,
        content_type: content_type.into(),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        body: body.into(),
        process,
    }
}

fn rate_limited(retry_after: &str) -> FaultKind {
    raw(
        429,
        "application/json",
        &[],
        &format!(
            r#"{{"message":"You are being rate limited.","retry_after":{retry_after},"global":false}}"#
        ),
        false,
    )
}

/// What one bad answer does when it comes once.
#[derive(Clone, Copy)]
enum Once {
    /// Retried, and delivered once.
    Recovers,
    /// Fails at once (a rate limit longer than the deadline, a 429 that is not Discord's,
    /// which is what a Cloudflare ban looks like and must not be retried into): exit 3,
    /// nothing posted.
    FailsFast,
    /// The one answer takes longer than the whole delivery deadline: exit 3 at the deadline,
    /// posted at most once.
    TimesOut,
}

/// Posts one alert with `kind` on its first `times` creates.
async fn post_through(
    tag: &str,
    kind: FaultKind,
    times: u32,
) -> (Emulator, std::process::Output, Duration) {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let home = scratch(tag);
    let cfg = config_with(
        &emu,
        &home,
        Some(&emu.token()),
        &format!("delivery_deadline_seconds = {DEADLINE_S}"),
    );
    let cfg = cfg.to_str().unwrap();
    // Warm the compile cache (a usage error sends nothing), so the timing is the call's.
    assert_exit(&run_async(&home, &["--config", cfg, "post"], None).await, 2);
    emu.push_fault(Fault {
        method: Some("POST".into()),
        path_contains: Some("/messages".into()),
        times,
        kind,
    });
    let started = Instant::now();
    let o = run_async(
        &home,
        &[
            "--config",
            cfg,
            "post",
            "--body",
            "through a hostile server",
        ],
        None,
    )
    .await;
    (emu, o, started.elapsed())
}

/// No panic, no trap, no token: the one error line is the guest's own typed error.
fn assert_clear_failure(o: &std::process::Output, token: &str) -> String {
    assert_exit(o, 3);
    let line = error_line(o);
    let all = format!("{}{}", stdout(o), stderr(o)).to_lowercase();
    for bad in [
        "panicked",
        "wasm trap",
        "backtrace",
        "unreachable",
        "sandbox",
    ] {
        assert!(!all.contains(bad), "{bad:?} in the output: {all}");
    }
    assert!(
        !all.contains(&token.to_lowercase()),
        "the token leaked: {all}"
    );
    line
}

async fn once(tag: &str, kind: FaultKind, expect: Once) {
    let (emu, o, took) = post_through(tag, kind, 1).await;
    let stored = emu.messages(&emu.default_channel_id());
    match expect {
        Once::Recovers => {
            assert_exit(&o, 0);
            assert_eq!(stored.len(), 1, "{stored:?}");
            assert_eq!(stored[0]["content"], "through a hostile server");
        }
        Once::FailsFast => {
            let line = assert_clear_failure(&o, &emu.token());
            assert!(line.contains("rate limited"), "{line}");
            assert!(took < Duration::from_secs(2), "took {took:?}");
            assert!(stored.is_empty(), "{stored:?}");
        }
        Once::TimesOut => {
            let line = assert_clear_failure(&o, &emu.token());
            assert!(line.contains("timeout"), "{line}");
            assert!(took < Duration::from_secs(DEADLINE_S + 3), "took {took:?}");
            assert!(stored.len() <= 1, "{stored:?}");
        }
    }
    assert_clean(&emu, &emu.token());
}

async fn always(tag: &str, kind: FaultKind) {
    let (emu, o, took) = post_through(tag, kind, 1_000).await;
    let line = assert_clear_failure(&o, &emu.token());
    eprintln!(
        "{tag}: {line} ({} requests, {took:?})",
        message_posts(&emu).len()
    );
    // The deadline, plus what a last request in flight may take to be cut and reported.
    assert!(
        took < Duration::from_secs(DEADLINE_S + 3),
        "took {took:?} with a {DEADLINE_S} s delivery deadline"
    );
    let stored = emu.messages(&emu.default_channel_id());
    assert!(stored.len() <= 1, "posted {} times", stored.len());
    assert!(
        message_posts(&emu).len() <= 60,
        "{} requests in {DEADLINE_S} s: a retry storm",
        message_posts(&emu).len()
    );
    assert_clean(&emu, &emu.token());
}

/// One test per bad answer and mode: `once::NAME` and `always::NAME`.
macro_rules! matrix {
    ($($name:ident: $kind:expr, $once:expr;)*) => {
        mod once {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    super::once(concat!("once-", stringify!($name)), $kind, $once).await;
                }
            )*
        }
        mod always {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    super::always(concat!("always-", stringify!($name)), $kind).await;
                }
            )*
        }
    };
}

matrix! {
    // The message is stored, the answer cannot be parsed: the retry's nonce finds it.
    malformed_json: FaultKind::MalformedJson, Once::Recovers;
    // Stored, and answered with the right shape but wrong types.
    wrong_types: raw(200, "application/json", &[], r#"{"id":5,"channel_id":[],"content":null}"#, true), Once::Recovers;
    // A 200 from something that is not Discord (a captive portal, a proxy's error page).
    html_page: raw(200, "text/html", &[], "<!DOCTYPE html><html><body>Welcome to the hotel Wi-Fi</body></html>", false), Once::Recovers;
    huge_body: FaultKind::Oversized { bytes: 40 << 20 }, Once::Recovers;
    endless_body: FaultKind::EndlessBody, Once::Recovers;
    // Stored, then answered one byte every 50 ms: the whole answer would take half a minute,
    // more than the deadline (with the default 30 s one, the retry after 15 s finds it).
    slow_loris: FaultKind::SlowBody { byte_every_ms: 50 }, Once::TimesOut;
    negative_retry_after: rate_limited("-5"), Once::Recovers;
    // Not JSON, so not Discord's own 429.
    nan_retry_after: rate_limited("NaN"), Once::FailsFast;
    absurd_retry_after: rate_limited("1e9"), Once::FailsFast;
    absurd_retry_after_header: raw(429, "application/json", &[("retry-after", "1000000000")], "{}", false), Once::FailsFast;
    // A 429 with nothing to say how long: no headers, an empty body.
    bare_429: raw(429, "text/plain", &[], "", false), Once::FailsFast;
    // A 5xx with no body and no headers.
    bare_503: raw(503, "text/plain", &[], "", false), Once::Recovers;
}
