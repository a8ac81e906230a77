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
    n.create_veth("v0", "eth0", &b.ns, None, None)
        .await
        .unwrap();
    assert!(
        get_offload(&a.ns, "v0", Offload::Tx).unwrap(),
        "veth starts with tx checksumming on"
    );
    apply_ethtool(&a.ns, "v0", "--offload tx off").unwrap();
    assert!(
        !get_offload(&a.ns, "v0", Offload::Tx).unwrap(),
        "tx checksumming off"
    );
    apply_ethtool(&a.ns, "v0", "-K tx on sg off").unwrap();
    assert!(get_offload(&a.ns, "v0", Offload::Tx).unwrap());
    assert!(!get_offload(&a.ns, "v0", Offload::Sg).unwrap());
    let e = apply_ethtool(&a.ns, "v0", "-s speed 10").unwrap_err();
    assert!(e.is_invalid() && e.to_string().contains("-s"), "{e}");
    let e = apply_ethtool(&a.ns, "nope0", "-K tx off").unwrap_err();
    assert!(e.is_not_found(), "{e}");
}
