//! conlink's network configuration: load, merge, interpolate, validate, enrich.
//!
//! Pure apart from reading the config files; the engine and kernel code
//! work only on the typed [`NetworkConfig`].
pub mod addrs;
pub mod budget;
pub mod conflicts;
pub mod enrich;
pub mod error;
pub mod forward;
pub mod interpolate;
pub mod links;
pub mod load;
pub mod merge;
pub mod model;
pub mod naming;
pub mod provenance;
pub mod replicas;
pub mod route;
pub mod schema;
pub mod show;
pub mod validate;
mod yaml;

pub use addrs::{increment_ip, parse_cidr};
pub use error::{ConfigError, ConfigIssue};
pub use forward::parse_forward;
pub use load::{load, load_from_sources, LoadOptions, Source, SourceKind};
pub use model::*;
pub use naming::{check_ifname, outer_dev_name, IFNAME_MAX};
pub use replicas::{replica_values, ReplicaValues};
pub use route::parse_route;
pub use schema::BUILTIN_SCHEMA;
pub use show::show_config;
