//! What building links works with: both sides of a link, what was created, and why it failed.

use std::collections::HashMap;

use conlink_kernel::{KernelError, Netns, Nl, Ovs};
use thiserror::Error;

use crate::daemon::infra::LinuxBridge;
use crate::plan::PlannedLink;

pub use crate::daemon::ownership::{INNER_GROUP, OUTER_GROUP};

/// Why a container's links could not be built. Nothing stays behind when this is returned.
#[derive(Debug, Error)]
pub enum LinkError {
    #[error("cannot enter the network namespace of {container} (pid {pid}): {source}")]
    Namespace { container: String, pid: u32, source: std::io::Error },
    #[error("container {container}, link /links/{link_index} ({dev}): {source}")]
    Kernel { container: String, link_index: usize, dev: String, source: KernelError },
    #[error("container {container}, link /links/{link_index} ({dev}): {what}")]
    Unusable { container: String, link_index: usize, dev: String, what: String },
    #[error("container {container}: {source}")]
    Connect { container: String, source: KernelError },
}

/// conlink's side of every link: its namespace, bridges and the host namespace.
pub struct BridgeSide<'a> {
    pub nl: &'a Nl,
    /// Each linux bridge's index and port MAC, resolved once at start.
    pub linux_bridges: &'a HashMap<String, LinuxBridge>,
    /// Namespace holding the parents of *vlan/*vtap links (opened only when needed).
    pub host: Option<&'a Nl>,
    /// Open vSwitch, when there are ovs bridges.
    pub ovs: Option<&'a Ovs>,
    /// Whether an outer end belongs to another container's link (never replaced as a
    /// leftover). Asked only when a name turns out to be taken, so connecting stays cheap.
    pub owned_elsewhere: &'a (dyn Fn(&str) -> bool + Sync),
}

/// The container's side: its namespace and a netlink socket in it.
pub(super) struct ContainerSide<'a> {
    pub name: &'a str,
    pub ns: &'a Netns,
    pub nl: &'a Nl,
}

/// Something created for a container, in the order it was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Outer veth end in conlink's namespace (deleting it deletes the peer too).
    Outer(String),
    /// Interface living only in the container (dummy, *vlan, *vtap).
    Inner(String),
}

pub(super) fn kernel_err(container: &str, p: &PlannedLink) -> impl Fn(KernelError) -> LinkError {
    let (container, link_index, dev) = (container.to_string(), p.link_index, p.dev.clone());
    move |source| LinkError::Kernel { container: container.clone(), link_index, dev: dev.clone(), source }
}

pub(super) fn unusable(container: &str, p: &PlannedLink, what: impl Into<String>) -> LinkError {
    LinkError::Unusable {
        container: container.into(),
        link_index: p.link_index,
        dev: p.dev.clone(),
        what: what.into(),
    }
}
