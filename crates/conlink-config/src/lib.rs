//! conlink's network configuration: load, merge, interpolate, validate, enrich.
//!
//! No I/O but reading the files its options name (config files, netem
//! distribution tables); what else the host decides is passed in
//! ([`LoadOptions`]: whether OVS is available, where random MACs come from).
//! Link settings are parsed here, once, into conlink-settings' types, with
//! errors naming their place in the config; the engine and kernel code work
//! only on the typed [`NetworkConfig`].
pub mod addrs;
pub mod budget;
pub mod compose;
pub mod conflicts;
pub mod enrich;
pub mod error;
pub mod forward;
pub mod interpolate;
pub mod links;
pub mod load;
pub mod mac_source;
pub mod merge;
pub mod model;
pub mod naming;
pub mod netem_tables;
pub mod provenance;
pub mod replicas;
pub mod schema;
pub mod show;
pub mod validate;
mod yaml;

pub use addrs::{increment_ip, parse_cidr};
pub use compose::{ComposeReport, InactiveService};
pub use error::{ConfigError, ConfigIssue};
pub use forward::parse_forward;
pub use load::{
    load, load_from_sources, load_project, load_project_with, LoadOptions, Loaded, Source, SourceKind,
};
pub use mac_source::MacSource;
pub use model::*;
pub use naming::{check_ifname, outer_dev_name};
pub use netem_tables::DistDirs;
pub use replicas::{replica_values, ReplicaValues};
pub use show::show_config;
