//! `conlink-runc`: an OCI runtime that is the real one (runc, crun) plus one step.
//! After the real `create` the container's namespaces exist and its process waits
//! for `start`; the wrapper has conlink build the container's links right then, so
//! they are all there when the command starts. Every other call is the real runtime's.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::claim::{ask_socket, claim, ClaimError, ClaimOptions, FALLBACK};
use super::hint::read_hint;
use super::runc_args::{CreateCall, RuncCall};
use super::settings::{container_env, resolve, Settings, Unclaimed};

/// Runs one runtime call; returns the exit code (or does not return: exec).
pub fn run(argv0: &str, args: Vec<String>) -> i32 {
    let real = match real_runtime(argv0) {
        Ok(p) => p,
        Err(e) => return fail(&RuncCall::parse(&args), &e),
    };
    let call = RuncCall::parse(&args);
    let Some(create) = call.create() else {
        let e = Command::new(&real).args(&args).exec();
        return fail(&call, &format!("cannot run {}: {e}", real.display()));
    };
    if let Some(why) = rootless_reason(&call) {
        return fail(&call, &format!("before-start links need a rootful engine, but {why}; {FALLBACK}"));
    }
    let t0 = Instant::now();
    match Command::new(&real).args(&args).status() {
        Ok(s) if s.success() => {}
        Ok(s) => return s.code().unwrap_or(1),
        Err(e) => return fail(&call, &format!("cannot run {}: {e}", real.display())),
    }
    let created = t0.elapsed();
    let bundle = create.bundle.clone().unwrap_or_else(|| PathBuf::from("."));
    let outcome = resolve(&container_env(&bundle), &|k| std::env::var(k).ok())
        .map_err(|e| (Unclaimed::Refuse, ConnectError::Other(e)))
        .and_then(|settings| connect(&create, &bundle, &settings).map_err(|e| (settings.unclaimed, e)));
    match outcome {
        Ok(msg) => {
            debug_line(&format!(
                "{msg} ({} ms after create began; the real create took {} ms)",
                t0.elapsed().as_millis(),
                created.as_millis()
            ));
            0
        }
        Err((Unclaimed::StartWithoutLinks, ConnectError::Unclaimed(e))) => {
            // Asked for: a daemon that comes up later adds the links after start.
            eprintln!("conlink-runc: {e}; starting without links (CONLINK_PRESTART=fallback)");
            0
        }
        Err((_, e)) => {
            // The container must not start without its links: undo the create.
            let _ = Command::new(&real).args(&call.global).args(["delete", "--force", &create.id]).status();
            fail(&call, &e.to_string())
        }
    }
}

/// Why a created container did not get its links.
#[derive(Debug)]
enum ConnectError {
    /// No daemon claimed it in time.
    Unclaimed(String),
    Other(String),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Unclaimed(e) | ConnectError::Other(e) => f.write_str(e),
        }
    }
}

fn connect(create: &CreateCall, bundle: &Path, settings: &Settings) -> Result<String, ConnectError> {
    let pid = read_pid(&create.pid_file).map_err(ConnectError::Other)?;
    let opts = ClaimOptions {
        socket_dir: settings.socket_dir.clone(),
        timeout: settings.timeout,
        retry: Duration::from_millis(200),
    };
    let per_call = Duration::from_secs(60);
    let hint = read_hint(&create.id, bundle);
    let claimed =
        claim(&opts, &create.id, pid, hint, &mut |s, r| ask_socket(s, r, per_call)).map_err(|e| match e {
            ClaimError::Unclaimed { .. } => ConnectError::Unclaimed(e.to_string()),
            ClaimError::Failed { .. } => ConnectError::Other(e.to_string()),
        })?;
    Ok(format!("{} links of {} built by {}", claimed.links, claimed.container, claimed.socket.display()))
}

fn read_pid(file: &Path) -> Result<u32, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read the PID file {}: {e}", file.display()))?;
    text.trim().parse().map_err(|_| format!("the PID file {} holds {text:?}, not a PID", file.display()))
}

/// The runtime this wrapper stands for: `CONLINK_RUNC`, else the name after
/// `conlink-` in our own name (`conlink-crun` → crun), else runc; never ourselves.
fn real_runtime(argv0: &str) -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("CONLINK_RUNC") {
        return Ok(PathBuf::from(p));
    }
    let own_name = Path::new(argv0).file_name().and_then(|n| n.to_str()).unwrap_or("");
    let name = own_name.strip_prefix("conlink-").filter(|n| !n.is_empty()).unwrap_or("runc");
    let me = std::env::current_exe().ok().and_then(|p| p.canonicalize().ok());
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"])
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file() && p.canonicalize().ok() != me);
    found.ok_or_else(|| {
        format!("cannot find the real runtime {name:?} in PATH (set CONLINK_RUNC to its path)")
    })
}

