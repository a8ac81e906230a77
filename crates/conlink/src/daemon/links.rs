//! Apply one container's planned links to the kernel, all or nothing.

use std::collections::HashMap;
use std::net::IpAddr;

use conlink_config::{BridgeMode, LinkType, RouteSpec};
use conlink_kernel::{
    apply_static_nat, sysctl_get_in, sysctl_in, ChildKind, ChildLinkRequest, KernelError, Netem, Netns, Nl,
    Ovs, Route, StaticNat, VethRequest,
};
use ipnet::IpNet;
use thiserror::Error;
use tracing::{debug, warn};

use super::forwarding::forward_source_for;
use crate::plan::PlannedLink;

/// Interface group of every outer veth end: one request deletes them all (exit, restart).
pub const OUTER_GROUP: u32 = 0x636c; // "cl"

/// Why a container's links could not be built. Nothing stays behind when this is returned.
#[derive(Debug, Error)]
pub enum LinkError {
    #[error("cannot enter the network namespace of {container} (pid {pid}): {source}")]
    Namespace { container: String, pid: u32, source: std::io::Error },
    #[error("container {container}, link /links/{link_index} ({dev}): {source}")]
    Kernel { container: String, link_index: usize, dev: String, source: KernelError },
    #[error("container {container}, link /links/{link_index} ({dev}): {what}")]
    Unusable { container: String, link_index: usize, dev: String, what: String },
    #[error("container {container}: {source}")]
    Connect { container: String, source: KernelError },
}

/// conlink's side of every link: its namespace, bridges and the host namespace.
pub struct BridgeSide<'a> {
    pub nl: &'a Nl,
    /// Interface index of each linux bridge, resolved once at start.
    pub bridge_index: &'a HashMap<String, u32>,
    /// Namespace holding the parents of *vlan/*vtap links (opened only when needed).
    pub host: Option<&'a Nl>,
    /// Open vSwitch, when there are ovs bridges.
    pub ovs: Option<&'a Ovs>,
    /// Whether an outer end belongs to another container's link (never replaced as a
    /// leftover). Asked only when a name turns out to be taken, so connecting stays cheap.
    pub owned_elsewhere: &'a (dyn Fn(&str) -> bool + Sync),
}

/// Something created for a container, in the order it was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Outer veth end in conlink's namespace (deleting it deletes the peer too).
    Outer(String),
    /// Interface living only in the container (dummy, *vlan, *vtap).
    Inner(String),
}

/// Builds every planned link of the container in `ns`.
/// On error every interface created so far is deleted again.
pub async fn connect_container(
    side: &BridgeSide<'_>,
    container: &str,
    ns: &Netns,
    planned: &[PlannedLink],
) -> Result<Vec<Created>, LinkError> {
    let inner =
        Nl::connect(ns).await.map_err(|source| LinkError::Connect { container: container.into(), source })?;
    let mut created = Vec::new();
    if let Err(e) = build_all(side, ns, &inner, container, planned, &mut created).await {
        rollback(side.nl, Some(&inner), &created).await;
        forget_ovs_ports(side.ovs, &created);
        return Err(e);
    }
    Ok(created)
}

fn kernel_err(container: &str, p: &PlannedLink) -> impl Fn(KernelError) -> LinkError {
    let (container, link_index, dev) = (container.to_string(), p.link_index, p.dev.clone());
    move |source| LinkError::Kernel { container: container.clone(), link_index, dev: dev.clone(), source }
}

fn unusable(container: &str, p: &PlannedLink, what: impl Into<String>) -> LinkError {
    LinkError::Unusable {
        container: container.into(),
        link_index: p.link_index,
        dev: p.dev.clone(),
        what: what.into(),
    }
}

