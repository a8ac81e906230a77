//! End-to-end config loading as the daemon and `--show-config` use it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use conlink_config::*;
use serde_json::json;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn net(origin: &str, text: &str) -> Source {
    Source { origin: origin.into(), kind: SourceKind::Network, text: text.into() }
}

fn compose(origin: &str, text: &str) -> Source {
    Source { origin: origin.into(), kind: SourceKind::Compose, text: text.into() }
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn err_lines(e: ConfigError) -> Vec<String> {
    e.to_string().lines().map(str::to_string).collect()
}

#[test]
fn test1_compose_show_config_shape() {
    let opts = LoadOptions { compose_files: vec![fixture("test1-compose.yaml")], ..Default::default() };
    let cfg = load(&opts).unwrap();
    assert_eq!(cfg.links.len(), 6);
    let shown = show_config(&cfg);

    let bridges: Vec<&String> = shown["bridges"].as_object().unwrap().keys().collect();
    assert_eq!(bridges, ["s1", "s2", "s3"]);
    assert_eq!(shown["bridges"]["s2"], json!({"bridge": "s2", "mode": "linux"}));

    let services: Vec<&String> = shown["services"].as_object().unwrap().keys().collect();
    assert_eq!(services, ["h1", "h2", "h3", "r0"]);
    assert_eq!(shown["containers"], json!({}));
    assert_eq!(shown["tunnels"], json!([]));

    let h1 = &shown["services"]["h1"]["links"][0];
    assert_eq!(h1["type"], "veth");
    assert_eq!(h1["service"], "h1");
    assert_eq!(h1["dev"], "eth0");
    assert_eq!(h1["bridge"], "s1");
    assert_eq!(h1["ip"], "192.168.1.100/24");
    assert_eq!(h1["mtu"], 65535);
    assert_eq!(h1["route"], json!(["default via 192.168.1.1"]));
    assert_eq!(h1["ethtool"], json!(["--offload tx off"]));
    assert!(h1["mac"].as_str().unwrap().starts_with("c2:"));
    assert!(h1.get("container").is_none() && h1.get("nat").is_none());

    let r0 = &shown["services"]["r0"];
    let devs: Vec<&str> =
        r0["links"].as_array().unwrap().iter().map(|l| l["dev"].as_str().unwrap()).collect();
    assert_eq!(devs, ["eth-s1", "eth-s2", "eth-s3"]);
    assert_eq!(r0["commands"], json!([{"service": "r0", "command": "sysctl -w net.ipv4.ip_forward=1"}]));
    assert_eq!(shown["services"]["h2"]["commands"], json!([]));
    assert_eq!(shown["links"].as_array().unwrap().len(), 6);
}

#[test]
fn service_x_network_defaults_service_but_keeps_explicit_targets() {
    let c = compose("c.yaml", "services:\n  web:\n    x-network:\n      links:\n        - {bridge: s1}\n        - {container: other, bridge: s1}\n        - {service: db, bridge: s1}\n      commands:\n        - {command: [ip, a]}\n");
    let cfg = load_from_sources(&[c], &LoadOptions::default()).unwrap();
    let targets: Vec<Target> = cfg.links.iter().map(|l| l.target.clone()).collect();
    assert_eq!(
        targets,
        [Target::Service("web".into()), Target::Container("other".into()), Target::Service("db".into())]
    );
    assert_eq!(cfg.commands[0].target, Target::Service("web".into()));
}

#[test]
fn sources_deep_merge_in_order() {
    let c = compose("c.yaml", "x-network:\n  links:\n    - {service: a, bridge: s1}\n  bridges:\n    - {bridge: s1, mode: ovs}\nservices:\n  b:\n    x-network:\n      links: [{bridge: s1}]\n");
    let n = net("n.yaml", "links:\n  - {service: c, bridge: s2}\nbridges:\n  - {bridge: s1, mode: linux}\n");
    let cfg = load_from_sources(&[c, n], &LoadOptions::default()).unwrap();
    let names: Vec<&str> = cfg.links.iter().map(|l| l.target.name()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    // Later declaration wins.
    assert_eq!(cfg.bridges["s1"].mode, BridgeMode::Linux);
}

#[test]
fn links_with_same_target_and_dev_are_merged() {
    let a = net("a.yaml", "links:\n  - {service: n, bridge: s1, ip: 10.0.0.1/24}\n");
    let b = net("b.yaml", "links:\n  - {service: n, dev: eth0, mtu: 1500, ip: 10.0.0.2/24}\n  - {service: n, dev: eth1, bridge: s2}\n");
    let cfg = load_from_sources(&[a, b], &LoadOptions::default()).unwrap();
    assert_eq!(cfg.links.len(), 2);
    assert_eq!(cfg.links[0].bridge.as_deref(), Some("s1"));
    assert_eq!(cfg.links[0].mtu, Some(1500));
    assert_eq!(cfg.links[0].ip[0].to_string(), "10.0.0.2/24");
    assert_eq!(cfg.links[1].dev, "eth1");
}

#[test]
fn merged_link_issues_point_at_the_entry_that_set_the_key() {
    let a = net("a.yaml", "links:\n  - {service: x, bridge: s9}\n  - {service: n, bridge: s1}\n  - {service: n, type: vlan, vlanid: 3}\n");
    let lines = err_lines(load_from_sources(&[a], &LoadOptions::default()).unwrap_err());
    assert_eq!(lines, ["/links/1/bridge (a.yaml: links[1].bridge): \"bridge\" is not allowed for vlan links (in the link merged from /links/1, /links/2)"]);
}

#[test]
fn compose_issues_name_file_and_service() {
    let c = compose(
        "compose.yaml",
        "services:\n  h1:\n    x-network:\n      links:\n        - {bridge: s1, mtu: 1}\n  h2:\n    x-network:\n      links:\n        - {bridge: s1, ip: 10.0.0.1/24}\n",
    );
    let n = net("net.yaml", "links:\n  - {service: h2, ip: 10.0.0.300/24}\n");
    let lines = err_lines(load_from_sources(&[c, n], &LoadOptions::default()).unwrap_err());
    assert_eq!(
        lines,
        [
            "/links/0/mtu (compose.yaml: services.h1 x-network links[0].mtu): MTU 1 is out of range (68-65535)",
            "/links/2/ip (net.yaml: links[0].ip): \"10.0.0.300/24\" is not a CIDR (expected ADDRESS/PREFIX, e.g. 10.0.0.1/24 or 2001:db8::1/64) (in the link merged from /links/1, /links/2)",
        ]
    );
}

#[test]
fn conflicts_name_both_places_and_their_files() {
    let c = compose(
        "compose.yaml",
        "services:\n  web:\n    scale: 3\n    x-network:\n      links:\n        - {bridge: s1, ip: 10.0.0.1/24, forward: 8080:80/tcp}\n",
    );
    let n =
        net("net.yaml", "links:\n  - {container: db, bridge: s1, ip: 10.0.0.9/24, forward: 8082:5432/tcp}\n");
    let lines = err_lines(load_from_sources(&[c, n], &LoadOptions::default()).unwrap_err());
    assert_eq!(
        lines,
        ["/links/1/forward (net.yaml: links[0].forward): conlink port 8082/tcp is already forwarded by /links/0/forward (compose.yaml: services.web x-network links[0].forward) replica 3"]
    );
}

#[test]
fn interpolation_from_env_with_defaults() {
    let n = net(
        "n.yaml",
        "links:\n  - {container: \"${NODE_NAME_1}\", bridge: s1, ip: \"${NET:-10.0.0}.1/24\", mtu: \"${MTU}\"}\n  - {container: $NODE_NAME_2, bridge: s1}\nbridges:\n  - {bridge: s1, mode: \"${BRIDGE_MODE:-linux}\"}\n",
    );
    let opts = LoadOptions {
        env: env(&[("NODE_NAME_1", "n1"), ("NODE_NAME_2", "n2"), ("MTU", "9000"), ("BRIDGE_MODE", "patch")]),
        ..Default::default()
    };
    let cfg = load_from_sources(&[n], &opts).unwrap();
    assert_eq!(cfg.links[0].target, Target::Container("n1".into()));
    assert_eq!(cfg.links[1].target, Target::Container("n2".into()));
    assert_eq!(cfg.links[0].ip[0].to_string(), "10.0.0.1/24");
    assert_eq!(cfg.links[0].mtu, Some(9000));
    assert_eq!(cfg.bridges["s1"].mode, BridgeMode::Patch);
}

#[test]
fn interpolation_errors_name_file_and_place() {
    let c = compose(
        "compose.yaml",
        "services:\n  h1:\n    x-network:\n      links:\n        - {bridge: s1, ip: \"${IP:?set IP}\"}\n",
    );
    let n = net("net.yaml", "links:\n  - {service: a, bridge: \"${BR\"}\n");
    let lines = err_lines(load_from_sources(&[c, n], &LoadOptions::default()).unwrap_err());
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert_eq!(
        lines[0],
        "compose.yaml:/services/h1/x-network/links/0/ip: required variable IP is missing a value: set IP"
    );
    assert!(lines[1].starts_with("net.yaml:/links/0/bridge: invalid interpolation"), "{lines:#?}");
}

#[test]
fn all_validation_errors_reported_at_once() {
    let opts = LoadOptions { network_files: vec![fixture("bad-many.yaml")], ..Default::default() };
    let file = fixture("bad-many.yaml").display().to_string();
    // Each issue: the merged pointer, then (file: place in it), then the problem.
    let lines: Vec<String> =
        err_lines(load(&opts).unwrap_err()).iter().map(|l| l.replace(&file, "F")).collect();
    let expect_prefixes = [
        "/links/0/ip (F: links[0].ip): \"10.0.0.300/24\" is not a CIDR",
        "/links/1/mtu (F: links[1].mtu): MTU 20 is out of range",
        "/links/2 (F: links[2]): veth link needs a \"bridge\"",
        "/links/3/route (F: links[3].route): route \"default via 10.0.0.1 proto static\": unsupported option \"proto\"",
        "/links/4/vlanid (F: links[4].vlanid): 5000 is not a VLAN id (1-4094)",
        "/tunnels/0/vni (F: tunnels[0].vni): vni 99999999 is out of range",
    ];
    for p in expect_prefixes {
        assert!(lines.iter().any(|l| l.starts_with(p)), "missing {p:?} in {lines:#?}");
    }
    assert_eq!(lines.len(), expect_prefixes.len(), "{lines:#?}");
}

#[test]
fn missing_files_are_named() {
    let opts = LoadOptions {
        network_files: vec![PathBuf::from("/nonexistent/a.yaml:/nonexistent/b.yaml")],
        compose_files: vec![PathBuf::from("/nonexistent/c.yaml")],
        ..Default::default()
    };
    let lines = err_lines(load(&opts).unwrap_err());
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("/nonexistent/c.yaml: cannot read file"));
    assert!(lines[1].starts_with("/nonexistent/a.yaml: cannot read file"));
    assert!(lines[2].starts_with("/nonexistent/b.yaml: cannot read file"));
}

#[test]
fn colon_separated_lists_load_every_file() {
    let dir = std::env::temp_dir().join(format!("conlink-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = dir.join("a.yaml");
    let b = dir.join("b.yaml");
    std::fs::write(&a, "links: [{service: a, bridge: s1}]\n").unwrap();
    std::fs::write(&b, "links: [{service: b, bridge: s1}]\n").unwrap();
    let joined = PathBuf::from(format!("{}:{}", a.display(), b.display()));
    let cfg = load(&LoadOptions { network_files: vec![joined], ..Default::default() }).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(cfg.links.len(), 2);
}

#[test]
fn yaml_syntax_error_has_file_line_column() {
    let lines = err_lines(
        load_from_sources(&[net("broken.yaml", "links:\n  - {service: a\n")], &LoadOptions::default())
            .unwrap_err(),
    );
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("broken.yaml: invalid YAML at line"), "{lines:?}");
    assert!(lines[0].contains("column"));
}

#[test]
fn non_map_documents_rejected() {
    let e = load_from_sources(&[net("n.yaml", "- a\n- b\n")], &LoadOptions::default()).unwrap_err();
    assert_eq!(e.issues[0].path, "n.yaml");
    let e = load_from_sources(&[compose("c.yaml", "x-network: [1]\n")], &LoadOptions::default()).unwrap_err();
    assert_eq!(e.issues[0].path, "c.yaml:/x-network");
}

#[test]
fn compose_without_x_network_is_empty_config() {
    let cfg =
        load_from_sources(&[compose("c.yaml", "services:\n  a: {image: x}\n")], &LoadOptions::default())
            .unwrap();
    assert_eq!(cfg, NetworkConfig::default());
}

#[test]
fn custom_schema_file_is_used() {
    let dir = std::env::temp_dir().join(format!("conlink-schema-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let schema = dir.join("strict.yaml");
    std::fs::write(&schema, "type: object\nrequired: [tunnels]\n").unwrap();
    let opts = LoadOptions { schema_file: Some(schema.clone()), ..Default::default() };
    let e = load_from_sources(&[net("n.yaml", "links: [{service: a, bridge: s1}]\n")], &opts).unwrap_err();
    assert_eq!(e.to_string(), "/: missing required \"tunnels\"");
    // The semantic checks still run with a permissive custom schema.
    std::fs::write(&schema, "type: object\n").unwrap();
    let e =
        load_from_sources(&[net("n.yaml", "links: [{service: a, bridge: s1, ip: 10.0.0.1/99}]\n")], &opts)
            .unwrap_err();
    assert!(
        e.to_string().starts_with("/links/0/ip (n.yaml: links[0].ip): \"10.0.0.1/99\" is not a CIDR"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let missing =
        LoadOptions { schema_file: Some(PathBuf::from("/nonexistent/schema.json")), ..Default::default() };
    let e = load_from_sources(&[], &missing).unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent/schema.json: schema: cannot read file"), "{e}");
}

#[test]
fn show_config_link_keys_and_forms() {
    let n = net(
        "n.yaml",
        "links:\n  - {container: c1, bridge: s1, ip: [10.0.0.5/24, \"2001:db8::5/64\"], mac: \"00:0a:0b:0c:0d:01\", nat: 192.0.2.5, netem: delay 40ms, forward: 1080:80/tcp, outer-dev: out0}\n  - {service: v, type: vlan, vlanid: 5, outer-dev: eth0}\n  - {service: i, type: ipvlan, mode: l2, outer-dev: eth0}\ntunnels:\n  - {type: geneve, bridge: s1, remote: 192.0.2.9, vni: 7}\n",
    );
    let shown = show_config(&load_from_sources(&[n], &LoadOptions::default()).unwrap());
    let c1 = &shown["containers"]["c1"]["links"][0];
    assert_eq!(c1["ip"], json!(["10.0.0.5/24", "2001:db8::5/64"]));
    assert_eq!(c1["mac"], "00:0a:0b:0c:0d:01");
    assert_eq!(c1["nat"], "192.0.2.5");
    assert_eq!(c1["netem"], json!(["delay 40ms"]));
    assert_eq!(c1["forward"], json!(["1080:80/tcp"]));
    assert_eq!(c1["outer-dev"], "out0");
    assert_eq!(c1["base"], "conlink");
    let v = &shown["services"]["v"]["links"][0];
    assert_eq!(v["vlanid"], 5);
    assert_eq!(v["base"], "host");
    assert!(v.get("mtu").is_none() && v.get("ethtool").is_none() && v.get("bridge").is_none());
    let i = &shown["services"]["i"]["links"][0];
    assert!(i.get("mac").is_none());
    assert_eq!(i["mode"], "l2");
    assert_eq!(
        shown["tunnels"],
        json!([{"type": "geneve", "bridge": "s1", "remote": "192.0.2.9", "vni": 7}])
    );
    assert_eq!(shown["bridges"]["s1"]["mode"], "linux");
}

#[test]
fn options_reach_enrichment() {
    let n = net("n.yaml", "links: [{service: a, bridge: s1}]\n");
    let opts =
        LoadOptions { default_mtu: 5111, keep_veth_offload: true, ovs_available: true, ..Default::default() };
    let cfg = load_from_sources(std::slice::from_ref(&n), &opts).unwrap();
    assert_eq!(cfg.links[0].mtu, Some(5111));
    assert!(cfg.links[0].ethtool.is_empty());
    assert_eq!(cfg.bridges["s1"].mode, BridgeMode::Ovs);
    let opts =
        LoadOptions { default_bridge_mode: BridgeMode::Linux, ovs_available: true, ..Default::default() };
    assert_eq!(load_from_sources(&[n], &opts).unwrap().bridges["s1"].mode, BridgeMode::Linux);
}
