//! Conflicts between entries, found at config time wherever they can be
//! known: two things wanting one interface name in conlink's namespace
//! (bridges, tunnel devices, outer veth ends, conlink's own names), two
//! forwards on one conlink port, replica increments that would wrap. Each
//! issue names both places. Replica counts come from compose (`scale`,
//! `deploy.replicas`); without one, replica 1 is checked here and the
//! planner checks every replica that appears.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::ConfigIssue;
use crate::model::{LinkType, NetworkConfig, Proto, Target};
use crate::naming::{outer_dev_name, RESERVED_IFNAMES};
use crate::replicas::replica_values;

/// Replica checks done per load at most; past it only each link's last
/// replica is checked (a hostile `scale: 4000000000` stays cheap).
const REPLICA_CHECK_BUDGET: usize = 100_000;

/// Renders a merged pointer for a message (`/links/3 (net.yaml: links[1])`).
pub type Describe<'a> = &'a dyn Fn(&str) -> String;

/// Every conflict in `cfg` (enriched from `doc`, same indexes).
pub fn check(
    doc: &Value,
    cfg: &NetworkConfig,
    scales: &BTreeMap<String, u32>,
    describe: Describe,
) -> Vec<ConfigIssue> {
    let mut out = Vec::new();
    let replicas = Replicas::new(cfg, scales);
    check_names(doc, cfg, &replicas, describe, &mut out);
    check_forwards(cfg, &replicas, describe, &mut out);
    check_increments(cfg, &replicas, &mut out);
    out
}

/// Which replicas of each link to check, within the budget.
struct Replicas<'a> {
    scales: &'a BTreeMap<String, u32>,
    exhaustive: bool,
}

impl<'a> Replicas<'a> {
    fn new(cfg: &NetworkConfig, scales: &'a BTreeMap<String, u32>) -> Self {
        let total: usize = cfg.links.iter().map(|l| Self::count(scales, &l.target) as usize).sum();
        Replicas { scales, exhaustive: total <= REPLICA_CHECK_BUDGET }
    }

    fn count(scales: &BTreeMap<String, u32>, t: &Target) -> u32 {
        match t {
            Target::Service(s) => scales.get(s).copied().unwrap_or(1).max(1),
            Target::Container(_) => 1,
        }
    }

    /// Replica numbers (1-based) to check for a link to `t`.
    fn of(&self, t: &Target) -> Vec<u32> {
        let n = Self::count(self.scales, t);
        if self.exhaustive {
            (1..=n).collect()
        } else {
            vec![n]
        }
    }

    fn is_service(t: &Target) -> bool {
        matches!(t, Target::Service(_))
    }
}

/// Names taken so far in conlink's namespace: name → (pointer, what).
type Taken = BTreeMap<String, (String, String)>;

