//! `ethtool` offload settings (SPEC §4 `ethtool`, parsed by conlink-settings)
//! applied with the SIOCETHTOOL ioctl on a socket in the device's namespace
//! (the connection's own netlink socket, or one opened from a thread there).
//! The per-feature legacy commands (ETHTOOL_STXCSUM, …) are used because
//! the kernel maps them onto netdev features itself; no string-set lookup
//! is needed for the names users write.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use conlink_settings::{EthtoolSetting, Offload};

use crate::error::KernelError;
use crate::in_netns::run_in_netns;
use crate::netns::Netns;
use crate::nl::{check_ifname, Nl};

// (get, set) SIOCETHTOOL commands, from include/uapi/linux/ethtool.h.
const ETHTOOL_GFLAGS: u32 = 0x25;
const ETHTOOL_SFLAGS: u32 = 0x26;
const ETH_FLAG_LRO: u32 = 1 << 15;

fn cmds(f: Offload) -> (u32, u32) {
    match f {
        Offload::Rx => (0x14, 0x15),
        Offload::Tx => (0x16, 0x17),
        Offload::Sg => (0x18, 0x19),
        Offload::Tso => (0x1e, 0x1f),
        Offload::Gso => (0x23, 0x24),
        Offload::Gro => (0x2b, 0x2c),
        Offload::Lro => (ETHTOOL_GFLAGS, ETHTOOL_SFLAGS),
    }
}

/// Apply `setting` to `dev` in `ns`, from a short-lived thread that joins
/// `ns` (for callers without a connection there; see [`Nl::apply_ethtool`]).
pub fn apply_ethtool(ns: &Netns, dev: &str, setting: &EthtoolSetting) -> Result<(), KernelError> {
    with_socket_in(ns, &format!("ethtool {dev} {setting}"), |sock| apply_on(sock, dev, setting))
}

/// Runs `f` with a socket opened inside `ns` (from a short-lived thread that joined it).
fn with_socket_in<R: Send>(
    ns: &Netns,
    op: &str,
    f: impl FnOnce(BorrowedFd<'_>) -> Result<R, KernelError> + Send,
) -> Result<R, KernelError> {
    run_in_netns(ns.as_fd(), move || {
        // SAFETY: plain socket(2); the fd is owned immediately.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: fd was just returned by socket(2).
        let sock = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(f(sock.as_fd()))
    })
    .map_err(|e| KernelError::io(op, e))?
}

/// `apply_ethtool` on a socket that lives in the device's namespace.
fn apply_on(sock: BorrowedFd<'_>, dev: &str, setting: &EthtoolSetting) -> Result<(), KernelError> {
    let op = format!("ethtool {dev} {setting}");
    check_ifname(&op, dev)?;
    for &(f, on) in setting.features() {
        set_on(sock, dev, f, on).map_err(|e| match e {
            KernelError::Unsupported { op, .. } => KernelError::Unsupported {
                op,
                feature: format!("{f:?} offload setting on {dev}").to_lowercase(),
            },
            e => e,
        })?;
    }
    Ok(())
}

fn get_on(sock: BorrowedFd<'_>, dev: &str, f: Offload) -> Result<bool, KernelError> {
    let op = format!("ethtool get {f:?} of {dev}");
    check_ifname(&op, dev)?;
    let v = ethtool_ioctl(sock, dev, cmds(f).0, 0).map_err(|e| KernelError::io(&op, e))?;
    Ok(match f {
        Offload::Lro => v & ETH_FLAG_LRO != 0,
        _ => v != 0,
    })
}

fn set_on(sock: BorrowedFd<'_>, dev: &str, f: Offload, on: bool) -> Result<(), KernelError> {
    let op = format!("ethtool set {f:?} {} on {dev}", if on { "on" } else { "off" });
    check_ifname(&op, dev)?;
    let (get, set) = cmds(f);
    let data = if f == Offload::Lro {
        // LRO lives in the flags word: change only its bit.
        let flags = ethtool_ioctl(sock, dev, get, 0).map_err(|e| KernelError::io(&op, e))?;
        if on {
            flags | ETH_FLAG_LRO
        } else {
            flags & !ETH_FLAG_LRO
        }
    } else {
        on as u32
    };
    ethtool_ioctl(sock, dev, set, data).map(|_| ()).map_err(|e| KernelError::io(&op, e))
}

/// struct ifreq with ifr_data (the ioctl's view: name + pointer, 40 bytes).
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    data: *mut libc::c_void,
    _pad: [u8; 16],
}

/// struct ethtool_value { cmd, data }.
#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

/// SIOCETHTOOL on any socket: the kernel resolves `dev` in the socket's
/// network namespace (for a netlink socket too: netlink has no ioctls of its
/// own, so the call falls through to dev_ioctl), so a socket opened in the
/// target namespace needs no thread and no setns.
pub(crate) fn ethtool_ioctl(sock: BorrowedFd<'_>, dev: &str, cmd: u32, data: u32) -> std::io::Result<u32> {
    let mut val = EthtoolValue { cmd, data };
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        data: &mut val as *mut EthtoolValue as *mut libc::c_void,
        _pad: [0; 16],
    };
    req.name[..dev.len()].copy_from_slice(dev.as_bytes());
    // SAFETY: req is a valid ifreq whose data points at `val`, both
    // alive for the call.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCETHTOOL, &mut req) };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(val.data)
}

impl Nl {
    /// `apply_ethtool` through this connection's own socket (already in the
    /// right namespace): one ioctl per setting, no thread, no setns, so it
    /// is cheap enough to call on a runtime thread.
    pub fn apply_ethtool(&self, dev: &str, setting: &EthtoolSetting) -> Result<(), KernelError> {
        apply_on(self.ioctl_fd(), dev, setting)
    }

    /// Current state of one offload on `dev`, through this connection's socket.
    pub fn get_offload(&self, dev: &str, f: Offload) -> Result<bool, KernelError> {
        get_on(self.ioctl_fd(), dev, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifreq_layout_matches_kernel() {
        assert_eq!(std::mem::size_of::<IfReq>(), 40);
        assert_eq!(std::mem::size_of::<EthtoolValue>(), 8);
    }
}
