//! The daemon: build bridges, follow engine events, build and remove container links.

mod control_server;
mod links;
mod namespace;
mod nodes;
pub mod tracker;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use conlink_config::{BridgeMode, CommandLine, NetworkConfig};
use conlink_kernel::{
    apply_forwards, parse_ethtool_args, sysctl_get_in, sysctl_in, Netem, Netns, Nl, Ovs, TunnelKind,
};
use futures::StreamExt;
use tokio::signal::unix::{signal, SignalKind};
use tracing::{debug, error, info, warn};

use crate::engine::{own_container_id, ContainerInfo, EngineClient, EngineEvent, EngineKind};
use crate::plan::{commands_for, plan_container, ContainerFacts, ProjectScope};
use links::{
    connect_container, rollback, BridgeSide, Created, FORWARD_SOURCE_V4, FORWARD_SOURCE_V6, OUTER_GROUP,
};
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
    /// Namespace of *vlan/*vtap parents: a netns path or a PID (default PID 1's).
    pub host_netns: Option<String>,
    /// Unix socket for `conlink status|netem|link`.
    pub control_socket: PathBuf,
}

struct Shared {
    cfg: Arc<NetworkConfig>,
    scope: ProjectScope,
    bridge_nl: Nl,
    bridge_index: HashMap<String, u32>,
    bridge_netns: Netns,
    host_nl: Option<Nl>,
    ovs: Option<Ovs>,
    ovs_bridges: Vec<String>,
    /// Engine interface forwarded ports arrive on (DOCKER-ETH0), when there is one.
    forward_dev: Option<String>,
    tracker: Mutex<Tracker>,
    /// Bounds how many containers are connected at once: the kernel serialises the work
    /// anyway, and each connection holds a netlink socket and buffers.
    connect_slots: tokio::sync::Semaphore,
    /// Serialises work on one container: a die that overtakes its own start must wait.
    container_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    started: Instant,
}

