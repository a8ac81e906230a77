//! The config pipeline (SPEC §4): read → extract `x-network` → interpolate
//! → deep merge → merge links → validate (schema + semantic) → enrich.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::budget::read_limited;
use crate::enrich::{enrich, EnrichOptions};
use crate::error::{join_ptr, ConfigError, ConfigIssue};
use crate::interpolate::interpolate_value;
use crate::links::merge_links;
use crate::merge::deep_merge;
use crate::model::{BridgeMode, NetworkConfig};
use crate::schema::ConfigSchema;
use crate::validate;
use crate::yaml::parse_yaml;

#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Network files; each entry may itself be a ':'-separated list.
    pub network_files: Vec<PathBuf>,
    /// Compose files whose `x-network` sections are read; same rules.
    pub compose_files: Vec<PathBuf>,
    pub default_bridge_mode: BridgeMode,
    pub default_mtu: u32,
    pub keep_veth_offload: bool,
    /// Decides what `auto` resolves to (ovs if true, else linux).
    pub ovs_available: bool,
    /// `--config-schema`; `None` = built-in schema.
    pub schema_file: Option<PathBuf>,
    /// Interpolation environment.
    pub env: BTreeMap<String, String>,
}

impl Default for LoadOptions {
    /// The command line's defaults (SPEC §3).
    fn default() -> Self {
        LoadOptions {
            network_files: Vec::new(),
            compose_files: Vec::new(),
            default_bridge_mode: BridgeMode::Auto,
            default_mtu: 65535,
            keep_veth_offload: false,
            ovs_available: false,
            schema_file: None,
            env: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// The whole document is network config.
    Network,
    /// Only `x-network` (top level and per service) is read.
    Compose,
}

/// One config document, already read.
#[derive(Debug, Clone)]
pub struct Source {
    /// Shown in messages (usually the file name).
    pub origin: String,
    pub kind: SourceKind,
    pub text: String,
}

/// Reads every file named in `opts` (compose files first, as the original
/// merges them first), then runs [`load_from_sources`].
pub fn load(opts: &LoadOptions) -> Result<NetworkConfig, ConfigError> {
    let mut sources = Vec::new();
    let mut issues = Vec::new();
    let lists = [(&opts.compose_files, SourceKind::Compose), (&opts.network_files, SourceKind::Network)];
    for (files, kind) in lists {
        for path in split_path_lists(files) {
            match read_limited(&path) {
                Ok(text) => sources.push(Source { origin: path.display().to_string(), kind, text }),
                Err(e) => issues.push(ConfigIssue::new(path.display().to_string(), e)),
            }
        }
    }
    ConfigError::check(issues)?;
    load_from_sources(&sources, opts)
}

/// `a.yaml:b.yaml` entries become two paths; empty pieces are ignored.
pub fn split_path_lists(files: &[PathBuf]) -> Vec<PathBuf> {
    files
        .iter()
        .flat_map(|f| {
            f.to_string_lossy().split(':').filter(|s| !s.is_empty()).map(PathBuf::from).collect::<Vec<_>>()
        })
        .collect()
}

/// The whole pipeline from already-read sources.
pub fn load_from_sources(sources: &[Source], opts: &LoadOptions) -> Result<NetworkConfig, ConfigError> {
    let schema = match &opts.schema_file {
        Some(p) => ConfigSchema::from_file(p).map_err(|i| ConfigError { issues: vec![i] })?,
        None => ConfigSchema::builtin(),
    };
    let mut doc = merged_document(sources, &opts.env)?;
    let original_links = doc.get("links").cloned().unwrap_or(Value::Null);
    let groups = merge_links(&mut doc);
    let issues = validate_doc(&schema, &doc, opts.default_bridge_mode)
        .into_iter()
        .map(|i| remap_merged(i, &groups, &original_links))
        .collect();
    ConfigError::check(issues)?;

    let eo = EnrichOptions {
        default_bridge_mode: opts.default_bridge_mode,
        default_mtu: opts.default_mtu,
        keep_veth_offload: opts.keep_veth_offload,
        ovs_available: opts.ovs_available,
    };
    enrich(&doc, &eo).map_err(|issues| ConfigError { issues })
}

/// Parses, extracts, interpolates and merges all sources. Interpolation is
/// done per source, before merging, so its errors name the file and the
/// place in it (`compose.yaml:/services/h1/x-network/links/0/ip`).
pub fn merged_document(sources: &[Source], env: &BTreeMap<String, String>) -> Result<Value, ConfigError> {
    let mut issues = Vec::new();
    let mut fragments = Vec::new();
    for src in sources {
        match parse_yaml(&src.origin, &src.text) {
            Ok(doc) => extract(src, doc, &mut fragments, &mut issues),
            Err(i) => issues.push(i),
        }
    }
    for (path, frag) in fragments.iter_mut() {
        interpolate_value(frag, env, path, &mut issues);
    }
    ConfigError::check(issues)?;
    let mut doc = Value::Object(Map::new());
    for (_, frag) in fragments {
        deep_merge(&mut doc, frag);
    }
    Ok(doc)
}

/// Network config fragments of one document, each with its `file:pointer`.
fn extract(src: &Source, doc: Value, out: &mut Vec<(String, Value)>, issues: &mut Vec<ConfigIssue>) {
    let at = |ptr: &str| format!("{}:{ptr}", src.origin);
    match (src.kind, doc) {
        (_, Value::Null) => {}
        (SourceKind::Network, v @ Value::Object(_)) => out.push((at(""), v)),
        (SourceKind::Network, _) => issues.push(ConfigIssue::new(
            &src.origin,
            "a network file must be a map (links, bridges, tunnels, commands)",
        )),
        (SourceKind::Compose, Value::Object(mut top)) => {
            match top.remove("x-network") {
                None | Some(Value::Null) => {}
                Some(v @ Value::Object(_)) => out.push((at("/x-network"), v)),
                Some(_) => issues.push(ConfigIssue::new(at("/x-network"), "x-network must be a map")),
            }
            let services = match top.remove("services") {
                Some(Value::Object(s)) => s,
                _ => Map::new(),
            };
            for (name, svc) in services {
                let base = join_ptr(&join_ptr("/services", &name), "x-network");
                match svc.get("x-network") {
                    None | Some(Value::Null) => {}
                    Some(Value::Object(x)) => out.push((at(&base), default_service(x.clone(), &name))),
                    Some(_) => issues.push(ConfigIssue::new(at(&base), "x-network must be a map")),
                }
            }
        }
        (SourceKind::Compose, _) => {
            issues.push(ConfigIssue::new(&src.origin, "a compose file must be a map"))
        }
    }
}

/// Links and commands in a service's `x-network` belong to that service
/// unless they name a service or container themselves.
fn default_service(mut x: Map<String, Value>, service: &str) -> Value {
    for key in ["links", "commands"] {
        if let Some(Value::Array(items)) = x.get_mut(key) {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                if !item.contains_key("service") && !item.contains_key("container") {
                    item.insert("service".into(), Value::String(service.to_string()));
                }
            }
        }
    }
    Value::Object(x)
}

/// Schema issues plus semantic issues; a semantic issue at (or inside) a
/// field the schema already rejected is dropped to avoid saying it twice.
pub fn validate_doc(schema: &ConfigSchema, doc: &Value, default_bridge_mode: BridgeMode) -> Vec<ConfigIssue> {
    let mut issues = schema.validate(doc);
    let field_level: Vec<String> =
        issues.iter().filter(|i| i.path.matches('/').count() >= 3).map(|i| i.path.clone()).collect();
    for s in validate::check(doc, default_bridge_mode) {
        let dup = field_level.iter().any(|p| s.path == *p || s.path.starts_with(&format!("{p}/")));
        if !dup {
            issues.push(s);
        }
    }
    issues
}

/// Paths into the merged link list → paths into the list the user wrote:
/// a key's issue points at the last entry that set the key, an object's
/// issue at the first entry, naming all entries when several were merged.
fn remap_merged(mut i: ConfigIssue, groups: &[Vec<usize>], original: &Value) -> ConfigIssue {
    let Some(rest) = i.path.strip_prefix("/links/") else { return i };
    let (idx, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(group) = idx.parse::<usize>().ok().and_then(|n| groups.get(n)) else { return i };
    let key = tail.split('/').next().unwrap_or("").replace("~1", "/").replace("~0", "~");
    let setter =
        group.iter().rev().find(|&&o| !key.is_empty() && original.get(o).and_then(|l| l.get(&key)).is_some());
    let orig = setter.copied().unwrap_or(group[0]);
    i.path = if tail.is_empty() { format!("/links/{orig}") } else { format!("/links/{orig}/{tail}") };
    if group.len() > 1 {
        let all: Vec<String> = group.iter().map(|g| format!("/links/{g}")).collect();
        i.message.push_str(&format!(" (in the link merged from {})", all.join(", ")));
    }
    i
}
