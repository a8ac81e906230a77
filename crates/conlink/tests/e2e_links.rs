//! End to end: link kinds beyond plain veth, with real dockerd and `docker compose`.
//!
//! - test7: MAC/MTU per replica, `--default-mtu`, netem (or, where the kernel lacks
//!   netem, the clear error and the rollback of the unmodified example)
//! - test8: macvlan on a host interface (in a namespace the test creates) with static
//!   NAT in front of a web server; vlan (or its clear error)
//! - test9: linux, patch and ovs (userspace datapath here) bridges, reconnect after stop/start
//! - test10: port forwards through conlink's published ports, router between subnets
//!   (tunnels between two conlinks: e2e_tunnels.rs)
//!
//! Every namespace, container and project is removed by Drop guards, pass or fail.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::host::{kernel_has_link_kind, lines_with, must, run, text, wait_for, NetnsGuard, TempDir};
use support::{connected_ms, docker_available, examples, say, Compose, HostConlink};

const TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------- helpers

/// A TCP port on 127.0.0.1 nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Whether the kernel can attach a netem qdisc (tried on lo of a throwaway namespace
/// with conlink's own netlink code). Err carries the reason it cannot.
fn kernel_netem() -> Result<(), String> {
    rt().block_on(async {
        let ns = conlink_kernel::Netns::create_anonymous().map_err(|e| e.to_string())?;
        let nl = conlink_kernel::Nl::connect(&ns).await.map_err(|e| e.to_string())?;
        let netem = conlink_kernel::Netem::parse("delay 40ms")?;
        nl.set_netem("lo", &netem).await.map_err(|e| e.to_string())
    })
}

/// `busybox wget -qO- URL` from the host (or a namespace), retried until it answers.
fn fetch(ns: Option<&NetnsGuard>, url: &str) -> String {
    wait_for(&format!("fetch {url}"), TIMEOUT, || {
        // (busybox 1.35's `wget -T` crashes; `timeout` bounds each try instead.)
        let args = ["10", "busybox", "wget", "-qO-", url];
        let out = match ns {
            Some(ns) => ns.exec("timeout", &args),
            None => run(Command::new("timeout").args(args)),
        };
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(text(&out))
        }
    })
}

/// The largest `time=N ms` of a ping's output.
fn max_rtt_ms(ping_output: &str) -> Option<f64> {
    ping_output
        .lines()
        .filter_map(|l| l.split("time=").nth(1))
        .filter_map(|t| t.split_whitespace().next()?.parse::<f64>().ok())
        .reduce(f64::max)
}

// ---------------------------------------------------------------- test7

/// The test7 example without its netem setting, in a directory of its own (the
/// conlink service mounts `./` and reads `/test/test7-compose.yaml` from there).
fn test7_without_netem(dir: &TempDir) -> PathBuf {
    let original = std::fs::read_to_string(examples().join("test7-compose.yaml")).unwrap();
    let stripped = original.replace(",\n           netem: \"delay 40ms\"}", "}");
    assert_ne!(
        stripped, original,
        "examples/test7-compose.yaml no longer has the netem line this test removes"
    );
    assert!(!stripped.contains("netem: "), "a netem setting is left in the copy");
    let file = dir.0.join("test7-compose.yaml");
    std::fs::write(&file, stripped).unwrap();
    file
}

