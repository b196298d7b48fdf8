//! The sandbox policy's rules, each checked on its own: origins, the allow-list, redaction of
//! what is logged, fuel arithmetic, call bounds, and the egress hook's decisions and bounds.

use super::*;

#[test]
fn webhook_tokens_are_found_and_hidden() {
    let url = "https://discord.com/api/webhooks/123456789012345678/abc-DEF_ghi?wait=true";
    assert_eq!(webhook_token(url), Some("abc-DEF_ghi"));
    assert_eq!(
        redact_webhook(url),
        "https://discord.com/api/webhooks/123456789012345678/***?wait=true"
    );
    assert_eq!(webhook_token("https://discord.com/api/v10/users/@me"), None);
    let uri: http::Uri = url.parse().unwrap();
    assert_eq!(
        redact_uri(&uri),
        "https://discord.com/api/webhooks/123456789012345678/***"
    );
}

#[test]
fn allows_only_the_api_base_host_and_port() {
    let p = Policy::for_api_base("https://discord.com/api/v10").unwrap();
    assert!(p.allows(&"https://discord.com/api/v10/users/@me".parse().unwrap()));
    assert!(p.allows(&"https://DISCORD.com:443/x".parse().unwrap()));
    assert!(!p.allows(&"https://discord.com:8443/x".parse().unwrap()));
    assert!(!p.allows(&"http://discord.com/x".parse().unwrap()));
    assert!(
        !p.allows(&"http://discord.com:443/x".parse().unwrap()),
        "plain HTTP to the TLS port would send the token unencrypted"
    );
    assert!(!p.allows(&"https://evil.example/x".parse().unwrap()));
    assert!(!p.allows(&"https://discord.com.evil.example/x".parse().unwrap()));
    assert!(!p.allows(&"/relative".parse().unwrap()));
}

