//! Naming rules, one definition each: which names conlink accepts for
//! interfaces and nodes, and how a veth's outer end is named.
//! The interface-name and character rules themselves live in
//! conlink-settings ([`check_ifname`], [`forbidden_char`]).

use crate::error::quoted;

pub use conlink_settings::{check_ifname, forbidden_char, IFNAME_MAX};

/// Names conlink itself gives to interfaces in its namespace, which a link
/// or bridge must not take: the engine's own interface renamed for
/// forwarding, and loopback.
pub const RESERVED_IFNAMES: [&str; 2] = ["DOCKER-ETH0", "lo"];

/// Longest node name: it becomes `/run/netns/NAME`.
pub const NODE_NAME_MAX: usize = 64;

/// Why `name` cannot be a node (network namespace) name, if it cannot.
pub fn check_node_name(name: &str) -> Result<(), String> {
    let bad = || {
        format!(
            "{} is not a usable namespace name (1-{NODE_NAME_MAX} of A-Z a-z 0-9 _ . -, not starting with . or -)",
            quoted(name)
        )
    };
    if let Some(why) = name.chars().find_map(forbidden_char) {
        return Err(format!("{}: must not contain {why}", bad()));
    }
    let ok = !name.is_empty()
        && name.len() <= NODE_NAME_MAX
        && !name.starts_with(['.', '-'])
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Name of a veth's outer end in conlink's namespace (SPEC §4): the full
/// name `SERVICE_INDEX-DEV` for a service replica, `CONTAINER-DEV` for a
/// container or node, when that is a valid interface name (≤ 15 bytes).
/// Otherwise the first 6 characters of the target, `-`, and 8 hex digits of
/// a hash of the full name: always 15 bytes or fewer of `[A-Za-z0-9_.-]`,
/// the same on every run, and different for different full names (a clash
/// of two hashes is reported at config time when both names are known).
pub fn outer_dev_name(target_name: &str, replica: Option<u32>, dev: &str) -> String {
    let full = match replica {
        Some(i) => format!("{target_name}_{i}-{dev}"),
        None => format!("{target_name}-{dev}"),
    };
    if check_ifname(&full).is_ok() {
        return full;
    }
    let prefix: String = target_name
        .chars()
        .take(6)
        .map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '_' })
        .collect();
    format!("{prefix}-{:08x}", name_hash(&full))
}

