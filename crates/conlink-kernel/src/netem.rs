//! `netem` options as users write them after `tc qdisc add … netem`, parsed
//! into the kernel's TCA_OPTIONS payload: struct tc_netem_qopt followed by
//! TCA_NETEM_* attributes (include/uapi/linux/pkt_sched.h). netlink-packet-
//! route has no netem support, so this is a small encoder of its own.

use std::path::{Path, PathBuf};

// TCA_NETEM_* attribute types (pkt_sched.h enum order).
const TCA_NETEM_CORR: u16 = 1;
const TCA_NETEM_DELAY_DIST: u16 = 2;
const TCA_NETEM_REORDER: u16 = 3;
const TCA_NETEM_CORRUPT: u16 = 4;
const TCA_NETEM_LOSS: u16 = 5;
const TCA_NETEM_RATE: u16 = 6;
const TCA_NETEM_ECN: u16 = 7;
const TCA_NETEM_RATE64: u16 = 8;
const TCA_NETEM_LATENCY64: u16 = 10;
const TCA_NETEM_JITTER64: u16 = 11;
const TCA_NETEM_SLOT: u16 = 12;
// Inside TCA_NETEM_LOSS.
const NETEM_LOSS_GI: u16 = 1;
const NETEM_LOSS_GE: u16 = 2;

/// Where iproute2 installs distribution tables (Debian multiarch first).
pub const DIST_DIRS: &[&str] = &["/usr/lib/x86_64-linux-gnu/tc", "/usr/lib/tc", "/usr/lib64/tc"];
/// The kernel refuses larger tables (NETEM_DIST_MAX).
const NETEM_DIST_MAX: usize = 16384;

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

/// Parsed netem options. Probabilities are scaled like iproute2 does:
/// fraction × u32::MAX, rounded (0 = never, u32::MAX = always).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Netem {
    pub limit: u32,
    pub latency_ns: i64,
    pub jitter_ns: i64,
    pub delay_corr: Option<u32>,
    /// Delay distribution table (signed 16-bit values from a .dist file).
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
}

impl Netem {
    /// Parse the words after `netem`, loading distribution tables from the
    /// iproute2 directories.
    pub fn parse(s: &str) -> Result<Netem, String> {
        let dirs: Vec<PathBuf> = DIST_DIRS.iter().map(PathBuf::from).collect();
        Netem::parse_with_dist_dirs(s, &dirs)
    }

