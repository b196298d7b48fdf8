//! The ZenML-style setup flow end to end (secret create, register, {{secret.key}}, check, post,
//! ask, hooks, describe, delete), run with -v; no output of any command may contain the token.

use std::os::unix::fs::PermissionsExt;

use alerter_e2e::{run, run_with_env, scratch, stderr, stdout, Emulator, Options};

const TOKEN: &str = "MTAxNDc.secret-token.XyZ_never_print_me";

#[tokio::test(flavor = "multi_thread")]
async fn every_command_keeps_the_token_out_of_its_output() {
    let emu = Emulator::start(Options {
        token: TOKEN.into(),
        ..Options::default()
    })
    .await
    .unwrap();
    let home = scratch("setup-flow");
    let channel = emu.default_channel_id();
    let base = emu.base_url();
    let mut transcript = String::new();
    let mut step = |args: &[&str], stdin: Option<&str>, want: i32| {
        let mut full = vec!["-v"];
        full.extend_from_slice(args);
        let out = run(&home, &full, stdin);
        // Only what the program printed: the command line itself holds the token on purpose.
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert_eq!(
            out.status.code(),
            Some(want),
            "step {:?}: {text}",
            full.get(1)
        );
        transcript.push_str(&text);
        text
    };

    // A forgotten `--discord_token=` must not echo the token back.
    step(&["secret", "create", "oops", TOKEN], None, 2);
    let token_arg = format!("--discord_token={TOKEN}");
    step(&["secret", "create", "discord_secret", &token_arg], None, 0);
    let meta = std::fs::metadata(home.join("secrets/discord_secret.json")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(step(&["secret", "list", "--json"], None, 0).contains("discord_secret"));

    let channel_arg = format!("--default_discord_channel_id={channel}");
    let base_arg = format!("--api_base_url={base}");
    step(
        &[
            "register",
            "discord_alerter",
            "--flavor=discord",
            "--discord_token={{discord_secret.discord_token}}",
            &channel_arg,
            &base_arg,
        ],
        None,
        0,
    );
    assert!(step(&["list"], None, 0).contains("discord_alerter"));
    assert!(step(&["describe", "discord_alerter"], None, 0)
        .contains("{{discord_secret.discord_token}}"));
    let check = step(&["check"], None, 0);
    assert!(check.contains("token:   OK, bot alerter-bot"), "{check}");
    step(
        &[
            "post",
            "--title",
            "Nightly ETL",
            "--body",
            "done",
            "--meta",
            "rows=1200",
            "--json",
        ],
        None,
        0,
    );
    step(&["post", "--body-file", "-"], Some("from stdin"), 0);
    step(
        &[
            "ask",
            "--title",
            "Ship it?",
            "--timeout",
            "1",
            "--poll-interval",
            "0.2",
            "--json",
        ],
        None,
        4,
    );
    step(
        &["hook", "success", "--pipeline", "training", "--run", "r1"],
        None,
        0,
    );
    step(
        &[
            "hook",
            "failure",
            "--pipeline",
            "training",
            "--run",
            "r2",
            "--exception-type",
            "ValueError",
            "--traceback-file",
            "-",
        ],
        Some("Traceback (most recent call last):\n  File \"train.py\", line 3\nValueError: boom"),
        0,
    );
    step(&["wit"], None, 0);

    // Failures must not leak it either: a wrong channel, a missing secret, a literal token.
    assert!(step(&["check", "--channel", "123456789012345678"], None, 3).contains("does not exist"));
    assert!(step(&["check", "--channel", "general"], None, 2).contains("general"));
    let both = step(
        &[
            "--config",
            "x.toml",
            "--alerter",
            "discord_alerter",
            "check",
        ],
        None,
        2,
    );
    assert!(both.contains("cannot be used with"), "{both}");
    let literal = format!("--discord_token={TOKEN}");
    let warn = step(
        &[
            "register",
            "literal",
            "--flavor=discord",
            &literal,
            &channel_arg,
            &base_arg,
        ],
        None,
        0,
    );
    assert!(warn.contains("plain text"), "{warn}");
    step(
        &[
            "--alerter",
            "literal",
            "post",
            "--body",
            "literal token works",
        ],
        None,
        0,
    );
    step(&["--alerter", "literal", "describe", "literal"], None, 0);
    step(&["delete", "literal"], None, 0);
    step(&["secret", "delete", "discord_secret"], None, 0);
    let missing = step(&["post", "--body", "x"], None, 2);
    assert!(
        missing.contains("{{discord_secret.discord_token}}"),
        "{missing}"
    );
    step(&["delete", "discord_alerter"], None, 0);
    step(&["post", "--body", "x"], None, 2);

    assert!(
        !transcript.contains(TOKEN),
        "the token leaked:\n{transcript}"
    );
    assert!(
        !transcript.contains("secret-token"),
        "part of the token leaked"
    );
    // The requests really carried it, so the check above is meaningful.
    assert!(emu.requests().iter().all(|r| r.status != 401));
    assert!(emu.violations().is_empty(), "{:?}", emu.violations());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_environment_alone_configures_a_ci_job() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let home = scratch("env-only");
    let channel = emu.default_channel_id();
    let (token, base) = (emu.token(), emu.base_url());
    let vars = [
        ("ALERTER_DISCORD_TOKEN", token.as_str()),
        ("ALERTER_DEFAULT_DISCORD_CHANNEL_ID", channel.as_str()),
        ("ALERTER_API_BASE_URL", base.as_str()),
    ];
    let out = run_with_env(&home, &["post", "--body", "nightly build failed"], &vars);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stored = emu.messages(&channel);
    assert!(
        stored
            .iter()
            .any(|m| m["content"] == "nightly build failed"),
        "{stored:?}"
    );
    // Without the token the environment is no configuration, and the error says what to set.
    let out = run_with_env(&home, &["post", "--body", "x"], &vars[1..]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("ALERTER_DISCORD_TOKEN"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_piped_to_a_dash_never_sits_in_argv() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let home = scratch("stdin-secret");
    let token = emu.token();
    // `-` reads the token from stdin: no warning, and the stored value is the token itself
    // (the emulator refuses anything else), not the literal `-`.
    let out = run(
        &home,
        &["secret", "create", "ci", "--discord_token", "-"],
        Some(&format!("{token}\n")),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    let channel = emu.default_channel_id();
    let base = emu.base_url();
    let out = run(
        &home,
        &[
            "register",
            "ci",
            "--flavor=discord",
            "--discord_token={{ci.discord_token}}",
            &format!("--default_discord_channel_id={channel}"),
            &format!("--api_base_url={base}"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(&home, &["post", "--body", "from stdin"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A value typed on the command line is stored, with a warning that says how to avoid it.
    let out = run(
        &home,
        &["secret", "create", "typed", "--discord_token=abc.def"],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("--discord_token -"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_home_others_can_write_is_refused_before_anything_is_read_or_sent() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let home = scratch("shared-home");
    let token_arg = format!("--discord_token={}", emu.token());
    let out = run(&home, &["secret", "create", "s", &token_arg], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let channel_arg = format!("--default_discord_channel_id={}", emu.default_channel_id());
    let base_arg = format!("--api_base_url={}", emu.base_url());
    let register = [
        "register",
        "a",
        "--flavor=discord",
        "--discord_token={{s.discord_token}}",
        channel_arg.as_str(),
        base_arg.as_str(),
    ];
    let out = run(&home, &register, None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let post = ["post", "--body", "must not be sent"];

    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o777)).unwrap();
    let shown = home.display().to_string();
    for args in [&["list"][..], &post, &["secret", "list"], &register] {
        let out = run(&home, args, None);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(&shown), "{args:?}: {err}");
        assert!(
            err.contains("writable by others (mode 0777)"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains(&format!("chmod go-w {shown}")),
            "{args:?}: {err}"
        );
    }
    assert!(emu.messages(&emu.default_channel_id()).is_empty());

    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = run(&home, &post, None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
