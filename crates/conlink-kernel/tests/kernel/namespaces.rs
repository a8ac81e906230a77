//! Namespace handles and per-namespace sysctls.

use std::path::Path;

use crate::common::*;
use conlink_kernel::{sysctl_get_in, sysctl_in, Netns, Nl};

#[tokio::test]
async fn named_namespace_lifecycle_and_identity() {
    if !root_or_skip() {
        return;
    }
    let t = TestNs::new("id");
    let path = Path::new("/run/netns").join(&t.name);
    assert!(path.exists());
    let again = Netns::from_name(&t.name).unwrap();
    assert_eq!(again.inode(), t.ns.inode());
    assert_ne!(Netns::current().unwrap().inode(), t.ns.inode());
    assert_eq!(Netns::from_pid(std::process::id()).unwrap(), Netns::current().unwrap());
    let e = Netns::create_named(&t.name).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    assert!(Netns::create_named("../etc").is_err());

    // A fresh namespace has only a loopback.
    let nl = Nl::connect(&t.ns).await.unwrap();
    assert_eq!(nl.netns_inode(), t.ns.inode());
    assert_eq!(link_names(&nl).await, vec!["lo".to_string()]);

    let anon = Netns::create_anonymous().unwrap();
    assert_ne!(anon.inode(), t.ns.inode());

    let name = t.name.clone();
    drop(t);
    assert!(!path.exists(), "delete_named removes /run/netns/{name}");
    assert!(Netns::delete_named(&name).is_err());
}

#[tokio::test]
async fn sysctl_is_per_namespace() {
    if !root_or_skip() {
        return;
    }
    let a = TestNs::new("sa");
    let b = TestNs::new("sb");
    // New namespaces may inherit IPv4 settings from the initial one, so
    // flip a's value relative to b's and check b kept its own.
    let b_before = sysctl_get_in(&b.ns, "net.ipv4.ip_forward").unwrap();
    let flipped = if b_before == "1" { "0" } else { "1" };
    sysctl_in(&a.ns, "net.ipv4.ip_forward", flipped).unwrap();
    assert_eq!(sysctl_get_in(&a.ns, "net.ipv4.ip_forward").unwrap(), flipped);
    assert_eq!(sysctl_get_in(&b.ns, "net.ipv4.ip_forward").unwrap(), b_before);
    sysctl_in(&a.ns, "net/ipv6/conf/all/forwarding", "1").unwrap();
    assert_eq!(sysctl_get_in(&a.ns, "net.ipv6.conf.all.forwarding").unwrap(), "1");
    assert!(sysctl_in(&a.ns, "net.ipv4.no_such_key", "1").is_err());
}
