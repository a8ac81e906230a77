//! Compose-style `${VAR}` interpolation of every string value (not keys).
//!
//! Forms: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
//! `${VAR:?msg}`, `${VAR?msg}`, `${VAR:+alt}`, `${VAR+alt}`, `$$` → `$`.
//! Defaults/alternatives may nest further `${…}`. An unset variable with no
//! default becomes the empty string, as in compose.

use crate::error::quoted;
use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{join_ptr, ConfigIssue};

/// Keys whose values are numbers: `mtu: ${MTU}` must stay a number after
/// substitution, as compose converts typed fields.
const NUMERIC_KEYS: [&str; 3] = ["mtu", "vlanid", "vni"];

/// Longest string interpolation may produce (a value of `${A}${A}…` with a long A).
pub const MAX_INTERPOLATED: usize = 1 << 20;

/// How much interpolation may grow one load's documents in all (8 MiB): the
/// variables (from `.env` too) must not multiply the config's size.
pub const MAX_GROWTH: usize = 8 << 20;

/// Interpolates every string in `v` in place; `path` prefixes issue paths.
pub fn interpolate_value(
    v: &mut Value,
    env: &BTreeMap<String, String>,
    path: &str,
    issues: &mut Vec<ConfigIssue>,
) {
    interpolate_value_within(v, env, path, issues, &mut MAX_GROWTH.clone())
}

