//! Patch mode (ingress + u32 + mirred redirect) and netem, on throwaway
//! namespaces: A and B each have a veth to a middle namespace M, where the
//! two outer ends are patched together in both directions.

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::common::*;
use conlink_kernel::{run_in_netns, Netem, Netns, Nl, VethRequest};

async fn host(m: &Nl, outer: &str, ns: &TestNs, ip: &str) -> Nl {
    let mut req = VethRequest::new(outer, "eth0", &ns.ns);
    req.outer_up = true;
    m.create_veth_with(&req).await.unwrap();
    let n = ns.nl().await;
    n.set_up("eth0", true).await.unwrap();
    n.add_address("eth0", ip.parse().unwrap()).await.unwrap();
    n
}

/// AF_PACKET raw socket bound to `ifindex` in `ns`.
fn raw_socket(ns: &Netns, ifindex: u32) -> OwnedFd {
    run_in_netns(ns.as_fd(), move || {
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: plain socket(2); the fd is owned below.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, proto as i32) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: fd was just returned by socket(2).
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: zeroed sockaddr_ll is valid; fields set below.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: pointer and size describe `sll`.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &sll as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let tv = libc::timeval { tv_sec: 0, tv_usec: 200_000 };
        // SAFETY: valid timeval for SO_RCVTIMEO.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as u32,
            )
        };
        Ok(fd)
    })
    .expect("raw socket")
}

/// An LLDP frame (dst 01:80:c2:00:00:0e, ethertype 0x88cc): a Linux
/// bridge never forwards this group address by default.
fn lldp_frame(marker: &[u8]) -> Vec<u8> {
    let mut f = vec![0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e];
    f.extend_from_slice(&[0xc2, 0, 0, 0, 0, 0x01]);
    f.extend_from_slice(&[0x88, 0xcc]);
    f.extend_from_slice(marker);
    f.resize(60, 0);
    f
}

fn receives(fd: &OwnedFd, marker: &[u8], within: Duration) -> bool {
    let start = Instant::now();
    let mut buf = [0u8; 2048];
    while start.elapsed() < within {
        // SAFETY: buf is writable for its length.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n > 14 {
            let f = &buf[..n as usize];
            if f[..6] == [0x01, 0x80, 0xc2, 0, 0, 0x0e]
                && f[12..14] == [0x88, 0xcc]
                && f[14..].starts_with(marker)
            {
                return true;
            }
        }
    }
    false
}

fn send(fd: &OwnedFd, frame: &[u8]) {
    // SAFETY: frame is readable for its length.
    let n = unsafe { libc::send(fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
    assert_eq!(n, frame.len() as isize, "raw send: {}", std::io::Error::last_os_error());
}

#[tokio::test]
async fn patch_redirects_everything_both_ways() {
    if !root_or_skip() {
        return;
    }
    let m = TestNs::new("m");
    let a = TestNs::new("pa");
    let b = TestNs::new("pb");
    let nm = m.nl().await;
    let na = host(&nm, "a-out", &a, "192.0.2.1/24").await;
    let nb = host(&nm, "b-out", &b, "192.0.2.2/24").await;
    let ua: SocketAddr = "192.0.2.1:5000".parse().unwrap();
    let ub: SocketAddr = "192.0.2.2:5000".parse().unwrap();
    assert!(
        udp_round_trip_within(&a.ns, ua, &b.ns, ub, Duration::from_millis(300)).is_err(),
        "nothing may connect A and B before the patch"
    );
    assert!(!nm.has_mirred("a-out").await.unwrap());

    nm.mirred_redirect("a-out", "b-out").await.unwrap();
    nm.mirred_redirect("b-out", "a-out").await.unwrap();
    // Re-applying converges instead of failing or stacking filters.
    nm.mirred_redirect("a-out", "b-out").await.unwrap();
    assert!(nm.has_mirred("a-out").await.unwrap());
    assert!(nm.has_mirred("b-out").await.unwrap());
    let b_out = nm.index_of("b-out").await.unwrap();
    assert_eq!(nm.mirred_target("a-out").await.unwrap(), Some(b_out));

    udp_round_trip(&a.ns, ua, &b.ns, ub).expect("IPv4 UDP across the patch");

    // A frame a bridge drops (LLDP) crosses unchanged, both ways.
    let ia = na.index_of("eth0").await.unwrap();
    let ib = nb.index_of("eth0").await.unwrap();
    let sa = raw_socket(&a.ns, ia);
    let sb = raw_socket(&b.ns, ib);
    send(&sa, &lldp_frame(b"conlink-a2b"));
    assert!(receives(&sb, b"conlink-a2b", Duration::from_secs(2)), "LLDP A->B");
    send(&sb, &lldp_frame(b"conlink-b2a"));
    assert!(receives(&sa, b"conlink-b2a", Duration::from_secs(2)), "LLDP B->A");

    let err = nm.mirred_redirect("a-out", "nope0").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn netem_applies_or_reports_missing_qdisc() {
    if !root_or_skip() {
        return;
    }
    let m = TestNs::new("ne");
    let a = TestNs::new("nea");
    let nm = m.nl().await;
    host(&nm, "n-out", &a, "192.0.2.1/24").await;
    let netem = Netem::parse("delay 20ms 5ms loss 1% rate 10mbit").unwrap();
    match nm.set_netem("n-out", &netem).await {
        Ok(()) => {
            assert_eq!(nm.root_qdisc_kind("n-out").await.unwrap().as_deref(), Some("netem"));
            nm.clear_netem("n-out").await.unwrap();
            assert_ne!(nm.root_qdisc_kind("n-out").await.unwrap().as_deref(), Some("netem"));
        }
        Err(e) => {
            eprintln!("netem unsupported on this kernel, asserting the error: {e}");
            assert!(e.is_unsupported(), "{e}");
            assert!(e.to_string().contains("kernel lacks netem qdisc"), "{e}");
        }
    }
    // Clearing with no netem present is fine.
    nm.clear_netem("n-out").await.unwrap();
}
