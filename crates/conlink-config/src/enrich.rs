//! Validated JSON → typed [`NetworkConfig`] with defaults filled in (SPEC §4).

use conlink_settings::{parse_cidr, parse_ip, DistTables, VlanId};
use serde_json::Value;

use crate::error::ConfigIssue;
use crate::forward::parse_forward;
use crate::mac_source::MacSource;
use crate::model::*;
use crate::validate::parse_mode;

/// What enrichment needs from the command line and the host.
#[derive(Debug, Clone)]
pub struct EnrichOptions {
    pub default_bridge_mode: BridgeMode,
    pub default_mtu: u32,
    /// Do not give veths `--offload tx off` ([`EthtoolSetting::veth_tx_off`]) first.
    pub keep_veth_offload: bool,
    pub ovs_available: bool,
    /// MACs of links that set none.
    pub mac_source: MacSource,
}

/// Builds the typed config. `doc` must have passed validation (with the same
/// `tables`); anything still unparseable is reported rather than panicking.
pub fn enrich(
    doc: &Value,
    o: &EnrichOptions,
    tables: &dyn DistTables,
) -> Result<NetworkConfig, Vec<ConfigIssue>> {
    let mut issues = Vec::new();
    let mut cfg = NetworkConfig::default();
    let resolve = |m: BridgeMode| match m {
        BridgeMode::Auto if o.ovs_available => BridgeMode::Ovs,
        BridgeMode::Auto => BridgeMode::Linux,
        m => m,
    };
    for b in list(doc, "bridges") {
        let Some(name) = str_of(b, "bridge") else { continue };
        let mode = str_of(b, "mode").and_then(|m| m.parse().ok()).unwrap_or(o.default_bridge_mode);
        cfg.bridges.insert(name.to_string(), Bridge { name: name.to_string(), mode: resolve(mode) });
    }
    for (i, l) in list(doc, "links").enumerate() {
        match link(l, o, tables) {
            Ok(link) => cfg.links.push(link),
            Err(e) => issues.push(ConfigIssue::new(format!("/links/{i}"), e)),
        }
    }
    for (i, t) in list(doc, "tunnels").enumerate() {
        match tunnel(t, tables) {
            Ok(t) => cfg.tunnels.push(t),
            Err(e) => issues.push(ConfigIssue::new(format!("/tunnels/{i}"), e)),
        }
    }
    for (i, c) in list(doc, "commands").enumerate() {
        match command(c) {
            Ok(c) => cfg.commands.push(c),
            Err(e) => issues.push(ConfigIssue::new(format!("/commands/{i}"), e)),
        }
    }
    for (i, n) in list(doc, "nodes").enumerate() {
        match node(n) {
            Ok(n) => cfg.nodes.push(n),
            Err(e) => issues.push(ConfigIssue::new(format!("/nodes/{i}"), e)),
        }
    }
    // Bridges named only by links or tunnels exist too, in the default mode.
    let named =
        cfg.links.iter().filter_map(|l| l.bridge.clone()).chain(cfg.tunnels.iter().map(|t| t.bridge.clone()));
    for name in named.collect::<Vec<_>>() {
        cfg.bridges
            .entry(name.clone())
            .or_insert_with(|| Bridge { name, mode: resolve(o.default_bridge_mode) });
    }
    if issues.is_empty() {
        Ok(cfg)
    } else {
        Err(issues)
    }
}

