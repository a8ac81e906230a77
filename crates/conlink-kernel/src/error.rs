//! Typed kernel errors. Every error names the operation and object it was
//! about ("create veth h1_1-eth0") and turns errno into words, so users never
//! see a bare "Received a netlink error message -95".

use std::io;

use netlink_packet_core::ErrorMessage;

/// What went wrong in a kernel operation; `op` is e.g. "set mtu eth0".
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// The running kernel has no support for a link kind / feature
    /// (EOPNOTSUPP on creation: no module and not built in).
    #[error("{op}: kernel lacks {feature} (operation not supported)")]
    Unsupported { op: String, feature: String },
    #[error("{op}: already exists{}", detail_suffix(.detail))]
    Exists { op: String, detail: Option<String> },
    #[error("{op}: not found{}", detail_suffix(.detail))]
    NotFound { op: String, detail: Option<String> },
    #[error("{op}: permission denied (needs CAP_NET_ADMIN/CAP_SYS_ADMIN){}", detail_suffix(.detail))]
    Permission { op: String, detail: Option<String> },
    /// The kernel (or our own validation) rejected a value, e.g. MTU 70000.
    #[error("{op}: invalid value: {detail}")]
    Invalid { op: String, detail: String },
    /// Any other errno from the kernel.
    #[error("{op}: {detail} (errno {errno})")]
    Os { op: String, errno: i32, detail: String },
    /// System call failure outside netlink (setns, socket, thread spawn).
    #[error("{op}: {source}")]
    Io {
        op: String,
        #[source]
        source: io::Error,
    },
    /// The netlink conversation itself broke (closed connection, bad reply).
    #[error("{op}: netlink failure: {detail}")]
    Protocol { op: String, detail: String },
}

fn detail_suffix(d: &Option<String>) -> String {
    d.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
}

impl KernelError {
    pub fn is_exists(&self) -> bool {
        matches!(self, KernelError::Exists { .. })
    }
    pub fn is_not_found(&self) -> bool {
        matches!(self, KernelError::NotFound { .. })
    }
    pub fn is_unsupported(&self) -> bool {
        matches!(self, KernelError::Unsupported { .. })
    }
    pub fn is_permission(&self) -> bool {
        matches!(self, KernelError::Permission { .. })
    }
    pub fn is_invalid(&self) -> bool {
        matches!(self, KernelError::Invalid { .. })
    }
    /// The operation this error is about.
    pub fn op(&self) -> &str {
        match self {
            KernelError::Unsupported { op, .. }
            | KernelError::Exists { op, .. }
            | KernelError::NotFound { op, .. }
            | KernelError::Permission { op, .. }
            | KernelError::Invalid { op, .. }
            | KernelError::Os { op, .. }
            | KernelError::Io { op, .. }
            | KernelError::Protocol { op, .. } => op,
        }
    }

    pub(crate) fn invalid(op: impl Into<String>, detail: impl Into<String>) -> Self {
        KernelError::Invalid { op: op.into(), detail: detail.into() }
    }

    pub(crate) fn not_found(op: impl Into<String>, detail: impl Into<String>) -> Self {
        KernelError::NotFound { op: op.into(), detail: Some(detail.into()) }
    }

    pub(crate) fn io(op: impl Into<String>, source: io::Error) -> Self {
        match source.raw_os_error() {
            Some(errno) => KernelError::from_errno(op, errno, None),
            None => KernelError::Io { op: op.into(), source },
        }
    }

    /// Classify a positive errno. `extack` is the kernel's extended-ack text
    /// (e.g. "mtu greater than device maximum") when it sent one.
    pub(crate) fn from_errno(op: impl Into<String>, errno: i32, extack: Option<String>) -> Self {
        let op = op.into();
        let words = nix::errno::Errno::from_raw(errno).desc().to_lowercase();
        // Prefer the kernel's own explanation, keep the errno words as context.
        let detail = match &extack {
            Some(x) => format!("{x} ({words})"),
            None => words.clone(),
        };
        match errno {
            libc::EEXIST => KernelError::Exists { op, detail: extack },
            libc::ENODEV | libc::ENOENT | libc::ESRCH | libc::EADDRNOTAVAIL => {
                KernelError::NotFound { op, detail: Some(detail) }
            }
            libc::EPERM | libc::EACCES => KernelError::Permission { op, detail: extack },
            libc::EINVAL | libc::ERANGE | libc::EMSGSIZE => KernelError::Invalid { op, detail },
            _ => KernelError::Os { op, errno, detail },
        }
    }

    /// Convert an rtnetlink error for operation `op`.
    pub(crate) fn from_rtnl(op: impl Into<String>, e: rtnetlink::Error) -> Self {
        let op = op.into();
        match e {
            rtnetlink::Error::NetlinkError(msg) => {
                let errno = -msg.raw_code();
                KernelError::from_errno(op, errno, extack_message(&msg))
            }
            other => KernelError::Protocol { op, detail: other.to_string() },
        }
    }

