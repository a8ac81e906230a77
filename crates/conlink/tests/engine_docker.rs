//! Engine layer against a real dockerd (scripts/test-env.sh up starts one).
//! Skips, saying why, when no docker socket exists.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use conlink::engine::{EngineClient, EngineError, EngineEvent, EngineKind};
use futures::StreamExt;

const SOCKET: &str = "/var/run/docker.sock";
const IMAGE: &str = "bbox:local";

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("run docker CLI");
    assert!(out.status.success(), "docker {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Removes the container however the test ends.
struct ContainerGuard(String);

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.0]).output();
    }
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn docker_available() -> bool {
    if !Path::new(SOCKET).exists() {
        println!("skipped: no docker socket at {SOCKET}");
        return false;
    }
    true
}

/// Start a compose-labelled sleeper with no network; returns (guard, id).
fn start_sleeper(name: &str, project: &str) -> (ContainerGuard, String) {
    let guard = ContainerGuard(name.to_string());
    let id = docker(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        name,
        "--label",
        &format!("com.docker.compose.project={project}"),
        "--label",
        "com.docker.compose.service=node",
        "--label",
        "com.docker.compose.container-number=3",
        "--label",
        "com.docker.compose.project.working_dir=/src/lab",
        IMAGE,
        "sleep",
        "300",
    ]);
    (guard, id)
}

#[tokio::test]
async fn missing_socket_is_a_clear_error() {
    let err =
        EngineClient::connect(EngineKind::Docker, Path::new("/nonexistent/docker.sock")).await.unwrap_err();
    assert!(matches!(err, EngineError::SocketMissing { .. }));
    assert!(err.to_string().contains("is dockerd running? (use --docker-socket)"), "{err}");
}

#[tokio::test]
async fn list_inspect_exec_and_events() {
    if !docker_available() {
        return;
    }
    let client = EngineClient::connect(EngineKind::Docker, Path::new(SOCKET))
        .await
        .expect("connect and negotiate API version");
    assert_eq!(client.kind(), EngineKind::Docker);

    let name = unique("conlink-engine-test");
    let project = unique("proj");
    let (_guard, id) = start_sleeper(&name, &project);

    // list_running finds it, with PID, clean name and compose labels.
    let listed = client.list_running().await.expect("list_running");
    let c = listed.iter().find(|c| c.id == id).expect("container listed");
    assert_eq!(c.name, name);
    assert!(c.running);
    assert_eq!(c.engine, EngineKind::Docker);
    assert_eq!(c.compose_project(), Some(project.as_str()));
    assert_eq!(c.compose_service(), Some("node"));
    assert_eq!(c.compose_index(), Some(3));
    assert_eq!(c.compose_working_dir(), Some("/src/lab"));
    let pid = c.pid.expect("running container has a PID");
    assert_eq!(pid.to_string(), docker(&["inspect", "-f", "{{.State.Pid}}", &id]));
    assert!(Path::new(&format!("/proc/{pid}/ns/net")).exists());

    // inspect by name and by id agree.
    let by_name = client.inspect(&name).await.expect("inspect by name");
    assert_eq!(by_name.id, id);
    assert_eq!(by_name.pid, Some(pid));

    // exec collects output and exit code, stderr included.
    let out = client.exec_with(&id, vec!["echo".into(), "hi".into()], |_| {}).await.expect("exec");
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(out.output.trim(), "hi");
    let out = client
        .exec_with(&id, vec!["sh".into(), "-c".into(), "echo oops >&2; exit 3".into()], |_| {})
        .await
        .expect("exec failing command");
    assert_eq!(out.exit_code, Some(3));
    assert_eq!(out.output.trim(), "oops");

    // events: stop -> Die, start -> Start (for this container).
    // Not polled before the stop on purpose: events() promises events from
    // the moment it is called, so subscribe-then-list misses nothing.
    let mut events = Box::pin(client.events());
    docker(&["stop", "-t", "0", &id]);
    let die = next_event_for(&mut events, &id).await;
    assert_eq!(die, EngineEvent::Die { id: id.clone() });
    let stopped = client.inspect(&id).await.expect("inspect stopped");
    assert!(!stopped.running);
    assert_eq!(stopped.pid, None);
    assert!(client.list_running().await.unwrap().iter().all(|c| c.id != id));

    docker(&["start", &id]);
    let start = next_event_for(&mut events, &id).await;
    assert_eq!(start, EngineEvent::Start { id: id.clone() });
    let restarted = client.inspect(&id).await.expect("inspect restarted");
    assert!(restarted.running);
    assert!(restarted.pid.is_some_and(|p| p != pid));

    // Unknown container: typed NotFound naming it.
    let err = client.inspect("conlink-no-such-container").await.unwrap_err();
    assert!(matches!(err, EngineError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("conlink-no-such-container"));
}

async fn next_event_for<S>(events: &mut S, id: &str) -> EngineEvent
where
    S: futures::Stream<Item = Result<EngineEvent, EngineError>> + Unpin,
{
    let wait = async {
        loop {
            let ev = events.next().await.expect("event stream ended").expect("event error");
            if ev.id() == id {
                return ev;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait).await.expect("event within 20 s")
}
