//! `ethtool` settings (SPEC §4 `ethtool`): the arguments users write after
//! `ethtool` without the device. Only offload switches are supported
//! (`-K`/`--offload`/`--features FEATURE on|off …`); anything else is refused
//! by name, because conlink applies them with an ioctl, not the ethtool tool.

use std::fmt;

/// An offload users can toggle with `-K NAME on|off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Offload {
    Tx,
    Rx,
    Sg,
    Tso,
    Gso,
    Gro,
    Lro,
}

impl Offload {
    pub const ALL: [Offload; 7] =
        [Offload::Tx, Offload::Rx, Offload::Sg, Offload::Tso, Offload::Gso, Offload::Gro, Offload::Lro];

    /// ethtool's short and long names.
    pub fn parse(s: &str) -> Option<Offload> {
        Offload::ALL.into_iter().find(|o| o.short_name() == s || o.long_name() == s)
    }

    pub fn short_name(self) -> &'static str {
        match self {
            Offload::Tx => "tx",
            Offload::Rx => "rx",
            Offload::Sg => "sg",
            Offload::Tso => "tso",
            Offload::Gso => "gso",
            Offload::Gro => "gro",
            Offload::Lro => "lro",
        }
    }

    pub fn long_name(self) -> &'static str {
        match self {
            Offload::Tx => "tx-checksumming",
            Offload::Rx => "rx-checksumming",
            Offload::Sg => "scatter-gather",
            Offload::Tso => "tcp-segmentation-offload",
            Offload::Gso => "generic-segmentation-offload",
            Offload::Gro => "generic-receive-offload",
            Offload::Lro => "large-receive-offload",
        }
    }
}

/// One `ethtool` entry: offload switches in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthtoolSetting {
    features: Vec<(Offload, bool)>,
    /// The words as written, single-spaced.
    text: String,
}

impl EthtoolSetting {
    pub fn parse(s: &str) -> Result<EthtoolSetting, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        let Some((first, rest)) = words.split_first() else {
            return Err("ethtool entry is empty".into());
        };
        if !matches!(*first, "-K" | "--offload" | "--features") {
            return Err(format!(
                "unknown ethtool setting {first:?} (only -K/--offload/--features FEATURE on|off …)"
            ));
        }
        if rest.is_empty() {
            return Err(format!("ethtool {first}: no FEATURE on|off given"));
        }
        let mut features = Vec::new();
        for pair in rest.chunks(2) {
            let name = pair[0];
            let feature = Offload::parse(name).ok_or_else(|| {
                format!("ethtool {first}: unknown feature {name:?} (tx, rx, sg, tso, gso, gro, lro or their long names)")
            })?;
            let on = match pair.get(1) {
                Some(&"on") => true,
                Some(&"off") => false,
                Some(v) => return Err(format!("ethtool {first} {name}: {v:?} is not on|off")),
                None => return Err(format!("ethtool {first} {name}: missing on|off")),
            };
            features.push((feature, on));
        }
        Ok(EthtoolSetting { features, text: words.join(" ") })
    }

    /// `--offload tx off`: what conlink gives every veth unless told not to
    /// (tx checksum offload on veth yields bad checksums once frames leave
    /// through a bridge or tunnel; the original works around it the same way).
    pub fn veth_tx_off() -> EthtoolSetting {
        EthtoolSetting { features: vec![(Offload::Tx, false)], text: "--offload tx off".into() }
    }

    pub fn features(&self) -> &[(Offload, bool)] {
        &self.features
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for EthtoolSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(s: &str) -> Vec<(Offload, bool)> {
        EthtoolSetting::parse(s).unwrap().features().to_vec()
    }

    #[test]
    fn argument_forms() {
        assert_eq!(features("--offload tx off"), vec![(Offload::Tx, false)]);
        assert_eq!(
            features("-K tx off rx on tcp-segmentation-offload off"),
            vec![(Offload::Tx, false), (Offload::Rx, true), (Offload::Tso, false)]
        );
        assert_eq!(features("--features lro off"), vec![(Offload::Lro, false)]);
    }

    #[test]
    fn every_feature_by_both_names_and_both_states() {
        for o in Offload::ALL {
            for name in [o.short_name(), o.long_name()] {
                for (word, on) in [("on", true), ("off", false)] {
                    for cmd in ["-K", "--offload", "--features"] {
                        assert_eq!(features(&format!("{cmd} {name} {word}")), vec![(o, on)]);
                    }
                }
            }
        }
    }

    #[test]
    fn text_is_single_spaced_words() {
        let s = EthtoolSetting::parse("  --offload   rx off ").unwrap();
        assert_eq!(s.as_str(), "--offload rx off");
        assert_eq!(s.to_string(), "--offload rx off");
        assert_eq!(EthtoolSetting::veth_tx_off(), EthtoolSetting::parse("--offload tx off").unwrap());
    }

    #[test]
    fn errors_name_the_word() {
        assert_eq!(
            EthtoolSetting::parse("--frobnicate on").unwrap_err(),
            "unknown ethtool setting \"--frobnicate\" (only -K/--offload/--features FEATURE on|off …)"
        );
        assert!(EthtoolSetting::parse("-s speed 100").unwrap_err().contains("\"-s\""));
        assert!(EthtoolSetting::parse("-k tx off").unwrap_err().contains("\"-k\""), "case matters");
        assert!(EthtoolSetting::parse("-K warp off").unwrap_err().contains("\"warp\""));
        assert!(EthtoolSetting::parse("-K eth0 gso off").unwrap_err().contains("\"eth0\""), "no device");
        assert!(EthtoolSetting::parse("-K tx maybe").unwrap_err().contains("\"maybe\""));
        assert!(EthtoolSetting::parse("-K tx On").unwrap_err().contains("\"On\""));
        assert!(EthtoolSetting::parse("-K tx").unwrap_err().contains("missing"));
        assert!(EthtoolSetting::parse("-K tx off rx").unwrap_err().contains("missing"));
        assert!(EthtoolSetting::parse("-K").unwrap_err().contains("no FEATURE"));
        assert_eq!(EthtoolSetting::parse("").unwrap_err(), "ethtool entry is empty");
        assert!(EthtoolSetting::parse("  ").is_err());
    }
}
