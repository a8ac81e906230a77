//! Before-start links, the daemon's side. `conlink-runc` asks between the runtime's
//! `create` and `start`, while the container's process waits: its links are built
//! exactly as a started container's are, so they all exist when its command begins.
//!
//! The engine is busy starting that container when the request comes: Docker still
//! answers its container list (not inspect), Podman answers neither until the start
//! ends. So names and labels come from what the daemon has already seen (lists,
//! create events), or from Docker's list.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::{debug, info};

use super::containers::{connect_started, facts_of};
use super::state::State;
use super::tracker::LinkState;
use crate::control::Reply;
use crate::engine::{ContainerInfo, Engine};
use crate::plan::plan_container;
use crate::prestart::hint::Hint;

/// How long a request waits for an engine to report a container it did not know
/// (its create event may trail the runtime call by a few milliseconds).
const LOOKUP_WAIT: Duration = Duration::from_secs(3);
/// One list call while the engine is starting the container.
const LIST_TIMEOUT: Duration = Duration::from_secs(1);
/// How long an engine that cannot be asked gets to report the container itself
/// before conlink-runc's hint (from the engine's files) is used instead.
const HINT_AFTER: Duration = Duration::from_millis(500);

/// Containers' names and labels as the engines reported them, running or not.
pub struct KnownContainers {
    engines: Vec<Arc<dyn Engine>>,
    known: Mutex<HashMap<String, ContainerInfo>>,
}

impl KnownContainers {
    pub fn new(engines: Vec<Arc<dyn Engine>>) -> KnownContainers {
        KnownContainers { engines, known: Mutex::new(HashMap::new()) }
    }

    pub fn remember(&self, c: &ContainerInfo) {
        let mut known = self.known.lock().unwrap();
        let entry = ContainerInfo { pid: None, running: false, ..c.clone() };
        known.insert(c.id.clone(), entry);
    }

    /// Seeds the cache with every container the engines list (a container created
    /// before conlink started may be started later, when Podman cannot be asked).
    pub async fn learn_all(&self) {
        for engine in &self.engines {
            if let Some(list) = engine.list_all(None, false) {
                match list.await {
                    Ok(all) => all.iter().for_each(|c| self.remember(c)),
                    Err(e) => debug!(engine = %engine.kind(), "cannot list all containers: {e}"),
                }
            }
        }
    }

    /// This daemon's engine of `kind`.
    fn engine(&self, kind: crate::engine::EngineKind) -> Option<Arc<dyn Engine>> {
        self.engines.iter().find(|e| e.kind() == kind).cloned()
    }

    /// The container as the hint describes it, when this daemon has an engine of its kind.
    fn described_by(&self, id: &str, hint: &Hint) -> Option<ContainerInfo> {
        let engine = self.engines.iter().find(|e| e.kind().to_string() == hint.engine)?.kind();
        Some(ContainerInfo {
            id: id.to_string(),
            name: hint.name.clone(),
            pid: None,
            running: false,
            labels: hint.labels.clone(),
            engine,
        })
    }

    fn get(&self, id: &str) -> Option<ContainerInfo> {
        self.known.lock().unwrap().get(id).cloned()
    }

