//! NAT with nftables: port forwards (SPEC §4 `forward`) in conlink's
//! namespace and static 1:1 NAT (`nat`) in a container's namespace.
//!
//! Last-resort design, said plainly: no maintained, MIT-compatible
//! pure-Rust nf_tables netlink crate exists (rustables is GPL-3.0; the
//! `nftables` crate also runs the `nft` binary), so this runs `nft -f -`
//! with an argv (no shell) from a thread inside the namespace, and feeds it
//! a ruleset built only from typed values (IpAddr, u16, validated interface
//! names), never from raw user strings. Each call replaces its own table
//! atomically (one nft transaction), so re-applying converges.

use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};

use crate::error::KernelError;
use crate::in_netns::run_in_netns;
use crate::netns::Netns;
use crate::nl::check_ifname;

/// Table holding port forwards in conlink's namespace.
pub const FORWARD_TABLE: &str = "conlink_forward";
/// Table holding static NAT in a container's namespace.
pub const NAT_TABLE: &str = "conlink_nat";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(&self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// `conlink_port:container_port/proto` for the link whose IP is `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub proto: Proto,
    pub port: u16,
    pub to: IpAddr,
    pub to_port: u16,
}

/// Static NAT on `dev`: traffic arriving for `link_ip` is DNATed to
/// `nat_ip`; traffic from `nat_ip` leaving `dev` is SNATed to `link_ip`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticNat {
    pub dev: String,
    pub link_ip: IpAddr,
    pub nat_ip: IpAddr,
}

fn family(ip: &IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "ip",
        IpAddr::V6(_) => "ip6",
    }
}

