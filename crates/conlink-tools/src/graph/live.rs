//! A config topology overlaid with what the daemon reports: each configured
//! link becomes one edge per running container that has it (replicas get a
//! node each), coloured by its state; links no container has yet are kept as
//! `missing`, so a lab being brought up shows what is still to come.

use super::model::{Kind, State, Topology};

/// One link as `conlink status` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveLink {
    /// Index of the config link (`--show-config` top-level `links`), when the daemon tells it.
    pub link: Option<usize>,
    pub container: String,
    pub dev: String,
    pub ip: Vec<String>,
    pub state: State,
    pub netem: Option<String>,
    pub error: Option<String>,
}

pub fn overlay(cfg: &Topology, live: &[LiveLink]) -> Topology {
    let mut t = Topology { bridges: cfg.bridges.clone(), tunnels: cfg.tunnels.clone(), ..Default::default() };
    for (i, link) in cfg.links.iter().enumerate() {
        let node = &cfg.nodes[link.node];
        let matches = |l: &&LiveLink| match l.link {
            Some(n) => n == i,
            // A daemon that does not send the index: match containers by name.
            None => node.kind == Kind::Container && l.container == node.name && l.dev == link.dev,
        };
        let instances: Vec<&LiveLink> = live.iter().filter(matches).collect();
        if instances.is_empty() {
            let mut missing = link.clone();
            missing.node = t.node(node.kind, &node.name, None);
            missing.state = Some(State::Missing);
            t.links.push(missing);
        }
        for l in instances {
            let mut edge = link.clone();
            // A container link's container is named in the config; a service's replicas are not.
            let instance =
                (node.kind == Kind::Service || l.container != node.name).then_some(l.container.as_str());
            edge.node = t.node(node.kind, &node.name, instance);
            edge.state = Some(l.state);
            edge.error = l.error.clone();
            if l.netem.is_some() {
                edge.netem = l.netem.clone();
            }
            if !l.ip.is_empty() {
                edge.ip = l.ip.clone();
            }
            t.links.push(edge);
        }
    }
    t
}

/// Every configured link has a container and is connected.
pub fn all_connected(t: &Topology) -> bool {
    t.links.iter().all(|l| l.state == Some(State::Connected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::model::from_json;
    use serde_json::json;

    fn live(link: Option<usize>, container: &str, dev: &str, state: State) -> LiveLink {
        LiveLink {
            link,
            container: container.into(),
            dev: dev.into(),
            ip: vec![],
            state,
            netem: None,
            error: None,
        }
    }

    #[test]
    fn replicas_missing_links_and_states() {
        let cfg = from_json(&json!({"links": [
            {"service": "h", "dev": "eth0", "bridge": "s1", "ip": "192.0.2.10/24"},
            {"container": "r0", "dev": "e1", "bridge": "s1"},
            {"service": "x", "dev": "eth0", "bridge": "s1"}
        ]}))
        .unwrap();
        let mut h2 = live(Some(0), "p-h-2", "eth0", State::Down);
        h2.ip = vec!["192.0.2.11/24".into()];
        h2.netem = Some("delay 40ms".into());
        let mut r0 = live(None, "r0", "e1", State::Failed);
        r0.error = Some("kernel lacks netem".into());
        let t = overlay(&cfg, &[live(Some(0), "p-h-1", "eth0", State::Connected), h2, r0]);
        assert_eq!(t.links.len(), 4);
        let node = |i: usize| &t.nodes[t.links[i].node];
        assert_eq!(node(0).instance.as_deref(), Some("p-h-1"));
        assert_eq!(node(1).instance.as_deref(), Some("p-h-2"));
        assert_eq!(t.links[0].ip, ["192.0.2.10/24"]);
        assert_eq!(t.links[1].ip, ["192.0.2.11/24"], "replica address from the daemon");
        assert_eq!((t.links[1].state, t.links[1].netem.as_deref()), (Some(State::Down), Some("delay 40ms")));
        assert_eq!((node(2).name.as_str(), node(2).instance.as_deref()), ("r0", None));
        assert_eq!(t.links[2].error.as_deref(), Some("kernel lacks netem"));
        assert_eq!((node(3).name.as_str(), t.links[3].state), ("x", Some(State::Missing)));
        assert!(!all_connected(&t));
    }
}
