//! Flooding entries of a vxlan device's own FDB: `00:00:00:00:00:00 dst
//! REMOTE`, appended once per remote (head-end replication, what `bridge fdb
//! append 00:00:00:00:00:00 dev VXLAN dst REMOTE` does). Broadcast and
//! unknown unicast go to every remote; learned MACs go to their host.

use std::net::IpAddr;

use futures::StreamExt;
use netlink_packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REQUEST,
};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::RouteType;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::error::KernelError;
use crate::nl::Nl;

/// The RTM_NEWNEIGH/RTM_DELNEIGH body for the flooding entry to `remote` on device `index`.
pub fn flood_entry_message(index: u32, remote: IpAddr) -> NeighbourMessage {
    let mut m = NeighbourMessage::default();
    m.header.family = AddressFamily::Bridge;
    m.header.ifindex = index;
    m.header.state = NeighbourState::Permanent;
    // NTF_SELF: the vxlan device's own table, not the bridge's.
    m.header.flags = NeighbourFlags::Own;
    m.header.kind = RouteType::Unspec;
    m.attributes.push(NeighbourAttribute::LinkLayerAddress(vec![0; 6]));
    m.attributes.push(NeighbourAttribute::Destination(match remote {
        IpAddr::V4(a) => NeighbourAddress::Inet(a),
        IpAddr::V6(a) => NeighbourAddress::Inet6(a),
    }));
    m
}

impl Nl {
    /// Append the flooding entry to `remote` on vxlan device `dev`; an entry
    /// that is already there is kept.
    pub async fn add_flood_entry(&self, dev: &str, remote: IpAddr) -> Result<(), KernelError> {
        let op = format!("add flooding entry {remote} on {dev}");
        let index = self.index_of(dev).await?;
        let msg = RouteNetlinkMessage::NewNeighbour(flood_entry_message(index, remote));
        match self.neigh_request(msg, NLM_F_CREATE | NLM_F_APPEND).await {
            Err(e) if matches!(&e, rtnetlink::Error::NetlinkError(m) if -m.raw_code() == libc::EEXIST) => {
                Ok(())
            }
            r => r.map_err(|e| KernelError::from_rtnl(op, e)),
        }
    }

    /// Remove the flooding entry to `remote` from `dev`; absent (or no such
    /// device any more) is not an error.
    pub async fn remove_flood_entry(&self, dev: &str, remote: IpAddr) -> Result<(), KernelError> {
        let op = format!("remove flooding entry {remote} from {dev}");
        let Some(link) = self.link_by_name(dev).await? else { return Ok(()) };
        let msg = RouteNetlinkMessage::DelNeighbour(flood_entry_message(link.index, remote));
        match self.neigh_request(msg, 0).await.map_err(|e| KernelError::from_rtnl(op, e)) {
            Err(e) if e.is_not_found() => Ok(()),
            r => r,
        }
    }

    async fn neigh_request(&self, msg: RouteNetlinkMessage, flags: u16) -> Result<(), rtnetlink::Error> {
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        let mut handle = self.handle().clone();
        let mut replies = handle.request(req)?;
        while let Some(m) = replies.next().await {
            if let NetlinkPayload::Error(e) = m.payload {
                if e.code.is_some() {
                    return Err(rtnetlink::Error::NetlinkError(e));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flooding_entry_is_all_zeros_mac_to_the_remote_in_the_devices_own_table() {
        let m = flood_entry_message(12, "198.51.100.13".parse().unwrap());
        assert_eq!(m.header.family, AddressFamily::Bridge);
        assert_eq!(m.header.ifindex, 12);
        assert_eq!(m.header.state, NeighbourState::Permanent);
        assert!(m.header.flags.contains(NeighbourFlags::Own));
        assert!(m.attributes.contains(&NeighbourAttribute::LinkLayerAddress(vec![0; 6])));
        assert!(m.attributes.contains(&NeighbourAttribute::Destination(NeighbourAddress::Inet(
            "198.51.100.13".parse().unwrap()
        ))));
    }

    #[test]
    fn v6_remote() {
        let m = flood_entry_message(3, "2001:db8::2".parse().unwrap());
        assert!(m.attributes.contains(&NeighbourAttribute::Destination(NeighbourAddress::Inet6(
            "2001:db8::2".parse().unwrap()
        ))));
    }
}
