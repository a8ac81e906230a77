//! One builder per link kind: each creates its interface in the container (replacing
//! leftovers of an earlier run, but only ones carrying conlink's mark) and records
//! what it created.

use conlink_config::{BridgeMode, LinkType};
use conlink_kernel::{ChildLinkRequest, Nl, VethRequest};
use tracing::{debug, warn};

use super::types::{
    kernel_err, unusable, BridgeSide, ContainerSide, Created, LinkError, INNER_GROUP, OUTER_GROUP,
};
use crate::daemon::blocking::off_runtime;
use crate::daemon::ownership::describe;
use crate::plan::PlannedLink;

/// Deletes `dev` in the container when it is a leftover conlink made (its group says so);
/// anything else of that name (docker's eth0, a user's interface) is an error naming the
/// link. Ok(false) when there is no such interface.
async fn replace_inner_leftover(inner: &Nl, container: &str, p: &PlannedLink) -> Result<bool, LinkError> {
    let kerr = kernel_err(container, p);
    match inner.link_by_name(&p.dev).await.map_err(&kerr)? {
        None => Ok(false),
        Some(l) if l.group == INNER_GROUP => inner.delete_link(&p.dev).await.map_err(&kerr),
        Some(l) => Err(unusable(
            container,
            p,
            format!(
                "{} already exists in the container ({}) and conlink did not make it: it is not replaced \
                 (choose another dev, or give the container network_mode: none)",
                p.dev,
                describe(&l)
            ),
        )),
    }
}

/// A veth pair: the outer end in conlink's namespace (on its bridge), the inner one in the container.
pub(super) async fn veth(
    side: &BridgeSide<'_>,
    target: &ContainerSide<'_>,
    p: &PlannedLink,
    created: &mut Vec<Created>,
) -> Result<(), LinkError> {
    let (container, ns, inner) = (target.name, target.ns, target.nl);
    let kerr = kernel_err(container, p);
    let outer = p.outer.as_deref().expect("planner names every veth outer end");
    let bridge = match (p.bridge_mode, &p.bridge) {
        (Some(BridgeMode::Linux), Some(b)) => Some(
            *side
                .linux_bridges
                .get(b)
                .ok_or_else(|| unusable(container, p, format!("bridge {b} does not exist")))?,
        ),
        // Patch ports are paired by tc once both ends exist; ovs ports are added below.
        _ => None,
    };
    // One request creates both ends, names, MAC, MTU, bridge port and outer up state.
    let mut req = VethRequest::new(outer, &p.dev, ns);
    req.inner_mac = p.mac.map(|m| m.0);
    req.mtu = p.mtu;
    req.master = bridge.map(|b| b.index);
    req.outer_mac = bridge.and_then(|b| b.port_mac);
    req.outer_up = true;
    req.outer_group = Some(OUTER_GROUP);
    req.inner_group = Some(INNER_GROUP);
    if let Err(e) = side.nl.create_veth_with(&req).await {
        // Leftovers (a restarted container's old outer end, or `dev` still in the
        // container from an earlier run) are replaced when they carry conlink's group;
        // checking first would cost every link a round trip.
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
        let stale_outer = match side.nl.link_by_name(outer).await.map_err(&kerr)? {
            None => false,
            Some(l) if l.group == OUTER_GROUP => side.nl.delete_link(outer).await.map_err(&kerr)?,
            Some(l) => {
                return Err(unusable(
                    container,
                    p,
                    format!(
                        "outer interface {outer} is {} in conlink's namespace that conlink did not make as a link \
                         (a bridge, tunnel or engine interface): choose another outer-dev",
                        describe(&l)
                    ),
                ))
            }
        };
        let stale_inner = replace_inner_leftover(inner, container, p).await?;
        if !(stale_outer || stale_inner) {
            return Err(kerr(e));
        }
        debug!(container, dev = %p.dev, outer, "replaced interfaces left behind");
        side.nl.create_veth_with(&req).await.map_err(&kerr)?;
    }
    created.push(Created::Outer(outer.to_string()));
    if let (Some(BridgeMode::Ovs), Some(bridge)) = (p.bridge_mode, &p.bridge) {
        let ovs = side.ovs.ok_or_else(|| unusable(container, p, "Open vSwitch is not running"))?;
        off_runtime(|| ovs.add_port(bridge, outer)).map_err(&kerr)?;
    }
    Ok(())
}

/// A dummy interface, living only in the container.
pub(super) async fn dummy(
    target: &ContainerSide<'_>,
    p: &PlannedLink,
    created: &mut Vec<Created>,
) -> Result<(), LinkError> {
    let inner = target.nl;
    let kerr = kernel_err(target.name, p);
    if let Err(e) = inner.create_dummy_in_group(&p.dev, Some(INNER_GROUP)).await {
        if !(e.is_exists() && replace_inner_leftover(inner, target.name, p).await?) {
            return Err(kerr(e));
        }
        inner.create_dummy_in_group(&p.dev, Some(INNER_GROUP)).await.map_err(&kerr)?;
    }
    created.push(Created::Inner(p.dev.clone()));
    if let Some(mac) = p.mac {
        inner.set_mac(&p.dev, mac.0).await.map_err(&kerr)?;
    }
    if let Some(mtu) = p.mtu {
        inner.set_mtu(&p.dev, mtu).await.map_err(&kerr)?;
    }
    Ok(())
}

/// A child of a host interface (*vlan, *vtap): created in the host namespace
/// straight into the container's.
pub(super) async fn child(
    side: &BridgeSide<'_>,
    target: &ContainerSide<'_>,
    p: &PlannedLink,
    kind: LinkType,
    created: &mut Vec<Created>,
) -> Result<(), LinkError> {
    let (container, ns, inner) = (target.name, target.ns, target.nl);
    let kerr = kernel_err(container, p);
    let host = side.host.ok_or_else(|| unusable(container, p, "no host namespace for *vlan parents"))?;
    let parent = p
        .outer
        .as_deref()
        .ok_or_else(|| unusable(container, p, format!("{kind} link needs outer-dev (the host parent)")))?;
    let child = p.child.ok_or_else(|| unusable(container, p, format!("{kind} link needs a vlanid")))?;
    let req = ChildLinkRequest {
        kind: child,
        parent,
        name: &p.dev,
        target_ns: ns,
        mac: p.mac.map(|m| m.0),
        mtu: p.mtu,
        group: Some(INNER_GROUP),
    };
    if let Err(e) = host.create_child_link(&req).await {
        if !(e.is_exists() && replace_inner_leftover(inner, container, p).await?) {
            return Err(kerr(e));
        }
        warn!(container, dev = %p.dev, "replaced an interface left by an earlier run");
        host.create_child_link(&req).await.map_err(&kerr)?;
    }
    created.push(Created::Inner(p.dev.clone()));
    Ok(())
}
