//! conlink kernel layer: network namespaces, links, addresses, routes and
//! traffic control as rtnetlink requests on a per-namespace connection
//! ([`Nl`]; no `ip` or `tc` processes), ethtool ioctls, sysctls, and the two
//! jobs netlink cannot do, run as programs with argument vectors (never a
//! shell): `nft` for NAT and forwarding rules, Open vSwitch (`ovs-ctl`,
//! `ovs-vsctl`) for ovs bridges.
//!
//! Link settings arrive typed ([`conlink_settings`]): nothing here parses
//! what users wrote.

mod addr;
mod child_link;
mod error;
mod ethtool;
mod fdb;
mod garp;
mod in_netns;
mod ipv6;
mod link;
mod link_create;
mod mesh_vxlan;
mod nat;
mod netem;
mod netns;
mod nl;
mod ovs;
mod route;
mod sysctl;
mod tc;
mod tunnel;

pub use child_link::ChildLinkRequest;
pub use error::KernelError;
pub use ethtool::apply_ethtool;
pub use fdb::flood_entry_message;
pub use garp::{garp_frame, send_garp};
pub use in_netns::run_in_netns;
pub use ipv6::{ipv6_on_without_dad, no_ipv6_on_new_links, no_ipv6_on_new_links_here};
pub use link::LinkInfo;
pub use link_create::VethRequest;
pub use mesh_vxlan::{create_mesh_device, MeshDevice};
pub use nat::{apply_forwards, apply_static_nat, Forward, Proto, StaticNat};
pub use netns::{run_dir as netns_run_dir, set_run_dir as set_netns_run_dir};
pub use netns::{Netns, NETNS_RUN_DIR};
pub use nl::{Nl, NlSocket};
pub use ovs::{kernel_datapath_present, Ovs};
pub use route::RouteInfo;
pub use sysctl::{sysctl_get_in, sysctl_in};
pub use tunnel::TunnelRequest;

/// The typed settings this crate's API takes, so its callers can name them
/// without depending on conlink-settings themselves.
pub use conlink_settings::{ChildKind, EthtoolSetting, Netem, Offload, Route, TunnelKind};

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
