//! Container engine access.
//!
//! Everything conlink needs from an engine goes through the [`Engine`] trait:
//! which containers run (with their labels and network namespace), start/die
//! events, and `exec` for the `commands` section. Implementations:
//! [`EngineClient`] (Docker, and Podman through its Docker-compatible API; the
//! client is parametrised by socket), [`SwarmEngine`] (one stack's tasks on this
//! swarm node) and [`NetnsRuntime`] (nodes in plain named network namespaces, no
//! engine at all).

mod client;
mod convert;
mod docker_api;
mod endpoint;
mod error;
mod interface;
mod lines;
mod netns_runtime;
mod own_container;
mod swarm;
pub mod swarm_labels;
mod types;

pub use client::EngineClient;
pub use endpoint::Endpoint;
pub use error::EngineError;
pub use interface::{Engine, EventStream, LineSink};
pub use netns_runtime::{node_id, NetnsRuntime};
pub use own_container::own_container_id;
pub use swarm::SwarmEngine;
pub use types::{ContainerInfo, EngineEvent, EngineKind, ExecOutput};
