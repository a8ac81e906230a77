//! conlink's side of the topology: its network namespace, bridges (linux, ovs, patch),
//! tunnels, Open vSwitch, the host namespace of *vlan parents and port forwarding.
//! Built once at start; `teardown` is the only way it is removed again (normal exit,
//! signal and start-up failure alike).

use std::collections::HashMap;

use anyhow::{bail, Context as _, Result};
use conlink_config::{BridgeMode, NetworkConfig};
use conlink_kernel::{Netns, Nl, Ovs, TunnelRequest};
use tracing::{debug, info, warn};

use super::blocking::off_runtime;
use super::forwarding::Forwarding;
use super::links::OUTER_GROUP;
use super::namespace::{host_netns_path, BridgeNamespace, Placement};
use super::ownership::{describe, is_marked, mark, Made};

/// Where conlink builds and which host namespace it may use.
pub struct InfraOptions<'a> {
    pub in_container: bool,
    /// The namespace for bridges (decided, and locked, before anything is touched).
    pub placement: &'a Placement,
    /// Namespace of *vlan/*vtap parents: a netns path or a PID (default PID 1's).
    pub host_netns: Option<&'a str>,
}

/// A linux bridge as the links see it.
#[derive(Debug, Clone, Copy)]
pub struct LinuxBridge {
    pub index: u32,
    /// The MAC every outer veth end on it gets: the bridge's own. A port's MAC only
    /// matters for frames the port itself sends (none: outer ends run no IPv6 and
    /// carry no address), and the kernel keeps one local FDB entry per distinct
    /// port MAC, which it walks on every port added and removed (a per-port cost
    /// that grew with the bridge). The kernel allows ports sharing a MAC.
    pub port_mac: Option<[u8; 6]>,
}

/// Everything conlink built outside the containers.
pub struct Infrastructure {
    pub namespace: BridgeNamespace,
    /// Netlink in conlink's namespace.
    pub nl: Nl,
    /// Namespace holding the parents of *vlan/*vtap links (opened only when needed).
    pub host_nl: Option<Nl>,
    /// Linux bridges (kernel devices) conlink made (this run, or marked by an earlier
    /// one): removed at exit. Bridges that existed unmarked are used and kept.
    bridges: Vec<String>,
    /// Each linux bridge's index and the MAC its veth ports get, resolved once at start.
    pub linux_bridges: HashMap<String, LinuxBridge>,
    tunnels: Vec<String>,
    pub ovs: Option<Ovs>,
    ovs_bridges: Vec<String>,
    pub forwarding: Forwarding,
}

impl Infrastructure {
    /// Builds conlink's namespace, bridges, tunnels and forwarding. On failure what was
    /// built so far is removed again (by `teardown`) before the error is returned.
    pub async fn build(cfg: &NetworkConfig, opts: &InfraOptions<'_>) -> Result<Infrastructure> {
        if opts.in_container {
            make_proc_sys_writable();
        }
        let host_nl = open_host_namespace(cfg, opts.host_netns).await?;
        let namespace = BridgeNamespace::open(opts.placement)
            .await
            .context("cannot set up conlink's network namespace")?;
        let (nl, forwarding) = match Self::open(cfg, &namespace).await {
            Ok(v) => v,
            Err(e) => {
                namespace.remove();
                return Err(e);
            }
        };
        let mut infra = Infrastructure {
            namespace,
            nl,
            host_nl,
            bridges: Vec::new(),
            linux_bridges: HashMap::new(),
            tunnels: Vec::new(),
            ovs: None,
            ovs_bridges: Vec::new(),
            forwarding,
        };
        if let Err(e) = infra.populate(cfg).await {
            infra.teardown().await;
            return Err(e);
        }
        Ok(infra)
    }

    async fn open(cfg: &NetworkConfig, namespace: &BridgeNamespace) -> Result<(Nl, Forwarding)> {
        let nl = Nl::connect(&namespace.netns).await.context("cannot open netlink in conlink's namespace")?;
        // Outer ends an earlier run left (e.g. after kill -9) go in one request; the
        // containers' links are rebuilt as they are handled.
        if nl.delete_group(OUTER_GROUP).await? {
            info!("removed links left by an earlier run");
        }
        let forwarding = Forwarding::prepare(cfg, &nl, &namespace.netns).await?;
        Ok((nl, forwarding))
    }

