//! Where conlink keeps its runtime state (control sockets, instance locks, named
//! network namespaces, private Open vSwitch directories), and whether it runs rootless.
//!
//! One rule for all of them: root of the host (euid 0 in the initial user namespace)
//! uses `/run/conlink`; anyone else — an ordinary user, or root of a user namespace
//! such as rootless Podman's (inside its containers or under `podman unshare`) — uses
//! `$XDG_RUNTIME_DIR/conlink`, where that user may write and where rootless Podman
//! keeps its own state. Root of a user namespace without `$XDG_RUNTIME_DIR` (a
//! rootless container started without it) has a private, writable `/run` of its own.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// Who conlink runs as, as far as the runtime directory is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub euid: u32,
    /// The process is in the host's (initial) user namespace.
    pub initial_userns: bool,
}

impl Identity {
    /// This process.
    pub fn current() -> Identity {
        let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
        // SAFETY: geteuid cannot fail.
        Identity { euid: unsafe { libc::geteuid() }, initial_userns: is_initial_uid_map(&map) }
    }

    /// Anything but root of the host: capabilities reach only namespaces owned by
    /// conlink's own user namespace (the host's network namespace is not one of them).
    pub fn rootless(self) -> bool {
        !(self.euid == 0 && self.initial_userns)
    }
}

/// The initial user namespace maps every uid onto itself: `0 0 4294967295`.
pub fn is_initial_uid_map(map: &str) -> bool {
    let lines: Vec<Vec<&str>> = map.lines().map(|l| l.split_whitespace().collect()).collect();
    lines.len() == 1 && lines[0] == ["0", "0", "4294967295"]
}

/// The runtime directory for `who`, given the value of `$XDG_RUNTIME_DIR`.
pub fn runtime_dir_for(who: Identity, xdg_runtime_dir: Option<&OsStr>) -> PathBuf {
    if !who.rootless() {
        return PathBuf::from("/run/conlink");
    }
    // Only an absolute path: a relative one would depend on the working directory.
    if let Some(dir) = xdg_runtime_dir.map(Path::new).filter(|d| d.is_absolute()) {
        return dir.join("conlink");
    }
    if who.euid == 0 {
        return PathBuf::from("/run/conlink");
    }
    PathBuf::from(format!("/tmp/conlink-{}", who.euid))
}

/// conlink's runtime directory (see the module documentation).
pub fn runtime_dir() -> PathBuf {
    runtime_dir_for(Identity::current(), std::env::var_os("XDG_RUNTIME_DIR").as_deref())
}

/// Named network namespaces: iproute2's `/run/netns` as root of the host (so
/// `ip netns exec` sees them), else `RUNTIME_DIR/netns`.
pub fn netns_dir_for(who: Identity, xdg_runtime_dir: Option<&OsStr>) -> PathBuf {
    if !who.rootless() {
        return PathBuf::from(conlink_kernel::NETNS_RUN_DIR);
    }
    runtime_dir_for(who, xdg_runtime_dir).join("netns")
}

/// Where this process keeps named network namespaces.
pub fn netns_dir() -> PathBuf {
    netns_dir_for(Identity::current(), std::env::var_os("XDG_RUNTIME_DIR").as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST_ROOT: Identity = Identity { euid: 0, initial_userns: true };
    const USERNS_ROOT: Identity = Identity { euid: 0, initial_userns: false };
    const USER: Identity = Identity { euid: 1001, initial_userns: true };
    const USERNS_USER: Identity = Identity { euid: 1001, initial_userns: false };

    fn dir(who: Identity, xdg: Option<&str>) -> PathBuf {
        runtime_dir_for(who, xdg.map(OsStr::new))
    }

    #[test]
    fn root_of_the_host_uses_run_conlink_whatever_the_environment_says() {
        assert_eq!(dir(HOST_ROOT, None), Path::new("/run/conlink"));
        // sudo -E keeps the invoking user's XDG_RUNTIME_DIR: still /run.
        assert_eq!(dir(HOST_ROOT, Some("/run/user/1000")), Path::new("/run/conlink"));
        assert_eq!(netns_dir_for(HOST_ROOT, Some(OsStr::new("/run/user/1000"))), Path::new("/run/netns"));
    }

    #[test]
    fn everyone_else_uses_xdg_runtime_dir() {
        for who in [USERNS_ROOT, USER, USERNS_USER] {
            assert_eq!(dir(who, Some("/run/user/1001")), Path::new("/run/user/1001/conlink"), "{who:?}");
            assert_eq!(
                netns_dir_for(who, Some(OsStr::new("/run/user/1001"))),
                Path::new("/run/user/1001/conlink/netns"),
                "{who:?}"
            );
        }
    }

    #[test]
    fn without_a_usable_xdg_runtime_dir() {
        for xdg in [None, Some(""), Some("relative/dir")] {
            // Root of a user namespace (a rootless container): its own private /run.
            assert_eq!(dir(USERNS_ROOT, xdg), Path::new("/run/conlink"), "{xdg:?}");
            // A plain user cannot write /run: a directory of its own in /tmp.
            assert_eq!(dir(USER, xdg), Path::new("/tmp/conlink-1001"), "{xdg:?}");
            assert_eq!(dir(USERNS_USER, xdg), Path::new("/tmp/conlink-1001"), "{xdg:?}");
        }
    }

    #[test]
    fn rootless_means_anything_but_root_of_the_host() {
        assert!(!HOST_ROOT.rootless());
        assert!(USERNS_ROOT.rootless());
        assert!(USER.rootless());
        assert!(USERNS_USER.rootless());
    }

    #[test]
    fn only_the_identity_map_is_the_initial_user_namespace() {
        assert!(is_initial_uid_map("         0          0 4294967295\n"));
        // Rootless podman: root is the user, the rest its subuid range.
        assert!(!is_initial_uid_map("         0       1001          1\n         1    1100000      65536\n"));
        assert!(!is_initial_uid_map("0 0 65536\n"));
        assert!(!is_initial_uid_map("0 1000 4294967295\n"));
        // Unreadable /proc: assume a user namespace (the safe side: no /run).
        assert!(!is_initial_uid_map(""));
    }
}