fn check_test7_topology(file: &Path, netem: bool) {
    let c = Compose::new("t7", &[file]);
    c.ok(&["up", "-d"]);
    let log = c.wait_log("network", "All links connected", TIMEOUT);
    say(&format!("test7: All links connected after {:?} ms", connected_ms(&log)));

    for (n, mac) in [(1, "00:0a:0b:0c:0d:01"), (2, "00:0a:0b:0c:0d:02")] {
        let eth0 = c.ip_link("node", n, "eth0");
        assert!(eth0.contains(&format!("link/ether {mac} ")), "node[{n}] eth0 MAC is not {mac}: {eth0}");
        assert!(eth0.contains("mtu 4111 "), "node[{n}] eth0 MTU is not 4111: {eth0}");
        let eth1 = c.ip_link("node", n, "eth1");
        assert!(eth1.contains("mtu 5111 "), "node[{n}] eth1 MTU is not --default-mtu 5111: {eth1}");
        assert!(c.ip_addr("node", n, "eth0").contains(&format!("10.0.1.{n}/24")));
        assert!(c.ip_addr("node", n, "eth1").contains(&format!("10.0.2.{n}/24")));
    }
    c.ping("node", 1, "10.0.1.2");
    c.ping("node", 2, "10.0.1.1");
    c.ping("node", 1, "10.0.2.2");
    if netem {
        let out = c.exec("node", 1, &["ping", "-c3", "-W2", "10.0.1.2"]);
        assert!(out.status.success(), "ping over the netem link failed: {}", text(&out));
        let out = text(&out);
        let rtt = max_rtt_ms(&out).unwrap_or_else(|| panic!("no RTT in ping output: {out}"));
        assert!(rtt >= 40.0, "netem delay 40ms, but the RTT was {rtt} ms:\n{out}");
        say(&format!("test7: RTT over eth0 with netem delay 40ms: {rtt} ms"));
    }
}

#[test]
fn test7_mac_mtu_netem_and_default_mtu() {
    if !docker_available("test7_mac_mtu_netem_and_default_mtu") {
        return;
    }
    let example = examples().join("test7-compose.yaml");
    match kernel_netem() {
        Ok(()) => check_test7_topology(&example, true),
        Err(why) => {
            say(&format!(
                "test7: this kernel lacks netem ({why}): checking that the unmodified example fails \
                 cleanly, then running a copy of examples/test7-compose.yaml without `netem`"
            ));
            // The unmodified example: a clear error per replica naming netem and the link,
            // no "All links connected", and nothing left half-built in the containers.
            let c = Compose::new("t7n", &[&example]);
            c.ok(&["up", "-d"]);
            let log = wait_for("both replicas report the missing netem", TIMEOUT, || {
                let log = c.logs("network");
                if lines_with(&log, &["kernel lacks netem"]).len() >= 2 {
                    Ok(log)
                } else {
                    Err(log)
                }
            });
            for n in 1..=2 {
                let container = format!("{}-node-{n}", c.project);
                let lines = lines_with(&log, &["kernel lacks netem", &container]);
                assert!(!lines.is_empty(), "no netem error naming {container}:\n{log}");
                assert!(
                    lines[0].contains("/links/0"),
                    "the netem error does not name the link /links/0: {}",
                    lines[0]
                );
                assert!(lines[0].contains("eth0"), "the netem error does not name eth0: {}", lines[0]);
            }
            // Give a (wrong) success message the chance to appear before asserting its absence.
            std::thread::sleep(Duration::from_secs(1));
            let log = c.logs("network");
            assert!(
                !log.contains("All links connected"),
                "All links connected logged although netem failed:\n{log}"
            );
            for n in 1..=2 {
                for dev in ["eth0", "eth1"] {
                    assert_eq!(
                        c.ip_link("node", n, dev),
                        "",
                        "node[{n}] kept {dev} after the failed build (no rollback)"
                    );
                }
            }
            drop(c);

            let dir = TempDir::new("t7-");
            check_test7_topology(&test7_without_netem(&dir), false);
        }
    }
}

// ---------------------------------------------------------------- test8

