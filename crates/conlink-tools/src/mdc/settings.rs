//! mdc's settings: environment variables with the original's defaults.

use std::env;

pub struct Settings {
    pub modes_dir: String,
    pub env_file: String,
    pub files_dir: String,
    /// The compose command as an argv. Split on whitespace (no shell, no
    /// quoting): "docker compose", "docker-compose", "podman-compose".
    pub docker_compose: Vec<String>,
    pub verbose: bool,
}

impl Settings {
    pub fn from_env() -> Settings {
        let get = |name: &str, default: &str| {
            env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string())
        };
        Settings {
            modes_dir: get("MODES_DIR", "./modes"),
            env_file: get("ENV_FILE", ".env"),
            files_dir: get("MDC_FILES_DIR", "./.files"),
            docker_compose: get("DOCKER_COMPOSE", "docker compose")
                .split_whitespace()
                .map(String::from)
                .collect(),
            verbose: env::var("VERBOSE").is_ok_and(|v| !v.is_empty()),
        }
    }
}
