//! Two host namespaces on a bridge in a switch namespace exchange IPv4 and
//! IPv6 traffic: the topology conlink builds, end to end.

use std::net::SocketAddr;
use std::time::Duration;

use crate::common::*;
use conlink_kernel::{Nl, VethRequest};

async fn attach(nsw: &Nl, bridge: u32, outer: &str, host: &TestNs, v4: &str, v6: &str) {
    let mut req = VethRequest::new(outer, "eth0", &host.ns);
    req.master = Some(bridge);
    req.outer_up = true;
    nsw.create_veth_with(&req).await.unwrap();
    let nh = host.nl().await;
    nh.set_up("eth0", true).await.unwrap();
    nh.add_address("eth0", v4.parse().unwrap()).await.unwrap();
    nh.add_address("eth0", v6.parse().unwrap()).await.unwrap();
    // Adding again is not an error (idempotent reconcile).
    nh.add_address("eth0", v4.parse().unwrap()).await.unwrap();
    let addrs = nh.addresses("eth0").await.unwrap();
    assert!(addrs.contains(&v4.parse().unwrap()), "{addrs:?}");
    assert!(addrs.contains(&v6.parse().unwrap()), "{addrs:?}");
}

#[tokio::test]
async fn hosts_on_a_bridge_talk_v4_and_v6() {
    if !root_or_skip() {
        return;
    }
    let sw = TestNs::new("sw");
    let h1 = TestNs::new("h1");
    let h2 = TestNs::new("h2");
    let nsw = sw.nl().await;
    nsw.create_bridge("s1").await.unwrap();
    let br = nsw.index_of("s1").await.unwrap();
    attach(&nsw, br, "h1-eth0", &h1, "192.0.2.1/24", "2001:db8::1/64").await;
    attach(&nsw, br, "h2-eth0", &h2, "192.0.2.2/24", "2001:db8::2/64").await;

    let a: SocketAddr = "192.0.2.1:4000".parse().unwrap();
    let b: SocketAddr = "192.0.2.2:4000".parse().unwrap();
    udp_round_trip(&h1.ns, a, &h2.ns, b).expect("IPv4 across the bridge");
    let a6: SocketAddr = "[2001:db8::1]:4000".parse().unwrap();
    let b6: SocketAddr = "[2001:db8::2]:4000".parse().unwrap();
    udp_round_trip(&h2.ns, b6, &h1.ns, a6).expect("IPv6 across the bridge");

    // With `ping` installed, also prove it the way a user would.
    if let Ok(out) = std::process::Command::new("ip")
        .args(["netns", "exec", &h1.name, "ping", "-c1", "-W2", "192.0.2.2"])
        .output()
    {
        if out.status.code() != Some(255) && !String::from_utf8_lossy(&out.stderr).contains("No such file") {
            assert!(out.status.success(), "ping failed: {}", String::from_utf8_lossy(&out.stdout));
        }
    }

    // Detaching a port from the bridge cuts it off.
    nsw.set_master("h2-eth0", None).await.unwrap();
    let c: SocketAddr = "192.0.2.1:4001".parse().unwrap();
    let d: SocketAddr = "192.0.2.2:4001".parse().unwrap();
    let cut = udp_round_trip_within(&h1.ns, c, &h2.ns, d, Duration::from_millis(500));
    assert!(cut.is_err(), "traffic must stop once detached");
}
