//! Creating links (RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL). Each creation
//! is one request carrying as much as the kernel accepts at creation time
//! (MTU, MAC, target namespace, bridge, up) instead of follow-up SETLINKs.

use std::os::fd::AsRawFd;

use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute, LinkMessage};
use rtnetlink::{LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth};

use crate::error::KernelError;
use crate::netns::Netns;
use crate::nl::{check_ifname, Nl};

/// Everything about a veth pair that can be set in its creation request.
#[derive(Debug)]
pub struct VethRequest<'a> {
    /// End created in the connection's namespace.
    pub outer: &'a str,
    /// Peer end, created directly in `inner_ns` (never visible elsewhere).
    pub inner: &'a str,
    pub inner_ns: &'a Netns,
    pub inner_mac: Option<[u8; 6]>,
    pub outer_mac: Option<[u8; 6]>,
    /// MTU of both ends.
    pub mtu: Option<u32>,
    /// Bridge index (see `Nl::index_of`) to enslave the outer end to.
    pub master: Option<u32>,
    pub outer_up: bool,
    /// Interface group (IFLA_GROUP) of the outer end: links sharing a
    /// non-zero group can all be deleted with one `Nl::delete_group`.
    pub outer_group: Option<u32>,
    /// Interface group of the inner end (marks it as made by the caller).
    pub inner_group: Option<u32>,
    // No `inner_up`: the kernel configures the peer before linking the two
    // ends, so IFF_UP on the peer fails in veth_open with ENOTCONN (verified
    // on 6.18). Bring the inner end up with the inner namespace's `Nl`.
}

impl<'a> VethRequest<'a> {
    pub fn new(outer: &'a str, inner: &'a str, inner_ns: &'a Netns) -> Self {
        VethRequest {
            outer,
            inner,
            inner_ns,
            inner_mac: None,
            outer_mac: None,
            mtu: None,
            master: None,
            outer_up: false,
            outer_group: None,
            inner_group: None,
        }
    }

    /// The RTM_NEWLINK message. The peer's own ifinfomsg+attributes
    /// (VETH_INFO_PEER) carry its name, netns fd, MAC and MTU: the kernel's
    /// veth_newlink applies them to the peer at creation.
    pub fn message(&self) -> LinkMessage {
        let mut peer = LinkUnspec::new_with_name(self.inner).setns_by_fd(self.inner_ns.as_fd().as_raw_fd());
        if let Some(mac) = self.inner_mac {
            peer = peer.address(mac.to_vec());
        }
        if let Some(mtu) = self.mtu {
            peer = peer.mtu(mtu);
        }
        let mut peer = peer.build();
        if let Some(group) = self.inner_group {
            peer.attributes.push(LinkAttribute::Group(group));
        }
        let mut outer =
            LinkVeth::new(self.outer, self.inner).set_info_data(InfoData::Veth(InfoVeth::Peer(peer)));
        if let Some(mac) = self.outer_mac {
            outer = outer.address(mac.to_vec());
        }
        if let Some(mtu) = self.mtu {
            outer = outer.mtu(mtu);
        }
        if let Some(master) = self.master {
            outer = outer.controller(master);
        }
        if self.outer_up {
            outer = outer.up();
        }
        let mut msg = outer.build();
        if let Some(group) = self.outer_group {
            msg.attributes.push(LinkAttribute::Group(group));
        }
        msg
    }
}

/// RTM_NEWLINK of a linux bridge, up, with multicast snooping off: without an
/// MLD/IGMP querier on the segment (conlink runs none) a snooping bridge floods
/// multicast anyway, but still tracks every group every port reports, with a timer
/// each, and above `mcast_hash_max` (4096) groups it switches snooping off itself
/// with a warning. Off from the start, multicast is simply flooded, as a hub would.
pub(crate) fn bridge_message(name: &str) -> LinkMessage {
    LinkBridge::new(name).mcast_snooping(false).up().build()
}

impl Nl {
    /// veth pair: `outer` here, peer `inner` created directly in `inner_ns`
    /// with its MAC and MTU; both MTUs = `mtu`. Both ends are left down.
    pub async fn create_veth(
        &self,
        outer: &str,
        inner: &str,
        inner_ns: &Netns,
        inner_mac: Option<[u8; 6]>,
        mtu: Option<u32>,
    ) -> Result<(), KernelError> {
        let mut req = VethRequest::new(outer, inner, inner_ns);
        req.inner_mac = inner_mac;
        req.mtu = mtu;
        self.create_veth_with(&req).await
    }

