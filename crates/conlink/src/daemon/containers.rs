//! Per-container work: connect a started container's links and record the outcome,
//! disconnect a dead one, run its commands.

use std::sync::Arc;
use std::time::Instant;

use conlink_config::{BridgeMode, CommandLine};
use conlink_kernel::{Netns, Nl};
use tracing::{debug, error, info, warn};

use super::forwarding::{clashing_forward, forward_rules};
use super::links::{
    connect_container, forget_ovs_ports, rollback, BridgeSide, Created, LinkError, OUTER_GROUP,
};
use super::state::State;
use super::tracker::{ContainerRecord, LinkRecord, LinkState};
use crate::engine::{ContainerInfo, Engine, EngineKind};
use crate::plan::{commands_for, plan_container, ContainerFacts, PlannedLink};

pub fn facts_of(c: &ContainerInfo) -> ContainerFacts {
    ContainerFacts {
        id: c.id.clone(),
        name: c.name.clone(),
        compose_project: c.compose_project().map(str::to_string),
        compose_working_dir: c.compose_working_dir().map(str::to_string),
        compose_service: c.compose_service().map(str::to_string),
        compose_index: c.compose_index(),
    }
}

/// Connects a started container in the background; it stops counting as pending when done.
pub fn spawn_start(state: Arc<State>, engine: Arc<dyn Engine>, info: ContainerInfo) {
    state.known.remember(&info);
    state.tracker().name_pending(&info.id, &info.name);
    tokio::spawn(async move {
        let id = info.id.clone();
        handle_start(state.clone(), engine, info).await;
        // Containers without links (or not running) finish here without a record.
        state.tracker().clear_pending(&id);
        state.announce_if_ready();
    });
}

async fn handle_start(state: Arc<State>, engine: Arc<dyn Engine>, c: ContainerInfo) {
    let facts = facts_of(&c);
    let planned = match plan_container(&state.cfg, &facts, &state.scope) {
        Ok(p) => p,
        Err(e) => {
            // A replica beyond what the config could check (e.g. `--scale`) whose increments wrap.
            error!(container = %c.name, "cannot connect: {e}");
            return;
        }
    };
    let commands: Vec<CommandLine> =
        commands_for(&state.cfg, &facts, &state.scope).into_iter().cloned().collect();
    if planned.is_empty() && commands.is_empty() {
        debug!(container = %c.name, "no links for container");
        return;
    }
    let Some(pid) = c.pid.filter(|p| *p > 0) else {
        debug!(container = %c.name, "container not running, nothing to do");
        return;
    };
    let lock = state.lock_for(&c.id);
    let _guard = lock.lock().await;
    if built_before_start(&state, &c.id, pid) {
        debug!(container = %c.name, "links were built before start");
    } else if !connect_started(&state, &engine, &c, pid, &planned).await {
        return;
    }
    for command in commands {
        tokio::spawn(run_command(engine.clone(), c.id.clone(), c.name.clone(), command));
    }
}

/// True when conlink-runc had this very incarnation (same PID) connected before it started.
fn built_before_start(state: &State, id: &str, pid: u32) -> bool {
    state
        .tracker()
        .containers()
        .any(|(i, r)| i == id && r.pid == pid && r.links.iter().all(|l| l.state == LinkState::Connected))
}

/// Connects a running container (or one conlink-runc holds before its start); true
/// when all its links are up.
pub(super) async fn connect_started(
    state: &State,
    engine: &Arc<dyn Engine>,
    c: &ContainerInfo,
    pid: u32,
    planned: &[PlannedLink],
) -> bool {
    // A restarted container arrives here again: drop what the previous incarnation had.
    let previous = state.tracker().remove_container(&c.id);
    if let Some(old) = previous {
        remove_container_links(state, &old).await;
    }
    let taken = state.tracker().forwards();
    if let Some(f) = clashing_forward(&forward_rules(planned), &taken) {
        error!(container = %c.name, "cannot connect: conlink port {}/{:?} is already forwarded to another container", f.port, f.proto);
        return false;
    }
    let ns =
        engine.namespace(c).map_err(|source| LinkError::Namespace { container: c.name.clone(), pid, source });
    // Kept for the engine's hooks: the record takes `ns`, and a PID is not reopened.
    let hook_ns = ns.as_ref().ok().and_then(|n| n.try_clone().ok());
    if let Some(ns) = &hook_ns {
        engine.prepare_namespace(c, ns).await;
    }
    let ok = connect_and_record(state, c.engine, &c.id, &c.name, pid, ns, planned).await;
    state.announce_if_ready();
    if ok {
        if let Some(ns) = &hook_ns {
            engine.links_up(c, ns).await;
        }
    }
    ok
}

