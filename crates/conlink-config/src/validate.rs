//! Semantic checks the schema cannot express (or expresses badly): address
//! parsing, ranges, route/forward grammar, cross-references between links
//! and bridges. Works on the merged JSON so paths match what the user wrote;
//! tolerates wrong types (the schema reports those).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::addrs::{parse_cidr, parse_ip};
use crate::error::{join_ptr, ConfigIssue};
use crate::forward::parse_forward;
use crate::model::{BridgeMode, LinkType, MacAddr};
use crate::naming::check_ifname;
use crate::route::parse_route;

pub const MTU_RANGE: (i64, i64) = (68, 65535);
pub const VLANID_MAX: i64 = 4094;
pub const VNI_MAX: i64 = (1 << 24) - 1;

/// All semantic issues in the merged config `doc`.
pub fn check(doc: &Value, default_bridge_mode: BridgeMode) -> Vec<ConfigIssue> {
    let mut out = Vec::new();
    let modes = bridge_modes(doc, default_bridge_mode);
    for (i, b) in items(doc, "bridges") {
        let p = format!("/bridges/{i}");
        if let Some(name) = b.get("bridge").and_then(Value::as_str) {
            if let Err(e) = check_ifname(name) {
                out.push(ConfigIssue::new(format!("{p}/bridge"), e));
            }
        }
    }
    for (i, l) in items(doc, "links") {
        check_link(l, &format!("/links/{i}"), &modes, &mut out);
    }
    for (i, t) in items(doc, "tunnels") {
        check_tunnel(t, &format!("/tunnels/{i}"), &mut out);
    }
    for (i, c) in items(doc, "commands") {
        check_target_names(c, &format!("/commands/{i}"), &mut out);
        check_command(c, &format!("/commands/{i}"), &mut out);
    }
    let mut node_names = BTreeSet::new();
    for (i, n) in items(doc, "nodes") {
        if let Some(name) = n.get("name").and_then(Value::as_str) {
            let ok = !name.is_empty()
                && name.len() <= 64
                && !name.starts_with(['.', '-'])
                && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            if !ok {
                out.push(ConfigIssue::new(
                    format!("/nodes/{i}/name"),
                    format!("{name:?} is not a usable namespace name (1-64 of A-Z a-z 0-9 _ . -, not starting with . or -)"),
                ));
            }
            if !node_names.insert(name.to_string()) {
                out.push(ConfigIssue::new(
                    format!("/nodes/{i}/name"),
                    format!("node {name:?} is declared twice"),
                ));
            }
        }
        if n.get("command").is_some() {
            check_command(n, &format!("/nodes/{i}"), &mut out);
        }
    }
    for (i, l) in items(doc, "links") {
        if l.get("service").is_some() && !node_names.is_empty() && l.get("container").is_none() {
            // Nodes are addressed by name; a service link cannot match them.
            if let Some(s) = l.get("service").and_then(Value::as_str) {
                if node_names.contains(s) {
                    out.push(ConfigIssue::new(
                        format!("/links/{i}/service"),
                        format!("{s:?} is a node: link it with `container: {s}`"),
                    ));
                }
            }
        }
    }
    check_patch_bridges(doc, &modes, &mut out);
    out
}

/// Index and object of each entry of top-level list `key`.
fn items<'a>(doc: &'a Value, key: &str) -> impl Iterator<Item = (usize, &'a Value)> {
    doc.get(key).and_then(Value::as_array).into_iter().flatten().enumerate().filter(|(_, v)| v.is_object())
}

/// Bridge name → mode before `auto` resolution (declared, later
/// declarations win, else the default).
pub(crate) fn bridge_modes(doc: &Value, default: BridgeMode) -> BTreeMap<String, BridgeMode> {
    let mut m = BTreeMap::new();
    for (_, b) in items(doc, "bridges") {
        if let Some(name) = b.get("bridge").and_then(Value::as_str) {
            let mode = b.get("mode").and_then(Value::as_str).and_then(|s| s.parse().ok()).unwrap_or(default);
            m.insert(name.to_string(), mode);
        }
    }
    // Bridges only named by links/tunnels get the default mode.
    for key in ["links", "tunnels"] {
        for (_, l) in items(doc, key) {
            if let Some(name) = l.get("bridge").and_then(Value::as_str) {
                m.entry(name.to_string()).or_insert(default);
            }
        }
    }
    m
}

