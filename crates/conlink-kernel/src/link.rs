//! Reading and changing existing links (RTM_GETLINK / RTM_SETLINK /
//! RTM_DELLINK). Requests address links by name where the kernel allows it
//! (IFLA_IFNAME with index 0), saving a lookup round trip.

use futures::TryStreamExt;
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkInfo as NlLinkInfo, LinkMessage};
use rtnetlink::{LinkMessageBuilder, LinkUnspec};

use crate::error::KernelError;
use crate::nl::{check_ifname, Nl};

/// A link as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    /// IFLA_INFO_KIND ("veth", "bridge", ...); None for physical/loopback.
    pub kind: Option<String>,
    pub mac: Option<[u8; 6]>,
    pub mtu: u32,
    /// Administrative state (IFF_UP).
    pub up: bool,
    /// Index of the bridge/controller this link is enslaved to.
    pub master: Option<u32>,
    /// Interface group (IFLA_GROUP, 0 by default).
    pub group: u32,
    /// IFLA_IFALIAS, when set.
    pub alias: Option<String>,
}

impl LinkInfo {
    pub(crate) fn from_msg(m: &LinkMessage) -> LinkInfo {
        let mut info = LinkInfo {
            index: m.header.index,
            name: String::new(),
            kind: None,
            mac: None,
            mtu: 0,
            up: m.header.flags.contains(LinkFlags::Up),
            master: None,
            group: 0,
            alias: None,
        };
        for attr in &m.attributes {
            match attr {
                LinkAttribute::IfName(n) => info.name = n.clone(),
                LinkAttribute::Mtu(v) => info.mtu = *v,
                LinkAttribute::Controller(i) if *i != 0 => info.master = Some(*i),
                LinkAttribute::Address(a) => info.mac = <[u8; 6]>::try_from(a.as_slice()).ok(),
                LinkAttribute::Group(g) => info.group = *g,
                LinkAttribute::IfAlias(a) if !a.is_empty() => info.alias = Some(a.clone()),
                LinkAttribute::LinkInfo(infos) => {
                    for i in infos {
                        if let NlLinkInfo::Kind(k) = i {
                            info.kind = Some(k.to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        info
    }
}

/// Format a MAC the usual way, for messages and logs.
pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

impl Nl {
    pub async fn link_by_name(&self, name: &str) -> Result<Option<LinkInfo>, KernelError> {
        let op = format!("look up {name}");
        Ok(self.link_msg(name, &op).await?.as_ref().map(LinkInfo::from_msg))
    }

    pub async fn link_by_index(&self, index: u32) -> Result<Option<LinkInfo>, KernelError> {
        let op = format!("look up link #{index}");
        match self.handle().link().get().match_index(index).execute().try_next().await {
            Ok(m) => Ok(m.as_ref().map(LinkInfo::from_msg)),
            Err(e) => match KernelError::from_rtnl(op, e) {
                e if e.is_not_found() => Ok(None),
                e => Err(e),
            },
        }
    }

    /// All links of the namespace (one dump).
    pub async fn links(&self) -> Result<Vec<LinkInfo>, KernelError> {
        let msgs: Vec<LinkMessage> = self
            .handle()
            .link()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(|e| KernelError::from_rtnl("list links", e))?;
        Ok(msgs.iter().map(LinkInfo::from_msg).collect())
    }

    /// Send an RTM_SETLINK built by `f` on a name-addressed message.
    async fn set_by_name(
        &self,
        op: String,
        dev: &str,
        f: impl FnOnce(LinkMessageBuilder<LinkUnspec>) -> LinkMessageBuilder<LinkUnspec>,
    ) -> Result<(), KernelError> {
        check_ifname(&op, dev)?;
        let msg = f(LinkUnspec::new_with_name(dev)).build();
        self.handle().link().set(msg).execute().await.map_err(|e| KernelError::from_rtnl(op, e))
    }

    pub async fn set_up(&self, dev: &str, up: bool) -> Result<(), KernelError> {
        let op = format!("set {dev} {}", if up { "up" } else { "down" });
        self.set_by_name(op, dev, |b| if up { b.up() } else { b.down() }).await
    }

    pub async fn set_mac(&self, dev: &str, mac: [u8; 6]) -> Result<(), KernelError> {
        let op = format!("set mac of {dev} to {}", format_mac(&mac));
        self.set_by_name(op, dev, |b| b.address(mac.to_vec())).await
    }

    pub async fn set_mtu(&self, dev: &str, mtu: u32) -> Result<(), KernelError> {
        let op = format!("set mtu of {dev} to {mtu}");
        self.set_by_name(op, dev, |b| b.mtu(mtu)).await
    }

    /// Enslave `dev` to `bridge`, or detach it from any bridge with None.
    pub async fn set_master(&self, dev: &str, bridge: Option<&str>) -> Result<(), KernelError> {
        match bridge {
            Some(br) => {
                let op = format!("attach {dev} to bridge {br}");
                let idx = self.index_of(br).await.map_err(|e| rename_op(e, &op))?;
                self.set_by_name(op, dev, |b| b.controller(idx)).await
            }
            None => {
                let op = format!("detach {dev} from its bridge");
                self.set_by_name(op, dev, |b| b.nocontroller()).await
            }
        }
    }

    /// Set IFLA_IFALIAS of `dev` (the kernel ignores it in creation requests).
    pub async fn set_alias(&self, dev: &str, alias: &str) -> Result<(), KernelError> {
        let op = format!("set alias of {dev}");
        self.set_by_name(op, dev, |b| b.append_extra_attribute(LinkAttribute::IfAlias(alias.to_string())))
            .await
    }

    /// Sets the alias and brings `dev` up, in one request.
    pub async fn set_alias_and_up(&self, dev: &str, alias: &str) -> Result<(), KernelError> {
        let op = format!("set alias of {dev} and bring it up");
        self.set_by_name(op, dev, |b| {
            b.append_extra_attribute(LinkAttribute::IfAlias(alias.to_string())).up()
        })
        .await
    }

    /// Rename `dev` (the kernel requires the link to be down for this).
    pub async fn set_name(&self, dev: &str, new: &str) -> Result<(), KernelError> {
        let op = format!("rename {dev} to {new}");
        check_ifname(&op, new)?;
        // IFLA_IFNAME carries the new name here, so the link must be named by index.
        let idx = self.index_of(dev).await.map_err(|e| rename_op(e, &op))?;
        let msg = LinkUnspec::new_with_index(idx).name(new.to_string()).build();
        self.handle().link().set(msg).execute().await.map_err(|e| KernelError::from_rtnl(op, e))
    }

    /// Delete `dev` (for a veth, the peer goes too). Ok(false) if it did not exist.
    pub async fn delete_link(&self, dev: &str) -> Result<bool, KernelError> {
        let op = format!("delete {dev}");
        check_ifname(&op, dev)?;
        let msg = LinkUnspec::new_with_name(dev).build();
        match self.handle().link().del_with_message(msg).execute().await {
            Ok(()) => Ok(true),
            Err(e) => match KernelError::from_rtnl(op, e) {
                e if e.is_not_found() => Ok(false),
                e => Err(e),
            },
        }
    }
}

impl Nl {
    /// Delete every link of interface group `group` (non-zero) in one
    /// request, like `ip link del group N`. The kernel unregisters them as
    /// one batch (one set of RCU grace periods for all, instead of one set
    /// per link), which makes removing hundreds of veths a matter of
    /// milliseconds instead of seconds. Ok(false) when no link had the group.
    pub async fn delete_group(&self, group: u32) -> Result<bool, KernelError> {
        let op = format!("delete link group {group}");
        if group == 0 {
            // Group 0 is every link's default: never delete "all links".
            return Err(KernelError::invalid(op, "group 0 is the default group of every link"));
        }
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::Group(group));
        match self.handle().link().del_with_message(msg).execute().await {
            Ok(()) => Ok(true),
            Err(e) => match KernelError::from_rtnl(op, e) {
                e if e.is_not_found() => Ok(false),
                e => Err(e),
            },
        }
    }
}

/// Re-label an error from a helper lookup with the user-level operation.
pub(crate) fn rename_op(e: KernelError, op: &str) -> KernelError {
    match e {
        KernelError::NotFound { detail, .. } => KernelError::NotFound { op: op.to_string(), detail },
        other => other,
    }
}
