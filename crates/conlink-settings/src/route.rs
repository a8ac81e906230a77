//! Routes (SPEC §4 `route`): the arguments of `ip route add …`, device
//! implied, parsed once into what the kernel layer installs.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::addr::parse_ip;
use crate::shown::quoted;

/// One route to install.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    /// Destination prefix; `None` means `default`.
    pub dst: Option<IpNet>,
    pub via: Option<IpAddr>,
    /// Output device; `None` means the link's own `dev` (see [`Route::on_dev`]).
    pub dev: Option<String>,
    pub metric: Option<u32>,
    /// Preferred source address.
    pub src: Option<IpAddr>,
    /// `None` means the main table.
    pub table: Option<u32>,
    /// `onlink`: the gateway is reachable on `dev` even if no subnet covers it.
    pub onlink: bool,
    /// The string as the user wrote it (for `--show-config`); empty for
    /// routes conlink makes itself.
    pub raw: String,
}

impl Route {
    /// Parses `default|PREFIX|ADDR` followed by any of `via GW`, `dev X`,
    /// `metric N`, `src IP`, `table N`, `onlink`. Anything else is rejected by
    /// name, because conlink programs routes through netlink and must not
    /// silently drop an option the user relies on.
    pub fn parse(s: &str) -> Result<Route, String> {
        parse_route(s)
    }

    /// This route with `dev` filled in when it names none (a link's routes
    /// leave through the link unless they say otherwise).
    pub fn on_dev(&self, dev: &str) -> Route {
        let mut r = self.clone();
        r.dev.get_or_insert_with(|| dev.to_string());
        r
    }
}

/// Reads like `ip route` (without src/onlink), for messages.
impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.dst {
            Some(d) => write!(f, "{d}")?,
            None => write!(f, "default")?,
        }
        if let Some(v) = &self.via {
            write!(f, " via {v}")?;
        }
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        if let Some(m) = &self.metric {
            write!(f, " metric {m}")?;
        }
        if let Some(t) = &self.table {
            write!(f, " table {t}")?;
        }
        Ok(())
    }
}

fn parse_route(s: &str) -> Result<Route, String> {
    let mut toks = s.split_whitespace();
    let first = toks.next().ok_or_else(|| "route is empty".to_string())?;
    let dst = parse_dst(first)?;
    let mut r = Route {
        dst,
        via: None,
        dev: None,
        metric: None,
        src: None,
        table: None,
        onlink: false,
        raw: s.trim().to_string(),
    };
    while let Some(tok) = toks.next() {
        let mut arg = |what: &str| {
            toks.next().ok_or_else(|| format!("route {}: {} needs {what}", quoted(s), quoted(tok)))
        };
        match tok {
            "via" => {
                r.via = Some(
                    parse_ip(arg("a gateway address")?)
                        .map_err(|e| format!("route {}: via {e}", quoted(s)))?,
                )
            }
            "dev" => {
                let dev = arg("a device name")?;
                crate::ifname::check_ifname(dev).map_err(|e| format!("route {}: dev {e}", quoted(s)))?;
                r.dev = Some(dev.to_string());
            }
            "metric" => r.metric = Some(parse_num(s, tok, arg("a number")?)?),
            "src" => {
                r.src =
                    Some(parse_ip(arg("an address")?).map_err(|e| format!("route {}: src {e}", quoted(s)))?)
            }
            "table" => r.table = Some(parse_num(s, tok, arg("a number")?)?),
            "onlink" => r.onlink = true,
            other => {
                return Err(format!(
                    "route {}: unsupported option {} (supported: via, dev, metric, src, table, onlink)",
                    quoted(s),
                    quoted(other)
                ))
            }
        }
    }
    check_families(s, &r)?;
    Ok(r)
}

fn parse_dst(tok: &str) -> Result<Option<IpNet>, String> {
    if tok == "default" {
        return Ok(None);
    }
    if tok.contains('/') {
        return crate::addr::parse_cidr(tok).map(Some).map_err(|e| format!("route destination {e}"));
    }
    // A bare address is a host route, as with `ip route add`.
    let a: IpAddr = tok.parse().map_err(|_| {
        format!("route destination {} is not \"default\", a prefix or an address", quoted(tok))
    })?;
    Ok(Some(IpNet::from(a)))
}

fn parse_num(s: &str, key: &str, v: &str) -> Result<u32, String> {
    v.parse().map_err(|_| format!("route {}: {key} {} is not a number", quoted(s), quoted(v)))
}