async fn build_all(
    side: &BridgeSide<'_>,
    ns: &Netns,
    inner: &Nl,
    container: &str,
    planned: &[PlannedLink],
    created: &mut Vec<Created>,
) -> Result<(), LinkError> {
    for p in planned {
        let kerr = kernel_err(container, p);
        match p.link_type {
            LinkType::Veth => {
                let outer = p.outer.as_deref().expect("planner names every veth outer end");
                let master = match (p.bridge_mode, &p.bridge) {
                    (Some(BridgeMode::Linux), Some(b)) => Some(
                        *side
                            .bridge_index
                            .get(b)
                            .ok_or_else(|| unusable(container, p, format!("bridge {b} does not exist")))?,
                    ),
                    // Patch ports are paired by tc once both ends exist; ovs ports are added by the daemon.
                    _ => None,
                };
                // One request creates both ends, names, MAC, MTU, bridge port and outer up state.
                let mut req = VethRequest::new(outer, &p.dev, ns);
                req.inner_mac = p.mac.map(|m| m.0);
                req.mtu = p.mtu;
                req.master = master;
                req.outer_up = true;
                req.outer_group = Some(OUTER_GROUP);
                if let Err(e) = side.nl.create_veth_with(&req).await {
                    // Leftovers (a restarted container's old outer end, or `dev` still in the
                    // container from an earlier run) are replaced; checking first would cost
                    // every link a round trip.
                    if !e.is_exists() {
                        return Err(kerr(e));
                    }
                    if (side.owned_elsewhere)(outer) {
                        return Err(unusable(
                            container,
                            p,
                            format!("outer interface {outer} is already another container's link (give each its own outer-dev)"),
                        ));
                    }
                    let stale_outer = side.nl.delete_link(outer).await.map_err(&kerr)?;
                    let stale_inner = inner.delete_link(&p.dev).await.map_err(&kerr)?;
                    if !(stale_outer || stale_inner) {
                        return Err(kerr(e));
                    }
                    debug!(container, dev = %p.dev, outer, "replaced interfaces left behind");
                    side.nl.create_veth_with(&req).await.map_err(&kerr)?;
                }
                created.push(Created::Outer(outer.to_string()));
                if let (Some(BridgeMode::Ovs), Some(bridge)) = (p.bridge_mode, &p.bridge) {
                    let ovs =
                        side.ovs.ok_or_else(|| unusable(container, p, "Open vSwitch is not running"))?;
                    ovs.add_port(bridge, outer).map_err(&kerr)?;
                }
            }
            LinkType::Dummy => {
                if let Err(e) = inner.create_dummy(&p.dev).await {
                    if !(e.is_exists() && inner.delete_link(&p.dev).await.map_err(&kerr)?) {
                        return Err(kerr(e));
                    }
                    inner.create_dummy(&p.dev).await.map_err(&kerr)?;
                }
                created.push(Created::Inner(p.dev.clone()));
                if let Some(mac) = p.mac {
                    inner.set_mac(&p.dev, mac.0).await.map_err(&kerr)?;
                }
                if let Some(mtu) = p.mtu {
                    inner.set_mtu(&p.dev, mtu).await.map_err(&kerr)?;
                }
            }
            kind => {
                let host =
                    side.host.ok_or_else(|| unusable(container, p, "no host namespace for *vlan parents"))?;
                let parent = p.outer.as_deref().ok_or_else(|| {
                    unusable(container, p, format!("{kind} link needs outer-dev (the host parent)"))
                })?;
                let child = ChildKind::parse(kind.as_str(), p.mode.as_deref(), p.vlanid)
                    .map_err(|e| unusable(container, p, e))?;
                let req = ChildLinkRequest {
                    kind: child,
                    parent,
                    name: &p.dev,
                    target_ns: ns,
                    mac: p.mac.map(|m| m.0),
                    mtu: p.mtu,
                };
                if let Err(e) = host.create_child_link(&req).await {
                    if !(e.is_exists() && inner.delete_link(&p.dev).await.map_err(&kerr)?) {
                        return Err(kerr(e));
                    }
                    warn!(container, dev = %p.dev, "replaced an interface left by an earlier run");
                    host.create_child_link(&req).await.map_err(&kerr)?;
                }
                created.push(Created::Inner(p.dev.clone()));
            }
        }
        if p.ip.iter().any(|a| matches!(a, IpNet::V6(_))) {
            // dockerd disables IPv6 in network_mode:none containers; the new interface inherits it.
            let key = format!("net/ipv6/conf/{}/disable_ipv6", p.dev);
            if sysctl_get_in(ns, &key).map(|v| v.trim() != "0").unwrap_or(false) {
                if let Err(e) = sysctl_in(ns, &key, "0") {
                    warn!(container, dev = %p.dev, "cannot enable IPv6 on the interface: {e}");
                }
            }
        }
        for addr in &p.ip {
            inner.add_address(&p.dev, *addr).await.map_err(&kerr)?;
        }
        inner.set_up(&p.dev, true).await.map_err(&kerr)?;
        for args in &p.ethtool {
            // Through the container's netlink socket: no thread has to enter the namespace.
            inner.apply_ethtool(&p.dev, &args.join(" ")).map_err(&kerr)?;
        }
        if !p.netem.is_empty() {
            let netem = Netem::parse(&p.netem.join(" "))
                .map_err(|e| unusable(container, p, format!("netem: {e}")))?;
            inner.set_netem(&p.dev, &netem).await.map_err(&kerr)?;
        }
    }
    // Routes after every link is up: a gateway may only be reachable through another link.
    for p in planned {
        for r in &p.route {
            inner.add_route(&kernel_route(r, &p.dev)).await.map_err(kernel_err(container, p))?;
        }
        if !p.forward.is_empty() {
            // Replies to masqueraded forwards go to conlink's bridge address, on-link.
            let mut families: Vec<IpAddr> = p.ip.iter().map(|n| forward_source_for(&n.addr())).collect();
            families.dedup();
            for source in families {
                let route = Route {
                    dst: Some(IpNet::from(source)),
                    via: None,
                    dev: Some(p.dev.clone()),
                    metric: None,
                    src: None,
                    table: None,
                    onlink: false,
                };
                inner.add_route(&route).await.map_err(kernel_err(container, p))?;
            }
            // conlink's side: DNATed connections must find the link's address on its
            // bridge, which carries no address of that subnet (on-link host route).
            if let (Some(BridgeMode::Linux | BridgeMode::Ovs), Some(bridge)) = (p.bridge_mode, &p.bridge) {
                for addr in &p.ip {
                    let route = Route {
                        dst: Some(IpNet::from(addr.addr())),
                        via: None,
                        dev: Some(bridge.clone()),
                        metric: None,
                        src: None,
                        table: None,
                        onlink: false,
                    };
                    side.nl.add_route(&route).await.map_err(kernel_err(container, p))?;
                }
            }
        }
    }
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
        apply_static_nat(ns, &nats).map_err(kernel_err(container, p))?;
    }
    Ok(())
}

