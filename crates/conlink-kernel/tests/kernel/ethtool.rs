//! ethtool offload settings on a veth in a throwaway namespace.

use crate::common::*;
use conlink_kernel::{apply_ethtool, get_offload, Offload};

#[tokio::test]
async fn offload_tx_off_reads_back_off() {
    if !root_or_skip() {
        return;
    }
    let a = TestNs::new("eta");
    let b = TestNs::new("etb");
    let n = a.nl().await;
    n.create_veth("v0", "eth0", &b.ns, None, None).await.unwrap();
    assert!(get_offload(&a.ns, "v0", Offload::Tx).unwrap(), "veth starts with tx checksumming on");
    apply_ethtool(&a.ns, "v0", "--offload tx off").unwrap();
    assert!(!get_offload(&a.ns, "v0", Offload::Tx).unwrap(), "tx checksumming off");
    apply_ethtool(&a.ns, "v0", "-K tx on sg off").unwrap();
    assert!(get_offload(&a.ns, "v0", Offload::Tx).unwrap());
    assert!(!get_offload(&a.ns, "v0", Offload::Sg).unwrap());
    let e = apply_ethtool(&a.ns, "v0", "-s speed 10").unwrap_err();
    assert!(e.is_invalid() && e.to_string().contains("-s"), "{e}");
    let e = apply_ethtool(&a.ns, "nope0", "-K tx off").unwrap_err();
    assert!(e.is_not_found(), "{e}");
}

#[tokio::test]
async fn offload_through_the_connection_socket() {
    if !root_or_skip() {
        return;
    }
    let a = TestNs::new("etc");
    let b = TestNs::new("etd");
    let n = a.nl().await;
    n.create_veth("v0", "eth0", &b.ns, None, None).await.unwrap();
    // The ioctl runs on the Nl's own socket: it must act in *its* namespace.
    let inner = b.nl().await;
    inner.apply_ethtool("eth0", "--offload tx off").unwrap();
    assert!(!inner.get_offload("eth0", Offload::Tx).unwrap(), "tx off in b");
    assert!(n.get_offload("v0", Offload::Tx).unwrap(), "the peer in a is untouched");
    let e = n.apply_ethtool("eth0", "-K tx off").unwrap_err();
    assert!(e.is_not_found(), "eth0 is not in a: {e}");
    let e = inner.apply_ethtool("eth0", "-s speed 10").unwrap_err();
    assert!(e.is_invalid(), "{e}");
}
