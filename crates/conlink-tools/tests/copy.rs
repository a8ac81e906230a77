//! `copy`: overlay of nested dirs, dotfiles, modes, symlinks; -T templating.

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

fn make_source(dir: &Path) {
    write(dir, "a/b/c/deep.txt", "deep\n");
    write(dir, ".hidden/.dotfile", "dot\n");
    write(dir, "run.sh", "#!/bin/sh\n");
    fs::set_permissions(dir.join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    write(dir, "secret", "s\n");
    fs::set_permissions(dir.join("secret"), fs::Permissions::from_mode(0o600)).unwrap();
    write(dir, "readonly", "new\n");
    fs::set_permissions(dir.join("readonly"), fs::Permissions::from_mode(0o444)).unwrap();
    symlink("a/b/c/deep.txt", dir.join("link")).unwrap();
}

#[test]
fn overlays_tree_keeping_modes_dotfiles_and_symlinks() {
    let tmp = TempDir::new("copy-tree");
    let (src, dst) = (tmp.join("src"), tmp.join("dst"));
    make_source(&src);
    write(&dst, "keep.txt", "untouched\n");
    write(&dst, "a/b/c/deep.txt", "old\n");
    write(&dst, "readonly", "old\n");
    fs::set_permissions(dst.join("readonly"), fs::Permissions::from_mode(0o444)).unwrap();

    let out = run(tool("copy").arg(&src).arg(&dst));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(dst.join("a/b/c/deep.txt")).unwrap(), "deep\n", "overwritten");
    assert_eq!(fs::read_to_string(dst.join(".hidden/.dotfile")).unwrap(), "dot\n");
    assert_eq!(fs::read_to_string(dst.join("keep.txt")).unwrap(), "untouched\n", "overlay keeps other files");
    assert_eq!(fs::read_to_string(dst.join("readonly")).unwrap(), "new\n", "read-only target replaced");
    assert_eq!(mode(&dst.join("run.sh")), 0o755);
    assert_eq!(mode(&dst.join("secret")), 0o600);
    assert_eq!(mode(&dst.join("readonly")), 0o444);
    assert_eq!(fs::read_link(dst.join("link")).unwrap(), Path::new("a/b/c/deep.txt"));
    assert!(stderr(&out).contains("Copied 5 files, 1 symlinks"), "{}", stderr(&out));
}

#[test]
fn creates_missing_destination_and_runs_command() {
    let tmp = TempDir::new("copy-exec");
    let (src, dst) = (tmp.join("src"), tmp.join("new/dst"));
    write(&src, "f", "hello\n");
    let out = run(tool("copy").arg(&src).arg(&dst).arg("--").arg("cat").arg(dst.join("f")));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "hello\n");
}

#[test]
fn template_replaces_env_vars_and_warns_on_unknown() {
    let tmp = TempDir::new("copy-tpl");
    let (src, dst) = (tmp.join("src"), tmp.join("dst"));
    write(&src, "dir1/dir2/file2", "{{VAL2}}\n");
    write(&src, "conf", "host={{HOST_X}} path={{P}} missing={{NOT_SET_XYZ}} plain={ x }\n");
    fs::set_permissions(src.join("conf"), fs::Permissions::from_mode(0o640)).unwrap();
    let out = run(tool("copy")
        .arg("-T")
        .arg(&src)
        .arg(&dst)
        .env("VAL2", "val2")
        .env("HOST_X", "web")
        .env("P", "/a/b&c")
        .env_remove("NOT_SET_XYZ"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(dst.join("dir1/dir2/file2")).unwrap(), "val2\n");
    assert_eq!(
        fs::read_to_string(dst.join("conf")).unwrap(),
        "host=web path=/a/b&c missing={{NOT_SET_XYZ}} plain={ x }\n"
    );
    assert_eq!(mode(&dst.join("conf")), 0o640);
    let err = stderr(&out);
    assert!(err.contains("warning") && err.contains("{{NOT_SET_XYZ}}"), "{err}");
    assert!(err.contains("Replaced '{{VAL2}}'"), "{err}");
}

#[test]
fn without_template_tokens_are_copied_verbatim() {
    let tmp = TempDir::new("copy-notpl");
    let (src, dst) = (tmp.join("src"), tmp.join("dst"));
    write(&src, "f", "{{HOME}}\n");
    let out = run(tool("copy").arg(&src).arg(&dst));
    assert!(out.status.success());
    assert_eq!(fs::read_to_string(dst.join("f")).unwrap(), "{{HOME}}\n");
}

#[test]
fn errors_are_reported() {
    let tmp = TempDir::new("copy-err");
    let file = write(tmp.path(), "file", "x");
    let out = run(tool("copy").arg(&file).arg(tmp.join("d")));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not a directory"), "{}", stderr(&out));

    let src = tmp.join("src");
    write(&src, "f", "x");
    let out = run(tool("copy").arg(&src).arg(src.join("inner")));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("inside source"), "{}", stderr(&out));

    let out = run(tool("copy").arg(&src));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Usage: copy"));
}
