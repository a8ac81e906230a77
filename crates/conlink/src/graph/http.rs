//! Just enough HTTP/1.1 for the graph page: GET (and HEAD) of a few fixed
//! paths, one request per connection, a bounded request head.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest request head accepted; browsers send well under 2 KiB here.
pub const MAX_HEAD: usize = 8192;

#[derive(Debug, PartialEq)]
pub struct Request {
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// The Host header, if sent.
    pub host: Option<String>,
}

impl Request {
    /// A page on another site whose name was re-pointed at this address (DNS
    /// rebinding) sends its own name as Host: only IP literals and localhost
    /// are answered.
    pub fn host_is_an_address(&self) -> bool {
        let Some(host) = &self.host else { return true };
        let name = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h),
        };
        name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok()
    }
}

#[derive(Debug, PartialEq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Response {
    pub fn ok(content_type: &'static str, body: impl Into<Vec<u8>>) -> Response {
        Response { status: 200, content_type, body: body.into() }
    }

    pub fn error(status: u16, message: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: format!("{message}\n").into_bytes(),
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// Parses the request line of a complete head (`GET /path?q HTTP/1.1`).
pub fn parse_head(head: &[u8]) -> Result<Request, Response> {
    let text = std::str::from_utf8(head).map_err(|_| Response::error(400, "request is not UTF-8"))?;
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.split(' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(target), Some(version), None)
            if version.starts_with("HTTP/1.") && target.starts_with('/') =>
        {
            let path = target.split(['?', '#']).next().unwrap_or("/").to_string();
            let host = text.lines().skip(1).find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim().eq_ignore_ascii_case("host").then(|| v.trim().to_string())
            });
            Ok(Request { method: method.to_string(), path, host })
        }
        _ => Err(Response::error(400, "bad request line")),
    }
}

fn encode(resp: &Response, head_only: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
         X-Content-Type-Options: nosniff\r\nConnection: close\r\n{}\r\n",
        resp.status,
        reason(resp.status),
        resp.content_type,
        resp.body.len(),
        if resp.status == 405 { "Allow: GET, HEAD\r\n" } else { "" },
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(&resp.body);
    }
    out
}

/// Reads one request head, bounded in size and time. `None`: the client was
/// too slow and the connection is just dropped; `Err`: answer with that.
pub async fn read_request(stream: &mut TcpStream) -> Option<Result<Request, Response>> {
    let mut buf = Vec::with_capacity(1024);
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let mut chunk = [0u8; 1024];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                return Ok(end);
            }
            if buf.len() > MAX_HEAD {
                return Err(Response::error(431, "request head too large"));
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return Err(Response::error(400, "incomplete request")),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await
    .ok()?;
    Some(read.and_then(|end| parse_head(&buf[..end])).and_then(|req| match req.method.as_str() {
        "GET" | "HEAD" if !req.host_is_an_address() => Err(Response::error(403, "Host must be an address")),
        "GET" | "HEAD" => Ok(req),
        _ => Err(Response::error(405, "only GET")),
    }))
}

pub async fn respond(stream: &mut TcpStream, resp: &Response, head_only: bool) {
    let _ = stream.write_all(&encode(resp, head_only)).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        let r = parse_head(b"GET /graph.json?t=1 HTTP/1.1\r\nhost: 127.0.0.1:7380").unwrap();
        assert_eq!(r.path, "/graph.json");
        assert_eq!(r.host.as_deref(), Some("127.0.0.1:7380"));
        assert_eq!(parse_head(b"GET / HTTP/1.0").unwrap().path, "/");
        for bad in [&b"GET /"[..], b"GET x HTTP/1.1", b"GET / SPDY/3", b"GET / HTTP/1.1 extra", b"\xff\xfe"] {
            assert_eq!(parse_head(bad).unwrap_err().status, 400, "{bad:?}");
        }
    }

    #[test]
    fn only_address_hosts_are_answered() {
        let host = |h: &str| {
            parse_head(format!("GET / HTTP/1.1\r\nHost: {h}").as_bytes()).unwrap().host_is_an_address()
        };
        for ok in ["127.0.0.1:7380", "127.0.0.1", "[::1]:7380", "localhost:7380", "LOCALHOST", "192.0.2.1:80"]
        {
            assert!(host(ok), "{ok}");
        }
        for bad in ["evil.example:7380", "evil.example", "127.0.0.1.nip.io:7380"] {
            assert!(!host(bad), "{bad}");
        }
        assert!(parse_head(b"GET / HTTP/1.0").unwrap().host_is_an_address(), "no Host: HTTP/1.0 clients");
    }

    #[test]
    fn responses_carry_length_and_close() {
        let r = String::from_utf8(encode(&Response::ok("text/plain", "hi"), false)).unwrap();
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(
            r.contains("Content-Length: 2\r\n")
                && r.contains("Connection: close\r\n")
                && r.ends_with("\r\n\r\nhi")
        );
        let r = String::from_utf8(encode(&Response::error(405, "only GET"), false)).unwrap();
        assert!(r.starts_with("HTTP/1.1 405 Method Not Allowed") && r.contains("Allow: GET, HEAD"));
        let head = String::from_utf8(encode(&Response::ok("text/plain", "hi"), true)).unwrap();
        assert!(head.ends_with("\r\n\r\n"), "HEAD has no body");
    }
}
