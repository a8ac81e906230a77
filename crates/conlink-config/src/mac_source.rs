//! Where the MACs of links without a `mac` come from. The randomness is the
//! caller's (the binary passes the system's random source), so loading a
//! config reads nothing but files.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::model::MacAddr;

/// Gives the last five octets of each generated MAC; the first is `c2`
/// (locally administered, unicast, as the original), so generated addresses
/// are recognisable.
#[derive(Clone)]
pub struct MacSource(Arc<dyn Fn() -> [u8; 5] + Send + Sync>);

impl MacSource {
    /// `octets` is called once per generated MAC (a random source, normally).
    pub fn new(octets: impl Fn() -> [u8; 5] + Send + Sync + 'static) -> MacSource {
        MacSource(Arc::new(octets))
    }

    /// c2:00:00:00:00:01, c2:00:00:00:00:02, …: reproducible, for tests and
    /// for showing a config. Not for building links: two conlinks would agree.
    pub fn sequential() -> MacSource {
        let n = AtomicU64::new(0);
        MacSource::new(move || {
            let v = n.fetch_add(1, Ordering::Relaxed) + 1;
            let b = v.to_be_bytes();
            [b[3], b[4], b[5], b[6], b[7]]
        })
    }

    pub fn next_mac(&self) -> MacAddr {
        let mut b = [0xc2; 6];
        b[1..].copy_from_slice(&(self.0)());
        // Room for 2^23 replica increments before the OUI would change.
        b[3] &= 0x7f;
        MacAddr(b)
    }
}

/// Sequential (see [`MacSource::sequential`]).
impl Default for MacSource {
    fn default() -> Self {
        MacSource::sequential()
    }
}

impl fmt::Debug for MacSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacSource")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_macs_differ_and_are_local_unicast() {
        let s = MacSource::sequential();
        let a = s.next_mac();
        let b = s.next_mac();
        assert_ne!(a, b);
        assert_eq!(a.0[0] & 0b11, 0b10, "locally administered, unicast");
        assert_eq!(a.to_string(), "c2:00:00:00:00:01");
        assert_eq!(b.to_string(), "c2:00:00:00:00:02");
    }

    #[test]
    fn the_callers_octets_are_used() {
        let s = MacSource::new(|| [1, 2, 3, 4, 5]);
        assert_eq!(s.next_mac().to_string(), "c2:01:02:03:04:05");
        let high = MacSource::new(|| [0xff; 5]);
        assert_eq!(high.next_mac().to_string(), "c2:ff:ff:7f:ff:ff", "room for replica increments");
        assert_eq!(s.clone().next_mac(), s.next_mac());
    }
}
