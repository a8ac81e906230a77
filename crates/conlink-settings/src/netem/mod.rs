//! `netem` options (SPEC §4 `netem`): what users write after
//! `tc qdisc add … netem`, parsed once into the typed form the kernel layer
//! encodes. Probabilities are scaled like iproute2 does: fraction ×
//! u32::MAX, rounded (0 = never, u32::MAX = always); times are nanoseconds.

mod parse;
mod tables;

pub use tables::{parse_dist_table, DistTables, NoDistTables, IPROUTE2_DIST_DIRS};

use std::fmt;

/// Packet loss model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetemLoss {
    /// `loss [random] P [CORR]`: in tc_netem_qopt.loss (+ corr).
    Random { p: u32, corr: Option<u32> },
    /// `loss state P13 [P31 [P32 [P23 [P14]]]]`: 4-state Markov model.
    State { p13: u32, p31: u32, p32: u32, p23: u32, p14: u32 },
    /// `loss gemodel P [R [1-H [1-K]]]`: Gilbert-Elliott.
    GeModel { p: u32, r: u32, h: u32, k1: u32 },
}

/// `slot` parameters (struct tc_netem_slot), times in ns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetemSlot {
    pub min_delay: i64,
    pub max_delay: i64,
    pub max_packets: i32,
    pub max_bytes: i32,
    pub dist_delay: i64,
    pub dist_jitter: i64,
}

/// Parsed netem options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Netem {
    pub limit: u32,
    pub latency_ns: i64,
    pub jitter_ns: i64,
    pub delay_corr: Option<u32>,
    /// Delay distribution table (name, signed 16-bit values from NAME.dist).
    pub distribution: Option<(String, Vec<i16>)>,
    pub loss: Option<NetemLoss>,
    pub duplicate: Option<(u32, Option<u32>)>,
    pub corrupt: Option<(u32, Option<u32>)>,
    pub reorder: Option<(u32, Option<u32>)>,
    pub gap: u32,
    /// Bytes per second, packet overhead, cell size, cell overhead.
    pub rate: Option<(u64, i32, u32, i32)>,
    pub slot: Option<NetemSlot>,
    pub ecn: bool,
    /// The entries as written (their words joined are what was parsed).
    pub raw: Vec<String>,
}

impl Netem {
    /// Parses one option string. `distribution NAME` needs a table: only
    /// the built-in `uniform` works here (see [`Netem::parse_with`]).
    pub fn parse(s: &str) -> Result<Netem, String> {
        Netem::parse_with(s, &NoDistTables)
    }

    /// Parses one option string, reading distribution tables from `tables`.
    pub fn parse_with(s: &str, tables: &dyn DistTables) -> Result<Netem, String> {
        Netem::parse_entries(&[s.trim().to_string()], tables)
    }

    /// Parses a list of entries as one option string (their words joined).
    pub fn parse_entries(entries: &[String], tables: &dyn DistTables) -> Result<Netem, String> {
        let mut n = parse::parse_words(&entries.join(" "), tables)?;
        n.raw = entries.to_vec();
        Ok(n)
    }
}

/// The options as written, entries joined by a space.
impl fmt::Display for Netem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw.join(" "))
    }
}
