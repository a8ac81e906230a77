//! The daemon: build conlink's side of the topology, follow engine events, build and
//! remove container links. This module only wires the parts together:
//!
//! | module | job |
//! | --- | --- |
//! | `infra` | conlink's namespace, bridges, tunnels, OVS, host namespace; one teardown |
//! | `namespace` | which namespace holds the bridges, and whether conlink owns it |
//! | `instance_lock` | one conlink per namespace |
//! | `ownership` | the marks by which conlink recognises what it made |
//! | `forwarding` | port forwards (nft table, forward source addresses) |
//! | `events` | engines: running containers, start/die events, resync |
//! | `containers` | connect / disconnect one container, its record, its commands |
//! | `links` | one container's links against the kernel, all or nothing |
//! | `nodes` | the netns runtime's nodes |
//! | `state` | what the parts share, and readiness ("All links connected") |
//! | `tracker` | what was built, per container |
//! | `blocking` | nft and ovs-vsctl calls off the async runtime |
//! | `control_server` | `conlink status|netem|link` |
//! | `control_guard` | the control socket's mode, peer check and limits |

mod blocking;
mod containers;
mod control_guard;
mod control_server;
mod events;
mod forwarding;
mod infra;
mod instance_lock;
mod links;
mod namespace;
mod nodes;
mod ownership;
mod prestart;
mod rootless;
mod state;
mod tracker;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result};
use conlink_config::NetworkConfig;
use tokio::signal::unix::{signal, SignalKind};
use tracing::{debug, info, warn};

use crate::engine::{own_container_id, Endpoint, NetnsRuntime};
use events::EngineSockets;
use infra::{InfraOptions, Infrastructure};
pub use state::Profiles;
use state::State;

/// What the daemon needs from the command line.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    pub compose_project: Option<String>,
    pub docker: Endpoint,
    pub podman: Endpoint,
    /// Compose profiles: services behind inactive ones are not waited for.
    pub profiles: Profiles,
    /// Named netns for bridges when running on the host.
    pub netns_name: String,
    /// Namespace of *vlan/*vtap parents: a netns path or a PID (default PID 1's).
    pub host_netns: Option<String>,
    /// Unix socket for `conlink status|netem|link`.
    pub control_socket: PathBuf,
    /// Docker Swarm mode (`--swarm`): the swarm engine and the mesh.
    pub swarm: Option<crate::swarm::SwarmOptions>,
}

/// Runs until SIGINT/SIGTERM, then removes what it built.
pub async fn run(cfg: Arc<NetworkConfig>, opts: DaemonOptions) -> Result<()> {
    let started = Instant::now();
    // Installed first: a SIGTERM during start-up is kept and handled (with cleanup)
    // once everything created so far is tracked, instead of killing us half-way.
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let own_id = own_container_id();
    // Before anything is touched: which namespace, and that no other conlink has it.
    // In swarm mode the namespace conlink starts in is its node's underlay (the host's,
    // even as a service on the host network): bridges always get one of their own.
    let placement = match &opts.swarm {
        Some(_) => namespace::Placement::named(&opts.netns_name)?,
        None => namespace::Placement::decide(own_id.is_some(), &opts.netns_name, opts.host_netns.as_deref())?,
    };
    let lock = instance_lock::acquire(&instance_lock::lock_dir(), placement.label())?;
    debug!(lock = %lock.path.display(), netns = placement.label(), "instance lock taken");
    // Swarm mode: this node's tasks of the stack are the only engine, plus the mesh.
    let (cfg, engines, mesh_plan) = match &opts.swarm {
        Some(s) => {
            let p = crate::swarm::prepare(
                cfg,
                s,
                &opts.docker,
                opts.compose_project.as_deref(),
                own_id.as_deref(),
            )
            .await?;
            let engine: Arc<dyn crate::engine::Engine> = Arc::new(p.engine);
            (p.cfg, vec![engine], Some(p.mesh))
        }
        None => {
            // The netns runtime needs no engine; without nodes at least one engine must answer.
            let sockets = EngineSockets { docker: &opts.docker, podman: &opts.podman };
            let engines = events::connect_engines(&sockets, cfg.nodes.is_empty()).await?;
            (cfg, engines, None)
        }
    };

    let scope = events::project_scope(opts.compose_project.as_deref(), own_id.as_deref(), &engines).await;
    match &scope.project {
        Some(p) => info!(project = %p, "matching service links in compose project"),
        None if cfg.links.iter().any(|l| matches!(l.target, conlink_config::Target::Service(_))) => {
            warn!("no compose project known (not in a compose container, no --compose-project): service links match any project")
        }
        None => {}
    }

    let infra_opts = InfraOptions {
        in_container: own_id.is_some(),
        placement: &placement,
        host_netns: opts.host_netns.as_deref(),
    };
    // From here on everything built is removed by `shutdown`, whatever ends the run.
    let infra = Infrastructure::build(&cfg, &infra_opts).await?;
    if let Some(line) = state::inactive_line(&cfg, &opts.profiles) {
        info!("{line}");
    }
    let known = prestart::KnownContainers::new(engines.clone());
    let state = Arc::new(State::new(cfg.clone(), scope, infra, known, started, &opts.profiles));
    let progress = tokio::spawn(state::report_progress(state.clone()));
    let mut nodes = None;
    let mut mesh = None;
    let outcome = async {
        if let Some(plan) = mesh_plan {
            mesh = Some(
                crate::swarm::start_mesh(plan, state.infra.nl.clone(), &state.infra.namespace.netns).await?,
            );
        }
        let control = control_server::serve(state.clone(), &opts.control_socket)
            .with_context(|| format!("cannot listen on control socket {}", opts.control_socket.display()))?;
        let running = async {
            nodes = Some(nodes::start_nodes(&state).await?);
            events::follow_engines(&state, &engines, &mut sigint, &mut sigterm).await
        }
        .await;
        control.close();
        running
    }
    .await;
    progress.abort();
    if let Some(mesh) = mesh {
        mesh.stop().await;
    }
    shutdown(&state, nodes.as_ref()).await;
    outcome
}

/// The one way a run ends: every container's links, the nodes, then the infrastructure.
async fn shutdown(state: &State, nodes: Option<&NetnsRuntime>) {
    containers::disconnect_all(state).await;
    if let Some(nodes) = nodes {
        nodes.stop().await;
    }
    state.infra.teardown().await;
}
