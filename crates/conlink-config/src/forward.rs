//! `forward` strings: `conlink_port:container_port/tcp|udp`.

use crate::error::quoted;
use crate::model::{Forward, Proto};

pub fn parse_forward(s: &str) -> Result<Forward, String> {
    let bad = |why: &str| {
        format!(
            "forward {} {why} (expected CONLINK_PORT:CONTAINER_PORT/tcp|udp, e.g. 8080:80/tcp)",
            quoted(s)
        )
    };
    let (ports, proto) = s.trim().split_once('/').ok_or_else(|| bad("has no protocol"))?;
    let proto = match proto {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        _ => return Err(bad(&format!("has unknown protocol {}", quoted(proto)))),
    };
    let (outer, inner) = ports.split_once(':').ok_or_else(|| bad("has no ':'"))?;
    let port = |p: &str| -> Result<u16, String> {
        match p.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) && !p.starts_with('+') => Ok(n as u16),
            _ => Err(bad(&format!("has invalid port {} (1-65535)", quoted(p)))),
        }
    };
    Ok(Forward { conlink_port: port(outer)?, container_port: port(inner)?, proto })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_forwards() {
        assert_eq!(
            parse_forward("1080:80/tcp").unwrap(),
            Forward { conlink_port: 1080, container_port: 80, proto: Proto::Tcp }
        );
        assert_eq!(
            parse_forward("53:5353/udp").unwrap(),
            Forward { conlink_port: 53, container_port: 5353, proto: Proto::Udp }
        );
        assert_eq!(parse_forward("65535:1/tcp").unwrap().conlink_port, 65535);
    }

    #[test]
    fn bad_forwards() {
        for (s, why) in [
            ("1080:80", "no protocol"),
            ("1080:80/sctp", "unknown protocol"),
            ("1080/tcp", "no ':'"),
            ("0:80/tcp", "invalid port \"0\""),
            ("1080:65536/tcp", "invalid port \"65536\""),
            ("a:80/tcp", "invalid port \"a\""),
            (":80/tcp", "invalid port \"\""),
            ("80:/udp", "invalid port \"\""),
            ("1:2:3/tcp", "invalid port \"2:3\""),
            ("+80:80/tcp", "invalid port"),
        ] {
            let e = parse_forward(s).unwrap_err();
            assert!(e.contains(why), "{s}: {e}");
        }
    }
}