/// 32-bit FNV-1a of `s`: stable across versions and platforms, which the
/// names must be (a restarted conlink finds its interfaces by name).
fn name_hash(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_and_container_forms() {
        assert_eq!(outer_dev_name("h1", Some(1), "eth0"), "h1_1-eth0");
        assert_eq!(outer_dev_name("node", Some(12), "eth1"), "node_12-eth1");
        assert_eq!(outer_dev_name("r0", None, "eth-s1"), "r0-eth-s1");
    }

    #[test]
    fn exactly_fifteen_is_kept() {
        let n = outer_dev_name("abcdefgh", Some(1), "eth0"); // 8+2+5
        assert_eq!(n, "abcdefgh_1-eth0");
        assert_eq!(n.len(), 15);
        assert_eq!(outer_dev_name("container1", None, "eth0"), "container1-eth0");
        // One more character tips it over to the hashed form.
        let n = outer_dev_name("container12", None, "eth0");
        assert!(n.starts_with("contai-") && n.len() == 15, "{n}");
    }

    #[test]
    fn hashed_form_is_stable() {
        // Pinned: a changed hash would orphan the interfaces of a running lab.
        assert_eq!(name_hash(""), 0x811c_9dc5);
        assert_eq!(name_hash("a"), 0xe40c_292c);
        // The README's example.
        assert_eq!(outer_dev_name("a-long-router", None, "eth-s1"), "a-long-de1a9576");
        assert_eq!(
            outer_dev_name("project-node-1", None, "eth-long-name"),
            format!("projec-{:08x}", name_hash("project-node-1-eth-long-name"))
        );
    }

    #[test]
    fn long_names_differ_per_dev() {
        // Config that exposed it: eth-s1/eth-s2/eth-s3 of one long-named container
        // all became c<id8>-eth-s and replaced each other.
        let names: Vec<String> =
            ["eth-s1", "eth-s2", "eth-s3"].iter().map(|d| outer_dev_name("a-long-router", None, d)).collect();
        assert_ne!(names[0], names[1]);
        assert_ne!(names[1], names[2]);
        assert_ne!(names[0], names[2]);
        // Two nodes named abcdefghijkl (netns runtime): a valid name, no ':'.
        let n = outer_dev_name("abcdefghijkl", None, "eth0");
        assert!(check_ifname(&n).is_ok(), "{n}");
        // Replicas differ too.
        assert_ne!(
            outer_dev_name("a_very_long_service", Some(1), "e"),
            outer_dev_name("a_very_long_service", Some(2), "e")
        );
    }

    #[test]
    fn hashed_form_is_always_a_valid_name() {
        for (t, d) in [
            ("x", "ééééééé"),
            ("abcdefghijklmnopqrstuvwxyz", "eth0"),
            ("a.b_c-d", "𝕏𝕏𝕏"),
            ("é", "abcdefghijklmno"),
        ] {
            for r in [None, Some(1), Some(u32::MAX)] {
                let n = outer_dev_name(t, r, d);
                assert!(check_ifname(&n).is_ok() && n.len() <= IFNAME_MAX, "{t} {r:?} {d}: {n}");
                assert!(
                    n.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
                        || n == format!("{t}-{d}"),
                    "{n}"
                );
            }
        }
        // A multibyte dev that fits in characters but not in bytes is hashed, not cut mid-character.
        let n = outer_dev_name("h", None, "éééééééé");
        assert!(n.len() <= IFNAME_MAX && n.is_ascii(), "{n}");
    }

    #[test]
    fn ifname_rules() {
        assert!(check_ifname("eth0").is_ok());
        assert!(check_ifname("abcdefghijklmno").is_ok());
        assert!(check_ifname("abcdefghijklmnop").unwrap_err().contains("longer than 15"));
        assert!(check_ifname("").is_err());
        assert!(check_ifname("a/b").unwrap_err().contains("'/'"));
        assert!(check_ifname("a b").is_err());
        assert!(check_ifname("a\tb").is_err());
    }

    #[test]
    fn ifname_rejects_colon_and_dots() {
        // The kernel refuses these (dev_valid_name); they used to pass validation.
        assert!(check_ifname("eth0:1").unwrap_err().contains("':'"));
        assert!(check_ifname(":").is_err());
        assert!(check_ifname(".").unwrap_err().contains("reserved"));
        assert!(check_ifname("..").is_err());
        assert!(check_ifname("...").is_ok());
        // The limit is in bytes, like IFNAMSIZ: 8 two-byte characters are too long.
        assert!(check_ifname("éééééééé").unwrap_err().contains("longer than 15"));
    }

    #[test]
    fn ifname_rejects_nul_control_escape_and_percent() {
        for (name, why) in [
            ("a\0b", "NUL"),
            ("a\x1b[31mb", "control or escape"),
            ("a\x7f", "control"),
            ("a\u{85}", "whitespace"),
            ("a\u{9b}1m", "control or escape"),
            ("eth%d", "'%'"),
            ("a\u{202e}b", "invisible"),
            ("\u{feff}a", "invisible"),
        ] {
            let e = check_ifname(name).unwrap_err();
            assert!(e.contains(why), "{name:?}: {e}");
            assert!(!e.contains('\x1b') && !e.contains('\0'), "the message echoes raw control bytes: {e:?}");
        }
        // Non-ASCII letters stay allowed (the kernel takes them; 15 bytes still apply).
        assert!(check_ifname("brü").is_ok());
    }

    #[test]
    fn node_names() {
        assert!(check_node_name("r0").is_ok());
        assert!(check_node_name(&"a".repeat(64)).is_ok());
        assert!(check_node_name(&"a".repeat(65)).is_err());
        assert!(check_node_name("../x").is_err());
        assert!(check_node_name("-x").is_err());
        assert!(check_node_name("a:b").unwrap_err().contains("':'"));
        assert!(check_node_name("a\x1bb").unwrap_err().contains("control"));
    }
}
