//! Hostile-input corpus: every file under `tests/corpus/bad/` must be
//! rejected with an error naming where and what is wrong; every file under
//! `tests/corpus/good/` must load.
//!
//! Layout:
//! - `bad/NN-short-name.yaml` — the config (a file whose name contains
//!   `compose` is loaded as a compose file, else as a network file);
//! - `bad/NN-short-name.expect` — one substring per line, each must appear
//!   in the error's Display (paths like `/links/0/ip` and what is wrong);
//! - optional `NN-short-name.env` — `KEY=VALUE` lines, the interpolation
//!   environment (empty otherwise: the tests never read the real one).
//!
//! `CORPUS_SHOW=1 cargo test -p conlink-config --test corpus -- --nocapture`
//! prints every error, handy when adding cases.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use conlink_config::{load, ConfigError, LoadOptions, NetworkConfig};

fn corpus(dir: &str) -> Vec<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
        .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

fn env_for(file: &Path) -> BTreeMap<String, String> {
    let Ok(text) = std::fs::read_to_string(file.with_extension("env")) else { return BTreeMap::new() };
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) =
                l.split_once('=').unwrap_or_else(|| panic!("{}: bad env line {l:?}", file.display()));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn load_file(file: &Path) -> Result<NetworkConfig, ConfigError> {
    let is_compose = file.file_name().unwrap().to_string_lossy().contains("compose");
    let mut opts = LoadOptions { env: env_for(file), ..Default::default() };
    if is_compose {
        opts.compose_files.push(file.to_path_buf());
    } else {
        opts.network_files.push(file.to_path_buf());
    }
    load(&opts)
}

fn show() -> bool {
    std::env::var("CORPUS_SHOW").is_ok_and(|v| v == "1")
}

#[test]
fn bad_configs_are_rejected_with_path_and_reason() {
    let files = corpus("bad");
    assert!(files.len() >= 60, "the bad corpus shrank to {} files", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let expect_file = file.with_extension("expect");
        let expected: Vec<String> = match std::fs::read_to_string(&expect_file) {
            Ok(t) => t.lines().map(str::trim_end).filter(|l| !l.is_empty()).map(str::to_string).collect(),
            Err(e) => {
                failures.push(format!("{name}: no {}: {e}", expect_file.display()));
                continue;
            }
        };
        if expected.is_empty() {
            failures.push(format!("{name}: .expect file is empty"));
            continue;
        }
        let err = match load_file(file) {
            Ok(cfg) => {
                failures.push(format!("{name}: ACCEPTED, loaded as {cfg:?}"));
                continue;
            }
            Err(e) => e,
        };
        let text = err.to_string();
        // Bounded output, whatever the config: at most 21 short lines.
        if text.len() > 16 * 1024 || text.lines().count() > 21 {
            failures.push(format!("{name}: error is {} bytes, {} lines", text.len(), text.lines().count()));
        }
        if show() {
            eprintln!("== {name}\n{text}");
        }
        if err.issues.is_empty() {
            failures.push(format!("{name}: error has no issues"));
        }
        for issue in &err.issues {
            if issue.path.trim().is_empty() {
                failures.push(format!("{name}: issue without a path: {issue:?}"));
            }
            if issue.message.trim().is_empty() {
                failures.push(format!("{name}: issue without a message: {issue:?}"));
            }
        }
        for want in &expected {
            if !text.contains(want.as_str()) {
                failures.push(format!("{name}: {want:?} not in error:\n{text}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} corpus failure(s):\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn good_configs_load() {
    let files = corpus("good");
    assert!(!files.is_empty());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            load_file(f).err().map(|e| format!("{}:\n{e}", f.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(failures.is_empty(), "good configs rejected:\n{}", failures.join("\n"));
}

/// Every bad file has its sidecar and no stray sidecar lacks its config.
#[test]
fn corpus_files_are_paired() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/bad");
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        match p.extension().and_then(|x| x.to_str()) {
            Some("yaml") => assert!(p.with_extension("expect").exists(), "{} has no .expect", p.display()),
            Some("expect") | Some("env") => {
                assert!(p.with_extension("yaml").exists(), "{} has no .yaml", p.display())
            }
            _ => panic!("unexpected file in the bad corpus: {}", p.display()),
        }
    }
}