impl Shared {
    fn lock_for(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.container_locks.lock().unwrap();
        // Containers come and go (churn, scaling): drop locks nobody holds any more.
        if locks.len() > 256 {
            locks.retain(|_, l| Arc::strong_count(l) > 1);
        }
        locks.entry(id.to_string()).or_default().clone()
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
    // Installed first: a SIGTERM during start-up is kept and handled (with cleanup)
    // once everything created so far is tracked, instead of killing us half-way.
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let own_id = own_container_id();
    // The netns runtime needs no engine; without nodes at least one engine must answer.
    let engines = connect_engines(&opts, cfg.nodes.is_empty()).await?;

    let scope = project_scope(&opts, own_id.as_deref(), &engines).await;
    match &scope.project {
        Some(p) => info!(project = %p, "matching service links in compose project"),
        None if cfg.links.iter().any(|l| matches!(l.target, conlink_config::Target::Service(_))) => {
            warn!("no compose project known (not in a compose container, no --compose-project): service links match any project")
        }
        None => {}
    }

    check_link_settings(&cfg)?;
    if own_id.is_some() {
        make_proc_sys_writable();
    }
    let host_nl = open_host_namespace(&cfg, opts.host_netns.as_deref()).await?;
    let bridge_ns = BridgeNamespace::select(own_id.is_some(), &opts.netns_name)
        .context("cannot set up conlink's network namespace")?;
    if let Some(name) = &bridge_ns.created_name {
        info!(netns = %name, "bridges live in network namespace /run/netns/{name}");
    }
    let setup = match setup_namespace(&cfg, &bridge_ns).await {
        Ok(v) => v,
        Err(e) => {
            abandon_namespace(&cfg, &bridge_ns).await;
            return Err(e);
        }
    };
    let NamespaceSetup {
        bridge_nl,
        forward_dev,
        bridges: created_bridges,
        bridge_index,
        tunnels: created_tunnels,
        ovs,
        ovs_bridges,
    } = setup;

    let shared = Arc::new(Shared {
        cfg: cfg.clone(),
        scope,
        bridge_nl,
        bridge_index,
        bridge_netns: bridge_ns.netns.try_clone()?,
        host_nl,
        ovs,
        ovs_bridges,
        forward_dev,
        tracker: Mutex::new(Tracker::new(false)),
        connect_slots: tokio::sync::Semaphore::new(8),
        container_locks: Mutex::new(HashMap::new()),
        started,
    });

    let control = match control_server::serve(shared.clone(), &opts.control_socket) {
        Ok(c) => c,
        Err(e) => {
            cleanup(&shared, &created_bridges, &created_tunnels, &bridge_ns, Vec::new()).await;
            return Err(anyhow::Error::new(e)
                .context(format!("cannot listen on control socket {}", opts.control_socket.display())));
        }
    };

    let running_nodes = match start_nodes(&shared).await {
        Ok(n) => n,
        Err(e) => {
            cleanup(&shared, &created_bridges, &created_tunnels, &bridge_ns, Vec::new()).await;
            return Err(e);
        }
    };

    let outcome = follow_engines(&shared, &engines, &mut sigint, &mut sigterm).await;
    control.close();
    cleanup(&shared, &created_bridges, &created_tunnels, &bridge_ns, running_nodes).await;
    outcome
}

/// Handles the running containers, then engine events, until SIGINT/SIGTERM.
async fn follow_engines(
    shared: &Arc<Shared>,
    engines: &[EngineClient],
    sigint: &mut tokio::signal::unix::Signal,
    sigterm: &mut tokio::signal::unix::Signal,
) -> Result<()> {
    // Subscribe before listing so a container starting in between is not missed.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<EngineMsg>();
    for engine in engines {
        tokio::spawn(watch_engine(engine.clone(), tx.clone()));
    }
    drop(tx);
    for engine in engines {
        let running =
            engine.list_running().await.with_context(|| format!("listing {} containers", engine.kind()))?;
        info!(engine = %engine.kind(), count = running.len(), "handling containers already running");
        start_all(shared, engine, running);
    }
    shared.check_all_connected();
    // Events can be missed (engine restarts, full buffers): a periodic resync repairs that.
    let mut resync_timer = tokio::time::interval(RESYNC_INTERVAL);
    resync_timer.tick().await;
    // Without engines (netns runtime only) there are no events: wait for a signal.
    let mut events_open = !engines.is_empty();

    loop {
        tokio::select! {
            _ = sigint.recv() => { info!("got SIGINT"); return Ok(()); }
            _ = sigterm.recv() => { info!("got SIGTERM"); return Ok(()); }
            _ = resync_timer.tick(), if !engines.is_empty() => {
                for engine in engines {
                    tokio::spawn(resync(shared.clone(), engine.clone()));
                }
            }
            msg = rx.recv(), if events_open => match msg {
                Some(EngineMsg::Event(kind, EngineEvent::Start { id })) => {
                    let engine = engines.iter().find(|e| e.kind() == kind).expect("event from a known engine").clone();
                    let shared = shared.clone();
                    shared.tracker.lock().unwrap().mark_pending(&id);
                    tokio::spawn(async move {
                        match engine.inspect(&id).await {
                            Ok(info) => spawn_start(shared, engine, info),
                            Err(e) => {
                                warn!(container = %id, "cannot inspect started container: {e}");
                                shared.tracker.lock().unwrap().clear_pending(&id);
                                shared.check_all_connected();
                            }
                        }
                    });
                }
                Some(EngineMsg::Event(_, EngineEvent::Die { id })) => {
                    tokio::spawn(handle_die(shared.clone(), id));
                }
                Some(EngineMsg::Reconnected(kind)) => {
                    let engine = engines.iter().find(|e| e.kind() == kind).expect("a known engine").clone();
                    tokio::spawn(resync(shared.clone(), engine));
                }
                None => {
                    // Watchers only end when the daemon does; keep serving signals regardless.
                    error!("all engine watchers ended");
                    events_open = false;
                }
            }
        }
    }
}

/// Creates every node's namespace and links, then starts the nodes' commands
/// (after all links exist, so a command may talk to any other node at once).
async fn start_nodes(shared: &Shared) -> Result<Vec<nodes::RunningNode>> {
    let mut running: Vec<nodes::RunningNode> = Vec::new();
    for node in &shared.cfg.nodes {
        match nodes::create_node(node).await {
            Ok(n) => running.push(n),
            Err(e) => {
                for n in running {
                    nodes::stop_node(n).await;
                }
                bail!("cannot create node {}: {e:#}", node.name);
            }
        }
    }
    for node in &running {
        let facts =
            ContainerFacts { id: nodes::node_id(&node.name), name: node.name.clone(), ..Default::default() };
        let planned = plan_container(&shared.cfg, &facts, &shared.scope);
        let ns = node.netns.try_clone().map_err(|source| LinkError::Namespace {
            container: node.name.clone(),
            pid: 0,
            source,
        });
        connect_and_record(shared, None, &facts.id, &node.name, 0, ns, &planned).await;
    }
    shared.check_all_connected();
    for (node, cfg_node) in running.iter_mut().zip(&shared.cfg.nodes) {
        let facts =
            ContainerFacts { id: nodes::node_id(&node.name), name: node.name.clone(), ..Default::default() };
        let commands = cfg_node
            .command
            .iter()
            .chain(commands_for(&shared.cfg, &facts, &shared.scope))
            .cloned()
            .collect::<Vec<_>>();
        for command in commands {
            match nodes::spawn_in_node(node, &command) {
                Ok(child) => node.children.push(child),
                Err(e) => error!(node = %node.name, "cannot start command {command:?}: {e}"),
            }
        }
    }
    if !running.is_empty() {
        print_node_summary(shared, &running);
    }
    Ok(running)
}

/// What a person trying the netns runtime needs: what is up, and how to get in.
fn print_node_summary(shared: &Shared, running: &[nodes::RunningNode]) {
    let tracker = shared.tracker.lock().unwrap();
    for node in running {
        let links: Vec<String> = shared
            .cfg
            .links
            .iter()
            .filter(|l| l.target == conlink_config::Target::Container(node.name.clone()))
            .map(|l| {
                let ips = l.ip.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
                format!("{}{}{}", l.dev, if ips.is_empty() { "" } else { " " }, ips)
            })
            .collect();
        let state = match tracker.containers().find(|(id, _)| **id == nodes::node_id(&node.name)) {
            Some((_, r)) if r.links.iter().all(|l| l.state == LinkState::Connected) => "up",
            Some(_) => "FAILED",
            None => "no links",
        };
        info!("node {:<12} {:<8} {}", node.name, state, links.join("; "));
    }
    if let Some(first) = running.first() {
        info!("enter a node with: conlink exec {0} sh   (or: ip netns exec {0} sh)", first.name);
    }
}

/// Engines mount /proc/sys read-only in containers; conlink (with SYS_ADMIN, in its own
/// mount namespace) remounts it so per-namespace sysctls (disable_ipv6, ip_forward) can be set.
fn make_proc_sys_writable() {
    use nix::mount::{mount, MsFlags};
    use nix::sys::statvfs::{statvfs, FsFlags};
    let Ok(st) = statvfs("/proc/sys") else { return };
    if !st.flags().contains(FsFlags::ST_RDONLY) {
        return;
    }
    match mount(None::<&str>, "/proc/sys", None::<&str>, MsFlags::MS_REMOUNT | MsFlags::MS_BIND, None::<&str>)
    {
        Ok(()) => debug!("remounted /proc/sys read-write"),
        Err(e) => {
            warn!("/proc/sys is read-only and cannot be remounted ({e}): IPv6 links and forwards may fail")
        }
    }
}

/// What start-up built in conlink's namespace.
struct NamespaceSetup {
    bridge_nl: Nl,
    forward_dev: Option<String>,
    /// Linux bridges (kernel devices).
    bridges: Vec<String>,
    bridge_index: HashMap<String, u32>,
    tunnels: Vec<String>,
    ovs: Option<Ovs>,
    ovs_bridges: Vec<String>,
}

/// Bridges, tunnels and forwarding in conlink's namespace.
async fn setup_namespace(cfg: &NetworkConfig, bridge_ns: &BridgeNamespace) -> Result<NamespaceSetup> {
    let bridge_nl =
        Nl::connect(&bridge_ns.netns).await.context("cannot open netlink in conlink's namespace")?;
    // Outer ends an earlier run left (e.g. after kill -9) go in one request; the
    // containers' links are rebuilt as they are handled.
    if bridge_nl.delete_group(OUTER_GROUP).await? {
        info!("removed links left by an earlier run");
    }
    let forward_dev = prepare_forwarding(cfg, &bridge_nl, &bridge_ns.netns).await?;
    let ovs = start_ovs(cfg, &bridge_ns.netns, &bridge_ns.label)?;
    let result = async {
        let (bridges, ovs_bridges) = create_bridges(cfg, &bridge_nl, ovs.as_ref()).await?;
        let mut bridge_index = HashMap::new();
        for b in &bridges {
            bridge_index.insert(b.clone(), bridge_nl.index_of(b).await?);
        }
        if forward_dev.is_some() {
            add_forward_source(cfg, &bridge_nl, &bridge_ns.netns).await?;
        }
        let tunnels = create_tunnels(cfg, &bridge_nl, &bridge_index).await?;
        Ok::<_, anyhow::Error>((bridges, bridge_index, tunnels, ovs_bridges))
    }
    .await;
    match result {
        Ok((bridges, bridge_index, tunnels, ovs_bridges)) => {
            Ok(NamespaceSetup { bridge_nl, forward_dev, bridges, bridge_index, tunnels, ovs, ovs_bridges })
        }
        Err(e) => {
            if let Some(ovs) = &ovs {
                for b in cfg.bridges.values().filter(|b| b.mode == BridgeMode::Ovs) {
                    let _ = ovs.del_bridge(&b.name);
                }
                let _ = ovs.stop();
            }
            Err(e)
        }
    }
}

/// Open vSwitch for `ovs` bridges: its daemons are started in conlink's namespace when
/// none answer. Without the kernel module bridges use OVS's userspace datapath.
fn start_ovs(cfg: &NetworkConfig, ns: &Netns, label: &str) -> Result<Option<Ovs>> {
    let Some(first) = cfg.bridges.values().find(|b| b.mode == BridgeMode::Ovs) else {
        return Ok(None);
    };
    let dir = PathBuf::from(format!("/run/conlink/ovs-{label}"));
    let ovs = Ovs::start(ns, &dir)
        .with_context(|| format!("bridge {} (mode ovs) needs Open vSwitch", first.name))?;
    if ovs.userspace {
        warn!("the openvswitch kernel module is missing: ovs bridges use OVS's userspace datapath (datapath_type=netdev)");
        if !std::path::Path::new("/dev/net/tun").exists() {
            let _ = ovs.stop();
            bail!(
                "bridge {}: OVS's userspace datapath needs /dev/net/tun (in a container: `devices: [/dev/net/tun]` on the conlink service)",
                first.name
            );
        }
    }
    info!(started = ovs.started, "Open vSwitch ready");
    Ok(Some(ovs))
}

/// A start-up failure leaves nothing behind: the namespace conlink created goes,
/// or (in its container's own namespace) the bridges and tunnels it may have made.
async fn abandon_namespace(cfg: &NetworkConfig, bridge_ns: &BridgeNamespace) {
    if let Some(name) = &bridge_ns.created_name {
        if let Err(e) = Netns::delete_named(name) {
            warn!(netns = %name, "could not remove network namespace: {e}");
        }
        return;
    }
    if let Ok(nl) = Nl::connect(&bridge_ns.netns).await {
        for dev in cfg.tunnels.iter().map(|t| t.dev_name()).chain(cfg.bridges.keys().cloned()) {
            let _ = nl.delete_link(&dev).await;
        }
    }
}

/// netem and ethtool strings are checked before anything is built, so a typo
/// fails the start with the config path instead of a half-built topology.
fn check_link_settings(cfg: &NetworkConfig) -> Result<()> {
    let mut problems = Vec::new();
    for (i, link) in cfg.links.iter().enumerate() {
        if !link.netem.is_empty() {
            if let Err(e) = Netem::parse(&link.netem.join(" ")) {
                problems.push(format!("/links/{i}/netem: {e}"));
            }
        }
        for (j, args) in link.ethtool.iter().enumerate() {
            if let Err(e) = parse_ethtool_args(&args.join(" ")) {
                problems.push(format!("/links/{i}/ethtool/{j}: {e}"));
            }
        }
    }
    for (i, t) in cfg.tunnels.iter().enumerate() {
        if !t.netem.is_empty() {
            if let Err(e) = Netem::parse(&t.netem.join(" ")) {
                problems.push(format!("/tunnels/{i}/netem: {e}"));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        bail!("invalid network configuration:\n  {}", problems.join("\n  "))
    }
}

/// The namespace holding *vlan/*vtap parents, opened only when a link needs it.
async fn open_host_namespace(cfg: &NetworkConfig, spec: Option<&str>) -> Result<Option<Nl>> {
    let Some(i) = cfg.links.iter().position(|l| l.link_type.has_host_parent()) else {
        return Ok(None);
    };
    let path = match spec {
        Some(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) => {
            PathBuf::from(format!("/proc/{s}/ns/net"))
        }
        Some(s) => PathBuf::from(s),
        None => PathBuf::from("/proc/1/ns/net"),
    };
    let ns = Netns::from_path(&path).with_context(|| {
        format!(
            "cannot open the host network namespace {} needed by link /links/{i} ({}); name another with --host-netns NETNS|PID",
            path.display(),
            cfg.links[i].link_type
        )
    })?;
    Ok(Some(Nl::connect(&ns).await?))
}

/// Port forwards arrive on the engine's interface in conlink's namespace: rename
/// docker's eth0 to DOCKER-ETH0 as the original does, and route between it and the bridges.
async fn prepare_forwarding(cfg: &NetworkConfig, nl: &Nl, ns: &Netns) -> Result<Option<String>> {
    const ENGINE_DEV: &str = "DOCKER-ETH0";
    let has_eth0 = nl.link_by_name("eth0").await?.is_some();
    let uses_eth0 = cfg.links.iter().any(|l| l.outer_dev.as_deref() == Some("eth0"));
    if has_eth0 && !uses_eth0 && nl.link_by_name(ENGINE_DEV).await?.is_none() {
        nl.set_up("eth0", false).await?;
        nl.set_name("eth0", ENGINE_DEV).await?;
        nl.set_up(ENGINE_DEV, true).await?;
        info!("renamed the engine interface eth0 to {ENGINE_DEV}");
    }
    let wanted = cfg.links.iter().position(|l| !l.forward.is_empty());
    let present = nl.link_by_name(ENGINE_DEV).await?.is_some();
    match (wanted, present) {
        (Some(i), false) => bail!(
            "link /links/{i} has forward, which needs an engine interface in conlink's namespace \
             (run conlink in a container on a docker network, not network_mode: none)"
        ),
        (Some(_), true) => {
            let v6 = cfg
                .links
                .iter()
                .any(|l| !l.forward.is_empty() && l.ip.iter().any(|n| matches!(n, ipnet::IpNet::V6(_))));
            let mut keys = vec!["net.ipv4.ip_forward"];
            if v6 {
                keys.push("net.ipv6.conf.all.forwarding");
            }
            for key in keys {
                if sysctl_get_in(ns, key).map(|v| v.trim() == "1").unwrap_or(false) {
                    continue;
                }
                sysctl_in(ns, key, "1").with_context(|| {
                    format!("enabling forwarding in conlink's namespace (set `sysctls: {{{key}: 1}}` on the conlink service, or run it privileged)")
                })?;
            }
            Ok(Some(ENGINE_DEV.to_string()))
        }
        (None, _) => Ok(None),
    }
}

/// Bridges carrying forwarded links get the source address replies return to, per
/// address family the forwarded links use.
async fn add_forward_source(cfg: &NetworkConfig, nl: &Nl, ns: &Netns) -> Result<()> {
    let mut families: std::collections::BTreeMap<&String, (bool, bool)> = Default::default();
    for l in cfg.links.iter().filter(|l| !l.forward.is_empty()) {
        if let Some(b) = &l.bridge {
            let f = families.entry(b).or_default();
            f.0 |= l.ip.iter().any(|n| matches!(n, ipnet::IpNet::V4(_)));
            f.1 |= l.ip.iter().any(|n| matches!(n, ipnet::IpNet::V6(_)));
        }
    }
    for (bridge, (v4, v6)) in families {
        if v4 {
            nl.add_address(bridge, ipnet::IpNet::from(FORWARD_SOURCE_V4)).await?;
        }
        if v6 {
            // The engine may have disabled IPv6 in conlink's namespace.
            let key = format!("net/ipv6/conf/{bridge}/disable_ipv6");
            if sysctl_get_in(ns, &key).map(|v| v.trim() != "0").unwrap_or(false) {
                sysctl_in(ns, &key, "0")
                    .with_context(|| format!("enabling IPv6 on bridge {bridge} for forwards"))?;
            }
            nl.add_address(bridge, ipnet::IpNet::from(FORWARD_SOURCE_V6)).await?;
        }
    }
    Ok(())
}

async fn create_tunnels(
    cfg: &NetworkConfig,
    nl: &Nl,
    bridge_index: &HashMap<String, u32>,
) -> Result<Vec<String>> {
    let mut created = Vec::new();
    for (i, t) in cfg.tunnels.iter().enumerate() {
        let name = t.dev_name();
        let kind = TunnelKind::parse(t.tunnel_type.as_str()).map_err(anyhow::Error::msg)?;
        let master = bridge_index.get(&t.bridge).copied();
        if master.is_none() {
            rollback(nl, None, &created.iter().cloned().map(Created::Outer).collect::<Vec<_>>()).await;
            bail!("/tunnels/{i}: bridge {} is not a linux bridge conlink created", t.bridge);
        }
        // Leftovers of an earlier run are replaced, not fatal.
        nl.delete_link(&name).await?;
        if let Err(e) = nl.create_tunnel(kind, &name, t.vni, t.remote, master, None).await {
            rollback(nl, None, &created.iter().cloned().map(Created::Outer).collect::<Vec<_>>()).await;
            bail!("/tunnels/{i}: {e}");
        }
        if !t.netem.is_empty() {
            let netem = Netem::parse(&t.netem.join(" ")).map_err(anyhow::Error::msg)?;
            nl.set_netem(&name, &netem).await.with_context(|| format!("/tunnels/{i}"))?;
        }
        info!(tunnel = %name, remote = %t.remote, bridge = %t.bridge, "tunnel up");
        created.push(name);
    }
    Ok(created)
}

/// How often running containers are compared with what conlink built.
const RESYNC_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

enum EngineMsg {
    Event(EngineKind, EngineEvent),
    /// The engine's event stream was re-established after a break: resync.
    Reconnected(EngineKind),
}

/// Follows one engine's events for ever, reconnecting (e.g. across a dockerd
/// restart) and asking for a resync after every reconnect.
async fn watch_engine(engine: EngineClient, tx: tokio::sync::mpsc::UnboundedSender<EngineMsg>) {
    let kind = engine.kind();
    let mut first = true;
    loop {
        if !first {
            // Wait until the engine answers again before subscribing.
            let mut delay = std::time::Duration::from_millis(200);
            while engine.list_running().await.is_err() {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(5));
            }
        }
        let mut events = Box::pin(engine.events());
        if !first {
            info!(engine = %kind, "event stream reconnected, resyncing");
            if tx.send(EngineMsg::Reconnected(kind)).is_err() {
                return;
            }
        }
        first = false;
        while let Some(item) = events.next().await {
            match item {
                Ok(ev) => {
                    if tx.send(EngineMsg::Event(kind, ev)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    warn!(engine = %kind, "event stream broke: {e}");
                    break;
                }
            }
        }
        warn!(engine = %kind, "event stream ended; reconnecting");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Marks every container pending, then connects each concurrently.
fn start_all(shared: &Arc<Shared>, engine: &EngineClient, containers: Vec<ContainerInfo>) {
    // Mark all before spawning any: one replica finishing must not look like "all connected".
    {
        let mut t = shared.tracker.lock().unwrap();
        for c in &containers {
            t.mark_pending(&c.id);
        }
    }
    for c in containers {
        spawn_start(shared.clone(), engine.clone(), c);
    }
}

/// Compares the engine's running containers with what conlink tracks: connects
/// new or restarted ones (another PID), removes links of the ones that are gone.
async fn resync(shared: Arc<Shared>, engine: EngineClient) {
    let running = match engine.list_running().await {
        Ok(r) => r,
        Err(e) => {
            warn!(engine = %engine.kind(), "resync: cannot list containers: {e}");
            return;
        }
    };
    let (stale, gone): (Vec<ContainerInfo>, Vec<String>) = {
        let t = shared.tracker.lock().unwrap();
        let tracked: HashMap<&String, &ContainerRecord> =
            t.containers().filter(|(_, r)| r.engine == Some(engine.kind())).collect();
        let stale = running
            .iter()
            .filter(|c| match tracked.get(&c.id) {
                Some(r) => Some(r.pid) != c.pid || r.links.iter().any(|l| l.state != LinkState::Connected),
                None => true,
            })
            .cloned()
            .collect();
        let gone = tracked
            .keys()
            .filter(|id| !running.iter().any(|c| &&c.id == *id))
            .map(|id| id.to_string())
            .collect();
        (stale, gone)
    };
    // Containers without links are never tracked; planning skips them cheaply.
    let stale: Vec<ContainerInfo> = stale
        .into_iter()
        .filter(|c| !plan_container(&shared.cfg, &facts_of(c), &shared.scope).is_empty())
        .collect();
    if !stale.is_empty() || !gone.is_empty() {
        info!(engine = %engine.kind(), reconnect = stale.len(), remove = gone.len(), "resync repairs missed events");
    }
    for id in gone {
        tokio::spawn(handle_die(shared.clone(), id));
    }
    start_all(&shared, &engine, stale);
}

async fn connect_engines(opts: &DaemonOptions, required: bool) -> Result<Vec<EngineClient>> {
    let mut engines = Vec::new();
    let mut errors = Vec::new();
    for (kind, socket) in
        [(EngineKind::Docker, &opts.docker_socket), (EngineKind::Podman, &opts.podman_socket)]
    {
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
    if engines.is_empty() && !required {
        info!("no container engine: running the network namespace nodes only");
    } else if engines.is_empty() {
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

async fn create_bridges(
    cfg: &NetworkConfig,
    nl: &Nl,
    ovs: Option<&Ovs>,
) -> Result<(Vec<String>, Vec<String>)> {
    let (mut linux, mut ovs_bridges) = (Vec::new(), Vec::new());
    for bridge in cfg.bridges.values() {
        match bridge.mode {
            BridgeMode::Linux => {
                let existed = nl.link_by_name(&bridge.name).await?.is_some();
                nl.create_bridge(&bridge.name)
                    .await
                    .with_context(|| format!("creating bridge {}", bridge.name))?;
                info!(bridge = %bridge.name, adopted = existed, "bridge ready (linux)");
                linux.push(bridge.name.clone());
            }
            // Patch "bridges" are pairs of tc redirects set up as their two ports appear.
            BridgeMode::Patch => info!(bridge = %bridge.name, "bridge ready (patch)"),
            BridgeMode::Ovs => {
                let ovs = ovs.expect("Open vSwitch is started before ovs bridges are created");
                ovs.add_bridge(&bridge.name)?;
                info!(bridge = %bridge.name, userspace = ovs.userspace, "bridge ready (ovs)");
                ovs_bridges.push(bridge.name.clone());
            }
            BridgeMode::Auto => unreachable!("auto is resolved when the config is loaded"),
        }
    }
    Ok((linux, ovs_bridges))
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
    tokio::spawn(async move {
        let id = info.id.clone();
        handle_start(shared.clone(), engine, info).await;
        // Containers without links (or not running) finish here without a record.
        shared.tracker.lock().unwrap().clear_pending(&id);
        shared.check_all_connected();
    });
}

async fn handle_start(shared: Arc<Shared>, engine: EngineClient, c: ContainerInfo) {
    let facts = facts_of(&c);
    let planned = plan_container(&shared.cfg, &facts, &shared.scope);
    let commands: Vec<CommandLine> =
        commands_for(&shared.cfg, &facts, &shared.scope).into_iter().cloned().collect();
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
        remove_container_links(&shared, &old).await;
    }
    let ns = Netns::from_pid(pid).map_err(|source| LinkError::Namespace {
        container: c.name.clone(),
        pid,
        source,
    });
    let ok = connect_and_record(&shared, Some(c.engine), &c.id, &c.name, pid, ns, &planned).await;
    shared.check_all_connected();
    if ok {
        for command in commands {
            tokio::spawn(run_command(engine.clone(), c.id.clone(), c.name.clone(), command));
        }
    }
}

/// Builds the planned links in `ns` and records the outcome; true when all are up.
async fn connect_and_record(
    shared: &Shared,
    engine: Option<EngineKind>,
    id: &str,
    name: &str,
    pid: u32,
    ns: Result<Netns, LinkError>,
    planned: &[crate::plan::PlannedLink],
) -> bool {
    let _slot = shared.connect_slots.acquire().await.expect("the semaphore is never closed");
    let t0 = Instant::now();
    let result = match ns {
        Ok(ns) => {
            let owned_elsewhere = |outer: &str| {
                let t = shared.tracker.lock().unwrap();
                let owned = t
                    .containers()
                    .filter(|(other, _)| other.as_str() != id)
                    .any(|(_, r)| r.links.iter().any(|l| l.outer.as_deref() == Some(outer)));
                owned
            };
            let side = BridgeSide {
                nl: &shared.bridge_nl,
                bridge_index: &shared.bridge_index,
                host: shared.host_nl.as_ref(),
                ovs: shared.ovs.as_ref(),
                owned_elsewhere: &owned_elsewhere,
            };
            connect_container(&side, name, &ns, planned).await
        }
        Err(e) => Err(e),
    };
    let (state, created) = match result {
        Ok(created) => (LinkState::Connected, created),
        Err(e) => {
            error!("{e}");
            (LinkState::Failed(e.to_string()), Vec::new())
        }
    };
    let ok = state == LinkState::Connected;
    let record = ContainerRecord {
        name: name.to_string(),
        engine,
        pid,
        links: planned
            .iter()
            .map(|p| LinkRecord {
                link_index: p.link_index,
                dev: p.dev.clone(),
                outer: p.outer.clone().filter(|o| created.contains(&Created::Outer(o.clone()))),
                ip: p.ip.clone(),
                state: state.clone(),
                netem: None,
                admin_down: false,
            })
            .collect(),
        inner: created
            .iter()
            .filter_map(|c| match c {
                Created::Inner(dev) => Some(dev.clone()),
                Created::Outer(_) => None,
            })
            .collect(),
        forwards: if ok { forward_rules(planned) } else { Vec::new() },
    };
    if ok {
        for p in planned {
            info!(
                container = %name,
                dev = %p.dev,
                outer = p.outer.as_deref().unwrap_or("-"),
                bridge = p.bridge.as_deref().unwrap_or("-"),
                ip = %p.ip.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(","),
                "link up"
            );
        }
        debug!(container = %name, links = planned.len(), elapsed_us = t0.elapsed().as_micros() as u64, "container connected");
    }
    shared.tracker.lock().unwrap().set_container(id, record);
    if ok {
        let patch_bridges: Vec<String> = planned
            .iter()
            .filter(|p| p.bridge_mode == Some(BridgeMode::Patch))
            .filter_map(|p| p.bridge.clone())
            .collect();
        for bridge in patch_bridges {
            pair_patch(shared, &bridge).await;
        }
        if planned.iter().any(|p| !p.forward.is_empty()) {
            refresh_forwards(shared);
        }
    }
    ok
}

/// Joins the two ports of a patch bridge with tc redirects in both directions, so every
/// frame (STP, LLDP, LACP…) passes unchanged. Re-run whenever one side is recreated.
async fn pair_patch(shared: &Shared, bridge: &str) {
    let ends = { shared.tracker.lock().unwrap().outer_on_bridge(&shared.cfg, bridge) };
    if let [a, b] = ends.as_slice() {
        for (from, to) in [(a, b), (b, a)] {
            if let Err(e) = shared.bridge_nl.mirred_redirect(from, to).await {
                error!(bridge, "cannot patch {from} to {to}: {e}");
            }
        }
        info!(bridge, "patched {a} <-> {b}");
    }
}

/// Re-applies every port forward of the connected containers (one atomic nft table).
fn refresh_forwards(shared: &Shared) {
    let forwards: Vec<conlink_kernel::Forward> = {
        let tracker = shared.tracker.lock().unwrap();
        tracker.containers().flat_map(|(_, c)| c.forwards.iter().cloned()).collect()
    };
    apply_forward_list(shared, &forwards);
}

fn apply_forward_list(shared: &Shared, forwards: &[conlink_kernel::Forward]) {
    let Some(dev) = &shared.forward_dev else { return };
    if let Err(e) = apply_forwards(&shared.bridge_netns, dev, forwards) {
        error!("cannot set port forwards: {e}");
    }
}

/// The kernel's view of a planned link's forwards: to the link's first address of the right family.
fn forward_rules(planned: &[crate::plan::PlannedLink]) -> Vec<conlink_kernel::Forward> {
    planned
        .iter()
        .flat_map(|p| {
            // One rule per address family of the link: its first address of that family.
            let v4 = p.ip.iter().map(|n| n.addr()).find(|a| a.is_ipv4());
            let v6 = p.ip.iter().map(|n| n.addr()).find(|a| a.is_ipv6());
            p.forward.iter().flat_map(move |f| {
                [v4, v6].into_iter().flatten().map(move |to| conlink_kernel::Forward {
                    proto: match f.proto {
                        conlink_config::Proto::Tcp => conlink_kernel::Proto::Tcp,
                        conlink_config::Proto::Udp => conlink_kernel::Proto::Udp,
                    },
                    port: f.conlink_port,
                    to,
                    to_port: f.container_port,
                })
            })
        })
        .collect()
}

/// Deletes a container's links: outer veth ends in conlink's namespace, and the
/// interfaces that live only inside the container when it still exists.
async fn remove_container_links(shared: &Shared, old: &ContainerRecord) {
    let mut created: Vec<Created> =
        old.links.iter().filter_map(|l| l.outer.clone()).map(Created::Outer).collect();
    let inner = if old.inner.is_empty() {
        None
    } else {
        match Netns::from_pid(old.pid) {
            Ok(ns) => Nl::connect(&ns).await.ok(),
            Err(_) => None, // the container and its interfaces are gone
        }
    };
    created.extend(old.inner.iter().cloned().map(Created::Inner));
    rollback(&shared.bridge_nl, inner.as_ref(), &created).await;
    links::forget_ovs_ports(shared.ovs.as_ref(), &created);
}

async fn run_command(engine: EngineClient, id: String, name: String, command: CommandLine) {
    let argv = match command {
        CommandLine::Shell(s) => vec!["sh".to_string(), "-c".to_string(), s],
        CommandLine::Argv(v) => v,
    };
    info!(container = %name, command = ?argv, "running command");
    let prefix = name.clone();
    match engine.exec_with(&id, argv, move |line| info!("{prefix}: {line}")).await {
        Ok(out) => {
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
    // deleting what is left covers containers whose netns is still held open.
    remove_container_links(&shared, &old).await;
    if old.links.iter().any(|l| !shared.cfg.links[l.link_index].forward.is_empty()) {
        refresh_forwards(&shared);
    }
    info!(container = %old.name, links = old.links.len(), "container died, links removed");
}

async fn cleanup(
    shared: &Shared,
    bridges: &[String],
    tunnels: &[String],
    ns: &BridgeNamespace,
    running_nodes: Vec<nodes::RunningNode>,
) {
    let records: Vec<ContainerRecord> =
        { shared.tracker.lock().unwrap().containers().map(|(_, c)| c.clone()).collect() };
    info!(containers = records.len(), bridges = bridges.len(), "removing links and bridges");
    // Every outer veth end at once (each takes its container end with it)...
    if let Err(e) = shared.bridge_nl.delete_group(OUTER_GROUP).await {
        warn!("could not remove the outer links in one request: {e}");
    }
    // ...then what lives only inside containers, and OVS port records.
    for r in &records {
        remove_container_links(shared, r).await;
    }
    if shared.forward_dev.is_some() {
        apply_forward_list(shared, &[]);
    }
    for node in running_nodes {
        nodes::stop_node(node).await;
    }
    if let Some(ovs) = &shared.ovs {
        for b in &shared.ovs_bridges {
            if let Err(e) = ovs.del_bridge(b) {
                warn!(bridge = %b, "could not remove ovs bridge: {e}");
            }
        }
        if let Err(e) = ovs.stop() {
            warn!("could not stop Open vSwitch: {e}");
        }
    }
    remove_all(&shared.bridge_nl, bridges, tunnels, ns).await;
}

async fn remove_all(nl: &Nl, bridges: &[String], tunnels: &[String], ns: &BridgeNamespace) {
    for dev in tunnels.iter().chain(bridges) {
        if let Err(e) = nl.delete_link(dev).await {
            warn!(dev = %dev, "could not remove: {e}");
        }
    }
    if let Some(name) = &ns.created_name {
        if let Err(e) = Netns::delete_named(name) {
            warn!(netns = %name, "could not remove network namespace: {e}");
        }
    }
}
