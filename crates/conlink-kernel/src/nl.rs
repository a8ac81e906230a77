//! One rtnetlink connection bound to one network namespace.
//!
//! A netlink socket talks to the namespace it was created in, forever. So
//! the socket is created on a short-lived thread that joined the namespace
//! (see `in_netns`), then handed to the tokio reactor in the caller's
//! context; its connection future runs as a tokio task. No processes, no
//! setns on runtime threads.

use std::os::fd::{AsFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::sync::Arc;

use futures::TryStreamExt;
use netlink_packet_route::link::LinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, TokioSocket};
use rtnetlink::Handle;

use crate::error::KernelError;
use crate::in_netns::run_in_netns;
use crate::netns::Netns;

/// An rtnetlink socket not yet handed to tokio: it talks to the namespace of the
/// thread that opened it, wherever it is used later.
#[derive(Debug)]
pub struct NlSocket(Socket);

impl NlSocket {
    /// Opens one in the calling thread's namespace (no runtime needed).
    pub fn open_here() -> std::io::Result<NlSocket> {
        let socket = Socket::new(NETLINK_ROUTE)?;
        // Extended acks carry the kernel's reason ("mtu greater than
        // device maximum"); cap_ack keeps error replies short. Both are
        // best effort: old kernels lack them and errors still work.
        let _ = socket.set_ext_ack(true);
        let _ = socket.set_cap_ack(true);
        Ok(NlSocket(socket))
    }
}

/// A netlink connection bound to one namespace. Cheap to clone; clones share
/// the socket, so keep one per namespace and reuse it.
#[derive(Clone, Debug)]
pub struct Nl {
    handle: Handle,
    ns_inode: u64,
    /// A dup of the netlink socket: it lives in the connection's namespace,
    /// so ioctls such as SIOCETHTOOL on it need no thread or setns.
    ioctl_fd: Arc<OwnedFd>,
}

impl Nl {
    /// Open a connection into `ns`. Must be called within a tokio runtime.
    pub async fn connect(ns: &Netns) -> Result<Nl, KernelError> {
        let socket = run_in_netns(ns.as_fd(), NlSocket::open_here)
            .map_err(|e| KernelError::io("open netlink socket", e))?;
        Nl::from_socket(socket, ns)
    }

    /// A connection over a socket opened earlier in `ns` (e.g. on the thread that
    /// created the namespace: no second thread has to enter it). Must be called
    /// within a tokio runtime.
    pub fn from_socket(socket: NlSocket, ns: &Netns) -> Result<Nl, KernelError> {
        let op = "open netlink socket";
        let socket = socket.0;
        let ioctl_fd = socket.as_fd().try_clone_to_owned().map_err(|e| KernelError::io(op, e))?;
        // SAFETY: the fd comes straight from a Socket we own and give up here.
        let socket = unsafe { TokioSocket::from_raw_fd(socket.into_raw_fd()) };
        let (conn, handle, _) = rtnetlink::from_socket(socket);
        tokio::spawn(conn);
        Ok(Nl { handle, ns_inode: ns.inode(), ioctl_fd: Arc::new(ioctl_fd) })
    }

    /// The raw rtnetlink handle, for requests this crate does not wrap yet.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// A socket in this connection's namespace, for ioctls.
    pub(crate) fn ioctl_fd(&self) -> BorrowedFd<'_> {
        self.ioctl_fd.as_fd()
    }

    /// Inode of the namespace this connection talks to (see `Netns::inode`).
    pub fn netns_inode(&self) -> u64 {
        self.ns_inode
    }

    /// Fetch one link message by name (a single RTM_GETLINK, not a dump).
    pub(crate) async fn link_msg(&self, name: &str, op: &str) -> Result<Option<LinkMessage>, KernelError> {
        check_ifname(op, name)?;
        let mut replies = self.handle.link().get().match_name(name.to_string()).execute();
        match replies.try_next().await {
            Ok(m) => Ok(m),
            Err(e) => {
                let e = KernelError::from_rtnl(op, e);
                if e.is_not_found() {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Resolve an interface name to its index; NotFound if absent.
    pub async fn index_of(&self, name: &str) -> Result<u32, KernelError> {
        let op = format!("look up {name}");
        match self.link_msg(name, &op).await? {
            Some(m) => Ok(m.header.index),
            None => Err(KernelError::not_found(op, format!("no interface named {name}"))),
        }
    }
}

/// The interface-name rules of conlink-settings, as a kernel error naming
/// the operation, so the user reads the name instead of EINVAL.
pub(crate) fn check_ifname(op: &str, name: &str) -> Result<(), KernelError> {
    conlink_settings::check_ifname(name).map_err(|why| KernelError::invalid(op, why))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifname_rules() {
        assert!(check_ifname("x", "eth0").is_ok());
        assert!(check_ifname("x", "h1_1-eth0").is_ok());
        assert!(check_ifname("x", "123456789012345").is_ok());
        let e = check_ifname("create veth", "1234567890123456").unwrap_err();
        assert!(e.is_invalid());
        assert!(e.to_string().contains("1234567890123456"), "{e}");
        assert!(check_ifname("x", "").is_err());
        assert!(check_ifname("x", "a/b").is_err());
        assert!(check_ifname("x", "a b").is_err());
    }
}
