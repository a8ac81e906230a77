//! Which files make the compose project, as `docker compose` decides:
//!
//! - the project directory is the directory of the first compose file that
//!   is not stdin (`-`), else the working directory;
//! - the `.env` there is read unless COMPOSE_DISABLE_ENV_FILE is true; the
//!   process environment wins over it;
//! - compose reads the default override file (compose.override.yml, …) only
//!   for a file it found itself under a default name. conlink is always
//!   given its files, so it reads the override when the only compose file
//!   has a default name (compose.yaml, compose.yml, docker-compose.yml,
//!   docker-compose.yaml), which is the file `docker compose` in that directory
//!   would find. Several compose files, like several `-f`, read no override.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::envfile::parse_env_file;
use super::Budget;
use crate::error::ConfigIssue;

/// compose-go's DefaultFileNames, in order of preference.
pub const DEFAULT_FILE_NAMES: [&str; 4] =
    ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"];

/// compose-go's DefaultOverrideFileNames, in order of preference.
pub const OVERRIDE_FILE_NAMES: [&str; 4] = [
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// One compose file to read at the top of the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainFile {
    pub path: PathBuf,
    /// Shown in messages.
    pub origin: String,
}

/// The project's files and environment, before any file is parsed.
#[derive(Debug, Clone, Default)]
pub struct ProjectFiles {
    pub main: Vec<MainFile>,
    /// Where relative paths (include, extends) of the main files start.
    pub dir: PathBuf,
    /// Process environment plus the `.env` (the process wins).
    pub env: BTreeMap<String, String>,
    pub env_file: Option<String>,
    pub notes: Vec<String>,
}

/// Decides the files of the project given as `compose_files` and reads its `.env`.
pub fn project_files(
    compose_files: &[PathBuf],
    process_env: &BTreeMap<String, String>,
    budget: &mut Budget,
    issues: &mut Vec<ConfigIssue>,
) -> ProjectFiles {
    let mut out = ProjectFiles { env: process_env.clone(), ..Default::default() };
    let stdin = Path::new("-");
    out.dir = match compose_files.iter().find(|p| p.as_path() != stdin) {
        Some(first) => first.parent().map(Path::to_path_buf).unwrap_or_default(),
        None => PathBuf::new(),
    };
    out.main = compose_files.iter().map(|p| MainFile { path: p.clone(), origin: origin_of(p) }).collect();
    if let [only] = compose_files {
        let named_by_default =
            only.file_name().and_then(|n| n.to_str()).is_some_and(|n| DEFAULT_FILE_NAMES.contains(&n));
        if only.as_path() != stdin && named_by_default {
            let found: Vec<PathBuf> = OVERRIDE_FILE_NAMES
                .iter()
                .map(|n| out.dir.join(n))
                .filter(|p| budget.files.is_file(p))
                .collect();
            if found.len() > 1 {
                out.notes.push(format!(
                    "found several override files ({}); using {}, as compose does",
                    found.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
                    found[0].display()
                ));
            }
            if let Some(first) = found.into_iter().next() {
                out.main.push(MainFile { origin: origin_of(&first), path: first });
            }
        }
    }
    if env_file_disabled(process_env) {
        return out;
    }
    let dot_env = out.dir.join(".env");
    if budget.files.is_file(&dot_env) {
        let origin = origin_of(&dot_env);
        match budget.read(&dot_env).and_then(|text| parse_env_file(&text, process_env)) {
            Ok(vars) => {
                for (k, v) in vars {
                    out.env.entry(k).or_insert(v);
                }
            }
            Err(e) => issues.push(ConfigIssue::new(&origin, e)),
        }
        out.env_file = Some(origin);
    }
    out
}

/// COMPOSE_DISABLE_ENV_FILE=1/true turns the `.env` off, as in compose.
fn env_file_disabled(env: &BTreeMap<String, String>) -> bool {
    env.get("COMPOSE_DISABLE_ENV_FILE")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "t" | "true"))
}

/// A path as messages show it (`-` is stdin).
pub fn origin_of(p: &Path) -> String {
    if p == Path::new("-") {
        "<stdin>".into()
    } else {
        p.display().to_string()
    }
}

/// `rel` from `dir`, unless it is absolute.
pub fn resolve(dir: &Path, rel: &str) -> PathBuf {
    let p = Path::new(rel);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}
