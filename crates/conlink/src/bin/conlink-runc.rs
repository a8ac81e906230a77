//! `conlink-runc`: register it as an OCI runtime (`conlink-runc setup`) and give a
//! container `runtime: conlink`; its links then exist before its command starts.

use std::process::ExitCode;

use conlink::prestart::{setup, wrapper};

fn main() -> ExitCode {
    let mut args = std::env::args();
    let argv0 = args.next().unwrap_or_else(|| "conlink-runc".into());
    let args: Vec<String> = args.collect();
    // Engines never call a runtime with `setup` first (global options or a runc subcommand come first).
    if args.first().map(String::as_str) == Some("setup") {
        return match setup::parse_args(&args[1..]).and_then(|o| setup::run(&o)) {
            Ok(done) => {
                for line in done {
                    println!("conlink-runc setup: {line}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("conlink-runc setup: {e}");
                ExitCode::from(1)
            }
        };
    }
    ExitCode::from(wrapper::run(&argv0, args).clamp(0, 255) as u8)
}
