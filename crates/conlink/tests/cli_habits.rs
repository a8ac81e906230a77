//! The command line habits a user expects: --help/--version everywhere, global
//! options after the subcommand, completions, man pages, `conlink graph`, and
//! (as root, against a real netns lab) `status --check`, the errors section and
//! the JSON/printed results of `link` and `netem`.

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::{conlink_bin, examples, say, unique, HostConlink};

fn conlink(args: &[&str]) -> Output {
    Command::new(conlink_bin()).args(args).env_remove("VERBOSE").output().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const SUBCOMMANDS: [&str; 9] =
    ["show-config", "status", "netem", "link", "exec", "graph", "completions", "man", "help"];

#[test]
fn every_subcommand_answers_help_with_a_usage_line() {
    for sub in SUBCOMMANDS.iter().filter(|s| **s != "help") {
        let o = conlink(&[sub, "--help"]);
        assert_eq!(o.status.code(), Some(0), "conlink {sub} --help: {}", err(&o));
        assert!(out(&o).contains(&format!("Usage: conlink {sub}")), "conlink {sub} --help:\n{}", out(&o));
    }
    let o = conlink(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(out(&o).contains("Usage: conlink [OPTIONS] [COMMAND]"), "{}", out(&o));
}

#[test]
fn version_has_the_crate_version_and_the_commit_when_known() {
    let o = conlink(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
    let v = out(&o);
    assert!(v.starts_with(&format!("conlink {}", env!("CARGO_PKG_VERSION"))), "{v}");
    let in_git = Command::new("git").args(["rev-parse", "HEAD"]).output().is_ok_and(|g| g.status.success());
    if in_git {
        assert!(v.trim_end().ends_with(')') && v.contains(" ("), "git commit in {v}");
    }
    // Subcommands answer --version too (clap propagates it).
    assert!(out(&conlink(&["status", "--version"])).starts_with("conlink-status "));
}

#[test]
fn netem_usage_names_options_once() {
    let o = conlink(&["netem", "--help"]);
    let usage = out(&o).lines().find(|l| l.starts_with("Usage:")).unwrap().to_string();
    assert_eq!(usage.matches("[OPTIONS]").count(), 1, "{usage}");
}

#[test]
fn global_options_work_after_the_subcommand() {
    let o = conlink(&["status", "--control-socket", "/nonexistent/d15-x.sock"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("cannot reach conlink at /nonexistent/d15-x.sock"), "{}", err(&o));
    let o = conlink(&["link", "h1", "eth0", "down", "--netns", "d15-nothing"]);
    assert!(err(&o).contains("/run/conlink/d15-nothing.sock"), "{}", err(&o));
    // After netem options too: netem options never start with "--".
    let o = conlink(&["netem", "h1", "eth0", "delay", "5ms", "--control-socket", "/nonexistent/d15-y.sock"]);
    assert!(err(&o).contains("/nonexistent/d15-y.sock"), "{}", err(&o));
}

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in
        [("bash", "complete -F _conlink"), ("zsh", "#compdef conlink"), ("fish", "complete -c conlink")]
    {
        let o = conlink(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let script = out(&o);
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        assert!(
            script.contains("control-socket") && script.contains("graph"),
            "{shell} completes options and subcommands"
        );
    }
    if Command::new("bash").arg("--version").output().is_ok() {
        let o = Command::new("bash")
            .args(["-n", "-c", &out(&conlink(&["completions", "bash"]))])
            .output()
            .unwrap();
        assert!(o.status.success(), "bash rejects the completion script: {}", err(&o));
    }
    assert_eq!(conlink(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn man_pages_for_conlink_and_every_subcommand() {
    let o = conlink(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(out(&o).contains(".TH conlink 1") && out(&o).contains("control\\-socket"), "{}", out(&o));
    let dir = std::env::temp_dir().join(unique("d15-man"));
    std::fs::create_dir_all(&dir).unwrap();
    let o = conlink(&["man", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    for page in ["conlink.1", "conlink-status.1", "conlink-graph.1", "conlink-netem.1"] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
    if Command::new("man").arg("--version").output().is_ok() {
        let o = Command::new("man")
            .arg("-l")
            .arg(dir.join("conlink-status.1"))
            .env("MANPAGER", "cat")
            .output()
            .unwrap();
        assert!(out(&o).contains("--check"), "man renders the page: {}", err(&o));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn pipe(cmd: &mut Command, input: &str) -> Output {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // A command that refuses its arguments exits without reading stdin: a broken pipe is its answer.
    if let Err(e) = child.stdin.take().unwrap().write_all(input.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "writing the command's stdin: {e}");
    }
    child.wait_with_output().unwrap()
}

#[test]
fn graph_from_config_files_in_each_format() {
    let test1 = examples().join("test1-compose.yaml");
    let o = conlink(&["graph", "--compose-file", test1.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let dot = out(&o);
    assert_eq!(dot.matches(" -> ").count(), 6, "test1: one edge per link:\n{dot}");
    assert!(dot.contains("\"service:h1\" -> \"bridge:s1\" [label=\"eth0\\n192.168.1.100/24\"]"), "{dot}");
    if Command::new("dot").arg("-V").output().is_ok() {
        let svg = pipe(Command::new("dot").arg("-Tsvg"), &dot);
        assert!(svg.status.success() && out(&svg).contains("<svg"), "dot rejects: {}", err(&svg));
    } else {
        say("skipped: dot -Tsvg check of conlink graph: graphviz is not installed");
    }

    let dual = examples().join("dual-stack-compose.yaml");
    let o = conlink(&["graph", "-f", "mermaid", "--compose-file", dual.to_str().unwrap()]);
    let m = out(&o);
    assert!(m.starts_with("flowchart TB\n"), "{m}");
    assert_eq!(m.matches(" ---|").count(), 4, "{m}");
    assert!(m.contains("eth0<br/>192.0.2.10/24<br/>2001:db8:1::10/64"), "dual stack in mermaid:\n{m}");

    let router = examples().join("netns-router.yaml");
    let o = conlink(&["graph", "--format", "json", "--network-file", router.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["edges"].as_array().unwrap().len(), 6, "{v}");
    assert_eq!(v["nodes"].as_array().unwrap().len(), 7, "3 bridges, 4 nodes");
    assert_eq!(v["all_connected"], serde_json::Value::Null, "drawn from files: no live state");

    let o = conlink(&["graph", "--control-socket", "/nonexistent/d15-z.sock"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("cannot reach conlink") && err(&o).contains("--network-file"), "{}", err(&o));
    let bad = conlink(&["graph", "--network-file", "/nonexistent/d15.yaml"]);
    assert_eq!(bad.status.code(), Some(1), "bad config is an error: {}", err(&bad));
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn status_check_errors_section_and_json_against_a_netns_lab() {
    if !is_root() {
        say("skipped status_check_errors_section_and_json_against_a_netns_lab: needs root (network namespaces)");
        return;
    }
    let tag = unique("d");
    let (a, b) = (format!("{tag}a"), format!("{tag}b"));
    let dir = std::env::temp_dir().join(unique("d15-cli"));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("lab.yaml");
    // b's link asks for netem: it connects where the kernel has netem, fails (with an error) where not.
    std::fs::write(
        &cfg,
        format!(
            "nodes: [{{name: {a}}}, {{name: {b}}}]\nlinks:\n  - {{container: {a}, bridge: s1, ip: 192.0.2.1/24}}\n  \
             - {{container: {b}, bridge: s1, ip: [192.0.2.2/24, \"2001:db8::2/64\"], netem: delay 5ms}}\n"
        ),
    )
    .unwrap();
    let sock = dir.join("ctl.sock");
    let sock = sock.to_str().unwrap();
    let ns = format!("{tag}n");
    let mut daemon = HostConlink::start(
        &["--network-file", cfg.to_str().unwrap(), "--netns", &ns, "--control-socket", sock],
        &[],
    );
    daemon.wait_log("control socket ready", Duration::from_secs(20));
    let ctl = |args: &[&str]| {
        Command::new(conlink_bin()).args(args).args(["--control-socket", sock]).output().unwrap()
    };
    // Wait until both nodes were handled (connected or failed).
    let mut status = String::new();
    for _ in 0..100 {
        status = out(&ctl(&["status"]));
        if status.contains(&a) && status.contains(&b) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let v: serde_json::Value = serde_json::from_slice(&ctl(&["status", "--json"]).stdout).unwrap();
    let b_link =
        v["links"].as_array().unwrap().iter().find(|l| l["container"] == b.as_str()).unwrap().clone();
    if b_link["state"] == "failed" {
        say(&format!(
            "kernel lacks netem here: {b}'s link failed, errors section checked: {}",
            b_link["error"]
        ));
        let lines: Vec<&str> = status.lines().collect();
        assert!(lines.iter().take_while(|l| !l.is_empty()).all(|l| l.len() < 130), "narrow table:\n{status}");
        assert!(status.contains("failed (1)") && status.contains("\nErrors:\n  (1) "), "{status}");
        assert!(status.trim_end().ends_with("Not all links connected: 1 failed"), "{status}");
        let o = ctl(&["status", "--check"]);
        assert_eq!(o.status.code(), Some(1), "--check fails while a link failed");
    } else {
        assert_eq!(b_link["netem"], "delay 5ms");
        assert_eq!(ctl(&["status", "--check"]).status.code(), Some(0), "{status}");
        let o = ctl(&["netem", &b, "eth0", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["netem"], "delay 5ms");
    }
    assert_eq!(b_link["ip"], serde_json::json!(["192.0.2.2/24", "2001:db8::2/64"]));

    // `link` says what it did, as text or JSON; --check follows the state.
    let o = ctl(&["link", &a, "eth0", "down"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(
        out(&o).lines().next().unwrap(),
        format!("{a} eth0: link set down (cable cut; `conlink link {a} eth0 up` restores it)")
    );
    let o = ctl(&["status", "--check"]);
    assert_eq!(o.status.code(), Some(1), "a down link is not connected:\n{}", out(&o));
    assert!(out(&o).contains(" down"), "{}", out(&o));
    let o = ctl(&["link", &a, "eth0", "up", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v, serde_json::json!({"container": a, "dev": "eth0", "state": "up"}));
    let o = ctl(&["netem", &a, "eth0", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["netem"], serde_json::Value::Null, "{v}");

    // graph from the daemon alone: config and live states over the socket.
    let o = ctl(&["graph", "--format", "json"]);
    let g: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let states: Vec<&str> =
        g["edges"].as_array().unwrap().iter().map(|e| e["state"].as_str().unwrap()).collect();
    assert_eq!(states.len(), 2, "{g}");
    assert_eq!(states[0], "connected", "{g}");

    assert!(daemon.stop().success(), "{}", daemon.log());
    std::fs::remove_dir_all(&dir).unwrap();
}
