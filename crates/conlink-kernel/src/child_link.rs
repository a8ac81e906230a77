//! Child links of a host interface (vlan, macvlan, macvtap, ipvlan,
//! ipvtap): one RTM_NEWLINK sent in the host namespace that names the
//! parent (IFLA_LINK) and creates the child directly in the container's
//! namespace (IFLA_NET_NS_FD) under its final name. The kernel checks the
//! name in the target namespace, so no temporary name or move is needed,
//! and the child is never visible in the host namespace.

use std::os::fd::AsRawFd;

use conlink_settings::{ChildKind, IpvlanFlag, IpvlanMode, IpvlanSetting, MacvlanMode};
use netlink_packet_route::link::{IpVlanFlags, IpVlanMode, LinkAttribute, LinkMessage, MacVlanMode};
use rtnetlink::{LinkIpVlan, LinkIpVtap, LinkMacVlan, LinkMacVtap, LinkVlan};

use crate::error::KernelError;
use crate::netns::Netns;
use crate::nl::{check_ifname, Nl};

/// The kernel's macvlan mode for conlink's.
fn macvlan_mode(m: MacvlanMode) -> MacVlanMode {
    match m {
        MacvlanMode::Private => MacVlanMode::Private,
        MacvlanMode::Vepa => MacVlanMode::Vepa,
        MacvlanMode::Bridge => MacVlanMode::Bridge,
        MacvlanMode::Passthru => MacVlanMode::Passthrough,
        MacvlanMode::Source => MacVlanMode::Source,
    }
}

/// The kernel's ipvlan mode and flags for conlink's (`bridge` is no flag).
fn ipvlan_mode(s: IpvlanSetting) -> (IpVlanMode, IpVlanFlags) {
    let mode = match s.mode {
        IpvlanMode::L2 => IpVlanMode::L2,
        IpvlanMode::L3 => IpVlanMode::L3,
        IpvlanMode::L3s => IpVlanMode::L3S,
    };
    let flags = match s.flag {
        None | Some(IpvlanFlag::Bridge) => IpVlanFlags::empty(),
        Some(IpvlanFlag::Private) => IpVlanFlags::Private,
        Some(IpvlanFlag::Vepa) => IpVlanFlags::Vepa,
    };
    (mode, flags)
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
            ChildKind::Vlan { id } => common!(LinkVlan::new(name, parent_index, id.get())),
            ChildKind::Macvlan { mode } => common!(LinkMacVlan::new(name, parent_index, macvlan_mode(mode))),
            ChildKind::Macvtap { mode } => common!(LinkMacVtap::new(name, parent_index, macvlan_mode(mode))),
            ChildKind::Ipvlan { mode } => {
                let (mode, flags) = ipvlan_mode(mode);
                common!(LinkIpVlan::new(name, parent_index, mode).flag(flags))
            }
            ChildKind::Ipvtap { mode } => {
                let (mode, flags) = ipvlan_mode(mode);
                common!(LinkIpVtap::new(name, parent_index, mode).flag(flags))
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
    use conlink_settings::VlanId;
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
                ChildKind::Macvlan { mode: MacvlanMode::Bridge },
                "macvlan",
                InfoData::MacVlan(vec![InfoMacVlan::Mode(MacVlanMode::Bridge)]),
            ),
            (
                ChildKind::Macvtap { mode: MacvlanMode::Passthru },
                "macvtap",
                InfoData::MacVtap(vec![InfoMacVtap::Mode(MacVlanMode::Passthrough)]),
            ),
            (
                ChildKind::Vlan { id: VlanId::new(100u16).unwrap() },
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
        let l2_private = IpvlanSetting { mode: IpvlanMode::L2, flag: Some(IpvlanFlag::Private) };
        let mut r = req(ChildKind::Ipvlan { mode: l2_private }, &ns);
        r.mac = None;
        let (k, d) = parts(&r.message(3));
        assert_eq!(k, "ipvlan");
        assert_eq!(
            d,
            InfoData::IpVlan(vec![InfoIpVlan::Mode(IpVlanMode::L2), InfoIpVlan::Flags(IpVlanFlags::Private)])
        );
        r.kind = ChildKind::Ipvtap { mode: IpvlanSetting { mode: IpvlanMode::L3s, flag: None } };
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
    fn every_mode_maps_to_the_kernel_value() {
        let macvlan = [
            (MacvlanMode::Private, MacVlanMode::Private),
            (MacvlanMode::Vepa, MacVlanMode::Vepa),
            (MacvlanMode::Bridge, MacVlanMode::Bridge),
            (MacvlanMode::Passthru, MacVlanMode::Passthrough),
            (MacvlanMode::Source, MacVlanMode::Source),
        ];
        for (ours, kernel) in macvlan {
            assert_eq!(macvlan_mode(ours), kernel);
        }
        let flags = [
            (None, IpVlanFlags::empty()),
            (Some(IpvlanFlag::Bridge), IpVlanFlags::empty()),
            (Some(IpvlanFlag::Private), IpVlanFlags::Private),
            (Some(IpvlanFlag::Vepa), IpVlanFlags::Vepa),
        ];
        for (m, km) in [
            (IpvlanMode::L2, IpVlanMode::L2),
            (IpvlanMode::L3, IpVlanMode::L3),
            (IpvlanMode::L3s, IpVlanMode::L3S),
        ] {
            for (f, kf) in flags {
                assert_eq!(ipvlan_mode(IpvlanSetting { mode: m, flag: f }), (km, kf));
            }
        }
    }
}
