//! How much IPv6 conlink's interfaces run: none on outer ends, link-local without
//! DAD on inner ends that carry IPv6, and bridges that snoop no multicast.

use std::net::SocketAddr;
use std::time::Duration;

use crate::common::*;
use conlink_kernel::{ipv6_on_without_dad, no_ipv6_on_new_links, sysctl_get_in, Nl, VethRequest};
use futures::TryStreamExt;
use netlink_packet_route::link::{InfoBridge, InfoData, LinkAttribute, LinkInfo};

fn is_link_local(a: &ipnet::IpNet) -> bool {
    matches!(a, ipnet::IpNet::V6(n) if n.addr().segments()[0] == 0xfe80)
}

#[tokio::test]
async fn bridges_are_created_with_multicast_snooping_off() {
    if !root_or_skip() {
        return;
    }
    let sw = TestNs::new("sw");
    let nl = sw.nl().await;
    nl.create_bridge("s1").await.unwrap();
    let msg = nl.handle().link().get().match_name("s1").execute().try_next().await.unwrap().unwrap();
    let snooping = msg
        .attributes
        .iter()
        .filter_map(|a| match a {
            LinkAttribute::LinkInfo(infos) => Some(infos),
            _ => None,
        })
        .flatten()
        .filter_map(|i| match i {
            LinkInfo::Data(InfoData::Bridge(opts)) => Some(opts),
            _ => None,
        })
        .flatten()
        .find_map(|o| match o {
            InfoBridge::MulticastSnooping(v) => Some(*v),
            _ => None,
        });
    assert_eq!(snooping, Some(false), "IFLA_BR_MCAST_SNOOPING as the kernel reports it");
}

/// Outer ends created after `no_ipv6_on_new_links` get no link-local address (no
/// autoconf multicast on the bridge); the bridge made before keeps IPv6; the inner
/// end switched on with `ipv6_on_without_dad` has a link-local address that is not
/// tentative the moment it is up.
#[tokio::test]
async fn outer_ends_run_no_ipv6_and_inner_ends_skip_dad() {
    if !root_or_skip() {
        return;
    }
    let sw = TestNs::new("sw");
    let host = TestNs::new("h");
    let (nsw, nh) = (sw.nl().await, host.nl().await);
    nsw.create_bridge("s1").await.unwrap();
    no_ipv6_on_new_links(&sw.ns).unwrap();
    no_ipv6_on_new_links(&host.ns).unwrap();
    assert_eq!(sysctl_get_in(&sw.ns, "net/ipv6/conf/s1/disable_ipv6").unwrap(), "0", "the bridge keeps IPv6");

    let master = nsw.index_of("s1").await.unwrap();
    let mut req = VethRequest::new("h1-eth0", "eth0", &host.ns);
    req.master = Some(master);
    req.outer_up = true;
    nsw.create_veth_with(&req).await.unwrap();
    assert_eq!(sysctl_get_in(&sw.ns, "net/ipv6/conf/h1-eth0/disable_ipv6").unwrap(), "1");
    ipv6_on_without_dad(&host.ns, "eth0").unwrap();
    assert_eq!(sysctl_get_in(&host.ns, "net/ipv6/conf/eth0/accept_dad").unwrap(), "0");
    nh.add_address("eth0", "2001:db8:5::1/64".parse().unwrap()).await.unwrap();
    nh.set_up("eth0", true).await.unwrap();

    let inner = nh.addresses("eth0").await.unwrap();
    assert!(inner.iter().any(is_link_local), "inner end has a link-local address: {inner:?}");
    // The kernel decides "no DAD" in a work item queued at up: at most a few ms
    // (DAD itself would take a second or more).
    let left = nh.wait_not_tentative("eth0", Duration::from_millis(300)).await.unwrap();
    assert_eq!(left, vec![], "nothing tentative within 300 ms of up");
    // The outer end is up on its bridge and has no IPv6 at all.
    assert!(nsw.link_by_name("h1-eth0").await.unwrap().unwrap().up);
    assert_eq!(nsw.addresses("h1-eth0").await.unwrap(), vec![], "outer end has no address");
}

/// Without `ipv6_on_without_dad` the link-local address is tentative at first and
/// `wait_not_tentative` waits for DAD to finish (so the test above can fail).
#[tokio::test]
async fn dad_makes_link_local_tentative_until_waited_for() {
    if !root_or_skip() {
        return;
    }
    let a = TestNs::new("a");
    let b = TestNs::new("b");
    let (na, nb) = (a.nl().await, b.nl().await);
    na.create_veth("va", "vb", &b.ns, None, None).await.unwrap();
    nb.set_up("vb", true).await.unwrap();
    na.set_up("va", true).await.unwrap();
    let tentative = na.tentative_addresses("va").await.unwrap();
    assert!(tentative.iter().any(is_link_local), "link-local in DAD right after up: {tentative:?}");
    let left = na.wait_not_tentative("va", Duration::from_secs(5)).await.unwrap();
    assert_eq!(left, vec![], "DAD done within 5 s");
    assert!(na.addresses("va").await.unwrap().iter().any(is_link_local));
}

/// Two inner ends on a bridge, switched on without DAD, talk IPv6 at once (as
/// conlink's nodes do: outer ends without IPv6 in the bridge's namespace).
#[tokio::test]
async fn ipv6_without_dad_carries_traffic_at_once() {
    if !root_or_skip() {
        return;
    }
    let sw = TestNs::new("sw");
    let a = TestNs::new("a");
    let b = TestNs::new("b");
    let (nsw, na, nb): (Nl, Nl, Nl) = (sw.nl().await, a.nl().await, b.nl().await);
    nsw.create_bridge("s1").await.unwrap();
    let master = nsw.index_of("s1").await.unwrap();
    for ns in [&sw, &a, &b] {
        no_ipv6_on_new_links(&ns.ns).unwrap();
    }
    for (ns, nl, outer, addr) in [(&a, &na, "oa", "2001:db8:6::1/64"), (&b, &nb, "ob", "2001:db8:6::2/64")] {
        let mut req = VethRequest::new(outer, "eth0", &ns.ns);
        req.master = Some(master);
        req.outer_up = true;
        nsw.create_veth_with(&req).await.unwrap();
        ipv6_on_without_dad(&ns.ns, "eth0").unwrap();
        nl.add_address("eth0", addr.parse().unwrap()).await.unwrap();
        nl.set_up("eth0", true).await.unwrap();
    }
    let from: SocketAddr = "[2001:db8:6::1]:40001".parse().unwrap();
    let to: SocketAddr = "[2001:db8:6::2]:40002".parse().unwrap();
    // 500 ms: a neighbour solicitation lost to an address in DAD is resent after 1 s.
    udp_round_trip_within(&a.ns, from, &b.ns, to, Duration::from_millis(500)).unwrap();
}
