//! `net2dot`: dot output for show-config JSON, and GraphViz accepts it.
//! The test1, dual-stack and netns-router fixtures are real `--show-config`
//! output (top-level `links` and the grouped copy both present), made with
//! `conlink --compose-file examples/test1-compose.yaml --show-config` (likewise
//! for examples/dual-stack-compose.yaml and `--network-file examples/netns-router.yaml`).
//! mixed-show-config.json is hand-written: the grouped-only form, tunnels,
//! host parents and quoting.

mod common;

use common::*;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn pipe(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // A tool that refuses its arguments exits without reading stdin: a broken pipe is its answer, not ours.
    if let Err(e) = child.stdin.take().unwrap().write_all(input) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "writing the tool's stdin: {e}");
    }
    child.wait_with_output().unwrap()
}

fn net2dot(fixture_name: &str) -> String {
    net2dot_as(fixture_name, &[])
}

fn net2dot_as(fixture_name: &str, args: &[&str]) -> String {
    let input = std::fs::read(fixture(fixture_name)).unwrap();
    let out = pipe(tool("net2dot").args(args), &input);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

/// `dot -Tsvg` on `graph`; None (with the reason printed) if dot is missing.
fn render_svg(graph: &str) -> Option<String> {
    if Command::new("dot").arg("-V").output().is_err() {
        eprintln!("SKIP dot -Tsvg check: graphviz 'dot' is not installed (apt-get install -y graphviz)");
        return None;
    }
    let out = pipe(Command::new("dot").arg("-Tsvg"), graph.as_bytes());
    assert!(out.status.success(), "dot rejected the graph: {}\n{graph}", stderr(&out));
    Some(stdout(&out))
}

#[test]
fn test1_topology() {
    let dot = net2dot("test1-show-config.json");
    assert!(dot.starts_with("digraph conlink {"));
    for b in ["s1", "s2", "s3"] {
        assert!(dot.contains(&format!("\"bridge:{b}\" [label=\"bridge {b}\\n(linux)\"")), "{dot}");
    }
    for s in ["h1", "h2", "h3", "r0"] {
        assert!(dot.contains(&format!("\"service:{s}\" [label=\"service {s}\"")), "{dot}");
    }
    assert!(dot.contains("\"service:h1\" -> \"bridge:s1\" [label=\"eth0\\n192.168.1.100/24\"]"), "{dot}");
    assert!(dot.contains("\"service:r0\" -> \"bridge:s3\" [label=\"eth-s3\\n10.0.0.1/8\"]"), "{dot}");
    assert_eq!(dot.matches(" -> ").count(), 6, "one edge per link, not one per copy in the JSON");
    if let Some(svg) = render_svg(&dot) {
        assert!(svg.contains("<svg") && svg.contains("service h1") && svg.contains("192.168.1.100/24"));
    }
}

#[test]
fn dual_stack_links_keep_both_addresses() {
    let dot = net2dot("dual-stack-show-config.json");
    assert_eq!(dot.matches(" -> ").count(), 4, "{dot}");
    assert!(
        dot.contains("\"service:h\" -> \"bridge:s1\" [label=\"eth0\\n192.0.2.10/24\\n2001:db8:1::10/64\"]"),
        "{dot}"
    );
    assert!(
        dot.contains(
            "\"service:r0\" -> \"bridge:s2\" [label=\"eth-s2\\n198.51.100.1/24\\n2001:db8:2::1/64\"]"
        ),
        "{dot}"
    );
    if let Some(svg) = render_svg(&dot) {
        assert!(svg.contains("2001:db8:1::10/64") && svg.contains("192.0.2.10/24"));
    }
    // Container links of the netns runtime: six links, two addresses each.
    let dot = net2dot("netns-router-show-config.json");
    assert_eq!(dot.matches(" -> ").count(), 6, "{dot}");
    assert!(
        dot.contains(
            "\"container:h3\" -> \"bridge:s3\" [label=\"eth0\\n10.0.0.100/8\\n2001:db8:3::100/64\"]"
        ),
        "{dot}"
    );
    assert!(render_svg(&dot).is_none_or(|svg| svg.contains("container h3")));
}

#[test]
fn mermaid_and_json_formats() {
    let m = net2dot_as("test1-show-config.json", &["--format", "mermaid"]);
    assert!(m.starts_with("flowchart TB\n"), "{m}");
    assert!(m.contains("subgraph conlink[\"conlink network namespace\"]"), "{m}");
    assert_eq!(m.matches(" ---|").count(), 6, "{m}");
    assert!(m.contains("[[\"bridge s1<br/>(linux)\"]]"), "{m}");
    assert!(m.contains("(\"service h1\")"), "{m}");
    let j: serde_json::Value =
        serde_json::from_str(&net2dot_as("dual-stack-show-config.json", &["--format", "json"])).unwrap();
    assert_eq!(j["edges"].as_array().unwrap().len(), 4);
    let h = j["edges"].as_array().unwrap().iter().find(|e| e["from"] == "service:h").unwrap();
    assert_eq!(h["ip"], serde_json::json!(["192.0.2.10/24", "2001:db8:1::10/64"]));
    let out = pipe(tool("net2dot").args(["--format", "png"]), b"{}");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown format \"png\""), "{}", stderr(&out));
}

#[test]
fn tunnels_host_parents_dummy_and_quoting() {
    let dot = net2dot("mixed-show-config.json");
    assert!(dot.contains("\"bridge:s1\" [label=\"bridge s1\\n(ovs)\""), "{dot}");
    assert!(dot.contains("\"remote:192.0.2.2\" [label=\"remote host 192.0.2.2\""), "{dot}");
    assert!(
        dot.contains("\"tunnel:geneve-1001\" -> \"remote:192.0.2.2\" [label=\"geneve vni 1001\"]"),
        "{dot}"
    );
    assert!(dot.contains("subgraph cluster_host"), "{dot}");
    assert!(dot.contains("\"host:enp0s3\" [label=\"host interface enp0s3\""), "{dot}");
    assert!(
        dot.contains("\"service:mv\" -> \"host:enp0s3\" [label=\"macvlan eth0\\n198.51.100.10/24\"]"),
        "{dot}"
    );
    assert!(dot.contains("[label=\"vlan eth1 (vlan 5)\\n203.0.113.10/24\"]"), "{dot}");
    assert!(dot.contains("[label=\"dummy dummy0\\n2001:db8::1/64\"]"), "{dot}");
    assert!(dot.contains("\"container:node-\\\"quoted\\\"\""), "quotes escaped: {dot}");
    assert_eq!(dot.matches("[label=\"host interface enp0s3\"").count(), 1, "host parent drawn once");
    if let Some(svg) = render_svg(&dot) {
        assert!(svg.contains("remote host 192.0.2.2") && svg.contains("host interface enp0s3"));
    }
}

#[test]
fn invalid_input_is_an_error() {
    let out = pipe(&mut tool("net2dot"), b"not json");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not JSON"));
    let out = pipe(&mut tool("net2dot"), b"[1,2]");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("must be an object"));
}
