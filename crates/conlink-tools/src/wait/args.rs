//! Command-line parsing for `wait`, by hand to keep the original's flag
//! spellings (`-i/--if/--intf`, `-I/--ip`, …) and the static binary small.

use std::ffi::OsString;
use std::time::Duration;

use super::conditions::Condition;

pub const USAGE: &str = "Usage: wait [-i|--if IF] [-I|--ip IF] [-f|--file FILE] [-t|--tcp HOST:PORT]\n\
            [-c|--cmd CMD] [-s|--sleep SECS] [-u|--umask UMASK] [--timeout SECS] [-- CMD...]";

#[derive(Debug, PartialEq)]
pub enum Step {
    Condition(Condition),
    Interval(Duration),
    Umask(u32),
}

#[derive(Debug, PartialEq)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Overall deadline for all conditions together (`--timeout`).
    pub timeout: Option<Duration>,
    pub command: Vec<OsString>,
}

pub fn parse(argv: &[OsString]) -> Result<Plan, String> {
    let mut plan = Plan { steps: Vec::new(), timeout: None, command: Vec::new() };
    let mut i = 0;
    while i < argv.len() {
        let flag = argv[i].to_str().ok_or_else(|| format!("option is not UTF-8: {:?}", argv[i]))?;
        if flag == "--" {
            plan.command = argv[i + 1..].to_vec();
            return Ok(plan);
        }
        let value = match argv.get(i + 1).map(|v| v.to_str()) {
            Some(Some("--")) | None => return Err(format!("option '{flag}' needs a value")),
            Some(Some(v)) => v.to_string(),
            Some(None) => return Err(format!("value of '{flag}' is not UTF-8")),
        };
        let step = match flag {
            "-i" | "--if" | "--intf" => Step::Condition(Condition::InterfaceExists(iface(&value)?)),
            "-I" | "--ip" => Step::Condition(Condition::InterfaceHasIp(iface(&value)?)),
            "-f" | "--file" => Step::Condition(Condition::FileExists(value.into())),
            "-t" | "--tcp" => Step::Condition(Condition::Tcp(host_port(&value)?)),
            "-c" | "--cmd" | "--command" => Step::Condition(Condition::Command(value)),
            "-s" | "--sleep" => Step::Interval(seconds(flag, &value)?),
            "-u" | "--umask" => Step::Umask(
                u32::from_str_radix(&value, 8)
                    .ok()
                    .filter(|m| *m <= 0o777)
                    .ok_or_else(|| format!("umask must be octal 0-777, got '{value}'"))?,
            ),
            "--timeout" => {
                plan.timeout = Some(seconds(flag, &value)?);
                i += 2;
                continue;
            }
            _ => return Err(format!("unknown option '{flag}'")),
        };
        plan.steps.push(step);
        i += 2;
    }
    Ok(plan)
}

/// Interface names index /sys/class/net, so reject anything that is not a
/// plausible kernel interface name (max 15 bytes, no '/', not '.'/'..').
fn iface(name: &str) -> Result<String, String> {
    let ok =
        !name.is_empty() && name.len() <= 15 && !name.contains(['/', ' ']) && name != "." && name != "..";
    ok.then(|| name.to_string()).ok_or_else(|| format!("invalid interface name '{name}'"))
}

fn host_port(value: &str) -> Result<String, String> {
    let (host, port) = value.rsplit_once(':').ok_or_else(|| format!("expected HOST:PORT, got '{value}'"))?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(format!("illegal host/port '{value}'"));
    }
    Ok(value.to_string())
}

fn seconds(flag: &str, value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("{flag} needs a number of seconds, got '{value}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Result<Plan, String> {
        parse(&v.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn keeps_order_and_command() {
        let plan =
            p(&["-s", "0.5", "-i", "eth0", "-t", "web:80", "--timeout", "3", "--", "sh", "-c", "x"]).unwrap();
        assert_eq!(
            plan.steps,
            vec![
                Step::Interval(Duration::from_millis(500)),
                Step::Condition(Condition::InterfaceExists("eth0".into())),
                Step::Condition(Condition::Tcp("web:80".into())),
            ]
        );
        assert_eq!(plan.timeout, Some(Duration::from_secs(3)));
        assert_eq!(plan.command, vec![OsString::from("sh"), "-c".into(), "x".into()]);
    }

    #[test]
    fn long_spellings_and_umask() {
        let plan = p(&["--intf", "e1", "--ip", "e1", "--file", "/f", "--command", "true", "--umask", "027"])
            .unwrap();
        assert_eq!(plan.steps.len(), 5);
        assert_eq!(plan.steps[4], Step::Umask(0o027));
        assert!(plan.command.is_empty());
    }

    #[test]
    fn rejects_bad_input() {
        assert!(p(&["-i"]).unwrap_err().contains("needs a value"));
        assert!(p(&["-i", "--"]).unwrap_err().contains("needs a value"));
        assert!(p(&["-x", "1"]).unwrap_err().contains("unknown option"));
        assert!(p(&["-t", "nohost"]).unwrap_err().contains("HOST:PORT"));
        assert!(p(&["-t", "h:99999"]).unwrap_err().contains("illegal"));
        assert!(p(&["-u", "9"]).unwrap_err().contains("octal"));
        assert!(p(&["-i", "../etc"]).unwrap_err().contains("invalid interface"));
        assert!(p(&["-s", "-1"]).unwrap_err().contains("seconds"));
        assert!(p(&["sleep", "1"]).unwrap_err().contains("unknown option"));
    }

    #[test]
    fn ipv6_host_port() {
        assert!(p(&["-t", "[::1]:8080"]).is_ok());
    }
}
