//! scripts/conlink-start.sh: the engine command it builds (via --dry-run),
//! its errors, and shellcheck.

mod common;

use common::*;
use std::path::PathBuf;
use std::process::Command;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/conlink-start.sh")
}

fn start(args: &[&str]) -> std::process::Output {
    run(Command::new("bash")
        .arg(script())
        .args(args)
        .env_remove("CONLINK_ENGINE")
        .env_remove("CONLINK_IMAGE")
        .env_remove("NETWORK_FILE"))
}

#[test]
fn docker_command_has_caps_socket_and_network_file() {
    let tmp = TempDir::new("start-docker");
    let net = write(tmp.path(), "net work.yaml", "links: []\n");
    let out = start(&[
        "--dry-run",
        "--docker",
        "--image",
        "my/conlink:1",
        "--network-file",
        net.to_str().unwrap(),
        "-v",
        "--",
        "--name",
        "cl",
        "-d",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let cmd = stdout(&out);
    let escaped = net.to_str().unwrap().replace(' ', "\\ ");
    let expected = format!(
        "docker run --pid host --network none --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add SYS_NICE \
         --cap-add NET_BROADCAST --cap-add SYS_PTRACE -v /var/run/docker.sock:/var/run/docker.sock \
         -v {escaped}:/root/net\\ work.yaml:ro --name cl -d my/conlink:1 /bin/conlink --network-file /root/net\\ work.yaml -v \n"
    );
    assert_eq!(cmd, expected);
}

#[test]
fn podman_uses_its_socket_and_env_settings() {
    let tmp = TempDir::new("start-podman");
    let net = write(tmp.path(), "net.yaml", "links: []\n");
    let out = run(Command::new("bash")
        .arg(script())
        .arg("--dry-run")
        .env("CONLINK_ENGINE", "podman")
        .env("NETWORK_FILE", &net)
        .env_remove("CONLINK_IMAGE"));
    assert!(out.status.success(), "{}", stderr(&out));
    let cmd = stdout(&out);
    assert!(cmd.starts_with("podman run "), "{cmd}");
    assert!(cmd.contains("-v /var/run/podman/podman.sock:/var/run/podman/podman.sock "), "{cmd}");
    assert!(cmd.contains(" conlink /bin/conlink --network-file /root/net.yaml"), "{cmd}");
}

#[test]
fn errors_are_clear() {
    let out = start(&["--dry-run", "--docker"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--network-file is required"));
    let out = start(&["--dry-run", "--docker", "--network-file", "/nonexistent/net.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("network file not found"));
    let out = start(&["--dry-run", "--engine", "lxc", "--network-file", "/dev/null"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unknown engine 'lxc'"));
}

#[test]
fn shellcheck_clean() {
    let Ok(out) = Command::new("shellcheck").arg(script()).output() else {
        eprintln!("SKIP: shellcheck is not installed (apt-get install -y shellcheck)");
        return;
    };
    assert!(out.status.success(), "{}", stdout(&out));
}