    pub fn parse_with_dist_dirs(s: &str, dist_dirs: &[PathBuf]) -> Result<Netem, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        if words.is_empty() {
            return Err("empty netem options".into());
        }
        // iproute2's default FIFO limit.
        let mut n = Netem { limit: 1000, ..Default::default() };
        let mut it = Words { w: &words, i: 0 };
        while let Some(word) = it.next() {
            match word {
                "limit" => n.limit = it.value("limit", parse_u32)?,
                "delay" | "latency" => {
                    n.latency_ns = it.value("delay", parse_time)?;
                    if let Some(j) = it.optional(parse_time) {
                        n.jitter_ns = j;
                        n.delay_corr = it.optional(parse_percent);
                    }
                }
                "distribution" => {
                    let name = it.value("distribution", |w| Ok(w.to_string()))?;
                    n.distribution = load_dist(&name, dist_dirs)?;
                }
                "loss" | "drop" => n.loss = Some(parse_loss(&mut it)?),
                "duplicate" => n.duplicate = Some(prob_corr(&mut it, "duplicate")?),
                "corrupt" => n.corrupt = Some(prob_corr(&mut it, "corrupt")?),
                "reorder" => n.reorder = Some(prob_corr(&mut it, "reorder")?),
                "gap" => n.gap = it.value("gap", parse_u32)?,
                "rate" => {
                    let rate = it.value("rate", parse_rate)?;
                    let overhead = it.optional(parse_i32).unwrap_or(0);
                    let cell = it.optional(parse_u32).unwrap_or(0);
                    let cell_overhead = it.optional(parse_i32).unwrap_or(0);
                    n.rate = Some((rate, overhead, cell, cell_overhead));
                }
                "slot" => n.slot = Some(parse_slot(&mut it)?),
                "ecn" => n.ecn = true,
                other => return Err(format!("netem: unknown option {other:?}")),
            }
        }
        if n.reorder.is_some() {
            if n.latency_ns == 0 {
                return Err(
                    "netem: reorder needs a delay (reordering works by sending some packets early)".into()
                );
            }
            if n.gap == 0 {
                n.gap = 1;
            }
        } else if n.gap > 0 {
            return Err("netem: gap given without reorder".into());
        }
        if n.distribution.is_some() && (n.latency_ns == 0 || n.jitter_ns == 0) {
            return Err("netem: distribution needs delay and jitter".into());
        }
        if n.ecn && n.loss.is_none() {
            return Err("netem: ecn needs loss".into());
        }
        Ok(n)
    }

    /// The TCA_OPTIONS value: tc_netem_qopt then the attributes, in the
    /// order iproute2 sends them.
    pub fn options_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // struct tc_netem_qopt { latency, limit, loss, gap, duplicate, jitter }
        // latency/jitter in psched ticks (64 ns, PSCHED_SHIFT 6) for old
        // kernels; LATENCY64/JITTER64 (ns) below take precedence.
        let loss_p = match &self.loss {
            Some(NetemLoss::Random { p, .. }) => *p,
            _ => 0,
        };
        for v in [
            ticks(self.latency_ns),
            self.limit,
            loss_p,
            self.gap,
            self.duplicate.map(|d| d.0).unwrap_or(0),
            ticks(self.jitter_ns),
        ] {
            out.extend_from_slice(&v.to_ne_bytes());
        }
        let loss_corr = match &self.loss {
            Some(NetemLoss::Random { corr, .. }) => *corr,
            _ => None,
        };
        let dup_corr = self.duplicate.and_then(|d| d.1);
        if self.delay_corr.is_some() || loss_corr.is_some() || dup_corr.is_some() {
            // struct tc_netem_corr { delay_corr, loss_corr, dup_corr }
            let v = [self.delay_corr.unwrap_or(0), loss_corr.unwrap_or(0), dup_corr.unwrap_or(0)];
            attr(&mut out, TCA_NETEM_CORR, &u32s(&v));
        }
        if let Some((p, c)) = self.reorder {
            attr(&mut out, TCA_NETEM_REORDER, &u32s(&[p, c.unwrap_or(0)]));
        }
        if let Some((p, c)) = self.corrupt {
            attr(&mut out, TCA_NETEM_CORRUPT, &u32s(&[p, c.unwrap_or(0)]));
        }
        if let Some(s) = &self.slot {
            let mut b = Vec::new();
            b.extend_from_slice(&s.min_delay.to_ne_bytes());
            b.extend_from_slice(&s.max_delay.to_ne_bytes());
            b.extend_from_slice(&s.max_packets.to_ne_bytes());
            b.extend_from_slice(&s.max_bytes.to_ne_bytes());
            b.extend_from_slice(&s.dist_delay.to_ne_bytes());
            b.extend_from_slice(&s.dist_jitter.to_ne_bytes());
            attr(&mut out, TCA_NETEM_SLOT, &b);
        }
        match &self.loss {
            Some(NetemLoss::State { p13, p31, p32, p23, p14 }) => {
                // struct tc_netem_gimodel { p13, p31, p32, p14, p23 }
                let mut inner = Vec::new();
                attr(&mut inner, NETEM_LOSS_GI, &u32s(&[*p13, *p31, *p32, *p14, *p23]));
                attr(&mut out, TCA_NETEM_LOSS, &inner);
            }
            Some(NetemLoss::GeModel { p, r, h, k1 }) => {
                let mut inner = Vec::new();
                attr(&mut inner, NETEM_LOSS_GE, &u32s(&[*p, *r, *h, *k1]));
                attr(&mut out, TCA_NETEM_LOSS, &inner);
            }
            _ => {}
        }
        if self.ecn {
            attr(&mut out, TCA_NETEM_ECN, &1u32.to_ne_bytes());
        }
        if let Some((rate, overhead, cell, cell_overhead)) = self.rate {
            // Rates of 4 GB/s and more do not fit tc_netem_rate.rate: it
            // says ~0 and RATE64 carries the value.
            let r32 = if rate >= 1 << 32 { u32::MAX } else { rate as u32 };
            let mut b = Vec::new();
            b.extend_from_slice(&r32.to_ne_bytes());
            b.extend_from_slice(&overhead.to_ne_bytes());
            b.extend_from_slice(&cell.to_ne_bytes());
            b.extend_from_slice(&cell_overhead.to_ne_bytes());
            attr(&mut out, TCA_NETEM_RATE, &b);
            if rate >= 1 << 32 {
                attr(&mut out, TCA_NETEM_RATE64, &rate.to_ne_bytes());
            }
        }
        if self.latency_ns != 0 {
            attr(&mut out, TCA_NETEM_LATENCY64, &self.latency_ns.to_ne_bytes());
        }
        if self.jitter_ns != 0 {
            attr(&mut out, TCA_NETEM_JITTER64, &self.jitter_ns.to_ne_bytes());
        }
        if let Some((_, table)) = &self.distribution {
            let b: Vec<u8> = table.iter().flat_map(|v| v.to_ne_bytes()).collect();
            attr(&mut out, TCA_NETEM_DELAY_DIST, &b);
        }
        out
    }
}

