//! Unit tests of the semantic checks.
use super::*;
use conlink_settings::NoDistTables;
use serde_json::json;

fn issues(doc: Value) -> Vec<String> {
    check(&doc, BridgeMode::Auto, &NoDistTables).iter().map(|i| i.to_string()).collect()
}

fn link(extra: Value) -> Value {
    let mut l = json!({"service": "a", "bridge": "s1"});
    for (k, v) in extra.as_object().unwrap() {
        l[k] = v.clone();
    }
    json!({ "links": [l] })
}

#[test]
fn clean_config_has_no_issues() {
    assert!(issues(link(json!({
        "ip": ["10.0.0.1/24", "2001:db8::1/64"], "mac": "00:0a:0b:0c:0d:01", "mtu": 9000,
        "route": ["default via 10.0.0.254", "2001:db8:1::/48 via 2001:db8::ff"],
        "nat": "192.0.2.10", "forward": ["1080:80/tcp"], "netem": "delay 40ms", "ethtool": "-K tx off"
    })))
    .is_empty());
}

#[test]
fn cidr_errors_with_paths() {
    assert_eq!(
        issues(link(json!({"ip": "10.0.0.300/24"}))),
        ["/links/0/ip: \"10.0.0.300/24\" is not a CIDR (expected ADDRESS/PREFIX, e.g. 10.0.0.1/24 or 2001:db8::1/64)"]
    );
    let got = issues(link(json!({"ip": ["10.0.0.1/24", "10.0.0.2/40"]})));
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with("/links/0/ip/1: \"10.0.0.2/40\" is not a CIDR (prefix 40"), "{got:?}");
}

#[test]
fn mac_nat_mtu_vlanid_ranges() {
    let got = issues(json!({"links": [
        {"service": "a", "bridge": "s", "mac": "00:11:22:33:44:5g"},
        {"service": "a", "bridge": "s", "mac": "01:00:00:00:00:01"},
        {"service": "a", "bridge": "s", "nat": "10.0.0.256"},
        {"service": "a", "bridge": "s", "mtu": 67},
        {"service": "a", "bridge": "s", "mtu": 65536},
        {"service": "a", "type": "vlan", "vlanid": 4095},
        {"service": "a", "type": "vlan", "vlanid": -1},
        {"service": "a", "bridge": "s", "mtu": 68, "dev": "e1"},
        {"service": "a", "type": "vlan", "vlanid": 4094},
        {"service": "a", "type": "vlan", "vlanid": 0},
        {"service": "a", "type": "vlan", "vlanid": 1}
    ]}));
    let paths: Vec<&str> = got.iter().map(|s| s.split(':').next().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "/links/0/mac",
            "/links/1/mac",
            "/links/2/nat",
            "/links/3/mtu",
            "/links/4/mtu",
            "/links/5/vlanid",
            "/links/6/vlanid",
            "/links/9/vlanid"
        ]
    );
    assert!(got[1].contains("multicast"));
    assert!(got[3].contains("out of range (68-65535)"));
    // One rule with the kernel's: 1-4094 (0 used to pass here and fail there).
    assert!(got[5].contains("4095 is not a VLAN id (1-4094)"), "{got:?}");
    assert!(got[6].contains("-1 is not a VLAN id (1-4094)"), "{got:?}");
    assert_eq!(got[7], "/links/9/vlanid: 0 is not a VLAN id (1-4094)");
}

#[test]
fn ifnames() {
    let got = issues(link(json!({"dev": "has space", "outer-dev": "abcdefghijklmnop"})));
    assert_eq!(got.len(), 2);
    assert!(got[0].starts_with("/links/0/dev:"));
    assert!(got[1].starts_with("/links/0/outer-dev:") && got[1].contains("longer than 15"));
}

#[test]
fn routes_each_entry_checked() {
    let got =
        issues(link(json!({"route": ["default via 10.0.0.1", "10.1.0.0/16 via 10.0.0.1 proto kernel"]})));
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with("/links/0/route/1: ") && got[0].contains("\"proto\""), "{got:?}");
    assert!(issues(link(json!({"route": "via 10.0.0.1"})))[0].starts_with("/links/0/route: "));
}

#[test]
fn forward_grammar_and_requirements() {
    let got = issues(link(json!({"forward": ["80:80/tcp", "99999:80/tcp"], "ip": "10.0.0.1/24"})));
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with("/links/0/forward/1: "));
    assert_eq!(
        issues(link(json!({"forward": "80:80/tcp"}))),
        ["/links/0/forward: forward needs an \"ip\" on the link to forward to"]
    );
    let doc = json!({"bridges": [{"bridge": "p", "mode": "patch"}],
                     "links": [{"service": "a", "bridge": "p", "ip": "10.0.0.1/24", "forward": "80:80/tcp"}]});
    assert_eq!(
        issues(doc),
        ["/links/0/forward: forward needs a linux or ovs bridge, but bridge \"p\" is in patch mode"]
    );
    // The default mode applies to bridges only named in links.
    let doc =
        json!({"links": [{"service": "a", "bridge": "p", "ip": "10.0.0.1/24", "forward": "80:80/tcp"}]});
    assert_eq!(check(&doc, BridgeMode::Patch, &NoDistTables).len(), 1);
    assert!(check(&doc, BridgeMode::Linux, &NoDistTables).is_empty());
}

