//! Host-side helpers of the e2e tests: commands, polling, throwaway namespaces and directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{unique, HostConlink};

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Runs a program, panicking with its output when it fails.
pub fn must(prog: &str, args: &[&str]) -> String {
    let out = run(Command::new(prog).args(args));
    assert!(out.status.success(), "{prog} {args:?} failed: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `f` until it returns Some, panicking with `what` (and the last value seen) on timeout.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match f() {
            Ok(v) => return v,
            Err(last) if start.elapsed() > timeout => panic!("{what}: not after {timeout:?}; last: {last}"),
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

/// A network namespace made with `ip netns add`, deleted on drop (also when conlink,
/// which adopts an existing `--netns NAME`, already removed it).
pub struct NetnsGuard(pub String);

impl NetnsGuard {
    pub fn new(prefix: &str) -> NetnsGuard {
        let name = unique(prefix);
        must("ip", &["netns", "add", &name]);
        let g = NetnsGuard(name);
        g.ip(&["link", "set", "lo", "up"]);
        g
    }

    /// A name for a namespace conlink creates itself (`--netns NAME`); still removed on drop.
    pub fn for_conlink(prefix: &str) -> NetnsGuard {
        NetnsGuard(unique(prefix))
    }

    pub fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.0)
    }

    /// `ip -n NS ARGS`, which must succeed.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut full = vec!["-n", self.0.as_str()];
        full.extend_from_slice(args);
        must("ip", &full)
    }

    /// `ip netns exec NS PROG ARGS`, success or not.
    pub fn exec(&self, prog: &str, args: &[&str]) -> Output {
        run(Command::new("ip").args(["netns", "exec", &self.0, prog]).args(args))
    }
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        if self.path().exists() {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).stderr(Stdio::null()).status();
        }
    }
}

/// A directory under the temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let p = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `ip link add ... type KIND ARGS` works (tried in a throwaway namespace).
pub fn kernel_has_link_kind(kind: &str, args: &[&str]) -> bool {
    let ns = NetnsGuard::new("kk");
    ns.ip(&["link", "add", "kk0", "type", "veth", "peer", "name", "kk1"]);
    let mut full = vec!["-n", ns.0.as_str(), "link", "add"];
    if kind == "vlan" {
        full.extend_from_slice(&["link", "kk0"]);
    }
    full.extend_from_slice(&["name", "kktest", "type", kind]);
    full.extend_from_slice(args);
    run(Command::new("ip").args(&full)).status.success()
}

/// Waits for conlink to exit by itself; returns its status and log.
pub fn wait_exit(c: &mut HostConlink, timeout: Duration) -> (std::process::ExitStatus, String) {
    let status = wait_for("conlink exits", timeout, || match c.child.try_wait() {
        Ok(Some(s)) => Ok(s),
        _ => Err(c.log()),
    });
    (status, c.log())
}

/// Lines of `log` containing every one of `needles`.
pub fn lines_with<'a>(log: &'a str, needles: &[&str]) -> Vec<&'a str> {
    log.lines().filter(|l| needles.iter().all(|n| l.contains(n))).collect()
}
