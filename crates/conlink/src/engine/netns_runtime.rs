//! The engine-free netns runtime as an [`Engine`]: nodes are plain network namespaces
//! conlink creates (`/run/netns/NAME`, so `ip netns exec NAME …` enters them) and
//! runs commands in. The nodes are fixed by the config: there are no events.

use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::{FutureExt as _, StreamExt as _};
use tokio::process::{Child, Command};
use tracing::{info, warn};

use conlink_config::Node;
use conlink_kernel::{Netns, Nl, NlSocket};

use super::error::EngineError;
use super::interface::{Engine, EventStream, LineSink};
use super::lines::stream_lines;
use super::types::{ContainerInfo, EngineKind, ExecOutput};

/// Namespaces created at the same time (two cores here: the kernel part runs
/// partly outside the rtnl lock).
const NODES_CREATED_AT_ONCE: usize = 8;

/// Tracker id of a node (container ids never contain ':').
pub fn node_id(name: &str) -> String {
    format!("node:{name}")
}

struct RunningNode {
    name: String,
    netns: Netns,
}

/// The nodes' namespaces and the commands running in them.
pub struct NetnsRuntime {
    nodes: Vec<RunningNode>,
    /// Index into `nodes` by node id and by name (lookups per node stay O(1) at 1000 nodes).
    by_key: HashMap<String, usize>,
    children: Mutex<Vec<Child>>,
}

impl NetnsRuntime {
    /// Creates every node's namespace afresh with loopback up, marking it with `mark`
    /// (an alias on its `lo`). A namespace of that name that exists is replaced only
    /// when `may_replace` accepts the alias of its `lo` (a leftover of a conlink that is
    /// gone: its interfaces belong to links that no longer exist); otherwise it is an
    /// error saying why. On failure the namespaces created so far are removed again.
    /// Several at a time, in config order.
    pub async fn create(
        nodes: &[Node],
        mark: &str,
        may_replace: &(dyn Fn(Option<&str>) -> Result<(), String> + Sync),
    ) -> anyhow::Result<NetnsRuntime> {
        let mut runtime =
            NetnsRuntime { nodes: Vec::new(), by_key: HashMap::new(), children: Mutex::new(Vec::new()) };
        let results: Vec<_> = futures::stream::iter(nodes)
            .map(|node| create_node(node, mark, may_replace))
            .buffered(NODES_CREATED_AT_ONCE)
            .collect()
            .await;
        let mut failed = None;
        for (node, r) in nodes.iter().zip(results) {
            match r {
                Ok(n) => {
                    runtime.by_key.insert(node_id(&n.name), runtime.nodes.len());
                    runtime.by_key.insert(n.name.clone(), runtime.nodes.len());
                    runtime.nodes.push(n);
                }
                Err(e) => failed = failed.or(Some((node, e))),
            }
        }
        if let Some((node, e)) = failed {
            runtime.stop().await;
            anyhow::bail!("cannot create node {}: {e:#}", node.name);
        }
        Ok(runtime)
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn info(node: &RunningNode) -> ContainerInfo {
        ContainerInfo {
            id: node_id(&node.name),
            name: node.name.clone(),
            pid: None,
            running: true,
            labels: Default::default(),
            engine: EngineKind::Netns,
        }
    }

    fn node(&self, id: &str) -> Option<&RunningNode> {
        self.by_key.get(id).map(|&i| &self.nodes[i])
    }

    fn not_found(id: &str) -> EngineError {
        EngineError::NotFound { kind: EngineKind::Netns, container: id.to_string() }
    }

    /// Stops the nodes' commands (SIGTERM, then SIGKILL after 3 s) and removes their
    /// namespaces (and with them every interface in them).
    pub async fn stop(&self) {
        let children: Vec<Child> = std::mem::take(&mut *self.children.lock().unwrap());
        for mut child in children {
            if let Some(pid) = child.id() {
                // SIGTERM first so the command can clean up; kill_on_drop is the backstop.
                unsafe { libc::kill(pid as i32, libc::SIGTERM) };
                if tokio::time::timeout(std::time::Duration::from_secs(3), child.wait()).await.is_err() {
                    let _ = child.kill().await;
                }
            }
        }
        for node in &self.nodes {
            if let Err(e) = Netns::delete_named(&node.name) {
                warn!(node = %node.name, "could not remove network namespace: {e}");
            }
        }
    }

    /// Starts `argv` inside the node's namespace; its output lines go to `on_line`.
    fn spawn(&self, node: &RunningNode, argv: Vec<String>, on_line: LineSink) -> std::io::Result<()> {
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
        let sink = Arc::new(Mutex::new(on_line));
        for stream in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child.stderr.take().map(|s| Box::new(s) as _),
        ]
        .into_iter()
        .flatten()
        {
            let sink = sink.clone();
            // Read to the end whatever the bytes: a reader that stopped would leave the
            // command writing into a closed pipe (SIGPIPE).
            tokio::spawn(async move {
                stream_lines(stream, &mut |line: &str| (sink.lock().unwrap())(line)).await;
            });
        }
        self.children.lock().unwrap().push(child);
        Ok(())
    }
}

