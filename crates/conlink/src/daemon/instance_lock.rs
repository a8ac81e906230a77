//! One conlink per namespace: an exclusive lock on `/run/conlink/LABEL.lock`
//! (`$XDG_RUNTIME_DIR/conlink/` rootless, see `runtime_dir`), taken before anything
//! is touched and held until the process exits. The file holds the PID of the holder, for the message
//! a second conlink prints. The file itself stays: removing a lock file races with
//! the next one to open it.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum LockError {
    #[error(
        "another conlink (pid {holder}) already manages network namespace {label} (it holds {}); stop it first or use another --netns",
        path.display()
    )]
    Held { label: String, holder: String, path: PathBuf },
    #[error("cannot take the lock {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

/// Held for the life of the daemon; the kernel releases it when the process ends.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
    pub path: PathBuf,
}

/// Where lock files live: conlink's runtime directory (/run/conlink as root of the
/// host, else under $XDG_RUNTIME_DIR; one rule, in `runtime_dir`).
pub fn lock_dir() -> PathBuf {
    crate::runtime_dir::runtime_dir()
}

/// The lock for `label` (an already validated namespace label) in `dir`.
pub fn acquire(dir: &Path, label: &str) -> Result<InstanceLock, LockError> {
    let path = dir.join(format!("{label}.lock"));
    let io = |source| LockError::Io { path: path.clone(), source };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(&path)
        .map_err(io)?;
    // SAFETY: flock on an fd we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(io(err));
        }
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = holder.trim();
        let holder =
            if holder.is_empty() { "unknown".to_string() } else { holder.chars().take(20).collect() };
        return Err(LockError::Held { label: label.to_string(), holder, path });
    }
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    Ok(InstanceLock { _file: file, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "conlink-lock-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid() {
        let dir = tmp_dir();
        let first = acquire(&dir, "lab").unwrap();
        assert_eq!(std::fs::read_to_string(&first.path).unwrap().trim(), std::process::id().to_string());
        // flock locks belong to the open file: a second open in this process conflicts too.
        let e = acquire(&dir, "lab").unwrap_err().to_string();
        assert!(e.contains(&format!("pid {}", std::process::id())) && e.contains("lab.lock"), "{e}");
        assert!(acquire(&dir, "other").is_ok(), "other namespaces have their own lock");
        drop(first);
        assert!(acquire(&dir, "lab").is_ok(), "released when the holder goes");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
