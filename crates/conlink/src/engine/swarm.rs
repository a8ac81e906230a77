//! Docker Swarm as an [`Engine`]: this node's dockerd, serving the tasks of one
//! stack. Tasks are matched like compose replicas through their labels
//! ([`super::swarm_labels`]: stack = project, service, slot = replica index).
//!
//! Two things differ from plain Docker. Tasks cannot be network-less
//! (dockerd 20.10 has no `none` network for services: "network none not
//! found"), so a stack attaches them to the node-local `bridge` network and
//! [`Engine::prepare_namespace`] removes that interface before conlink adds
//! the task's links, as `network_mode: none` would leave it in compose. And a
//! task may reappear on another node with the same MAC and IP, which the
//! other hosts' bridges still send to the old node: [`Engine::links_up`]
//! announces its IPv4 addresses (gratuitous ARP) from the new place.

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use futures::FutureExt as _;
use tracing::{debug, warn};

use conlink_kernel::{send_garp, Netns, Nl};

use super::client::EngineClient;
use super::error::EngineError;
use super::interface::{Engine, EventStream, LineSink};
use super::swarm_labels;
use super::types::{ContainerInfo, EngineKind, ExecOutput};

pub struct SwarmEngine {
    docker: EngineClient,
    stack: String,
    /// The host's /proc as conlink sees it (`/host/proc` in the service form).
    host_proc: PathBuf,
}

impl SwarmEngine {
    pub fn new(docker: EngineClient, stack: &str, host_proc: &Path) -> SwarmEngine {
        SwarmEngine { docker, stack: stack.to_string(), host_proc: host_proc.to_path_buf() }
    }

    /// Containers of this engine are tagged Swarm, so resync compares them with
    /// the records this engine made.
    fn retag(mut c: ContainerInfo) -> ContainerInfo {
        c.engine = EngineKind::Swarm;
        c
    }
}

impl Engine for SwarmEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Swarm
    }

    /// The running tasks of our stack on this node (plain containers are not ours).
    fn list_running(&self) -> BoxFuture<'_, Result<Vec<ContainerInfo>, EngineError>> {
        async move {
            let all = self.docker.list_running().await?;
            Ok(all
                .into_iter()
                .filter(|c| {
                    swarm_labels::is_task(&c.labels) && swarm_labels::stack(&c.labels) == Some(&self.stack)
                })
                .map(Self::retag)
                .collect())
        }
        .boxed()
    }

    fn inspect<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<ContainerInfo, EngineError>> {
        async move { self.docker.inspect(id).await.map(Self::retag) }.boxed()
    }

    fn events(&self) -> EventStream {
        futures::StreamExt::boxed(self.docker.events())
    }

    /// The engine reports host PIDs: looked up in the host's /proc, wherever it is mounted.
    fn namespace(&self, container: &ContainerInfo) -> std::io::Result<Netns> {
        let pid = container.pid.unwrap_or(0).to_string();
        Netns::from_path(&self.host_proc.join(pid).join("ns/net"))
    }

    fn exec<'a>(
        &'a self,
        id: &'a str,
        argv: Vec<String>,
        on_line: LineSink,
    ) -> BoxFuture<'a, Result<ExecOutput, EngineError>> {
        self.docker.exec_with(id, argv, on_line).boxed()
    }

    /// Removes every interface but `lo` from a task: what the engine gave it.
    fn prepare_namespace<'a>(&'a self, c: &'a ContainerInfo, ns: &'a Netns) -> BoxFuture<'a, ()> {
        async move {
            if !swarm_labels::is_task(&c.labels) {
                return;
            }
            match detach_engine_interfaces(ns).await {
                Ok(gone) if !gone.is_empty() => {
                    debug!(container = %c.name, removed = ?gone, "engine interfaces removed")
                }
                Ok(_) => {}
                Err(e) => warn!(container = %c.name, "cannot remove the engine's interfaces: {e}"),
            }
        }
        .boxed()
    }

    fn links_up<'a>(&'a self, c: &'a ContainerInfo, ns: &'a Netns) -> BoxFuture<'a, ()> {
        async move {
            if let Err(e) = announce(ns).await {
                warn!(container = %c.name, "gratuitous ARP failed: {e}");
            }
        }
        .boxed()
    }
}

/// Deletes every interface but `lo` in `ns`; returns their names.
async fn detach_engine_interfaces(ns: &Netns) -> Result<Vec<String>, conlink_kernel::KernelError> {
    let nl = Nl::connect(ns).await?;
    let mut removed = Vec::new();
    for link in nl.links().await? {
        if link.name != "lo" && nl.delete_link(&link.name).await? {
            removed.push(link.name);
        }
    }
    Ok(removed)
}

/// One gratuitous ARP per IPv4 address of every interface in `ns`.
async fn announce(ns: &Netns) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let nl = Nl::connect(ns).await?;
    for link in nl.links().await? {
        if link.name == "lo" || !link.up {
            continue;
        }
        let v4: Vec<std::net::Ipv4Addr> = nl
            .addresses(&link.name)
            .await?
            .iter()
            .filter_map(|a| match a.addr() {
                std::net::IpAddr::V4(v4) => Some(v4),
                _ => None,
            })
            .collect();
        send_garp(ns, &link.name, &v4)?;
    }
    Ok(())
}
