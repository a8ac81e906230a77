//! The typed, validated and enriched network configuration.
//!
//! Everything downstream (planner, daemon, `--show-config`) works on these
//! types; the loader is the only code that sees raw YAML/JSON.

use crate::error::quoted;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// The typed link settings the model is made of (defined in conlink-settings).
pub use conlink_settings::{
    ChildKind, CommandLine, EthtoolSetting, LinkMode, Netem, Route, TunnelKind, VlanId,
};
use conlink_settings::{IpvlanSetting, MacvlanMode};

/// Interface type of a link (SPEC §4 `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkType {
    Veth,
    Dummy,
    Vlan,
    Ipvlan,
    Ipvtap,
    Macvlan,
    Macvtap,
}

impl LinkType {
    pub const ALL: [LinkType; 7] = [
        LinkType::Veth,
        LinkType::Dummy,
        LinkType::Vlan,
        LinkType::Ipvlan,
        LinkType::Ipvtap,
        LinkType::Macvlan,
        LinkType::Macvtap,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LinkType::Veth => "veth",
            LinkType::Dummy => "dummy",
            LinkType::Vlan => "vlan",
            LinkType::Ipvlan => "ipvlan",
            LinkType::Ipvtap => "ipvtap",
            LinkType::Macvlan => "macvlan",
            LinkType::Macvtap => "macvtap",
        }
    }

    /// Types created as children of a host interface (`outer-dev`).
    pub fn has_host_parent(self) -> bool {
        matches!(
            self,
            LinkType::Vlan | LinkType::Ipvlan | LinkType::Ipvtap | LinkType::Macvlan | LinkType::Macvtap
        )
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LinkType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        LinkType::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            format!(
                "unknown link type {} (expected one of veth, dummy, vlan, ipvlan, ipvtap, macvlan, macvtap)",
                quoted(s)
            )
        })
    }
}

/// Bridge implementation. `Auto` only appears before enrichment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BridgeMode {
    Auto,
    Ovs,
    Linux,
    Patch,
}

impl BridgeMode {
    pub fn as_str(self) -> &'static str {
        match self {
            BridgeMode::Auto => "auto",
            BridgeMode::Ovs => "ovs",
            BridgeMode::Linux => "linux",
            BridgeMode::Patch => "patch",
        }
    }
}

impl fmt::Display for BridgeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BridgeMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(BridgeMode::Auto),
            "ovs" => Ok(BridgeMode::Ovs),
            "linux" => Ok(BridgeMode::Linux),
            "patch" => Ok(BridgeMode::Patch),
            _ => Err(format!("unknown bridge mode {} (expected auto, ovs, linux or patch)", quoted(s))),
        }
    }
}

/// Which containers a link or command applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// Compose service name: every replica gets the link.
    Service(String),
    /// Full container name.
    Container(String),
}

impl Target {
    pub fn name(&self) -> &str {
        match self {
            Target::Service(s) | Target::Container(s) => s,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Service(s) => write!(f, "service {s}"),
            Target::Container(c) => write!(f, "container {c}"),
        }
    }
}

/// A 48-bit MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// This address plus `n`, carrying across octets (replica increments).
    pub fn plus(self, n: u64) -> MacAddr {
        let mut v: u64 = 0;
        for b in self.0 {
            v = (v << 8) | b as u64;
        }
        let v = v.wrapping_add(n) & 0xffff_ffff_ffff;
        let mut out = [0u8; 6];
        for (i, o) in out.iter_mut().enumerate() {
            *o = (v >> (8 * (5 - i))) as u8;
        }
        MacAddr(out)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

impl FromStr for MacAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 6 {
            return Err(format!("{} is not a MAC address (expected xx:xx:xx:xx:xx:xx)", quoted(s)));
        }
        let mut out = [0u8; 6];
        for (o, p) in out.iter_mut().zip(parts) {
            if p.len() != 2 {
                return Err(format!("{} is not a MAC address (expected xx:xx:xx:xx:xx:xx)", quoted(s)));
            }
            *o = u8::from_str_radix(p, 16)
                .map_err(|_| format!("{} is not a MAC address (bad hex {})", quoted(s), quoted(p)))?;
        }
        Ok(MacAddr(out))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// One `forward` entry: `conlink_port:container_port/proto`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub conlink_port: u16,
    pub container_port: u16,
    pub proto: Proto,
}

