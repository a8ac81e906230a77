//! Mode dependency resolution: each mode once, dependencies before the modes
//! that need them, requested order kept otherwise, cycles reported with the
//! whole cycle path.

use std::collections::HashSet;

/// `read_deps(mode)` returns the names listed in that mode's `deps` file
/// (empty when it has none) or an error if the mode does not exist.
pub fn resolve(
    requested: &[String],
    read_deps: &dyn Fn(&str) -> Result<Vec<String>, String>,
) -> Result<Vec<String>, String> {
    let mut order = Vec::new();
    let mut done = HashSet::new();
    let mut stack = Vec::new();
    for mode in requested {
        visit(mode, None, read_deps, &mut stack, &mut done, &mut order)?;
    }
    Ok(order)
}

fn visit(
    mode: &str,
    parent: Option<&str>,
    read_deps: &dyn Fn(&str) -> Result<Vec<String>, String>,
    stack: &mut Vec<String>,
    done: &mut HashSet<String>,
    order: &mut Vec<String>,
) -> Result<(), String> {
    if done.contains(mode) {
        return Ok(());
    }
    if let Some(pos) = stack.iter().position(|m| m == mode) {
        let mut cycle = stack[pos..].to_vec();
        cycle.push(mode.to_string());
        return Err(format!("dependency cycle: {}", cycle.join(" -> ")));
    }
    let deps = read_deps(mode).map_err(|e| match parent {
        Some(p) => format!("{e} (required by mode '{p}')"),
        None => e,
    })?;
    stack.push(mode.to_string());
    for dep in &deps {
        visit(dep, Some(mode), read_deps, stack, done, order)?;
    }
    stack.pop();
    done.insert(mode.to_string());
    order.push(mode.to_string());
    Ok(())
}

/// A `deps` file: names separated by whitespace; `#` starts a comment.
pub fn parse_deps_file(text: &str) -> Vec<String> {
    text.lines()
        .flat_map(|line| line.split('#').next().unwrap_or("").split_whitespace())
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn graph(edges: &[(&str, &[&str])]) -> impl Fn(&str) -> Result<Vec<String>, String> {
        let map: HashMap<String, Vec<String>> =
            edges.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect();
        move |m: &str| map.get(m).cloned().ok_or_else(|| format!("mode '{m}' not found"))
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dependencies_first_each_once() {
        let g = graph(&[
            ("base", &[]),
            ("node1", &["base"]),
            ("nodes2", &["base"]),
            ("web", &["base"]),
            ("all", &["node1", "nodes2", "web"]),
        ]);
        assert_eq!(resolve(&names(&["all"]), &g).unwrap(), names(&["base", "node1", "nodes2", "web", "all"]));
        assert_eq!(resolve(&names(&["web", "node1", "web"]), &g).unwrap(), names(&["base", "web", "node1"]));
    }

    #[test]
    fn cycle_is_reported_with_path() {
        let g = graph(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"])]);
        assert_eq!(resolve(&names(&["a"]), &g).unwrap_err(), "dependency cycle: a -> b -> c -> a");
        let g = graph(&[("a", &["a"])]);
        assert_eq!(resolve(&names(&["a"]), &g).unwrap_err(), "dependency cycle: a -> a");
    }

    #[test]
    fn missing_dependency_names_requirer() {
        let g = graph(&[("a", &["ghost"])]);
        assert_eq!(resolve(&names(&["a"]), &g).unwrap_err(), "mode 'ghost' not found (required by mode 'a')");
    }

    #[test]
    fn deps_file_format() {
        assert_eq!(
            parse_deps_file("node1 nodes2\n# comment\n web # trailing\n"),
            names(&["node1", "nodes2", "web"])
        );
    }
}
