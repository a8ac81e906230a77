//! Every tool answers `--help` and `--version` the way a user expects: exit 0,
//! a usage line, the version (with the git commit when built from git).

mod common;

use common::*;
use std::process::Command;

fn check_help_and_version(cmd: impl Fn() -> Command, name: &str) {
    for flag in ["--help", "-h"] {
        let out = run(cmd().arg(flag));
        assert_eq!(out.status.code(), Some(0), "{name} {flag}: {}", stderr(&out));
        assert!(stdout(&out).starts_with("Usage: "), "{name} {flag}: {}", stdout(&out));
    }
    for flag in ["--version", "-V"] {
        let out = run(cmd().arg(flag));
        assert_eq!(out.status.code(), Some(0), "{name} {flag}");
        let v = stdout(&out);
        assert!(v.starts_with(&format!("{name} {}", env!("CARGO_PKG_VERSION"))), "{name} {flag}: {v}");
    }
}

#[test]
fn every_tool_answers_help_and_version() {
    check_help_and_version(|| Command::new(BIN), "conlink-tools");
    for t in ["wait", "copy", "mdc", "net2dot"] {
        check_help_and_version(|| tool(t), t);
        let out = run(tool(t).arg("--help"));
        assert!(stdout(&out).starts_with(&format!("Usage: {t} ")), "{}", stdout(&out));
    }
}

#[test]
fn called_under_a_tool_name_it_answers_for_that_tool() {
    let dir = TempDir::new("cli");
    let link = dir.join("wait");
    std::os::unix::fs::symlink(BIN, &link).unwrap();
    let out = run(Command::new(&link).arg("--help"));
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("Usage: wait "), "{}", stdout(&out));
    let out = run(Command::new(&link).arg("--version"));
    assert!(stdout(&out).starts_with("wait "), "{}", stdout(&out));
}

#[test]
fn version_names_the_git_commit_in_a_checkout() {
    let git = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    let Some(git) = git.ok().filter(|o| o.status.success()) else {
        println!("skipped: not a git checkout, --version has no commit");
        return;
    };
    let out = run(Command::new(BIN).arg("--version"));
    // The binary may predate the newest commit by a rebuild; it names *a* commit.
    let hash_len = String::from_utf8_lossy(&git.stdout).trim().len();
    let v = stdout(&out);
    let inner = v.trim().rsplit_once('(').map(|(_, h)| h.trim_end_matches(')')).unwrap_or("");
    assert!(inner.len() >= hash_len.min(7) && inner.chars().all(|c| c.is_ascii_hexdigit()), "{v}");
}

#[test]
fn no_tool_is_a_usage_error_and_the_tool_arguments_stay_the_tools() {
    let out = run(&mut Command::new(BIN));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Usage: conlink-tools TOOL"), "{}", stderr(&out));
    // `wait -- CMD --help`: --help belongs to the command, not to wait.
    let out = run(tool("wait").args(["--", "sh", "-c", "echo ran \"$0\"", "--help"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "ran --help");
}
