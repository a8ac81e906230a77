//! Many links through one connection: a smoke test of per-link cost.

use std::time::Instant;

use crate::common::*;
use conlink_kernel::VethRequest;

#[tokio::test]
async fn hundred_ports_on_a_bridge() {
    if !root_or_skip() {
        return;
    }
    const N: usize = 100;
    let sw = TestNs::new("scale");
    let hosts: Vec<TestNs> = (0..4).map(|i| TestNs::new(&format!("sh{i}"))).collect();
    let nsw = sw.nl().await;
    nsw.create_bridge("s1").await.unwrap();
    let br = nsw.index_of("s1").await.unwrap();
    let start = Instant::now();
    for i in 0..N {
        let outer = format!("p{i}-eth0");
        let inner = format!("eth{i}");
        let mut req = VethRequest::new(&outer, &inner, &hosts[i % hosts.len()].ns);
        req.master = Some(br);
        req.mtu = Some(9000);
        req.outer_up = true;
        nsw.create_veth_with(&req).await.unwrap();
    }
    let per_link = start.elapsed() / N as u32;
    eprintln!("created {N} bridged veth pairs: {per_link:?} per link");
    let ports = nsw.links().await.unwrap().into_iter().filter(|l| l.master == Some(br)).count();
    assert_eq!(ports, N);
    // Generous bound: shared 2-core CI machine; the target is ~1 ms.
    assert!(per_link.as_millis() < 20, "{per_link:?} per link");
}
