//! Compose's env-file syntax (the `.env` beside the compose file), as
//! compose-go's dotenv parser reads it:
//!
//! - `KEY=VALUE`, `KEY: VALUE`, an optional `export ` prefix, blanks around
//!   the separator; a line with only `KEY` takes KEY from the environment;
//! - `# comment` lines, and ` #…` after an unquoted value;
//! - `'single'` quotes: literal (only `\'` is unescaped), may span lines;
//! - `"double"` quotes: `\n \t \" \\ \$ …` escapes, then `${VAR}` interpolation;
//! - unquoted values: trimmed, then `${VAR}` interpolation.
//!
//! Interpolation inside the file sees the process environment first, then
//! the keys set earlier in the file (compose's order), so the process
//! environment wins there too.

use std::collections::BTreeMap;

use crate::interpolate::interpolate_str;

/// Parses `text`; `process_env` answers `${VAR}` and bare `KEY` lines.
/// The error names the line: `line 3: unterminated quoted value "abc`.
pub fn parse_env_file(
    text: &str,
    process_env: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = BTreeMap::new();
    // What interpolation sees: the process environment, then the file's keys so far.
    let mut lookup = process_env.clone();
    let mut p = Cursor { rest: text, line: 1 };
    // Values may reference earlier ones (`B=${A}${A}`): bound what they add up to.
    let mut total = 0usize;
    while p.statement_start() {
        let line = p.line;
        let (key, inherited) = p.key()?;
        if inherited {
            if let Some(v) = lookup.get(&key).cloned() {
                out.insert(key, v);
            }
            continue;
        }
        let value = p.value(&lookup).map_err(|e| format!("line {line}: {e}"))?;
        total += value.len();
        if total > crate::budget::MAX_INPUT_BYTES {
            return Err(format!(
                "line {line}: the values add up to more than {} MiB (interpolation inside the file)",
                crate::budget::MAX_INPUT_BYTES >> 20
            ));
        }
        if !process_env.contains_key(&key) {
            lookup.insert(key.clone(), value.clone());
        }
        out.insert(key, value);
    }
    Ok(out)
}

/// Spaces that do not end a line (compose's `isSpace`).
fn is_space(c: char) -> bool {
    matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}')
}

struct Cursor<'a> {
    rest: &'a str,
    line: usize,
}

