//! `ethtool` offload settings (SPEC §4 `ethtool`): the argument vectors
//! users write without the device (`-K tx off rx off`, `--offload tx off`)
//! applied with the SIOCETHTOOL ioctl on a socket in the device's namespace
//! (the connection's own netlink socket, or one opened from a thread there).
//! The per-feature legacy commands (ETHTOOL_STXCSUM, …) are used because
//! the kernel maps them onto netdev features itself; no string-set lookup
//! is needed for the names users write.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::error::KernelError;
use crate::in_netns::run_in_netns;
use crate::netns::Netns;
use crate::nl::check_ifname;

/// An offload users can toggle with `-K NAME on|off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offload {
    Tx,
    Rx,
    Sg,
    Tso,
    Gso,
    Gro,
    Lro,
}

// (get, set) SIOCETHTOOL commands, from include/uapi/linux/ethtool.h.
const ETHTOOL_GFLAGS: u32 = 0x25;
const ETHTOOL_SFLAGS: u32 = 0x26;
const ETH_FLAG_LRO: u32 = 1 << 15;

impl Offload {
    /// ethtool's short and long names.
    pub fn parse(s: &str) -> Option<Offload> {
        Some(match s {
            "tx" | "tx-checksumming" => Offload::Tx,
            "rx" | "rx-checksumming" => Offload::Rx,
            "sg" | "scatter-gather" => Offload::Sg,
            "tso" | "tcp-segmentation-offload" => Offload::Tso,
            "gso" | "generic-segmentation-offload" => Offload::Gso,
            "gro" | "generic-receive-offload" => Offload::Gro,
            "lro" | "large-receive-offload" => Offload::Lro,
            _ => return None,
        })
    }

    fn cmds(&self) -> (u32, u32) {
        match self {
            Offload::Rx => (0x14, 0x15),
            Offload::Tx => (0x16, 0x17),
            Offload::Sg => (0x18, 0x19),
            Offload::Tso => (0x1e, 0x1f),
            Offload::Gso => (0x23, 0x24),
            Offload::Gro => (0x2b, 0x2c),
            Offload::Lro => (ETHTOOL_GFLAGS, ETHTOOL_SFLAGS),
        }
    }
}

/// Parse one `ethtool` argument string (device omitted). Only offload
/// settings (`-K`/`--offload`/`--features`) are supported; anything else
/// is an error naming the word.
pub fn parse_ethtool_args(args: &str) -> Result<Vec<(Offload, bool)>, String> {
    let words: Vec<&str> = args.split_whitespace().collect();
    let Some((first, rest)) = words.split_first() else {
        return Err("empty ethtool arguments".into());
    };
    if !matches!(*first, "-K" | "--offload" | "--features") {
        return Err(format!(
            "ethtool {first:?} is not supported (only -K/--offload/--features FEATURE on|off …)"
        ));
    }
    if rest.is_empty() {
        return Err(format!("ethtool {first}: no FEATURE on|off given"));
    }
    let mut out = Vec::new();
    for pair in rest.chunks(2) {
        let name = pair[0];
        let feature = Offload::parse(name).ok_or_else(|| {
            format!("ethtool {first}: unknown feature {name:?} (tx, rx, sg, tso, gso, gro, lro or their long names)")
        })?;
        let on = match pair.get(1) {
            Some(&"on") => true,
            Some(&"off") => false,
            Some(v) => return Err(format!("ethtool {first} {name}: {v:?} is not on|off")),
            None => return Err(format!("ethtool {first} {name}: missing on|off")),
        };
        out.push((feature, on));
    }
    Ok(out)
}

/// Apply ethtool argument string `args` to `dev` in `ns`.
pub fn apply_ethtool(ns: &Netns, dev: &str, args: &str) -> Result<(), KernelError> {
    with_socket_in(ns, &format!("ethtool {dev} {args}"), |sock| apply_on(sock, dev, args))
}

/// Current state of one offload on `dev` in `ns`.
pub fn get_offload(ns: &Netns, dev: &str, f: Offload) -> Result<bool, KernelError> {
    with_socket_in(ns, &format!("ethtool get {f:?} of {dev}"), |sock| get_on(sock, dev, f))
}

/// Switch one offload on `dev` in `ns`.
pub fn set_offload(ns: &Netns, dev: &str, f: Offload, on: bool) -> Result<(), KernelError> {
    with_socket_in(ns, &format!("ethtool set {f:?} on {dev}"), |sock| set_on(sock, dev, f, on))
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
fn apply_on(sock: BorrowedFd<'_>, dev: &str, args: &str) -> Result<(), KernelError> {
    let op = format!("ethtool {dev} {args}");
    check_ifname(&op, dev)?;
    let settings = parse_ethtool_args(args).map_err(|d| KernelError::invalid(&op, d))?;
    for (f, on) in settings {
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
    let v = ethtool_ioctl(sock, dev, f.cmds().0, 0).map_err(|e| KernelError::io(&op, e))?;
    Ok(match f {
        Offload::Lro => v & ETH_FLAG_LRO != 0,
        _ => v != 0,
    })
}

fn set_on(sock: BorrowedFd<'_>, dev: &str, f: Offload, on: bool) -> Result<(), KernelError> {
    let op = format!("ethtool set {f:?} {} on {dev}", if on { "on" } else { "off" });
    check_ifname(&op, dev)?;
    let (get, set) = f.cmds();
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

impl crate::nl::Nl {
    /// `apply_ethtool` through this connection's own socket (already in the
    /// right namespace): one ioctl per setting, no thread, no setns, so it
    /// is cheap enough to call on a runtime thread.
    pub fn apply_ethtool(&self, dev: &str, args: &str) -> Result<(), KernelError> {
        apply_on(self.ioctl_fd(), dev, args)
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
    fn argument_forms() {
        assert_eq!(parse_ethtool_args("--offload tx off").unwrap(), vec![(Offload::Tx, false)]);
        assert_eq!(
            parse_ethtool_args("-K tx off rx on tcp-segmentation-offload off").unwrap(),
            vec![(Offload::Tx, false), (Offload::Rx, true), (Offload::Tso, false)]
        );
        assert_eq!(parse_ethtool_args("--features lro off").unwrap(), vec![(Offload::Lro, false)]);
    }

    #[test]
    fn errors_name_the_word() {
        assert!(parse_ethtool_args("-s speed 100").unwrap_err().contains("\"-s\""));
        assert!(parse_ethtool_args("-K warp off").unwrap_err().contains("\"warp\""));
        assert!(parse_ethtool_args("-K tx maybe").unwrap_err().contains("\"maybe\""));
        assert!(parse_ethtool_args("-K tx").unwrap_err().contains("missing"));
        assert!(parse_ethtool_args("").is_err());
    }

    #[test]
    fn ifreq_layout_matches_kernel() {
        assert_eq!(std::mem::size_of::<IfReq>(), 40);
        assert_eq!(std::mem::size_of::<EthtoolValue>(), 8);
    }
}
