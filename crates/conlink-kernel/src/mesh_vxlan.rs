//! The swarm mesh device of one bridge: a vxlan device with no remote; each peer
//! host is a flooding entry on it ([`Nl::add_flood_entry`]). One device per
//! bridge is its own split horizon: a frame from a peer never goes back out
//! to the other peers, so the full mesh has no loop.
//!
//! The device is created by a netlink socket in the underlay namespace (the
//! host's: its UDP socket, and so the encapsulated traffic, lives there) with
//! IFLA_NET_NS_FD naming conlink's bridge namespace, where the device lands.

use std::net::IpAddr;
use std::os::fd::AsRawFd;

use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::LinkVxlan;

use crate::{KernelError, Netns, Nl};

/// What one mesh device is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshDevice {
    pub name: String,
    pub vni: u32,
    pub port: u16,
    /// Our underlay address: the source of the encapsulated packets.
    pub local: IpAddr,
    pub mtu: u32,
}

/// RTM_NEWLINK for `dev`: no remote (peers are FDB entries), learning on,
/// created in the namespace `target_ns_fd`.
pub fn device_message(dev: &MeshDevice, target_ns_fd: i32) -> LinkMessage {
    let b = LinkVxlan::new(&dev.name, dev.vni).port(dev.port).learning(true);
    let b = match dev.local {
        IpAddr::V4(a) => b.local(a),
        IpAddr::V6(a) => b.local6(a),
    };
    let mut m = b.build();
    m.attributes.push(LinkAttribute::Mtu(dev.mtu));
    m.attributes.push(LinkAttribute::NetNsFd(target_ns_fd));
    m.header.flags.remove(LinkFlags::Up);
    m
}

/// Creates `dev` through `underlay` into `bridge_ns`, then (in the bridge
/// namespace, through `bridge_nl`) enslaves it to `bridge` and sets it up.
/// A device of that name left by an earlier run is replaced.
pub async fn create_mesh_device(
    underlay: &Nl,
    bridge_nl: &Nl,
    bridge_ns: &Netns,
    dev: &MeshDevice,
    bridge: &str,
) -> Result<(), KernelError> {
    bridge_nl.delete_link(&dev.name).await?;
    let op = format!("create vxlan {} (vni {}, udp {})", dev.name, dev.vni, dev.port);
    let msg = device_message(dev, bridge_ns.as_fd().as_raw_fd());
    underlay.create_link(&op, "vxlan", msg).await?;
    bridge_nl.set_master(&dev.name, Some(bridge)).await?;
    bridge_nl.set_up(&dev.name, true).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::link::{InfoData, InfoVxlan, LinkInfo};

    fn vxlan_data(m: &LinkMessage) -> Vec<InfoVxlan> {
        m.attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
                    LinkInfo::Data(InfoData::Vxlan(v)) => Some(v.clone()),
                    _ => None,
                }),
                _ => None,
            })
            .expect("vxlan info data")
    }

    #[test]
    fn device_has_vni_port_local_learning_mtu_and_target_namespace_no_remote() {
        let dev = MeshDevice {
            name: "vxs-s1".into(),
            vni: 4242,
            port: 8472,
            local: "198.51.100.11".parse().unwrap(),
            mtu: 1450,
        };
        let m = device_message(&dev, 7);
        let v = vxlan_data(&m);
        assert!(v.contains(&InfoVxlan::Id(4242)));
        assert!(v.contains(&InfoVxlan::Port(8472)));
        assert!(v.contains(&InfoVxlan::Learning(true)));
        assert!(v.contains(&InfoVxlan::Local("198.51.100.11".parse().unwrap())));
        assert!(!v.iter().any(|i| matches!(i, InfoVxlan::Group(_) | InfoVxlan::Group6(_))), "{v:?}");
        assert!(m.attributes.contains(&LinkAttribute::Mtu(1450)));
        assert!(m.attributes.contains(&LinkAttribute::NetNsFd(7)));
        assert!(m.attributes.contains(&LinkAttribute::IfName("vxs-s1".into())));
        assert!(!m.header.flags.contains(LinkFlags::Up), "brought up once enslaved");
    }

    #[test]
    fn v6_local_address() {
        let dev = MeshDevice {
            name: "vxs-s1".into(),
            vni: 1,
            port: 8472,
            local: "2001:db8::1".parse().unwrap(),
            mtu: 1430,
        };
        assert!(
            vxlan_data(&device_message(&dev, 3)).contains(&InfoVxlan::Local6("2001:db8::1".parse().unwrap()))
        );
    }
}
