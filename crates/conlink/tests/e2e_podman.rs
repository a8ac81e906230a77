//! End to end with Podman (the original's test3): no compose, containers started
//! by hand, a network file naming them through `${NODE_NAME_1}`/`${NODE_NAME_2}`,
//! conlink on the host talking to podman's Docker-compatible API socket; then
//! Docker and Podman at once on one bridge.
//!
//! Needs `scripts/test-env.sh up` (podman, its containers.conf, the image
//! localhost/bbox:local and `podman system service` on the socket). The podman
//! CLI is used as a remote client of that service (`podman --url`), so these
//! tests need nothing but the socket and use the service's configuration.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{connected_ms, examples, say, unique, HostConlink};

const PODMAN_SOCKET: &str = "/var/run/podman/podman.sock";
const PODMAN_IMAGE: &str = "localhost/bbox:local";
const DOCKER_IMAGE: &str = "bbox:local";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

fn podman_socket() -> PathBuf {
    std::env::var_os("CONLINK_TEST_PODMAN_SOCKET").map(PathBuf::from).unwrap_or_else(|| PODMAN_SOCKET.into())
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Which engine runs a hand-started container.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Engine {
    Docker,
    Podman,
}

impl Engine {
    fn cmd(self) -> Command {
        match self {
            Engine::Docker => Command::new("docker"),
            Engine::Podman => {
                let mut c = Command::new("podman");
                c.arg("--url").arg(format!("unix://{}", podman_socket().display()));
                c
            }
        }
    }

    fn image(self) -> &'static str {
        match self {
            Engine::Docker => DOCKER_IMAGE,
            Engine::Podman => PODMAN_IMAGE,
        }
    }
}

/// Why `engine` cannot be used here, or None when it can.
fn missing(engine: Engine) -> Option<String> {
    let ok =
        |c: &mut Command| c.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    match engine {
        Engine::Podman => {
            if !ok(Command::new("podman").arg("--version")) {
                return Some("podman is not installed".into());
            }
            let sock = podman_socket();
            if !sock.exists() {
                return Some(format!(
                    "podman API socket {} does not exist (podman system service not running)",
                    sock.display()
                ));
            }
            let out = run(Engine::Podman.cmd().arg("version"));
            if !out.status.success() {
                return Some(format!(
                    "podman service on {} does not answer: {}",
                    sock.display(),
                    text(&out).trim()
                ));
            }
            if !ok(Engine::Podman.cmd().args(["image", "exists", PODMAN_IMAGE])) {
                return Some(format!("podman image {PODMAN_IMAGE} is missing"));
            }
        }
        Engine::Docker => {
            if !ok(Command::new("docker").arg("info")) {
                return Some("dockerd is not reachable".into());
            }
            if !ok(Command::new("docker").args(["image", "inspect", DOCKER_IMAGE])) {
                return Some(format!("docker image {DOCKER_IMAGE} is missing"));
            }
        }
    }
    None
}

/// Whether every engine in `engines` is usable; a skip is printed with the exact
/// reason, and is a failure under the project's test command (CONLINK_E2E_REQUIRED=1).
fn available(test: &str, engines: &[Engine]) -> bool {
    let Some(why) = engines.iter().find_map(|&e| missing(e)) else { return true };
    if std::env::var("CONLINK_E2E_REQUIRED").as_deref() == Ok("1") {
        panic!("{test}: {why} (scripts/test-env.sh up sets it up)");
    }
    say(&format!("skipped {test}: {why} (run scripts/test-env.sh up)"));
    false
}

/// A container started by hand (`ENGINE run -d --network none`), removed on drop.
struct Container {
    engine: Engine,
    name: String,
}

impl Container {
    fn start(engine: Engine, name: &str) -> Container {
        // The guard exists before the run, so even a half-created container is removed.
        let c = Container { engine, name: name.to_string() };
        let out = run(engine.cmd().args([
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            name,
            engine.image(),
            "sleep",
            "600",
        ]));
        assert!(out.status.success(), "{engine:?} run {name} failed:\n{}", text(&out));
        c
    }

    fn ok(&self, args: &[&str]) {
        let out = run(self.engine.cmd().args(args));
        assert!(out.status.success(), "{:?} {args:?} failed:\n{}", self.engine, text(&out));
    }

    fn exec(&self, args: &[&str]) -> Output {
        run(self.engine.cmd().arg("exec").arg(&self.name).args(args))
    }

    fn addr(&self, dev: &str) -> String {
        String::from_utf8_lossy(&self.exec(&["ip", "-o", "addr", "show", "dev", dev]).stdout).into_owned()
    }

