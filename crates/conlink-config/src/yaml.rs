//! YAML text → `serde_json::Value`, with merge keys applied and errors that
//! name the file, line and column. Parsing stays within the budgets of
//! [`crate::budget`]: depth is checked on the text before the parser runs,
//! and the document (aliases expanded) is built under a byte budget, so an
//! alias bomb is refused after at most that much work.

use std::cell::Cell;
use std::fmt;

use serde::de::{DeserializeSeed, EnumAccess, Error as _, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde_json::{Map, Value};
use serde_norway::{Mapping, Value as Yaml};

use crate::budget::{prescan, MAX_EXPANDED_BYTES, NODE_COST};
use crate::error::ConfigIssue;

/// Parses YAML (or JSON, a YAML subset). An empty document is `null`.
pub fn parse_yaml(origin: &str, text: &str) -> Result<Value, ConfigIssue> {
    parse_yaml_within(origin, text, &mut MAX_EXPANDED_BYTES.clone())
}

/// [`parse_yaml`], also charging the parsed size to `project_left`, a budget
/// shared by every file of one load (include/extends read many).
pub fn parse_yaml_within(origin: &str, text: &str, project_left: &mut usize) -> Result<Value, ConfigIssue> {
    if let Err(e) = prescan(text) {
        return Err(ConfigIssue::new(origin, e.to_string()));
    }
    let start = MAX_EXPANDED_BYTES.min(*project_left);
    let left = Cell::new(start);
    let de = serde_norway::Deserializer::from_str(text);
    let parsed = (Budgeted { left: &left }).deserialize(de);
    *project_left -= start - left.get();
    let mut doc = parsed.map_err(|e| {
        let mut issue = yaml_issue(origin, &e);
        if start < MAX_EXPANDED_BYTES && e.to_string().contains("once parsed") {
            issue.message =
                "the config files together are too large once parsed (include/extends read too much)".into();
        }
        issue
    })?;
    // Compose files commonly use `<<: *anchor`; resolve them like compose does.
    doc.apply_merge().map_err(|e| yaml_issue(origin, &e))?;
    Ok(to_json(doc))
}

/// Accounted size of a parsed value, as the parse budget counts it.
pub fn accounted_size(v: &Value) -> usize {
    NODE_COST
        + match v {
            Value::String(s) => s.len(),
            Value::Array(items) => items.iter().map(accounted_size).sum(),
            Value::Object(m) => m.iter().map(|(k, v)| k.len() + NODE_COST + accounted_size(v)).sum(),
            _ => 0,
        }
}

fn yaml_issue(origin: &str, e: &serde_norway::Error) -> ConfigIssue {
    let msg = match e.location() {
        Some(loc) => format!("invalid YAML at line {} column {}: {e}", loc.line(), loc.column()),
        None => format!("invalid YAML: {e}"),
    };
    ConfigIssue::new(origin, msg)
}

/// Builds a `serde_norway::Value` like its own `Deserialize`, but charges
/// every node (aliases are replayed, so charged again) against `left`.
#[derive(Clone, Copy)]
struct Budgeted<'a> {
    left: &'a Cell<usize>,
}

