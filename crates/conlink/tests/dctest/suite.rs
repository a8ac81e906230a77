//! The dctest step-file format as the original conlink's test/*.yaml use it:
//! `name`, `env`, `tests: {ID: {name, env, steps}}`, steps with `exec`
//! (`:host` or a compose service), `index`, `run` (string or list), `env`,
//! `shell` and `repeat: {retries, interval}`.

use std::path::Path;
use std::time::Duration;

use serde_norway::{Mapping, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Suite {
    pub name: String,
    /// In file order: later values may refer to earlier ones (`env.X`).
    pub env: Vec<(String, String)>,
    pub tests: Vec<Test>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    pub id: String,
    pub name: String,
    pub env: Vec<(String, String)>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Exec {
    Host,
    Service(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Repeat {
    /// `None`: retry until it succeeds (dctest's default).
    pub retries: Option<u32>,
    pub interval: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: String,
    pub exec: Exec,
    pub index: u32,
    /// Commands run one after the other; all must succeed.
    pub run: Vec<String>,
    pub env: Vec<(String, String)>,
    pub shell: String,
    pub repeat: Option<Repeat>,
}

pub fn load(path: &Path) -> Result<Suite, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let default_name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    parse(&text, &default_name).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn parse(text: &str, default_name: &str) -> Result<Suite, String> {
    let doc: Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    let top = mapping(&doc, "the suite")?;
    let mut tests = Vec::new();
    if let Some(t) = top.get("tests") {
        for (id, test) in mapping(t, "tests")? {
            let id = scalar(id, "a test id")?;
            tests.push(parse_test(&id, test).map_err(|e| format!("tests.{id}: {e}"))?);
        }
    }
    Ok(Suite {
        name: opt_string(top, "name", "name")?.unwrap_or_else(|| default_name.to_string()),
        env: env(top, "env")?,
        tests,
    })
}

fn parse_test(id: &str, v: &Value) -> Result<Test, String> {
    let m = mapping(v, "a test")?;
    let mut steps = Vec::new();
    if let Some(s) = m.get("steps") {
        let list = s.as_sequence().ok_or("steps: must be a list")?;
        for (i, step) in list.iter().enumerate() {
            steps.push(parse_step(i + 1, step).map_err(|e| format!("steps[{i}]: {e}"))?);
        }
    }
    Ok(Test {
        id: id.to_string(),
        name: opt_string(m, "name", "name")?.unwrap_or_else(|| id.to_string()),
        env: env(m, "env")?,
        steps,
    })
}

fn parse_step(number: usize, v: &Value) -> Result<Step, String> {
    let m = mapping(v, "a step")?;
    let exec = match opt_string(m, "exec", "exec")?.as_deref() {
        None => return Err("exec: required".into()),
        Some(":host") => Exec::Host,
        Some(service) => Exec::Service(service.to_string()),
    };
    let run = match m.get("run") {
        None => return Err("run: required".into()),
        Some(Value::Sequence(list)) => list.iter().map(|c| scalar(c, "run[]")).collect::<Result<_, _>>()?,
        Some(other) => vec![scalar(other, "run")?],
    };
    let index = match m.get("index") {
        None => 1,
        Some(i) => i
            .as_u64()
            .and_then(|i| u32::try_from(i).ok())
            .filter(|i| *i >= 1)
            .ok_or("index: must be 1 or more")?,
    };
    let shell = opt_string(m, "shell", "shell")?.unwrap_or_else(|| "sh".into());
    if shell != "sh" && shell != "bash" {
        return Err(format!("shell: must be sh or bash, not '{shell}'"));
    }
    let repeat = match m.get("repeat") {
        None | Some(Value::Null) => None,
        Some(r) => Some(parse_repeat(mapping(r, "repeat")?)?),
    };
    Ok(Step {
        name: opt_string(m, "name", "name")?.unwrap_or_else(|| format!("step {number}")),
        exec,
        index,
        run,
        env: env(m, "env")?,
        shell,
        repeat,
    })
}

fn parse_repeat(m: &Mapping) -> Result<Repeat, String> {
    let retries = match m.get("retries") {
        None | Some(Value::Null) => None,
        Some(r) => {
            Some(r.as_u64().and_then(|r| u32::try_from(r).ok()).ok_or("repeat.retries: must be a count")?)
        }
    };
    let interval = match opt_string(m, "interval", "repeat.interval")? {
        None => Duration::from_secs(1),
        Some(s) => parse_interval(&s)
            .ok_or_else(|| format!("repeat.interval: '{s}' is not like 1s, 500ms or 1m20s"))?,
    };
    Ok(Repeat { retries, interval })
}

/// Docker Compose healthcheck durations: `1m20s`, `2s`, `500ms`, `1h`.
pub fn parse_interval(s: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        let n: u64 = rest[..digits].parse().ok()?;
        let unit_end = rest[digits..].find(|c: char| c.is_ascii_digit()).map_or(rest.len(), |i| digits + i);
        let unit = match &rest[digits..unit_end] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return None,
        };
        total += unit * u32::try_from(n).ok()?;
        rest = &rest[unit_end..];
    }
    Some(total)
}

fn mapping<'a>(v: &'a Value, what: &str) -> Result<&'a Mapping, String> {
    v.as_mapping().ok_or_else(|| format!("{what} must be a mapping"))
}

