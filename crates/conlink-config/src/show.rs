//! `--show-config`: the enriched config as JSON in the original's shape, so
//! tools built on it (net2dot, scripts) keep working:
//! `{bridges:{NAME:{bridge,mode}}, tunnels:[…], links:[…], commands:[…],
//!   containers:{NAME:{links,commands}}, services:{NAME:{links,commands}}}`.

use serde_json::{json, Map, Value};

use crate::model::*;

pub fn show_config(cfg: &NetworkConfig) -> Value {
    let bridges: Map<String, Value> = cfg
        .bridges
        .values()
        .map(|b| (b.name.clone(), json!({"bridge": b.name, "mode": b.mode.as_str()})))
        .collect();
    let links: Vec<Value> = cfg.links.iter().map(link_json).collect();
    let commands: Vec<Value> = cfg.commands.iter().map(command_json).collect();
    let mut containers = Map::new();
    let mut services = Map::new();
    let group = |t: &Target| -> (bool, String) { (matches!(t, Target::Service(_)), t.name().to_string()) };
    for (l, lj) in cfg.links.iter().zip(&links) {
        let (is_svc, name) = group(&l.target);
        let m = if is_svc { &mut services } else { &mut containers };
        push_to(m, name, "links", lj.clone());
    }
    for (c, cj) in cfg.commands.iter().zip(&commands) {
        let (is_svc, name) = group(&c.target);
        let m = if is_svc { &mut services } else { &mut containers };
        push_to(m, name, "commands", cj.clone());
    }
    json!({
        "bridges": bridges,
        "tunnels": cfg.tunnels.iter().map(tunnel_json).collect::<Vec<_>>(),
        "links": links,
        "commands": commands,
        "containers": containers,
        "services": services,
        "nodes": cfg.nodes.iter().map(node_json).collect::<Vec<_>>(),
    })
}

fn push_to(m: &mut Map<String, Value>, name: String, key: &str, v: Value) {
    let e = m.entry(name).or_insert_with(|| json!({"links": [], "commands": []}));
    e[key].as_array_mut().expect("group entry has lists").push(v);
}

fn target_into(m: &mut Map<String, Value>, t: &Target) {
    match t {
        Target::Service(s) => m.insert("service".into(), json!(s)),
        Target::Container(c) => m.insert("container".into(), json!(c)),
    };
}

/// Where the outer end lives, named as in the original's `base`.
fn base(t: LinkType) -> &'static str {
    match t {
        LinkType::Veth => "conlink",
        t if t.has_host_parent() => "host",
        _ => "local",
    }
}

fn link_json(l: &Link) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(l.link_type.as_str()));
    target_into(&mut m, &l.target);
    m.insert("dev".into(), json!(l.dev));
    if let Some(b) = &l.bridge {
        m.insert("bridge".into(), json!(b));
    }
    if let Some(o) = &l.outer_dev {
        m.insert("outer-dev".into(), json!(o));
    }
    match l.ip.as_slice() {
        [] => {}
        [one] => {
            m.insert("ip".into(), json!(one.to_string()));
        }
        many => {
            m.insert("ip".into(), json!(many.iter().map(|n| n.to_string()).collect::<Vec<_>>()));
        }
    }
    if let Some(mac) = l.mac {
        m.insert("mac".into(), json!(mac.to_string()));
    }
    if let Some(mtu) = l.mtu {
        m.insert("mtu".into(), json!(mtu));
    }
    if !l.route.is_empty() {
        m.insert("route".into(), json!(l.route.iter().map(|r| r.raw.clone()).collect::<Vec<_>>()));
    }
    if let Some(nat) = l.nat {
        m.insert("nat".into(), json!(nat.to_string()));
    }
    if let Some(n) = &l.netem {
        m.insert("netem".into(), json!(n.raw));
    }
    if let Some(mode) = &l.mode {
        m.insert("mode".into(), json!(mode.to_string()));
    }
    if let Some(v) = l.vlanid {
        m.insert("vlanid".into(), json!(v.get()));
    }
    if !l.forward.is_empty() {
        let f: Vec<String> = l
            .forward
            .iter()
            .map(|f| format!("{}:{}/{}", f.conlink_port, f.container_port, f.proto.as_str()))
            .collect();
        m.insert("forward".into(), json!(f));
    }
    if !l.ethtool.is_empty() {
        m.insert("ethtool".into(), json!(l.ethtool.iter().map(|e| e.as_str()).collect::<Vec<_>>()));
    }
    m.insert("base".into(), json!(base(l.link_type)));
    Value::Object(m)
}

/// A command as written: a string, or a list.
fn command_line_json(c: &CommandLine) -> Value {
    match c {
        CommandLine::Shell(s) => json!(s),
        CommandLine::Argv(a) => json!(a),
    }
}

fn command_json(c: &Command) -> Value {
    let mut m = Map::new();
    target_into(&mut m, &c.target);
    m.insert("command".into(), command_line_json(&c.command));
    Value::Object(m)
}

fn node_json(n: &Node) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(n.name));
    if let Some(c) = &n.command {
        m.insert("command".into(), command_line_json(c));
    }
    Value::Object(m)
}

fn tunnel_json(t: &Tunnel) -> Value {
    let mut v = json!({"type": t.tunnel_type.as_str(), "bridge": t.bridge, "remote": t.remote.to_string(), "vni": t.vni});
    if let Some(n) = &t.netem {
        v["netem"] = json!(n.raw);
    }
    v
}
