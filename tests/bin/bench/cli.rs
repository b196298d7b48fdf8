//! Rows 1, 2 and 9: the CLI vs curl (first run, warm run, peak RSS), and the paths every CLI
//! section uses.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alerter_emulator::{Emulator, Options};

use crate::child::{
    cpu_ms, parse_debug_duration, peak_rss, run_child, run_expect, wall_ms, with_time, Run,
};
use crate::native::{curl_args, last_create, request_diff, Template};
use crate::report::{Check, Goal, Report, Row};
use crate::stats::{median, ms, pct, spread};

/// Paths every CLI section uses.
pub struct Env {
    pub alerter_bin: PathBuf,
    pub curl: PathBuf,
    pub home: PathBuf,
    /// The compile cache of warm runs (the embedded component does not need it; a
    /// `--component` one does).
    pub cache: PathBuf,
    /// Where GNU time writes peak RSS.
    pub rss_file: PathBuf,
    /// [`EMBEDDED_COMPONENT`] as a file, for `--component PATH` (compiled with Cranelift).
    pub component_file: PathBuf,
}

impl Env {
    /// `alerter ARGS` with this bench's home and `cache` as its compile cache.
    pub fn alerter(&self, cache: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(&self.alerter_bin);
        self.alerter_env(&mut c, cache).args(args);
        c
    }

    /// `alerter ARGS` (warm cache) under GNU time, for its peak RSS.
    pub fn alerter_timed(&self, args: &[&str]) -> Command {
        let mut c = with_time(&self.alerter_bin, &self.rss_file);
        self.alerter_env(&mut c, &self.cache).args(args);
        c
    }

    pub fn alerter_env<'c>(&self, c: &'c mut Command, cache: &Path) -> &'c mut Command {
        c.env("ALERTER_HOME", &self.home)
            .env("ALERTER_CACHE_DIR", cache)
            .env_remove("ALERTER_CONFIG")
            .env_remove("ALERTER_DISCORD_TOKEN")
            .env_remove("ALERTER_API_BASE_URL")
    }

    /// A scratch directory of its own (for a second emulator's config file).
    pub fn subdir(&self, name: &str) -> PathBuf {
        let d = self.home.join(name);
        std::fs::create_dir_all(&d).expect("scratch subdir");
        d
    }
}

/// `alerter -v ...`'s "component ready in D (native code SOURCE)" line.
pub fn component_ready(mut cmd: Command) -> Option<(Duration, String)> {
    let o = cmd.stdin(Stdio::null()).output().expect("alerter -v");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    err.lines().find_map(|l| {
        let rest = l.strip_prefix("alerter: component ready in ")?;
        let (d, source) = rest.split_once(" (native code ")?;
        Some((
            parse_debug_duration(d)?,
            source.trim_end_matches(')').to_string(),
        ))
    })
}

/// curl replaying the component's POST to the CLI section's emulator.
pub struct Curl {
    pub path: PathBuf,
    pub template: Template,
    pub base_url: String,
    pub nonce: AtomicU64,
}

impl Curl {
    pub fn args(&self) -> Vec<String> {
        curl_args(
            &self.template,
            &self.base_url,
            self.nonce.fetch_add(1, Ordering::Relaxed),
        )
    }

    pub fn run(&self) -> Run {
        run_expect(Command::new(&self.path).args(self.args()), 0, "curl")
    }

    pub fn rss(&self, rss_file: &Path) -> (Run, f64) {
        peak_rss(with_time(&self.path, rss_file).args(self.args()), rss_file)
    }
}

/// What later sections quote from the CLI runs.
pub struct CliFigures {
    /// Median CPU of a warm `alerter post`, ms.
    pub post_cpu_ms: f64,
}

