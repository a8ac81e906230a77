//! `conlink-tools`: one static multi-call binary holding the compose helpers
//! `wait`, `copy`, `mdc` and `net2dot` (SPEC §6), and `echo` for images without a shell.
//!
//! It is a single binary so that one file can be copied or bind-mounted into
//! minimal images (busybox, distroless) and then called under any of the tool
//! names: the tool is chosen from argv[0]'s basename (`/utils/wait …`) or, when
//! called as `conlink-tools`, from the first argument (`conlink-tools wait …`).

mod copy;
mod echo;
mod exec;
mod mdc;
mod net2dot;
mod wait;

use std::ffi::OsString;
use std::path::Path;

const TOOLS: [&str; 5] = ["wait", "copy", "mdc", "net2dot", "echo"];

/// Usage line and one-line description of each tool, for `TOOL --help`.
fn tool_help(tool: &str) -> (&'static str, &'static str) {
    match tool {
        "wait" => (
            wait::USAGE,
            "Wait until interfaces, addresses, files, TCP ports or commands are ready, then run CMD.",
        ),
        "copy" => (
            copy::USAGE,
            "Overlay SRC_DIR onto DST_DIR (-T: fill {{VAR}} templates from the environment), then run CMD.",
        ),
        "mdc" => (
            mdc::USAGE,
            "Modular docker compose: combine mode directories into .env and .files/, then run compose.",
        ),
        "echo" => (echo::USAGE, "Print ARGS separated by spaces (the original image's /utils/echo)."),
        _ => (net2dot::USAGE, "Draw `conlink --show-config` JSON as a GraphViz dot (or mermaid/JSON) graph."),
    }
}

fn usage() -> String {
    let mut s = format!(
        "Usage: conlink-tools TOOL [ARGS...]  (or call this binary as one of: {})\n",
        TOOLS.join(", ")
    );
    for t in TOOLS {
        let (u, about) = tool_help(t);
        s.push_str(&format!("\n  {}\n      {about}", u.trim_start_matches("Usage: ").replace('\n', " ")));
    }
    s.push_str("\n\nEvery tool answers --help and --version.");
    s
}

/// `--help`/`-h` and `--version`/`-V` as the first argument answer for the
/// tool (or the whole binary) and exit 0; later arguments belong to the tool
/// (or to the command it runs).
fn answer_help(tool: Option<&str>, args: &[OsString]) -> Option<i32> {
    let name = tool.unwrap_or("conlink-tools");
    match args.first().and_then(|a| a.to_str()) {
        Some("--help" | "-h") => {
            match tool {
                Some(t) => {
                    let (u, about) = tool_help(t);
                    println!("{u}\n\n{about}\nSee docs/tools.md for every option.");
                }
                None => println!("{}", usage()),
            }
            Some(0)
        }
        Some("--version" | "-V") => {
            println!("{name} {}", conlink_tools::VERSION);
            Some(0)
        }
        _ => None,
    }
}

/// Picks the tool from argv[0]'s basename, else from the first argument.
/// Returns the tool name and the arguments that belong to it.
fn select_tool(mut argv: Vec<OsString>) -> Option<(&'static str, Vec<OsString>)> {
    if argv.is_empty() {
        return None;
    }
    let argv0 = argv.remove(0);
    let base = Path::new(&argv0).file_name().map(|b| b.to_string_lossy().into_owned());
    if let Some(tool) = base.and_then(|b| TOOLS.iter().find(|t| **t == b)) {
        return Some((tool, argv));
    }
    let first = argv.first()?.to_string_lossy().into_owned();
    let tool = TOOLS.iter().find(|t| **t == first)?;
    argv.remove(0);
    Some((tool, argv))
}

fn main() {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let selected = select_tool(argv.clone());
    let tool = selected.as_ref().map(|(t, _)| *t);
    let args = match &selected {
        Some((_, a)) => a.as_slice(),
        None => argv.get(1..).unwrap_or_default(),
    };
    // echo prints every argument, --help included, as the original's did.
    if let Some(code) = answer_help(tool, args).filter(|_| tool != Some("echo")) {
        std::process::exit(code);
    }
    let code = match selected {
        Some(("wait", args)) => wait::main(args),
        Some(("copy", args)) => copy::main(args),
        Some(("mdc", args)) => mdc::main(args),
        Some(("net2dot", args)) => net2dot::main(args),
        Some(("echo", args)) => echo::main(args),
        _ => {
            eprintln!("{}", usage());
            2
        }
    };
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn dispatches_on_argv0_basename() {
        let (tool, args) = select_tool(os(&["/utils/wait", "-i", "eth0"])).unwrap();
        assert_eq!(tool, "wait");
        assert_eq!(args, os(&["-i", "eth0"]));
    }

    #[test]
    fn dispatches_on_first_argument() {
        let (tool, args) = select_tool(os(&["/bin/conlink-tools", "copy", "a", "b"])).unwrap();
        assert_eq!(tool, "copy");
        assert_eq!(args, os(&["a", "b"]));
    }

    #[test]
    fn unknown_tool_is_rejected() {
        assert!(select_tool(os(&["conlink-tools", "frob"])).is_none());
        assert!(select_tool(os(&["conlink-tools"])).is_none());
    }
}
