//! `conlink-runc setup`: the one set-up step of before-start links. Installs the
//! wrapper, registers it as Docker's runtime `conlink` in daemon.json and has
//! dockerd reload its runtimes (SIGHUP: no restart, running containers untouched);
//! with `--podman`, also names it `conlink` for Podman (a containers.conf drop-in).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

#[derive(Debug)]
pub struct SetupOptions {
    pub install_path: PathBuf,
    pub runtime_name: String,
    pub docker_config: PathBuf,
    pub docker_pidfile: PathBuf,
    /// A containers.conf drop-in to write, when Podman should know the runtime by name too.
    pub podman_dropin: Option<PathBuf>,
}

impl Default for SetupOptions {
    fn default() -> Self {
        SetupOptions {
            install_path: PathBuf::from("/usr/local/bin/conlink-runc"),
            runtime_name: "conlink".into(),
            docker_config: PathBuf::from("/etc/docker/daemon.json"),
            docker_pidfile: PathBuf::from("/var/run/docker.pid"),
            podman_dropin: None,
        }
    }
}

pub const USAGE: &str = "usage: conlink-runc setup [--path FILE] [--name NAME] [--docker-config FILE] \
     [--docker-pidfile FILE] [--podman [DROPIN]]";

pub fn parse_args(args: &[String]) -> Result<SetupOptions, String> {
    let mut o = SetupOptions::default();
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        let mut value =
            |name: &str| it.next().cloned().ok_or_else(|| format!("{name} needs a value; {USAGE}"));
        match a.as_str() {
            "--path" => o.install_path = value("--path")?.into(),
            "--name" => o.runtime_name = value("--name")?,
            "--docker-config" => o.docker_config = value("--docker-config")?.into(),
            "--docker-pidfile" => o.docker_pidfile = value("--docker-pidfile")?.into(),
            "--podman" => {
                let file = match it.peek() {
                    Some(v) if !v.starts_with('-') => it.next().cloned().map(PathBuf::from),
                    _ => None,
                };
                o.podman_dropin =
                    Some(file.unwrap_or_else(|| "/etc/containers/containers.conf.d/conlink.conf".into()));
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown option {other:?}; {USAGE}")),
        }
    }
    Ok(o)
}

/// daemon.json with `runtimes.NAME.path` = `path`, every other setting kept.
pub fn merge_docker_config(existing: Option<&str>, name: &str, path: &Path) -> Result<String, String> {
    let mut root: Map<String, Value> = match existing.map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => match serde_json::from_str(text) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err("is not a JSON object".into()),
            Err(e) => return Err(format!("is not valid JSON: {e}")),
        },
        None => Map::new(),
    };
    let runtimes = root.entry("runtimes").or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(runtimes) = runtimes else {
        return Err("has a \"runtimes\" that is not an object".into());
    };
    runtimes.insert(name.to_string(), serde_json::json!({ "path": path.display().to_string() }));
    let mut out = serde_json::to_string_pretty(&Value::Object(root)).expect("JSON serialises");
    out.push('\n');
    Ok(out)
}

/// A containers.conf drop-in naming the wrapper as a Podman runtime.
pub fn podman_dropin(name: &str, path: &Path) -> String {
    format!(
        "# written by `conlink-runc setup`: before-start links\n[engine.runtimes]\n{name} = [\"{}\"]\n",
        path.display()
    )
}

/// Performs the set-up; returns what was done, line by line.
pub fn run(o: &SetupOptions) -> Result<Vec<String>, String> {
    let mut done = Vec::new();
    let me = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    if me.canonicalize().ok() != o.install_path.canonicalize().ok() {
        install(&me, &o.install_path)?;
        done.push(format!("installed {}", o.install_path.display()));
    }
    let existing = match std::fs::read_to_string(&o.docker_config) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {}: {e}", o.docker_config.display())),
    };
    let merged = merge_docker_config(existing.as_deref(), &o.runtime_name, &o.install_path)
        .map_err(|e| format!("{} {e}", o.docker_config.display()))?;
    write_file(&o.docker_config, &merged)?;
    done.push(format!("registered runtime {:?} in {}", o.runtime_name, o.docker_config.display()));
    match std::fs::read_to_string(&o.docker_pidfile).ok().and_then(|s| s.trim().parse::<i32>().ok()) {
        Some(pid) if unsafe { libc::kill(pid, libc::SIGHUP) } == 0 => {
            done.push(format!("dockerd (pid {pid}) reloads its runtimes (SIGHUP, no restart)"))
        }
        _ => done.push(format!(
            "no running dockerd found through {}: it picks the runtime up when it (re)starts \
             (or send it SIGHUP; a dockerd started with --config-file reads that file instead)",
            o.docker_pidfile.display()
        )),
    }
    if let Some(dropin) = &o.podman_dropin {
        write_file(dropin, &podman_dropin(&o.runtime_name, &o.install_path))?;
        done.push(format!("podman knows runtime {:?} ({})", o.runtime_name, dropin.display()));
    }
    Ok(done)
}