/// The samples rows 1, 2 and 9 are made of.
struct CliSamples {
    /// Requests one `alerter post` makes.
    per_post: usize,
    /// How curl's request compares with the component's, as the emulator recorded them.
    same: String,
    /// The native code a first run loads, as `-v` says: the embedded component's...
    first_code: String,
    /// ... and a `--component PATH` one's.
    cranelift_code: String,
    /// Row 1: first `alerter post` runs, curl runs, first runs with `--component`.
    pre: Vec<Run>,
    curl_first: Vec<Run>,
    cl: Vec<Run>,
    /// Row 2: warm `alerter post` runs, curl runs, `alerter --version` runs.
    a_runs: Vec<Run>,
    c_runs: Vec<Run>,
    v_runs: Vec<Run>,
    /// How long loading the component took inside warm runs (`-v`), ms.
    ready: Vec<f64>,
    /// Row 9: how many runs under GNU time, and the peak RSS (MiB) of `alerter post`, curl,
    /// `alerter --version` and `true`.
    rss_runs: usize,
    a_rss: Vec<f64>,
    c_rss: Vec<f64>,
    v_rss: Vec<f64>,
    floor_rss: Vec<f64>,
}

/// The medians rows 1, 2 and 9 show: wall ms, or MiB for RSS.
struct CliMedians {
    pre: f64,
    curl_first: f64,
    cl: f64,
    a: f64,
    c: f64,
    v: f64,
    a_rss: f64,
    c_rss: f64,
}

impl CliMedians {
    fn of(s: &CliSamples) -> CliMedians {
        CliMedians {
            pre: median(&wall_ms(&s.pre)),
            curl_first: median(&wall_ms(&s.curl_first)),
            cl: median(&wall_ms(&s.cl)),
            a: median(&wall_ms(&s.a_runs)),
            c: median(&wall_ms(&s.c_runs)),
            v: median(&wall_ms(&s.v_runs)),
            a_rss: median(&s.a_rss),
            c_rss: median(&s.c_rss),
        }
    }
}

/// Rows 1 (first run, and first run compiling with Cranelift), 2 (warm run) and 9 (peak RSS).
pub fn cli_section(
    env: &Env,
    report: &mut Report,
    first_runs: usize,
    cli_runs: usize,
) -> CliFigures {
    // The emulator serves from a thread of its own in this process; validation off everywhere
    // so the server's own work is as small as possible (it counts in both sides' times).
    let emu = Emulator::start_background(Options {
        validate: false,
        ..Options::default()
    })
    .expect("emulator");
    let s = cli_samples(env, &emu, first_runs, cli_runs);
    let m = CliMedians::of(&s);
    cli_rows(report, &s, &m, first_runs, cli_runs);
    cli_details(env, report, &s, &m, first_runs, cli_runs);
    report.method(1, "Rows 1, 2: `alerter --config FILE post --body 'bench alert'` as a child process, timed from `spawn` to `wait4` returning; CPU is user+sys from the `rusage` that `wait4` returns. The baseline is `curl -sS --fail -o /dev/null -X POST` to the same URL with the headers the component sent (as the emulator recorded them; curl's `Accept` removed) and the same JSON body with a fresh nonce. Row 1's runs each get an `ALERTER_CACHE_DIR` that does not exist yet; row 2's share one (which the embedded component, precompiled, does not need).");
    report.method(9, "Row 9: peak RSS in separate interleaved runs under GNU time (`/usr/bin/time -f %M`): `ru_maxrss` of a child spawned straight from the bench would include the bench's own memory, because a vfork()ed child's `maxrss` takes in the parent's high-water mark at `exec`.");
    let (pre_med, cf_med, cl_med) = (m.pre, m.curl_first, m.cl);
    let first_ratio = pre_med / cf_med;
    let (a_med, c_med, v_med) = (m.a, m.c, m.v);
    let warm_ratio = a_med / c_med;
    let a_rss_med = m.a_rss;
    println!(
        "cli: first run {pre_med:.1} ms (Cranelift {cl_med:.0} ms), curl {cf_med:.1} ms: {first_ratio:.2}x; warm {a_med:.1} ms, curl {c_med:.1} ms, --version {v_med:.1} ms: {warm_ratio:.2}x; peak RSS {a_rss_med:.1} MiB"
    );
    CliFigures {
        post_cpu_ms: median(&cpu_ms(&s.a_runs)),
    }
}

