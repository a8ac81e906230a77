use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use conlink::cli::{Cli, Command};
use conlink::control::{self, LinkStatus, Reply, Request};
use conlink::daemon::{self, DaemonOptions};
use conlink_config::{load, show_config, LoadOptions};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);

    match &cli.command {
        Some(Command::Exec { node, command }) => return exec_in_node(node, command),
        Some(Command::Status { json }) => return control_status(&cli, *json),
        Some(Command::Netem { container, dev, clear, options }) => {
            return control_netem(&cli, container, dev, *clear, options)
        }
        Some(Command::Link { container, dev, state }) => {
            let req = Request::Link { container: container.clone(), dev: dev.clone(), up: state == "up" };
            return control_simple(&cli, &req);
        }
        _ => {}
    }
    if !cli.has_config_files() {
        eprintln!("conlink: either --network-file or --compose-file is required (see --help)");
        return ExitCode::from(2);
    }
    let opts = LoadOptions {
        network_files: cli.network_file.clone(),
        compose_files: cli.compose_file.clone(),
        default_bridge_mode: cli.default_bridge_mode,
        default_mtu: cli.default_mtu,
        keep_veth_offload: cli.keep_veth_offload,
        ovs_available: ovs_module_present(),
        schema_file: cli.config_schema.clone(),
        env: std::env::vars().collect(),
    };
    if cli.default_bridge_mode == conlink_config::BridgeMode::Auto {
        // Say why `auto` became what it became: it changes what users debug.
        tracing::info!(
            "bridge mode auto means {}: the openvswitch kernel module is {}",
            if opts.ovs_available { "ovs" } else { "linux" },
            if opts.ovs_available { "loaded" } else { "not present" }
        );
    }
    let cfg = match load(&opts) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("conlink: invalid network configuration:");
            for issue in &e.issues {
                eprintln!("  {}: {}", issue.path, issue.message);
            }
            return ExitCode::from(1);
        }
    };
    if cli.show_config || matches!(cli.command, Some(Command::ShowConfig)) {
        println!(
            "{}",
            serde_json::to_string_pretty(&show_config(&cfg)).expect("JSON values always serialise")
        );
        return ExitCode::SUCCESS;
    }

    let dopts = DaemonOptions {
        compose_project: cli.compose_project.clone(),
        docker_socket: cli.docker_socket.clone(),
        podman_socket: cli.podman_socket.clone(),
        netns_name: cli.netns.clone(),
        host_netns: cli.host_netns.clone(),
        control_socket: cli.control_socket(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("conlink: cannot start runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(daemon::run(Arc::new(cfg), dopts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("conlink: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn control_status(cli: &Cli, json: bool) -> ExitCode {
    match control::call(&cli.control_socket(), &Request::Status) {
        Ok(Reply::Status { all_connected, links }) => {
            if json {
                let v = serde_json::json!({"all_connected": all_connected, "links": links});
                println!("{}", serde_json::to_string_pretty(&v).expect("status serialises"));
            } else {
                print!("{}", control::format_table(all_connected, &links));
            }
            ExitCode::SUCCESS
        }
        other => control_failed(other),
    }
}

fn control_netem(cli: &Cli, container: &str, dev: &str, clear: bool, options: &[String]) -> ExitCode {
    if !clear && options.is_empty() {
        // No options: show what the link has now.
        return match control::call(&cli.control_socket(), &Request::Status) {
            Ok(Reply::Status { links, .. }) => {
                match links.iter().find(|l: &&LinkStatus| (l.container == container) && l.dev == dev) {
                    Some(l) => {
                        println!("{}", l.netem.as_deref().unwrap_or("none"));
                        ExitCode::SUCCESS
                    }
                    None => {
                        eprintln!("conlink: no link {dev} in {container}");
                        ExitCode::from(1)
                    }
                }
            }
            other => control_failed(other),
        };
    }
    let netem = (!clear).then(|| options.join(" "));
    control_simple(cli, &Request::Netem { container: container.into(), dev: dev.into(), netem })
}

fn control_simple(cli: &Cli, req: &Request) -> ExitCode {
    match control::call(&cli.control_socket(), req) {
        Ok(Reply::Ok) => ExitCode::SUCCESS,
        other => control_failed(other),
    }
}

fn control_failed(reply: Result<Reply, String>) -> ExitCode {
    match reply {
        Ok(Reply::Error { message }) => eprintln!("conlink: {message}"),
        Ok(other) => eprintln!("conlink: unexpected reply {other:?}"),
        Err(e) => eprintln!("conlink: {e}"),
    }
    ExitCode::from(1)
}

/// `conlink exec NODE CMD…`: enter the node's network namespace and replace this process.
fn exec_in_node(node: &str, command: &[String]) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let ns = match conlink_kernel::Netns::from_name(node) {
        Ok(ns) => ns,
        Err(e) => {
            eprintln!("conlink exec: no node {node:?}: {e} (is conlink running with that node?)");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET) {
        eprintln!("conlink exec: cannot enter node {node:?}: {e}");
        return ExitCode::from(1);
    }
    let err = std::process::Command::new(&command[0]).args(&command[1..]).exec();
    eprintln!("conlink exec: cannot run {:?}: {err}", command[0]);
    ExitCode::from(127)
}

fn init_logging(verbose: bool) {
    let default = if verbose { "debug" } else { "info" };
    let filter = EnvFilter::try_from_env("CONLINK_LOG").unwrap_or_else(|_| {
        EnvFilter::new(format!("warn,conlink={default},conlink_kernel={default},conlink_config={default}"))
    });
    // Colour only on a terminal: logs are grepped (`All links connected`) and parsed by tools.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .init();
}

/// `auto` bridges become ovs only when the kernel has the openvswitch datapath.
fn ovs_module_present() -> bool {
    std::path::Path::new("/sys/module/openvswitch").exists()
}
