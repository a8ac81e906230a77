//! Routes installed through netlink read back as installed.

use std::net::IpAddr;

use crate::common::*;
use conlink_kernel::{Route, RouteInfo};
use ipnet::IpNet;

fn find<'a>(routes: &'a [RouteInfo], dst: Option<&str>, table: u32) -> Option<&'a RouteInfo> {
    let dst: Option<IpNet> = dst.map(|d| d.parse().unwrap());
    routes.iter().find(|r| r.dst == dst && r.table == table)
}

#[tokio::test]
async fn default_prefix_metric_table_routes_read_back() {
    if !root_or_skip() {
        return;
    }
    let a = TestNs::new("ra");
    let b = TestNs::new("rb");
    let na = a.nl().await;
    na.create_veth("r0", "r1", &b.ns, None, None).await.unwrap();
    na.set_up("r0", true).await.unwrap();
    na.add_address("r0", "192.0.2.1/24".parse().unwrap()).await.unwrap();
    na.add_address("r0", "2001:db8::1/64".parse().unwrap()).await.unwrap();
    let r0 = na.index_of("r0").await.unwrap();
    let gw: IpAddr = "192.0.2.254".parse().unwrap();

    let default = Route { via: Some(gw), metric: Some(100), ..Default::default() };
    na.add_route(&default).await.unwrap();
    na.add_route(&default).await.unwrap(); // EEXIST is fine
    let prefix = Route {
        dst: Some("198.51.100.0/24".parse().unwrap()),
        via: Some("192.0.2.253".parse().unwrap()),
        dev: Some("r0".into()),
        metric: Some(20),
        ..Default::default()
    };
    na.add_route(&prefix).await.unwrap();
    let in_table = Route {
        dst: Some("203.0.113.0/24".parse().unwrap()),
        dev: Some("r0".into()),
        table: Some(1000),
        ..Default::default()
    };
    na.add_route(&in_table).await.unwrap();
    let v6 = Route {
        via: Some("2001:db8::fe".parse().unwrap()),
        dev: Some("r0".into()),
        metric: Some(7),
        ..Default::default()
    };
    na.add_route(&v6).await.unwrap();

    let v4 = na.routes(false).await.unwrap();
    let d = find(&v4, None, 254).expect("default route in main table");
    assert_eq!((d.via, d.oif, d.metric), (Some(gw), Some(r0), Some(100)));
    let p = find(&v4, Some("198.51.100.0/24"), 254).expect("prefix route");
    assert_eq!((p.via, p.oif, p.metric), (Some("192.0.2.253".parse().unwrap()), Some(r0), Some(20)));
    let t = find(&v4, Some("203.0.113.0/24"), 1000).expect("route in table 1000");
    assert_eq!((t.via, t.oif), (None, Some(r0)));
    // The kernel's own connected route is reported too.
    assert!(find(&v4, Some("192.0.2.0/24"), 254).is_some(), "{v4:?}");

    let r6 = na.routes(true).await.unwrap();
    let d6 = find(&r6, None, 254).expect("IPv6 default route");
    assert_eq!((d6.via, d6.oif, d6.metric), (Some("2001:db8::fe".parse().unwrap()), Some(r0), Some(7)));
}

#[tokio::test]
async fn unreachable_gateway_is_a_clear_error() {
    if !root_or_skip() {
        return;
    }
    let a = TestNs::new("ru");
    let na = a.nl().await;
    let r = Route { via: Some("198.51.100.1".parse().unwrap()), ..Default::default() };
    let e = na.add_route(&r).await.unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("add route default via 198.51.100.1"), "{msg}");
    assert!(msg.contains("unreachable"), "{msg}");
    let missing = Route {
        dst: Some("198.51.100.0/24".parse().unwrap()),
        dev: Some("nope0".into()),
        ..Default::default()
    };
    let e = na.add_route(&missing).await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert!(e.to_string().contains("nope0"), "{e}");
}
