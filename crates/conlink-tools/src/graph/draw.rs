//! A `Topology` flattened into what every output format draws: nodes with
//! stable ids and label lines, edges between them. dot, mermaid, the JSON of
//! `conlink graph --format json` and the web page all draw this one list, so
//! they never disagree.

use super::model::{Kind, Link, State, Topology};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    /// conlink's network namespace: bridges and tunnel devices.
    Conlink,
    /// Host interfaces that *vlan/*vtap links hang off.
    Host,
    Outside,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DNode {
    pub id: String,
    /// bridge, service, container, host, tunnel, remote, intf
    pub kind: &'static str,
    pub name: String,
    pub label: Vec<String>,
    pub zone: Zone,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DEdge {
    pub from: String,
    pub to: String,
    pub label: Vec<String>,
    pub dev: Option<String>,
    pub ip: Vec<String>,
    pub state: Option<State>,
    pub netem: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Drawing {
    pub nodes: Vec<DNode>,
    pub edges: Vec<DEdge>,
}

/// Edge colours by state, shared by dot, mermaid and the page's legend.
pub fn state_colour(s: State) -> &'static str {
    match s {
        State::Connected => "#2e7d32",
        State::Down => "#ef6c00",
        State::Failed => "#c62828",
        State::Missing => "#9e9e9e",
    }
}

impl Drawing {
    fn add(&mut self, id: String, kind: &'static str, name: &str, label: Vec<String>, zone: Zone) -> String {
        if !self.nodes.iter().any(|n| n.id == id) {
            self.nodes.push(DNode { id: id.clone(), kind, name: name.to_string(), label, zone });
        }
        id
    }
}

fn link_label(link: &Link) -> Vec<String> {
    let mut first = link.dev.clone();
    if link.is_host_child() || link.link_type == "dummy" {
        first = format!("{} {first}", link.link_type);
        if let Some(id) = &link.vlanid {
            first.push_str(&format!(" (vlan {id})"));
        }
    }
    let mut label = vec![first];
    label.extend(link.ip.iter().cloned());
    if let Some(n) = &link.netem {
        label.push(format!("netem {n}"));
    }
    label
}

pub fn flatten(t: &Topology) -> Drawing {
    let mut d = Drawing::default();
    for (name, mode) in &t.bridges {
        let mut label = vec![format!("bridge {name}")];
        label.extend(mode.iter().map(|m| format!("({m})")));
        d.add(format!("bridge:{name}"), "bridge", name, label, Zone::Conlink);
    }
    for tun in &t.tunnels {
        let dev = format!("{}-{}", tun.tunnel_type, tun.vni);
        d.add(format!("tunnel:{dev}"), "tunnel", &dev, vec![dev.clone()], Zone::Conlink);
    }
    for link in t.links.iter().filter(|l| l.is_host_child()) {
        if let Some(p) = &link.outer_dev {
            d.add(format!("host:{p}"), "host", p, vec![format!("host interface {p}")], Zone::Host);
        }
    }
    let mut node_ids = Vec::with_capacity(t.nodes.len());
    for n in &t.nodes {
        let (word, kind) = match n.kind {
            Kind::Service => ("service", "service"),
            Kind::Container => ("container", "container"),
        };
        let mut label = vec![format!("{word} {}", n.name)];
        let id = match &n.instance {
            Some(inst) => {
                label.push(inst.clone());
                format!("{kind}:{}@{inst}", n.name)
            }
            None => format!("{kind}:{}", n.name),
        };
        node_ids.push(d.add(id, kind, &n.name, label, Zone::Outside));
    }
    for (i, link) in t.links.iter().enumerate() {
        let from = node_ids[link.node].clone();
        let to = if link.is_host_child() {
            link.outer_dev.as_ref().map(|p| format!("host:{p}"))
        } else {
            link.bridge.as_ref().map(|b| format!("bridge:{b}"))
        };
        // A link with nothing outside the container (dummy): a small interface node.
        let to = to.unwrap_or_else(|| {
            d.add(format!("intf:{i}"), "intf", &link.dev, vec![link.dev.clone()], Zone::Outside)
        });
        d.edges.push(DEdge {
            from,
            to,
            label: link_label(link),
            dev: Some(link.dev.clone()),
            ip: link.ip.clone(),
            state: link.state,
            netem: link.netem.clone(),
            error: link.error.clone(),
        });
    }
    for tun in &t.tunnels {
        let dev = format!("tunnel:{}-{}", tun.tunnel_type, tun.vni);
        let remote = d.add(
            format!("remote:{}", tun.remote),
            "remote",
            &tun.remote,
            vec![format!("remote host {}", tun.remote)],
            Zone::Outside,
        );
        let plain = |from: String, to: String, label: Vec<String>| DEdge {
            from,
            to,
            label,
            dev: None,
            ip: vec![],
            state: None,
            netem: None,
            error: None,
        };
        d.edges.push(plain(format!("bridge:{}", tun.bridge), dev.clone(), vec![]));
        d.edges.push(plain(dev, remote, vec![format!("{} vni {}", tun.tunnel_type, tun.vni)]));
    }
    d
}
