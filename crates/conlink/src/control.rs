//! Control protocol between a running daemon and `conlink status|netem|link`:
//! one JSON request line per connection on a local unix socket, one JSON reply.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// One socket per conlink namespace name, so several conlinks on one host never collide;
/// in the runtime directory (/run/conlink, or $XDG_RUNTIME_DIR/conlink rootless).
pub fn default_socket(netns: &str) -> std::path::PathBuf {
    crate::runtime_dir::runtime_dir().join(format!("{netns}.sock"))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "kebab-case")]
pub enum Request {
    Status,
    /// The daemon's merged config as `--show-config` JSON (for `conlink graph`).
    Config,
    /// Set (`netem: Some`) or clear (`None`) a link's impairment.
    Netem {
        container: String,
        dev: String,
        netem: Option<String>,
    },
    /// Administrative state of a link (down simulates a cut cable).
    Link {
        container: String,
        dev: String,
        up: bool,
    },
    /// From `conlink-runc` between the runtime's `create` and `start`: build the
    /// links of container `id` (its process `pid` waits for `start`) now.
    Prestart {
        id: String,
        pid: u32,
        /// Name and labels from the engine's files, for when the engine cannot be asked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hint: Option<crate::prestart::hint::Hint>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkStatus {
    /// Index of the config link (`--show-config` top-level `links`); absent from older daemons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<usize>,
    pub container: String,
    pub dev: String,
    pub link_type: String,
    pub outer: Option<String>,
    pub bridge: Option<String>,
    pub ip: Vec<String>,
    pub mtu: Option<u32>,
    /// "connected", "failed" or "down" (set down through the control socket).
    pub state: String,
    pub netem: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Reply {
    Status {
        all_connected: bool,
        links: Vec<LinkStatus>,
    },
    Config {
        config: serde_json::Value,
    },
    Ok,
    Error {
        message: String,
    },
    /// Prestart: the container is this daemon's and all its links exist.
    Claimed {
        container: String,
        links: usize,
    },
    /// Prestart: this daemon has no links for the container (another daemon may).
    NotMine {
        reason: String,
    },
}

/// Sends one request to the daemon listening on `socket`.
pub fn call(socket: &Path, req: &Request) -> Result<Reply, String> {
    let mut stream = UnixStream::connect(socket).map_err(|e| {
        format!("cannot reach conlink at {}: {e} (is it running? use --control-socket)", socket.display())
    })?;
    let mut line = serde_json::to_string(req).expect("requests serialise");
    line.push('\n');
    stream.write_all(line.as_bytes()).map_err(|e| e.to_string())?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).map_err(|e| e.to_string())?;
    serde_json::from_str(&reply).map_err(|e| format!("bad reply from conlink: {e}: {reply:?}"))
}

/// `conlink status` as a table; errors follow in their own section, so a
/// long kernel message never widens the table.
pub fn format_table(all_connected: bool, links: &[LinkStatus]) -> String {
    let header = ["CONTAINER", "DEV", "TYPE", "OUTER", "BRIDGE", "IP", "MTU", "STATE", "NETEM"];
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let mut rows: Vec<[String; 9]> = links
        .iter()
        .map(|l| {
            [
                l.container.clone(),
                l.dev.clone(),
                l.link_type.clone(),
                dash(&l.outer),
                dash(&l.bridge),
                if l.ip.is_empty() { "-".into() } else { l.ip.join(",") },
                l.mtu.map(|m| m.to_string()).unwrap_or_else(|| "-".into()),
                l.state.clone(),
                dash(&l.netem),
            ]
        })
        .collect();
    // Number the errors so the STATE cell points at its line below.
    let mut errors = Vec::new();
    for (row, l) in rows.iter_mut().zip(links) {
        if let Some(e) = &l.error {
            errors.push(format!("  ({}) {} {}: {e}", errors.len() + 1, l.container, l.dev));
            row[7] = format!("{} ({})", l.state, errors.len());
        }
    }
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let l: Vec<String> = cells.iter().zip(&width).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(l.join("  ").trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for r in &rows {
        line(r.iter().map(String::as_str).collect());
    }
    if !errors.is_empty() {
        out.push_str("\nErrors:\n");
        for e in errors {
            out.push_str(&e);
            out.push('\n');
        }
        out.push('\n');
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for l in links.iter().filter(|l| l.state != "connected") {
        match counts.iter_mut().find(|(s, _)| *s == l.state) {
            Some((_, n)) => *n += 1,
            None => counts.push((&l.state, 1)),
        }
    }
    if all_connected && counts.is_empty() {
        out.push_str("All links connected\n");
    } else if counts.is_empty() {
        out.push_str("Not all links connected\n");
    } else {
        let c: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
        out.push_str(&format!("Not all links connected: {}\n", c.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_as_one_json_line() {
        for req in [
            Request::Status,
            Request::Config,
            Request::Netem { container: "h1".into(), dev: "eth0".into(), netem: Some("delay 10ms".into()) },
            Request::Netem { container: "h1".into(), dev: "eth0".into(), netem: None },
            Request::Link { container: "h1".into(), dev: "eth0".into(), up: false },
            Request::Prestart { id: "c0ffee".into(), pid: 42, hint: None },
            Request::Prestart {
                id: "c0ffee".into(),
                pid: 42,
                hint: Some(crate::prestart::hint::Hint {
                    engine: "podman".into(),
                    name: "a".into(),
                    labels: Default::default(),
                }),
            },
        ] {
            let s = serde_json::to_string(&req).unwrap();
            assert!(!s.contains('\n'));
            assert_eq!(serde_json::from_str::<Request>(&s).unwrap(), req);
        }
        assert_eq!(serde_json::to_string(&Request::Status).unwrap(), r#"{"cmd":"status"}"#);
    }

    #[test]
    fn table_shows_every_link_and_the_overall_state() {
        let l = LinkStatus {
            link: Some(0),
            container: "t1-h1-1".into(),
            dev: "eth0".into(),
            link_type: "veth".into(),
            outer: Some("h1_1-eth0".into()),
            bridge: Some("s1".into()),
            ip: vec!["192.168.1.100/24".into()],
            mtu: Some(65535),
            state: "failed".into(),
            netem: None,
            error: Some("kernel lacks netem qdisc".into()),
        };
        let long = "kernel lacks netem qdisc: ".repeat(5);
        let ok =
            LinkStatus { container: "t1-h2-1".into(), state: "connected".into(), error: None, ..l.clone() };
        let l = LinkStatus { error: Some(long.clone()), ..l };
        let t = format_table(false, &[l, ok]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("CONTAINER"));
        assert!(lines[1].contains("h1_1-eth0") && lines[1].contains("192.168.1.100/24"));
        assert!(lines[1].contains("failed (1)"), "{t}");
        assert!(lines[0].len() < 120 && lines[1].len() < 120, "the table stays narrow:\n{t}");
        assert_eq!(lines[3], "");
        assert_eq!(lines[4], "Errors:");
        assert_eq!(lines[5], format!("  (1) t1-h1-1 eth0: {long}"));
        assert_eq!(lines.last(), Some(&"Not all links connected: 1 failed"));
        // Without errors there is no errors section.
        assert!(!format_table(true, &[]).contains("Errors"));
    }

    #[test]
    fn unreachable_daemon_is_a_clear_error() {
        let e = call(Path::new("/nonexistent/conlink.sock"), &Request::Status).unwrap_err();
        assert!(e.contains("cannot reach conlink at /nonexistent/conlink.sock"), "{e}");
    }
}