/// Copies the program next to its destination and renames it into place, so a
/// wrapper that engines are running at that moment is replaced, not overwritten.
fn install(from: &Path, to: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let tmp = to.with_extension("new");
    std::fs::copy(from, &tmp).map_err(|e| format!("cannot copy to {}: {e}", tmp.display()))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, to).map_err(|e| format!("cannot install {}: {e}", to.display()))
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("conlink-new");
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn docker_config_keeps_other_settings_and_runtimes() {
        let before = r#"{"log-level": "warn", "runtimes": {"kata": {"path": "/opt/kata"}}}"#;
        let out =
            merge_docker_config(Some(before), "conlink", Path::new("/usr/local/bin/conlink-runc")).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["log-level"], "warn");
        assert_eq!(v["runtimes"]["kata"]["path"], "/opt/kata");
        assert_eq!(v["runtimes"]["conlink"]["path"], "/usr/local/bin/conlink-runc");
        // Idempotent: a second run changes nothing.
        assert_eq!(
            merge_docker_config(Some(&out), "conlink", Path::new("/usr/local/bin/conlink-runc")).unwrap(),
            out
        );
    }

    #[test]
    fn absent_or_empty_docker_config_is_created() {
        for existing in [None, Some(""), Some("  \n")] {
            let out = merge_docker_config(existing, "conlink", Path::new("/x")).unwrap();
            assert_eq!(
                serde_json::from_str::<Value>(&out).unwrap(),
                serde_json::json!({"runtimes": {"conlink": {"path": "/x"}}})
            );
        }
    }

    #[test]
    fn broken_docker_config_is_refused_not_overwritten() {
        assert!(merge_docker_config(Some("{oops"), "c", Path::new("/x"))
            .unwrap_err()
            .contains("not valid JSON"));
        assert!(merge_docker_config(Some("[]"), "c", Path::new("/x"))
            .unwrap_err()
            .contains("not a JSON object"));
        assert!(merge_docker_config(Some(r#"{"runtimes": 3}"#), "c", Path::new("/x"))
            .unwrap_err()
            .contains("runtimes"));
    }

    #[test]
    fn podman_dropin_names_the_runtime() {
        let t = podman_dropin("conlink", Path::new("/usr/local/bin/conlink-runc"));
        assert!(t.contains("[engine.runtimes]\nconlink = [\"/usr/local/bin/conlink-runc\"]"), "{t}");
    }

    #[test]
    fn options_parse_with_defaults() {
        let o = parse_args(&[]).unwrap();
        assert_eq!(o.docker_config, PathBuf::from("/etc/docker/daemon.json"));
        assert!(o.podman_dropin.is_none());
        let o = parse_args(&args("--docker-config /t/d.json --name cl --podman --path /t/w")).unwrap();
        assert_eq!((o.runtime_name.as_str(), o.install_path.to_str().unwrap()), ("cl", "/t/w"));
        assert_eq!(o.podman_dropin, Some(PathBuf::from("/etc/containers/containers.conf.d/conlink.conf")));
        let o = parse_args(&args("--podman /t/p.conf")).unwrap();
        assert_eq!(o.podman_dropin, Some(PathBuf::from("/t/p.conf")));
        assert!(parse_args(&args("--bogus")).unwrap_err().contains("--bogus"));
        assert!(parse_args(&args("--name")).unwrap_err().contains("needs a value"));
    }
}
