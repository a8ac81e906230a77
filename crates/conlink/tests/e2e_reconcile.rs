//! Recovery: a conlink killed with SIGKILL and started again adopts what the
//! first one left (no "already exists", no leaked interfaces).

mod support;

use std::path::Path;
use std::time::Duration;

use support::{docker_available, examples, say, unique, Compose, HostConlink};

#[test]
fn kill_9_then_restart_adopts_and_leaks_nothing() {
    if !docker_available("kill_9_then_restart_adopts_and_leaks_nothing") {
        return;
    }
    let file = examples().join("test1-compose.yaml");
    let c = Compose::new("rec", &[&file]);
    c.ok(&["up", "-d", "r0", "h1", "h2", "h3"]);
    let netns = unique("clr");
    let args = ["--compose-file", file.to_str().unwrap(), "--compose-project", &c.project, "--netns", &netns];

    let mut first = HostConlink::start(&args, &[]);
    first.wait_log("All links connected", Duration::from_secs(60));
    let before = support::links_in(Some(&netns));
    first.child.kill().unwrap(); // SIGKILL: no cleanup at all
    first.child.wait().unwrap();
    assert!(Path::new("/run/netns").join(&netns).exists(), "the killed conlink left its namespace");

    let mut second = HostConlink::start(&args, &[]);
    let log = second.wait_log("All links connected", Duration::from_secs(60));
    assert!(!log.contains("already exists"), "{log}");
    c.ping("h1", 1, "10.0.0.100");
    c.ping("h2", 1, "192.168.1.100");
    let after = support::links_in(Some(&netns));
    assert_eq!(after, before, "same interfaces as after the first start: nothing leaked, nothing missing");
    say(&format!(
        "reconcile: {} interfaces in conlink's namespace before and after kill -9 + restart",
        after.len()
    ));

    assert!(second.stop().success());
    assert!(!Path::new("/run/netns").join(&netns).exists());
    assert_eq!(c.ip_link("h1", 1, "eth0"), "", "h1's link removed on exit");
}
