//! Config errors: every problem found is kept, with where it is; shown
//! bounded (long values cut, at most [`MAX_SHOWN_ISSUES`] lines), so no
//! config can make conlink print megabytes.

use std::fmt;

/// Issues shown before "… and K more".
pub const MAX_SHOWN_ISSUES: usize = 20;

pub use conlink_settings::{quoted, MAX_SHOWN_VALUE};

/// Longest message or path shown, in bytes (a backstop for text that did not
/// go through [`quoted`], e.g. from the YAML parser or the schema).
const MAX_SHOWN_LINE: usize = 400;

/// One problem in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Where: a JSON pointer into the merged config (`/links/3/ip`), or a
    /// file name (optionally followed by `:` and a pointer inside that file).
    pub path: String,
    pub message: String,
    /// Where the merged path came from, when known:
    /// `compose.yaml: services.h1 x-network links[0].mtu`.
    pub source: Option<String>,
}

impl ConfigIssue {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigIssue { path: path.into(), message: message.into(), source: None }
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "/" } else { &self.path };
        write!(f, "{}", cut(path))?;
        if let Some(src) = &self.source {
            write!(f, " ({})", cut(src))?;
        }
        write!(f, ": {}", cut(&self.message))
    }
}

/// A JSON value as written, cut like [`quoted`].
pub fn shown_json(v: &serde_json::Value) -> String {
    if let serde_json::Value::String(s) = v {
        return quoted(s);
    }
    let s = v.to_string();
    if s.chars().count() <= MAX_SHOWN_VALUE {
        return s;
    }
    let head: String = s.chars().take(MAX_SHOWN_VALUE - 20).collect();
    format!("{head}…({} bytes)", s.len())
}

/// A line cut to [`MAX_SHOWN_LINE`] bytes (at a character boundary), with
/// control characters escaped, so one issue is one short line.
fn cut(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.char_indices() {
        if i >= MAX_SHOWN_LINE {
            out.push_str(&format!("…({} bytes)", s.len()));
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
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

    /// The lines to show: the first [`MAX_SHOWN_ISSUES`] issues, then
    /// "and K more" when there are more.
    pub fn shown_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> =
            self.issues.iter().take(MAX_SHOWN_ISSUES).map(|i| i.to_string()).collect();
        if self.issues.len() > MAX_SHOWN_ISSUES {
            lines.push(format!("and {} more", self.issues.len() - MAX_SHOWN_ISSUES));
        }
        lines
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown_lines().join("\n"))
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
    fn source_is_shown_next_to_the_path() {
        let mut i = ConfigIssue::new("/links/0/mtu", "bad");
        i.source = Some("compose.yaml: services.h1 x-network links[0].mtu".into());
        assert_eq!(i.to_string(), "/links/0/mtu (compose.yaml: services.h1 x-network links[0].mtu): bad");
    }

    #[test]
    fn long_values_and_many_issues_are_cut() {
        let q = quoted(&"x".repeat(500_000));
        assert!(q.len() < 100 && q.ends_with("…(500000 bytes)"), "{q}");
        assert_eq!(quoted("eth0"), "\"eth0\"");
        assert_eq!(quoted("a\x1bb"), "\"a\\u{1b}b\"");
        let long = ConfigIssue::new("/x", "y".repeat(1_000_000)).to_string();
        assert!(long.len() < 500, "{}", long.len());
        let raw = ConfigIssue::new("/x", "a\x1b[31m\nb").to_string();
        assert!(!raw.contains('\x1b') && !raw.contains('\n'), "{raw:?}");
        let e = ConfigError {
            issues: (0..1000).map(|i| ConfigIssue::new(format!("/links/{i}"), "bad")).collect(),
        };
        let text = e.to_string();
        assert_eq!(text.lines().count(), MAX_SHOWN_ISSUES + 1);
        assert!(text.ends_with("and 980 more"), "{text}");
    }

    #[test]
    fn pointer_segments_are_escaped() {
        assert_eq!(join_ptr("/services", "a/b~c"), "/services/a~1b~0c");
        assert_eq!(join_ptr("", 3), "/3");
    }
}
