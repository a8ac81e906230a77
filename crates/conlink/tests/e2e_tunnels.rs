//! End to end: vxlan (and geneve, where the kernel has it) between two conlinks, each
//! in its own "host" namespace with its own compose project.

mod support;

use std::time::Duration;

use support::host::{kernel_has_link_kind, lines_with, wait_exit, NetnsGuard};
use support::{docker_available, examples, say, unique, Compose, HostConlink};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Two "hosts" (namespaces joined by a veth, 198.51.100.1 and .2), each with its own
/// conlink (bridges in that namespace) and compose project with one node on s1.
fn two_hosts_tunnel(tunnel: &str) {
    let file = examples().join("vxlan-compose.yaml");
    let ns_a = NetnsGuard::new("tna");
    let ns_b = NetnsGuard::new("tnb");
    ns_a.ip(&["link", "add", "ul0", "type", "veth", "peer", "name", "ul0", "netns", &ns_b.0]);
    ns_a.ip(&["addr", "add", "198.51.100.1/24", "dev", "ul0"]);
    ns_b.ip(&["addr", "add", "198.51.100.2/24", "dev", "ul0"]);
    ns_a.ip(&["link", "set", "ul0", "up"]);
    ns_b.ip(&["link", "set", "ul0", "up"]);

    let mut hosts = Vec::new();
    for (ns, remote, node_ip) in
        [(&ns_a, "198.51.100.2", "192.0.2.1/24"), (&ns_b, "198.51.100.1", "192.0.2.2/24")]
    {
        let env = [("REMOTE", remote), ("NODE_IP", node_ip), ("TUNNEL", tunnel)];
        let mut c = Compose::new("tun", &[&file]);
        c.env.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        c.ok(&["up", "-d", "node"]);
        let conlink = HostConlink::start(
            &["--compose-file", file.to_str().unwrap(), "--compose-project", &c.project, "--netns", &ns.0],
            &env,
        );
        hosts.push((c, conlink));
    }
    for (_, conlink) in hosts.iter_mut() {
        let log = conlink.wait_log("All links connected", TIMEOUT);
        assert!(log.contains(&format!("tunnel={tunnel}-42")), "no {tunnel}-42 tunnel logged:\n{log}");
    }
    let dev = format!("{tunnel}-42");
    let link = ns_a.ip(&["-d", "link", "show", &dev]);
    assert!(link.contains("master s1"), "{dev} is not on s1: {link}");
    hosts[0].0.ping("node", 1, "192.0.2.2");
    hosts[1].0.ping("node", 1, "192.0.2.1");
    say(&format!("{tunnel}: node A (192.0.2.1) and node B (192.0.2.2) ping each other across the tunnel"));
    for (_, conlink) in hosts.iter_mut() {
        let status = conlink.stop();
        assert!(status.success(), "conlink exit status {status}:\n{}", conlink.log());
    }
}

#[test]
fn vxlan_between_two_conlink_instances() {
    if docker_available("vxlan_between_two_conlink_instances") {
        two_hosts_tunnel("vxlan");
    }
}

#[test]
fn geneve_tunnel_or_its_clear_error() {
    if !docker_available("geneve_tunnel_or_its_clear_error") {
        return;
    }
    if kernel_has_link_kind("geneve", &["id", "42", "remote", "198.51.100.2"]) {
        two_hosts_tunnel("geneve");
        return;
    }
    say("geneve: this kernel lacks geneve: checking conlink refuses the tunnel with a clear error");
    let file = examples().join("vxlan-compose.yaml");
    let netns = NetnsGuard::for_conlink("clg");
    let project = unique("tung");
    let mut conlink = HostConlink::start(
        &["--compose-file", file.to_str().unwrap(), "--compose-project", &project, "--netns", &netns.0],
        &[("REMOTE", "198.51.100.2"), ("TUNNEL", "geneve")],
    );
    let (status, log) = wait_exit(&mut conlink, TIMEOUT);
    assert!(!status.success(), "conlink started without geneve support:\n{log}");
    let lines = lines_with(&log, &["kernel lacks geneve", "/tunnels/0"]);
    assert!(!lines.is_empty(), "no clear geneve error naming /tunnels/0:\n{log}");
    assert!(!netns.path().exists(), "conlink left its namespace behind after the error");
    say(&format!("geneve: {}", lines[0].trim()));
}
