//! Shell metacharacters in config strings are data, never code: nothing in
//! a config but `commands` (which run by definition) may reach a shell.
//!
//! Every string field gets payloads that would create a marker file if any
//! shell evaluated them: `$(…)`, backticks, `;`, `|`, `&&`, quotes and
//! newlines. Interface-name fields cannot hold '/' or whitespace, so their
//! payloads create a *relative* marker (`$(>pw1)`), and conlink runs with a
//! fresh empty directory as its working directory, which must stay empty.
//! The config is loaded through the library and run through the daemon
//! (3 seconds, then SIGTERM); errors are fine, markers are not.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{conlink_bin, unique};

/// Marker files for one test run and the payloads that would create them.
struct Payloads {
    /// Absolute marker prefix: `/tmp/pwned-<unique>-`.
    prefix: String,
    /// Working directory of conlink; relative markers land here.
    cwd: PathBuf,
}

impl Payloads {
    fn new() -> Payloads {
        let u = unique("");
        let cwd = std::env::temp_dir().join(format!("cl-inj-cwd-{u}"));
        std::fs::create_dir_all(&cwd).unwrap();
        Payloads { prefix: format!("/tmp/pwned-{u}-"), cwd }
    }

    /// Free-text payloads (spaces and '/' allowed), one marker each.
    fn shell(&self, tag: &str) -> Vec<String> {
        let m = |n: u32| format!("{}{tag}{n}", self.prefix);
        vec![
            format!("$(touch {})", m(1)),
            format!("`touch {}`", m(2)),
            format!("x; touch {}", m(3)),
            format!("x | touch {}", m(4)),
            format!("x && touch {}", m(5)),
            format!("x' ; touch {} ; '", m(6)),
            format!("x\" ; touch {} ; \"", m(7)),
            format!("x\ntouch {}\n", m(8)),
            format!("x || touch {}", m(9)),
            format!("$$(touch {})", m(10)), // `$$` interpolates to `$`: still `$(…)`
        ]
    }

    /// Payloads that are valid interface names (≤ 15 bytes, no '/', ':' or
    /// whitespace), creating a marker in the working directory.
    fn names(&self, tag: char) -> Vec<String> {
        vec![
            format!("$(>pw{tag}1)"),
            format!("`>pw{tag}2`"),
            format!(";>pw{tag}3"),
            format!("|>pw{tag}4"),
            format!("&&>pw{tag}5"),
            format!("'>pw{tag}6'"),
            format!("\">pw{tag}7\""),
            format!("$$(>pw{tag}8)"),
        ]
    }

    /// Whatever any payload created.
    fn markers(&self) -> Vec<String> {
        let mut found: Vec<String> =
            std::fs::read_dir(&self.cwd).unwrap().map(|e| e.unwrap().path().display().to_string()).collect();
        let base = Path::new(&self.prefix).file_name().unwrap().to_string_lossy().into_owned();
        found.extend(
            std::fs::read_dir("/tmp")
                .unwrap()
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with(&base))
                .map(|e| e.path().display().to_string()),
        );
        found
    }

    fn cleanup(&self) {
        for m in self.markers() {
            let _ = std::fs::remove_file(m);
        }
        let _ = std::fs::remove_dir_all(&self.cwd);
    }
}

/// A config with payloads in every string field: most of it is rejected.
fn everything(p: &Payloads) -> Value {
    let names = p.names('a');
    let mut links = Vec::new();
    let mut tunnels = Vec::new();
    let mut bridges = Vec::new();
    for (i, s) in p.shell("a").into_iter().enumerate() {
        let n = &names[i % names.len()];
        bridges.push(json!({"bridge": n, "mode": "linux"}));
        links.push(json!({
            "service": s, "bridge": n, "dev": n, "outer-dev": n, "ip": s, "mac": s, "mtu": s,
            "route": [s, format!("default via 10.0.0.1 dev {n}"), format!("default via 10.0.0.1 {s}")],
            "nat": s, "netem": [s, format!("delay 1ms {s}")], "forward": [s, format!("80:80/tcp{s}")],
            "ethtool": [s, format!("-K tx off {s}")],
        }));
        links.push(json!({"container": s, "type": s, "mode": s, "vlanid": s, "dev": n, "outer-dev": n}));
        links.push(json!({"container": "c", "type": "macvlan", "mode": s, "outer-dev": n, "dev": n}));
        tunnels.push(json!({"type": s, "bridge": n, "remote": s, "vni": s, "netem": s}));
        tunnels.push(json!({"type": "vxlan", "bridge": n, "remote": "192.0.2.1", "vni": 7, "netem": format!("delay 1ms {s}")}));
    }
    let nodes: Vec<Value> = p.shell("n").iter().map(|s| json!({"name": s})).collect();
    json!({"bridges": bridges, "links": links, "tunnels": tunnels, "nodes": nodes})
}

