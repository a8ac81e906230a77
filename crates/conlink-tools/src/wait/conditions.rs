//! The conditions `wait` can wait for, how each is checked once, and how it
//! is described in log lines.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::{netinfo, sys, tcp};

#[derive(Debug, PartialEq)]
pub enum Condition {
    InterfaceExists(String),
    InterfaceHasIp(String),
    FileExists(PathBuf),
    Tcp(String),
    /// A user command run with `sh -c`; met when it exits 0.
    Command(String),
}

impl Condition {
    /// One check. `deadline` bounds checks that can block (TCP, command).
    pub fn check(&self, deadline: Option<Instant>) -> bool {
        match self {
            // Every interface in this network namespace has a directory here.
            Condition::InterfaceExists(ifname) => Path::new("/sys/class/net").join(ifname).exists(),
            Condition::InterfaceHasIp(ifname) => netinfo::interface_has_ip(ifname),
            Condition::FileExists(path) => path.exists(),
            Condition::Tcp(target) => tcp::reachable(target, bounded(deadline, Duration::from_secs(2))),
            Condition::Command(cmd) => run_command(cmd, deadline),
        }
    }

    /// What is being waited for ("Waiting for …", timeout messages).
    pub fn describe(&self) -> String {
        match self {
            Condition::InterfaceExists(i) => format!("interface '{i}' to exist"),
            Condition::InterfaceHasIp(i) => format!("interface '{i}' to have an IP address/route"),
            Condition::FileExists(f) => format!("file '{}' to exist", f.display()),
            Condition::Tcp(t) => format!("TCP listener at '{t}' to be reachable"),
            Condition::Command(c) => format!("command '{c}' to succeed"),
        }
    }

    pub fn met_message(&self) -> String {
        match self {
            Condition::InterfaceExists(i) => format!("Interface '{i}' exists"),
            Condition::InterfaceHasIp(i) => format!("Interface '{i}' has IP/routing"),
            Condition::FileExists(f) => format!("File '{}' exists", f.display()),
            Condition::Tcp(t) => format!("TCP listener is reachable at '{t}'"),
            Condition::Command(c) => format!("Command successful: {c}"),
        }
    }
}

/// `limit`, shortened so a single check never outlives the deadline.
fn bounded(deadline: Option<Instant>, limit: Duration) -> Duration {
    let left = deadline.map_or(limit, |d| d.saturating_duration_since(Instant::now()));
    left.min(limit).max(Duration::from_millis(10))
}

/// Runs `sh -c CMD` (its output goes to ours). It gets its own process group
/// so that, if the overall deadline passes while it runs, it and anything it
/// started are killed and `--timeout` holds.
fn run_command(cmd: &str, deadline: Option<Instant>) -> bool {
    let mut child = match Command::new("sh").arg("-c").arg(cmd).process_group(0).spawn() {
        Ok(child) => child,
        Err(err) => {
            eprintln!("wait: cannot start 'sh -c {cmd}': {err}");
            return false;
        }
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if deadline.is_some_and(|d| Instant::now() >= d) => {
                sys::kill_process_group(child.id());
                let _ = child.wait();
                return false;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_exists_and_made_up_interface_does_not() {
        assert!(Condition::InterfaceExists("lo".into()).check(None));
        assert!(!Condition::InterfaceExists("nosuchif0".into()).check(None));
    }

    #[test]
    fn command_exit_status_decides() {
        assert!(Condition::Command("exit 0".into()).check(None));
        assert!(!Condition::Command("exit 3".into()).check(None));
    }

    #[test]
    fn command_is_killed_at_deadline() {
        let start = Instant::now();
        let deadline = Some(start + Duration::from_millis(200));
        assert!(!Condition::Command("sleep 5".into()).check(deadline));
        assert!(start.elapsed() < Duration::from_secs(2));
    }
}