/// Cursor over the option words.
struct Words<'a> {
    w: &'a [&'a str],
    i: usize,
}

impl<'a> Words<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let w = self.w.get(self.i).copied();
        self.i += 1;
        w
    }
    /// A required value after keyword `kw`.
    fn value<T>(&mut self, kw: &str, f: impl Fn(&str) -> Result<T, String>) -> Result<T, String> {
        match self.next() {
            Some(w) => f(w).map_err(|e| format!("netem {kw}: {e}")),
            None => Err(format!("netem {kw}: missing value")),
        }
    }
    /// An optional positional value: taken only if it parses (iproute2's
    /// NEXT_IS_NUMBER), so the next keyword is left alone.
    fn optional<T>(&mut self, f: impl Fn(&str) -> Result<T, String>) -> Option<T> {
        let w = self.w.get(self.i)?;
        if !w.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '-') {
            return None;
        }
        let v = f(w).ok()?;
        self.i += 1;
        Some(v)
    }
}

fn prob_corr(it: &mut Words, kw: &str) -> Result<(u32, Option<u32>), String> {
    let p = it.value(kw, parse_percent)?;
    Ok((p, it.optional(parse_percent)))
}

fn parse_loss(it: &mut Words) -> Result<NetemLoss, String> {
    let first = it.value("loss", |w| Ok(w.to_string()))?;
    match first.as_str() {
        "state" => {
            let p13f = it.value("loss state", parse_fraction)?;
            // Defaults as iproute2: p31 = 1-p13, p32 = 0, p23 = 1, p14 = 0.
            let p13 = scale(p13f);
            let p31 = it.optional(parse_percent).unwrap_or(scale(1.0 - p13f));
            let p32 = it.optional(parse_percent).unwrap_or(0);
            let p23 = it.optional(parse_percent).unwrap_or(u32::MAX);
            let p14 = it.optional(parse_percent).unwrap_or(0);
            Ok(NetemLoss::State { p13, p31, p32, p23, p14 })
        }
        "gemodel" => {
            let pf = it.value("loss gemodel", parse_fraction)?;
            let p = scale(pf);
            let r = it.optional(parse_percent).unwrap_or(scale(1.0 - pf));
            let h = it.optional(parse_percent).unwrap_or(0);
            let k1 = it.optional(parse_percent).unwrap_or(0);
            Ok(NetemLoss::GeModel { p, r, h, k1 })
        }
        "random" => {
            let p = it.value("loss random", parse_percent)?;
            Ok(NetemLoss::Random { p, corr: it.optional(parse_percent) })
        }
        w => {
            let p = parse_percent(w).map_err(|e| format!("netem loss: {e}"))?;
            Ok(NetemLoss::Random { p, corr: it.optional(parse_percent) })
        }
    }
}

