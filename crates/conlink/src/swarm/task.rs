//! Swarm tasks cannot be network-less: dockerd 20.10 knows no `none`
//! network for services ("network none not found"), so a stack attaches them
//! to the node-local `bridge` network. Before conlink gives a task its links
//! it removes that engine interface, leaving the task with conlink's links
//! only, as `network_mode: none` would in compose.

use conlink_kernel::{KernelError, Netns, Nl};

/// Deletes every interface but `lo` in the task's namespace; returns their names.
pub async fn detach_engine_interfaces(ns: &Netns) -> Result<Vec<String>, KernelError> {
    let nl = Nl::connect(ns).await?;
    let mut removed = Vec::new();
    for link in nl.links().await? {
        if link.name == "lo" {
            continue;
        }
        if nl.delete_link(&link.name).await? {
            removed.push(link.name);
        }
    }
    Ok(removed)
}
