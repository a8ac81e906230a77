//! Replacing this process with the user's command (the `-- CMD...` tail of
//! `wait` and `copy`).
//!
//! exec (not spawn) so the command becomes the container's main process:
//! signals from the engine (SIGTERM on `docker stop`) reach it directly and
//! its exit status is the container's.

use std::ffi::OsString;
use std::io::ErrorKind;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Shows an argv the way a person would type it (for log lines only).
pub fn display(argv: &[OsString]) -> String {
    argv.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ")
}

/// Execs `argv`; only returns (with a shell-like exit code) if exec failed.
pub fn exec_command(tool: &str, argv: &[OsString]) -> i32 {
    let Some((program, args)) = argv.split_first() else {
        return 0;
    };
    eprintln!("Running: {}", display(argv));
    let err = Command::new(program).args(args).exec();
    eprintln!("{tool}: cannot run '{}': {err}", program.to_string_lossy());
    // Same codes as a shell: 127 = not found, 126 = found but not runnable.
    if err.kind() == ErrorKind::NotFound {
        127
    } else {
        126
    }
}
