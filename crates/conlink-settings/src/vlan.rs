//! VLAN ids (802.1Q): 1-4094; 0 and 4095 are reserved by the standard and
//! the kernel refuses them.

use std::fmt;

pub const VLAN_ID_MIN: u16 = 1;
pub const VLAN_ID_MAX: u16 = 4094;

/// A usable VLAN id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VlanId(u16);

impl VlanId {
    /// `v` as a VLAN id, if it is one. Takes any integer so that callers
    /// holding wider values (JSON numbers) use this one rule too.
    pub fn new(v: impl TryInto<u16> + Copy + fmt::Display) -> Result<VlanId, String> {
        match v.try_into() {
            Ok(id) if (VLAN_ID_MIN..=VLAN_ID_MAX).contains(&id) => Ok(VlanId(id)),
            _ => Err(format!("{v} is not a VLAN id ({VLAN_ID_MIN}-{VLAN_ID_MAX})")),
        }
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for VlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        assert_eq!(VlanId::new(0u16).unwrap_err(), "0 is not a VLAN id (1-4094)");
        assert_eq!(VlanId::new(1u16).unwrap().get(), 1);
        assert_eq!(VlanId::new(4094u16).unwrap().get(), 4094);
        assert_eq!(VlanId::new(4095u16).unwrap_err(), "4095 is not a VLAN id (1-4094)");
        assert!(VlanId::new(u16::MAX).is_err());
    }

    #[test]
    fn wide_and_negative_values() {
        assert_eq!(VlanId::new(100u64).unwrap().to_string(), "100");
        assert_eq!(VlanId::new(-1i64).unwrap_err(), "-1 is not a VLAN id (1-4094)");
        assert_eq!(VlanId::new(65537u64).unwrap_err(), "65537 is not a VLAN id (1-4094)");
        assert!(VlanId::new(u64::MAX).is_err());
    }
}
