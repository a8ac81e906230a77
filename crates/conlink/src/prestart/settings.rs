//! How conlink-runc behaves for one container: from the container's own environment
//! (its OCI `process.env`, i.e. compose `environment:`), else conlink-runc's
//! environment (dockerd's; conmon passes Podman's runtime none), else defaults.
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `CONLINK_SOCKET_DIR` | where the daemons' control sockets are | the runtime dir: `/run/conlink` (rootless `$XDG_RUNTIME_DIR/conlink`) |
//! | `CONLINK_PRESTART_TIMEOUT` | seconds to wait for a daemon to claim the container | 30 |
//! | `CONLINK_PRESTART` | `required`: no start without links; `fallback`: start anyway when nobody claims it (conlink then adds the links after start, the event mode) | `required` |

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::claim::DEFAULT_TIMEOUT;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unclaimed {
    /// The container does not start (the default: links before start were asked for).
    Refuse,
    /// The container starts without links; a daemon that comes up later adds them.
    StartWithoutLinks,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub socket_dir: PathBuf,
    pub timeout: Duration,
    pub unclaimed: Unclaimed,
}

/// Settings for a container whose environment is `container`; `own` looks a
/// variable up in conlink-runc's own environment.
pub fn resolve(
    container: &HashMap<String, String>,
    own: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, String> {
    let get = |k: &str| container.get(k).cloned().or_else(|| own(k)).filter(|v| !v.is_empty());
    let socket_dir =
        get("CONLINK_SOCKET_DIR").map(PathBuf::from).unwrap_or_else(crate::runtime_dir::runtime_dir);
    let timeout = match get("CONLINK_PRESTART_TIMEOUT") {
        None => DEFAULT_TIMEOUT,
        Some(v) => Duration::from_secs(
            v.trim()
                .parse()
                .map_err(|_| format!("CONLINK_PRESTART_TIMEOUT={v:?} is not a number of seconds"))?,
        ),
    };
    let unclaimed = match get("CONLINK_PRESTART").as_deref() {
        None | Some("required") => Unclaimed::Refuse,
        Some("fallback") => Unclaimed::StartWithoutLinks,
        Some(other) => {
            return Err(format!("CONLINK_PRESTART={other:?} is neither \"required\" nor \"fallback\""))
        }
    };
    Ok(Settings { socket_dir, timeout, unclaimed })
}

/// The container's environment from its bundle's config.json (empty when unreadable).
pub fn container_env(bundle: &Path) -> HashMap<String, String> {
    let Ok(text) = std::fs::read_to_string(bundle.join("config.json")) else { return HashMap::new() };
    let Ok(spec) = serde_json::from_str::<serde_json::Value>(&text) else { return HashMap::new() };
    spec["process"]["env"]
        .as_array()
        .map(|vars| {
            vars.iter()
                .filter_map(|v| v.as_str()?.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_without_any_setting() {
        let s = resolve(&env(&[]), &|_| None).unwrap();
        assert_eq!(
            s,
            Settings {
                socket_dir: "/run/conlink".into(),
                timeout: DEFAULT_TIMEOUT,
                unclaimed: Unclaimed::Refuse
            }
        );
    }

    #[test]
    fn the_container_wins_over_the_engine() {
        let own = |k: &str| (k == "CONLINK_PRESTART_TIMEOUT").then(|| "20".to_string());
        let s = resolve(&env(&[("CONLINK_PRESTART_TIMEOUT", "5"), ("CONLINK_PRESTART", "fallback")]), &own)
            .unwrap();
        assert_eq!((s.timeout, s.unclaimed), (Duration::from_secs(5), Unclaimed::StartWithoutLinks));
        let s = resolve(&env(&[("CONLINK_SOCKET_DIR", "/x")]), &own).unwrap();
        assert_eq!((s.socket_dir, s.timeout), (PathBuf::from("/x"), Duration::from_secs(20)));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = resolve(&env(&[("CONLINK_PRESTART_TIMEOUT", "soon")]), &|_| None).unwrap_err();
        assert!(e.contains("CONLINK_PRESTART_TIMEOUT=\"soon\""), "{e}");
        let e = resolve(&env(&[("CONLINK_PRESTART", "maybe")]), &|_| None).unwrap_err();
        assert!(e.contains("CONLINK_PRESTART=\"maybe\"") && e.contains("fallback"), "{e}");
    }

    #[test]
    fn container_env_comes_from_the_bundle() {
        let dir = std::env::temp_dir().join(format!("conlink-bundle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("config.json"),
            r#"{"process": {"env": ["PATH=/bin", "CONLINK_PRESTART=fallback", "A=b=c"]}}"#,
        )
        .unwrap();
        let e = container_env(&dir);
        assert_eq!(e.get("CONLINK_PRESTART").map(String::as_str), Some("fallback"));
        assert_eq!(e.get("A").map(String::as_str), Some("b=c"));
        assert!(container_env(Path::new("/nonexistent")).is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }
}
