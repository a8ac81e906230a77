//! Per-namespace sysctl writes without `ip netns exec sysctl`.
//!
//! /proc/sys/net/* resolves against the network namespace of the thread that
//! opens the file, so the open (and write) happens on a thread that joined
//! the target namespace.

use std::fs;
use std::io;
use std::path::PathBuf;

use crate::in_netns::run_in_netns;
use crate::netns::Netns;

/// Write `value` to sysctl `key` ("net.ipv4.ip_forward" or
/// "net/ipv4/conf/eth0.5/forwarding": with slashes, dots stay literal, as in
/// sysctl(8)) inside `ns`.
pub fn sysctl_in(ns: &Netns, key: &str, value: &str) -> io::Result<()> {
    let path = sysctl_path(key)?;
    run_in_netns(ns.as_fd(), || {
        fs::write(&path, value)
            .map_err(|e| io::Error::new(e.kind(), format!("write {value:?} to {}: {e}", path.display())))
    })
}

/// Read sysctl `key` inside `ns` (trailing newline removed).
pub fn sysctl_get_in(ns: &Netns, key: &str) -> io::Result<String> {
    let path = sysctl_path(key)?;
    run_in_netns(ns.as_fd(), || {
        fs::read_to_string(&path)
            .map(|s| s.trim_end().to_string())
            .map_err(|e| io::Error::new(e.kind(), format!("read {}: {e}", path.display())))
    })
}

fn sysctl_path(key: &str) -> io::Result<PathBuf> {
    let rel = if key.contains('/') { key.trim_start_matches('/').to_string() } else { key.replace('.', "/") };
    if rel.is_empty() || rel.split('/').any(|c| c.is_empty() || c == "..") {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("invalid sysctl key {key:?}")));
    }
    Ok(PathBuf::from("/proc/sys").join(rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_proc_paths() {
        assert_eq!(
            sysctl_path("net.ipv4.ip_forward").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/ip_forward")
        );
        assert_eq!(
            sysctl_path("net/ipv4/conf/eth0.5/forwarding").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/conf/eth0.5/forwarding")
        );
        assert!(sysctl_path("net/../../etc/passwd").is_err());
        assert!(sysctl_path("").is_err());
    }
}
