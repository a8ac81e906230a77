//! One compose document's network-config fragments, following compose's
//! rules: `include:` entries first (their services, read with their own
//! project directory and `.env`; compose does not import an included file's
//! top-level `x-*` sections, so neither does conlink), then the document's
//! top-level `x-network`, then each service's `x-network` with its
//! `extends:` bases first (compose merges a base, then the service; lists append).

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use serde_json::{Map, Value};

use super::project::{origin_of, resolve};
use super::{Budget, MAX_CHAIN, MAX_PROJECT_PARSED};
use crate::budget::NODE_COST;
use crate::error::{join_ptr, ConfigIssue};
use crate::interpolate::interpolate_str;
use crate::yaml::{accounted_size, parse_yaml_within};

/// One network-config fragment of a source.
pub(crate) struct Fragment {
    /// `file:pointer`, for interpolation messages.
    pub path: String,
    pub origin: String,
    /// Where it sits in the file, for merged-path sources (`services.h1 x-network `).
    pub prefix: String,
    pub value: Value,
    /// Index of the environment it is interpolated with.
    pub env: usize,
}

/// What compose knows of a service that matters to conlink.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServiceFacts {
    pub profiles: Vec<String>,
    pub container_name: Option<String>,
}

/// Everything the compose documents of a load yield.
#[derive(Default)]
pub(crate) struct Expanded {
    pub fragments: Vec<Fragment>,
    /// Interpolation environments; 0 is the project's.
    pub envs: Vec<BTreeMap<String, String>>,
    pub scales: BTreeMap<String, u32>,
    pub services: BTreeMap<String, ServiceFacts>,
    pub files: Vec<String>,
    pub notes: Vec<String>,
}

/// One parsed compose document and where it is read.
pub(crate) struct Doc {
    pub origin: String,
    pub top: Value,
    pub env: usize,
    /// Where its relative paths start (the project directory).
    pub dir: PathBuf,
    /// A file of the project itself, not an included one.
    pub main: bool,
}

/// The services of one file, for `extends`.
#[derive(Clone)]
struct Services {
    origin: String,
    map: Rc<Map<String, Value>>,
    env: usize,
    dir: PathBuf,
}

/// One definition in a service's `extends` chain.
struct Part {
    origin: String,
    name: String,
    /// The services of its file (shared, not copied: a base used by many is read once).
    map: Rc<Map<String, Value>>,
    env: usize,
}

impl Part {
    fn svc(&self) -> &Value {
        &self.map[&self.name]
    }
}

pub(crate) struct Expander<'a, 'b> {
    pub budget: &'a mut Budget<'b>,
    pub issues: &'a mut Vec<ConfigIssue>,
    pub out: Expanded,
    extended: HashMap<PathBuf, Option<Rc<Map<String, Value>>>>,
    /// What is left of [`MAX_PROJECT_PARSED`].
    parsed_left: usize,
}

impl<'a, 'b> Expander<'a, 'b> {
    pub fn new(
        budget: &'a mut Budget<'b>,
        issues: &'a mut Vec<ConfigIssue>,
        env: BTreeMap<String, String>,
    ) -> Self {
        let out = Expanded { envs: vec![env], ..Default::default() };
        Expander { budget, issues, out, extended: HashMap::new(), parsed_left: MAX_PROJECT_PARSED }
    }

    /// Reads and parses one file; issues are recorded, `None` returned.
    pub fn parse_file(&mut self, path: &Path) -> Option<Value> {
        let origin = origin_of(path);
        match self.budget.read(path) {
            Ok(text) => {
                self.out.files.push(origin.clone());
                self.parse_text(&origin, &text)
            }
            Err(e) => {
                self.issues.push(ConfigIssue::new(origin, e));
                None
            }
        }
    }

    pub fn parse_text(&mut self, origin: &str, text: &str) -> Option<Value> {
        match parse_yaml_within(origin, text, &mut self.parsed_left) {
            Ok(v) => Some(v),
            Err(i) => {
                self.issues.push(i);
                None
            }
        }
    }

