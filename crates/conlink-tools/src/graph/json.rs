//! `conlink graph --format json` and the live page's `/graph.json`: the
//! drawing as plain nodes and edges, each edge with its state.

use serde_json::{json, Value};

use super::draw::{Drawing, Zone};

pub fn render(d: &Drawing) -> Value {
    let nodes: Vec<Value> = d
        .nodes
        .iter()
        .map(|n| {
            let zone = match n.zone {
                Zone::Conlink => "conlink",
                Zone::Host => "host",
                Zone::Outside => "outside",
            };
            json!({"id": n.id, "kind": n.kind, "name": n.name, "label": n.label, "zone": zone})
        })
        .collect();
    let edges: Vec<Value> = d
        .edges
        .iter()
        .map(|e| {
            json!({"from": e.from, "to": e.to, "label": e.label, "dev": e.dev, "ip": e.ip,
                   "state": e.state.map(|s| s.as_str()), "netem": e.netem, "error": e.error})
        })
        .collect();
    json!({"nodes": nodes, "edges": edges})
}