/// A string-or-list value as (path, string) pairs; non-strings are skipped.
fn one_or_many<'a>(v: Option<&'a Value>, path: &str) -> Vec<(String, &'a str)> {
    match v {
        Some(Value::String(s)) => vec![(path.to_string(), s.as_str())],
        Some(Value::Array(a)) => {
            a.iter().enumerate().filter_map(|(i, x)| x.as_str().map(|s| (join_ptr(path, i), s))).collect()
        }
        _ => Vec::new(),
    }
}

fn link_type(l: &Value) -> Option<LinkType> {
    match l.get("type") {
        None => Some(LinkType::Veth),
        Some(t) => t.as_str().and_then(|s| s.parse().ok()),
    }
}

fn check_link(l: &Value, p: &str, modes: &BTreeMap<String, BridgeMode>, out: &mut Vec<ConfigIssue>) {
    check_target_names(l, p, out);
    let mut push = |key: &str, msg: String| out.push(ConfigIssue::new(join_ptr(p, key), msg));
    for key in ["dev", "outer-dev", "bridge"] {
        if let Some(name) = l.get(key).and_then(Value::as_str) {
            if let Err(e) = check_ifname(name) {
                push(key, e);
            }
        }
    }
    for (path, s) in one_or_many(l.get("ip"), &join_ptr(p, "ip")) {
        if let Err(e) = parse_cidr(s) {
            out.push(ConfigIssue::new(path, e));
        }
    }
    let mut push = |key: &str, msg: String| out.push(ConfigIssue::new(join_ptr(p, key), msg));
    if let Some(s) = l.get("mac").and_then(Value::as_str) {
        match s.parse::<MacAddr>() {
            Err(e) => push("mac", e),
            Ok(m) if m.0[0] & 1 == 1 => {
                push("mac", format!("{s:?} is a multicast MAC address (first octet must be even)"))
            }
            Ok(_) => {}
        }
    }
    if let Some(s) = l.get("nat").and_then(Value::as_str) {
        if let Err(e) = parse_ip(s) {
            push("nat", e);
        }
    }
    if let Some(e) = check_int(l.get("mtu"), MTU_RANGE, "MTU") {
        push("mtu", e);
    }
    if let Some(e) = check_int(l.get("vlanid"), (0, VLANID_MAX), "vlanid") {
        push("vlanid", e);
    }
    let ty = link_type(l);
    if let (Some(mode), Some(ty)) = (l.get("mode").and_then(Value::as_str), ty) {
        if let Err(e) = check_mode(ty, mode) {
            push("mode", e);
        }
    }
    for (path, s) in one_or_many(l.get("route"), &join_ptr(p, "route")) {
        if let Err(e) = parse_route(s) {
            out.push(ConfigIssue::new(path, e));
        }
    }
    for key in ["netem", "ethtool"] {
        for (path, s) in one_or_many(l.get(key), &join_ptr(p, key)) {
            if s.trim().is_empty() {
                out.push(ConfigIssue::new(path, format!("{key} entry is empty")));
            }
        }
    }
    let forwards = one_or_many(l.get("forward"), &join_ptr(p, "forward"));
    for (path, s) in &forwards {
        if let Err(e) = parse_forward(s) {
            out.push(ConfigIssue::new(path.clone(), e));
        }
    }
    if !forwards.is_empty() {
        check_forward_needs(l, ty, p, modes, out);
    }
}

/// Forwarding DNATs to the link's address through conlink's bridge, so it
/// needs a veth on a real (linux/ovs) bridge and an address.
fn check_forward_needs(
    l: &Value,
    ty: Option<LinkType>,
    p: &str,
    modes: &BTreeMap<String, BridgeMode>,
    out: &mut Vec<ConfigIssue>,
) {
    let path = join_ptr(p, "forward");
    if ty != Some(LinkType::Veth) {
        // The schema reports "forward not allowed" for non-veth types.
        return;
    }
    if l.get("ip").is_none() {
        out.push(ConfigIssue::new(path.clone(), "forward needs an \"ip\" on the link to forward to"));
    }
    if let Some(b) = l.get("bridge").and_then(Value::as_str) {
        if modes.get(b) == Some(&BridgeMode::Patch) {
            out.push(ConfigIssue::new(
                path,
                format!("forward needs a linux or ovs bridge, but bridge {b:?} is in patch mode"),
            ));
        }
    }
}

