//! The config pipeline (SPEC §4): read → extract `x-network` → interpolate
//! → deep merge → merge links → validate (schema + semantic) → enrich.

use std::collections::BTreeMap;
use std::path::PathBuf;

use conlink_settings::DistTables;
use serde_json::{Map, Value};

use crate::compose::expand::{Doc, Expander, Fragment};
use crate::compose::project::{self, project_files};
use crate::compose::{
    active_profiles, is_active, Budget, ComposeReport, Files, InactiveService, NoFiles, RealFiles,
};
use crate::conflicts;
use crate::enrich::{enrich, EnrichOptions};
use crate::error::{ConfigError, ConfigIssue};
use crate::interpolate::interpolate_value_within;
use crate::links::merge_links;
use crate::mac_source::MacSource;
use crate::merge::deep_merge;
use crate::model::{BridgeMode, NetworkConfig};
use crate::netem_tables::DistDirs;
use crate::provenance::{Locator, Provenance};
use crate::schema::ConfigSchema;
use crate::validate;

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
    /// Interpolation environment (the process's; the project's `.env` is added under it).
    pub env: BTreeMap<String, String>,
    /// MACs for links without `mac` (the binary passes a random source).
    pub mac_source: MacSource,
    /// Where netem's `distribution NAME` tables are read from.
    pub dist_dirs: DistDirs,
    /// Active compose profiles (`--profile`); empty: COMPOSE_PROFILES decides.
    pub profiles: Vec<String>,
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
            profiles: Vec::new(),
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

/// What a load yields: the network config, and what it learnt about the compose project.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: NetworkConfig,
    pub compose: ComposeReport,
}

/// Reads every file named in `opts` (compose files first, as the original
/// merges them first, with their includes, extends, override file and
/// `.env`), then runs the pipeline.
pub fn load(opts: &LoadOptions) -> Result<NetworkConfig, ConfigError> {
    load_project(opts).map(|l| l.config)
}

/// [`load`], with the compose report (inactive services, files read).
pub fn load_project(opts: &LoadOptions) -> Result<Loaded, ConfigError> {
    load_project_with(opts, &RealFiles::default())
}

/// [`load_project`] reading through `files` (tests answer from memory).
pub fn load_project_with(opts: &LoadOptions, files: &dyn Files) -> Result<Loaded, ConfigError> {
    let mut issues = Vec::new();
    let mut budget = Budget::new(files);
    let project = project_files(&split_path_lists(&opts.compose_files), &opts.env, &mut budget, &mut issues);
    let mut ex = Expander::new(&mut budget, &mut issues, project.env.clone());
    for main in &project.main {
        if let Some(top) = ex.parse_file(&main.path) {
            let doc = Doc { origin: main.origin.clone(), top, env: 0, dir: project.dir.clone(), main: true };
            ex.document(doc, &[]);
        }
    }
    for path in split_path_lists(&opts.network_files) {
        let origin = project::origin_of(&path);
        match ex.budget.read(&path) {
            Ok(text) => network_fragment(&mut ex, &origin, &text),
            Err(e) => ex.issues.push(ConfigIssue::new(origin, e)),
        }
    }
    let mut expanded = std::mem::take(&mut ex.out);
    let mut notes = project.notes;
    notes.append(&mut expanded.notes);
    let head = ComposeReport { env_file: project.env_file, notes, ..Default::default() };
    finish(expanded, issues, head, opts)
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

/// The whole pipeline from already-read sources. Compose sources are read
/// as compose does (extends within the text, profiles) but name no files:
/// an `include` or `extends.file` is an issue here.
pub fn load_from_sources(sources: &[Source], opts: &LoadOptions) -> Result<NetworkConfig, ConfigError> {
    let mut issues = Vec::new();
    let expanded = expand_sources(sources, &opts.env, &mut issues);
    finish(expanded, issues, ComposeReport::default(), opts).map(|l| l.config)
}

fn expand_sources(
    sources: &[Source],
    env: &BTreeMap<String, String>,
    issues: &mut Vec<ConfigIssue>,
) -> crate::compose::expand::Expanded {
    let mut budget = Budget::new(&NoFiles);
    let mut ex = Expander::new(&mut budget, issues, env.clone());
    for src in sources {
        match src.kind {
            SourceKind::Network => network_fragment(&mut ex, &src.origin, &src.text),
            SourceKind::Compose => {
                if let Some(top) = ex.parse_text(&src.origin, &src.text) {
                    let doc =
                        Doc { origin: src.origin.clone(), top, env: 0, dir: PathBuf::new(), main: true };
                    ex.document(doc, &[]);
                }
            }
        }
    }
    std::mem::take(&mut ex.out)
}

/// A network file: the whole document is network config.
fn network_fragment(ex: &mut Expander, origin: &str, text: &str) {
    match ex.parse_text(origin, text) {
        None | Some(Value::Null) => {}
        Some(v @ Value::Object(_)) => ex.out.fragments.push(Fragment {
            path: format!("{origin}:"),
            origin: origin.to_string(),
            prefix: String::new(),
            value: v,
            env: 0,
        }),
        Some(_) => ex.issues.push(ConfigIssue::new(
            origin,
            "a network file must be a map (links, bridges, tunnels, commands)",
        )),
    }
}

/// Interpolates and merges the fragments, validates and enriches the result,
/// and completes the compose report (profiles).
fn finish(
    expanded: crate::compose::expand::Expanded,
    issues: Vec<ConfigIssue>,
    mut report: ComposeReport,
    opts: &LoadOptions,
) -> Result<Loaded, ConfigError> {
    let schema = match &opts.schema_file {
        Some(p) => ConfigSchema::from_file(p).map_err(|i| ConfigError { issues: vec![i] })?,
        None => ConfigSchema::builtin(),
    };
    report.profiles = active_profiles(&opts.profiles, &expanded.envs[0]);
    for (name, facts) in &expanded.services {
        if !is_active(&facts.profiles, &report.profiles) {
            let inactive = InactiveService {
                profiles: facts.profiles.clone(),
                container_name: facts.container_name.clone(),
            };
            report.inactive.insert(name.clone(), inactive);
        }
    }
    report.files = expanded.files.clone();
    let Merged { mut doc, provenance, scales } = merge_fragments(expanded, issues)?;
    let merge = merge_links(&mut doc);
    let loc = Locator { merge, provenance };
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
    Ok(Loaded { config: cfg, compose: report })
}

/// The merged document, where its list entries came from, and the replica
/// count of each compose service that declares one.
struct Merged {
    doc: Value,
    provenance: Provenance,
    scales: BTreeMap<String, u32>,
}

/// Parses, extracts, interpolates and merges all sources. Interpolation is
/// done per source, before merging, so its errors name the file and the
/// place in it (`compose.yaml:/services/h1/x-network/links/0/ip`).
pub fn merged_document(sources: &[Source], env: &BTreeMap<String, String>) -> Result<Value, ConfigError> {
    let mut issues = Vec::new();
    let expanded = expand_sources(sources, env, &mut issues);
    merge_fragments(expanded, issues).map(|m| m.doc)
}

fn merge_fragments(
    expanded: crate::compose::expand::Expanded,
    mut issues: Vec<ConfigIssue>,
) -> Result<Merged, ConfigError> {
    let crate::compose::expand::Expanded { mut fragments, envs, scales, .. } = expanded;
    // One growth budget for the whole load: many fragments must not multiply a long variable.
    let mut growth_left = crate::interpolate::MAX_GROWTH;
    for f in fragments.iter_mut() {
        interpolate_value_within(&mut f.value, &envs[f.env], &f.path, &mut issues, &mut growth_left);
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
