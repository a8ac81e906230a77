//! Port forwards: connections arriving on the engine interface of conlink's namespace
//! are DNATed to a container's link address (one atomic nft table for all of them).

use std::collections::BTreeMap;
use std::net::IpAddr;

use anyhow::{bail, Context as _, Result};
use conlink_config::NetworkConfig;
use conlink_kernel::{apply_forwards, sysctl_get_in, sysctl_in, Forward, Netns, Nl};
use ipnet::IpNet;
use tracing::{error, info};

use super::blocking::off_runtime;
use crate::plan::PlannedLink;

/// Address conlink's bridges answer on for port forwards: forwarded connections are
/// masqueraded to it, so replies find their way back whatever the container's routes.
pub const FORWARD_SOURCE_V4: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(169, 254, 2, 1));

/// The IPv6 counterpart (a unique-local address: link-local sources do not route).
pub const FORWARD_SOURCE_V6: IpAddr = IpAddr::V6(std::net::Ipv6Addr::new(0xfdc0, 0x11, 0, 0, 0, 0, 0, 1));

/// The engine's interface in conlink's namespace, renamed from eth0 as the original does.
const ENGINE_DEV: &str = "DOCKER-ETH0";

/// The forward source address of the family of `addr`.
pub fn forward_source_for(addr: &IpAddr) -> IpAddr {
    if addr.is_ipv4() {
        FORWARD_SOURCE_V4
    } else {
        FORWARD_SOURCE_V6
    }
}

/// Which address families (v4, v6) each bridge carrying forwarded links needs a
/// forward source address for.
pub fn forward_families(cfg: &NetworkConfig) -> BTreeMap<String, (bool, bool)> {
    let mut families: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    for l in cfg.links.iter().filter(|l| !l.forward.is_empty()) {
        if let Some(b) = &l.bridge {
            let f = families.entry(b.clone()).or_default();
            f.0 |= l.ip.iter().any(|n| matches!(n, IpNet::V4(_)));
            f.1 |= l.ip.iter().any(|n| matches!(n, IpNet::V6(_)));
        }
    }
    families
}

/// The sysctls conlink's namespace needs for its forwards: IPv6 forwarding only when a
/// forwarded link has an IPv6 address.
pub fn forwarding_sysctls(cfg: &NetworkConfig) -> Vec<&'static str> {
    let v6 =
        cfg.links.iter().any(|l| !l.forward.is_empty() && l.ip.iter().any(|n| matches!(n, IpNet::V6(_))));
    let mut keys = vec!["net.ipv4.ip_forward"];
    if v6 {
        keys.push("net.ipv6.conf.all.forwarding");
    }
    keys
}

/// The kernel's view of planned links' forwards: one rule per address family of the
/// link, to its first address of that family.
/// The first of `mine` whose conlink port and protocol another container's
/// forward already holds. The config catches clashes it can know (replica
/// counts it declares); replicas beyond that are caught here, when they start.
pub fn clashing_forward<'a>(mine: &'a [Forward], taken: &[Forward]) -> Option<&'a Forward> {
    mine.iter().find(|f| taken.iter().any(|t| t.proto == f.proto && t.port == f.port))
}

pub fn forward_rules(planned: &[PlannedLink]) -> Vec<Forward> {
    planned
        .iter()
        .flat_map(|p| {
            let v4 = p.ip.iter().map(|n| n.addr()).find(|a| a.is_ipv4());
            let v6 = p.ip.iter().map(|n| n.addr()).find(|a| a.is_ipv6());
            p.forward.iter().flat_map(move |f| {
                [v4, v6].into_iter().flatten().map(move |to| Forward {
                    proto: match f.proto {
                        conlink_config::Proto::Tcp => conlink_kernel::Proto::Tcp,
                        conlink_config::Proto::Udp => conlink_kernel::Proto::Udp,
                    },
                    port: f.conlink_port,
                    to,
                    to_port: f.container_port,
                })
            })
        })
        .collect()
}

/// Owner of the forward table in conlink's namespace.
pub struct Forwarding {
    netns: Netns,
    /// Engine interface forwarded ports arrive on, when any link forwards.
    dev: Option<String>,
    /// Orders refreshes: the last forward list computed is the last one applied.
    apply_order: std::sync::Mutex<()>,
}

/// docker's eth0 is there and not yet renamed.
async fn needs_engine_rename(nl: &Nl) -> Result<bool> {
    Ok(nl.link_by_name("eth0").await?.is_some() && nl.link_by_name(ENGINE_DEV).await?.is_none())
}