/// Builds the planned links in `ns` and records the outcome; true when all are up.
pub async fn connect_and_record(
    state: &State,
    engine: EngineKind,
    id: &str,
    name: &str,
    pid: u32,
    ns: Result<Netns, LinkError>,
    planned: &[PlannedLink],
) -> bool {
    let _slot = state.connect_slots.acquire().await.expect("the semaphore is never closed");
    let t0 = Instant::now();
    let mut kept = None;
    let result = match ns {
        Ok(ns) => {
            let owned_elsewhere = |outer: &str| state.tracker().outer_owned_by_other(id, outer);
            let side = BridgeSide {
                nl: &state.infra.nl,
                linux_bridges: &state.infra.linux_bridges,
                host: state.infra.host_nl.as_ref(),
                ovs: state.infra.ovs.as_ref(),
                owned_elsewhere: &owned_elsewhere,
            };
            let r = connect_container(&side, name, &ns, planned).await;
            kept = Some(Arc::new(ns));
            r
        }
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        error!("{e}");
    }
    let record = record_of(name, engine, pid, kept, planned, &result);
    let ok = result.is_ok();
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
    state.tracker().set_container(id, record);
    if ok {
        let patch_bridges: Vec<String> = planned
            .iter()
            .filter(|p| p.bridge_mode == Some(BridgeMode::Patch))
            .filter_map(|p| p.bridge.clone())
            .collect();
        for bridge in patch_bridges {
            pair_patch(state, &bridge).await;
        }
        if planned.iter().any(|p| !p.forward.is_empty()) {
            refresh_forwards(state);
        }
    }
    ok
}

/// What the tracker keeps of a connect attempt: every planned link with the outcome,
/// the outer ends and inner interfaces that exist, and the forwards when connected.
pub fn record_of(
    name: &str,
    engine: EngineKind,
    pid: u32,
    netns: Option<Arc<Netns>>,
    planned: &[PlannedLink],
    outcome: &Result<Vec<Created>, LinkError>,
) -> ContainerRecord {
    let (state, created) = match outcome {
        Ok(created) => (LinkState::Connected, created.as_slice()),
        Err(e) => (LinkState::Failed(e.to_string()), &[][..]),
    };
    ContainerRecord {
        name: name.to_string(),
        engine,
        pid,
        // A failed connect left nothing in the container to reach again.
        netns: netns.filter(|_| outcome.is_ok()),
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
        forwards: if outcome.is_ok() { forward_rules(planned) } else { Vec::new() },
    }
}

/// Joins the two ports of a patch bridge with tc redirects in both directions, so every
/// frame (STP, LLDP, LACP…) passes unchanged. Re-run whenever one side is recreated.
async fn pair_patch(state: &State, bridge: &str) {
    let ends = { state.tracker().outer_on_bridge(&state.cfg, bridge) };
    if let [a, b] = ends.as_slice() {
        for (from, to) in [(a, b), (b, a)] {
            if let Err(e) = state.infra.nl.mirred_redirect(from, to).await {
                error!(bridge, "cannot patch {from} to {to}: {e}");
            }
        }
        info!(bridge, "patched {a} <-> {b}");
    }
}

/// Re-applies every port forward of the connected containers (one atomic nft table).
fn refresh_forwards(state: &State) {
    state.infra.forwarding.refresh(|| state.tracker().forwards());
}

/// Deletes a container's links: outer veth ends in conlink's namespace, and the
/// interfaces that live only inside the container when it still exists.
pub(super) async fn remove_container_links(state: &State, old: &ContainerRecord) {
    let mut created: Vec<Created> =
        old.links.iter().filter_map(|l| l.outer.clone()).map(Created::Outer).collect();
    // The handle kept at connect: a PID may name another process's namespace by now.
    let inner = match (&old.netns, old.inner.is_empty()) {
        (Some(ns), false) => Nl::connect(ns).await.ok(),
        _ => None,
    };
    created.extend(old.inner.iter().cloned().map(Created::Inner));
    rollback(&state.infra.nl, inner.as_ref(), &created).await;
    forget_ovs_ports(state.infra.ovs.as_ref(), &created);
}

async fn run_command(engine: Arc<dyn Engine>, id: String, name: String, command: CommandLine) {
    let argv = command.argv();
    info!(container = %name, command = ?argv, "running command");
    let prefix = name.clone();
    match engine.exec(&id, argv, Box::new(move |line| info!("{prefix}: {line}"))).await {
        Ok(out) => {
            if out.exit_code.unwrap_or(0) != 0 {
                warn!(container = %name, exit_code = ?out.exit_code, "command failed");
            }
        }
        Err(e) => error!(container = %name, "command could not run: {e}"),
    }
}

/// Removes a dead container's links and its forwards.
pub async fn handle_die(state: Arc<State>, id: String) {
    let lock = state.lock_for(&id);
    let _guard = lock.lock().await;
    // The die of an earlier incarnation can arrive after conlink-runc connected the next
    // one (a restart): the links of a process that still runs stay.
    let stale = state.tracker().containers().any(|(i, r)| *i == id && super::prestart::process_alive(r.pid));
    if stale {
        debug!(container = %id, "die of an earlier incarnation: links kept");
        return;
    }
    let removed = state.tracker().remove_container(&id);
    let Some(old) = removed else { return };
    // The container's namespace is usually gone already, taking the veth pairs with it;
    // deleting what is left covers containers whose netns is still held open.
    remove_container_links(&state, &old).await;
    if old.links.iter().any(|l| !state.cfg.links[l.link_index].forward.is_empty()) {
        refresh_forwards(&state);
    }
    info!(container = %old.name, links = old.links.len(), "container died, links removed");
}

