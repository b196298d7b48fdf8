//! Child processes: running one and reaping it with its rusage, peak RSS through GNU time, and
//! the first line a command prints.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::stats::ms;

/// What one child process cost: wall time from spawn to reaped exit, and CPU (user + sys).
///
/// Not peak RSS: `ru_maxrss` of a child that std spawns with `posix_spawn` (vfork) counts the
/// parent's memory, whose mm the child borrows until `exec` (the kernel folds the old mm's
/// high-water mark into the child's `maxrss`). This bench grows to ~100 MiB, so peak RSS is
/// measured through GNU time, a ~1 MiB parent ([`peak_rss`]).
#[derive(Clone, Copy, Debug)]
pub struct Run {
    pub wall: Duration,
    pub cpu: Duration,
    pub code: i32,
}

/// Spawn `cmd` (stdio to /dev/null) and reap it with `wait4`, which also returns its rusage.
// The child is reaped by `wait4` below, which clippy cannot see.
#[allow(clippy::zombie_processes)]
pub fn run_child(cmd: &mut Command) -> Run {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let started = Instant::now();
    let child = cmd.spawn().expect("spawn child");
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: plain wait4 on our own child; `rusage` is a C struct, zeroed is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = loop {
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        break r;
    };
    let wall = started.elapsed();
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Run {
        wall,
        cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
        code,
    }
}

pub const GNU_TIME: &str = "/usr/bin/time";

/// `cmd` wrapped in GNU time, which writes its child's peak RSS (KiB) to `out`.
pub fn with_time(program: &Path, out: &Path) -> Command {
    let mut c = Command::new(GNU_TIME);
    c.arg("-f").arg("%M").arg("-o").arg(out).arg(program);
    c
}

/// Run a command built by [`with_time`]; returns its exit code and peak RSS in MiB.
pub fn peak_rss(cmd: &mut Command, out: &Path) -> (Run, f64) {
    let r = run_child(cmd);
    let kib = std::fs::read_to_string(out)
        .ok()
        .and_then(|t| t.lines().last().and_then(|l| l.trim().parse::<f64>().ok()))
        .expect("GNU time output (%M)");
    (r, kib / 1024.0)
}

/// Run `cmd` and insist it exits with `code`.
pub fn run_expect(cmd: &mut Command, code: i32, what: &str) -> Run {
    let r = run_child(cmd);
    assert_eq!(
        r.code, code,
        "{what} exited {}; run it by hand to see why",
        r.code
    );
    r
}

pub fn wall_ms(v: &[Run]) -> Vec<f64> {
    v.iter().map(|r| ms(r.wall)).collect()
}

pub fn cpu_ms(v: &[Run]) -> Vec<f64> {
    v.iter().map(|r| ms(r.cpu)).collect()
}

/// A `Duration`'s `Debug` text (`12.3ms`, `950.1µs`, `1.2s`) back to a duration.
pub fn parse_debug_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    for (suffix, scale) in [("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0)] {
        if let Some(n) = s.strip_suffix(suffix) {
            if let Ok(v) = n.parse::<f64>() {
                return Some(Duration::from_secs_f64(v * scale));
            }
        }
    }
    None
}

pub fn first_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "unknown".into())
}
