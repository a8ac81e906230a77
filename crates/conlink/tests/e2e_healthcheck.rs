//! End to end: `conlink status --check` as the compose healthcheck of the
//! network service (examples/healthcheck-compose.yaml) with real dockerd and
//! `docker compose`, and `conlink graph` following containers as they go and come.

mod support;

use std::time::{Duration, Instant};

use support::{docker_available, examples, Compose};

fn health(c: &Compose) -> String {
    let out = std::process::Command::new("docker")
        .args(["inspect", "-f", "{{.State.Health.Status}}", &format!("{}-network-1", c.project)])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn graph_states(c: &Compose) -> Vec<String> {
    let out = c.exec("network", 1, &["/bin/conlink", "graph", "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["edges"].as_array().unwrap().iter().map(|e| e["state"].as_str().unwrap_or("-").to_string()).collect()
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn status_check_gates_the_compose_healthcheck() {
    if !docker_available("status_check_gates_the_compose_healthcheck") {
        return;
    }
    let c = Compose::new("hc", &[&examples().join("healthcheck-compose.yaml")]);
    // --wait returns only once every service with a healthcheck is healthy.
    let started = Instant::now();
    c.ok(&["up", "-d", "--wait"]);
    support::say(&format!(
        "healthcheck: lab healthy {} ms after `up -d --wait` started",
        started.elapsed().as_millis()
    ));
    assert_eq!(health(&c), "healthy");
    let ps = c.ok(&["ps", "--format", "{{.Service}} {{.State}}"]);
    assert!(ps.contains("tests running"), "tests started after the network was healthy:\n{ps}");
    assert_eq!(graph_states(&c), ["connected", "connected"]);

    // A container goes: its link has no container, --check fails, the graph says missing.
    c.ok(&["stop", "-t", "0", "h2"]);
    wait_until("graph to show h2's link missing", Duration::from_secs(10), || {
        graph_states(&c) == ["connected", "missing"]
    });
    let out = c.exec("network", 1, &["/bin/conlink", "status", "--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Not all links connected"));

    // It comes back: connected again, --check passes.
    c.ok(&["start", "h2"]);
    wait_until("h2's link connected again", Duration::from_secs(20), || {
        graph_states(&c) == ["connected", "connected"]
    });
    let out = c.exec("network", 1, &["/bin/conlink", "status", "--check"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}
