//! Kernel tests for conlink-kernel. They need root (CAP_NET_ADMIN +
//! CAP_SYS_ADMIN) and create only throwaway namespaces, which a Drop guard
//! deletes even when an assertion fails. Without root each test prints
//! "skipped: needs root (CAP_NET_ADMIN)" and passes.

mod children;
mod common;
mod errors;
mod ethtool;
mod flood;
mod ipv6;
mod links;
mod namespaces;
mod nat;
mod routes;
mod scale;
mod tc;
mod traffic;
mod tunnels;