/// A link (interface) inside matching containers, after merge and enrichment.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub link_type: LinkType,
    pub target: Target,
    /// Interface name inside the container (default `eth0`).
    pub dev: String,
    /// Bridge in conlink's namespace (veth only).
    pub bridge: Option<String>,
    /// Explicit outer veth name, or the host parent of *vlan/*vtap links.
    pub outer_dev: Option<String>,
    /// Addresses (CIDR, host bits kept). Usually one; dual stack allows several.
    pub ip: Vec<IpNet>,
    /// Base MAC (random `c2:…` when not configured; never set for ipvlan/ipvtap).
    pub mac: Option<MacAddr>,
    /// MTU (default `--default-mtu`; `None` for *vlan links = parent's).
    pub mtu: Option<u32>,
    pub route: Vec<Route>,
    pub nat: Option<IpAddr>,
    /// netem options (all entries of `netem` as one option string).
    pub netem: Option<Netem>,
    /// `mode` as written (macvlan/macvtap, ipvlan/ipvtap only).
    pub mode: Option<LinkMode>,
    pub vlanid: Option<VlanId>,
    pub forward: Vec<Forward>,
    /// One entry per `ethtool` call, in order (veths get `--offload tx off` first).
    pub ethtool: Vec<EthtoolSetting>,
}

impl Link {
    /// A veth link of `target` named `dev` on `bridge`, every other setting unset
    /// (what validation and enrichment start from; `..Link::veth(…)` fills the rest).
    pub fn veth(target: Target, dev: &str, bridge: &str) -> Link {
        Link {
            link_type: LinkType::Veth,
            target,
            dev: dev.into(),
            bridge: Some(bridge.into()),
            outer_dev: None,
            ip: vec![],
            mac: None,
            mtu: None,
            route: vec![],
            nat: None,
            netem: None,
            mode: None,
            vlanid: None,
            forward: vec![],
            ethtool: vec![],
        }
    }

    /// What the kernel creates for a link with a host parent (`None` for
    /// veth and dummy), with `ip link`'s defaults for an unset mode.
    /// Validation guarantees a vlan has its vlanid.
    pub fn child_kind(&self) -> Option<ChildKind> {
        let macvlan = match self.mode {
            Some(LinkMode::Macvlan(m)) => m,
            _ => MacvlanMode::DEFAULT,
        };
        let ipvlan = match self.mode {
            Some(LinkMode::Ipvlan(m)) => m,
            _ => IpvlanSetting::DEFAULT,
        };
        match self.link_type {
            LinkType::Veth | LinkType::Dummy => None,
            LinkType::Vlan => self.vlanid.map(|id| ChildKind::Vlan { id }),
            LinkType::Macvlan => Some(ChildKind::Macvlan { mode: macvlan }),
            LinkType::Macvtap => Some(ChildKind::Macvtap { mode: macvlan }),
            LinkType::Ipvlan => Some(ChildKind::Ipvlan { mode: ipvlan }),
            LinkType::Ipvtap => Some(ChildKind::Ipvtap { mode: ipvlan }),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tunnel {
    pub tunnel_type: TunnelKind,
    pub bridge: String,
    pub remote: IpAddr,
    pub vni: u32,
    pub netem: Option<Netem>,
}

impl Tunnel {
    /// Device name in conlink's namespace: `TYPE-VNI`.
    pub fn dev_name(&self) -> String {
        format!("{}-{}", self.tunnel_type.as_str(), self.vni)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridge {
    pub name: String,
    /// Resolved mode: never `Auto` after enrichment.
    pub mode: BridgeMode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub target: Target,
    pub command: CommandLine,
}

/// A plain network namespace conlink creates and runs (the engine-free netns runtime).
/// Links reach it as `container: NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Namespace name: `/run/netns/NAME`, so `ip netns exec NAME …` enters it.
    pub name: String,
    /// Started inside the namespace once its links are up (stopped on exit).
    pub command: Option<CommandLine>,
}

/// The whole merged, interpolated, validated and enriched configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NetworkConfig {
    pub bridges: BTreeMap<String, Bridge>,
    pub tunnels: Vec<Tunnel>,
    pub links: Vec<Link>,
    pub commands: Vec<Command>,
    /// Network namespaces of the netns runtime (an extension of the original's config).
    pub nodes: Vec<Node>,
}
