//! netem distribution tables (`distribution NAME`) read from directories:
//! iproute2's by default.

use std::path::PathBuf;

use conlink_settings::{DistTables, IPROUTE2_DIST_DIRS};

/// Directories searched, in order, for `NAME.dist`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistDirs(pub Vec<PathBuf>);

/// iproute2's install locations.
impl Default for DistDirs {
    fn default() -> Self {
        DistDirs(IPROUTE2_DIST_DIRS.iter().map(PathBuf::from).collect())
    }
}

impl DistTables for DistDirs {
    fn read(&self, file: &str) -> Result<String, String> {
        let Some(path) = self.0.iter().map(|d| d.join(file)).find(|p| p.is_file()) else {
            let tried: Vec<String> = self.0.iter().map(|d| d.display().to_string()).collect();
            return Err(format!("table {file} not found in {} (install iproute2)", tried.join(", ")));
        };
        std::fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conlink_settings::Netem;

    #[test]
    fn table_loaded_from_the_dirs_or_clear_error() {
        let dir = std::env::temp_dir().join(format!("netem-dist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("tiny.dist"), "# comment\n -32768 0 12\n 32767\n").unwrap();
        let dirs = DistDirs(vec![PathBuf::from("/nonexistent"), dir.clone()]);
        let n = Netem::parse_with("delay 10ms 1ms distribution tiny", &dirs).unwrap();
        assert_eq!(n.distribution, Some(("tiny".into(), vec![-32768, 0, 12, 32767])));
        let e = Netem::parse_with("delay 10ms 1ms distribution normal", &dirs).unwrap_err();
        assert!(e.contains("normal.dist") && e.contains("not found") && e.contains("/nonexistent"), "{e}");
        let e = Netem::parse_with("delay 10ms distribution tiny", &dirs).unwrap_err();
        assert!(e.contains("jitter"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
        // The real iproute2 table, where installed.
        let system = DistDirs::default();
        if system.read("normal.dist").is_ok() {
            let n = Netem::parse_with("delay 10ms 1ms distribution normal", &system).unwrap();
            assert_eq!(n.distribution.unwrap().1.len(), 4096);
        } else {
            eprintln!("skipped: normal.dist not installed, real-table check");
        }
    }
}
