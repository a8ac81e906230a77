//! What conlink-runc can tell the daemon about a container from the engine's files,
//! for when the engine itself cannot be asked: Podman answers no list while it
//! starts a container, dockerd serves no API while it restores containers.
//!
//! - Docker: the bundle's `/etc/hostname` mount comes from
//!   `DATA_ROOT/containers/ID/hostname`; `config.v2.json` beside it has the name
//!   and labels.
//! - Podman: the bundle is `GRAPHROOT/overlay-containers/ID/userdata`;
//!   containers/storage's `containers.json` two levels up has the name.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hint {
    /// "docker" or "podman": whose files these are.
    pub engine: String,
    pub name: String,
    #[serde(default)]
    pub labels: HashMap<String, String>,
}

/// The hint for container `id` whose bundle is `bundle`, when the files say.
pub fn read_hint(id: &str, bundle: &Path) -> Option<Hint> {
    docker_hint(bundle).or_else(|| podman_hint(id, bundle))
}

fn docker_hint(bundle: &Path) -> Option<Hint> {
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("config.json")).ok()?).ok()?;
    let hostname = spec["mounts"].as_array()?.iter().find(|m| m["destination"] == "/etc/hostname")?["source"]
        .as_str()?
        .to_string();
    let dir = Path::new(&hostname).parent()?;
    docker_config_v2(&std::fs::read_to_string(dir.join("config.v2.json")).ok()?)
}

/// Name and labels from dockerd's `config.v2.json`.
pub fn docker_config_v2(text: &str) -> Option<Hint> {
    let v: Value = serde_json::from_str(text).ok()?;
    let name = v["Name"].as_str()?.trim_start_matches('/').to_string();
    let labels = v["Config"]["Labels"]
        .as_object()
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default();
    Some(Hint { engine: "docker".into(), name, labels })
}

fn podman_hint(id: &str, bundle: &Path) -> Option<Hint> {
    // …/overlay-containers/ID/userdata → …/overlay-containers/containers.json
    let dir = bundle.parent()?.parent()?;
    storage_name(id, &std::fs::read_to_string(dir.join("containers.json")).ok()?).map(|name| Hint {
        engine: "podman".into(),
        name,
        labels: HashMap::new(),
    })
}

/// The first name of container `id` in containers/storage's `containers.json`.
pub fn storage_name(id: &str, text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    let entry = v.as_array()?.iter().find(|c| c["id"] == id)?;
    Some(entry["names"].as_array()?.first()?.as_str()?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_gives_name_and_labels() {
        let h = docker_config_v2(
            r#"{"ID": "c0ffee", "Name": "/p-h1-1", "Config": {"Labels": {"com.docker.compose.service": "h1"}}}"#,
        )
        .unwrap();
        assert_eq!((h.engine.as_str(), h.name.as_str()), ("docker", "p-h1-1"));
        assert_eq!(h.labels["com.docker.compose.service"], "h1");
        assert_eq!(
            docker_config_v2(r#"{"Name": "/x", "Config": {"Labels": null}}"#).unwrap().labels.len(),
            0
        );
        assert!(docker_config_v2("{}").is_none());
    }

    #[test]
    fn storage_list_gives_the_name() {
        let text = r#"[{"id": "aa", "names": ["one"]}, {"id": "bb", "names": ["two", "alias"]}]"#;
        assert_eq!(storage_name("bb", text).as_deref(), Some("two"));
        assert_eq!(storage_name("cc", text), None);
        assert_eq!(storage_name("aa", "not json"), None);
    }

    #[test]
    fn files_laid_out_like_each_engine_are_found() {
        let root = std::env::temp_dir().join(format!("conlink-hint-{}", std::process::id()));
        // Docker: bundle with a hostname mount into DATA_ROOT/containers/ID.
        let ctr = root.join("data/containers/d1");
        let bundle = root.join("bundle");
        std::fs::create_dir_all(&ctr).unwrap();
        std::fs::create_dir_all(&bundle).unwrap();
        std::fs::write(ctr.join("config.v2.json"), r#"{"Name": "/web-1", "Config": {"Labels": {}}}"#)
            .unwrap();
        let spec =
            serde_json::json!({"mounts": [{"destination": "/etc/hostname", "source": ctr.join("hostname")}]});
        std::fs::write(bundle.join("config.json"), spec.to_string()).unwrap();
        assert_eq!(read_hint("d1", &bundle).unwrap().name, "web-1");
        // Podman: GRAPHROOT/overlay-containers/ID/userdata.
        let userdata = root.join("storage/overlay-containers/p1/userdata");
        std::fs::create_dir_all(&userdata).unwrap();
        std::fs::write(userdata.join("config.json"), r#"{"mounts": []}"#).unwrap();
        std::fs::write(
            root.join("storage/overlay-containers/containers.json"),
            r#"[{"id": "p1", "names": ["pod-a"]}]"#,
        )
        .unwrap();
        let h = read_hint("p1", &userdata).unwrap();
        assert_eq!((h.engine.as_str(), h.name.as_str()), ("podman", "pod-a"));
        assert!(read_hint("p1", Path::new("/nonexistent/x/y")).is_none());
        let _ = std::fs::remove_dir_all(root);
    }
}
