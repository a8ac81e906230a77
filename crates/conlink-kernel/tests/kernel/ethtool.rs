//! ethtool offload settings on a veth in a throwaway namespace.

use crate::common::*;
use conlink_kernel::{apply_ethtool, EthtoolSetting, Offload};

fn setting(s: &str) -> EthtoolSetting {
    EthtoolSetting::parse(s).unwrap()
}

#[tokio::test]
async fn offload_tx_off_reads_back_off() {
    if !root_or_skip() {
        return;
    }
    let a = TestNs::new("eta");
    let b = TestNs::new("etb");
    let n = a.nl().await;
    n.create_veth("v0", "eth0", &b.ns, None, None).await.unwrap();
    assert!(n.get_offload("v0", Offload::Tx).unwrap(), "veth starts with tx checksumming on");
    apply_ethtool(&a.ns, "v0", &setting("--offload tx off")).unwrap();
    assert!(!n.get_offload("v0", Offload::Tx).unwrap(), "tx checksumming off");
    apply_ethtool(&a.ns, "v0", &setting("-K tx on sg off")).unwrap();
    assert!(n.get_offload("v0", Offload::Tx).unwrap());
    assert!(!n.get_offload("v0", Offload::Sg).unwrap());
    // Settings other than offloads never reach the kernel layer: they are not a setting.
    let e = EthtoolSetting::parse("-s speed 10").unwrap_err();
    assert!(e.contains("-s"), "{e}");
    let e = apply_ethtool(&a.ns, "nope0", &setting("-K tx off")).unwrap_err();
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
    inner.apply_ethtool("eth0", &setting("--offload tx off")).unwrap();
    assert!(!inner.get_offload("eth0", Offload::Tx).unwrap(), "tx off in b");
    assert!(n.get_offload("v0", Offload::Tx).unwrap(), "the peer in a is untouched");
    let e = n.apply_ethtool("eth0", &setting("-K tx off")).unwrap_err();
    assert!(e.is_not_found(), "eth0 is not in a: {e}");
    let e = inner.apply_ethtool("bad name", &setting("-K tx off")).unwrap_err();
    assert!(e.is_invalid(), "{e}");
}
