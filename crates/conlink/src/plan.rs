//! Planning: configuration + facts about one container → the interfaces it must have.
//!
//! Pure: no I/O, so matching, naming and replica increments are unit-tested here.

use conlink_config::{
    outer_dev_name, replica_values, BridgeMode, ChildKind, EthtoolSetting, Forward, Link, LinkType, MacAddr,
    Netem, NetworkConfig, Route, Target,
};
use ipnet::IpNet;
use std::net::IpAddr;

/// What the planner needs to know about a container (from the engine or the netns runtime).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerFacts {
    pub id: String,
    pub name: String,
    pub compose_project: Option<String>,
    pub compose_working_dir: Option<String>,
    pub compose_service: Option<String>,
    /// Compose replica index (1-based).
    pub compose_index: Option<u32>,
}

/// The compose project conlink serves (from its own container's labels or `--compose-project`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectScope {
    /// `None`: no project known, `service` links match that service in any project.
    pub project: Option<String>,
    pub working_dir: Option<String>,
}

/// One interface to create in a container, with replica increments applied.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedLink {
    /// Index of the link in `NetworkConfig::links` (for messages: `/links/N`).
    pub link_index: usize,
    pub link_type: LinkType,
    /// Name inside the container.
    pub dev: String,
    /// veth: name of the outer end in conlink's namespace; *vlan/*vtap: host parent.
    pub outer: Option<String>,
    pub bridge: Option<String>,
    pub bridge_mode: Option<BridgeMode>,
    pub ip: Vec<IpNet>,
    pub mac: Option<MacAddr>,
    pub mtu: Option<u32>,
    pub route: Vec<Route>,
    pub nat: Option<IpAddr>,
    pub netem: Option<Netem>,
    /// What to create for a link with a host parent (vlan, macvlan, …).
    pub child: Option<ChildKind>,
    pub forward: Vec<Forward>,
    pub ethtool: Vec<EthtoolSetting>,
}

/// The replica index a link applies with, if the link's target matches the container.
/// Container links always use index 1 (no increments).
pub fn match_target(target: &Target, facts: &ContainerFacts, scope: &ProjectScope) -> Option<u32> {
    match target {
        Target::Container(name) => (name == &facts.name).then_some(1),
        Target::Service(service) => {
            if facts.compose_service.as_deref() != Some(service.as_str()) {
                return None;
            }
            if let Some(project) = &scope.project {
                if facts.compose_project.as_deref() != Some(project.as_str()) {
                    return None;
                }
                // Two checkouts can share a project name; the working dir tells them apart when both are known.
                if let (Some(want), Some(have)) = (&scope.working_dir, &facts.compose_working_dir) {
                    if want != have {
                        return None;
                    }
                }
            }
            Some(facts.compose_index.unwrap_or(1).max(1))
        }
    }
}

/// A link that cannot be planned for this replica (its increments would wrap).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("/links/{link_index} for container {container}: {reason}")]
pub struct PlanError {
    pub link_index: usize,
    pub container: String,
    pub reason: String,
}

/// Every interface `facts` must have under `cfg`, in config order.
pub fn plan_container(
    cfg: &NetworkConfig,
    facts: &ContainerFacts,
    scope: &ProjectScope,
) -> Result<Vec<PlannedLink>, PlanError> {
    cfg.links
        .iter()
        .enumerate()
        .filter_map(|(i, link)| {
            match_target(&link.target, facts, scope).map(|n| plan_link(cfg, i, link, facts, n))
        })
        .collect()
}

/// Names of the containers/services a command applies to, in config order.
pub fn commands_for<'a>(
    cfg: &'a NetworkConfig,
    facts: &ContainerFacts,
    scope: &ProjectScope,
) -> Vec<&'a conlink_config::CommandLine> {
    cfg.commands
        .iter()
        .filter(|c| match_target(&c.target, facts, scope).is_some())
        .map(|c| &c.command)
        .collect()
}

