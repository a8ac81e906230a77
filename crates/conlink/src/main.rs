use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory, Parser};
use conlink::cli::{Cli, Command};
use conlink::daemon::{self, DaemonOptions};
use conlink::{client, graph};
use conlink_config::{load_project, show_config, LoadOptions, MacSource};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    // Before any named namespace is used: rootless, they live under $XDG_RUNTIME_DIR.
    let _ = conlink_kernel::set_netns_run_dir(conlink::runtime_dir::netns_dir());

    let socket = cli.control_socket();
    match &cli.command {
        Some(Command::Exec { node, command }) => return exec_in_node(node, command),
        Some(Command::Status { json, check }) => return client::status(&socket, *json, *check),
        Some(Command::Netem { container, dev, clear, options, json }) => {
            return client::netem(&socket, container, dev, *clear, options, *json)
        }
        Some(Command::Link { container, dev, state, json }) => {
            return client::link(&socket, container, dev, state == "up", *json)
        }
        Some(Command::Completions { shell }) => return completions(shell),
        Some(Command::Man { dir }) => return man_pages(dir.as_deref()),
        Some(Command::Graph { format, serve }) => return graph(&cli, format, *serve),
        _ => {}
    }
    if !cli.has_config_files() {
        eprintln!("conlink: either --network-file or --compose-file is required (see --help)");
        return ExitCode::from(2);
    }
    let (cfg, compose) = match load_config(&cli) {
        Ok(loaded) => (loaded.config, loaded.compose),
        Err(code) => return code,
    };
    if cli.show_config || matches!(cli.command, Some(Command::ShowConfig)) {
        println!(
            "{}",
            serde_json::to_string_pretty(&show_config(&cfg)).expect("JSON values always serialise")
        );
        return ExitCode::SUCCESS;
    }

    let (docker, podman) = match cli.engine_endpoints(|k| std::env::var(k).ok()) {
        Ok(endpoints) => endpoints,
        Err(e) => {
            eprintln!("conlink: {e}");
            return ExitCode::from(2);
        }
    };
    let dopts = DaemonOptions {
        compose_project: cli.compose_project.clone(),
        docker,
        podman,
        profiles: daemon::Profiles { active: compose.profiles, inactive: compose.inactive },
        netns_name: cli.netns.clone(),
        host_netns: cli.host_netns.clone(),
        control_socket: socket,
        swarm: cli.swarm.options(),
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

/// Loads, merges and validates the config files; errors are printed with their paths.
fn load_config(cli: &Cli) -> Result<conlink_config::Loaded, ExitCode> {
    let opts = LoadOptions {
        network_files: cli.network_file.clone(),
        compose_files: cli.compose_file.clone(),
        default_bridge_mode: cli.default_bridge_mode,
        default_mtu: cli.default_mtu,
        keep_veth_offload: cli.keep_veth_offload,
        ovs_available: conlink_kernel::kernel_datapath_present(),
        schema_file: cli.config_schema.clone(),
        env: std::env::vars().collect(),
        mac_source: MacSource::new(random_octets),
        profiles: cli.profiles.clone(),
        ..Default::default()
    };
    if cli.default_bridge_mode == conlink_config::BridgeMode::Auto {
        // Say why `auto` became what it became: it changes what users debug.
        tracing::info!(
            "bridge mode auto means {}: the openvswitch kernel module is {}",
            if opts.ovs_available { "ovs" } else { "linux" },
            if opts.ovs_available { "loaded" } else { "not present" }
        );
    }
    let loaded = load_project(&opts).map_err(|e| {
        eprintln!("conlink: invalid network configuration:");
        // Bounded: long values are cut and at most 20 issues shown, then "and K more".
        for line in e.shown_lines() {
            eprintln!("  {line}");
        }
        ExitCode::from(1)
    })?;
    if let Some(env_file) = &loaded.compose.env_file {
        tracing::info!(env_file = %env_file, "interpolating with the compose .env (the environment wins over it)");
    }
    for note in &loaded.compose.notes {
        tracing::warn!("{note}");
    }
    Ok(loaded)
}

/// `conlink graph`: from the files when given, else from the daemon.
fn graph(cli: &Cli, format: &str, serve: Option<std::net::SocketAddr>) -> ExitCode {
    let config = match cli.has_config_files() {
        true => match load_config(cli) {
            Ok(loaded) => Some(show_config(&loaded.config)),
            Err(code) => return code,
        },
        false => None,
    };
    let source = graph::Source { config, socket: cli.control_socket() };
    if let Some(addr) = serve {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("conlink graph: cannot start runtime: {e}");
                return ExitCode::from(1);
            }
        };
        return match runtime.block_on(graph::serve::serve(addr, source)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("conlink graph: cannot serve on {addr}: {e}");
                ExitCode::from(1)
            }
        };
    }
    // Printed from files: the config as written; from the daemon: with live states.
    let live = source.config.is_none();
    match source.snapshot(live) {
        Ok(snap) if format == "json" => {
            println!("{}", serde_json::to_string_pretty(&snap.to_json()).expect("JSON values serialise"));
            ExitCode::SUCCESS
        }
        Ok(snap) => {
            print!("{}", snap.render(format.parse().expect("clap checked the format")));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("conlink graph: {e} (or give --network-file/--compose-file)");
            ExitCode::from(1)
        }
    }
}

fn completions(shell: &str) -> ExitCode {
    let shell: clap_complete::Shell = shell.parse().expect("clap checked the shell");
    clap_complete::generate(shell, &mut Cli::command(), "conlink", &mut std::io::stdout());
    ExitCode::SUCCESS
}

/// `conlink man [DIR]`: conlink.1 to stdout, or every page into DIR.
fn man_pages(dir: Option<&std::path::Path>) -> ExitCode {
    let cmd = Cli::command();
    let Some(dir) = dir else {
        return match clap_mangen::Man::new(cmd).render(&mut std::io::stdout()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("conlink man: {e}");
                ExitCode::from(1)
            }
        };
    };
    let mut pages = vec![("conlink.1".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands() {
        let name = format!("conlink-{}", sub.get_name());
        // clap wants a 'static name; this process writes the pages and exits.
        pages.push((
            format!("{name}.1"),
            sub.clone().name(name.leak() as &str).version(conlink_tools::VERSION),
        ));
    }
    for (file, page) in pages {
        let path = dir.join(&file);
        let mut out = Vec::new();
        let written = clap_mangen::Man::new(page).render(&mut out).and_then(|()| std::fs::write(&path, out));
        if let Err(e) = written {
            eprintln!("conlink man: cannot write {}: {e}", path.display());
            return ExitCode::from(1);
        }
        println!("{}", path.display());
    }
    ExitCode::SUCCESS
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

/// Random bytes for generated MACs: getrandom(2), or std's per-process random
/// hasher keys where that is refused (e.g. a seccomp filter); no crate needed.
fn random_octets() -> [u8; 5] {
    let mut out = [0u8; 5];
    // SAFETY: writes at most out.len() bytes into out.
    let n = unsafe { libc::getrandom(out.as_mut_ptr().cast(), out.len(), 0) };
    if n == out.len() as isize {
        return out;
    }
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    out.copy_from_slice(&h.finish().to_le_bytes()[..5]);
    out
}
