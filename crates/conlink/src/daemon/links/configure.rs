//! The steps after an interface exists: configure its inner end, routes, NAT.

use std::net::IpAddr;

use conlink_config::BridgeMode;
use conlink_kernel::{apply_static_nat, ipv6_on_without_dad, Route, StaticNat};
use ipnet::IpNet;
use tracing::warn;

use super::types::{kernel_err, unusable, BridgeSide, ContainerSide, LinkError};
use crate::daemon::blocking::off_runtime;
use crate::daemon::forwarding::forward_source_for;
use crate::plan::PlannedLink;

/// Addresses, up state, ethtool offloads and netem of the interface in the container.
pub(super) async fn inner(target: &ContainerSide<'_>, p: &PlannedLink) -> Result<(), LinkError> {
    let (container, ns, inner) = (target.name, target.ns, target.nl);
    let kerr = kernel_err(container, p);
    if p.ip.iter().any(|a| matches!(a, IpNet::V6(_))) {
        // dockerd disables IPv6 in network_mode:none containers (conlink in its nodes);
        // the new interface inherits it. On, without DAD: usable once it is up.
        if let Err(e) = ipv6_on_without_dad(ns, &p.dev) {
            warn!(container, dev = %p.dev, "cannot enable IPv6 without DAD on the interface: {e}");
        }
    }
    for addr in &p.ip {
        inner.add_address(&p.dev, *addr).await.map_err(&kerr)?;
    }
    inner.set_up(&p.dev, true).await.map_err(&kerr)?;
    for setting in &p.ethtool {
        // Through the container's netlink socket: no thread has to enter the namespace.
        inner.apply_ethtool(&p.dev, setting).map_err(&kerr)?;
    }
    if let Some(netem) = &p.netem {
        inner.set_netem(&p.dev, netem).await.map_err(&kerr)?;
    }
    Ok(())
}

/// Longest wait for duplicate address detection of a link's IPv6 addresses.
const DAD_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Nothing tentative once `All links connected` is logged. Without DAD the kernel
/// clears the flag in a work item queued at up (done by now, as a rule); with DAD
/// (where accept_dad could not be switched off) this waits for it.
pub(super) async fn ipv6_ready(target: &ContainerSide<'_>, planned: &[PlannedLink]) -> Result<(), LinkError> {
    for p in planned.iter().filter(|p| p.ip.iter().any(|a| a.addr().is_ipv6())) {
        let left =
            target.nl.wait_not_tentative(&p.dev, DAD_WAIT).await.map_err(kernel_err(target.name, p))?;
        if !left.is_empty() {
            warn!(container = target.name, dev = %p.dev, ?left, "IPv6 addresses still tentative");
        }
    }
    Ok(())
}

/// The link's configured routes, and the routes its port forwards need on both sides.
pub(super) async fn routes(
    side: &BridgeSide<'_>,
    target: &ContainerSide<'_>,
    p: &PlannedLink,
) -> Result<(), LinkError> {
    let (container, inner) = (target.name, target.nl);
    for r in &p.route {
        inner.add_route(&r.on_dev(&p.dev)).await.map_err(kernel_err(container, p))?;
    }
    if p.forward.is_empty() {
        return Ok(());
    }
    // Replies to masqueraded forwards go to conlink's bridge address, on-link.
    let mut families: Vec<IpAddr> = p.ip.iter().map(|n| forward_source_for(&n.addr())).collect();
    families.dedup();
    for source in families {
        let route = Route { dst: Some(IpNet::from(source)), dev: Some(p.dev.clone()), ..Default::default() };
        inner.add_route(&route).await.map_err(kernel_err(container, p))?;
    }
    // conlink's side: DNATed connections must find the link's address on its
    // bridge, which carries no address of that subnet (on-link host route).
    if let (Some(BridgeMode::Linux | BridgeMode::Ovs), Some(bridge)) = (p.bridge_mode, &p.bridge) {
        for addr in &p.ip {
            let route = Route {
                dst: Some(IpNet::from(addr.addr())),
                dev: Some(bridge.clone()),
                ..Default::default()
            };
            side.nl.add_route(&route).await.map_err(kernel_err(container, p))?;
        }
    }
    Ok(())
}

/// Static 1:1 NAT of the links that have `nat`, in one nft table of the container.
pub(super) fn nat(target: &ContainerSide<'_>, planned: &[PlannedLink]) -> Result<(), LinkError> {
    let container = target.name;
    let nats: Vec<StaticNat> = planned
        .iter()
        .filter_map(|p| {
            let nat_ip = p.nat?;
            let link_ip = p.ip.iter().map(|n| n.addr()).find(|a| a.is_ipv4() == nat_ip.is_ipv4())?;
            Some(StaticNat { dev: p.dev.clone(), link_ip, nat_ip })
        })
        .collect();
    if let Some(p) = planned.iter().find(|p| p.nat.is_some()) {
        if nats.len() != planned.iter().filter(|p| p.nat.is_some()).count() {
            return Err(unusable(container, p, "nat needs an ip of the same family on the link"));
        }
        off_runtime(|| apply_static_nat(target.ns, &nats)).map_err(kernel_err(container, p))?;
    }
    Ok(())
}
