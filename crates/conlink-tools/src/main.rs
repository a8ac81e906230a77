//! `conlink-tools`: one static multi-call binary holding the compose helpers
//! `wait`, `copy`, `mdc` and `net2dot` (SPEC §6).
//!
//! It is a single binary so that one file can be copied or bind-mounted into
//! minimal images (busybox, distroless) and then called under any of the tool
//! names: the tool is chosen from argv[0]'s basename (`/utils/wait …`) or, when
//! called as `conlink-tools`, from the first argument (`conlink-tools wait …`).

mod copy;
mod exec;
mod mdc;
mod net2dot;
mod wait;

use std::ffi::OsString;
use std::path::Path;

const TOOLS: [&str; 4] = ["wait", "copy", "mdc", "net2dot"];

fn usage() -> String {
    format!(
        "Usage: conlink-tools TOOL [ARGS...]  (or call this binary as one of: {})\n\
         \n  wait [-i IF] [-I IF] [-f FILE] [-t HOST:PORT] [-c CMD] [-s SECS] [-u UMASK] [--timeout SECS] [-- CMD...]\
         \n  copy [-T] SRC DST [-- CMD...]\
         \n  mdc MODES [COMPOSE-ARGS...]\
         \n  net2dot < show-config.json > graph.dot",
        TOOLS.join(", ")
    )
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
    let code = match select_tool(argv) {
        Some(("wait", args)) => wait::main(args),
        Some(("copy", args)) => copy::main(args),
        Some(("mdc", args)) => mdc::main(args),
        Some(("net2dot", args)) => net2dot::main(args),
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
