//! The engine-free netns runtime: the shipped example comes up with no container
//! engine, traffic crosses it over IPv4 and IPv6, and exit removes every namespace.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{conlink_bin, connected_ms, examples, say, unique, HostConlink};

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

fn exec_in(node: &str, args: &[&str]) -> std::process::Output {
    Command::new(conlink_bin()).arg("exec").arg(node).args(args).output().unwrap()
}

#[test]
fn netns_example_routes_v4_and_v6_without_any_engine() {
    if !is_root() {
        say("skipped netns_example_routes_v4_and_v6_without_any_engine: needs root (creates network namespaces)");
        return;
    }
    if Command::new("ping").arg("-V").output().is_err() {
        panic!("ping (iputils-ping) is missing: scripts/test-env.sh up installs it");
    }
    let file = examples().join("netns-router.yaml");
    let netns = unique("cln");
    let mut conlink = HostConlink::start(
        &[
            "--network-file",
            file.to_str().unwrap(),
            "--netns",
            &netns,
            "--docker-socket",
            "/nonexistent/docker.sock",
            "--podman-socket",
            "/nonexistent/podman.sock",
        ],
        &[],
    );
    let log = conlink.wait_log("All links connected", Duration::from_secs(20));
    say(&format!("netns example: All links connected {:?} ms after start", connected_ms(&log)));
    for node in ["r0", "h1", "h2", "h3"] {
        assert!(Path::new("/run/netns").join(node).exists(), "node {node} has a namespace");
    }
    // The node command (h1 pings h3) ran after every link existed.
    conlink.wait_log("h1: 3 packets transmitted, 3 received", Duration::from_secs(20));
    for (from, to) in [("h1", "10.0.0.100"), ("h3", "172.16.0.100"), ("h2", "2001:db8:1::100")] {
        let out = exec_in(from, &["ping", "-c1", "-W2", to]);
        assert!(out.status.success(), "{from} cannot ping {to}: {}", String::from_utf8_lossy(&out.stdout));
    }
    let out = exec_in("r0", &["ip", "-o", "addr", "show", "dev", "eth-s2"]);
    let addrs = String::from_utf8_lossy(&out.stdout);
    assert!(addrs.contains("172.16.0.1/12") && addrs.contains("2001:db8:2::1/64"), "{addrs}");

    // Live control through the daemon's socket.
    let ctl =
        |args: &[&str]| Command::new(conlink_bin()).args(["--netns", &netns]).args(args).output().unwrap();
    let out = ctl(&["status", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["all_connected"], true);
    let links = v["links"].as_array().unwrap();
    assert_eq!(links.len(), 6);
    assert!(links.iter().all(|l| l["state"] == "connected"), "{v}");
    let table = String::from_utf8_lossy(&ctl(&["status"]).stdout).into_owned();
    assert!(table.contains("h1-eth0") && table.contains("All links connected"), "{table}");

    let out = ctl(&["link", "h3", "eth0", "down"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!exec_in("h1", &["ping", "-c1", "-W1", "10.0.0.100"]).status.success(), "h3 is cut off");
    let v: serde_json::Value = serde_json::from_slice(&ctl(&["status", "--json"]).stdout).unwrap();
    assert!(
        v["links"].as_array().unwrap().iter().any(|l| l["container"] == "h3" && l["state"] == "down"),
        "{v}"
    );
    assert!(ctl(&["link", "h3", "eth0", "up"]).status.success());
    let mut back = false;
    for _ in 0..10 {
        if exec_in("h1", &["ping", "-c1", "-W1", "10.0.0.100"]).status.success() {
            back = true;
            break;
        }
    }
    assert!(back, "h3 reachable again after link up");

    let out = ctl(&["netem", "h1", "eth0", "delay", "40ms"]);
    if out.status.success() {
        let ping = exec_in("h1", &["ping", "-c1", "-W2", "10.0.0.100"]);
        let text = String::from_utf8_lossy(&ping.stdout).into_owned();
        let rtt: f64 = text
            .split("time=")
            .nth(1)
            .and_then(|t| t.split(' ').next())
            .and_then(|t| t.parse().ok())
            .unwrap();
        assert!(rtt >= 40.0, "netem delay visible in RTT: {text}");
        assert_eq!(String::from_utf8_lossy(&ctl(&["netem", "h1", "eth0"]).stdout).trim(), "delay 40ms");
        assert!(ctl(&["netem", "h1", "eth0", "--clear"]).status.success());
    } else {
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(err.contains("kernel lacks netem"), "{err}");
        say(&format!("netem at runtime: kernel lacks netem here, error checked: {}", err.trim()));
    }
    let out = ctl(&["link", "nobody", "eth0", "down"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no container or node \"nobody\""));

    let status = conlink.stop();
    assert!(status.success(), "exit {status}:\n{}", conlink.log());
    for node in ["r0", "h1", "h2", "h3", &netns] {
        assert!(!Path::new("/run/netns").join(node).exists(), "namespace {node} left behind");
    }
}

#[test]
fn exec_into_a_missing_node_says_so() {
    let out = exec_in("no-such-node-xyz", &["true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no node \"no-such-node-xyz\""));
}

/// Runs `ip ARGS`, panicking with its stderr on failure.
fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Deletes test namespaces even when the test fails.
struct Namespaces(Vec<String>);

impl Drop for Namespaces {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

#[test]
fn port_forwards_reach_a_node_over_v4_and_v6() {
    if !is_root() {
        say("skipped port_forwards_reach_a_node_over_v4_and_v6: needs root");
        return;
    }
    if Command::new("busybox").arg("true").status().map(|s| !s.success()).unwrap_or(true) {
        panic!("busybox (busybox-static) is missing: scripts/test-env.sh up installs it");
    }
    // conlink's namespace, prepared with an engine-like interface DOCKER-ETH0 whose
    // other end is in a "client" namespace (what docker's network is to a container).
    let netns = unique("clf");
    let client = unique("clfc");
    let web = unique("fw");
    // conlink keeps a namespace that existed before it started: the test removes it.
    let _guard = Namespaces(vec![client.clone(), netns.clone()]);
    ip(&["netns", "add", &netns]);
    ip(&["netns", "add", &client]);
    ip(&[
        "-n",
        &netns,
        "link",
        "add",
        "DOCKER-ETH0",
        "type",
        "veth",
        "peer",
        "name",
        "cli0",
        "netns",
        &client,
    ]);
    for (ns, dev, v4, v6) in [
        (&netns, "DOCKER-ETH0", "198.51.100.1/24", "2001:db8:ff::1/64"),
        (&client, "cli0", "198.51.100.2/24", "2001:db8:ff::2/64"),
    ] {
        ip(&["-n", ns, "addr", "add", v4, "dev", dev]);
        ip(&["-n", ns, "addr", "add", v6, "dev", dev, "nodad"]);
        ip(&["-n", ns, "link", "set", dev, "up"]);
    }
    let dir = std::env::temp_dir().join(unique("fwweb"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "served by the node\n").unwrap();
    let cfg = dir.join("net.yaml");
    // The node has no route to the client at all: replies only return through
    // conlink's masquerade and the on-link route to its forward source address.
    std::fs::write(
        &cfg,
        format!(
            "nodes:\n  - name: {web}\n    command: [busybox, httpd, -f, -p, '80', -h, {}]\n\
             links:\n  - container: {web}\n    bridge: s1\n    ip: [10.9.0.5/24, \"2001:db8:9::5/64\"]\n    forward: [\"8080:80/tcp\"]\n",
            dir.display()
        ),
    )
    .unwrap();
    let mut conlink = HostConlink::start(
        &[
            "--network-file",
            cfg.to_str().unwrap(),
            "--netns",
            &netns,
            "--docker-socket",
            "/nonexistent",
            "--podman-socket",
            "/nonexistent",
        ],
        &[],
    );
    conlink.wait_log("All links connected", Duration::from_secs(20));
    for url in ["http://198.51.100.1:8080/", "http://[2001:db8:ff::1]:8080/"] {
        let mut body = String::new();
        for _ in 0..20 {
            let out = Command::new("ip")
                .args(["netns", "exec", &client, "timeout", "5", "busybox", "wget", "-qO-", url])
                .output()
                .unwrap();
            body = String::from_utf8_lossy(&out.stdout).into_owned();
            if out.status.success() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(body, "served by the node\n", "{url} through the forward:\n{}", conlink.log());
    }
    assert!(conlink.stop().success(), "{}", conlink.log());
    assert!(!Path::new("/run/netns").join(&web).exists());
    let _ = std::fs::remove_dir_all(dir);
}

/// Two links claiming one outer name: known from the config alone, so it is
/// refused before anything is created, naming both links (it used to reach
/// the daemon, whose ownership guard refused the second link at connect).
#[test]
fn an_outer_name_claimed_twice_is_refused_before_anything_is_made() {
    let (a, b) = (unique("ona"), unique("onb"));
    let dir = std::env::temp_dir().join(unique("outer"));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("net.yaml");
    std::fs::write(
        &cfg,
        format!(
            "nodes: [{{name: {a}}}, {{name: {b}}}]\nlinks:\n  - {{container: {a}, bridge: s1, outer-dev: same0, ip: 192.0.2.1/24}}\n  \
             - {{container: {b}, bridge: s1, outer-dev: same0, ip: 192.0.2.2/24}}\n"
        ),
    )
    .unwrap();
    let netns = unique("clo");
    let out = Command::new(conlink_bin())
        .args(["--network-file", cfg.to_str().unwrap(), "--netns", &netns])
        .args(["--docker-socket", "/nonexistent", "--podman-socket", "/nonexistent"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("/links/1/outer-dev (")
            && err.contains("outer-dev \"same0\" is also the name of the outer-dev at /links/0/outer-dev ("),
        "{err}"
    );
    for n in [&a, &b, &netns] {
        assert!(!Path::new("/run/netns").join(n).exists(), "namespace {n} was created");
    }
    let _ = std::fs::remove_dir_all(dir);
}
