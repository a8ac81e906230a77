//! Swarm tasks as compose replicas: a task's container carries
//! `com.docker.stack.namespace` (the stack, i.e. the compose project),
//! `com.docker.swarm.service.name` (`STACK_SERVICE`) and
//! `com.docker.swarm.task.name` (`STACK_SERVICE.SLOT.TASKID`). The slot is the
//! replica index that survives rescheduling, so ip/mac/port increments stay
//! with the replica wherever it runs. Pure: read from the label map only.

use std::collections::HashMap;

pub const LABEL_STACK: &str = "com.docker.stack.namespace";
pub const LABEL_SWARM_SERVICE: &str = "com.docker.swarm.service.name";
pub const LABEL_TASK_NAME: &str = "com.docker.swarm.task.name";
pub const LABEL_TASK_ID: &str = "com.docker.swarm.task.id";

/// The stack a task belongs to.
pub fn stack(labels: &HashMap<String, String>) -> Option<&str> {
    non_empty(labels, LABEL_STACK)
}

/// The service name as written in the stack file: `STACK_web` → `web`.
pub fn service(labels: &HashMap<String, String>) -> Option<&str> {
    let full = non_empty(labels, LABEL_SWARM_SERVICE)?;
    match stack(labels) {
        Some(stack) => full.strip_prefix(stack)?.strip_prefix('_').filter(|s| !s.is_empty()),
        None => Some(full),
    }
}

/// The replica index: the task slot of a replicated service (1-based, like
/// compose's container-number). Tasks of a global service are named by node
/// id instead of a slot; they count as replica 1.
pub fn slot(labels: &HashMap<String, String>) -> Option<u32> {
    let task = non_empty(labels, LABEL_TASK_NAME)?;
    let full = non_empty(labels, LABEL_SWARM_SERVICE)?;
    let rest = task.strip_prefix(full)?.strip_prefix('.')?;
    let slot = rest.split('.').next()?;
    Some(slot.parse().ok().filter(|n| *n > 0).unwrap_or(1))
}

/// True for the container of a swarm task.
pub fn is_task(labels: &HashMap<String, String>) -> bool {
    non_empty(labels, LABEL_TASK_ID).is_some()
}

fn non_empty<'a>(labels: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    labels.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn task(stack: &str, service: &str, task_name: &str) -> HashMap<String, String> {
        labels(&[
            (LABEL_STACK, stack),
            (LABEL_SWARM_SERVICE, service),
            (LABEL_TASK_NAME, task_name),
            (LABEL_TASK_ID, "epmm0i5vc60fe2xgjpnae0l8n"),
        ])
    }

    #[test]
    fn replicated_task_gives_stack_service_and_slot() {
        let l = task("lab", "lab_h", "lab_h.2.epmm0i5vc60fe2xgjpnae0l8n");
        assert_eq!(stack(&l), Some("lab"));
        assert_eq!(service(&l), Some("h"));
        assert_eq!(slot(&l), Some(2));
        assert!(is_task(&l));
    }

    #[test]
    fn service_names_with_underscores_and_dots_keep_them() {
        let l = task("lab", "lab_my_web.v2", "lab_my_web.v2.11.abc");
        assert_eq!(service(&l), Some("my_web.v2"));
        assert_eq!(slot(&l), Some(11));
    }

    #[test]
    fn global_task_is_replica_one() {
        let l = task("lab", "lab_agent", "lab_agent.yyijw1lse83ju7f8xal9ccmbi.b3ed7hh997u0l6svfyu3ej9xz");
        assert_eq!(slot(&l), Some(1));
    }

    #[test]
    fn service_outside_a_stack_keeps_its_full_name() {
        let l = labels(&[(LABEL_SWARM_SERVICE, "web"), (LABEL_TASK_NAME, "web.3.x")]);
        assert_eq!(stack(&l), None);
        assert_eq!(service(&l), Some("web"));
        assert_eq!(slot(&l), Some(3));
        assert!(!is_task(&l));
    }

    #[test]
    fn foreign_or_broken_labels_give_nothing() {
        assert_eq!(service(&labels(&[(LABEL_STACK, "lab"), (LABEL_SWARM_SERVICE, "other_h")])), None);
        assert_eq!(service(&labels(&[(LABEL_STACK, "lab"), (LABEL_SWARM_SERVICE, "lab_")])), None);
        assert_eq!(slot(&labels(&[(LABEL_SWARM_SERVICE, "lab_h"), (LABEL_TASK_NAME, "other.1.x")])), None);
        assert_eq!(slot(&labels(&[])), None);
        assert_eq!(stack(&labels(&[(LABEL_STACK, "")])), None);
    }
}