/// Runs everything rows 1, 2 and 9 measure, against `emu`.
fn cli_samples(env: &Env, emu: &Emulator, first_runs: usize, cli_runs: usize) -> CliSamples {
    let cfg_path = alerter_e2e::config_for(emu, &env.home);
    let cfg = cfg_path.to_string_lossy().into_owned();
    let post_args = ["--config", cfg.as_str(), "post", "--body", "bench alert"];
    let component = env.component_file.to_string_lossy().into_owned();
    let cranelift_args = [&["--component", component.as_str()][..], &post_args].concat();
    let warm = |args: &[&str]| env.alerter(&env.cache, args);
    // A first run: a compile cache directory that does not exist yet (`alerter` creates it,
    // as on a machine where it never ran), removed afterwards.
    let first_run = |tag: &str, i: usize, args: &[&str]| {
        let dir = env.home.join(format!("first-{tag}-{i}"));
        let r = run_expect(&mut env.alerter(&dir, args), 0, "a first `alerter post`");
        let _ = std::fs::remove_dir_all(&dir);
        r
    };

    let (curl, per_post, same) = curl_replay(env, emu, &post_args);
    let (first_code, cranelift_code) = native_code(env, &post_args, &cranelift_args);

    // Row 1: first runs, interleaved: embedded (precompiled), curl, --component (Cranelift).
    let (mut pre, mut curl_first, mut cl) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..first_runs {
        pre.push(first_run("pre", i, &post_args));
        curl_first.push(curl.run());
        cl.push(first_run("cl", i, &cranelift_args));
    }

    // Row 2: warm runs, interleaved: alerter post, curl, `alerter --version` (the floor of
    // starting the binary at all), after warm-up runs.
    for _ in 0..3 {
        run_child(&mut warm(&post_args));
        curl.run();
    }
    let (mut a_runs, mut c_runs, mut v_runs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..cli_runs {
        a_runs.push(run_expect(&mut warm(&post_args), 0, "alerter post"));
        c_runs.push(curl.run());
        v_runs.push(run_child(&mut warm(&["--version"])));
    }
    // Where a warm run's time goes: `-v` prints how long loading the component took.
    let ready: Vec<f64> = (0..cli_runs.min(15))
        .filter_map(|_| component_ready(warm(&[&["-v"][..], &post_args].concat())))
        .map(|(d, _)| ms(d))
        .collect();

    let rss_runs = cli_runs.min(15);
    let (a_rss, c_rss, v_rss, floor_rss) = rss_samples(env, &curl, &post_args, rss_runs);
    CliSamples {
        per_post,
        same,
        first_code,
        cranelift_code,
        pre,
        curl_first,
        cl,
        a_runs,
        c_runs,
        v_runs,
        ready,
        rss_runs,
        a_rss,
        c_rss,
        v_rss,
        floor_rss,
    }
}

/// The component's request, recorded, is what curl replays: the curl that does, the requests
/// one `alerter post` makes, and how curl's request compares with the component's.
fn curl_replay(env: &Env, emu: &Emulator, post_args: &[&str]) -> (Curl, usize, String) {
    let warm = |args: &[&str]| env.alerter(&env.cache, args);
    run_expect(&mut warm(post_args), 0, "alerter post");
    let before = emu.requests().len();
    run_expect(&mut warm(post_args), 0, "alerter post");
    let per_post = emu.requests().len() - before;
    let recorded = last_create(emu);
    let curl = Curl {
        path: env.curl.clone(),
        template: Template::from_recorded(&recorded, emu.addr().to_string()),
        base_url: emu.base_url(),
        nonce: AtomicU64::new(1),
    };
    curl.run();
    let diff = request_diff(&recorded, &last_create(emu));
    let same = if diff.is_empty() {
        "same method, path, headers and JSON body (only the random nonce differs)".to_string()
    } else {
        diff.join("; ")
    };
    println!("cli: alerter post makes {per_post} request(s); curl replays it: {same}");
    (curl, per_post, same)
}

/// Which code each kind of run loads, as `-v` says: a first run, and a first run with
/// `--component`.
fn native_code(env: &Env, post_args: &[&str], cranelift_args: &[&str]) -> (String, String) {
    let dir = env.home.join("first-probe");
    let probe = |args: &[&str]| {
        let _ = std::fs::remove_dir_all(&dir);
        let r = component_ready(env.alerter(&dir, &[&["-v"][..], args].concat()));
        r.map_or_else(|| "unknown".to_string(), |(_, s)| s)
    };
    let first_code = probe(post_args);
    let cranelift_code = probe(cranelift_args);
    let _ = std::fs::remove_dir_all(&dir);
    (first_code, cranelift_code)
}

/// Row 9: peak RSS through GNU time: interleaved alerter post, curl, `alerter --version`,
/// and `true` (the floor this way of measuring adds).
fn rss_samples(
    env: &Env,
    curl: &Curl,
    post_args: &[&str],
    rss_runs: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mut a_rss, mut c_rss, mut v_rss, mut floor_rss) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rss_runs {
        let (r, m) = peak_rss(&mut env.alerter_timed(post_args), &env.rss_file);
        assert_eq!(r.code, 0, "alerter post (under time) failed");
        a_rss.push(m);
        let (r, m) = curl.rss(&env.rss_file);
        assert_eq!(r.code, 0, "curl (under time) failed");
        c_rss.push(m);
        v_rss.push(peak_rss(&mut env.alerter_timed(&["--version"]), &env.rss_file).1);
        floor_rss.push(
            peak_rss(
                &mut with_time(Path::new("/bin/true"), &env.rss_file),
                &env.rss_file,
            )
            .1,
        );
    }
    (a_rss, c_rss, v_rss, floor_rss)
}

