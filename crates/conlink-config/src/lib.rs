//! conlink's network configuration: load, merge, interpolate, validate, enrich.
pub mod model;

pub use model::*;
