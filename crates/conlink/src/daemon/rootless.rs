//! What conlink cannot do rootless (as an ordinary user, or as root of a user namespace
//! such as rootless Podman's), said before anything is built and naming the link.
//!
//! Its capabilities reach only namespaces owned by its own user namespace (or one below
//! it): its own network namespace and the rootless containers'. The host's network
//! namespace belongs to the host's user namespace, so *vlan/*vtap links on host
//! interfaces cannot be created, and the openvswitch kernel module (loaded and managed
//! by the host's root) is not conlink's to use.

use std::io;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::path::Path;

use conlink_config::Link;
use conlink_kernel::Netns;

/// Why a rootless conlink cannot create link `index` (a *vlan/*vtap link on a host
/// interface) given how opening the host namespace at `path` went; None when it can
/// (the namespace named with --host-netns belongs to conlink's user namespace).
pub fn host_parent_refusal(
    index: usize,
    link: &Link,
    path: &Path,
    opened: &io::Result<Netns>,
) -> Option<String> {
    let reason = match opened {
        Err(e) => format!("cannot open the host network namespace {} ({e})", path.display()),
        Ok(ns) => match owned_by_our_user_namespace(ns) {
            Ok(true) => return None,
            Ok(false) | Err(_) => format!(
                "the host network namespace {} belongs to the host's user namespace, where rootless conlink has no CAP_NET_ADMIN",
                path.display()
            ),
        },
    };
    Some(message(index, link, &reason))
}

fn message(index: usize, link: &Link, reason: &str) -> String {
    let parent = link.outer_dev.as_deref().unwrap_or("(none)");
    format!(
        "link /links/{index} ({} on host interface {parent}) cannot work rootless: {reason}. \
         {} links on host interfaces need root on the host: run conlink as root (rootful podman or docker), \
         or use a veth link, or name a namespace of the rootless user's with --host-netns",
        link.link_type, link.link_type
    )
}

/// Whether `ns` is owned by a user namespace conlink has capabilities in. NS_GET_USERNS
/// refuses (EPERM) for an owner outside conlink's user namespace, i.e. an ancestor.
fn owned_by_our_user_namespace(ns: &Netns) -> io::Result<bool> {
    // SAFETY: an ioctl on an fd we own; on success it returns a new fd we then own.
    let fd = unsafe { libc::ioctl(ns.as_fd().as_raw_fd(), libc::NS_GET_USERNS) };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return if e.raw_os_error() == Some(libc::EPERM) { Ok(false) } else { Err(e) };
    }
    // SAFETY: fd was just returned by the kernel and is owned by nobody else.
    let _owner = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok(true)
}

/// Rootless, `ovs` bridges use OVS's userspace datapath even where the kernel has the
/// openvswitch module: that datapath is the host root's. The log line names the bridge.
pub fn ovs_kernel_datapath_note(bridge: &str) -> String {
    format!(
        "bridge {bridge} (mode ovs): rootless conlink cannot use the openvswitch kernel datapath \
         (it belongs to the host's root); using OVS's userspace datapath (datapath_type=netdev)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use conlink_config::{load_from_sources, LoadOptions, Source, SourceKind};

    /// A macvlan link on host interface eth0, through the real config pipeline.
    fn macvlan() -> Link {
        let yaml = "links:\n  - {type: macvlan, container: n1, dev: eth1, outer-dev: eth0, mode: bridge}\n";
        let src = Source { origin: "net.yaml".into(), kind: SourceKind::Network, text: yaml.into() };
        let cfg = load_from_sources(&[src], &LoadOptions::default()).expect("a valid config");
        cfg.links[0].clone()
    }

    #[test]
    fn an_unopenable_host_namespace_names_the_link_the_parent_and_the_cause() {
        let err = io::Error::from_raw_os_error(libc::EACCES);
        let msg = host_parent_refusal(3, &macvlan(), Path::new("/proc/1/ns/net"), &Err(err)).unwrap();
        assert!(
            msg.starts_with("link /links/3 (macvlan on host interface eth0) cannot work rootless"),
            "{msg}"
        );
        assert!(msg.contains("/proc/1/ns/net"), "{msg}");
        assert!(msg.contains("Permission denied"), "{msg}");
        assert!(msg.contains("run conlink as root"), "{msg}");
    }

    #[test]
    fn a_namespace_of_our_own_user_namespace_is_allowed() {
        // This test's own namespace is owned by its own user namespace.
        let ns = Netns::current();
        assert!(host_parent_refusal(0, &macvlan(), Path::new("/proc/self/ns/net"), &ns).is_none());
    }

    #[test]
    fn the_ovs_note_names_the_bridge_and_the_fallback() {
        let note = ovs_kernel_datapath_note("s1");
        assert!(note.starts_with("bridge s1 (mode ovs): rootless"), "{note}");
        assert!(note.contains("userspace datapath"), "{note}");
    }
}
