//! The runtime wrapper's side of before-start links: find the conlink daemon
//! that has links for a just-created container and have it build them, while the
//! container's process still waits for `start`.
//!
//! Every daemon serves a control socket in one directory (the runtime dir,
//! `/run/conlink` as root of the host); the wrapper asks each in turn. A daemon that is not up yet (compose starts conlink
//! and the workloads together; dockerd restarts them all at once) is waited for.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::hint::Hint;
use crate::control::{Reply, Request};

/// How long a container waits for a daemon to claim it unless `CONLINK_PRESTART_TIMEOUT` (seconds) says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How the event-driven default is reached, for every error that gives up.
pub const FALLBACK: &str =
    "or drop the conlink runtime (`runtime: conlink` in compose, `--runtime` for podman) \
     to use conlink's default event mode: links are added just after the container starts, \
     and its command should wait for them (`wait -i DEV -- CMD`)";

#[derive(Debug, Clone)]
pub struct ClaimOptions {
    pub socket_dir: PathBuf,
    pub timeout: Duration,
    /// Pause between rounds over the sockets while nobody has claimed the container.
    pub retry: Duration,
}

/// A daemon built the container's links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub socket: PathBuf,
    pub container: String,
    pub links: usize,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClaimError {
    #[error("conlink ({socket}) could not build the links of container {container}: {message}")]
    Failed { socket: String, container: String, message: String },
    #[error(
        "no conlink daemon claimed container {id} within {waited_s}s ({answers}). Start conlink with this \
         container's links in its configuration and its control socket in {dir} before the container, {FALLBACK}"
    )]
    Unclaimed { id: String, waited_s: u64, dir: String, answers: String },
}

/// Asks the daemons in `opts.socket_dir` until one claims container `id`
/// (process `pid`) or `opts.timeout` passes. `ask` sends one request to one socket.
pub fn claim(
    opts: &ClaimOptions,
    id: &str,
    pid: u32,
    hint: Option<Hint>,
    ask: &mut dyn FnMut(&Path, &Request) -> Result<Reply, String>,
) -> Result<Claimed, ClaimError> {
    let start = Instant::now();
    let req = Request::Prestart { id: id.to_string(), pid, hint };
    let mut answers: Vec<(PathBuf, String)>;
    loop {
        answers = Vec::new();
        for socket in sockets_in(&opts.socket_dir) {
            match ask(&socket, &req) {
                Ok(Reply::Claimed { container, links }) => return Ok(Claimed { socket, container, links }),
                Ok(Reply::NotMine { reason }) => answers.push((socket, reason)),
                // A daemon older than this request type answers "bad request": not its container.
                Ok(Reply::Error { message }) if message.starts_with("bad request") => {
                    answers.push((socket, "does not know before-start requests".into()))
                }
                Ok(Reply::Error { message }) => {
                    return Err(ClaimError::Failed {
                        socket: socket.display().to_string(),
                        container: id.to_string(),
                        message,
                    })
                }
                Ok(other) => answers.push((socket, format!("unexpected answer {other:?}"))),
                Err(e) => answers.push((socket, e)),
            }
        }
        if start.elapsed() + opts.retry > opts.timeout {
            break;
        }
        std::thread::sleep(opts.retry);
    }
    let answers = if answers.is_empty() {
        format!("no control socket in {}", opts.socket_dir.display())
    } else {
        answers.iter().map(|(s, a)| format!("{}: {a}", s.display())).collect::<Vec<_>>().join("; ")
    };
    Err(ClaimError::Unclaimed {
        id: id.to_string(),
        waited_s: start.elapsed().as_secs_f64().round() as u64,
        dir: opts.socket_dir.display().to_string(),
        answers,
    })
}

/// The `*.sock` files in `dir`, in name order (a stable order of asking).
fn sockets_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sock"))
        .collect();
    out.sort();
    out
}

