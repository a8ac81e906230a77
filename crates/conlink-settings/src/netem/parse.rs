//! The netem option grammar, as iproute2's `tc … netem` reads it.

use super::tables::{self, DistTables};
use super::{Netem, NetemLoss, NetemSlot};

pub(super) fn parse_words(s: &str, tables: &dyn DistTables) -> Result<Netem, String> {
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
                n.distribution = tables::load(&name, tables)?;
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
            other => return Err(format!("unknown netem option {other:?}")),
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
fn parse_time(w: &str) -> Result<i64, String> {
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
fn parse_rate(w: &str) -> Result<u64, String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netem::NoDistTables;

    fn p(s: &str) -> Netem {
        Netem::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }
    fn err(s: &str) -> String {
        Netem::parse(s).unwrap_err()
    }
    fn pct(f: f64) -> u32 {
        scale(f)
    }

    /// A table source holding one table, `tiny.dist`.
    struct Tiny;
    impl DistTables for Tiny {
        fn read(&self, file: &str) -> Result<String, String> {
            match file {
                "tiny.dist" => Ok("# comment\n -32768 0 12\n 32767\n".into()),
                "broken.dist" => Ok("1 2 zz\n".into()),
                f => Err(format!("table {f} not found in /nowhere")),
            }
        }
    }

    #[test]
    fn defaults_and_raw_text() {
        let n = p("delay 1ms");
        assert_eq!(n.limit, 1000, "iproute2's default limit");
        assert_eq!(n.raw, ["delay 1ms"]);
        let n = Netem::parse_entries(&["delay 10ms".into(), "2ms".into(), "loss 1%".into()], &NoDistTables)
            .unwrap();
        assert_eq!((n.latency_ns, n.jitter_ns), (10_000_000, 2_000_000), "entries are one option string");
        assert_eq!(n.to_string(), "delay 10ms 2ms loss 1%");
        assert_eq!(n.raw.len(), 3);
    }

    #[test]
    fn limit() {
        assert_eq!(p("limit 50").limit, 50);
        assert!(err("limit").contains("missing"));
        assert!(err("limit -1").contains("bad number"));
        assert!(err("limit lots").contains("\"lots\""));
    }

    #[test]
    fn delay_jitter_correlation() {
        let n = p("delay 10ms 2ms 25%");
        assert_eq!((n.latency_ns, n.jitter_ns, n.delay_corr), (10_000_000, 2_000_000, Some(pct(0.25))));
        let n = p("latency 1s");
        assert_eq!((n.latency_ns, n.jitter_ns, n.delay_corr), (1_000_000_000, 0, None));
        // A correlation is only read after a jitter; the next keyword is left alone.
        let n = p("delay 5ms loss 1%");
        assert_eq!(n.jitter_ns, 0);
        assert!(n.loss.is_some());
        assert!(err("delay").contains("missing"));
        assert!(err("delay 10parsecs").contains("10parsecs"));
    }

    #[test]
    fn time_units() {
        for (w, ns) in [
            ("1s", 1_000_000_000),
            ("2sec", 2_000_000_000),
            ("3secs", 3_000_000_000),
            ("1ms", 1_000_000),
            ("1msec", 1_000_000),
            ("1msecs", 1_000_000),
            ("250us", 250_000),
            ("1usec", 1_000),
            ("1usecs", 1_000),
            ("7", 7_000),
            ("1.5ms", 1_500_000),
            ("9ns", 9),
            ("9nsec", 9),
            ("9nsecs", 9),
        ] {
            assert_eq!(parse_time(w).unwrap(), ns, "{w}");
        }
        assert!(parse_time("1h").is_err());
        assert!(parse_time("ms").is_err());
        assert!(parse_time("99999999999s").unwrap_err().contains("too large"));
    }

    #[test]
    fn distribution() {
        let n = Netem::parse_with("delay 10ms 1ms distribution tiny", &Tiny).unwrap();
        assert_eq!(n.distribution, Some(("tiny".to_string(), vec![-32768, 0, 12, 32767])));
        assert_eq!(
            Netem::parse_with("delay 10ms 1ms distribution uniform", &Tiny).unwrap().distribution,
            None
        );
        let e = Netem::parse_with("delay 10ms 1ms distribution normal", &Tiny).unwrap_err();
        assert!(e.contains("normal.dist") && e.contains("not found"), "{e}");
        let e = Netem::parse_with("delay 10ms 1ms distribution broken", &Tiny).unwrap_err();
        assert!(e.contains("broken.dist: bad value \"zz\""), "{e}");
        let e = Netem::parse_with("delay 10ms distribution tiny", &Tiny).unwrap_err();
        assert!(e.contains("jitter"), "{e}");
        assert!(err("delay 1ms 1ms distribution ../etc/passwd").contains("bad name"));
        assert!(err("delay 1ms 1ms distribution normal").contains("no distribution tables"));
        assert!(err("delay 1ms 1ms distribution").contains("missing"));
    }

    #[test]
    fn loss_random() {
        assert_eq!(p("loss 1%").loss, Some(NetemLoss::Random { p: pct(0.01), corr: None }));
        assert_eq!(p("drop 1% 50%").loss, Some(NetemLoss::Random { p: pct(0.01), corr: Some(pct(0.5)) }));
        assert_eq!(p("loss random 5").loss, Some(NetemLoss::Random { p: pct(0.05), corr: None }));
        assert_eq!(p("loss 0.5%").loss, Some(NetemLoss::Random { p: pct(0.005), corr: None }));
        assert_eq!(p("loss 100%").loss, Some(NetemLoss::Random { p: u32::MAX, corr: None }));
        assert_eq!(p("loss 0").loss, Some(NetemLoss::Random { p: 0, corr: None }));
        assert!(err("loss 150%").contains("150%"));
        assert!(err("loss -1%").contains("outside 0-100%"));
        assert!(err("loss often").contains("\"often\""));
        assert!(err("loss").contains("missing"));
        assert!(err("loss random").contains("missing"));
    }

    #[test]
    fn loss_state_and_gemodel() {
        assert_eq!(
            p("loss state 1% 30%").loss,
            Some(NetemLoss::State { p13: pct(0.01), p31: pct(0.30), p32: 0, p23: u32::MAX, p14: 0 })
        );
        assert_eq!(
            p("loss state 10%").loss,
            Some(NetemLoss::State { p13: pct(0.1), p31: pct(0.9), p32: 0, p23: u32::MAX, p14: 0 })
        );
        assert_eq!(
            p("loss state 1 2 3 4 5").loss,
            Some(NetemLoss::State {
                p13: pct(0.01),
                p31: pct(0.02),
                p32: pct(0.03),
                p23: pct(0.04),
                p14: pct(0.05)
            })
        );
        assert_eq!(
            p("loss gemodel 5%").loss,
            Some(NetemLoss::GeModel { p: pct(0.05), r: pct(0.95), h: 0, k1: 0 })
        );
        assert_eq!(
            p("loss gemodel 1 2 3 4").loss,
            Some(NetemLoss::GeModel { p: pct(0.01), r: pct(0.02), h: pct(0.03), k1: pct(0.04) })
        );
        assert!(err("loss state").contains("missing"));
        assert!(err("loss gemodel x").contains("\"x\""));
    }

    #[test]
    fn duplicate_corrupt_reorder_gap() {
        let n = p("duplicate 2% 10%");
        assert_eq!(n.duplicate, Some((pct(0.02), Some(pct(0.1)))));
        assert_eq!(p("corrupt 0.1%").corrupt, Some((pct(0.001), None)));
        let n = p("delay 1ms reorder 10% 5%");
        assert_eq!(n.reorder, Some((pct(0.1), Some(pct(0.05)))));
        assert_eq!(n.gap, 1, "reorder implies gap 1");
        assert_eq!(p("delay 1ms reorder 25% gap 5").gap, 5);
        assert!(err("reorder 5%").contains("delay"));
        assert!(err("gap 5").contains("reorder"));
        assert!(err("delay 1ms reorder 5% gap x").contains("\"x\""));
        for kw in ["duplicate", "corrupt", "reorder"] {
            assert!(err(kw).contains("missing"), "{kw}");
            assert!(err(&format!("{kw} 101%")).contains("outside"), "{kw}");
        }
    }

    #[test]
    fn rate_with_overheads_and_units() {
        assert_eq!(p("rate 8mbit").rate, Some((1_000_000, 0, 0, 0)));
        assert_eq!(p("rate 8mbit 20").rate, Some((1_000_000, 20, 0, 0)));
        assert_eq!(p("rate 8mbit -4 64 2").rate, Some((1_000_000, -4, 64, 2)));
        assert_eq!(p("rate 40gbit").rate.unwrap().0, 5_000_000_000);
        for (w, bytes) in [
            ("8", 1),
            ("8bit", 1),
            ("1kbit", 125),
            ("1kibit", 128),
            ("1mbit", 125_000),
            ("1mibit", 131_072),
            ("1gbit", 125_000_000),
            ("1gibit", 134_217_728),
            ("1tbit", 125_000_000_000),
            ("1tibit", 137_438_953_472),
            ("1bps", 1),
            ("1kbps", 1000),
            ("1kibps", 1024),
            ("1mbps", 1_000_000),
            ("1mibps", 1_048_576),
            ("1gbps", 1_000_000_000),
            ("1gibps", 1_073_741_824),
            ("1tbps", 1_000_000_000_000),
            ("1tibps", 1_099_511_627_776),
            ("1MBit", 125_000),
        ] {
            assert_eq!(parse_rate(w).unwrap(), bytes, "{w}");
        }
        assert!(err("rate fast").contains("fast"));
        assert!(err("rate 0bit").contains("out of range"));
        assert!(err("rate 1furlong").contains("furlong"));
        assert!(err("rate").contains("missing"));
    }

    #[test]
    fn slot() {
        let s = p("slot 1ms 2ms packets 5 bytes 1k").slot.unwrap();
        assert_eq!(
            s,
            NetemSlot {
                min_delay: 1_000_000,
                max_delay: 2_000_000,
                max_packets: 5,
                max_bytes: 1024,
                dist_delay: 0,
                dist_jitter: 0
            }
        );
        let s = p("slot 3ms").slot.unwrap();
        assert_eq!((s.min_delay, s.max_delay), (3_000_000, 3_000_000));
        let s = p("slot distribution uniform 1ms 100us bytes 2mb").slot.unwrap();
        assert_eq!((s.dist_delay, s.dist_jitter, s.max_bytes), (1_000_000, 100_000, 2 * 1024 * 1024));
        assert!(err("slot 2ms 1ms").contains("below min"));
        assert!(err("slot distribution normal 1ms 1ms").contains("only \"uniform\""));
        assert!(err("slot").contains("missing"));
        assert!(err("slot 1ms packets").contains("missing"));
        assert!(err("slot 1ms bytes 5tb").contains("bad size"));
        assert!(err("slot 1ms bytes 4gb").contains("out of range"));
        assert!(err("slot soon").contains("\"soon\""));
    }

    #[test]
    fn ecn_needs_loss() {
        assert!(p("loss 1% ecn").ecn);
        assert!(err("ecn").contains("ecn needs loss"));
    }

    #[test]
    fn unknown_options_and_empty() {
        assert_eq!(err("banana"), "unknown netem option \"banana\"");
        assert_eq!(err("delay 10ms banana"), "unknown netem option \"banana\"");
        assert!(err("jitter 5ms").contains("\"jitter\""));
        assert!(err("Delay 5ms").contains("\"Delay\""), "keywords are lower case");
        assert_eq!(err(""), "empty netem options");
        assert_eq!(err("   "), "empty netem options");
    }

    #[test]
    fn every_option_together() {
        let n = p("limit 10 delay 10ms 1ms 5% loss 1% 2% duplicate 1% corrupt 1% reorder 1% gap 3 rate 1mbit slot 1ms ecn");
        assert_eq!(n.limit, 10);
        assert!(n.delay_corr.is_some() && n.loss.is_some() && n.duplicate.is_some() && n.corrupt.is_some());
        assert_eq!(
            (n.gap, n.reorder.is_some(), n.rate.is_some(), n.slot.is_some(), n.ecn),
            (3, true, true, true, true)
        );
    }
}
