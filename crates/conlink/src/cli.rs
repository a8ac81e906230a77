//! Command line, compatible with the original conlink (SPEC §3).

use std::path::PathBuf;

use clap::builder::FalseyValueParser;
use clap::{ArgAction, Parser, Subcommand};
use conlink_config::BridgeMode;

use crate::engine::Endpoint;

#[derive(Debug, Parser)]
#[command(
    name = "conlink",
    version = conlink_tools::VERSION,
    propagate_version = true,
    about = "Declarative layer-2/layer-3 networking for containers",
    long_about = "conlink builds the links, bridges, tunnels and addresses declared in compose \
                  files (x-network) or network files inside containers, and keeps them as \
                  containers start, die and scale.",
    after_help = "At least one of --network-file or --compose-file is required.\n\
                  Example: conlink --compose-file examples/test1-compose.yaml --show-config"
)]
pub struct Cli {
    /// More output on stderr.
    #[arg(global = true, short, long, env = "VERBOSE", value_parser = FalseyValueParser::new(), action = ArgAction::SetTrue)]
    pub verbose: bool,

    /// Print the merged, enriched config as JSON and exit.
    #[arg(global = true, long)]
    pub show_config: bool,

    /// Bridge mode for bridges that do not set one: auto|ovs|linux|patch.
    #[arg(global = true, long, value_name = "MODE", env = "CONLINK_BRIDGE_MODE", default_value = "auto", value_parser = parse_bridge_mode)]
    pub default_bridge_mode: BridgeMode,

    /// Default MTU for non-*vlan links.
    #[arg(global = true, long, value_name = "MTU", default_value_t = 65535, value_parser = clap::value_parser!(u32).range(68..=65535))]
    pub default_mtu: u32,

    /// Do not prepend "--offload tx off" to veth ethtool settings.
    #[arg(global = true, long)]
    pub keep_veth_offload: bool,

    /// Network config file(s); repeatable, ':'-separated lists allowed.
    #[arg(global = true, long, value_name = "FILE", num_args = 1.., action = ArgAction::Append)]
    pub network_file: Vec<PathBuf>,

    /// Compose file(s) whose x-network sections are read; same rules. `-` reads stdin
    /// (e.g. `docker compose config | conlink --compose-file - --show-config`).
    /// Like compose: the `.env` beside the first file, include, extends, and
    /// compose.override.yaml beside a single compose.yaml are read too.
    #[arg(global = true, long, value_name = "FILE", num_args = 1.., action = ArgAction::Append)]
    pub compose_file: Vec<PathBuf>,

    /// Activate a compose profile (repeatable) [default: COMPOSE_PROFILES, from the
    /// environment or .env]; links of services behind inactive profiles are not waited for.
    #[arg(global = true, long = "profile", value_name = "NAME", action = ArgAction::Append)]
    pub profiles: Vec<String>,

    /// Compose project for matching `service` links [default: detected from conlink's own container labels].
    #[arg(global = true, long, value_name = "NAME", env = "COMPOSE_PROJECT_NAME")]
    pub compose_project: Option<String>,

    /// JSON schema (JSON or YAML) to validate the config with [default: built-in].
    #[arg(global = true, long, value_name = "FILE")]
    pub config_schema: Option<PathBuf>,

    /// Docker engine socket [default: DOCKER_HOST (unix:// or tcp://), else /var/run/docker.sock].
    #[arg(global = true, long, value_name = "PATH")]
    pub docker_socket: Option<PathBuf>,

    /// Podman engine socket (Docker-compatible API)
    /// [default: CONTAINER_HOST (unix:// or tcp://), else /var/run/podman/podman.sock].
    #[arg(global = true, long, value_name = "PATH")]
    pub podman_socket: Option<PathBuf>,

    /// Namespace holding the parents of *vlan/*vtap links: a netns path or a PID [default: PID 1's].
    #[arg(global = true, long, value_name = "NETNS|PID", env = "CONLINK_HOST_NETNS")]
    pub host_netns: Option<String>,

    /// When conlink runs on the host (not in a container), the named network namespace
    /// (/run/netns/NAME; rootless: $XDG_RUNTIME_DIR/conlink/netns/NAME) that holds its
    /// bridges; created if missing (and then removed on exit), kept if it existed.
    /// Started inside another namespace, conlink uses that one.
    #[arg(global = true, long, value_name = "NAME", env = "CONLINK_NETNS", default_value = "conlink")]
    pub netns: String,

    /// Control socket of the daemon (served by the daemon, used by status/netem/link)
    /// [default: /run/conlink/NETNS.sock, NETNS from --netns; rootless: under $XDG_RUNTIME_DIR/conlink].
    #[arg(global = true, long, value_name = "PATH", env = "CONLINK_CONTROL_SOCKET")]
    pub control_socket: Option<PathBuf>,

