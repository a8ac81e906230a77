//! Helpers for end-to-end tests against a real dockerd and real `docker compose`.
#![allow(dead_code)]

pub mod host;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

pub fn examples() -> PathBuf {
    repo_root().join("examples")
}

/// The conlink binary cargo built for these tests.
pub fn conlink_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_conlink"))
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Whether dockerd, compose and the test images are there. When the README's test
/// command runs (CONLINK_E2E_REQUIRED=1) a missing piece is a failure, not a skip.
pub fn docker_available(test: &str) -> bool {
    let missing = [
        (vec!["info"], "dockerd is not reachable"),
        (vec!["compose", "version"], "the docker compose plugin is missing"),
        (
            vec!["image", "inspect", "conlink:latest"],
            "image conlink:latest is missing (scripts/build-image.sh)",
        ),
        (
            vec!["image", "inspect", "alpine:latest"],
            "image alpine:latest is missing (scripts/test-env.sh up)",
        ),
    ]
    .into_iter()
    .find(|(args, _)| {
        !Command::new("docker")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    match missing {
        None => true,
        Some((_, why)) => {
            if std::env::var("CONLINK_E2E_REQUIRED").as_deref() == Ok("1") {
                panic!("{test}: {why}");
            }
            say(&format!("skipped {test}: {why} (run scripts/test.sh to set everything up)"));
            false
        }
    }
}

/// Prints to the real stderr: the test harness captures `eprintln!` of passing tests,
/// but skips and measurements must reach the person running the suite.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

static SEQ: AtomicU32 = AtomicU32::new(0);

pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}x{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst))
}

/// A compose project brought down (containers, volumes) when dropped.
pub struct Compose {
    pub project: String,
    pub files: Vec<PathBuf>,
    pub env: Vec<(String, String)>,
}

impl Compose {
    pub fn new(prefix: &str, files: &[&Path]) -> Compose {
        Compose {
            project: unique(prefix),
            files: files.iter().map(|f| f.to_path_buf()).collect(),
            env: vec![],
        }
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new("docker");
        c.arg("compose").arg("-p").arg(&self.project);
        for f in &self.files {
            c.arg("-f").arg(f);
        }
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    /// Runs `docker compose ARGS`, panicking with its output on failure.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = run(self.cmd().args(args));
        assert!(
            out.status.success(),
            "docker compose {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn logs(&self, service: &str) -> String {
        let out = run(self.cmd().args(["logs", "--no-color", service]));
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    /// Waits until `service`'s log contains `needle`; panics with the log on timeout.
    pub fn wait_log(&self, service: &str, needle: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let logs = self.logs(service);
            if logs.contains(needle) {
                return logs;
            }
            if start.elapsed() > timeout {
                panic!("{needle:?} not in {service} logs after {timeout:?}:\n{logs}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `docker compose exec -T [--index N] SERVICE ARGS`; returns the output, success or not.
    pub fn exec(&self, service: &str, index: u32, args: &[&str]) -> Output {
        let idx = index.to_string();
        let mut c = self.cmd();
        c.args(["exec", "-T", "--index", &idx, service]).args(args);
        run(&mut c)
    }

    /// Asserts a ping from SERVICE[index] to `dst` gets an answer.
    pub fn ping(&self, service: &str, index: u32, dst: &str) {
        // A fresh link may need a moment for ARP; retry a few times before failing.
        let mut last = None;
        for _ in 0..5 {
            let out = self.exec(service, index, &["ping", "-c1", "-W2", dst]);
            if out.status.success() {
                return;
            }
            last = Some(out);
        }
        let out = last.unwrap();
        panic!(
            "{service}[{index}] cannot ping {dst}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `ip -o addr show DEV` inside the container.
    pub fn ip_addr(&self, service: &str, index: u32, dev: &str) -> String {
        let out = self.exec(service, index, &["ip", "-o", "addr", "show", "dev", dev]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn ip_link(&self, service: &str, index: u32, dev: &str) -> String {
        let out = self.exec(service, index, &["ip", "-o", "link", "show", "dev", dev]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Compose {
    fn drop(&mut self) {
        let _ = self
            .cmd()
            .args(["down", "-t", "0", "-v", "--remove-orphans"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// conlink running directly on the host; SIGTERM + wait on drop.
pub struct HostConlink {
    pub child: Child,
    pub log: PathBuf,
}

impl HostConlink {
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> HostConlink {
        let log = std::env::temp_dir().join(format!("{}.log", unique("conlink-host-")));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(conlink_bin())
            .args(args)
            .envs(env.iter().copied())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("start conlink");
        HostConlink { child, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn wait_log(&mut self, needle: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("conlink exited ({status}) before {needle:?}:\n{log}");
            }
            if start.elapsed() > timeout {
                panic!("{needle:?} not logged after {timeout:?}:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM, then wait for a clean exit; returns the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let start = Instant::now();
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s;
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = self.child.kill();
                panic!("conlink did not exit after SIGTERM:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for HostConlink {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Number of `ms` from the `All links connected elapsed_ms=N` log line.
pub fn connected_ms(log: &str) -> Option<u64> {
    let line = log.lines().find(|l| l.contains("All links connected"))?;
    let v = line.split("elapsed_ms=").nth(1)?;
    v.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

impl Compose {
    /// Waits until DEV in SERVICE[index] has `addr`; panics with what it has on timeout.
    pub fn wait_for_addr(&self, service: &str, index: u32, dev: &str, addr: &str) {
        let start = Instant::now();
        loop {
            let have = self.ip_addr(service, index, dev);
            if have.contains(addr) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{service}[{index}] never got {addr} on {dev}; it has:\n{have}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Interface names in a named network namespace (`None`: the current one).
pub fn links_in(netns: Option<&str>) -> std::collections::BTreeSet<String> {
    let mut cmd = Command::new("ip");
    if let Some(n) = netns {
        cmd.args(["-n", n]);
    }
    let out = cmd.args(["-o", "link", "show"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap().to_string())
        .collect()
}
