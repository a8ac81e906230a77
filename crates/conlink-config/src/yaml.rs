//! YAML text → `serde_json::Value`, with merge keys applied and errors that
//! name the file, line and column.

use serde_json::{Map, Value};
use serde_norway::Value as Yaml;

use crate::error::ConfigIssue;

/// Parses YAML (or JSON, a YAML subset). An empty document is `null`.
pub fn parse_yaml(origin: &str, text: &str) -> Result<Value, ConfigIssue> {
    let mut doc: Yaml = serde_norway::from_str(text).map_err(|e| yaml_issue(origin, &e))?;
    // Compose files commonly use `<<: *anchor`; resolve them like compose does.
    doc.apply_merge().map_err(|e| yaml_issue(origin, &e))?;
    Ok(to_json(doc))
}

fn yaml_issue(origin: &str, e: &serde_norway::Error) -> ConfigIssue {
    let msg = match e.location() {
        Some(loc) => format!("invalid YAML at line {} column {}: {e}", loc.line(), loc.column()),
        None => format!("invalid YAML: {e}"),
    };
    ConfigIssue::new(origin, msg)
}

fn to_json(y: Yaml) -> Value {
    match y {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64().and_then(serde_json::Number::from_f64).map(Value::Number).unwrap_or(Value::Null)
            }
        }
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(seq) => Value::Array(seq.into_iter().map(to_json).collect()),
        Yaml::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                out.insert(key_string(k), to_json(v));
            }
            Value::Object(out)
        }
        // Custom tags carry no meaning for conlink; keep the value.
        Yaml::Tagged(t) => to_json(t.value),
    }
}

/// JSON keys are strings; YAML allows `80: x` or `true: y`, keep their text.
fn key_string(k: Yaml) -> String {
    match k {
        Yaml::String(s) => s,
        Yaml::Null => "null".into(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.to_string(),
        other => serde_json::to_string(&to_json(other)).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_maps_lists_and_numbers() {
        let v = parse_yaml("f", "links:\n  - {service: a, mtu: 1500, ip: 10.0.0.1/24}\n").unwrap();
        assert_eq!(v, json!({"links": [{"service": "a", "mtu": 1500, "ip": "10.0.0.1/24"}]}));
    }

    #[test]
    fn empty_document_is_null() {
        assert_eq!(parse_yaml("f", "").unwrap(), Value::Null);
        assert_eq!(parse_yaml("f", "# only a comment\n").unwrap(), Value::Null);
    }

    #[test]
    fn merge_keys_are_applied() {
        let v = parse_yaml("f", "base: &b {mtu: 9000}\nlink:\n  <<: *b\n  dev: eth1\n").unwrap();
        assert_eq!(v["link"], json!({"mtu": 9000, "dev": "eth1"}));
    }

    #[test]
    fn non_string_keys_become_strings() {
        let v = parse_yaml("f", "80: web\ntrue: x\n").unwrap();
        assert_eq!(v, json!({"80": "web", "true": "x"}));
    }

    #[test]
    fn syntax_error_names_file_line_and_column() {
        let e = parse_yaml("net.yaml", "links:\n  - service: a\n   bad: [\n").unwrap_err();
        assert_eq!(e.path, "net.yaml");
        assert!(e.message.contains("line 3"), "{}", e.message);
        assert!(e.message.contains("column"), "{}", e.message);
    }
}