fn plan_link(
    cfg: &NetworkConfig,
    link_index: usize,
    link: &Link,
    facts: &ContainerFacts,
    replica: u32,
) -> Result<PlannedLink, PlanError> {
    let values = replica_values(link, replica).map_err(|reason| PlanError {
        link_index,
        container: facts.name.clone(),
        reason,
    })?;
    let is_service = matches!(link.target, Target::Service(_));
    let outer =
        match link.link_type {
            LinkType::Veth => Some(link.outer_dev.clone().unwrap_or_else(|| {
                outer_dev_name(link.target.name(), is_service.then_some(replica), &link.dev)
            })),
            LinkType::Dummy => None,
            _ => link.outer_dev.clone(),
        };
    Ok(PlannedLink {
        link_index,
        link_type: link.link_type,
        dev: link.dev.clone(),
        outer,
        bridge: link.bridge.clone(),
        bridge_mode: link.bridge.as_ref().and_then(|b| cfg.bridges.get(b)).map(|b| b.mode),
        ip: values.ip,
        mac: values.mac,
        mtu: link.mtu,
        route: link.route.clone(),
        nat: link.nat,
        netem: link.netem.clone(),
        child: link.child_kind(),
        forward: values.forward,
        ethtool: link.ethtool.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use conlink_config::{Bridge, Proto};
    use std::collections::BTreeMap;

    fn link(target: Target, dev: &str, ip: &str) -> Link {
        Link {
            ip: vec![ip.parse().unwrap()],
            mac: Some("00:0a:0b:0c:0d:01".parse().unwrap()),
            mtu: Some(4111),
            forward: vec![Forward { conlink_port: 80, container_port: 80, proto: Proto::Tcp }],
            ..Link::veth(target, dev, "s1")
        }
    }

    fn cfg(links: Vec<Link>) -> NetworkConfig {
        let mut bridges = BTreeMap::new();
        bridges.insert("s1".to_string(), Bridge { name: "s1".into(), mode: BridgeMode::Linux });
        NetworkConfig { bridges, links, ..Default::default() }
    }

    fn replica(service: &str, project: &str, n: u32) -> ContainerFacts {
        ContainerFacts {
            id: format!("{n:0>64}"),
            name: format!("{project}-{service}-{n}"),
            compose_project: Some(project.into()),
            compose_working_dir: Some("/work".into()),
            compose_service: Some(service.into()),
            compose_index: Some(n),
        }
    }

    fn scope(project: &str) -> ProjectScope {
        ProjectScope { project: Some(project.into()), working_dir: Some("/work".into()) }
    }

    #[test]
    fn replicas_get_incremented_ip_mac_and_forward_port() {
        let c = cfg(vec![link(Target::Service("node".into()), "eth0", "10.0.1.1/16")]);
        let p1 = plan_container(&c, &replica("node", "t2", 1), &scope("t2")).unwrap();
        let p5 = plan_container(&c, &replica("node", "t2", 5), &scope("t2")).unwrap();
        assert_eq!(p1.len(), 1);
        assert_eq!(p1[0].ip, vec!["10.0.1.1/16".parse::<IpNet>().unwrap()]);
        assert_eq!(p5[0].ip, vec!["10.0.1.5/16".parse::<IpNet>().unwrap()]);
        assert_eq!(p1[0].mac.unwrap().to_string(), "00:0a:0b:0c:0d:01");
        assert_eq!(p5[0].mac.unwrap().to_string(), "00:0a:0b:0c:0d:05");
        assert_eq!(p1[0].forward[0].conlink_port, 80);
        assert_eq!(p5[0].forward[0].conlink_port, 84);
        assert_eq!(p5[0].forward[0].container_port, 80);
        assert_eq!(p5[0].outer.as_deref(), Some("node_5-eth0"));
        assert_eq!(p5[0].bridge_mode, Some(BridgeMode::Linux));
        assert_eq!(p5[0].mtu, Some(4111));
    }

    #[test]
    fn service_links_only_match_their_project_and_service() {
        let c = cfg(vec![link(Target::Service("node".into()), "eth0", "10.0.1.1/16")]);
        assert!(plan_container(&c, &replica("node", "other", 1), &scope("t2")).unwrap().is_empty());
        assert!(plan_container(&c, &replica("web", "t2", 1), &scope("t2")).unwrap().is_empty());
        let mut elsewhere = replica("node", "t2", 1);
        elsewhere.compose_working_dir = Some("/elsewhere".into());
        assert!(plan_container(&c, &elsewhere, &scope("t2")).unwrap().is_empty());
        // Unknown working dir on either side does not prevent a match.
        elsewhere.compose_working_dir = None;
        assert_eq!(plan_container(&c, &elsewhere, &scope("t2")).unwrap().len(), 1);
        // No project known: any project's `node` service matches.
        assert_eq!(
            plan_container(&c, &replica("node", "other", 2), &ProjectScope::default()).unwrap().len(),
            1
        );
    }

    #[test]
    fn container_links_match_by_full_name_without_increments() {
        let c = cfg(vec![link(Target::Container("node-a".into()), "eth1", "192.0.2.7/24")]);
        let facts = ContainerFacts { id: "abc".into(), name: "node-a".into(), ..Default::default() };
        let p = plan_container(&c, &facts, &ProjectScope::default()).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].ip, vec!["192.0.2.7/24".parse::<IpNet>().unwrap()]);
        assert_eq!(p[0].outer.as_deref(), Some("node-a-eth1"));
        let other = ContainerFacts { name: "node-ab".into(), ..facts };
        assert!(plan_container(&c, &other, &ProjectScope::default()).unwrap().is_empty());
    }

    #[test]
    fn explicit_outer_dev_wins_and_long_names_are_shortened() {
        let mut l = link(Target::Container("a-very-long-container-name".into()), "eth0", "192.0.2.1/24");
        let facts = ContainerFacts {
            id: "0123456789abcdef".into(),
            name: "a-very-long-container-name".into(),
            ..Default::default()
        };
        let p = plan_container(&cfg(vec![l.clone()]), &facts, &ProjectScope::default()).unwrap();
        assert_eq!(
            p[0].outer.as_deref(),
            Some(outer_dev_name("a-very-long-container-name", None, "eth0").as_str())
        );
        assert!(p[0].outer.as_deref().unwrap().starts_with("a-very-"));
        l.outer_dev = Some("custom0".into());
        let p = plan_container(&cfg(vec![l]), &facts, &ProjectScope::default()).unwrap();
        assert_eq!(p[0].outer.as_deref(), Some("custom0"));
    }

    #[test]
    fn three_links_of_one_long_named_container_get_three_names() {
        // Config that exposed it: eth-s1..3 of one container all became c<id8>-eth-s.
        let c = cfg(["eth-s1", "eth-s2", "eth-s3"]
            .iter()
            .map(|d| link(Target::Container("a-long-router".into()), d, "192.0.2.1/24"))
            .collect());
        let facts = ContainerFacts {
            id: "0123456789abcdef".into(),
            name: "a-long-router".into(),
            ..Default::default()
        };
        let p = plan_container(&c, &facts, &ProjectScope::default()).unwrap();
        let names: std::collections::BTreeSet<_> = p.iter().map(|l| l.outer.clone().unwrap()).collect();
        assert_eq!(names.len(), 3, "{names:?}");
        // A netns-runtime node (id `node:NAME`) gets a name without ':'.
        let node = ContainerFacts {
            id: "node:abcdefghijkl".into(),
            name: "abcdefghijkl".into(),
            ..Default::default()
        };
        let c = cfg(vec![link(Target::Container("abcdefghijkl".into()), "eth0", "192.0.2.1/24")]);
        let p = plan_container(&c, &node, &ProjectScope::default()).unwrap();
        assert!(conlink_config::check_ifname(p[0].outer.as_deref().unwrap()).is_ok(), "{:?}", p[0].outer);
    }

    #[test]
    fn a_replica_whose_increments_wrap_is_a_plan_error() {
        let mut l = link(Target::Service("node".into()), "eth0", "10.0.1.1/16");
        l.forward[0].conlink_port = 65534;
        let c = cfg(vec![l]);
        assert!(plan_container(&c, &replica("node", "t2", 2), &scope("t2")).is_ok());
        let e = plan_container(&c, &replica("node", "t2", 3), &scope("t2")).unwrap_err();
        assert_eq!(e.link_index, 0);
        assert!(e.to_string().contains("replica 3: forward port 65534 + 2 is past 65535"), "{e}");
    }

    #[test]
    fn links_keep_config_order_and_index() {
        let c = cfg(vec![
            link(Target::Service("r0".into()), "eth-s1", "192.168.1.1/24"),
            link(Target::Service("h1".into()), "eth0", "192.168.1.100/24"),
            link(Target::Service("r0".into()), "eth-s2", "172.16.0.1/12"),
        ]);
        let p = plan_container(&c, &replica("r0", "t1", 1), &scope("t1")).unwrap();
        assert_eq!(
            p.iter().map(|l| (l.link_index, l.dev.as_str())).collect::<Vec<_>>(),
            vec![(0, "eth-s1"), (2, "eth-s2")]
        );
    }
}
