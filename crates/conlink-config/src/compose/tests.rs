//! The compose conventions through the whole loader, with files in memory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Files;
use crate::load::{load_project_with, LoadOptions, Loaded};
use crate::{ConfigError, Target};

struct Mem(BTreeMap<PathBuf, String>);

impl Files for Mem {
    fn read(&self, path: &Path) -> Result<String, String> {
        self.0.get(path).cloned().ok_or_else(|| "cannot read file: No such file or directory".into())
    }
    fn is_file(&self, path: &Path) -> bool {
        self.0.contains_key(path)
    }
}

fn mem(files: &[(&str, &str)]) -> Mem {
    Mem(files.iter().map(|(p, t)| (PathBuf::from(p), t.to_string())).collect())
}

fn opts(compose: &[&str], env: &[(&str, &str)]) -> LoadOptions {
    LoadOptions {
        compose_files: compose.iter().map(PathBuf::from).collect(),
        env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..Default::default()
    }
}

fn load(files: &[(&str, &str)], compose: &[&str], env: &[(&str, &str)]) -> Loaded {
    load_project_with(&opts(compose, env), &mem(files)).unwrap_or_else(|e| panic!("{:?}", e.shown_lines()))
}

fn err(files: &[(&str, &str)], compose: &[&str], env: &[(&str, &str)]) -> String {
    let e: ConfigError = load_project_with(&opts(compose, env), &mem(files)).unwrap_err();
    e.shown_lines().join("\n")
}

