//! ./conlink-start.sh for real, as its docs give it (the original's test3 with
//! docker): two containers started by hand, conlink in its image in the
//! foreground, then node 1 pings node 2.
//!
//!   ./conlink-start.sh -v --mode docker --host-mode docker --network-file examples/test3-network.yaml \
//!       -- --name ZZZ_network --rm -e NODE_NAME_1=ZZZ_node_1 -e NODE_NAME_2=ZZZ_node_2

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{docker_available, repo_root, say, unique};

/// `docker rm -f` of every container named, and the script stopped, even when the test fails.
struct Cleanup {
    containers: Vec<String>,
    script: Option<Child>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = Command::new("docker").args(["rm", "-f", c]).output();
        }
        if let Some(mut child) = self.script.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker").args(args).output().unwrap()
}

#[test]
fn docs_example_test3_with_docker() {
    if !docker_available("docs_example_test3_with_docker") {
        return;
    }
    // The docs' ZZZ_ names, made unique to this run.
    let (n1, n2, net) = (unique("ZZZ_node_1_"), unique("ZZZ_node_2_"), unique("ZZZ_network_"));
    let mut cleanup = Cleanup { containers: vec![net.clone(), n1.clone(), n2.clone()], script: None };
    for n in [&n1, &n2] {
        let out = docker(&[
            "run",
            &format!("--name={n}"),
            "--rm",
            "-d",
            "--network",
            "none",
            "alpine",
            "sleep",
            "864000",
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let log = std::env::temp_dir().join(format!("{net}.log"));
    let file = std::fs::File::create(&log).unwrap();
    let e1 = format!("NODE_NAME_1={n1}");
    let e2 = format!("NODE_NAME_2={n2}");
    let child = Command::new("./conlink-start.sh")
        .current_dir(repo_root())
        .args([
            "-v",
            "--mode",
            "docker",
            "--host-mode",
            "docker",
            "--network-file",
            "examples/test3-network.yaml",
        ])
        .args(["--", "--name", &net, "--rm", "-e", &e1, "-e", &e2])
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .expect("run ./conlink-start.sh");
    cleanup.script = Some(child);

    let start = Instant::now();
    let output = loop {
        let output = std::fs::read_to_string(&log).unwrap_or_default();
        if output.contains("All links connected") {
            break output;
        }
        if let Some(status) = cleanup.script.as_mut().unwrap().try_wait().unwrap() {
            panic!("conlink-start.sh exited ({status}) before connecting:\n{output}");
        }
        assert!(start.elapsed() < Duration::from_secs(60), "conlink did not connect:\n{output}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(output.contains("adding connectivity to outer docker"), "-v shows the settings:\n{output}");
    let ping = docker(&["exec", &n1, "ping", "-c1", "-W2", "10.0.1.2"]);
    assert!(ping.status.success(), "{n1} cannot ping {n2}: {}", String::from_utf8_lossy(&ping.stdout));
    say(&format!("conlink-start.sh: {net} linked {n1} and {n2} in {:?}", start.elapsed()));

    // Stopping the conlink container (SIGTERM) removes the links it made, and
    // the script, which ran it in the foreground, ends.
    assert!(docker(&["stop", "-t", "10", &net]).status.success());
    let status = cleanup.script.as_mut().unwrap().wait().unwrap();
    let _ = std::fs::remove_file(&log);
    let link = docker(&["exec", &n1, "ip", "link", "show", "ext-intf"]);
    assert!(!link.status.success(), "ext-intf still in {n1} after conlink stopped");
    say(&format!("conlink-start.sh exited with {status} after the container stopped"));
}
