//! Which hosts the mesh reaches: the swarm's ready nodes other than our
//! own, by the address each advertises. Pure, so joins, leaves, address
//! changes and odd API answers are unit-tested.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// One swarm node as the mesh needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    pub id: String,
    /// For log lines: the node's hostname.
    pub hostname: String,
    pub addr: Option<IpAddr>,
    pub health: Health,
}

/// A node's `Status.State`, as far as tunnels go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// `ready`: gets tunnels.
    Ready,
    /// `down` (stopped, left, lost its heartbeat): loses them.
    Down,
    /// `unknown`/`disconnected`: after a leader change every node is
    /// `unknown` until it re-registers; tunnels are kept as they are, so a
    /// manager election does not tear the mesh down.
    Unsure,
}

/// The address a node advertises. Managers that listen on 0.0.0.0 report
/// `Status.Addr` 0.0.0.0; their `ManagerStatus.Addr` (`IP:2377`) has the
/// real one.
pub fn node_addr(status_addr: Option<&str>, manager_addr: Option<&str>) -> Option<IpAddr> {
    let status = status_addr.and_then(|a| a.parse::<IpAddr>().ok()).filter(|a| !a.is_unspecified());
    status.or_else(|| {
        let m = manager_addr?;
        let host = m.rsplit_once(':').map_or(m, |(h, _)| h);
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()
            .filter(|a: &IpAddr| !a.is_unspecified())
    })
}

/// Peer address → node label ("hostname (id)"): every ready node but
/// `self_id`, plus the `current` peers whose state is unsure. Nodes that are
/// down or no longer listed are left out.
pub fn desired_peers(
    nodes: &[NodeView],
    self_id: &str,
    self_addr: IpAddr,
    current: &BTreeMap<IpAddr, String>,
) -> BTreeMap<IpAddr, String> {
    nodes
        .iter()
        .filter(|n| n.id != self_id)
        .filter_map(|n| Some((n.addr?, n)))
        .filter(|(addr, n)| match n.health {
            Health::Ready => true,
            Health::Unsure => current.contains_key(addr),
            Health::Down => false,
        })
        .map(|(addr, n)| (addr, format!("{} ({})", n.hostname, short_id(&n.id))))
        .filter(|(addr, _)| *addr != self_addr)
        .collect()
}

/// What to change to go from `current` to `desired` peers.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PeerChange {
    pub add: Vec<(IpAddr, String)>,
    pub remove: Vec<(IpAddr, String)>,
}

impl PeerChange {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

pub fn diff(current: &BTreeMap<IpAddr, String>, desired: &BTreeMap<IpAddr, String>) -> PeerChange {
    PeerChange {
        add: desired.iter().filter(|(a, _)| !current.contains_key(a)).map(|(a, n)| (*a, n.clone())).collect(),
        remove: current
            .iter()
            .filter(|(a, _)| !desired.contains_key(a))
            .map(|(a, n)| (*a, n.clone()))
            .collect(),
    }
}

fn short_id(id: &str) -> &str {
    &id[..id.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, addr: &str, health: Health) -> NodeView {
        NodeView { id: id.into(), hostname: format!("host-{id}"), addr: addr.parse().ok(), health }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn address_falls_back_to_the_manager_address() {
        assert_eq!(node_addr(Some("198.51.100.12"), None), Some(ip("198.51.100.12")));
        assert_eq!(node_addr(Some("0.0.0.0"), Some("198.51.100.11:2377")), Some(ip("198.51.100.11")));
        assert_eq!(node_addr(None, Some("[2001:db8::1]:2377")), Some(ip("2001:db8::1")));
        assert_eq!(node_addr(Some("0.0.0.0"), Some("0.0.0.0:2377")), None);
        assert_eq!(node_addr(Some("garbage"), None), None);
    }

    #[test]
    fn peers_are_the_ready_others() {
        let nodes = [
            node("self", "198.51.100.11", Health::Ready),
            node("b", "198.51.100.12", Health::Ready),
            node("c", "198.51.100.13", Health::Down),
            node("d", "nope", Health::Ready),
            node("e", "198.51.100.11", Health::Ready),
            node("f", "198.51.100.16", Health::Unsure),
        ];
        let p = desired_peers(&nodes, "self", ip("198.51.100.11"), &BTreeMap::new());
        assert_eq!(p.keys().copied().collect::<Vec<_>>(), vec![ip("198.51.100.12")]);
        assert_eq!(p[&ip("198.51.100.12")], "host-b (b)");
    }

    #[test]
    fn unsure_nodes_keep_their_tunnels_down_and_unlisted_ones_lose_them() {
        let current: BTreeMap<IpAddr, String> = [
            (ip("198.51.100.12"), "b".to_string()),
            (ip("198.51.100.13"), "c".to_string()),
            (ip("198.51.100.14"), "gone".to_string()),
        ]
        .into();
        // What a manager lists right after a leader election: everyone unknown.
        let nodes = [
            node("self", "198.51.100.11", Health::Unsure),
            node("b", "198.51.100.12", Health::Unsure),
            node("c", "198.51.100.13", Health::Down),
        ];
        let p = desired_peers(&nodes, "self", ip("198.51.100.11"), &current);
        assert_eq!(p.keys().copied().collect::<Vec<_>>(), vec![ip("198.51.100.12")]);
    }

    #[test]
    fn diff_adds_joins_and_removes_leaves_and_moves() {
        let cur: BTreeMap<IpAddr, String> =
            [(ip("198.51.100.12"), "b".to_string()), (ip("198.51.100.13"), "c".to_string())].into();
        let want: BTreeMap<IpAddr, String> =
            [(ip("198.51.100.12"), "b".to_string()), (ip("198.51.100.14"), "c".to_string())].into();
        let d = diff(&cur, &want);
        assert_eq!(d.add, vec![(ip("198.51.100.14"), "c".to_string())]);
        assert_eq!(d.remove, vec![(ip("198.51.100.13"), "c".to_string())]);
        assert!(diff(&want, &want).is_empty());
    }
}
