//! Child links: a parent veth in a test "host" namespace, the child created
//! straight into a "container" namespace; traffic with a peer on the veth's
//! other end. Kinds this kernel lacks must fail with a clear Unsupported.

use std::net::SocketAddr;

use crate::common::*;
use conlink_kernel::{ChildKind, ChildLinkRequest, VethRequest};
use conlink_settings::{IpvlanFlag, IpvlanMode, IpvlanSetting, MacvlanMode, VlanId};

async fn child_talks_to_wire_peer(child: ChildKind) {
    let kind = child.kind_str();
    let host = TestNs::new("ch");
    let wire = TestNs::new("cw");
    let cont = TestNs::new("cc");
    let nh = host.nl().await;
    let mut v = VethRequest::new("par0", "eth0", &wire.ns);
    v.outer_up = true;
    nh.create_veth_with(&v).await.unwrap();
    let nw = wire.nl().await;
    nw.set_up("eth0", true).await.unwrap();
    nw.add_address("eth0", "192.0.2.2/24".parse().unwrap()).await.unwrap();

    let mac = [0xc2, 0x00, 0x00, 0x00, 0x00, 0x42];
    let req = ChildLinkRequest {
        kind: child,
        parent: "par0",
        name: "eth0",
        target_ns: &cont.ns,
        mac: Some(mac),
        mtu: Some(1400),
        group: None,
    };
    nh.create_child_link(&req).await.unwrap();
    // Created directly in the container under its final name (the host
    // has no "eth0" of that kind), never visible in the host namespace.
    assert!(nh.link_by_name("eth0").await.unwrap().is_none());
    let nc = cont.nl().await;
    let l = nc.link_by_name("eth0").await.unwrap().expect("child in container");
    assert_eq!(l.kind.as_deref(), Some(kind));
    assert_eq!(l.mac, Some(mac));
    assert_eq!(l.mtu, 1400);
    nc.set_up("eth0", true).await.unwrap();
    nc.add_address("eth0", "192.0.2.1/24".parse().unwrap()).await.unwrap();
    let a: SocketAddr = "192.0.2.1:4100".parse().unwrap();
    let b: SocketAddr = "192.0.2.2:4100".parse().unwrap();
    udp_round_trip(&cont.ns, a, &wire.ns, b).unwrap_or_else(|e| panic!("{kind} <-> wire peer: {e}"));

    // A missing parent is a NotFound that names it.
    let mut bad = req;
    bad.parent = "nope0";
    let e = nh.create_child_link(&bad).await.unwrap_err();
    assert!(e.is_not_found() && e.to_string().contains("nope0"), "{e}");
}

#[tokio::test]
async fn macvlan_into_container_talks() {
    if root_or_skip() {
        child_talks_to_wire_peer(ChildKind::Macvlan { mode: MacvlanMode::Bridge }).await;
    }
}

#[tokio::test]
async fn macvtap_into_container_talks() {
    if root_or_skip() {
        child_talks_to_wire_peer(ChildKind::Macvtap { mode: MacvlanMode::Private }).await;
    }
}

/// vlan/ipvlan/ipvtap: success with a readable result where the kernel has
/// them, otherwise Unsupported naming the feature.
#[tokio::test]
async fn vlan_ipvlan_ipvtap_work_or_are_reported_missing() {
    if !root_or_skip() {
        return;
    }
    let host = TestNs::new("vh");
    let wire = TestNs::new("vw");
    let cont = TestNs::new("vc");
    let nh = host.nl().await;
    nh.create_veth("par0", "eth0", &wire.ns, None, None).await.unwrap();
    let nc = cont.nl().await;
    let cases = [
        ("vlan", ChildKind::Vlan { id: VlanId::new(10u16).unwrap() }, "8021q vlan", "v10"),
        (
            "ipvlan",
            ChildKind::Ipvlan { mode: IpvlanSetting { mode: IpvlanMode::L2, flag: None } },
            "ipvlan",
            "ipv0",
        ),
        (
            "ipvtap",
            ChildKind::Ipvtap {
                mode: IpvlanSetting { mode: IpvlanMode::L3, flag: Some(IpvlanFlag::Private) },
            },
            "ipvtap",
            "ipt0",
        ),
    ];
    for (kind, k, feature, name) in cases {
        let req = ChildLinkRequest {
            kind: k,
            parent: "par0",
            name,
            target_ns: &cont.ns,
            mac: None,
            mtu: None,
            group: None,
        };
        match nh.create_child_link(&req).await {
            Ok(()) => {
                let l = nc.link_by_name(name).await.unwrap().expect("child in container");
                assert_eq!(l.kind.as_deref(), Some(kind));
            }
            Err(e) => {
                eprintln!("{kind}: this kernel lacks it, asserting the error: {e}");
                assert!(e.is_unsupported(), "{e}");
                assert!(e.to_string().contains(&format!("kernel lacks {feature}")), "{e}");
            }
        }
    }
}
