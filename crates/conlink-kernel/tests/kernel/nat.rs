//! Port forwards and static NAT with nftables, in throwaway namespaces:
//! a TCP connect to the forwarded port reaches a listener on the target.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use crate::common::*;
use conlink_kernel::{
    apply_forwards, apply_static_nat, run_in_netns, sysctl_in, Forward, Netns, Proto, StaticNat, VethRequest,
};

fn listen(ns: &Netns, addr: SocketAddr) -> TcpListener {
    run_in_netns(ns.as_fd(), move || TcpListener::bind(addr)).expect("listen")
}

/// Connect from `ns` (optionally from `bind`) to `to`; the server answers
/// with the peer address it saw, which we return.
fn exchange(ns: &Netns, l: TcpListener, to: SocketAddr) -> std::io::Result<SocketAddr> {
    let server = std::thread::spawn(move || -> std::io::Result<SocketAddr> {
        l.set_nonblocking(false)?;
        let (mut s, peer) = l.accept()?;
        s.write_all(b"hello")?;
        Ok(peer)
    });
    let mut c = run_in_netns(ns.as_fd(), move || TcpStream::connect_timeout(&to, Duration::from_secs(3)))?;
    c.set_read_timeout(Some(Duration::from_secs(3)))?;
    let mut buf = [0u8; 5];
    c.read_exact(&mut buf)?;
    assert_eq!(&buf, b"hello");
    server.join().unwrap()
}

async fn veth(nl: &conlink_kernel::Nl, outer: &str, ns: &TestNs, outer_ips: &[&str], inner_ips: &[&str]) {
    let mut v = VethRequest::new(outer, "eth0", &ns.ns);
    v.outer_up = true;
    nl.create_veth_with(&v).await.unwrap();
    for ip in outer_ips {
        nl.add_address(outer, ip.parse().unwrap()).await.unwrap();
    }
    let n = ns.nl().await;
    n.set_up("eth0", true).await.unwrap();
    for ip in inner_ips {
        n.add_address("eth0", ip.parse().unwrap()).await.unwrap();
    }
}

#[tokio::test]
async fn forward_reaches_container_v4_and_v6() {
    if !root_or_skip() {
        return;
    }
    let cl = TestNs::new("fc"); // a client outside, on the engine network
    let cn = TestNs::new("fn"); // conlink's namespace
    let sv = TestNs::new("fs"); // the container
    let n = cn.nl().await;
    veth(
        &n,
        "DOCKER-ETH0",
        &cl,
        &["198.51.100.1/24", "2001:db8:1::1/64"],
        &["198.51.100.2/24", "2001:db8:1::2/64"],
    )
    .await;
    // The container has no route back to the client: only masquerade
    // lets its replies return.
    veth(
        &n,
        "sv_1-eth0",
        &sv,
        &["192.0.2.254/24", "2001:db8:2::fe/64"],
        &["192.0.2.1/24", "2001:db8:2::1/64"],
    )
    .await;
    sysctl_in(&cn.ns, "net.ipv4.ip_forward", "1").unwrap();
    sysctl_in(&cn.ns, "net.ipv6.conf.all.forwarding", "1").unwrap();
    let fw = [
        Forward { proto: Proto::Tcp, port: 8080, to: "192.0.2.1".parse().unwrap(), to_port: 80 },
        Forward { proto: Proto::Tcp, port: 8081, to: "2001:db8:2::1".parse().unwrap(), to_port: 80 },
    ];
    apply_forwards(&cn.ns, "DOCKER-ETH0", &fw).unwrap();
    // Applying again replaces, not duplicates or fails.
    apply_forwards(&cn.ns, "DOCKER-ETH0", &fw).unwrap();

    let l4 = listen(&sv.ns, "192.0.2.1:80".parse().unwrap());
    let peer = exchange(&cl.ns, l4, "198.51.100.1:8080".parse().unwrap()).expect("IPv4 forward");
    assert_eq!(peer.ip().to_string(), "192.0.2.254", "masqueraded to conlink's address");
    let l6 = listen(&sv.ns, "[2001:db8:2::1]:80".parse().unwrap());
    let peer = exchange(&cl.ns, l6, "[2001:db8:1::1]:8081".parse().unwrap()).expect("IPv6 forward");
    assert_eq!(peer.ip().to_string(), "2001:db8:2::fe");

    // Removing the forwards closes the port.
    apply_forwards(&cn.ns, "DOCKER-ETH0", &[]).unwrap();
    let l4 = listen(&sv.ns, "192.0.2.1:80".parse().unwrap());
    drop(l4);
    let to: SocketAddr = "198.51.100.1:8080".parse().unwrap();
    let r = run_in_netns(cl.ns.as_fd(), move || TcpStream::connect_timeout(&to, Duration::from_millis(500)));
    assert!(r.is_err(), "forward must be gone");
}

#[tokio::test]
async fn static_nat_maps_link_ip_to_nat_ip() {
    if !root_or_skip() {
        return;
    }
    let peer = TestNs::new("np");
    let cont = TestNs::new("nc");
    let np = peer.nl().await;
    veth(&np, "p-eth0", &cont, &["192.0.2.2/24"], &["192.0.2.1/24"]).await;
    let nc = cont.nl().await;
    nc.set_up("lo", true).await.unwrap();
    nc.add_address("lo", "203.0.113.1/32".parse().unwrap()).await.unwrap();
    let nats = [StaticNat {
        dev: "eth0".into(),
        link_ip: "192.0.2.1".parse().unwrap(),
        nat_ip: "203.0.113.1".parse().unwrap(),
    }];
    apply_static_nat(&cont.ns, &nats).unwrap();

    // In: the peer connects to the link IP; the listener bound only to
    // the NAT IP gets it.
    let l = listen(&cont.ns, "203.0.113.1:80".parse().unwrap());
    let seen = exchange(&peer.ns, l, "192.0.2.1:80".parse().unwrap()).expect("DNAT to nat ip");
    assert_eq!(seen.ip().to_string(), "192.0.2.2");

    // Out: a connection from the NAT IP leaves with the link IP.
    let l = listen(&peer.ns, "192.0.2.2:81".parse().unwrap());
    let server = std::thread::spawn(move || l.accept().map(|(_, p)| p));
    let c = run_in_netns(cont.ns.as_fd(), || connect_from([203, 0, 113, 1], [192, 0, 2, 2], 81));
    c.expect("connect out");
    let p = server.join().unwrap().unwrap();
    assert_eq!(p.ip().to_string(), "192.0.2.1", "SNAT to the link ip");
}

/// TCP connect from a chosen local IPv4 address (std cannot bind before
/// connect), blocking; the returned fd keeps the connection open.
fn connect_from(local: [u8; 4], remote: [u8; 4], port: u16) -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let sin = |ip: [u8; 4], port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as u16,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(ip) },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as u32;
    // SAFETY: plain socket(2); the fd is owned immediately.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd was just returned by socket(2).
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let l = sin(local, 0);
    let r = sin(remote, port);
    // SAFETY: pointers and lengths describe the sockaddr_in values above.
    if unsafe { libc::bind(fd.as_raw_fd(), &l as *const _ as *const libc::sockaddr, len) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::connect(fd.as_raw_fd(), &r as *const _ as *const libc::sockaddr, len) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fd)
}
