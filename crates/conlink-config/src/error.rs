//! Config errors: every problem found is kept, with where it is.

use std::fmt;

/// One problem in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Where: a JSON pointer into the merged config (`/links/3/ip`), or a
    /// file name (optionally followed by `:` and a pointer inside that file).
    pub path: String,
    pub message: String,
}

impl ConfigIssue {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigIssue { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "/" } else { &self.path };
        write!(f, "{path}: {}", self.message)
    }
}

/// All problems found in one load; displayed one per line so a user can fix
/// them in one go instead of one per run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub issues: Vec<ConfigIssue>,
}

impl ConfigError {
    pub fn single(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError { issues: vec![ConfigIssue::new(path, message)] }
    }

    /// `Ok(())` when `issues` is empty, so stages can collect then bail.
    pub fn check(issues: Vec<ConfigIssue>) -> Result<(), ConfigError> {
        if issues.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { issues })
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.issues.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

/// Builds a JSON pointer by appending one segment (escaped per RFC 6901).
pub(crate) fn join_ptr(base: &str, seg: impl fmt::Display) -> String {
    let seg = seg.to_string().replace('~', "~0").replace('/', "~1");
    format!("{base}/{seg}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_one_line_per_issue() {
        let e =
            ConfigError { issues: vec![ConfigIssue::new("/links/3/ip", "bad"), ConfigIssue::new("", "top")] };
        assert_eq!(e.to_string(), "/links/3/ip: bad\n/: top");
    }

    #[test]
    fn pointer_segments_are_escaped() {
        assert_eq!(join_ptr("/services", "a/b~c"), "/services/a~1b~0c");
        assert_eq!(join_ptr("", 3), "/3");
    }
}
