//! Address helpers: strict CIDR parsing and replica increments.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

pub use conlink_settings::{parse_cidr, parse_ip};

/// Why `net` cannot be put on an interface, if it cannot: multicast,
/// unspecified (`0.0.0.0`, `::`), IPv6 loopback (only `lo` holds it),
/// IPv4 loopback (martian off `lo`) and the limited broadcast address.
pub fn check_interface_addr(net: &IpNet) -> Result<(), String> {
    let why = match net.addr() {
        a if a.is_unspecified() => Some("the unspecified address"),
        a if a.is_multicast() => Some("a multicast address"),
        a if a.is_loopback() => Some("a loopback address (only lo holds those)"),
        IpAddr::V4(a) if a.is_broadcast() => Some("the broadcast address"),
        _ => None,
    };
    match why {
        Some(why) => Err(format!("{net} cannot be put on an interface: {} is {why}", net.addr())),
        None => Ok(()),
    }
}

/// Why `ip` cannot be a unicast peer (a tunnel remote, a NAT address), if
/// it cannot: unspecified, broadcast or multicast.
pub fn check_unicast_peer(ip: &IpAddr) -> Result<(), String> {
    let why = match ip {
        a if a.is_unspecified() => Some("the unspecified address"),
        a if a.is_multicast() => Some("a multicast address (conlink's tunnels and NAT are point to point)"),
        IpAddr::V4(a) if a.is_broadcast() => Some("the broadcast address"),
        _ => None,
    };
    match why {
        Some(why) => Err(format!("{ip} is {why}")),
        None => Ok(()),
    }
}

/// `net`'s address plus `n`, same prefix; `None` past the end of the
/// family (no silent wrap). Replica `n` (1-based) of a service uses
/// `increment_ip(net, n - 1)` (see replicas.rs).
pub fn increment_ip(net: &IpNet, n: u32) -> Option<IpNet> {
    match net {
        IpNet::V4(v4) => {
            let a = u32::from(v4.addr()).checked_add(n)?;
            Some(IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), v4.prefix_len()).expect("prefix unchanged")))
        }
        IpNet::V6(v6) => {
            let a = u128::from(v6.addr()).checked_add(n as u128)?;
            Some(IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), v6.prefix_len()).expect("prefix unchanged")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        parse_cidr(s).unwrap()
    }

    #[test]
    fn cidr_keeps_host_bits() {
        assert_eq!(net("10.0.0.5/24").to_string(), "10.0.0.5/24");
        assert_eq!(net("2001:db8::7/64").to_string(), "2001:db8::7/64");
        assert_eq!(net("0.0.0.0/0").to_string(), "0.0.0.0/0");
    }

    #[test]
    fn cidr_rejects_bad_input() {
        for s in [
            "10.0.0.300/24",
            "10.0.0.1",
            "10.0.0.1/",
            "10.0.0.1/33",
            "10.0.0.1/-1",
            "10.0.0/24",
            "2001:db8::1/129",
            "x/24",
            "10.0.0.1/24/1",
            "10.0.0.1/ 24",
            "",
        ] {
            let e = parse_cidr(s).unwrap_err();
            assert!(e.contains("is not a CIDR"), "{s}: {e}");
        }
        assert!(parse_cidr("10.0.0.1/33").unwrap_err().contains("larger than 32"));
    }

    #[test]
    fn interface_addresses() {
        for ok in ["10.0.0.1/24", "2001:db8::1/64", "fe80::1/64", "192.0.2.255/24", "10.0.0.0/8"] {
            assert!(check_interface_addr(&net(ok)).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("ff02::1/8", "multicast"),
            ("224.0.0.1/4", "multicast"),
            ("::1/128", "loopback"),
            ("127.0.0.2/8", "loopback"),
            ("0.0.0.0/0", "unspecified"),
            ("::/0", "unspecified"),
            ("255.255.255.255/32", "broadcast"),
        ] {
            let e = check_interface_addr(&net(bad)).unwrap_err();
            assert!(e.contains(why) && e.contains("cannot be put on an interface"), "{bad}: {e}");
        }
    }

    #[test]
    fn unicast_peers() {
        for ok in ["192.0.2.1", "2001:db8::1", "127.0.0.1"] {
            assert!(check_unicast_peer(&ok.parse().unwrap()).is_ok(), "{ok}");
        }
        for bad in ["::", "0.0.0.0", "255.255.255.255", "239.1.1.1", "ff05::2"] {
            assert!(check_unicast_peer(&bad.parse().unwrap()).is_err(), "{bad}");
        }
    }

    #[test]
    fn ip_parse() {
        assert!(parse_ip("192.0.2.1").is_ok());
        assert!(parse_ip("2001:db8::1").is_ok());
        assert_eq!(parse_ip("192.0.2.256").unwrap_err(), "\"192.0.2.256\" is not an IP address");
    }

    #[test]
    fn increment_v4_simple_and_zero() {
        assert_eq!(increment_ip(&net("10.0.1.1/16"), 0), Some(net("10.0.1.1/16")));
        assert_eq!(increment_ip(&net("10.0.1.1/16"), 1), Some(net("10.0.1.2/16")));
        assert_eq!(increment_ip(&net("10.0.1.1/16"), 4), Some(net("10.0.1.5/16")));
    }

    #[test]
    fn increment_v4_carries_across_octets() {
        assert_eq!(increment_ip(&net("10.0.0.255/16"), 1), Some(net("10.0.1.0/16")));
        assert_eq!(increment_ip(&net("10.0.255.254/8"), 3), Some(net("10.1.0.1/8")));
        assert_eq!(increment_ip(&net("10.255.255.255/8"), 1), Some(net("11.0.0.0/8")));
    }

    #[test]
    fn increment_past_the_family_is_none() {
        assert_eq!(increment_ip(&net("255.255.255.254/24"), 1), Some(net("255.255.255.255/24")));
        assert_eq!(increment_ip(&net("255.255.255.254/24"), 2), None);
        assert_eq!(increment_ip(&net("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/64"), 1), None);
    }

    #[test]
    fn increment_v6_carries() {
        assert_eq!(increment_ip(&net("2001:db8::1/64"), 1), Some(net("2001:db8::2/64")));
        assert_eq!(increment_ip(&net("2001:db8::ffff/64"), 1), Some(net("2001:db8::1:0/64")));
        assert_eq!(increment_ip(&net("2001:db8::ffff:ffff/96"), 2), Some(net("2001:db8::1:0:1/96")));
    }
}
