//! `mdc`: dependency order, env file, COMPOSE_* values, .files overlay,
//! safety refusal, and the compose command it runs (a stub records it).

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// Modes: base; a, b (both need base); top (needs a and b): a diamond.
fn diamond(dir: &Path) {
    write(dir, "modes/base/compose.yaml", "services: {r0: {image: alpine}}\n");
    write(dir, "modes/base/env", "FOO=base\nONLY_BASE=1");
    write(dir, "modes/base/svc1/files/etc/conf1", "from base\n");
    write(dir, "modes/base/svc2/files/etc/conf2", "base conf2\n");
    write(dir, "modes/a/deps", "base\n");
    write(dir, "modes/a/docker-compose.yml", "services: {}\n");
    write(dir, "modes/a/.env", "FOO=a\n");
    write(dir, "modes/b/deps", "# b needs base\nbase\n");
    write(dir, "modes/top/deps", "a b\n");
    write(dir, "modes/top/compose.yml", "services: {}\n");
    write(dir, "modes/top/env", "FOO=top\n");
    write(dir, "modes/top/svc1/files/etc/conf1", "from top\n");
    write(dir, "modes/top/svc1/files/.hidden", "dot\n");
}

fn mdc(dir: &Path) -> Command {
    let mut cmd = tool("mdc");
    cmd.current_dir(dir);
    for var in ["MODES_DIR", "ENV_FILE", "MDC_FILES_DIR", "DOCKER_COMPOSE", "VERBOSE"] {
        cmd.env_remove(var);
    }
    cmd
}

/// Value of the last assignment of `name` (how compose reads an env file).
fn env_value(env: &str, name: &str) -> Option<String> {
    env.lines().rev().find_map(|l| l.strip_prefix(&format!("{name}=")).map(String::from))
}

#[test]
fn diamond_resolves_each_mode_once_dependencies_first() {
    let tmp = TempDir::new("mdc-diamond");
    diamond(tmp.path());
    let out = run(mdc(tmp.path()).arg("top"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("MODES: base a b top"), "{}", stderr(&out));
    let env = fs::read_to_string(tmp.join(".env")).unwrap();
    assert_eq!(
        env_value(&env, "COMPOSE_FILE").unwrap(),
        "./.compose-empty.yaml:./modes/base/compose.yaml:./modes/a/docker-compose.yml:./modes/top/compose.yml"
    );
    assert_eq!(env_value(&env, "COMPOSE_PROFILES").unwrap(), "MODE_base,MODE_a,MODE_b,MODE_top");
    assert_eq!(env_value(&env, "MDC_MODE_DIRS").unwrap(), "\"./modes/base,./modes/a,./modes/b,./modes/top\"");
    let canon = fs::canonicalize(tmp.path()).unwrap();
    assert_eq!(env_value(&env, "COMPOSE_DIR").unwrap(), canon.to_string_lossy());
    for m in ["base", "a", "b", "top"] {
        assert_eq!(env_value(&env, &format!("MDC_MODE_{m}")).as_deref(), Some("enabled"));
    }
    assert_eq!(fs::read_to_string(tmp.join(".compose-empty.yaml")).unwrap(), "services: {}\n");
    assert!(!tmp.join(".env-mdc-tmp").exists());
}

#[test]
fn env_files_concatenated_in_order_later_wins() {
    let tmp = TempDir::new("mdc-env");
    diamond(tmp.path());
    let out = run(mdc(tmp.path()).arg("top"));
    assert!(out.status.success(), "{}", stderr(&out));
    let env = fs::read_to_string(tmp.join(".env")).unwrap();
    assert_eq!(env_value(&env, "FOO").unwrap(), "top");
    assert_eq!(env_value(&env, "ONLY_BASE").unwrap(), "1", "file without final newline kept intact");
    let foos: Vec<&str> = env.lines().filter(|l| l.starts_with("FOO=")).collect();
    assert_eq!(foos, ["FOO=base", "FOO=a", "FOO=top"]);
    assert!(
        env.contains("### mdc begin mode a (./modes/a/.env)\nFOO=a\n### mdc end mode a (./modes/a/.env)\n")
    );
    // Requested order is kept for independent modes.
    let out = run(mdc(tmp.path()).arg("b,a"));
    assert!(out.status.success());
    assert!(stderr(&out).contains("MODES: base b a"));
}

#[test]
fn files_tree_rebuilt_later_modes_override() {
    let tmp = TempDir::new("mdc-files");
    diamond(tmp.path());
    write(tmp.path(), ".files/stale/old", "stale\n");
    let out = run(mdc(tmp.path()).arg("top"));
    assert!(out.status.success(), "{}", stderr(&out));
    let files = tmp.join(".files");
    assert_eq!(fs::read_to_string(files.join("svc1/etc/conf1")).unwrap(), "from top\n");
    assert_eq!(fs::read_to_string(files.join("svc2/etc/conf2")).unwrap(), "base conf2\n");
    assert_eq!(fs::read_to_string(files.join("svc1/.hidden")).unwrap(), "dot\n");
    assert!(!files.join("stale").exists(), ".files must be rebuilt from scratch");
    // Only base: conf1 comes from base.
    let out = run(mdc(tmp.path()).arg("base"));
    assert!(out.status.success());
    assert_eq!(fs::read_to_string(files.join("svc1/etc/conf1")).unwrap(), "from base\n");
}

#[test]
fn cycle_is_an_error_with_its_path() {
    let tmp = TempDir::new("mdc-cycle");
    write(tmp.path(), "modes/x/deps", "y");
    write(tmp.path(), "modes/y/deps", "z");
    write(tmp.path(), "modes/z/deps", "x");
    let out = run(mdc(tmp.path()).arg("x"));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("dependency cycle: x -> y -> z -> x"), "{}", stderr(&out));
    assert!(!tmp.join(".env").exists());
}