impl Forwarding {
    /// Port forwards arrive on the engine's interface in conlink's namespace: rename
    /// docker's eth0 to DOCKER-ETH0, and enable routing between it and the bridges.
    pub async fn prepare(cfg: &NetworkConfig, nl: &Nl, ns: &Netns) -> Result<Forwarding> {
        let netns = ns.try_clone()?;
        let wanted = cfg.links.iter().position(|l| !l.forward.is_empty());
        // The engine's interface is only renamed when a forward needs it.
        if wanted.is_some() && needs_engine_rename(nl).await? {
            nl.set_up("eth0", false).await?;
            nl.set_name("eth0", ENGINE_DEV).await?;
            nl.set_up(ENGINE_DEV, true).await?;
            info!("renamed the engine interface eth0 to {ENGINE_DEV}");
        }
        let present = nl.link_by_name(ENGINE_DEV).await?.is_some();
        match (wanted, present) {
            (Some(i), false) => bail!(
                "link /links/{i} has forward, which needs an engine interface in conlink's namespace \
                 (run conlink in a container on a docker network, not network_mode: none)"
            ),
            (Some(_), true) => {
                for key in forwarding_sysctls(cfg) {
                    if sysctl_get_in(ns, key).map(|v| v.trim() == "1").unwrap_or(false) {
                        continue;
                    }
                    sysctl_in(ns, key, "1").with_context(|| {
                        format!("enabling forwarding in conlink's namespace (set `sysctls: {{{key}: 1}}` on the conlink service, or run it privileged)")
                    })?;
                }
                Ok(Forwarding { netns, dev: Some(ENGINE_DEV.to_string()), apply_order: Default::default() })
            }
            (None, _) => Ok(Forwarding { netns, dev: None, apply_order: Default::default() }),
        }
    }

    pub fn enabled(&self) -> bool {
        self.dev.is_some()
    }

    /// Bridges carrying forwarded links get the source address replies return to, per
    /// address family the forwarded links use.
    pub async fn add_sources(&self, cfg: &NetworkConfig, nl: &Nl) -> Result<()> {
        if !self.enabled() {
            return Ok(());
        }
        for (bridge, (v4, v6)) in forward_families(cfg) {
            if v4 {
                nl.add_address(&bridge, IpNet::from(FORWARD_SOURCE_V4)).await?;
            }
            if v6 {
                // The engine may have disabled IPv6 in conlink's namespace.
                let key = format!("net/ipv6/conf/{bridge}/disable_ipv6");
                if sysctl_get_in(&self.netns, &key).map(|v| v.trim() != "0").unwrap_or(false) {
                    sysctl_in(&self.netns, &key, "0")
                        .with_context(|| format!("enabling IPv6 on bridge {bridge} for forwards"))?;
                }
                nl.add_address(&bridge, IpNet::from(FORWARD_SOURCE_V6)).await?;
            }
        }
        Ok(())
    }

    /// Replaces the whole forward table with `forwards` (empty: removes it).
    pub fn apply(&self, forwards: &[Forward]) {
        self.refresh(|| forwards.to_vec());
    }

