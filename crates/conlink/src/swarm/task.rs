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

/// Announces each IPv4 address of the task's links
/// (gratuitous ARP), so hosts that knew the task on its previous node send
/// to the new one at once.
pub fn announce(ns: &Netns, links: &[crate::plan::PlannedLink]) {
    for l in links {
        let v4: Vec<std::net::Ipv4Addr> = l
            .ip
            .iter()
            .filter_map(|n| match n.addr() {
                std::net::IpAddr::V4(a) => Some(a),
                _ => None,
            })
            .collect();
        if let Err(e) = conlink_kernel::send_garp(ns, &l.dev, &v4) {
            tracing::warn!(dev = %l.dev, "gratuitous ARP failed: {e}");
        }
    }
}
