//! How conlink recognises what it made, so it deletes or replaces nothing else.
//!
//! | what | mark |
//! | --- | --- |
//! | outer veth end (conlink's namespace) | interface group `OUTER_GROUP` |
//! | interface inside a container (veth end, dummy, *vlan, *vtap) | interface group `INNER_GROUP` |
//! | bridge, tunnel | alias `conlink:<namespace label>:bridge` / `:tunnel` |
//! | network namespace (conlink's, a node's) | alias `conlink:<label>:netns` on its `lo` |
//!
//! Groups go in the creation request (free); aliases cost one request each, which only
//! the few bridges, tunnels and namespaces pay.

use conlink_kernel::LinkInfo;

/// Interface group of every outer veth end: one request deletes them all (exit, restart).
pub const OUTER_GROUP: u32 = 0x636c; // "cl"

/// Interface group of what conlink creates inside containers and nodes.
pub const INNER_GROUP: u32 = 0x636d;

/// The kinds of things marked with an alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    Bridge,
    Tunnel,
    /// A network namespace, marked on its loopback interface.
    Netns,
}

impl Made {
    fn as_str(self) -> &'static str {
        match self {
            Made::Bridge => "bridge",
            Made::Tunnel => "tunnel",
            Made::Netns => "netns",
        }
    }
}

/// The alias conlink gives what it made. `label` names conlink's namespace, so one
/// conlink never takes another's (differently named) leftovers for its own.
pub fn mark(label: &str, what: Made) -> String {
    format!("conlink:{label}:{}", what.as_str())
}

/// The namespace label in a mark of `what` (None: not a conlink mark of that kind).
pub fn label_of(alias: &str, what: Made) -> Option<&str> {
    alias.strip_prefix("conlink:")?.strip_suffix(what.as_str())?.strip_suffix(':').filter(|l| !l.is_empty())
}

/// Whether an existing interface carries conlink's mark for `what`.
pub fn is_marked(link: &LinkInfo, label: &str, what: Made) -> bool {
    link.alias.as_deref() == Some(mark(label, what).as_str())
}

/// Words for an interface someone else made, for errors ("a bridge", "a vxlan interface").
pub fn describe(link: &LinkInfo) -> String {
    match link.kind.as_deref() {
        Some("bridge") => "a bridge".into(),
        Some(k) => format!("a {k} interface"),
        None => "a physical or engine interface".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(kind: Option<&str>, alias: Option<&str>) -> LinkInfo {
        LinkInfo {
            index: 3,
            name: "s1".into(),
            kind: kind.map(str::to_string),
            mac: None,
            mtu: 1500,
            up: true,
            master: None,
            group: 0,
            alias: alias.map(str::to_string),
        }
    }

    #[test]
    fn marks_name_the_namespace_and_the_kind() {
        assert_eq!(mark("conlink", Made::Bridge), "conlink:conlink:bridge");
        assert_eq!(mark("lab", Made::Tunnel), "conlink:lab:tunnel");
        assert_eq!(mark("lab", Made::Netns), "conlink:lab:netns");
    }

    #[test]
    fn only_the_exact_mark_counts() {
        let ours = link(Some("bridge"), Some("conlink:lab:bridge"));
        assert!(is_marked(&ours, "lab", Made::Bridge));
        assert!(!is_marked(&ours, "other", Made::Bridge), "another conlink's bridge is not ours");
        assert!(!is_marked(&ours, "lab", Made::Tunnel), "a bridge is not a tunnel leftover");
        assert!(!is_marked(&link(Some("bridge"), None), "lab", Made::Bridge));
        assert!(!is_marked(&link(Some("bridge"), Some("conlink:lab:bridge ")), "lab", Made::Bridge));
    }

    #[test]
    fn the_label_is_read_back_from_a_mark() {
        assert_eq!(label_of(&mark("lab", Made::Netns), Made::Netns), Some("lab"));
        assert_eq!(label_of("conlink:a:b:netns", Made::Netns), Some("a:b"));
        assert_eq!(label_of(&mark("lab", Made::Bridge), Made::Netns), None);
        assert_eq!(label_of("conlink::netns", Made::Netns), None);
        assert_eq!(label_of("lab:netns", Made::Netns), None);
    }

    #[test]
    fn groups_differ_and_are_not_the_default() {
        assert_ne!(OUTER_GROUP, INNER_GROUP);
        assert_ne!(OUTER_GROUP, 0);
        assert_ne!(INNER_GROUP, 0);
    }

    #[test]
    fn foreign_interfaces_are_described_by_kind() {
        assert_eq!(describe(&link(Some("bridge"), None)), "a bridge");
        assert_eq!(describe(&link(Some("vxlan"), None)), "a vxlan interface");
        assert_eq!(describe(&link(None, None)), "a physical or engine interface");
    }
}
