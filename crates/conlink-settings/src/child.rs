//! Child links of a host interface (vlan, macvlan, macvtap, ipvlan, ipvtap):
//! their `mode` words and the kind the kernel layer creates.

use std::fmt;

use crate::vlan::VlanId;

/// macvlan/macvtap `mode`, as `ip link … type macvlan mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MacvlanMode {
    Private,
    Vepa,
    Bridge,
    Passthru,
    Source,
}

impl MacvlanMode {
    pub const ALL: [MacvlanMode; 5] = [
        MacvlanMode::Bridge,
        MacvlanMode::Private,
        MacvlanMode::Vepa,
        MacvlanMode::Passthru,
        MacvlanMode::Source,
    ];
    /// `ip link`'s default.
    pub const DEFAULT: MacvlanMode = MacvlanMode::Vepa;

    pub fn as_str(self) -> &'static str {
        match self {
            MacvlanMode::Private => "private",
            MacvlanMode::Vepa => "vepa",
            MacvlanMode::Bridge => "bridge",
            MacvlanMode::Passthru => "passthru",
            MacvlanMode::Source => "source",
        }
    }

    fn from_word(w: &str) -> Option<MacvlanMode> {
        MacvlanMode::ALL.into_iter().find(|m| m.as_str() == w)
    }
}

/// ipvlan/ipvtap operating mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpvlanMode {
    L2,
    L3,
    L3s,
}

impl IpvlanMode {
    pub const ALL: [IpvlanMode; 3] = [IpvlanMode::L2, IpvlanMode::L3, IpvlanMode::L3s];

    pub fn as_str(self) -> &'static str {
        match self {
            IpvlanMode::L2 => "l2",
            IpvlanMode::L3 => "l3",
            IpvlanMode::L3s => "l3s",
        }
    }
}

/// The optional second word of an ipvlan/ipvtap mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpvlanFlag {
    /// The kernel's default (no flag bits).
    Bridge,
    Private,
    Vepa,
}

impl IpvlanFlag {
    pub const ALL: [IpvlanFlag; 3] = [IpvlanFlag::Bridge, IpvlanFlag::Private, IpvlanFlag::Vepa];

    pub fn as_str(self) -> &'static str {
        match self {
            IpvlanFlag::Bridge => "bridge",
            IpvlanFlag::Private => "private",
            IpvlanFlag::Vepa => "vepa",
        }
    }
}

/// An ipvlan/ipvtap `mode`: `l2|l3|l3s [bridge|private|vepa]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpvlanSetting {
    pub mode: IpvlanMode,
    pub flag: Option<IpvlanFlag>,
}

impl IpvlanSetting {
    /// `ip link`'s default: l3, no flag.
    pub const DEFAULT: IpvlanSetting = IpvlanSetting { mode: IpvlanMode::L3, flag: None };
}

/// A link's `mode` as written, typed for its link type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkMode {
    Macvlan(MacvlanMode),
    Ipvlan(IpvlanSetting),
}

impl LinkMode {
    /// `mode` of a macvlan or macvtap link; `kind` is its type word (for the message).
    pub fn parse_macvlan(kind: &str, s: &str) -> Result<LinkMode, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        match words.as_slice() {
            [w] => MacvlanMode::from_word(w).map(LinkMode::Macvlan),
            _ => None,
        }
        .ok_or_else(|| format!("mode {s:?} is not a {kind} mode (bridge, private, vepa, passthru, source)"))
    }

    /// `mode` of an ipvlan or ipvtap link; `kind` is its type word (for the message).
    pub fn parse_ipvlan(kind: &str, s: &str) -> Result<LinkMode, String> {
        let mode = |w: &str| IpvlanMode::ALL.into_iter().find(|m| m.as_str() == w);
        let flag = |w: &str| IpvlanFlag::ALL.into_iter().find(|f| f.as_str() == w);
        let words: Vec<&str> = s.split_whitespace().collect();
        let setting = match words.as_slice() {
            [m] => mode(m).map(|mode| IpvlanSetting { mode, flag: None }),
            [m, f] => mode(m).zip(flag(f)).map(|(mode, f)| IpvlanSetting { mode, flag: Some(f) }),
            _ => None,
        };
        setting.map(LinkMode::Ipvlan).ok_or_else(|| {
            format!("mode {s:?} is not an {kind} mode (l2, l3 or l3s, optionally followed by bridge, private or vepa)")
        })
    }
}

