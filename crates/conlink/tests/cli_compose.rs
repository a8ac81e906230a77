//! Compose conventions through the binary: `--compose-file -`, the `.env`,
//! include/extends/override, `docker compose config` piped in.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::{conlink_bin, examples, unique};

fn conlink_with_stdin(args: &[&str], stdin: &[u8], dir: &Path) -> Output {
    let mut child = Command::new(conlink_bin())
        .args(args)
        .current_dir(dir)
        .env_remove("VERBOSE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A refused input may close stdin early; that is not this test's failure.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn temp_dir(files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(unique("d15b-cc"));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn stdin_is_a_compose_file() {
    let text = std::fs::read(examples().join("test1-compose.yaml")).unwrap();
    let dir = temp_dir(&[]);
    let v = json(&conlink_with_stdin(&["--compose-file", "-", "--show-config"], &text, &dir));
    assert_eq!(v["services"]["h1"]["links"][0]["ip"], "192.168.1.100/24");
    assert_eq!(v["services"]["r0"]["links"].as_array().unwrap().len(), 3);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn stdin_errors_say_stdin_and_big_input_is_refused() {
    let dir = temp_dir(&[]);
    let out = conlink_with_stdin(
        &["--compose-file", "-", "--show-config"],
        b"services:\n  h1:\n    x-network: {links: [{bridge: s1, mtu: 5}]}\n",
        &dir,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("<stdin>: services.h1 x-network links[0].mtu"), "{err}");
    let big = vec![b'#'; 5 << 20];
    let out = conlink_with_stdin(&["--compose-file", "-", "--show-config"], &big, &dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("<stdin>: input is larger than the 4 MiB limit"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn dot_env_include_extends_and_override_from_files() {
    let dir = temp_dir(&[
        (
            "compose.yaml",
            "include: [parts/more.yaml]\nservices:\n  h1:\n    extends: {file: base.yaml, service: host}\n    \
             x-network: {links: [{bridge: s1, ip: \"${H1_IP}\"}]}\n",
        ),
        ("base.yaml", "services:\n  host:\n    x-network: {links: [{bridge: s0, dev: eth9, ip: 198.51.100.1/24}]}\n"),
        ("compose.override.yaml", "services:\n  h1:\n    x-network: {links: [{bridge: s2, dev: eth2}]}\n"),
        (".env", "# lab addresses\nexport H1_IP='192.0.2.1/24'\nH2_IP=\"192.0.2.2/24\" # h2\n"),
        ("parts/more.yaml", "services:\n  h2:\n    x-network: {links: [{bridge: s1, ip: \"${H2_IP:-${PART_IP}}\"}]}\n"),
        ("parts/.env", "PART_IP=203.0.113.2/24\n"),
    ]);
    let compose = dir.join("compose.yaml");
    let run = |env: &[(&str, &str)]| {
        let out = Command::new(conlink_bin())
            .args(["--compose-file", compose.to_str().unwrap(), "--show-config"])
            .env_remove("H1_IP")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        json(&out)
    };
    let v = run(&[]);
    let h1: Vec<(String, String)> = v["services"]["h1"]["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["dev"].as_str().unwrap().to_string(), l["ip"].as_str().unwrap_or("-").to_string()))
        .collect();
    assert_eq!(
        h1,
        [
            ("eth9".to_string(), "198.51.100.1/24".to_string()),
            ("eth0".to_string(), "192.0.2.1/24".to_string()),
            ("eth2".to_string(), "-".to_string())
        ],
        "extends base first, then the service, then the override file"
    );
    assert_eq!(v["services"]["h2"]["links"][0]["ip"], "192.0.2.2/24", "the main .env reaches included files");
    let v = run(&[("H1_IP", "192.0.2.11/24")]);
    assert_eq!(v["services"]["h1"]["links"][1]["ip"], "192.0.2.11/24", "the process environment wins");
    let _ = std::fs::remove_dir_all(dir);
}

/// `docker compose config | conlink --compose-file - --show-config`, with the real compose.
#[test]
fn docker_compose_config_piped_in() {
    let compose_ok = Command::new("docker")
        .args(["compose", "version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !compose_ok {
        support::say("skipped docker_compose_config_piped_in: the docker compose plugin is missing");
        return;
    }
    let dir = temp_dir(&[
        (
            "compose.yaml",
            "services:\n  h1:\n    image: alpine\n    x-network: {links: [{bridge: s1, ip: \"${H1_IP}\"}]}\n  \
             dbg:\n    image: alpine\n    profiles: [debug]\n    x-network: {links: [{bridge: s1, ip: 192.0.2.9/24}]}\n",
        ),
        (".env", "H1_IP=192.0.2.1/24\n"),
    ]);
    let config = Command::new("docker")
        .args(["compose", "config"])
        .current_dir(&dir)
        .env_remove("H1_IP")
        .output()
        .unwrap();
    assert!(config.status.success(), "{}", String::from_utf8_lossy(&config.stderr));
    let v = json(&conlink_with_stdin(&["--compose-file", "-", "--show-config"], &config.stdout, &dir));
    assert_eq!(v["services"]["h1"]["links"][0]["ip"], "192.0.2.1/24");
    assert!(v["services"].get("dbg").is_none(), "compose config leaves inactive services out");
    let _ = std::fs::remove_dir_all(dir);
}
