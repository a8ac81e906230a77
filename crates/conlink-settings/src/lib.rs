//! conlink's typed link settings: every rule about a link setting has its
//! one definition here, and every setting is parsed here once, from the words
//! users write, into the values the kernel layer takes.
//!
//! Pure: no I/O at all. What needs the host (netem distribution tables) is
//! asked of the caller through [`DistTables`]. Errors are plain messages; the
//! config crate adds where in the configuration they come from.

mod addr;
mod child;
mod command;
mod ethtool;
mod ifname;
mod netem;
mod route;
mod shown;
mod tunnel;
mod vlan;

pub use addr::{parse_cidr, parse_ip};
pub use child::{ChildKind, IpvlanFlag, IpvlanMode, IpvlanSetting, LinkMode, MacvlanMode};
pub use command::CommandLine;
pub use ethtool::{EthtoolSetting, Offload};
pub use ifname::{check_ifname, forbidden_char, IFNAME_MAX};
pub use netem::{
    parse_dist_table, DistTables, Netem, NetemLoss, NetemSlot, NoDistTables, IPROUTE2_DIST_DIRS,
};
pub use route::Route;
pub use shown::{quoted, MAX_SHOWN_VALUE};
pub use tunnel::{TunnelKind, VNI_MAX};
pub use vlan::{VlanId, VLAN_ID_MAX, VLAN_ID_MIN};
