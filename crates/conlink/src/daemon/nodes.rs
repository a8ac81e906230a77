//! The engine-free netns runtime: nodes are plain network namespaces conlink
//! creates (`/run/netns/NAME`, so `ip netns exec NAME …` enters them), links like
//! containers, and optionally runs a command in.

use std::os::fd::AsRawFd;
use std::process::Stdio;

use conlink_config::{CommandLine, Node};
use conlink_kernel::{Netns, Nl};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tracing::{info, warn};

/// A node's namespace and the command running in it.
pub struct RunningNode {
    pub name: String,
    pub netns: Netns,
    pub children: Vec<Child>,
}

/// Tracker id of a node (container ids never contain ':').
pub fn node_id(name: &str) -> String {
    format!("node:{name}")
}

/// Creates the node's namespace afresh (a leftover of an earlier run is replaced:
/// its interfaces belong to links that no longer exist) with loopback up.
pub async fn create_node(node: &Node) -> anyhow::Result<RunningNode> {
    if Netns::from_name(&node.name).is_ok() {
        warn!(node = %node.name, "replacing network namespace left by an earlier run");
        Netns::delete_named(&node.name)?;
    }
    let netns = Netns::create_named(&node.name)?;
    let nl = Nl::connect(&netns).await?;
    nl.set_up("lo", true).await?;
    Ok(RunningNode { name: node.name.clone(), netns, children: Vec::new() })
}

/// Starts `command` inside the node's namespace; its output is logged as `NAME: line`.
pub fn spawn_in_node(node: &RunningNode, command: &CommandLine) -> std::io::Result<Child> {
    let argv = match command {
        CommandLine::Shell(s) => vec!["sh".to_string(), "-c".to_string(), s.clone()],
        CommandLine::Argv(v) => v.clone(),
    };
    let fd = node.netns.as_fd().as_raw_fd();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // SAFETY: between fork and exec only the async-signal-safe setns(2) runs.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    info!(node = %node.name, command = ?argv, pid = child.id(), "started command");
    for stream in [
        child.stdout.take().map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        child.stderr.take().map(|s| Box::new(s) as _),
    ]
    .into_iter()
    .flatten()
    {
        let name = node.name.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                info!("{name}: {line}");
            }
        });
    }
    Ok(child)
}

/// Stops the node's command and removes its namespace (and with it every interface in it).
pub async fn stop_node(mut node: RunningNode) {
    for child in node.children.iter_mut() {
        if let Some(pid) = child.id() {
            // SIGTERM first so the command can clean up; kill_on_drop is the backstop.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
            if tokio::time::timeout(std::time::Duration::from_secs(3), child.wait()).await.is_err() {
                let _ = child.kill().await;
            }
        }
    }
    if let Err(e) = Netns::delete_named(&node.name) {
        warn!(node = %node.name, "could not remove network namespace: {e}");
    }
}
