//! Hostile configs through the real binary (`conlink --show-config`): each
//! ends by itself, fast and small, exit 1, with a short error that names the
//! file. Wall time and peak RSS (wait4's ru_maxrss: an upper bound, it also
//! counts this small test process as forked) are checked with generous
//! bounds (5 s, 200 MB); the design target of ~1 s and ~100 MB is what the
//! README states.

mod support;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{conlink_bin, unique};

const TIME_BOUND: Duration = Duration::from_secs(5);
const RSS_BOUND_KB: i64 = 200 * 1024;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    wall: Duration,
    max_rss_kb: i64,
}

fn show_config(flag: &str, file: &Path) -> Run {
    let start = Instant::now();
    // Reaped below by waitpid/wait4 (which also gives the rusage), not Child::wait.
    #[allow(clippy::zombie_processes)]
    let mut child = Command::new(conlink_bin())
        .args([flag, file.to_str().unwrap(), "--show-config"])
        .env_remove("VERBOSE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let mut status = 0;
    // SAFETY: waits for our own child; the kernel fills `ru`.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
        if r == pid {
            break;
        }
        assert_eq!(r, 0, "wait4: {}", std::io::Error::last_os_error());
        if start.elapsed() > Duration::from_secs(30) {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let wall = start.elapsed();
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Run {
        code,
        stdout: String::from_utf8_lossy(&out_t.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err_t.join().unwrap()).into_owned(),
        wall,
        max_rss_kb: ru.ru_maxrss,
    }
}

/// Runs `text` as a file through the binary; checks exit 1, bounds, and `want` in stderr.
fn refused(name: &str, flag: &str, text: &str, want: &[&str]) -> Run {
    let dir = std::env::temp_dir().join(unique("cl-hostile"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    let run = show_config(flag, &file);
    std::fs::remove_dir_all(&dir).unwrap();
    check(name, &run, want);
    run
}

fn check(name: &str, run: &Run, want: &[&str]) {
    assert_eq!(run.code, Some(1), "{name}: exit {:?}\n{}", run.code, run.stderr);
    assert!(run.wall < TIME_BOUND, "{name}: took {:?}", run.wall);
    assert!(run.max_rss_kb < RSS_BOUND_KB, "{name}: peak RSS {} KB", run.max_rss_kb);
    assert!(run.stderr.len() < 16 * 1024, "{name}: {} bytes of stderr", run.stderr.len());
    assert!(run.stdout.is_empty(), "{name}: stdout {:?}", run.stdout);
    for w in want {
        assert!(run.stderr.contains(w), "{name}: {w:?} not in stderr:\n{}", run.stderr);
    }
    eprintln!(
        "{name:<28} {:>7.3} s, peak RSS <= {:>6} KB, {} bytes of stderr",
        run.wall.as_secs_f64(),
        run.max_rss_kb,
        run.stderr.len()
    );
}

#[test]
fn dev_zero_is_refused_at_once() {
    let run = show_config("--network-file", Path::new("/dev/zero"));
    check("/dev/zero", &run, &["/dev/zero: file is larger than the 4 MiB limit"]);
}

#[test]
fn parse_bombs_end_fast_and_small() {
    let bomb = format!("big: &big \"{}\"\nlinks: [{}]\n", "x".repeat(100_000), vec!["*big"; 5000].join(","));
    assert!(bomb.len() < 130_000);
    refused(
        "bomb.yaml",
        "--network-file",
        &bomb,
        &["bomb.yaml: invalid YAML", "larger than 8 MiB once parsed"],
    );
    let flow = format!("links: {}", "[".repeat(80_000));
    refused("flow.yaml", "--network-file", &flow, &["flow.yaml: YAML nests deeper than 256 levels"]);
    let block = format!("links:\n  {}x\n", "- ".repeat(40_000));
    refused("block.yaml", "--compose-file", &block, &["block.yaml: YAML nests deeper than 256 levels"]);
    let dense = format!("x: [{}]\n", vec!["a"; 1_000_000].join(","));
    refused("dense.yaml", "--network-file", &dense, &["dense.yaml: YAML has more than 50000 values"]);
}

#[test]
fn long_values_and_many_errors_stay_short() {
    let long = format!("links: [{{service: a, bridge: s1, ip: \"{}/24\"}}]\n", "1".repeat(500_000));
    let run = refused("long.yaml", "--network-file", &long, &["/links/0/ip", "…(500003 bytes)"]);
    assert!(run.stderr.len() < 1024, "{}", run.stderr);
    let many: String = std::iter::once("links:\n".to_string())
        .chain((0..2000).map(|i| format!("  - {{service: a{i}, bridge: s1, mtu: 1}}\n")))
        .collect();
    let run = refused("many.yaml", "--network-file", &many, &["/links/0/mtu", "and 1980 more"]);
    let issue_lines = run.stderr.lines().filter(|l| l.starts_with("  ")).count();
    assert_eq!(issue_lines, 21, "20 issues and the count of the rest:\n{}", run.stderr);
    // Control characters in a value never reach the terminal raw.
    let esc = "links: [{service: a, bridge: \"\\e[2J\\e]0;pwned\\a\"}]\n";
    let run = refused("esc.yaml", "--network-file", esc, &["/links/0/bridge", "control or escape"]);
    assert!(!run.stderr.contains('\u{1b}') && !run.stderr.contains('\u{7}'), "{:?}", run.stderr);
}

#[test]
fn compose_errors_name_file_service_and_both_places() {
    let bad_mtu =
        "services:\n  h1:\n    image: alpine\n    x-network:\n      links:\n        - {bridge: s1, mtu: 1}\n";
    refused(
        "compose.yaml",
        "--compose-file",
        bad_mtu,
        &["/links/0/mtu (", "compose.yaml: services.h1 x-network links[0].mtu): MTU 1 is out of range"],
    );
    // Conflicts name both places, each with its file and service.
    let clash = "services:\n  web:\n    image: alpine\n    scale: 3\n    x-network:\n      links:\n        - {bridge: s1, ip: 10.0.0.1/24, forward: \"8080:80/tcp\"}\n        - {dev: eth1, bridge: s2, outer-dev: s1}\n";
    refused(
        "compose.yaml",
        "--compose-file",
        clash,
        &[
            "/links/1/outer-dev (",
            "compose.yaml: services.web x-network links[1].outer-dev): outer-dev of replica 1 \"s1\" is also the name of the bridge at /links/0/bridge (",
            "compose.yaml: services.web x-network links[0].bridge)",
        ],
    );
}
