//! Nodes of the engine-free netns runtime: created once at start, connected like
//! containers, then their commands started.

use std::collections::HashSet;

use anyhow::Result;
use futures::StreamExt;
use tracing::{error, info};

use super::containers::{connect_and_record, facts_of};
use super::instance_lock::{acquire, lock_dir, LockError};
use super::links::LinkError;
use super::namespace::check_netns_name;
use super::ownership::{label_of, mark, Made};
use super::state::State;
use super::tracker::LinkState;
use crate::engine::{ContainerInfo, Engine, EngineKind, NetnsRuntime};
use crate::plan::{commands_for, plan_container};

/// Nodes linked at the same time.
const NODES_AT_ONCE: usize = 16;

/// Creates every node's namespace and links, then starts the nodes' commands (after
/// all links exist, so a command may talk to any other node at once).
pub async fn start_nodes(state: &State) -> Result<NetnsRuntime> {
    let own = state.infra.namespace.label.as_str();
    let runtime = NetnsRuntime::create(&state.cfg.nodes, &mark(own, Made::Netns), &|alias| {
        may_replace_node(own, alias)
    })
    .await?;
    let nodes: Vec<ContainerInfo> = runtime.list_running().await?;
    let connect = |node: &ContainerInfo| {
        // Nodes are never replicas: no increments, so planning cannot fail.
        let planned = plan_container(&state.cfg, &facts_of(node), &state.scope).unwrap_or_default();
        let ns = runtime.namespace(node).map_err(|source| LinkError::Namespace {
            container: node.name.clone(),
            pid: 0,
            source,
        });
        let (id, name) = (node.id.clone(), node.name.clone());
        async move { connect_and_record(state, EngineKind::Netns, &id, &name, 0, ns, &planned).await }
    };
    // Several nodes at a time (their links also wait for the connect slots). A node
    // naming an outer end an earlier node names too is linked after the others, in
    // order, so the earlier one keeps it (as when nodes were linked one by one).
    let mut outers = HashSet::new();
    let late: Vec<bool> = nodes
        .iter()
        .map(|node| {
            let planned = plan_container(&state.cfg, &facts_of(node), &state.scope).unwrap_or_default();
            let names: Vec<String> = planned.into_iter().filter_map(|p| p.outer).collect();
            let clash = names.iter().any(|o| outers.contains(o));
            outers.extend(names);
            clash
        })
        .collect();
    futures::stream::iter(nodes.iter().zip(&late).filter(|(_, late)| !**late))
        .for_each_concurrent(NODES_AT_ONCE, |(node, _)| async move {
            connect(node).await;
        })
        .await;
    for (node, _) in nodes.iter().zip(&late).filter(|(_, late)| **late) {
        connect(node).await;
    }
    state.announce_if_ready();
    for (node, cfg_node) in nodes.iter().zip(&state.cfg.nodes) {
        let commands = cfg_node.command.iter().chain(commands_for(&state.cfg, &facts_of(node), &state.scope));
        for command in commands {
            let prefix = node.name.clone();
            let on_line = Box::new(move |line: &str| info!("{prefix}: {line}"));
            if let Err(e) = runtime.exec(&node.id, command.argv(), on_line).await {
                error!(node = %node.name, "cannot start command {command:?}: {e}");
            }
        }
    }
    if !nodes.is_empty() {
        print_node_summary(state, &nodes);
    }
    Ok(runtime)
}

/// A node namespace that exists is replaced only when a conlink made it and that
/// conlink is gone (this one, or one whose lock nobody holds any more).
fn may_replace_node(own_label: &str, alias: Option<&str>) -> Result<(), String> {
    let Some(label) = alias.and_then(|a| label_of(a, Made::Netns)) else {
        return Err("conlink did not make it (`ip netns add`?)".into());
    };
    if label == own_label {
        return Ok(());
    }
    if check_netns_name(label).is_err() {
        return Err(format!("it carries a mark conlink would not make ({label:?})"));
    }
    match acquire(&lock_dir(), label) {
        Ok(_released_at_once) => Ok(()),
        Err(LockError::Held { holder, .. }) => {
            Err(format!("it is a node of the conlink running for namespace {label} (pid {holder})"))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// What a person trying the netns runtime needs: what is up, and how to get in.
fn print_node_summary(state: &State, nodes: &[ContainerInfo]) {
    let tracker = state.tracker();
    for node in nodes {
        let links: Vec<String> = state
            .cfg
            .links
            .iter()
            .filter(|l| l.target == conlink_config::Target::Container(node.name.clone()))
            .map(|l| {
                let ips = l.ip.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
                format!("{}{}{}", l.dev, if ips.is_empty() { "" } else { " " }, ips)
            })
            .collect();
        let status = match tracker.container(&node.id) {
            Some(r) if r.links.iter().all(|l| l.state == LinkState::Connected) => "up",
            Some(_) => "FAILED",
            None => "no links",
        };
        info!("node {:<12} {:<8} {}", node.name, status, links.join("; "));
    }
    if let Some(first) = nodes.first() {
        info!("enter a node with: conlink exec {0} sh   (or: ip netns exec {0} sh)", first.name);
    }
}
