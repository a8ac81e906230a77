//! conlink kernel layer: network namespaces and native rtnetlink operations.
//! No `ip`/`tc` processes: every change is a netlink request on a
//! per-namespace connection ([`Nl`]).

mod addr;
mod error;
mod in_netns;
mod link;
mod link_create;
mod netns;
mod nl;
mod route;
mod sysctl;

pub use error::{feature_name, KernelError};
pub use in_netns::run_in_netns;
pub use link::{format_mac, LinkInfo};
pub use link_create::VethRequest;
pub use netns::{Netns, NETNS_RUN_DIR};
pub use nl::Nl;
pub use route::{Route, RouteInfo};
pub use sysctl::{sysctl_get_in, sysctl_in};

/// Re-exported so callers can build messages for link kinds without a
/// dedicated helper and pass them to [`Nl::create_link`].
pub use netlink_packet_route;
pub use rtnetlink;