/// `slot MIN [MAX] [packets N] [bytes N]` or
/// `slot distribution NAME DELAY JITTER [packets N] [bytes N]`.
fn parse_slot(it: &mut Words) -> Result<NetemSlot, String> {
    let mut s = NetemSlot::default();
    let first = it.value("slot", |w| Ok(w.to_string()))?;
    if first == "distribution" {
        let name = it.value("slot distribution", |w| Ok(w.to_string()))?;
        // Slot distribution tables go in TCA_NETEM_SLOT_DIST; only the
        // kernel's built-in uniform shape is supported here.
        if name != "uniform" {
            return Err(format!("netem slot distribution {name:?}: only \"uniform\" is supported"));
        }
        s.dist_delay = it.value("slot distribution delay", parse_time)?;
        s.dist_jitter = it.value("slot distribution jitter", parse_time)?;
    } else {
        s.min_delay = parse_time(&first).map_err(|e| format!("netem slot: {e}"))?;
        s.max_delay = it.optional(parse_time).unwrap_or(s.min_delay);
        if s.max_delay < s.min_delay {
            return Err("netem slot: max delay is below min delay".into());
        }
    }
    loop {
        match it.w.get(it.i).copied() {
            Some("packets") => {
                it.i += 1;
                s.max_packets = it.value("slot packets", parse_i32)?;
            }
            Some("bytes") => {
                it.i += 1;
                s.max_bytes = it.value("slot bytes", parse_size)?;
            }
            _ => break,
        }
    }
    Ok(s)
}

/// iproute2's set_percent: fraction of u32::MAX, rounded.
fn scale(f: f64) -> u32 {
    (f.clamp(0.0, 1.0) * u32::MAX as f64).round() as u32
}

/// "5", "5%" or "0.5%": a percentage (iproute2 reads a bare number as
/// percent too).
fn parse_fraction(w: &str) -> Result<f64, String> {
    let num = w.strip_suffix('%').unwrap_or(w);
    let v: f64 = num.parse().map_err(|_| format!("bad percentage {w:?} (e.g. 5% or 0.1%)"))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("percentage {w:?} is outside 0-100%"));
    }
    Ok(v / 100.0)
}

fn parse_percent(w: &str) -> Result<u32, String> {
    parse_fraction(w).map(scale)
}

fn parse_u32(w: &str) -> Result<u32, String> {
    w.parse().map_err(|_| format!("bad number {w:?}"))
}

fn parse_i32(w: &str) -> Result<i32, String> {
    w.parse().map_err(|_| format!("bad number {w:?}"))
}

/// Bytes: plain, or with k/kb/m/mb/g/gb (1024-based as iproute2's get_size).
fn parse_size(w: &str) -> Result<i32, String> {
    let (num, mul) = split_unit(w);
    let m: f64 = match mul.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1024.0,
        "m" | "mb" => 1024.0 * 1024.0,
        "g" | "gb" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("bad size {w:?}")),
    };
    let v: f64 = num.parse().map_err(|_| format!("bad size {w:?}"))?;
    let b = v * m;
    if !(0.0..=i32::MAX as f64).contains(&b) {
        return Err(format!("size {w:?} out of range"));
    }
    Ok(b as i32)
}

fn split_unit(w: &str) -> (&str, &str) {
    let at = w.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(w.len());
    w.split_at(at)
}

