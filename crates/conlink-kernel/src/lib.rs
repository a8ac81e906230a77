//! conlink kernel layer: network namespaces and native rtnetlink operations.
//! No `ip`/`tc` processes: every change is a netlink request on a
//! per-namespace connection ([`Nl`]).

mod addr;
mod child_link;
mod error;
mod ethtool;
mod fdb;
mod garp;
mod in_netns;
mod link;
mod link_create;
mod nat;
mod netem;
mod netns;
mod nl;
mod ovs;
mod route;
mod sysctl;
mod tc;
mod tunnel;

pub use child_link::{parse_ipvlan_mode, parse_macvlan_mode, ChildKind, ChildLinkRequest, IpvlanMode};
pub use error::{feature_name, KernelError};
pub use ethtool::{apply_ethtool, get_offload, parse_ethtool_args, set_offload, Offload};
pub use fdb::flood_entry_message;
pub use garp::{garp_frame, send_garp};
pub use in_netns::run_in_netns;
pub use link::{format_mac, LinkInfo};
pub use link_create::VethRequest;
pub use nat::{
    apply_forwards, apply_static_nat, forward_ruleset, static_nat_ruleset, Forward, Proto, StaticNat,
    FORWARD_TABLE, NAT_TABLE,
};
pub use netem::{Netem, NetemLoss, NetemSlot};
pub use netns::{Netns, NETNS_RUN_DIR};
pub use nl::Nl;
pub use ovs::{add_bridge_args, kernel_datapath_present, Ovs, OVS_CTL};
pub use route::{Route, RouteInfo};
pub use sysctl::{sysctl_get_in, sysctl_in};
pub use tunnel::{tunnel_message, TunnelKind, VXLAN_PORT};

/// Re-exported so callers can build messages for link kinds without a
/// dedicated helper and pass them to [`Nl::create_link`].
pub use netlink_packet_route;
pub use rtnetlink;

/// Helpers shared by the message-building unit tests.
#[cfg(test)]
pub(crate) mod test_support {
    use netlink_packet_route::link::{InfoData, LinkAttribute, LinkInfo, LinkMessage};

    /// The `IFLA_INFO_KIND` and `IFLA_INFO_DATA` of a link message.
    pub fn kind_and_data(m: &LinkMessage) -> (String, InfoData) {
        let infos = m
            .attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::LinkInfo(i) => Some(i.clone()),
                _ => None,
            })
            .expect("message has IFLA_LINKINFO");
        let kind = infos.iter().find_map(|i| match i {
            LinkInfo::Kind(k) => Some(k.to_string()),
            _ => None,
        });
        let data = infos.iter().find_map(|i| match i {
            LinkInfo::Data(d) => Some(d.clone()),
            _ => None,
        });
        (kind.expect("IFLA_INFO_KIND"), data.expect("IFLA_INFO_DATA"))
    }
}
