//! Traffic control over rtnetlink: patch mode (ingress qdisc, u32 filter
//! and mirred redirect) and netem root qdiscs. Messages are built here and
//! sent on the namespace's connection; no `tc` processes.

use futures::{StreamExt, TryStreamExt};
use netlink_packet_core::{
    DefaultNla, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE,
    NLM_F_REQUEST,
};
use netlink_packet_route::tc::{
    TcActionAttribute, TcActionMirrorOption, TcActionOption, TcAttribute, TcFilterU32Option, TcHandle,
    TcMessage, TcMirrorActionType, TcOption,
};
use netlink_packet_route::RouteNetlinkMessage;

use conlink_settings::Netem;

use crate::error::KernelError;
use crate::netem::netem_options;
use crate::nl::Nl;

/// `tc filter … parent ffff:`: filters hang off the ingress qdisc's handle.
const INGRESS_PARENT: u32 = 0xffff_0000;
/// Our redirect filter's preference; fixed so re-applying finds it.
const PATCH_PRIO: u16 = 1;
/// TCA_OPTIONS in a tcmsg: netem's is a struct + attributes, not plain
/// nested attributes, so it is emitted as raw bytes.
const TCA_OPTIONS: u16 = 2;

/// ETH_P_ALL in network byte order: tcm_info's low 16 bits hold the
/// protocol as the kernel compares it with skb->protocol (big endian).
fn proto_all() -> u16 {
    (libc::ETH_P_ALL as u16).to_be()
}

/// tc errno mapping: an unknown qdisc/classifier/action kind is ENOENT
/// ("Specified qdisc kind is unknown") or EOPNOTSUPP on a kernel built
/// without it (devices are resolved before, so ENOENT means the kind).
fn tc_error(op: &str, feature: &str, e: rtnetlink::Error) -> KernelError {
    if let rtnetlink::Error::NetlinkError(m) = &e {
        let errno = -m.raw_code();
        if errno == libc::ENOENT || errno == libc::EOPNOTSUPP {
            return KernelError::Unsupported { op: op.to_string(), feature: feature.to_string() };
        }
    }
    KernelError::from_rtnl(op, e)
}

/// The u32 filter message that redirects every frame arriving on `from`
/// to the egress of `to`: `tc filter add dev FROM parent ffff: protocol all
/// prio 1 u32 match u8 0 0 action mirred egress redirect dev TO`.
pub(crate) fn redirect_filter_message(from: u32, to: u32) -> Result<TcMessage, String> {
    // Same layout as rtnetlink's TrafficFilterNewRequest::redirect, built
    // here so the message can be unit-tested and sent with our flags.
    use netlink_packet_route::tc::{
        TcAction, TcActionGeneric, TcActionMirror, TcActionType, TcFilterU32, TcMirror, TcU32Key,
        TcU32Selector, TcU32SelectorFlags,
    };
    let mut sel = TcU32Selector::default();
    // "match u8 0 0": one key with mask 0 matches every frame; terminal so
    // the action runs.
    sel.flags = TcU32SelectorFlags::Terminal;
    sel.nkeys = 1;
    sel.keys = vec![TcU32Key::default()];
    let mut mirror = TcMirror::default();
    mirror.generic = TcActionGeneric::default();
    // STOLEN: the frame is consumed by the redirect, never delivered to
    // the stack of the device it arrived on.
    mirror.generic.action = TcActionType::Stolen;
    mirror.eaction = TcMirrorActionType::EgressRedir;
    mirror.ifindex = to;
    let mut action = TcAction::default();
    action.attributes = vec![
        TcActionAttribute::Kind(TcActionMirror::KIND.to_string()),
        TcActionAttribute::Options(vec![TcActionOption::Mirror(TcActionMirrorOption::Parms(mirror))]),
    ];
    let mut msg = TcMessage::with_index(i32::try_from(from).map_err(|e| e.to_string())?);
    msg.header.parent = INGRESS_PARENT.into();
    msg.header.info = ((PATCH_PRIO as u32) << 16) | proto_all() as u32;
    msg.attributes = vec![
        TcAttribute::Kind(TcFilterU32::KIND.to_string()),
        TcAttribute::Options(vec![
            TcOption::U32(TcFilterU32Option::Selector(sel)),
            TcOption::U32(TcFilterU32Option::Action(vec![action])),
        ]),
    ];
    Ok(msg)
}

/// Root netem qdisc message (`tc qdisc replace dev DEV root netem …`).
pub(crate) fn netem_qdisc_message(index: i32, netem: &Netem) -> TcMessage {
    let mut msg = TcMessage::with_index(index);
    msg.header.parent = TcHandle::ROOT;
    msg.attributes = vec![
        TcAttribute::Kind("netem".to_string()),
        TcAttribute::Other(DefaultNla::new(TCA_OPTIONS, netem_options(netem))),
    ];
    msg
}

