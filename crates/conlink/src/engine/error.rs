//! Typed engine errors; messages say which call and which container failed.

use std::path::PathBuf;

use super::types::EngineKind;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{kind} socket {} not found: {} (use {})", path.display(), kind.daemon_hint(), kind.socket_flag())]
    SocketMissing { kind: EngineKind, path: PathBuf },

    #[error("cannot connect to {kind} socket {}: {source}", path.display())]
    Connect {
        kind: EngineKind,
        path: PathBuf,
        #[source]
        source: bollard::errors::Error,
    },

    #[error("{kind} container {container} not found")]
    NotFound { kind: EngineKind, container: String },

    #[error("{kind} API {call}{} failed: {source}", for_container(container))]
    Api {
        kind: EngineKind,
        call: &'static str,
        container: Option<String>,
        #[source]
        source: bollard::errors::Error,
    },

    #[error("{kind} API {call} for container {container} returned an unusable answer: {reason}")]
    BadResponse { kind: EngineKind, call: &'static str, container: String, reason: String },

    #[error("{kind} cannot run a command in {container}: {source}")]
    Exec {
        kind: EngineKind,
        container: String,
        #[source]
        source: std::io::Error,
    },
}

fn for_container(c: &Option<String>) -> String {
    c.as_ref().map(|c| format!(" for container {c}")).unwrap_or_default()
}

impl EngineError {
    /// Wrap a bollard error from `call`, turning HTTP 404 into [`EngineError::NotFound`]
    /// so callers can tell "gone" (normal: it died meanwhile) from failure.
    pub(crate) fn api(
        kind: EngineKind,
        call: &'static str,
        container: Option<&str>,
        source: bollard::errors::Error,
    ) -> EngineError {
        if let (Some(c), bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) =
            (container, &source)
        {
            return EngineError::NotFound { kind, container: c.to_string() };
        }
        EngineError::Api { kind, call, container: container.map(str::to_string), source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_missing_message_tells_user_what_to_do() {
        let e = EngineError::SocketMissing { kind: EngineKind::Docker, path: "/var/run/docker.sock".into() };
        assert_eq!(
            e.to_string(),
            "docker socket /var/run/docker.sock not found: is dockerd running? (use --docker-socket)"
        );
    }

    #[test]
    fn api_error_names_call_and_container_and_maps_404() {
        let server = |code| bollard::errors::Error::DockerResponseServerError {
            status_code: code,
            message: "boom".into(),
        };
        let e = EngineError::api(EngineKind::Docker, "inspect", Some("c1"), server(500));
        let msg = e.to_string();
        assert!(msg.contains("inspect") && msg.contains("c1") && msg.contains("boom"), "{msg}");
        let e = EngineError::api(EngineKind::Podman, "inspect", Some("c1"), server(404));
        assert!(matches!(e, EngineError::NotFound { ref container, .. } if container == "c1"));
    }
}
