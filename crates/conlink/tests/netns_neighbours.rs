//! conlink next to things it did not make (netns runtime, no engine): a second conlink
//! on the same namespace, a namespace, bridge, tunnel or interface that existed before,
//! a namespace it was started in, and users who may not use its control socket.

mod support;

use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{conlink_bin, say, unique, HostConlink};

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// Runs `ip ARGS`, panicking with its stderr on failure.
fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn ip_out(args: &[&str]) -> String {
    String::from_utf8_lossy(&Command::new("ip").args(args).output().unwrap().stdout).into_owned()
}

fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

/// Deletes test namespaces and files even when the test fails.
struct Cleanup {
    namespaces: Vec<String>,
    dir: PathBuf,
}

impl Cleanup {
    fn new(prefix: &str) -> Cleanup {
        let dir = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir_all(&dir).unwrap();
        Cleanup { namespaces: Vec::new(), dir }
    }

    fn netns(&mut self, name: &str) -> String {
        self.namespaces.push(name.to_string());
        name.to_string()
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for n in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", n]).stderr(Stdio::null()).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn daemon_args<'a>(cfg: &'a Path, netns: &'a str, socket: &'a Path) -> Vec<&'a str> {
    vec![
        "--network-file",
        cfg.to_str().unwrap(),
        "--netns",
        netns,
        "--control-socket",
        socket.to_str().unwrap(),
        "--docker-socket",
        "/nonexistent",
        "--podman-socket",
        "/nonexistent",
    ]
}

/// Waits for a conlink that must exit by itself; returns (exit code, log).
fn wait_exit(c: &mut HostConlink, timeout: Duration) -> (Option<i32>, String) {
    let start = Instant::now();
    loop {
        if let Some(s) = c.child.try_wait().unwrap() {
            return (s.code(), c.log());
        }
        assert!(start.elapsed() < timeout, "conlink did not exit:\n{}", c.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn one_node_config(c: &Cleanup, node: &str, bridge: &str) -> PathBuf {
    c.file(
        "net.yaml",
        &format!("nodes: [{{name: {node}}}]\nlinks:\n  - {{container: {node}, bridge: {bridge}, ip: 192.0.2.1/24}}\n"),
    )
}

#[test]
fn a_second_conlink_on_one_namespace_exits_and_leaves_the_first_alone() {
    if !is_root() {
        say("skipped a_second_conlink_on_one_namespace_exits_and_leaves_the_first_alone: needs root");
        return;
    }
    let mut c = Cleanup::new("two");
    let node = c.netns(&unique("tw"));
    let netns = c.netns(&unique("cltw"));
    let cfg = one_node_config(&c, &node, "s1");
    let sock = c.dir.join("c.sock");
    let mut first = HostConlink::start(&daemon_args(&cfg, &netns, &sock), &[]);
    first.wait_log("All links connected", Duration::from_secs(20));
    let before = support::links_in(Some(&netns));
    assert!(before.contains("s1"), "{before:?}");

    let sock2 = c.dir.join("c2.sock");
    let mut second = HostConlink::start(&daemon_args(&cfg, &netns, &sock2), &[]);
    let (code, log) = wait_exit(&mut second, Duration::from_secs(10));
    assert_ne!(code, Some(0), "the second conlink must fail:\n{log}");
    assert!(log.contains(&format!("pid {}", first.child.id())), "names the holder's pid:\n{log}");
    assert!(log.contains(&netns), "names the namespace:\n{log}");
    assert!(!sock2.exists(), "the second one touched nothing, not even its socket");

    // The first keeps its links, bridge and control socket.
    assert_eq!(support::links_in(Some(&netns)), before);
    assert!(ip_out(&["-n", &node, "-o", "addr", "show", "dev", "eth0"]).contains("192.0.2.1/24"));
    let out = Command::new(conlink_bin())
        .args(["--control-socket", sock.to_str().unwrap(), "status", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["all_connected"], true, "{v}");
    assert!(first.stop().success(), "{}", first.log());
    assert!(!netns_exists(&netns), "the first removes the namespace it made");
}

#[test]
fn a_namespace_bridge_and_interfaces_that_existed_before_are_used_and_kept() {
    if !is_root() {
        say("skipped a_namespace_bridge_and_interfaces_that_existed_before_are_used_and_kept: needs root");
        return;
    }
    let mut c = Cleanup::new("pre");
    let netns = c.netns(&unique("clpre"));
    let (a, b, bad, lo) =
        (c.netns(&unique("pa")), c.netns(&unique("pb")), c.netns(&unique("pc")), c.netns(&unique("pd")));
    ip(&["netns", "add", &netns]);
    // What someone else made: a bridge, an "engine" eth0 and another interface.
    ip(&["-n", &netns, "link", "add", "theirs", "type", "bridge"]);
    ip(&["-n", &netns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"]);
    ip(&["-n", &netns, "link", "add", "eng0", "type", "veth", "peer", "name", "eng0p"]);
    let cfg = c.file(
        "net.yaml",
        &format!(
            "nodes: [{{name: {a}}}, {{name: {b}}}, {{name: {bad}}}, {{name: {lo}}}]\nlinks:\n  \
             - {{container: {a}, bridge: s1, ip: 192.0.2.1/24}}\n  \
             - {{container: {b}, bridge: theirs, ip: 192.0.2.2/24}}\n  \
             - {{container: {bad}, bridge: s1, outer-dev: eng0, ip: 192.0.2.3/24}}\n  \
             - {{container: {lo}, bridge: s1, dev: lo, ip: 192.0.2.4/24}}\n"
        ),
    );
    let sock = c.dir.join("c.sock");
    let mut conlink = HostConlink::start(&daemon_args(&cfg, &netns, &sock), &[]);
    conlink.wait_log("using the existing network namespace", Duration::from_secs(20));
    let log = conlink.wait_log("outer interface eng0 is a veth interface", Duration::from_secs(20));
    assert!(log.contains(&format!("container {bad}, link /links/2")), "the error names the link:\n{log}");
    let log = conlink.wait_log("lo already exists in the container", Duration::from_secs(20));
    assert!(log.contains(&format!("container {lo}, link /links/3")), "{log}");
    let links = support::links_in(Some(&netns));
    for kept in ["theirs", "eth0", "eng0"] {
        assert!(links.contains(kept), "{kept} is still there: {links:?}");
    }
    assert!(!links.contains("DOCKER-ETH0"), "eth0 is renamed only when a forward needs it: {links:?}");
    assert!(ip_out(&["-n", &b, "-o", "addr", "show", "dev", "eth0"]).contains("192.0.2.2/24"), "{log}");
    let ours = ip_out(&["-n", &netns, "-d", "link", "show", "s1"]);
    assert!(ours.contains(&format!("alias conlink:{netns}:bridge")), "conlink marks its bridge: {ours}");

    assert!(conlink.stop().success(), "{}", conlink.log());
    assert!(netns_exists(&netns), "a namespace that existed before is kept");
    let links = support::links_in(Some(&netns));
    for kept in ["theirs", "eth0", "eng0"] {
        assert!(links.contains(kept), "{kept} survives conlink's exit: {links:?}");
    }
    assert!(!links.contains("s1"), "the bridge conlink made is removed: {links:?}");
    for node in [&a, &b, &bad, &lo] {
        assert!(!netns_exists(node), "node {node} removed");
    }
}

#[test]
fn a_tunnel_name_taken_by_someone_else_fails_the_start_and_is_kept() {
    if !is_root() {
        say("skipped a_tunnel_name_taken_by_someone_else_fails_the_start_and_is_kept: needs root");
        return;
    }
    let mut c = Cleanup::new("tun");
    let netns = c.netns(&unique("cltun"));
    ip(&["netns", "add", &netns]);
    ip(&[
        "-n",
        &netns,
        "link",
        "add",
        "vxlan-9",
        "type",
        "vxlan",
        "id",
        "9",
        "dstport",
        "4789",
        "remote",
        "198.51.100.9",
    ]);
    let node = c.netns(&unique("tn"));
    let cfg = c.file(
        "net.yaml",
        &format!(
            "nodes: [{{name: {node}}}]\nlinks:\n  - {{container: {node}, bridge: s1}}\n\
             tunnels:\n  - {{type: vxlan, bridge: s1, remote: 198.51.100.7, vni: 9}}\n"
        ),
    );
    let sock = c.dir.join("c.sock");
    let mut conlink = HostConlink::start(&daemon_args(&cfg, &netns, &sock), &[]);
    let (code, log) = wait_exit(&mut conlink, Duration::from_secs(20));
    assert_ne!(code, Some(0), "{log}");
    assert!(log.contains("/tunnels/0") && log.contains("vxlan-9") && log.contains("did not make"), "{log}");
    let links = support::links_in(Some(&netns));
    assert!(links.contains("vxlan-9"), "their tunnel stays: {links:?}");
    assert!(!links.contains("s1"), "what conlink built before the failure is removed: {links:?}");
    let vx = ip_out(&["-n", &netns, "-d", "link", "show", "vxlan-9"]);
    assert!(vx.contains("198.51.100.9"), "and it is unchanged: {vx}");
}

#[test]
fn started_inside_a_namespace_conlink_builds_there_and_keeps_it() {
    if !is_root() {
        say("skipped started_inside_a_namespace_conlink_builds_there_and_keeps_it: needs root");
        return;
    }
    let mut c = Cleanup::new("in");
    let lab = c.netns(&unique("lab"));
    let unused = c.netns(&unique("clun"));
    let node = c.netns(&unique("in"));
    ip(&["netns", "add", &lab]);
    let cfg = one_node_config(&c, &node, "s1");
    let sock = c.dir.join("c.sock");
    let log_path = c.dir.join("conlink.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new("ip")
        .args(["netns", "exec", &lab])
        .arg(conlink_bin())
        .args(daemon_args(&cfg, &unused, &sock))
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .unwrap();
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let start = Instant::now();
    while !log().contains("All links connected") {
        assert!(child.try_wait().unwrap().is_none(), "conlink exited:\n{}", log());
        assert!(start.elapsed() < Duration::from_secs(20), "{}", log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(support::links_in(Some(&lab)).contains("s1"), "the bridge is in the namespace conlink runs in");
    assert!(!netns_exists(&unused), "no /run/netns/{unused} is made");
    assert!(log().contains(&format!("netns={lab}")), "it names the namespace:\n{}", log());
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "{}", log());
    assert!(netns_exists(&lab), "the namespace conlink was started in stays");
    assert!(!support::links_in(Some(&lab)).contains("s1"), "its bridge is removed");
}

#[test]
fn bad_netns_names_are_refused_before_anything_is_touched() {
    let c = Cleanup::new("badns");
    let cfg = c.file("net.yaml", "links: []\n");
    for bad in ["../escape", "/run/x", "a b", ".hidden"] {
        let out = Command::new(conlink_bin())
            .args(["--network-file", cfg.to_str().unwrap(), "--netns", bad])
            .args(["--control-socket", c.dir.join("c.sock").to_str().unwrap()])
            .args(["--docker-socket", "/nonexistent", "--podman-socket", "/nonexistent"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{bad}: {err}");
        assert!(err.contains("--netns"), "{bad}: {err}");
    }
    assert!(!Path::new("/run/escape.lock").exists() && !Path::new("/run/conlink/../escape.lock").exists());
}

/// One request on the control socket as uid 65534 (through setpriv); the reply line.
fn request_as_nobody(sock: &Path) -> (bool, String) {
    let mut child = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args(["socat", "-t5", "-", &format!("UNIX-CONNECT:{}", sock.display())])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("setpriv and socat (scripts/test-env.sh up installs them)");
    child.stdin.take().unwrap().write_all(b"{\"cmd\":\"status\"}\n").unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

#[test]
fn the_control_socket_serves_only_root_and_its_own_user_within_limits() {
    if !is_root() {
        say("skipped the_control_socket_serves_only_root_and_its_own_user_within_limits: needs root");
        return;
    }
    if Command::new("socat").arg("-V").output().is_err() {
        panic!("socat is missing: scripts/test-env.sh up installs it");
    }
    let mut c = Cleanup::new("ctl");
    let node = c.netns(&unique("ct"));
    let netns = c.netns(&unique("clct"));
    let cfg = one_node_config(&c, &node, "s1");
    // A regular file where the socket goes is an error, and stays.
    let sock = c.dir.join("c.sock");
    std::fs::write(&sock, "not a socket").unwrap();
    let mut refused = HostConlink::start(&daemon_args(&cfg, &netns, &sock), &[]);
    let (code, log) = wait_exit(&mut refused, Duration::from_secs(20));
    assert_ne!(code, Some(0), "{log}");
    assert!(log.contains("not a socket"), "{log}");
    assert_eq!(std::fs::read_to_string(&sock).unwrap(), "not a socket");
    assert!(!netns_exists(&netns), "the failed start removed what it made");
    std::fs::remove_file(&sock).unwrap();

    let mut conlink = HostConlink::start(&daemon_args(&cfg, &netns, &sock), &[]);
    conlink.wait_log("All links connected", Duration::from_secs(20));
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "socket mode");
    // The mode keeps others out...
    let (ok, reply) = request_as_nobody(&sock);
    assert!(!ok || !reply.contains("\"status\""), "uid 65534 got an answer through mode 0600: {reply}");
    // ...and with the mode opened up, the peer credentials still do.
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(&c.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (_, reply) = request_as_nobody(&sock);
    assert!(reply.contains("permission denied: uid 65534"), "{reply}");
    assert!(!reply.contains("all_connected"), "{reply}");

    // Root is served; an endless request line is cut off with an error.
    let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(&vec![b'x'; 100 * 1024]);
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    assert!(reply.contains("request larger than"), "{reply}");
    let out = Command::new(conlink_bin())
        .args(["--control-socket", sock.to_str().unwrap(), "status", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "root is served: {}", String::from_utf8_lossy(&out.stderr));
    assert!(conlink.stop().success(), "{}", conlink.log());
    assert!(!sock.exists(), "the socket is removed at exit");
}

#[test]
fn node_output_with_invalid_utf8_keeps_streaming() {
    if !is_root() {
        say("skipped node_output_with_invalid_utf8_keeps_streaming: needs root");
        return;
    }
    let mut c = Cleanup::new("utf");
    let node = c.netns(&unique("ut"));
    let netns = c.netns(&unique("clut"));
    let cfg = c.file(
        "net.yaml",
        &format!(
            "nodes:\n  - name: {node}\n    command: [sh, -c, \"printf 'bad \\\\377\\\\376 bytes\\\\n'; echo next-line-ok; sleep 1; echo still-alive; sleep 100\"]\n\
             links:\n  - {{container: {node}, bridge: s1, ip: 192.0.2.1/24}}\n"
        ),
    );
    let sock = c.dir.join("c.sock");
    let mut conlink = HostConlink::start(&daemon_args(&cfg, &netns, &sock), &[]);
    let log = conlink.wait_log("still-alive", Duration::from_secs(20));
    assert!(log.contains("next-line-ok"), "{log}");
    assert!(log.contains("bad \u{fffd}\u{fffd} bytes"), "invalid bytes replaced:\n{log}");
    assert!(conlink.stop().success(), "{}", conlink.log());
}

#[test]
fn a_node_namespace_is_replaced_only_when_its_conlink_is_gone() {
    if !is_root() {
        say("skipped a_node_namespace_is_replaced_only_when_its_conlink_is_gone: needs root");
        return;
    }
    let mut c = Cleanup::new("node");
    let node = c.netns(&unique("nd"));
    let (ns_a, ns_b) = (c.netns(&unique("clnda")), c.netns(&unique("clndb")));
    let cfg = one_node_config(&c, &node, "s1");
    let (sock_a, sock_b) = (c.dir.join("a.sock"), c.dir.join("b.sock"));

    // Made by someone else: left alone.
    ip(&["netns", "add", &node]);
    let mut b = HostConlink::start(&daemon_args(&cfg, &ns_b, &sock_b), &[]);
    let (code, log) = wait_exit(&mut b, Duration::from_secs(20));
    assert_ne!(code, Some(0), "{log}");
    assert!(log.contains(&format!("/run/netns/{node} exists and conlink did not make it")), "{log}");
    assert!(netns_exists(&node), "their namespace stays");
    ip(&["netns", "del", &node]);

    // A node of a running conlink: left alone, and that conlink keeps it.
    let mut a = HostConlink::start(&daemon_args(&cfg, &ns_a, &sock_a), &[]);
    a.wait_log("All links connected", Duration::from_secs(20));
    let mut b = HostConlink::start(&daemon_args(&cfg, &ns_b, &sock_b), &[]);
    let (code, log) = wait_exit(&mut b, Duration::from_secs(20));
    assert_ne!(code, Some(0), "{log}");
    assert!(log.contains(&format!("running for namespace {ns_a} (pid {})", a.child.id())), "{log}");
    assert!(ip_out(&["-n", &node, "-o", "addr", "show", "dev", "eth0"]).contains("192.0.2.1/24"));

    // Its conlink killed without cleanup: the leftover is replaced.
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let mut b = HostConlink::start(&daemon_args(&cfg, &ns_b, &sock_b), &[]);
    let log = b.wait_log("All links connected", Duration::from_secs(20));
    assert!(log.contains("replacing network namespace left by an earlier run"), "{log}");
    assert!(b.stop().success(), "{}", b.log());
    assert!(!netns_exists(&node));
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn out_of_descriptors_the_control_socket_backs_off_instead_of_spinning() {
    if !is_root() {
        say("skipped out_of_descriptors_the_control_socket_backs_off_instead_of_spinning: needs root");
        return;
    }
    let mut c = Cleanup::new("emf");
    let node = c.netns(&unique("em"));
    let netns = c.netns(&unique("clem"));
    let cfg = one_node_config(&c, &node, "s1");
    let sock = c.dir.join("c.sock");
    let mut conlink = HostConlink::start(&daemon_args(&cfg, &netns, &sock), &[]);
    conlink.wait_log("All links connected", Duration::from_secs(20));
    let pid = conlink.child.id();
    let open = std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count();
    // Room for two more descriptors: the third waiting client makes accept fail (EMFILE).
    let limit = format!("--nofile={}:4096", open + 2);
    assert!(Command::new("prlimit").args(["--pid", &pid.to_string(), &limit]).status().unwrap().success());
    let clients: Vec<_> = (0..6).map(|_| std::os::unix::net::UnixStream::connect(&sock).unwrap()).collect();
    conlink.wait_log("accept failed", Duration::from_secs(5));
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks(pid) - before;
    let failures = conlink.log().matches("accept failed").count();
    // Backing off from 10 ms to 1 s: a handful of retries; spinning: thousands.
    assert!(failures < 50, "{failures} failed accepts logged in about 1 s: the accept loop spins");
    assert!(used < 50, "the daemon used {used} ticks of CPU in 1 s with accept failing (spinning?)");
    assert!(Command::new("prlimit")
        .args(["--pid", &pid.to_string(), "--nofile=4096:4096"])
        .status()
        .unwrap()
        .success());
    drop(clients);
    // It serves again once descriptors are back.
    let start = Instant::now();
    loop {
        let out = Command::new(conlink_bin())
            .args(["--control-socket", sock.to_str().unwrap(), "status", "--json"])
            .output()
            .unwrap();
        if out.status.success() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{}", String::from_utf8_lossy(&out.stderr));
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(conlink.stop().success(), "{}", conlink.log());
}
