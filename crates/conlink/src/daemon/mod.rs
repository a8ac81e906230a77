//! The daemon: build bridges, follow engine events, build and remove container links.

mod links;
mod namespace;
pub mod tracker;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use conlink_config::{BridgeMode, CommandLine, NetworkConfig};
use conlink_kernel::{Netns, Nl};
use futures::StreamExt;
use tokio::signal::unix::{signal, SignalKind};
use tracing::{debug, error, info, warn};

use crate::engine::{own_container_id, ContainerInfo, EngineClient, EngineEvent, EngineKind};
use crate::plan::{commands_for, plan_container, ContainerFacts, ProjectScope};
use links::{connect_container, rollback, BridgeSide};
use namespace::BridgeNamespace;
use tracker::{ContainerRecord, LinkRecord, LinkState, Tracker};

pub use links::LinkError;

/// What the daemon needs from the command line.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    pub compose_project: Option<String>,
    pub docker_socket: PathBuf,
    pub podman_socket: PathBuf,
    /// Named netns for bridges when running on the host.
    pub netns_name: String,
}

struct Shared {
    cfg: Arc<NetworkConfig>,
    scope: ProjectScope,
    bridge_nl: Nl,
    bridge_index: HashMap<String, u32>,
    tracker: Mutex<Tracker>,
    /// Serialises work on one container: a die that overtakes its own start must wait.
    container_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    started: Instant,
}

impl Shared {
    fn lock_for(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.container_locks.lock().unwrap().entry(id.to_string()).or_default().clone()
    }

    fn check_all_connected(&self) {
        let mut t = self.tracker.lock().unwrap();
        if t.announce_if_connected(&self.cfg) {
            info!(elapsed_ms = self.started.elapsed().as_millis() as u64, "All links connected");
        }
    }
}

/// Runs until SIGINT/SIGTERM, then removes what it built.
pub async fn run(cfg: Arc<NetworkConfig>, opts: DaemonOptions) -> Result<()> {
    let started = Instant::now();
    let own_id = own_container_id();
    let engines = connect_engines(&opts).await?;

    let scope = project_scope(&opts, own_id.as_deref(), &engines).await;
    match &scope.project {
        Some(p) => info!(project = %p, "matching service links in compose project"),
        None if cfg.links.iter().any(|l| matches!(l.target, conlink_config::Target::Service(_))) => {
            warn!("no compose project known (not in a compose container, no --compose-project): service links match any project")
        }
        None => {}
    }

    let bridge_ns = BridgeNamespace::select(own_id.is_some(), &opts.netns_name)
        .context("cannot set up conlink's network namespace")?;
    if let Some(name) = &bridge_ns.created_name {
        info!(netns = %name, "bridges live in network namespace /run/netns/{name}");
    }
    let bridge_nl = Nl::connect(&bridge_ns.netns).await.context("cannot open netlink in conlink's namespace")?;
    let created_bridges = create_bridges(&cfg, &bridge_nl).await?;
    if !cfg.tunnels.is_empty() {
        bail!("tunnels are not supported by this build of conlink yet (/tunnels)");
    }

    let mut bridge_index = HashMap::new();
    for b in &created_bridges {
        bridge_index.insert(b.clone(), bridge_nl.index_of(b).await?);
    }
    let shared = Arc::new(Shared {
        cfg: cfg.clone(),
        scope,
        bridge_nl,
        bridge_index,
        tracker: Mutex::new(Tracker::new(!cfg.tunnels.is_empty())),
        container_locks: Mutex::new(HashMap::new()),
        started,
    });

    // Subscribe before listing so a container starting in between is not missed.
    let mut events = futures::stream::select_all(engines.iter().map(|e| {
        let kind = e.kind();
        e.events().map(move |ev| (kind, ev)).boxed()
    }));
    for engine in &engines {
        let running = engine.list_running().await.with_context(|| format!("listing {:?} containers", engine.kind()))?;
        info!(engine = ?engine.kind(), count = running.len(), "handling containers already running");
        for c in running {
            spawn_start(shared.clone(), engine.clone(), c);
        }
    }
    shared.check_all_connected();

    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = sigint.recv() => { info!("got SIGINT"); break; }
            _ = sigterm.recv() => { info!("got SIGTERM"); break; }
            ev = events.next() => match ev {
                Some((kind, Ok(EngineEvent::Start { id }))) => {
                    let engine = engines.iter().find(|e| e.kind() == kind).expect("event from a known engine").clone();
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        match engine.inspect(&id).await {
                            Ok(info) => spawn_start(shared, engine, info),
                            Err(e) => warn!(container = %id, "cannot inspect started container: {e}"),
                        }
                    });
                }
                Some((_, Ok(EngineEvent::Die { id }))) => {
                    tokio::spawn(handle_die(shared.clone(), id));
                }
                Some((kind, Err(e))) => {
                    error!(engine = ?kind, "event stream error: {e}");
                }
                None => {
                    error!("all engine event streams ended");
                    break;
                }
            }
        }
    }

    cleanup(&shared, &created_bridges, &bridge_ns).await;
    Ok(())
}

