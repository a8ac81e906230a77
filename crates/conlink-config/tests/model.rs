//! Behaviour of the shared model types that other crates rely on.

use conlink_config::*;

#[test]
fn mac_add_carries_across_octets() {
    let m: MacAddr = "00:0a:0b:0c:0d:01".parse().unwrap();
    assert_eq!(m.plus(0), m);
    assert_eq!(m.plus(1).to_string(), "00:0a:0b:0c:0d:02");
    let m: MacAddr = "c2:00:00:00:00:ff".parse().unwrap();
    assert_eq!(m.plus(1).to_string(), "c2:00:00:00:01:00");
    let m: MacAddr = "c2:ff:ff:ff:ff:ff".parse().unwrap();
    assert_eq!(m.plus(1).to_string(), "c3:00:00:00:00:00");
    let m: MacAddr = "ff:ff:ff:ff:ff:ff".parse().unwrap();
    assert_eq!(m.plus(1).to_string(), "00:00:00:00:00:00", "wraps within 48 bits");
}

#[test]
fn mac_parse_rejects_bad_forms() {
    for s in [
        "",
        "00:11:22:33:44",
        "00:11:22:33:44:55:66",
        "0:11:22:33:44:55",
        "00-11-22-33-44-55",
        "gg:11:22:33:44:55",
    ] {
        assert!(s.parse::<MacAddr>().is_err(), "{s}");
    }
    assert_eq!("AA:bb:CC:dd:EE:ff".parse::<MacAddr>().unwrap().to_string(), "aa:bb:cc:dd:ee:ff");
}

#[test]
fn replica_addresses() {
    // Replica n (1-based) uses offset n-1 (SPEC §4).
    let ip = parse_cidr("10.0.1.1/16").unwrap();
    let replicas: Vec<String> = (1..=3).map(|n| increment_ip(&ip, n - 1).unwrap().to_string()).collect();
    assert_eq!(replicas, ["10.0.1.1/16", "10.0.1.2/16", "10.0.1.3/16"]);
}

#[test]
fn public_parsers_reexported() {
    assert_eq!(parse_forward("80:80/tcp").unwrap().container_port, 80);
    assert!(Route::parse("default via 10.0.0.1").unwrap().dst.is_none());
    assert_eq!(outer_dev_name("h1", Some(1), "eth0"), "h1_1-eth0");
}
