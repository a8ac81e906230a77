//! The link settings that keep the netns runtime fast at 1000 nodes, and what users
//! see of them. IPv6 usable the moment `All links connected` is logged (nothing
//! tentative, the first ping answered), and only where a link asks for it (outer ends
//! and links without IPv6 addresses run none); bridges snoop no multicast and their
//! veth ports share the bridge's MAC.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{conlink_bin, say, unique, HostConlink};

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

fn ip_n(ns: &str, args: &[&str]) -> String {
    let out = Command::new("ip").arg("-n").arg(ns).args(args).output().expect("run ip");
    assert!(out.status.success(), "ip -n {ns} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn ipv6_is_usable_when_all_links_connected_is_logged() {
    if !is_root() {
        say("skipped ipv6_is_usable_when_all_links_connected_is_logged: needs root (creates network namespaces)");
        return;
    }
    let (a, b, c) = (unique("v6a"), unique("v6b"), unique("v6c"));
    let netns = unique("clv6");
    let dir = std::env::temp_dir().join(unique("v6cfg"));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("net.yaml");
    // a and b dual stack on s1; c IPv4 only.
    std::fs::write(
        &cfg,
        format!(
            "nodes:\n  - name: {a}\n  - name: {b}\n  - name: {c}\n\
             links:\n\
             \x20 - {{container: {a}, bridge: s1, outer-dev: {a}o, ip: [10.9.0.1/24, \"2001:db8:9::1/64\"]}}\n\
             \x20 - {{container: {b}, bridge: s1, outer-dev: {b}o, ip: [10.9.0.2/24, \"2001:db8:9::2/64\"]}}\n\
             \x20 - {{container: {c}, bridge: s1, outer-dev: {c}o, ip: [10.9.0.3/24]}}\n"
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
    conlink.wait_log("All links connected", Duration::from_secs(20));

    // At once (DAD would take a second or more): nothing tentative, the first v6 ping answered.
    for node in [&a, &b] {
        let tentative = ip_n(node, &["-6", "addr", "show", "dev", "eth0", "tentative"]);
        assert!(tentative.trim().is_empty(), "{node}: tentative addresses:\n{tentative}");
        let addrs = ip_n(node, &["-6", "addr", "show", "dev", "eth0"]);
        assert!(addrs.contains("inet6 fe80::"), "{node} keeps a link-local address:\n{addrs}");
    }
    let ping = Command::new(conlink_bin())
        .args(["exec", &a, "ping", "-6", "-c1", "-W1", "2001:db8:9::2"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ping.stdout).into_owned();
    assert!(ping.status.success(), "first v6 ping from {a} to {b} failed:\n{text}");
    let rtt: f64 = text
        .split("time=")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no RTT in {text}"));
    assert!(rtt < 500.0, "first v6 ping took {rtt} ms (an address still in DAD?):\n{text}");
    say(&format!("first v6 ping at All links connected: {rtt} ms"));

    // IPv6 only where asked for: not on c's link, not on any outer end.
    let c_v6 = ip_n(&c, &["-6", "addr", "show", "dev", "eth0"]);
    assert!(c_v6.trim().is_empty(), "{c} has no IPv6 address on an IPv4-only link:\n{c_v6}");
    let c_v4 = ip_n(&c, &["-4", "addr", "show", "dev", "eth0"]);
    assert!(c_v4.contains("10.9.0.3/24"), "{c_v4}");
    for node in [&a, &b, &c] {
        let outer = format!("{node}o");
        let v6 = ip_n(&netns, &["-6", "addr", "show", "dev", &outer]);
        assert!(v6.trim().is_empty(), "outer end {outer} has IPv6 addresses:\n{v6}");
    }
    let bridge = ip_n(&netns, &["-d", "link", "show", "s1"]);
    assert!(bridge.contains("mcast_snooping 0"), "bridge s1 snoops multicast:\n{bridge}");
    let ping4 =
        Command::new(conlink_bin()).args(["exec", &c, "ping", "-c1", "-W1", "10.9.0.1"]).output().unwrap();
    assert!(ping4.status.success(), "{c} -> {a} over IPv4: {}", String::from_utf8_lossy(&ping4.stdout));

    let status = conlink.stop();
    assert!(status.success(), "exit {status}:\n{}", conlink.log());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The outer veth ends on a linux bridge carry the bridge's own MAC, set by hand (so the
/// kernel stops recomputing it per port): the bridge keeps one local FDB entry for all of
/// them instead of one per port, and traffic between the nodes is unchanged.
#[test]
fn outer_ends_share_the_bridge_mac_and_traffic_flows() {
    if !is_root() {
        say("skipped outer_ends_share_the_bridge_mac_and_traffic_flows: needs root (creates network namespaces)");
        return;
    }
    let nodes: Vec<String> = (1..=4).map(|i| unique(&format!("mac{i}"))).collect();
    let netns = unique("clmac");
    let dir = std::env::temp_dir().join(unique("maccfg"));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("net.yaml");
    let mut yaml = String::from("nodes:\n");
    for n in &nodes {
        yaml.push_str(&format!("  - name: {n}\n"));
    }
    yaml.push_str("links:\n");
    for (i, n) in nodes.iter().enumerate() {
        yaml.push_str(&format!(
            "  - {{container: {n}, bridge: s1, outer-dev: {n}o, ip: 10.9.1.{}/24}}\n",
            i + 1
        ));
    }
    std::fs::write(&cfg, yaml).unwrap();
    let args = [
        "--network-file",
        cfg.to_str().unwrap(),
        "--netns",
        &netns,
        "--docker-socket",
        "/nonexistent/docker.sock",
        "--podman-socket",
        "/nonexistent/podman.sock",
    ];
    let mut conlink = HostConlink::start(&args, &[]);
    conlink.wait_log("All links connected", Duration::from_secs(20));

    let mac_of = |ns: &str, dev: &str| {
        let out = ip_n(ns, &["-o", "link", "show", dev]);
        out.split("link/ether ").nth(1).and_then(|t| t.split(' ').next()).unwrap_or_default().to_string()
    };
    let bridge_mac = mac_of(&netns, "s1");
    assert_eq!(bridge_mac.len(), 17, "no MAC on s1");
    let assign = Command::new("ip")
        .args(["netns", "exec", &netns, "cat", "/sys/class/net/s1/addr_assign_type"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&assign.stdout).trim(),
        "3",
        "s1's MAC is not marked as set (NET_ADDR_SET)"
    );
    let mut inner_macs = Vec::new();
    for n in &nodes {
        assert_eq!(mac_of(&netns, &format!("{n}o")), bridge_mac, "outer end of {n}");
        inner_macs.push(mac_of(n, "eth0"));
    }
    inner_macs.sort();
    inner_macs.dedup();
    assert_eq!(inner_macs.len(), nodes.len(), "inner ends keep their own MACs: {inner_macs:?}");
    let fdb = ip_n(&netns, &["-o", "link", "show", "master", "s1"]);
    assert_eq!(fdb.lines().count(), nodes.len(), "ports of s1:\n{fdb}");
    let locals = Command::new("bridge").args(["-n", &netns, "fdb", "show", "br", "s1"]).output().unwrap();
    let locals = String::from_utf8_lossy(&locals.stdout).into_owned();
    // Local (permanent) entries on the ports: at most the one shared MAC, not one per port.
    let port_locals: Vec<&str> =
        locals.lines().filter(|l| l.contains(" master s1 permanent") && !l.contains(" dev s1 ")).collect();
    assert!(port_locals.len() <= 1, "one local entry for the shared MAC, not one per port:\n{locals}");
    // Every node reaches every other one (ARP replies, unicast forwarding by learnt MACs).
    for (i, n) in nodes.iter().enumerate() {
        let peer = format!("10.9.1.{}", (i + 1) % nodes.len() + 1);
        let ping =
            Command::new(conlink_bin()).args(["exec", n, "ping", "-c1", "-W2", &peer]).output().unwrap();
        assert!(ping.status.success(), "{n} -> {peer}: {}", String::from_utf8_lossy(&ping.stdout));
    }
    let status = conlink.stop();
    assert!(status.success(), "exit {status}:\n{}", conlink.log());
    let _ = std::fs::remove_dir_all(&dir);
}
