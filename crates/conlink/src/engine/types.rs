//! Engine-neutral value types handed to the rest of conlink.

use std::collections::HashMap;
use std::fmt;

use super::swarm_labels;

/// Which engine a container belongs to: Docker and Podman (both speak the Docker
/// API) or conlink's own netns runtime. The kind matters for messages and for tagging
/// containers with their origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EngineKind {
    Docker,
    Podman,
    /// Nodes of the engine-free netns runtime (`nodes:` in the config).
    Netns,
    /// One stack's tasks on this Docker Swarm node (`--swarm`).
    Swarm,
}

impl EngineKind {
    /// The CLI flag that selects this engine's socket, for error hints.
    pub fn socket_flag(self) -> &'static str {
        match self {
            EngineKind::Docker => "--docker-socket",
            EngineKind::Podman => "--podman-socket",
            EngineKind::Netns => "--network-file (nodes:)",
            EngineKind::Swarm => "--docker-socket (with --swarm)",
        }
    }

    /// How a user starts the engine's API service, for error hints.
    pub fn daemon_hint(self) -> &'static str {
        match self {
            EngineKind::Docker => "is dockerd running?",
            EngineKind::Podman => "is `podman system service` running?",
            EngineKind::Netns => "the netns runtime has no socket",
            EngineKind::Swarm => "is dockerd running, and is it a swarm node?",
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EngineKind::Docker => "docker",
            EngineKind::Podman => "podman",
            EngineKind::Netns => "netns",
            EngineKind::Swarm => "swarm",
        })
    }
}

/// Compose labels conlink matches containers by (SPEC §1).
pub const LABEL_PROJECT: &str = "com.docker.compose.project";
pub const LABEL_SERVICE: &str = "com.docker.compose.service";
pub const LABEL_NUMBER: &str = "com.docker.compose.container-number";
pub const LABEL_WORKING_DIR: &str = "com.docker.compose.project.working_dir";

/// One container as conlink sees it.
#[derive(Clone, Debug)]
pub struct ContainerInfo {
    /// Full container id.
    pub id: String,
    /// Container name without the leading '/' the Docker API adds.
    pub name: String,
    /// Init PID while running; its `/proc/PID/ns/net` is the container's
    /// network namespace.
    pub pid: Option<u32>,
    pub running: bool,
    pub labels: HashMap<String, String>,
    pub engine: EngineKind,
}

impl ContainerInfo {
    /// The compose project, or for a swarm task its stack.
    pub fn compose_project(&self) -> Option<&str> {
        self.label(LABEL_PROJECT).or_else(|| swarm_labels::stack(&self.labels))
    }

    /// The compose service, or for a swarm task its service without the stack prefix.
    pub fn compose_service(&self) -> Option<&str> {
        self.label(LABEL_SERVICE).or_else(|| swarm_labels::service(&self.labels))
    }

    /// Replica index (1-based in compose, the task slot in swarm); None when absent or not a number.
    pub fn compose_index(&self) -> Option<u32> {
        match self.label(LABEL_NUMBER) {
            Some(n) => n.trim().parse().ok(),
            None => swarm_labels::slot(&self.labels),
        }
    }

    pub fn compose_working_dir(&self) -> Option<&str> {
        self.label(LABEL_WORKING_DIR)
    }

    fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// Container lifecycle events conlink reacts to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineEvent {
    Start {
        id: String,
    },
    Die {
        id: String,
    },
    /// A container was created (not started): its name and labels, remembered for
    /// before-start links, where the engine cannot be asked while it starts the container.
    Create {
        id: String,
        name: String,
        labels: HashMap<String, String>,
    },
}

impl EngineEvent {
    pub fn id(&self) -> &str {
        match self {
            EngineEvent::Start { id } | EngineEvent::Die { id } | EngineEvent::Create { id, .. } => id,
        }
    }
}

/// Result of running a command in a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecOutput {
    /// None when the engine did not report one (the exec is still running
    /// or the engine lost track of it).
    pub exit_code: Option<i64>,
    /// stdout and stderr interleaved in arrival order.
    pub output: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(labels: &[(&str, &str)]) -> ContainerInfo {
        ContainerInfo {
            id: "abc".into(),
            name: "p-node-2".into(),
            pid: Some(42),
            running: true,
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            engine: EngineKind::Docker,
        }
    }

    #[test]
    fn compose_labels_are_read() {
        let c = info(&[
            (LABEL_PROJECT, "p"),
            (LABEL_SERVICE, "node"),
            (LABEL_NUMBER, "2"),
            (LABEL_WORKING_DIR, "/src/lab"),
        ]);
        assert_eq!(c.compose_project(), Some("p"));
        assert_eq!(c.compose_service(), Some("node"));
        assert_eq!(c.compose_index(), Some(2));
        assert_eq!(c.compose_working_dir(), Some("/src/lab"));
    }

    #[test]
    fn missing_empty_or_bad_labels_are_none() {
        let c = info(&[(LABEL_PROJECT, ""), (LABEL_NUMBER, "two")]);
        assert_eq!(c.compose_project(), None);
        assert_eq!(c.compose_service(), None);
        assert_eq!(c.compose_index(), None);
        assert_eq!(c.compose_working_dir(), None);
    }

    #[test]
    fn kind_display_and_hints() {
        assert_eq!(EngineKind::Docker.to_string(), "docker");
        assert_eq!(EngineKind::Podman.to_string(), "podman");
        assert_eq!(EngineKind::Podman.socket_flag(), "--podman-socket");
    }
}
