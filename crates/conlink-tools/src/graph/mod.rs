//! A topology drawn from `--show-config` JSON, optionally overlaid with the
//! daemon's live link states, rendered as dot, mermaid or JSON.

pub mod dot;
pub mod draw;
pub mod json;
pub mod live;
pub mod mermaid;
pub mod model;

pub use draw::{flatten, Drawing};
pub use live::{all_connected, overlay, LiveLink};
pub use model::{from_json, State, Topology};

/// An output format of `net2dot`/`conlink graph`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Format {
    Dot,
    Mermaid,
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "dot" => Ok(Format::Dot),
            "mermaid" | "mmd" => Ok(Format::Mermaid),
            "json" => Ok(Format::Json),
            _ => Err(format!("unknown format {s:?} (dot, mermaid or json)")),
        }
    }
}

pub fn render(t: &Topology, format: Format) -> String {
    let d = flatten(t);
    match format {
        Format::Dot => dot::render(&d),
        Format::Mermaid => mermaid::render(&d),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&json::render(&d)).expect("JSON values serialise");
            s.push('\n');
            s
        }
    }
}
