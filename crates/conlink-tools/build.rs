//! Puts the git commit into `--version` when built from a git checkout;
//! silently nothing otherwise (a docker build context, a source tarball).

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let hash = git(&["rev-parse", "--short", "HEAD"]);
    println!(
        "cargo:rustc-env=CONLINK_GIT_SUFFIX={}",
        hash.as_deref().map(|h| format!(" ({h})")).unwrap_or_default()
    );
    // Rebuild when HEAD moves: HEAD itself and the branch ref it names.
    if let (Some(dir), Some(common)) =
        (git(&["rev-parse", "--git-dir"]), git(&["rev-parse", "--git-common-dir"]))
    {
        let mut watch = vec![Path::new(&dir).join("HEAD"), Path::new(&common).join("packed-refs")];
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch.push(Path::new(&common).join(r));
        }
        for p in watch.into_iter().filter(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
}
