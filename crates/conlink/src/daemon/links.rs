//! Apply one container's planned links to the kernel, all or nothing.

use conlink_config::{LinkType, RouteSpec};
use std::collections::HashMap;

use conlink_kernel::{KernelError, Netns, Nl, Route, VethRequest};
use thiserror::Error;
use tracing::{debug, warn};

use crate::plan::PlannedLink;

/// Why a container's links could not be built. Nothing stays behind when this is returned.
#[derive(Debug, Error)]
pub enum LinkError {
    #[error("cannot enter the network namespace of {container} (pid {pid}): {source}")]
    Namespace { container: String, pid: u32, source: std::io::Error },
    #[error("container {container}, link /links/{link_index} ({dev}): {source}")]
    Kernel { container: String, link_index: usize, dev: String, source: KernelError },
    #[error("container {container}, link /links/{link_index} ({dev}): {what} is not supported by this build of conlink yet")]
    NotImplemented { container: String, link_index: usize, dev: String, what: String },
    #[error("container {container}: {source}")]
    Connect { container: String, source: KernelError },
}

/// Where conlink's own bridges live and how to reach them.
pub struct BridgeSide<'a> {
    pub nl: &'a Nl,
    /// Interface index of each bridge, resolved once at start.
    pub bridge_index: &'a HashMap<String, u32>,
}

/// Builds every planned link of the container whose init process is `pid`.
/// On error every interface created so far is deleted again.
/// Returns the outer interfaces created in conlink's namespace.
pub async fn connect_container(
    bridge_side: &BridgeSide<'_>,
    container: &str,
    pid: u32,
    planned: &[PlannedLink],
) -> Result<Vec<String>, LinkError> {
    let ns = Netns::from_pid(pid).map_err(|source| LinkError::Namespace { container: container.into(), pid, source })?;
    let inner = Nl::connect(&ns).await.map_err(|source| LinkError::Connect { container: container.into(), source })?;
    let mut created = Vec::new();
    let result = build_all(bridge_side, &ns, &inner, container, planned, &mut created).await;
    if let Err(e) = result {
        rollback(bridge_side.nl, &created).await;
        return Err(e);
    }
    Ok(created)
}

async fn build_all(
    bridge_side: &BridgeSide<'_>,
    ns: &Netns,
    inner: &Nl,
    container: &str,
    planned: &[PlannedLink],
    created: &mut Vec<String>,
) -> Result<(), LinkError> {
    for p in planned {
        let kerr = |source: KernelError| LinkError::Kernel {
            container: container.into(),
            link_index: p.link_index,
            dev: p.dev.clone(),
            source,
        };
        unsupported_settings(container, p)?;
        match p.link_type {
            LinkType::Veth => {
                let outer = p.outer.as_deref().expect("planner names every veth outer end");
                // A previous run (or a restarted container) may have left the outer end behind.
                if bridge_side.nl.delete_link(outer).await.map_err(kerr)? {
                    debug!(outer, "removed stale outer interface");
                }
                let master = match &p.bridge {
                    Some(b) => Some(*bridge_side.bridge_index.get(b).ok_or_else(|| LinkError::NotImplemented {
                        container: container.into(),
                        link_index: p.link_index,
                        dev: p.dev.clone(),
                        what: format!("bridge {b} (not created at start)"),
                    })?),
                    None => None,
                };
                // One request creates both ends, names, MACs, MTU, bridge port and outer up state.
                let mut req = VethRequest::new(outer, &p.dev, ns);
                req.inner_mac = p.mac.map(|m| m.0);
                req.mtu = p.mtu;
                req.master = master;
                req.outer_up = true;
                bridge_side.nl.create_veth_with(&req).await.map_err(kerr)?;
                created.push(outer.to_string());
                for addr in &p.ip {
                    inner.add_address(&p.dev, *addr).await.map_err(kerr)?;
                }
                inner.set_up(&p.dev, true).await.map_err(kerr)?;
            }
            other => {
                return Err(LinkError::NotImplemented {
                    container: container.into(),
                    link_index: p.link_index,
                    dev: p.dev.clone(),
                    what: format!("link type {other}"),
                })
            }
        }
    }
    // Routes last: a gateway may only be reachable through another of the container's links.
    for p in planned {
        for r in &p.route {
            inner.add_route(&kernel_route(r, &p.dev)).await.map_err(|source| LinkError::Kernel {
                container: container.into(),
                link_index: p.link_index,
                dev: p.dev.clone(),
                source,
            })?;
        }
    }
    Ok(())
}

/// Settings whose kernel side lands with the link-types work; refusing them beats silently ignoring them.
fn unsupported_settings(container: &str, p: &PlannedLink) -> Result<(), LinkError> {
    let what = if !p.netem.is_empty() {
        Some("netem")
    } else if p.nat.is_some() {
        Some("nat")
    } else if !p.forward.is_empty() {
        Some("forward")
    } else {
        None
    };
    match what {
        Some(what) => Err(LinkError::NotImplemented {
            container: container.into(),
            link_index: p.link_index,
            dev: p.dev.clone(),
            what: what.into(),
        }),
        None => Ok(()),
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

/// Deletes outer interfaces; deleting a veth end deletes its peer in the container too.
pub async fn rollback(nl: &Nl, outer_devs: &[String]) {
    for dev in outer_devs.iter().rev() {
        if let Err(e) = nl.delete_link(dev).await {
            warn!(dev, "could not remove interface: {e}");
        }
    }
}
