//! What conlink has built, per container, and whether the whole topology is up.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use conlink_config::{NetworkConfig, Target};

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
    /// Id → what to call it (its name once known).
    pending: HashMap<String, String>,
    announced: bool,
    /// Links of services behind inactive compose profiles: not waited for.
    not_awaited: BTreeSet<usize>,
}

/// One reason the topology is not complete yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waiting {
    /// No tracked container has these links (of this service or container) yet.
    NoContainer { target: Target, devs: Vec<String> },
    /// Seen, and its links are still being built.
    Connecting { container: String },
    /// Its link failed (the error as recorded).
    Failed { container: String, dev: String, error: String },
}

impl fmt::Display for Waiting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Waiting::NoContainer { target: Target::Service(s), devs } => {
                write!(f, "service {s}: no container yet ({})", devs.join(", "))
            }
            Waiting::NoContainer { target: Target::Container(c), devs } => {
                write!(f, "container {c}: not running yet ({})", devs.join(", "))
            }
            Waiting::Connecting { container } => {
                write!(f, "container {container}: links still being created")
            }
            Waiting::Failed { container, dev, error } => {
                write!(f, "container {container}: link {dev} failed: {}", cut(error, 200))
            }
        }
    }
}

/// `s` cut to `max` characters, so one reason cannot fill the log line.
fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

impl Tracker {
    /// A tracker that does not wait for the links `not_awaited` (indexes into the config's links).
    pub fn not_awaiting(not_awaited: BTreeSet<usize>) -> Tracker {
        Tracker { not_awaited, ..Default::default() }
    }

    pub fn set_container(&mut self, id: &str, record: ContainerRecord) {
        self.pending.remove(id);
        self.containers.insert(id.to_string(), record);
    }

    pub fn mark_pending(&mut self, id: &str) {
        let short: String = id.chars().take(12).collect();
        self.pending.entry(id.to_string()).or_insert(short);
    }

    /// Names a pending container for progress lines, once its name is known.
    pub fn name_pending(&mut self, id: &str, name: &str) {
        if let Some(label) = self.pending.get_mut(id) {
            *label = name.to_string();
        }
    }

    pub fn clear_pending(&mut self, id: &str) {
        self.pending.remove(id);
    }

    pub fn remove_container(&mut self, id: &str) -> Option<ContainerRecord> {
        self.containers.remove(id)
    }

