//! `-t HOST:PORT`: resolve and TCP-connect.
//!
//! Names are resolved with std's `ToSocketAddrs` (getaddrinfo). A statically
//! linked glibc binary may be unable to load the NSS modules in a minimal
//! image, so when that fails `/etc/hosts` is read directly: that is where
//! compose's `extra_hosts` (the usual way to name conlink-addressed
//! containers) puts the names.

use std::fs;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

pub fn reachable(target: &str, timeout: Duration) -> bool {
    resolve(target).iter().any(|addr| TcpStream::connect_timeout(addr, timeout).is_ok())
}

fn resolve(target: &str) -> Vec<SocketAddr> {
    if let Ok(addrs) = target.to_socket_addrs() {
        let addrs: Vec<SocketAddr> = addrs.collect();
        if !addrs.is_empty() {
            return addrs;
        }
    }
    let Some((host, port)) = target.rsplit_once(':') else {
        return Vec::new();
    };
    let Ok(port) = port.parse::<u16>() else {
        return Vec::new();
    };
    let hosts = fs::read_to_string("/etc/hosts").unwrap_or_default();
    lookup_hosts_file(&hosts, host).into_iter().map(|ip| SocketAddr::new(ip, port)).collect()
}

/// Addresses for `host` in /etc/hosts text (`IP NAME [ALIASES…]`, `#` comments).
pub fn lookup_hosts_file(text: &str, host: &str) -> Vec<IpAddr> {
    text.lines()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or("");
            let mut fields = line.split_whitespace();
            let ip: IpAddr = fields.next()?.parse().ok()?;
            fields.any(|name| name.eq_ignore_ascii_case(host)).then_some(ip)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn hosts_file_lookup() {
        let text = "127.0.0.1 localhost\n# 10.9.9.9 webserver\n192.168.100.10\twebserver web # comment\n::1 ip6-localhost\n";
        assert_eq!(lookup_hosts_file(text, "webserver"), vec!["192.168.100.10".parse::<IpAddr>().unwrap()]);
        assert_eq!(lookup_hosts_file(text, "WEB"), vec!["192.168.100.10".parse::<IpAddr>().unwrap()]);
        assert_eq!(lookup_hosts_file(text, "ip6-localhost"), vec!["::1".parse::<IpAddr>().unwrap()]);
        assert!(lookup_hosts_file(text, "client").is_empty());
    }

    #[test]
    fn connects_to_local_listener_only_while_it_listens() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let target = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
        assert!(reachable(&target, Duration::from_secs(1)));
        drop(listener);
        assert!(!reachable(&target, Duration::from_secs(1)));
    }
}
