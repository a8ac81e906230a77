//! Routes (RTM_NEWROUTE / RTM_GETROUTE), IPv4 and IPv6, of the shared
//! [`Route`] type.

use std::net::IpAddr;

use futures::TryStreamExt;
use ipnet::IpNet;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteScope, RouteVia,
};
use netlink_packet_route::AddressFamily;
use rtnetlink::RouteMessageBuilder;

use conlink_settings::Route;

use crate::error::KernelError;
use crate::link::rename_op;
use crate::nl::Nl;

/// A route as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// None = default route.
    pub dst: Option<IpNet>,
    pub via: Option<IpAddr>,
    pub oif: Option<u32>,
    pub table: u32,
    pub metric: Option<u32>,
}

/// Address family from dst, else via, else src. A default route with
/// no gateway and no source is ambiguous, so it is rejected.
fn is_v6(r: &Route) -> Option<bool> {
    r.dst.map(|d| d.addr().is_ipv6()).or(r.via.map(|v| v.is_ipv6())).or(r.src.map(|s| s.is_ipv6()))
}

/// The RTM_NEWROUTE message of `r`, with `oif` already resolved from `dev`.
pub(crate) fn route_message(r: &Route, oif: Option<u32>) -> Result<RouteMessage, String> {
    let v6 = is_v6(r).ok_or("a route needs a destination, gateway or source to know its family")?;
    let mut b = RouteMessageBuilder::<IpAddr>::new();
    b.get_mut().header.address_family = if v6 { AddressFamily::Inet6 } else { AddressFamily::Inet };
    if let Some(dst) = r.dst {
        if dst.addr().is_ipv6() != v6 {
            return Err(format!("destination {dst} is not of the route's address family"));
        }
        // Kernel rejects host bits set in the prefix; trunc() as `ip route` users expect.
        let dst = dst.trunc();
        if dst.prefix_len() > 0 {
            b = b.destination_prefix(dst.addr(), dst.prefix_len()).map_err(|e| e.to_string())?;
        }
    }
    if let Some(via) = r.via {
        b = b.gateway(via).map_err(|e| e.to_string())?;
    } else if !v6 {
        // Like `ip route`: a gatewayless IPv4 route is on-link (scope link).
        b = b.scope(RouteScope::Link);
    }
    if let Some(src) = r.src {
        b = b.pref_source(src).map_err(|e| e.to_string())?;
    }
    if let Some(oif) = oif {
        b = b.output_interface(oif);
    }
    if let Some(m) = r.metric {
        b = b.priority(m);
    }
    if let Some(t) = r.table {
        b = b.table_id(t);
    }
    if r.onlink {
        b = b.onlink();
    }
    Ok(b.build())
}

impl RouteInfo {
    fn from_msg(m: &RouteMessage) -> RouteInfo {
        let mut r = RouteInfo { dst: None, via: None, oif: None, table: m.header.table as u32, metric: None };
        for a in &m.attributes {
            match a {
                RouteAttribute::Destination(addr) => {
                    r.dst =
                        route_ip(addr).and_then(|ip| IpNet::new(ip, m.header.destination_prefix_length).ok())
                }
                RouteAttribute::Gateway(addr) => r.via = route_ip(addr),
                RouteAttribute::Via(RouteVia::Inet(ip)) => r.via = Some(IpAddr::V4(*ip)),
                RouteAttribute::Via(RouteVia::Inet6(ip)) => r.via = Some(IpAddr::V6(*ip)),
                RouteAttribute::Oif(i) => r.oif = Some(*i),
                RouteAttribute::Table(t) => r.table = *t,
                RouteAttribute::Priority(p) => r.metric = Some(*p),
                _ => {}
            }
        }
        r
    }
}

fn route_ip(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(ip) => Some(IpAddr::V4(*ip)),
        RouteAddress::Inet6(ip) => Some(IpAddr::V6(*ip)),
        _ => None,
    }
}

impl Nl {
    /// Install `r`; a route that already exists is fine.
    pub async fn add_route(&self, r: &Route) -> Result<(), KernelError> {
        let op = format!("add route {r}");
        let oif = match &r.dev {
            Some(dev) => Some(self.index_of(dev).await.map_err(|e| rename_op(e, &op))?),
            None => None,
        };
        let msg = route_message(r, oif).map_err(|d| KernelError::invalid(&op, d))?;
        match self.handle().route().add(msg).execute().await {
            Ok(()) => Ok(()),
            Err(e) => match KernelError::from_rtnl(op, e) {
                e if e.is_exists() => Ok(()),
                e => Err(e),
            },
        }
    }

    /// All routes of one family, all tables (one dump).
    pub async fn routes(&self, v6: bool) -> Result<Vec<RouteInfo>, KernelError> {
        let mut q = RouteMessage::default();
        q.header.address_family = if v6 { AddressFamily::Inet6 } else { AddressFamily::Inet };
        q.header.table = RouteHeader::RT_TABLE_UNSPEC;
        let msgs: Vec<RouteMessage> =
            self.handle().route().get(q).execute().try_collect().await.map_err(|e| {
                KernelError::from_rtnl(if v6 { "list IPv6 routes" } else { "list IPv4 routes" }, e)
            })?;
        Ok(msgs.iter().map(RouteInfo::from_msg).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_v4_route_message() {
        let r = Route { via: Some("192.0.2.254".parse().unwrap()), metric: Some(50), ..Default::default() };
        let m = route_message(&r, Some(7)).unwrap();
        assert_eq!(m.header.address_family, AddressFamily::Inet);
        assert_eq!(m.header.destination_prefix_length, 0);
        assert_eq!(m.header.table, RouteHeader::RT_TABLE_MAIN);
        assert!(!m.attributes.iter().any(|a| matches!(a, RouteAttribute::Destination(_))));
        assert!(m
            .attributes
            .contains(&RouteAttribute::Gateway(RouteAddress::Inet("192.0.2.254".parse().unwrap()))));
        assert!(m.attributes.contains(&RouteAttribute::Oif(7)));
        assert!(m.attributes.contains(&RouteAttribute::Priority(50)));
    }

    #[test]
    fn prefix_route_is_truncated_and_dev_route_is_link_scope() {
        let r = Route { dst: Some("198.51.100.7/24".parse().unwrap()), ..Default::default() };
        let m = route_message(&r, Some(3)).unwrap();
        assert_eq!(m.header.destination_prefix_length, 24);
        assert_eq!(m.header.scope, RouteScope::Link);
        assert!(m
            .attributes
            .contains(&RouteAttribute::Destination(RouteAddress::Inet("198.51.100.0".parse().unwrap()))));
    }

    #[test]
    fn v6_route_and_family_checks() {
        let r = Route {
            dst: Some("2001:db8:2::/48".parse().unwrap()),
            via: Some("2001:db8::fe".parse().unwrap()),
            table: Some(1000),
            ..Default::default()
        };
        let m = route_message(&r, None).unwrap();
        assert_eq!(m.header.address_family, AddressFamily::Inet6);
        assert!(m.attributes.contains(&RouteAttribute::Table(1000)));
        let bad = Route {
            dst: Some("2001:db8::/32".parse().unwrap()),
            via: Some("192.0.2.1".parse().unwrap()),
            ..Default::default()
        };
        // v6 dst with v4 gateway is not expressible.
        assert!(route_message(&bad, None).is_err());
        assert!(route_message(&Route { dev: Some("eth0".into()), ..Default::default() }, Some(1)).is_err());
    }
}
