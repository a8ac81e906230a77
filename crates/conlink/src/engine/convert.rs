//! Pure conversions from bollard's wire models to conlink's types, kept apart
//! from the I/O so they can be unit-tested with hand-built answers.

use bollard::models::{ContainerInspectResponse, EventMessage, EventMessageTypeEnum};

use super::types::{ContainerInfo, EngineEvent, EngineKind};

/// Build a [`ContainerInfo`] from an inspect answer; Err(reason) when the
/// answer lacks the container id.
pub(crate) fn container_info(
    kind: EngineKind,
    resp: ContainerInspectResponse,
) -> Result<ContainerInfo, String> {
    let id = resp.id.filter(|id| !id.is_empty()).ok_or("no container id")?;
    let state = resp.state.unwrap_or_default();
    let running = state.running.unwrap_or(false);
    // Docker reports Pid 0 for stopped containers; only a positive PID of a
    // running container names a live network namespace.
    let pid = state.pid.filter(|_| running).and_then(|p| u32::try_from(p).ok()).filter(|&p| p > 0);
    let name = resp.name.unwrap_or_default().trim_start_matches('/').to_string();
    let labels = resp.config.and_then(|c| c.labels).unwrap_or_default();
    Ok(ContainerInfo { id, name, pid, running, labels, engine: kind })
}

/// Map an engine event to the lifecycle events conlink cares about.
/// Podman's compat API has been seen to say "died" where Docker says "die".
pub(crate) fn engine_event(msg: &EventMessage) -> Option<EngineEvent> {
    match msg.typ {
        Some(EventMessageTypeEnum::CONTAINER) | None => {}
        Some(_) => return None,
    }
    let id = msg.actor.as_ref()?.id.clone().filter(|id| !id.is_empty())?;
    match msg.action.as_deref()? {
        "start" => Some(EngineEvent::Start { id }),
        "die" | "died" => Some(EngineEvent::Die { id }),
        "create" => {
            let mut labels = msg.actor.as_ref()?.attributes.clone().unwrap_or_default();
            let name = labels.remove("name").unwrap_or_default();
            // Docker and Podman put the labels among these; the rest is not a label.
            for key in EVENT_ATTRIBUTES_NOT_LABELS {
                labels.remove(*key);
            }
            Some(EngineEvent::Create { id, name, labels })
        }
        _ => None,
    }
}

const EVENT_ATTRIBUTES_NOT_LABELS: &[&str] = &["image", "podId", "containerExitCode"];

/// A container of a list answer (name and labels; the list carries no PID).
pub(crate) fn listed_container(
    kind: EngineKind,
    s: bollard::models::ContainerSummary,
) -> Option<ContainerInfo> {
    let id = s.id.filter(|id| !id.is_empty())?;
    let name = s
        .names
        .unwrap_or_default()
        .first()
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_default();
    Some(ContainerInfo {
        id,
        name,
        pid: None,
        running: false,
        labels: s.labels.unwrap_or_default(),
        engine: kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerConfig, ContainerState, EventActor};
    use std::collections::HashMap;

    fn inspect(running: bool, pid: i64) -> ContainerInspectResponse {
        ContainerInspectResponse {
            id: Some("c0ffee".into()),
            name: Some("/lab-node-1".into()),
            state: Some(ContainerState { running: Some(running), pid: Some(pid), ..Default::default() }),
            config: Some(ContainerConfig {
                labels: Some(HashMap::from([(
                    "com.docker.compose.container-number".to_string(),
                    "1".to_string(),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn running_container_has_pid_and_clean_name() {
        let c = container_info(EngineKind::Docker, inspect(true, 1234)).unwrap();
        assert_eq!(c.id, "c0ffee");
        assert_eq!(c.name, "lab-node-1");
        assert_eq!(c.pid, Some(1234));
        assert!(c.running);
        assert_eq!(c.compose_index(), Some(1));
        assert_eq!(c.engine, EngineKind::Docker);
    }

    #[test]
    fn stopped_container_has_no_pid() {
        let c = container_info(EngineKind::Podman, inspect(false, 0)).unwrap();
        assert_eq!(c.pid, None);
        assert!(!c.running);
    }

    #[test]
    fn missing_id_is_rejected() {
        let mut r = inspect(true, 1);
        r.id = None;
        assert!(container_info(EngineKind::Docker, r).is_err());
    }

    fn event(typ: Option<EventMessageTypeEnum>, action: &str) -> EventMessage {
        EventMessage {
            typ,
            action: Some(action.into()),
            actor: Some(EventActor { id: Some("c1".into()), attributes: None }),
            ..Default::default()
        }
    }

    #[test]
    fn start_and_die_events_are_mapped_others_ignored() {
        let c = Some(EventMessageTypeEnum::CONTAINER);
        assert_eq!(engine_event(&event(c, "start")), Some(EngineEvent::Start { id: "c1".into() }));
        assert_eq!(engine_event(&event(c, "die")), Some(EngineEvent::Die { id: "c1".into() }));
        assert_eq!(engine_event(&event(c, "died")), Some(EngineEvent::Die { id: "c1".into() }));
        assert_eq!(engine_event(&event(c, "exec_start: sh")), None);
        assert_eq!(engine_event(&event(Some(EventMessageTypeEnum::NETWORK), "start")), None);
    }

    #[test]
    fn create_events_carry_name_and_labels_only() {
        // As Podman sends it (Docker's differs only in which extra attributes it adds).
        let mut e = event(Some(EventMessageTypeEnum::CONTAINER), "create");
        e.actor.as_mut().unwrap().attributes = Some(HashMap::from([
            ("name".to_string(), "p-h1-1".to_string()),
            ("image".to_string(), "localhost/alpine:latest".to_string()),
            ("podId".to_string(), String::new()),
            ("containerExitCode".to_string(), "0".to_string()),
            ("com.docker.compose.service".to_string(), "h1".to_string()),
        ]));
        let Some(EngineEvent::Create { id, name, labels }) = engine_event(&e) else { panic!("not a create") };
        assert_eq!((id.as_str(), name.as_str()), ("c1", "p-h1-1"));
        assert_eq!(labels, HashMap::from([("com.docker.compose.service".to_string(), "h1".to_string())]));
    }

    #[test]
    fn listed_containers_have_names_and_labels_but_no_pid() {
        let s = bollard::models::ContainerSummary {
            id: Some("c2".into()),
            names: Some(vec!["/p-h3-2".into()]),
            labels: Some(HashMap::from([(
                "com.docker.compose.container-number".to_string(),
                "2".to_string(),
            )])),
            ..Default::default()
        };
        let c = listed_container(EngineKind::Docker, s).unwrap();
        assert_eq!(
            (c.id.as_str(), c.name.as_str(), c.pid, c.compose_index()),
            ("c2", "p-h3-2", None, Some(2))
        );
        assert!(listed_container(EngineKind::Docker, Default::default()).is_none());
    }
}