fn check_names(
    doc: &Value,
    cfg: &NetworkConfig,
    replicas: &Replicas,
    describe: Describe,
    out: &mut Vec<ConfigIssue>,
) {
    let mut taken: Taken = BTreeMap::new();
    let claim = |taken: &mut Taken, name: &str, ptr: String, what: String, out: &mut Vec<ConfigIssue>| {
        if RESERVED_IFNAMES.contains(&name) {
            let why =
                if name == "lo" { "loopback" } else { "the name conlink gives the engine's own interface" };
            out.push(ConfigIssue::new(ptr, format!("{what} {name:?} is reserved: it is {why}")));
            return false;
        }
        match taken.get(name) {
            // The same bridge named again by another link or tunnel is the same bridge.
            Some((_, other)) if other == &what && what == "bridge" => true,
            Some((other_ptr, other)) => {
                out.push(ConfigIssue::new(
                    ptr,
                    format!("{what} {name:?} is also the name of the {other} at {}", describe(other_ptr)),
                ));
                false
            }
            None => {
                taken.insert(name.to_string(), (ptr, what));
                true
            }
        }
    };
    // Declared bridges first, then bridges only named by links and tunnels.
    let declared = doc.get("bridges").and_then(Value::as_array).into_iter().flatten().enumerate();
    for (i, b) in declared {
        if let Some(name) = b.get("bridge").and_then(Value::as_str) {
            claim(&mut taken, name, format!("/bridges/{i}/bridge"), "bridge".into(), out);
        }
    }
    for (i, l) in cfg.links.iter().enumerate() {
        if let Some(b) = &l.bridge {
            claim(&mut taken, b, format!("/links/{i}/bridge"), "bridge".into(), out);
        }
    }
    for (i, t) in cfg.tunnels.iter().enumerate() {
        claim(&mut taken, &t.bridge, format!("/tunnels/{i}/bridge"), "bridge".into(), out);
    }
    for (i, t) in cfg.tunnels.iter().enumerate() {
        let what = format!("{} tunnel device (vni {})", t.tunnel_type.as_str(), t.vni);
        claim(&mut taken, &t.dev_name(), format!("/tunnels/{i}"), what, out);
    }
    for (i, l) in cfg.links.iter().enumerate() {
        if l.link_type != LinkType::Veth {
            continue; // *vlan/*vtap name their host parent in outer-dev: shared on purpose.
        }
        let service = Replicas::is_service(&l.target);
        for r in replicas.of(&l.target) {
            let (name, ptr, what) = match &l.outer_dev {
                Some(o) => (o.clone(), format!("/links/{i}/outer-dev"), "outer-dev".to_string()),
                None => {
                    let replica = service.then_some(r);
                    let whose =
                        if service { format!("{} replica {r}", l.target) } else { l.target.to_string() };
                    (
                        outer_dev_name(l.target.name(), replica, &l.dev),
                        format!("/links/{i}"),
                        format!("outer interface of {whose} dev {}", l.dev),
                    )
                }
            };
            let several = Replicas::count(replicas.scales, &l.target) > 1;
            let what = if several && l.outer_dev.is_some() { format!("{what} of replica {r}") } else { what };
            if !claim(&mut taken, &name, ptr, what, out) {
                break; // One issue per link is enough.
            }
        }
    }
}

fn check_forwards(cfg: &NetworkConfig, replicas: &Replicas, describe: Describe, out: &mut Vec<ConfigIssue>) {
    let mut taken: BTreeMap<(bool, u16), (String, u32)> = BTreeMap::new();
    for (i, l) in cfg.links.iter().enumerate() {
        'link: for r in replicas.of(&l.target) {
            let Ok(values) = replica_values(l, r) else { break };
            for (j, f) in values.forward.iter().enumerate() {
                let ptr = if l.forward.len() == 1 {
                    format!("/links/{i}/forward")
                } else {
                    format!("/links/{i}/forward/{j}")
                };
                let key = (f.proto == Proto::Tcp, f.conlink_port);
                if let Some((other, other_r)) = taken.get(&key) {
                    let proto = if f.proto == Proto::Tcp { "tcp" } else { "udp" };
                    let mine = if r > 1 { format!(" (replica {r})") } else { String::new() };
                    let theirs = if *other_r > 1 { format!(" replica {other_r}") } else { String::new() };
                    out.push(ConfigIssue::new(
                        ptr,
                        format!(
                            "conlink port {}/{proto}{mine} is already forwarded by {}{theirs}",
                            f.conlink_port,
                            describe(other)
                        ),
                    ));
                    break 'link;
                }
                taken.insert(key, (ptr, r));
            }
        }
    }
}

fn check_increments(cfg: &NetworkConfig, replicas: &Replicas, out: &mut Vec<ConfigIssue>) {
    for (i, l) in cfg.links.iter().enumerate() {
        if !Replicas::is_service(&l.target) {
            continue;
        }
        if let Some(e) = replicas.of(&l.target).into_iter().find_map(|r| replica_values(l, r).err()) {
            let n = Replicas::count(replicas.scales, &l.target);
            out.push(ConfigIssue::new(
                format!("/links/{i}"),
                format!("{e} ({} declares {n} replicas)", l.target),
            ));
        }
    }
}