impl Cursor<'_> {
    fn advance(&mut self, n: usize) {
        self.line += self.rest[..n].matches('\n').count();
        self.rest = &self.rest[n..];
    }

    /// Skips blank space and comment lines; false at the end of the text.
    fn statement_start(&mut self) -> bool {
        loop {
            let Some(pos) = self.rest.find(|c: char| !c.is_whitespace()) else {
                self.advance(self.rest.len());
                return false;
            };
            self.advance(pos);
            if !self.rest.starts_with('#') {
                return true;
            }
            match self.rest.find('\n') {
                Some(nl) => self.advance(nl),
                None => {
                    self.advance(self.rest.len());
                    return false;
                }
            }
        }
    }

    /// The key, and whether the line has no value (`KEY` alone: inherited).
    fn key(&mut self) -> Result<(String, bool), String> {
        if let Some(after) = self.rest.strip_prefix("export") {
            if after.starts_with(is_space) {
                let trimmed = after.trim_start_matches(is_space);
                let skip = self.rest.len() - trimmed.len();
                self.advance(skip);
            }
        }
        let mut end = None;
        for (i, c) in self.rest.char_indices() {
            match c {
                '=' | ':' | '\n' => {
                    end = Some((i, c));
                    break;
                }
                c if is_space(c) => {}
                '_' | '.' | '-' | '[' | ']' => {}
                c if c.is_alphanumeric() => {}
                c => {
                    let first_line = self.rest.lines().next().unwrap_or("");
                    return Err(format!(
                        "line {}: unexpected character {c:?} in variable name {}",
                        self.line,
                        crate::error::quoted(first_line)
                    ));
                }
            }
        }
        // A last line without separator or newline is a bare key too.
        let (i, sep) = end.unwrap_or((self.rest.len(), '\n'));
        let key = self.rest[..i].trim_end().to_string();
        if key.is_empty() {
            return Err(format!("line {}: a variable name is missing before {sep:?}", self.line));
        }
        if key.contains(char::is_whitespace) {
            return Err(format!("line {}: key cannot contain a space", self.line));
        }
        self.advance((i + sep.len_utf8()).min(self.rest.len()));
        if sep == '\n' {
            return Ok((key, true));
        }
        let trimmed = self.rest.trim_start_matches(is_space);
        self.advance(self.rest.len() - trimmed.len());
        Ok((key, false))
    }

    fn value(&mut self, env: &BTreeMap<String, String>) -> Result<String, String> {
        let quote = match self.rest.chars().next() {
            Some(q @ ('"' | '\'')) => q,
            _ => {
                let end = self.rest.find('\n').unwrap_or(self.rest.len());
                let raw = &self.rest[..end];
                let raw = raw.split_once(" #").map_or(raw, |(v, _)| v).trim_end();
                let value = interpolate_str(raw, env);
                self.advance((end + 1).min(self.rest.len()));
                return value;
            }
        };
        let body = &self.rest[1..];
        let mut chars = String::new();
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            if c == quote && !escaped {
                let value = if quote == '"' { interpolate_str(&expand_escapes(&chars), env)? } else { chars };
                self.advance(1 + i + 1);
                return Ok(value);
            }
            if c == '\\' && !escaped {
                escaped = true;
                continue;
            }
            // An escaped quote is the quote; other escapes are kept for expand_escapes.
            if escaped && c != quote {
                chars.push('\\');
            }
            escaped = false;
            chars.push(c);
        }
        let first_line = self.rest.lines().next().unwrap_or("");
        Err(format!("unterminated quoted value {}", crate::error::quoted(first_line)))
    }
}

