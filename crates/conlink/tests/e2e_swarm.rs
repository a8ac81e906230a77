//! Swarm mode for real: scripts/swarm-test.sh builds three dockerd "hosts"
//! (one network namespace each, one test LAN), joins them into a swarm,
//! deploys examples/swarm/stack.yaml, runs this build's conlink on every
//! node and checks cross-host pings, MTU, a new task, a drain and a stopped
//! node. The script cleans up everything it made, failure included. Both
//! forms run, one after the other (each is a whole swarm): conlink as the
//! stack's global service, and conlink as a process on each host.

mod support;

use std::process::Command;

use support::{conlink_bin, docker_available, repo_root, say};

#[test]
fn stack_spans_three_swarm_nodes_and_follows_drain_and_node_loss() {
    let test = "stack_spans_three_swarm_nodes_and_follows_drain_and_node_loss";
    if !docker_available(test) {
        return;
    }
    if !nix::unistd::Uid::effective().is_root() {
        say(&format!("skipped {test}: needs root (network namespaces, dockerd)"));
        return;
    }
    for mode in ["service", "host"] {
        let out = Command::new(repo_root().join("scripts/swarm-test.sh"))
            .arg(conlink_bin())
            .env("SWARM_TEST_MODE", mode)
            // Names of its namespaces: unique to this process so parallel runs do not meet.
            .env("SWARM_ENV_NAME", format!("sw{}", std::process::id() % 100_000))
            .output()
            .expect("run scripts/swarm-test.sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        for line in stdout.lines().filter(|l| l.contains(" ms")) {
            say(&format!("[{mode}] {line}"));
        }
        assert!(
            out.status.success() && stdout.contains("swarm-test: PASS"),
            "swarm-test ({mode}) failed:\n{stdout}\n{stderr}"
        );
    }
}
