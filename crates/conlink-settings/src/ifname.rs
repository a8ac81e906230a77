//! Linux interface names: the kernel's dev_valid_name() rules, checked before
//! anything is sent so the user reads the name instead of EINVAL, plus what
//! would corrupt logs and terminals.

use crate::shown::quoted;

/// Linux `IFNAMSIZ - 1`: the limit is in bytes.
pub const IFNAME_MAX: usize = 15;

/// Why `c` may not appear in a name conlink handles, if it may not. Beyond
/// what the kernel refuses ('/', ':', whitespace), this keeps out what would
/// corrupt logs and terminals (NUL, control and escape characters, invisible
/// formatting characters) and '%', which the kernel expands as a template
/// (`eth%d`).
pub fn forbidden_char(c: char) -> Option<&'static str> {
    match c {
        '\0' => Some("a NUL character"),
        '/' => Some("'/'"),
        ':' => Some("':'"),
        '%' => Some("'%' (the kernel reads it as a name template, like eth%d)"),
        c if c.is_whitespace() => Some("whitespace"),
        c if c.is_control() => Some("a control or escape character"),
        '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{feff}' => Some("an invisible formatting character"),
        _ => None,
    }
}

/// Why `name` cannot be an interface name, if it cannot: the one rule for
/// bridge, dev, outer-dev, tunnel bridges and route devices.
pub fn check_ifname(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("interface name is empty".into());
    }
    if let Some(why) = name.chars().find_map(forbidden_char) {
        return Err(format!(
            "interface name {} must not contain {why} (names exclude '/', ':', '%', whitespace and control characters)",
            quoted(name)
        ));
    }
    if name.len() > IFNAME_MAX {
        let unit =
            if name.chars().count() > IFNAME_MAX { "characters" } else { "bytes (the kernel counts bytes)" };
        return Err(format!("interface name {} is longer than {IFNAME_MAX} {unit}", quoted(name)));
    }
    if name == "." || name == ".." {
        return Err(format!("interface name {name:?} is reserved"));
    }
    // The kernel's isspace() is Latin-1: byte 0xa0 counts as a space, and it
    // occurs inside UTF-8 characters such as 'à' (c3 a0).
    if name.bytes().any(|b| b == 0xa0) {
        return Err(format!(
            "interface name {} contains byte 0xa0 (as in 'à'), which the kernel reads as a space",
            quoted(name)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_up_to_fifteen_bytes() {
        for ok in ["eth0", "a", "h1_1-eth0", "abcdefghijklmno", "...", "br.0", "x-y_z", "é", "ééééééé"]
        {
            assert!(check_ifname(ok).is_ok(), "{ok:?}");
        }
        assert_eq!(IFNAME_MAX, 15);
    }

    #[test]
    fn length_counts_bytes() {
        assert!(check_ifname("abcdefghijklmnop").unwrap_err().contains("longer than 15 characters"));
        // 8 two-byte characters: 8 characters, 16 bytes.
        let e = check_ifname("éééééééé").unwrap_err();
        assert!(e.contains("longer than 15 bytes"), "{e}");
        // 7 two-byte + 1: 15 bytes, fits.
        assert!(check_ifname("éééééééa").is_ok());
        // 4-byte characters: 3 fit (12 bytes), 4 do not (16).
        assert!(check_ifname("🦀🦀🦀").is_ok());
        assert!(check_ifname("🦀🦀🦀🦀").unwrap_err().contains("bytes"));
    }

    #[test]
    fn empty_and_reserved() {
        assert_eq!(check_ifname("").unwrap_err(), "interface name is empty");
        assert!(check_ifname(".").unwrap_err().contains("reserved"));
        assert!(check_ifname("..").unwrap_err().contains("reserved"));
    }

    #[test]
    fn forbidden_characters() {
        for bad in
            ["a/b", "eth0:1", ":", "a b", "a\tb", "a\nb", "a\rb", " eth0", "eth0 ", "a\u{a0}b", "a\u{2003}b"]
        {
            let e = check_ifname(bad).unwrap_err();
            assert!(e.contains("must not contain") && e.contains("names exclude"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn control_characters() {
        for bad in ["a\0b", "\0", "a\u{1}", "a\u{1b}[31m", "a\u{7f}", "a\u{9b}"] {
            let e = check_ifname(bad).unwrap_err();
            assert!(e.contains("NUL") || e.contains("control or escape character"), "{bad:?}: {e}");
        }
        for bad in ["a%d", "eth%", "a\u{200b}b", "a\u{202e}b", "a\u{feff}"] {
            assert!(check_ifname(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn latin1_space_byte_inside_utf8() {
        // 'à' is c3 a0: the kernel's isspace(0xa0) refuses it.
        let e = check_ifname("eà").unwrap_err();
        assert!(e.contains("0xa0"), "{e}");
        // 'á' is c3 a1: fine.
        assert!(check_ifname("eá").is_ok());
    }
}
