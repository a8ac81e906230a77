//! veth pairs and bridges: what was asked for is what the kernel reports.

use crate::common::*;
use conlink_kernel::VethRequest;

const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x01];

#[tokio::test]
async fn veth_pair_across_namespaces_reads_back() {
    if !root_or_skip() {
        return;
    }
    let sw = TestNs::new("sw");
    let host = TestNs::new("h");
    let (nsw, nh) = (sw.nl().await, host.nl().await);

    nsw.create_veth("h1_1-eth0", "eth0", &host.ns, Some(MAC), Some(9000)).await.unwrap();

    let outer = nsw.link_by_name("h1_1-eth0").await.unwrap().expect("outer end in switch ns");
    assert_eq!(outer.kind.as_deref(), Some("veth"));
    assert_eq!(outer.mtu, 9000);
    assert!(!outer.up);
    let inner = nh.link_by_name("eth0").await.unwrap().expect("inner end in host ns");
    assert_eq!(inner.kind.as_deref(), Some("veth"));
    assert_eq!(inner.mac, Some(MAC));
    assert_eq!(inner.mtu, 9000);
    // Each end exists only in its own namespace.
    assert!(nsw.link_by_name("eth0").await.unwrap().is_none());
    assert!(nh.link_by_name("h1_1-eth0").await.unwrap().is_none());

    nh.set_up("eth0", true).await.unwrap();
    nsw.set_up("h1_1-eth0", true).await.unwrap();
    assert!(nh.link_by_name("eth0").await.unwrap().unwrap().up);
    assert!(nsw.link_by_name("h1_1-eth0").await.unwrap().unwrap().up);

    let mac2 = [0x02, 0, 0, 0, 0, 0x42];
    nh.set_mac("eth0", mac2).await.unwrap();
    nh.set_mtu("eth0", 1400).await.unwrap();
    nh.set_up("eth0", false).await.unwrap();
    nh.set_name("eth0", "eth9").await.unwrap();
    let l = nh.link_by_name("eth9").await.unwrap().expect("renamed link");
    assert_eq!((l.mac, l.mtu, l.up, l.index), (Some(mac2), 1400, false, inner.index));
    assert_eq!(nh.index_of("eth9").await.unwrap(), inner.index);
    assert_eq!(nh.link_by_index(inner.index).await.unwrap().unwrap().name, "eth9");
}

#[tokio::test]
async fn one_request_veth_with_master_and_up() {
    if !root_or_skip() {
        return;
    }
    let sw = TestNs::new("sw");
    let host = TestNs::new("h");
    let (nsw, nh) = (sw.nl().await, host.nl().await);
    nsw.create_bridge("s1").await.unwrap();
    let br = nsw.link_by_name("s1").await.unwrap().unwrap();
    assert_eq!(br.kind.as_deref(), Some("bridge"));
    assert!(br.up, "bridge is brought up");

    let mut req = VethRequest::new("n1_1-eth0", "eth0", &host.ns);
    req.master = Some(br.index);
    req.mtu = Some(4111);
    req.inner_mac = Some(MAC);
    req.outer_up = true;
    nsw.create_veth_with(&req).await.unwrap();

    let outer = nsw.link_by_name("n1_1-eth0").await.unwrap().unwrap();
    assert_eq!((outer.master, outer.up, outer.mtu), (Some(br.index), true, 4111));
    let inner = nh.link_by_name("eth0").await.unwrap().unwrap();
    assert_eq!((inner.up, inner.mtu, inner.mac), (false, 4111, Some(MAC)));
    nh.set_up("eth0", true).await.unwrap();
    assert!(nh.link_by_name("eth0").await.unwrap().unwrap().up);

    nsw.set_master("n1_1-eth0", None).await.unwrap();
    assert_eq!(nsw.link_by_name("n1_1-eth0").await.unwrap().unwrap().master, None);
    nsw.set_master("n1_1-eth0", Some("s1")).await.unwrap();
    assert_eq!(nsw.link_by_name("n1_1-eth0").await.unwrap().unwrap().master, Some(br.index));

    // A second create_bridge adopts the existing bridge (restart case).
    nsw.set_up("s1", false).await.unwrap();
    nsw.create_bridge("s1").await.unwrap();
    let again = nsw.link_by_name("s1").await.unwrap().unwrap();
    assert_eq!(again.index, br.index);
    assert!(again.up, "adopted bridge is brought up again");
}

#[tokio::test]
async fn delete_leaves_nothing_behind() {
    if !root_or_skip() {
        return;
    }
    let sw = TestNs::new("sw");
    let host = TestNs::new("h");
    let (nsw, nh) = (sw.nl().await, host.nl().await);
    let before_sw = link_names(&nsw).await;
    let before_h = link_names(&nh).await;
    assert_eq!(before_sw, vec!["lo".to_string()]);

    nsw.create_bridge("s1").await.unwrap();
    nsw.create_veth("a-eth0", "eth0", &host.ns, None, None).await.unwrap();
    nsw.set_master("a-eth0", Some("s1")).await.unwrap();
    nh.add_address("eth0", "192.0.2.1/24".parse().unwrap()).await.unwrap();

    // Deleting the outer end takes the peer (in the other namespace) with it.
    assert!(nsw.delete_link("a-eth0").await.unwrap());
    assert!(nsw.delete_link("s1").await.unwrap());
    assert_eq!(link_names(&nsw).await, before_sw);
    assert_eq!(link_names(&nh).await, before_h);
    // Deleting what is not there is reported, not an error.
    assert!(!nsw.delete_link("a-eth0").await.unwrap());
}

#[tokio::test]
async fn dummy_link_supported_or_clear_error() {
    if !root_or_skip() {
        return;
    }
    let ns = TestNs::new("d");
    let nl = ns.nl().await;
    match nl.create_dummy("dum0").await {
        Ok(()) => {
            let l = nl.link_by_name("dum0").await.unwrap().expect("dummy created");
            assert_eq!(l.kind.as_deref(), Some("dummy"));
            eprintln!("kernel has dummy links: created one");
        }
        Err(e) => {
            assert!(e.is_unsupported(), "expected Unsupported, got {e:?}");
            let msg = e.to_string();
            assert!(msg.contains("kernel lacks dummy"), "{msg}");
            assert!(msg.contains("create dummy dum0"), "{msg}");
            eprintln!("kernel lacks dummy: {msg}");
        }
    }
}

#[tokio::test]
async fn delete_group_removes_only_that_group() {
    if !root_or_skip() {
        return;
    }
    let a = TestNs::new("dga");
    let b = TestNs::new("dgb");
    let n = a.nl().await;
    for (outer, inner, group) in [("g1", "e1", Some(77)), ("g2", "e2", Some(77)), ("g3", "e3", None)] {
        let mut req = VethRequest::new(outer, inner, &b.ns);
        req.outer_group = group;
        n.create_veth_with(&req).await.unwrap();
    }
    assert!(n.delete_group(77).await.unwrap());
    assert!(n.link_by_name("g1").await.unwrap().is_none());
    assert!(n.link_by_name("g2").await.unwrap().is_none());
    assert!(n.link_by_name("g3").await.unwrap().is_some(), "other groups stay");
    assert!(!n.delete_group(77).await.unwrap(), "nothing left in the group");
    assert!(n.delete_group(0).await.unwrap_err().is_invalid(), "group 0 is refused");
}
