//! `conlink graph`: the topology drawn from the config, overlaid with the
//! running daemon's link states when it answers; printed once or served live.

pub mod http;
pub mod serve;

use std::path::{Path, PathBuf};

use conlink_tools::graph::{self, LiveLink, State, Topology};
use serde_json::{json, Value};

use crate::control::{self, LinkStatus, Reply, Request};

/// Where the drawing comes from.
pub struct Source {
    /// `--show-config` JSON of the files given on the command line; `None`: ask the daemon.
    pub config: Option<Value>,
    pub socket: PathBuf,
}

/// One drawing and what is known about the daemon behind it.
pub struct Snapshot {
    pub topology: Topology,
    /// `None` when no daemon state went into the drawing.
    pub all_connected: Option<bool>,
    /// Why the daemon could not be asked (the drawing then shows the config only).
    pub daemon_error: Option<String>,
}

impl Snapshot {
    pub fn render(&self, format: graph::Format) -> String {
        graph::render(&self.topology, format)
    }

    /// `/graph.json` and `--format json`: the drawing plus the daemon's answer.
    pub fn to_json(&self) -> Value {
        let mut v = graph::json::render(&graph::flatten(&self.topology));
        v["all_connected"] = json!(self.all_connected);
        v["daemon_error"] = json!(self.daemon_error);
        v
    }
}

pub fn live_links(links: &[LinkStatus]) -> Vec<LiveLink> {
    links
        .iter()
        .map(|l| LiveLink {
            link: l.link,
            container: l.container.clone(),
            dev: l.dev.clone(),
            ip: l.ip.clone(),
            state: State::parse(&l.state),
            netem: l.netem.clone(),
            error: l.error.clone(),
        })
        .collect()
}

fn daemon_config(socket: &Path) -> Result<Value, String> {
    match control::call(socket, &Request::Config)? {
        Reply::Config { config } => Ok(config),
        Reply::Error { message } => Err(message),
        other => Err(format!("unexpected reply {other:?}")),
    }
}

fn daemon_status(socket: &Path) -> Result<(bool, Vec<LinkStatus>), String> {
    match control::call(socket, &Request::Status)? {
        Reply::Status { all_connected, links } => Ok((all_connected, links)),
        Reply::Error { message } => Err(message),
        other => Err(format!("unexpected reply {other:?}")),
    }
}

impl Source {
    /// The config's drawing, with live states when `live` and the daemon answers.
    /// Without config files the daemon is the only source, so its absence is an error.
    pub fn snapshot(&self, live: bool) -> Result<Snapshot, String> {
        let config = match &self.config {
            Some(c) => c.clone(),
            None => daemon_config(&self.socket)?,
        };
        let topology = graph::from_json(&config)?;
        if !live {
            return Ok(Snapshot { topology, all_connected: None, daemon_error: None });
        }
        match daemon_status(&self.socket) {
            Ok((all, links)) => {
                let topology = graph::overlay(&topology, &live_links(&links));
                // As `status`: a link set down is not connected.
                let all_connected = Some(all && graph::all_connected(&topology));
                Ok(Snapshot { topology, all_connected, daemon_error: None })
            }
            Err(e) if self.config.is_some() => {
                Ok(Snapshot { topology, all_connected: None, daemon_error: Some(e) })
            }
            Err(e) => Err(e),
        }
    }
}
