//! The built-in schema must agree with the original-compatible IPv4-only
//! schema (tests/fixtures/schema-original-ipv4.yaml) on IPv4 configs, and
//! the fixture must load through `--config-schema` like the original's.

use std::path::PathBuf;

use conlink_config::schema::ConfigSchema;
use serde_json::{json, Value};

fn fixture_schema() -> ConfigSchema {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-original-ipv4.yaml");
    ConfigSchema::from_file(&p).unwrap()
}

/// (description, config, valid?)
fn table() -> Vec<(&'static str, Value, bool)> {
    vec![
        ("empty", json!({}), true),
        ("simple veth", json!({"links": [{"service": "h1", "bridge": "s1", "ip": "10.0.0.1/24"}]}), true),
        ("explicit veth type", json!({"links": [{"service": "h1", "type": "veth", "bridge": "s1"}]}), true),
        (
            "container link with everything",
            json!({"links": [{"container": "c", "bridge": "s1", "dev": "eth1", "outer-dev": "o1", "ip": "10.0.0.1/24", "mac": "00:0a:0b:0c:0d:01", "mtu": 9000, "route": ["default via 10.0.0.254"], "nat": "192.0.2.1", "netem": "delay 10ms", "forward": "80:80/tcp", "ethtool": ["-K tx off"]}]}),
            true,
        ),
        (
            "vlan",
            json!({"links": [{"service": "v", "type": "vlan", "vlanid": 5, "outer-dev": "eth0"}]}),
            true,
        ),
        (
            "macvlan mode",
            json!({"links": [{"service": "m", "type": "macvlan", "mode": "bridge", "outer-dev": "eth0"}]}),
            true,
        ),
        ("dummy", json!({"links": [{"service": "d", "type": "dummy", "ip": "10.9.0.1/16"}]}), true),
        (
            "bridges, tunnels, commands",
            json!({"bridges": [{"bridge": "s1", "mode": "patch"}], "tunnels": [{"type": "geneve", "bridge": "s1", "remote": "192.0.2.2", "vni": 1001}], "commands": [{"service": "a", "command": "ip a"}, {"container": "b", "command": ["ip", "r"]}]}),
            true,
        ),
        ("unknown top key", json!({"switches": []}), false),
        ("veth without bridge", json!({"links": [{"service": "h1"}]}), false),
        ("no target", json!({"links": [{"bridge": "s1"}]}), false),
        ("both targets", json!({"links": [{"service": "a", "container": "b", "bridge": "s1"}]}), false),
        (
            "bridge on vlan",
            json!({"links": [{"service": "v", "type": "vlan", "vlanid": 5, "bridge": "s1"}]}),
            false,
        ),
        ("vlan without vlanid", json!({"links": [{"service": "v", "type": "vlan"}]}), false),
        ("mode on veth", json!({"links": [{"service": "h", "bridge": "s1", "mode": "bridge"}]}), false),
        ("vlanid on macvlan", json!({"links": [{"service": "h", "type": "macvlan", "vlanid": 3}]}), false),
        (
            "mac on ipvlan",
            json!({"links": [{"service": "h", "type": "ipvlan", "mac": "00:00:00:00:00:01"}]}),
            false,
        ),
        ("ip without prefix", json!({"links": [{"service": "h", "bridge": "s1", "ip": "10.0.0.1"}]}), false),
        (
            "dev too long",
            json!({"links": [{"service": "h", "bridge": "s1", "dev": "abcdefghijklmnop"}]}),
            false,
        ),
        ("unknown link key", json!({"links": [{"service": "h", "bridge": "s1", "speed": 10}]}), false),
        ("bad bridge mode", json!({"bridges": [{"bridge": "s1", "mode": "fast"}]}), false),
        (
            "tunnel missing vni",
            json!({"tunnels": [{"type": "vxlan", "bridge": "s1", "remote": "192.0.2.2"}]}),
            false,
        ),
        ("command without target", json!({"commands": [{"command": "ls"}]}), false),
        (
            "forward on macvlan",
            json!({"links": [{"service": "m", "type": "macvlan", "forward": "80:80/tcp"}]}),
            false,
        ),
        ("mtu as string", json!({"links": [{"service": "h", "bridge": "s1", "mtu": "big"}]}), false),
    ]
}

#[test]
fn builtin_and_original_ipv4_schema_agree_on_ipv4_configs() {
    let builtin = ConfigSchema::builtin();
    let original = fixture_schema();
    for (what, cfg, valid) in table() {
        let b = builtin.validate(&cfg);
        let o = original.validate(&cfg);
        assert_eq!(b.is_empty(), valid, "built-in on {what}: {b:?}");
        assert_eq!(o.is_empty(), valid, "original-compatible on {what}: {o:?}");
    }
}

#[test]
fn only_builtin_accepts_ipv6() {
    let cfg = json!({"links": [{"service": "h", "bridge": "s1", "ip": "2001:db8::1/64", "nat": "2001:db8::9"}],
                     "tunnels": [{"type": "vxlan", "bridge": "s1", "remote": "2001:db8::2", "vni": 1}]});
    assert!(ConfigSchema::builtin().validate(&cfg).is_empty());
    let o = fixture_schema().validate(&cfg);
    let paths: Vec<&str> = o.iter().map(|i| i.path.as_str()).collect();
    assert!(
        paths.contains(&"/links/0/ip")
            && paths.contains(&"/links/0/nat")
            && paths.contains(&"/tunnels/0/remote"),
        "{o:?}"
    );
}
