//! The user's end of the control socket: `conlink status|netem|link`, each
//! printing what it found or did, as text or JSON, with exit codes a script
//! or healthcheck can use (0 done, 1 not connected / refused / unreachable).

use std::path::Path;
use std::process::ExitCode;

use serde_json::json;

use crate::control::{self, LinkStatus, Reply, Request};

fn print_json(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).expect("JSON values serialise"));
}

/// `conlink status [--json] [--check]`.
pub fn status(socket: &Path, json: bool, check: bool) -> ExitCode {
    match control::call(socket, &Request::Status) {
        Ok(Reply::Status { all_connected, links }) => {
            // A link set down is not connected, whatever the daemon counts as built.
            let all_connected = all_connected && links.iter().all(|l| l.state == "connected");
            if json {
                print_json(&json!({"all_connected": all_connected, "links": links}));
            } else {
                print!("{}", control::format_table(all_connected, &links));
            }
            if check && !all_connected {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        other => failed(other),
    }
}

/// `conlink netem C DEV [--clear] [OPTIONS…] [--json]`: no options shows the setting.
pub fn netem(
    socket: &Path,
    container: &str,
    dev: &str,
    clear: bool,
    options: &[String],
    json: bool,
) -> ExitCode {
    if !clear && options.is_empty() {
        return match control::call(socket, &Request::Status) {
            Ok(Reply::Status { links, .. }) => match find(&links, container, dev) {
                Some(l) => {
                    if json {
                        print_json(&json!({"container": l.container, "dev": l.dev, "netem": l.netem}));
                    } else {
                        println!("{}", l.netem.as_deref().unwrap_or("none"));
                    }
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!("conlink: no link {dev} in {container}");
                    ExitCode::from(1)
                }
            },
            other => failed(other),
        };
    }
    let netem = (!clear).then(|| options.join(" "));
    let req = Request::Netem { container: container.into(), dev: dev.into(), netem: netem.clone() };
    match control::call(socket, &req) {
        Ok(Reply::Ok) => {
            if json {
                print_json(&json!({"container": container, "dev": dev, "netem": netem}));
            } else {
                match &netem {
                    Some(n) => println!("{container} {dev}: netem set to {n}"),
                    None => println!("{container} {dev}: netem cleared"),
                }
            }
            ExitCode::SUCCESS
        }
        other => failed(other),
    }
}

/// `conlink link C DEV up|down [--json]`.
pub fn link(socket: &Path, container: &str, dev: &str, up: bool, json: bool) -> ExitCode {
    let req = Request::Link { container: container.into(), dev: dev.into(), up };
    let state = if up { "up" } else { "down" };
    match control::call(socket, &req) {
        Ok(Reply::Ok) => {
            if json {
                print_json(&json!({"container": container, "dev": dev, "state": state}));
            } else if up {
                println!("{container} {dev}: link set up");
            } else {
                println!("{container} {dev}: link set down (cable cut; `conlink link {container} {dev} up` restores it)");
            }
            ExitCode::SUCCESS
        }
        other => failed(other),
    }
}

fn find<'a>(links: &'a [LinkStatus], container: &str, dev: &str) -> Option<&'a LinkStatus> {
    links.iter().find(|l| l.container == container && l.dev == dev)
}

pub fn failed(reply: Result<Reply, String>) -> ExitCode {
    match reply {
        Ok(Reply::Error { message }) => eprintln!("conlink: {message}"),
        Ok(other) => eprintln!("conlink: unexpected reply {other:?}"),
        Err(e) => eprintln!("conlink: {e}"),
    }
    ExitCode::from(1)
}
