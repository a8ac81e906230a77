//! The command line as a user meets it: exit codes, --show-config, error messages.

mod support;

use std::process::Command;

use support::{conlink_bin, examples};

fn conlink(args: &[&str]) -> std::process::Output {
    Command::new(conlink_bin()).args(args).env_remove("VERBOSE").output().unwrap()
}

#[test]
fn no_config_file_exits_2_with_a_message() {
    let out = conlink(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--network-file or --compose-file"));
}

#[test]
fn show_config_of_test1_lists_bridges_and_services() {
    let file = examples().join("test1-compose.yaml");
    let out = conlink(&["--compose-file", file.to_str().unwrap(), "--show-config"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut bridges: Vec<&String> = v["bridges"].as_object().unwrap().keys().collect();
    bridges.sort();
    assert_eq!(bridges, ["s1", "s2", "s3"]);
    let mut services: Vec<&String> = v["services"].as_object().unwrap().keys().collect();
    services.sort();
    assert_eq!(services, ["h1", "h2", "h3", "r0"]);
    assert_eq!(v["bridges"]["s1"]["mode"], "linux", "auto resolves to linux without the openvswitch module");
    assert_eq!(v["services"]["r0"]["links"].as_array().unwrap().len(), 3);
    assert_eq!(v["services"]["h1"]["links"][0]["ip"], "192.168.1.100/24");
}

#[test]
fn show_config_of_test2_merges_network_file() {
    let file = examples().join("test2-network.yaml");
    let out = conlink(&["--network-file", file.to_str().unwrap(), "--show-config", "--default-mtu", "5111"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["services"]["internet"]["links"].as_array().unwrap().len(), 2);
    assert_eq!(v["services"]["node"]["links"][0]["mtu"], 5111);
}

#[test]
fn bad_config_names_every_bad_field_and_exits_nonzero() {
    let dir = std::env::temp_dir().join(support::unique("badcfg"));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("net.yaml");
    std::fs::write(
        &f,
        "links:\n  - {service: a, bridge: s1, ip: 10.0.0.300/24}\n  - {service: b, bridge: s1, mac: zz:00:00:00:00:00}\n",
    )
    .unwrap();
    let out = conlink(&["--network-file", f.to_str().unwrap(), "--show-config"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("/links/0/ip"), "{err}");
    assert!(err.contains("/links/1/mac"), "{err}");
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn missing_file_is_named() {
    let out = conlink(&["--network-file", "/nonexistent/net.yaml", "--show-config"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/net.yaml"));
}
