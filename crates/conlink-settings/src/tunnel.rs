//! Tunnel kinds (SPEC §4 `tunnels`) and their VNI range.

use std::fmt;
use std::str::FromStr;

/// VXLAN and Geneve VNIs are 24 bits.
pub const VNI_MAX: u32 = (1 << 24) - 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelKind {
    Vxlan,
    Geneve,
}

impl TunnelKind {
    /// The config's `type` word, which is also the kernel's link kind.
    pub fn as_str(self) -> &'static str {
        match self {
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::Geneve => "geneve",
        }
    }
}

impl fmt::Display for TunnelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TunnelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "vxlan" => Ok(TunnelKind::Vxlan),
            "geneve" => Ok(TunnelKind::Geneve),
            o => Err(format!("tunnel type {o:?} is not geneve or vxlan")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        for k in [TunnelKind::Vxlan, TunnelKind::Geneve] {
            assert_eq!(k.as_str().parse::<TunnelKind>().unwrap(), k);
            assert_eq!(k.to_string(), k.as_str());
        }
        assert_eq!("gre".parse::<TunnelKind>().unwrap_err(), "tunnel type \"gre\" is not geneve or vxlan");
        assert!("VXLAN".parse::<TunnelKind>().is_err());
        assert_eq!(VNI_MAX, 16_777_215);
    }
}
