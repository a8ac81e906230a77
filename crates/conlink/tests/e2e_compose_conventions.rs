//! End to end with real dockerd and `docker compose`: the `.env` both compose
//! and conlink read, a service behind an inactive profile that must not hold
//! back "All links connected", and the progress line while a service is missing.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use support::{docker_available, unique, Compose, HostConlink};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

const COMPOSE: &str = r#"
services:
  a:
    image: alpine
    network_mode: none
    command: sleep 864000
    x-network:
      links: [{bridge: s1, ip: "${A_IP}"}]
  b:
    image: alpine
    network_mode: none
    command: sleep 864000
    x-network:
      links: [{bridge: s1, ip: "${B_IP:-192.0.2.99/24}"}]
  dbg:
    image: alpine
    network_mode: none
    profiles: [debug]
    command: sleep 864000
    x-network:
      links: [{bridge: s1, ip: 192.0.2.50/24}]
"#;

/// `.env` in compose's syntax: export prefix, quotes, comments.
const DOT_ENV: &str = "# addresses of the lab\nexport A_IP=192.0.2.1/24\nB_IP=\"192.0.2.2/24\" # b\n";

struct Lab {
    dir: PathBuf,
    compose: Compose,
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn lab(prefix: &str) -> Lab {
    let dir = std::env::temp_dir().join(unique(prefix));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("compose.yaml"), COMPOSE).unwrap();
    std::fs::write(dir.join(".env"), DOT_ENV).unwrap();
    let compose = Compose::new(prefix, &[&dir.join("compose.yaml")]);
    Lab { dir, compose }
}

#[test]
fn inactive_profile_does_not_hold_back_all_links_connected_and_dot_env_is_read() {
    if !docker_available("inactive_profile_does_not_hold_back_all_links_connected_and_dot_env_is_read") {
        return;
    }
    let lab = lab("d15bp");
    let c = &lab.compose;
    // Only `a` first: conlink must say it waits for b, and never for dbg.
    c.ok(&["up", "-d", "a"]);
    let netns = unique("d15b-");
    let file = lab.dir.join("compose.yaml");
    let mut conlink = HostConlink::start(
        &["--compose-file", file.to_str().unwrap(), "--compose-project", &c.project, "--netns", &netns],
        &[],
    );
    let log = conlink.wait_log("still waiting after", Duration::from_secs(20));
    assert!(
        log.contains("not waiting for services whose profiles are not active: dbg (profiles: debug)"),
        "{log}"
    );
    let progress = log.lines().find(|l| l.contains("still waiting after")).unwrap();
    assert!(progress.contains("service b: no container yet (eth0)"), "{progress}");
    assert!(!progress.contains("dbg"), "an inactive service is not waited for: {progress}");
    assert!(!log.contains("All links connected"), "b is missing:\n{log}");

    c.ok(&["up", "-d", "b"]);
    conlink.wait_log("All links connected", CONNECT_TIMEOUT);
    // The addresses came from .env.
    c.wait_for_addr("a", 1, "eth0", "192.0.2.1/24");
    c.wait_for_addr("b", 1, "eth0", "192.0.2.2/24");
    c.ping("a", 1, "192.0.2.2");
    assert!(conlink.stop().success(), "{}", conlink.log());
}

/// A loopback TCP port that forwards every connection to dockerd's unix socket,
/// so DOCKER_HOST=tcp://… can be tried against the real daemon.
fn tcp_to_docker_socket() -> std::net::SocketAddr {
    use std::os::unix::net::UnixStream;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let Ok(unix) = UnixStream::connect("/var/run/docker.sock") else { continue };
            let (mut t_in, mut u_out) = (tcp.try_clone().unwrap(), unix.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut t_in, &mut u_out);
                let _ = u_out.shutdown(std::net::Shutdown::Write);
            });
            let (mut u_in, mut t_out) = (unix, tcp);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut u_in, &mut t_out);
                let _ = t_out.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    addr
}

#[test]
fn the_process_environment_wins_over_dot_env_and_profiles_activate() {
    if !docker_available("the_process_environment_wins_over_dot_env_and_profiles_activate") {
        return;
    }
    let lab = lab("d15bq");
    let c = &lab.compose;
    c.ok(&["--profile", "debug", "up", "-d"]);
    let netns = unique("d15b-");
    let file = lab.dir.join("compose.yaml");
    let mut conlink = HostConlink::start(
        &[
            "--compose-file",
            file.to_str().unwrap(),
            "--compose-project",
            &c.project,
            "--netns",
            &netns,
            "--profile",
            "debug",
            "--podman-socket",
            "/nonexistent/d15b-podman.sock",
        ],
        // Docker reached through DOCKER_HOST=tcp://, not the default socket.
        &[("A_IP", "192.0.2.11/24"), ("DOCKER_HOST", &format!("tcp://{}", tcp_to_docker_socket()))],
    );
    let log = conlink.wait_log("All links connected", CONNECT_TIMEOUT);
    let listening = log.lines().find(|l| l.contains("listening for container events")).unwrap_or("");
    assert!(listening.contains("socket=tcp://127.0.0.1:"), "{log}");
    assert!(!log.contains("not waiting for services"), "debug is active:\n{log}");
    c.wait_for_addr("a", 1, "eth0", "192.0.2.11/24");
    c.wait_for_addr("dbg", 1, "eth0", "192.0.2.50/24");
    c.ping("b", 1, "192.0.2.11");
    c.ping("dbg", 1, "192.0.2.2");
    // Events arrive over tcp too: a restarted container is connected again.
    c.ok(&["restart", "-t", "0", "b"]);
    c.wait_for_addr("b", 1, "eth0", "192.0.2.2/24");
    c.ping("b", 1, "192.0.2.11");
    assert!(conlink.stop().success(), "{}", conlink.log());
}