    fn wait_addr(&self, dev: &str, addr: &str) {
        let start = Instant::now();
        loop {
            let a = self.addr(dev);
            if a.contains(addr) {
                return;
            }
            assert!(
                start.elapsed() < CONNECT_TIMEOUT,
                "{} never got {addr} on {dev}; it has: {a:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Asserts a ping to `dst` is answered (a few tries: a fresh link may need ARP).
    fn ping(&self, dst: &str) {
        let mut last = None;
        for _ in 0..5 {
            let out = self.exec(&["ping", "-c1", "-W2", dst]);
            if out.status.success() {
                return;
            }
            last = Some(out);
        }
        panic!("{} ({:?}) cannot ping {dst}:\n{}", self.name, self.engine, text(&last.unwrap()));
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        // `rm -f` kills at once; docker's rm has no -t (podman's would wait 10 s without it).
        let args: &[&str] = match self.engine {
            Engine::Docker => &["rm", "-f"],
            Engine::Podman => &["rm", "-f", "-t", "0"],
        };
        let _ =
            self.engine.cmd().args(args).arg(&self.name).stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}

/// conlink on the host with the test3 network file; `docker_socket` None means a
/// path that does not exist, so only podman is watched.
fn start_conlink(netns: &str, docker_socket: Option<&str>, n1: &str, n2: &str) -> HostConlink {
    let file = examples().join("test3-network.yaml");
    let nowhere = std::env::temp_dir().join(format!("{}-no-docker.sock", unique("cl")));
    let docker = docker_socket.map(PathBuf::from).unwrap_or(nowhere);
    let podman = podman_socket();
    HostConlink::start(
        &[
            "--network-file",
            file.to_str().unwrap(),
            "--podman-socket",
            podman.to_str().unwrap(),
            "--docker-socket",
            docker.to_str().unwrap(),
            "--netns",
            netns,
        ],
        &[("NODE_NAME_1", n1), ("NODE_NAME_2", n2)],
    )
}

fn stop_conlink(conlink: &mut HostConlink, netns: &str) {
    let status = conlink.stop();
    assert!(status.success(), "conlink exit status {status}:\n{}", conlink.log());
    assert!(!Path::new("/run/netns").join(netns).exists(), "netns {netns} left behind after exit");
}

/// Waits until the log contains `needle` `n` times.
fn wait_log_count(conlink: &mut HostConlink, needle: &str, n: usize) -> String {
    let start = Instant::now();
    loop {
        let log = conlink.log();
        if log.matches(needle).count() >= n {
            return log;
        }
        if start.elapsed() > CONNECT_TIMEOUT {
            panic!("{needle:?} not logged {n} times after {CONNECT_TIMEOUT:?}:\n{log}");
        }
        if let Ok(Some(status)) = conlink.child.try_wait() {
            panic!("conlink exited ({status}) before logging {needle:?} {n} times:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn test3_podman_containers_started_by_hand() {
    let test = "test3_podman_containers_started_by_hand";
    if !available(test, &[Engine::Podman]) {
        return;
    }
    let n1 = Container::start(Engine::Podman, &unique("t3p-a"));
    let netns = unique("cl3p");
    let t0 = Instant::now();
    let mut conlink = start_conlink(&netns, None, &n1.name, &format!("{}-b", n1.name));
    // node 2 starts after conlink: it is connected through podman's start event.
    let n2 = Container::start(Engine::Podman, &format!("{}-b", n1.name));
    let log = conlink.wait_log("All links connected", CONNECT_TIMEOUT);
    say(&format!(
        "test3 (podman, host conlink): All links connected {:?} ms after conlink started ({:?} wall)",
        connected_ms(&log),
        t0.elapsed()
    ));
    assert!(
        log.to_lowercase().contains("engine=podman"),
        "conlink did not report listening to podman:\n{log}"
    );
    assert!(
        !log.to_lowercase().contains("engine=docker"),
        "docker must not be used (its socket does not exist):\n{log}"
    );

    assert!(n1.addr("ext-intf").contains("10.0.1.1/16"), "{}", n1.addr("ext-intf"));
    assert!(n2.addr("ext-intf").contains("10.0.1.2/16"), "{}", n2.addr("ext-intf"));
    n1.ping("10.0.1.2");
    n2.ping("10.0.1.1");

    // Restart of node 2: its links go with the die event and come back with the start.
    let t1 = Instant::now();
    n2.ok(&["stop", "-t", "0", &n2.name]);
    wait_log_count(&mut conlink, "container died, links removed", 1);
    n2.ok(&["start", &n2.name]);
    n2.wait_addr("ext-intf", "10.0.1.2/16");
    n1.ping("10.0.1.2");
    say(&format!("test3 (podman): node 2 stop/start reconnected in {:?}", t1.elapsed()));

    stop_conlink(&mut conlink, &netns);
    assert_eq!(n1.addr("ext-intf"), "", "node 1 still has ext-intf after conlink exited");
}

#[test]
fn test3_docker_and_podman_containers_on_one_bridge() {
    let test = "test3_docker_and_podman_containers_on_one_bridge";
    if !available(test, &[Engine::Docker, Engine::Podman]) {
        return;
    }
    let base = unique("t3dp");
    let d = Container::start(Engine::Docker, &format!("{base}-d"));
    let p = Container::start(Engine::Podman, &format!("{base}-p"));
    let netns = unique("cl3dp");
    let mut conlink = start_conlink(&netns, Some("/var/run/docker.sock"), &d.name, &p.name);
    let log = conlink.wait_log("All links connected", CONNECT_TIMEOUT);
    say(&format!(
        "test3 (docker + podman, host conlink): All links connected after {:?} ms",
        connected_ms(&log)
    ));
    assert!(
        log.to_lowercase().contains("engine=docker") && log.to_lowercase().contains("engine=podman"),
        "conlink must listen to both engines:\n{log}"
    );

    assert!(d.addr("ext-intf").contains("10.0.1.1/16"), "{}", d.addr("ext-intf"));
    assert!(p.addr("ext-intf").contains("10.0.1.2/16"), "{}", p.addr("ext-intf"));
    d.ping("10.0.1.2");
    p.ping("10.0.1.1");

    // Each engine's events reach conlink: restart the podman one, then the docker one.
    p.ok(&["stop", "-t", "0", &p.name]);
    wait_log_count(&mut conlink, "container died, links removed", 1);
    p.ok(&["start", &p.name]);
    p.wait_addr("ext-intf", "10.0.1.2/16");
    d.ok(&["restart", "-t", "0", &d.name]);
    d.wait_addr("ext-intf", "10.0.1.1/16");
    d.ping("10.0.1.2");
    p.ping("10.0.1.1");

    stop_conlink(&mut conlink, &netns);
}

/// The engine layer against podman's Docker-compatible API: what the daemon relies
/// on (compose labels, init PID, clean name, exec output and exit code, start/die
/// events, typed NotFound) holds for podman as for docker.
#[tokio::test]
async fn engine_client_against_podman_api() {
    use conlink::engine::{EngineClient, EngineError, EngineEvent, EngineKind};

    let test = "engine_client_against_podman_api";
    if !available(test, &[Engine::Podman]) {
        return;
    }
    let client = EngineClient::connect(EngineKind::Podman, &podman_socket())
        .await
        .expect("connect to podman, negotiate API");
    let name = unique("t3p-eng");
    let guard = Container { engine: Engine::Podman, name: name.clone() };
    let project = unique("proj");
    let out = run(Engine::Podman.cmd().args([
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        &name,
        "--label",
        &format!("com.docker.compose.project={project}"),
        "--label",
        "com.docker.compose.service=node",
        "--label",
        "com.docker.compose.container-number=2",
        PODMAN_IMAGE,
        "sleep",
        "300",
    ]));
    assert!(out.status.success(), "podman run: {}", text(&out));
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();

    let listed = client.list_running().await.expect("list_running");
    let c = listed.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("{id} not listed: {listed:?}"));
    assert_eq!(c.name, name);
    assert_eq!(c.engine, EngineKind::Podman);
    assert_eq!(c.compose_project(), Some(project.as_str()));
    assert_eq!(c.compose_service(), Some("node"));
    assert_eq!(c.compose_index(), Some(2));
    let pid = c.pid.expect("running podman container has a PID");
    assert!(Path::new(&format!("/proc/{pid}/ns/net")).exists(), "podman's PID {pid} is not a host PID");
    assert_eq!(client.inspect(&name).await.expect("inspect by name").id, id);

    let out = client
        .exec_with(&id, vec!["sh".into(), "-c".into(), "echo out; echo err >&2; exit 3".into()], |_| {})
        .await
        .expect("exec");
    assert_eq!(out.exit_code, Some(3), "{out:?}");
    assert!(out.output.contains("out") && out.output.contains("err"), "{out:?}");

    let mut events = Box::pin(client.events());
    guard.ok(&["stop", "-t", "0", &name]);
    wait_for_event(&mut events, EngineEvent::Die { id: id.clone() })
        .await
        .expect("die event from podman within 20 s");
    let stopped = client.inspect(&id).await.expect("inspect stopped");
    assert!(!stopped.running && stopped.pid.is_none(), "{stopped:?}");
    guard.ok(&["start", &name]);
    wait_for_event(&mut events, EngineEvent::Start { id: id.clone() })
        .await
        .expect("start event from podman within 20 s");

    let err = client.inspect("conlink-no-such-container").await.unwrap_err();
    assert!(matches!(err, EngineError::NotFound { .. }), "podman's 404 must map to NotFound: {err}");
}

/// Waits up to 20 s for `want` on the engine event stream.
async fn wait_for_event<S>(
    events: &mut S,
    want: conlink::engine::EngineEvent,
) -> Result<(), tokio::time::error::Elapsed>
where
    S: futures::Stream<Item = Result<conlink::engine::EngineEvent, conlink::engine::EngineError>> + Unpin,
{
    use futures::StreamExt;
    let fut = async {
        loop {
            let ev = events.next().await.expect("podman event stream ended").expect("podman event error");
            if ev == want {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), fut).await
}