#[test]
fn test8_macvlan_with_static_nat_and_vlan() {
    if !docker_available("test8_macvlan_with_static_nat_and_vlan") {
        return;
    }
    // "hostsim" stands in for the host: tp0 is the parent interface of the *vlan
    // links, its veth peer tp1 (198.51.100.1/24) is another machine on that LAN.
    let hostsim = NetnsGuard::new("hs");
    hostsim.ip(&["link", "add", "tp0", "type", "veth", "peer", "name", "tp1"]);
    hostsim.ip(&["addr", "add", "198.51.100.1/24", "dev", "tp1"]);
    hostsim.ip(&["link", "set", "tp0", "up"]);
    hostsim.ip(&["link", "set", "tp1", "up"]);
    let has_vlan = kernel_has_link_kind("vlan", &["id", "5"]);
    if has_vlan {
        hostsim.ip(&["link", "add", "link", "tp1", "name", "tp1.5", "type", "vlan", "id", "5"]);
        hostsim.ip(&["addr", "add", "203.0.113.1/24", "dev", "tp1.5"]);
        hostsim.ip(&["link", "set", "tp1.5", "up"]);
    }

    let file = examples().join("test8-compose.yaml");
    let mut c = Compose::new("t8", &[&file]);
    c.env.push(("HOST_IF".into(), "tp0".into()));
    c.ok(&["up", "-d", "node", "vnode"]);
    let bridges = NetnsGuard::for_conlink("cl8");
    let host_netns = hostsim.path();
    let mut conlink = HostConlink::start(
        &[
            "--compose-file",
            file.to_str().unwrap(),
            "--compose-project",
            &c.project,
            "--host-netns",
            host_netns.to_str().unwrap(),
            "--netns",
            &bridges.0,
        ],
        &[("HOST_IF", "tp0")],
    );

    // The macvlan: address, MAC and MTU as configured.
    c.wait_for_addr("node", 1, "eth0", "198.51.100.10/24");
    let eth0 = c.ip_link("node", 1, "eth0");
    assert!(eth0.contains("link/ether 02:00:00:00:08:0a "), "macvlan MAC: {eth0}");
    assert!(eth0.contains("mtu 1400 "), "macvlan MTU: {eth0}");
    assert!(hostsim.ip(&["link", "show", "tp0"]).contains("tp0"), "the parent stays in the host namespace");

    // The web server listens on 192.0.2.10 (eth1) only: reaching it at 198.51.100.10
    // from the LAN works only through the static NAT on eth0.
    let body = fetch(Some(&hostsim), "http://198.51.100.10:8080/");
    assert!(body.contains("hello from test8 node"), "unexpected page: {body}");
    say("test8: http://198.51.100.10:8080/ from the LAN reached the server on 192.0.2.10 through static NAT");
    let pid = c.ok(&["ps", "-q", "node"]);
    let pid = must("docker", &["inspect", "-f", "{{.State.Pid}}", pid.trim()]);
    let rules = must("nsenter", &["-t", pid.trim(), "-n", "nft", "list", "table", "inet", "conlink_nat"]);
    assert!(rules.contains("dnat ip to 192.0.2.10"), "static NAT rules: {rules}");
    assert!(rules.contains("snat ip to 198.51.100.10"), "static NAT rules: {rules}");

    // The vlan link of vnode (/links/2 in the merged config).
    if has_vlan {
        c.wait_for_addr("vnode", 1, "eth0", "203.0.113.10/24");
        c.ping("vnode", 1, "203.0.113.1");
        conlink.wait_log("All links connected", TIMEOUT);
    } else {
        say("test8: this kernel lacks 8021q vlan: checking vnode's vlan link fails with a clear error");
        let log = conlink.wait_log("kernel lacks 8021q vlan", TIMEOUT);
        let vnode = format!("{}-vnode-1", c.project);
        let lines = lines_with(&log, &["kernel lacks 8021q vlan", &vnode]);
        assert!(!lines.is_empty(), "the vlan error does not name {vnode}:\n{log}");
        assert!(
            lines[0].contains("/links/2"),
            "the vlan error does not name the link /links/2: {}",
            lines[0]
        );
        assert!(!log.contains("All links connected"), "All links connected although vnode failed:\n{log}");
        assert_eq!(c.ip_link("vnode", 1, "eth0"), "", "vnode has an eth0 although its vlan failed");
        // node's links are unaffected by vnode's failure.
        fetch(Some(&hostsim), "http://198.51.100.10:8080/");
    }

    let status = conlink.stop();
    assert!(status.success(), "conlink exit status {status}:\n{}", conlink.log());
    assert_eq!(c.ip_link("node", 1, "eth0"), "", "the macvlan is still in node after conlink exited");
    assert_eq!(c.ip_link("node", 1, "eth1"), "", "eth1 is still in node after conlink exited");
}

