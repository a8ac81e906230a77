//! Child links of a host interface (vlan, macvlan, macvtap, ipvlan,
//! ipvtap): one RTM_NEWLINK sent in the host namespace that names the
//! parent (IFLA_LINK) and creates the child directly in the container's
//! namespace (IFLA_NET_NS_FD) under its final name. The kernel checks the
//! name in the target namespace, so no temporary name or move is needed,
//! and the child is never visible in the host namespace.

use std::os::fd::AsRawFd;

use netlink_packet_route::link::{IpVlanFlags, IpVlanMode, LinkAttribute, LinkMessage, MacVlanMode};
use rtnetlink::{LinkIpVlan, LinkIpVtap, LinkMacVlan, LinkMacVtap, LinkVlan};

use crate::error::KernelError;
use crate::netns::Netns;
use crate::nl::{check_ifname, Nl};

/// ipvlan/ipvtap mode plus the optional `bridge|private|vepa` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpvlanMode {
    pub mode: IpVlanMode,
    pub flags: IpVlanFlags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildKind {
    Vlan { id: u16 },
    Macvlan { mode: MacVlanMode },
    Macvtap { mode: MacVlanMode },
    Ipvlan { mode: IpvlanMode },
    Ipvtap { mode: IpvlanMode },
}

impl ChildKind {
    /// From the config: `type`, optional `mode`, `vlanid` (vlan only).
    /// Defaults as `ip link`: macvlan/macvtap vepa, ipvlan/ipvtap l3.
    pub fn parse(kind: &str, mode: Option<&str>, vlanid: Option<u16>) -> Result<ChildKind, String> {
        match kind {
            "vlan" => {
                if mode.is_some() {
                    return Err("vlan links take no mode".into());
                }
                match vlanid {
                    Some(id) if (1..=4094).contains(&id) => Ok(ChildKind::Vlan { id }),
                    Some(id) => Err(format!("vlanid {id} outside 1-4094")),
                    None => Err("vlan links need a vlanid".into()),
                }
            }
            "macvlan" => Ok(ChildKind::Macvlan { mode: parse_macvlan_mode(mode.unwrap_or("vepa"))? }),
            "macvtap" => Ok(ChildKind::Macvtap { mode: parse_macvlan_mode(mode.unwrap_or("vepa"))? }),
            "ipvlan" => Ok(ChildKind::Ipvlan { mode: parse_ipvlan_mode(mode.unwrap_or("l3"))? }),
            "ipvtap" => Ok(ChildKind::Ipvtap { mode: parse_ipvlan_mode(mode.unwrap_or("l3"))? }),
            o => Err(format!("{o:?} is not a child link type (vlan, macvlan, macvtap, ipvlan, ipvtap)")),
        }
    }

    /// IFLA_INFO_KIND.
    pub fn kind_str(&self) -> &'static str {
        match self {
            ChildKind::Vlan { .. } => "vlan",
            ChildKind::Macvlan { .. } => "macvlan",
            ChildKind::Macvtap { .. } => "macvtap",
            ChildKind::Ipvlan { .. } => "ipvlan",
            ChildKind::Ipvtap { .. } => "ipvtap",
        }
    }
}

/// `private|vepa|bridge|passthru|source`, as `ip link … type macvlan mode`.
pub fn parse_macvlan_mode(s: &str) -> Result<MacVlanMode, String> {
    match s {
        "private" => Ok(MacVlanMode::Private),
        "vepa" => Ok(MacVlanMode::Vepa),
        "bridge" => Ok(MacVlanMode::Bridge),
        "passthru" => Ok(MacVlanMode::Passthrough),
        "source" => Ok(MacVlanMode::Source),
        o => Err(format!("bad macvlan/macvtap mode {o:?} (private, vepa, bridge, passthru, source)")),
    }
}

