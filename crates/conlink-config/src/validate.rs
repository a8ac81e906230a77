//! Semantic checks the schema cannot express (or expresses badly): address
//! parsing, ranges, route/forward grammar, cross-references between links
//! and bridges. Works on the merged JSON so paths match what the user wrote;
//! tolerates wrong types (the schema reports those).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use conlink_settings::{
    DistTables, EthtoolSetting, LinkMode, Netem, Route, TunnelKind, VlanId, VLAN_ID_MAX, VLAN_ID_MIN, VNI_MAX,
};

use crate::addrs::{check_interface_addr, check_unicast_peer, parse_cidr, parse_ip};
use crate::error::{join_ptr, quoted, ConfigIssue};
use crate::forward::parse_forward;
use crate::model::{BridgeMode, LinkType, MacAddr};
use crate::naming::{check_ifname, check_node_name};

pub const MTU_RANGE: (i64, i64) = (68, 65535);

/// All semantic issues in the merged config `doc`; `tables` serves netem's
/// `distribution NAME`.
pub fn check(doc: &Value, default_bridge_mode: BridgeMode, tables: &dyn DistTables) -> Vec<ConfigIssue> {
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
        check_link(l, &format!("/links/{i}"), &modes, tables, &mut out);
    }
    for (i, t) in items(doc, "tunnels") {
        check_tunnel(t, &format!("/tunnels/{i}"), tables, &mut out);
    }
    for (i, c) in items(doc, "commands") {
        check_target_names(c, &format!("/commands/{i}"), &mut out);
        check_command(c, &format!("/commands/{i}"), &mut out);
    }
    let mut node_names = BTreeSet::new();
    for (i, n) in items(doc, "nodes") {
        if let Some(name) = n.get("name").and_then(Value::as_str) {
            if let Err(e) = check_node_name(name) {
                out.push(ConfigIssue::new(format!("/nodes/{i}/name"), e));
            }
            if !node_names.insert(name.to_string()) {
                out.push(ConfigIssue::new(
                    format!("/nodes/{i}/name"),
                    format!("node {} is declared twice", quoted(name)),
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
                        format!("{} is a node: link it with `container: {s}`", quoted(s)),
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

fn check_link(
    l: &Value,
    p: &str,
    modes: &BTreeMap<String, BridgeMode>,
    tables: &dyn DistTables,
    out: &mut Vec<ConfigIssue>,
) {
    check_target_names(l, p, out);
    let mut push = |key: &str, msg: String| out.push(ConfigIssue::new(join_ptr(p, key), msg));
    for key in ["dev", "outer-dev", "bridge"] {
        if let Some(name) = l.get(key).and_then(Value::as_str) {
            if let Err(e) = check_ifname(name) {
                push(key, e);
            }
        }
    }
    let mut families = Vec::new();
    for (path, s) in one_or_many(l.get("ip"), &join_ptr(p, "ip")) {
        match parse_cidr(s) {
            Err(e) => out.push(ConfigIssue::new(path, e)),
            Ok(net) => match check_interface_addr(&net) {
                Err(e) => out.push(ConfigIssue::new(path, e)),
                Ok(()) => families.push(net.addr().is_ipv4()),
            },
        }
    }
    let mut push = |key: &str, msg: String| out.push(ConfigIssue::new(join_ptr(p, key), msg));
    if let Some(s) = l.get("mac").and_then(Value::as_str) {
        match s.parse::<MacAddr>() {
            Err(e) => push("mac", e),
            Ok(m) if m.0[0] & 1 == 1 => {
                push("mac", format!("{} is a multicast MAC address (first octet must be even)", quoted(s)))
            }
            Ok(_) => {}
        }
    }
    if let Some(s) = l.get("nat").and_then(Value::as_str) {
        match parse_ip(s) {
            Err(e) => push("nat", e),
            Ok(nat) => {
                if let Err(e) = check_unicast_peer(&nat) {
                    push("nat", format!("nat address {e}"));
                } else if !families.is_empty() && !families.contains(&nat.is_ipv4()) {
                    let (fam, other) = if nat.is_ipv4() { ("IPv4", "IPv6") } else { ("IPv6", "IPv4") };
                    push("nat", format!("nat {nat} is {fam} but the link's ip is {other} only: NAT maps one family to itself"));
                }
            }
        }
    }
    if let Some(e) = check_int(l.get("mtu"), MTU_RANGE, "MTU") {
        push("mtu", e);
    }
    if let Some(e) = check_vlanid(l.get("vlanid")) {
        push("vlanid", e);
    }
    let ty = link_type(l);
    if let (Some(mode), Some(ty)) = (l.get("mode").and_then(Value::as_str), ty) {
        if let Some(Err(e)) = parse_mode(ty, mode) {
            push("mode", e);
        }
    }
    for (path, s) in one_or_many(l.get("route"), &join_ptr(p, "route")) {
        if let Err(e) = Route::parse(s) {
            out.push(ConfigIssue::new(path, e));
        }
    }
    check_netem(l, p, tables, out);
    for (path, s) in one_or_many(l.get("ethtool"), &join_ptr(p, "ethtool")) {
        if let Err(e) = EthtoolSetting::parse(s) {
            out.push(ConfigIssue::new(path, e));
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
                format!("forward needs a linux or ovs bridge, but bridge {} is in patch mode", quoted(b)),
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

/// The VLAN id rule of conlink-settings, for any JSON number; non-integers
/// that would be in range are told to be written as integers.
fn check_vlanid(v: Option<&Value>) -> Option<String> {
    let Some(Value::Number(n)) = v else { return None };
    if let Some(i) = n.as_i64() {
        return VlanId::new(i).err();
    }
    if let Some(u) = n.as_u64() {
        return VlanId::new(u).err();
    }
    match n.as_f64() {
        Some(f) if VlanId::new(f as i64).is_ok() && f.fract() == 0.0 => {
            Some(format!("vlanid {n} must be written as an integer"))
        }
        _ => Some(format!("{n} is not a VLAN id ({VLAN_ID_MIN}-{VLAN_ID_MAX})")),
    }
}

/// `netem` entries: none may be empty, and together they are one option string.
fn check_netem(o: &Value, p: &str, tables: &dyn DistTables, out: &mut Vec<ConfigIssue>) {
    let path = join_ptr(p, "netem");
    let entries = one_or_many(o.get("netem"), &path);
    let mut empty = false;
    for (path, s) in &entries {
        if s.trim().is_empty() {
            out.push(ConfigIssue::new(path.clone(), "netem entry is empty"));
            empty = true;
        }
    }
    if !entries.is_empty() && !empty {
        let words: Vec<String> = entries.iter().map(|(_, s)| s.to_string()).collect();
        if let Err(e) = Netem::parse_entries(&words, tables) {
            out.push(ConfigIssue::new(path, e));
        }
    }
}

/// `mode` of a link of type `ty`; `None` for types without modes (the schema
/// refuses `mode` there).
pub(crate) fn parse_mode(ty: LinkType, mode: &str) -> Option<Result<LinkMode, String>> {
    match ty {
        LinkType::Macvlan | LinkType::Macvtap => Some(LinkMode::parse_macvlan(ty.as_str(), mode)),
        LinkType::Ipvlan | LinkType::Ipvtap => Some(LinkMode::parse_ipvlan(ty.as_str(), mode)),
        _ => None,
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
                format!(
                    "service name {} is not a compose service name (letters, digits, '.', '_' and '-' only)",
                    quoted(s)
                ),
            ));
        }
    }
    if let Some(s) = o.get("container").and_then(Value::as_str) {
        let first_ok = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        if !s.is_empty() && (!first_ok || !s.chars().all(ok_char)) {
            out.push(ConfigIssue::new(
                join_ptr(p, "container"),
                format!("container name {} is not a container name (a letter or digit, then letters, digits, '.', '_' or '-')", quoted(s)),
            ));
        }
    }
}

fn check_tunnel(t: &Value, p: &str, tables: &dyn DistTables, out: &mut Vec<ConfigIssue>) {
    if let Some(s) = t.get("remote").and_then(Value::as_str) {
        let remote =
            parse_ip(s).and_then(|ip| check_unicast_peer(&ip).map_err(|e| format!("tunnel remote {e}")));
        if let Err(e) = remote {
            out.push(ConfigIssue::new(join_ptr(p, "remote"), e));
        }
    }
    if let Some(e) = check_int(t.get("vni"), (0, VNI_MAX.into()), "vni") {
        out.push(ConfigIssue::new(join_ptr(p, "vni"), e));
    }
    if let Some(name) = t.get("bridge").and_then(Value::as_str) {
        if let Err(e) = check_ifname(name) {
            out.push(ConfigIssue::new(join_ptr(p, "bridge"), e));
        }
    }
    if let Some(ty) = t.get("type").and_then(Value::as_str) {
        if let Err(e) = ty.parse::<TunnelKind>() {
            out.push(ConfigIssue::new(join_ptr(p, "type"), e));
        }
    }
    check_netem(t, p, tables, out);
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
                format!("patch bridge {} joins exactly two links; this is a third", quoted(b)),
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
                    format!("patch bridge {} joins exactly two links; this tunnel is a third", quoted(b)),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests;
