//! Apply one container's planned links to the kernel, all or nothing.
//!
//! Per link: the kind's builder (`kinds`: veth, child links, dummy) creates the
//! interface, then `configure::inner` sets addresses, up state, ethtool and netem.
//! After every link is up: `configure::routes` (a gateway may only be reachable
//! through another link), then `configure::nat`.

mod configure;
mod kinds;

use std::collections::HashMap;

use conlink_config::LinkType;
use conlink_kernel::{KernelError, Netns, Nl, Ovs};
use thiserror::Error;
use tracing::warn;

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

/// The container's side: its namespace and a netlink socket in it.
struct ContainerSide<'a> {
    name: &'a str,
    ns: &'a Netns,
    nl: &'a Nl,
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
    let target = ContainerSide { name: container, ns, nl: &inner };
    let mut created = Vec::new();
    if let Err(e) = build_all(side, &target, planned, &mut created).await {
        rollback(side.nl, Some(&inner), &created).await;
        forget_ovs_ports(side.ovs, &created);
        return Err(e);
    }
    Ok(created)
}

async fn build_all(
    side: &BridgeSide<'_>,
    target: &ContainerSide<'_>,
    planned: &[PlannedLink],
    created: &mut Vec<Created>,
) -> Result<(), LinkError> {
    for p in planned {
        build_link(side, target, p, created).await?;
        configure::inner(target, p).await?;
    }
    // Routes after every link is up: a gateway may only be reachable through another link.
    for p in planned {
        configure::routes(side, target, p).await?;
    }
    configure::nat(target, planned)
}

/// The one dispatch from link kind to its builder.
async fn build_link(
    side: &BridgeSide<'_>,
    target: &ContainerSide<'_>,
    p: &PlannedLink,
    created: &mut Vec<Created>,
) -> Result<(), LinkError> {
    match p.link_type {
        LinkType::Veth => kinds::veth(side, target, p, created).await,
        LinkType::Dummy => kinds::dummy(target, p, created).await,
        kind => kinds::child(side, target, p, kind, created).await,
    }
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