#[test]
fn link_modes() {
    let mk =
        |t: &str, m: &str| json!({"links": [{"service": "a", "type": t, "mode": m, "outer-dev": "eth0"}]});
    assert!(issues(mk("macvlan", "bridge")).is_empty());
    assert!(issues(mk("macvtap", "passthru")).is_empty());
    assert!(issues(mk("ipvlan", "l3s")).is_empty());
    assert!(issues(mk("ipvtap", "l2 private")).is_empty());
    assert_eq!(issues(mk("macvlan", "l2")).len(), 1);
    assert_eq!(issues(mk("ipvlan", "bridge")).len(), 1);
    assert!(issues(mk("ipvlan", "l2 bogus"))[0].starts_with("/links/0/mode: "));
}

#[test]
fn patch_bridge_allows_two_links_only() {
    let doc = json!({"bridges": [{"bridge": "p", "mode": "patch"}], "links": [
        {"service": "a", "bridge": "p"},
        {"service": "a", "bridge": "p", "mtu": 1500},
        {"service": "b", "bridge": "p"},
        {"service": "c", "bridge": "p"},
        {"service": "d", "bridge": "q"}
    ]});
    assert_eq!(issues(doc), ["/links/3/bridge: patch bridge \"p\" joins exactly two links; this is a third"]);
    let doc = json!({"bridges": [{"bridge": "p", "mode": "patch"}],
                     "links": [{"service": "a", "bridge": "p"}, {"service": "b", "bridge": "p"}],
                     "tunnels": [{"type": "vxlan", "bridge": "p", "remote": "192.0.2.1", "vni": 1}]});
    assert_eq!(
        issues(doc),
        ["/tunnels/0/bridge: patch bridge \"p\" joins exactly two links; this tunnel is a third"]
    );
}

#[test]
fn default_patch_mode_applies_to_undeclared_bridges() {
    let doc = json!({"links": [{"service": "a", "bridge": "p"}, {"service": "b", "bridge": "p"}, {"service": "c", "bridge": "p"}]});
    assert_eq!(check(&doc, BridgeMode::Patch, &NoDistTables).len(), 1);
    assert!(check(&doc, BridgeMode::Linux, &NoDistTables).is_empty());
}

#[test]
fn tunnels_and_commands() {
    let got = issues(json!({
        "tunnels": [{"type": "geneve", "bridge": "s", "remote": "192.0.2.300", "vni": 16777216},
                    {"type": "vxlan", "bridge": "s", "remote": "2001:db8::1", "vni": 16777215}],
        "commands": [{"service": "a", "command": "  "}, {"service": "a", "command": []},
                     {"service": "a", "command": ["ip", "a"]}]
    }));
    assert_eq!(
        got,
        [
            "/tunnels/0/remote: \"192.0.2.300\" is not an IP address",
            "/tunnels/0/vni: vni 16777216 is out of range (0-16777215)",
            "/commands/0/command: command is empty",
            "/commands/1/command: command is empty (a list needs a program as first element)",
        ]
    );
}

#[test]
fn bridge_names() {
    assert_eq!(
        issues(json!({"bridges": [{"bridge": "a/b"}]})),
        ["/bridges/0/bridge: interface name \"a/b\" must not contain '/' (names exclude '/', ':', '%', whitespace and control characters)"]
    );
}

#[test]
fn colon_in_any_interface_name_is_rejected() {
    // Config that exposed it: `dev: eth0:1` / `bridge: br:0` loaded fine, then failed in the kernel.
    let got = issues(link(json!({"dev": "eth0:1", "outer-dev": "o:1", "bridge": "br:0"})));
    let paths: Vec<&str> = got.iter().map(|s| s.split(": ").next().unwrap()).collect();
    assert_eq!(paths, ["/links/0/dev", "/links/0/outer-dev", "/links/0/bridge"], "{got:?}");
    let got =
        issues(json!({"tunnels": [{"type": "vxlan", "bridge": "t:1", "remote": "192.0.2.1", "vni": 1}]}));
    assert_eq!(
        got,
        ["/tunnels/0/bridge: interface name \"t:1\" must not contain ':' (names exclude '/', ':', '%', whitespace and control characters)"]
    );
}

