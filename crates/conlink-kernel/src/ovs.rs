//! Open vSwitch bridges (bridge mode `ovs`), driven with `ovs-vsctl` argument
//! vectors (never a shell) from a thread inside conlink's namespace, so the
//! daemons conlink starts — and the ports they open — live in that namespace.
//! Each conlink runs a private OVS instance (its own run/db/log directory):
//! a host's own OVS, or another conlink's, is never touched.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::error::KernelError;
use crate::in_netns::run_in_netns;
use crate::netns::Netns;

/// Where Debian's openvswitch-switch keeps the start script.
pub const OVS_CTL: &str = "/usr/share/openvswitch/scripts/ovs-ctl";

/// A running Open vSwitch conlink talks to.
pub struct Ovs {
    ns: Netns,
    /// OVS_RUNDIR/OVS_DBDIR/OVS_LOGDIR/OVS_SYSCONFDIR of this instance.
    dir: PathBuf,
    /// Bridges use the userspace datapath (`netdev`): no openvswitch module, or rootless.
    pub userspace: bool,
    /// conlink started the daemons (and stops them on exit).
    pub started: bool,
}

/// The kernel datapath exists only with the openvswitch module.
pub fn kernel_datapath_present() -> bool {
    Path::new("/sys/module/openvswitch").exists()
}

fn run(ns: &Netns, dir: &Path, op: &str, program: &str, args: &[&str]) -> Result<Output, KernelError> {
    run_in_netns(ns.as_fd(), || {
        Command::new(program)
            .args(args)
            .env("OVS_RUNDIR", dir)
            .env("OVS_DBDIR", dir)
            .env("OVS_LOGDIR", dir)
            .env("OVS_SYSCONFDIR", dir)
            .stdin(Stdio::null())
            .output()
    })
    .map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            KernelError::Unsupported {
                op: op.into(),
                feature: format!("Open vSwitch ({program} not installed)"),
            }
        } else {
            KernelError::io(op, e)
        }
    })
}

fn check(op: &str, out: Output) -> Result<String, KernelError> {
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    Err(KernelError::Io { op: op.into(), source: std::io::Error::other(err) })
}

/// Arguments of `ovs-vsctl` creating bridge `name` (adopting an existing one).
pub fn add_bridge_args(name: &str, userspace: bool) -> Vec<String> {
    let mut v: Vec<String> = ["--timeout=10", "--may-exist", "add-br", name].map(String::from).to_vec();
    if userspace {
        v.extend(["--", "set", "bridge", name, "datapath_type=netdev"].map(String::from));
    }
    v
}

impl Ovs {
    /// Starts a private Open vSwitch inside `ns`, keeping its files in `dir`. An
    /// instance left there by a killed conlink is stopped first (it may sit in an old namespace).
    /// `userspace_only`: use the userspace datapath even where the kernel module exists.
    pub fn start(ns: &Netns, dir: &Path, userspace_only: bool) -> Result<Ovs, KernelError> {
        let ns = ns.try_clone().map_err(|e| KernelError::io("open vswitch", e))?;
        std::fs::create_dir_all(dir).map_err(|e| KernelError::io(format!("create {}", dir.display()), e))?;
        let userspace = userspace_only || !kernel_datapath_present();
        let probe = run(&ns, dir, "probe Open vSwitch", "ovs-vsctl", &["--timeout=2", "show"])?;
        if probe.status.success() {
            let _ = run(&ns, dir, "stop stale Open vSwitch", OVS_CTL, &["stop"]);
        }
        // Without the module ovs-ctl skips modprobe; bridges then use the userspace datapath.
        let args = ["start", "--system-id=random", "--no-mlockall"];
        check("start Open vSwitch", run(&ns, dir, "start Open vSwitch", OVS_CTL, &args)?)?;
        Ok(Ovs { ns, dir: dir.to_path_buf(), userspace, started: true })
    }

    fn vsctl(&self, op: &str, args: &[&str]) -> Result<String, KernelError> {
        check(op, run(&self.ns, &self.dir, op, "ovs-vsctl", args)?)
    }

    pub fn add_bridge(&self, name: &str) -> Result<(), KernelError> {
        let args = add_bridge_args(name, self.userspace);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.vsctl(&format!("create ovs bridge {name}"), &args)?;
        Ok(())
    }

    pub fn add_port(&self, bridge: &str, port: &str) -> Result<(), KernelError> {
        self.vsctl(
            &format!("add {port} to ovs bridge {bridge}"),
            &["--timeout=10", "--may-exist", "add-port", bridge, port],
        )?;
        Ok(())
    }

    pub fn del_port(&self, port: &str) -> Result<(), KernelError> {
        self.vsctl(&format!("remove ovs port {port}"), &["--timeout=10", "--if-exists", "del-port", port])?;
        Ok(())
    }

    pub fn del_bridge(&self, name: &str) -> Result<(), KernelError> {
        self.vsctl(&format!("remove ovs bridge {name}"), &["--timeout=10", "--if-exists", "del-br", name])?;
        Ok(())
    }

    /// Stops the daemons and removes the instance's files.
    pub fn stop(&self) -> Result<(), KernelError> {
        if self.started {
            check("stop Open vSwitch", run(&self.ns, &self.dir, "stop Open vSwitch", OVS_CTL, &["stop"])?)?;
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userspace_bridges_ask_for_the_netdev_datapath() {
        assert_eq!(add_bridge_args("s1", false), ["--timeout=10", "--may-exist", "add-br", "s1"]);
        assert_eq!(
            add_bridge_args("s1", true),
            [
                "--timeout=10",
                "--may-exist",
                "add-br",
                "s1",
                "--",
                "set",
                "bridge",
                "s1",
                "datapath_type=netdev"
            ]
        );
    }
}
