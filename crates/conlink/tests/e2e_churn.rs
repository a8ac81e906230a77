//! Churn: containers killed, stopped, restarted, paused and started again over and over while conlink runs.
//! At the end every declared link is present and nothing leaked.
//! Default run: 20 containers, 60 cycles; full size: CHURN_CYCLES=1000.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{conlink_bin, docker_available, say, unique, Compose, HostConlink};

const REPLICAS: u32 = 20;

fn docker(args: &[&str]) {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn churn_converges_without_leaks() {
    if !docker_available("churn_converges_without_leaks") {
        return;
    }
    let cycles: u32 = std::env::var("CHURN_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
    let dir = std::env::temp_dir().join(unique("churn"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("compose.yaml");
    std::fs::write(
        &file,
        format!(
            "services:\n  n:\n    image: alpine\n    network_mode: none\n    scale: {REPLICAS}\n    command: sleep 864000\n    \
             x-network:\n      links: [{{bridge: s1, ip: 10.20.0.1/16}}]\n"
        ),
    )
    .unwrap();
    let host_before = support::links_in(None);
    let c = Compose::new("churn", &[&file]);
    c.ok(&["up", "-d"]);
    let netns = unique("clc");
    let mut conlink = HostConlink::start(
        &["--compose-file", file.to_str().unwrap(), "--compose-project", &c.project, "--netns", &netns],
        &[],
    );
    conlink.wait_log("All links connected", Duration::from_secs(60));

    let names: Vec<String> = (1..=REPLICAS).map(|i| format!("{}-n-{i}", c.project)).collect();
    let t0 = Instant::now();
    // A cheap deterministic shuffle: each cycle hits a batch of 4 containers with one operation.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut done = 0;
    while done < cycles {
        let mut batch = Vec::new();
        for _ in 0..4 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            batch.push(names[(seed % REPLICAS as u64) as usize].as_str());
        }
        batch.sort();
        batch.dedup();
        let op = ["kill", "stop", "restart", "pause"][(seed % 4) as usize];
        let mut args = vec![op];
        if op == "stop" || op == "restart" {
            args.extend(["-t", "0"]);
        }
        args.extend(batch.iter().copied());
        docker(&args);
        // Paused containers keep their namespace (and links); the others come back with new ones.
        let again = match op {
            "kill" | "stop" => Some("start"),
            "pause" => Some("unpause"),
            _ => None,
        };
        if let Some(again) = again {
            let mut cmd = vec![again];
            cmd.extend(batch.iter().copied());
            docker(&cmd);
        }
        done += batch.len() as u32;
    }
    let churn_time = t0.elapsed();

    // Converge: every replica has its link again and conlink's status agrees.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = Command::new(conlink_bin()).args(["--netns", &netns, "status", "--json"]).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let connected = v["links"]
            .as_array()
            .map(|l| l.iter().filter(|l| l["state"] == "connected").count())
            .unwrap_or(0);
        if v["all_connected"] == true && connected == REPLICAS as usize {
            break;
        }
        assert!(Instant::now() < deadline, "did not converge: {v}\n{}", conlink.log());
        std::thread::sleep(Duration::from_millis(250));
    }
    for i in [1, REPLICAS / 2, REPLICAS] {
        c.ping("n", i, "10.20.0.1");
    }
    let in_conlink = support::links_in(Some(&netns));
    let veths = in_conlink.iter().filter(|n| n.starts_with("n_")).count();
    let host_after = support::links_in(None);
    let leaked_host: Vec<&String> = host_after.difference(&host_before).collect();
    say(&format!(
        "churn: {done} container cycles in {churn_time:?}; {veths} outer links for {REPLICAS} containers; \
         leaked: {} in conlink's namespace, {} in the host's",
        veths.saturating_sub(REPLICAS as usize),
        leaked_host.len()
    ));
    assert_eq!(veths, REPLICAS as usize, "exactly one outer link per container: {in_conlink:?}");
    assert!(leaked_host.is_empty(), "interfaces leaked into the host namespace: {leaked_host:?}");
    assert!(conlink.stop().success());
    drop(c);
    let _ = std::fs::remove_dir_all(dir);
}
