//! conlink survives a dockerd restart: its event stream reconnects, it resyncs,
//! and the containers dockerd restarts (new namespaces) are linked again.
//! Its own test binary: restarting dockerd must not race other docker tests.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{docker_available, repo_root, say, unique, Compose, HostConlink};

const COMPOSE: &str = r#"
services:
  a:
    image: alpine
    network_mode: none
    restart: always
    command: sleep 864000
    x-network:
      links: [{bridge: s1, ip: 192.0.2.1/24}]
  b:
    image: alpine
    network_mode: none
    restart: always
    command: sleep 864000
    x-network:
      links: [{bridge: s1, ip: 192.0.2.2/24}]
"#;

fn dockerd_pid() -> Option<i32> {
    let out = Command::new("pidof").arg("dockerd").output().ok()?;
    String::from_utf8_lossy(&out.stdout).split_whitespace().next()?.parse().ok()
}

fn restart_dockerd() {
    let pid = dockerd_pid().expect("dockerd is running");
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let start = Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(start.elapsed() < Duration::from_secs(60), "dockerd did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
    let st = Command::new(repo_root().join("scripts/test-env.sh")).arg("up").status().unwrap();
    assert!(st.success(), "dockerd did not come back");
}

#[test]
fn dockerd_restart_is_survived() {
    if !docker_available("dockerd_restart_is_survived") {
        return;
    }
    let dir = std::env::temp_dir().join(unique("dr"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("compose.yaml");
    std::fs::write(&file, COMPOSE).unwrap();
    let c = Compose::new("dr", &[&file]);
    c.ok(&["up", "-d"]);
    let netns = unique("cld");
    let mut conlink = HostConlink::start(
        &["--compose-file", file.to_str().unwrap(), "--compose-project", &c.project, "--netns", &netns],
        &[],
    );
    conlink.wait_log("All links connected", Duration::from_secs(60));
    c.ping("a", 1, "192.0.2.2");

    let t0 = Instant::now();
    restart_dockerd();
    // The containers come back with new namespaces; conlink must link them again.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let out = c.exec("a", 1, &["ping", "-c1", "-W1", "192.0.2.2"]);
        if out.status.success() {
            break;
        }
        assert!(Instant::now() < deadline, "links not restored after dockerd restart:\n{}", conlink.log());
        std::thread::sleep(Duration::from_millis(500));
    }
    say(&format!("dockerd restart: links restored {:?} after the restart began", t0.elapsed()));
    assert!(conlink.log().contains("reconnected"), "{}", conlink.log());
    assert!(conlink.stop().success());
    drop(c);
    let _ = std::fs::remove_dir_all(dir);
}
