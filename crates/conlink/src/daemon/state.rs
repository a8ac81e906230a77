//! What every part of the daemon shares while it runs, and readiness: the one place
//! that decides and announces "All links connected".

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use conlink_config::{InactiveService, NetworkConfig, Target};
use conlink_kernel::Nl;
use tracing::info;

use super::control_server::ControlBackend;
use super::infra::Infrastructure;
use super::prestart::KnownContainers;
use super::tracker::{Tracker, Waiting};
use crate::plan::ProjectScope;

/// How many containers are connected at once: the kernel serialises the work anyway,
/// and each connection holds a netlink socket and buffers.
const CONNECT_SLOTS: usize = 8;

/// How often a start-up that is not complete says what it still waits for.
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(5);

/// Most reasons one progress line names before "and N more".
const PROGRESS_SHOWN: usize = 10;

/// The compose profiles of the project conlink serves.
#[derive(Debug, Clone, Default)]
pub struct Profiles {
    /// Active profiles (`--profile`, else COMPOSE_PROFILES).
    pub active: Vec<String>,
    /// Services whose profiles are all inactive.
    pub inactive: BTreeMap<String, InactiveService>,
}

pub struct State {
    pub cfg: Arc<NetworkConfig>,
    pub scope: ProjectScope,
    /// conlink's namespace, bridges, tunnels, OVS, host namespace and port forwarding.
    pub infra: Infrastructure,
    /// Names and labels of containers seen, for before-start requests.
    pub known: KnownContainers,
    tracker: Mutex<Tracker>,
    /// Bounds how many containers are connected at once.
    pub connect_slots: tokio::sync::Semaphore,
    /// Serialises work on one container: a die that overtakes its own start must wait.
    container_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    started: Instant,
}

impl State {
    pub fn new(
        cfg: Arc<NetworkConfig>,
        scope: ProjectScope,
        infra: Infrastructure,
        known: KnownContainers,
        started: Instant,
        profiles: &Profiles,
    ) -> State {
        let skip = not_awaited(&cfg, &profiles.inactive);
        State {
            cfg,
            scope,
            infra,
            known,
            tracker: Mutex::new(Tracker::not_awaiting(skip)),
            connect_slots: tokio::sync::Semaphore::new(CONNECT_SLOTS),
            container_locks: Mutex::new(HashMap::new()),
            started,
        }
    }

    /// The tracker; hold the guard briefly (never across an await).
    pub fn tracker(&self) -> MutexGuard<'_, Tracker> {
        self.tracker.lock().unwrap()
    }

    pub fn lock_for(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.container_locks.lock().unwrap();
        // Containers come and go (churn, scaling): drop locks nobody holds any more.
        if locks.len() > 256 {
            locks.retain(|_, l| Arc::strong_count(l) > 1);
        }
        locks.entry(id.to_string()).or_default().clone()
    }

    /// Logs "All links connected" the first time the tracker says everything is up.
    /// Called after every change that can complete the topology.
    pub fn announce_if_ready(&self) {
        let mut t = self.tracker();
        if t.announce_if_connected(&self.cfg) {
            info!(elapsed_ms = self.started.elapsed().as_millis() as u64, "All links connected");
        }
    }
}

/// Logs what the topology still waits for every [`PROGRESS_INTERVAL`] until
/// "All links connected" has been said, so a stuck start-up explains itself.
pub async fn report_progress(state: Arc<State>) {
    let mut timer = tokio::time::interval(PROGRESS_INTERVAL);
    timer.tick().await;
    loop {
        timer.tick().await;
        let waiting = {
            let t = state.tracker();
            if t.announced() {
                return;
            }
            t.waiting_for(&state.cfg)
        };
        if !waiting.is_empty() {
            let secs = state.started.elapsed().as_secs();
            info!("still waiting after {secs} s for: {}", progress_line(&waiting));
        }
    }
}

/// The reasons, `; `-separated, at most [`PROGRESS_SHOWN`] of them.
pub fn progress_line(waiting: &[Waiting]) -> String {
    let mut parts: Vec<String> = waiting.iter().take(PROGRESS_SHOWN).map(|w| w.to_string()).collect();
    if waiting.len() > PROGRESS_SHOWN {
        parts.push(format!("and {} more", waiting.len() - PROGRESS_SHOWN));
    }
    parts.join("; ")
}

