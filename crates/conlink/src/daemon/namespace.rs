//! Which network namespace holds conlink's bridges, and whether conlink owns it.
//!
//! - In a container conlink uses the container's namespace.
//! - Started inside a namespace other than the host's (`ip netns exec lab conlink …`),
//!   it uses that namespace. "Other than the host's": its namespace differs from the
//!   one `--host-netns` names (default PID 1's) when that can be read, else it is
//!   one of the named namespaces in `/run/netns`.
//! - Otherwise it uses `/run/netns/NAME` (`--netns`), never the host namespace itself:
//!   dockerd's FORWARD DROP policy and bridge-nf-call-iptables would drop bridged frames there.
//!
//! (`/run/netns` is root's; rootless it is `$XDG_RUNTIME_DIR/conlink/netns`, see
//! `runtime_dir`.)
//!
//! conlink removes a namespace at exit only when it made it (this run, or an earlier
//! one killed before its cleanup: marked on the namespace's `lo`, see `ownership`).
//! A namespace that existed before is used and kept.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use conlink_kernel::{netns_run_dir, Netns, Nl};
use tracing::{info, warn};

use super::ownership::{is_marked, mark, Made};

/// Where the bridges live, decided before anything is touched (the lock is named after it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// The namespace conlink runs in (its container's, or the one it was started in).
    Own { label: String },
    /// `/run/netns/NAME` on the host.
    Named { name: String },
}

impl Placement {
    pub fn decide(in_container: bool, netns_name: &str, host_spec: Option<&str>) -> Result<Placement> {
        check_netns_name(netns_name).map_err(|e| anyhow::anyhow!("--netns {netns_name:?}: {e}"))?;
        if in_container {
            return Ok(Placement::Own { label: "container".into() });
        }
        let current = inode_of(Path::new("/proc/thread-self/ns/net"))
            .context("cannot read conlink's own network namespace")?;
        // PID 1's namespace is unreadable under `ip netns exec` (no ptrace access to it).
        let host = inode_of(&host_netns_path(host_spec)).ok();
        let named = named_netns_with_inode(current);
        if !is_non_host(current, host, named.is_some()) {
            return Ok(Placement::Named { name: netns_name.to_string() });
        }
        Ok(Placement::Own { label: named.unwrap_or_else(|| format!("netns-{current}")) })
    }

    /// `/run/netns/NAME` whatever namespace conlink runs in (swarm mode).
    pub fn named(netns_name: &str) -> Result<Placement> {
        check_netns_name(netns_name).map_err(|e| anyhow::anyhow!("--netns {netns_name:?}: {e}"))?;
        Ok(Placement::Named { name: netns_name.to_string() })
    }

    /// Names the lock, conlink's marks and per-instance files.
    pub fn label(&self) -> &str {
        match self {
            Placement::Own { label } => label,
            Placement::Named { name } => name,
        }
    }
}

/// Started in a namespace other than the host's? It differs from the host namespace
/// when that is readable; otherwise it is one of `/run/netns`'s named namespaces.
pub fn is_non_host(current: u64, host: Option<u64>, current_is_named: bool) -> bool {
    match host {
        Some(h) => h != current,
        None => current_is_named,
    }
}

/// `--netns` names become file names (`/run/netns/NAME`, `/run/conlink/NAME.lock`)
/// and marks: the same rule as node names (one definition, in `conlink-config`).
pub fn check_netns_name(name: &str) -> Result<(), String> {
    conlink_config::naming::check_node_name(name)
}

/// The namespace a `--host-netns` spec names: a PID, a path, or PID 1's.
pub fn host_netns_path(spec: Option<&str>) -> PathBuf {
    match spec {
        Some(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) => {
            PathBuf::from(format!("/proc/{s}/ns/net"))
        }
        Some(s) => PathBuf::from(s),
        None => PathBuf::from("/proc/1/ns/net"),
    }
}

fn inode_of(path: &Path) -> std::io::Result<u64> {
    Ok(std::fs::metadata(path)?.ino())
}

/// The `/run/netns` name of the namespace with this inode, if it has one.
fn named_netns_with_inode(inode: u64) -> Option<String> {
    std::fs::read_dir(netns_run_dir()).ok()?.flatten().find_map(|e| {
        let name = e.file_name().into_string().ok()?;
        (inode_of(&e.path()).ok()? == inode && check_netns_name(&name).is_ok()).then_some(name)
    })
}

