//! Before-start links with Docker: examples/before-start-compose.yaml run as a user
//! would (conlink as a compose service, workloads with `runtime: conlink`), on a
//! dockerd this test starts itself with `conlink-runc` registered (the shared
//! dockerd is never reconfigured). Every workload checks its own interfaces as its
//! first command and exits non-zero when anything is missing. Then: one container
//! restarted, conlink restarted, dockerd restarted; every check passes each time.
//! One service is overridden back to the default event mode: the two modes mix.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{examples, say, unique, Compose};

const WORKLOADS: &[&str] = &["r0-1", "h1-1", "h3-1", "h3-2"];
const PASSED: &str = "check: passed";

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A throwaway dockerd: own data root, exec root, socket, pid file; no bridge, no
/// iptables; runtime `conlink` = the conlink-runc cargo built; stopped by PID.
struct PrivateDockerd {
    dir: PathBuf,
    child: Option<Child>,
    env: Vec<(String, String)>,
}

impl PrivateDockerd {
    /// With `registered`, daemon.json names cargo's conlink-runc as runtime `conlink`;
    /// without, it is empty (for `conlink-runc setup` to fill in).
    fn start(dir: &Path, env: &[(&str, &str)], registered: bool) -> PrivateDockerd {
        std::fs::create_dir_all(dir.join("sock")).unwrap();
        let runtime = env!("CARGO_BIN_EXE_conlink-runc");
        let config = match registered {
            true => format!(r#"{{"runtimes": {{"conlink": {{"path": "{runtime}"}}}}}}"#),
            false => "{}".to_string(),
        };
        std::fs::write(dir.join("daemon.json"), config).unwrap();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut d = PrivateDockerd { dir: dir.to_path_buf(), child: None, env };
        d.spawn();
        d
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("docker.sock")
    }

    fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    fn spawn(&mut self) {
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("dockerd.log")).unwrap();
        let d = |p: &str| self.dir.join(p).display().to_string();
        let child = Command::new("dockerd")
            .args(["--config-file", &d("daemon.json"), "--data-root", &d("data"), "--exec-root", &d("x")])
            .args(["-H", &self.host(), "--pidfile", &d("dockerd.pid")])
            .args(["--bridge=none", "--iptables=false", "--ip-masq=false"])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        self.child = Some(child);
        let start = Instant::now();
        while !self.docker(&["info"]).status.success() {
            assert!(start.elapsed() < Duration::from_secs(60), "private dockerd not ready:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default()
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let start = Instant::now();
        while child.try_wait().ok().flatten().is_none() {
            if start.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker").env("DOCKER_HOST", self.host()).args(args).output().expect("run docker")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(out.status.success(), "docker {args:?} failed:\n{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Copies an image from the shared dockerd (nothing can be pulled here).
    fn copy_image(&self, image: &str) {
        let mut save = Command::new("docker").args(["save", image]).stdout(Stdio::piped()).spawn().unwrap();
        let st = Command::new("docker")
            .env("DOCKER_HOST", self.host())
            .args(["load", "-q"])
            .stdin(save.stdout.take().unwrap())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(save.wait().unwrap().success(), "docker save {image} failed");
        assert!(st.success(), "cannot copy image {image}");
    }
}

impl Drop for PrivateDockerd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn prerequisites() -> Option<&'static str> {
    let ok = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root (starts its own dockerd)");
    }
    if !ok("dockerd", &["--version"]) {
        return Some("dockerd is not installed");
    }
    if !ok("docker", &["compose", "version"]) {
        return Some("the docker compose plugin is missing");
    }
    for image in ["alpine:latest", "conlink:latest"] {
        if !ok("docker", &["image", "inspect", image]) {
            return Some("images alpine:latest and conlink:latest must exist in the shared dockerd");
        }
    }
    None
}

/// The example's check script, run again in a running container (without its final sleep).
fn recheck(d: &PrivateDockerd, c: &Compose, service: &str, index: u32) -> String {
    let cmd = d.ok(&["inspect", "-f", "{{json .Config.Cmd}}", &format!("{}-{service}-{index}", c.project)]);
    let argv: Vec<String> = serde_json::from_str(cmd.trim()).expect("Cmd is a JSON list");
    let script = argv[2].replace("exec sleep 864000", "true");
    text(&c.exec(service, index, &["sh", "-c", &script]))
}

fn split_name(workload: &str) -> (&str, u32) {
    let (s, i) = workload.rsplit_once('-').unwrap();
    (s, i.parse().unwrap())
}

fn workload_log(c: &Compose, workload: &str) -> String {
    let name = format!("{}-{workload}", c.project);
    text(
        &Command::new("docker")
            .envs(c.env.iter().map(|(k, v)| (k, v)))
            .args(["logs", &name])
            .output()
            .unwrap(),
    )
}

/// How many passed checks each workload has logged so far.
fn passes(c: &Compose) -> Vec<usize> {
    WORKLOADS.iter().map(|w| workload_log(c, w).matches(PASSED).count()).collect()
}

/// Waits until every workload has logged one more passed check than in `before`;
/// panics on a failed check.
fn wait_checks(c: &Compose, before: &[usize], timeout: Duration) {
    let start = Instant::now();
    for (w, n) in WORKLOADS.iter().zip(before) {
        loop {
            let log = workload_log(c, w);
            assert!(!log.contains("check: FAILED"), "{w} failed its check:\n{log}");
            if log.matches(PASSED).count() > *n {
                break;
            }
            assert!(start.elapsed() < timeout, "{w}: no new passed check after {timeout:?}:\n{log}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Every container of the project is running and none was restarted by its policy
/// (a failed check exits non-zero and would be).
fn assert_all_running(d: &PrivateDockerd, c: &Compose) {
    let names = d.ok(&["ps", "-aq", "--filter", &format!("label=com.docker.compose.project={}", c.project)]);
    let ids: Vec<&str> = names.split_whitespace().collect();
    assert_eq!(ids.len(), WORKLOADS.len() + 2, "network, r0, h1, h2 and two h3 expected");
    for id in ids {
        let s = d.ok(&["inspect", "-f", "{{.Name}} {{.State.Status}} {{.RestartCount}}", id]);
        let f: Vec<&str> = s.split_whitespace().collect();
        assert_eq!((f[1], f[2]), ("running", "0"), "{s}");
    }
}

/// Seconds since the epoch of an RFC 3339 UTC time ("2026-12-01T21:44:04.058398Z").
fn epoch(t: &str) -> Option<f64> {
    let (date, time) = t.trim().trim_end_matches('Z').split_once('T')?;
    let d: Vec<i64> = date.split('-').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let h: Vec<i64> = hms.split(':').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    let (y, m) = if d[1] <= 2 { (d[0] - 1, d[1] + 9) } else { (d[0], d[1] - 3) };
    let days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + d[2] - 1 - 719_468;
    let secs = days * 86_400 + h[0] * 3600 + h[1] * 60 + h[2];
    Some(secs as f64 + format!("0.{frac}").parse::<f64>().ok()?)
}

/// When one container's links came, in ms: from the runtime's `create` (conlink-runc's
/// own figure), from the daemon's receipt of the request, from docker's `Created`
/// (compose creates all containers first); and how long before `StartedAt`.
struct Timing {
    name: String,
    runtime_create: f64,
    /// Of `runtime_create`, the real runc's own part.
    runc: f64,
    request: f64,
    created: f64,
    before_start: f64,
}

fn number_after(line: &str, key: &str) -> Option<f64> {
    let rest = &line[line.find(key)? + key.len()..];
    rest.split(|ch: char| !ch.is_ascii_digit() && ch != '.').next()?.parse().ok()
}

fn measure(d: &PrivateDockerd, c: &Compose) -> Vec<Timing> {
    let log = text(&d.docker(&["logs", &format!("{}-network-1", c.project)]));
    WORKLOADS
        .iter()
        .map(|w| {
            let name = format!("{}-{w}", c.project);
            let line = log
                .lines()
                .rfind(|l| {
                    l.contains("links built before start") && l.contains(&format!("container={name} "))
                })
                .unwrap_or_else(|| panic!("no before-start line for {name}:\n{log}"));
            let links = epoch(line.split_whitespace().next().unwrap()).unwrap();
            let own = workload_log(c, w);
            let runtime_line = own.lines().rfind(|l| l.contains("after create began")).unwrap_or("");
            let s = d.ok(&["inspect", "-f", "{{.Created}} {{.State.StartedAt}}", &name]);
            let (created, started) = s.trim().split_once(' ').unwrap();
            Timing {
                name,
                runtime_create: number_after(runtime_line, "(").unwrap_or(f64::NAN),
                runc: number_after(runtime_line, "the real create took ").unwrap_or(f64::NAN),
                request: number_after(line, "elapsed_us=").unwrap_or(f64::NAN) / 1e3,
                created: (links - epoch(created).unwrap()) * 1e3,
                before_start: (epoch(started).unwrap() - links) * 1e3,
            }
        })
        .collect()
}

/// Event mode: how long after its start the overridden h2 got its link.
fn event_mode_delay(d: &PrivateDockerd, c: &Compose) -> f64 {
    let name = format!("{}-h2-1", c.project);
    let log = text(&d.docker(&["logs", &format!("{}-network-1", c.project)]));
    let line = log
        .lines()
        .find(|l| l.contains("link up") && l.contains(&format!("container={name} ")))
        .expect("h2 linked");
    let links = epoch(line.split_whitespace().next().unwrap()).unwrap();
    let started = d.ok(&["inspect", "-f", "{{.State.StartedAt}}", &name]);
    (links - epoch(&started).unwrap()) * 1e3
}

fn report(m: &[Timing], when: &str) {
    for t in m {
        say(&format!(
            "before-start: {}: links present {:.0} ms after runtime create began (runc's part {:.0} ms), \
             {:.1} ms after the request, {:.0} ms after docker Created; {:.1} ms before StartedAt",
            t.name, t.runtime_create, t.runc, t.request, t.created, t.before_start
        ));
        assert!(t.before_start > 0.0, "{}: links came {:.1} ms after its start", t.name, -t.before_start);
    }
    say(&format!(
        "before-start ({when}): p50 over {} containers: runtime create -> links {:.0} ms (runc {:.0} ms), \
         request -> links {:.1} ms, docker Created -> links {:.0} ms",
        m.len(),
        p50(m.iter().map(|t| t.runtime_create).collect()),
        p50(m.iter().map(|t| t.runc).collect()),
        p50(m.iter().map(|t| t.request).collect()),
        p50(m.iter().map(|t| t.created).collect()),
    ));
}

fn p50(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// h2 back in the event mode; the others fall back to starting without links when no
/// conlink answers in 5 s (what a dockerd restart with conlink as its own service needs).
const OVERRIDE: &str = r#"
x-fallback: &fallback {CONLINK_PRESTART: fallback, CONLINK_PRESTART_TIMEOUT: "5"}
services:
  r0: {environment: *fallback}
  h1: {environment: *fallback}
  h3: {environment: *fallback}
  h2:
    runtime: runc
    command:
      - sh
      - -c
      - |
        n=0
        until ip -o addr show dev eth0 2>/dev/null | grep -q 192.0.2.70/26; do n=$$((n+1)); sleep 0.02; done
        echo "event mode: links after $$n polls"
        exec sleep 864000
"#;

#[test]
fn before_start_compose_survives_restarts() {
    if let Some(why) = prerequisites() {
        say(&format!("skipped before_start_compose_survives_restarts: {why}"));
        return;
    }
    let dir = std::env::temp_dir().join(unique("d16bs"));
    let sock_dir = dir.join("sock").display().to_string();
    let mut d = PrivateDockerd::start(
        &dir,
        &[("CONLINK_SOCKET_DIR", &sock_dir), ("CONLINK_PRESTART_TIMEOUT", "20"), ("CONLINK_RUNC_DEBUG", "1")],
        true,
    );
    d.copy_image("alpine:latest");
    d.copy_image("conlink:latest");
    // The image with this build's conlink (the shared conlink:latest may predate it).
    let ctx = dir.join("image");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_conlink"), ctx.join("conlink")).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM conlink:latest\nCOPY conlink /bin/conlink\n").unwrap();
    let out = Command::new("docker")
        .env("DOCKER_HOST", d.host())
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", "conlink:latest"])
        .arg(&ctx)
        .output()
        .unwrap();
    assert!(out.status.success(), "image build failed:\n{}", text(&out));

    let override_file = dir.join("event-mode-h2.yaml");
    std::fs::write(&override_file, OVERRIDE).unwrap();
    let mut c = Compose::new("d16bs", &[&examples().join("before-start-compose.yaml"), &override_file]);
    c.env = vec![
        ("DOCKER_HOST".into(), d.host()),
        ("DOCKER_SOCKET".into(), d.socket().display().to_string()),
        ("CONLINK_SOCKET_DIR".into(), sock_dir.clone()),
        ("CONLINK_SOCKET_NAME".into(), c.project.clone()),
    ];
    let t0 = Instant::now();
    c.ok(&["up", "-d"]);
    say(&format!("before-start: compose up of 6 containers took {:?}", t0.elapsed()));
    wait_checks(&c, &[0; 4], Duration::from_secs(60));
    c.wait_log("h2", "event mode: links after", Duration::from_secs(30));
    assert_all_running(&d, &c);
    report(&measure(&d, &c), "compose up, conlink starting alongside");
    say(&format!(
        "before-start: for comparison, event mode (h2): links {:.1} ms after StartedAt",
        event_mode_delay(&d, &c)
    ));
    c.ping("h1", 1, "192.0.2.141");
    c.ping("h1", 1, "2001:db8:3::8d");

    // A container with no links anywhere, given the runtime: refused, naming the fallback.
    let out = d.docker(&["run", "--rm", "--runtime", "conlink", "--network", "none", "alpine", "true"]);
    let msg = text(&out);
    assert!(!out.status.success(), "{msg}");
    assert!(
        msg.contains("no conlink daemon claimed container") && msg.contains("default event mode"),
        "{msg}"
    );

    // One container restarted: its new process checks again, and passes.
    d.ok(&["restart", "-t", "1", &format!("{}-h1-1", c.project)]);
    let start = Instant::now();
    while c.logs("h1").matches(PASSED).count() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "h1 did not pass its check again:\n{}",
            c.logs("h1")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_all_running(&d, &c);

    // conlink restarted: it rebuilds every link from the engine and the kernel.
    let before = c.logs("network").matches("All links connected").count();
    d.ok(&["restart", "-t", "10", &format!("{}-network-1", c.project)]);
    let start = Instant::now();
    while c.logs("network").matches("All links connected").count() <= before {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "conlink did not reconnect:\n{}",
            c.logs("network")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for w in WORKLOADS {
        let (service, index) = split_name(w);
        let out = recheck(&d, &c, service, index);
        assert!(out.contains(PASSED), "{w} after conlink restart:\n{out}");
    }
    assert_all_running(&d, &c);

    // Steady state (conlink up): each workload restarted once more, one after another.
    for w in WORKLOADS {
        let before = workload_log(&c, w).matches(PASSED).count();
        d.ok(&["restart", "-t", "0", &format!("{}-{w}", c.project)]);
        let start = Instant::now();
        while workload_log(&c, w).matches(PASSED).count() <= before {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{w} did not pass again:\n{}",
                workload_log(&c, w)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    report(&measure(&d, &c), "restarts, conlink up");
    assert_all_running(&d, &c);

    // dockerd restarted: while it restores the containers its API is down, so conlink
    // (its own container among them) cannot answer; with CONLINK_PRESTART=fallback the
    // workloads start without links, fail their check, and their restart policy brings
    // them back once conlink is up, now with their links before start.
    let before = passes(&c);
    let t0 = Instant::now();
    d.restart();
    wait_checks_tolerant(&c, &before, Duration::from_secs(180));
    say(&format!(
        "before-start: dockerd restart with conlink as a service: every check passed again within {:?}",
        t0.elapsed()
    ));
    drop(c);
    drop(d);
}

/// Like `wait_checks`, but failed checks on the way are expected (restarted by policy).
fn wait_checks_tolerant(c: &Compose, before: &[usize], timeout: Duration) {
    let start = Instant::now();
    for (w, n) in WORKLOADS.iter().zip(before) {
        while workload_log(c, w).matches(PASSED).count() <= *n {
            assert!(
                start.elapsed() < timeout,
                "{w}: no new passed check after {timeout:?}:\n{}",
                workload_log(c, w)
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// A dockerd restart stops and restarts every container; while dockerd restores them
/// its API does not answer, so the daemon must know the containers already: conlink
/// on the host (it keeps running across the restart) answers from what it has seen.
#[test]
fn before_start_survives_a_dockerd_restart_with_conlink_on_the_host() {
    if let Some(why) = prerequisites() {
        say(&format!("skipped before_start_survives_a_dockerd_restart_with_conlink_on_the_host: {why}"));
        return;
    }
    let dir = std::env::temp_dir().join(unique("d16dr"));
    let sock_dir = dir.join("sock");
    let mut d = PrivateDockerd::start(&dir, &[("CONLINK_SOCKET_DIR", sock_dir.to_str().unwrap())], false);
    // The documented set-up command, against this dockerd: install, register, reload.
    let installed = dir.join("bin/conlink-runc");
    let out = Command::new(env!("CARGO_BIN_EXE_conlink-runc"))
        .arg("setup")
        .args(["--path", installed.to_str().unwrap()])
        .args(["--docker-config", dir.join("daemon.json").to_str().unwrap()])
        .args(["--docker-pidfile", dir.join("dockerd.pid").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success() && text(&out).contains("SIGHUP"), "{}", text(&out));
    let start = Instant::now();
    while !d.ok(&["info", "--format", "{{json .Runtimes}}"]).contains(installed.to_str().unwrap()) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "dockerd did not reload its runtimes:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    d.copy_image("alpine:latest");
    let file = examples().join("before-start-compose.yaml");
    let mut c = Compose::new("d16dr", &[&file]);
    c.env = vec![("DOCKER_HOST".into(), d.host())];
    let netns = unique("d16dr");
    let control = sock_dir.join(format!("{}.sock", c.project));
    let mut conlink = support::HostConlink::start(
        &[
            "--compose-file",
            file.to_str().unwrap(),
            "--compose-project",
            &c.project,
            "--docker-socket",
            d.socket().to_str().unwrap(),
            "--podman-socket",
            "/nonexistent",
            "--netns",
            &netns,
            "--control-socket",
            control.to_str().unwrap(),
        ],
        &[],
    );
    conlink.wait_log("control socket ready", Duration::from_secs(30));
    c.ok(&["up", "-d", "r0", "h1", "h2", "h3"]);
    wait_checks(&c, &[0; 4], Duration::from_secs(60));
    assert!(workload_log(&c, "h2-1").contains(PASSED), "{}", workload_log(&c, "h2-1"));

    let before = passes(&c);
    let t0 = Instant::now();
    d.restart();
    wait_checks(&c, &before, Duration::from_secs(120));
    say(&format!("before-start: after a dockerd restart every check passed again within {:?}", t0.elapsed()));
    assert!(conlink.log().contains("links built before start"), "{}", conlink.log());
    c.ping("h1", 1, "2001:db8:3::8c");
    drop(c);
    assert!(conlink.stop().success(), "{}", conlink.log());
    drop(d);
}

#[test]
fn epoch_parses_docker_and_tracing_times() {
    assert_eq!(epoch("1970-01-01T00:00:00Z"), Some(0.0));
    assert_eq!(epoch("2000-03-01T00:00:01.5Z"), Some(951_868_801.5));
    let a = epoch("2026-12-01T21:44:04.058398Z").unwrap();
    let b = epoch("2026-12-01T21:44:04.058398123Z").unwrap();
    assert!((a - b).abs() < 1e-6);
}