/// The table rows of rows 1, 2 and 9.
fn cli_rows(
    report: &mut Report,
    s: &CliSamples,
    m: &CliMedians,
    first_runs: usize,
    cli_runs: usize,
) {
    let (pre_med, cf_med, cl_med) = (m.pre, m.curl_first, m.cl);
    let first_ratio = pre_med / cf_med;
    report.add(Row {
        key: (1, 0),
        what: format!("1. first `alerter post`, empty compile cache (median of {first_runs})"),
        value: format!("{pre_med:.1} ms"),
        baseline: format!("curl, same POST: {cf_med:.1} ms"),
        ratio: format!("{first_ratio:.2}x"),
        goal: Some(
            Check::new(
                "first `alerter post` / curl",
                Goal::AtMost(2.0),
                first_ratio,
                "x",
                2,
            )
            .extra(format!(
                "; {:.1} ms slower than 2 × curl's {cf_med:.1} ms",
                pre_med - 2.0 * cf_med
            )),
        ),
        info: "",
    });
    report.add(Row {
        key: (1, 1),
        what: format!(
            "1. first run with `--component PATH` (Cranelift compiles), median of {first_runs}"
        ),
        value: format!("{cl_med:.0} ms"),
        baseline: format!("curl: {cf_med:.1} ms"),
        ratio: format!("{:.1}x", cl_med / cf_med),
        goal: None,
        info: "— (second baseline: what precompiling removed)",
    });
    let (a_med, c_med) = (m.a, m.c);
    let warm_ratio = a_med / c_med;
    report.add(Row {
        key: (2, 0),
        what: format!("2. warm `alerter post` end to end (median of {cli_runs})"),
        value: format!("{a_med:.1} ms"),
        baseline: format!("curl, same POST: {c_med:.1} ms"),
        ratio: format!("{warm_ratio:.2}x"),
        goal: Some(
            Check::new(
                "warm `alerter post` / curl",
                Goal::AtMost(1.1),
                warm_ratio,
                "x",
                2,
            )
            .extra(format!(
                "; {:.1} ms slower than 1.1 × curl's {c_med:.1} ms",
                a_med - 1.1 * c_med
            )),
        ),
        info: "",
    });
    let (a_rss_med, c_rss_med) = (m.a_rss, m.c_rss);
    let rss_runs = s.rss_runs;
    report.add(Row {
        key: (9, 0),
        what: format!("9. `alerter post` peak RSS (median of {rss_runs})"),
        value: format!("{a_rss_med:.1} MiB"),
        baseline: format!("curl: {c_rss_med:.1} MiB"),
        ratio: format!("{:.2}x", a_rss_med / c_rss_med),
        goal: Some(Check::new(
            "peak RSS of `alerter post`",
            Goal::AtMost(16.0),
            a_rss_med,
            " MiB",
            1,
        )),
        info: "",
    });
}