    /// Replaces the forward table with what `current` returns. `current` runs under
    /// the same lock as the nft call: with containers connecting at once, a list
    /// computed earlier can never be applied after a newer one.
    pub fn refresh(&self, current: impl FnOnce() -> Vec<Forward>) {
        let Some(dev) = &self.dev else { return };
        off_runtime(|| {
            let _order = self.apply_order.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = apply_forwards(&self.netns, dev, &current()) {
                error!("cannot set port forwards: {e}");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conlink_config::{Forward as CfgForward, Link, Proto, Target};

    #[test]
    fn a_port_held_by_another_container_clashes() {
        let fwd = |proto, port, to: &str| Forward { proto, port, to: to.parse().unwrap(), to_port: 80 };
        let taken = [
            fwd(conlink_kernel::Proto::Tcp, 8080, "10.0.0.1"),
            fwd(conlink_kernel::Proto::Udp, 53, "10.0.0.1"),
        ];
        let mine = [
            fwd(conlink_kernel::Proto::Tcp, 8081, "10.0.0.2"),
            fwd(conlink_kernel::Proto::Udp, 8080, "10.0.0.2"),
        ];
        assert_eq!(clashing_forward(&mine, &taken), None, "other port or other protocol");
        let mine = [
            fwd(conlink_kernel::Proto::Tcp, 8081, "10.0.0.2"),
            fwd(conlink_kernel::Proto::Tcp, 8080, "2001:db8::2"),
        ];
        assert_eq!(clashing_forward(&mine, &taken).map(|f| f.port), Some(8080));
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn link(bridge: &str, ip: &[&str], forward: bool) -> Link {
        Link {
            ip: ip.iter().map(|s| net(s)).collect(),
            forward: if forward {
                vec![CfgForward { proto: Proto::Tcp, conlink_port: 8080, container_port: 80 }]
            } else {
                vec![]
            },
            ..Link::veth(Target::Service("s".into()), "eth0", bridge)
        }
    }

    fn cfg(links: Vec<Link>) -> NetworkConfig {
        NetworkConfig { links, ..Default::default() }
    }

    #[test]
    fn families_per_bridge_only_for_forwarded_links() {
        let c = cfg(vec![
            link("b4", &["192.0.2.2/24"], true),
            link("b6", &["2001:db8::2/64"], true),
            link("both", &["192.0.2.3/24"], true),
            link("both", &["2001:db8::3/64"], true),
            link("plain", &["192.0.2.4/24", "2001:db8::4/64"], false),
        ]);
        let f = forward_families(&c);
        assert_eq!(f.get("b4"), Some(&(true, false)));
        assert_eq!(f.get("b6"), Some(&(false, true)));
        assert_eq!(f.get("both"), Some(&(true, true)));
        assert_eq!(f.get("plain"), None, "a bridge without forwards needs no source address");
        assert!(forward_families(&cfg(vec![])).is_empty());
    }

    #[test]
    fn a_forwarded_link_without_addresses_needs_no_family() {
        let f = forward_families(&cfg(vec![link("b", &[], true)]));
        assert_eq!(f.get("b"), Some(&(false, false)));
    }

    #[test]
    fn ipv6_forwarding_only_for_forwarded_ipv6_links() {
        assert_eq!(
            forwarding_sysctls(&cfg(vec![link("b", &["192.0.2.2/24"], true)])),
            ["net.ipv4.ip_forward"]
        );
        let plain_v6 = cfg(vec![link("b", &["192.0.2.2/24"], true), link("c", &["2001:db8::2/64"], false)]);
        assert_eq!(forwarding_sysctls(&plain_v6), ["net.ipv4.ip_forward"]);
        let fwd_v6 = cfg(vec![link("b", &["192.0.2.2/24", "2001:db8::2/64"], true)]);
        assert_eq!(forwarding_sysctls(&fwd_v6), ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"]);
    }

    fn planned(ip: &[&str], forward: Vec<CfgForward>) -> PlannedLink {
        let l = link("b", ip, false);
        PlannedLink {
            link_index: 0,
            link_type: l.link_type,
            dev: l.dev,
            outer: None,
            bridge: l.bridge,
            bridge_mode: None,
            ip: l.ip,
            mac: None,
            mtu: None,
            route: vec![],
            nat: None,
            netem: None,
            child: None,
            forward,
            ethtool: vec![],
        }
    }

    #[test]
    fn one_rule_per_family_to_the_first_address_of_that_family() {
        let fwd = vec![
            CfgForward { proto: Proto::Tcp, conlink_port: 8080, container_port: 80 },
            CfgForward { proto: Proto::Udp, conlink_port: 5353, container_port: 53 },
        ];
        let p = planned(&["192.0.2.2/24", "192.0.2.3/24", "2001:db8::2/64"], fwd);
        let rules = forward_rules(&[p]);
        let summary: Vec<(conlink_kernel::Proto, u16, String, u16)> =
            rules.iter().map(|r| (r.proto, r.port, r.to.to_string(), r.to_port)).collect();
        assert_eq!(
            summary,
            [
                (conlink_kernel::Proto::Tcp, 8080, "192.0.2.2".to_string(), 80),
                (conlink_kernel::Proto::Tcp, 8080, "2001:db8::2".to_string(), 80),
                (conlink_kernel::Proto::Udp, 5353, "192.0.2.2".to_string(), 53),
                (conlink_kernel::Proto::Udp, 5353, "2001:db8::2".to_string(), 53),
            ]
        );
        assert!(forward_rules(&[planned(
            &[],
            vec![CfgForward { proto: Proto::Tcp, conlink_port: 1, container_port: 1 }]
        )])
        .is_empty());
        assert!(forward_rules(&[planned(&["192.0.2.2/24"], vec![])]).is_empty());
    }

    #[test]
    fn source_address_matches_the_family() {
        assert_eq!(forward_source_for(&"192.0.2.9".parse().unwrap()), FORWARD_SOURCE_V4);
        assert_eq!(forward_source_for(&"2001:db8::9".parse().unwrap()), FORWARD_SOURCE_V6);
    }
}
