//! Test scaffolding: root check, uniquely named namespaces with a Drop
//! guard, and a UDP round trip that proves traffic between namespaces
//! without needing `ping` installed.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use conlink_kernel::{run_in_netns, Netns, Nl};

/// True if we may create namespaces and links; otherwise print why the
/// test is skipped.
pub fn root_or_skip() -> bool {
    if nix::unistd::geteuid().is_root() {
        true
    } else {
        eprintln!("skipped: needs root (CAP_NET_ADMIN)");
        false
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A named namespace (/run/netns/NAME) deleted on drop.
pub struct TestNs {
    pub name: String,
    pub ns: Netns,
}

impl TestNs {
    /// Unique per process and call, so tests run in parallel and alongside
    /// other test binaries.
    pub fn new(tag: &str) -> TestNs {
        let name = format!("ckt{}-{}-{tag}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let ns = Netns::create_named(&name).unwrap_or_else(|e| panic!("create netns {name}: {e}"));
        TestNs { name, ns }
    }

    pub async fn nl(&self) -> Nl {
        Nl::connect(&self.ns).await.expect("netlink connect")
    }
}

impl Drop for TestNs {
    fn drop(&mut self) {
        if let Err(e) = Netns::delete_named(&self.name) {
            eprintln!("cleanup of netns {} failed: {e}", self.name);
        }
    }
}

fn bind_in(ns: &Netns, addr: SocketAddr, timeout: Duration) -> io::Result<UdpSocket> {
    run_in_netns(ns.as_fd(), move || {
        let s = UdpSocket::bind(addr)?;
        s.set_read_timeout(Some(timeout))?;
        Ok(s)
    })
}

/// Send a datagram from `from_ns`/`from` to `to_ns`/`to` and an answer
/// back: like one ping, proves both directions (ARP/ND included).
pub fn udp_round_trip(from_ns: &Netns, from: SocketAddr, to_ns: &Netns, to: SocketAddr) -> io::Result<()> {
    udp_round_trip_within(from_ns, from, to_ns, to, Duration::from_secs(3))
}

pub fn udp_round_trip_within(
    from_ns: &Netns,
    from: SocketAddr,
    to_ns: &Netns,
    to: SocketAddr,
    timeout: Duration,
) -> io::Result<()> {
    let server = bind_in(to_ns, to, timeout)?;
    let client = bind_in(from_ns, from, timeout)?;
    client.send_to(b"ping", to)?;
    let mut buf = [0u8; 16];
    let (n, peer) = server.recv_from(&mut buf)?;
    assert_eq!(&buf[..n], b"ping");
    assert_eq!(peer.ip(), from.ip(), "request must come from the client's address");
    server.send_to(b"pong", peer)?;
    let (n, peer) = client.recv_from(&mut buf)?;
    assert_eq!(&buf[..n], b"pong");
    assert_eq!(peer, to);
    Ok(())
}

/// Link names present in a namespace, sorted.
pub async fn link_names(nl: &Nl) -> Vec<String> {
    let mut v: Vec<String> = nl.links().await.unwrap().into_iter().map(|l| l.name).collect();
    v.sort();
    v
}