    /// Name and labels of container `id`; Err(why) when no engine of this daemon has it.
    /// `hint` is used only when no engine could say (busy or restarting).
    async fn lookup(&self, id: &str, hint: Option<&Hint>) -> Result<ContainerInfo, String> {
        let started = Instant::now();
        let deadline = started + LOOKUP_WAIT;
        loop {
            if let Some(c) = self.get(id) {
                return Ok(c);
            }
            // An engine that could not say (busy, restarting) may still report it.
            let mut may_come = false;
            for engine in &self.engines {
                let Some(list) = engine.list_all(Some(id), true) else {
                    may_come = true;
                    continue;
                };
                match tokio::time::timeout(LIST_TIMEOUT, list).await {
                    Ok(Ok(found)) => {
                        if let Some(c) = found.into_iter().find(|c| c.id == id) {
                            self.remember(&c);
                            return Ok(c);
                        }
                    }
                    Ok(Err(_)) | Err(_) => may_come = true,
                }
            }
            if !may_come {
                return Err(format!("no engine of this conlink knows container {id}"));
            }
            if let Some(c) =
                hint.filter(|_| started.elapsed() >= HINT_AFTER).and_then(|h| self.described_by(id, h))
            {
                debug!(container = %c.name, "named by conlink-runc's hint (the engine could not be asked)");
                return Ok(c);
            }
            if Instant::now() >= deadline {
                return Err(format!("no engine of this conlink knows container {id}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Builds the links of container `id`, whose process `pid` waits for `start`.
pub async fn answer(state: &State, id: String, pid: u32, hint: Option<Hint>) -> Reply {
    let t0 = Instant::now();
    let c = match state.known.lookup(&id, hint.as_ref()).await {
        Ok(c) => ContainerInfo { pid: Some(pid), running: true, ..c },
        Err(reason) => return Reply::NotMine { reason },
    };
    let planned = match plan_container(&state.cfg, &facts_of(&c), &state.scope) {
        Ok(p) => p,
        Err(e) => return Reply::Error { message: format!("cannot connect {}: {e}", c.name) },
    };
    if planned.is_empty() {
        return Reply::NotMine { reason: format!("no links for container {}", c.name) };
    }
    let Some(engine) = state.known.engine(c.engine) else {
        return Reply::NotMine { reason: format!("no {} engine here", c.engine) };
    };
    state.tracker().mark_pending(&id);
    let lock = state.lock_for(&id);
    let _guard = lock.lock().await;
    // The same steps as for a started container (a restart's old links go first).
    let ok = connect_started(state, &engine, &c, pid, &planned).await;
    state.tracker().clear_pending(&id);
    state.announce_if_ready();
    if ok {
        info!(container = %c.name, links = planned.len(), elapsed_us = t0.elapsed().as_micros() as u64, "links built before start");
        return Reply::Claimed { container: c.name, links: planned.len() };
    }
    let failure = state.tracker().containers().find(|(i, _)| **i == id).and_then(|(_, r)| {
        r.links.iter().find_map(|l| match &l.state {
            LinkState::Failed(e) => Some(e.clone()),
            LinkState::Connected => None,
        })
    });
    Reply::Error {
        message: failure.unwrap_or_else(|| format!("links of {} failed (see conlink's log)", c.name)),
    }
}

/// True when `pid` is a live process: the container incarnation it belongs to still runs.
pub fn process_alive(pid: u32) -> bool {
    pid > 0 && std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{EngineError, EngineKind, EventStream, ExecOutput, LineSink};
    use futures::future::BoxFuture;

    /// An engine whose list answers (or cannot answer) as the test says.
    struct FakeEngine {
        answer: Option<Vec<ContainerInfo>>,
    }

    impl Engine for FakeEngine {
        fn kind(&self) -> EngineKind {
            EngineKind::Docker
        }
        fn list_running(&self) -> BoxFuture<'_, Result<Vec<ContainerInfo>, EngineError>> {
            unimplemented!()
        }
        fn inspect<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<ContainerInfo, EngineError>> {
            unimplemented!()
        }
        fn events(&self) -> EventStream {
            unimplemented!()
        }
        fn list_all<'a>(
            &'a self,
            _: Option<&'a str>,
            _: bool,
        ) -> Option<BoxFuture<'a, Result<Vec<ContainerInfo>, EngineError>>> {
            let answer = self.answer.clone()?;
            Some(Box::pin(async move { Ok(answer) }))
        }
        fn namespace(&self, _: &ContainerInfo) -> std::io::Result<conlink_kernel::Netns> {
            unimplemented!()
        }
        fn exec<'a>(
            &'a self,
            _: &'a str,
            _: Vec<String>,
            _: LineSink,
        ) -> BoxFuture<'a, Result<ExecOutput, EngineError>> {
            unimplemented!()
        }
    }

    fn container(id: &str, name: &str) -> ContainerInfo {
        ContainerInfo {
            id: id.into(),
            name: name.into(),
            pid: Some(9),
            running: true,
            labels: Default::default(),
            engine: EngineKind::Docker,
        }
    }

    fn known(answer: Option<Vec<ContainerInfo>>) -> Arc<KnownContainers> {
        Arc::new(KnownContainers::new(vec![Arc::new(FakeEngine { answer })]))
    }

    #[tokio::test]
    async fn remembered_containers_need_no_engine_and_lose_their_pid() {
        let k = known(None);
        k.remember(&container("c1", "p-h1-1"));
        let c = k.lookup("c1", None).await.unwrap();
        assert_eq!((c.name.as_str(), c.pid, c.running), ("p-h1-1", None, false));
    }

    #[tokio::test]
    async fn an_engine_list_that_has_it_answers_and_is_remembered() {
        let k = known(Some(vec![container("c2", "p-r0-1")]));
        assert_eq!(k.lookup("c2", None).await.unwrap().name, "p-r0-1");
        assert!(k.get("c2").is_some());
    }

    #[tokio::test]
    async fn an_engine_list_without_it_is_a_quick_not_mine() {
        let k = known(Some(vec![container("other", "x")]));
        let t0 = Instant::now();
        let e = k.lookup("c3", None).await.unwrap_err();
        assert!(e.contains("no engine of this conlink knows container c3"), "{e}");
        assert!(t0.elapsed() < Duration::from_secs(1), "no waiting when the engine has answered");
    }

    #[tokio::test]
    async fn a_busy_engine_means_waiting_for_its_create_event() {
        let k = known(None);
        let later = k.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            later.remember(&container("c4", "p-h3-2"));
        });
        assert_eq!(k.lookup("c4", None).await.unwrap().name, "p-h3-2");
    }

    #[tokio::test]
    async fn the_hint_names_a_container_no_engine_can_be_asked_about() {
        let k = known(None);
        let hint = Hint { engine: "docker".into(), name: "p-h1-1".into(), labels: Default::default() };
        let t0 = Instant::now();
        let c = k.lookup("c5", Some(&hint)).await.unwrap();
        assert_eq!((c.name.as_str(), c.engine), ("p-h1-1", EngineKind::Docker));
        assert!(t0.elapsed() >= HINT_AFTER && t0.elapsed() < LOOKUP_WAIT, "{:?}", t0.elapsed());
        // A hint of an engine this daemon does not follow names nothing.
        let podman = Hint { engine: "podman".into(), ..hint.clone() };
        assert!(k.lookup("c6", Some(&podman)).await.is_err());
        // An engine that answered without it wins over any hint.
        let k = known(Some(vec![]));
        assert!(k.lookup("c7", Some(&hint)).await.is_err());
    }

    #[test]
    fn our_own_process_is_alive_pid_zero_is_not() {
        assert!(process_alive(std::process::id()));
        assert!(!process_alive(0));
    }
}