/// Range check of an integer field. The schema's "integer" also admits
/// whole floats (`99999.0`, `1e30`) and integers beyond i64, which the typed
/// config cannot read: without this they were silently replaced by the
/// default (mtu) or reported without the field's path.
fn check_int(v: Option<&Value>, (lo, hi): (i64, i64), what: &str) -> Option<String> {
    let Some(Value::Number(n)) = v else { return None };
    let out_of_range = || Some(format!("{what} {n} is out of range ({lo}-{hi})"));
    if let Some(i) = n.as_i64() {
        return if (lo..=hi).contains(&i) { None } else { out_of_range() };
    }
    match n.as_f64() {
        Some(f) if f >= lo as f64 && f <= hi as f64 => {
            Some(format!("{what} {n} must be written as an integer"))
        }
        _ => out_of_range(),
    }
}

/// Compose service names are `[a-zA-Z0-9._-]+`; docker and podman container
/// names are `[a-zA-Z0-9][a-zA-Z0-9_.-]*`. A name outside those can never
/// match anything, and would end up in outer interface names.
fn check_target_names(o: &Value, p: &str, out: &mut Vec<ConfigIssue>) {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if let Some(s) = o.get("service").and_then(Value::as_str) {
        if !s.is_empty() && !s.chars().all(ok_char) {
            out.push(ConfigIssue::new(
                join_ptr(p, "service"),
                format!("service name {s:?} is not a compose service name (letters, digits, '.', '_' and '-' only)"),
            ));
        }
    }
    if let Some(s) = o.get("container").and_then(Value::as_str) {
        let first_ok = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        if !s.is_empty() && (!first_ok || !s.chars().all(ok_char)) {
            out.push(ConfigIssue::new(
                join_ptr(p, "container"),
                format!("container name {s:?} is not a container name (a letter or digit, then letters, digits, '.', '_' or '-')"),
            ));
        }
    }
}

fn check_mode(ty: LinkType, mode: &str) -> Result<(), String> {
    let words: Vec<&str> = mode.split_whitespace().collect();
    let ok = match ty {
        LinkType::Macvlan | LinkType::Macvtap => {
            matches!(words.as_slice(), [m] if ["bridge", "private", "vepa", "passthru", "source"].contains(m))
        }
        LinkType::Ipvlan | LinkType::Ipvtap => match words.as_slice() {
            [m] => ["l2", "l3", "l3s"].contains(m),
            [m, f] => ["l2", "l3", "l3s"].contains(m) && ["bridge", "private", "vepa"].contains(f),
            _ => false,
        },
        // Other types are rejected by the schema; nothing to add here.
        _ => true,
    };
    if ok {
        Ok(())
    } else if matches!(ty, LinkType::Macvlan | LinkType::Macvtap) {
        Err(format!("mode {mode:?} is not a {ty} mode (bridge, private, vepa, passthru, source)"))
    } else {
        Err(format!("mode {mode:?} is not an {ty} mode (l2, l3 or l3s, optionally followed by bridge, private or vepa)"))
    }
}

fn check_tunnel(t: &Value, p: &str, out: &mut Vec<ConfigIssue>) {
    if let Some(s) = t.get("remote").and_then(Value::as_str) {
        if let Err(e) = parse_ip(s) {
            out.push(ConfigIssue::new(join_ptr(p, "remote"), e));
        }
    }
    if let Some(e) = check_int(t.get("vni"), (0, VNI_MAX), "vni") {
        out.push(ConfigIssue::new(join_ptr(p, "vni"), e));
    }
    if let Some(name) = t.get("bridge").and_then(Value::as_str) {
        if let Err(e) = check_ifname(name) {
            out.push(ConfigIssue::new(join_ptr(p, "bridge"), e));
        }
    }
    if let Some(ty) = t.get("type").and_then(Value::as_str) {
        if ty != "geneve" && ty != "vxlan" {
            out.push(ConfigIssue::new(
                join_ptr(p, "type"),
                format!("tunnel type {ty:?} is not geneve or vxlan"),
            ));
        }
    }
    for (path, s) in one_or_many(t.get("netem"), &join_ptr(p, "netem")) {
        if s.trim().is_empty() {
            out.push(ConfigIssue::new(path, "netem entry is empty"));
        }
    }
}

