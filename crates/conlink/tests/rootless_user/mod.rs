//! A throwaway unprivileged user with rootless Podman set up, removed on drop with
//! every process, file and subordinate id range it had (even when the test failed).
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Size of the subordinate uid/gid range (what podman's default mappings expect).
const SUBID_COUNT: u32 = 65536;

/// This machine lacks CAP_SYS_RESOURCE, so podman must not raise ulimits. The
/// capabilities are podman's defaults plus NET_RAW: podman ≥ 4 dropped NET_RAW, and
/// busybox's ping (alpine's) needs a raw socket.
const CONTAINERS_CONF: &str = r#"[containers]
default_ulimits = []
default_capabilities = [
  "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE",
  "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT", "NET_RAW",
]
"#;

/// Native overlay (kernel ≥ 5.13) instead of the vfs fallback, which would copy the
/// conlink image for every container.
const STORAGE_CONF: &str = "[storage]\ndriver = \"overlay\"\n";

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn installed(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// newuidmap/newgidmap (package uidmap) and slirp4netns, installed when missing.
pub fn install_prerequisites() -> Result<(), String> {
    if ["newuidmap", "newgidmap", "slirp4netns", "podman"].iter().all(|p| installed(p)) {
        return Ok(());
    }
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "uidmap", "slirp4netns", "podman"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
    };
    let ok = |o: &std::io::Result<Output>| o.as_ref().is_ok_and(|o| o.status.success());
    let mut out = install();
    if !ok(&out) {
        let _ = Command::new("apt-get").arg("update").output();
        out = install();
    }
    match out {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!("apt-get install uidmap slirp4netns podman failed:\n{}", text(&o))),
        Err(e) => Err(format!("cannot run apt-get: {e}")),
    }
}

pub struct RootlessUser {
    pub name: String,
    pub uid: u32,
    pub home: PathBuf,
    /// Its $XDG_RUNTIME_DIR (no logind here to make /run/user/UID).
    pub runtime_dir: PathBuf,
    subid_start: u32,
}

impl RootlessUser {
    /// Creates user `name` with a subordinate id range starting at `subid_start`, a
    /// runtime dir and rootless Podman's configuration. `name` must be unique to the run.
    pub fn create(name: &str, subid_start: u32) -> RootlessUser {
        remove_leftover(name);
        // The guard exists before the user does, so a half-made user is removed too.
        let mut user = RootlessUser {
            name: name.into(),
            uid: u32::MAX,
            home: PathBuf::from("/home").join(name),
            runtime_dir: PathBuf::new(),
            subid_start,
        };
        let ids = format!("{subid_start}-{}", subid_start + SUBID_COUNT - 1);
        let out = run(Command::new("useradd").args(["-m", "-s", "/bin/sh", name]));
        assert!(out.status.success(), "useradd {name}: {}", text(&out));
        let out = run(Command::new("usermod").args(["--add-subuids", &ids, "--add-subgids", &ids, name]));
        assert!(out.status.success(), "usermod --add-subuids {ids} {name}: {}", text(&out));
        let id = run(Command::new("id").args(["-u", name]));
        user.uid = String::from_utf8_lossy(&id.stdout).trim().parse().expect("uid of the new user");
        user.runtime_dir = PathBuf::from(format!("/tmp/{name}-run"));
        std::fs::create_dir_all(&user.runtime_dir).unwrap();
        std::fs::set_permissions(&user.runtime_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        user.chown(&user.runtime_dir.clone());
        let conf = user.home.join(".config/containers");
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::write(conf.join("containers.conf"), CONTAINERS_CONF).unwrap();
        std::fs::write(conf.join("storage.conf"), STORAGE_CONF).unwrap();
        user.chown(&user.home.join(".config"));
        user
    }

    /// Gives `path` (recursively) to the user.
    pub fn chown(&self, path: &Path) {
        let out = run(Command::new("chown").args(["-R", &format!("{0}:{0}", self.name)]).arg(path));
        assert!(out.status.success(), "chown {}: {}", path.display(), text(&out));
    }

    /// `script` run by the user's login shell in `dir` (relative to home), with its
    /// XDG_RUNTIME_DIR: what the user would type in a terminal.
    pub fn command(&self, dir: &str, script: &str) -> Command {
        let mut c = Command::new("su");
        c.args(["-l", &self.name, "-c"])
            .arg(format!("export XDG_RUNTIME_DIR={}; cd ~/{dir} && {script}", self.runtime_dir.display()));
        c
    }

    pub fn sh(&self, dir: &str, script: &str) -> Output {
        run(&mut self.command(dir, script))
    }

    /// Like `sh`, in the background with its output in `log`, in its own process group.
    pub fn spawn(&self, dir: &str, script: &str, log: &Path) -> Child {
        use std::os::unix::process::CommandExt as _;
        let file = std::fs::File::create(log).unwrap();
        self.command(dir, script)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .process_group(0)
            .spawn()
            .expect("spawn a command as the rootless user")
    }

    /// PIDs of every process of the user or of its subordinate ids (its containers).
    pub fn processes(&self) -> Vec<i32> {
        let range = self.subid_start..self.subid_start + SUBID_COUNT;
        let mut pids = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
            let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else { continue };
            // Zombies are gone already; only their parent's wait removes them.
            if status.lines().any(|l| l.starts_with("State:") && l.contains("Z (zombie)")) {
                continue;
            }
            let uid = status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u32>().ok());
            if uid.is_some_and(|u| u == self.uid || range.contains(&u)) {
                pids.push(pid);
            }
        }
        pids
    }
}

impl Drop for RootlessUser {
    fn drop(&mut self) {
        let started = Instant::now();
        if self.uid != u32::MAX {
            // Containers first (conmon cleans up their mounts), then what is left, by PID.
            let _ =
                self.command("", "podman rm -a -f -t 0").stdout(Stdio::null()).stderr(Stdio::null()).status();
            let start = Instant::now();
            loop {
                let pids = self.processes();
                if pids.is_empty() || start.elapsed() > Duration::from_secs(10) {
                    break;
                }
                for pid in pids {
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        remove_leftover(&self.name);
        super::support::say(&format!("rootless user {} removed in {:?}", self.name, started.elapsed()));
        if !self.runtime_dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.runtime_dir);
        }
    }
}

/// Removes user `name`, its home and its subordinate ids (a leftover of a killed run).
fn remove_leftover(name: &str) {
    let exists = Command::new("id").arg(name).stdout(Stdio::null()).stderr(Stdio::null()).status();
    if exists.is_ok_and(|s| s.success()) {
        let _ = Command::new("userdel")
            .args(["-r", "-f", name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = std::fs::remove_dir_all(PathBuf::from("/home").join(name));
    for file in ["/etc/subuid", "/etc/subgid"] {
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        let prefix = format!("{name}:");
        if text.lines().any(|l| l.starts_with(&prefix)) {
            let kept: String =
                text.lines().filter(|l| !l.starts_with(&prefix)).map(|l| format!("{l}\n")).collect();
            let _ = std::fs::write(file, kept);
        }
    }
}
