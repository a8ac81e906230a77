//! The two libc calls `wait` needs that std does not wrap. Declared here
//! instead of depending on the libc crate, to keep the static binary small.

extern "C" {
    // mode_t and pid_t are u32 and i32 on Linux (all architectures).
    fn umask(mask: u32) -> u32;
    fn kill(pid: i32, sig: i32) -> i32;
}

const SIGKILL: i32 = 9;

/// Sets the file-mode creation mask (`-u`), inherited by `-c` commands and
/// the exec'd command.
pub fn set_umask(mask: u32) {
    // SAFETY: umask(2) only swaps the process's creation mask; cannot fail.
    unsafe {
        umask(mask & 0o777);
    }
}

/// Kills every process in the process group `pgid` (one we created for a
/// `-c` command), so a shell's children do not outlive the deadline.
pub fn kill_process_group(pgid: u32) {
    let Ok(pgid) = i32::try_from(pgid) else {
        return;
    };
    if pgid > 1 {
        // SAFETY: plain syscall on integers; a negative pid addresses the group.
        unsafe {
            kill(-pgid, SIGKILL);
        }
    }
}