    /// Adds one document's fragments (includes first). `chain`: the includes that led here.
    pub fn document(&mut self, doc: Doc, chain: &[PathBuf]) {
        let at = |ptr: &str| format!("{}:{ptr}", doc.origin);
        let top = match doc.top {
            Value::Null => return,
            Value::Object(ref top) => top,
            _ => return self.issues.push(ConfigIssue::new(&doc.origin, "a compose file must be a map")),
        };
        if let Some(inc) = top.get("include") {
            self.includes(&doc, inc, chain);
        }
        match top.get("x-network") {
            None | Some(Value::Null) => {}
            Some(v @ Value::Object(_)) if doc.main => self.out.fragments.push(Fragment {
                path: at("/x-network"),
                origin: doc.origin.clone(),
                prefix: "x-network ".into(),
                value: v.clone(),
                env: doc.env,
            }),
            Some(Value::Object(_)) => self.out.notes.push(format!(
                "{}: the top-level x-network of an included file is not read (compose does not import \
                 top-level sections of included files); put it in a service's x-network or the main file",
                doc.origin
            )),
            Some(_) => self.issues.push(ConfigIssue::new(at("/x-network"), "x-network must be a map")),
        }
        let map = match top.get("services") {
            Some(Value::Object(s)) => Rc::new(s.clone()),
            _ => return,
        };
        let services =
            Services { origin: doc.origin.clone(), map: map.clone(), env: doc.env, dir: doc.dir.clone() };
        for name in map.keys() {
            if map[name].is_object() {
                self.service(&services, name);
            }
        }
    }

    fn service(&mut self, file: &Services, name: &str) {
        let parts = self.chain(file, name, &mut Vec::new());
        for part in &parts {
            let base = join_ptr(&join_ptr("/services", &part.name), "x-network");
            let ptr = format!("{}:{base}", part.origin);
            let facts = self.out.services.entry(name.to_string()).or_default();
            if let Some(Value::Array(ps)) = part.svc().get("profiles") {
                for (i, p) in ps.iter().enumerate() {
                    let at = format!(
                        "{}:{}/{i}",
                        part.origin,
                        join_ptr(&join_ptr("/services", &part.name), "profiles")
                    );
                    if let Some(p) = interpolated(p, &self.out.envs[part.env], &at, self.issues) {
                        if !facts.profiles.contains(&p) {
                            facts.profiles.push(p);
                        }
                    }
                }
            }
            if let Some(c) = part.svc().get("container_name") {
                let at = format!(
                    "{}:{}",
                    part.origin,
                    join_ptr(&join_ptr("/services", &part.name), "container_name")
                );
                facts.container_name = interpolated(c, &self.out.envs[part.env], &at, self.issues);
            }
            if let Some(n) = declared_replicas(part.svc()) {
                self.out.scales.insert(name.to_string(), n);
            }
            match part.svc().get("x-network") {
                None | Some(Value::Null) => {}
                Some(Value::Object(x)) => {
                    let own = part.name == name && part.origin == file.origin;
                    let via = if own { String::new() } else { format!("(extended by services.{name}) ") };
                    // Each extends is a copy of its base: a base used by many services costs each time.
                    if !own {
                        let size: usize =
                            x.iter().map(|(k, v)| k.len() + NODE_COST + accounted_size(v)).sum();
                        match self.parsed_left.checked_sub(size) {
                            Some(left) => self.parsed_left = left,
                            None => {
                                let msg = format!(
                                    "extends copies more than {} MiB of x-network (each extends is a full copy of its base)",
                                    MAX_PROJECT_PARSED >> 20
                                );
                                self.issues.push(ConfigIssue::new(&ptr, msg));
                                return;
                            }
                        }
                    }
                    self.out.fragments.push(Fragment {
                        path: ptr,
                        origin: part.origin.clone(),
                        prefix: format!("services.{} x-network {via}", part.name),
                        value: default_service(x.clone(), name),
                        env: part.env,
                    });
                }
                Some(_) => self.issues.push(ConfigIssue::new(ptr, "x-network must be a map")),
            }
        }
    }