/// Strings, numbers and booleans as the text YAML wrote (env values are often numbers).
fn scalar(v: &Value, what: &str) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(format!("{what}: must be a string")),
    }
}

fn opt_string(m: &Mapping, key: &str, what: &str) -> Result<Option<String>, String> {
    m.get(key).map(|v| scalar(v, what)).transpose()
}

fn env(m: &Mapping, key: &str) -> Result<Vec<(String, String)>, String> {
    let Some(v) = m.get(key) else { return Ok(Vec::new()) };
    mapping(v, key)?
        .iter()
        .map(|(k, v)| {
            let k = scalar(k, "an env name")?;
            let v = scalar(v, &format!("{key}.{k}"))?;
            Ok((k, v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_in_healthcheck_format() {
        assert_eq!(parse_interval("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_interval("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_interval("1m20s"), Some(Duration::from_secs(80)));
        assert_eq!(parse_interval("2"), None);
        assert_eq!(parse_interval("s"), None);
        assert_eq!(parse_interval("1d"), None);
        assert_eq!(parse_interval(""), None);
    }

    #[test]
    fn a_step_file_in_the_originals_form() {
        let text = r#"
name: "t: demo"
env:
  DC: "${{ process.env.DOCKER_COMPOSE || 'docker compose' }}"
  COMPOSE_FILE: examples/t-compose.yaml
tests:
  first:
    env: {MODE: auto, N: 3}
    steps:
      - exec: :host
        run: |
          ${DC} up -d
      - {exec: node, index: 2, run: ping -c1 10.0.1.1, repeat: {retries: 3, interval: '2s'}}
      - {exec: network, run: [true, 'echo x'], shell: bash, repeat: {}}
"#;
        let s = parse(text, "file").unwrap();
        assert_eq!(s.name, "t: demo");
        assert_eq!(s.env[1], ("COMPOSE_FILE".into(), "examples/t-compose.yaml".into()));
        let t = &s.tests[0];
        assert_eq!((t.id.as_str(), t.name.as_str()), ("first", "first"));
        assert_eq!(t.env, vec![("MODE".into(), "auto".into()), ("N".into(), "3".into())]);
        assert_eq!(t.steps[0].exec, Exec::Host);
        assert_eq!(t.steps[0].run, vec!["${DC} up -d\n".to_string()]);
        assert_eq!(t.steps[1].exec, Exec::Service("node".into()));
        assert_eq!(t.steps[1].index, 2);
        assert_eq!(t.steps[1].repeat, Some(Repeat { retries: Some(3), interval: Duration::from_secs(2) }));
        assert_eq!(t.steps[2].run, vec!["true".to_string(), "echo x".to_string()]);
        assert_eq!(t.steps[2].shell, "bash");
        assert_eq!(t.steps[2].repeat, Some(Repeat { retries: None, interval: Duration::from_secs(1) }));
    }

    #[test]
    fn errors_name_the_place() {
        let e = parse("tests: {a: {steps: [{run: x}]}}", "f").unwrap_err();
        assert_eq!(e, "tests.a: steps[0]: exec: required");
        let e = parse("tests: {a: {steps: [{exec: n, run: x, index: 0}]}}", "f").unwrap_err();
        assert!(e.contains("index: must be 1 or more"), "{e}");
        let e = parse("tests: {a: {steps: [{exec: n, run: x, repeat: {interval: 5x}}]}}", "f").unwrap_err();
        assert!(e.contains("repeat.interval: '5x'"), "{e}");
        let e = parse("tests: {a: {steps: [{exec: n, run: x, shell: zsh}]}}", "f").unwrap_err();
        assert!(e.contains("shell: must be sh or bash"), "{e}");
    }
}
