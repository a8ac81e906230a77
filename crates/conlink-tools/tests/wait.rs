//! `wait`: each condition met, each timing out with --timeout, exec.

mod common;

use common::*;
use std::net::TcpListener;
use std::os::unix::fs::symlink;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn interface_exists_then_runs_command() {
    let out = run(tool("wait").args(["-i", "lo", "--", "echo", "started"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "started\n");
    assert!(stderr(&out).contains("Interface 'lo' exists"));
    assert!(stderr(&out).contains("Running: echo started"));
}

#[test]
fn missing_interface_times_out_with_message() {
    let t = Instant::now();
    let out =
        run(tool("wait").args(["-s", "0.1", "--timeout", "0.5", "-i", "nosuchif0", "--", "echo", "ran"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(t.elapsed() < Duration::from_secs(5));
    let err = stderr(&out);
    assert!(err.contains("timed out") && err.contains("interface 'nosuchif0' to exist"), "{err}");
    assert!(err.contains("Waiting for interface 'nosuchif0'"), "{err}");
    assert_eq!(stdout(&out), "", "command must not run");
}

/// An interface that has an address on this machine: one with an IPv4 route,
/// else `lo` if it has ::1.
fn interface_with_ip() -> Option<String> {
    let route = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    if let Some(line) = route.lines().nth(1) {
        return line.split_whitespace().next().map(String::from);
    }
    let inet6 = std::fs::read_to_string("/proc/net/if_inet6").unwrap_or_default();
    inet6.lines().any(|l| l.ends_with(" lo")).then(|| "lo".to_string())
}

#[test]
fn interface_with_ip_is_met() {
    let Some(ifname) = interface_with_ip() else {
        eprintln!("SKIP: no interface with an IPv4 route or IPv6 address here");
        return;
    };
    let out = run(tool("wait").args(["--timeout", "2", "-I", &ifname, "--", "true"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("Interface '{ifname}' has IP/routing")));
}

#[test]
fn interface_without_ip_times_out() {
    let out = run(tool("wait").args(["-s", "0.1", "--timeout", "0.3", "-I", "nosuchif0"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("interface 'nosuchif0' to have an IP"), "{}", stderr(&out));
}

#[test]
fn file_that_appears_later() {
    let dir = TempDir::new("wait-file");
    let file = dir.join("ready");
    let f2 = file.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        std::fs::write(f2, "").unwrap();
    });
    let t = Instant::now();
    let out = run(tool("wait").args(["-s", "0.1", "--timeout", "10", "-f"]).arg(&file));
    writer.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(t.elapsed() >= Duration::from_millis(400), "returned before the file existed");
    assert!(stderr(&out).contains("exists"));
}

#[test]
fn first_unmet_condition_is_named() {
    let dir = TempDir::new("wait-order");
    let (a, b) = (dir.join("a"), dir.join("b"));
    let out = run(tool("wait").args(["-s", "0.1", "--timeout", "0.3", "-f"]).arg(&a).arg("-f").arg(&b));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&format!("file '{}' to exist", a.display())), "{err}");
    assert!(!err.contains(&format!("'{}'", b.display())), "second condition must not be checked yet: {err}");
}

#[test]
fn conditions_run_in_order() {
    // The command creates the file the next condition waits for.
    let dir = TempDir::new("wait-seq");
    let file = dir.join("made");
    let out = run(tool("wait")
        .args(["--timeout", "2", "-c"])
        .arg(format!("touch {}", file.display()))
        .arg("-f")
        .arg(&file));
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn tcp_listener_on_loopback() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    for target in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        let out = run(tool("wait").args(["--timeout", "3", "-t", &target, "--", "echo", "up"]));
        assert!(out.status.success(), "{target}: {}", stderr(&out));
        assert!(stderr(&out).contains(&format!("TCP listener is reachable at '{target}'")));
        assert_eq!(stdout(&out), "up\n");
    }
}

#[test]
fn tcp_listener_that_starts_later() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let _ = l.accept();
    });
    let out = run(tool("wait").args(["-s", "0.1", "--timeout", "5", "-t", &format!("127.0.0.1:{port}")]));
    server.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn closed_port_times_out() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = run(tool("wait").args(["-s", "0.1", "--timeout", "0.5", "-t", &format!("127.0.0.1:{port}")]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("TCP listener at '127.0.0.1:{port}' to be reachable")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn command_until_success_and_timeout() {
    let dir = TempDir::new("wait-cmd");
    let counter = dir.join("count");
    // Succeeds on the third try: each run appends a line.
    let cmd = format!("echo x >> {0}; [ $(wc -l < {0}) -ge 3 ]", counter.display());
    let out = run(tool("wait").args(["-s", "0.05", "--timeout", "5", "-c", &cmd]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&counter).unwrap().lines().count(), 3);

    let t = Instant::now();
    let out = run(tool("wait").args(["-s", "0.1", "--timeout", "0.5", "-c", "sleep 30"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(t.elapsed() < Duration::from_secs(5), "hung command must be stopped at the deadline");
    assert!(stderr(&out).contains("command 'sleep 30' to succeed"));
}

#[test]
fn exec_replaces_the_process() {
    // sh prints its own PID; with exec it is the PID of the wait process.
    let child = tool("wait")
        .args(["-i", "lo", "--", "sh", "-c", "echo $$"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), pid.to_string());
}

#[test]
fn exit_code_of_command_and_missing_command() {
    let out = run(tool("wait").args(["--", "sh", "-c", "exit 7"]));
    assert_eq!(out.status.code(), Some(7));
    let out = run(tool("wait").args(["--", "/nonexistent/cmd"]));
    assert_eq!(out.status.code(), Some(127));
    assert!(stderr(&out).contains("cannot run '/nonexistent/cmd'"));
}

#[test]
fn umask_is_applied_before_exec() {
    let out = run(tool("wait").args(["-u", "027", "--", "sh", "-c", "umask"]));
    assert!(out.status.success());
    assert_eq!(stdout(&out).trim(), "0027");
}

#[test]
fn bad_usage_exits_2() {
    for args in [&["-x", "1"][..], &["-i"], &["-t", "nohost"], &["--timeout", "soon"]] {
        let out = run(tool("wait").args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("Usage: wait"));
    }
}

#[test]
fn called_by_its_tool_name() {
    let dir = TempDir::new("wait-argv0");
    let link = dir.join("wait");
    symlink(BIN, &link).unwrap();
    let out = run(std::process::Command::new(&link).args(["-f", "/", "--", "echo", "via-argv0"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "via-argv0\n");
}