    /// The definitions of `name` from its deepest `extends` base to itself.
    fn chain(&mut self, file: &Services, name: &str, seen: &mut Vec<String>) -> Vec<Part> {
        let Some(svc) = file.map.get(name) else { return Vec::new() };
        let own = Part {
            origin: file.origin.clone(),
            name: name.to_string(),
            map: file.map.clone(),
            env: file.env,
        };
        let Some(ext) = svc.get("extends") else { return vec![own] };
        let at = format!("{}:{}", file.origin, join_ptr(&join_ptr("/services", name), "extends"));
        let here = format!("{} services.{name}", file.origin);
        if seen.contains(&here) {
            seen.push(here);
            self.issues.push(ConfigIssue::new(at, format!("extends cycle: {}", seen.join(" -> "))));
            return vec![own];
        }
        if seen.len() >= MAX_CHAIN {
            self.issues.push(ConfigIssue::new(at, format!("extends chain deeper than {MAX_CHAIN}")));
            return vec![own];
        }
        seen.push(here);
        let env = &self.out.envs[file.env];
        let (target_file, target) = match ext {
            Value::String(_) => (None, interpolated(ext, env, &at, self.issues)),
            Value::Object(m) => {
                let file =
                    m.get("file").and_then(|f| interpolated(f, env, &format!("{at}/file"), self.issues));
                match m.get("service") {
                    Some(s) => (file, interpolated(s, env, &format!("{at}/service"), self.issues)),
                    None => {
                        self.issues
                            .push(ConfigIssue::new(at, format!("extends of service {name} needs `service`")));
                        return vec![own];
                    }
                }
            }
            _ => {
                self.issues.push(ConfigIssue::new(at, "extends must be a service name or {service, file}"));
                return vec![own];
            }
        };
        let Some(target) = target else { return vec![own] };
        let base_file = match &target_file {
            None => file.clone(),
            Some(f) => {
                let path = normalized(&resolve(&file.dir, f));
                match self.extends_file(&path) {
                    Some(map) => Services {
                        origin: origin_of(&path),
                        map,
                        env: file.env,
                        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
                    },
                    None => return vec![own],
                }
            }
        };
        if !base_file.map.get(&target).is_some_and(Value::is_object) {
            self.issues.push(ConfigIssue::new(
                at,
                format!("cannot extend service {name}: no service {target:?} in {}", base_file.origin),
            ));
            return vec![own];
        }
        let mut parts = self.chain(&base_file, &target, seen);
        parts.push(own);
        parts
    }

    /// The services of a file named by `extends.file`, read once.
    fn extends_file(&mut self, path: &Path) -> Option<Rc<Map<String, Value>>> {
        if let Some(known) = self.extended.get(path) {
            return known.clone();
        }
        let services = match self.parse_file(path) {
            Some(Value::Object(mut top)) => match top.remove("services") {
                Some(Value::Object(s)) => Some(Rc::new(s)),
                _ => {
                    self.issues
                        .push(ConfigIssue::new(origin_of(path), "an extends file needs a services map"));
                    None
                }
            },
            Some(_) => {
                self.issues.push(ConfigIssue::new(origin_of(path), "a compose file must be a map"));
                None
            }
            None => None,
        };
        self.extended.insert(path.to_path_buf(), services.clone());
        services
    }

