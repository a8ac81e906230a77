//! What the swarm API says: our own node (`/info`), and every node with its
//! state and address (`/nodes`, which only managers answer).

use std::net::IpAddr;

use anyhow::{bail, Context as _, Result};
use bollard::models::{LocalNodeState, NodeState};
use bollard::Docker;

use super::peers::{node_addr, Health, NodeView};

/// This host's node.
#[derive(Debug, Clone)]
pub struct LocalNode {
    pub id: String,
    /// The address the node advertises to the swarm: the mesh's local end.
    pub addr: IpAddr,
    /// Managers can list nodes; workers cannot.
    pub manager: bool,
}

pub async fn local_node(docker: &Docker) -> Result<LocalNode> {
    let info = docker.info().await.context("docker info")?;
    let Some(swarm) = info.swarm else { bail!("the engine reports no swarm state (is it dockerd?)") };
    if swarm.local_node_state != Some(LocalNodeState::ACTIVE) {
        bail!(
            "this engine is not an active swarm node (state {}): run `docker swarm init` or `docker swarm join` first",
            swarm.local_node_state.map(|s| s.to_string()).unwrap_or_else(|| "unknown".into())
        );
    }
    let id = swarm.node_id.filter(|s| !s.is_empty()).context("docker info has no Swarm.NodeID")?;
    let addr = swarm
        .node_addr
        .as_deref()
        .and_then(|a| a.parse::<IpAddr>().ok())
        .filter(|a| !a.is_unspecified())
        .context("docker info has no usable Swarm.NodeAddr (start the node with --advertise-addr IP)")?;
    Ok(LocalNode { id, addr, manager: swarm.control_available.unwrap_or(false) })
}

pub async fn list_nodes(docker: &Docker) -> Result<Vec<NodeView>> {
    let nodes = docker.list_nodes(None).await.context("listing swarm nodes")?;
    Ok(nodes
        .into_iter()
        .filter_map(|n| {
            let id = n.id?;
            let status = n.status.unwrap_or_default();
            let manager_addr = n.manager_status.and_then(|m| m.addr);
            Some(NodeView {
                hostname: n.description.and_then(|d| d.hostname).unwrap_or_else(|| id.clone()),
                addr: node_addr(status.addr.as_deref(), manager_addr.as_deref()),
                health: match status.state {
                    Some(NodeState::READY) => Health::Ready,
                    Some(NodeState::DOWN) => Health::Down,
                    _ => Health::Unsure,
                },
                id,
            })
        })
        .collect())
}
