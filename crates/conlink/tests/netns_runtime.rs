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
    let ctl = |args: &[&str]| Command::new(conlink_bin()).args(["--netns", &netns]).args(args).output().unwrap();
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
    assert!(v["links"].as_array().unwrap().iter().any(|l| l["container"] == "h3" && l["state"] == "down"), "{v}");
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
        let rtt: f64 = text.split("time=").nth(1).and_then(|t| t.split(' ').next()).and_then(|t| t.parse().ok()).unwrap();
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
