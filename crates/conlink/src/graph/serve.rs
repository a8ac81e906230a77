//! `conlink graph --serve`: the page embedded in the binary (no network
//! access needed to view it), `/graph.json` with live states that the page
//! polls, and the current drawing as `/graph.dot` and `/graph.mmd`.

use std::net::SocketAddr;
use std::sync::Arc;

use conlink_tools::graph::Format;
use tokio::net::TcpListener;

use super::http::{self, Response};
use super::Source;

const INDEX_HTML: &str = include_str!("../../../../web/index.html");
const TOPOLOGY_JS: &str = include_str!("../../../../web/topology.js");

/// The page in live mode: it polls `graph.json` instead of waiting for a file.
fn live_index() -> String {
    INDEX_HTML.replacen("<body>", "<body data-live=\"graph.json\">", 1)
}

pub fn route(path: &str, source: &Source) -> Response {
    let drawing = |format: Format, content_type: &'static str| match source.snapshot(true) {
        Ok(s) => Response::ok(content_type, s.render(format)),
        Err(e) => Response::error(503, &e),
    };
    match path {
        "/" | "/index.html" => Response::ok("text/html; charset=utf-8", live_index()),
        "/topology.js" => Response::ok("text/javascript; charset=utf-8", TOPOLOGY_JS),
        "/graph.json" => match source.snapshot(true) {
            Ok(s) => Response::ok("application/json", s.to_json().to_string()),
            Err(e) => Response::ok("application/json", serde_json::json!({"error": e}).to_string()),
        },
        "/graph.dot" => drawing(Format::Dot, "text/vnd.graphviz; charset=utf-8"),
        "/graph.mmd" => drawing(Format::Mermaid, "text/plain; charset=utf-8"),
        _ => Response::error(404, "not found"),
    }
}

/// Binds `addr` (say 127.0.0.1:0 for any free port), prints the URL, serves until killed.
pub async fn serve(addr: SocketAddr, source: Source) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let url = format!("http://{}/", listener.local_addr()?);
    println!("conlink graph: serving {url} (Ctrl-C stops)");
    if !addr.ip().is_loopback() {
        tracing::warn!(
            "graph page served beyond loopback on {addr}: anyone who reaches it sees the topology"
        );
    }
    let source = Arc::new(source);
    loop {
        let (mut stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!("graph server: {e}");
                continue;
            }
        };
        let source = source.clone();
        tokio::spawn(async move {
            let Some(req) = http::read_request(&mut stream).await else { return };
            let (resp, head_only) = match req {
                Ok(req) => {
                    let path = req.path.clone();
                    // The control socket client blocks: keep it off the async workers.
                    let resp = tokio::task::spawn_blocking(move || route(&path, &source))
                        .await
                        .unwrap_or_else(|_| Response::error(503, "internal error"));
                    (resp, req.method == "HEAD")
                }
                Err(resp) => (resp, false),
            };
            http::respond(&mut stream, &resp, head_only).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn source() -> Source {
        let cfg = json!({"links": [{"service": "h1", "dev": "eth0", "bridge": "s1", "ip": ["192.0.2.1/24", "2001:db8::1/64"]}]});
        Source { config: Some(cfg), socket: "/nonexistent/d15.sock".into() }
    }

    #[test]
    fn page_is_embedded_and_in_live_mode() {
        let r = route("/", &source());
        let page = String::from_utf8(r.body).unwrap();
        assert!(page.contains("data-live=\"graph.json\"") && page.contains("topology.js"));
        assert!(!page.contains("http://") && !page.contains("https://"), "nothing loaded from the network");
        assert_eq!(route("/topology.js", &source()).status, 200);
        assert_eq!(route("/etc/passwd", &source()).status, 404);
    }

    #[test]
    fn without_daemon_the_config_is_drawn_and_the_error_told() {
        let r = route("/graph.json", &source());
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["edges"][0]["ip"], json!(["192.0.2.1/24", "2001:db8::1/64"]));
        assert!(v["daemon_error"].as_str().unwrap().contains("cannot reach conlink"), "{v}");
        let dot = String::from_utf8(route("/graph.dot", &source()).body).unwrap();
        assert!(dot.starts_with("digraph conlink {"), "{dot}");
        let mmd = String::from_utf8(route("/graph.mmd", &source()).body).unwrap();
        assert!(mmd.starts_with("flowchart TB"), "{mmd}");
    }
}
