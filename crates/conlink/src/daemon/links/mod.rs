//! Apply one container's planned links to the kernel, all or nothing.
//!
//! Per link: the kind's builder (`kinds`: veth, child links, dummy) creates the
//! interface, then `configure::inner` sets addresses, up state, ethtool and netem.
//! After every link is up: `configure::routes` (a gateway may only be reachable
//! through another link), then `configure::nat`.

mod configure;
mod kinds;
mod types;

use conlink_config::LinkType;
use conlink_kernel::{Netns, Nl, Ovs};
use tracing::warn;

use crate::daemon::blocking::off_runtime;
use crate::plan::PlannedLink;
use types::ContainerSide;
pub use types::{BridgeSide, Created, LinkError, OUTER_GROUP};

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
    configure::ipv6_ready(target, planned).await?;
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

/// Deleted veth ends leave their port records in OVS's database; drop them.
pub fn forget_ovs_ports(ovs: Option<&Ovs>, created: &[Created]) {
    let Some(ovs) = ovs else { return };
    for c in created {
        if let Created::Outer(dev) = c {
            if let Err(e) = off_runtime(|| ovs.del_port(dev)) {
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
