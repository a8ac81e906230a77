//! vxlan between two "hosts" joined by a veth; each host has a bridge with
//! the tunnel and a "container" on it; containers talk across the tunnel.

use std::net::SocketAddr;

use crate::common::*;
use conlink_kernel::{Nl, TunnelKind, TunnelRequest, VethRequest};

fn tunnel<'a>(
    kind: TunnelKind,
    name: &'a str,
    vni: u32,
    remote: &str,
    master: Option<u32>,
    mtu: Option<u32>,
) -> TunnelRequest<'a> {
    TunnelRequest { kind, name, vni, remote: remote.parse().unwrap(), master, mtu }
}

async fn host_side(nh: &Nl, kind: TunnelKind, remote: &str, cont: &TestNs, ip: &str) {
    nh.create_bridge("br0").await.unwrap();
    let br = nh.index_of("br0").await.unwrap();
    nh.create_tunnel(&tunnel(kind, "vxlan-42", 42, remote, Some(br), Some(1450))).await.unwrap();
    let l = nh.link_by_name("vxlan-42").await.unwrap().unwrap();
    assert_eq!(l.kind.as_deref(), Some("vxlan"));
    assert_eq!(l.master, Some(br));
    assert_eq!(l.mtu, 1450);
    assert!(l.up);
    let mut v = VethRequest::new("c-eth0", "eth0", &cont.ns);
    v.master = Some(br);
    v.outer_up = true;
    v.mtu = Some(1450);
    nh.create_veth_with(&v).await.unwrap();
    let nc = cont.nl().await;
    nc.set_up("eth0", true).await.unwrap();
    nc.add_address("eth0", ip.parse().unwrap()).await.unwrap();
}

#[tokio::test]
async fn vxlan_joins_bridges_on_two_hosts() {
    if !root_or_skip() {
        return;
    }
    let ha = TestNs::new("hA");
    let hb = TestNs::new("hB");
    let ca = TestNs::new("cA");
    let cb = TestNs::new("cB");
    let na = ha.nl().await;
    let nb = hb.nl().await;
    let mut v = VethRequest::new("uplink", "uplink", &hb.ns);
    v.outer_up = true;
    na.create_veth_with(&v).await.unwrap();
    nb.set_up("uplink", true).await.unwrap();
    na.add_address("uplink", "198.51.100.1/24".parse().unwrap()).await.unwrap();
    nb.add_address("uplink", "198.51.100.2/24".parse().unwrap()).await.unwrap();
    host_side(&na, TunnelKind::Vxlan, "198.51.100.2", &ca, "192.0.2.1/24").await;
    host_side(&nb, TunnelKind::Vxlan, "198.51.100.1", &cb, "192.0.2.2/24").await;

    let a: SocketAddr = "192.0.2.1:4200".parse().unwrap();
    let b: SocketAddr = "192.0.2.2:4200".parse().unwrap();
    udp_round_trip(&ca.ns, a, &cb.ns, b).expect("UDP across the vxlan tunnel");

    // Same name again: Exists, not a silent second device.
    let br = na.index_of("br0").await.unwrap();
    let e = na
        .create_tunnel(&tunnel(TunnelKind::Vxlan, "vxlan-42", 42, "198.51.100.2", Some(br), None))
        .await
        .unwrap_err();
    assert!(e.is_exists(), "{e}");
}

#[tokio::test]
async fn geneve_works_or_is_reported_missing() {
    if !root_or_skip() {
        return;
    }
    let h = TestNs::new("gh");
    let n = h.nl().await;
    match n.create_tunnel(&tunnel(TunnelKind::Geneve, "geneve-7", 7, "198.51.100.2", None, None)).await {
        Ok(()) => {
            let l = n.link_by_name("geneve-7").await.unwrap().unwrap();
            assert_eq!(l.kind.as_deref(), Some("geneve"));
        }
        Err(e) => {
            eprintln!("geneve: this kernel lacks it, asserting the error: {e}");
            assert!(e.is_unsupported(), "{e}");
            assert!(e.to_string().contains("kernel lacks geneve"), "{e}");
        }
    }
}
