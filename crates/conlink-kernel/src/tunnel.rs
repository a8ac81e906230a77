//! Tunnel links (SPEC §4 tunnels): a vxlan or geneve device in conlink's
//! namespace, enslaved to a bridge, so containers on that bridge share a
//! broadcast domain with the remote host.

use std::net::IpAddr;

use conlink_settings::{TunnelKind, VNI_MAX};
use netlink_packet_route::link::{InfoData, InfoGeneve, LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::{LinkGeneve, LinkVxlan};

use crate::error::KernelError;
use crate::nl::{check_ifname, Nl};

/// IANA VXLAN port; the kernel's own default is the pre-IANA 8472, which
/// would not interoperate with the original conlink or other hosts.
pub const VXLAN_PORT: u16 = 4789;

/// One tunnel to create (like [`crate::VethRequest`] for veths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelRequest<'a> {
    pub kind: TunnelKind,
    /// Device name, e.g. "vxlan-42".
    pub name: &'a str,
    pub vni: u32,
    pub remote: IpAddr,
    /// Bridge index the tunnel is enslaved to.
    pub master: Option<u32>,
    pub mtu: Option<u32>,
}

impl TunnelRequest<'_> {
    /// The RTM_NEWLINK; created up, enslaved to `master`.
    pub fn message(&self) -> LinkMessage {
        let (name, vni) = (self.name, self.vni);
        let mut b = match self.kind {
            TunnelKind::Vxlan => {
                let b = LinkVxlan::new(name, vni).port(VXLAN_PORT).learning(true);
                let b = match self.remote {
                    IpAddr::V4(a) => b.remote(a),
                    IpAddr::V6(a) => b.remote6(a),
                };
                b.build()
            }
            TunnelKind::Geneve => {
                let remote = match self.remote {
                    IpAddr::V4(a) => InfoGeneve::Remote(a),
                    IpAddr::V6(a) => InfoGeneve::Remote6(a),
                };
                LinkGeneve::new(name, vni)
                    .set_info_data(InfoData::Geneve(vec![InfoGeneve::Id(vni), remote]))
                    .build()
            }
        };
        // Common attributes go on the built message so both kinds share them.
        if let Some(m) = self.master {
            b.attributes.push(LinkAttribute::Controller(m));
        }
        if let Some(mtu) = self.mtu {
            b.attributes.push(LinkAttribute::Mtu(mtu));
        }
        b.header.flags |= LinkFlags::Up;
        b.header.change_mask |= LinkFlags::Up;
        b
    }
}

impl Nl {
    /// Create the tunnel of `req`, up. EOPNOTSUPP → "kernel lacks geneve links".
    pub async fn create_tunnel(&self, req: &TunnelRequest<'_>) -> Result<(), KernelError> {
        let kind = req.kind.as_str();
        let op = format!("create {kind} {}", req.name);
        check_ifname(&op, req.name)?;
        if req.vni > VNI_MAX {
            return Err(KernelError::invalid(op, format!("vni {} does not fit 24 bits", req.vni)));
        }
        self.create_link(&op, kind, req.message()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::link::InfoVxlan;

    fn info_data(m: &LinkMessage) -> (String, InfoData) {
        crate::test_support::kind_and_data(m)
    }

    #[test]
    fn vxlan_message_has_vni_remote_port_learning_master_mtu() {
        let m = TunnelRequest {
            kind: TunnelKind::Vxlan,
            name: "vxlan-42",
            vni: 42,
            remote: "198.51.100.2".parse().unwrap(),
            master: Some(5),
            mtu: Some(1450),
        }
        .message();
        let (kind, data) = info_data(&m);
        assert_eq!(kind, "vxlan");
        let InfoData::Vxlan(v) = data else { panic!("{data:?}") };
        assert!(v.contains(&InfoVxlan::Id(42)));
        assert!(
            v.contains(&InfoVxlan::Group("198.51.100.2".parse().unwrap())),
            "remote is IFLA_VXLAN_GROUP: {v:?}"
        );
        assert!(v.contains(&InfoVxlan::Port(4789)));
        assert!(v.contains(&InfoVxlan::Learning(true)));
        assert!(m.attributes.contains(&LinkAttribute::Controller(5)));
        assert!(m.attributes.contains(&LinkAttribute::Mtu(1450)));
        assert!(m.attributes.contains(&LinkAttribute::IfName("vxlan-42".into())));
        assert!(m.header.flags.contains(LinkFlags::Up));
    }

    #[test]
    fn geneve_message_v6_remote() {
        let m = TunnelRequest {
            kind: TunnelKind::Geneve,
            name: "geneve-7",
            vni: 7,
            remote: "2001:db8::2".parse().unwrap(),
            master: None,
            mtu: None,
        }
        .message();
        let (kind, data) = info_data(&m);
        assert_eq!(kind, "geneve");
        assert_eq!(
            data,
            InfoData::Geneve(vec![InfoGeneve::Id(7), InfoGeneve::Remote6("2001:db8::2".parse().unwrap())])
        );
    }
}