    /// Create a veth pair with everything in `req` in one request.
    pub async fn create_veth_with(&self, req: &VethRequest<'_>) -> Result<(), KernelError> {
        let op = format!("create veth {}", req.outer);
        check_ifname(&op, req.outer)?;
        check_ifname(&op, req.inner)?;
        self.create_link(&op, "veth", req.message()).await
    }

    /// Linux bridge `name`, brought up. An existing bridge of that name is
    /// adopted (so a restarted daemon converges instead of failing); an
    /// existing non-bridge link of that name is an Exists error.
    pub async fn create_bridge(&self, name: &str) -> Result<(), KernelError> {
        let op = format!("create bridge {name}");
        check_ifname(&op, name)?;
        match self.create_link(&op, "bridge", bridge_message(name)).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_exists() => match self.link_by_name(name).await? {
                Some(l) if l.kind.as_deref() == Some("bridge") => {
                    if l.up {
                        Ok(())
                    } else {
                        self.set_up(name, true).await
                    }
                }
                Some(l) => Err(KernelError::Exists {
                    op,
                    detail: Some(format!(
                        "{name} exists and is a {} link, not a bridge",
                        l.kind.as_deref().unwrap_or("plain")
                    )),
                }),
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// A dummy link (kernel CONFIG_DUMMY), left down.
    pub async fn create_dummy(&self, name: &str) -> Result<(), KernelError> {
        self.create_dummy_in_group(name, None).await
    }

    /// A dummy link in interface group `group` (a mark of who made it), left down.
    pub async fn create_dummy_in_group(&self, name: &str, group: Option<u32>) -> Result<(), KernelError> {
        let op = format!("create dummy {name}");
        check_ifname(&op, name)?;
        let mut msg = LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(InfoKind::Dummy)
            .name(name.to_string())
            .build();
        if let Some(group) = group {
            msg.attributes.push(LinkAttribute::Group(group));
        }
        self.create_link(&op, "dummy", msg).await
    }

    /// Send any RTM_NEWLINK (create, exclusive). `kind` names the link kind
    /// so EOPNOTSUPP turns into `KernelError::Unsupported` naming it.
    pub async fn create_link(&self, op: &str, kind: &str, msg: LinkMessage) -> Result<(), KernelError> {
        self.handle().link().add(msg).execute().await.map_err(|e| KernelError::from_rtnl_create(op, kind, e))
    }
}

#[cfg(test)]
mod tests {
    use netlink_packet_core::Emitable;
    use netlink_packet_route::link::{InfoBridge, LinkFlags};

    use super::*;
    use crate::test_support::kind_and_data;

    #[test]
    fn veth_groups_mark_each_end() {
        let ns = Netns::current().unwrap();
        let mut req = VethRequest::new("o1", "eth0", &ns);
        req.outer_group = Some(0x636c);
        req.inner_group = Some(0x636d);
        let msg = req.message();
        assert!(msg.attributes.contains(&LinkAttribute::Group(0x636c)), "outer end in its group");
        let (_, data) = kind_and_data(&msg);
        let InfoData::Veth(InfoVeth::Peer(peer)) = data else { panic!("veth peer info: {data:?}") };
        assert!(peer.attributes.contains(&LinkAttribute::Group(0x636d)), "peer in its own group: {peer:?}");
        assert!(!peer.attributes.contains(&LinkAttribute::Group(0x636c)));
    }

    #[test]
    fn veth_without_groups_carries_none() {
        let ns = Netns::current().unwrap();
        let msg = VethRequest::new("o1", "eth0", &ns).message();
        assert!(!msg.attributes.iter().any(|a| matches!(a, LinkAttribute::Group(_))));
    }

    /// IFLA_BR_MCAST_SNOOPING in if_link.h.
    const IFLA_BR_MCAST_SNOOPING: u16 = 23;

    #[test]
    fn bridge_is_created_up_with_snooping_off() {
        let m = bridge_message("s1");
        assert!(m.header.flags.contains(LinkFlags::Up));
        assert!(m.header.change_mask.contains(LinkFlags::Up));
        let (kind, data) = kind_and_data(&m);
        assert_eq!(kind, "bridge");
        let InfoData::Bridge(opts) = data else { panic!("bridge info data expected, got {data:?}") };
        assert_eq!(opts, vec![InfoBridge::MulticastSnooping(false)]);
        // On the wire: IFLA_BR_MCAST_SNOOPING as a u8 0 (nla len 5, padded to 8).
        let mut buf = vec![0u8; m.buffer_len()];
        m.emit(&mut buf);
        let nla = [5u8, 0, IFLA_BR_MCAST_SNOOPING as u8, 0, 0];
        assert!(buf.windows(nla.len()).any(|w| w == nla), "IFLA_BR_MCAST_SNOOPING=0 in {buf:02x?}");
    }
}
