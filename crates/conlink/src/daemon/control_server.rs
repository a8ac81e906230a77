//! The daemon's end of the control socket: live status and runtime changes
//! (netem, link up/down) without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, MutexGuard};

use conlink_config::NetworkConfig;
use conlink_kernel::{Netem, Netns, Nl};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tracing::{debug, info, warn};

use super::tracker::{LinkRecord, LinkState, Tracker};
use crate::control::{LinkStatus, Reply, Request};
use crate::engine::EngineKind;

/// What the control socket reads and changes: the config, the tracker, and netlink in
/// conlink's namespace (outer veth ends).
pub trait ControlBackend: Send + Sync + 'static {
    fn config(&self) -> &NetworkConfig;
    /// Held briefly, never across an await.
    fn tracker(&self) -> MutexGuard<'_, Tracker>;
    fn bridge_nl(&self) -> &Nl;
}

type Shared = dyn ControlBackend;

/// Removes the socket file when the daemon stops.
pub struct ControlSocket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl ControlSocket {
    pub fn close(self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

pub fn serve(shared: Arc<Shared>, path: &Path) -> std::io::Result<ControlSocket> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // A socket file left by a killed conlink would make bind fail.
    if path.exists() && std::os::unix::net::UnixStream::connect(path).is_err() {
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    info!(socket = %path.display(), "control socket ready (conlink status)");
    let task = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(handle(shared.clone(), stream));
                }
                Err(e) => warn!("control socket: {e}"),
            }
        }
    });
    Ok(ControlSocket { path: path.to_path_buf(), task })
}

async fn handle(shared: Arc<Shared>, stream: UnixStream) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    if BufReader::new(read).read_line(&mut line).await.is_err() {
        return;
    }
    let reply = match serde_json::from_str::<Request>(&line) {
        Ok(req) => {
            debug!(?req, "control request");
            answer(shared.as_ref(), req).await
        }
        Err(e) => Reply::Error { message: format!("bad request: {e}") },
    };
    let mut out = serde_json::to_string(&reply).expect("replies serialise");
    out.push('\n');
    let _ = write.write_all(out.as_bytes()).await;
}

async fn answer(shared: &Shared, req: Request) -> Reply {
    match req {
        Request::Status => status(shared),
        Request::Config => Reply::Config { config: conlink_config::show_config(shared.config()) },
        Request::Netem { container, dev, netem } => match set_netem(shared, &container, &dev, netem).await {
            Ok(()) => Reply::Ok,
            Err(message) => Reply::Error { message },
        },
        Request::Link { container, dev, up } => match set_link(shared, &container, &dev, up).await {
            Ok(()) => Reply::Ok,
            Err(message) => Reply::Error { message },
        },
    }
}

fn status(shared: &Shared) -> Reply {
    let tracker = shared.tracker();
    let mut links: Vec<LinkStatus> = tracker
        .containers()
        .flat_map(|(_, c)| {
            c.links.iter().map(|l| {
                let cfg = &shared.config().links[l.link_index];
                let (state, error) = match &l.state {
                    LinkState::Connected if l.admin_down => ("down".to_string(), None),
                    LinkState::Connected => ("connected".to_string(), None),
                    LinkState::Failed(e) => ("failed".to_string(), Some(e.clone())),
                };
                LinkStatus {
                    link: Some(l.link_index),
                    container: c.name.clone(),
                    dev: l.dev.clone(),
                    link_type: cfg.link_type.to_string(),
                    outer: l.outer.clone(),
                    bridge: cfg.bridge.clone(),
                    ip: l.ip.iter().map(|n| n.to_string()).collect(),
                    mtu: cfg.mtu,
                    state,
                    netem: l.netem.clone().or_else(|| (!cfg.netem.is_empty()).then(|| cfg.netem.join(" "))),
                    error,
                }
            })
        })
        .collect();
    links.sort_by(|a, b| (&a.container, &a.dev).cmp(&(&b.container, &b.dev)));
    Reply::Status { all_connected: tracker.all_connected(shared.config()), links }
}

/// The namespace of a tracked container or node, and its record's PID.
fn target_ns(shared: &Shared, container: &str, dev: &str) -> Result<(Netns, Option<String>), String> {
    let mut tracker = shared.tracker();
    let (_, rec) = tracker
        .find_mut(container)
        .ok_or_else(|| format!("no container or node {container:?} with links"))?;
    let link =
        rec.links.iter().find(|l| l.dev == dev).ok_or_else(|| format!("{container} has no link {dev:?}"))?;
    if link.state != LinkState::Connected {
        return Err(format!("{container} {dev} is not connected"));
    }
    let outer = link.outer.clone();
    let ns = match rec.engine {
        EngineKind::Netns => Netns::from_name(&rec.name),
        _ => Netns::from_pid(rec.pid),
    }
    .map_err(|e| format!("cannot enter {container}: {e}"))?;
    Ok((ns, outer))
}

fn record_change(shared: &Shared, container: &str, dev: &str, f: impl FnOnce(&mut LinkRecord)) {
    if let Some((_, rec)) = shared.tracker().find_mut(container) {
        if let Some(l) = rec.links.iter_mut().find(|l| l.dev == dev) {
            f(l);
        }
    }
}

async fn set_netem(shared: &Shared, container: &str, dev: &str, netem: Option<String>) -> Result<(), String> {
    let (ns, _) = target_ns(shared, container, dev)?;
    let nl = Nl::connect(&ns).await.map_err(|e| e.to_string())?;
    match &netem {
        Some(spec) => {
            let parsed = Netem::parse(spec).map_err(|e| format!("netem {spec:?}: {e}"))?;
            nl.set_netem(dev, &parsed).await.map_err(|e| e.to_string())?;
        }
        None => nl.clear_netem(dev).await.map_err(|e| e.to_string())?,
    }
    info!(container, dev, netem = netem.as_deref().unwrap_or("cleared"), "netem changed");
    record_change(shared, container, dev, |l| l.netem = netem);
    Ok(())
}

async fn set_link(shared: &Shared, container: &str, dev: &str, up: bool) -> Result<(), String> {
    let (ns, outer) = target_ns(shared, container, dev)?;
    match outer {
        // Downing the outer end cuts the cable: the container sees NO-CARRIER.
        Some(outer) => shared.bridge_nl().set_up(&outer, up).await.map_err(|e| e.to_string())?,
        None => {
            let nl = Nl::connect(&ns).await.map_err(|e| e.to_string())?;
            nl.set_up(dev, up).await.map_err(|e| e.to_string())?;
        }
    }
    info!(container, dev, state = if up { "up" } else { "down" }, "link state changed");
    record_change(shared, container, dev, |l| l.admin_down = !up);
    Ok(())
}
