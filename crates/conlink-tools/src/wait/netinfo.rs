//! "Does this interface have an IP?" without netlink: read the kernel's text
//! tables in /proc (present in every container, no extra capability needed).
//!
//! * IPv4: the interface appears in `/proc/net/route` (main routing table).
//!   An address with a prefix shorter than /32 always installs a connected
//!   route there, so this is "has an IPv4 address or a route" (the original
//!   wait.sh checked the same file). A lone /32 address is not seen.
//! * IPv6: `/proc/net/if_inet6` lists a usable address for it: scope not
//!   link-local (those appear on every interface that is up) and not
//!   tentative (still in duplicate address detection).

use std::fs;

const ROUTE: &str = "/proc/net/route";
const IF_INET6: &str = "/proc/net/if_inet6";
const SCOPE_LINK: u32 = 0x20;
const IFA_F_TENTATIVE: u32 = 0x40;

pub fn interface_has_ip(ifname: &str) -> bool {
    let route = fs::read_to_string(ROUTE).unwrap_or_default();
    let inet6 = fs::read_to_string(IF_INET6).unwrap_or_default();
    has_ipv4_route(&route, ifname) || has_ipv6_address(&inet6, ifname)
}

/// `/proc/net/route`: header line, then `Iface Destination Gateway …`.
pub fn has_ipv4_route(table: &str, ifname: &str) -> bool {
    table.lines().skip(1).any(|line| line.split_whitespace().next() == Some(ifname))
}

/// `/proc/net/if_inet6`: `ADDR IFINDEX PREFIXLEN SCOPE FLAGS IFNAME` in hex.
pub fn has_ipv6_address(table: &str, ifname: &str) -> bool {
    table.lines().any(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 || f[5] != ifname {
            return false;
        }
        let hex = |s: &str| u32::from_str_radix(s, 16).unwrap_or(u32::MAX);
        let (scope, flags) = (hex(f[3]), hex(f[4]));
        scope != u32::MAX && scope != SCOPE_LINK && flags & IFA_F_TENTATIVE == 0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE_TABLE: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
        eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
        eth1\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";

    #[test]
    fn ipv4_route_table() {
        assert!(has_ipv4_route(ROUTE_TABLE, "eth0"));
        assert!(has_ipv4_route(ROUTE_TABLE, "eth1"));
        assert!(!has_ipv4_route(ROUTE_TABLE, "eth2"));
        // The header's first word is "Iface", not an interface.
        assert!(!has_ipv4_route(ROUTE_TABLE, "Iface"));
        assert!(!has_ipv4_route(ROUTE_TABLE, "eth"));
    }

    #[test]
    fn ipv6_ignores_link_local_and_tentative() {
        let table = "fe80000000000000c0a8fffffe000001 02 40 20 80     eth0\n\
                     20010db8000000000000000000000001 03 40 00 80     eth1\n\
                     20010db8000000000000000000000002 04 40 00 40     eth2\n\
                     00000000000000000000000000000001 01 80 10 80       lo\n";
        assert!(!has_ipv6_address(table, "eth0"), "link-local only");
        assert!(has_ipv6_address(table, "eth1"), "global, permanent");
        assert!(!has_ipv6_address(table, "eth2"), "tentative");
        assert!(has_ipv6_address(table, "lo"), "host scope ::1");
        assert!(!has_ipv6_address(table, "eth9"));
    }
}
