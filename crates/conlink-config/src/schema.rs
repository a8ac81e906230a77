//! JSON-schema validation (boon) of the merged config, with boon's error
//! tree turned into one readable `PATH: message` per problem.

use std::path::Path;

use boon::{Compiler, Draft, ErrorKind, Schemas, ValidationError};
use serde_json::Value;

use crate::error::ConfigIssue;
use crate::yaml::parse_yaml;

/// The built-in schema (SPEC §4 rules, IPv4 and IPv6).
pub const BUILTIN_SCHEMA: &str = include_str!("schema.json");

const SCHEMA_URL: &str = "file:///conlink/schema.json";

/// A compiled schema, ready to validate configs.
pub struct ConfigSchema {
    schemas: Schemas,
    index: boon::SchemaIndex,
}

impl ConfigSchema {
    pub fn builtin() -> ConfigSchema {
        let doc: Value = serde_json::from_str(BUILTIN_SCHEMA).expect("built-in schema is JSON");
        ConfigSchema::compile("built-in schema", doc).expect("built-in schema compiles")
    }

    /// Loads a `--config-schema` file (JSON or YAML, like the original's schema.yaml).
    pub fn from_file(path: &Path) -> Result<ConfigSchema, ConfigIssue> {
        let origin = path.display().to_string();
        let text = crate::budget::read_limited(path)
            .map_err(|e| ConfigIssue::new(&origin, format!("schema: {e}")))?;
        Self::from_text(&origin, &text)
    }

    pub fn from_text(origin: &str, text: &str) -> Result<ConfigSchema, ConfigIssue> {
        let doc = parse_yaml(origin, text)?;
        Self::compile(origin, doc)
    }

    fn compile(origin: &str, doc: Value) -> Result<ConfigSchema, ConfigIssue> {
        let mut compiler = Compiler::new();
        // The original's schema has no `$schema`; its if/then/else and $defs
        // need at least draft 2019, and 2020-12 reads draft-7 files too.
        compiler.set_default_draft(Draft::V2020_12);
        let mut schemas = Schemas::new();
        let bad = |e: &dyn std::fmt::Display| ConfigIssue::new(origin, format!("invalid JSON schema: {e:#}"));
        compiler.add_resource(SCHEMA_URL, doc).map_err(|e| bad(&e))?;
        let index = compiler.compile(SCHEMA_URL, &mut schemas).map_err(|e| bad(&e))?;
        Ok(ConfigSchema { schemas, index })
    }

    /// Every schema violation in `doc`, as `PATH: message` issues.
    pub fn validate(&self, doc: &Value) -> Vec<ConfigIssue> {
        match self.schemas.validate(doc, self.index) {
            Ok(()) => Vec::new(),
            Err(e) => {
                let mut issues = Vec::new();
                collect(&e, doc, &mut issues);
                issues.dedup();
                issues
            }
        }
    }
}

/// Walks boon's error tree. Structural nodes (groups, refs, allOf) are
/// descended; `oneOf`/`anyOf`/`not` are reported as one issue because their
/// sub-errors ("missing service", "missing container") only confuse.
fn collect(e: &ValidationError, doc: &Value, out: &mut Vec<ConfigIssue>) {
    let path = e.instance_location.to_string();
    // The document root is "" as a JSON pointer; say "/" so no issue is pathless
    // (the CLI prints the path as is).
    let shown_path = if path.is_empty() { "/".to_string() } else { path.clone() };
    let structural = matches!(
        e.kind,
        ErrorKind::Group | ErrorKind::Schema { .. } | ErrorKind::Reference { .. } | ErrorKind::AllOf
    );
    if structural && !e.causes.is_empty() {
        for c in &e.causes {
            collect(c, doc, out);
        }
        return;
    }
    let message = message(e, doc, &path);
    out.push(ConfigIssue::new(shown_path, message));
}

