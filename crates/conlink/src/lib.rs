//! conlink: declarative layer-2/layer-3 networking for containers.
pub mod cli;
pub mod client;
pub mod control;
pub mod daemon;
pub mod engine;
pub mod graph;
pub mod plan;
pub mod prestart;
pub mod runtime_dir;
pub mod swarm;
