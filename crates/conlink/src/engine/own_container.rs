//! Find conlink's own container id when it runs inside a container: its
//! labels tell conlink which compose project it belongs to.

/// Mount points engines bind from their per-container state directory.
const ENGINE_MOUNTS: [&str; 3] = ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"];

/// conlink's own container id, or None when it runs on the host.
/// mountinfo is tried first because it works with a private cgroup
/// namespace (cgroup v2 then only shows "0::/").
pub fn own_container_id() -> Option<String> {
    let from_mounts =
        std::fs::read_to_string("/proc/self/mountinfo").ok().and_then(|t| container_id_from_mountinfo(&t));
    from_mounts.or_else(|| {
        std::fs::read_to_string("/proc/self/cgroup").ok().and_then(|t| container_id_from_cgroup(&t))
    })
}

/// Parse `/proc/self/mountinfo`: the source of /etc/hostname (etc.) is
/// `<data-root>/containers/<id>/hostname` for Docker (any data root) and
/// `.../overlay-containers/<id>/userdata/hostname` for Podman.
pub fn container_id_from_mountinfo(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        // Fields: id, parent, major:minor, root (source path), mount point, ...
        let root = fields.nth(3)?;
        let mount_point = fields.next()?;
        if !ENGINE_MOUNTS.contains(&mount_point) {
            return None;
        }
        id_after(root, "/containers/").or_else(|| id_after(root, "/overlay-containers/"))
    })
}

/// Parse `/proc/self/cgroup` (v1 or v2 with the host cgroup namespace):
/// `docker-<id>.scope` (systemd driver), `/docker/<id>` (cgroupfs driver),
/// `libpod-<id>[.scope]` (podman). conmon's `libpod-conmon-<id>` is not us.
pub fn container_id_from_cgroup(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        // hierarchy-id:controllers:path — the path may itself contain ':'.
        let path = line.splitn(3, ':').nth(2)?;
        let mut prev = "";
        let mut found = None;
        for seg in path.split('/') {
            let seg_id = seg.strip_suffix(".scope").unwrap_or(seg);
            let candidate = if prev == "docker" {
                Some(seg_id)
            } else {
                seg_id.strip_prefix("docker-").or_else(|| seg_id.strip_prefix("libpod-"))
            };
            if let Some(c) = candidate.filter(|c| is_container_id(c)) {
                found = Some(c.to_string());
            }
            prev = seg;
        }
        found
    })
}

/// The 64-hex id that directly follows `marker` in `path`, if any.
fn id_after(path: &str, marker: &str) -> Option<String> {
    path.match_indices(marker).find_map(|(i, _)| {
        let rest = &path[i + marker.len()..];
        let id = rest.split('/').next()?;
        is_container_id(id).then(|| id.to_string())
    })
}

fn is_container_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "a24d37bd4c9f4c8bd4b8c68b50dce5aa8155140ca785d1292ca6ecc7f756a981";

    #[test]
    fn docker_mountinfo_with_custom_data_root() {
        let text = format!(
            "78 60 0:40 / / rw,relatime - overlay overlay rw,lowerdir=/x\n\
             95 78 254:0 /tmp/dockerd/data/containers/{ID}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda rw\n\
             96 78 254:0 /tmp/dockerd/data/containers/{ID}/hostname /etc/hostname rw,relatime - ext4 /dev/vda rw\n"
        );
        assert_eq!(container_id_from_mountinfo(&text).as_deref(), Some(ID));
    }

    #[test]
    fn podman_mountinfo() {
        let text = format!(
            "612 590 0:52 /containers/storage/overlay-containers/{ID}/userdata/hostname /etc/hostname rw,nosuid - tmpfs tmpfs rw\n"
        );
        assert_eq!(container_id_from_mountinfo(&text).as_deref(), Some(ID));
    }

    #[test]
    fn mountinfo_ignores_other_mount_points_and_host() {
        // A bind mount of a docker data dir elsewhere must not be mistaken for ours.
        let text = format!(
            "95 78 254:0 /var/lib/docker/containers/{ID}/hostname /mnt/x rw - ext4 /dev/vda rw\n\
             23 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
        );
        assert_eq!(container_id_from_mountinfo(&text), None);
    }

    #[test]
    fn cgroup_v1_cgroupfs_driver() {
        let text = format!("9:name=systemd:/docker/{ID}\n0::/docker/{ID}\n");
        assert_eq!(container_id_from_cgroup(&text).as_deref(), Some(ID));
    }

    #[test]
    fn cgroup_v2_systemd_driver_docker_and_podman() {
        let docker = format!("0::/system.slice/docker-{ID}.scope\n");
        assert_eq!(container_id_from_cgroup(&docker).as_deref(), Some(ID));
        let podman = format!("0::/machine.slice/libpod-{ID}.scope/container\n");
        assert_eq!(container_id_from_cgroup(&podman).as_deref(), Some(ID));
    }

    #[test]
    fn cgroup_host_and_conmon_are_none() {
        assert_eq!(container_id_from_cgroup("0::/\n9:name=systemd:/\n"), None);
        assert_eq!(container_id_from_cgroup("0::/user.slice/user-0.slice/session-1.scope\n"), None);
        let conmon = format!("0::/machine.slice/libpod-conmon-{ID}.scope\n");
        assert_eq!(container_id_from_cgroup(&conmon), None);
        assert_eq!(container_id_from_cgroup("0::/docker/not-an-id\n"), None);
    }
}