fn message(e: &ValidationError, doc: &Value, path: &str) -> String {
    let value = doc.pointer(path);
    let shown = value.map(crate::error::shown_json).unwrap_or_default();
    let key = path.rsplit('/').next().unwrap_or("").replace("~1", "/").replace("~0", "~");
    if let Some(def) = def_name(e.schema_url) {
        let m = match def {
            "cidr" => Some(format!("{shown} is not a CIDR")),
            "cidrs" => Some(format!("{shown} is not a CIDR or a list of CIDRs")),
            "ip" => Some(format!("{shown} is not an IP address")),
            "mac" => Some(format!("{shown} is not a MAC address")),
            "intf" => {
                Some(format!("{shown} is not an interface name (1-15 characters, no '/' or whitespace)"))
            }
            "name" => Some(format!("{shown} is not a name (non-empty string)")),
            "strings" => Some(format!("{shown} must be a string or a list of strings")),
            "command" => Some(format!("{shown} must be a non-empty string or list of strings")),
            _ => None,
        };
        // Only leaf value errors get the def's wording; object-level ones
        // (required, oneOf) in "link" keep their own.
        if let (Some(m), false) = (m, def == "link") {
            return m;
        }
    }
    match &e.kind {
        ErrorKind::OneOf(None) => "needs exactly one of \"service\" or \"container\"".into(),
        ErrorKind::OneOf(Some(_)) => "has both \"service\" and \"container\"; give exactly one".into(),
        ErrorKind::FalseSchema => match link_type(doc, path) {
            Some(t) => format!("\"{key}\" is not allowed for {t} links"),
            None => format!("\"{key}\" is not allowed here"),
        },
        ErrorKind::Required { want } => {
            let keys: Vec<String> = want.iter().map(|w| format!("\"{w}\"")).collect();
            match (want.as_slice(), doc.pointer(path).and_then(|v| v.get("type")).and_then(Value::as_str)) {
                (["bridge"], _) if path.starts_with("/links/") => "veth link needs a \"bridge\"".into(),
                (["vlanid"], Some(t)) => format!("{t} link needs a \"vlanid\""),
                _ => format!("missing required {}", keys.join(", ")),
            }
        }
        ErrorKind::AdditionalProperties { got } => {
            let keys: Vec<String> = got.iter().map(|g| format!("\"{g}\"")).collect();
            format!("unknown key{} {}", if keys.len() > 1 { "s" } else { "" }, keys.join(", "))
        }
        ErrorKind::Enum { .. } | ErrorKind::Type { .. } => format!("{shown}: {}", e.kind),
        // boon's own wording echoes the whole value; say it cut.
        ErrorKind::Pattern { want, .. } => format!("{shown} does not match pattern '{want}'"),
        other => other.to_string(),
    }
}

/// `type` of the link object containing `path`, when `path` is inside one.
fn link_type(doc: &Value, path: &str) -> Option<String> {
    let parent = &path[..path.rfind('/')?];
    let obj = doc.pointer(parent)?;
    if !parent.starts_with("/links/") {
        return None;
    }
    Some(obj.get("type").and_then(Value::as_str).unwrap_or("veth").to_string())
}

