//! GraphViz dot for a `Topology`: bridges (and tunnel ends) inside a cluster
//! for conlink's network namespace, host parent interfaces inside a "host"
//! cluster, one node per service/container, one edge per link labelled with
//! its interface name and address.

use super::model::{Kind, Link, Topology};

/// A dot double-quoted string (IDs and labels). `\n` in `s` becomes a dot
/// line break; quotes and backslashes are escaped.
fn q(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

fn node_id(kind: Kind, name: &str) -> String {
    match kind {
        Kind::Service => q(&format!("service:{name}")),
        Kind::Container => q(&format!("container:{name}")),
    }
}

fn link_label(link: &Link) -> String {
    let mut label = link.dev.clone();
    if link.is_host_child() || link.link_type == "dummy" {
        label = format!("{} {label}", link.link_type);
        if let Some(id) = &link.vlanid {
            label.push_str(&format!(" (vlan {id})"));
        }
    }
    if let Some(ip) = &link.ip {
        label.push('\n');
        label.push_str(ip);
    }
    label
}

pub fn render(t: &Topology) -> String {
    let mut out = String::from("digraph conlink {\n");
    out.push_str("  graph [compound=true, splines=true, fontname=\"Helvetica\"];\n");
    out.push_str("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=12];\n");
    out.push_str("  edge [dir=none, fontname=\"Helvetica\", fontsize=10];\n\n");

    out.push_str("  subgraph cluster_conlink {\n    label=\"conlink network namespace\";\n    style=\"rounded,filled\"; fillcolor=\"#c5d1e7\"; color=\"#7396a0\";\n");
    for (name, mode) in &t.bridges {
        let label = match mode {
            Some(m) => format!("bridge {name}\n({m})"),
            None => format!("bridge {name}"),
        };
        out.push_str(&format!(
            "    {} [label={}, fillcolor=\"#c8badc\", color=\"#6e509f\"];\n",
            q(&format!("bridge:{name}")),
            q(&label)
        ));
    }
    for tun in &t.tunnels {
        let dev = format!("{}-{}", tun.tunnel_type, tun.vni);
        out.push_str(&format!(
            "    {} [label={}, fillcolor=\"#a5f5a5\"];\n",
            q(&format!("tunnel:{dev}")),
            q(&dev)
        ));
    }
    out.push_str("  }\n\n");

    let parents: Vec<&str> =
        unique(t.links.iter().filter(|l| l.is_host_child()).filter_map(|l| l.outer_dev.as_deref()));
    if !parents.is_empty() {
        out.push_str("  subgraph cluster_host {\n    label=\"host\";\n    style=\"rounded,filled\"; fillcolor=\"#f5f5f5\"; color=\"#666666\";\n");
        for p in &parents {
            out.push_str(&format!(
                "    {} [label={}, fillcolor=\"#e8e8c8\", color=\"#af6b4e\"];\n",
                q(&format!("host:{p}")),
                q(&format!("host interface {p}"))
            ));
        }
        out.push_str("  }\n\n");
    }

    for n in &t.nodes {
        let (word, fill) = match n.kind {
            Kind::Service => ("service", "#c1d0d7"),
            Kind::Container => ("container", "#dfe8f1"),
        };
        out.push_str(&format!(
            "  {} [label={}, fillcolor=\"{fill}\"];\n",
            node_id(n.kind, &n.name),
            q(&format!("{word} {}", n.name))
        ));
    }
    out.push('\n');

    for (i, link) in t.links.iter().enumerate() {
        let node = &t.nodes[link.node];
        let from = node_id(node.kind, &node.name);
        let label = q(&link_label(link));
        let target = if link.is_host_child() {
            link.outer_dev.as_ref().map(|p| q(&format!("host:{p}")))
        } else {
            link.bridge.as_ref().map(|b| q(&format!("bridge:{b}")))
        };
        match target {
            Some(to) => out.push_str(&format!("  {from} -> {to} [label={label}];\n")),
            None => {
                // A link with nothing outside the container (dummy): drawn as
                // a small interface node next to its container.
                let id = q(&format!("intf:{i}"));
                out.push_str(&format!(
                    "  {id} [label={}, shape=ellipse, fillcolor=\"#e8e8c8\"];\n",
                    q(&link.dev)
                ));
                out.push_str(&format!("  {from} -> {id} [label={label}];\n"));
            }
        }
    }
    for tun in &t.tunnels {
        let dev = q(&format!("tunnel:{}-{}", tun.tunnel_type, tun.vni));
        let remote = q(&format!("remote:{}", tun.remote));
        out.push_str(&format!(
            "  {remote} [label={}, fillcolor=\"#a5f5a5\"];\n",
            q(&format!("remote host {}", tun.remote))
        ));
        out.push_str(&format!("  {} -> {dev};\n", q(&format!("bridge:{}", tun.bridge))));
        out.push_str(&format!(
            "  {dev} -> {remote} [label={}];\n",
            q(&format!("{} vni {}", tun.tunnel_type, tun.vni))
        ));
    }
    out.push_str("}\n");
    out
}

fn unique<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(q("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }
}
