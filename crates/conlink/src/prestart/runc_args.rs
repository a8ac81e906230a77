//! What an engine asks of its OCI runtime: the `runc`/`crun` command line as
//! containerd's shim (Docker) or conmon (Podman) writes it.
//!
//! Only `create` matters to conlink: after it the container's namespaces exist
//! and its process waits for `start`. Every other call is passed through untouched.

use std::path::PathBuf;

/// Global options (before the subcommand) that take a value, in runc and crun.
const GLOBAL_WITH_VALUE: &[&str] =
    &["--root", "--log", "--log-format", "--log-level", "--criu", "--rootless", "--cgroup-manager"];

/// `create` options that take a value.
const CREATE_WITH_VALUE: &[&str] = &["--bundle", "-b", "--console-socket", "--pid-file", "--preserve-fds"];

/// One runtime invocation, split where the subcommand starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuncCall {
    /// Everything before the subcommand (`--root X --log Y …`), kept to call the
    /// real runtime again (e.g. `delete` after a failed connect).
    pub global: Vec<String>,
    pub subcommand: Option<String>,
    /// Arguments after the subcommand.
    pub rest: Vec<String>,
}

/// What conlink needs from a `create` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateCall {
    pub id: String,
    pub pid_file: PathBuf,
    pub bundle: Option<PathBuf>,
}

impl RuncCall {
    pub fn parse(args: &[String]) -> RuncCall {
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            if !a.starts_with('-') {
                break;
            }
            i += if takes_value(a, GLOBAL_WITH_VALUE) { 2 } else { 1 };
        }
        let i = i.min(args.len());
        RuncCall {
            global: args[..i].to_vec(),
            subcommand: args.get(i).cloned(),
            rest: args.get(i + 1..).map(<[String]>::to_vec).unwrap_or_default(),
        }
    }

    /// A global option's value (`--log FILE` or `--log=FILE`).
    pub fn global_value(&self, name: &str) -> Option<&str> {
        option_value(&self.global, name)
    }

    /// The container a `create` call makes, and where the runtime writes its PID.
    /// None for other subcommands, or when the call lacks a PID file (conlink
    /// could not find the process to connect).
    pub fn create(&self) -> Option<CreateCall> {
        if self.subcommand.as_deref() != Some("create") {
            return None;
        }
        let mut positional = Vec::new();
        let mut i = 0;
        while i < self.rest.len() {
            let a = &self.rest[i];
            if a.starts_with('-') {
                i += if takes_value(a, CREATE_WITH_VALUE) { 2 } else { 1 };
            } else {
                positional.push(a.clone());
                i += 1;
            }
        }
        let id = positional.into_iter().next()?;
        let pid_file = PathBuf::from(option_value(&self.rest, "--pid-file")?);
        let bundle = option_value(&self.rest, "--bundle")
            .or_else(|| option_value(&self.rest, "-b"))
            .map(PathBuf::from);
        Some(CreateCall { id, pid_file, bundle })
    }
}

/// True when `arg` is one of `names` written without `=VALUE` (its value is the next argument).
fn takes_value(arg: &str, names: &[&str]) -> bool {
    names.contains(&arg)
}

fn option_value<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == name {
            return it.next().map(String::as_str);
        }
        if let Some(v) = a.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn docker_shim_create_is_understood() {
        // As containerd's runc shim calls it for dockerd 20.10.
        let c = RuncCall::parse(&args(
            "--root /run/docker/runtime-runc/moby --log /x/log.json --log-format json create \
             --bundle /x/b --pid-file /x/init.pid c0ffee",
        ));
        assert_eq!(
            c.global,
            args("--root /run/docker/runtime-runc/moby --log /x/log.json --log-format json")
        );
        assert_eq!(c.global_value("--log"), Some("/x/log.json"));
        assert_eq!(c.global_value("--log-format"), Some("json"));
        assert_eq!(
            c.create(),
            Some(CreateCall {
                id: "c0ffee".into(),
                pid_file: "/x/init.pid".into(),
                bundle: Some("/x/b".into())
            })
        );
    }

    #[test]
    fn podman_conmon_create_is_understood() {
        let c = RuncCall::parse(&args(
            "--systemd-cgroup create --bundle /s/userdata --pid-file /r/pidfile --console-socket /t/s f00d",
        ));
        assert_eq!(c.subcommand.as_deref(), Some("create"));
        let cr = c.create().unwrap();
        assert_eq!(cr.id, "f00d");
        assert_eq!(cr.pid_file, PathBuf::from("/r/pidfile"));
    }

    #[test]
    fn equals_forms_and_flags_between_options() {
        let c = RuncCall::parse(&args(
            "--root=/r --debug create --no-pivot -b /b --pid-file=/p.pid --preserve-fds 2 id1",
        ));
        assert_eq!(c.global, args("--root=/r --debug"));
        assert_eq!(c.global_value("--root"), Some("/r"));
        let cr = c.create().unwrap();
        assert_eq!((cr.id.as_str(), cr.pid_file.to_str().unwrap()), ("id1", "/p.pid"));
        assert_eq!(cr.bundle, Some(PathBuf::from("/b")));
    }

    #[test]
    fn other_subcommands_and_odd_calls_are_not_creates() {
        assert_eq!(RuncCall::parse(&args("--root /r start c1")).create(), None);
        assert_eq!(RuncCall::parse(&args("--root /r delete --force c1")).create(), None);
        assert_eq!(RuncCall::parse(&args("--version")).subcommand, None);
        assert_eq!(RuncCall::parse(&[]).subcommand, None);
        // A value-taking option at the very end must not panic.
        assert_eq!(RuncCall::parse(&args("--root")).subcommand, None);
        // Without a PID file conlink cannot find the process: not handled.
        assert_eq!(RuncCall::parse(&args("create --bundle /b c1")).create(), None);
        // Without an id neither.
        assert_eq!(RuncCall::parse(&args("create --bundle /b --pid-file /p")).create(), None);
    }
}