/// Mixed families are a kernel error later; say so now, with the route.
fn check_families(s: &str, r: &Route) -> Result<(), String> {
    let dst_v4 = r.dst.map(|d| d.addr().is_ipv4());
    for (what, a) in [("via", r.via), ("src", r.src)] {
        if let (Some(d4), Some(a)) = (dst_v4, a) {
            if d4 != a.is_ipv4() {
                return Err(format!(
                    "route {}: {what} {a} is not in the destination's address family",
                    quoted(s)
                ));
            }
        }
    }
    if let (Some(v), Some(src)) = (r.via, r.src) {
        if v.is_ipv4() != src.is_ipv4() {
            return Err(format!("route {}: via and src are of different address families", quoted(s)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_via() {
        let r = parse_route("default via 192.168.1.1").unwrap();
        assert_eq!(r.dst, None);
        assert_eq!(r.via, Some("192.168.1.1".parse().unwrap()));
        assert_eq!(r.raw, "default via 192.168.1.1");
        assert!(!r.onlink && r.dev.is_none() && r.metric.is_none());
    }

    #[test]
    fn prefix_with_every_option() {
        let r = parse_route("  10.0.0.0/8 via 10.1.0.1 dev eth1 metric 100 src 10.1.0.5 table 7 onlink ")
            .unwrap();
        assert_eq!(r.dst, Some("10.0.0.0/8".parse().unwrap()));
        assert_eq!(r.via, Some("10.1.0.1".parse().unwrap()));
        assert_eq!(r.dev.as_deref(), Some("eth1"));
        assert_eq!(r.metric, Some(100));
        assert_eq!(r.src, Some("10.1.0.5".parse().unwrap()));
        assert_eq!(r.table, Some(7));
        assert!(r.onlink);
        assert_eq!(r.raw, "10.0.0.0/8 via 10.1.0.1 dev eth1 metric 100 src 10.1.0.5 table 7 onlink");
    }

    #[test]
    fn bare_address_is_host_route() {
        assert_eq!(parse_route("192.0.2.9").unwrap().dst, Some("192.0.2.9/32".parse().unwrap()));
        assert_eq!(
            parse_route("2001:db8::9 dev eth0").unwrap().dst,
            Some("2001:db8::9/128".parse().unwrap())
        );
    }

    #[test]
    fn ipv6_routes() {
        let r = parse_route("2001:db8:1::/48 via 2001:db8::1").unwrap();
        assert_eq!(r.dst, Some("2001:db8:1::/48".parse().unwrap()));
        assert!(parse_route("default via fe80::1 dev eth0").is_ok());
    }

    #[test]
    fn rejects_unknown_tokens_by_name() {
        let e = parse_route("default via 10.0.0.1 proto static").unwrap_err();
        assert!(e.contains("\"proto\""), "{e}");
        assert!(parse_route("default scope link").unwrap_err().contains("\"scope\""));
    }

    #[test]
    fn rejects_bad_values() {
        assert!(parse_route("").unwrap_err().contains("empty"));
        assert!(parse_route("   ").is_err());
        assert!(parse_route("defualt via 10.0.0.1").unwrap_err().contains("\"defualt\""));
        assert!(parse_route("10.0.0.0/33").unwrap_err().contains("not a CIDR"));
        assert!(parse_route("default via").unwrap_err().contains("needs a gateway"));
        assert!(parse_route("default via 10.0.0.300").unwrap_err().contains("not an IP address"));
        assert!(parse_route("default metric high").unwrap_err().contains("not a number"));
        assert!(parse_route("default table -1").is_err());
        assert!(parse_route("default dev").unwrap_err().contains("needs a device"));
        // Config that exposed it: `route: "default dev eth0:1"` (or a 16+ character name) was accepted.
        assert!(parse_route("default dev eth0:1").unwrap_err().contains("':'"));
        assert!(parse_route("default dev abcdefghijklmnop").unwrap_err().contains("longer than 15"));
    }

    #[test]
    fn on_dev_fills_only_a_missing_dev() {
        let r = Route::parse("default via 10.0.0.1").unwrap();
        assert_eq!(r.on_dev("eth1").dev.as_deref(), Some("eth1"));
        let r = Route::parse("default via 10.0.0.1 dev eth2").unwrap();
        assert_eq!(r.on_dev("eth1").dev.as_deref(), Some("eth2"));
    }

    #[test]
    fn display_reads_like_ip_route() {
        let r =
            Route::parse("10.1.0.0/16 via 10.0.0.1 dev eth0 metric 5 table 7 src 10.0.0.2 onlink").unwrap();
        assert_eq!(r.to_string(), "10.1.0.0/16 via 10.0.0.1 dev eth0 metric 5 table 7");
        let r = Route {
            via: Some("192.0.2.1".parse().unwrap()),
            dev: Some("eth0".into()),
            metric: Some(5),
            ..Default::default()
        };
        assert_eq!(r.to_string(), "default via 192.0.2.1 dev eth0 metric 5");
    }

    #[test]
    fn rejects_mixed_families() {
        assert!(parse_route("10.0.0.0/8 via 2001:db8::1").unwrap_err().contains("address family"));
        assert!(parse_route("2001:db8::/32 src 10.0.0.1").is_err());
        assert!(parse_route("default via 10.0.0.1 src 2001:db8::1").is_err());
    }
}