// ---------------------------------------------------------------- test9

fn tc_ingress(ns: &NetnsGuard, dev: &str) -> String {
    let out = ns.exec("tc", &["filter", "show", "dev", dev, "ingress"]);
    assert!(out.status.success(), "tc filter show dev {dev} ingress: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Each outer end's ingress redirects every frame to the other one.
fn assert_patched(ns: &NetnsGuard, a: &str, b: &str) {
    for (from, to) in [(a, b), (b, a)] {
        wait_for(&format!("{from} redirects to {to}"), TIMEOUT, || {
            let f = tc_ingress(ns, from);
            if f.contains("mirred") && f.contains(&format!("Redirect to device {to}")) {
                Ok(())
            } else {
                Err(f)
            }
        });
    }
    // The same through conlink's own netlink code.
    rt().block_on(async {
        let nl = conlink_kernel::Nl::connect(&conlink_kernel::Netns::from_path(&ns.path()).unwrap())
            .await
            .unwrap();
        for dev in [a, b] {
            assert!(nl.has_mirred(dev).await.unwrap(), "Nl::has_mirred({dev}) is false");
        }
    });
}

fn test9(mode: &str) {
    let file = examples().join("test9-compose.yaml");
    let mut c = Compose::new("t9", &[&file]);
    c.env.push(("BRIDGE_MODE".into(), mode.into()));
    c.ok(&["up", "-d", "node1", "node2"]);
    let netns = NetnsGuard::for_conlink("cl9");
    if mode == "ovs" {
        OVS_DIR.set(format!("/run/conlink/ovs-{}", netns.0)).unwrap();
    }
    let mut conlink = HostConlink::start(
        &["--compose-file", file.to_str().unwrap(), "--compose-project", &c.project, "--netns", &netns.0],
        &[("BRIDGE_MODE", mode)],
    );
    let log = conlink.wait_log("All links connected", TIMEOUT);
    say(&format!("test9 ({mode}): All links connected after {:?} ms", connected_ms(&log)));
    assert!(log.contains(&format!("({mode})")), "bridge s1 not set up in {mode} mode:\n{log}");
    c.ping("node1", 1, "10.0.1.2");
    c.ping("node2", 1, "10.0.1.1");
    if mode == "patch" {
        assert_patched(&netns, "node1_1-eth0", "node2_1-eth0");
    } else if mode == "ovs" {
        assert_ovs_ports(&["node1_1-eth0", "node2_1-eth0"]);
    } else {
        let master = netns.ip(&["link", "show", "node1_1-eth0"]);
        assert!(master.contains("master s1"), "outer end not on bridge s1: {master}");
    }

    // node2 stopped and started again is reconnected.
    c.ok(&["stop", "-t", "0", "node2"]);
    c.ok(&["start", "node2"]);
    c.wait_for_addr("node2", 1, "eth0", "10.0.1.2/24");
    if mode == "patch" {
        assert_patched(&netns, "node1_1-eth0", "node2_1-eth0");
    } else if mode == "ovs" {
        assert_ovs_ports(&["node1_1-eth0", "node2_1-eth0"]);
    }
    c.ping("node1", 1, "10.0.1.2");
    c.ping("node2", 1, "10.0.1.1");

    let status = conlink.stop();
    assert!(status.success(), "conlink exit status {status}:\n{}", conlink.log());
    assert!(!netns.path().exists(), "conlink's namespace is removed on exit");
}

#[test]
fn test9_linux_bridge_reconnects() {
    if docker_available("test9_linux_bridge_reconnects") {
        test9("linux");
    }
}

#[test]
fn test9_patch_bridge_mirred_and_reconnects() {
    if docker_available("test9_patch_bridge_mirred_and_reconnects") {
        test9("patch");
    }
}

/// conlink's private Open vSwitch directory for the running test9 (ovs).
static OVS_DIR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Both outer ends are ports of the OVS bridge s1.
fn assert_ovs_ports(ports: &[&str]) {
    wait_for("ovs ports on s1", TIMEOUT, || {
        let out = std::process::Command::new("ovs-vsctl")
            .args(["--timeout=5", "list-ports", "s1"])
            .env("OVS_RUNDIR", OVS_DIR.get().expect("set by test9"))
            .output()
            .unwrap();
        let list = String::from_utf8_lossy(&out.stdout).into_owned();
        if ports.iter().all(|p| list.lines().any(|l| l == *p)) {
            Ok(())
        } else {
            Err(list)
        }
    });
}

#[test]
fn test9_ovs_bridge_userspace_datapath_reconnects() {
    if !docker_available("test9_ovs_bridge_userspace_datapath_reconnects") {
        return;
    }
    if std::process::Command::new("ovs-vsctl").arg("--version").output().is_err() {
        panic!("ovs-vsctl is missing: scripts/test-env.sh up installs openvswitch-switch");
    }
    test9("ovs");
    // conlink started a private Open vSwitch for its bridge and stopped it on exit.
    let dir = OVS_DIR.get().unwrap();
    assert!(!std::path::Path::new(dir).exists(), "{dir} left behind");
    let ps = std::process::Command::new("pgrep").args(["-f", dir.as_str()]).output().unwrap();
    assert!(
        ps.stdout.is_empty(),
        "Open vSwitch of {dir} still running: {}",
        String::from_utf8_lossy(&ps.stdout)
    );
}

// ---------------------------------------------------------------- test10

#[test]
fn test10_port_forwards_through_conlink() {
    if !docker_available("test10_port_forwards_through_conlink") {
        return;
    }
    let file = examples().join("test10-compose.yaml");
    let mut c = Compose::new("t10", &[&file]);
    // Free high ports on loopback instead of 3080/8080/80/81.
    let mut ports: Vec<u16> = Vec::new();
    while ports.len() < 4 {
        let p = free_port();
        if !ports.contains(&p) {
            ports.push(p);
        }
    }
    c.env.push(("PUBLISH_IP".into(), "127.0.0.1".into()));
    for (i, p) in ports.iter().enumerate() {
        c.env.push((format!("HTTP_PORT_{}", i + 1), p.to_string()));
    }
    c.ok(&["up", "-d"]);
    let log = c.wait_log("network", "All links connected", TIMEOUT);
    say(&format!("test10: All links connected after {:?} ms (ports {ports:?})", connected_ms(&log)));
    assert!(log.contains("DOCKER-ETH0"), "conlink did not rename its engine interface:\n{log}");

    let expect = [
        (ports[0], "node1 10.0.1.1/24", "3080 -> 1080 -> node1:80"),
        (ports[1], "node1 10.0.1.1/24", "8080 -> 1180 -> node1:80"),
        (ports[2], "node2 10.0.2.1/24", "80 -> 80 -> node2[1]:80"),
        (ports[3], "node2 10.0.2.2/24", "81 -> 81 -> node2[2]:80"),
    ];
    for (port, content, what) in expect {
        let body = fetch(None, &format!("http://127.0.0.1:{port}/"));
        assert_eq!(body.trim(), content, "{what} (host port {port}) reached the wrong server");
    }
    // The router joins the two subnets.
    c.ping("node1", 1, "10.0.2.2");
    c.ping("node2", 2, "10.0.1.1");
}

#[test]
fn test9_ovs_inside_the_conlink_container() {
    if !docker_available("test9_ovs_inside_the_conlink_container") {
        return;
    }
    let file = examples().join("test9-compose.yaml");
    let mut c = Compose::new("t9oc", &[&file]);
    c.env.push(("BRIDGE_MODE".into(), "ovs".into()));
    c.ok(&["up", "-d"]);
    let log = c.wait_log("network", "All links connected", TIMEOUT);
    assert!(log.contains("bridge ready (ovs)"), "{log}");
    say(&format!("test9 (ovs in the conlink image): All links connected after {:?} ms", connected_ms(&log)));
    c.ping("node1", 1, "10.0.1.2");
    c.ping("node2", 1, "10.0.1.1");
}