async fn connect_engines(opts: &DaemonOptions) -> Result<Vec<EngineClient>> {
    let mut engines = Vec::new();
    let mut errors = Vec::new();
    for (kind, socket) in [(EngineKind::Docker, &opts.docker_socket), (EngineKind::Podman, &opts.podman_socket)] {
        if !socket.exists() {
            debug!(?kind, socket = %socket.display(), "no engine socket");
            continue;
        }
        match EngineClient::connect(kind, socket).await {
            Ok(e) => {
                info!(engine = ?kind, socket = %socket.display(), "listening for container events");
                engines.push(e);
            }
            Err(e) => errors.push(format!("{kind:?} at {}: {e}", socket.display())),
        }
    }
    if engines.is_empty() {
        bail!(
            "no container engine reachable (tried docker at {} and podman at {}){}",
            opts.docker_socket.display(),
            opts.podman_socket.display(),
            if errors.is_empty() { String::new() } else { format!(": {}", errors.join("; ")) }
        );
    }
    Ok(engines)
}

async fn project_scope(opts: &DaemonOptions, own_id: Option<&str>, engines: &[EngineClient]) -> ProjectScope {
    if let Some(p) = &opts.compose_project {
        return ProjectScope { project: Some(p.clone()), working_dir: None };
    }
    if let Some(id) = own_id {
        for e in engines {
            if let Ok(me) = e.inspect(id).await {
                return ProjectScope {
                    project: me.compose_project().map(str::to_string),
                    working_dir: me.compose_working_dir().map(str::to_string),
                };
            }
        }
    }
    ProjectScope::default()
}

async fn create_bridges(cfg: &NetworkConfig, nl: &Nl) -> Result<Vec<String>> {
    let mut created = Vec::new();
    for bridge in cfg.bridges.values() {
        match bridge.mode {
            BridgeMode::Linux => {
                let existed = nl.link_by_name(&bridge.name).await?.is_some();
                nl.create_bridge(&bridge.name).await.with_context(|| format!("creating bridge {}", bridge.name))?;
                info!(bridge = %bridge.name, adopted = existed, "bridge ready (linux)");
                created.push(bridge.name.clone());
            }
            other => bail!(
                "bridge {}: mode {other} is not supported by this build of conlink yet (use --default-bridge-mode linux)",
                bridge.name
            ),
        }
    }
    Ok(created)
}

fn facts_of(c: &ContainerInfo) -> ContainerFacts {
    ContainerFacts {
        id: c.id.clone(),
        name: c.name.clone(),
        compose_project: c.compose_project().map(str::to_string),
        compose_working_dir: c.compose_working_dir().map(str::to_string),
        compose_service: c.compose_service().map(str::to_string),
        compose_index: c.compose_index(),
    }
}

fn spawn_start(shared: Arc<Shared>, engine: EngineClient, info: ContainerInfo) {
    tokio::spawn(async move { handle_start(shared, engine, info).await });
}