    fn includes(&mut self, doc: &Doc, inc: &Value, chain: &[PathBuf]) {
        let at = format!("{}:/include", doc.origin);
        let Value::Array(items) = inc else {
            return self.issues.push(ConfigIssue::new(at, "include must be a list"));
        };
        let env = self.out.envs[doc.env].clone();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{at}/{i}");
            let Some(entry) = include_entry(item, &env, &at, self.issues) else { continue };
            if chain.len() >= MAX_CHAIN {
                self.issues.push(ConfigIssue::new(at, format!("include chain deeper than {MAX_CHAIN}")));
                continue;
            }
            let paths: Vec<PathBuf> = entry.paths.iter().map(|p| normalized(&resolve(&doc.dir, p))).collect();
            let first = &paths[0];
            if chain.contains(first) {
                let shown: Vec<String> =
                    chain.iter().chain([first]).map(|p| p.display().to_string()).collect();
                self.issues.push(ConfigIssue::new(at, format!("include cycle: {}", shown.join(" -> "))));
                continue;
            }
            let project_dir = match &entry.project_directory {
                Some(d) => resolve(&doc.dir, d),
                None => first.parent().map(Path::to_path_buf).unwrap_or_default(),
            };
            let mut included_env = env.clone();
            let env_files: Vec<PathBuf> = match &entry.env_file {
                Some(files) => {
                    files.iter().filter(|f| *f != "/dev/null").map(|f| resolve(&doc.dir, f)).collect()
                }
                None => {
                    let dot = project_dir.join(".env");
                    if self.budget.files.is_file(&dot) {
                        vec![dot]
                    } else {
                        vec![]
                    }
                }
            };
            for f in env_files {
                let read = self.budget.read(&f);
                match read.and_then(|text| super::parse_env_file(&text, &env)) {
                    Ok(vars) => {
                        for (k, v) in vars {
                            included_env.entry(k).or_insert(v);
                        }
                    }
                    Err(e) => self.issues.push(ConfigIssue::new(format!("{at} env_file {}", f.display()), e)),
                }
            }
            self.out.envs.push(included_env);
            let env_index = self.out.envs.len() - 1;
            let mut next_chain = chain.to_vec();
            next_chain.push(first.clone());
            for p in &paths {
                if let Some(top) = self.parse_file(p) {
                    let doc = Doc {
                        origin: origin_of(p),
                        top,
                        env: env_index,
                        dir: project_dir.clone(),
                        main: false,
                    };
                    self.document(doc, &next_chain);
                }
            }
        }
    }
}

/// One `include:` entry: a path, or {path (one or a list), project_directory, env_file}.
struct IncludeEntry {
    paths: Vec<String>,
    project_directory: Option<String>,
    env_file: Option<Vec<String>>,
}

fn include_entry(
    item: &Value,
    env: &BTreeMap<String, String>,
    at: &str,
    issues: &mut Vec<ConfigIssue>,
) -> Option<IncludeEntry> {
    let strings = |v: &Value, at: &str, issues: &mut Vec<ConfigIssue>| -> Option<Vec<String>> {
        match v {
            Value::String(_) => interpolated(v, env, at, issues).map(|s| vec![s]),
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .enumerate()
                .map(|(i, s)| interpolated(s, env, &format!("{at}/{i}"), issues))
                .collect(),
            _ => {
                issues.push(ConfigIssue::new(at, "must be a path or a list of paths"));
                None
            }
        }
    };
    match item {
        Value::String(_) => {
            Some(IncludeEntry { paths: strings(item, at, issues)?, project_directory: None, env_file: None })
        }
        Value::Object(m) => {
            let Some(path) = m.get("path") else {
                issues.push(ConfigIssue::new(at, "an include entry needs `path`"));
                return None;
            };
            let paths = strings(path, &format!("{at}/path"), issues)?;
            let project_directory = match m.get("project_directory") {
                Some(d) => Some(interpolated(d, env, &format!("{at}/project_directory"), issues)?),
                None => None,
            };
            let env_file = match m.get("env_file") {
                Some(f) => Some(strings(f, &format!("{at}/env_file"), issues)?),
                None => None,
            };
            Some(IncludeEntry { paths, project_directory, env_file })
        }
        _ => {
            issues.push(ConfigIssue::new(
                at,
                "an include entry must be a path or {path, project_directory, env_file}",
            ));
            None
        }
    }
}

/// A string value interpolated with `env`; an issue at `at` when it is not a string or fails.
fn interpolated(
    v: &Value,
    env: &BTreeMap<String, String>,
    at: &str,
    issues: &mut Vec<ConfigIssue>,
) -> Option<String> {
    let Value::String(s) = v else {
        issues.push(ConfigIssue::new(at, "must be a string"));
        return None;
    };
    match interpolate_str(s, env) {
        Ok(s) => Some(s),
        Err(e) => {
            issues.push(ConfigIssue::new(at, e));
            None
        }
    }
}

/// `a/./b/../c` as `a/c`, without asking the file system (cycle detection).
fn normalized(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
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
