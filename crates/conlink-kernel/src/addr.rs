//! Interface addresses (RTM_NEWADDR / RTM_GETADDR), IPv4 and IPv6.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use ipnet::IpNet;
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage};

use crate::error::KernelError;
use crate::link::rename_op;
use crate::nl::Nl;

impl Nl {
    /// Add `addr` (e.g. 192.0.2.1/24, 2001:db8::1/64) to `dev`. An address
    /// that is already there is fine. IPv6 addresses skip duplicate address
    /// detection (IFA_F_NODAD) so they are usable immediately.
    pub async fn add_address(&self, dev: &str, addr: IpNet) -> Result<(), KernelError> {
        let op = format!("add address {addr} to {dev}");
        let index = self.index_of(dev).await.map_err(|e| rename_op(e, &op))?;
        self.add_address_op(&op, index, addr).await
    }

    /// `add_address` for a link known by index: one round trip instead of
    /// two (no RTM_GETLINK to resolve the name).
    pub async fn add_address_index(&self, index: u32, addr: IpNet) -> Result<(), KernelError> {
        let op = format!("add address {addr} to link #{index}");
        self.add_address_op(&op, index, addr).await
    }

    async fn add_address_op(&self, op: &str, index: u32, addr: IpNet) -> Result<(), KernelError> {
        let mut req = self.handle().address().add(index, addr.addr(), addr.prefix_len());
        if addr.addr().is_ipv6() {
            let m = req.message_mut();
            m.header.flags |= AddressHeaderFlags::Nodad;
            m.attributes.push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        match req.execute().await {
            Ok(()) => Ok(()),
            Err(e) => match KernelError::from_rtnl(op, e) {
                e if e.is_exists() => Ok(()),
                e => Err(e),
            },
        }
    }

    /// Addresses on `dev` (including kernel-made IPv6 link-local ones).
    pub async fn addresses(&self, dev: &str) -> Result<Vec<IpNet>, KernelError> {
        Ok(self.address_messages(dev).await?.iter().filter_map(address_of).collect())
    }

    /// The RTM_GETADDR dump of `dev`.
    async fn address_messages(&self, dev: &str) -> Result<Vec<AddressMessage>, KernelError> {
        let op = format!("list addresses of {dev}");
        let index = self.index_of(dev).await.map_err(|e| rename_op(e, &op))?;
        self.handle()
            .address()
            .get()
            .set_link_index_filter(index)
            .execute()
            .try_collect()
            .await
            .map_err(|e| KernelError::from_rtnl(op, e))
    }

    /// IPv6 addresses on `dev` still in duplicate address detection (IFA_F_TENTATIVE):
    /// the kernel drops packets from and to them, so they are not usable yet.
    pub async fn tentative_addresses(&self, dev: &str) -> Result<Vec<IpNet>, KernelError> {
        let msgs = self.address_messages(dev).await?;
        Ok(msgs.iter().filter(|m| is_tentative(m)).filter_map(address_of).collect())
    }

    /// Waits until no address of `dev` is tentative, at most `timeout`, polling
    /// after 2 ms, then less often (up to every 50 ms: DAD itself takes a second).
    /// Returns the addresses still tentative then (empty: all usable).
    pub async fn wait_not_tentative(&self, dev: &str, timeout: Duration) -> Result<Vec<IpNet>, KernelError> {
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(2);
        loop {
            let tentative = self.tentative_addresses(dev).await?;
            if tentative.is_empty() || Instant::now() >= deadline {
                return Ok(tentative);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

/// IFA_FLAGS (32 bits) supersedes the header's 8 flag bits when present.
fn is_tentative(m: &AddressMessage) -> bool {
    m.header.flags.contains(AddressHeaderFlags::Tentative)
        || m.attributes
            .iter()
            .any(|a| matches!(a, AddressAttribute::Flags(f) if f.contains(AddressFlags::Tentative)))
}

/// The interface's own address: IFA_LOCAL when present (it differs from
/// IFA_ADDRESS only on point-to-point links, where IFA_ADDRESS is the peer).
fn address_of(m: &AddressMessage) -> Option<IpNet> {
    let mut local = None;
    let mut address = None;
    for a in &m.attributes {
        match a {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            _ => {}
        }
    }
    let ip: IpAddr = local.or(address)?;
    IpNet::new(ip, m.header.prefix_len).ok()
}