/// Shell escapes of double-quoted values; `\$` becomes `$$` (a literal `$`
/// for interpolation). Unknown escapes are kept as written.
fn expand_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(&next) = chars.peek() else {
            out.push('\\');
            break;
        };
        let plain = match next {
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'c' => None,
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            '$' => {
                chars.next();
                out.push_str("$$");
                continue;
            }
            '0' => {
                chars.next();
                let mut digits = String::new();
                while digits.len() < 3 && chars.peek().is_some_and(|d| d.is_digit(8)) {
                    digits.push(chars.next().unwrap_or('0'));
                }
                match u8::from_str_radix(if digits.is_empty() { "0" } else { &digits }, 8) {
                    Ok(b) => out.push(char::from(b)),
                    Err(_) => out.push_str(&format!("\\0{digits}")),
                }
                continue;
            }
            _ => None,
        };
        match plain {
            Some(p) => {
                chars.next();
                out.push(p);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn parse(text: &str) -> BTreeMap<String, String> {
        parse_env_file(text, &env(&[("HOME", "/root"), ("WINS", "process")])).unwrap()
    }

    #[test]
    fn plain_values_spaces_and_yaml_style() {
        let v = parse("A=1\nB= 2\nC =3\nD = 4 \n456 = ABC\nE=\nF = \nG: seven\n");
        assert_eq!(
            v,
            env(&[
                ("A", "1"),
                ("B", "2"),
                ("C", "3"),
                ("D", "4"),
                ("456", "ABC"),
                ("E", ""),
                ("F", ""),
                ("G", "seven")
            ])
        );
    }

    #[test]
    fn comments_and_inline_comments() {
        let v = parse(
            "# a comment\n  # indented comment\nA=x # inline\nB=x#not-a-comment\nC='q' # after quote\n",
        );
        assert_eq!(v, env(&[("A", "x"), ("B", "x#not-a-comment"), ("C", "q")]));
    }

    #[test]
    fn export_prefix() {
        let v = parse("export A=2\nexport  B='\\n'\nexported=3\n");
        assert_eq!(v, env(&[("A", "2"), ("B", "\\n"), ("exported", "3")]));
    }

    #[test]
    fn single_quotes_are_literal_and_may_span_lines() {
        let v = parse("A='${HOME} $HOME'\nB='Let\\'s go!'\nC='first\nsecond'\nD=''\n");
        assert_eq!(v["A"], "${HOME} $HOME");
        assert_eq!(v["B"], "Let's go!");
        assert_eq!(v["C"], "first\nsecond");
        assert_eq!(v["D"], "");
    }

    #[test]
    fn double_quotes_unescape_then_interpolate() {
        let v = parse("A=\"a\\nb\\tc\"\nB=\"say \\\"hi\\\"\"\nC=\"${HOME}/x\"\nD=\"\\$HOME\"\nE=\"\\0101\"\nF=\"\\q\"\n");
        assert_eq!(v["A"], "a\nb\tc");
        assert_eq!(v["B"], "say \"hi\"");
        assert_eq!(v["C"], "/root/x");
        assert_eq!(v["D"], "$HOME", "\\$ is a literal dollar");
        assert_eq!(v["E"], "A");
        assert_eq!(v["F"], "\\q", "unknown escapes stay as written");
    }

    #[test]
    fn interpolation_sees_earlier_keys_and_the_process_env_first() {
        let v = parse("A=1\nB=${A}\nC=$B-x\nD=${NOPE:-def}\nE=${UNSET}\nWINS=file\nF=${WINS}\n");
        assert_eq!(v["B"], "1");
        assert_eq!(v["C"], "1-x");
        assert_eq!(v["D"], "def");
        assert_eq!(v["E"], "");
        assert_eq!(v["WINS"], "file", "the file's own value is returned; the caller lets the process win");
        assert_eq!(v["F"], "process", "inside the file the process environment is looked up first");
    }

    #[test]
    fn bare_keys_are_inherited_from_the_environment() {
        let v = parse("HOME\nMISSING\nLAST=1\nWINS");
        assert_eq!(v, env(&[("HOME", "/root"), ("LAST", "1"), ("WINS", "process")]));
    }

    #[test]
    fn special_key_characters_and_bom() {
        let v = parse("\u{feff}VAR.WITH.DOTS=dots\nVAR-WITH-DASHES=dashes\nA[0]=x\n");
        assert_eq!(v["VAR.WITH.DOTS"], "dots");
        assert_eq!(v["VAR-WITH-DASHES"], "dashes");
        assert_eq!(v["A[0]"], "x");
    }

    #[test]
    fn crlf_line_ends() {
        let v = parse("A=1\r\nB=\"two\"\r\n");
        assert_eq!(v, env(&[("A", "1"), ("B", "two")]));
    }

    #[test]
    fn errors_name_the_line() {
        let e = |t: &str| parse_env_file(t, &BTreeMap::new()).unwrap_err();
        assert!(
            e("A=1\nB=\"open\n").starts_with("line 2: unterminated quoted value"),
            "{}",
            e("A=1\nB=\"open\n")
        );
        assert!(e("A=1\n\nKEY WITH SPACE=1\n").starts_with("line 3: key cannot contain a space"));
        assert!(e("A$=1\n").contains("unexpected character '$'"), "{}", e("A$=1\n"));
        assert!(e("=x\n").contains("variable name is missing"));
        let req = e("A=${NEED:?set NEED}\n");
        assert!(req.starts_with("line 1: required variable NEED"), "{req}");
    }

    #[test]
    fn doubling_values_are_stopped() {
        let text: String = std::iter::once("K0=xxxxxxxxxxxxxxxx\n".to_string())
            .chain((1..40).map(|i| format!("K{i}=${{K{0}}}${{K{0}}}\n", i - 1)))
            .collect();
        let t = std::time::Instant::now();
        let e = parse_env_file(&text, &BTreeMap::new()).unwrap_err();
        assert!(e.contains("longer than 1 MiB") || e.contains("add up to more than 4 MiB"), "{e}");
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn empty_and_comment_only_files() {
        assert!(parse("").is_empty());
        assert!(parse("\n\n# x\n   \n").is_empty());
    }
}
