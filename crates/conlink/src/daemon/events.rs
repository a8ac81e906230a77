//! Following the engines: the containers already running, then start/die events,
//! and a periodic resync that repairs missed events.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{bail, Context as _, Result};
use futures::StreamExt;
use tokio::signal::unix::Signal;
use tracing::{debug, error, info, warn};

use super::containers::{facts_of, handle_die, spawn_start};
use super::state::State;
use super::tracker::{ContainerRecord, LinkState};
use crate::engine::{ContainerInfo, Endpoint, Engine, EngineClient, EngineEvent, EngineKind};
use crate::plan::{plan_container, ProjectScope};

/// How often running containers are compared with what conlink built.
const RESYNC_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// Where the daemon looks for engines.
pub struct EngineSockets<'a> {
    pub docker: &'a Endpoint,
    pub podman: &'a Endpoint,
}

/// Connects to every engine that is there (a socket that exists, a tcp address
/// that answers). Without nodes (`required`) at least one must answer.
pub async fn connect_engines(sockets: &EngineSockets<'_>, required: bool) -> Result<Vec<Arc<dyn Engine>>> {
    let mut engines: Vec<Arc<dyn Engine>> = Vec::new();
    let mut errors = Vec::new();
    for (kind, endpoint) in [(EngineKind::Docker, sockets.docker), (EngineKind::Podman, sockets.podman)] {
        if let Endpoint::Unix(socket) = endpoint {
            if !socket.exists() {
                debug!(?kind, socket = %socket.display(), "no engine socket");
                continue;
            }
        }
        match EngineClient::connect_to(kind, endpoint).await {
            Ok(e) => {
                info!(engine = ?kind, socket = %endpoint, "listening for container events");
                engines.push(Arc::new(e));
            }
            Err(e) => errors.push(format!("{kind:?} at {endpoint}: {e}")),
        }
    }
    if engines.is_empty() && !required {
        info!("no container engine: running the network namespace nodes only");
    } else if engines.is_empty() {
        bail!(
            "no container engine reachable (tried docker at {} and podman at {}){}",
            sockets.docker,
            sockets.podman,
            if errors.is_empty() { String::new() } else { format!(": {}", errors.join("; ")) }
        );
    }
    Ok(engines)
}