/// Why this runtime call belongs to a rootless engine, which conlink cannot reach.
fn rootless_reason(call: &RuncCall) -> Option<String> {
    if call.global_value("--rootless").is_some_and(|v| v == "true") {
        return Some("the engine runs the container rootless (--rootless true)".into());
    }
    let map = std::fs::read_to_string("/proc/self/uid_map").ok()?;
    user_namespace_mapping(&map)
        .map(|m| format!("the runtime runs in a user namespace (uid_map {m:?}: rootless engine)"))
}

/// Some(mapping) unless `uid_map` is the initial namespace's identity map.
fn user_namespace_mapping(uid_map: &str) -> Option<String> {
    let fields: Vec<&str> = uid_map.split_whitespace().collect();
    (fields != ["0", "0", "4294967295"]).then(|| fields.join(" "))
}

/// Reports an error where the engine shows it: on stderr (podman) and in the
/// runtime's JSON log (containerd's shim shows its last error to `docker run`).
fn fail(call: &RuncCall, message: &str) -> i32 {
    let text = format!("conlink-runc: {message}");
    eprintln!("{text}");
    if let Some(log) = call.global_value("--log") {
        let line = if call.global_value("--log-format") == Some("json") {
            serde_json::json!({"level": "error", "msg": text, "time": rfc3339_now()}).to_string()
        } else {
            text.clone()
        };
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(log) {
            use std::io::Write;
            let _ = writeln!(f, "{line}");
        }
    }
    1
}

fn debug_line(msg: &str) {
    if std::env::var_os("CONLINK_RUNC_DEBUG").is_some() {
        eprintln!("conlink-runc: {msg}");
    }
}

/// Now as RFC 3339 UTC: containerd's shim parses the `time` of runc's log lines.
fn rfc3339_now() -> String {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    rfc3339(d.as_secs(), d.subsec_nanos())
}

fn rfc3339(secs: u64, nanos: u32) -> String {
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let days = (secs / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let doe = days - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let s = secs % 86_400;
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_uid_map_is_not_a_user_namespace() {
        assert_eq!(user_namespace_mapping("         0          0 4294967295\n"), None);
        assert_eq!(
            user_namespace_mapping("0 1000 1\n1 100000 65536\n").as_deref(),
            Some("0 1000 1 1 100000 65536")
        );
    }

    #[test]
    fn rootless_flag_is_detected() {
        let call = RuncCall::parse(&["--rootless".into(), "true".into(), "create".into()]);
        assert!(rootless_reason(&call).unwrap().contains("rootless"));
    }

    #[test]
    fn the_real_runtime_is_named_after_us_and_never_ourselves() {
        // This test binary is not runc; whatever is found must not be the test binary.
        if let Ok(p) = real_runtime("/usr/local/bin/conlink-runc") {
            assert_eq!(p.file_name().unwrap(), "runc");
        }
        let e = real_runtime("conlink-no-such-runtime-d16").unwrap_err();
        assert!(e.contains("\"no-such-runtime-d16\"") && e.contains("CONLINK_RUNC"), "{e}");
    }

    #[test]
    fn a_missing_or_bad_pid_file_is_named() {
        let e = read_pid(Path::new("/nonexistent/init.pid")).unwrap_err();
        assert!(e.contains("/nonexistent/init.pid"), "{e}");
        let f = std::env::temp_dir().join(format!("conlink-pid-{}", std::process::id()));
        std::fs::write(&f, "12x").unwrap();
        assert!(read_pid(&f).unwrap_err().contains("not a PID"));
        std::fs::write(&f, "123\n").unwrap();
        assert_eq!(read_pid(&f), Ok(123));
        let _ = std::fs::remove_file(f);
    }

    #[test]
    fn log_times_are_rfc3339() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(951_868_801, 5), "2000-03-01T00:00:01.000000005Z");
        assert_eq!(rfc3339(1_796_161_660, 699_832_514), "2026-12-01T21:47:40.699832514Z");
    }

    #[test]
    fn failures_reach_the_json_log_the_shim_reads() {
        let log = std::env::temp_dir().join(format!("conlink-runc-log-{}.json", std::process::id()));
        let _ = std::fs::remove_file(&log);
        let args: Vec<String> = ["--log", log.to_str().unwrap(), "--log-format", "json", "create"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(fail(&RuncCall::parse(&args), "no daemon"), 1);
        let line = std::fs::read_to_string(&log).unwrap();
        let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "conlink-runc: no daemon");
        let _ = std::fs::remove_file(log);
    }
}