#[test]
fn plain_http_is_refused_except_to_loopback() {
    for ok in [
        "http://127.0.0.1:5000/api/v10",
        "http://127.8.9.10/",
        "http://localhost:8765/api/v10",
        "http://[::1]:8765/api/v10",
        "https://discord.com/api/v10",
    ] {
        assert!(Policy::for_api_base(ok).is_ok(), "{ok}");
    }
    for bad in [
        "http://discord.com/api/v10",
        "http://10.0.0.5:8080/",
        "HTTP://proxy.example/",
    ] {
        let e = Policy::for_api_base(bad).unwrap_err();
        assert!(
            e.contains("unencrypted") && e.contains("https://"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn urls_with_user_info_are_refused_without_echoing_it() {
    for bad in [
        "https://user:hunter2@discord.com/api/v10",
        "https://evil.example@discord.com/",
        "http://x@127.0.0.1:5000/",
    ] {
        let e = Policy::for_api_base(bad).unwrap_err();
        assert!(e.contains("user name or password"), "{bad}: {e}");
        assert!(!e.contains("hunter2") && !e.contains("evil.example"), "{e}");
    }
    let mut p = Policy::default();
    assert!(p.allow_url("https://a:b@hooks.example.com/").is_err());
    assert!(p.allowed_origins.is_empty());
}

#[test]
fn denied_requests_are_logged_without_user_info_or_query() {
    let uri: http::Uri = "https://user:pw@evil.example:8443/x?token=abc"
        .parse()
        .unwrap();
    assert_eq!(redact_uri(&uri), "https://evil.example:8443/x");
}

#[test]
fn loopback_base_allows_that_port_only() {
    let mut p = Policy::for_api_base("http://127.0.0.1:5000/api/v10").unwrap();
    assert!(p.allows(&"http://127.0.0.1:5000/api/v10/x".parse().unwrap()));
    assert!(!p.allows(&"http://127.0.0.1:5001/".parse().unwrap()));
    assert!(!p.allows(&"https://127.0.0.1:5000/".parse().unwrap()));
    p.allow_url("https://hooks.example.com").unwrap();
    assert!(p.allows(&"https://hooks.example.com/a".parse().unwrap()));
    assert!(p.allow_url("ftp://x").is_err());
}

#[test]
fn waiting_earns_fuel_back_up_to_the_budget() {
    let p = Policy {
        cpu_budget: Duration::from_millis(50),
        cpu_refill: Duration::from_millis(100),
        ..Policy::default()
    };
    assert_eq!(p.fuel_earned(Duration::from_secs(1)), 100 * FUEL_PER_MS);
    assert_eq!(p.fuel_earned(Duration::from_millis(10)), FUEL_PER_MS);
    assert_eq!(p.fuel_earned(MIN_EARNING_WAIT), FUEL_PER_MS / 10);
    assert_eq!(
        p.fuel_earned(Duration::from_micros(999)),
        0,
        "a short host call is work, not a wait"
    );
    assert_eq!(p.refilled(10, 20), 30);
    assert_eq!(
        p.refilled(40 * FUEL_PER_MS, 20 * FUEL_PER_MS),
        50 * FUEL_PER_MS
    );
    let none = Policy {
        cpu_refill: Duration::ZERO,
        ..p
    };
    assert_eq!(none.fuel_earned(Duration::from_secs(3600)), 0);
}

#[test]
fn host_work_is_charged_and_only_blocked_time_earns() {
    let p = Policy {
        cpu_budget: Duration::from_millis(50),
        cpu_refill: Duration::from_millis(100),
        ..Policy::default()
    };
    let full = p.cpu_fuel();
    let ms = Duration::from_millis;
    // 20 ms of host work (a 16 MiB random fill) costs 20 ms of budget and earns nothing.
    assert_eq!(
        p.fuel_after_host_call(full, ms(20), ms(0)),
        full - 20 * FUEL_PER_MS
    );
    // A second of sleeping earns 100 ms, capped at the 50 ms budget.
    assert_eq!(
        p.fuel_after_host_call(10 * FUEL_PER_MS, ms(0), ms(1000)),
        full
    );
    // Work and wait in one call: charged first, then earned.
    assert_eq!(
        p.fuel_after_host_call(10 * FUEL_PER_MS, ms(5), ms(100)),
        15 * FUEL_PER_MS
    );
    assert_eq!(
        p.fuel_after_host_call(FUEL_PER_MS, ms(30), ms(0)),
        0,
        "spent"
    );
    let none = Policy {
        cpu_refill: Duration::ZERO,
        ..p
    };
    assert_eq!(
        none.fuel_after_host_call(full, ms(1), ms(3_600_000)),
        full - FUEL_PER_MS
    );
}

#[test]
fn call_bounds_add_a_delivery_per_step_and_the_slack() {
    let p = Policy {
        slack: Duration::from_secs(10),
        ..Policy::default()
    };
    let d = Duration::from_secs(30);
    assert_eq!(p.call_bound(Duration::ZERO, 1, d), Duration::from_secs(40));
    assert_eq!(
        p.call_bound(Duration::from_secs(600), 3, d),
        Duration::from_secs(700)
    );
    assert_eq!(p.call_bound(Duration::MAX, 3, d), Duration::MAX);
}

#[test]
fn cpu_budget_as_fuel() {
    let p = Policy {
        cpu_budget: Duration::from_millis(250),
        ..Policy::default()
    };
    assert_eq!(p.cpu_fuel(), 250 * FUEL_PER_MS);
}

#[test]
fn the_hook_denies_and_records_or_caps_the_timeouts() {
    let hooks = EgressHooks {
        policy: Arc::new(Policy {
            max_request_timeout: Duration::from_secs(30),
            ..Policy::for_api_base("https://discord.com/api/v10").unwrap()
        }),
        denied: Arc::default(),
        in_flight: Arc::default(),
        net: Arc::default(),
    };
    let get = http::Method::GET;
    let evil: http::Uri = "https://evil.example/x?token=abc".parse().unwrap();
    assert!(hooks.admit(&get, &evil, None).is_none());
    assert_eq!(
        hooks.denied.lock().unwrap().first,
        ["GET https://evil.example/x"],
        "recorded without the query"
    );
    let ok: http::Uri = "https://discord.com/api/v10/users/@me".parse().unwrap();
    let asked = RequestOptions {
        connect_timeout: Some(Duration::from_secs(5)),
        first_byte_timeout: Some(Duration::from_secs(600)),
        between_bytes_timeout: None,
    };
    let (origin, o) = hooks.admit(&get, &ok, Some(asked)).expect("allowed");
    assert_eq!(origin, "https://discord.com:443");
    assert_eq!(o.connect_timeout, Some(Duration::from_secs(5)));
    assert_eq!(o.first_byte_timeout, Some(Duration::from_secs(30)));
    assert_eq!(o.between_bytes_timeout, Some(Duration::from_secs(30)));
    let (_, o) = hooks.admit(&get, &ok, None).expect("allowed");
    assert_eq!(o.connect_timeout, Some(Duration::from_secs(30)));
    assert_eq!(
        *hooks.denied.lock().unwrap(),
        Denials {
            first: vec!["GET https://evil.example/x".into()],
            more: 0
        },
        "allowed requests are not recorded"
    );
}

#[test]
fn denials_past_the_first_few_are_counted_not_kept() {
    let hooks = EgressHooks {
        policy: Arc::new(Policy::for_api_base("https://discord.com/api/v10").unwrap()),
        denied: Arc::default(),
        in_flight: Arc::default(),
        net: Arc::default(),
    };
    let long: http::Uri = format!("https://x.invalid/{}", "a".repeat(60 << 10))
        .parse()
        .unwrap();
    for _ in 0..10_000 {
        assert!(hooks.admit(&http::Method::GET, &long, None).is_none());
    }
    let d = hooks.denied.lock().unwrap().clone();
    assert_eq!(d.first.len(), DENIALS_KEPT);
    assert_eq!(d.more, 10_000 - DENIALS_KEPT as u64);
    assert!(d
        .first
        .iter()
        .all(|l| l.chars().count() == DENIAL_CHARS + 1 && l.ends_with('…')));
    let lines = d.lines();
    assert_eq!(lines.len(), DENIALS_KEPT + 1);
    assert_eq!(
        lines.last().map(String::as_str),
        Some("egress denied: and 9968 more")
    );
    let held: usize = lines.iter().map(String::len).sum();
    assert!(
        held < 16 << 10,
        "{held} bytes kept for 10000 denials of 60 KiB each"
    );
}

#[test]
fn requests_in_flight_are_capped_and_released_when_dropped() {
    let count = Arc::new(AtomicUsize::new(0));
    let a = InFlight::start(&count, 2).expect("first");
    let b = InFlight::start(&count, 2).expect("second");
    assert!(
        InFlight::start(&count, 2).is_none(),
        "a third waits for none"
    );
    drop(a);
    let c = InFlight::start(&count, 2).expect("a slot was freed");
    drop((b, c));
    assert_eq!(count.load(Ordering::Acquire), 0);
}

#[test]
fn origins_fill_in_default_ports_and_reject_other_schemes() {
    assert_eq!(
        origin_of("https://Discord.com/api").as_deref(),
        Some("https://discord.com:443")
    );
    assert_eq!(origin_of("http://h/").as_deref(), Some("http://h:80"));
    assert_eq!(origin_of("http://h:8080").as_deref(), Some("http://h:8080"));
    assert_eq!(origin_of("ftp://h/"), None);
    assert_eq!(origin_of("not a url"), None);
    assert!(Policy::for_api_base("ftp://h/").is_err());
    let mut p = Policy::default();
    p.allow_url("https://a.example").unwrap();
    p.allow_url("https://a.example/other/path").unwrap();
    assert_eq!(
        p.allowed_origins,
        ["https://a.example:443"],
        "no duplicates"
    );
}
