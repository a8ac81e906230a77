//! End to end: the original's test1 and test2 topologies with real dockerd and
//! `docker compose`, conlink running from its image and on the host.

mod support;

use std::time::Duration;

use support::{connected_ms, docker_available, examples, Compose, HostConlink};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn test1_router_and_three_switches_in_compose() {
    if !docker_available("test1_router_and_three_switches_in_compose") {
        return;
    }
    let file = examples().join("test1-compose.yaml");
    let c = Compose::new("t1c", &[&file]);
    c.ok(&["up", "-d"]);
    let log = c.wait_log("network", "All links connected", CONNECT_TIMEOUT);
    support::say(&format!("test1 (compose): All links connected after {:?} ms", connected_ms(&log)));

    // What a user checks: names, addresses, MTU, and pings across the router.
    assert!(c.ip_addr("r0", 1, "eth-s2").contains("172.16.0.1/12"));
    assert!(c.ip_addr("h3", 1, "eth0").contains("10.0.0.100/8"));
    assert!(c.ip_link("h1", 1, "eth0").contains("mtu 65535"), "{}", c.ip_link("h1", 1, "eth0"));
    assert!(c.ip_link("h1", 1, "eth0").contains("link/ether c2:"), "random MACs start with c2");
    c.ping("h1", 1, "10.0.0.100");
    c.ping("h1", 1, "172.16.0.100");
    c.ping("h3", 1, "192.168.1.100");
    c.ping("h2", 1, "10.0.0.100");

    // Live status from inside the conlink container.
    let status = c.exec("network", 1, &["/bin/conlink", "status"]);
    let table = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(status.status.success(), "{table}{}", String::from_utf8_lossy(&status.stderr));
    assert!(table.contains("h1_1-eth0") && table.contains("All links connected"), "{table}");
    assert_eq!(table.lines().filter(|l| l.contains("  connected  ")).count(), 6, "{table}");

    // A restarted host is reconnected.
    c.ok(&["restart", "-t", "0", "h3"]);
    c.wait_for_addr("h3", 1, "eth0", "10.0.0.100/8");
    c.ping("h1", 1, "10.0.0.100");
}

