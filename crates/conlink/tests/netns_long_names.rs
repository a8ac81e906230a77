//! Long names in the netns runtime: nodes whose `NAME-DEV` is over 15 bytes,
//! and three links of one long-named node, each get their own valid outer
//! interface (the hashed fallback), and traffic flows over all of them.
//! Before, the fallback contained ':' (`cnode:…`) and the three links of
//! one node shared one name, replacing each other.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{conlink_bin, say, unique, HostConlink};

fn exec_in(node: &str, args: &[&str]) -> std::process::Output {
    Command::new(conlink_bin()).arg("exec").arg(node).args(args).output().unwrap()
}

#[test]
fn long_node_names_and_three_links_of_one_node_all_connect() {
    if unsafe { libc::geteuid() } != 0 {
        say("skipped long_node_names_and_three_links_of_one_node_all_connect: needs root (creates network namespaces)");
        return;
    }
    // Each name is over 10 characters, so NAME-eth0 is over 15 bytes.
    let a = unique("longnode-a");
    let b = unique("longnode-b");
    let r = unique("long-router");
    let netns = unique("clln");
    let dir = std::env::temp_dir().join(unique("clln-cfg"));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("net.yaml");
    std::fs::write(
        &cfg,
        format!(
            "nodes:\n  - {{name: {a}}}\n  - {{name: {b}}}\n  - {{name: {r}}}\n\
             links:\n  - {{container: {a}, bridge: s1, ip: 10.13.1.2/24}}\n  - {{container: {b}, bridge: s1, ip: 10.13.1.3/24}}\n\
             \x20 - {{container: {r}, dev: eth-s1, bridge: s1, ip: 10.13.1.1/24}}\n\
             \x20 - {{container: {r}, dev: eth-s2, bridge: s2, ip: 10.13.2.1/24}}\n\
             \x20 - {{container: {r}, dev: eth-s3, bridge: s3, ip: 10.13.3.1/24}}\n"
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
            "/nonexistent/docker.sock",
            "--podman-socket",
            "/nonexistent/podman.sock",
        ],
        &[],
    );
    conlink.wait_log("All links connected", Duration::from_secs(30));
    // The outer ends: five distinct names, each a valid interface name without ':'.
    let out = Command::new("ip").args(["-n", &netns, "-o", "link", "show", "type", "veth"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let outer: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap().to_string())
        .collect();
    assert_eq!(outer.len(), 5, "{text}");
    assert!(outer.iter().all(|n| n.len() <= 15 && !n.contains(':')), "{outer:?}");
    // Every link of the router is there with its address, and traffic flows.
    let addrs = String::from_utf8_lossy(&exec_in(&r, &["ip", "-o", "addr"]).stdout).into_owned();
    for (dev, ip) in [("eth-s1", "10.13.1.1/24"), ("eth-s2", "10.13.2.1/24"), ("eth-s3", "10.13.3.1/24")] {
        assert!(addrs.lines().any(|l| l.contains(dev) && l.contains(ip)), "{dev} {ip} missing:\n{addrs}");
    }
    for (from, to) in [(&a, "10.13.1.3"), (&b, "10.13.1.1"), (&r, "10.13.1.2")] {
        let out = exec_in(from, &["ping", "-c1", "-W2", to]);
        assert!(out.status.success(), "{from} cannot ping {to}: {}", String::from_utf8_lossy(&out.stdout));
    }
    let status = conlink.stop();
    assert!(status.success(), "exit {status}:\n{}", conlink.log());
    for n in [&a, &b, &r, &netns] {
        assert!(!Path::new("/run/netns").join(n).exists(), "namespace {n} left behind");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