#[test]
fn link_and_tunnel_bridge_names_count_bytes() {
    // 9 characters (the schema's limit is characters) but 18 bytes: too long for the kernel.
    let got = issues(link(json!({"bridge": "ééééééééé"})));
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with("/links/0/bridge: ") && got[0].contains("bytes"), "{got:?}");
}

#[test]
fn service_and_container_names_must_be_engine_names() {
    // Config that exposed it: `service: web/1` and `container: my box` were accepted.
    let got = issues(json!({"links": [
        {"service": "web/1", "bridge": "s"},
        {"container": "my box", "bridge": "s"},
        {"container": "-lead", "bridge": "s"},
        {"service": "ok_Name-1.x", "bridge": "s"},
        {"container": "Ok1.x_y-z", "bridge": "s"}
    ], "commands": [{"service": "$(id)", "command": "true"}]}));
    let paths: Vec<&str> = got.iter().map(|s| s.split(": ").next().unwrap()).collect();
    assert_eq!(
        paths,
        ["/links/0/service", "/links/1/container", "/links/2/container", "/commands/0/service"],
        "{got:?}"
    );
}

#[test]
fn integer_fields_that_the_typed_config_cannot_read() {
    // Config that exposed it: `mtu: 99999.0` loaded with the default MTU; `mtu: 18446744073709551615`
    // and `vlanid: 18446744073709551615` were reported at /links/0 instead of the field.
    let got = issues(json!({"links": [
        {"service": "a", "bridge": "s", "mtu": 99999.0},
        {"service": "a", "bridge": "s", "mtu": 1500.0},
        {"service": "a", "bridge": "s", "mtu": 18446744073709551615u64},
        {"service": "a", "type": "vlan", "vlanid": 18446744073709551615u64},
        {"service": "a", "type": "vlan", "vlanid": 1e30},
        {"service": "a", "type": "vlan", "vlanid": 7.0}
    ], "tunnels": [{"type": "vxlan", "bridge": "s", "remote": "192.0.2.1", "vni": 7.0}]}));
    assert_eq!(
        got,
        [
            "/links/0/mtu: MTU 99999.0 is out of range (68-65535)",
            "/links/1/mtu: MTU 1500.0 must be written as an integer",
            "/links/2/mtu: MTU 18446744073709551615 is out of range (68-65535)",
            "/links/3/vlanid: 18446744073709551615 is not a VLAN id (1-4094)",
            "/links/4/vlanid: 1e+30 is not a VLAN id (1-4094)",
            "/links/5/vlanid: vlanid 7.0 must be written as an integer",
            "/tunnels/0/vni: vni 7.0 must be written as an integer",
        ]
    );
}

#[test]
fn wrong_types_are_left_to_the_schema() {
    assert!(issues(json!({"links": [{"ip": 5, "mtu": "x", "route": {"a": 1}}], "tunnels": "x"})).is_empty());
}

#[test]
fn netem_and_ethtool_are_parsed_with_paths() {
    assert_eq!(
        issues(link(json!({"netem": "delay banana"}))),
        ["/links/0/netem: netem delay: bad time \"banana\" (units: s, ms, us, ns)"]
    );
    assert_eq!(
        issues(link(json!({"netem": ["delay 10ms", "banana"]}))),
        ["/links/0/netem: unknown netem option \"banana\""]
    );
    // Entries are one option string: a jitter may follow in the next entry.
    assert!(issues(link(json!({"netem": ["delay 10ms", "2ms", "loss 1%"]}))).is_empty());
    assert_eq!(
        issues(link(json!({"netem": ["delay 1ms", " "]}))),
        ["/links/0/netem/1: netem entry is empty"]
    );
    assert_eq!(
        issues(link(json!({"ethtool": "--frobnicate on"}))),
        ["/links/0/ethtool: unknown ethtool setting \"--frobnicate\" (only -K/--offload/--features FEATURE on|off …)"]
    );
    let got = issues(link(json!({"ethtool": ["-K tx off", "-K warp off", ""]})));
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with("/links/0/ethtool/1: ") && got[0].contains("\"warp\""), "{got:?}");
    assert_eq!(got[1], "/links/0/ethtool/2: ethtool entry is empty");
    let got = issues(
        json!({"tunnels": [{"type": "vxlan", "bridge": "s", "remote": "192.0.2.1", "vni": 1, "netem": "rate fast"}]}),
    );
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with("/tunnels/0/netem: ") && got[0].contains("fast"), "{got:?}");
    // Distribution tables come from the caller: none here.
    let got = issues(link(json!({"netem": "delay 10ms 1ms distribution normal"})));
    assert!(got[0].starts_with("/links/0/netem: ") && got[0].contains("normal.dist"), "{got:?}");
}
