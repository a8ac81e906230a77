//! netem's TCA_OPTIONS payload: struct tc_netem_qopt followed by
//! TCA_NETEM_* attributes (include/uapi/linux/pkt_sched.h), encoded from the
//! typed options of conlink-settings. netlink-packet-route has no netem
//! support, so this is a small encoder of its own.

use conlink_settings::{Netem, NetemLoss};

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

/// The TCA_OPTIONS value: tc_netem_qopt then the attributes, in the
/// order iproute2 sends them.
pub(crate) fn netem_options(n: &Netem) -> Vec<u8> {
    let mut out = Vec::new();
    // struct tc_netem_qopt { latency, limit, loss, gap, duplicate, jitter }
    // latency/jitter in psched ticks (64 ns, PSCHED_SHIFT 6) for old
    // kernels; LATENCY64/JITTER64 (ns) below take precedence.
    let loss_p = match &n.loss {
        Some(NetemLoss::Random { p, .. }) => *p,
        _ => 0,
    };
    for v in [
        ticks(n.latency_ns),
        n.limit,
        loss_p,
        n.gap,
        n.duplicate.map(|d| d.0).unwrap_or(0),
        ticks(n.jitter_ns),
    ] {
        out.extend_from_slice(&v.to_ne_bytes());
    }
    let loss_corr = match &n.loss {
        Some(NetemLoss::Random { corr, .. }) => *corr,
        _ => None,
    };
    let dup_corr = n.duplicate.and_then(|d| d.1);
    if n.delay_corr.is_some() || loss_corr.is_some() || dup_corr.is_some() {
        // struct tc_netem_corr { delay_corr, loss_corr, dup_corr }
        let v = [n.delay_corr.unwrap_or(0), loss_corr.unwrap_or(0), dup_corr.unwrap_or(0)];
        attr(&mut out, TCA_NETEM_CORR, &u32s(&v));
    }
    if let Some((p, c)) = n.reorder {
        attr(&mut out, TCA_NETEM_REORDER, &u32s(&[p, c.unwrap_or(0)]));
    }
    if let Some((p, c)) = n.corrupt {
        attr(&mut out, TCA_NETEM_CORRUPT, &u32s(&[p, c.unwrap_or(0)]));
    }
    if let Some(s) = &n.slot {
        let mut b = Vec::new();
        b.extend_from_slice(&s.min_delay.to_ne_bytes());
        b.extend_from_slice(&s.max_delay.to_ne_bytes());
        b.extend_from_slice(&s.max_packets.to_ne_bytes());
        b.extend_from_slice(&s.max_bytes.to_ne_bytes());
        b.extend_from_slice(&s.dist_delay.to_ne_bytes());
        b.extend_from_slice(&s.dist_jitter.to_ne_bytes());
        attr(&mut out, TCA_NETEM_SLOT, &b);
    }
    match &n.loss {
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
    if n.ecn {
        attr(&mut out, TCA_NETEM_ECN, &1u32.to_ne_bytes());
    }
    if let Some((rate, overhead, cell, cell_overhead)) = n.rate {
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
    if n.latency_ns != 0 {
        attr(&mut out, TCA_NETEM_LATENCY64, &n.latency_ns.to_ne_bytes());
    }
    if n.jitter_ns != 0 {
        attr(&mut out, TCA_NETEM_JITTER64, &n.jitter_ns.to_ne_bytes());
    }
    if let Some((_, table)) = &n.distribution {
        let b: Vec<u8> = table.iter().flat_map(|v| v.to_ne_bytes()).collect();
        attr(&mut out, TCA_NETEM_DELAY_DIST, &b);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ne32(v: &[u32]) -> Vec<u8> {
        u32s(v)
    }
    /// iproute2's set_percent: fraction of u32::MAX, rounded.
    fn scale(f: f64) -> u32 {
        (f * u32::MAX as f64).round() as u32
    }
    fn hdr(len: u16, kind: u16) -> Vec<u8> {
        [len.to_ne_bytes(), kind.to_ne_bytes()].concat()
    }

    #[test]
    fn delay_only_bytes() {
        let n = Netem::parse("delay 100ms").unwrap();
        let b = netem_options(&n);
        // qopt: latency 100ms = 1e8 ns / 64 = 1562500 ticks, limit 1000.
        let mut want = ne32(&[1_562_500, 1000, 0, 0, 0, 0]);
        want.extend(hdr(12, TCA_NETEM_LATENCY64));
        want.extend(100_000_000i64.to_ne_bytes());
        assert_eq!(b, want);
    }

    #[test]
    fn delay_jitter_corr_loss_bytes() {
        let n = Netem::parse("delay 10ms 2ms 25% loss 1% 50 limit 50").unwrap();
        let b = netem_options(&n);
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
        let b = netem_options(&n);
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
        let b = netem_options(&n);
        let mut want = ne32(&[0, 1000, 0, 0, 0, 0]);
        // TCA_NETEM_LOSS { NETEM_LOSS_GI { p13, p31, p32, p14, p23 } }
        want.extend(hdr(4 + 4 + 20, TCA_NETEM_LOSS));
        want.extend(hdr(24, NETEM_LOSS_GI));
        want.extend(ne32(&[scale(0.01), scale(0.30), 0, 0, u32::MAX]));
        assert_eq!(b, want);

        let n = Netem::parse("loss gemodel 5%").unwrap();
        let b = netem_options(&n);
        let mut want = ne32(&[0, 1000, 0, 0, 0, 0]);
        want.extend(hdr(4 + 4 + 16, TCA_NETEM_LOSS));
        want.extend(hdr(20, NETEM_LOSS_GE));
        want.extend(ne32(&[scale(0.05), scale(0.95), 0, 0]));
        assert_eq!(b, want);
    }

    #[test]
    fn big_rate_uses_rate64_and_slot_layout() {
        let n = Netem::parse("rate 40gbit slot 1ms 2ms packets 5").unwrap();
        let b = netem_options(&n);
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
    fn distribution_table_is_the_last_attribute() {
        struct Tiny;
        impl conlink_settings::DistTables for Tiny {
            fn read(&self, _file: &str) -> Result<String, String> {
                Ok("# comment\n -32768 0 12\n 32767\n".into())
            }
        }
        let n = Netem::parse_with("delay 10ms 1ms distribution tiny", &Tiny).unwrap();
        let b = netem_options(&n);
        let mut tail = hdr(4 + 8, TCA_NETEM_DELAY_DIST);
        for v in [-32768i16, 0, 12, 32767] {
            tail.extend(v.to_ne_bytes());
        }
        assert!(b.ends_with(&tail), "{b:?}");
    }
}
