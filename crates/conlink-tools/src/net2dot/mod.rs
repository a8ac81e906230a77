//! `net2dot`: `conlink --show-config` JSON on stdin → GraphViz dot on stdout
//! (render with `dot -Tsvg`).

mod dot;
mod model;

use std::ffi::OsString;
use std::io::Read;

pub fn main(argv: Vec<OsString>) -> i32 {
    if !argv.is_empty() {
        eprintln!("Usage: net2dot < show-config.json > graph.dot");
        return 2;
    }
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("net2dot: cannot read stdin: {e}");
        return 1;
    }
    let parsed = serde_json::from_str(&input)
        .map_err(|e| format!("stdin is not JSON: {e}"))
        .and_then(|cfg| model::from_json(&cfg));
    match parsed {
        Ok(topology) => {
            print!("{}", dot::render(&topology));
            0
        }
        Err(e) => {
            eprintln!("net2dot: {e}");
            1
        }
    }
}
