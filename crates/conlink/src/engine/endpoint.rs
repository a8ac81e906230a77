//! Where an engine listens: `--docker-socket`/`--podman-socket` when given,
//! else DOCKER_HOST / CONTAINER_HOST (as the docker and podman CLIs read
//! them), else the default socket.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A unix socket.
    Unix(PathBuf),
    /// Plain HTTP to `host:port` (`tcp://`; no TLS).
    Tcp(String),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "{}", p.display()),
            Endpoint::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

impl Endpoint {
    /// `unix:///path`, `tcp://host:port` (or `http://`), or a plain socket path.
    pub fn parse(s: &str) -> Result<Endpoint, String> {
        if let Some(path) = s.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(format!("{s:?} names no socket path"));
            }
            return Ok(Endpoint::Unix(PathBuf::from(path)));
        }
        if let Some(addr) = s.strip_prefix("tcp://").or_else(|| s.strip_prefix("http://")) {
            let addr = addr.trim_end_matches('/');
            let port_ok =
                addr.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
            if !port_ok {
                return Err(format!("{s:?} needs host:port (e.g. tcp://127.0.0.1:2375)"));
            }
            return Ok(Endpoint::Tcp(addr.to_string()));
        }
        if s.starts_with('/') {
            return Ok(Endpoint::Unix(PathBuf::from(s)));
        }
        let scheme = s.split_once("://").map_or(s, |(scheme, _)| scheme);
        Err(format!("{s:?}: scheme {scheme:?} is not supported (use unix:// or tcp://)"))
    }

    /// The endpoint to use and where it came from: the option when given,
    /// else the environment variable `var` when set and not empty, else `default`.
    pub fn choose(
        explicit: Option<&Path>,
        var: &str,
        env_value: Option<&str>,
        default: &str,
    ) -> Result<(Endpoint, String), String> {
        if let Some(p) = explicit {
            return Ok((Endpoint::Unix(p.to_path_buf()), "option".into()));
        }
        match env_value.filter(|v| !v.is_empty()) {
            Some(v) => Endpoint::parse(v).map(|e| (e, var.to_string())).map_err(|e| format!("{var}={e}")),
            None => Ok((Endpoint::Unix(PathBuf::from(default)), "default".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_unix_tcp_and_paths() {
        assert_eq!(Endpoint::parse("unix:///run/d.sock").unwrap(), Endpoint::Unix("/run/d.sock".into()));
        assert_eq!(Endpoint::parse("/run/d.sock").unwrap(), Endpoint::Unix("/run/d.sock".into()));
        assert_eq!(Endpoint::parse("tcp://127.0.0.1:2375").unwrap(), Endpoint::Tcp("127.0.0.1:2375".into()));
        assert_eq!(Endpoint::parse("http://[::1]:2375/").unwrap(), Endpoint::Tcp("[::1]:2375".into()));
        assert_eq!(Endpoint::parse("tcp://127.0.0.1:2375").unwrap().to_string(), "tcp://127.0.0.1:2375");
    }

    #[test]
    fn refuses_what_it_cannot_speak_with_a_reason() {
        assert!(Endpoint::parse("ssh://me@box").unwrap_err().contains("\"ssh\" is not supported"));
        assert!(Endpoint::parse("unix://").unwrap_err().contains("no socket path"));
        assert!(Endpoint::parse("tcp://host").unwrap_err().contains("host:port"));
        assert!(Endpoint::parse("npipe:////./pipe/docker").is_err());
    }

    #[test]
    fn the_option_wins_then_the_variable_then_the_default() {
        let d = "/var/run/docker.sock";
        let (e, from) =
            Endpoint::choose(Some(Path::new("/x.sock")), "DOCKER_HOST", Some("tcp://a:1"), d).unwrap();
        assert_eq!((e, from.as_str()), (Endpoint::Unix("/x.sock".into()), "option"));
        let (e, from) = Endpoint::choose(None, "DOCKER_HOST", Some("unix:///y.sock"), d).unwrap();
        assert_eq!((e, from.as_str()), (Endpoint::Unix("/y.sock".into()), "DOCKER_HOST"));
        let (e, from) = Endpoint::choose(None, "DOCKER_HOST", Some(""), d).unwrap();
        assert_eq!((e, from.as_str()), (Endpoint::Unix(d.into()), "default"));
        let e = Endpoint::choose(None, "CONTAINER_HOST", Some("ssh://x"), d).unwrap_err();
        assert!(e.starts_with("CONTAINER_HOST=\"ssh://x\""), "{e}");
    }
}