    /// Bridges, tunnels and forward sources; each recorded as soon as it exists.
    async fn populate(&mut self, cfg: &NetworkConfig) -> Result<()> {
        self.ovs = off_runtime(|| start_ovs(cfg, &self.namespace.netns, &self.namespace.label))?;
        for bridge in cfg.bridges.values() {
            match bridge.mode {
                BridgeMode::Linux => self.linux_bridge(&bridge.name).await?,
                // Patch "bridges" are pairs of tc redirects set up as their two ports appear.
                BridgeMode::Patch => info!(bridge = %bridge.name, "bridge ready (patch)"),
                BridgeMode::Ovs => {
                    let ovs =
                        self.ovs.as_ref().expect("Open vSwitch is started before ovs bridges are created");
                    off_runtime(|| ovs.add_bridge(&bridge.name))?;
                    info!(bridge = %bridge.name, userspace = ovs.userspace, "bridge ready (ovs)");
                    self.ovs_bridges.push(bridge.name.clone());
                }
                BridgeMode::Auto => unreachable!("auto is resolved when the config is loaded"),
            }
        }
        for b in cfg.bridges.values().filter(|b| b.mode == BridgeMode::Linux) {
            let Some(l) = self.nl.link_by_name(&b.name).await? else {
                bail!("bridge {} disappeared while conlink was starting", b.name);
            };
            self.linux_bridges.insert(b.name.clone(), LinuxBridge { index: l.index, port_mac: l.mac });
        }
        self.forwarding.add_sources(cfg, &self.nl).await?;
        self.create_tunnels(cfg).await?;
        // Outer veth ends are bridge ports only: without IPv6 they send no autoconf
        // multicast (flooded to every port) and add no routes (see conlink_kernel::ipv6).
        if let Err(e) = conlink_kernel::no_ipv6_on_new_links(&self.namespace.netns) {
            warn!("outer veth ends keep IPv6 autoconfiguration (slower with many links): {e}");
        }
        Ok(())
    }

    /// Creates (and marks) a linux bridge; one that exists is used, and removed at exit
    /// only when it carries conlink's mark.
    async fn linux_bridge(&mut self, name: &str) -> Result<()> {
        let existing = self.nl.link_by_name(name).await?;
        self.nl.create_bridge(name).await.with_context(|| format!("creating bridge {name}"))?;
        let label = &self.namespace.label;
        let owned = match &existing {
            None => {
                self.nl.set_alias(name, &mark(label, Made::Bridge)).await?;
                true
            }
            Some(l) => is_marked(l, label, Made::Bridge),
        };
        if owned {
            // Its MAC as set by hand: the kernel then no longer recomputes it from every
            // port's MAC at each port change (its veth ports share it, see LinuxBridge).
            if let Some(mac) = self.nl.link_by_name(name).await?.and_then(|l| l.mac) {
                self.nl.set_mac(name, mac).await?;
            }
            self.bridges.push(name.to_string());
        } else {
            info!(bridge = %name, "using an existing bridge conlink did not make; it is kept at exit");
        }
        info!(bridge = %name, adopted = existing.is_some(), "bridge ready (linux)");
        Ok(())
    }

    /// Deletes a tunnel an earlier run left (marked as conlink's tunnel); anything
    /// else of that name (a bridge, another tunnel of this config, the engine's
    /// interface) is an error naming the tunnel.
    async fn clear_tunnel_name(&self, i: usize, name: &str) -> Result<()> {
        let Some(l) = self.nl.link_by_name(name).await? else { return Ok(()) };
        if is_marked(&l, &self.namespace.label, Made::Tunnel) && !self.tunnels.iter().any(|t| t == name) {
            self.nl.delete_link(name).await?;
            return Ok(());
        }
        let what = if self.tunnels.iter().any(|t| t == name) {
            "another tunnel of this config".to_string()
        } else {
            format!("{} conlink did not make", describe(&l))
        };
        bail!("/tunnels/{i}: the tunnel's interface {name} already exists in conlink's namespace ({what}); it is not replaced")
    }

    async fn create_tunnels(&mut self, cfg: &NetworkConfig) -> Result<()> {
        let nl = &self.nl;
        for (i, t) in cfg.tunnels.iter().enumerate() {
            let name = t.dev_name();
            let Some(master) = self.linux_bridges.get(&t.bridge).map(|b| b.index) else {
                bail!("/tunnels/{i}: bridge {} is not a linux bridge conlink created", t.bridge);
            };
            // Leftovers of an earlier run are replaced, not fatal; nothing else is.
            self.clear_tunnel_name(i, &name).await?;
            let req = TunnelRequest {
                kind: t.tunnel_type,
                name: &name,
                vni: t.vni,
                remote: t.remote,
                master: Some(master),
                mtu: None,
            };
            if let Err(e) = nl.create_tunnel(&req).await {
                bail!("/tunnels/{i}: {e}");
            }
            self.tunnels.push(name.clone());
            nl.set_alias(&name, &mark(&self.namespace.label, Made::Tunnel)).await?;
            if let Some(netem) = &t.netem {
                nl.set_netem(&name, netem).await.with_context(|| format!("/tunnels/{i}"))?;
            }
            info!(tunnel = %name, remote = %t.remote, bridge = %t.bridge, "tunnel up");
        }
        Ok(())
    }

