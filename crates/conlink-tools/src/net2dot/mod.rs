//! `net2dot`: `conlink --show-config` JSON on stdin → GraphViz dot on stdout
//! (render with `dot -Tsvg`); `--format mermaid|json` for the other drawings.

use std::ffi::OsString;
use std::io::Read;

use conlink_tools::graph::{self, Format};

pub const USAGE: &str = "Usage: net2dot [--format dot|mermaid|json] < show-config.json > graph.dot";

fn parse(argv: &[OsString]) -> Result<Format, String> {
    match argv {
        [] => Ok(Format::Dot),
        [flag, value] if flag == "--format" || flag == "-f" => value.to_string_lossy().parse(),
        [other, ..] => Err(format!("unexpected argument '{}'", other.to_string_lossy())),
    }
}

pub fn main(argv: Vec<OsString>) -> i32 {
    let format = match parse(&argv) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("net2dot: {e}\n{USAGE}");
            return 2;
        }
    };
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("net2dot: cannot read stdin: {e}");
        return 1;
    }
    let parsed = serde_json::from_str(&input)
        .map_err(|e| format!("stdin is not JSON: {e}"))
        .and_then(|cfg| graph::from_json(&cfg));
    match parsed {
        Ok(topology) => {
            print!("{}", graph::render(&topology, format));
            0
        }
        Err(e) => {
            eprintln!("net2dot: {e}");
            1
        }
    }
}