/// TIME: s/sec/secs, ms/msec/msecs, us/usec/usecs, ns/…; bare = us.
/// Returned in nanoseconds.
pub fn parse_time(w: &str) -> Result<i64, String> {
    let (num, unit) = split_unit(w);
    let mul = match unit {
        "s" | "sec" | "secs" => 1e9,
        "ms" | "msec" | "msecs" => 1e6,
        "" | "us" | "usec" | "usecs" => 1e3,
        "ns" | "nsec" | "nsecs" => 1.0,
        _ => return Err(format!("bad time {w:?} (units: s, ms, us, ns)")),
    };
    let v: f64 = num.parse().map_err(|_| format!("bad time {w:?}"))?;
    let ns = (v * mul).round();
    if ns > i64::MAX as f64 {
        return Err(format!("time {w:?} too large"));
    }
    Ok(ns as i64)
}

/// RATE: bit/kbit/mbit/gbit/tbit (SI), kibit… (IEC), bps/kbps/mbps…
/// (bytes per second); bare = bits per second. Returned in bytes/s.
pub fn parse_rate(w: &str) -> Result<u64, String> {
    let (num, unit) = split_unit(w);
    let bits_per_unit: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "bit" => 1.0,
        "kbit" => 1e3,
        "kibit" => 1024.0,
        "mbit" => 1e6,
        "mibit" => 1024.0 * 1024.0,
        "gbit" => 1e9,
        "gibit" => 1024.0 * 1024.0 * 1024.0,
        "tbit" => 1e12,
        "tibit" => 1024f64.powi(4),
        "bps" => 8.0,
        "kbps" => 8e3,
        "kibps" => 8.0 * 1024.0,
        "mbps" => 8e6,
        "mibps" => 8.0 * 1024.0 * 1024.0,
        "gbps" => 8e9,
        "gibps" => 8.0 * 1024f64.powi(3),
        "tbps" => 8e12,
        "tibps" => 8.0 * 1024f64.powi(4),
        _ => return Err(format!("bad rate {w:?} (e.g. 10mbit, 1gbit, 100kbps)")),
    };
    let v: f64 = num.parse().map_err(|_| format!("bad rate {w:?}"))?;
    let bytes = (v * bits_per_unit / 8.0).round();
    if bytes <= 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("rate {w:?} out of range"));
    }
    Ok(bytes as u64)
}

/// ns → psched ticks (64 ns each), saturating like iproute2.
fn ticks(ns: i64) -> u32 {
    (ns / 64).clamp(0, u32::MAX as i64) as u32
}

fn u32s(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_ne_bytes()).collect()
}