async fn handle_start(shared: Arc<Shared>, engine: EngineClient, c: ContainerInfo) {
    let facts = facts_of(&c);
    let planned = plan_container(&shared.cfg, &facts, &shared.scope);
    let commands: Vec<CommandLine> = commands_for(&shared.cfg, &facts, &shared.scope).into_iter().cloned().collect();
    if planned.is_empty() && commands.is_empty() {
        debug!(container = %c.name, "no links for container");
        return;
    }
    let Some(pid) = c.pid.filter(|p| *p > 0) else {
        debug!(container = %c.name, "container not running, nothing to do");
        return;
    };
    let lock = shared.lock_for(&c.id);
    let _guard = lock.lock().await;
    // A restarted container arrives here again: drop what the previous incarnation had.
    let previous = shared.tracker.lock().unwrap().remove_container(&c.id);
    if let Some(old) = previous {
        let outer: Vec<String> = old.links.iter().filter_map(|l| l.outer.clone()).collect();
        rollback(&shared.bridge_nl, &outer).await;
    }
    let t0 = Instant::now();
    let side = BridgeSide { nl: &shared.bridge_nl, bridge_index: &shared.bridge_index };
    let result = connect_container(&side, &c.name, pid, &planned).await;
    let (state, ok) = match &result {
        Ok(_) => (LinkState::Connected, true),
        Err(e) => {
            error!("{e}");
            (LinkState::Failed(e.to_string()), false)
        }
    };
    let record = ContainerRecord {
        name: c.name.clone(),
        links: planned
            .iter()
            .map(|p| LinkRecord {
                link_index: p.link_index,
                dev: p.dev.clone(),
                outer: if ok { p.outer.clone().filter(|_| p.link_type == conlink_config::LinkType::Veth) } else { None },
                state: state.clone(),
            })
            .collect(),
    };
    if ok {
        for p in &planned {
            info!(
                container = %c.name,
                dev = %p.dev,
                outer = p.outer.as_deref().unwrap_or("-"),
                bridge = p.bridge.as_deref().unwrap_or("-"),
                ip = %p.ip.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(","),
                "link up"
            );
        }
        debug!(container = %c.name, links = planned.len(), elapsed_us = t0.elapsed().as_micros() as u64, "container connected");
    }
    shared.tracker.lock().unwrap().set_container(&c.id, record);
    shared.check_all_connected();
    if ok {
        for command in commands {
            tokio::spawn(run_command(engine.clone(), c.id.clone(), c.name.clone(), command));
        }
    }
}

async fn run_command(engine: EngineClient, id: String, name: String, command: CommandLine) {
    let argv = match command {
        CommandLine::Shell(s) => vec!["sh".to_string(), "-c".to_string(), s],
        CommandLine::Argv(v) => v,
    };
    info!(container = %name, command = ?argv, "running command");
    match engine.exec(&id, argv).await {
        Ok(out) => {
            for line in out.output.lines() {
                info!("{name}: {line}");
            }
            if out.exit_code.unwrap_or(0) != 0 {
                warn!(container = %name, exit_code = ?out.exit_code, "command failed");
            }
        }
        Err(e) => error!(container = %name, "command could not run: {e}"),
    }
}

async fn handle_die(shared: Arc<Shared>, id: String) {
    let lock = shared.lock_for(&id);
    let _guard = lock.lock().await;
    let removed = shared.tracker.lock().unwrap().remove_container(&id);
    let Some(old) = removed else { return };
    // The container's namespace is usually gone already, taking the veth pairs with it;
    // deleting what is left covers containers that were only paused or whose netns is held open.
    let outer: Vec<String> = old.links.iter().filter_map(|l| l.outer.clone()).collect();
    rollback(&shared.bridge_nl, &outer).await;
    info!(container = %old.name, links = old.links.len(), "container died, links removed");
}

async fn cleanup(shared: &Shared, bridges: &[String], ns: &BridgeNamespace) {
    let outer = { shared.tracker.lock().unwrap().outer_devs() };
    info!(links = outer.len(), bridges = bridges.len(), "removing links and bridges");
    rollback(&shared.bridge_nl, &outer).await;
    for b in bridges {
        if let Err(e) = shared.bridge_nl.delete_link(b).await {
            warn!(bridge = %b, "could not remove bridge: {e}");
        }
    }
    if let Some(name) = &ns.created_name {
        if let Err(e) = Netns::delete_named(name) {
            warn!(netns = %name, "could not remove network namespace: {e}");
        }
    }
}
