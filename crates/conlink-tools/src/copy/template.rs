//! `{{VAR}}` substitution for `copy -T`.
//!
//! A token is `{{`, then one or more characters that are not whitespace or
//! braces, then `}}` (the original's rule). Known variables are replaced by their value;
//! unknown ones are left exactly as written and reported, so a typo is seen
//! instead of silently becoming an empty string. Works on bytes: binary files
//! pass through unchanged unless they contain such a token.

#[derive(Debug, Default, PartialEq)]
pub struct Rendered {
    pub output: Vec<u8>,
    /// Variable names that were replaced (each once, in first-seen order).
    pub replaced: Vec<String>,
    /// Variable names that had no value (each once, in first-seen order).
    pub unknown: Vec<String>,
}

pub fn render(input: &[u8], lookup: impl Fn(&str) -> Option<Vec<u8>>) -> Rendered {
    let mut out = Rendered::default();
    let mut i = 0;
    while i < input.len() {
        if let Some((name, len)) = token_at(&input[i..]) {
            match lookup(name) {
                Some(value) => {
                    out.output.extend_from_slice(&value);
                    push_once(&mut out.replaced, name);
                }
                None => {
                    out.output.extend_from_slice(&input[i..i + len]);
                    push_once(&mut out.unknown, name);
                }
            }
            i += len;
        } else {
            out.output.push(input[i]);
            i += 1;
        }
    }
    out
}

/// If `s` starts with a token, its variable name and the token's length.
fn token_at(s: &[u8]) -> Option<(&str, usize)> {
    let body = s.strip_prefix(b"{{")?;
    let end = body.iter().position(|&b| b == b'}' || b == b'{' || b.is_ascii_whitespace())?;
    if end == 0 || !body[end..].starts_with(b"}}") {
        return None;
    }
    Some((std::str::from_utf8(&body[..end]).ok()?, end + 4))
}

fn push_once(list: &mut Vec<String>, name: &str) {
    if !list.iter().any(|n| n == name) {
        list.push(name.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<Vec<u8>> {
        match name {
            "FOO" => Some(b"foo-value".to_vec()),
            "EMPTY" => Some(Vec::new()),
            "SLASHY" => Some(b"a/b&c\\d".to_vec()),
            _ => None,
        }
    }

    #[test]
    fn replaces_known_keeps_unknown() {
        let r = render(b"x={{FOO}} y={{NOPE}} z={{FOO}}{{EMPTY}}.", env);
        assert_eq!(String::from_utf8(r.output).unwrap(), "x=foo-value y={{NOPE}} z=foo-value.");
        assert_eq!(r.replaced, vec!["FOO", "EMPTY"]);
        assert_eq!(r.unknown, vec!["NOPE"]);
    }

    #[test]
    fn values_are_literal() {
        // The original used sed; special characters must not be interpreted.
        let r = render(b"{{SLASHY}}", env);
        assert_eq!(r.output, b"a/b&c\\d");
    }

    #[test]
    fn non_tokens_untouched() {
        for s in ["{{}}", "{{ FOO }}", "{FOO}", "{{FOO}", "{{FO{O}}", "}}{{", "{{{FOO}}}"] {
            let r = render(s.as_bytes(), env);
            let expect = if s == "{{{FOO}}}" { "{foo-value}" } else { s };
            assert_eq!(String::from_utf8(r.output).unwrap(), expect, "input {s}");
        }
    }

    #[test]
    fn binary_passthrough() {
        let input = [0u8, 159, 146, 150, b'{', b'{', 0xff, b'}', b'}'];
        assert_eq!(render(&input, env).output, input);
    }
}
