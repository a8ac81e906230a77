//! End to end: dual stack (IPv4 + IPv6) through a router, with real dockerd,
//! `docker compose` and conlink from its image (examples/dual-stack-compose.yaml).
//! Covers address lists per link, IPv6 default routes, and the per-replica
//! increment of IPv6 addresses.

mod support;

use std::time::Duration;

use support::{connected_ms, docker_available, examples, say, Compose};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

fn out_text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Asserts `service[index]` gets an answer from `dst` over IPv6 (`ping -6`).
fn ping6(c: &Compose, service: &str, index: u32, dst: &str) {
    let mut last = None;
    for _ in 0..5 {
        let out = c.exec(service, index, &["ping", "-6", "-c1", "-W2", dst]);
        if out.status.success() {
            return;
        }
        last = Some(out);
    }
    panic!("{service}[{index}] cannot ping -6 {dst}:\n{}", out_text(&last.unwrap()));
}

/// Asserts the ping is answered over IPv4 (`ping -4`).
fn ping4(c: &Compose, service: &str, index: u32, dst: &str) {
    let mut last = None;
    for _ in 0..5 {
        let out = c.exec(service, index, &["ping", "-4", "-c1", "-W2", dst]);
        if out.status.success() {
            return;
        }
        last = Some(out);
    }
    panic!("{service}[{index}] cannot ping -4 {dst}:\n{}", out_text(&last.unwrap()));
}

/// Asserts DEV in SERVICE[index] holds exactly the addresses `want` (global scope,
/// both families) and no other global address.
fn assert_addrs(c: &Compose, service: &str, index: u32, dev: &str, want: &[&str]) {
    let have = c.ip_addr(service, index, dev);
    let global: Vec<&str> = have
        .lines()
        .filter(|l| l.contains("scope global"))
        .filter_map(|l| {
            let mut t = l.split_whitespace();
            t.find(|w| *w == "inet" || *w == "inet6")?;
            t.next()
        })
        .collect();
    let mut got = global.clone();
    got.sort();
    let mut expected = want.to_vec();
    expected.sort();
    assert_eq!(got, expected, "{service}[{index}] {dev} addresses; `ip -o addr`:\n{have}");
}

fn routes(c: &Compose, service: &str, index: u32, family: &str) -> String {
    out_text(&c.exec(service, index, &["ip", family, "route", "show", "default"]))
}

#[test]
fn dual_stack_router_and_replicas_in_compose() {
    if !docker_available("dual_stack_router_and_replicas_in_compose") {
        return;
    }
    let file = examples().join("dual-stack-compose.yaml");
    let c = Compose::new("t6d", &[&file]);
    c.ok(&["up", "-d"]);
    let log = c.wait_log("network", "All links connected", CONNECT_TIMEOUT);
    say(&format!(
        "dual stack (compose, 4 containers): All links connected after {:?} ms",
        connected_ms(&log)
    ));
    c.wait_for_addr("h", 2, "eth0", "2001:db8:1::11/64");

    // Addresses: both families on each link, replica 2 incremented in both.
    assert_addrs(&c, "r0", 1, "eth-s1", &["192.0.2.1/24", "2001:db8:1::1/64"]);
    assert_addrs(&c, "r0", 1, "eth-s2", &["198.51.100.1/24", "2001:db8:2::1/64"]);
    assert_addrs(&c, "h", 1, "eth0", &["192.0.2.10/24", "2001:db8:1::10/64"]);
    assert_addrs(&c, "h", 2, "eth0", &["192.0.2.11/24", "2001:db8:1::11/64"]);
    assert_addrs(&c, "h3", 1, "eth0", &["198.51.100.10/24", "2001:db8:2::10/64"]);

    // Default routes of both families.
    for n in [1, 2] {
        let v4 = routes(&c, "h", n, "-4");
        assert!(v4.contains("default via 192.0.2.1 dev eth0"), "h[{n}] IPv4 default route:\n{v4}");
        let v6 = routes(&c, "h", n, "-6");
        assert!(v6.contains("default via 2001:db8:1::1 dev eth0"), "h[{n}] IPv6 default route:\n{v6}");
    }

    // On the same switch, then across the router, both ways, both families.
    ping6(&c, "h", 1, "2001:db8:1::11");
    ping6(&c, "h", 2, "2001:db8:1::1");
    for n in [1, 2] {
        ping4(&c, "h", n, "198.51.100.10");
        ping6(&c, "h", n, "2001:db8:2::10");
    }
    ping4(&c, "h3", 1, "192.0.2.11");
    ping6(&c, "h3", 1, "2001:db8:1::11");
    ping6(&c, "h3", 1, "2001:db8:1::10");

    // A restarted replica gets both of its addresses back and is reachable over v6.
    c.ok(&["restart", "-t", "0", "h"]);
    c.wait_for_addr("h", 2, "eth0", "2001:db8:1::11/64");
    c.wait_for_addr("h", 1, "eth0", "2001:db8:1::10/64");
    ping6(&c, "h3", 1, "2001:db8:1::11");
    ping4(&c, "h", 2, "198.51.100.10");
}
