//! Run a closure inside another network namespace.
//!
//! setns() changes only the calling thread's namespace, and tokio may move a
//! task between threads at any await point. So work that must happen "in" a
//! namespace (opening a socket, /proc/sys/net files) runs on a short-lived
//! std thread that joins the namespace, does the job and exits: the caller's
//! thread and the runtime's workers never change namespace.

use std::io;
use std::os::fd::BorrowedFd;

use nix::sched::{setns, CloneFlags};

/// Run `f` on a fresh thread that has joined the network namespace `ns`.
/// Sockets and /proc/sys/net files opened by `f` stay bound to `ns`.
pub fn run_in_netns<F, R>(ns: BorrowedFd<'_>, f: F) -> io::Result<R>
where
    F: FnOnce() -> io::Result<R> + Send,
    R: Send,
{
    std::thread::scope(|s| {
        let worker = s.spawn(move || {
            setns(ns, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
            f()
        });
        worker.join().unwrap_or_else(|_| Err(io::Error::other("thread inside network namespace panicked")))
    })
}
