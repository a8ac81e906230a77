//! Docker Swarm: one topology across the hosts of a swarm.
//!
//! conlink runs on every node (on the host, see examples/swarm/README.md for
//! why not as a stack service) against that node's dockerd. The engine side is
//! [`crate::engine::SwarmEngine`]: tasks are matched like compose replicas, so
//! the daemon's ordinary event loop connects the tasks scheduled here and drops
//! the links of tasks that leave. This module adds the mesh: every bridge
//! with service links gets a vxlan device whose peers are the swarm's other
//! ready nodes, by the address each advertises, refreshed from `/nodes`.

mod api;
mod layout;
mod mesh;
mod peers;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use conlink_config::NetworkConfig;
use conlink_kernel::{Netns, Nl};
use tracing::{info, warn};

use crate::engine::{swarm_labels, EngineClient, EngineKind, SwarmEngine};

pub use layout::DEFAULT_VXLAN_PORT;
pub use mesh::{start as start_mesh, MeshHandle, MeshPlan};

/// Command-line flags of swarm mode.
#[derive(Debug, Clone, clap::Args)]
pub struct SwarmArgs {
    /// Docker Swarm mode: connect this node's tasks of the stack named by
    /// --compose-project, and mesh its bridges with the other nodes over vxlan.
    #[arg(global = true, long, env = "CONLINK_SWARM", value_parser = clap::builder::FalseyValueParser::new(), action = clap::ArgAction::SetTrue)]
    pub swarm: bool,

    /// UDP port of the mesh's vxlan (not 4789: swarm's own overlay uses it).
    #[arg(global = true, long, value_name = "PORT", env = "CONLINK_SWARM_VXLAN_PORT", default_value_t = DEFAULT_VXLAN_PORT)]
    pub swarm_vxlan_port: u16,

    /// Docker API socket of a swarm manager, for the node list, when this node
    /// is a worker [default: --docker-socket, which must then be a manager's].
    #[arg(global = true, long, value_name = "PATH", env = "CONLINK_SWARM_MANAGER_SOCKET")]
    pub swarm_manager_socket: Option<PathBuf>,

    /// Where the host's /proc is, to enter tasks by PID: `/host/proc` when conlink
    /// runs as a stack service with `/proc:/host/proc` mounted (swarm services
    /// cannot have `pid: host`).
    #[arg(global = true, long, value_name = "DIR", env = "CONLINK_HOST_PROC", default_value = "/proc")]
    pub host_proc: PathBuf,
}

/// Swarm mode as the daemon gets it.
#[derive(Debug, Clone)]
pub struct SwarmOptions {
    pub vxlan_port: u16,
    pub host_proc: PathBuf,
    pub manager_socket: Option<PathBuf>,
    pub poll: Duration,
}

impl SwarmArgs {
    pub fn options(&self) -> Option<SwarmOptions> {
        self.swarm.then(|| SwarmOptions {
            vxlan_port: self.swarm_vxlan_port,
            host_proc: self.host_proc.clone(),
            manager_socket: self.swarm_manager_socket.clone(),
            poll: Duration::from_secs(2),
        })
    }
}

/// What [`prepare`] hands the daemon.
pub struct Prepared {
    /// The config with the MTU of links on meshed bridges lowered.
    pub cfg: Arc<NetworkConfig>,
    /// The only engine in swarm mode: this node's tasks of the stack.
    pub engine: SwarmEngine,
    pub mesh: MeshPlan,
}

/// Before the daemon builds anything: finds our node and the underlay,
/// decides the meshed bridges and their MTU, lowers the MTU of links on them.
pub async fn prepare(
    cfg: Arc<NetworkConfig>,
    opts: &SwarmOptions,
    docker: &crate::engine::Endpoint,
    stack: Option<&str>,
    own_container: Option<&str>,
) -> Result<Prepared> {
    let engine = EngineClient::connect_to(EngineKind::Docker, docker).await?;
    // As a service of the stack, conlink's own task says which stack it serves.
    let own_stack = match (stack, own_container) {
        (None, Some(id)) => {
            engine.inspect(id).await.ok().and_then(|me| swarm_labels::stack(&me.labels).map(str::to_string))
        }
        _ => None,
    };
    let Some(stack) = stack.or(own_stack.as_deref()) else {
        bail!(
            "--swarm needs the stack's name: --compose-project STACK (the name given to `docker stack deploy`), \
             or run conlink as a service of that stack"
        )
    };
    let local = api::local_node(engine.api()).await.with_context(|| format!("swarm node at {docker}"))?;
    let nodes_api = match &opts.manager_socket {
        Some(sock) => EngineClient::connect(EngineKind::Docker, sock).await?.api().clone(),
        None if local.manager => engine.api().clone(),
        None => bail!(
            "this node is a swarm worker: workers cannot list the swarm's nodes, which the mesh needs; \
             give a manager's API with --swarm-manager-socket PATH (e.g. forwarded over ssh), or run conlink on managers"
        ),
    };
    let underlay = Nl::connect(&Netns::current().context("conlink's own network namespace")?).await?;
    let underlay_mtu = underlay_mtu(&underlay, local.addr).await;
    let mut cfg = Arc::unwrap_or_clone(cfg);
    let bridges = layout::meshed_bridges(&cfg);
    layout::check_device_names(&bridges).map_err(anyhow::Error::msg)?;
    let mtu = layout::mesh_mtu(underlay_mtu, local.addr);
    let lowered = layout::clamp_link_mtus(&mut cfg, &bridges, mtu);
    if !lowered.is_empty() {
        warn!(mtu, links = %lowered.join(" "), "links on meshed bridges lowered to the MTU left after vxlan encapsulation");
    }
    info!(
        stack, node = %local.id, addr = %local.addr, manager = local.manager, bridges = %bridges.join(","), mtu,
        port = opts.vxlan_port, "swarm mode"
    );
    let plan = MeshPlan {
        stack: stack.to_string(),
        local,
        nodes_api,
        underlay,
        bridges,
        mtu,
        port: opts.vxlan_port,
        poll: opts.poll,
    };
    Ok(Prepared { cfg: Arc::new(cfg), engine: SwarmEngine::new(engine, stack, &opts.host_proc), mesh: plan })
}

/// MTU of the interface holding `addr`; 1500 when it cannot be found.
async fn underlay_mtu(nl: &Nl, addr: std::net::IpAddr) -> u32 {
    let Ok(links) = nl.links().await else { return 1500 };
    for link in links {
        if let Ok(addrs) = nl.addresses(&link.name).await {
            if addrs.iter().any(|a| a.addr() == addr) {
                return link.mtu;
            }
        }
    }
    warn!(%addr, "no interface holds the node address; assuming an underlay MTU of 1500");
    1500
}
