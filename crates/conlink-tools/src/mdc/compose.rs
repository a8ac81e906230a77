//! Handing over to compose: `DOCKER_COMPOSE --env-file ENV_FILE ARGS…`, as an
//! argv (never through a shell), replacing mdc so compose gets the terminal
//! and signals.

use std::ffi::OsString;

pub fn argv(docker_compose: &[String], env_file: &str, args: &[OsString]) -> Vec<OsString> {
    docker_compose
        .iter()
        .map(OsString::from)
        .chain([OsString::from("--env-file"), OsString::from(env_file)])
        .chain(args.iter().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_argv() {
        let v = argv(&["docker".into(), "compose".into()], ".env", &["up".into(), "-d".into()]);
        assert_eq!(v, ["docker", "compose", "--env-file", ".env", "up", "-d"].map(OsString::from));
    }
}
