//! Rootless Podman: the original's "test3 with rootless podman", run by a throwaway
//! unprivileged user exactly as its docs give it — two alpine containers started by
//! hand, `./conlink-start.sh -v --mode podman --host-mode podman …` in the user's
//! checkout, node 1 pinging node 2 over ext-intf — with conlink in the user's rootless
//! Podman (its user namespace) and its state under the user's $XDG_RUNTIME_DIR. Then
//! bridge mode ovs (userspace datapath), and what cannot work rootless: a macvlan link
//! on a host interface is refused, naming the link and the reason.
//!
//! Needs root (to create the user), dockerd with the images conlink:latest and
//! alpine:latest (scripts/test-env.sh up, scripts/build-image.sh); it installs uidmap
//! and slirp4netns when missing. Nothing is pulled: the images reach the user's
//! storage with `docker save | podman load`. CONLINK_ROOTLESS_IMAGE names another
//! conlink image to load (e.g. one under development); it is tagged `conlink` there.

mod rootless_user;
mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rootless_user::{install_prerequisites, RootlessUser};
use support::{conlink_bin, docker_available, examples, repo_root, say};

const TIMEOUT: Duration = Duration::from_secs(60);

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Whether this test can run; a missing piece is a failure under the README's test
/// command (CONLINK_E2E_REQUIRED=1), else a skip that says why.
fn available(test: &str) -> bool {
    let why = if unsafe { libc::geteuid() } != 0 {
        Some("needs root to create a throwaway user".to_string())
    } else if !docker_available(test) {
        return false;
    } else {
        install_prerequisites().err()
    };
    let Some(why) = why else { return true };
    if std::env::var("CONLINK_E2E_REQUIRED").as_deref() == Ok("1") {
        panic!("{test}: {why}");
    }
    say(&format!("skipped {test}: {why}"));
    false
}

/// The user's checkout: the start script and the network files, where the user may
/// write (the start script puts the podman API socket in the current directory).
fn checkout(user: &RootlessUser) {
    let dir = user.home.join("conlink");
    std::fs::create_dir_all(dir.join("examples")).unwrap();
    std::fs::copy(repo_root().join("conlink-start.sh"), dir.join("conlink-start.sh")).unwrap();
    std::fs::copy(examples().join("test3-network.yaml"), dir.join("examples/test3-network.yaml")).unwrap();
    // A *vlan link on a host interface: what rootless conlink must refuse.
    std::fs::write(
        dir.join("examples/rootless-macvlan.yaml"),
        "links:\n  - {type: macvlan, container: ZZZ_node_1, dev: mv0, outer-dev: eth0, mode: bridge}\n",
    )
    .unwrap();
    std::fs::copy(examples().join("netns-router.yaml"), dir.join("examples/netns-router.yaml")).unwrap();
    std::fs::write(
        dir.join("examples/rootless-macvlan-node.yaml"),
        "nodes:\n  - {name: n1}\nlinks:\n  - {type: macvlan, container: n1, dev: mv0, outer-dev: eth0, mode: bridge}\n",
    )
    .unwrap();
    std::fs::copy(conlink_bin(), dir.join("conlink")).unwrap();
    user.chown(&dir);
}

