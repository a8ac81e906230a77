//! Compose conventions for the `x-network` sections, as `docker compose`
//! applies them: the `.env` beside the first compose file, the default
//! override file, `include:`, service `extends:`, and `profiles`.
//!
//! | module | job |
//! | --- | --- |
//! | `envfile` | compose's env-file syntax |
//! | `project` | which files: the compose files, stdin, the override file, the `.env` |
//! | `expand` | one document's `x-network` fragments: include, extends, services |
//! | `profiles` | which services are active |
//!
//! Every file read goes through [`crate::budget::read_limited`] and the
//! budgeted YAML parser; a whole project may read at most
//! [`MAX_PROJECT_FILES`] files and [`MAX_PROJECT_BYTES`] bytes, so include
//! or extends graphs cannot multiply the work.

pub mod envfile;
pub(crate) mod expand;
pub mod profiles;
pub(crate) mod project;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

pub use envfile::parse_env_file;
pub use profiles::{active_profiles, is_active};

/// Most files (compose files, overrides, included and extended files, env
/// files) one load reads.
pub const MAX_PROJECT_FILES: usize = 64;

/// Most bytes one load reads across those files.
pub const MAX_PROJECT_BYTES: usize = 16 << 20;

/// Most accounted bytes (see [`crate::budget::MAX_EXPANDED_BYTES`]) all parsed
/// files of one load and the copies `extends` makes of its bases may take.
pub const MAX_PROJECT_PARSED: usize = 24 << 20;

/// Deepest `include` or `extends` chain followed.
pub const MAX_CHAIN: usize = 16;

/// What the loader learnt about the compose project besides the network config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComposeReport {
    /// Every compose file read, in order (overrides, included and extended files too).
    pub files: Vec<String>,
    /// The `.env` read for interpolation, if any.
    pub env_file: Option<String>,
    /// Active profiles (from `--profile`, else COMPOSE_PROFILES).
    pub profiles: Vec<String>,
    /// Services whose profiles are all inactive, by name.
    pub inactive: BTreeMap<String, InactiveService>,
    /// Things worth a log line (a top-level x-network of an included file, two override files).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InactiveService {
    pub profiles: Vec<String>,
    /// Its `container_name`, for links that target the container by name.
    pub container_name: Option<String>,
}

/// Where the loader reads files; tests answer from memory.
pub trait Files {
    /// The text of `path` (`-` is stdin), within the size cap.
    fn read(&self, path: &Path) -> Result<String, String>;
    fn is_file(&self, path: &Path) -> bool;
}

/// The real file system; `-` reads stdin, once.
#[derive(Default)]
pub struct RealFiles {
    stdin_read: std::cell::Cell<bool>,
}

impl Files for RealFiles {
    fn read(&self, path: &Path) -> Result<String, String> {
        if path != Path::new("-") {
            return crate::budget::read_limited(path);
        }
        if self.stdin_read.replace(true) {
            return Err("stdin can be read only once".into());
        }
        read_limited_from(std::io::stdin().lock())
    }

    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
}

/// Reads UTF-8 text from `r` within [`crate::budget::MAX_INPUT_BYTES`].
pub fn read_limited_from(r: impl Read) -> Result<String, String> {
    let max = crate::budget::MAX_INPUT_BYTES;
    let mut buf = Vec::new();
    r.take(max as u64 + 1).read_to_end(&mut buf).map_err(|e| format!("cannot read: {e}"))?;
    if buf.len() > max {
        return Err(format!("input is larger than the {} MiB limit for a config file", max >> 20));
    }
    String::from_utf8(buf).map_err(|e| {
        format!("input is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to())
    })
}

/// Files for in-memory sources ([`crate::load_from_sources`]): there are none.
pub(crate) struct NoFiles;

impl Files for NoFiles {
    fn read(&self, path: &Path) -> Result<String, String> {
        Err(format!("cannot read {}: this config was given as text, not as files", path.display()))
    }
    fn is_file(&self, _: &Path) -> bool {
        false
    }
}

/// Counts what a load reads against the project budgets.
pub(crate) struct Budget<'a> {
    pub files: &'a dyn Files,
    count: usize,
    bytes: usize,
}

impl<'a> Budget<'a> {
    pub fn new(files: &'a dyn Files) -> Self {
        Budget { files, count: 0, bytes: 0 }
    }

    pub fn read(&mut self, path: &Path) -> Result<String, String> {
        if self.count >= MAX_PROJECT_FILES {
            return Err(format!("more than {MAX_PROJECT_FILES} files in one config (include/extends)"));
        }
        let text = self.files.read(path)?;
        self.count += 1;
        self.bytes += text.len();
        if self.bytes > MAX_PROJECT_BYTES {
            return Err(format!("the config files together are larger than {} MiB", MAX_PROJECT_BYTES >> 20));
        }
        Ok(text)
    }
}
