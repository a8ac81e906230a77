//! Limits that keep any config, however hostile, cheap to reject: a size
//! cap on every file read, a nesting-depth pre-scan run before the YAML
//! parser (whose work grows quadratically with flow nesting), and a byte
//! budget on the parsed document including alias expansion (see yaml.rs).

use std::io::Read;
use std::path::Path;

/// Largest config or schema file read (4 MiB). Real configs are a few KB.
pub const MAX_INPUT_BYTES: usize = 4 << 20;

/// Deepest nesting of YAML collections accepted; real configs use < 10.
pub const MAX_DEPTH: usize = 256;

/// Most YAML nodes (scalars, lists, maps; an alias counts once) a document
/// may have before parsing, found by the pre-scan: the parser keeps every
/// event in memory first. 50 000 is ~4 500 links of five keys each.
pub const MAX_NODES: usize = 50_000;

/// Budget for the parsed document, aliases expanded, in accounted bytes
/// (each scalar's length plus [`NODE_COST`] per node). With the node limit
/// this keeps the loader under ~100 MB peak whatever the document.
pub const MAX_EXPANDED_BYTES: usize = 8 << 20;

/// Accounted size of one YAML node besides its text (about what a parsed
/// node takes in memory).
pub const NODE_COST: usize = 64;

/// Reads `path` as UTF-8, refusing more than [`MAX_INPUT_BYTES`]; never
/// reads more than one byte past the limit (`/dev/zero` ends at once).
pub fn read_limited(path: &Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read file: {e}"))?;
    let mut buf = Vec::new();
    file.take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read file: {e}"))?;
    if buf.len() > MAX_INPUT_BYTES {
        return Err(format!("file is larger than the {} MiB limit for a config file", MAX_INPUT_BYTES >> 20));
    }
    String::from_utf8(buf).map_err(|e| {
        format!("file is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to())
    })
}

/// Why the pre-scan refuses a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TooBig {
    /// Nesting deeper than [`MAX_DEPTH`], at this line.
    Depth { line: usize, depth: usize },
    /// More than [`MAX_NODES`] nodes, counted up to this line.
    Nodes { line: usize },
}

impl std::fmt::Display for TooBig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TooBig::Depth { line, depth } => {
                write!(f, "YAML nests deeper than {MAX_DEPTH} levels (about {depth} at line {line})")
            }
            TooBig::Nodes { line } => {
                write!(f, "YAML has more than {MAX_NODES} values (counted up to line {line}); a config is far smaller")
            }
        }
    }
}