/// The conlink image and alpine, from dockerd into the user's rootless storage.
fn load_images(user: &RootlessUser) {
    let image = std::env::var("CONLINK_ROOTLESS_IMAGE").unwrap_or_else(|_| "conlink:latest".into());
    let mut save = Command::new("docker")
        .args(["save", &image, "alpine:latest"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("docker save");
    let load = user
        .command("", &format!("podman load -q && podman tag {image} localhost/conlink:latest"))
        .stdin(save.stdout.take().unwrap())
        .output()
        .expect("podman load");
    assert!(save.wait().unwrap().success(), "docker save {image} alpine:latest failed");
    assert!(load.status.success(), "podman load as {}: {}", user.name, text(&load));
}

fn wait_for(log: &Path, needle: &str, child: &mut std::process::Child) -> String {
    let start = Instant::now();
    loop {
        let out = std::fs::read_to_string(log).unwrap_or_default();
        if out.contains(needle) {
            return out;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("exited ({status}) before {needle:?}:\n{out}");
        }
        assert!(start.elapsed() < TIMEOUT, "{needle:?} not seen after {TIMEOUT:?}:\n{out}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stops a background command of the user as Ctrl-C in its terminal would: `signal`
/// to the process group of the shell `su` started (su puts it in a session of its
/// own), then waits for su, which exits with that shell.
fn stop(child: &mut std::process::Child, signal: i32) {
    let su = child.id() as i32;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // After "(comm)": state ppid pgrp …
        let fields: Vec<&str> =
            stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
        if fields.get(1).and_then(|p| p.parse::<i32>().ok()) == Some(su) {
            if let Some(pgrp) = fields.get(2).and_then(|p| p.parse::<i32>().ok()) {
                unsafe { libc::kill(-pgrp, signal) };
            }
        }
    }
    let _ = child.wait();
}

#[test]
fn test3_with_rootless_podman_as_the_docs_give_it() {
    let test = "test3_with_rootless_podman_as_the_docs_give_it";
    if !available(test) {
        return;
    }
    let t0 = Instant::now();
    let pid = std::process::id();
    let user = RootlessUser::create(&format!("clrl{pid}"), 200_000_000 + (pid % 2000) * 65536);
    checkout(&user);
    let t_user = t0.elapsed();
    load_images(&user);
    let t_images = t0.elapsed() - t_user;

    // The docs, verbatim, from the user's checkout.
    for n in [1, 2] {
        let out = user.sh(
            "conlink",
            &format!("podman run --name=ZZZ_node_{n} --rm -d --network none alpine sleep 864000"),
        );
        assert!(out.status.success(), "node {n}: {}", text(&out));
    }
    let log = user.runtime_dir.join("start.log"); // removed with the user, even on failure
    let t_start = Instant::now();
    let mut conlink = user.spawn(
        "conlink",
        "./conlink-start.sh -v --mode podman --host-mode podman --network-file examples/test3-network.yaml -- --name ZZZ_network --rm -e NODE_NAME_1=ZZZ_node_1 -e NODE_NAME_2=ZZZ_node_2",
        &log,
    );
    let started = wait_for(&log, "All links connected", &mut conlink);
    let t_connected = t_start.elapsed();
    assert!(
        started.contains("--privileged"),
        "the start script runs rootless conlink privileged:\n{started}"
    );

    // "In a separate terminal, ping the node 2 from node 1" (it pings until stopped).
    let ping_log = user.runtime_dir.join("ping.log");
    let mut ping = user.spawn("conlink", "podman exec -it ZZZ_node_1 ping 10.0.1.2", &ping_log);
    let pinged = wait_for(&ping_log, "64 bytes from 10.0.1.2", &mut ping);
    stop(&mut ping, libc::SIGINT);
    say(&format!("rootless test3: {}", pinged.lines().find(|l| l.contains("64 bytes")).unwrap_or("")));

    // Over ext-intf, with the network file's address.
    let addr = user.sh("conlink", "podman exec ZZZ_node_1 ip -o addr show dev ext-intf");
    assert!(text(&addr).contains("inet 10.0.1.1/16"), "ext-intf of node 1: {}", text(&addr));

    // conlink runs in the user's user namespace: on the host its process is the user's.
    let host_pid = user.sh("conlink", "podman inspect -f '{{.State.Pid}}' ZZZ_network");
    let host_pid = String::from_utf8_lossy(&host_pid.stdout).trim().to_string();
    let status = std::fs::read_to_string(format!("/proc/{host_pid}/status")).expect("conlink's process");
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(uid_line.split_whitespace().nth(1), Some(user.uid.to_string().as_str()), "{uid_line}");
    let map = std::fs::read_to_string(format!("/proc/{host_pid}/uid_map")).unwrap();
    assert!(map.split_whitespace().take(3).collect::<Vec<_>>() == ["0", &user.uid.to_string(), "1"], "{map}");

    // Its state is under the user's $XDG_RUNTIME_DIR: `conlink status` on the host,
    // as the user, reaches the daemon in the container through that socket.
    let sock = user.runtime_dir.join("conlink/conlink.sock");
    assert!(
        sock.exists(),
        "no control socket {}:\n{}",
        sock.display(),
        std::fs::read_to_string(&log).unwrap()
    );
    let st = user.sh("conlink", "./conlink status --check");
    let st_text = text(&st);
    assert!(st.status.success(), "conlink status --check as the user: {st_text}");
    for node in ["ZZZ_node_1", "ZZZ_node_2"] {
        assert!(
            st_text.lines().any(|l| l.starts_with(node) && l.contains("ext-intf") && l.contains("connected")),
            "{st_text}"
        );
    }

    // Ctrl-C in the start script's terminal: conlink removes its links and exits.
    stop(&mut conlink, libc::SIGINT);
    let start = Instant::now();
    loop {
        let gone = user.sh("conlink", "podman exec ZZZ_node_1 ip link show ext-intf");
        if !gone.status.success() {
            break;
        }
        assert!(start.elapsed() < TIMEOUT, "ext-intf still in node 1 after Ctrl-C: {}", text(&gone));
        std::thread::sleep(Duration::from_millis(200));
    }
    let stopped = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(stopped.contains("removing links and bridges"), "conlink did not clean up on Ctrl-C:\n{stopped}");
    let t_total = t0.elapsed();

    // Bridge mode ovs works rootless on OVS's userspace datapath.
    let ovs_log = user.runtime_dir.join("ovs.log");
    let mut ovs = user.spawn(
        "conlink",
        "./conlink-start.sh --mode podman --host-mode podman --default-bridge-mode ovs --network-file examples/test3-network.yaml -- --name ZZZ_network --rm -e NODE_NAME_1=ZZZ_node_1 -e NODE_NAME_2=ZZZ_node_2",
        &ovs_log,
    );
    let ovs_out = wait_for(&ovs_log, "All links connected", &mut ovs);
    assert!(ovs_out.contains("bridge ready (ovs) bridge=s1 userspace=true"), "{ovs_out}");
    let ping = user.sh("conlink", "podman exec ZZZ_node_1 ping -c1 -W2 10.0.1.2");
    assert!(ping.status.success(), "ping over the rootless ovs bridge: {}", text(&ping));
    stop(&mut ovs, libc::SIGINT);
    let t_ovs = t0.elapsed() - t_total;

    // What cannot work rootless: *vlan links on host interfaces. PID 1's namespace
    // (the default host namespace) cannot even be opened from the user namespace.
    let refused = user.sh(
        "conlink",
        "./conlink-start.sh --mode podman --host-mode podman --network-file examples/rootless-macvlan.yaml -- --rm",
    );
    let refused_text = text(&refused);
    assert!(!refused.status.success(), "rootless macvlan on a host interface was accepted:\n{refused_text}");
    assert!(
        refused_text.contains("link /links/0 (macvlan on host interface eth0) cannot work rootless: cannot open the host network namespace /proc/1/ns/net"),
        "{refused_text}"
    );
    let first_error = |t: &str| t.lines().find(|l| l.starts_with("conlink:")).unwrap_or("").to_string();
    say(&format!("rootless refusal: {}", first_error(&refused_text)));

    say(&format!(
        "rootless test3: user set up in {t_user:?}, images loaded in {t_images:?}, start script to All links connected in {t_connected:?}, test3 done in {t_total:?}, ovs mode in {t_ovs:?}, with the refusal {:?}",
        t0.elapsed()
    ));
}

/// conlink on the host inside the user's rootless user namespace (`podman unshare`),
/// running the netns runtime: its namespaces, control socket and bridges' namespace
/// live under $XDG_RUNTIME_DIR/conlink, and h1 pings h3 across the router. There the
/// host's namespace can be opened (it is conlink's own) but belongs to the host's user
/// namespace: a macvlan link on a host interface is refused, naming the link and why.
#[test]
fn netns_runtime_in_the_rootless_user_namespace_keeps_its_state_in_xdg_runtime_dir() {
    let test = "netns_runtime_in_the_rootless_user_namespace_keeps_its_state_in_xdg_runtime_dir";
    if !available(test) {
        return;
    }
    let t0 = Instant::now();
    let pid = std::process::id();
    let user = RootlessUser::create(&format!("clrn{pid}"), 200_000_000 + (pid % 2000 + 2000) * 65536);
    checkout(&user);

    let log = user.runtime_dir.join("router.log");
    let mut conlink =
        user.spawn("conlink", "podman unshare ./conlink --network-file examples/netns-router.yaml", &log);
    let out = wait_for(&log, "3 packets transmitted, 3 received", &mut conlink);
    let state = user.runtime_dir.join("conlink");
    assert!(
        out.contains(&format!("bridges live in network namespace {}/netns/conlink", state.display())),
        "{out}"
    );
    assert!(out.contains(&format!("socket={}/conlink.sock", state.display())), "{out}");
    for node in ["conlink", "r0", "h1", "h2", "h3"] {
        assert!(
            state.join("netns").join(node).exists(),
            "no namespace file {node} under {}",
            state.display()
        );
    }
    assert!(
        !out.contains("/run/netns") && !out.contains("/run/conlink"),
        "state outside $XDG_RUNTIME_DIR:\n{out}"
    );
    let st = user.sh("conlink", "./conlink status --check");
    assert!(st.status.success(), "conlink status --check as the user: {}", text(&st));
    assert!(text(&st).lines().any(|l| l.starts_with("h3") && l.contains("connected")), "{}", text(&st));

    stop(&mut conlink, libc::SIGINT);
    let start = Instant::now();
    while ["conlink", "r0", "h1", "h2", "h3"].iter().any(|n| state.join("netns").join(n).exists()) {
        assert!(start.elapsed() < TIMEOUT, "namespaces left under {} after Ctrl-C", state.display());
        std::thread::sleep(Duration::from_millis(100));
    }

    let refused = user.sh(
        "conlink",
        "podman unshare ./conlink --network-file examples/rootless-macvlan-node.yaml --host-netns /proc/self/ns/net",
    );
    let refused_text = text(&refused);
    assert_eq!(refused.status.code(), Some(1), "{refused_text}");
    assert!(
        refused_text.contains("conlink: link /links/0 (macvlan on host interface eth0) cannot work rootless: the host network namespace /proc/self/ns/net belongs to the host's user namespace, where rootless conlink has no CAP_NET_ADMIN"),
        "{refused_text}"
    );
    assert!(!state.join("netns/n1").exists(), "the refused run left namespace n1 behind");
    say(&format!(
        "rootless refusal (podman unshare): {}",
        refused_text.lines().find(|l| l.starts_with("conlink:")).unwrap_or("")
    ));
    say(&format!("rootless netns runtime (podman unshare): done in {:?}", t0.elapsed()));
}