/// The words again, single-spaced (`--show-config`, status).
impl fmt::Display for LinkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkMode::Macvlan(m) => f.write_str(m.as_str()),
            LinkMode::Ipvlan(IpvlanSetting { mode, flag: None }) => f.write_str(mode.as_str()),
            LinkMode::Ipvlan(IpvlanSetting { mode, flag: Some(fl) }) => {
                write!(f, "{} {}", mode.as_str(), fl.as_str())
            }
        }
    }
}

/// What the kernel layer creates as a child of a host interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildKind {
    Vlan { id: VlanId },
    Macvlan { mode: MacvlanMode },
    Macvtap { mode: MacvlanMode },
    Ipvlan { mode: IpvlanSetting },
    Ipvtap { mode: IpvlanSetting },
}

impl ChildKind {
    /// The link kind (IFLA_INFO_KIND), also the config's `type` word.
    pub fn kind_str(&self) -> &'static str {
        match self {
            ChildKind::Vlan { .. } => "vlan",
            ChildKind::Macvlan { .. } => "macvlan",
            ChildKind::Macvtap { .. } => "macvtap",
            ChildKind::Ipvlan { .. } => "ipvlan",
            ChildKind::Ipvtap { .. } => "ipvtap",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_macvlan_mode_word() {
        for m in MacvlanMode::ALL {
            for kind in ["macvlan", "macvtap"] {
                let got = LinkMode::parse_macvlan(kind, m.as_str()).unwrap();
                assert_eq!(got, LinkMode::Macvlan(m));
                assert_eq!(got.to_string(), m.as_str());
            }
        }
        assert_eq!(
            LinkMode::parse_macvlan("macvlan", "  bridge ").unwrap(),
            LinkMode::Macvlan(MacvlanMode::Bridge)
        );
        assert_eq!(MacvlanMode::DEFAULT, MacvlanMode::Vepa);
    }

    #[test]
    fn macvlan_mode_errors() {
        assert_eq!(
            LinkMode::parse_macvlan("macvlan", "l3").unwrap_err(),
            "mode \"l3\" is not a macvlan mode (bridge, private, vepa, passthru, source)"
        );
        assert!(LinkMode::parse_macvlan("macvtap", "bridged").unwrap_err().contains("not a macvtap mode"));
        for bad in ["", " ", "Bridge", "bridge vepa", "passthrough", "l2"] {
            assert!(LinkMode::parse_macvlan("macvlan", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_ipvlan_mode_and_flag() {
        for m in IpvlanMode::ALL {
            let got = LinkMode::parse_ipvlan("ipvlan", m.as_str()).unwrap();
            assert_eq!(got, LinkMode::Ipvlan(IpvlanSetting { mode: m, flag: None }));
            assert_eq!(got.to_string(), m.as_str());
            for f in IpvlanFlag::ALL {
                let s = format!("{}  {}", m.as_str(), f.as_str());
                let got = LinkMode::parse_ipvlan("ipvtap", &s).unwrap();
                assert_eq!(got, LinkMode::Ipvlan(IpvlanSetting { mode: m, flag: Some(f) }));
                assert_eq!(got.to_string(), format!("{} {}", m.as_str(), f.as_str()));
            }
        }
        assert_eq!(IpvlanSetting::DEFAULT, IpvlanSetting { mode: IpvlanMode::L3, flag: None });
    }

    #[test]
    fn ipvlan_mode_errors() {
        assert_eq!(
            LinkMode::parse_ipvlan("ipvlan", "bridge").unwrap_err(),
            "mode \"bridge\" is not an ipvlan mode (l2, l3 or l3s, optionally followed by bridge, private or vepa)"
        );
        for bad in ["", "l4", "L2", "l2 bogus", "l2 private vepa", "private l2", "l2 passthru", "l3s source"]
        {
            let e = LinkMode::parse_ipvlan("ipvtap", bad).unwrap_err();
            assert!(e.contains("is not an ipvtap mode"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn kind_words() {
        let id = VlanId::new(5u16).unwrap();
        let m = MacvlanMode::Bridge;
        let i = IpvlanSetting::DEFAULT;
        let kinds = [
            (ChildKind::Vlan { id }, "vlan"),
            (ChildKind::Macvlan { mode: m }, "macvlan"),
            (ChildKind::Macvtap { mode: m }, "macvtap"),
            (ChildKind::Ipvlan { mode: i }, "ipvlan"),
            (ChildKind::Ipvtap { mode: i }, "ipvtap"),
        ];
        for (k, w) in kinds {
            assert_eq!(k.kind_str(), w);
        }
    }
}
