//! Mermaid flowchart (pastes into GitHub markdown, mermaid.live, drawio's
//! mermaid import): the same nodes and edges as dot, edges coloured by state
//! with `linkStyle`.

use super::draw::{state_colour, Drawing, Zone};

/// Mermaid ids allow only a few characters: every node gets `nN`.
fn ids(d: &Drawing) -> impl Fn(&str) -> String + '_ {
    move |id: &str| format!("n{}", d.nodes.iter().position(|n| n.id == id).expect("edge ends are nodes"))
}

/// A double-quoted mermaid label: quotes and markup characters as entities,
/// lines joined with `<br/>`.
fn label(lines: &[String]) -> String {
    let esc: Vec<String> = lines
        .iter()
        .map(|l| {
            l.chars()
                .map(|c| match c {
                    '"' => "#quot;".to_string(),
                    '<' => "#lt;".to_string(),
                    '>' => "#gt;".to_string(),
                    '#' => "#35;".to_string(),
                    '|' => "#124;".to_string(),
                    c => c.to_string(),
                })
                .collect()
        })
        .collect();
    format!("\"{}\"", esc.join("<br/>"))
}

fn shape(kind: &str, text: &str) -> String {
    match kind {
        "bridge" => format!("[[{text}]]"),
        "intf" => format!("(({text}))"),
        "remote" | "tunnel" => format!("{{{{{text}}}}}"),
        _ => format!("({text})"),
    }
}

pub fn render(d: &Drawing) -> String {
    let id = ids(d);
    let mut out = String::from("flowchart TB\n");
    let node = |n: &super::draw::DNode| format!("{}{}", id(&n.id), shape(n.kind, &label(&n.label)));
    for (zone, sid, title) in
        [(Zone::Conlink, "conlink", "conlink network namespace"), (Zone::Host, "host", "host")]
    {
        let members: Vec<_> = d.nodes.iter().filter(|n| n.zone == zone).collect();
        if members.is_empty() {
            continue;
        }
        out.push_str(&format!("  subgraph {sid}[\"{title}\"]\n"));
        for n in members {
            out.push_str(&format!("    {}\n", node(n)));
        }
        out.push_str("  end\n");
    }
    for n in d.nodes.iter().filter(|n| n.zone == Zone::Outside) {
        out.push_str(&format!("  {}\n", node(n)));
    }
    for e in &d.edges {
        let arrow = if e.label.is_empty() { "---".to_string() } else { format!("---|{}|", label(&e.label)) };
        out.push_str(&format!("  {} {arrow} {}\n", id(&e.from), id(&e.to)));
    }
    for (i, e) in d.edges.iter().enumerate() {
        if let Some(s) = e.state {
            out.push_str(&format!("  linkStyle {i} stroke:{},stroke-width:2px\n", state_colour(s)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_escape_markup() {
        assert_eq!(label(&["a\"b".into(), "<x>|#".into()]), "\"a#quot;b<br/>#lt;x#gt;#124;#35;\"");
    }
}