/// [`interpolate_value`], charging how much the strings grow to `growth_left`.
pub fn interpolate_value_within(
    v: &mut Value,
    env: &BTreeMap<String, String>,
    path: &str,
    issues: &mut Vec<ConfigIssue>,
    growth_left: &mut usize,
) {
    match v {
        // Once the budget is spent (and said, once), the load fails: stop expanding.
        Value::String(s) if *growth_left == 0 && s.contains('$') => {}
        Value::String(s) => match interpolate_str(s, env) {
            Ok(out) => match growth_left.checked_sub(out.len().saturating_sub(s.len())) {
                Some(left) => {
                    *growth_left = left;
                    *s = out;
                }
                None => {
                    *growth_left = 0;
                    issues.push(ConfigIssue::new(
                        path,
                        format!(
                            "interpolation grows the config by more than {} MiB in all",
                            MAX_GROWTH >> 20
                        ),
                    ))
                }
            },
            Err(msg) => issues.push(ConfigIssue::new(path, msg)),
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_value_within(item, env, &join_ptr(path, i), issues, growth_left);
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                let was_template = matches!(item, Value::String(s) if s.contains('$'));
                interpolate_value_within(item, env, &join_ptr(path, k), issues, growth_left);
                if was_template && NUMERIC_KEYS.contains(&k.as_str()) {
                    if let Some(n) = item.as_str().and_then(|s| s.trim().parse::<i64>().ok()) {
                        *item = Value::from(n);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Interpolates one string. `Err` carries a user-facing message.
pub fn interpolate_str(s: &str, env: &BTreeMap<String, String>) -> Result<String, String> {
    interpolate_nested(s, env, 0)
}

/// How deeply defaults may nest (`${A:-${B:-…}}`). Each level is a
/// recursion; without a limit a hostile string overflows the stack.
pub const MAX_NESTING: usize = 32;

fn interpolate_nested(s: &str, env: &BTreeMap<String, String>, depth: usize) -> Result<String, String> {
    if depth > MAX_NESTING {
        return Err(format!("invalid interpolation: \"${{\" nested more than {MAX_NESTING} deep"));
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(r) = after.strip_prefix('{') {
            let (body, r) = split_braced(r)
                .ok_or_else(|| format!("invalid interpolation in {}: unterminated \"${{\"", quoted(s)))?;
            out.push_str(&expand_braced(body, env, s, depth)?);
            too_long(&out)?;
            rest = r;
        } else {
            let name_len = name_len(after);
            if name_len == 0 {
                // A lone `$` (e.g. "cost $5") is kept: only `${` is a template.
                out.push('$');
                rest = after;
            } else {
                out.push_str(env.get(&after[..name_len]).map(String::as_str).unwrap_or(""));
                too_long(&out)?;
                rest = &after[name_len..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn too_long(out: &str) -> Result<(), String> {
    if out.len() > MAX_INTERPOLATED {
        return Err(format!("interpolation makes a value longer than {} MiB", MAX_INTERPOLATED >> 20));
    }
    Ok(())
}

/// Length of the variable name at the start of `s` (`[A-Za-z_][A-Za-z0-9_]*`).
fn name_len(s: &str) -> usize {
    let mut n = 0;
    for (i, c) in s.char_indices() {
        let ok = c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit());
        if !ok {
            break;
        }
        n = i + c.len_utf8();
    }
    n
}

/// Splits `s` (just after `${`) at its matching `}`, honouring nested `${`
/// and `$$` escapes. Returns (body, rest after `}`).
fn split_braced(s: &str) -> Option<(&str, &str)> {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'$') => i += 1,
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some((&s[..i], &s[i + 1..])),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn expand_braced(
    body: &str,
    env: &BTreeMap<String, String>,
    whole: &str,
    depth: usize,
) -> Result<String, String> {
    let n = name_len(body);
    if n == 0 {
        return Err(format!(
            "invalid interpolation in {}: \"${{{body}}}\" has no valid variable name",
            quoted(whole)
        ));
    }
    let name = &body[..n];
    let op = &body[n..];
    let value = env.get(name);
    let set = value.is_some();
    let non_empty = value.is_some_and(|v| !v.is_empty());
    let value = value.map(String::as_str).unwrap_or("");
    if op.is_empty() {
        return Ok(value.to_string());
    }
    // Longest operators first: `:-` before `-`.
    let ops: [(&str, bool); 6] =
        [(":-", true), (":?", true), (":+", true), ("-", false), ("?", false), ("+", false)];
    for (sym, colon) in ops {
        let Some(arg) = op.strip_prefix(sym) else { continue };
        // With ':' an empty value counts as unset.
        let present = if colon { non_empty } else { set };
        return match sym.trim_start_matches(':') {
            "-" if present => Ok(value.to_string()),
            "-" => interpolate_nested(arg, env, depth + 1),
            "?" if present => Ok(value.to_string()),
            "?" => {
                let msg = interpolate_nested(arg, env, depth + 1)?;
                Err(if msg.is_empty() {
                    format!("required variable {name} is missing a value")
                } else {
                    format!("required variable {name} is missing a value: {msg}")
                })
            }
            "+" if present => interpolate_nested(arg, env, depth + 1),
            _ => Ok(String::new()),
        };
    }
    Err(format!(
        "invalid interpolation in {}: unexpected {} after variable {name}",
        quoted(whole),
        quoted(op)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env() -> BTreeMap<String, String> {
        [("A", "alpha"), ("EMPTY", ""), ("N", "1500"), ("B", "beta")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn ip(s: &str) -> String {
        interpolate_str(s, &env()).unwrap()
    }

    fn err(s: &str) -> String {
        interpolate_str(s, &env()).unwrap_err()
    }

    #[test]
    fn plain_strings_unchanged() {
        assert_eq!(ip("no vars here"), "no vars here");
        assert_eq!(ip(""), "");
    }

    #[test]
    fn bare_and_braced_variables() {
        assert_eq!(ip("$A"), "alpha");
        assert_eq!(ip("x-$A-y"), "x-alpha-y");
        assert_eq!(ip("${A}"), "alpha");
        assert_eq!(ip("pre${A}post"), "prealphapost");
        assert_eq!(ip("$A$B"), "alphabeta");
        assert_eq!(ip("$A.x"), "alpha.x");
    }

    #[test]
    fn unset_without_default_is_empty() {
        assert_eq!(ip("[$NOPE]"), "[]");
        assert_eq!(ip("[${NOPE}]"), "[]");
    }

    #[test]
    fn dollar_dollar_is_literal_dollar() {
        assert_eq!(ip("$$"), "$");
        assert_eq!(ip("$$A"), "$A");
        assert_eq!(ip("$${A}"), "${A}");
        assert_eq!(ip("a$$$A"), "a$alpha");
    }

    #[test]
    fn lone_dollar_is_kept() {
        assert_eq!(ip("cost $5"), "cost $5");
        assert_eq!(ip("end$"), "end$");
    }

    #[test]
    fn colon_dash_default_for_unset_or_empty() {
        assert_eq!(ip("${NOPE:-def}"), "def");
        assert_eq!(ip("${EMPTY:-def}"), "def");
        assert_eq!(ip("${A:-def}"), "alpha");
        assert_eq!(ip("${NOPE:-}"), "");
    }

    #[test]
    fn dash_default_only_for_unset() {
        assert_eq!(ip("${NOPE-def}"), "def");
        assert_eq!(ip("${EMPTY-def}"), "");
        assert_eq!(ip("${A-def}"), "alpha");
    }

    #[test]
    fn plus_alternatives() {
        assert_eq!(ip("${A:+alt}"), "alt");
        assert_eq!(ip("${EMPTY:+alt}"), "");
        assert_eq!(ip("${EMPTY+alt}"), "alt");
        assert_eq!(ip("${NOPE+alt}"), "");
    }

    #[test]
    fn nested_defaults() {
        assert_eq!(ip("${NOPE:-${A}}"), "alpha");
        assert_eq!(ip("${NOPE:-${ALSO_NOPE:-deep}}"), "deep");
        assert_eq!(ip("${NOPE:-x${B}y}-z"), "xbetay-z");
        assert_eq!(ip("${NOPE:-$A}"), "alpha");
        assert_eq!(ip("${A:-${NOPE:?unused}}"), "alpha", "unused default must not be evaluated");
    }

    #[test]
    fn default_may_contain_escaped_dollar_and_colons() {
        assert_eq!(ip("${NOPE:-$$HOME}"), "$HOME");
        assert_eq!(ip("${NOPE:-10.0.0.1/24}"), "10.0.0.1/24");
        assert_eq!(ip("${NOPE:-a:b-c}"), "a:b-c");
    }

    #[test]
    fn required_forms() {
        assert_eq!(ip("${A:?need A}"), "alpha");
        assert_eq!(ip("${EMPTY?need}"), "");
        assert_eq!(
            err("${NOPE:?set NOPE please}"),
            "required variable NOPE is missing a value: set NOPE please"
        );
        assert_eq!(err("${EMPTY:?empty}"), "required variable EMPTY is missing a value: empty");
        assert_eq!(err("${NOPE?gone}"), "required variable NOPE is missing a value: gone");
        assert_eq!(err("${NOPE:?}"), "required variable NOPE is missing a value");
        assert_eq!(err("${NOPE:-${X:?inner}}"), "required variable X is missing a value: inner");
    }

    #[test]
    fn nesting_is_limited_instead_of_overflowing_the_stack() {
        // Config that exposed it: a dev of 5000 nested `${X:-` … `}` aborted the process (stack overflow).
        let nested = |n: usize| format!("{}v{}", "${X:-".repeat(n), "}".repeat(n));
        assert_eq!(ip(&nested(MAX_NESTING)), "v");
        assert!(err(&nested(MAX_NESTING + 1)).contains("nested more than"));
        assert!(err(&nested(100_000)).contains("nested more than"));
    }

    #[test]
    fn growth_is_bounded_per_value_and_per_document() {
        let big: BTreeMap<String, String> = [("K".to_string(), "x".repeat(300_000))].into();
        assert!(interpolate_str(&"${K}".repeat(3), &big).is_ok());
        let e = interpolate_str(&"${K}".repeat(1000), &big).unwrap_err();
        assert!(e.contains("longer than 1 MiB"), "{e}");
        assert!(interpolate_str(&"$K".repeat(1000), &big).unwrap_err().contains("longer than 1 MiB"));
        // 100 values of 900 KB each: 90 MB unless the document budget stops it.
        let mut v = Value::Array(vec![json!("${K}${K}${K}"); 100]);
        let mut issues = Vec::new();
        interpolate_value(&mut v, &big, "", &mut issues);
        assert!(!issues.is_empty() && issues[0].message.contains("more than 8 MiB in all"), "{issues:?}");
    }

    #[test]
    fn malformed_braces() {
        assert!(err("${A").contains("unterminated"));
        assert!(err("x ${NOPE:-${A}").contains("unterminated"));
        assert!(err("${}").contains("no valid variable name"));
        assert!(err("${1X}").contains("no valid variable name"));
        assert!(err("${A B}").contains("unexpected"));
        assert!(err("${A:x}").contains("unexpected"));
    }

    #[test]
    fn walks_values_not_keys_and_reports_paths() {
        let mut v = json!({"links": [{"$A": "${A}", "ip": "${NOPE:?no ip}"}], "n": 5});
        let mut issues = Vec::new();
        interpolate_value(&mut v, &env(), "", &mut issues);
        assert_eq!(v["links"][0]["$A"], "alpha");
        assert_eq!(v["n"], 5);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].path, "/links/0/ip");
        assert!(issues[0].message.contains("no ip"));
    }

    #[test]
    fn numeric_keys_become_numbers_after_substitution() {
        let mut v = json!({"mtu": "${N}", "vlanid": "${V:-5}", "dev": "${N}", "vni": "x$A"});
        let mut issues = Vec::new();
        interpolate_value(&mut v, &env(), "", &mut issues);
        assert!(issues.is_empty());
        assert_eq!(v, json!({"mtu": 1500, "vlanid": 5, "dev": "1500", "vni": "xalpha"}));
    }

    #[test]
    fn all_errors_in_a_document_are_reported() {
        let mut v = json!({"a": "${X:?one}", "b": ["${Y?two}", "${"]});
        let mut issues = Vec::new();
        interpolate_value(&mut v, &env(), "f.yaml:", &mut issues);
        let paths: Vec<_> = issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["f.yaml:/a", "f.yaml:/b/0", "f.yaml:/b/1"]);
    }
}