    pub fn container(&self, id: &str) -> Option<&ContainerRecord> {
        self.containers.get(id)
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

    /// The definition of "All links connected": every configured link (but those
    /// behind inactive profiles) exists in at least one running container, no tracked
    /// link has failed, and no container seen is still being connected. (Tunnels
    /// exist before any container is handled.)
    /// (Kept cheap: it runs after every change. [`Tracker::waiting_for`] says the same
    /// at length, for progress lines.)
    pub fn all_connected(&self, cfg: &NetworkConfig) -> bool {
        if !self.pending.is_empty() {
            return false;
        }
        let links = || self.containers.values().flat_map(|c| c.links.iter());
        if links().any(|l| l.state != LinkState::Connected) {
            return false;
        }
        let mut present = vec![false; cfg.links.len()];
        for l in links() {
            if let Some(p) = present.get_mut(l.link_index) {
                *p = true;
            }
        }
        present.iter().enumerate().all(|(i, p)| *p || self.not_awaited.contains(&i))
    }

    /// Everything "All links connected" still waits for, in a stable order:
    /// containers being connected, failed links, then links without a container.
    pub fn waiting_for(&self, cfg: &NetworkConfig) -> Vec<Waiting> {
        let mut out: Vec<Waiting> = Vec::new();
        let mut connecting: Vec<&String> = self.pending.values().collect();
        connecting.sort();
        out.extend(connecting.into_iter().map(|c| Waiting::Connecting { container: c.clone() }));
        let mut failed: Vec<Waiting> = self
            .containers
            .values()
            .flat_map(|c| c.links.iter().map(move |l| (c, l)))
            .filter_map(|(c, l)| match &l.state {
                LinkState::Failed(e) => {
                    Some(Waiting::Failed { container: c.name.clone(), dev: l.dev.clone(), error: e.clone() })
                }
                LinkState::Connected => None,
            })
            .collect();
        failed.sort_by_key(|w| w.to_string());
        out.extend(failed);
        let present: BTreeSet<usize> =
            self.containers.values().flat_map(|c| c.links.iter().map(|l| l.link_index)).collect();
        // Grouped by target, in config order of each target's first link.
        let mut missing: Vec<(Target, Vec<String>)> = Vec::new();
        let mut slot: HashMap<&Target, usize> = HashMap::new();
        for (i, link) in cfg.links.iter().enumerate() {
            if present.contains(&i) || self.not_awaited.contains(&i) {
                continue;
            }
            let at = *slot.entry(&link.target).or_insert_with(|| {
                missing.push((link.target.clone(), Vec::new()));
                missing.len() - 1
            });
            missing[at].1.push(link.dev.clone());
        }
        out.extend(missing.into_iter().map(|(target, devs)| Waiting::NoContainer { target, devs }));
        out
    }

    /// Whether "All links connected" has been said.
    pub fn announced(&self) -> bool {
        self.announced
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
    use conlink_config::Link;

    fn cfg(n: usize) -> NetworkConfig {
        let link = Link::veth(Target::Service("s".into()), "eth0", "b");
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

    #[test]
    fn links_behind_inactive_profiles_are_not_awaited() {
        let cfg = cfg(2);
        let mut t = Tracker::not_awaiting([1].into());
        assert!(!t.all_connected(&cfg));
        t.set_container("a", rec(&[0], LinkState::Connected));
        assert!(t.all_connected(&cfg), "link 1 belongs to an inactive service");
        t.set_container("b", rec(&[1], LinkState::Failed("x".into())));
        assert!(!t.all_connected(&cfg), "started anyway and failed: that is waited for");
    }

    #[test]
    fn waiting_for_names_each_reason() {
        let mut cfg = cfg(3);
        cfg.links[1].target = Target::Service("h2".into());
        cfg.links[2].target = Target::Container("lab-r1".into());
        cfg.links[2].dev = "eth5".into();
        let mut t = Tracker::default();
        t.mark_pending("0123456789abcdef");
        t.mark_pending("fedcba9876543210");
        t.name_pending("fedcba9876543210", "lab-h3-1");
        let mut failed = rec(&[0], LinkState::Failed("bridge s1 does not exist".into()));
        failed.name = "lab-h1-1".into();
        t.set_container("c1", failed);
        let shown: Vec<String> = t.waiting_for(&cfg).iter().map(|w| w.to_string()).collect();
        assert_eq!(
            shown,
            [
                "container 0123456789ab: links still being created",
                "container lab-h3-1: links still being created",
                "container lab-h1-1: link eth0 failed: bridge s1 does not exist",
                "service h2: no container yet (eth0)",
                "container lab-r1: not running yet (eth5)",
            ]
        );
        let long = Waiting::Failed { container: "c".into(), dev: "eth0".into(), error: "x".repeat(1000) };
        assert!(long.to_string().chars().count() < 250);
        t.clear_pending("0123456789abcdef");
        t.clear_pending("fedcba9876543210");
        t.set_container("c1", rec(&[0, 1, 2], LinkState::Connected));
        assert!(t.waiting_for(&cfg).is_empty());
        assert!(t.all_connected(&cfg));
    }

    #[test]
    fn all_connected_agrees_with_waiting_for() {
        let cfg = cfg(3);
        type Step = Box<dyn Fn(&mut Tracker)>;
        let steps: Vec<Step> = vec![
            Box::new(|t| t.mark_pending("p")),
            Box::new(|t| t.set_container("p", rec(&[0], LinkState::Connected))),
            Box::new(|t| t.set_container("q", rec(&[1], LinkState::Failed("e".into())))),
            Box::new(|t| t.set_container("q", rec(&[1], LinkState::Connected))),
            Box::new(|t| t.set_container("r", rec(&[2], LinkState::Connected))),
            Box::new(|t| drop(t.remove_container("p"))),
        ];
        for not_awaited in [BTreeSet::new(), BTreeSet::from([0]), BTreeSet::from([1, 2])] {
            let mut t = Tracker::not_awaiting(not_awaited);
            for step in &steps {
                step(&mut t);
                assert_eq!(
                    t.all_connected(&cfg),
                    t.waiting_for(&cfg).is_empty(),
                    "{:?}",
                    t.waiting_for(&cfg)
                );
            }
        }
    }
}
