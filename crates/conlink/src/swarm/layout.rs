//! Pure decisions of the swarm mesh: which bridges span hosts, the VNI and
//! device name every host derives alike (nobody writes `tunnels:`), and the
//! MTU left for frames once vxlan has wrapped them.

use conlink_config::{BridgeMode, NetworkConfig, Target};
use std::net::IpAddr;

/// UDP port of conlink's mesh: not 4789, which swarm's own overlay (and its
/// ingress network, on every node) binds in the host namespace. 8472 is the
/// Linux kernel's own vxlan default.
pub const DEFAULT_VXLAN_PORT: u16 = 8472;

/// Outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8.
pub const VXLAN_OVERHEAD_V4: u32 = 50;
/// Outer Ethernet 14 + IPv6 40 + UDP 8 + VXLAN 8.
pub const VXLAN_OVERHEAD_V6: u32 = 70;

/// Bridges the mesh extends across hosts: linux bridges with at least one
/// `service` link, since a service's tasks may land on any node. Bridges
/// only `container` links use stay local (a container name is one host's).
pub fn meshed_bridges(cfg: &NetworkConfig) -> Vec<String> {
    cfg.bridges
        .values()
        .filter(|b| b.mode == BridgeMode::Linux)
        .filter(|b| {
            cfg.links
                .iter()
                .any(|l| l.bridge.as_deref() == Some(&b.name) && matches!(l.target, Target::Service(_)))
        })
        .map(|b| b.name.clone())
        .collect()
}

/// The VNI of `bridge` in `stack`: the same on every host, different per
/// bridge and stack (FNV-1a folded to 24 bits; 0 is avoided).
pub fn vni_for(stack: &str, bridge: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in stack.bytes().chain([b'/']).chain(bridge.bytes()) {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    let v = (h >> 24) ^ (h & 0x00ff_ffff);
    if v == 0 {
        1
    } else {
        v
    }
}

/// The mesh device of `bridge` in conlink's namespace: `vxs-` + the bridge
/// name cut to fit 15 characters.
pub fn device_name(bridge: &str) -> String {
    let mut name = String::from("vxs-");
    name.extend(bridge.chars().take(11));
    name
}

/// MTU of the mesh device (and so of every link on a meshed bridge): the
/// underlay's minus the vxlan headers of its address family.
pub fn mesh_mtu(underlay_mtu: u32, underlay: IpAddr) -> u32 {
    let overhead = if underlay.is_ipv6() { VXLAN_OVERHEAD_V6 } else { VXLAN_OVERHEAD_V4 };
    underlay_mtu.saturating_sub(overhead).max(68)
}

/// Lowers every link on a meshed bridge to `mtu` (a bridge does not
/// fragment: a larger frame would be dropped at the tunnel). Returns the
/// config paths changed, for a warning.
pub fn clamp_link_mtus(cfg: &mut NetworkConfig, bridges: &[String], mtu: u32) -> Vec<String> {
    let mut changed = Vec::new();
    for (i, l) in cfg.links.iter_mut().enumerate() {
        let on_mesh = l.bridge.as_ref().is_some_and(|b| bridges.contains(b));
        if on_mesh && l.mtu.is_none_or(|m| m > mtu) {
            l.mtu = Some(mtu);
            changed.push(format!("/links/{i}/mtu"));
        }
    }
    changed
}

/// Device names must not collide after cutting (two long bridge names with
/// the same first 11 characters): the error names both bridges.
pub fn check_device_names(bridges: &[String]) -> Result<(), String> {
    for (i, a) in bridges.iter().enumerate() {
        for b in &bridges[i + 1..] {
            if device_name(a) == device_name(b) {
                return Err(format!(
                    "bridges {a:?} and {b:?} would share the mesh device {}: make their first 11 characters differ",
                    device_name(a)
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use conlink_config::{Bridge, Link};

    fn link(target: Target, bridge: &str, mtu: Option<u32>) -> Link {
        Link { mtu, ..Link::veth(target, "eth0", bridge) }
    }

    fn cfg() -> NetworkConfig {
        let mut c = NetworkConfig::default();
        for (name, mode) in
            [("s1", BridgeMode::Linux), ("local", BridgeMode::Linux), ("p", BridgeMode::Patch)]
        {
            c.bridges.insert(name.into(), Bridge { name: name.into(), mode });
        }
        c.links = vec![
            link(Target::Service("h".into()), "s1", Some(65535)),
            link(Target::Container("box".into()), "local", Some(65535)),
            link(Target::Service("r0".into()), "p", Some(9000)),
            link(Target::Service("r0".into()), "s1", Some(1400)),
        ];
        c
    }

    #[test]
    fn only_linux_bridges_with_service_links_are_meshed() {
        assert_eq!(meshed_bridges(&cfg()), vec!["s1".to_string()]);
    }

    #[test]
    fn vni_is_stable_distinct_and_fits_24_bits() {
        assert_eq!(vni_for("lab", "s1"), vni_for("lab", "s1"));
        assert_ne!(vni_for("lab", "s1"), vni_for("lab", "s2"));
        assert_ne!(vni_for("lab", "s1"), vni_for("lab2", "s1"));
        assert_ne!(vni_for("la", "bs1"), vni_for("lab", "s1"), "the separator keeps stack and bridge apart");
        for (s, b) in [("a", "b"), ("lab", "s1"), ("x".repeat(300).as_str(), "y")] {
            let v = vni_for(s, b);
            assert!(v > 0 && v < 1 << 24, "{v}");
        }
    }

    #[test]
    fn device_names_fit_ifnamsiz() {
        assert_eq!(device_name("s1"), "vxs-s1");
        assert_eq!(device_name("a-very-long-bridge-name"), "vxs-a-very-long");
        assert!(device_name("a-very-long-bridge-name").len() <= 15);
        let long = vec!["a-very-long-one".to_string(), "a-very-long-two".to_string()];
        let e = check_device_names(&long).unwrap_err();
        assert!(
            e.contains("a-very-long-one") && e.contains("a-very-long-two") && e.contains("vxs-a-very-long"),
            "{e}"
        );
        assert!(check_device_names(&["s1".into(), "s2".into()]).is_ok());
    }

    #[test]
    fn mtu_subtracts_the_encapsulation_of_the_underlay_family() {
        assert_eq!(mesh_mtu(1500, "198.51.100.11".parse().unwrap()), 1450);
        assert_eq!(mesh_mtu(1500, "2001:db8::1".parse().unwrap()), 1430);
        assert_eq!(mesh_mtu(9000, "198.51.100.11".parse().unwrap()), 8950);
        assert_eq!(mesh_mtu(40, "198.51.100.11".parse().unwrap()), 68);
    }

    #[test]
    fn links_on_meshed_bridges_are_lowered_others_kept() {
        let mut c = cfg();
        let changed = clamp_link_mtus(&mut c, &["s1".into()], 1450);
        assert_eq!(changed, vec!["/links/0/mtu".to_string()]);
        assert_eq!(c.links[0].mtu, Some(1450));
        assert_eq!(c.links[1].mtu, Some(65535), "local bridge untouched");
        assert_eq!(c.links[2].mtu, Some(9000), "patch bridge is not meshed");
        assert_eq!(c.links[3].mtu, Some(1400), "a smaller explicit MTU stays");
    }
}
