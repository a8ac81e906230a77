//! GraphViz dot: bridges (and tunnel ends) inside a cluster for conlink's
//! network namespace, host parent interfaces inside a "host" cluster, one
//! node per service/container (per running replica in a live graph), one edge
//! per link labelled with its interface, addresses and netem, coloured by state.

use super::draw::{state_colour, Drawing, Zone};
use super::model::State;

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

fn style(kind: &str) -> &'static str {
    match kind {
        "bridge" => "fillcolor=\"#c8badc\", color=\"#6e509f\"",
        "tunnel" | "remote" => "fillcolor=\"#a5f5a5\"",
        "host" => "fillcolor=\"#e8e8c8\", color=\"#af6b4e\"",
        "intf" => "shape=ellipse, fillcolor=\"#e8e8c8\"",
        "service" => "fillcolor=\"#c1d0d7\"",
        _ => "fillcolor=\"#dfe8f1\"",
    }
}

fn edge_style(state: State) -> &'static str {
    match state {
        State::Connected => "solid",
        State::Down => "dashed",
        State::Failed => "bold",
        State::Missing => "dotted",
    }
}

pub fn render(d: &Drawing) -> String {
    let mut out = String::from("digraph conlink {\n");
    out.push_str("  graph [compound=true, splines=true, fontname=\"Helvetica\"];\n");
    out.push_str("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=12];\n");
    out.push_str("  edge [dir=none, fontname=\"Helvetica\", fontsize=10];\n\n");
    let node = |n: &super::draw::DNode, indent: &str| {
        format!("{indent}{} [label={}, {}];\n", q(&n.id), q(&n.label.join("\n")), style(n.kind))
    };
    out.push_str("  subgraph cluster_conlink {\n    label=\"conlink network namespace\";\n    style=\"rounded,filled\"; fillcolor=\"#c5d1e7\"; color=\"#7396a0\";\n");
    for n in d.nodes.iter().filter(|n| n.zone == Zone::Conlink) {
        out.push_str(&node(n, "    "));
    }
    out.push_str("  }\n\n");
    if d.nodes.iter().any(|n| n.zone == Zone::Host) {
        out.push_str("  subgraph cluster_host {\n    label=\"host\";\n    style=\"rounded,filled\"; fillcolor=\"#f5f5f5\"; color=\"#666666\";\n");
        for n in d.nodes.iter().filter(|n| n.zone == Zone::Host) {
            out.push_str(&node(n, "    "));
        }
        out.push_str("  }\n\n");
    }
    for n in d.nodes.iter().filter(|n| n.zone == Zone::Outside) {
        out.push_str(&node(n, "  "));
    }
    out.push('\n');
    for e in &d.edges {
        let mut attrs = Vec::new();
        if !e.label.is_empty() {
            attrs.push(format!("label={}", q(&e.label.join("\n"))));
        }
        if let Some(s) = e.state {
            attrs.push(format!(
                "color={}, fontcolor={}, style={}",
                q(state_colour(s)),
                q(state_colour(s)),
                edge_style(s)
            ));
            let tip = match &e.error {
                Some(err) => format!("{}: {err}", s.as_str()),
                None => s.as_str().to_string(),
            };
            attrs.push(format!("tooltip={}", q(&tip)));
        }
        let attrs = if attrs.is_empty() { String::new() } else { format!(" [{}]", attrs.join(", ")) };
        out.push_str(&format!("  {} -> {}{attrs};\n", q(&e.from), q(&e.to)));
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(q("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }
}