impl Nl {
    /// Send one tc request and wait for the ack.
    async fn tc_request(&self, msg: RouteNetlinkMessage, flags: u16) -> Result<(), rtnetlink::Error> {
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        let mut handle = self.handle().clone();
        let mut replies = handle.request(req)?;
        while let Some(m) = replies.next().await {
            if let NetlinkPayload::Error(e) = m.payload {
                return Err(rtnetlink::Error::NetlinkError(e));
            }
        }
        Ok(())
    }

    async fn index_i32(&self, dev: &str) -> Result<i32, KernelError> {
        let idx = self.index_of(dev).await?;
        i32::try_from(idx).map_err(|_| KernelError::invalid(format!("look up {dev}"), "ifindex out of range"))
    }

    /// Patch one direction: every frame arriving on `from_dev` leaves
    /// `to_dev` unchanged (STP, LLDP, LACP included, unlike a bridge).
    /// Adds the ingress qdisc (adopting an existing one) and the redirect
    /// filter; a redirect already present is kept (idempotent).
    pub async fn mirred_redirect(&self, from_dev: &str, to_dev: &str) -> Result<(), KernelError> {
        let op = format!("redirect {from_dev} to {to_dev}");
        let from = self.index_i32(from_dev).await?;
        let to = self.index_of(to_dev).await?;
        let qop = format!("add ingress qdisc on {from_dev}");
        match self.handle().qdisc().add(from).ingress().execute().await {
            Ok(()) => {}
            Err(e) => {
                let e = tc_error(&qop, "ingress qdisc (CONFIG_NET_SCH_INGRESS)", e);
                if !e.is_exists() {
                    return Err(e);
                }
            }
        }
        match self.mirred_target(from_dev).await? {
            Some(current) if current == to => return Ok(()),
            // The peer was recreated (new ifindex): drop the stale redirect with its qdisc.
            Some(_) => {
                self.clear_ingress(from_dev).await?;
                if let Err(e) = self.handle().qdisc().add(from).ingress().execute().await {
                    return Err(tc_error(&qop, "ingress qdisc (CONFIG_NET_SCH_INGRESS)", e));
                }
            }
            None => {}
        }
        let msg = redirect_filter_message(from as u32, to).map_err(|d| KernelError::invalid(&op, d))?;
        self.tc_request(RouteNetlinkMessage::NewTrafficFilter(msg), NLM_F_CREATE | NLM_F_EXCL)
            .await
            .map_err(|e| tc_error(&op, "u32 classifier or mirred action", e))
    }

    /// Remove `dev`'s ingress qdisc and with it every ingress filter; absent is fine.
    pub async fn clear_ingress(&self, dev: &str) -> Result<(), KernelError> {
        self.delete_qdisc(
            dev,
            TcHandle::INGRESS,
            TcHandle { major: 0xffff, minor: 0 },
            "remove ingress qdisc of",
        )
        .await
    }

