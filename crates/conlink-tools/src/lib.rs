//! The pure parts of the tools that `conlink` itself reuses: the topology
//! drawn from `--show-config` JSON (net2dot, `conlink graph`) and the version
//! string. No I/O runtime here: the tools binary stays small and static.

pub mod graph;

/// `0.1.0 (abc1234)`: the crate version and, when built from git, the commit.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), env!("CONLINK_GIT_SUFFIX"));
