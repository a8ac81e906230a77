//! ./conlink-start.sh (the original's flags): the engine command it builds
//! (via --dry-run), its errors, and shellcheck. The real run with docker is
//! crates/conlink/tests/e2e_start_script.rs.

mod common;

use common::*;
use std::path::PathBuf;
use std::process::Command;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conlink-start.sh")
}

/// The script with none of the environment variables it reads for defaults.
fn start(args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new("bash");
    cmd.arg(script()).args(args);
    for var in ["VERBOSE", "DRY_RUN", "MODE", "IMAGE", "HOST_MODE", "CMD", "NETWORK_FILE", "COMPOSE_FILE"] {
        cmd.env_remove(var);
    }
    run(&mut cmd)
}

const ROOT_CAPS: &str = "--cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add SYS_NICE --cap-add NET_BROADCAST \
                         --cap-add IPC_LOCK --cap-add SYS_PTRACE";

#[test]
fn docs_example_with_docker() {
    let tmp = TempDir::new("start-docker");
    let net = write(tmp.path(), "net work.yaml", "links: []\n");
    let out = start(&[
        "--dry-run",
        "-v",
        "--mode",
        "docker",
        "--host-mode",
        "docker",
        "--network-file",
        net.to_str().unwrap(),
        "--",
        "--name",
        "ZZZ_network",
        "--rm",
        "-e",
        "NODE_NAME_1=ZZZ_node_1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let escaped = net.to_str().unwrap().replace(' ', "\\ ");
    let expected = format!(
        "docker run --security-opt apparmor=unconfined -v {escaped}:/root/net\\ work.yaml:ro --network none {ROOT_CAPS} \
         --pid host -v /var/run/docker.sock:/var/run/docker.sock --name ZZZ_network --rm -e NODE_NAME_1=ZZZ_node_1 \
         conlink /bin/conlink -v --network-file /root/net\\ work.yaml \n"
    );
    assert_eq!(stdout(&out), expected);
    // -v: the settings, on stderr.
    assert!(stderr(&out).contains("adding connectivity to outer docker"), "{}", stderr(&out));
}

#[test]
fn podman_is_the_default_mode_and_host_mode_podman_starts_a_service() {
    let tmp = TempDir::new("start-podman");
    let compose = write(tmp.path(), "compose.yaml", "services: {}\n");
    let out = start(&[
        "--dry-run",
        "--host-mode",
        "podman",
        "--image",
        "my/conlink:1",
        "--compose-file",
        compose.to_str().unwrap(),
        "--compose-project",
        "p1",
        "--default-mtu",
        "1400",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    // The outer podman's API on a socket of its own, mounted where conlink looks.
    let sock = lines[0]
        .strip_prefix("podman system service --time=0 unix://")
        .and_then(|l| l.strip_suffix(" &"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(sock.contains("/podman.sock."), "{sock}");
    assert!(lines[1].starts_with("podman run --security-opt apparmor=unconfined "), "{text}");
    assert!(lines[1].contains(&format!("--pid host -v {sock}:/var/run/podman/podman.sock ")), "{text}");
    assert!(
        lines[1].ends_with(
            " my/conlink:1 /bin/conlink --compose-project p1 --default-mtu 1400 --compose-file /root/compose.yaml "
        ),
        "{text}"
    );
}

#[test]
fn host_mode_none_and_both_config_files() {
    let tmp = TempDir::new("start-none");
    let net = write(tmp.path(), "n.yaml", "links: []\n");
    let compose = write(tmp.path(), "c.yaml", "services: {}\n");
    let out = run(Command::new("bash")
        .arg(script())
        .args([
            "--dry-run",
            "--network-file",
            net.to_str().unwrap(),
            "--compose-file",
            compose.to_str().unwrap(),
        ])
        .env("MODE", "docker")
        .env("IMAGE", "img")
        .env_remove("HOST_MODE"));
    assert!(out.status.success(), "{}", stderr(&out));
    let cmd = stdout(&out);
    assert!(
        !cmd.contains("--pid host") && !cmd.contains(".sock"),
        "no engine access without --host-mode: {cmd}"
    );
    assert!(cmd.contains(" --network none "), "{cmd}");
    assert!(
        cmd.ends_with(" img /bin/conlink --network-file /root/n.yaml --compose-file /root/c.yaml \n"),
        "{cmd}"
    );
    // A network after -- replaces it.
    let out = start(&[
        "--dry-run",
        "--mode",
        "docker",
        "--network-file",
        net.to_str().unwrap(),
        "--",
        "--network=bridge",
    ]);
    let cmd = stdout(&out);
    assert!(!cmd.contains("--network none") && cmd.contains(" --network=bridge "), "{cmd}");
}

#[test]
fn errors_are_clear() {
    let out = start(&["--dry-run", "--mode", "docker"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("one or both required: --network-file or --compose-file"),
        "{}",
        stderr(&out)
    );
    let out = start(&["--dry-run", "--network-file", "/nonexistent/net.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("file not found: '/nonexistent/net.yaml'"), "{}", stderr(&out));
    let out = start(&["--dry-run", "--mode", "lxc", "--network-file", "/dev/null"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unknown mode 'lxc'"), "{}", stderr(&out));
    let out = start(&["--dry-run", "--host-mode", "kube", "--network-file", "/dev/null"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unknown host mode 'kube'"), "{}", stderr(&out));
    let out = start(&["--image"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--image needs a value"), "{}", stderr(&out));
}

#[test]
fn help_lists_the_flags() {
    let out = start(&["--help"]);
    assert!(out.status.success());
    for flag in ["--mode", "--host-mode", "--image", "--dry-run", "--network-file", "--compose-file", "-v"] {
        assert!(stdout(&out).contains(flag), "{flag} missing from --help");
    }
}

#[test]
fn shellcheck_clean() {
    let Ok(out) = Command::new("shellcheck").arg(script()).output() else {
        eprintln!("skipped: shellcheck_clean: shellcheck is not installed (apt-get install -y shellcheck)");
        return;
    };
    assert!(out.status.success(), "{}", stdout(&out));
}