impl Budgeted<'_> {
    fn charge<E: serde::de::Error>(&self, bytes: usize) -> Result<(), E> {
        match self.left.get().checked_sub(NODE_COST + bytes) {
            Some(rest) => {
                self.left.set(rest);
                Ok(())
            }
            None => Err(E::custom(format!(
                "the document is larger than {} MiB once parsed (each YAML alias is a full copy of its anchor)",
                MAX_EXPANDED_BYTES >> 20
            ))),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Budgeted<'_> {
    type Value = Yaml;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Yaml, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Budgeted<'_> {
    type Value = Yaml;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<Yaml, E> {
        self.charge(0)?;
        Ok(Yaml::Bool(b))
    }
    fn visit_i64<E: serde::de::Error>(self, i: i64) -> Result<Yaml, E> {
        self.charge(0)?;
        Ok(Yaml::Number(i.into()))
    }
    fn visit_u64<E: serde::de::Error>(self, u: u64) -> Result<Yaml, E> {
        self.charge(0)?;
        Ok(Yaml::Number(u.into()))
    }
    fn visit_f64<E: serde::de::Error>(self, f: f64) -> Result<Yaml, E> {
        self.charge(0)?;
        Ok(Yaml::Number(f.into()))
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Yaml, E> {
        self.charge(s.len())?;
        Ok(Yaml::String(s.to_owned()))
    }
    fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Yaml, E> {
        self.charge(s.len())?;
        Ok(Yaml::String(s))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Yaml, E> {
        self.charge(0)?;
        Ok(Yaml::Null)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Yaml, E> {
        self.visit_unit()
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Yaml, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Yaml, A::Error> {
        self.charge(0)?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Yaml::Sequence(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Yaml, A::Error> {
        self.charge(0)?;
        let mut out = Mapping::new();
        while let Some(k) = map.next_key_seed(self)? {
            let v = map.next_value_seed(self)?;
            if out.contains_key(&k) {
                return Err(A::Error::custom(duplicate_key(&k)));
            }
            out.insert(k, v);
        }
        Ok(Yaml::Mapping(out))
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Yaml, A::Error> {
        // `!tag value`: custom tags carry no meaning for conlink; keep the value.
        let (_tag, contents): (String, _) = data.variant()?;
        contents.newtype_variant_seed(self)
    }
}

/// serde_norway's wording for a repeated key.
fn duplicate_key(k: &Yaml) -> String {
    match k {
        Yaml::Null => "duplicate entry with null key".into(),
        Yaml::Bool(b) => format!("duplicate entry with key `{b}`"),
        Yaml::Number(n) => format!("duplicate entry with key {n}"),
        Yaml::String(s) => format!("duplicate entry with key {s:?}"),
        _ => "duplicate entry in YAML map".into(),
    }
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
        // Not produced by the budgeted visitor; kept for completeness.
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

    #[test]
    fn alias_bomb_is_refused_within_the_budget() {
        // One 100 KB anchored string aliased 5000 times: 115 KB of text, 500 MB expanded.
        let mut text = format!("a: &big \"{}\"\nb: [", "x".repeat(100_000));
        text.push_str(&vec!["*big"; 5000].join(","));
        text.push_str("]\n");
        let t = std::time::Instant::now();
        let e = parse_yaml("bomb.yaml", &text).unwrap_err();
        assert_eq!(e.path, "bomb.yaml");
        assert!(e.message.contains("larger than 8 MiB once parsed"), "{}", e.message);
        assert!(t.elapsed() < std::time::Duration::from_secs(5), "{:?}", t.elapsed());
        // The same shape, small, is fine: aliases are allowed within the budget.
        let ok = format!("a: &s \"xyz\"\nb: [{}]\n", vec!["*s"; 50].join(","));
        assert_eq!(parse_yaml("f", &ok).unwrap()["b"].as_array().unwrap().len(), 50);
    }

    #[test]
    fn nesting_is_refused_before_parsing() {
        let t = std::time::Instant::now();
        let e = parse_yaml("deep.yaml", &format!("links: {}", "[".repeat(80_000))).unwrap_err();
        assert!(e.message.contains("nests deeper than 256 levels"), "{}", e.message);
        assert!(t.elapsed() < std::time::Duration::from_secs(5), "{:?}", t.elapsed());
    }

    #[test]
    fn tags_are_dropped_and_duplicate_keys_refused() {
        assert_eq!(parse_yaml("f", "a: !custom {b: 1}\n").unwrap(), json!({"a": {"b": 1}}));
        // The location is the start of the map holding the repeated key, as serde_norway's own.
        let e = parse_yaml("f", "x: 0\nm:\n  a: 1\n  a: 2\n").unwrap_err();
        assert!(e.message.contains("duplicate entry with key \"a\""), "{}", e.message);
        assert!(e.message.contains("line 3"), "{}", e.message);
    }
}