fn check_command(c: &Value, p: &str, out: &mut Vec<ConfigIssue>) {
    let path = join_ptr(p, "command");
    match c.get("command") {
        Some(Value::String(s)) if s.trim().is_empty() => out.push(ConfigIssue::new(path, "command is empty")),
        Some(Value::Array(a)) if a.is_empty() || a[0].as_str().is_some_and(|s| s.is_empty()) => {
            out.push(ConfigIssue::new(path, "command is empty (a list needs a program as first element)"))
        }
        _ => {}
    }
}

/// A patch "bridge" is a pair of tc redirects: a third member has nowhere to go.
fn check_patch_bridges(doc: &Value, modes: &BTreeMap<String, BridgeMode>, out: &mut Vec<ConfigIssue>) {
    let mut members: BTreeMap<&str, BTreeSet<(String, String)>> = BTreeMap::new();
    for (i, l) in items(doc, "links") {
        let Some(b) = l.get("bridge").and_then(Value::as_str) else { continue };
        if modes.get(b) != Some(&BridgeMode::Patch) {
            continue;
        }
        let target = ["service", "container"]
            .iter()
            .find_map(|k| l.get(*k).and_then(Value::as_str).map(|n| format!("{k}:{n}")));
        let dev = l.get("dev").and_then(Value::as_str).unwrap_or("eth0").to_string();
        // Entries with the same target and dev are merged into one link later.
        let set = members.entry(b).or_default();
        set.insert((target.unwrap_or_default(), dev));
        if set.len() == 3 {
            out.push(ConfigIssue::new(
                format!("/links/{i}/bridge"),
                format!("patch bridge {b:?} joins exactly two links; this is a third"),
            ));
        }
    }
    for (i, t) in items(doc, "tunnels") {
        let Some(b) = t.get("bridge").and_then(Value::as_str) else { continue };
        if modes.get(b) == Some(&BridgeMode::Patch) {
            let set = members.entry(b).or_default();
            set.insert((format!("tunnel:{i}"), String::new()));
            if set.len() == 3 {
                out.push(ConfigIssue::new(
                    format!("/tunnels/{i}/bridge"),
                    format!("patch bridge {b:?} joins exactly two links; this tunnel is a third"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn issues(doc: Value) -> Vec<String> {
        check(&doc, BridgeMode::Auto).iter().map(|i| i.to_string()).collect()
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
            {"service": "a", "type": "vlan", "vlanid": 4094}
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
                "/links/6/vlanid"
            ]
        );
        assert!(got[1].contains("multicast"));
        assert!(got[3].contains("out of range (68-65535)"));
        assert!(got[5].contains("out of range (0-4094)"));
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
        assert_eq!(check(&doc, BridgeMode::Patch).len(), 1);
        assert!(check(&doc, BridgeMode::Linux).is_empty());
    }

    #[test]
    fn link_modes() {
        let mk = |t: &str, m: &str| json!({"links": [{"service": "a", "type": t, "mode": m, "outer-dev": "eth0"}]});
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
        assert_eq!(
            issues(doc),
            ["/links/3/bridge: patch bridge \"p\" joins exactly two links; this is a third"]
        );
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
        assert_eq!(check(&doc, BridgeMode::Patch).len(), 1);
        assert!(check(&doc, BridgeMode::Linux).is_empty());
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
            ["/bridges/0/bridge: interface name \"a/b\" must not contain '/', ':' or whitespace"]
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
            ["/tunnels/0/bridge: interface name \"t:1\" must not contain '/', ':' or whitespace"]
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
            {"service": "a", "type": "vlan", "vlanid": 1e30}
        ], "tunnels": [{"type": "vxlan", "bridge": "s", "remote": "192.0.2.1", "vni": 7.0}]}));
        assert_eq!(
            got,
            [
                "/links/0/mtu: MTU 99999.0 is out of range (68-65535)",
                "/links/1/mtu: MTU 1500.0 must be written as an integer",
                "/links/2/mtu: MTU 18446744073709551615 is out of range (68-65535)",
                "/links/3/vlanid: vlanid 18446744073709551615 is out of range (0-4094)",
                "/links/4/vlanid: vlanid 1e+30 is out of range (0-4094)",
                "/tunnels/0/vni: vni 7.0 must be written as an integer",
            ]
        );
    }

    #[test]
    fn wrong_types_are_left_to_the_schema() {
        assert!(
            issues(json!({"links": [{"ip": 5, "mtu": "x", "route": {"a": 1}}], "tunnels": "x"})).is_empty()
        );
    }
}