/// The compose project service links match in: given, or that of conlink's own container.
pub async fn project_scope(
    given: Option<&str>,
    own_id: Option<&str>,
    engines: &[Arc<dyn Engine>],
) -> ProjectScope {
    if let Some(p) = given {
        return ProjectScope { project: Some(p.to_string()), working_dir: None };
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

enum EngineMsg {
    Event(EngineKind, EngineEvent),
    /// The engine's event stream was re-established after a break: resync.
    Reconnected(EngineKind),
}

/// Handles the running containers, then engine events, until SIGINT/SIGTERM.
pub async fn follow_engines(
    state: &Arc<State>,
    engines: &[Arc<dyn Engine>],
    sigint: &mut Signal,
    sigterm: &mut Signal,
) -> Result<()> {
    // Subscribe before listing so a container starting in between is not missed.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<EngineMsg>();
    for engine in engines {
        tokio::spawn(watch_engine(engine.clone(), tx.clone(), state.clone()));
    }
    drop(tx);
    {
        let state = state.clone();
        tokio::spawn(async move { state.known.learn_all().await });
    }
    for engine in engines {
        let running =
            engine.list_running().await.with_context(|| format!("listing {} containers", engine.kind()))?;
        info!(engine = %engine.kind(), count = running.len(), "handling containers already running");
        start_all(state, engine, running);
    }
    state.announce_if_ready();
    // Events can be missed (engine restarts, full buffers): a periodic resync repairs that.
    let mut resync_timer = tokio::time::interval(RESYNC_INTERVAL);
    resync_timer.tick().await;
    // Without engines (netns runtime only) there are no events: wait for a signal.
    let mut events_open = !engines.is_empty();
    let engine_of = |kind: EngineKind| {
        engines.iter().find(|e| e.kind() == kind).expect("event from a known engine").clone()
    };

    loop {
        tokio::select! {
            _ = sigint.recv() => { info!("got SIGINT"); return Ok(()); }
            _ = sigterm.recv() => { info!("got SIGTERM"); return Ok(()); }
            _ = resync_timer.tick(), if !engines.is_empty() => {
                for engine in engines {
                    tokio::spawn(resync(state.clone(), engine.clone()));
                }
            }
            msg = rx.recv(), if events_open => match msg {
                Some(EngineMsg::Event(kind, EngineEvent::Start { id })) => {
                    let engine = engine_of(kind);
                    let state = state.clone();
                    state.tracker().mark_pending(&id);
                    tokio::spawn(async move {
                        match engine.inspect(&id).await {
                            Ok(info) => spawn_start(state, engine, info),
                            Err(e) => {
                                warn!(container = %id, "cannot inspect started container: {e}");
                                state.tracker().clear_pending(&id);
                                state.announce_if_ready();
                            }
                        }
                    });
                }
                // Remembered by the watcher already (see there).
                Some(EngineMsg::Event(_, EngineEvent::Create { .. })) => {}
                Some(EngineMsg::Event(_, EngineEvent::Die { id })) => {
                    tokio::spawn(handle_die(state.clone(), id));
                }
                Some(EngineMsg::Reconnected(kind)) => {
                    tokio::spawn(resync(state.clone(), engine_of(kind)));
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

/// Follows one engine's events for ever, reconnecting (e.g. across a dockerd
/// restart) and asking for a resync after every reconnect.
async fn watch_engine(
    engine: Arc<dyn Engine>,
    tx: tokio::sync::mpsc::UnboundedSender<EngineMsg>,
    state: Arc<State>,
) {
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
        let mut events = engine.events();
        if !first {
            info!(engine = %kind, "event stream reconnected, resyncing");
            if tx.send(EngineMsg::Reconnected(kind)).is_err() {
                return;
            }
        }
        first = false;
        while let Some(item) = events.next().await {
            match item {
                // Remembered here, not in the event loop: a before-start request may be
                // waiting for it while the loop still waits for the initial listing
                // (which Podman holds back while it starts that very container).
                Ok(EngineEvent::Create { id, name, labels }) => {
                    state.known.remember(&ContainerInfo {
                        id,
                        name,
                        pid: None,
                        running: false,
                        labels,
                        engine: kind,
                    });
                }
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
fn start_all(state: &Arc<State>, engine: &Arc<dyn Engine>, containers: Vec<ContainerInfo>) {
    // Mark all before spawning any: one replica finishing must not look like "all connected".
    {
        let mut t = state.tracker();
        for c in &containers {
            t.mark_pending(&c.id);
        }
    }
    for c in containers {
        spawn_start(state.clone(), engine.clone(), c);
    }
}

/// What a resync must repair: running containers that are new, restarted (another PID)
/// or have a failed link (`stale`, to connect), and tracked ones no longer running
/// (`gone`, to disconnect). Only records of `engine` are compared.
pub fn compare<'a>(
    engine: EngineKind,
    running: &[ContainerInfo],
    tracked: impl Iterator<Item = (&'a String, &'a ContainerRecord)>,
) -> (Vec<ContainerInfo>, Vec<String>) {
    let tracked: HashMap<&String, &ContainerRecord> = tracked.filter(|(_, r)| r.engine == engine).collect();
    let stale = running
        .iter()
        .filter(|c| match tracked.get(&c.id) {
            Some(r) => Some(r.pid) != c.pid || r.links.iter().any(|l| l.state != LinkState::Connected),
            None => true,
        })
        .cloned()
        .collect();
    let mut gone: Vec<String> =
        tracked.keys().filter(|id| !running.iter().any(|c| &&c.id == *id)).map(|id| id.to_string()).collect();
    gone.sort();
    (stale, gone)
}

/// Compares the engine's running containers with what conlink tracks: connects
/// new or restarted ones, removes links of the ones that are gone.
async fn resync(state: Arc<State>, engine: Arc<dyn Engine>) {
    let running = match engine.list_running().await {
        Ok(r) => r,
        Err(e) => {
            warn!(engine = %engine.kind(), "resync: cannot list containers: {e}");
            return;
        }
    };
    let (stale, gone) = compare(engine.kind(), &running, state.tracker().containers());
    // Containers without links are never tracked; planning skips them cheaply.
    let stale: Vec<ContainerInfo> = stale
        .into_iter()
        .filter(|c| plan_container(&state.cfg, &facts_of(c), &state.scope).map_or(true, |p| !p.is_empty()))
        .collect();
    if !stale.is_empty() || !gone.is_empty() {
        info!(engine = %engine.kind(), reconnect = stale.len(), remove = gone.len(), "resync repairs missed events");
    }
    for id in gone {
        tokio::spawn(handle_die(state.clone(), id));
    }
    start_all(&state, &engine, stale);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::tracker::LinkRecord;

    fn running(id: &str, pid: u32, engine: EngineKind) -> ContainerInfo {
        ContainerInfo {
            id: id.into(),
            name: format!("n-{id}"),
            pid: Some(pid),
            running: true,
            labels: Default::default(),
            engine,
        }
    }

    fn record(pid: u32, engine: EngineKind, state: LinkState) -> ContainerRecord {
        ContainerRecord {
            name: "c".into(),
            engine,
            pid,
            netns: None,
            links: vec![LinkRecord {
                link_index: 0,
                dev: "eth0".into(),
                outer: Some("o".into()),
                ip: vec![],
                state,
                netem: None,
                admin_down: false,
            }],
            inner: vec![],
            forwards: vec![],
        }
    }

    fn ids(v: &[ContainerInfo]) -> Vec<&str> {
        v.iter().map(|c| c.id.as_str()).collect()
    }

    #[test]
    fn new_restarted_and_failed_are_stale_connected_ones_are_not() {
        let tracked: HashMap<String, ContainerRecord> = [
            ("same".to_string(), record(10, EngineKind::Docker, LinkState::Connected)),
            ("restarted".to_string(), record(11, EngineKind::Docker, LinkState::Connected)),
            ("failed".to_string(), record(12, EngineKind::Docker, LinkState::Failed("x".into()))),
        ]
        .into();
        let now = [
            running("same", 10, EngineKind::Docker),
            running("restarted", 99, EngineKind::Docker),
            running("failed", 12, EngineKind::Docker),
            running("new", 13, EngineKind::Docker),
        ];
        let (stale, gone) = compare(EngineKind::Docker, &now, tracked.iter());
        assert_eq!(ids(&stale), ["restarted", "failed", "new"]);
        assert!(gone.is_empty());
    }

    #[test]
    fn tracked_but_not_running_is_gone_only_for_the_same_engine() {
        let tracked: HashMap<String, ContainerRecord> = [
            ("d1".to_string(), record(10, EngineKind::Docker, LinkState::Connected)),
            ("d2".to_string(), record(11, EngineKind::Docker, LinkState::Connected)),
            ("p1".to_string(), record(12, EngineKind::Podman, LinkState::Connected)),
            ("node:a".to_string(), record(0, EngineKind::Netns, LinkState::Connected)),
        ]
        .into();
        let (stale, gone) =
            compare(EngineKind::Docker, &[running("d2", 11, EngineKind::Docker)], tracked.iter());
        assert!(stale.is_empty());
        assert_eq!(gone, ["d1"], "podman containers and nodes are not docker's to remove");
        let (stale, gone) = compare(EngineKind::Podman, &[], tracked.iter());
        assert!(stale.is_empty());
        assert_eq!(gone, ["p1"]);
    }

    #[test]
    fn nothing_running_nothing_tracked_is_nothing_to_do() {
        let tracked: HashMap<String, ContainerRecord> = HashMap::new();
        let (stale, gone) = compare(EngineKind::Docker, &[], tracked.iter());
        assert!(stale.is_empty() && gone.is_empty());
    }
}