/// Indexes of the links of inactive services: by service, or by the
/// `container_name` of an inactive service.
pub fn not_awaited(cfg: &NetworkConfig, inactive: &BTreeMap<String, InactiveService>) -> BTreeSet<usize> {
    let by_name = |c: &str| inactive.values().any(|s| s.container_name.as_deref() == Some(c));
    cfg.links
        .iter()
        .enumerate()
        .filter(|(_, l)| match &l.target {
            Target::Service(s) => inactive.contains_key(s),
            Target::Container(c) => by_name(c),
        })
        .map(|(i, _)| i)
        .collect()
}

/// The start-up line naming the services conlink will not wait for, if any has links.
pub fn inactive_line(cfg: &NetworkConfig, profiles: &Profiles) -> Option<String> {
    let skipped = not_awaited(cfg, &profiles.inactive);
    let services: Vec<String> = profiles
        .inactive
        .iter()
        .filter(|(name, s)| {
            skipped.iter().any(|&i| match &cfg.links[i].target {
                Target::Service(t) => t == *name,
                Target::Container(c) => s.container_name.as_deref() == Some(c.as_str()),
            })
        })
        .map(|(name, s)| format!("{name} (profiles: {})", s.profiles.join(", ")))
        .collect();
    if services.is_empty() {
        return None;
    }
    let active = if profiles.active.is_empty() { "none".to_string() } else { profiles.active.join(", ") };
    Some(format!(
        "not waiting for services whose profiles are not active: {}; active profiles: {active} (COMPOSE_PROFILES or --profile)",
        services.join(", ")
    ))
}

impl ControlBackend for State {
    fn config(&self) -> &NetworkConfig {
        &self.cfg
    }

    fn tracker(&self) -> MutexGuard<'_, Tracker> {
        State::tracker(self)
    }

    fn bridge_nl(&self) -> &Nl {
        &self.infra.nl
    }

    fn prestart(
        &self,
        id: String,
        pid: u32,
        hint: Option<crate::prestart::hint::Hint>,
    ) -> futures::future::BoxFuture<'_, crate::control::Reply> {
        Box::pin(super::prestart::answer(self, id, pid, hint))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conlink_config::Link;

    fn link(target: Target) -> Link {
        Link::veth(target, "eth0", "s1")
    }

    fn profiles(inactive: &[(&str, &[&str], Option<&str>)], active: &[&str]) -> Profiles {
        Profiles {
            active: active.iter().map(|s| s.to_string()).collect(),
            inactive: inactive
                .iter()
                .map(|(n, p, c)| {
                    let s = InactiveService {
                        profiles: p.iter().map(|s| s.to_string()).collect(),
                        container_name: c.map(str::to_string),
                    };
                    (n.to_string(), s)
                })
                .collect(),
        }
    }

    #[test]
    fn links_of_inactive_services_by_service_or_container_name() {
        let cfg = NetworkConfig {
            links: vec![
                link(Target::Service("h1".into())),
                link(Target::Service("dbg".into())),
                link(Target::Container("mon-box".into())),
                link(Target::Container("other".into())),
            ],
            ..Default::default()
        };
        let p = profiles(
            &[
                ("dbg", &["debug"], None),
                ("mon", &["ops", "monitoring"], Some("mon-box")),
                ("idle", &["x"], None),
            ],
            &[],
        );
        assert_eq!(not_awaited(&cfg, &p.inactive), BTreeSet::from([1, 2]));
        let line = inactive_line(&cfg, &p).unwrap();
        assert_eq!(
            line,
            "not waiting for services whose profiles are not active: dbg (profiles: debug), mon (profiles: ops, monitoring); \
             active profiles: none (COMPOSE_PROFILES or --profile)"
        );
        let p = profiles(&[("idle", &["x"], None)], &["prod"]);
        assert_eq!(inactive_line(&cfg, &p), None, "a service without links is not worth a line");
    }

    #[test]
    fn progress_lines_are_bounded() {
        let many: Vec<Waiting> =
            (0..25).map(|i| Waiting::Connecting { container: format!("c{i}") }).collect();
        let line = progress_line(&many);
        assert!(line.starts_with("container c0: links still being created; container c1:"), "{line}");
        assert!(line.ends_with("; and 15 more"), "{line}");
        assert_eq!(progress_line(&many[..1]), "container c0: links still being created");
    }
}
