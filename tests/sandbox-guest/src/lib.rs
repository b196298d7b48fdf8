//! A hostile flavor for the sandbox tests. `post` with a text message does what the text says:
//! `egress URL` (an HTTP request), `alloc MIB` (allocate and touch memory), `loop` (spin
//! forever), `naps N` (wait 25 ms N times), `work-naps N` (wait 5 ms, then work, N times),
//! `spin-host` (spin calling the host), `flood KIB` (write KiB of stderr), `hoard-headers`
//! (keep creating header sets), `parallel N URL` (N requests at once), `big-header KIB` (one
//! oversized header set), `deny-flood KIB` (denied requests with KiB-long paths, forever),
//! `random-loop KIB` (random bytes, KiB a call, forever), `file PATH` (read a file), `env`
//! (read the environment), `print-token` (reveal the token and print it), `error-token` (fail
//! with the token in the error), `ok` (succeed). Only built for wasm32-wasip2, by
//! tests/build.rs.

#[cfg(target_arch = "wasm32")]
mod component {
    // The `with:` table is shared with the Discord guest: both implement the `flavor` world.
    include!("../../../guest/src/world.rs");
    generate_flavor!("../../wit");

    use alerter::core::types::{
        AlertError, Answer, CloseReason, Message, Opened, Params, PostReceipt, QuestionRef,
        WaitStatus,
    };
    use exports::alerter::core::{alerter as api, hooks};

    struct Hostile;

    fn receipt(note: String) -> PostReceipt {
        PostReceipt {
            channel_id: note,
            message_ids: vec![],
            thread_id: None,
        }
    }

    /// Send `n` requests to `url` at once, then wait for all: "ok K limited L other M".
    fn parallel(n: usize, url: &str) -> Result<PostReceipt, AlertError> {
        use wasip2::http::types::{ErrorCode, Fields, OutgoingRequest, Scheme};
        let rest = url.trim_start_matches("http://");
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let mut futures = Vec::new();
        for _ in 0..n {
            let req = OutgoingRequest::new(Fields::new());
            let _ = req.set_scheme(Some(&Scheme::Http));
            let _ = req.set_authority(Some(authority));
            let _ = req.set_path_with_query(Some(path));
            futures.push(wasip2::http::outgoing_handler::handle(req, None));
        }
        let (mut ok, mut limited, mut other) = (0, 0, 0);
        for fut in futures {
            match fut {
                Err(ErrorCode::ConnectionLimitReached) => limited += 1,
                Err(_) => other += 1,
                Ok(f) => {
                    f.subscribe().block();
                    match f.get() {
                        Some(Ok(Ok(_))) => ok += 1,
                        Some(Ok(Err(ErrorCode::ConnectionLimitReached))) => limited += 1,
                        _ => other += 1,
                    }
                }
            }
        }
        Ok(receipt(format!("ok {ok} limited {limited} other {other}")))
    }

    /// A GET to `url` (plain http), sent.
    fn get(
        url: &str,
    ) -> Result<wasip2::http::types::FutureIncomingResponse, wasip2::http::types::ErrorCode> {
        use wasip2::http::types::{Fields, OutgoingRequest, Scheme};
        let rest = url.trim_start_matches("http://");
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let req = OutgoingRequest::new(Fields::new());
        let _ = req.set_scheme(Some(&Scheme::Http));
        let _ = req.set_authority(Some(authority));
        let _ = req.set_path_with_query(Some(path));
        wasip2::http::outgoing_handler::handle(req, None)
    }

    /// `n` GETs to `url` one after the other, keeping every response with its body unread:
    /// "ok K limited L other M".
    fn hold(n: usize, url: &str) -> Result<PostReceipt, AlertError> {
        use wasip2::http::types::ErrorCode;
        let mut kept = Vec::new();
        let (mut ok, mut limited, mut other) = (0, 0, 0);
        for _ in 0..n {
            match get(url) {
                Err(ErrorCode::ConnectionLimitReached) => limited += 1,
                Err(_) => other += 1,
                Ok(f) => {
                    f.subscribe().block();
                    match f.get() {
                        Some(Ok(Ok(resp))) => {
                            ok += 1;
                            kept.push(resp);
                        }
                        Some(Ok(Err(ErrorCode::ConnectionLimitReached))) => limited += 1,
                        _ => other += 1,
                    }
                }
            }
        }
        Ok(receipt(format!("ok {ok} limited {limited} other {other}")))
    }

    /// One GET to `url`, its body read to the end or the first error, without any cap of the
    /// guest's own: "read B bytes, then END" or "read B bytes, then ERROR".
    fn drain(url: &str) -> Result<PostReceipt, AlertError> {
        use wasip2::io::streams::StreamError;
        let fut = get(url).map_err(|e| AlertError::Transport(format!("{e:?}")))?;
        fut.subscribe().block();
        let resp = match fut.get() {
            Some(Ok(Ok(r))) => r,
            other => return Err(AlertError::Transport(format!("{other:?}"))),
        };
        let body = resp
            .consume()
            .map_err(|()| AlertError::Transport("no body".into()))?;
        let stream = body
            .stream()
            .map_err(|()| AlertError::Transport("no stream".into()))?;
        let mut total = 0usize;
        let end = loop {
            match stream.blocking_read(1 << 20) {
                Ok(chunk) => total += chunk.len(),
                Err(StreamError::Closed) => break "END".to_string(),
                // wasmtime stores the host's error, not an `error-code`, so `http-error-code`
                // gives none here: the debug string says what happened.
                Err(StreamError::LastOperationFailed(e)) => break e.to_debug_string(),
            }
        };
        drop(stream);
        Ok(receipt(format!("read {total} bytes, then {end}")))
    }