fn addr_port(ip: &IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// Interface names go inside nft double quotes: on top of the kernel's
/// rules, refuse quotes, backslashes and control characters.
fn check_nft_ifname(op: &str, name: &str) -> Result<(), KernelError> {
    check_ifname(op, name)?;
    if name.chars().any(|c| c == '"' || c == '\\' || c.is_control()) {
        return Err(KernelError::invalid(
            op,
            format!("interface name {name:?} cannot be used in nftables rules"),
        ));
    }
    Ok(())
}

/// Replace-table preamble: create (no-op if present), then delete, then
/// define; nft applies the whole file as one transaction.
fn table_header(table: &str) -> String {
    format!("table inet {table} {{}}\ndelete table inet {table}\n")
}

/// The ruleset for port forwards arriving on `in_dev`. DNATed connections
/// are masqueraded on the way out so replies come back through conlink
/// even when the container's default route points elsewhere.
pub fn forward_ruleset(in_dev: &str, forwards: &[Forward]) -> String {
    let mut s = table_header(FORWARD_TABLE);
    s.push_str(&format!("table inet {FORWARD_TABLE} {{\n"));
    s.push_str("  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n");
    for f in forwards {
        let fam = family(&f.to);
        let nfproto = if fam == "ip" { "ipv4" } else { "ipv6" };
        s.push_str(&format!(
            "    iifname \"{in_dev}\" meta nfproto {nfproto} {p} dport {port} dnat {fam} to {dst}\n",
            p = f.proto.as_str(),
            port = f.port,
            dst = addr_port(&f.to, f.to_port),
        ));
    }
    s.push_str("  }\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n");
    for f in forwards {
        s.push_str(&format!(
            "    ct status dnat {fam} daddr {ip} {p} dport {port} masquerade\n",
            fam = family(&f.to),
            ip = f.to,
            p = f.proto.as_str(),
            port = f.to_port,
        ));
    }
    s.push_str("  }\n}\n");
    s
}

/// The ruleset for static NAT entries (all of one namespace).
pub fn static_nat_ruleset(nats: &[StaticNat]) -> String {
    let mut s = table_header(NAT_TABLE);
    s.push_str(&format!("table inet {NAT_TABLE} {{\n"));
    s.push_str("  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n");
    for n in nats {
        let fam = family(&n.link_ip);
        s.push_str(&format!(
            "    iifname \"{dev}\" {fam} daddr {link} dnat {fam} to {nat}\n",
            dev = n.dev,
            link = n.link_ip,
            nat = n.nat_ip
        ));
    }
    s.push_str("  }\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n");
    for n in nats {
        let fam = family(&n.link_ip);
        s.push_str(&format!(
            "    oifname \"{dev}\" {fam} saddr {nat} snat {fam} to {link}\n",
            dev = n.dev,
            link = n.link_ip,
            nat = n.nat_ip
        ));
    }
    s.push_str("  }\n}\n");
    s
}

/// Set the port forwards arriving on `in_dev` in namespace `ns` (replacing
/// earlier ones). IP forwarding must be on in `ns` (see `sysctl_in`).
pub fn apply_forwards(ns: &Netns, in_dev: &str, forwards: &[Forward]) -> Result<(), KernelError> {
    let op = format!("set port forwards on {in_dev}");
    check_nft_ifname(&op, in_dev)?;
    run_nft(ns, &op, &forward_ruleset(in_dev, forwards))
}

/// Set the static NAT entries of namespace `ns` (replacing earlier ones).
pub fn apply_static_nat(ns: &Netns, nats: &[StaticNat]) -> Result<(), KernelError> {
    let op = "set static nat".to_string();
    for n in nats {
        check_nft_ifname(&op, &n.dev)?;
        if n.link_ip.is_ipv4() != n.nat_ip.is_ipv4() {
            return Err(KernelError::invalid(
                &op,
                format!("nat {} and ip {} on {} are different families", n.nat_ip, n.link_ip, n.dev),
            ));
        }
    }
    run_nft(ns, &op, &static_nat_ruleset(nats))
}

/// Run `nft -f -` inside `ns` with `ruleset` on stdin.
fn run_nft(ns: &Netns, op: &str, ruleset: &str) -> Result<(), KernelError> {
    let out = run_in_netns(ns.as_fd(), || {
        // Spawned from the thread that joined `ns`: the child inherits
        // that thread's network namespace.
        let mut child = Command::new("nft")
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        child.stdin.take().expect("piped stdin").write_all(ruleset.as_bytes())?;
        child.wait_with_output()
    })
    .map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            KernelError::Io {
                op: op.to_string(),
                source: std::io::Error::new(e.kind(), "the nft binary is missing (install nftables)"),
            }
        } else {
            KernelError::io(op, e)
        }
    })?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if err.contains("Operation not supported")
        || err.contains("Could not process rule: No such file or directory")
    {
        return Err(KernelError::Unsupported { op: op.to_string(), feature: "nftables NAT".into() });
    }
    Err(KernelError::Io { op: op.to_string(), source: std::io::Error::other(format!("nft: {err}")) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_ruleset_v4_and_v6() {
        let f = [
            Forward { proto: Proto::Tcp, port: 8080, to: "192.0.2.10".parse().unwrap(), to_port: 80 },
            Forward { proto: Proto::Udp, port: 5353, to: "2001:db8::10".parse().unwrap(), to_port: 53 },
        ];
        let s = forward_ruleset("DOCKER-ETH0", &f);
        assert!(s.starts_with("table inet conlink_forward {}\ndelete table inet conlink_forward\n"), "{s}");
        assert!(
            s.contains("iifname \"DOCKER-ETH0\" meta nfproto ipv4 tcp dport 8080 dnat ip to 192.0.2.10:80\n"),
            "{s}"
        );
        assert!(
            s.contains(
                "iifname \"DOCKER-ETH0\" meta nfproto ipv6 udp dport 5353 dnat ip6 to [2001:db8::10]:53\n"
            ),
            "{s}"
        );
        assert!(s.contains("ct status dnat ip daddr 192.0.2.10 tcp dport 80 masquerade\n"), "{s}");
        assert!(s.contains("ct status dnat ip6 daddr 2001:db8::10 udp dport 53 masquerade\n"), "{s}");
    }

    #[test]
    fn static_nat_ruleset_dnat_in_snat_out() {
        let n = [StaticNat {
            dev: "eth0".into(),
            link_ip: "192.0.2.1".parse().unwrap(),
            nat_ip: "203.0.113.1".parse().unwrap(),
        }];
        let s = static_nat_ruleset(&n);
        assert!(s.contains("iifname \"eth0\" ip daddr 192.0.2.1 dnat ip to 203.0.113.1\n"), "{s}");
        assert!(s.contains("oifname \"eth0\" ip saddr 203.0.113.1 snat ip to 192.0.2.1\n"), "{s}");
    }

    #[test]
    fn hostile_names_and_mixed_families_are_refused() {
        let ns = Netns::current().unwrap();
        let e = apply_forwards(&ns, "a\"b", &[]).unwrap_err();
        assert!(e.is_invalid(), "{e}");
        let bad = [StaticNat {
            dev: "eth0".into(),
            link_ip: "192.0.2.1".parse().unwrap(),
            nat_ip: "2001:db8::1".parse().unwrap(),
        }];
        let e = apply_static_nat(&ns, &bad).unwrap_err();
        assert!(e.to_string().contains("different families"), "{e}");
    }
}
