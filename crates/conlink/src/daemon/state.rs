//! What every part of the daemon shares while it runs, and readiness: the one place
//! that decides and announces "All links connected".

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use conlink_config::NetworkConfig;
use conlink_kernel::Nl;
use tracing::info;

use super::control_server::ControlBackend;
use super::infra::Infrastructure;
use super::prestart::KnownContainers;
use super::tracker::Tracker;
use crate::plan::ProjectScope;

/// How many containers are connected at once: the kernel serialises the work anyway,
/// and each connection holds a netlink socket and buffers.
const CONNECT_SLOTS: usize = 8;

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
    ) -> State {
        State {
            cfg,
            scope,
            infra,
            known,
            tracker: Mutex::new(Tracker::default()),
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