    #[command(flatten)]
    pub swarm: crate::swarm::SwarmArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Default address of `conlink graph --serve`: loopback only, so the page
/// (which can set links down) is not offered to the network.
pub const GRAPH_ADDR: &str = "127.0.0.1:7380";

pub const DEFAULT_DOCKER_SOCKET: &str = "/var/run/docker.sock";
pub const DEFAULT_PODMAN_SOCKET: &str = "/var/run/podman/podman.sock";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the merged, enriched config as JSON (same as --show-config).
    ShowConfig,
    /// Show every link of the running daemon: container, state, addresses, MTU, bridge, last error.
    Status {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Exit 1 unless every configured link is connected (for healthchecks and CI).
        #[arg(long)]
        check: bool,
    },
    /// Set, show or clear a link's netem impairment at runtime (e.g. `netem h1 eth0 delay 40ms loss 1%`).
    Netem {
        /// Container (name or id) or node.
        container: String,
        /// Interface in the container, e.g. eth0.
        dev: String,
        /// Remove the impairment.
        #[arg(long, conflicts_with = "options")]
        clear: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// netem options as after `tc qdisc add … netem`; none = show the current setting.
        #[arg(value_name = "NETEM")]
        options: Vec<String>,
    },
    /// Bring a link down (simulating a cut cable) or up again.
    Link {
        /// Container (name or id) or node.
        container: String,
        /// Interface in the container, e.g. eth0.
        dev: String,
        #[arg(value_parser = ["up", "down"])]
        state: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Draw the topology as dot, mermaid or JSON, or serve a live interactive page.
    ///
    /// From --network-file/--compose-file when given (as the daemon reads them),
    /// else from the running daemon (its config and link states, via --control-socket).
    #[command(
        after_help = "Examples:\n  conlink graph --compose-file compose.yaml | dot -Tsvg > lab.svg\n  \
                            conlink graph --format mermaid          # live states from the daemon\n  \
                            conlink graph --serve                   # http://127.0.0.1:7380/"
    )]
    Graph {
        /// Output format.
        #[arg(long, short = 'f', value_name = "FORMAT", default_value = "dot", value_parser = ["dot", "mermaid", "json"])]
        format: String,
        /// Serve the live page (zoom/pan, state colours, SVG/dot/mermaid export) on ADDR
        /// instead of printing [default: 127.0.0.1:7380].
        #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = GRAPH_ADDR)]
        serve: Option<std::net::SocketAddr>,
    },
    /// Print a shell completion script: `conlink completions bash > /etc/bash_completion.d/conlink`.
    Completions {
        #[arg(value_parser = ["bash", "zsh", "fish", "elvish", "powershell"])]
        shell: String,
    },
    /// Write man pages (conlink.1, conlink-status.1, …) into DIR, or conlink.1 to stdout.
    Man {
        /// Directory to write every page into.
        dir: Option<PathBuf>,
    },
    /// Run a command inside a node of the netns runtime (/run/netns/NODE; rootless: under $XDG_RUNTIME_DIR/conlink/netns).
    #[command(arg_required_else_help = true)]
    Exec {
        /// Node name.
        node: String,
        /// Command and its arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        command: Vec<String>,
    },
}

fn parse_bridge_mode(s: &str) -> Result<BridgeMode, String> {
    s.parse()
}

impl Cli {
    pub fn control_socket(&self) -> PathBuf {
        self.control_socket.clone().unwrap_or_else(|| crate::control::default_socket(&self.netns))
    }