#[test]
fn unknown_mode_is_an_error() {
    let tmp = TempDir::new("mdc-missing");
    write(tmp.path(), "modes/a/deps", "ghost");
    let out = run(mdc(tmp.path()).arg("a"));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("mode 'ghost' not found"), "{}", stderr(&out));
    assert!(stderr(&out).contains("required by mode 'a'"));
}

#[test]
fn refuses_to_wipe_current_dir() {
    let tmp = TempDir::new("mdc-refuse");
    diamond(tmp.path());
    for bad in [".", "./", "/", ".."] {
        let out = run(mdc(tmp.path()).env("MDC_FILES_DIR", bad).arg("base"));
        assert_eq!(out.status.code(), Some(1), "{bad}");
        assert!(stderr(&out).contains("refusing to wipe"), "{}", stderr(&out));
    }
    let abs = fs::canonicalize(tmp.path()).unwrap();
    let out = run(mdc(tmp.path()).env("MDC_FILES_DIR", &abs).arg("base"));
    assert_eq!(out.status.code(), Some(1));
    assert!(tmp.join("modes/base/env").exists(), "nothing may be deleted");
}

#[test]
fn settings_from_environment() {
    let tmp = TempDir::new("mdc-settings");
    write(tmp.path(), "my-modes/my-web/compose.yaml", "services: {}\n");
    write(tmp.path(), "my-modes/my-web/web/files/index.html", "hi\n");
    fs::create_dir_all(tmp.join("out")).unwrap();
    let out = run(mdc(tmp.path())
        .env("MODES_DIR", "my-modes/")
        .env("ENV_FILE", "out/my.env")
        .env("MDC_FILES_DIR", "out/files")
        .env("VERBOSE", "1")
        .arg("my-web"));
    assert!(out.status.success(), "{}", stderr(&out));
    let env = fs::read_to_string(tmp.join("out/my.env")).unwrap();
    assert_eq!(env_value(&env, "MDC_MODE_my_web").as_deref(), Some("enabled"));
    assert_eq!(
        env_value(&env, "COMPOSE_FILE").unwrap(),
        "./.compose-empty.yaml:my-modes/my-web/compose.yaml"
    );
    let canon = fs::canonicalize(tmp.join("out")).unwrap();
    assert_eq!(env_value(&env, "COMPOSE_DIR").unwrap(), canon.to_string_lossy());
    assert_eq!(fs::read_to_string(tmp.join("out/files/web/index.html")).unwrap(), "hi\n");
    assert!(stderr(&out).contains("COMPOSE_PROFILES: MODE_my-web"), "VERBOSE output: {}", stderr(&out));
}

#[test]
fn runs_compose_with_env_file_and_args() {
    let tmp = TempDir::new("mdc-compose");
    diamond(tmp.path());
    let stub =
        write(tmp.path(), "stub-compose", "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$STUB_OUT\"\nexit 3\n");
    fs::set_permissions(&stub, fs::Permissions::from_mode(0o755)).unwrap();
    let record = tmp.join("args");
    let out = run(mdc(tmp.path())
        .env("DOCKER_COMPOSE", format!("{} compose", stub.display()))
        .env("STUB_OUT", &record)
        .args(["top", "up", "-d", "--scale", "node=2", "a b"]));
    assert_eq!(out.status.code(), Some(3), "compose's exit status is mdc's: {}", stderr(&out));
    let args = fs::read_to_string(&record).unwrap();
    assert_eq!(args, "compose\n--env-file\n.env\nup\n-d\n--scale\nnode=2\na b\n");
    // Without compose args nothing is run.
    fs::remove_file(&record).unwrap();
    let out = run(mdc(tmp.path()).env("DOCKER_COMPOSE", &stub).env("STUB_OUT", &record).arg("top"));
    assert!(out.status.success());
    assert!(!record.exists());
}

#[test]
fn usage_without_modes() {
    let tmp = TempDir::new("mdc-usage");
    let out = run(&mut mdc(tmp.path()));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Usage: mdc"));
}