/// `l2|l3|l3s`, optionally followed by `bridge|private|vepa` ("l2 private").
pub fn parse_ipvlan_mode(s: &str) -> Result<IpvlanMode, String> {
    let mut words = s.split_whitespace();
    let mode = match words.next() {
        Some("l2") => IpVlanMode::L2,
        Some("l3") => IpVlanMode::L3,
        Some("l3s") => IpVlanMode::L3S,
        _ => return Err(format!("bad ipvlan/ipvtap mode {s:?} (l2, l3, l3s [bridge|private|vepa])")),
    };
    let flags = match words.next() {
        None | Some("bridge") => IpVlanFlags::empty(),
        Some("private") => IpVlanFlags::Private,
        Some("vepa") => IpVlanFlags::Vepa,
        Some(o) => return Err(format!("bad ipvlan/ipvtap flag {o:?} in {s:?} (bridge, private, vepa)")),
    };
    if let Some(extra) = words.next() {
        return Err(format!("unexpected {extra:?} in ipvlan/ipvtap mode {s:?}"));
    }
    Ok(IpvlanMode { mode, flags })
}

#[derive(Debug)]
pub struct ChildLinkRequest<'a> {
    pub kind: ChildKind,
    /// Parent interface in the connection's (host) namespace.
    pub parent: &'a str,
    /// Final name inside `target_ns`.
    pub name: &'a str,
    pub target_ns: &'a Netns,
    /// Ignored by the kernel for ipvlan/ipvtap (they share the parent's
    /// MAC), so refused there.
    pub mac: Option<[u8; 6]>,
    pub mtu: Option<u32>,
    /// Interface group of the child (marks it as made by the caller).
    pub group: Option<u32>,
}

impl ChildLinkRequest<'_> {
    /// The RTM_NEWLINK, given the parent's ifindex.
    pub fn message(&self, parent_index: u32) -> LinkMessage {
        let name = self.name;
        let fd = self.target_ns.as_fd().as_raw_fd();
        macro_rules! common {
            ($b:expr) => {{
                let mut b = $b.setns_by_fd(fd);
                if let Some(mac) = self.mac {
                    b = b.address(mac.to_vec());
                }
                if let Some(mtu) = self.mtu {
                    b = b.mtu(mtu);
                }
                let mut m = b.build();
                if let Some(group) = self.group {
                    m.attributes.push(LinkAttribute::Group(group));
                }
                m
            }};
        }
        match self.kind {
            ChildKind::Vlan { id } => common!(LinkVlan::new(name, parent_index, id)),
            ChildKind::Macvlan { mode } => common!(LinkMacVlan::new(name, parent_index, mode)),
            ChildKind::Macvtap { mode } => common!(LinkMacVtap::new(name, parent_index, mode)),
            ChildKind::Ipvlan { mode } => {
                common!(LinkIpVlan::new(name, parent_index, mode.mode).flag(mode.flags))
            }
            ChildKind::Ipvtap { mode } => {
                common!(LinkIpVtap::new(name, parent_index, mode.mode).flag(mode.flags))
            }
        }
    }
}

impl Nl {
    /// Create the child of `req.parent` (in this connection's namespace)
    /// directly inside `req.target_ns` as `req.name`, left down.
    pub async fn create_child_link(&self, req: &ChildLinkRequest<'_>) -> Result<(), KernelError> {
        let kind = req.kind.kind_str();
        let op = format!("create {kind} {} on {}", req.name, req.parent);
        check_ifname(&op, req.name)?;
        if req.mac.is_some() && matches!(req.kind, ChildKind::Ipvlan { .. } | ChildKind::Ipvtap { .. }) {
            return Err(KernelError::invalid(op, format!("{kind} links share the parent's MAC; drop `mac`")));
        }
        let parent = self.index_of(req.parent).await.map_err(|e| match e {
            KernelError::NotFound { .. } => {
                KernelError::not_found(&op, format!("parent interface {} does not exist", req.parent))
            }
            e => e,
        })?;
        self.create_link(&op, kind, req.message(parent)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::link::{
        InfoData, InfoIpVlan, InfoIpVtap, InfoMacVlan, InfoMacVtap, InfoVlan, LinkAttribute,
    };

    fn req<'a>(kind: ChildKind, ns: &'a Netns) -> ChildLinkRequest<'a> {
        ChildLinkRequest {
            kind,
            parent: "eth0",
            name: "c1",
            target_ns: ns,
            mac: Some([0xc2, 0, 0, 0, 0, 1]),
            mtu: Some(1400),
            group: Some(0x636d),
        }
    }