async fn create_node(
    node: &Node,
    mark: &str,
    may_replace: &(dyn Fn(Option<&str>) -> Result<(), String> + Sync),
) -> anyhow::Result<RunningNode> {
    if let Ok(old) = Netns::from_name(&node.name) {
        let lo = Nl::connect(&old).await?.link_by_name("lo").await?;
        if let Err(why) = may_replace(lo.and_then(|l| l.alias).as_deref()) {
            anyhow::bail!(
                "network namespace {} exists and {why}; it is left alone: remove it or rename the node",
                conlink_kernel::netns_run_dir().join(&node.name).display()
            );
        }
        warn!(node = %node.name, "replacing network namespace left by an earlier run");
        Netns::delete_named(&node.name)?;
    }
    let name = node.name.clone();
    // Blocking syscalls (unshare, mount): off the runtime's workers, several at once.
    let (netns, socket) = tokio::task::spawn_blocking(move || {
        Netns::create_named_with(&name, || {
            // Interfaces run IPv6 only where a link has an IPv6 address (as engines do
            // for network_mode: none containers): no autoconf multicast from the rest.
            if let Err(e) = conlink_kernel::no_ipv6_on_new_links_here() {
                warn!(node = %name, "links without IPv6 addresses keep IPv6 autoconfiguration: {e}");
            }
            // Its netlink socket while this thread is inside: no second thread enters it.
            NlSocket::open_here()
        })
    })
    .await??;
    let nl = Nl::from_socket(socket, &netns)?;
    nl.set_alias_and_up("lo", mark).await?;
    Ok(RunningNode { name: node.name.clone(), netns })
}

impl Engine for NetnsRuntime {
    fn kind(&self) -> EngineKind {
        EngineKind::Netns
    }

    fn list_running(&self) -> BoxFuture<'_, Result<Vec<ContainerInfo>, EngineError>> {
        let all = self.nodes.iter().map(Self::info).collect();
        async move { Ok(all) }.boxed()
    }

    fn inspect<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<ContainerInfo, EngineError>> {
        let found = self.node(id).map(Self::info).ok_or_else(|| Self::not_found(id));
        async move { found }.boxed()
    }

    fn events(&self) -> EventStream {
        futures::stream::pending().boxed()
    }

    fn namespace(&self, container: &ContainerInfo) -> std::io::Result<Netns> {
        match self.node(&container.id) {
            Some(node) => node.netns.try_clone(),
            None => Netns::from_name(&container.name),
        }
    }

    /// Starts the command and returns at once (`exit_code: None`): node commands run
    /// until the daemon stops.
    fn exec<'a>(
        &'a self,
        id: &'a str,
        argv: Vec<String>,
        on_line: LineSink,
    ) -> BoxFuture<'a, Result<ExecOutput, EngineError>> {
        let result = match self.node(id) {
            None => Err(Self::not_found(id)),
            Some(_) if argv.is_empty() => Err(EngineError::Exec {
                kind: EngineKind::Netns,
                container: id.to_string(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"),
            }),
            Some(node) => self
                .spawn(node, argv, on_line)
                .map(|()| ExecOutput { exit_code: None, output: String::new() })
                .map_err(|source| EngineError::Exec {
                    kind: EngineKind::Netns,
                    container: node.name.clone(),
                    source,
                }),
        };
        async move { result }.boxed()
    }
}
