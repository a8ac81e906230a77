//! Container engine access (Docker, and Podman through its Docker-compatible
//! API).
//!
//! Everything conlink needs from an engine goes through [`EngineClient`]:
//! which containers run (with their init PID, whose network namespace
//! conlink enters), their compose labels, start/die events, and `exec` for
//! the `commands` section. The client is parametrised by socket so the same
//! code serves both engines.

mod client;
mod convert;
mod error;
mod own_container;
mod types;

pub use client::EngineClient;
pub use error::EngineError;
pub use own_container::{container_id_from_cgroup, container_id_from_mountinfo, own_container_id};
pub use types::{ContainerInfo, EngineEvent, EngineKind, ExecOutput};