/// The `$defs` entry an error's keyword lives in (innermost).
fn def_name(url: &str) -> Option<&str> {
    let frag = url.split_once('#')?.1;
    let rest = &frag[frag.rfind("/$defs/")? + "/$defs/".len()..];
    Some(rest.split('/').next().unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn issues(doc: Value) -> Vec<String> {
        ConfigSchema::builtin().validate(&doc).iter().map(|i| i.to_string()).collect()
    }

    #[test]
    fn def_name_extraction() {
        assert_eq!(def_name("file:///x#/$defs/cidr/pattern"), Some("cidr"));
        assert_eq!(def_name("file:///x#/$defs/link/properties/ip/$ref/$defs/cidrs/anyOf"), Some("cidrs"));
        assert_eq!(def_name("file:///x#/properties/links"), None);
    }

    #[test]
    fn valid_configs_pass() {
        assert!(issues(json!({})).is_empty());
        assert!(issues(json!({"links": [
            {"service": "h1", "bridge": "s1", "ip": "10.0.0.1/24", "route": "default via 10.0.0.254"},
            {"container": "c", "bridge": "s1", "ip": ["10.0.0.2/24", "2001:db8::2/64"], "netem": ["delay 10ms"]},
            {"service": "v", "type": "vlan", "vlanid": 5, "outer-dev": "eth0"},
            {"service": "m", "type": "macvlan", "mode": "bridge", "outer-dev": "eth0"},
            {"service": "d", "type": "dummy", "dev": "dummy0"}
        ], "bridges": [{"bridge": "s1", "mode": "patch"}],
           "tunnels": [{"type": "vxlan", "bridge": "s1", "remote": "192.0.2.1", "vni": 5}],
           "commands": [{"service": "h1", "command": ["ip", "a"]}, {"container": "c", "command": "ip a"}]
        }))
        .is_empty());
    }

    #[test]
    fn unknown_top_level_key() {
        assert_eq!(issues(json!({"linx": []})), ["/: unknown key \"linx\""]);
        // Config that exposed it: `networks: []` gave an issue whose path was "" (the CLI printed "  : unknown key").
        assert_eq!(ConfigSchema::builtin().validate(&json!({"linx": []}))[0].path, "/");
    }

    #[test]
    fn link_rules_each_reported_with_path() {
        let got = issues(json!({"links": [
            {"service": "a"},
            {"service": "a", "container": "b", "bridge": "s"},
            {"bridge": "s"},
            {"service": "a", "type": "vlan", "outer-dev": "eth0"},
            {"service": "a", "type": "macvlan", "bridge": "s"},
            {"service": "a", "bridge": "s", "vlanid": 3},
            {"service": "a", "bridge": "s", "ip": "10.0.0.1"},
            {"service": "a", "bridge": "s", "mac": "zz:00:00:00:00:00"},
            {"service": "a", "bridge": "s", "dev": "a-very-long-name0"},
            {"service": "a", "bridge": "s", "colour": "red"},
            {"service": "a", "type": "ipvlan", "mac": "02:00:00:00:00:01"},
            {"service": "a", "type": "dummy", "outer-dev": "eth0"},
            {"service": "a", "bridge": "s", "route": 5},
            {"service": "a", "type": "tap", "bridge": "s"}
        ]}));
        let expect = [
            "/links/0: veth link needs a \"bridge\"",
            "/links/1: has both \"service\" and \"container\"; give exactly one",
            "/links/2: needs exactly one of \"service\" or \"container\"",
            "/links/3: vlan link needs a \"vlanid\"",
            "/links/4/bridge: \"bridge\" is not allowed for macvlan links",
            "/links/5/vlanid: \"vlanid\" is not allowed for veth links",
            "/links/6/ip: \"10.0.0.1\" is not a CIDR or a list of CIDRs",
            "/links/7/mac: \"zz:00:00:00:00:00\" is not a MAC address",
            "/links/8/dev: \"a-very-long-name0\" is not an interface name (1-15 characters, no '/' or whitespace)",
            "/links/9: unknown key \"colour\"",
            "/links/10/mac: \"mac\" is not allowed for ipvlan links",
            "/links/11/outer-dev: \"outer-dev\" is not allowed for dummy links",
            "/links/12/route: 5 must be a string or a list of strings",
        ];
        for e in expect {
            assert!(got.contains(&e.to_string()), "missing {e:?} in {got:#?}");
        }
        assert!(got.iter().any(|g| g.starts_with("/links/13/type: \"tap\"")), "{got:#?}");
    }

    #[test]
    fn bridges_tunnels_commands_rules() {
        let got = issues(json!({
            "bridges": [{"bridge": "s1", "mode": "fast"}, {"mode": "ovs"}],
            "tunnels": [{"type": "gre", "bridge": "s1", "remote": "x", "vni": 1}, {"type": "vxlan"}],
            "commands": [{"service": "a"}, {"service": "a", "command": ""}, {"command": "x"}]
        }));
        for e in [
            "/bridges/1: missing required \"bridge\"",
            "/tunnels/0/remote: \"x\" is not an IP address",
            "/tunnels/1: missing required \"bridge\", \"remote\", \"vni\"",
            "/commands/0: missing required \"command\"",
            "/commands/1/command: \"\" must be a non-empty string or list of strings",
            "/commands/2: needs exactly one of \"service\" or \"container\"",
        ] {
            assert!(got.contains(&e.to_string()), "missing {e:?} in {got:#?}");
        }
        assert!(got.iter().any(|g| g.starts_with("/bridges/0/mode: \"fast\"")), "{got:#?}");
        assert!(got.iter().any(|g| g.starts_with("/tunnels/0/type: \"gre\"")), "{got:#?}");
    }

    #[test]
    fn custom_schema_from_yaml_text() {
        let s = ConfigSchema::from_text("my.yaml", "type: object\nrequired: [links]\n").unwrap();
        assert_eq!(s.validate(&json!({"links": []})), vec![]);
        assert_eq!(s.validate(&json!({}))[0].message, "missing required \"links\"");
    }

    #[test]
    fn broken_custom_schema_is_an_issue() {
        let e = ConfigSchema::from_text("my.yaml", "type: 5\n").err().unwrap();
        assert_eq!(e.path, "my.yaml");
        assert!(e.message.contains("invalid JSON schema"), "{}", e.message);
    }
}