    /// Removes everything `build` made: the forward table, OVS bridges and daemons,
    /// tunnels, bridges, and the namespace when conlink created it.
    pub async fn teardown(&self) {
        self.forwarding.apply(&[]);
        if let Some(ovs) = &self.ovs {
            for b in &self.ovs_bridges {
                if let Err(e) = off_runtime(|| ovs.del_bridge(b)) {
                    warn!(bridge = %b, "could not remove ovs bridge: {e}");
                }
            }
            if let Err(e) = off_runtime(|| ovs.stop()) {
                warn!("could not stop Open vSwitch: {e}");
            }
        }
        for dev in self.tunnels.iter().rev().chain(&self.bridges) {
            if let Err(e) = self.nl.delete_link(dev).await {
                warn!(dev = %dev, "could not remove: {e}");
            }
        }
        self.namespace.remove();
    }

    pub fn bridge_count(&self) -> usize {
        self.bridges.len() + self.ovs_bridges.len()
    }
}

/// Engines mount /proc/sys read-only in containers; conlink (with SYS_ADMIN, in its own
/// mount namespace) remounts it so per-namespace sysctls (disable_ipv6, ip_forward) can be set.
fn make_proc_sys_writable() {
    use nix::mount::{mount, MsFlags};
    use nix::sys::statvfs::{statvfs, FsFlags};
    let Ok(st) = statvfs("/proc/sys") else { return };
    if !st.flags().contains(FsFlags::ST_RDONLY) {
        return;
    }
    match mount(None::<&str>, "/proc/sys", None::<&str>, MsFlags::MS_REMOUNT | MsFlags::MS_BIND, None::<&str>)
    {
        Ok(()) => debug!("remounted /proc/sys read-write"),
        Err(e) => {
            warn!("/proc/sys is read-only and cannot be remounted ({e}): IPv6 links and forwards may fail")
        }
    }
}

/// The namespace holding *vlan/*vtap parents, opened only when a link needs it.
async fn open_host_namespace(cfg: &NetworkConfig, spec: Option<&str>) -> Result<Option<Nl>> {
    let Some(i) = cfg.links.iter().position(|l| l.link_type.has_host_parent()) else {
        return Ok(None);
    };
    let path = host_netns_path(spec);
    let opened = Netns::from_path(&path);
    if crate::runtime_dir::Identity::current().rootless() {
        if let Some(why) = super::rootless::host_parent_refusal(i, &cfg.links[i], &path, &opened) {
            bail!(why);
        }
    }
    let ns = opened.with_context(|| {
        format!(
            "cannot open the host network namespace {} needed by link /links/{i} ({}); name another with --host-netns NETNS|PID",
            path.display(),
            cfg.links[i].link_type
        )
    })?;
    Ok(Some(Nl::connect(&ns).await?))
}

/// Open vSwitch for `ovs` bridges: its daemons are started in conlink's namespace when
/// none answer. Without the kernel module bridges use OVS's userspace datapath.
fn start_ovs(cfg: &NetworkConfig, ns: &Netns, label: &str) -> Result<Option<Ovs>> {
    let Some(first) = cfg.bridges.values().find(|b| b.mode == BridgeMode::Ovs) else {
        return Ok(None);
    };
    let dir = crate::runtime_dir::runtime_dir().join(format!("ovs-{label}"));
    // Rootless, the kernel datapath (the host root's) is not used even where it exists.
    let rootless = crate::runtime_dir::Identity::current().rootless();
    let forced_userspace = rootless && conlink_kernel::kernel_datapath_present();
    if forced_userspace {
        info!("{}", super::rootless::ovs_kernel_datapath_note(&first.name));
    }
    let ovs = Ovs::start(ns, &dir, rootless)
        .with_context(|| format!("bridge {} (mode ovs) needs Open vSwitch", first.name))?;
    if ovs.userspace {
        if !forced_userspace {
            warn!("the openvswitch kernel module is missing: ovs bridges use OVS's userspace datapath (datapath_type=netdev)");
        }
        if !std::path::Path::new("/dev/net/tun").exists() {
            let _ = ovs.stop();
            bail!(
                "bridge {}: OVS's userspace datapath needs /dev/net/tun (in a container: `devices: [/dev/net/tun]` on the conlink service)",
                first.name
            );
        }
    }
    info!(started = ovs.started, "Open vSwitch ready");
    Ok(Some(ovs))
}
