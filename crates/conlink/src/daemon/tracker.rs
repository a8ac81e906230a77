//! What conlink has built, per container, and whether the whole topology is up.

use std::collections::{HashMap, HashSet};

use conlink_config::NetworkConfig;

/// State of one planned link of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    Connected,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRecord {
    pub link_index: usize,
    pub dev: String,
    /// Outer veth end in conlink's namespace (what must be deleted on cleanup).
    pub outer: Option<String>,
    /// Addresses as planned for this container (replica increments applied).
    pub ip: Vec<ipnet::IpNet>,
    pub state: LinkState,
    /// Impairment set at runtime through the control socket.
    pub netem: Option<String>,
    /// Set down at runtime through the control socket.
    pub admin_down: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRecord {
    pub name: String,
    /// Engine the container belongs to (`Netns` for nodes of the netns runtime).
    pub engine: crate::engine::EngineKind,
    /// Init PID when connected (for resync's restart check only: the PID is never used
    /// to reach the container again, it may belong to another process by then).
    pub pid: u32,
    /// The container's network namespace, opened once at connect and kept: netem,
    /// up/down and deletes use this handle, never a namespace reopened by PID.
    pub netns: Option<std::sync::Arc<conlink_kernel::Netns>>,
    pub links: Vec<LinkRecord>,
    /// Interfaces created inside the container only (dummy, *vlan, *vtap).
    pub inner: Vec<String>,
    /// Port forwards to this container (replica offsets applied).
    pub forwards: Vec<conlink_kernel::Forward>,
}

/// Everything conlink currently tracks. Kept behind one mutex; updates are short.
#[derive(Debug, Default)]
pub struct Tracker {
    containers: HashMap<String, ContainerRecord>,
    /// Containers seen (listed or started) whose links are still being built:
    /// nothing is "all connected" while one of them may still add links.
    pending: HashSet<String>,
    announced: bool,
}

impl Tracker {
    pub fn set_container(&mut self, id: &str, record: ContainerRecord) {
        self.pending.remove(id);
        self.containers.insert(id.to_string(), record);
    }

    pub fn mark_pending(&mut self, id: &str) {
        self.pending.insert(id.to_string());
    }

    pub fn clear_pending(&mut self, id: &str) {
        self.pending.remove(id);
    }

    pub fn remove_container(&mut self, id: &str) -> Option<ContainerRecord> {
        self.containers.remove(id)
    }

    pub fn containers(&self) -> impl Iterator<Item = (&String, &ContainerRecord)> {
        self.containers.iter()
    }

    /// The container whose name (or id, or id prefix of at least 12) is `key`.
    pub fn find_mut(&mut self, key: &str) -> Option<(&String, &mut ContainerRecord)> {
        self.containers
            .iter_mut()
            .find(|(id, c)| c.name == key || *id == key || (key.len() >= 12 && id.starts_with(key)))
    }

    /// Whether `outer` is the outer end of a link of a container other than `id`.
    pub fn outer_owned_by_other(&self, id: &str, outer: &str) -> bool {
        self.containers
            .iter()
            .filter(|(other, _)| other.as_str() != id)
            .any(|(_, r)| r.links.iter().any(|l| l.outer.as_deref() == Some(outer)))
    }

    /// Every port forward of the tracked containers.
    pub fn forwards(&self) -> Vec<conlink_kernel::Forward> {
        self.containers.values().flat_map(|c| c.forwards.iter().cloned()).collect()
    }

    /// Outer ends of connected veth links on `bridge`, with their container id.
    pub fn outer_on_bridge(&self, cfg: &NetworkConfig, bridge: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .containers
            .values()
            .flat_map(|c| c.links.iter())
            .filter(|l| l.state == LinkState::Connected)
            .filter(|l| cfg.links.get(l.link_index).and_then(|k| k.bridge.as_deref()) == Some(bridge))
            .filter_map(|l| l.outer.clone())
            .collect();
        out.sort();
        out
    }