/// On exit: every container's links, and the forwards to them.
pub async fn disconnect_all(state: &State) {
    let records: Vec<ContainerRecord> = state.tracker().containers().map(|(_, c)| c.clone()).collect();
    info!(containers = records.len(), bridges = state.infra.bridge_count(), "removing links and bridges");
    // Every outer veth end at once (each takes its container end with it)...
    let outer_gone = match state.infra.nl.delete_group(OUTER_GROUP).await {
        Ok(_) => true,
        Err(e) => {
            warn!("could not remove the outer links in one request: {e}");
            false
        }
    };
    // ...then what lives only inside containers, and OVS port records (not the outer
    // ends one by one again: with 2000 links that was 2000 more requests, ~0.3 s).
    for r in &records {
        if outer_gone {
            let inner_only = ContainerRecord { links: Vec::new(), ..r.clone() };
            remove_container_links(state, &inner_only).await;
            let outers: Vec<Created> =
                r.links.iter().filter_map(|l| l.outer.clone()).map(Created::Outer).collect();
            forget_ovs_ports(state.infra.ovs.as_ref(), &outers);
        } else {
            remove_container_links(state, r).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conlink_config::LinkType;

    fn planned(dev: &str, outer: Option<&str>, forward: bool) -> PlannedLink {
        PlannedLink {
            link_index: 0,
            link_type: LinkType::Veth,
            dev: dev.into(),
            outer: outer.map(str::to_string),
            bridge: Some("s1".into()),
            bridge_mode: Some(BridgeMode::Linux),
            ip: vec!["192.0.2.2/24".parse().unwrap()],
            mac: None,
            mtu: None,
            route: vec![],
            nat: None,
            netem: None,
            child: None,
            forward: if forward {
                vec![conlink_config::Forward {
                    proto: conlink_config::Proto::Tcp,
                    conlink_port: 8080,
                    container_port: 80,
                }]
            } else {
                vec![]
            },
            ethtool: vec![],
        }
    }

    #[test]
    fn a_connected_record_keeps_what_was_created_and_the_forwards() {
        let plan = [planned("eth0", Some("h1-eth0"), true), planned("d0", None, false)];
        let created = vec![Created::Outer("h1-eth0".into()), Created::Inner("d0".into())];
        let ns = Arc::new(Netns::current().unwrap());
        let r = record_of("h1", EngineKind::Docker, 42, Some(ns.clone()), &plan, &Ok(created));
        assert_eq!((r.name.as_str(), r.engine, r.pid), ("h1", EngineKind::Docker, 42));
        assert_eq!(r.netns.as_deref(), Some(&*ns), "the namespace handle is kept for later changes");
        assert!(r.links.iter().all(|l| l.state == LinkState::Connected));
        assert_eq!(r.links[0].outer.as_deref(), Some("h1-eth0"));
        assert_eq!(r.links[1].outer, None);
        assert_eq!(r.inner, ["d0"]);
        assert_eq!(r.forwards.len(), 1);
        assert_eq!(r.forwards[0].to.to_string(), "192.0.2.2");
    }

    #[test]
    fn a_failed_record_names_the_error_on_every_link_and_owns_nothing() {
        let plan = [planned("eth0", Some("h1-eth0"), true), planned("eth1", Some("h1-eth1"), false)];
        let err = LinkError::Unusable {
            container: "h1".into(),
            link_index: 0,
            dev: "eth0".into(),
            what: "bridge s1 does not exist".into(),
        };
        let ns = Arc::new(Netns::current().unwrap());
        let r = record_of("h1", EngineKind::Podman, 7, Some(ns), &plan, &Err(err));
        assert!(r.netns.is_none(), "a failed connect keeps no namespace alive");
        for l in &r.links {
            match &l.state {
                LinkState::Failed(e) => assert!(e.contains("/links/0") && e.contains("bridge s1"), "{e}"),
                LinkState::Connected => panic!("a failed connect recorded as connected"),
            }
            assert_eq!(l.outer, None, "rolled-back outer ends are not the record's to delete");
        }
        assert!(r.inner.is_empty() && r.forwards.is_empty());
    }

    #[test]
    fn shell_commands_run_under_sh_and_argv_as_given() {
        assert_eq!(CommandLine::Shell("echo hi".into()).argv(), ["sh", "-c", "echo hi"]);
        assert_eq!(CommandLine::Argv(vec!["ping".into(), "-c1".into()]).argv(), ["ping", "-c1"]);
    }
}
