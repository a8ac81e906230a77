//! Recursive overlay of one directory tree onto another (used by `copy` and
//! by `mdc` to build `.files/`).
//!
//! * directories are created as needed; new ones get the source's mode,
//!   existing ones keep theirs (overlaying onto `/` must not change `/tmp`'s
//!   sticky mode, for example);
//! * files are replaced (also read-only ones and symlinks in the way) and get
//!   the source's permission bits; owner becomes the user running the copy;
//! * symlinks are recreated as symlinks with the same target;
//! * dotfiles are included; other special files (fifos, devices, sockets)
//!   are skipped with a warning.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{symlink, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::template;

pub struct Options {
    /// Fill `{{VAR}}` tokens in copied files from the environment.
    pub template: bool,
    /// Log each replacement (always logs unknown-variable warnings).
    pub verbose: bool,
}

#[derive(Debug, Default)]
pub struct Stats {
    pub files: usize,
    pub symlinks: usize,
}

pub fn overlay(src: &Path, dst: &Path, opts: &Options) -> Result<Stats, String> {
    let src_meta = fs::metadata(src).map_err(|e| format!("cannot read '{}': {e}", src.display()))?;
    if !src_meta.is_dir() {
        return Err(format!("not a directory: '{}'", src.display()));
    }
    fs::create_dir_all(dst).map_err(|e| format!("cannot create '{}': {e}", dst.display()))?;
    // Copying a tree into itself would recurse forever or delete its own input.
    let (csrc, cdst) = (canonical(src)?, canonical(dst)?);
    if cdst.starts_with(&csrc) {
        return Err(format!("destination '{}' is inside source '{}'", dst.display(), src.display()));
    }
    let mut stats = Stats::default();
    copy_dir_contents(src, dst, opts, &mut stats)?;
    Ok(stats)
}

fn canonical(p: &Path) -> Result<PathBuf, String> {
    fs::canonicalize(p).map_err(|e| format!("cannot resolve '{}': {e}", p.display()))
}

fn copy_dir_contents(src: &Path, dst: &Path, opts: &Options, stats: &mut Stats) -> Result<(), String> {
    let ctx = |e: io::Error, p: &Path| format!("'{}': {e}", p.display());
    let mut entries: Vec<_> =
        fs::read_dir(src).map_err(|e| ctx(e, src))?.collect::<Result<_, _>>().map_err(|e| ctx(e, src))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        let meta = fs::symlink_metadata(&from).map_err(|e| ctx(e, &from))?;
        let kind = meta.file_type();
        if kind.is_dir() {
            let existed = match fs::symlink_metadata(&to) {
                Ok(m) if m.is_dir() => true,
                Ok(_) => {
                    return Err(format!("cannot replace non-directory '{}' with a directory", to.display()))
                }
                Err(_) => false,
            };
            if !existed {
                fs::create_dir(&to).map_err(|e| ctx(e, &to))?;
            }
            copy_dir_contents(&from, &to, opts, stats)?;
            if !existed {
                // Set after filling it, so a read-only source dir can be filled.
                fs::set_permissions(&to, meta.permissions()).map_err(|e| ctx(e, &to))?;
            }
        } else if kind.is_symlink() {
            remove_non_dir(&to)?;
            let target = fs::read_link(&from).map_err(|e| ctx(e, &from))?;
            symlink(&target, &to).map_err(|e| ctx(e, &to))?;
            stats.symlinks += 1;
        } else if kind.is_file() {
            remove_non_dir(&to)?;
            copy_file(&from, &to, meta.permissions().mode(), opts)?;
            stats.files += 1;
        } else {
            eprintln!("copy: warning: skipping special file '{}'", from.display());
        }
    }
    Ok(())
}

/// Clears the way for a file or symlink: removing first means we never write
/// through a symlink and read-only targets are replaced, like `cp -a`.
fn remove_non_dir(path: &Path) -> Result<(), String> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Err(format!("cannot replace directory '{}' with a file", path.display())),
        Ok(_) => fs::remove_file(path).map_err(|e| format!("cannot replace '{}': {e}", path.display())),
        Err(_) => Ok(()),
    }
}

fn copy_file(from: &Path, to: &Path, mode: u32, opts: &Options) -> Result<(), String> {
    let ctx = |e: io::Error, p: &Path| format!("'{}': {e}", p.display());
    if !opts.template {
        fs::copy(from, to).map_err(|e| ctx(e, to))?;
        return Ok(());
    }
    let input = fs::read(from).map_err(|e| ctx(e, from))?;
    let rendered = template::render(&input, |name| {
        std::env::var_os(name).map(std::os::unix::ffi::OsStringExt::into_vec)
    });
    if opts.verbose {
        for name in &rendered.replaced {
            eprintln!("Replaced '{{{{{name}}}}}' in '{}'", to.display());
        }
    }
    if !rendered.unknown.is_empty() {
        let names: Vec<String> = rendered.unknown.iter().map(|n| format!("{{{{{n}}}}}")).collect();
        eprintln!(
            "copy: warning: {} in '{}' not set in the environment; left unchanged",
            names.join(", "),
            to.display()
        );
    }
    let mut file =
        fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(to).map_err(|e| ctx(e, to))?;
    file.write_all(&rendered.output).map_err(|e| ctx(e, to))?;
    // Explicitly, because the create mode above is reduced by the umask.
    fs::set_permissions(to, fs::Permissions::from_mode(mode)).map_err(|e| ctx(e, to))
}
