//! Compose profiles: a service with `profiles:` runs only when one of them
//! is active (or `*` is); a service without profiles always runs.

use std::collections::BTreeMap;

/// The active profiles: the `--profile` flags when any are given, else
/// COMPOSE_PROFILES (comma-separated) from the environment or `.env`, as compose.
pub fn active_profiles(flags: &[String], env: &BTreeMap<String, String>) -> Vec<String> {
    let from: Vec<String> = if flags.is_empty() {
        env.get("COMPOSE_PROFILES").map(|s| s.split(',').map(str::to_string).collect()).unwrap_or_default()
    } else {
        flags.iter().flat_map(|f| f.split(',')).map(str::to_string).collect()
    };
    let mut out: Vec<String> = Vec::new();
    for p in from.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        if !out.iter().any(|o| o == p) {
            out.push(p.to_string());
        }
    }
    out
}

/// Whether a service with `service_profiles` runs under `active`.
pub fn is_active(service_profiles: &[String], active: &[String]) -> bool {
    service_profiles.is_empty() || active.iter().any(|a| a == "*" || service_profiles.contains(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn env(v: &str) -> BTreeMap<String, String> {
        [("COMPOSE_PROFILES".to_string(), v.to_string())].into()
    }

    #[test]
    fn flags_win_over_the_environment() {
        assert_eq!(active_profiles(&s(&["debug"]), &env("a,b")), s(&["debug"]));
        assert_eq!(active_profiles(&[], &env("a, b,,a")), s(&["a", "b"]));
        assert_eq!(active_profiles(&s(&["x,y", "x"]), &BTreeMap::new()), s(&["x", "y"]));
        assert!(active_profiles(&[], &BTreeMap::new()).is_empty());
        assert!(active_profiles(&[], &env("")).is_empty());
    }

    #[test]
    fn services_without_profiles_always_run() {
        assert!(is_active(&[], &[]));
        assert!(is_active(&[], &s(&["x"])));
    }

    #[test]
    fn a_service_runs_when_one_of_its_profiles_is_active_or_star() {
        assert!(!is_active(&s(&["debug"]), &[]));
        assert!(!is_active(&s(&["debug"]), &s(&["prod"])));
        assert!(is_active(&s(&["debug", "prod"]), &s(&["prod"])));
        assert!(is_active(&s(&["debug"]), &s(&["*"])));
        assert!(!is_active(&s(&["Debug"]), &s(&["debug"])), "names are case-sensitive");
    }
}