/// The details of rows 1, 2 and 9.
fn cli_details(
    env: &Env,
    report: &mut Report,
    s: &CliSamples,
    m: &CliMedians,
    first_runs: usize,
    cli_runs: usize,
) {
    let (pre_med, cl_med, c_rss_med) = (m.pre, m.cl, m.c_rss);
    let (per_post, rss_runs) = (s.per_post, s.rss_runs);
    let (same, first_code, cranelift_code) = (&s.same, &s.first_code, &s.cranelift_code);
    report.detail(1, "### 1. First `alerter post` vs curl\n");
    report.detail(
        1,
        format!("- {first_runs} interleaved triples: `alerter post` with a compile cache directory that does not exist yet (`ALERTER_CACHE_DIR`, fresh per run), curl, and the same first run with `--component {}` (the embedded component's bytes as a file, so it is compiled with Cranelift and the cache is written).", env.component_file.file_name().map_or_else(String::new, |f| f.to_string_lossy().into_owned())),
    );
    report.detail(
        1,
        format!("- `alerter -v` says: native code \"{first_code}\" (embedded component, first run); \"{cranelift_code}\" (`--component`, first run)."),
    );
    for (name, v) in [
        ("first `alerter post`", &s.pre),
        ("curl", &s.curl_first),
        ("first run with `--component`", &s.cl),
    ] {
        report.detail(
            1,
            format!(
                "- {name}: wall {}; CPU user+sys median {:.1} ms",
                spread(&wall_ms(v), 1, "ms"),
                median(&cpu_ms(v))
            ),
        );
    }
    report.detail(
        1,
        format!("- precompiling saved {:.0} ms of wall time and {:.0} ms of CPU per first run (medians).\n", cl_med - pre_med, median(&cpu_ms(&s.cl)) - median(&cpu_ms(&s.pre))),
    );
    report.detail(2, "### 2. Warm `alerter post` vs curl\n");
    report.detail(
        2,
        format!("- {cli_runs} interleaved triples (alerter post, curl, `alerter --version`) after 3 warm-up pairs; the emulator saw {per_post} request per `alerter post`."),
    );
    report.detail(
        2,
        format!("- curl's request vs the component's, as recorded by the emulator: {same}."),
    );
    for (name, v) in [
        ("alerter post", &s.a_runs),
        ("curl", &s.c_runs),
        ("alerter --version", &s.v_runs),
    ] {
        report.detail(
            2,
            format!(
                "- {name}: wall {}; CPU user+sys median {:.1} ms",
                spread(&wall_ms(v), 1, "ms"),
                median(&cpu_ms(v))
            ),
        );
    }
    if !s.ready.is_empty() {
        report.detail(
            2,
            format!("- component load inside `alerter post` (engine + precompiled code + linker + InstancePre, from `-v`): median {:.2} ms of {} runs.", median(&s.ready), s.ready.len()),
        );
    }
    report.detail(2, "");
    report.detail(9, "### 9. Peak RSS\n");
    report.detail(
        9,
        format!("- {rss_runs} interleaved runs each under GNU time: `alerter post` {}, max {:.1}; curl {:.1} MiB; `alerter --version` {:.1} MiB; `true` {:.1} MiB (the floor this way of measuring adds).\n", spread(&s.a_rss, 1, "MiB"), pct(&s.a_rss, 100.0), c_rss_med, median(&s.v_rss), median(&s.floor_rss)),
    );
}