fn list<'a>(doc: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    doc.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// String-or-list value as a list of strings.
fn strings(v: &Value, key: &str) -> Vec<String> {
    match v.get(key) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

fn target(v: &Value) -> Result<Target, String> {
    match (str_of(v, "service"), str_of(v, "container")) {
        (Some(s), None) => Ok(Target::Service(s.to_string())),
        (None, Some(c)) => Ok(Target::Container(c.to_string())),
        _ => Err("needs exactly one of \"service\" or \"container\"".into()),
    }
}

/// All `netem` entries as one option string.
fn netem(v: &Value, tables: &dyn DistTables) -> Result<Option<Netem>, String> {
    let entries = strings(v, "netem");
    if entries.is_empty() {
        return Ok(None);
    }
    Netem::parse_entries(&entries, tables).map(Some)
}

fn link(l: &Value, o: &EnrichOptions, tables: &dyn DistTables) -> Result<Link, String> {
    let link_type: LinkType = str_of(l, "type").unwrap_or("veth").parse()?;
    let ip = strings(l, "ip").iter().map(|s| parse_cidr(s)).collect::<Result<Vec<_>, _>>()?;
    let mac = match str_of(l, "mac") {
        Some(m) => Some(m.parse()?),
        // ipvlan/ipvtap share the parent's MAC by design: never set one.
        None if matches!(link_type, LinkType::Ipvlan | LinkType::Ipvtap) => None,
        None => Some(o.mac_source.next_mac()),
    };
    let mtu = match l.get("mtu").and_then(Value::as_u64) {
        Some(m) => Some(u32::try_from(m).map_err(|_| format!("mtu {m} is out of range"))?),
        // *vlan links inherit (and may not exceed) the parent's MTU.
        None if link_type.has_host_parent() => None,
        None => Some(o.default_mtu),
    };
    let mut ethtool =
        strings(l, "ethtool").iter().map(|s| EthtoolSetting::parse(s)).collect::<Result<Vec<_>, _>>()?;
    if link_type == LinkType::Veth && !o.keep_veth_offload {
        ethtool.insert(0, EthtoolSetting::veth_tx_off());
    }
    Ok(Link {
        link_type,
        target: target(l)?,
        dev: str_of(l, "dev").unwrap_or("eth0").to_string(),
        bridge: str_of(l, "bridge").map(str::to_string),
        outer_dev: str_of(l, "outer-dev").map(str::to_string),
        ip,
        mac,
        mtu,
        route: strings(l, "route").iter().map(|s| Route::parse(s)).collect::<Result<_, _>>()?,
        nat: str_of(l, "nat").map(parse_ip).transpose()?,
        netem: netem(l, tables)?,
        mode: str_of(l, "mode").and_then(|m| parse_mode(link_type, m)).transpose()?,
        vlanid: l.get("vlanid").and_then(Value::as_u64).map(VlanId::new).transpose()?,
        forward: strings(l, "forward").iter().map(|s| parse_forward(s)).collect::<Result<_, _>>()?,
        ethtool,
    })
}

fn tunnel(t: &Value, tables: &dyn DistTables) -> Result<Tunnel, String> {
    let tunnel_type: TunnelKind = str_of(t, "type").ok_or("tunnel needs a type")?.parse()?;
    Ok(Tunnel {
        tunnel_type,
        bridge: str_of(t, "bridge").ok_or("tunnel needs a bridge")?.to_string(),
        remote: parse_ip(str_of(t, "remote").ok_or("tunnel needs a remote")?)?,
        vni: t
            .get("vni")
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or("tunnel needs a vni")?,
        netem: netem(t, tables)?,
    })
}

/// A `command` value: a string runs in a shell, a list as it is.
fn command_line(v: &Value) -> Result<CommandLine, String> {
    match v {
        Value::String(s) => Ok(CommandLine::Shell(s.clone())),
        Value::Array(a) => {
            Ok(CommandLine::Argv(a.iter().filter_map(Value::as_str).map(str::to_string).collect()))
        }
        _ => Err("command must be a string or a list of strings".into()),
    }
}

fn command(c: &Value) -> Result<Command, String> {
    let command = command_line(c.get("command").unwrap_or(&Value::Null))?;
    Ok(Command { target: target(c)?, command })
}

fn node(n: &Value) -> Result<Node, String> {
    let name = str_of(n, "name").ok_or("node needs a name")?.to_string();
    let command = n.get("command").map(command_line).transpose()?;
    Ok(Node { name, command })
}

#[cfg(test)]
mod tests {
    use super::*;
    use conlink_settings::NoDistTables;
    use serde_json::json;

    fn opts() -> EnrichOptions {
        EnrichOptions {
            default_bridge_mode: BridgeMode::Auto,
            default_mtu: 65535,
            keep_veth_offload: false,
            ovs_available: false,
            mac_source: MacSource::sequential(),
        }
    }

    fn enrich(doc: &Value, o: &EnrichOptions) -> Result<NetworkConfig, Vec<ConfigIssue>> {
        super::enrich(doc, o, &NoDistTables)
    }

    fn one_link(l: Value, o: &EnrichOptions) -> Link {
        enrich(&json!({"links": [l]}), o).unwrap().links.remove(0)
    }

    fn settings(v: &[&str]) -> Vec<EthtoolSetting> {
        v.iter().map(|s| EthtoolSetting::parse(s).unwrap()).collect()
    }

    #[test]
    fn veth_defaults() {
        let l = one_link(json!({"service": "h1", "bridge": "s1"}), &opts());
        assert_eq!(l.link_type, LinkType::Veth);
        assert_eq!(l.dev, "eth0");
        assert_eq!(l.target, Target::Service("h1".into()));
        assert_eq!(l.mtu, Some(65535));
        assert_eq!(l.mac.unwrap().0[0], 0xc2);
        assert_eq!(l.ethtool, settings(&["--offload tx off"]));
        assert!(l.ip.is_empty() && l.route.is_empty() && l.forward.is_empty() && l.netem.is_none());
    }

    #[test]
    fn generated_macs_come_from_the_source_and_differ() {
        let o = EnrichOptions { mac_source: MacSource::new(|| [1, 2, 3, 4, 5]), ..opts() };
        assert_eq!(
            one_link(json!({"service": "h1", "bridge": "s1"}), &o).mac.unwrap().to_string(),
            "c2:01:02:03:04:05"
        );
        let cfg = enrich(
            &json!({"links": [{"service": "a", "bridge": "s"}, {"service": "b", "bridge": "s"}]}),
            &opts(),
        )
        .unwrap();
        let (a, b) = (cfg.links[0].mac.unwrap(), cfg.links[1].mac.unwrap());
        assert_ne!(a, b);
        assert_eq!(a.0[0] & 0b11, 0b10, "locally administered, unicast");
    }

    #[test]
    fn configured_values_kept() {
        let l = one_link(
            json!({"container": "c1", "bridge": "s1", "dev": "eth7", "mac": "00:0a:0b:0c:0d:01", "mtu": 4111,
                   "ip": ["10.0.0.5/24", "2001:db8::5/64"], "route": "default via 10.0.0.1", "nat": "192.0.2.9",
                   "netem": "delay 40ms", "forward": ["1080:80/tcp", "53:53/udp"], "outer-dev": "out0"}),
            &opts(),
        );
        assert_eq!(l.target, Target::Container("c1".into()));
        assert_eq!(l.dev, "eth7");
        assert_eq!(l.mac.unwrap().to_string(), "00:0a:0b:0c:0d:01");
        assert_eq!(l.mtu, Some(4111));
        assert_eq!(l.ip.len(), 2);
        assert_eq!(l.route[0].raw, "default via 10.0.0.1");
        assert_eq!(l.nat, Some("192.0.2.9".parse().unwrap()));
        assert_eq!(l.netem.as_ref().unwrap().raw, ["delay 40ms"]);
        assert_eq!(l.netem.unwrap().latency_ns, 40_000_000);
        assert_eq!(l.forward.len(), 2);
        assert_eq!(l.outer_dev.as_deref(), Some("out0"));
    }

    #[test]
    fn vlan_types_have_no_default_mtu() {
        for t in ["vlan", "ipvlan", "ipvtap", "macvlan", "macvtap"] {
            let l = one_link(json!({"service": "a", "type": t, "vlanid": 5, "outer-dev": "eth0"}), &opts());
            assert_eq!(l.mtu, None, "{t}");
            assert!(l.ethtool.is_empty(), "{t}: offload only for veth");
            assert!(l.child_kind().is_some(), "{t}");
        }
        let l = one_link(json!({"service": "a", "type": "macvlan", "mtu": 1400}), &opts());
        assert_eq!(l.mtu, Some(1400));
        let l = one_link(json!({"service": "a", "type": "dummy"}), &opts());
        assert_eq!(l.mtu, Some(65535));
    }

    #[test]
    fn ipvlan_never_gets_a_mac() {
        assert_eq!(one_link(json!({"service": "a", "type": "ipvlan"}), &opts()).mac, None);
        assert_eq!(one_link(json!({"service": "a", "type": "ipvtap"}), &opts()).mac, None);
        assert!(one_link(json!({"service": "a", "type": "macvlan"}), &opts()).mac.is_some());
        assert!(one_link(json!({"service": "a", "type": "dummy"}), &opts()).mac.is_some());
    }

    #[test]
    fn ethtool_parsed_and_offload_prepend() {
        let l = one_link(
            json!({"service": "a", "bridge": "s", "ethtool": ["--offload  rx off", "-K gso off"]}),
            &opts(),
        );
        assert_eq!(l.ethtool, settings(&["--offload tx off", "--offload rx off", "-K gso off"]));
        assert_eq!(l.ethtool[1].as_str(), "--offload rx off");
        let keep = EnrichOptions { keep_veth_offload: true, ..opts() };
        let l = one_link(json!({"service": "a", "bridge": "s", "ethtool": "--offload rx off"}), &keep);
        assert_eq!(l.ethtool, settings(&["--offload rx off"]));
        let l = one_link(json!({"service": "a", "bridge": "s"}), &keep);
        assert!(l.ethtool.is_empty());
    }

    #[test]
    fn bridges_default_and_auto_resolution() {
        let doc = json!({
            "bridges": [{"bridge": "a", "mode": "auto"}, {"bridge": "p", "mode": "patch"}, {"bridge": "n"}],
            "links": [{"service": "x", "bridge": "l"}],
            "tunnels": [{"type": "vxlan", "bridge": "t", "remote": "192.0.2.1", "vni": 7}]
        });
        let mode = |o: &EnrichOptions, b: &str| enrich(&doc, o).unwrap().bridges[b].mode;
        let no_ovs = opts();
        let ovs = EnrichOptions { ovs_available: true, ..opts() };
        let dflt_linux =
            EnrichOptions { default_bridge_mode: BridgeMode::Linux, ovs_available: true, ..opts() };
        let dflt_patch = EnrichOptions { default_bridge_mode: BridgeMode::Patch, ..opts() };
        assert_eq!(mode(&no_ovs, "a"), BridgeMode::Linux);
        assert_eq!(mode(&ovs, "a"), BridgeMode::Ovs);
        assert_eq!(mode(&ovs, "p"), BridgeMode::Patch);
        assert_eq!(mode(&no_ovs, "n"), BridgeMode::Linux);
        assert_eq!(mode(&ovs, "n"), BridgeMode::Ovs);
        assert_eq!(mode(&ovs, "l"), BridgeMode::Ovs);
        assert_eq!(mode(&ovs, "t"), BridgeMode::Ovs);
        assert_eq!(mode(&dflt_linux, "l"), BridgeMode::Linux);
        assert_eq!(mode(&dflt_linux, "a"), BridgeMode::Ovs, "explicit auto still resolves by availability");
        assert_eq!(mode(&dflt_patch, "l"), BridgeMode::Patch);
        assert_eq!(enrich(&doc, &no_ovs).unwrap().bridges.len(), 5);
        assert_eq!(enrich(&doc, &no_ovs).unwrap().bridges["l"].name, "l");
    }

    #[test]
    fn tunnels_and_commands() {
        let cfg = enrich(
            &json!({"tunnels": [{"type": "geneve", "bridge": "s1", "remote": "192.0.2.7", "vni": 1001, "netem": ["loss 1%"]}],
                    "commands": [{"service": "a", "command": "ip a"}, {"container": "c", "command": ["ip", "r"]}]}),
            &opts(),
        )
        .unwrap();
        assert_eq!(cfg.tunnels[0].dev_name(), "geneve-1001");
        assert_eq!(cfg.tunnels[0].netem.as_ref().unwrap().raw, ["loss 1%"]);
        assert_eq!(cfg.tunnels[0].tunnel_type, TunnelKind::Geneve);
        assert_eq!(
            cfg.commands[0],
            Command { target: Target::Service("a".into()), command: CommandLine::Shell("ip a".into()) }
        );
        assert_eq!(cfg.commands[1].command, CommandLine::Argv(vec!["ip".into(), "r".into()]));
    }
}