    fn parts(m: &LinkMessage) -> (String, InfoData) {
        crate::test_support::kind_and_data(m)
    }

    #[test]
    fn messages_carry_parent_kind_mode_ns_name_mac_mtu() {
        let ns = Netns::current().unwrap();
        let fd = ns.as_fd().as_raw_fd();
        let cases = [
            (
                ChildKind::parse("macvlan", Some("bridge"), None).unwrap(),
                "macvlan",
                InfoData::MacVlan(vec![InfoMacVlan::Mode(MacVlanMode::Bridge)]),
            ),
            (
                ChildKind::parse("macvtap", Some("passthru"), None).unwrap(),
                "macvtap",
                InfoData::MacVtap(vec![InfoMacVtap::Mode(MacVlanMode::Passthrough)]),
            ),
            (
                ChildKind::parse("vlan", None, Some(100)).unwrap(),
                "vlan",
                InfoData::Vlan(vec![InfoVlan::Id(100)]),
            ),
        ];
        for (kind, want_kind, want_data) in cases {
            let m = req(kind, &ns).message(7);
            assert!(m.attributes.contains(&LinkAttribute::Link(7)), "IFLA_LINK parent: {m:?}");
            assert!(m.attributes.contains(&LinkAttribute::NetNsFd(fd)), "IFLA_NET_NS_FD");
            assert!(m.attributes.contains(&LinkAttribute::Group(0x636d)), "IFLA_GROUP marks the child");
            assert!(m.attributes.contains(&LinkAttribute::IfName("c1".into())));
            assert!(m.attributes.contains(&LinkAttribute::Address(vec![0xc2, 0, 0, 0, 0, 1])));
            assert!(m.attributes.contains(&LinkAttribute::Mtu(1400)));
            let (k, d) = parts(&m);
            assert_eq!(k, want_kind);
            assert_eq!(d, want_data);
        }
        let mut r = req(ChildKind::parse("ipvlan", Some("l2 private"), None).unwrap(), &ns);
        r.mac = None;
        let (k, d) = parts(&r.message(3));
        assert_eq!(k, "ipvlan");
        assert_eq!(
            d,
            InfoData::IpVlan(vec![InfoIpVlan::Mode(IpVlanMode::L2), InfoIpVlan::Flags(IpVlanFlags::Private)])
        );
        r.kind = ChildKind::parse("ipvtap", Some("l3s"), None).unwrap();
        let (k, d) = parts(&r.message(3));
        assert_eq!(k, "ipvtap");
        assert_eq!(
            d,
            InfoData::IpVtap(vec![
                InfoIpVtap::Mode(IpVlanMode::L3S),
                InfoIpVtap::Flags(IpVlanFlags::empty())
            ])
        );
    }

    #[test]
    fn mode_parsing_errors_name_the_word() {
        assert!(parse_macvlan_mode("bridged").unwrap_err().contains("bridged"));
        assert!(parse_ipvlan_mode("l4").unwrap_err().contains("l4"));
        assert!(parse_ipvlan_mode("l2 sideways").unwrap_err().contains("sideways"));
        assert!(ChildKind::parse("vlan", None, None).unwrap_err().contains("vlanid"));
        assert!(ChildKind::parse("vlan", None, Some(4095)).unwrap_err().contains("4095"));
        assert_eq!(
            ChildKind::parse("macvlan", None, None).unwrap(),
            ChildKind::Macvlan { mode: MacVlanMode::Vepa }
        );
    }
}
