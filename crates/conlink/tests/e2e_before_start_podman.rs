//! Before-start links with Podman: `podman run --runtime conlink-runc`, on a podman
//! with its own storage and API service (the shared service is left alone), conlink on
//! the host. Each container's first command checks its interface (MTU, addresses,
//! route) and exits non-zero when anything is missing; then one container is
//! restarted, then conlink, and the checks pass again.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{say, unique, HostConlink};

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Podman with private storage (`--root/--runroot/--tmpdir`) and its own API service.
struct PrivatePodman {
    dir: PathBuf,
    service: Option<Child>,
}

impl PrivatePodman {
    fn start(dir: &Path) -> PrivatePodman {
        std::fs::create_dir_all(dir).unwrap();
        // This machine lacks CAP_SYS_RESOURCE: podman must not raise ulimits.
        std::fs::write(dir.join("containers.conf"), "[containers]\ndefault_ulimits = []\n").unwrap();
        let mut p = PrivatePodman { dir: dir.to_path_buf(), service: None };
        let sock = format!("unix://{}", p.socket().display());
        let log = std::fs::File::create(dir.join("service.log")).unwrap();
        let child = p
            .cmd()
            .args(["system", "service", "--time=0", &sock])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start podman system service");
        p.service = Some(child);
        let start = Instant::now();
        while !p.socket().exists() {
            assert!(start.elapsed() < Duration::from_secs(30), "podman service did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
        p
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("podman.sock")
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("podman");
        let d = |p: &str| self.dir.join(p).display().to_string();
        c.env("CONTAINERS_CONF", d("containers.conf")).args([
            "--root",
            &d("root"),
            "--runroot",
            &d("run"),
            "--tmpdir",
            &d("tmp"),
        ]);
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("run podman");
        assert!(out.status.success(), "podman {args:?} failed:\n{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn logs(&self, name: &str) -> String {
        text(&self.cmd().args(["logs", name]).output().unwrap())
    }
}

impl Drop for PrivatePodman {
    fn drop(&mut self) {
        let _ =
            self.cmd().args(["rm", "-af", "-t", "0"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
        if let Some(mut s) = self.service.take() {
            unsafe { libc::kill(s.id() as i32, libc::SIGTERM) };
            let _ = s.wait();
        }
        // Image layers stay mounted until podman lets go of its storage.
        let _ = self.cmd().args(["rmi", "-af"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
        let _ = Command::new("umount").arg(self.dir.join("root/overlay")).stderr(Stdio::null()).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn check_script(addr4: &str, addr6: &str, route: &str) -> String {
    format!(
        "c() {{ ip -o link show eth0 | grep -q ' mtu 4000 ' && ip -o addr show eth0 | grep -q 'inet {addr4} ' \
         && ip -o addr show eth0 | grep -q 'inet6 {addr6} ' && ip route | grep -q '^{route} '; }}; \
         if c; then echo 'check: passed'; else echo 'check: FAILED'; ip addr; ip route; exit 1; fi; exec sleep 864000"
    )
}

fn wait_passes(p: &PrivatePodman, name: &str, count: usize) {
    let start = Instant::now();
    loop {
        let log = p.logs(name);
        assert!(!log.contains("check: FAILED"), "{name} failed its check:\n{log}");
        if log.matches("check: passed").count() >= count {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{name}: {count} passed checks not logged:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// netem is built before start too; where the kernel lacks it, the container does not
/// start and the error names it (a second conlink, so the first's topology stays whole).
fn netem_before_start(p: &PrivatePodman, tag: &str, runtime: &str) {
    let name = format!("{tag}-n");
    let net = std::env::temp_dir().join(format!("{tag}-netem.yaml"));
    std::fs::write(
        &net,
        format!("links:\n  - {{container: {name}, bridge: p2, ip: 192.0.2.9/24, netem: delay 40ms}}\n"),
    )
    .unwrap();
    let netns = format!("{tag}n");
    let control = format!("/run/conlink/{tag}-n.sock");
    let conlink = HostConlink::start(
        &[
            "--network-file",
            net.to_str().unwrap(),
            "--docker-socket",
            "/nonexistent",
            "--podman-socket",
            p.socket().to_str().unwrap(),
            "--netns",
            &netns,
            "--control-socket",
            &control,
        ],
        &[],
    );
    let start = Instant::now();
    while !conlink.log().contains("control socket ready") {
        assert!(start.elapsed() < Duration::from_secs(30), "{}", conlink.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = p
        .cmd()
        .args([
            "run",
            "-d",
            "--name",
            &name,
            "--runtime",
            runtime,
            "--network",
            "none",
            "alpine",
            "sleep",
            "864000",
        ])
        .output()
        .unwrap();
    if out.status.success() {
        let qdisc = p.ok(&["exec", &name, "tc", "qdisc", "show", "dev", "eth0"]);
        assert!(qdisc.contains("netem") && qdisc.contains("40"), "{qdisc}");
        say("before-start (podman): netem delay 40ms present at start");
    } else {
        let msg = text(&out);
        assert!(msg.contains("kernel lacks") && msg.contains("netem"), "{msg}");
        say(&format!("before-start (podman): netem refused: {}", msg.lines().last().unwrap_or("")));
    }
    drop(conlink);
    let _ = std::fs::remove_file(net);
}

/// A conlink that starts while Podman is already starting the container (and so
/// answers no list): conlink-runc's hint (the name from containers/storage) names it.
fn conlink_started_after_the_container(p: &PrivatePodman, tag: &str, runtime: &str) {
    let name = format!("{tag}-late");
    let net = std::env::temp_dir().join(format!("{tag}-late.yaml"));
    std::fs::write(
        &net,
        format!("links:\n  - {{container: {name}, bridge: p3, mtu: 4000, ip: 192.0.2.7/24}}\n"),
    )
    .unwrap();
    let script =
        "ip -o link show eth0 | grep -q ' mtu 4000 ' && ip -o addr show eth0 | grep -q 'inet 192.0.2.7/24 ' \
                  && echo 'check: passed' || { echo 'check: FAILED'; exit 1; }; exec sleep 864000";
    let mut run = p
        .cmd()
        .args([
            "run",
            "-d",
            "--name",
            &name,
            "--runtime",
            runtime,
            "--network",
            "none",
            "alpine",
            "sh",
            "-c",
            script,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(run.try_wait().unwrap().is_none(), "the start should be waiting for a conlink");
    let netns = format!("{tag}l");
    let control = format!("/run/conlink/{tag}-late.sock");
    let conlink = HostConlink::start(
        &[
            "--network-file",
            net.to_str().unwrap(),
            "--docker-socket",
            "/nonexistent",
            "--podman-socket",
            p.socket().to_str().unwrap(),
            "--netns",
            &netns,
            "--control-socket",
            &control,
        ],
        &[],
    );
    let status = run.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut run.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "podman run failed:\n{err}\n{}", conlink.log());
    wait_passes(p, &name, 1);
    assert!(conlink.log().contains("links built before start"), "{}", conlink.log());
    say("before-start (podman): a conlink started after the container's create named it from the hint");
    drop(conlink);
    let _ = std::fs::remove_file(net);
}

#[test]
fn podman_containers_see_their_links_at_start() {
    let have = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if unsafe { libc::geteuid() } != 0
        || !have("podman", &["--version"])
        || !have("docker", &["image", "inspect", "alpine:latest"])
    {
        say("skipped podman_containers_see_their_links_at_start: needs root, podman, and alpine:latest in the shared dockerd");
        return;
    }
    let tag = unique("d16p");
    let p = PrivatePodman::start(&std::env::temp_dir().join(&tag));
    let mut save =
        Command::new("docker").args(["save", "alpine:latest"]).stdout(Stdio::piped()).spawn().unwrap();
    let st = p
        .cmd()
        .args(["load", "-q"])
        .stdin(save.stdout.take().unwrap())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(save.wait().unwrap().success(), "docker save alpine:latest failed");
    assert!(st.success(), "cannot load the alpine image into the private podman");

    let (a, b) = (format!("{tag}-a"), format!("{tag}-b"));
    let net = std::env::temp_dir().join(format!("{tag}.yaml"));
    std::fs::write(
        &net,
        format!(
            "links:\n  - {{container: {a}, bridge: p1, mtu: 4000, ip: [192.0.2.1/24, \"2001:db8:9::1/64\"], route: 198.51.100.0/24 via 192.0.2.2}}\n  \
             - {{container: {b}, bridge: p1, mtu: 4000, ip: [192.0.2.2/24, \"2001:db8:9::2/64\"], route: default via 192.0.2.1}}\n"
        ),
    )
    .unwrap();
    // conmon passes the runtime no environment: conlink-runc asks the sockets in /run/conlink.
    let control = format!("/run/conlink/{tag}.sock");
    let podman_socket = p.socket().display().to_string();
    let args = [
        "--network-file",
        net.to_str().unwrap(),
        "--docker-socket",
        "/nonexistent",
        "--podman-socket",
        &podman_socket,
        "--netns",
        &tag,
        "--control-socket",
        &control,
    ];
    let mut conlink = HostConlink::start(&args, &[]);
    conlink.wait_log("control socket ready", Duration::from_secs(30));

    let runtime = env!("CARGO_BIN_EXE_conlink-runc");
    for (name, script) in [
        (&a, check_script("192.0.2.1/24", "2001:db8:9::1/64", "198.51.100.0/24 via 192.0.2.2")),
        (&b, check_script("192.0.2.2/24", "2001:db8:9::2/64", "default via 192.0.2.1")),
    ] {
        let t0 = Instant::now();
        p.ok(&[
            "run",
            "-d",
            "--name",
            name,
            "--runtime",
            runtime,
            "--network",
            "none",
            "alpine",
            "sh",
            "-c",
            &script,
        ]);
        say(&format!("before-start (podman): podman run -d {name} returned after {:?}", t0.elapsed()));
    }
    wait_passes(&p, &a, 1);
    wait_passes(&p, &b, 1);
    let ping = p.cmd().args(["exec", &a, "ping", "-c1", "-W2", "192.0.2.2"]).output().unwrap();
    assert!(ping.status.success(), "{}", text(&ping));

    // A restart: the new process checks again.
    p.ok(&["restart", "-t", "0", &a]);
    wait_passes(&p, &a, 2);

    // conlink restarted: it rebuilds the links of the running containers.
    assert!(conlink.stop().success(), "{}", conlink.log());
    let mut conlink = HostConlink::start(&args, &[]);
    conlink.wait_log("All links connected", Duration::from_secs(60));
    for name in [&a, &b] {
        let cmd = p.ok(&["inspect", "-f", "{{json .Config.Cmd}}", name]);
        let argv: Vec<String> = serde_json::from_str(cmd.trim()).unwrap();
        let script = argv[2].replace("exec sleep 864000", "true");
        let out = p.cmd().args(["exec", name, "sh", "-c", &script]).output().unwrap();
        assert!(text(&out).contains("check: passed"), "{name} after conlink restart:\n{}", text(&out));
    }
    let states = p.ok(&["inspect", "-f", "{{.State.Status}}", &a, &b]);
    assert_eq!(states.split_whitespace().collect::<Vec<_>>(), ["running", "running"], "{states}");
    netem_before_start(&p, &tag, runtime);
    conlink_started_after_the_container(&p, &tag, runtime);
    let log = conlink.log();
    drop(p);
    assert!(conlink.stop().success(), "{log}");
    let _ = std::fs::remove_file(net);
}
