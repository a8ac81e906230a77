//! What keeps the control socket safe to leave listening: who may connect, how much
//! and how long one request may take, how many are served at once, and that binding
//! only ever removes a stale socket.
//!
//! The socket is mode 0600 and only root and the daemon's own uid are served
//! (SO_PEERCRED), whatever the file mode says.

use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::Path;
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::net::UnixListener;

/// Largest request line accepted (requests are a few hundred bytes).
pub const MAX_REQUEST: usize = 64 * 1024;
/// How long a client has to send its request line.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more are closed at once.
pub const MAX_CONNECTIONS: usize = 16;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("request larger than {MAX_REQUEST} bytes")]
    TooLarge,
    #[error("no complete request line within {0:?}")]
    Timeout(Duration),
    #[error("connection closed before a complete request line")]
    Closed,
    #[error("cannot read the request: {0}")]
    Io(String),
}

/// Root and the daemon's own user may talk to it; nobody else.
pub fn peer_allowed(peer_uid: u32, own_uid: u32) -> bool {
    peer_uid == 0 || peer_uid == own_uid
}

/// Reads one request line (up to `limit` bytes, within `timeout`); lossy UTF-8.
pub async fn read_request<R: AsyncRead + Unpin>(
    mut read: R,
    limit: usize,
    timeout: Duration,
) -> Result<String, RequestError> {
    let work = async {
        let mut buf = Vec::with_capacity(512);
        let mut chunk = [0u8; 4096];
        loop {
            let n = read.read(&mut chunk).await.map_err(|e| RequestError::Io(e.to_string()))?;
            if n == 0 {
                // A request without its final newline still counts (older clients).
                return if buf.is_empty() { Err(RequestError::Closed) } else { Ok(buf) };
            }
            let piece = &chunk[..n];
            if let Some(end) = piece.iter().position(|b| *b == b'\n') {
                buf.extend_from_slice(&piece[..end]);
                return if buf.len() > limit { Err(RequestError::TooLarge) } else { Ok(buf) };
            }
            buf.extend_from_slice(piece);
            if buf.len() > limit {
                return Err(RequestError::TooLarge);
            }
        }
    };
    let bytes = tokio::time::timeout(timeout, work).await.map_err(|_| RequestError::Timeout(timeout))??;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Delay after a failed accept (EMFILE and the like): doubling from 10 ms to 1 s, so
/// a full descriptor table does not make the loop spin.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: Self::FIRST }
    }
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        d
    }

    pub fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

/// Binds the socket with mode 0600. A socket file left by a killed conlink is
/// removed; a live one (another daemon answers) or anything that is not a socket
/// is an error and stays untouched.
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket; it is not removed", path.display()),
            ))
        }
        Ok(_) if std::os::unix::net::UnixStream::connect(path).is_ok() => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("another process answers on {}", path.display()),
            ))
        }
        Ok(_) => std::fs::remove_file(path)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt as _;

    #[test]
    fn only_root_and_the_daemons_user_are_served() {
        assert!(peer_allowed(0, 0));
        assert!(peer_allowed(0, 1000));
        assert!(peer_allowed(1000, 1000));
        assert!(!peer_allowed(65534, 0));
        assert!(!peer_allowed(1001, 1000));
    }

    #[test]
    fn backoff_doubles_to_a_second_and_resets() {
        let mut b = Backoff::default();
        let delays: Vec<u64> = (0..9).map(|_| b.next_delay().as_millis() as u64).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(10));
    }

    #[tokio::test]
    async fn a_request_line_is_read_up_to_its_newline() {
        let (mut a, b) = tokio::net::UnixStream::pair().unwrap();
        a.write_all(b"{\"cmd\":\"status\"}\nrest").await.unwrap();
        assert_eq!(read_request(b, 100, Duration::from_secs(1)).await.unwrap(), "{\"cmd\":\"status\"}");
    }

    #[tokio::test]
    async fn oversized_slow_and_empty_requests_are_refused() {
        let (mut a, b) = tokio::net::UnixStream::pair().unwrap();
        let writer = tokio::spawn(async move {
            let _ = a.write_all(&vec![b'x'; 10_000]).await;
            a
        });
        assert_eq!(read_request(b, 1000, Duration::from_secs(1)).await, Err(RequestError::TooLarge));
        drop(writer.await);

        let (_a, b) = tokio::net::UnixStream::pair().unwrap();
        let t0 = std::time::Instant::now();
        let slow = read_request(b, 1000, Duration::from_millis(100)).await;
        assert_eq!(slow, Err(RequestError::Timeout(Duration::from_millis(100))));
        assert!(t0.elapsed() < Duration::from_secs(2));

        let (a, b) = tokio::net::UnixStream::pair().unwrap();
        drop(a);
        assert_eq!(read_request(b, 1000, Duration::from_secs(1)).await, Err(RequestError::Closed));
    }

    #[tokio::test]
    async fn non_utf8_requests_are_read_lossily() {
        let (mut a, b) = tokio::net::UnixStream::pair().unwrap();
        a.write_all(b"\xff\xfe\n").await.unwrap();
        assert_eq!(read_request(b, 100, Duration::from_secs(1)).await.unwrap(), "\u{fffd}\u{fffd}");
    }

    #[tokio::test]
    async fn bind_makes_a_private_socket_and_never_removes_other_files() {
        let dir = std::env::temp_dir().join(format!("conlink-guard-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("regular.sock");
        std::fs::write(&file, "keep me").unwrap();
        let e = bind(&file).unwrap_err();
        assert!(e.to_string().contains("not a socket"), "{e}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");

        let sock = dir.join("c.sock");
        let live = bind(&sock).unwrap();
        let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(bind(&sock).unwrap_err().kind(), std::io::ErrorKind::AddrInUse, "a live socket stays");
        drop(live);
        // A stale socket (nobody listening) is replaced.
        assert!(bind(&sock).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
