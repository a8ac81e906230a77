//! Tunnel links (SPEC §4 tunnels): a vxlan or geneve device in conlink's
//! namespace, enslaved to a bridge, so containers on that bridge share a
//! broadcast domain with the remote host.

use std::net::IpAddr;

use netlink_packet_route::link::{InfoData, InfoGeneve, LinkMessage};
use rtnetlink::{LinkGeneve, LinkVxlan};

use crate::error::KernelError;
use crate::nl::{check_ifname, Nl};

/// IANA VXLAN port; the kernel's own default is the pre-IANA 8472, which
/// would not interoperate with the original conlink or other hosts.
pub const VXLAN_PORT: u16 = 4789;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelKind {
    Vxlan,
    Geneve,
}

impl TunnelKind {
    /// The config's `type` string.
    pub fn parse(s: &str) -> Result<TunnelKind, String> {
        match s {
            "vxlan" => Ok(TunnelKind::Vxlan),
            "geneve" => Ok(TunnelKind::Geneve),
            o => Err(format!("unknown tunnel type {o:?} (vxlan or geneve)")),
        }
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::Geneve => "geneve",
        }
    }
}

/// The RTM_NEWLINK for a tunnel; created up, enslaved to `master`.
pub fn tunnel_message(
    kind: TunnelKind,
    name: &str,
    vni: u32,
    remote: IpAddr,
    master: Option<u32>,
    mtu: Option<u32>,
) -> LinkMessage {
    let mut b = match kind {
        TunnelKind::Vxlan => {
            let b = LinkVxlan::new(name, vni).port(VXLAN_PORT).learning(true);
            let b = match remote {
                IpAddr::V4(a) => b.remote(a),
                IpAddr::V6(a) => b.remote6(a),
            };
            b.build()
        }
        TunnelKind::Geneve => {
            let remote = match remote {
                IpAddr::V4(a) => InfoGeneve::Remote(a),
                IpAddr::V6(a) => InfoGeneve::Remote6(a),
            };
            LinkGeneve::new(name, vni)
                .set_info_data(InfoData::Geneve(vec![InfoGeneve::Id(vni), remote]))
                .build()
        }
    };
    // Common attributes go on the built message so both kinds share them.
    use netlink_packet_route::link::{LinkAttribute, LinkFlags};
    if let Some(m) = master {
        b.attributes.push(LinkAttribute::Controller(m));
    }
    if let Some(mtu) = mtu {
        b.attributes.push(LinkAttribute::Mtu(mtu));
    }
    b.header.flags |= LinkFlags::Up;
    b.header.change_mask |= LinkFlags::Up;
    b
}

impl Nl {
    /// Create tunnel `name` (e.g. "vxlan-42") to `remote`, attached to
    /// bridge index `master`, up. EOPNOTSUPP → "kernel lacks geneve links".
    pub async fn create_tunnel(
        &self,
        kind: TunnelKind,
        name: &str,
        vni: u32,
        remote: IpAddr,
        master: Option<u32>,
        mtu: Option<u32>,
    ) -> Result<(), KernelError> {
        let op = format!("create {} {name}", kind.as_str());
        check_ifname(&op, name)?;
        if vni >= 1 << 24 {
            return Err(KernelError::invalid(op, format!("vni {vni} does not fit 24 bits")));
        }
        let msg = tunnel_message(kind, name, vni, remote, master, mtu);
        self.create_link(&op, kind.as_str(), msg).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::link::{InfoVxlan, LinkAttribute, LinkFlags};

    fn info_data(m: &LinkMessage) -> (String, InfoData) {
        crate::test_support::kind_and_data(m)
    }

    #[test]
    fn vxlan_message_has_vni_remote_port_learning_master_mtu() {
        let m = tunnel_message(
            TunnelKind::Vxlan,
            "vxlan-42",
            42,
            "198.51.100.2".parse().unwrap(),
            Some(5),
            Some(1450),
        );
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
        let m = tunnel_message(TunnelKind::Geneve, "geneve-7", 7, "2001:db8::2".parse().unwrap(), None, None);
        let (kind, data) = info_data(&m);
        assert_eq!(kind, "geneve");
        assert_eq!(
            data,
            InfoData::Geneve(vec![InfoGeneve::Id(7), InfoGeneve::Remote6("2001:db8::2".parse().unwrap())])
        );
        assert!(TunnelKind::parse("gre").unwrap_err().contains("gre"));
    }
}
