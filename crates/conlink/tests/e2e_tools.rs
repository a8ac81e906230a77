//! End to end: the compose tools with real dockerd and real `docker compose`.
//! - test4: `mdc MODES up -d` on examples/test4-multiple (modes node1,
//!   node1+nodes2, all), pings across the router r0 and r0's web server.
//! - test11: `copy -T` templating the web server's files and `wait -I eth0 -t
//!   webserver:8080` in the client (examples/test11-compose.yaml).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::{connected_ms, docker_available, examples, say, unique, Compose};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// The multi-call tools binary cargo built next to conlink (`cargo build -p
/// conlink-tools`, static through scripts/cargo-static.sh: it runs in busybox).
fn tools_bin() -> PathBuf {
    support::conlink_bin().with_file_name("conlink-tools")
}

/// Like `docker_available`: a missing tools binary is a skip, or a failure under
/// the README's test command (CONLINK_E2E_REQUIRED=1, which builds it first).
fn tools_available(test: &str) -> bool {
    if tools_bin().is_file() {
        return true;
    }
    let why = format!("{} is missing (cargo build -p conlink-tools)", tools_bin().display());
    if std::env::var("CONLINK_E2E_REQUIRED").as_deref() == Ok("1") {
        panic!("{test}: {why}");
    }
    say(&format!("skipped {test}: {why}"));
    false
}

/// A temporary directory removed (with everything mdc wrote into it) when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> TempDir {
        let dir = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `cp -r SRC/. DST` (files, directories, dotfiles; the examples hold nothing else).
fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// KEY=VALUE lines of the `.env` mdc wrote (comments skipped, surrounding quotes removed).
fn read_env_file(path: &Path) -> Option<BTreeMap<String, String>> {
    let content = std::fs::read_to_string(path).ok()?;
    Some(
        content
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
            .collect(),
    )
}

/// Runs `conlink-tools mdc MODES up -d` in `dir` under a fresh project name and
/// returns the project (brought down on drop) and mdc's output. Later compose
/// commands use the files and variables mdc put into `.env`, as `mdc MODES ARGS` would.
fn mdc_up(dir: &Path, modes: &str) -> (Compose, String) {
    let mut c = Compose::new("t4m", &[]);
    let out = Command::new(tools_bin())
        .args(["mdc", modes, "up", "-d"])
        .current_dir(dir)
        .env("COMPOSE_PROJECT_NAME", &c.project)
        .env_remove("COMPOSE_FILE")
        .env_remove("MODES_DIR")
        .env_remove("ENV_FILE")
        .env_remove("MDC_FILES_DIR")
        .env_remove("DOCKER_COMPOSE")
        .output()
        .expect("run conlink-tools mdc");
    // Fill in the project before asserting anything, so that the guard can bring
    // down whatever compose started even if mdc reported a failure.
    if let Some(env) = read_env_file(&dir.join(".env")) {
        if let Some(files) = env.get("COMPOSE_FILE") {
            c.files = files.split(':').map(|f| dir.join(f)).collect();
        }
        c.env = env.into_iter().collect();
    }
    let log = text(&out);
    assert!(out.status.success(), "mdc {modes} up -d failed ({}):\n{log}", out.status);
    assert!(!c.files.is_empty(), "mdc {modes} wrote no COMPOSE_FILE into {}/.env:\n{log}", dir.display());
    (c, log)
}

