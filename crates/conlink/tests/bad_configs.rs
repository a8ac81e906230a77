//! The daemon path (no --show-config) with every bad config of the
//! config crate's corpus (crates/conlink-config/tests/corpus/bad): conlink
//! must exit 1 naming the place and the problem, and create nothing — no
//! network namespace, no interface.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{conlink_bin, repo_root, unique};

fn corpus_bad() -> Vec<PathBuf> {
    let dir = repo_root().join("crates/conlink-config/tests/corpus/bad");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

fn interfaces() -> BTreeSet<String> {
    std::fs::read_dir("/sys/class/net")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

/// Interfaces dockerd makes for containers other tests may be starting meanwhile.
fn made_by_docker(name: &str) -> bool {
    let hex_after = |p: &str| {
        name.strip_prefix(p).is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_hexdigit()))
    };
    hex_after("veth") || hex_after("br-") || name.starts_with("docker")
}

/// Runs the daemon path on `file`; the environment holds only what its `.env` sets.
fn run_conlink(file: &Path, netns: &str) -> std::process::Output {
    let flag = if file.file_name().unwrap().to_string_lossy().contains("compose") {
        "--compose-file"
    } else {
        "--network-file"
    };
    let mut cmd = Command::new(conlink_bin());
    cmd.args([flag, file.to_str().unwrap(), "--netns", netns, "--docker-socket", "/nonexistent/docker.sock"])
        .args(["--podman-socket", "/nonexistent/podman.sock"])
        .env_remove("VERBOSE")
        .env_remove("CONLINK_NETNS")
        .env_remove("CONLINK_BRIDGE_MODE")
        .env_remove("COMPOSE_PROJECT_NAME");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("CORPUS_")) {
        cmd.env_remove(k);
    }
    if let Ok(text) = std::fs::read_to_string(file.with_extension("env")) {
        for line in text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
            let (k, v) = line.split_once('=').unwrap();
            cmd.env(k, v);
        }
    }
    cmd.output().unwrap()
}

/// Namespaces named like the corpus's nodes (`corpus-…`).
fn corpus_netns() -> BTreeSet<String> {
    std::fs::read_dir("/run/netns")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains("corpus"))
                .collect()
        })
        .unwrap_or_default()
}

fn remove_netns(name: &str) {
    let _ = Command::new("ip").args(["netns", "delete", name]).output();
}

#[test]
fn every_bad_config_exits_1_with_the_path_and_creates_nothing() {
    let files = corpus_bad();
    assert!(files.len() >= 60, "corpus has only {} bad configs", files.len());
    let netns = unique("cl-bad");
    let netns_path = Path::new("/run/netns").join(&netns);
    let before = interfaces();
    let netns_before = corpus_netns();
    let mut failures = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let out = run_conlink(file, &netns);
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(1) {
            failures.push(format!("{name}: exit {:?}, want 1\n{err}", out.status.code()));
        }
        if !err.contains("invalid network configuration") {
            failures.push(format!("{name}: stderr does not say the configuration is invalid:\n{err}"));
        }
        let expect = std::fs::read_to_string(file.with_extension("expect")).unwrap();
        for want in expect.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
            if !err.contains(want) {
                failures.push(format!("{name}: {want:?} not in stderr:\n{err}"));
            }
        }
        // Every issue line starts with a path, never with ": ".
        for line in err.lines().skip(1) {
            if line.trim_start().starts_with(':') {
                failures.push(format!("{name}: issue without a path: {line:?}"));
            }
        }
        if err.len() > 16 * 1024 {
            failures
                .push(format!("{name}: {} bytes of stderr (must stay short whatever the config)", err.len()));
        }
        if !out.stdout.is_empty() {
            failures.push(format!("{name}: printed to stdout: {}", String::from_utf8_lossy(&out.stdout)));
        }
        if netns_path.exists() {
            remove_netns(&netns);
            failures.push(format!("{name}: created {}", netns_path.display()));
        }
    }
    for n in corpus_netns().difference(&netns_before) {
        remove_netns(n);
        failures.push(format!("a bad config created network namespace {n}"));
    }
    let after = interfaces();
    let new: Vec<&String> = after.difference(&before).filter(|n| !made_by_docker(n)).collect();
    assert!(new.is_empty(), "interfaces appeared while conlink ran on bad configs: {new:?}");
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n\n"));
}

/// A few by hand, so the contract is readable here too.
#[test]
fn bad_ip_unknown_key_and_yaml_error_through_the_cli() {
    let dir = std::env::temp_dir().join(unique("cl-badcfg"));
    std::fs::create_dir_all(&dir).unwrap();
    let netns = unique("cl-bad");
    let before = interfaces();
    let cases: [(&str, &str, &[&str]); 4] = [
        ("ip.yaml", "links:\n  - {service: a, bridge: s1, ip: 10.0.0.300/24}\n", &["/links/0/ip", "\"10.0.0.300/24\" is not a CIDR"]),
        ("top.yaml", "linx:\n  - {service: a, bridge: s1}\n", &["  /: unknown key \"linx\""]),
        ("tab.yaml", "links:\n\t- {service: a}\n", &["tab.yaml: invalid YAML at line 2"]),
        ("patch.yaml", "bridges: [{bridge: p, mode: patch}]\nlinks:\n  - {service: a, bridge: p}\n  - {service: b, bridge: p}\n  - {service: c, bridge: p}\n", &["/links/2/bridge", "joins exactly two links"]),
    ];
    for (name, text, wants) in cases {
        let f = dir.join(name);
        std::fs::write(&f, text).unwrap();
        let out = run_conlink(&f, &netns);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        for w in wants {
            assert!(err.contains(w), "{name}: {w:?} not in:\n{err}");
        }
        let created = Path::new("/run/netns").join(&netns).exists();
        if created {
            remove_netns(&netns);
        }
        assert!(!created, "{name}: conlink created netns {netns} for a bad config");
    }
    std::fs::remove_dir_all(&dir).unwrap();
    let new: Vec<String> = interfaces().difference(&before).filter(|n| !made_by_docker(n)).cloned().collect();
    assert!(new.is_empty(), "{new:?}");
}