    /// The definition of "All links connected": every configured link exists in at
    /// least one running container, no tracked link has failed, and no container seen
    /// is still being connected. (Tunnels exist before any container is handled.)
    pub fn all_connected(&self, cfg: &NetworkConfig) -> bool {
        if !self.pending.is_empty() {
            return false;
        }
        let links = || self.containers.values().flat_map(|c| c.links.iter());
        if links().any(|l| l.state != LinkState::Connected) {
            return false;
        }
        (0..cfg.links.len()).all(|i| links().any(|l| l.link_index == i))
    }

    /// Returns true exactly once: the first time everything is connected.
    pub fn announce_if_connected(&mut self, cfg: &NetworkConfig) -> bool {
        if !self.announced && self.all_connected(cfg) {
            self.announced = true;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conlink_config::{Link, LinkType, Target};

    fn cfg(n: usize) -> NetworkConfig {
        let link = Link {
            link_type: LinkType::Veth,
            target: Target::Service("s".into()),
            dev: "eth0".into(),
            bridge: Some("b".into()),
            outer_dev: None,
            ip: vec![],
            mac: None,
            mtu: None,
            route: vec![],
            nat: None,
            netem: None,
            mode: None,
            vlanid: None,
            forward: vec![],
            ethtool: vec![],
        };
        NetworkConfig { links: vec![link; n], ..Default::default() }
    }

    fn rec(indexes: &[usize], state: LinkState) -> ContainerRecord {
        ContainerRecord {
            name: "c".into(),
            engine: crate::engine::EngineKind::Docker,
            pid: 1,
            netns: None,
            inner: vec![],
            forwards: vec![],
            links: indexes
                .iter()
                .map(|&i| LinkRecord {
                    link_index: i,
                    dev: format!("eth{i}"),
                    outer: Some(format!("o{i}")),
                    ip: vec![],
                    state: state.clone(),
                    netem: None,
                    admin_down: false,
                })
                .collect(),
        }
    }

    #[test]
    fn connected_only_when_every_link_exists_somewhere() {
        let cfg = cfg(2);
        let mut t = Tracker::default();
        assert!(!t.all_connected(&cfg));
        t.set_container("a", rec(&[0], LinkState::Connected));
        assert!(!t.all_connected(&cfg));
        t.set_container("b", rec(&[1], LinkState::Connected));
        assert!(t.all_connected(&cfg));
        assert_eq!(t.outer_on_bridge(&cfg, "b").len(), 2);
    }

    #[test]
    fn a_failed_link_is_never_counted_as_connected() {
        let cfg = cfg(1);
        let mut t = Tracker::default();
        t.set_container("a", rec(&[0], LinkState::Connected));
        t.set_container("b", rec(&[0], LinkState::Failed("boom".into())));
        assert!(!t.all_connected(&cfg));
        t.remove_container("b");
        assert!(t.all_connected(&cfg));
    }

    #[test]
    fn replicas_still_being_connected_hold_the_announcement() {
        let cfg = cfg(1);
        let mut t = Tracker::default();
        t.mark_pending("a");
        t.mark_pending("b");
        t.set_container("a", rec(&[0], LinkState::Connected));
        assert!(!t.all_connected(&cfg), "replica b is still being connected");
        t.set_container("b", rec(&[0], LinkState::Connected));
        assert!(t.all_connected(&cfg));
        t.mark_pending("c");
        t.clear_pending("c"); // c turned out to have no links
        assert!(t.all_connected(&cfg));
    }

    #[test]
    fn announcement_happens_once() {
        let cfg = cfg(1);
        let mut t = Tracker::default();
        assert!(!t.announce_if_connected(&cfg));
        t.set_container("a", rec(&[0], LinkState::Connected));
        assert!(t.announce_if_connected(&cfg));
        assert!(!t.announce_if_connected(&cfg));
        t.remove_container("a");
        t.set_container("b", rec(&[0], LinkState::Connected));
        assert!(!t.announce_if_connected(&cfg), "announced once per run, not once per recovery");
    }

    #[test]
    fn an_outer_end_is_owned_by_the_other_container_only() {
        let mut t = Tracker::default();
        t.set_container("a", rec(&[0], LinkState::Connected));
        assert!(t.outer_owned_by_other("b", "o0"));
        assert!(!t.outer_owned_by_other("a", "o0"), "a container's own leftover may be replaced");
        assert!(!t.outer_owned_by_other("b", "o9"));
    }
}