/// Deleted veth ends leave their port records in OVS's database; drop them.
pub fn forget_ovs_ports(ovs: Option<&Ovs>, created: &[Created]) {
    let Some(ovs) = ovs else { return };
    for c in created {
        if let Created::Outer(dev) = c {
            if let Err(e) = ovs.del_port(dev) {
                warn!(dev, "could not remove ovs port: {e}");
            }
        }
    }
}

pub fn kernel_route(r: &RouteSpec, link_dev: &str) -> Route {
    Route {
        dst: r.dst,
        via: r.via,
        dev: Some(r.dev.clone().unwrap_or_else(|| link_dev.to_string())),
        metric: r.metric,
        src: r.src,
        table: r.table,
        onlink: r.onlink,
    }
}

/// Deletes what was created, newest first. Deleting a veth end deletes its peer too;
/// interfaces that live only in the container are deleted there (when it still exists).
pub async fn rollback(nl: &Nl, inner: Option<&Nl>, created: &[Created]) {
    for c in created.iter().rev() {
        let (nl, dev) = match c {
            Created::Outer(dev) => (nl, dev),
            Created::Inner(dev) => match inner {
                Some(inner) => (inner, dev),
                None => continue,
            },
        };
        if let Err(e) = nl.delete_link(dev).await {
            warn!(dev, "could not remove interface: {e}");
        }
    }
}
