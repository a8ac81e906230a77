//! The engine client: a socket-parametrised Docker API client (bollard).
//! Podman is served by the same code through its Docker-compatible socket.

use std::collections::HashMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::query_parameters::{EventsOptionsBuilder, ListContainersOptionsBuilder};
use bollard::{ClientVersion, Docker};
use futures::{Stream, StreamExt, TryStreamExt};

use super::convert;
use super::error::EngineError;
use super::lines::LineSplitter;
use super::types::{ContainerInfo, EngineEvent, EngineKind, ExecOutput};

/// Seconds bollard waits for a response head. Streaming bodies (events,
/// exec output) are not subject to it.
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// How many containers are inspected at once when listing.
const INSPECT_CONCURRENCY: usize = 8;

#[derive(Clone, Debug)]
pub struct EngineClient {
    kind: EngineKind,
    docker: Docker,
}

impl EngineClient {
    /// Connect to the engine listening on the unix `socket` and negotiate
    /// the API version: bollard defaults to a newer API than e.g.
    /// dockerd 20.10 (API 1.41) accepts.
    pub async fn connect(kind: EngineKind, socket: &Path) -> Result<EngineClient, EngineError> {
        if !socket.exists() {
            return Err(EngineError::SocketMissing { kind, path: socket.to_path_buf() });
        }
        let connect_err = |source| EngineError::Connect { kind, path: socket.to_path_buf(), source };
        let path = socket.to_str().ok_or_else(|| {
            connect_err(bollard::errors::Error::SocketNotFoundError(socket.display().to_string()))
        })?;
        // The API version comes from `/_ping`'s Api-Version header: bollard's
        // negotiate_version() asks `/version`, which podman answers only after
        // ~0.5 s of gathering host information (docker in ~20 ms).
        let docker = match ping_api_version(socket).await {
            Some(server) => {
                let version = capped(server);
                Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, &version).map_err(connect_err)?
            }
            None => Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
                .map_err(connect_err)?
                .negotiate_version()
                .await
                .map_err(connect_err)?,
        };
        Ok(EngineClient { kind, docker })
    }

    /// Connect to `endpoint`: a unix socket, or plain HTTP (`tcp://host:port`).
    pub async fn connect_to(
        kind: EngineKind,
        endpoint: &super::Endpoint,
    ) -> Result<EngineClient, EngineError> {
        let addr = match endpoint {
            super::Endpoint::Unix(path) => return EngineClient::connect(kind, path).await,
            super::Endpoint::Tcp(addr) => addr,
        };
        let connect_err =
            |source| EngineError::Connect { kind, path: format!("tcp://{addr}").into(), source };
        let docker = Docker::connect_with_http(addr, REQUEST_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
            .map_err(connect_err)?
            .negotiate_version()
            .await
            .map_err(connect_err)?;
        Ok(EngineClient { kind, docker })
    }

    pub fn kind(&self) -> EngineKind {
        self.kind
    }

    /// The underlying API client, for calls this type does not wrap (swarm nodes).
    pub(crate) fn api(&self) -> &Docker {
        &self.docker
    }

    /// All running containers, each inspected (the list call does not carry
    /// the init PID). Containers that stop while we look are left out.
    pub async fn list_running(&self) -> Result<Vec<ContainerInfo>, EngineError> {
        let opts = ListContainersOptionsBuilder::new().all(false).build();
        let summaries = self
            .docker
            .list_containers(Some(opts))
            .await
            .map_err(|e| EngineError::api(self.kind, "list containers", None, e))?;
        let ids: Vec<String> = summaries.into_iter().filter_map(|s| s.id).collect();
        let inspected: Vec<Result<ContainerInfo, EngineError>> = futures::stream::iter(ids)
            .map(|id| async move { self.inspect(&id).await })
            .buffer_unordered(INSPECT_CONCURRENCY)
            .collect()
            .await;
        let mut out = Vec::with_capacity(inspected.len());
        for r in inspected {
            match r {
                Ok(c) if c.running => out.push(c),
                Ok(_) | Err(EngineError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Every container, running or not, as the list call has it (name, labels, no
    /// PID); `id` narrows it to one. Docker answers this while it is starting that very
    /// container (inspect waits for the start to end); Podman waits either way.
    pub async fn list_all(&self, id: Option<&str>) -> Result<Vec<ContainerInfo>, EngineError> {
        let mut filters: HashMap<&str, Vec<&str>> = HashMap::new();
        if let Some(id) = id {
            filters.insert("id", vec![id]);
        }
        let opts = ListContainersOptionsBuilder::new().all(true).filters(&filters).build();
        let summaries = self
            .docker
            .list_containers(Some(opts))
            .await
            .map_err(|e| EngineError::api(self.kind, "list containers", id, e))?;
        Ok(summaries.into_iter().filter_map(|s| convert::listed_container(self.kind, s)).collect())
    }

    /// Inspect one container by id or name.
    pub async fn inspect(&self, id: &str) -> Result<ContainerInfo, EngineError> {
        let resp = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(|e| EngineError::api(self.kind, "inspect", Some(id), e))?;
        convert::container_info(self.kind, resp).map_err(|reason| EngineError::BadResponse {
            kind: self.kind,
            call: "inspect",
            container: id.to_string(),
            reason,
        })
    }

    /// Container start/die events from the moment of this call on. The
    /// stream ends when the engine closes the connection (e.g. restarts);
    /// callers resubscribe and reconcile.
    ///
    /// The HTTP request is only sent when the stream is first polled, so
    /// `since` is set to now: events between this call and the first poll
    /// are replayed by the engine instead of lost. Callers can therefore
    /// subscribe first, then list, and miss nothing in between.
    pub fn events(&self) -> impl Stream<Item = Result<EngineEvent, EngineError>> + Send + 'static {
        let mut filters: HashMap<&str, Vec<&str>> = HashMap::from([("type", vec!["container"])]);
        // Podman names the die event differently internally; filter its
        // actions client-side only, so no event is lost to a name mismatch.
        if self.kind == EngineKind::Docker {
            filters.insert("event", vec!["create", "start", "die"]);
        }
        let opts = EventsOptionsBuilder::new().since(&unix_now()).filters(&filters).build();
        let kind = self.kind;
        self.docker
            .events(Some(opts))
            .map_err(move |e| EngineError::api(kind, "events", None, e))
            .try_filter_map(|msg| futures::future::ready(Ok(convert::engine_event(&msg))))
    }

    /// Run `argv` in container `id` (like `docker exec`), wait for it to end
    /// and return its combined stdout+stderr and exit code, also handing each complete output line to
    /// `on_line` as it arrives. Keeps the whole output: for short commands (tests, probes);
    /// long-running ones go through [`EngineClient::exec_streaming`].
    pub async fn exec_with(
        &self,
        id: &str,
        argv: Vec<String>,
        mut on_line: impl FnMut(&str) + Send,
    ) -> Result<ExecOutput, EngineError> {
        let mut output = String::new();
        let exit_code = self
            .exec_streaming(id, argv, |l| {
                output.push_str(l);
                output.push('\n');
                on_line(l)
            })
            .await?;
        Ok(ExecOutput { exit_code, output })
    }

    /// Run `argv` in container `id`, handing each output line (stdout and stderr,
    /// invalid UTF-8 replaced) to `on_line` as it arrives and keeping none of it, so a
    /// server's endless output costs no memory. Returns the exit code.
    pub async fn exec_streaming(
        &self,
        id: &str,
        argv: Vec<String>,
        mut on_line: impl FnMut(&str) + Send,
    ) -> Result<Option<i64>, EngineError> {
        let api = |call, e| EngineError::api(self.kind, call, Some(id), e);
        let created = self
            .docker
            .create_exec(
                id,
                CreateExecOptions::<String> {
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    cmd: Some(argv),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| api("exec create", e))?;
        let started = self
            .docker
            .start_exec(&created.id, Some(StartExecOptions { detach: false, ..Default::default() }))
            .await
            .map_err(|e| api("exec start", e))?;
        let mut lines = LineSplitter::default();
        match started {
            StartExecResults::Attached { output: mut stream, .. } => {
                while let Some(chunk) = stream.next().await {
                    match chunk.map_err(|e| api("exec output", e))? {
                        LogOutput::StdOut { message }
                        | LogOutput::StdErr { message }
                        | LogOutput::Console { message } => {
                            lines.push(&message, &mut on_line);
                        }
                        LogOutput::StdIn { .. } => {}
                    }
                }
            }
            StartExecResults::Detached => {
                return Err(EngineError::BadResponse {
                    kind: self.kind,
                    call: "exec start",
                    container: id.to_string(),
                    reason: "exec was detached although attach was requested".into(),
                })
            }
        }
        lines.finish(&mut on_line);
        let inspected = self.docker.inspect_exec(&created.id).await.map_err(|e| api("exec inspect", e))?;
        Ok(inspected.exit_code)
    }
}

/// bollard's newest API version, as a comparable value.
fn client_default_version() -> ClientVersion {
    ClientVersion {
        major_version: bollard::API_DEFAULT_VERSION.major_version,
        minor_version: bollard::API_DEFAULT_VERSION.minor_version,
    }
}

/// The version to speak: the server's, but never above what bollard knows.
fn capped(server: ClientVersion) -> ClientVersion {
    let ours = client_default_version();
    if server < ours {
        server
    } else {
        ours
    }
}

/// Seconds the `/_ping` version probe may take before the slower `/version` is asked.
const PING_TIMEOUT_SECS: u64 = 5;

/// The server's API version from the `Api-Version` header of `GET /_ping`
/// (docker and podman both send it); None when the probe fails in any way.
async fn ping_api_version(socket: &Path) -> Option<ClientVersion> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let probe = async {
        let mut stream = tokio::net::UnixStream::connect(socket).await.ok()?;
        stream
            .write_all(b"GET /_ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut head = Vec::with_capacity(1024);
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        api_version_from_head(&String::from_utf8_lossy(&head))
    };
    tokio::time::timeout(std::time::Duration::from_secs(PING_TIMEOUT_SECS), probe).await.ok().flatten()
}

/// `Api-Version: 1.41` from an HTTP response head with status 200.
fn api_version_from_head(head: &str) -> Option<ClientVersion> {
    let mut lines = head.split("\r\n");
    let status = lines.next()?;
    if status.split_whitespace().nth(1) != Some("200") {
        return None;
    }
    let value = lines.take_while(|l| !l.is_empty()).find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim().eq_ignore_ascii_case("api-version").then(|| value.trim())
    })?;
    let (major, minor) = value.split_once('.')?;
    Some(ClientVersion { major_version: major.parse().ok()?, minor_version: minor.parse().ok()? })
}

/// Current time as the engine's `since` parameter: "seconds.nanoseconds".
fn unix_now() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:09}", now.as_secs(), now.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(major: usize, minor: usize) -> ClientVersion {
        ClientVersion { major_version: major, minor_version: minor }
    }

    #[test]
    fn api_version_from_docker_and_podman_ping_heads() {
        let docker =
            "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nServer: Docker/20.10.24+dfsg1 (linux)\r\n\r\nOK";
        assert_eq!(api_version_from_head(docker), Some(v(1, 41)));
        let podman =
            "HTTP/1.1 200 OK\r\nBuilder-Version: \r\nLibpod-Api-Version: 4.3.1\r\napi-version: 1.41\r\n\r\n";
        assert_eq!(api_version_from_head(podman), Some(v(1, 41)));
    }

    #[test]
    fn api_version_absent_bad_or_not_ok_is_none() {
        assert_eq!(api_version_from_head("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n"), None);
        assert_eq!(api_version_from_head("HTTP/1.1 500 Internal\r\nApi-Version: 1.41\r\n\r\n"), None);
        assert_eq!(api_version_from_head("HTTP/1.1 200 OK\r\nApi-Version: one\r\n\r\n"), None);
        // Only the head counts: a body line that looks like the header is ignored.
        assert_eq!(api_version_from_head("HTTP/1.1 200 OK\r\n\r\nApi-Version: 1.41"), None);
        assert_eq!(api_version_from_head(""), None);
    }

    #[test]
    fn never_above_what_bollard_speaks() {
        assert_eq!(capped(v(1, 99)), client_default_version());
        assert_eq!(capped(v(2, 0)), client_default_version());
        assert_eq!(capped(v(1, 41)), v(1, 41));
    }
}