/// Names of the project's running services.
fn running_services(c: &Compose) -> BTreeSet<String> {
    c.ok(&["ps", "--status", "running", "--services"]).lines().map(str::to_string).collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// `wget -qO- URL` from SERVICE[index], retried until it answers (a server started
/// by a conlink command or after `wait` may need a moment); returns the body.
/// (busybox's own `wget -T` crashes in Debian's busybox-static 1.35: use `timeout`.)
fn fetch(c: &Compose, service: &str, index: u32, url: &str) -> String {
    let start = Instant::now();
    loop {
        let out = c.exec(service, index, &["timeout", "5", "wget", "-q", "-O", "-", url]);
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).into_owned();
        }
        if start.elapsed() > Duration::from_secs(20) {
            panic!("{service}[{index}]: wget {url} failed for 20 s:\n{}", text(&out));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Checks one test4 run: mdc's mode list, the `.env` it wrote, the services
/// compose started, and conlink's `All links connected`.
fn check_mode(c: &Compose, dir: &Path, mdc_log: &str, modes: &[&str], services: &[&str]) {
    let line = format!("MODES: {}", modes.join(" "));
    assert!(mdc_log.contains(&line), "mdc did not print {line:?}:\n{mdc_log}");
    let env = read_env_file(&dir.join(".env")).unwrap();
    let profiles: Vec<String> = modes.iter().map(|m| format!("MODE_{m}")).collect();
    assert_eq!(env.get("COMPOSE_PROFILES"), Some(&profiles.join(",")), ".env: {env:?}");
    for m in modes {
        assert_eq!(env.get(&format!("MDC_MODE_{m}")).map(String::as_str), Some("enabled"), ".env: {env:?}");
    }
    let log = c.wait_log("network", "All links connected", CONNECT_TIMEOUT);
    say(&format!("test4 mdc {}: All links connected after {:?} ms", modes.join(","), connected_ms(&log)));
    assert_eq!(running_services(c), set(services), "services started by mdc {}", modes.join(","));
}

#[test]
fn test4_modes_with_mdc() {
    let name = "test4_modes_with_mdc";
    if !docker_available(name) || !tools_available(name) {
        return;
    }
    let started = Instant::now();
    // mdc writes .env, .compose-empty.yaml and .files/ where it runs: use a copy.
    let tmp = TempDir::new("conlink-test4-");
    copy_tree(&examples().join("test4-multiple"), &tmp.0);
    let dir = tmp.0.as_path();
    let r0_web = "hello from r0\n";

    // Mode node1 (+ base): r0 and node1 only, no web server.
    {
        let t = Instant::now();
        let (c, log) = mdc_up(dir, "node1");
        check_mode(&c, dir, &log, &["base", "node1"], &["network", "node1", "r0"]);
        assert!(c.ip_addr("node1", 1, "eth0").contains("10.1.0.1/16"));
        c.ping("node1", 1, "10.1.0.100"); // r0 on s1
        c.ping("node1", 1, "10.0.0.100"); // r0's s0 address, through the default route
        c.ping("r0", 1, "10.1.0.1");
        assert_eq!(c.ip_addr("r0", 1, "e2"), "", "r0 has no s2 link without mode nodes2");
        let out = c.exec("node1", 1, &["timeout", "5", "wget", "-q", "-O", "-", "http://10.1.0.100/"]);
        assert!(!out.status.success(), "a web server answers on r0 without mode web:\n{}", text(&out));
        say(&format!("test4 mdc node1: checked in {:?}", t.elapsed()));
    }

    // Modes node1,nodes2: node2 (2 replicas) on s2, routed through r0.
    {
        let t = Instant::now();
        let (c, log) = mdc_up(dir, "node1,nodes2");
        check_mode(&c, dir, &log, &["base", "node1", "nodes2"], &["network", "node1", "node2", "r0"]);
        let replicas = c.ok(&["ps", "-q", "node2"]).lines().count();
        assert_eq!(replicas, 2, "node2 replicas");
        assert!(c.ip_addr("node2", 1, "eth0").contains("10.2.0.1/16"));
        assert!(c.ip_addr("node2", 2, "eth0").contains("10.2.0.2/16"));
        c.ping("node1", 1, "10.2.0.1"); // node1 -> r0 -> node2 replica 1
        c.ping("node1", 1, "10.2.0.2"); // node1 -> r0 -> node2 replica 2
        c.ping("node2", 1, "10.1.0.1");
        c.ping("node2", 2, "10.1.0.1");
        c.ping("node2", 2, "10.0.0.100");
        c.ping("node2", 2, "10.2.0.1"); // replica to replica on s2
        say(&format!("test4 mdc node1,nodes2: checked in {:?}", t.elapsed()));
    }

    // Mode all: everything, plus the web server conlink starts in r0.
    {
        let t = Instant::now();
        let (c, log) = mdc_up(dir, "all");
        check_mode(
            &c,
            dir,
            &log,
            &["base", "node1", "nodes2", "web", "all"],
            &["network", "node1", "node2", "r0"],
        );
        c.ping("node1", 1, "10.2.0.2");
        c.ping("node2", 1, "10.1.0.1");
        c.ping("node2", 2, "10.0.0.100");
        assert_eq!(fetch(&c, "node1", 1, "http://10.1.0.100/"), r0_web);
        assert_eq!(fetch(&c, "node2", 2, "http://10.2.0.100/"), r0_web);
        assert_eq!(fetch(&c, "node2", 1, "http://10.0.0.100/"), r0_web); // routed to r0's s0 address
        say(&format!("test4 mdc all: checked in {:?}", t.elapsed()));
    }
    say(&format!("test4 (3 mdc projects): {:?}", started.elapsed()));
}

#[test]
fn test11_copy_template_and_wait() {
    let name = "test11_copy_template_and_wait";
    if !docker_available(name) {
        return;
    }
    let started = Instant::now();
    let file = examples().join("test11-compose.yaml");
    // The served files are templates: the content checked below only appears
    // if `copy -T` substituted VAL2.
    let file2 = std::fs::read_to_string(examples().join("test11-files/dir1/dir2/file2")).unwrap();
    assert_eq!(file2, "{{VAL2}}\n");
    let c = Compose::new("t11", &[&file]);
    c.ok(&["up", "-d"]);
    let log = c.wait_log("network", "All links connected", CONNECT_TIMEOUT);
    say(&format!("test11: All links connected after {:?} ms", connected_ms(&log)));

    // The client fetched the file after `wait -I eth0 -t webserver:8080`; it appends
    // each fetch to /tmp/test.log and exits 1 on the first wrong content.
    let t = Instant::now();
    let fetched = loop {
        let out = c.exec("client", 1, &["cat", "/tmp/test.log"]);
        let content = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() && !content.is_empty() {
            break content;
        }
        // The client exits 1 as soon as it fetched anything but "val2".
        assert!(
            running_services(&c).contains("client"),
            "client exited (wrong content?):\n{}",
            c.logs("client")
        );
        if t.elapsed() > CONNECT_TIMEOUT {
            panic!("client never fetched the file:\n{}\n{}", text(&out), c.logs("client"));
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    say(&format!("test11: client fetched the file {:?} after All links connected", t.elapsed()));
    assert!(fetched.lines().all(|l| l == "val2"), "client's /tmp/test.log: {fetched:?}");

    let client_log = c.logs("client");
    let has_ip = client_log.find("Interface 'eth0' has IP/routing");
    let reachable = client_log.find("TCP listener is reachable at 'webserver:8080'");
    let running = client_log.find("Running: sh -c");
    assert!(
        has_ip.is_some()
            && reachable.is_some()
            && running.is_some()
            && has_ip < reachable
            && reachable < running,
        "client did not wait for eth0 and webserver:8080 before its command:\n{client_log}"
    );
    assert!(running_services(&c).contains("client"), "client exited (wrong content?):\n{client_log}");

    // What a user checks by hand: the templated files as served.
    assert_eq!(fetch(&c, "client", 1, "http://webserver:8080/dir1/dir2/file2"), "val2\n");
    assert_eq!(
        fetch(&c, "client", 1, "http://192.168.100.10:8080/index.html"),
        "<html><body>test11 web server (val2)</body></html>\n"
    );
    say(&format!("test11: {:?}", started.elapsed()));
}