/// A config the whole of conlink accepts, with payloads in the names it
/// lets through (bridge, dev, outer-dev, route dev): the daemon creates the
/// bridges under those names and waits for containers.
fn accepted(p: &Payloads) -> Value {
    let names = p.names('b');
    let mut links = Vec::new();
    let mut bridges = Vec::new();
    for (i, n) in names.iter().enumerate() {
        bridges.push(json!({"bridge": n, "mode": "linux"}));
        links.push(json!({
            "service": format!("inj{i}"), "bridge": n, "dev": n, "outer-dev": n, "ip": "10.0.0.1/24",
            "route": format!("default via 10.0.0.254 dev {n}"),
        }));
    }
    json!({"bridges": bridges, "links": links})
}

/// netem and ethtool strings pass the loader (it only rejects empty ones)
/// and are parsed by the daemon before anything is created.
fn parsed_later(p: &Payloads) -> Value {
    let links: Vec<Value> = p
        .shell("c")
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({"service": format!("inj{i}"), "bridge": "s1", "dev": "eth1",
                   "netem": [s, format!("delay 1ms {s}")], "ethtool": [s, format!("-K tx off {s}")]})
        })
        .collect();
    json!({"links": links})
}

/// The daemon path with `file`: 3 seconds (it fails or waits for engine
/// events), then SIGTERM. Returns stderr and whether conlink's netns leaked.
fn run_daemon(p: &Payloads, file: &Path) -> (String, bool) {
    let netns = unique("cl-inj");
    let mut child = Command::new(conlink_bin())
        .args(["--network-file", file.to_str().unwrap(), "--netns", &netns, "--default-bridge-mode", "linux"])
        .current_dir(&p.cwd)
        .env_remove("VERBOSE")
        .env_remove("CONLINK_NETNS")
        .env_remove("CONLINK_HOST_NETNS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
    }
    if child.try_wait().unwrap().is_none() {
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let t = Instant::now();
        while child.try_wait().unwrap().is_none() && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(50));
        }
        if child.try_wait().unwrap().is_none() {
            let _ = child.kill();
        }
    }
    let out = child.wait_with_output().unwrap();
    let leaked = Path::new("/run/netns").join(&netns).exists();
    if leaked {
        let _ = Command::new("ip").args(["netns", "delete", &netns]).output();
    }
    (String::from_utf8_lossy(&out.stderr).into_owned(), leaked)
}

fn load(file: &Path) -> Result<conlink_config::NetworkConfig, conlink_config::ConfigError> {
    conlink_config::load(&conlink_config::LoadOptions {
        network_files: vec![file.to_path_buf()],
        ..Default::default()
    })
}

#[test]
fn shell_metacharacters_in_config_strings_are_never_executed() {
    let p = Payloads::new();
    let dir = std::env::temp_dir().join(unique("cl-inj-cfg"));
    std::fs::create_dir_all(&dir).unwrap();
    let all = dir.join("everything.yaml");
    let ok = dir.join("accepted.yaml");
    let later = dir.join("parsed-later.yaml");
    std::fs::write(&all, serde_json::to_string_pretty(&everything(&p)).unwrap()).unwrap();
    std::fs::write(&ok, serde_json::to_string_pretty(&accepted(&p)).unwrap()).unwrap();
    std::fs::write(&later, serde_json::to_string_pretty(&parsed_later(&p)).unwrap()).unwrap();

    // Loading alone (errors are expected for `everything`).
    let everything_err = load(&all).expect_err("payloads in addresses, types and numbers cannot validate");
    assert!(everything_err.issues.len() > 20, "{everything_err}");
    let cfg = match load(&ok) {
        Ok(cfg) => Some(cfg),
        Err(e) => {
            // Stricter validation is fine too; it just leaves less to run.
            eprintln!("accepted.yaml was rejected (fine, less to prove):\n{e}");
            None
        }
    };
    let _ = load(&later);
    assert_eq!(p.markers(), Vec::<String>::new(), "loading executed a payload");

    // The daemon path, with each file.
    let mut leaks = Vec::new();
    for f in [&all, &ok, &later] {
        let (stderr, leaked) = run_daemon(&p, f);
        let markers = p.markers();
        if !markers.is_empty() {
            p.cleanup();
            let _ = std::fs::remove_dir_all(&dir);
            panic!(
                "conlink executed config strings as shell code with {}: {markers:?}\nstderr:\n{stderr}",
                f.display()
            );
        }
        if leaked {
            leaks.push(format!("{}:\n{stderr}", f.display()));
        }
    }
    p.cleanup();
    std::fs::remove_dir_all(&dir).unwrap();
    if let Some(cfg) = cfg {
        // What was accepted still carries the payloads verbatim (data, not code).
        assert!(cfg.bridges.keys().any(|b| b.starts_with("$(")), "{:?}", cfg.bridges.keys());
    }
    assert!(
        leaks.is_empty(),
        "conlink left its network namespace behind after SIGTERM:\n{}",
        leaks.join("\n")
    );
}
