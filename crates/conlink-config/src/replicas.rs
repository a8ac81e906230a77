//! Replica increments (SPEC §4): replica *n* of a service link gets its
//! addresses, MAC and forwards' conlink ports plus *n − 1*. One definition,
//! used at config time (replica counts from compose's `scale` /
//! `deploy.replicas`) and by the planner for every replica that appears.
//! An increment that would wrap is an error, never a silent wrap.

use ipnet::IpNet;

use crate::addrs::{check_interface_addr, increment_ip};
use crate::model::{Forward, Link, MacAddr};

/// What replica `n` of a link gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaValues {
    pub ip: Vec<IpNet>,
    pub mac: Option<MacAddr>,
    pub forward: Vec<Forward>,
}

/// Replica `replica`'s (1-based) values of `link`, or why they would wrap:
/// an address past the end of its family or onto one that cannot go on an
/// interface, a MAC leaving its OUI (which is what makes it unicast and
/// locally administered), a port past 65535.
pub fn replica_values(link: &Link, replica: u32) -> Result<ReplicaValues, String> {
    let offset = replica.max(1) - 1;
    let ip = link
        .ip
        .iter()
        .map(|net| {
            increment_ip(net, offset).ok_or_else(|| {
                format!("replica {replica}: address {net} + {offset} wraps past the end of the address space")
            })
        })
        .map(|r| {
            r.and_then(|n| {
                check_interface_addr(&n).map(|()| n).map_err(|e| format!("replica {replica}: {e}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mac = match link.mac {
        Some(m) => {
            let inc = m.plus(offset as u64);
            if inc.0[..3] != m.0[..3] || mac_value(inc) < mac_value(m) {
                return Err(format!(
                    "replica {replica}: MAC {m} + {offset} is {inc}, which leaves the OUI {:02x}:{:02x}:{:02x} (pick a MAC with room for the replicas)",
                    m.0[0], m.0[1], m.0[2]
                ));
            }
            Some(inc)
        }
        None => None,
    };
    let forward = link
        .forward
        .iter()
        .map(|f| match u16::try_from(f.conlink_port as u32 + offset) {
            Ok(p) => Ok(Forward { conlink_port: p, ..f.clone() }),
            Err(_) => {
                Err(format!("replica {replica}: forward port {} + {offset} is past 65535", f.conlink_port))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ReplicaValues { ip, mac, forward })
}

fn mac_value(m: MacAddr) -> u64 {
    m.0.iter().fold(0, |v, b| (v << 8) | *b as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Proto, Target};

    fn link(ip: &str, mac: &str, port: u16) -> Link {
        Link {
            ip: vec![ip.parse().unwrap()],
            mac: Some(mac.parse().unwrap()),
            forward: vec![Forward { conlink_port: port, container_port: 80, proto: Proto::Tcp }],
            ..Link::veth(Target::Service("s".into()), "eth0", "s1")
        }
    }

    #[test]
    fn increments_by_replica_minus_one() {
        let l = link("10.0.1.1/16", "00:0a:0b:0c:0d:01", 80);
        let r1 = replica_values(&l, 1).unwrap();
        assert_eq!(
            (r1.ip[0].to_string(), r1.mac.unwrap().to_string(), r1.forward[0].conlink_port),
            ("10.0.1.1/16".into(), "00:0a:0b:0c:0d:01".into(), 80)
        );
        let r5 = replica_values(&l, 5).unwrap();
        assert_eq!(
            (r5.ip[0].to_string(), r5.mac.unwrap().to_string(), r5.forward[0].conlink_port),
            ("10.0.1.5/16".into(), "00:0a:0b:0c:0d:05".into(), 84)
        );
        let carry = replica_values(&link("10.0.0.255/16", "00:0a:0b:0c:0d:ff", 80), 2).unwrap();
        assert_eq!(
            (carry.ip[0].to_string(), carry.mac.unwrap().to_string()),
            ("10.0.1.0/16".into(), "00:0a:0b:0c:0e:00".into())
        );
    }

    #[test]
    fn wraps_are_errors_naming_the_replica() {
        let e = replica_values(&link("10.0.0.1/24", "00:0a:0b:0c:0d:01", 65535), 2).unwrap_err();
        assert!(e.contains("replica 2") && e.contains("past 65535"), "{e}");
        let e = replica_values(&link("10.0.0.1/24", "02:00:00:ff:ff:ff", 80), 2).unwrap_err();
        assert!(e.contains("leaves the OUI 02:00:00"), "{e}");
        let e = replica_values(&link("10.0.0.1/24", "fe:ff:ff:ff:ff:ff", 80), 2).unwrap_err();
        assert!(e.contains("OUI"), "{e}");
        let e = replica_values(&link("255.255.255.254/24", "00:0a:0b:0c:0d:01", 80), 3).unwrap_err();
        assert!(e.contains("wraps"), "{e}");
        let e = replica_values(&link("223.255.255.255/8", "00:0a:0b:0c:0d:01", 80), 2).unwrap_err();
        assert!(e.contains("multicast"), "{e}");
        let e =
            replica_values(&link("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/64", "00:0a:0b:0c:0d:01", 80), 2)
                .unwrap_err();
        assert!(e.contains("wraps"), "{e}");
    }
}
