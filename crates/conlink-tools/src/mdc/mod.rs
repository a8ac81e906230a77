//! `mdc MODES [COMPOSE-ARGS…]`: modular docker compose. Combines the compose
//! files, env files and `files/` trees of a set of mode directories (with
//! dependencies) into one `.env` + `.files/`, then optionally runs compose.

mod compose;
mod deps;
mod envfile;
mod files;
mod settings;

use std::ffi::OsString;
use std::fs;
use std::path::Path;

use envfile::Mode;
use settings::Settings;

pub const USAGE: &str = "Usage: mdc MODES [DOCKER-COMPOSE-ARGS...]   (MODES: comma-separated mode names)";
/// Empty compose file listed first in COMPOSE_FILE: compose resolves relative
/// paths against the first file's directory, so this anchors every mode's
/// relative paths (volumes, build contexts) to the directory mdc runs in.
const EMPTY_BASE: &str = "./.compose-empty.yaml";
const COMPOSE_NAMES: [&str; 4] = ["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"];
const ENV_NAMES: [&str; 2] = ["env", ".env"];

pub fn main(argv: Vec<OsString>) -> i32 {
    let Some((spec, compose_args)) = argv.split_first() else {
        eprintln!("{USAGE}");
        return 2;
    };
    let settings = Settings::from_env();
    match prepare(&spec.to_string_lossy(), &settings) {
        Ok(()) if compose_args.is_empty() => 0,
        Ok(()) => {
            let cmd = compose::argv(&settings.docker_compose, &settings.env_file, compose_args);
            if settings.verbose {
                eprintln!("Running: {}", crate::exec::display(&cmd));
            }
            crate::exec::exec_command("mdc", &cmd)
        }
        Err(msg) => {
            eprintln!("mdc: {msg}");
            1
        }
    }
}

fn prepare(spec: &str, s: &Settings) -> Result<(), String> {
    // Refuse before any side effect.
    files::check_wipe_safe(&s.files_dir)?;
    let requested: Vec<String> = spec
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|m| !m.is_empty())
        .map(String::from)
        .collect();
    if requested.is_empty() {
        return Err(format!("no modes given\n{USAGE}"));
    }
    let mode_path = |name: &str| format!("{}/{name}", s.modes_dir.trim_end_matches('/'));
    let read_deps = |name: &str| -> Result<Vec<String>, String> {
        let dir = mode_path(name);
        if !Path::new(&dir).is_dir() {
            return Err(format!("mode '{name}' not found (no directory '{dir}')"));
        }
        Ok(fs::read_to_string(format!("{dir}/deps")).map(|t| deps::parse_deps_file(&t)).unwrap_or_default())
    };
    let order = deps::resolve(&requested, &read_deps)?;
    let modes: Vec<Mode> =
        order.iter().map(|name| load_mode(name, mode_path(name))).collect::<Result<_, _>>()?;

    fs::write(EMPTY_BASE, "services: {}\n").map_err(|e| format!("cannot write {EMPTY_BASE}: {e}"))?;
    let paths: Vec<String> = modes.iter().map(|m| m.path.clone()).collect();
    files::rebuild(&s.files_dir, &paths, s.verbose)?;
    write_env_file(&modes, s)?;

    eprintln!("MODES: {}", order.join(" "));
    if s.verbose {
        eprintln!("ENV_FILE: {}", s.env_file);
        eprintln!("COMPOSE_FILE: {}", envfile::compose_file_value(EMPTY_BASE, &modes));
        eprintln!("COMPOSE_PROFILES: {}", envfile::profiles_value(&modes));
        eprintln!("MDC_MODE_DIRS: {}", envfile::mode_dirs_value(&modes));
    }
    Ok(())
}

fn load_mode(name: &str, path: String) -> Result<Mode, String> {
    let compose_file = COMPOSE_NAMES.iter().map(|f| format!("{path}/{f}")).find(|f| Path::new(f).exists());
    let mut env_files = Vec::new();
    for f in ENV_NAMES.iter().map(|f| format!("{path}/{f}")).filter(|f| Path::new(f).exists()) {
        let content = fs::read_to_string(&f).map_err(|e| format!("cannot read '{f}': {e}"))?;
        env_files.push((f, content));
    }
    Ok(Mode { name: name.to_string(), path, compose_file, env_files })
}

/// Written to a temporary file and renamed, so compose never sees half a file.
fn write_env_file(modes: &[Mode], s: &Settings) -> Result<(), String> {
    let env_path = Path::new(&s.env_file);
    let parent = env_path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let compose_dir =
        fs::canonicalize(parent).map_err(|e| format!("cannot resolve '{}': {e}", parent.display()))?;
    let text = envfile::render(modes, EMPTY_BASE, &compose_dir.to_string_lossy());
    let tmp = format!("{}-mdc-tmp", s.env_file);
    fs::write(&tmp, text).map_err(|e| format!("cannot write '{tmp}': {e}"))?;
    fs::rename(&tmp, &s.env_file).map_err(|e| format!("cannot write '{}': {e}", s.env_file))
}
