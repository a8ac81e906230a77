//! Step files in the original conlink's dctest format, run for real against
//! dockerd and `docker compose` with the conlink image:
//! - ours, tests/compat/test/*.yaml, in the original's conventions
//!   (/app/build/conlink.js, /utils extracted from the image, `exec: network`
//!   steps using the image's toolbox);
//! - the original's own test/test*.yaml with its unmodified compose files,
//!   when CONLINK_ORIGINAL_DIR names a checkout of LonoCloud/conlink.

mod dctest;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use dctest::run::{Outcome, Runner};
use support::{docker_available, repo_root, say, unique};

fn compat_dir() -> PathBuf {
    repo_root().join("tests/compat")
}

/// Runs one suite from `dir`/test and returns each test's outcome.
fn run_suite(dir: &Path, file: &str, project: &str) -> Vec<Outcome> {
    let suite = dctest::suite::load(&dir.join("test").join(file)).unwrap_or_else(|e| panic!("{e}"));
    Runner::new(project, dir.to_path_buf()).run_suite(&suite)
}

fn assert_all_passed(file: &str, outcomes: &[Outcome]) {
    let failed: Vec<String> =
        outcomes.iter().filter(|o| !o.passed).map(|o| format!("{file} / {}: {}", o.test, o.detail)).collect();
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
    assert!(!outcomes.is_empty(), "{file} has no tests");
}

fn compat(test: &str, file: &str) {
    if !docker_available(test) {
        return;
    }
    let outcomes = run_suite(&compat_dir(), file, &unique("dct"));
    assert_all_passed(file, &outcomes);
}

#[test]
fn compat_test1_links_routes_and_toolbox() {
    compat("compat_test1_links_routes_and_toolbox", "test1.yaml");
}

#[test]
fn compat_test9_every_bridge_mode() {
    compat("compat_test9_every_bridge_mode", "test9.yaml");
}

#[test]
fn compat_test11_utils_extracted_from_the_image() {
    compat("compat_test11_utils_extracted_from_the_image", "test11.yaml");
}

/// Image names the original's files use that cannot be pulled here, tagged
/// onto local images for the run and untagged afterwards (only tags this
/// run created):
/// - `PROJECT-network`, `PROJECT-extract-utils`: test11's services have
///   `build: {context: ../}` and no `image:`, so compose looks for these and
///   would otherwise build the original's Dockerfile (node:20, rust:latest);
///   they become our conlink image;
/// - `python`, `python:3-alpine` (test10, test11: `python -m http.server`,
///   curl): a Debian image with python3 and curl from scripts/standin-images.sh;
/// - `alpine` is the busybox image of scripts/test-env.sh, as for every e2e test.
struct Swaps(Vec<String>);

impl Swaps {
    fn apply(project: &str) -> Swaps {
        let mut swaps = Swaps(Vec::new());
        for name in [format!("{project}-network"), format!("{project}-extract-utils")] {
            swaps.tag("conlink:latest", &name);
        }
        let python = "conlink-standin/python:3";
        if !image_exists(python) {
            let script = repo_root().join("scripts/standin-images.sh");
            let ok = Command::new(&script).arg("python").status().is_ok_and(|s| s.success());
            assert!(ok, "{} python failed", script.display());
        }
        for name in ["python:latest", "python:3-alpine"] {
            if !image_exists(name) {
                swaps.tag(python, name);
            }
        }
        swaps
    }

    fn tag(&mut self, from: &str, to: &str) {
        let ok = Command::new("docker").args(["tag", from, to]).status().is_ok_and(|s| s.success());
        assert!(ok, "docker tag {from} {to} failed");
        say(&format!("original examples: image {to} is {from}"));
        self.0.push(to.to_string());
    }
}

impl Drop for Swaps {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = Command::new("docker")
                .args(["rmi", name])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn image_exists(name: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether this kernel has FEATURE (`netem`, `dummy`), tried in a throwaway network namespace.
fn kernel_has(feature: &str) -> bool {
    let script = match feature {
        "netem" => "ip link set lo up && tc qdisc add dev lo root netem delay 1ms",
        "dummy" => "ip link add d0 type dummy",
        other => panic!("no probe for kernel feature {other}"),
    };
    Command::new("unshare")
        .args(["-n", "sh", "-c", script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The original's step files that it runs in CI, in its order, with what each
/// needs from the kernel beyond what every test needs (test2's network file
/// has a dummy link, test7's links netem). Where the kernel lacks it conlink
/// fails that link and never logs `All links connected`, so the suite stops
/// at its second step: reported as a skip.
const ORIGINAL_SUITES: [(&str, Option<&str>); 6] = [
    ("test1.yaml", None),
    ("test2.yaml", Some("dummy")),
    ("test7.yaml", Some("netem")),
    ("test9.yaml", None),
    ("test10.yaml", None),
    ("test11.yaml", None),
];

#[test]
fn original_examples_unmodified() {
    let Some(dir) = std::env::var_os("CONLINK_ORIGINAL_DIR").map(PathBuf::from) else {
        say("skipped: original_examples_unmodified: CONLINK_ORIGINAL_DIR is not set \
             (a checkout of LonoCloud/conlink whose test/test*.yaml to run unmodified)");
        return;
    };
    if !docker_available("original_examples_unmodified") {
        return;
    }
    assert!(dir.join("test").is_dir(), "CONLINK_ORIGINAL_DIR={} has no test/ directory", dir.display());
    let project = unique("orig");
    let _swaps = Swaps::apply(&project);
    let mut failures = Vec::new();
    for (file, needs) in ORIGINAL_SUITES {
        let outcomes = run_suite(&dir, file, &project);
        for o in outcomes {
            let verdict = if o.passed { "passed" } else { "failed" };
            say(&format!("original {file} / {}: {verdict} ({:.0}s)", o.test, o.elapsed.as_secs_f64()));
            if o.passed {
                continue;
            }
            match needs.filter(|f| !kernel_has(f)) {
                Some(feature) => say(&format!(
                    "skipped: original {file} / {}: this kernel lacks {feature}: {}",
                    o.test,
                    o.detail.lines().next().unwrap_or("")
                )),
                None => failures.push(format!("{file} / {}: {}", o.test, o.detail)),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
