//! Gratuitous ARP: a host announcing its own IPv4 address. When a container
//! reappears somewhere else on an L2 domain that spans hosts (a swarm task
//! rescheduled to another node), the other hosts' bridges and vxlan devices
//! still send its MAC to the old host until they hear from it; one broadcast
//! from the new place fixes that at once instead of after FDB ageing.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::in_netns::run_in_netns;
use crate::netns::Netns;

const ETH_P_ARP: u16 = 0x0806;
const BROADCAST: [u8; 6] = [0xff; 6];

/// The Ethernet frame: an ARP request for `ip` from `ip` (RFC 5227 announcement).
pub fn garp_frame(mac: [u8; 6], ip: Ipv4Addr) -> [u8; 42] {
    let mut f = [0u8; 42];
    f[0..6].copy_from_slice(&BROADCAST);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    f[14..16].copy_from_slice(&1u16.to_be_bytes()); // Ethernet
    f[16..18].copy_from_slice(&0x0800u16.to_be_bytes()); // IPv4
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&1u16.to_be_bytes()); // request
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&ip.octets());
    // target MAC stays zero; target IP = sender IP
    f[38..42].copy_from_slice(&ip.octets());
    f
}

/// Sends one gratuitous ARP for each of `ips` out of `dev` inside `ns`,
/// from `dev`'s own MAC.
pub fn send_garp(ns: &Netns, dev: &str, ips: &[Ipv4Addr]) -> io::Result<()> {
    if ips.is_empty() {
        return Ok(());
    }
    let dev = dev.to_string();
    let ips = ips.to_vec();
    run_in_netns(ns.as_fd(), move || {
        // SAFETY: plain socket(2); the fd is owned right away.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(ETH_P_ARP.to_be())) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: raw is a fresh, valid fd nobody else owns.
        let sock = unsafe { OwnedFd::from_raw_fd(raw) };
        let cname =
            std::ffi::CString::new(dev.as_str()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: cname is a valid NUL-terminated string.
        let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
        if index == 0 {
            return Err(io::Error::last_os_error());
        }
        let mac = own_mac(&sock, &dev)?;
        for ip in ips {
            let frame = garp_frame(mac, ip);
            // SAFETY: sockaddr_ll is plain data; zeroed is a valid start.
            let mut to: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            to.sll_family = libc::AF_PACKET as u16;
            to.sll_protocol = ETH_P_ARP.to_be();
            to.sll_ifindex = index as i32;
            to.sll_halen = 6;
            to.sll_addr[..6].copy_from_slice(&BROADCAST);
            // SAFETY: frame and `to` outlive the call; sizes are theirs.
            let n = unsafe {
                libc::sendto(
                    sock.as_raw_fd(),
                    frame.as_ptr().cast(),
                    frame.len(),
                    0,
                    (&to as *const libc::sockaddr_ll).cast(),
                    std::mem::size_of::<libc::sockaddr_ll>() as u32,
                )
            };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    })
}

/// SIOCGIFHWADDR on `dev`.
fn own_mac(sock: &OwnedFd, dev: &str) -> io::Result<[u8; 6]> {
    // SAFETY: ifreq is plain data; zeroed is valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(dev.bytes().take(libc::IFNAMSIZ - 1)) {
        *d = s as libc::c_char;
    }
    // SAFETY: the ioctl fills req.ifr_ifru.ifru_hwaddr.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFHWADDR, &mut req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: SIOCGIFHWADDR set the hwaddr member of the union.
    let sa = unsafe { req.ifr_ifru.ifru_hwaddr };
    let mut mac = [0u8; 6];
    for (m, b) in mac.iter_mut().zip(sa.sa_data.iter()) {
        *m = *b as u8;
    }
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_is_a_broadcast_arp_request_for_its_own_address() {
        let mac = [0x00, 0x0a, 0x0b, 0x0c, 0x01, 0x01];
        let f = garp_frame(mac, Ipv4Addr::new(10, 0, 1, 100));
        assert_eq!(&f[0..6], &[0xff; 6]);
        assert_eq!(&f[6..12], &mac);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[14..22], &[0, 1, 0x08, 0, 6, 4, 0, 1]);
        assert_eq!(&f[22..28], &mac, "sender MAC");
        assert_eq!(&f[28..32], &[10, 0, 1, 100], "sender IP");
        assert_eq!(&f[32..38], &[0; 6], "target MAC unknown");
        assert_eq!(&f[38..42], &[10, 0, 1, 100], "target IP is the sender's");
    }
}
