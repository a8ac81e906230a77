//! The parts of `conlink --show-config` JSON that a drawing needs.
//!
//! Shape (SPEC §5): `{bridges:{NAME:{bridge,mode}}, tunnels:[{type,bridge,
//! remote,vni}], containers:{NAME:{links,commands}}, services:{…}}`. The
//! original's older flat form (top-level `links`, each naming its `service`
//! or `container`) is accepted too.

use serde_json::{Map, Value};

#[derive(Debug, PartialEq, Clone, Copy)]
pub enum Kind {
    Service,
    Container,
}

#[derive(Debug, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub name: String,
}

#[derive(Debug, PartialEq)]
pub struct Link {
    /// Index into `Topology::nodes`.
    pub node: usize,
    pub link_type: String,
    pub dev: String,
    pub ip: Option<String>,
    pub bridge: Option<String>,
    pub outer_dev: Option<String>,
    pub vlanid: Option<String>,
}

impl Link {
    /// macvlan/macvtap/ipvlan/ipvtap/vlan hang off a host interface.
    pub fn is_host_child(&self) -> bool {
        self.link_type.ends_with("vlan") || self.link_type.ends_with("vtap")
    }
}

#[derive(Debug, PartialEq)]
pub struct Tunnel {
    pub tunnel_type: String,
    pub bridge: String,
    pub remote: String,
    pub vni: String,
}

#[derive(Debug, Default, PartialEq)]
pub struct Topology {
    /// (name, mode) in config order; bridges only named by links/tunnels too.
    pub bridges: Vec<(String, Option<String>)>,
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
    pub tunnels: Vec<Tunnel>,
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn from_json(cfg: &Value) -> Result<Topology, String> {
    let obj = cfg.as_object().ok_or("show-config JSON must be an object")?;
    let mut t = Topology::default();
    if let Some(bridges) = obj.get("bridges").and_then(Value::as_object) {
        for (name, b) in bridges {
            t.add_bridge(&text(b.get("bridge")).unwrap_or_else(|| name.clone()), text(b.get("mode")));
        }
    }
    for (key, kind) in [("services", Kind::Service), ("containers", Kind::Container)] {
        for (name, entry) in obj.get(key).and_then(Value::as_object).into_iter().flatten() {
            let node = t.node(kind, name);
            for link in entry.get("links").and_then(Value::as_array).into_iter().flatten() {
                t.add_link(node, link.as_object().ok_or("link must be an object")?);
            }
        }
    }
    for link in obj.get("links").and_then(Value::as_array).into_iter().flatten() {
        let link = link.as_object().ok_or("link must be an object")?;
        let (kind, name) = match (text(link.get("service")), text(link.get("container"))) {
            (Some(s), _) => (Kind::Service, s),
            (None, Some(c)) => (Kind::Container, c),
            _ => return Err("link without service or container".into()),
        };
        let node = t.node(kind, &name);
        t.add_link(node, link);
    }
    for tun in obj.get("tunnels").and_then(Value::as_array).into_iter().flatten() {
        let field = |k: &str| text(tun.get(k)).ok_or_else(|| format!("tunnel without '{k}'"));
        let tunnel = Tunnel {
            tunnel_type: field("type")?,
            bridge: field("bridge")?,
            remote: field("remote")?,
            vni: field("vni")?,
        };
        t.add_bridge(&tunnel.bridge, None);
        t.tunnels.push(tunnel);
    }
    Ok(t)
}

impl Topology {
    fn add_bridge(&mut self, name: &str, mode: Option<String>) {
        match self.bridges.iter_mut().find(|(n, _)| n == name) {
            Some(existing) if existing.1.is_none() => existing.1 = mode,
            Some(_) => {}
            None => self.bridges.push((name.to_string(), mode)),
        }
    }

    fn node(&mut self, kind: Kind, name: &str) -> usize {
        if let Some(i) = self.nodes.iter().position(|n| n.kind == kind && n.name == name) {
            return i;
        }
        self.nodes.push(Node { kind, name: name.to_string() });
        self.nodes.len() - 1
    }

    fn add_link(&mut self, node: usize, link: &Map<String, Value>) {
        let link = Link {
            node,
            link_type: text(link.get("type")).unwrap_or_else(|| "veth".into()),
            dev: text(link.get("dev")).unwrap_or_else(|| "eth0".into()),
            ip: text(link.get("ip")),
            bridge: text(link.get("bridge")),
            outer_dev: text(link.get("outer-dev")),
            vlanid: text(link.get("vlanid")),
        };
        if let Some(b) = &link.bridge {
            self.add_bridge(&b.clone(), None);
        }
        self.links.push(link);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn grouped_and_flat_forms() {
        let cfg = json!({
            "bridges": {"s1": {"bridge": "s1", "mode": "linux"}},
            "tunnels": [{"type": "geneve", "bridge": "s2", "remote": "192.0.2.2", "vni": 1001}],
            "services": {"h1": {"links": [{"type": "veth", "dev": "eth0", "ip": "10.0.0.1/24", "bridge": "s1"}], "commands": []}},
            "containers": {"c1": {"links": [{"type": "macvlan", "dev": "m0", "outer-dev": "eth0"}], "commands": []}},
            "links": [{"service": "h2", "bridge": "s3"}]
        });
        let t = from_json(&cfg).unwrap();
        let names: Vec<&str> = t.bridges.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["s1", "s3", "s2"]);
        assert_eq!(t.bridges[0].1.as_deref(), Some("linux"));
        assert_eq!(t.nodes.len(), 3);
        assert_eq!(t.links[1].outer_dev.as_deref(), Some("eth0"));
        assert!(t.links[1].is_host_child() && !t.links[0].is_host_child());
        assert_eq!(t.links[2].dev, "eth0");
        assert_eq!(t.tunnels[0].vni, "1001");
    }

    #[test]
    fn rejects_non_object() {
        assert!(from_json(&json!([1])).is_err());
    }
}
