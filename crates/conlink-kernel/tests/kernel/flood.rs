//! Head-end replication as the swarm mesh uses it: a vxlan device without a
//! remote, created by a netlink socket in the "host" namespace straight into
//! a bridge namespace (its UDP socket stays in the host's), and one flooding
//! entry per peer. Traffic crosses with the entry and stops without it.

use std::net::SocketAddr;

use crate::common::*;
use conlink_kernel::{create_mesh_device, MeshDevice, Nl, VethRequest};

/// Host `h` (underlay 198.51.100.N) with bridge namespace `b` (br0 + the
/// mesh device) and a container `c` on br0 with address `ip`.
async fn side(h: &Nl, local: &str, b: &TestNs, c: &TestNs, ip: &str) -> Nl {
    let nb = b.nl().await;
    nb.create_bridge("br0").await.unwrap();
    let dev = MeshDevice {
        name: "vxs-br0".into(),
        vni: 4242,
        port: 8472,
        local: local.parse().unwrap(),
        mtu: 1450,
    };
    create_mesh_device(h, &nb, &b.ns, &dev, "br0").await.unwrap();
    assert!(h.link_by_name("vxs-br0").await.unwrap().is_none(), "the device lands in the bridge namespace");
    assert!(nb.link_by_name("vxs-br0").await.unwrap().is_some(), "created in the bridge namespace");
    let mut v = VethRequest::new("c-eth0", "eth0", &c.ns);
    v.master = Some(nb.index_of("br0").await.unwrap());
    v.outer_up = true;
    v.mtu = Some(1450);
    nb.create_veth_with(&v).await.unwrap();
    let nc = c.nl().await;
    nc.set_up("eth0", true).await.unwrap();
    nc.add_address("eth0", ip.parse().unwrap()).await.unwrap();
    nb
}

#[tokio::test]
async fn flooding_entries_carry_a_bridge_to_a_peer_and_removing_them_stops_it() {
    if !root_or_skip() {
        return;
    }
    let (ha, hb) = (TestNs::new("fhA"), TestNs::new("fhB"));
    let (ba, bb) = (TestNs::new("fbA"), TestNs::new("fbB"));
    let (ca, cb) = (TestNs::new("fcA"), TestNs::new("fcB"));
    let (na, nb) = (ha.nl().await, hb.nl().await);
    let mut v = VethRequest::new("uplink", "uplink", &hb.ns);
    v.outer_up = true;
    na.create_veth_with(&v).await.unwrap();
    nb.set_up("uplink", true).await.unwrap();
    na.add_address("uplink", "198.51.100.1/24".parse().unwrap()).await.unwrap();
    nb.add_address("uplink", "198.51.100.2/24".parse().unwrap()).await.unwrap();
    let bra = side(&na, "198.51.100.1", &ba, &ca, "192.0.2.1/24").await;
    let brb = side(&nb, "198.51.100.2", &bb, &cb, "192.0.2.2/24").await;
    let (a, b): (SocketAddr, SocketAddr) =
        ("192.0.2.1:4300".parse().unwrap(), "192.0.2.2:4300".parse().unwrap());

    // No peers yet: nothing crosses.
    let quick = std::time::Duration::from_millis(800);
    assert!(udp_round_trip_within(&ca.ns, a, &cb.ns, b, quick).is_err(), "no flooding entry, no path");

    bra.add_flood_entry("vxs-br0", "198.51.100.2".parse().unwrap()).await.unwrap();
    brb.add_flood_entry("vxs-br0", "198.51.100.1".parse().unwrap()).await.unwrap();
    // Appending the same entry again is not an error (a resync may do it).
    bra.add_flood_entry("vxs-br0", "198.51.100.2".parse().unwrap()).await.unwrap();
    udp_round_trip(&ca.ns, a, &cb.ns, b).expect("UDP across the mesh device");

    // The peer leaves: a new address there needs a broadcast ARP, which no longer crosses.
    bra.remove_flood_entry("vxs-br0", "198.51.100.2".parse().unwrap()).await.unwrap();
    brb.remove_flood_entry("vxs-br0", "198.51.100.1".parse().unwrap()).await.unwrap();
    cb.nl().await.add_address("eth0", "192.0.2.3/24".parse().unwrap()).await.unwrap();
    let b3: SocketAddr = "192.0.2.3:4300".parse().unwrap();
    assert!(udp_round_trip_within(&ca.ns, a, &cb.ns, b3, quick).is_err(), "flooding entry removed");

    // Removing what is gone (entry, or the whole device) is fine.
    bra.remove_flood_entry("vxs-br0", "198.51.100.2".parse().unwrap()).await.unwrap();
    bra.remove_flood_entry("no-such-dev", "198.51.100.2".parse().unwrap()).await.unwrap();
}
