//! Addresses as users write them: strict CIDRs and plain IPs.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::shown::quoted;

/// Parses `ADDR/PREFIX` keeping the host bits (`10.0.0.5/24` stays .5).
/// A bare address is not a CIDR: conlink needs the prefix for the route.
pub fn parse_cidr(s: &str) -> Result<IpNet, String> {
    let bad = || {
        format!("{} is not a CIDR (expected ADDRESS/PREFIX, e.g. 10.0.0.1/24 or 2001:db8::1/64)", quoted(s))
    };
    let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 3 {
        return Err(bad());
    }
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    IpNet::new(addr, prefix).map_err(|_| {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        format!("{} is not a CIDR (prefix {prefix} is larger than {max})", quoted(s))
    })
}

/// Parses a plain IP address (v4 or v6).
pub fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.parse().map_err(|_| format!("{} is not an IP address", quoted(s)))
}