/// Append one netlink attribute (len, type, value, pad to 4).
fn attr(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = (4 + value.len()) as u16;
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// Load NAME.dist: whitespace-separated signed 16-bit values, '#'
/// comments. "uniform" is the kernel's default shape: no table.
fn load_dist(name: &str, dirs: &[PathBuf]) -> Result<Option<(String, Vec<i16>)>, String> {
    if name == "uniform" {
        return Ok(None);
    }
    if name.is_empty() || name.contains('/') || name.contains("..") {
        return Err(format!("netem distribution: bad name {name:?}"));
    }
    let file = format!("{name}.dist");
    let Some(path) = dirs.iter().map(|d| d.join(&file)).find(|p| p.is_file()) else {
        let tried: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(format!(
            "netem distribution {name:?}: table {file} not found in {} (install iproute2)",
            tried.join(", ")
        ));
    };
    read_dist(&path).map(|t| Some((name.to_string(), t)))
}

fn read_dist(path: &Path) -> Result<Vec<i16>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let mut v = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        for w in line.split_whitespace() {
            v.push(w.parse::<i16>().map_err(|_| format!("{}: bad value {w:?}", path.display()))?);
        }
    }
    if v.is_empty() || v.len() > NETEM_DIST_MAX {
        return Err(format!("{}: table must have 1..={NETEM_DIST_MAX} values", path.display()));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ne32(v: &[u32]) -> Vec<u8> {
        u32s(v)
    }
    fn hdr(len: u16, kind: u16) -> Vec<u8> {
        [len.to_ne_bytes(), kind.to_ne_bytes()].concat()
    }

    #[test]
    fn delay_only_bytes() {
        let n = Netem::parse("delay 100ms").unwrap();
        let b = n.options_bytes();
        // qopt: latency 100ms = 1e8 ns / 64 = 1562500 ticks, limit 1000.
        let mut want = ne32(&[1_562_500, 1000, 0, 0, 0, 0]);
        want.extend(hdr(12, TCA_NETEM_LATENCY64));
        want.extend(100_000_000i64.to_ne_bytes());
        assert_eq!(b, want);
    }

    #[test]
    fn delay_jitter_corr_loss_bytes() {
        let n = Netem::parse("delay 10ms 2ms 25% loss 1% 50 limit 50").unwrap();
        let b = n.options_bytes();
        let quarter = 1_073_741_824u32; // round(0.25 * 0xffffffff)
        let one_pct = 42_949_673u32; // round(0.01 * 0xffffffff)
        let half = 2_147_483_648u32;
        let mut want = ne32(&[156_250, 50, one_pct, 0, 0, 31_250]);
        want.extend(hdr(16, TCA_NETEM_CORR));
        want.extend(ne32(&[quarter, half, 0]));
        want.extend(hdr(12, TCA_NETEM_LATENCY64));
        want.extend(10_000_000i64.to_ne_bytes());
        want.extend(hdr(12, TCA_NETEM_JITTER64));
        want.extend(2_000_000i64.to_ne_bytes());
        assert_eq!(b, want);
    }

    #[test]
    fn rate_reorder_corrupt_duplicate_bytes() {
        let n = Netem::parse("delay 1ms reorder 10% corrupt 0.1% duplicate 2% rate 8mbit 20").unwrap();
        assert_eq!(n.gap, 1, "reorder implies gap 1");
        let b = n.options_bytes();
        let ten = scale(0.10);
        let tenth = scale(0.001);
        let two = scale(0.02);
        let mut want = ne32(&[15_625, 1000, 0, 1, two, 0]);
        want.extend(hdr(12, TCA_NETEM_REORDER));
        want.extend(ne32(&[ten, 0]));
        want.extend(hdr(12, TCA_NETEM_CORRUPT));
        want.extend(ne32(&[tenth, 0]));
        want.extend(hdr(20, TCA_NETEM_RATE));
        want.extend(ne32(&[1_000_000, 20, 0, 0])); // 8mbit = 1e6 bytes/s
        want.extend(hdr(12, TCA_NETEM_LATENCY64));
        want.extend(1_000_000i64.to_ne_bytes());
        assert_eq!(b, want);
    }

    #[test]
    fn loss_models_nested() {
        let n = Netem::parse("loss state 1% 30%").unwrap();
        let b = n.options_bytes();
        let mut want = ne32(&[0, 1000, 0, 0, 0, 0]);
        // TCA_NETEM_LOSS { NETEM_LOSS_GI { p13, p31, p32, p14, p23 } }
        want.extend(hdr(4 + 4 + 20, TCA_NETEM_LOSS));
        want.extend(hdr(24, NETEM_LOSS_GI));
        want.extend(ne32(&[scale(0.01), scale(0.30), 0, 0, u32::MAX]));
        assert_eq!(b, want);

        let n = Netem::parse("loss gemodel 5%").unwrap();
        let b = n.options_bytes();
        let mut want = ne32(&[0, 1000, 0, 0, 0, 0]);
        want.extend(hdr(4 + 4 + 16, TCA_NETEM_LOSS));
        want.extend(hdr(20, NETEM_LOSS_GE));
        want.extend(ne32(&[scale(0.05), scale(0.95), 0, 0]));
        assert_eq!(b, want);
    }

    #[test]
    fn big_rate_uses_rate64_and_slot_layout() {
        let n = Netem::parse("rate 40gbit slot 1ms 2ms packets 5").unwrap();
        let b = n.options_bytes();
        let mut want = ne32(&[0, 1000, 0, 0, 0, 0]);
        want.extend(hdr(4 + 40, TCA_NETEM_SLOT));
        want.extend(1_000_000i64.to_ne_bytes());
        want.extend(2_000_000i64.to_ne_bytes());
        want.extend(5i32.to_ne_bytes());
        want.extend(0i32.to_ne_bytes());
        want.extend(0i64.to_ne_bytes());
        want.extend(0i64.to_ne_bytes());
        want.extend(hdr(20, TCA_NETEM_RATE));
        want.extend(ne32(&[u32::MAX, 0, 0, 0]));
        want.extend(hdr(12, TCA_NETEM_RATE64));
        want.extend(5_000_000_000u64.to_ne_bytes());
        assert_eq!(b, want);
    }

    #[test]
    fn units() {
        assert_eq!(parse_time("1s").unwrap(), 1_000_000_000);
        assert_eq!(parse_time("250us").unwrap(), 250_000);
        assert_eq!(parse_time("7").unwrap(), 7_000, "bare time is usec");
        assert_eq!(parse_rate("1kbit").unwrap(), 125);
        assert_eq!(parse_rate("1kbps").unwrap(), 1000);
        assert_eq!(parse_rate("1mibit").unwrap(), 131_072);
        assert_eq!(parse_percent("100%").unwrap(), u32::MAX);
        assert_eq!(parse_percent("0").unwrap(), 0);
    }

    #[test]
    fn errors_name_the_bad_token() {
        let e = Netem::parse("delay 10parsecs").unwrap_err();
        assert!(e.contains("10parsecs"), "{e}");
        let e = Netem::parse("loss 150%").unwrap_err();
        assert!(e.contains("150%"), "{e}");
        let e = Netem::parse("jitter 5ms").unwrap_err();
        assert!(e.contains("\"jitter\""), "{e}");
        let e = Netem::parse("rate fast").unwrap_err();
        assert!(e.contains("fast"), "{e}");
        let e = Netem::parse("delay").unwrap_err();
        assert!(e.contains("missing"), "{e}");
        assert!(Netem::parse("reorder 5%").unwrap_err().contains("delay"));
        assert!(Netem::parse("gap 5").unwrap_err().contains("reorder"));
    }

    #[test]
    fn distribution_table_loaded_or_clear_error() {
        let dir = std::env::temp_dir().join(format!("netem-dist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("tiny.dist"), "# comment\n -32768 0 12\n 32767\n").unwrap();
        let n = Netem::parse_with_dist_dirs("delay 10ms 1ms distribution tiny", std::slice::from_ref(&dir))
            .unwrap();
        let b = n.options_bytes();
        let mut tail = hdr(4 + 8, TCA_NETEM_DELAY_DIST);
        for v in [-32768i16, 0, 12, 32767] {
            tail.extend(v.to_ne_bytes());
        }
        assert!(b.ends_with(&tail), "{b:?}");
        let e = Netem::parse_with_dist_dirs("delay 10ms 1ms distribution normal", std::slice::from_ref(&dir))
            .unwrap_err();
        assert!(e.contains("normal.dist") && e.contains("not found"), "{e}");
        let e = Netem::parse_with_dist_dirs("delay 10ms distribution tiny", std::slice::from_ref(&dir))
            .unwrap_err();
        assert!(e.contains("jitter"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
        // The real iproute2 table, where installed.
        if DIST_DIRS.iter().any(|d| Path::new(d).join("normal.dist").is_file()) {
            let n = Netem::parse("delay 10ms 1ms distribution normal").unwrap();
            assert_eq!(n.distribution.unwrap().1.len(), 4096);
        } else {
            eprintln!("normal.dist not installed: real-table check skipped");
        }
    }
}