    /// The docker and podman endpoints: the options, else DOCKER_HOST and
    /// CONTAINER_HOST as `env` answers them, else the default sockets.
    pub fn engine_endpoints(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(Endpoint, Endpoint), String> {
        let (docker, _) = Endpoint::choose(
            self.docker_socket.as_deref(),
            "DOCKER_HOST",
            env("DOCKER_HOST").as_deref(),
            DEFAULT_DOCKER_SOCKET,
        )?;
        let (podman, _) = Endpoint::choose(
            self.podman_socket.as_deref(),
            "CONTAINER_HOST",
            env("CONTAINER_HOST").as_deref(),
            DEFAULT_PODMAN_SOCKET,
        )?;
        Ok((docker, podman))
    }

    pub fn has_config_files(&self) -> bool {
        !self.network_file.is_empty() || !self.compose_file.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("conlink").chain(args.iter().copied()))
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_match_the_original() {
        let cli = parse(&["--network-file", "a.yaml"]).unwrap();
        assert_eq!(cli.default_mtu, 65535);
        let (docker, podman) = cli.engine_endpoints(|_| None).unwrap();
        assert_eq!(docker, Endpoint::Unix("/var/run/docker.sock".into()));
        assert_eq!(podman, Endpoint::Unix("/var/run/podman/podman.sock".into()));
        assert!(!cli.show_config);
        assert!(!cli.keep_veth_offload);
        assert!(cli.has_config_files());
    }

    #[test]
    fn files_are_repeatable_and_take_several_values() {
        let cli = parse(&[
            "--network-file",
            "a.yaml",
            "b.yaml",
            "--compose-file",
            "c.yaml",
            "--network-file",
            "d:e",
        ])
        .unwrap();
        assert_eq!(
            cli.network_file,
            vec![PathBuf::from("a.yaml"), PathBuf::from("b.yaml"), PathBuf::from("d:e")]
        );
        assert_eq!(cli.compose_file, vec![PathBuf::from("c.yaml")]);
    }

    #[test]
    fn bad_bridge_mode_and_mtu_are_rejected() {
        let e = parse(&["--network-file", "a", "--default-bridge-mode", "foo"]).unwrap_err();
        assert!(e.to_string().contains("unknown bridge mode"), "{e}");
        assert!(parse(&["--network-file", "a", "--default-mtu", "70000"]).is_err());
        let cli = parse(&["--network-file", "a", "--default-bridge-mode", "patch", "--default-mtu", "5111"])
            .unwrap();
        assert_eq!(cli.default_bridge_mode, BridgeMode::Patch);
        assert_eq!(cli.default_mtu, 5111);
    }

    #[test]
    fn exec_takes_the_rest_as_the_command() {
        let cli = parse(&["exec", "h1", "ping", "-c1", "10.0.0.1"]).unwrap();
        match cli.command {
            Some(Command::Exec { node, command }) => {
                assert_eq!(node, "h1");
                assert_eq!(command, ["ping", "-c1", "10.0.0.1"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn global_options_are_accepted_after_the_subcommand() {
        let cli = parse(&["status", "--control-socket", "/tmp/x.sock", "--check"]).unwrap();
        assert_eq!(cli.control_socket(), PathBuf::from("/tmp/x.sock"));
        assert!(matches!(cli.command, Some(Command::Status { check: true, json: false })));
        let cli = parse(&["graph", "--network-file", "a.yaml", "--netns", "lab"]).unwrap();
        assert_eq!(cli.network_file, [PathBuf::from("a.yaml")]);
        assert_eq!(cli.control_socket(), crate::runtime_dir::runtime_dir().join("lab.sock"));
    }

    #[test]
    fn graph_serve_defaults_to_loopback() {
        let cli = parse(&["graph", "--serve"]).unwrap();
        match cli.command {
            Some(Command::Graph { serve: Some(addr), format }) => {
                assert!(addr.ip().is_loopback());
                assert_eq!(addr.port(), 7380);
                assert_eq!(format, "dot");
            }
            other => panic!("{other:?}"),
        }
        let cli = parse(&["graph", "--serve", "127.0.0.1:0", "-f", "mermaid"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Graph { serve: Some(_), .. })));
        assert!(parse(&["graph", "--format", "png"]).is_err());
    }

    #[test]
    fn netem_usage_names_options_once() {
        let mut cmd = Cli::command();
        let netem = cmd.find_subcommand_mut("netem").unwrap();
        let usage = netem.render_usage().to_string();
        assert_eq!(usage.matches("[OPTIONS]").count(), 1, "{usage}");
    }

    #[test]
    fn docker_host_and_container_host_apply_unless_the_socket_is_given() {
        let env = |k: &str| match k {
            "DOCKER_HOST" => Some("unix:///tmp/d15b-docker.sock".to_string()),
            "CONTAINER_HOST" => Some("tcp://127.0.0.1:8888".to_string()),
            _ => None,
        };
        let cli = parse(&["--network-file", "a"]).unwrap();
        let (docker, podman) = cli.engine_endpoints(env).unwrap();
        assert_eq!(docker, Endpoint::Unix("/tmp/d15b-docker.sock".into()));
        assert_eq!(podman, Endpoint::Tcp("127.0.0.1:8888".into()));
        let cli = parse(&["--network-file", "a", "--docker-socket", "/x.sock", "--podman-socket", "/y.sock"])
            .unwrap();
        let (docker, podman) = cli.engine_endpoints(env).unwrap();
        assert_eq!((docker, podman), (Endpoint::Unix("/x.sock".into()), Endpoint::Unix("/y.sock".into())));
        let bad = |k: &str| (k == "DOCKER_HOST").then(|| "ssh://me@host".to_string());
        assert!(cli_without_sockets().engine_endpoints(bad).unwrap_err().starts_with("DOCKER_HOST="));
    }

    fn cli_without_sockets() -> Cli {
        parse(&["--network-file", "a"]).unwrap()
    }

    #[test]
    fn profiles_are_repeatable_and_stdin_is_a_compose_file() {
        let cli = parse(&["--compose-file", "-", "--profile", "debug", "--profile", "ops", "--show-config"])
            .unwrap();
        assert_eq!(cli.profiles, ["debug", "ops"]);
        assert_eq!(cli.compose_file, [PathBuf::from("-")]);
    }

    #[test]
    fn no_files_is_detected() {
        let cli = parse(&[]).unwrap();
        assert!(!cli.has_config_files());
    }
}
