//! The one interface the daemon uses to reach containers, whatever runs them.
//!
//! A new engine (a Docker network plugin, Docker Swarm, …) is one new file with an
//! `impl Engine`: it lists running containers with their labels (compose project,
//! service, replica index), reports start/die events, opens a container's network
//! namespace and runs commands in it.

use futures::future::BoxFuture;
use futures::stream::BoxStream;

use conlink_kernel::Netns;

use super::error::EngineError;
use super::types::{ContainerInfo, EngineEvent, EngineKind, ExecOutput};

/// Start/die events from the moment `events` was called on; the stream ends when
/// the engine goes away (the daemon then resubscribes and resyncs).
pub type EventStream = BoxStream<'static, Result<EngineEvent, EngineError>>;

/// Receives each complete output line of a command as it arrives.
pub type LineSink = Box<dyn FnMut(&str) + Send + 'static>;

pub trait Engine: Send + Sync + 'static {
    fn kind(&self) -> EngineKind;

    /// Every running container, with what `inspect` returns for it.
    fn list_running(&self) -> BoxFuture<'_, Result<Vec<ContainerInfo>, EngineError>>;

    /// One container by id or name.
    fn inspect<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<ContainerInfo, EngineError>>;

    fn events(&self) -> EventStream;

    /// Every container, running or not, with name and labels (no PID); `id` narrows
    /// it to one. For before-start links: `while_starting` says the engine is starting
    /// that container right now; None when the engine cannot be asked then (Podman
    /// holds the container's lock), so its create event must be waited for.
    fn list_all<'a>(
        &'a self,
        _id: Option<&'a str>,
        _while_starting: bool,
    ) -> Option<BoxFuture<'a, Result<Vec<ContainerInfo>, EngineError>>> {
        Some(Box::pin(futures::future::ready(Ok(Vec::new()))))
    }

    /// The container's network namespace (from its init PID, or a named netns).
    fn namespace(&self, container: &ContainerInfo) -> std::io::Result<Netns>;

    /// Runs `argv` in the container; output lines go to `on_line`. `exit_code` is None
    /// when the engine does not wait for the command (it keeps running).
    fn exec<'a>(
        &'a self,
        id: &'a str,
        argv: Vec<String>,
        on_line: LineSink,
    ) -> BoxFuture<'a, Result<ExecOutput, EngineError>>;

    /// Engine-specific work in a container's namespace before its links are built
    /// (swarm: remove the interface the engine gave a task). Default: nothing.
    fn prepare_namespace<'a>(&'a self, _container: &'a ContainerInfo, _ns: &'a Netns) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    /// Called once all of a container's links are up (swarm: announce its
    /// addresses from the node it now runs on). Default: nothing.
    fn links_up<'a>(&'a self, _container: &'a ContainerInfo, _ns: &'a Netns) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}
