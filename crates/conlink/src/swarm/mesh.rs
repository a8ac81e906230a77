//! The running mesh: creates one vxlan device per meshed bridge, then keeps
//! one flooding entry per ready peer node, polling the swarm's node list.
//! A node that joins gets entries, one that goes down (stopped, left the
//! swarm, unreachable) loses them; on stop every device is removed.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use bollard::Docker;
use conlink_kernel::{Netns, Nl};
use tokio::sync::watch;
use tracing::{info, warn};

use super::api::{list_nodes, LocalNode};
use super::layout::{device_name, vni_for};
use super::peers::{desired_peers, diff};
use conlink_kernel::{create_mesh_device, MeshDevice};

/// How long one node listing may take.
const LIST_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything the mesh needs, gathered before the daemon builds bridges.
pub struct MeshPlan {
    pub stack: String,
    pub local: LocalNode,
    /// Answers `/nodes`: our engine on a manager, or `--swarm-manager-socket`.
    pub nodes_api: Docker,
    /// The namespace conlink started in: the host's, where the underlay is.
    pub underlay: Nl,
    pub bridges: Vec<String>,
    pub mtu: u32,
    pub port: u16,
    pub poll: Duration,
}

/// The mesh task; [`MeshHandle::stop`] removes what it built.
pub struct MeshHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl MeshHandle {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            warn!("mesh task ended abnormally: {e}");
        }
    }
}

struct Mesh {
    plan: MeshPlan,
    bridge_nl: Nl,
    devices: Vec<String>,
    peers: BTreeMap<IpAddr, String>,
}

/// Creates the devices (errors here fail start-up, naming the bridge), adds
/// the current peers, then follows the node list in the background.
pub async fn start(plan: MeshPlan, bridge_nl: Nl, bridge_ns: &Netns) -> Result<MeshHandle> {
    let mut mesh = Mesh { devices: Vec::new(), peers: BTreeMap::new(), bridge_nl, plan };
    for bridge in mesh.plan.bridges.clone() {
        let dev = MeshDevice {
            name: device_name(&bridge),
            vni: vni_for(&mesh.plan.stack, &bridge),
            port: mesh.plan.port,
            local: mesh.plan.local.addr,
            mtu: mesh.plan.mtu,
        };
        if let Err(e) =
            create_mesh_device(&mesh.plan.underlay, &mesh.bridge_nl, bridge_ns, &dev, &bridge).await
        {
            mesh.remove_devices().await;
            return Err(anyhow::Error::new(e).context(format!("swarm mesh of bridge {bridge}")));
        }
        info!(bridge = %bridge, dev = %dev.name, vni = dev.vni, port = dev.port, mtu = dev.mtu, "mesh device up");
        mesh.devices.push(dev.name);
    }
    if let Err(e) = mesh.sync().await {
        warn!("mesh: {e:#}; retrying every {:?}", mesh.plan.poll);
    }
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut timer = tokio::time::interval(mesh.plan.poll);
        loop {
            tokio::select! {
                _ = stopped.changed() => break,
                _ = timer.tick() => {
                    // A sync waiting on an unanswered manager must not hold up the stop.
                    tokio::select! {
                        _ = stopped.changed() => break,
                        r = mesh.sync() => if let Err(e) = r { warn!("mesh: {e:#}") },
                    }
                }
            }
        }
        mesh.remove_devices().await;
    });
    Ok(MeshHandle { stop, task })
}

impl Mesh {
    /// One round: the swarm's ready nodes → flooding entries on every device.
    async fn sync(&mut self) -> Result<()> {
        let t0 = Instant::now();
        // Without a leader (an election after a manager left) the list can take
        // long; the tunnels stay as they are until a manager answers.
        let nodes = tokio::time::timeout(LIST_TIMEOUT, list_nodes(&self.plan.nodes_api))
            .await
            .map_err(|_| anyhow::anyhow!("no answer from the swarm's node list within {LIST_TIMEOUT:?}"))??;
        let desired = desired_peers(&nodes, &self.plan.local.id, self.plan.local.addr, &self.peers);
        let change = diff(&self.peers, &desired);
        for (addr, node) in &change.remove {
            for dev in &self.devices {
                self.bridge_nl
                    .remove_flood_entry(dev, *addr)
                    .await
                    .with_context(|| format!("removing peer {node} at {addr}"))?;
            }
            self.peers.remove(addr);
            info!(peer = %addr, node = %node, "mesh peer removed (node down or gone)");
        }
        for (addr, node) in &change.add {
            for dev in &self.devices {
                self.bridge_nl
                    .add_flood_entry(dev, *addr)
                    .await
                    .with_context(|| format!("adding peer {node} at {addr}"))?;
            }
            self.peers.insert(*addr, node.clone());
            info!(peer = %addr, node = %node, "mesh peer added");
        }
        if !change.is_empty() {
            info!(peers = self.peers.len(), elapsed_ms = t0.elapsed().as_millis() as u64, "mesh converged");
        }
        Ok(())
    }

    async fn remove_devices(&mut self) {
        for dev in self.devices.drain(..) {
            if let Err(e) = self.bridge_nl.delete_link(&dev).await {
                warn!(dev = %dev, "could not remove mesh device: {e}");
            }
        }
        self.peers.clear();
    }
}
