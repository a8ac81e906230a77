//! dctest's `${{ ... }}` interpolation, for the expressions step files use:
//! `process.env.NAME`, `env.NAME`, quoted strings, numbers, `true`/`false`/
//! `null`, joined by `||` (the first truthy value, as in JavaScript).
//! Anything else is an error naming the expression, never a silent guess.

use std::collections::BTreeMap;

pub struct Context<'a> {
    /// The runner's own environment (`process.env`).
    pub process_env: &'a BTreeMap<String, String>,
    /// The suite's, test's and step's `env` so far (`env`).
    pub env: &'a BTreeMap<String, String>,
}

/// Replaces every `${{ EXPR }}` in `text`; `undefined`/`null` become "".
pub fn interpolate(text: &str, ctx: &Context) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let end = after.find("}}").ok_or_else(|| format!("unclosed '${{{{' in {text:?}"))?;
        let value = eval(after[..end].trim(), ctx)?;
        out.push_str(&value.unwrap_or_default());
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The value of EXPR: `None` for undefined/null/false-y results of `||` chains.
pub fn eval(expr: &str, ctx: &Context) -> Result<Option<String>, String> {
    let terms = split_or(expr)?;
    let mut last = None;
    for term in &terms {
        let value = term_value(term.trim(), ctx).map_err(|e| format!("in expression '{expr}': {e}"))?;
        // JavaScript truthiness of the strings and numbers these expressions produce.
        let truthy = value.as_deref().is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
        if truthy {
            return Ok(value);
        }
        last = value;
    }
    Ok(last)
}

/// Splits on `||` outside quotes.
fn split_or(expr: &str) -> Result<Vec<String>, String> {
    let mut terms = vec![String::new()];
    let mut quote: Option<char> = None;
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, '|') if chars.peek() == Some(&'|') => {
                chars.next();
                terms.push(String::new());
                continue;
            }
            _ => {}
        }
        terms.last_mut().unwrap().push(c);
    }
    if quote.is_some() {
        return Err(format!("unclosed quote in expression '{expr}'"));
    }
    Ok(terms)
}

fn term_value(term: &str, ctx: &Context) -> Result<Option<String>, String> {
    if let Some(name) = term.strip_prefix("process.env.") {
        return Ok(ctx.process_env.get(identifier(name)?).cloned());
    }
    if let Some(name) = term.strip_prefix("env.") {
        return Ok(ctx.env.get(identifier(name)?).cloned());
    }
    for q in ['\'', '"'] {
        if term.len() >= 2 && term.starts_with(q) && term.ends_with(q) {
            return Ok(Some(term[1..term.len() - 1].to_string()));
        }
    }
    match term {
        "null" | "undefined" => Ok(None),
        "true" | "false" => Ok(Some(term.to_string())),
        _ if !term.is_empty() && term.parse::<f64>().is_ok() => Ok(Some(term.to_string())),
        _ => Err(format!("unsupported term '{term}' (supported: process.env.X, env.X, 'text', numbers, ||)")),
    }
}

fn identifier(name: &str) -> Result<&str, String> {
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some(name).ok_or_else(|| format!("'{name}' is not a variable name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx_with(
        process: &[(&str, &str)],
        env: &[(&str, &str)],
    ) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let m = |v: &[(&str, &str)]| v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        (m(process), m(env))
    }

    #[test]
    fn process_env_with_a_default() {
        let (p, e) = ctx_with(&[], &[]);
        let ctx = Context { process_env: &p, env: &e };
        let s = "${{ process.env.DOCKER_COMPOSE || 'docker compose' }}";
        assert_eq!(interpolate(s, &ctx).unwrap(), "docker compose");
        let (p, e) = ctx_with(&[("DOCKER_COMPOSE", "podman-compose")], &[]);
        let ctx = Context { process_env: &p, env: &e };
        assert_eq!(interpolate(s, &ctx).unwrap(), "podman-compose");
        let (p, e) = ctx_with(&[("DOCKER_COMPOSE", "")], &[]);
        let ctx = Context { process_env: &p, env: &e };
        assert_eq!(interpolate(s, &ctx).unwrap(), "docker compose", "'' is falsy");
    }

    #[test]
    fn env_text_around_and_several_expressions() {
        let (p, e) = ctx_with(&[("A", "x")], &[("MODE", "patch")]);
        let ctx = Context { process_env: &p, env: &e };
        assert_eq!(
            interpolate("m=${{env.MODE}} a=${{ process.env.A }} u=${{ env.NOPE }}.", &ctx).unwrap(),
            "m=patch a=x u=."
        );
        assert_eq!(interpolate("no expressions ${DC}", &ctx).unwrap(), "no expressions ${DC}");
        assert_eq!(interpolate("${{ \"a||b\" }}", &ctx).unwrap(), "a||b");
        assert_eq!(interpolate("${{ env.NOPE || 0 || 'z' }}", &ctx).unwrap(), "z");
    }

    #[test]
    fn unsupported_expressions_are_errors() {
        let (p, e) = ctx_with(&[], &[]);
        let ctx = Context { process_env: &p, env: &e };
        assert!(interpolate("${{ contains(step.stdout, 'x') }}", &ctx)
            .unwrap_err()
            .contains("unsupported term"));
        assert!(interpolate("${{ env.X", &ctx).unwrap_err().contains("unclosed"));
        assert!(interpolate("${{ 'x }}", &ctx).unwrap_err().contains("unclosed quote"));
        assert!(interpolate("${{ env.a-b }}", &ctx).unwrap_err().contains("not a variable name"));
    }
}
