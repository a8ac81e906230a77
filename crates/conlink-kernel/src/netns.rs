//! Network namespace handles: open by path/pid, create and delete named
//! namespaces the way `ip netns add/del` does (so `ip netns exec` sees them).

use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};

/// Where iproute2 keeps named namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";

static RUN_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Where this process keeps named namespaces: [`NETNS_RUN_DIR`] unless
/// [`set_run_dir`] chose another (rootless conlink: one under `$XDG_RUNTIME_DIR`).
pub fn run_dir() -> &'static Path {
    RUN_DIR.get_or_init(|| PathBuf::from(NETNS_RUN_DIR))
}

/// Chooses the directory of named namespaces once, before the first is used.
/// Returns the directory already in effect if it was chosen (or used) before.
pub fn set_run_dir(dir: PathBuf) -> Result<(), PathBuf> {
    RUN_DIR.set(dir).map_err(|_| run_dir().to_path_buf())
}

/// An open network namespace (owned fd). The namespace stays alive at least
/// as long as this handle.
#[derive(Debug)]
pub struct Netns {
    fd: OwnedFd,
    inode: u64,
}

impl Netns {
    /// The calling thread's namespace (thread-self: setns is per thread).
    pub fn current() -> io::Result<Netns> {
        Netns::from_path(Path::new("/proc/thread-self/ns/net"))
    }

    pub fn from_path(p: &Path) -> io::Result<Netns> {
        let file = fs::File::open(p)
            .map_err(|e| io::Error::new(e.kind(), format!("open network namespace {}: {e}", p.display())))?;
        let inode = file.metadata()?.ino();
        Ok(Netns { fd: file.into(), inode })
    }

    pub fn from_pid(pid: u32) -> io::Result<Netns> {
        Netns::from_path(&PathBuf::from(format!("/proc/{pid}/ns/net")))
    }

    /// Open the named namespace /run/netns/NAME (see [`run_dir`]).
    pub fn from_name(name: &str) -> io::Result<Netns> {
        Netns::from_path(&named_path(name)?)
    }

    /// A new namespace kept alive only by the returned fd (nothing in the
    /// filesystem to clean up).
    pub fn create_anonymous() -> io::Result<Netns> {
        in_fresh_netns(Netns::current)
    }

    /// Like `ip netns add NAME`: a new namespace bind-mounted on
    /// /run/netns/NAME. Fails with AlreadyExists if the name is taken.
    pub fn create_named(name: &str) -> io::Result<Netns> {
        Netns::create_named_with(name, || Ok(())).map(|(ns, ())| ns)
    }

    /// `create_named`, running `setup` inside the new namespace on the thread that
    /// created it (e.g. sysctl defaults, see `ipv6::no_ipv6_on_new_links_here`, or
    /// opening its netlink socket): no second thread has to enter it. Returns what
    /// `setup` returned. If `setup` fails nothing is left behind.
    pub fn create_named_with<R: Send>(
        name: &str,
        setup: impl FnOnce() -> io::Result<R> + Send,
    ) -> io::Result<(Netns, R)> {
        let path = named_path(name)?;
        prepare_run_dir()?;
        // O_EXCL: two creators of one name must not share a namespace.
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("create {}: {e}", path.display())))?;
        let bound = in_fresh_netns(|| {
            let made = setup()?;
            mount(Some("/proc/thread-self/ns/net"), &path, None::<&str>, MsFlags::MS_BIND, None::<&str>)
                .map_err(|e| {
                    io::Error::new(
                        io::Error::from(e).kind(),
                        format!("bind-mount netns on {}: {e}", path.display()),
                    )
                })?;
            Ok(made)
        });
        match bound {
            Ok(made) => Ok((Netns::from_path(&path)?, made)),
            Err(e) => {
                let _ = fs::remove_file(&path);
                Err(e)
            }
        }
    }

    /// Like `ip netns del NAME`: detach the bind mount and remove the file.
    /// The namespace itself dies when its last user (fd, process) goes.
    pub fn delete_named(name: &str) -> io::Result<()> {
        let path = named_path(name)?;
        match umount2(&path, MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::errno::Errno::EINVAL) => {}
            Err(nix::errno::Errno::ENOENT) => {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("network namespace {name} does not exist"),
                ))
            }
            Err(e) => {
                return Err(io::Error::new(
                    io::Error::from(e).kind(),
                    format!("umount {}: {e}", path.display()),
                ))
            }
        }
        fs::remove_file(&path)
    }

    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Namespace identity: two handles refer to the same namespace iff their
    /// inodes are equal (nsfs has a single device).
    pub fn inode(&self) -> u64 {
        self.inode
    }

    pub fn try_clone(&self) -> io::Result<Netns> {
        Ok(Netns { fd: self.fd.try_clone()?, inode: self.inode })
    }
}

impl PartialEq for Netns {
    fn eq(&self, other: &Self) -> bool {
        self.inode == other.inode
    }
}
impl Eq for Netns {}

impl AsFd for Netns {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Names become file names: refuse anything that could escape the run dir.
fn named_path(name: &str) -> io::Result<PathBuf> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid network namespace name {name:?}"),
        ));
    }
    Ok(run_dir().join(name))
}

/// Run `f` on a thread that has just unshared into a brand-new namespace.
fn in_fresh_netns<R: Send>(f: impl FnOnce() -> io::Result<R> + Send) -> io::Result<R> {
    std::thread::scope(|s| {
        s.spawn(|| {
            unshare(CloneFlags::CLONE_NEWNET).map_err(|e| {
                io::Error::new(io::Error::from(e).kind(), format!("unshare(CLONE_NEWNET): {e}"))
            })?;
            f()
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("namespace creation thread panicked")))
    })
}

/// As iproute2 does: make /run/netns a shared mount point so namespace
/// mounts propagate to mount namespaces created later (e.g. containers that
/// bind /run/netns). If it is not a mount point yet, bind it onto itself.
fn prepare_run_dir() -> io::Result<()> {
    let dir = run_dir();
    fs::DirBuilder::new().recursive(true).mode(0o755).create(dir)?;
    let shared =
        || mount(None::<&str>, dir, Some("none"), MsFlags::MS_SHARED | MsFlags::MS_REC, None::<&str>);
    match shared() {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EINVAL) => {
            mount(Some(dir), dir, Some("none"), MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)?;
            shared()?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
