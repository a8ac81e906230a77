//! Commands (SPEC §4 `commands`, node `command`): a string runs through a
//! shell, a list runs as it is.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    /// Run as `sh -c STRING`.
    Shell(String),
    /// Run directly.
    Argv(Vec<String>),
}

impl CommandLine {
    /// The argument vector to execute: the one place the shell rule lives.
    pub fn argv(&self) -> Vec<String> {
        match self {
            CommandLine::Shell(s) => vec!["sh".to_string(), "-c".to_string(), s.clone()],
            CommandLine::Argv(v) => v.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_runs_in_a_shell_list_runs_directly() {
        assert_eq!(CommandLine::Shell("ip a; true".into()).argv(), ["sh", "-c", "ip a; true"]);
        let v = vec!["ip".to_string(), "a; true".to_string()];
        assert_eq!(CommandLine::Argv(v.clone()).argv(), v);
    }
}
