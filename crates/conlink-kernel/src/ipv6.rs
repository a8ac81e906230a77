//! How much IPv6 conlink's interfaces run, and when their addresses are usable.
//!
//! Every interface with IPv6 on autoconfigures: a link-local address, duplicate
//! address detection (a neighbour solicitation), MLD reports, router solicitations.
//! On a bridge with N ports each of those multicast frames is flooded to the N-1
//! other ports, so N interfaces coming up make O(N²) frames, each received and
//! routed in its namespace, plus an IPv6 routing table in conlink's namespace that
//! grows with N and is walked on every port change. That made a 1000-node topology
//! superlinear (see BENCHMARKS.md). So:
//! - bridge-side (outer) veth ends never run IPv6 (they are bridge ports only);
//! - inner ends run IPv6 only where the link has an IPv6 address, and then get
//!   their link-local address without DAD, so nothing is tentative once the link is
//!   up (user addresses are added with IFA_F_NODAD, see `addr.rs`).

use std::fs;
use std::io;
use std::path::Path;

use crate::in_netns::run_in_netns;
use crate::netns::Netns;

/// The namespace default every interface created from now on inherits.
const DEFAULT_DISABLE: &str = "/proc/sys/net/ipv6/conf/default/disable_ipv6";

/// Interfaces created in `ns` from now on start with IPv6 disabled
/// (`net.ipv6.conf.default.disable_ipv6=1`); existing ones keep theirs. One write
/// instead of one per interface: outer veth ends inherit it at creation, so they
/// never get an address or route. Interfaces that need IPv6 are switched on one by
/// one with [`ipv6_on_without_dad`].
pub fn no_ipv6_on_new_links(ns: &Netns) -> io::Result<()> {
    run_in_netns(ns.as_fd(), no_ipv6_on_new_links_here)
}

/// [`no_ipv6_on_new_links`] for the calling thread's own namespace (e.g. as the
/// setup of `Netns::create_named_with`).
pub fn no_ipv6_on_new_links_here() -> io::Result<()> {
    write_if_differs(Path::new(DEFAULT_DISABLE), "1")
}

/// IPv6 on for `dev` in `ns`, without duplicate address detection
/// (`accept_dad=0`, then `disable_ipv6=0`), in one thread. Call it while `dev` is
/// down: when it comes up its link-local address is valid at once. The net's `all`
/// value of accept_dad is 0 by default, so the device's own 0 disables DAD.
pub fn ipv6_on_without_dad(ns: &Netns, dev: &str) -> io::Result<()> {
    if dev.is_empty() || dev.contains('/') || dev == "." || dev == ".." {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad interface name {dev:?}")));
    }
    let conf = Path::new("/proc/sys/net/ipv6/conf").join(dev);
    run_in_netns(ns.as_fd(), || {
        write_if_differs(&conf.join("accept_dad"), "0")?;
        write_if_differs(&conf.join("disable_ipv6"), "0")
    })
}

/// Reads first: /proc/sys may be read-only (engines mount it so in containers),
/// and a value that is already right must not turn into an error.
fn write_if_differs(path: &Path, value: &str) -> io::Result<()> {
    let current = fs::read_to_string(path)
        .map_err(|e| io::Error::new(e.kind(), format!("read {}: {e}", path.display())))?;
    if current.trim() == value {
        return Ok(());
    }
    fs::write(path, value)
        .map_err(|e| io::Error::new(e.kind(), format!("write {value:?} to {}: {e}", path.display())))
}