    fn egress(url: &str) -> Result<PostReceipt, AlertError> {
        use wasip2::http::types::{Fields, OutgoingRequest, Scheme};
        let (scheme, rest) = match url.strip_prefix("https://") {
            Some(r) => (Scheme::Https, r),
            None => (Scheme::Http, url.trim_start_matches("http://")),
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let req = OutgoingRequest::new(Fields::new());
        let _ = req.set_scheme(Some(&scheme));
        let _ = req.set_authority(Some(authority));
        let _ = req.set_path_with_query(Some(if path.is_empty() { "/" } else { path }));
        match wasip2::http::outgoing_handler::handle(req, None) {
            Err(e) => Err(AlertError::Transport(format!("{e:?}"))),
            Ok(fut) => {
                fut.subscribe().block();
                match fut.get() {
                    Some(Ok(Ok(resp))) => Ok(receipt(format!("reached {url}: {}", resp.status()))),
                    Some(Ok(Err(e))) => Err(AlertError::Transport(format!("{e:?}"))),
                    _ => Err(AlertError::Transport("no response".into())),
                }
            }
        }
    }

    impl api::Guest for Hostile {
        fn post(message: Message, _params: Params) -> Result<PostReceipt, AlertError> {
            let Message::Text(cmd) = message else {
                return Err(AlertError::InvalidInput("text commands only".into()));
            };
            let (verb, arg) = cmd.split_once(' ').unwrap_or((cmd.as_str(), ""));
            match verb {
                "ok" => Ok(receipt("ok".into())),
                "egress" => egress(arg),
                "parallel" => {
                    let (n, url) = arg.split_once(' ').unwrap_or(("20", arg));
                    parallel(n.parse().unwrap_or(20), url)
                }
                "hold" => {
                    let (n, url) = arg.split_once(' ').unwrap_or(("12", arg));
                    hold(n.parse().unwrap_or(12), url)
                }
                "drain" => drain(arg),
                "alloc" => {
                    let mib: usize = arg.parse().unwrap_or(1024);
                    let mut v: Vec<u8> = Vec::new();
                    v.resize(mib << 20, 1);
                    Ok(receipt(format!("allocated {} MiB", v.len() >> 20)))
                }
                "loop" => {
                    let mut x: u64 = 0;
                    loop {
                        x = std::hint::black_box(x.wrapping_add(1));
                    }
                }
                "naps" => {
                    // Many short waits with a little work after each: a guest that mostly
                    // waits (like a long ask) must not be charged for the time it slept.
                    let n: u32 = arg.parse().unwrap_or(40);
                    let mut x: u64 = 0;
                    for _ in 0..n {
                        wasip2::clocks::monotonic_clock::subscribe_duration(25_000_000).block();
                        for i in 0..10_000u64 {
                            x = std::hint::black_box(x.wrapping_add(i));
                        }
                    }
                    Ok(receipt(format!("napped {n} times")))
                }
                "work-naps" => {
                    // Like a long ask: a little work after each short wait, many times over.
                    // All the work together is more than the CPU budget; each round is not.
                    let n: u32 = arg.parse().unwrap_or(300);
                    let mut x: u64 = 0;
                    for _ in 0..n {
                        wasip2::clocks::monotonic_clock::subscribe_duration(5_000_000).block();
                        for i in 0..10_000u64 {
                            x = std::hint::black_box(x.wrapping_add(i));
                        }
                    }
                    Ok(receipt(format!("worked {n} rounds")))
                }
                "spin-host" => {
                    // A busy loop that calls the host all the time but never waits: host
                    // calls must not earn CPU time back.
                    let mut x: u64 = 0;
                    loop {
                        x = std::hint::black_box(
                            x.wrapping_add(wasip2::clocks::monotonic_clock::now()),
                        );
                    }
                }
                "flood" => {
                    // KiB of stderr, far more than the host keeps: output must be dropped,
                    // not fail the write (`eprintln!` aborts the guest when a write fails).
                    let kib: usize = arg.parse().unwrap_or(256);
                    let line = "x".repeat(1023);
                    for _ in 0..kib {
                        eprintln!("{line}");
                    }
                    Ok(receipt(format!("flooded {kib} KiB")))
                }
                "hoard-headers" => {
                    // Header sets live in host memory, which the memory cap does not count:
                    // keep creating 30 KB ones and never drop them.
                    let pad = vec![b'a'; 30_000];
                    let mut kept = Vec::new();
                    for i in 0..100_000u32 {
                        let f = wasip2::http::types::Fields::from_list(&[(
                            format!("x-pad-{i}"),
                            pad.clone(),
                        )])
                        .map_err(|e| AlertError::InvalidInput(format!("fields: {e:?}")))?;
                        kept.push(f);
                    }
                    Ok(receipt(format!("kept {} header sets", kept.len())))
                }
                "big-header" => {
                    // One header set larger than the policy's cap is refused, not stored.
                    let kib: usize = arg.parse().unwrap_or(256);
                    match wasip2::http::types::Fields::from_list(&[(
                        "x-big".to_string(),
                        vec![b'a'; kib << 10],
                    )]) {
                        Ok(_) => Ok(receipt(format!("a {kib} KiB header was accepted"))),
                        Err(e) => Err(AlertError::InvalidInput(format!("refused: {e:?}"))),
                    }
                }
                "file" => match std::fs::read(arg) {
                    Ok(b) => Ok(receipt(format!("read {} bytes from {arg}", b.len()))),
                    Err(e) => Err(AlertError::InvalidInput(format!("file {arg}: {e}"))),
                },
                "env" => {
                    let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
                    let args: Vec<String> = std::env::args().collect();
                    Ok(receipt(format!(
                        "env vars: {} args: {}",
                        vars.len(),
                        args.len()
                    )))
                }
                "print-token" => {
                    use wasmcloud::secrets::{reveal, store};
                    let secret = store::get("discord_token")
                        .map_err(|e| AlertError::InvalidConfig(format!("{e:?}")))?;
                    let store::SecretValue::String(token) = reveal::reveal(&secret) else {
                        return Err(AlertError::InvalidConfig("bytes".into()));
                    };
                    println!("the token is {token}");
                    eprintln!("stderr also has {token}");
                    Ok(receipt("printed".into()))
                }
                "deny-flood" => {
                    // Requests the policy denies, as fast as the host answers them, each with
                    // a path of KiB (at most 63: a URI holds 65,534 bytes): the host must
                    // count them, not keep them.
                    use wasip2::http::types::{Fields, OutgoingRequest, Scheme};
                    let kib: usize = arg.parse().unwrap_or(63);
                    let path = format!("/{}", "a".repeat(kib << 10));
                    loop {
                        let req = OutgoingRequest::new(Fields::new());
                        let _ = req.set_scheme(Some(&Scheme::Https));
                        let _ = req.set_authority(Some("x.invalid"));
                        req.set_path_with_query(Some(&path)).map_err(|()| {
                            AlertError::InvalidInput(format!("a {kib} KiB path was refused"))
                        })?;
                        let _ =
                            std::hint::black_box(wasip2::http::outgoing_handler::handle(req, None));
                    }
                }
                "random-loop" => {
                    // Host calls that compute (random bytes, KiB each) and never wait: the
                    // host's work must be charged, and a huge request refused.
                    let kib: u64 = arg.parse().unwrap_or(16 << 10);
                    loop {
                        std::hint::black_box(wasip2::random::random::get_random_bytes(kib << 10));
                    }
                }
                "error-token" => {
                    // The token in an error, which reaches the embedder.
                    use wasmcloud::secrets::{reveal, store};
                    let secret = store::get("discord_token")
                        .map_err(|e| AlertError::InvalidConfig(format!("{e:?}")))?;
                    let store::SecretValue::String(token) = reveal::reveal(&secret) else {
                        return Err(AlertError::InvalidConfig("bytes".into()));
                    };
                    Err(AlertError::Incomplete(
                        alerter::core::types::IncompletePost {
                            channel_id: token.clone(),
                            message_ids: vec![token.clone()],
                            parts: 2,
                            reason: format!("the token is {token}"),
                            retry_after_ms: None,
                        },
                    ))
                }
                other => Err(AlertError::InvalidInput(format!("unknown command {other}"))),
            }
        }

        fn ask(_q: Message, _p: Params) -> Result<Answer, AlertError> {
            Err(AlertError::InvalidInput("not supported".into()))
        }

        fn check(_p: Params) -> Result<api::CheckReport, AlertError> {
            Err(AlertError::InvalidInput("not supported".into()))
        }

        fn open(_q: Message, _p: Params) -> Result<Opened, AlertError> {
            Err(AlertError::InvalidInput("not supported".into()))
        }

        fn wait(
            _q: QuestionRef,
            _p: Params,
            _max: u64,
            _resume: Option<String>,
        ) -> Result<WaitStatus, AlertError> {
            Err(AlertError::InvalidInput("not supported".into()))
        }

        fn close(_q: QuestionRef, _p: Params, _r: CloseReason) -> Result<(), AlertError> {
            Err(AlertError::InvalidInput("not supported".into()))
        }
    }

    impl hooks::Guest for Hostile {
        fn on_success(_c: hooks::RunContext, _p: Params) -> Result<PostReceipt, AlertError> {
            Err(AlertError::InvalidInput("not supported".into()))
        }
        fn on_failure(
            _c: hooks::RunContext,
            _e: hooks::ExceptionInfo,
            _p: Params,
        ) -> Result<PostReceipt, AlertError> {
            Err(AlertError::InvalidInput("not supported".into()))
        }
    }

    export!(Hostile);
}
