//! Errors name the operation and object and say what went wrong in words.

use crate::common::*;

#[tokio::test]
async fn bad_mtu_exists_and_missing_are_distinguishable() {
    if !root_or_skip() {
        return;
    }
    let a = TestNs::new("ea");
    let b = TestNs::new("eb");
    let na = a.nl().await;
    na.create_veth("x0", "x1", &b.ns, None, None).await.unwrap();

    let e = na.set_mtu("x0", 70000).await.unwrap_err();
    assert!(e.is_invalid(), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("set mtu of x0 to 70000") && msg.contains("invalid value"), "{msg}");
    eprintln!("{msg}");

    let e = na.create_veth("x9", "x1", &b.ns, None, Some(70000)).await.unwrap_err();
    assert!(e.is_invalid(), "{e:?}");
    assert!(na.link_by_name("x9").await.unwrap().is_none(), "failed create leaves nothing");

    let e = na.create_veth("x0", "y1", &b.ns, None, None).await.unwrap_err();
    assert!(e.is_exists(), "{e:?}");
    assert!(e.to_string().starts_with("create veth x0: already exists"), "{e}");
    eprintln!("{e}");

    let e = na.set_up("nope0", true).await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert!(e.to_string().contains("nope0"), "{e}");
    let e = na.set_master("x0", Some("nobr")).await.unwrap_err();
    assert!(e.is_not_found() && e.to_string().contains("nobr"), "{e}");
    let e = na.add_address("nope0", "192.0.2.9/24".parse().unwrap()).await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");

    // A non-bridge holding the bridge's name is not silently adopted.
    let e = na.create_bridge("x0").await.unwrap_err();
    assert!(e.is_exists() && e.to_string().contains("not a bridge"), "{e}");

    let e = na.create_veth("this-name-is-too-long", "x2", &b.ns, None, None).await.unwrap_err();
    assert!(e.is_invalid() && e.to_string().contains("this-name-is-too-long"), "{e}");
}