    /// Like [`from_rtnl`], but EOPNOTSUPP means the link kind is missing from
    /// this kernel (RTM_NEWLINK with an unknown IFLA_INFO_KIND and no module
    /// loader answers exactly that).
    pub(crate) fn from_rtnl_create(op: impl Into<String>, kind: &str, e: rtnetlink::Error) -> Self {
        let op = op.into();
        if let rtnetlink::Error::NetlinkError(msg) = &e {
            if -msg.raw_code() == libc::EOPNOTSUPP {
                return KernelError::Unsupported { op, feature: feature_name(kind) };
            }
        }
        KernelError::from_rtnl(op, e)
    }

    /// The errno behind this error, when there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            KernelError::Unsupported { .. } => Some(libc::EOPNOTSUPP),
            KernelError::Exists { .. } => Some(libc::EEXIST),
            KernelError::Os { errno, .. } => Some(*errno),
            KernelError::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// Human name of the kernel feature behind a link kind; where the kernel
/// config/module name differs from the kind, say both.
pub fn feature_name(kind: &str) -> String {
    match kind {
        "vlan" => "8021q vlan links (CONFIG_VLAN_8021Q)".to_string(),
        "openvswitch" => "the openvswitch module".to_string(),
        k => format!("{k} links"),
    }
}

/// Extract NLMSGERR_ATTR_MSG from an error reply. The socket sets
/// NETLINK_CAP_ACK + NETLINK_EXT_ACK, so the payload after the errno is the
/// original 16-byte nlmsghdr followed by TLVs. netlink-packet-core keeps that
/// as raw bytes, so we walk the TLVs ourselves.
pub(crate) fn extack_message(msg: &ErrorMessage) -> Option<String> {
    const NLMSGHDR_LEN: usize = 16;
    const NLMSGERR_ATTR_MSG: u16 = 1;
    let mut rest = msg.header.get(NLMSGHDR_LEN..)?;
    while rest.len() >= 4 {
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & 0x3fff;
        if len < 4 || len > rest.len() {
            return None;
        }
        if kind == NLMSGERR_ATTR_MSG {
            let text = &rest[4..len];
            let text = text.split(|b| *b == 0).next().unwrap_or_default();
            let s = String::from_utf8_lossy(text).trim().to_string();
            return (!s.is_empty()).then_some(s);
        }
        let aligned = (len + 3) & !3;
        rest = rest.get(aligned..).unwrap_or_default();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroI32;

    fn nl_err(code: i32, payload: Vec<u8>) -> rtnetlink::Error {
        let mut m = ErrorMessage::default();
        m.code = NonZeroI32::new(code);
        m.header = payload;
        rtnetlink::Error::NetlinkError(m)
    }

    #[test]
    fn eopnotsupp_on_create_names_feature() {
        let e = KernelError::from_rtnl_create("create dummy d0", "dummy", nl_err(-libc::EOPNOTSUPP, vec![]));
        assert!(e.is_unsupported());
        let s = e.to_string();
        assert!(s.contains("create dummy d0") && s.contains("kernel lacks dummy"), "{s}");
        let e = KernelError::from_rtnl_create("create vlan v0", "vlan", nl_err(-libc::EOPNOTSUPP, vec![]));
        assert!(e.to_string().contains("8021q"), "{e}");
    }

    #[test]
    fn errno_classes() {
        assert!(KernelError::from_rtnl("x", nl_err(-libc::EEXIST, vec![])).is_exists());
        assert!(KernelError::from_rtnl("x", nl_err(-libc::ENODEV, vec![])).is_not_found());
        assert!(KernelError::from_rtnl("x", nl_err(-libc::EPERM, vec![])).is_permission());
        let e = KernelError::from_rtnl("set mtu a", nl_err(-libc::EINVAL, vec![]));
        assert!(e.is_invalid());
        assert_eq!(e.to_string(), "set mtu a: invalid value: invalid argument");
        let e = KernelError::from_rtnl("add route", nl_err(-libc::ENETUNREACH, vec![]));
        assert_eq!(e.errno(), Some(libc::ENETUNREACH));
        assert!(e.to_string().contains("network is unreachable"), "{e}");
    }

    #[test]
    fn extack_text_is_used() {
        // 16-byte echoed header, then NLMSGERR_ATTR_MSG TLV.
        let mut p = vec![0u8; 16];
        let text = b"mtu greater than device maximum\0";
        let len = (4 + text.len()) as u16;
        p.extend_from_slice(&len.to_ne_bytes());
        p.extend_from_slice(&1u16.to_ne_bytes());
        p.extend_from_slice(text);
        while !p.len().is_multiple_of(4) {
            p.push(0);
        }
        let e = KernelError::from_rtnl("set mtu a", nl_err(-libc::EINVAL, p));
        assert_eq!(
            e.to_string(),
            "set mtu a: invalid value: mtu greater than device maximum (invalid argument)"
        );
    }
}