    /// Deletes the qdisc at `parent`/`handle` of `dev`; none there is fine.
    async fn delete_qdisc(
        &self,
        dev: &str,
        parent: TcHandle,
        handle: TcHandle,
        what: &str,
    ) -> Result<(), KernelError> {
        let op = format!("{what} {dev}");
        let idx = self.index_i32(dev).await?;
        let mut msg = TcMessage::with_index(idx);
        msg.header.parent = parent;
        msg.header.handle = handle;
        match self.tc_request(RouteNetlinkMessage::DelQueueDiscipline(msg), 0).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let e = KernelError::from_rtnl(&op, e);
                if e.is_not_found() || e.is_invalid() {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }

    /// True if `dev` has an ingress filter with a mirred action.
    pub async fn has_mirred(&self, dev: &str) -> Result<bool, KernelError> {
        Ok(self.mirred_target(dev).await?.is_some())
    }

    /// Ifindex a mirred action on `dev`'s ingress sends frames to.
    pub async fn mirred_target(&self, dev: &str) -> Result<Option<u32>, KernelError> {
        let op = format!("list ingress filters of {dev}");
        let idx = self.index_i32(dev).await?;
        // rtnetlink's ingress() asks for parent ffff:fff2; the kernel
        // resolves that to the ingress qdisc's block, same as ffff:.
        let filters: Vec<TcMessage> = self
            .handle()
            .traffic_filter(idx)
            .get()
            .ingress()
            .execute()
            .try_collect()
            .await
            .map_err(|e| KernelError::from_rtnl(&op, e))?;
        Ok(filters.iter().find_map(mirred_of))
    }

    /// Replace `dev`'s root qdisc with netem `netem`.
    pub async fn set_netem(&self, dev: &str, netem: &Netem) -> Result<(), KernelError> {
        let op = format!("set netem on {dev}");
        let idx = self.index_i32(dev).await?;
        let msg = netem_qdisc_message(idx, netem);
        self.tc_request(RouteNetlinkMessage::NewQueueDiscipline(msg), NLM_F_CREATE | NLM_F_REPLACE)
            .await
            .map_err(|e| tc_error(&op, "netem qdisc", e))
    }

    /// Remove `dev`'s root qdisc (back to the default); absent is fine.
    pub async fn clear_netem(&self, dev: &str) -> Result<(), KernelError> {
        self.delete_qdisc(dev, TcHandle::ROOT, TcHandle::UNSPEC, "clear netem on").await
    }

    /// Kind of `dev`'s root qdisc ("netem", "noqueue", …), if any.
    pub async fn root_qdisc_kind(&self, dev: &str) -> Result<Option<String>, KernelError> {
        let op = format!("list qdiscs of {dev}");
        let idx = self.index_i32(dev).await?;
        let all: Vec<TcMessage> = self
            .handle()
            .qdisc()
            .get()
            .index(idx)
            .execute()
            .try_collect()
            .await
            .map_err(|e| KernelError::from_rtnl(&op, e))?;
        Ok(all.iter().filter(|m| m.header.index == idx && m.header.parent == TcHandle::ROOT).find_map(|m| {
            m.attributes.iter().find_map(|a| match a {
                TcAttribute::Kind(k) => Some(k.clone()),
                _ => None,
            })
        }))
    }
}

/// The redirect target of a u32 filter message carrying a mirred action.
fn mirred_of(m: &TcMessage) -> Option<u32> {
    m.attributes.iter().find_map(|a| match a {
        TcAttribute::Options(opts) => opts.iter().find_map(|o| match o {
            TcOption::U32(TcFilterU32Option::Action(actions)) => actions.iter().find_map(|act| {
                act.attributes.iter().find_map(|aa| match aa {
                    TcActionAttribute::Options(ao) => ao.iter().find_map(|x| match x {
                        TcActionOption::Mirror(TcActionMirrorOption::Parms(p)) => Some(p.ifindex),
                        _ => None,
                    }),
                    _ => None,
                })
            }),
            _ => None,
        }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::Emitable;

    #[test]
    fn redirect_filter_is_u32_match_all_with_mirred_egress_redirect() {
        let m = redirect_filter_message(7, 9).unwrap();
        assert_eq!(m.header.index, 7);
        assert_eq!(u32::from(m.header.parent), 0xffff_0000, "parent ffff:");
        // prio 1, protocol all (0x0003 big endian) in tcm_info.
        assert_eq!(m.header.info >> 16, 1);
        assert_eq!((m.header.info & 0xffff) as u16, 0x0003u16.to_be());
        assert!(m.attributes.contains(&TcAttribute::Kind("u32".into())));
        assert_eq!(mirred_of(&m), Some(9), "mirred redirect to ifindex 9");
        // The emitted tc_mirred: eaction TCA_EGRESS_REDIR (1), action
        // TC_ACT_STOLEN (4), ifindex 9.
        let mut buf = vec![0u8; m.buffer_len()];
        m.emit(&mut buf);
        // tc_gen: index, capab, action(4 = STOLEN), refcnt, bindcnt; then
        // eaction (1 = TCA_EGRESS_REDIR), ifindex.
        let gen: Vec<u8> = [0u32.to_ne_bytes(), 0u32.to_ne_bytes(), 4i32.to_ne_bytes()].concat();
        assert!(buf.windows(gen.len()).any(|w| w == gen), "STOLEN in {buf:?}");
        let tail: Vec<u8> = [1i32.to_ne_bytes(), 9u32.to_ne_bytes()].concat();
        assert!(buf.windows(tail.len()).any(|w| w == tail), "eaction+ifindex in {buf:?}");
        assert!(buf.windows(7).any(|w| w == b"mirred\0"));
    }

    #[test]
    fn netem_message_is_root_qdisc_with_raw_options() {
        let n = Netem::parse("delay 100ms").unwrap();
        let m = netem_qdisc_message(3, &n);
        assert_eq!(m.header.parent, TcHandle::ROOT);
        assert!(m.attributes.contains(&TcAttribute::Kind("netem".into())));
        let opts = m.attributes.iter().find_map(|a| match a {
            TcAttribute::Other(o) => Some(o.clone()),
            _ => None,
        });
        let opts = opts.expect("TCA_OPTIONS");
        let mut v = vec![0u8; netlink_packet_core::Nla::value_len(&opts)];
        netlink_packet_core::Nla::emit_value(&opts, &mut v);
        assert_eq!(v, netem_options(&n));
        assert_eq!(netlink_packet_core::Nla::kind(&opts), TCA_OPTIONS);
    }
}
