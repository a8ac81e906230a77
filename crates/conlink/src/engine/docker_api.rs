//! Docker and Podman as [`Engine`]s: both speak the Docker API, so one client
//! parametrised by socket and kind serves both (Podman's differences, such as its
//! event names, are handled inside [`EngineClient`]).

use futures::FutureExt as _;
use futures::StreamExt as _;

use conlink_kernel::Netns;

use super::client::EngineClient;
use super::error::EngineError;
use super::interface::{Engine, EventStream, LineSink};
use super::types::{ContainerInfo, EngineKind, ExecOutput};

impl Engine for EngineClient {
    fn kind(&self) -> EngineKind {
        EngineClient::kind(self)
    }

    fn list_running(&self) -> futures::future::BoxFuture<'_, Result<Vec<ContainerInfo>, EngineError>> {
        EngineClient::list_running(self).boxed()
    }

    fn inspect<'a>(
        &'a self,
        id: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<ContainerInfo, EngineError>> {
        EngineClient::inspect(self, id).boxed()
    }

    fn events(&self) -> EventStream {
        EngineClient::events(self).boxed()
    }

    fn list_all<'a>(
        &'a self,
        id: Option<&'a str>,
        while_starting: bool,
    ) -> Option<futures::future::BoxFuture<'a, Result<Vec<ContainerInfo>, EngineError>>> {
        // Podman's list takes each container's lock, which it holds while the runtime
        // (conlink-runc) creates the container: asking then would wait for ever.
        if while_starting && self.kind() == EngineKind::Podman {
            return None;
        }
        Some(EngineClient::list_all(self, id).boxed())
    }

    fn namespace(&self, container: &ContainerInfo) -> std::io::Result<Netns> {
        Netns::from_pid(container.pid.unwrap_or(0))
    }

    fn exec<'a>(
        &'a self,
        id: &'a str,
        argv: Vec<String>,
        on_line: LineSink,
    ) -> futures::future::BoxFuture<'a, Result<ExecOutput, EngineError>> {
        async move {
            // Streamed: `commands:` entries may run (and print) for the life of the container.
            let exit_code = self.exec_streaming(id, argv, on_line).await?;
            Ok(ExecOutput { exit_code, output: String::new() })
        }
        .boxed()
    }
}
