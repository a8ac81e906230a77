//! The config pipeline (SPEC §4): read → extract `x-network` → interpolate
//! → deep merge → merge links → validate (schema + semantic) → enrich.

use std::collections::BTreeMap;
use std::path::PathBuf;

use conlink_settings::DistTables;
use serde_json::{Map, Value};

use crate::budget::read_limited;
use crate::conflicts;
use crate::enrich::{enrich, EnrichOptions};
use crate::error::{join_ptr, ConfigError, ConfigIssue};
use crate::interpolate::interpolate_value;
use crate::links::merge_links;
use crate::mac_source::MacSource;
use crate::merge::deep_merge;
use crate::model::{BridgeMode, NetworkConfig};
use crate::netem_tables::DistDirs;
use crate::provenance::{Locator, Provenance};
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
    /// MACs for links without `mac` (the binary passes a random source).
    pub mac_source: MacSource,
    /// Where netem's `distribution NAME` tables are read from.
    pub dist_dirs: DistDirs,
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
            mac_source: MacSource::default(),
            dist_dirs: DistDirs::default(),
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
    let Merged { mut doc, provenance, scales } = merge_sources(sources, &opts.env)?;
    let original_links = doc.get("links").cloned().unwrap_or(Value::Null);
    let groups = merge_links(&mut doc);
    let loc = Locator { groups, original_links, provenance };
    let issues = validate_doc(&schema, &doc, opts.default_bridge_mode, &opts.dist_dirs)
        .into_iter()
        .map(|i| loc.locate(i))
        .collect();
    ConfigError::check(issues)?;

    let eo = EnrichOptions {
        default_bridge_mode: opts.default_bridge_mode,
        default_mtu: opts.default_mtu,
        keep_veth_offload: opts.keep_veth_offload,
        ovs_available: opts.ovs_available,
        mac_source: opts.mac_source.clone(),
    };
    let located = |issues: Vec<ConfigIssue>| ConfigError {
        issues: issues.into_iter().map(|i| loc.locate(i)).collect(),
    };
    let cfg = enrich(&doc, &eo, &opts.dist_dirs).map_err(located)?;
    ConfigError::check(conflicts::check(&doc, &cfg, &scales, &|p| loc.describe(p)))
        .map_err(|e| located(e.issues))?;
    Ok(cfg)
}

/// The merged document, where its list entries came from, and the replica
/// count of each compose service that declares one.
struct Merged {
    doc: Value,
    provenance: Provenance,
    scales: BTreeMap<String, u32>,
}

/// One network-config fragment of a source.
struct Fragment {
    /// `file:pointer`, for interpolation messages.
    path: String,
    origin: String,
    /// Where it sits in the file, for merged-path sources (`services.h1 x-network `).
    prefix: String,
    value: Value,
}

/// Parses, extracts, interpolates and merges all sources. Interpolation is
/// done per source, before merging, so its errors name the file and the
/// place in it (`compose.yaml:/services/h1/x-network/links/0/ip`).
pub fn merged_document(sources: &[Source], env: &BTreeMap<String, String>) -> Result<Value, ConfigError> {
    merge_sources(sources, env).map(|m| m.doc)
}

fn merge_sources(sources: &[Source], env: &BTreeMap<String, String>) -> Result<Merged, ConfigError> {
    let mut issues = Vec::new();
    let mut fragments = Vec::new();
    let mut scales = BTreeMap::new();
    for src in sources {
        match parse_yaml(&src.origin, &src.text) {
            Ok(doc) => extract(src, doc, &mut fragments, &mut scales, &mut issues),
            Err(i) => issues.push(i),
        }
    }
    for f in fragments.iter_mut() {
        interpolate_value(&mut f.value, env, &f.path, &mut issues);
    }
    ConfigError::check(issues)?;
    let mut doc = Value::Object(Map::new());
    let mut provenance = Provenance::default();
    for f in fragments {
        provenance.record(&f.origin, &f.prefix, &f.value);
        deep_merge(&mut doc, f.value);
    }
    provenance.keep_consistent(&doc);
    Ok(Merged { doc, provenance, scales })
}

/// Network config fragments of one document, each with its `file:pointer`.
fn extract(
    src: &Source,
    doc: Value,
    out: &mut Vec<Fragment>,
    scales: &mut BTreeMap<String, u32>,
    issues: &mut Vec<ConfigIssue>,
) {
    let frag = |ptr: &str, prefix: String, value: Value| Fragment {
        path: format!("{}:{ptr}", src.origin),
        origin: src.origin.clone(),
        prefix,
        value,
    };
    let at = |ptr: &str| format!("{}:{ptr}", src.origin);
    match (src.kind, doc) {
        (_, Value::Null) => {}
        (SourceKind::Network, v @ Value::Object(_)) => out.push(frag("", String::new(), v)),
        (SourceKind::Network, _) => issues.push(ConfigIssue::new(
            &src.origin,
            "a network file must be a map (links, bridges, tunnels, commands)",
        )),
        (SourceKind::Compose, Value::Object(mut top)) => {
            match top.remove("x-network") {
                None | Some(Value::Null) => {}
                Some(v @ Value::Object(_)) => out.push(frag("/x-network", "x-network ".into(), v)),
                Some(_) => issues.push(ConfigIssue::new(at("/x-network"), "x-network must be a map")),
            }
            let services = match top.remove("services") {
                Some(Value::Object(s)) => s,
                _ => Map::new(),
            };
            for (name, svc) in services {
                if let Some(n) = declared_replicas(&svc) {
                    scales.insert(name.clone(), n);
                }
                let base = join_ptr(&join_ptr("/services", &name), "x-network");
                match svc.get("x-network") {
                    None | Some(Value::Null) => {}
                    Some(Value::Object(x)) => out.push(frag(
                        &base,
                        format!("services.{name} x-network "),
                        default_service(x.clone(), &name),
                    )),
                    Some(_) => issues.push(ConfigIssue::new(at(&base), "x-network must be a map")),
                }
            }
        }
        (SourceKind::Compose, _) => {
            issues.push(ConfigIssue::new(&src.origin, "a compose file must be a map"))
        }
    }
}

/// A service's replica count as the compose file states it (`scale:` or
/// `deploy.replicas`); `docker compose up --scale` can still change it,
/// which the planner checks per replica.
fn declared_replicas(svc: &Value) -> Option<u32> {
    let n = |v: Option<&Value>| v.and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
    let scale = n(svc.get("scale"));
    let deploy = n(svc.get("deploy").and_then(|d| d.get("replicas")));
    scale.max(deploy)
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
pub fn validate_doc(
    schema: &ConfigSchema,
    doc: &Value,
    default_bridge_mode: BridgeMode,
    tables: &dyn DistTables,
) -> Vec<ConfigIssue> {
    let mut issues = schema.validate(doc);
    let field_level: Vec<String> =
        issues.iter().filter(|i| i.path.matches('/').count() >= 3).map(|i| i.path.clone()).collect();
    for s in validate::check(doc, default_bridge_mode, tables) {
        let dup = field_level.iter().any(|p| s.path == *p || s.path.starts_with(&format!("{p}/")));
        if !dup {
            issues.push(s);
        }
    }
    issues
}