/// (service, first address) of every link, in config order.
fn links(l: &Loaded) -> Vec<(String, String)> {
    l.config
        .links
        .iter()
        .map(|k| {
            let t = match &k.target {
                Target::Service(s) => s.clone(),
                Target::Container(c) => format!("container:{c}"),
            };
            (t, k.ip.first().map(|i| i.to_string()).unwrap_or_else(|| k.dev.clone()))
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

const H1: &str =
    "services:\n  h1:\n    image: x\n    x-network:\n      links: [{bridge: s1, ip: \"${IP1}\"}]\n";

#[test]
fn dot_env_beside_the_first_compose_file_interpolates_x_network() {
    let l = load(
        &[("lab/compose.yaml", H1), ("lab/.env", "# lab\nexport IP1=192.0.2.1/24\n")],
        &["lab/compose.yaml"],
        &[],
    );
    assert_eq!(links(&l), pairs(&[("h1", "192.0.2.1/24")]));
    assert_eq!(l.compose.env_file.as_deref(), Some("lab/.env"));
    // Not the working directory's .env, nor one beside a later file.
    let l = load(
        &[
            ("a/c.yaml", H1),
            ("b/c2.yaml", "services: {}\n"),
            (".env", "IP1=198.51.100.1/24\n"),
            ("b/.env", "IP1=203.0.113.1/24\n"),
        ],
        &["a/c.yaml", "b/c2.yaml"],
        &[("IP1", "192.0.2.7/24")],
    );
    assert_eq!(links(&l), pairs(&[("h1", "192.0.2.7/24")]));
    assert_eq!(l.compose.env_file, None);
}

#[test]
fn the_process_environment_wins_over_dot_env() {
    let files = [("compose.yaml", H1), (".env", "IP1=192.0.2.1/24\n")];
    let l = load(&files, &["compose.yaml"], &[("IP1", "192.0.2.9/24")]);
    assert_eq!(links(&l), pairs(&[("h1", "192.0.2.9/24")]));
    // Inside .env, ${VAR} sees the process environment too.
    let files = [("compose.yaml", H1), (".env", "NET=192.0.2\nIP1=\"${NET}.${HOST:-5}/24\"\n")];
    let l = load(&files, &["compose.yaml"], &[("HOST", "6")]);
    assert_eq!(links(&l), pairs(&[("h1", "192.0.2.6/24")]));
}

#[test]
fn dot_env_can_be_disabled_and_its_errors_name_file_and_line() {
    let files = [("compose.yaml", H1), (".env", "IP1=192.0.2.1/24\n")];
    let e = err(&files, &["compose.yaml"], &[("COMPOSE_DISABLE_ENV_FILE", "true")]);
    assert!(e.contains("/links/0/ip"), "{e}");
    let e = err(&[("compose.yaml", H1), (".env", "A=1\nB='open\n")], &["compose.yaml"], &[]);
    assert!(e.contains(".env: line 2: unterminated quoted value"), "{e}");
}

#[test]
fn the_override_file_is_read_for_a_single_default_named_file() {
    let over = "services:\n  h1:\n    x-network:\n      links: [{bridge: s2, dev: eth1, ip: 192.0.2.2/24}]\n";
    let files = [("d/compose.yaml", H1), ("d/compose.override.yaml", over), ("d/.env", "IP1=192.0.2.1/24\n")];
    let l = load(&files, &["d/compose.yaml"], &[]);
    assert_eq!(links(&l), pairs(&[("h1", "192.0.2.1/24"), ("h1", "192.0.2.2/24")]));
    assert_eq!(l.compose.files, ["d/compose.yaml", "d/compose.override.yaml"]);
    // A file compose would not find by itself, or two files: no override, like `-f`.
    let files = [("d/lab.yaml", H1), ("d/compose.override.yaml", over), ("d/.env", "IP1=192.0.2.1/24\n")];
    assert_eq!(links(&load(&files, &["d/lab.yaml"], &[])).len(), 1);
    let files = [
        ("d/compose.yaml", H1),
        ("d/extra.yaml", "services: {}\n"),
        ("d/compose.override.yaml", over),
        ("d/.env", "IP1=192.0.2.1/24\n"),
    ];
    assert_eq!(links(&load(&files, &["d/compose.yaml", "d/extra.yaml"], &[])).len(), 1);
}

#[test]
fn of_several_override_files_the_first_compose_name_wins_with_a_note() {
    let a = "services:\n  h1:\n    x-network: {links: [{bridge: s2, dev: eth1, ip: 192.0.2.2/24}]}\n";
    let b = "services:\n  h1:\n    x-network: {links: [{bridge: s3, dev: eth2, ip: 192.0.2.3/24}]}\n";
    let files = [
        ("docker-compose.yml", H1),
        ("docker-compose.override.yml", b),
        ("compose.override.yml", a),
        (".env", "IP1=192.0.2.1/24\n"),
    ];
    let l = load(&files, &["docker-compose.yml"], &[]);
    assert_eq!(links(&l), pairs(&[("h1", "192.0.2.1/24"), ("h1", "192.0.2.2/24")]));
    assert!(l.compose.notes.iter().any(|n| n.contains("several override files")), "{:?}", l.compose.notes);
}

#[test]
fn include_reads_services_with_their_own_directory_and_env() {
    let main =
        "include:\n  - sub/part.yaml\n  - path: [other/o.yaml, other/o2.yaml]\n    env_file: vars.env\n\
                services:\n  a:\n    x-network: {links: [{bridge: s1, ip: 192.0.2.1/24}]}\n";
    let part = "x-network:\n  bridges: [{bridge: s9, mode: linux}]\n\
                include: [deeper/d.yaml]\nservices:\n  b:\n    x-network: {links: [{bridge: s1, ip: \"${IPB}\"}]}\n";
    let deeper = "services:\n  d:\n    x-network: {links: [{bridge: s1, ip: \"${IPD}\"}]}\n";
    let o = "services:\n  o:\n    x-network: {links: [{bridge: s1, ip: \"${IPO}\"}]}\n";
    let o2 = "services:\n  o:\n    x-network: {links: [{bridge: s2, dev: eth1, ip: 192.0.2.5/24}]}\n";
    let files = [
        ("p/compose.yaml", main),
        ("p/sub/part.yaml", part),
        ("p/sub/.env", "IPB=192.0.2.2/24\nIPD=192.0.2.3/24\n"),
        ("p/sub/deeper/d.yaml", deeper),
        ("p/other/o.yaml", o),
        ("p/other/o2.yaml", o2),
        ("p/vars.env", "IPO=192.0.2.4/24\n"),
    ];
    let l = load(&files, &["p/compose.yaml"], &[]);
    assert_eq!(
        links(&l),
        pairs(&[
            ("d", "192.0.2.3/24"),
            ("b", "192.0.2.2/24"),
            ("o", "192.0.2.4/24"),
            ("o", "192.0.2.5/24"),
            ("a", "192.0.2.1/24")
        ])
    );
    assert!(!l.config.bridges.contains_key("s9"), "an included file's top-level x-network is not imported");
    assert!(l.compose.notes.iter().any(|n| n.starts_with("p/sub/part.yaml: the top-level x-network")));
    // The including project's environment wins over the included .env.
    let l = load(&files, &["p/compose.yaml"], &[("IPB", "198.51.100.2/24")]);
    assert!(links(&l).contains(&("b".into(), "198.51.100.2/24".into())));
}

#[test]
fn include_project_directory_and_errors() {
    let main = "include:\n  - path: parts/x.yaml\n    project_directory: proj\nservices: {}\n";
    let x = "services:\n  x:\n    x-network: {links: [{bridge: s1, ip: \"${IPX}\"}]}\n";
    let files = [("compose.yaml", main), ("parts/x.yaml", x), ("proj/.env", "IPX=192.0.2.8/24\n")];
    assert_eq!(links(&load(&files, &["compose.yaml"], &[])), pairs(&[("x", "192.0.2.8/24")]));

    let e = err(&[("compose.yaml", "include: [nope.yaml]\n")], &["compose.yaml"], &[]);
    assert!(e.contains("nope.yaml: cannot read file"), "{e}");
    let e = err(&[("compose.yaml", "include: a.yaml\n")], &["compose.yaml"], &[]);
    assert!(e.contains("compose.yaml:/include: include must be a list"), "{e}");
    let e = err(&[("compose.yaml", "include: [{project_directory: x}]\n")], &["compose.yaml"], &[]);
    assert!(e.contains("compose.yaml:/include/0: an include entry needs `path`"), "{e}");
    let e = err(
        &[("compose.yaml", "include: [{path: a.yaml, env_file: missing.env}]\n"), ("a.yaml", "")],
        &["compose.yaml"],
        &[],
    );
    assert!(e.contains("missing.env") && e.contains("cannot read"), "{e}");
}

#[test]
fn include_cycles_and_include_bombs_are_refused() {
    let files =
        [("a/compose.yaml", "include: [../b/b.yaml]\n"), ("b/b.yaml", "include: [../a/./compose.yaml]\n")];
    let e = err(&files, &["a/compose.yaml"], &[]);
    assert!(e.contains("include cycle: b/b.yaml -> a/compose.yaml"), "{e}");
    // Each level includes the next one twice: 2^12 inclusions unless the file budget stops it.
    let mut files: Vec<(String, String)> = (0..12)
        .map(|i| (format!("l{i}.yaml"), format!("include: [l{0}.yaml, ./l{0}.yaml]\n", i + 1)))
        .collect();
    files.push(("l12.yaml".into(), "services: {}\n".into()));
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let t = std::time::Instant::now();
    let e = err(&refs, &["l0.yaml"], &[]);
    assert!(e.contains("more than 64 files"), "{e}");
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn extends_in_the_same_file_and_from_another_file() {
    let main = "services:\n  base:\n    x-network: {links: [{bridge: s0, ip: 192.0.2.10/24}]}\n  \
                h1:\n    extends: base\n    x-network: {links: [{bridge: s1, dev: eth1, ip: 192.0.2.11/24}]}\n  \
                h2:\n    extends: {file: lib/common.yaml, service: router}\n";
    let common = "services:\n  router:\n    extends: {file: ../lib2/root.yaml, service: root}\n    profiles: [routers]\n    \
                  x-network: {links: [{bridge: s2, dev: eth1, ip: \"${IPR}\"}]}\n";
    let root = "services:\n  root:\n    x-network: {links: [{bridge: s3, dev: eth2, ip: 192.0.2.30/24}, {service: other, bridge: s3, ip: 192.0.2.31/24}]}\n";
    let files = [("compose.yaml", main), ("lib/common.yaml", common), ("lib2/root.yaml", root)];
    let l = load(&files, &["compose.yaml"], &[("IPR", "192.0.2.20/24")]);
    assert_eq!(
        links(&l),
        pairs(&[
            ("base", "192.0.2.10/24"),
            ("h1", "192.0.2.10/24"),
            ("h1", "192.0.2.11/24"),
            ("h2", "192.0.2.30/24"),
            ("other", "192.0.2.31/24"),
            ("h2", "192.0.2.20/24"),
        ])
    );
    assert_eq!(l.compose.files, ["compose.yaml", "lib/common.yaml", "lib2/root.yaml"]);
    // A base's profiles become the service's (compose merges the lists).
    assert_eq!(l.compose.inactive["h2"].profiles, ["routers"]);
}

#[test]
fn extends_errors_name_the_service_and_cycles_end() {
    let e = err(&[("compose.yaml", "services:\n  a: {extends: nope}\n")], &["compose.yaml"], &[]);
    assert!(
        e.contains("compose.yaml:/services/a/extends: cannot extend service a: no service \"nope\""),
        "{e}"
    );
    let cyc = "services:\n  a: {extends: b}\n  b: {extends: a}\n";
    let e = err(&[("compose.yaml", cyc)], &["compose.yaml"], &[]);
    assert!(
        e.contains(
            "extends cycle: compose.yaml services.a -> compose.yaml services.b -> compose.yaml services.a"
        ),
        "{e}"
    );
    let e = err(&[("compose.yaml", "services:\n  a: {extends: {file: x.yaml}}\n")], &["compose.yaml"], &[]);
    assert!(e.contains("needs `service`"), "{e}");
    let e = err(
        &[("compose.yaml", "services:\n  a: {extends: {file: x.yaml, service: s}}\n")],
        &["compose.yaml"],
        &[],
    );
    assert!(e.contains("x.yaml: cannot read file"), "{e}");
}

#[test]
fn an_error_in_an_extended_link_names_the_base_file() {
    let main = "services:\n  h1:\n    extends: {file: base.yaml, service: b}\n";
    let base = "services:\n  b:\n    x-network: {links: [{bridge: s1, mtu: 5}]}\n";
    let e = err(&[("compose.yaml", main), ("base.yaml", base)], &["compose.yaml"], &[]);
    assert!(e.contains("base.yaml: services.b x-network (extended by services.h1) links[0].mtu"), "{e}");
}

#[test]
fn inactive_profiles_are_reported_with_container_names() {
    let main = "services:\n  always:\n    x-network: {links: [{bridge: s1}]}\n  \
                dbg:\n    profiles: [debug]\n    container_name: dbg-box\n    x-network: {links: [{bridge: s1}]}\n  \
                mon:\n    profiles: [\"${MON_PROFILE}\", ops]\n";
    let files = [("compose.yaml", main), (".env", "MON_PROFILE=monitoring\n")];
    let l = load(&files, &["compose.yaml"], &[]);
    assert!(l.compose.profiles.is_empty());
    let names: Vec<&String> = l.compose.inactive.keys().collect();
    assert_eq!(names, ["dbg", "mon"]);
    assert_eq!(l.compose.inactive["dbg"].container_name.as_deref(), Some("dbg-box"));
    assert_eq!(l.compose.inactive["mon"].profiles, ["monitoring", "ops"]);
    // The links of an inactive service stay in the config (they connect if it starts anyway).
    assert_eq!(l.config.links.len(), 2);

    let l = load(&files, &["compose.yaml"], &[("COMPOSE_PROFILES", "ops")]);
    assert_eq!(l.compose.inactive.keys().collect::<Vec<_>>(), ["dbg"]);
    let files =
        [("compose.yaml", main), (".env", "COMPOSE_PROFILES=debug,monitoring\nMON_PROFILE=monitoring\n")];
    let l = load(&files, &["compose.yaml"], &[]);
    assert!(l.compose.inactive.is_empty(), "COMPOSE_PROFILES from .env counts");
    let mut o = opts(&["compose.yaml"], &[]);
    o.profiles = vec!["ops".into()];
    let l = load_project_with(&o, &mem(&files)).unwrap();
    assert_eq!(l.compose.inactive.keys().collect::<Vec<_>>(), ["dbg"], "--profile replaces COMPOSE_PROFILES");
}

#[test]
fn stdin_as_project_uses_the_working_directory() {
    // `-` is read through Files like any path; its relative paths start in the working directory.
    let files = [
        ("-", "include: [sub/x.yaml]\nservices: {}\n"),
        ("sub/x.yaml", H1),
        ("sub/.env", "IP1=192.0.2.1/24\n"),
    ];
    let l = load(&files, &["-"], &[]);
    assert_eq!(links(&l), pairs(&[("h1", "192.0.2.1/24")]));
    assert_eq!(l.compose.files, ["<stdin>", "sub/x.yaml"]);
}

#[test]
fn extends_copies_are_charged_so_a_shared_big_base_is_refused_fast() {
    let big = "x".repeat(1 << 20);
    let mut text =
        format!("services:\n  base:\n    x-network: {{links: [{{bridge: s1, netem: \"{big}\"}}]}}\n");
    for i in 0..100 {
        text.push_str(&format!("  s{i}: {{extends: base}}\n"));
    }
    let t = std::time::Instant::now();
    let e = err(&[("compose.yaml", &text)], &["compose.yaml"], &[]);
    assert!(e.contains("extends copies more than 24 MiB of x-network"), "{}", &e[..e.len().min(300)]);
    assert!(t.elapsed() < std::time::Duration::from_secs(5), "{:?}", t.elapsed());
}

#[test]
fn parsed_size_is_budgeted_across_included_files() {
    // Each file is small but expands to ~6 MiB through aliases (under the 8 MiB per file).
    let bomb =
        format!("x-a: &a \"{}\"\nx-b: [{}]\nservices: {{}}\n", "x".repeat(100_000), vec!["*a"; 60].join(","));
    let includes: String = (0..10).map(|i| format!("  - f{i}.yaml\n")).collect();
    let main = format!("include:\n{includes}");
    let mut files: Vec<(String, String)> = (0..10).map(|i| (format!("f{i}.yaml"), bomb.clone())).collect();
    files.push(("compose.yaml".into(), main));
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let e = err(&refs, &["compose.yaml"], &[]);
    assert!(e.contains("too large once parsed"), "{}", &e[..e.len().min(300)]);
    // One such file alone is fine.
    let l = load(&[("compose.yaml", "include: [f0.yaml]\n"), ("f0.yaml", &bomb)], &["compose.yaml"], &[]);
    assert!(l.config.links.is_empty());
}
