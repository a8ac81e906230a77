//! Rebuilding `MDC_FILES_DIR` (`.files/`): wiped, then each mode's
//! `SVC/files/` tree is overlaid onto `.files/SVC/` in mode order, so later
//! modes override earlier ones file by file.

use std::fs;
use std::path::{Path, PathBuf};

use crate::copy::tree;

/// Refuses to wipe anything that would destroy the project: `.`, `..`, `/`,
/// the current directory or any directory containing it.
pub fn check_wipe_safe(files_dir: &str) -> Result<(), String> {
    let refuse = || {
        Err(format!("refusing to wipe MDC_FILES_DIR '{files_dir}': it must not be '.', '/' or contain the current directory"))
    };
    let base = Path::new(files_dir).file_name().map(|b| b.to_string_lossy().into_owned());
    if files_dir.trim_end_matches('/').is_empty() || matches!(base.as_deref(), None | Some(".") | Some(".."))
    {
        return refuse();
    }
    if let (Ok(dir), Ok(cwd)) =
        (fs::canonicalize(files_dir), std::env::current_dir().and_then(fs::canonicalize))
    {
        if dir == Path::new("/") || cwd.starts_with(&dir) {
            return refuse();
        }
    }
    Ok(())
}

pub fn rebuild(files_dir: &str, mode_paths: &[String], verbose: bool) -> Result<(), String> {
    check_wipe_safe(files_dir)?;
    if Path::new(files_dir).exists() {
        if verbose {
            eprintln!("Removing {files_dir}");
        }
        fs::remove_dir_all(files_dir).map_err(|e| format!("cannot remove '{files_dir}': {e}"))?;
    }
    fs::create_dir_all(files_dir).map_err(|e| format!("cannot create '{files_dir}': {e}"))?;
    let opts = tree::Options { template: false, verbose };
    for mode_path in mode_paths {
        for (svc, src) in service_file_trees(Path::new(mode_path))? {
            let dst = Path::new(files_dir).join(&svc);
            if verbose {
                eprintln!("copy {} -> {}", src.display(), dst.display());
            }
            tree::overlay(&src, &dst, &opts)?;
        }
    }
    Ok(())
}

/// `(SVC, MODE/SVC/files)` for every `MODE/*/files` directory (dot dirs too),
/// sorted by name for a stable result.
fn service_file_trees(mode_dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let Ok(entries) = fs::read_dir(mode_dir) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("'{}': {e}", mode_dir.display()))?;
        let files = entry.path().join("files");
        if files.is_dir() {
            found.push((entry.file_name().to_string_lossy().into_owned(), files));
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_dangerous_dirs() {
        for bad in [".", "./", "/", "..", "", "foo/..", "/."] {
            assert!(check_wipe_safe(bad).is_err(), "{bad} must be refused");
        }
        // The current directory under another spelling, and its parent.
        let cwd = std::env::current_dir().unwrap();
        assert!(check_wipe_safe(cwd.to_str().unwrap()).is_err());
        assert!(check_wipe_safe(cwd.parent().unwrap().to_str().unwrap()).is_err());
        assert!(check_wipe_safe("./.files").is_ok());
    }
}
