//! scripts/conlink-start.sh for real: conlink in its image without compose,
//! linking two containers started by hand (the original's test3 with docker).

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{docker_available, examples, repo_root, say, unique};

/// `docker rm -f` of every container named, even when the test fails.
struct Containers(Vec<String>);

impl Drop for Containers {
    fn drop(&mut self) {
        for c in &self.0 {
            let _ = Command::new("docker").args(["rm", "-f", c]).output();
        }
    }
}

fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker").args(args).output().unwrap()
}

#[test]
fn conlink_start_script_links_hand_started_containers() {
    if !docker_available("conlink_start_script_links_hand_started_containers") {
        return;
    }
    let (n1, n2, cl) = (unique("ss-a"), unique("ss-b"), unique("ss-conlink"));
    let _guard = Containers(vec![cl.clone(), n1.clone(), n2.clone()]);
    for n in [&n1, &n2] {
        let out = docker(&["run", "-d", "--network", "none", "--name", n, "alpine", "sleep", "864000"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let e1 = format!("NODE_NAME_1={n1}");
    let e2 = format!("NODE_NAME_2={n2}");
    let net = examples().join("test3-network.yaml");
    let out = Command::new(repo_root().join("scripts/conlink-start.sh"))
        .args([
            "--docker",
            "--network-file",
            net.to_str().unwrap(),
            "--",
            "-d",
            "--name",
            &cl,
            "-e",
            &e1,
            "-e",
            &e2,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "conlink-start.sh: {}", String::from_utf8_lossy(&out.stderr));

    let start = Instant::now();
    let logs = loop {
        let out = docker(&["logs", &cl]);
        let logs =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if logs.contains("All links connected") {
            break logs;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "conlink did not connect:\n{logs}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(logs.contains(&n1) && logs.contains(&n2), "{logs}");
    let ping = docker(&["exec", &n1, "ping", "-c1", "-W2", "192.0.2.2"]);
    assert!(ping.status.success(), "{} cannot ping {}: {}", n1, n2, String::from_utf8_lossy(&ping.stdout));
    say(&format!("conlink-start.sh: conlink container {cl} linked {n1} and {n2}"));

    // Stopping the conlink container (SIGTERM) removes the links it made.
    assert!(docker(&["stop", "-t", "10", &cl]).status.success());
    let link = docker(&["exec", &n1, "ip", "link", "show", "eth0"]);
    assert!(!link.status.success(), "eth0 still in {n1} after conlink stopped");
}
