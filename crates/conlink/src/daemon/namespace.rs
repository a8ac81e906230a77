//! Which network namespace holds conlink's bridges.

use std::path::Path;

use conlink_kernel::Netns;
use tracing::warn;

/// conlink's own namespace for bridges and outer veth ends.
pub struct BridgeNamespace {
    pub netns: Netns,
    /// Set when conlink created `/run/netns/NAME` itself and must remove it on exit.
    pub created_name: Option<String>,
    /// Names conlink's per-instance files (e.g. its private Open vSwitch).
    pub label: String,
}

impl BridgeNamespace {
    /// In a container conlink uses its own namespace. On the host it uses (or creates)
    /// `/run/netns/NAME`, never the host namespace: dockerd's FORWARD DROP policy and
    /// bridge-nf-call-iptables would drop bridged frames there.
    pub fn select(in_container: bool, name: &str) -> std::io::Result<BridgeNamespace> {
        if in_container {
            return Ok(BridgeNamespace {
                netns: Netns::current()?,
                created_name: None,
                label: "container".into(),
            });
        }
        let path = Path::new("/run/netns").join(name);
        if path.exists() {
            if let Ok(netns) = Netns::from_path(&path) {
                return Ok(BridgeNamespace {
                    netns,
                    created_name: Some(name.to_string()),
                    label: name.to_string(),
                });
            }
        }
        Ok(BridgeNamespace {
            netns: Netns::create_named(name)?,
            created_name: Some(name.to_string()),
            label: name.to_string(),
        })
    }

    /// Deletes the namespace if conlink created it (taking every interface in it along).
    pub fn remove(&self) {
        if let Some(name) = &self.created_name {
            if let Err(e) = Netns::delete_named(name) {
                warn!(netns = %name, "could not remove network namespace: {e}");
            }
        }
    }
}
