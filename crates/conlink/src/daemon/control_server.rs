//! The daemon's end of the control socket: live status and runtime changes
//! (netem, link up/down) without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, MutexGuard};

use conlink_config::NetworkConfig;
use conlink_kernel::{Netem, Netns, Nl};
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tracing::{debug, info, warn};

use super::control_guard as guard;
use super::tracker::{LinkRecord, LinkState, Tracker};
use crate::control::{LinkStatus, Reply, Request};
use crate::prestart::hint::Hint;

/// What the control socket reads and changes: the config, the tracker, and netlink in
/// conlink's namespace (outer veth ends).
pub trait ControlBackend: Send + Sync + 'static {
    fn config(&self) -> &NetworkConfig;
    /// Held briefly, never across an await.
    fn tracker(&self) -> MutexGuard<'_, Tracker>;
    fn bridge_nl(&self) -> &Nl;
    /// Builds a just-created container's links before it starts (from conlink-runc).
    fn prestart(&self, id: String, pid: u32, hint: Option<Hint>) -> futures::future::BoxFuture<'_, Reply> {
        let _ = (pid, hint);
        Box::pin(async move {
            Reply::NotMine { reason: format!("this daemon builds no links before start ({id})") }
        })
    }
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
        // Only a socket is ever removed (a file put there meanwhile stays).
        use std::os::unix::fs::FileTypeExt as _;
        if std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.file_type().is_socket()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

pub fn serve(shared: Arc<Shared>, path: &Path) -> std::io::Result<ControlSocket> {
    let listener = guard::bind(path)?;
    info!(socket = %path.display(), "control socket ready (conlink status)");
    let own_uid = unsafe { libc::geteuid() };
    let slots = Arc::new(tokio::sync::Semaphore::new(guard::MAX_CONNECTIONS));
    let task = tokio::spawn(async move {
        let mut backoff = guard::Backoff::default();
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    backoff.reset();
                    // Over the cap the connection is closed at once: the client sees EOF.
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        warn!(
                            "control socket: {} connections already open, refusing one",
                            guard::MAX_CONNECTIONS
                        );
                        continue;
                    };
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        handle(shared, stream, own_uid).await;
                        drop(slot);
                    });
                }
                Err(e) => {
                    // EMFILE/ENFILE/ENOMEM persist until something closes: wait, do not spin.
                    let delay = backoff.next_delay();
                    warn!("control socket: accept failed ({e}); retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    });
    Ok(ControlSocket { path: path.to_path_buf(), task })
}

async fn handle(shared: Arc<Shared>, stream: UnixStream, own_uid: u32) {
    let peer = stream.peer_cred().map(|c| c.uid());
    let (read, mut write) = stream.into_split();
    let reply = match peer {
        Ok(uid) if guard::peer_allowed(uid, own_uid) => {
            match guard::read_request(read, guard::MAX_REQUEST, guard::READ_TIMEOUT).await {
                Ok(line) => match serde_json::from_str::<Request>(&line) {
                    Ok(req) => {
                        debug!(?req, uid, "control request");
                        answer(shared.as_ref(), req).await
                    }
                    Err(e) => Reply::Error { message: format!("bad request: {e}") },
                },
                Err(guard::RequestError::Closed) => return,
                Err(e) => Reply::Error { message: format!("bad request: {e}") },
            }
        }
        Ok(uid) => {
            warn!(uid, "control socket: refused a client that is neither root nor uid {own_uid}");
            // Read (and drop) its request first: a client still writing would get EPIPE
            // instead of the reason.
            let _ = guard::read_request(read, guard::MAX_REQUEST, guard::READ_TIMEOUT).await;
            Reply::Error {
                message: format!(
                    "permission denied: uid {uid} may not use conlink's control socket (only root and uid {own_uid})"
                ),
            }
        }
        Err(e) => {
            Reply::Error { message: format!("permission denied: cannot read the peer's credentials: {e}") }
        }
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
        Request::Prestart { id, pid, hint } => shared.prestart(id, pid, hint).await,
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
                    netem: l.netem.clone().or_else(|| cfg.netem.as_ref().map(|n| n.to_string())),
                    error,
                }
            })
        })
        .collect();
    links.sort_by(|a, b| (&a.container, &a.dev).cmp(&(&b.container, &b.dev)));
    Reply::Status { all_connected: tracker.all_connected(shared.config()), links }
}

/// The namespace handle kept for a tracked container or node, and the link's outer end.
fn target_ns(shared: &Shared, container: &str, dev: &str) -> Result<(Arc<Netns>, Option<String>), String> {
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
    // Never reopened by PID: after a missed die event the PID may be another process's.
    let ns = rec.netns.clone().ok_or_else(|| format!("{container} has no namespace handle"))?;
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
            let parsed = Netem::parse_with(spec, &conlink_config::DistDirs::default())
                .map_err(|e| format!("netem {spec:?}: {e}"))?;
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