/// One request to one daemon, bounded in time: building a container's links takes
/// milliseconds, but a daemon may first wait for the engine to report the container.
pub fn ask_socket(socket: &Path, req: &Request, timeout: Duration) -> Result<Reply, String> {
    let stream = UnixStream::connect(socket).map_err(|e| format!("unreachable ({e})"))?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    let mut line = serde_json::to_string(req).expect("requests serialise");
    line.push('\n');
    (&stream).write_all(line.as_bytes()).map_err(|e| format!("cannot send ({e})"))?;
    let mut reply = String::new();
    BufReader::new(&stream).read_line(&mut reply).map_err(|e| format!("no answer ({e})"))?;
    serde_json::from_str(&reply).map_err(|e| format!("bad answer ({e}): {reply:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn dir_with(names: &[&str]) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("conlink-claim-{}-{}", std::process::id(), names.join("-")));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        for n in names {
            std::fs::write(d.join(n), "").unwrap();
        }
        d
    }

    fn opts(dir: &Path, timeout_ms: u64) -> ClaimOptions {
        ClaimOptions {
            socket_dir: dir.to_path_buf(),
            timeout: Duration::from_millis(timeout_ms),
            retry: Duration::from_millis(10),
        }
    }

    #[test]
    fn the_daemon_that_claims_wins_and_others_are_skipped() {
        let d = dir_with(&["a.sock", "b.sock", "notes.txt"]);
        let mut asked = Vec::new();
        let mut ask = |s: &Path, r: &Request| {
            asked.push(s.file_name().unwrap().to_string_lossy().to_string());
            assert_eq!(r, &Request::Prestart { id: "c1".into(), pid: 7, hint: None });
            Ok(match s.file_name().unwrap().to_str().unwrap() {
                "a.sock" => Reply::NotMine { reason: "no links for p-x-1".into() },
                _ => Reply::Claimed { container: "p-h1-1".into(), links: 2 },
            })
        };
        let c = claim(&opts(&d, 1000), "c1", 7, None, &mut ask).unwrap();
        assert_eq!((c.container.as_str(), c.links), ("p-h1-1", 2));
        assert!(c.socket.ends_with("b.sock"));
        assert_eq!(asked, ["a.sock", "b.sock"], "non-sockets are not asked");
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn a_daemon_that_comes_up_late_is_waited_for() {
        let d = dir_with(&["a.sock"]);
        let mut rounds = 0;
        let mut ask = |_: &Path, _: &Request| {
            rounds += 1;
            if rounds < 3 {
                Err("unreachable (connection refused)".into())
            } else {
                Ok(Reply::Claimed { container: "h".into(), links: 1 })
            }
        };
        assert!(claim(&opts(&d, 2000), "c1", 7, None, &mut ask).is_ok());
        assert_eq!(rounds, 3);
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn a_build_failure_is_final_and_names_the_daemon() {
        let d = dir_with(&["a.sock"]);
        let mut ask = |_: &Path, _: &Request| Ok(Reply::Error { message: "kernel lacks netem qdisc".into() });
        let e = claim(&opts(&d, 5000), "c1", 7, None, &mut ask).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("a.sock") && text.contains("kernel lacks netem qdisc"), "{text}");
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn nobody_claiming_is_an_error_naming_each_answer_and_the_fallback() {
        let d = dir_with(&["a.sock", "old.sock"]);
        let answers: HashMap<&str, Reply> = HashMap::from([
            ("a.sock", Reply::NotMine { reason: "no links for p-web-1".into() }),
            ("old.sock", Reply::Error { message: "bad request: unknown variant `prestart`".into() }),
        ]);
        let mut ask = |s: &Path, _: &Request| Ok(answers[s.file_name().unwrap().to_str().unwrap()].clone());
        let text = claim(&opts(&d, 50), "c0ffee", 7, None, &mut ask).unwrap_err().to_string();
        assert!(text.contains("no conlink daemon claimed container c0ffee"), "{text}");
        assert!(text.contains("a.sock: no links for p-web-1"), "{text}");
        assert!(text.contains("old.sock: does not know before-start requests"), "{text}");
        assert!(text.contains("default event mode") && text.contains("wait -i DEV"), "{text}");
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn no_socket_at_all_says_so() {
        let d = dir_with(&[]);
        let mut ask = |_: &Path, _: &Request| -> Result<Reply, String> { unreachable!() };
        let text = claim(&opts(&d, 30), "c1", 7, None, &mut ask).unwrap_err().to_string();
        assert!(text.contains("no control socket in"), "{text}");
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn ask_socket_reports_an_absent_daemon() {
        let e = ask_socket(Path::new("/nonexistent/x.sock"), &Request::Status, Duration::from_secs(1))
            .unwrap_err();
        assert!(e.starts_with("unreachable"), "{e}");
    }
}