/// Whether the text nests deeper than [`MAX_DEPTH`] or has more than
/// [`MAX_NODES`] nodes, before any parser sees it.
///
/// A conservative scan, not a parser: it counts indentation levels of
/// block collections (each `- ` and each deeper indent is one), plus flow
/// brackets outside quotes and comments. It over-counts rather than misses,
/// so it cannot let a deep document through to the parser; legit configs are
/// nowhere near the limit. Block-scalar bodies (`|`, `>`) are skipped.
pub fn prescan(text: &str) -> Result<(), TooBig> {
    let mut nodes = 0usize;
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    // Inside a quoted scalar that may span lines (in flow or block context).
    let mut quote: Option<char> = None;
    // Indentation of the line that opened a block scalar; deeper lines are its text.
    let mut block_scalar: Option<usize> = None;
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let indent = line.len() - line.trim_start_matches(' ').len();
        let body = &line[indent..];
        if let Some(parent) = block_scalar {
            if body.trim().is_empty() || indent > parent {
                continue;
            }
            block_scalar = None;
        }
        if quote.is_none() && flow == 0 {
            if body.is_empty() || body.starts_with('#') {
                continue;
            }
            while indents.last().is_some_and(|&top| top >= indent) {
                indents.pop();
            }
            indents.push(indent);
        }
        let mut dashes = 0usize;
        let mut depth_here = indents.len() + flow;
        let mut at_node_start = true;
        let mut prev = ' ';
        let mut chars = body.chars().peekable();
        while let Some(c) = chars.next() {
            if let Some(q) = quote {
                if c == q {
                    // '' inside a single-quoted scalar is an escaped quote.
                    if q == '\'' && chars.peek() == Some(&'\'') {
                        chars.next();
                    } else {
                        quote = None;
                        at_node_start = false;
                    }
                } else if q == '"' && c == '\\' {
                    chars.next();
                }
                prev = c;
                continue;
            }
            match c {
                '#' if prev == ' ' || prev == '\t' => break,
                '"' | '\'' if at_node_start => {
                    nodes += 1;
                    quote = Some(c);
                }
                '[' | '{' if at_node_start || flow > 0 => {
                    nodes += 1;
                    flow += 1;
                    depth_here = depth_here.max(indents.len() + dashes + flow);
                    at_node_start = true;
                    if depth_here > MAX_DEPTH {
                        return Err(TooBig::Depth { line: line_no, depth: depth_here });
                    }
                }
                ']' | '}' if flow > 0 => flow -= 1,
                ',' if flow > 0 => at_node_start = true,
                '-' | '?' if at_node_start && flow == 0 && matches!(chars.peek(), None | Some(' ')) => {
                    // `- - - x`: each dash opens one more block level.
                    dashes += 1;
                    depth_here = depth_here.max(indents.len() + dashes + flow);
                }
                ':' if matches!(chars.peek(), None | Some(' ')) => at_node_start = true,
                '|' | '>' if at_node_start && flow == 0 => {
                    block_scalar = Some(indent);
                    break;
                }
                ' ' | '\t' => {}
                _ => {
                    nodes += usize::from(at_node_start);
                    at_node_start = false;
                }
            }
            prev = c;
        }
        if depth_here > MAX_DEPTH {
            return Err(TooBig::Depth { line: line_no, depth: depth_here });
        }
        if nodes > MAX_NODES {
            return Err(TooBig::Nodes { line: line_no });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(s: &str) -> bool {
        prescan(s).is_ok()
    }

    #[test]
    fn ordinary_configs_pass() {
        assert!(depth_ok(
            "links:\n  - {service: a, bridge: s1, ip: 10.0.0.1/24}\n  - service: b\n    bridge: s1\n"
        ));
        assert!(depth_ok("services:\n  h1:\n    x-network:\n      links:\n        - bridge: s1\n          route: [\"a\", \"b\"]\n"));
        // Brackets inside quotes, comments and plain scalars do not count.
        let many = "x: \"[[[[\"\ny: '{{{{'  # [[[[[\nz: a[b{c\n".repeat(200);
        assert!(depth_ok(&many));
        let block = format!(
            "cmd: |\n{}\nnext: 1\n",
            (0..400).map(|i| format!("  {}[", " ".repeat(i))).collect::<Vec<_>>().join("\n")
        );
        assert!(depth_ok(&block), "a block scalar's text is not structure");
    }

    #[test]
    fn deep_flow_is_refused_at_its_line() {
        let deep = format!("links: {}{}", "[".repeat(80_000), "]".repeat(80_000));
        assert_eq!(prescan(&deep).unwrap_err(), TooBig::Depth { line: 1, depth: MAX_DEPTH + 1 });
        assert!(depth_ok(&format!("a: {}{}", "[".repeat(200), "]".repeat(200))));
        let multi_line: String = (0..300).map(|_| "[\n").collect();
        assert!(prescan(&format!("a: {multi_line}")).is_err());
    }

    #[test]
    fn deep_block_lists_and_maps_are_refused() {
        let dashes = format!("{}x\n", "- ".repeat(300));
        assert!(prescan(&dashes).is_err());
        let stairs: String = (0..300).map(|i| format!("{}- \n", " ".repeat(i))).collect();
        assert!(prescan(&stairs).is_err());
        let maps: String = (0..300).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
        assert!(prescan(&maps).is_err());
        let ok: String = (0..100).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
        assert!(depth_ok(&ok));
    }

    #[test]
    fn too_many_nodes_are_refused_before_parsing() {
        let dense = format!("x: [{}]\n", vec!["a"; MAX_NODES + 10].join(","));
        assert!(matches!(prescan(&dense), Err(TooBig::Nodes { line: 1 })));
        let lines: String = (0..MAX_NODES).map(|i| format!("k{i}: v\n")).collect();
        assert!(matches!(prescan(&lines), Err(TooBig::Nodes { .. })));
        // A large but sane config passes: 5000 links of five keys.
        let links: String = std::iter::once("links:\n".to_string())
            .chain(
                (0..5000).map(|i| format!("  - {{service: s{i}, bridge: b, ip: 10.0.0.1/8, mtu: 1500}}\n")),
            )
            .collect();
        assert!(prescan(&links).is_ok());
    }

    #[test]
    fn quoted_scalars_spanning_lines() {
        assert!(depth_ok("a: \"[[[\n[[[[\"\nb: ok\n"));
        assert!(depth_ok("a: 'it''s [[[['\n"));
    }

    #[test]
    fn read_limited_stops_at_the_cap() {
        let t = std::time::Instant::now();
        let e = read_limited(Path::new("/dev/zero")).unwrap_err();
        assert!(e.contains("larger than the 4 MiB limit"), "{e}");
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
        assert!(read_limited(Path::new("/nonexistent/x")).unwrap_err().starts_with("cannot read file"));
    }
}
