//! Interface naming rules shared by validation and the engine.

/// Linux `IFNAMSIZ - 1`.
pub const IFNAME_MAX: usize = 15;

/// Why `name` cannot be a Linux interface name, if it cannot.
pub fn check_ifname(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("interface name is empty".into());
    }
    if name.len() > IFNAME_MAX {
        let unit =
            if name.chars().count() > IFNAME_MAX { "characters" } else { "bytes (the kernel counts bytes)" };
        return Err(format!("interface name {name:?} is longer than {IFNAME_MAX} {unit}"));
    }
    if name == "." || name == ".." {
        return Err(format!("interface name {name:?} is reserved"));
    }
    // The kernel's dev_valid_name() refuses '/', ':' (alias syntax) and whitespace.
    if name.contains(['/', ':']) || name.chars().any(char::is_whitespace) {
        return Err(format!("interface name {name:?} must not contain '/', ':' or whitespace"));
    }
    Ok(())
}

/// Name of a veth's outer end in conlink's namespace (SPEC §4):
/// `SERVICE_INDEX-DEV` for a service replica, `CONTAINER-DEV` for a
/// container; when that exceeds 15 characters, `c` + the first 8 characters
/// of the container id + `-` + the first 5 of `dev`, which stays unique per
/// container and fits.
pub fn outer_dev_name(target_name: &str, replica: Option<u32>, dev: &str, container_id: &str) -> String {
    let name = match replica {
        Some(i) => format!("{target_name}_{i}-{dev}"),
        None => format!("{target_name}-{dev}"),
    };
    if name.len() <= IFNAME_MAX {
        return name;
    }
    let cid: String = container_id.chars().take(8).collect();
    let short_dev: String = dev.chars().take(5).collect();
    format!("c{cid}-{short_dev}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CID: &str = "0123456789abcdef0123";

    #[test]
    fn service_and_container_forms() {
        assert_eq!(outer_dev_name("h1", Some(1), "eth0", CID), "h1_1-eth0");
        assert_eq!(outer_dev_name("node", Some(12), "eth1", CID), "node_12-eth1");
        assert_eq!(outer_dev_name("r0", None, "eth-s1", CID), "r0-eth-s1");
    }

    #[test]
    fn exactly_fifteen_is_kept() {
        let n = outer_dev_name("abcdefgh", Some(1), "eth0", CID); // 8+2+5
        assert_eq!(n, "abcdefgh_1-eth0");
        assert_eq!(n.len(), 15);
        let n = outer_dev_name("container1", None, "eth0", CID); // 10+1+4
        assert_eq!(n, "container1-eth0");
        // One more character tips it over to the container-id form.
        assert_eq!(outer_dev_name("container12", None, "eth0", CID), "c01234567-eth0");
        assert_eq!(outer_dev_name("abcdefghi", Some(1), "eth0", CID), "c01234567-eth0");
    }

    #[test]
    fn long_names_use_container_id() {
        assert_eq!(outer_dev_name("abcdefghi", Some(1), "eth0", CID), "c01234567-eth0");
        assert_eq!(outer_dev_name("project-node-1", None, "eth-long-name", CID), "c01234567-eth-l");
        let n = outer_dev_name("a_very_long_service", Some(3), "e", CID);
        assert_eq!(n, "c01234567-e");
        assert!(n.len() <= IFNAME_MAX);
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
}
