//! Before-start links: `conlink-runc`, an OCI runtime wrapper that has the
//! conlink daemon build a container's links between the runtime's `create` and
//! `start`, so they all exist when the container's command begins.
//! The daemon's side of the exchange is `daemon::prestart`.

pub mod claim;
pub mod hint;
pub mod runc_args;
pub mod settings;
pub mod setup;
pub mod wrapper;
