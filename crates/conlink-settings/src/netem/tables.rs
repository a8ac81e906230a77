//! Delay distribution tables (`distribution NAME`): iproute2's NAME.dist
//! files. Reading them is I/O, so it is the caller's ([`DistTables`]); the
//! text is parsed here.

/// Where iproute2 installs distribution tables (Debian multiarch first).
pub const IPROUTE2_DIST_DIRS: &[&str] = &["/usr/lib/x86_64-linux-gnu/tc", "/usr/lib/tc", "/usr/lib64/tc"];
/// The kernel refuses larger tables (NETEM_DIST_MAX).
const NETEM_DIST_MAX: usize = 16384;

/// The source of distribution tables.
pub trait DistTables {
    /// The text of table `file` (`NAME.dist`), or why it cannot be had.
    fn read(&self, file: &str) -> Result<String, String>;
}

/// No tables (where nothing may be read): only the built-in `uniform` works.
pub struct NoDistTables;

impl DistTables for NoDistTables {
    fn read(&self, file: &str) -> Result<String, String> {
        Err(format!("table {file} not found (no distribution tables are read here)"))
    }
}

/// Table `name` from `tables`; "uniform" is the kernel's default shape: no table.
pub(super) fn load(name: &str, tables: &dyn DistTables) -> Result<Option<(String, Vec<i16>)>, String> {
    if name == "uniform" {
        return Ok(None);
    }
    if name.is_empty() || name.contains('/') || name.contains("..") {
        return Err(format!("netem distribution: bad name {name:?}"));
    }
    let file = format!("{name}.dist");
    let text = tables.read(&file).map_err(|e| format!("netem distribution {name:?}: {e}"))?;
    parse_dist_table(&file, &text).map(|t| Some((name.to_string(), t)))
}

/// NAME.dist: whitespace-separated signed 16-bit values, '#' comments.
/// `origin` names the table in messages.
pub fn parse_dist_table(origin: &str, text: &str) -> Result<Vec<i16>, String> {
    let mut v = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        for w in line.split_whitespace() {
            v.push(w.parse::<i16>().map_err(|_| format!("{origin}: bad value {w:?}"))?);
        }
    }
    if v.is_empty() || v.len() > NETEM_DIST_MAX {
        return Err(format!("{origin}: table must have 1..={NETEM_DIST_MAX} values"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_text() {
        assert_eq!(
            parse_dist_table("t", "# c\n -32768 0 12\n 32767 # end\n").unwrap(),
            [-32768, 0, 12, 32767]
        );
        assert!(parse_dist_table("t", "1 2 x").unwrap_err().contains("bad value \"x\""));
        assert!(parse_dist_table("t", "40000").unwrap_err().contains("40000"));
        assert!(parse_dist_table("t", "# only a comment\n").unwrap_err().contains("1..=16384"));
        let big = "1 ".repeat(16385);
        assert!(parse_dist_table("t", &big).is_err());
        assert_eq!(parse_dist_table("t", &"1 ".repeat(16384)).unwrap().len(), 16384);
    }

    #[test]
    fn names() {
        assert_eq!(load("uniform", &NoDistTables).unwrap(), None);
        for bad in ["", "../x", "a/b", ".."] {
            assert!(load(bad, &NoDistTables).unwrap_err().contains("bad name"), "{bad:?}");
        }
        let e = load("normal", &NoDistTables).unwrap_err();
        assert!(e.contains("normal.dist") && e.contains("not found"), "{e}");
    }
}