/// conlink's own namespace for bridges and outer veth ends.
pub struct BridgeNamespace {
    pub netns: Netns,
    /// `/run/netns/NAME` when conlink made it and must remove it on exit.
    pub owned_name: Option<String>,
    /// Names conlink's marks and per-instance files (e.g. its private Open vSwitch).
    pub label: String,
}

impl BridgeNamespace {
    pub async fn open(placement: &Placement) -> Result<BridgeNamespace> {
        let label = placement.label().to_string();
        let name = match placement {
            Placement::Own { label } => {
                info!(netns = %label, "bridges live in the network namespace conlink runs in");
                return Ok(BridgeNamespace {
                    netns: Netns::current()?,
                    owned_name: None,
                    label: label.clone(),
                });
            }
            Placement::Named { name } => name,
        };
        let path = netns_run_dir().join(name);
        let made = if path.exists() {
            None
        } else {
            match Netns::create_named(name) {
                Ok(ns) => Some(ns),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => None,
                Err(e) => return Err(e).with_context(|| format!("cannot create network namespace {name}")),
            }
        };
        let (netns, owned) = match made {
            Some(ns) => {
                let nl = Nl::connect(&ns).await?;
                nl.set_alias("lo", &mark(&label, Made::Netns)).await?;
                (ns, true)
            }
            None => {
                let ns = Netns::from_path(&path)?;
                let lo = Nl::connect(&ns).await?.link_by_name("lo").await?;
                // An earlier conlink of this name that was killed before its cleanup.
                let ours = lo.is_some_and(|l| is_marked(&l, &label, Made::Netns));
                if !ours {
                    info!(netns = %name, "using the existing network namespace {}; it is kept at exit", path.display());
                }
                (ns, ours)
            }
        };
        if owned {
            info!(netns = %name, "bridges live in network namespace {} (removed at exit)", path.display());
        }
        Ok(BridgeNamespace { netns, owned_name: owned.then(|| name.clone()), label })
    }

    /// Deletes the namespace if conlink made it (taking every interface in it along).
    pub fn remove(&self) {
        if let Some(name) = &self.owned_name {
            if let Err(e) = Netns::delete_named(name) {
                warn!(netns = %name, "could not remove network namespace: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netns_names_that_escape_or_confuse_are_refused() {
        for ok in ["conlink", "lab-1", "a.b_c", "X"] {
            assert!(check_netns_name(ok).is_ok(), "{ok}");
        }
        assert!(check_netns_name(&"n".repeat(64)).is_ok());
        for bad in ["", "..", ".", "../etc", "/run/x", "a/b", "a b", "a:b", "a\0b", "a\u{1b}[31m", "%d", "-x"]
        {
            assert!(check_netns_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_netns_name(&"n".repeat(65)).is_err());
        assert!(check_netns_name("a/b").unwrap_err().contains("'/'"));
    }

    #[test]
    fn non_host_only_when_the_host_namespace_is_known_and_differs() {
        assert!(!is_non_host(7, Some(7), false));
        assert!(
            !is_non_host(7, Some(7), true),
            "the host namespace bind-mounted under /run/netns is still the host's"
        );
        assert!(is_non_host(7, Some(8), false));
        assert!(is_non_host(7, None, true), "unreadable host namespace, but ours is a named one");
        assert!(!is_non_host(7, None, false), "unknown: assume the host");
    }

    #[test]
    fn host_netns_spec_is_a_pid_a_path_or_pid_1() {
        assert_eq!(host_netns_path(None), Path::new("/proc/1/ns/net"));
        assert_eq!(host_netns_path(Some("42")), Path::new("/proc/42/ns/net"));
        assert_eq!(host_netns_path(Some("/run/netns/h")), Path::new("/run/netns/h"));
    }

    #[test]
    fn placement_labels() {
        assert_eq!(Placement::Own { label: "container".into() }.label(), "container");
        assert_eq!(Placement::Named { name: "lab".into() }.label(), "lab");
        let e = Placement::decide(false, "../x", None).unwrap_err().to_string();
        assert!(e.contains("--netns") && e.contains("../x"), "{e}");
    }
}