#[test]
fn test2_network_file_and_scaling_in_compose() {
    if !docker_available("test2_network_file_and_scaling_in_compose") {
        return;
    }
    let file = examples().join("test2-compose.yaml");
    let c = Compose::new("t2c", &[&file]);
    // Containers first, then conlink: measures containers running → All links connected.
    c.ok(&["up", "-d", "node", "internet"]);
    c.ok(&["up", "-d", "network"]);
    let log = c.wait_log("network", "All links connected", CONNECT_TIMEOUT);
    support::say(&format!(
        "test2 (compose, 2 nodes pre-existing): All links connected {:?} ms after conlink started",
        connected_ms(&log)
    ));

    assert!(c.ip_addr("node", 1, "eth0").contains("10.0.1.1/16"));
    assert!(c.ip_addr("node", 2, "eth0").contains("10.0.1.2/16"));
    c.ping("node", 1, "203.0.113.8");
    c.ping("node", 2, "10.0.1.1");

    c.ok(&["up", "-d", "--scale", "node=5"]);
    for n in 3..=5 {
        c.wait_for_addr("node", n, "eth0", &format!("10.0.1.{n}/16"));
    }
    c.ping("node", 2, "10.0.1.5");
    // conlink's status shows each replica's own (incremented) address.
    let status = c.exec("network", 1, &["/bin/conlink", "status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let node5 = format!("{}-node-5", c.project);
    let l = v["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["container"] == node5.as_str())
        .expect("node 5 in status");
    assert_eq!(l["ip"][0], "10.0.1.5/16", "{v}");
    c.ping("node", 5, "203.0.113.8");
    c.ping("node", 5, "10.0.1.1");

    // Scaling down removes the replicas and their links; the rest keeps working.
    c.ok(&["up", "-d", "--scale", "node=2"]);
    c.ping("node", 2, "203.0.113.8");
}

#[test]
fn test1_with_conlink_on_the_host() {
    if !docker_available("test1_with_conlink_on_the_host") {
        return;
    }
    let file = examples().join("test1-compose.yaml");
    let c = Compose::new("t1h", &[&file]);
    c.ok(&["up", "-d", "r0", "h1", "h2", "h3"]);
    let netns = support::unique("cl");
    let file_s = file.to_str().unwrap();
    let mut conlink = HostConlink::start(
        &["--compose-file", file_s, "--compose-project", &c.project, "--netns", &netns],
        &[],
    );
    let log = conlink.wait_log("All links connected", CONNECT_TIMEOUT);
    support::say(&format!("test1 (host): All links connected after {:?} ms", connected_ms(&log)));
    assert!(std::path::Path::new("/run/netns").join(&netns).exists(), "bridges live in /run/netns/{netns}");
    c.ping("h1", 1, "10.0.0.100");
    c.ping("h3", 1, "172.16.0.100");

    let status = conlink.stop();
    assert!(status.success(), "conlink exit status {status}:\n{}", conlink.log());
    assert!(!std::path::Path::new("/run/netns").join(&netns).exists(), "netns removed on exit");
    // Removing the outer veth ends took the container ends with them.
    assert_eq!(c.ip_link("h1", 1, "eth0"), "", "h1 still has eth0 after conlink exited");
}

#[test]
fn commands_run_in_the_container_after_its_links_with_output_logged() {
    if !docker_available("commands_run_in_the_container_after_its_links_with_output_logged") {
        return;
    }
    let dir = std::env::temp_dir().join(support::unique("cmd"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("compose.yaml");
    std::fs::write(
        &file,
        r#"
services:
  a:
    image: alpine
    network_mode: none
    command: sleep 864000
    x-network:
      links: [{bridge: s1, ip: 192.0.2.1/24}]
      commands:
        # a string runs through sh -c; it sees the link already up
        - command: "ip -o addr show dev eth0 | grep -q 192.0.2.1 && echo link-was-up; echo started; exec sleep 1000"
        # a list runs directly: no shell expands this ($$ is conlink's escape for $)
        - command: ["echo", "$$HOME;", "literal"]
"#,
    )
    .unwrap();
    let c = Compose::new("cmd", &[&file]);
    c.ok(&["up", "-d"]);
    let netns = support::unique("clx");
    let mut conlink = HostConlink::start(
        &["--compose-file", file.to_str().unwrap(), "--compose-project", &c.project, "--netns", &netns],
        &[],
    );
    let name = format!("{}-a-1", c.project);
    // Output of a command that never ends is logged as it comes.
    conlink.wait_log(&format!("{name}: link-was-up"), CONNECT_TIMEOUT);
    conlink.wait_log(&format!("{name}: started"), CONNECT_TIMEOUT);
    conlink.wait_log(&format!("{name}: $HOME; literal"), CONNECT_TIMEOUT);
    assert!(conlink.stop().success());
    drop(c);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_link_dev_never_replaces_the_engines_own_interface() {
    if !docker_available("a_link_dev_never_replaces_the_engines_own_interface") {
        return;
    }
    let dir = std::env::temp_dir().join(support::unique("own"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("compose.yaml");
    // `a` is on compose's default network: docker gave it eth0. `b` asks for eth1.
    std::fs::write(
        &file,
        r#"
services:
  a:
    image: alpine
    command: sleep 864000
    x-network:
      links: [{bridge: s1, dev: eth0, ip: 192.0.2.1/24}]
  b:
    image: alpine
    command: sleep 864000
    x-network:
      links: [{bridge: s1, dev: eth1, ip: 192.0.2.2/24}]
"#,
    )
    .unwrap();
    let c = Compose::new("own", &[&file]);
    c.ok(&["up", "-d"]);
    let docker_eth0 = c.ip_addr("a", 1, "eth0");
    assert!(docker_eth0.contains("inet "), "docker's eth0 has its address: {docker_eth0}");
    let netns = support::unique("clw");
    let mut conlink = HostConlink::start(
        &["--compose-file", file.to_str().unwrap(), "--compose-project", &c.project, "--netns", &netns],
        &[],
    );
    let log = conlink.wait_log("eth0 already exists in the container", CONNECT_TIMEOUT);
    let name = format!("{}-a-1", c.project);
    assert!(log.contains(&format!("container {name}, link /links/0")), "the error names the link:\n{log}");
    c.wait_for_addr("b", 1, "eth1", "192.0.2.2/24");
    assert_eq!(c.ip_addr("a", 1, "eth0"), docker_eth0, "docker's eth0 is untouched");
    assert!(conlink.stop().success(), "{}", conlink.log());
    assert_eq!(c.ip_addr("a", 1, "eth0"), docker_eth0, "and still there after conlink exits");
    drop(c);
    let _ = std::fs::remove_dir_all(dir);
}
