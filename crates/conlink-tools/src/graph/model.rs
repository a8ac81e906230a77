//! The parts of `conlink --show-config` JSON that a drawing needs.
//!
//! Shape (SPEC §5): `{bridges:{NAME:{bridge,mode}}, tunnels:[{type,bridge,
//! remote,vni}], links:[…], containers:{NAME:{links,commands}}, services:{…}}`.
//! The top-level `links` and the grouped `services.*.links`/`containers.*.links`
//! hold the same links twice; the top-level list is read when present (its
//! order is the daemon's link index), the grouped form only without it.

use serde_json::{Map, Value};

#[derive(Debug, PartialEq, Clone, Copy)]
pub enum Kind {
    Service,
    Container,
}

#[derive(Debug, PartialEq, Clone)]
pub struct Node {
    pub kind: Kind,
    pub name: String,
    /// The running container of a service replica (live graphs only).
    pub instance: Option<String>,
}

/// What the daemon reports about a link; `None` in a graph drawn from config alone.
#[derive(Debug, PartialEq, Clone, Copy)]
pub enum State {
    Connected,
    Down,
    Failed,
    /// Configured, but no container for it is running (yet).
    Missing,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Connected => "connected",
            State::Down => "down",
            State::Failed => "failed",
            State::Missing => "missing",
        }
    }

    pub fn parse(s: &str) -> State {
        match s {
            "connected" => State::Connected,
            "down" => State::Down,
            "missing" => State::Missing,
            _ => State::Failed,
        }
    }
}

#[derive(Debug, PartialEq, Clone)]
pub struct Link {
    /// Index into `Topology::nodes`.
    pub node: usize,
    pub link_type: String,
    pub dev: String,
    pub ip: Vec<String>,
    pub bridge: Option<String>,
    pub outer_dev: Option<String>,
    pub vlanid: Option<String>,
    pub netem: Option<String>,
    pub state: Option<State>,
    pub error: Option<String>,
}

impl Link {
    /// macvlan/macvtap/ipvlan/ipvtap/vlan hang off a host interface.
    pub fn is_host_child(&self) -> bool {
        self.link_type.ends_with("vlan") || self.link_type.ends_with("vtap")
    }
}

#[derive(Debug, PartialEq, Clone)]
pub struct Tunnel {
    pub tunnel_type: String,
    pub bridge: String,
    pub remote: String,
    pub vni: String,
}

#[derive(Debug, Default, PartialEq, Clone)]
pub struct Topology {
    /// (name, mode) in config order; bridges only named by links/tunnels too.
    pub bridges: Vec<(String, Option<String>)>,
    pub nodes: Vec<Node>,
    /// In config order: with a top-level `links` list, `links[i]` is config link i.
    pub links: Vec<Link>,
    pub tunnels: Vec<Tunnel>,
}

pub(crate) fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A string or a list of strings (`ip`, `netem`): every item, in order.
fn texts(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items.iter().filter_map(|i| text(Some(i))).collect(),
        other => text(other).into_iter().collect(),
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
    match obj.get("links").and_then(Value::as_array) {
        Some(links) => {
            for (i, link) in links.iter().enumerate() {
                let link = link.as_object().ok_or_else(|| format!("links/{i} must be an object"))?;
                let (kind, name) = match (text(link.get("service")), text(link.get("container"))) {
                    (Some(s), _) => (Kind::Service, s),
                    (None, Some(c)) => (Kind::Container, c),
                    _ => return Err(format!("links/{i} has neither service nor container")),
                };
                let node = t.node(kind, &name, None);
                t.add_link(node, link);
            }
        }
        None => {
            for (key, kind) in [("services", Kind::Service), ("containers", Kind::Container)] {
                for (name, entry) in obj.get(key).and_then(Value::as_object).into_iter().flatten() {
                    let node = t.node(kind, name, None);
                    for link in entry.get("links").and_then(Value::as_array).into_iter().flatten() {
                        t.add_link(node, link.as_object().ok_or("link must be an object")?);
                    }
                }
            }
        }
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
    pub(crate) fn add_bridge(&mut self, name: &str, mode: Option<String>) {
        match self.bridges.iter_mut().find(|(n, _)| n == name) {
            Some(existing) if existing.1.is_none() => existing.1 = mode,
            Some(_) => {}
            None => self.bridges.push((name.to_string(), mode)),
        }
    }

    pub(crate) fn node(&mut self, kind: Kind, name: &str, instance: Option<&str>) -> usize {
        let same = |n: &Node| n.kind == kind && n.name == name && n.instance.as_deref() == instance;
        if let Some(i) = self.nodes.iter().position(same) {
            return i;
        }
        self.nodes.push(Node { kind, name: name.to_string(), instance: instance.map(String::from) });
        self.nodes.len() - 1
    }

    fn add_link(&mut self, node: usize, link: &Map<String, Value>) {
        let netem = texts(link.get("netem"));
        let link = Link {
            node,
            link_type: text(link.get("type")).unwrap_or_else(|| "veth".into()),
            dev: text(link.get("dev")).unwrap_or_else(|| "eth0".into()),
            ip: texts(link.get("ip")),
            bridge: text(link.get("bridge")),
            outer_dev: text(link.get("outer-dev")),
            vlanid: text(link.get("vlanid")),
            netem: (!netem.is_empty()).then(|| netem.join(" ")),
            state: None,
            error: None,
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
    fn grouped_form_without_top_level_links() {
        let cfg = json!({
            "bridges": {"s1": {"bridge": "s1", "mode": "linux"}},
            "tunnels": [{"type": "geneve", "bridge": "s2", "remote": "192.0.2.2", "vni": 1001}],
            "services": {"h1": {"links": [{"type": "veth", "dev": "eth0", "ip": "10.0.0.1/24", "bridge": "s1"}], "commands": []}},
            "containers": {"c1": {"links": [{"type": "macvlan", "dev": "m0", "outer-dev": "eth0"}], "commands": []}}
        });
        let t = from_json(&cfg).unwrap();
        let names: Vec<&str> = t.bridges.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["s1", "s2"]);
        assert_eq!(t.bridges[0].1.as_deref(), Some("linux"));
        assert_eq!(t.nodes.len(), 2);
        assert_eq!(t.links[0].ip, ["10.0.0.1/24"]);
        assert_eq!(t.links[1].outer_dev.as_deref(), Some("eth0"));
        assert!(t.links[1].is_host_child() && !t.links[0].is_host_child());
        assert_eq!(t.tunnels[0].vni, "1001");
    }

    #[test]
    fn top_level_links_win_over_the_grouped_copy() {
        let link = json!({"type": "veth", "service": "h1", "dev": "eth0", "bridge": "s1",
                          "ip": ["192.0.2.10/24", "2001:db8:1::10/64"], "netem": ["delay 10ms", "loss 1%"]});
        let cfg = json!({"links": [link], "services": {"h1": {"links": [link], "commands": []}}});
        let t = from_json(&cfg).unwrap();
        assert_eq!(t.links.len(), 1, "each link once");
        assert_eq!(t.links[0].ip, ["192.0.2.10/24", "2001:db8:1::10/64"]);
        assert_eq!(t.links[0].netem.as_deref(), Some("delay 10ms loss 1%"));
    }

    #[test]
    fn rejects_bad_shapes_with_the_path() {
        assert!(from_json(&json!([1])).is_err());
        assert_eq!(
            from_json(&json!({"links": [{"dev": "x"}]})).unwrap_err(),
            "links/0 has neither service nor container"
        );
        assert_eq!(from_json(&json!({"links": [3]})).unwrap_err(), "links/0 must be an object");
    }
}
