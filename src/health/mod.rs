//! Health: one small pure function per kind, Argo CD's rules, and a
//! worst-of aggregate for the application.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    // Ordered from best to worst; the app is the worst of its resources.
    Healthy,
    Suspended,
    Progressing,
    Missing,
    Degraded,
    Unknown,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "Healthy",
            Health::Suspended => "Suspended",
            Health::Progressing => "Progressing",
            Health::Missing => "Missing",
            Health::Degraded => "Degraded",
            Health::Unknown => "Unknown",
        }
    }
}

/// A resource's health and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub health: Health,
    pub message: String,
}

fn ok() -> Assessment {
    Assessment {
        health: Health::Healthy,
        message: String::new(),
    }
}

fn is(health: Health, message: impl Into<String>) -> Assessment {
    Assessment {
        health,
        message: message.into(),
    }
}

fn int(obj: &Value, pointer: &str) -> i64 {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

/// The health of one live object.
pub fn assess(obj: &Value) -> Assessment {
    if obj.pointer("/metadata/deletionTimestamp").is_some() {
        return is(Health::Progressing, "Pending deletion");
    }
    let kind = obj["kind"].as_str().unwrap_or_default();
    match kind {
        "Deployment" => deployment(obj),
        "StatefulSet" | "DaemonSet" | "ReplicaSet" => rollout(obj, kind),
        "Service" => service(obj),
        "PersistentVolumeClaim" => match obj.pointer("/status/phase").and_then(Value::as_str) {
            Some("Bound") => ok(),
            Some("Lost") => is(Health::Degraded, "the claim lost its volume"),
            _ => is(Health::Progressing, "waiting for the claim to be bound"),
        },
        "Pod" => match obj.pointer("/status/phase").and_then(Value::as_str) {
            Some("Succeeded") => ok(),
            Some("Failed") => is(
                Health::Degraded,
                obj.pointer("/status/message")
                    .and_then(Value::as_str)
                    .unwrap_or("the pod failed"),
            ),
            Some("Running") if condition(obj, "Ready").is_some_and(|c| c["status"] == "True") => {
                ok()
            }
            _ => is(Health::Progressing, "waiting for the pod to be ready"),
        },
        "Job" => {
            if condition(obj, "Failed").is_some_and(|c| c["status"] == "True") {
                is(
                    Health::Degraded,
                    condition(obj, "Failed")
                        .and_then(|c| c["message"].as_str())
                        .unwrap_or("the job failed"),
                )
            } else if condition(obj, "Complete").is_some_and(|c| c["status"] == "True") {
                ok()
            } else {
                is(Health::Progressing, "the job is running")
            }
        }
        _ => ok(),
    }
}

fn deployment(obj: &Value) -> Assessment {
    if obj.pointer("/spec/paused") == Some(&Value::Bool(true)) {
        return is(Health::Suspended, "Deployment is paused");
    }
    if int(obj, "/status/observedGeneration") < int(obj, "/metadata/generation") {
        return is(Health::Progressing, "Waiting for rollout to finish: observed deployment generation less than desired generation");
    }
    if let Some(c) = condition(obj, "Progressing") {
        if c["reason"] == "ProgressDeadlineExceeded" {
            return is(
                Health::Degraded,
                format!(
                    "Deployment {:?} exceeded its progress deadline",
                    obj["metadata"]["name"].as_str().unwrap_or_default()
                ),
            );
        }
    }
    let want = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let updated = int(obj, "/status/updatedReplicas");
    let available = int(obj, "/status/availableReplicas");
    if updated < want {
        return is(Health::Progressing, format!("Waiting for rollout to finish: {updated} out of {want} new replicas have been updated..."));
    }
    if available < updated {
        return is(Health::Progressing, format!("Waiting for rollout to finish: {available} of {updated} updated replicas are available..."));
    }
    ok()
}

fn rollout(obj: &Value, kind: &str) -> Assessment {
    if obj.pointer("/status/observedGeneration").is_some()
        && int(obj, "/status/observedGeneration") < int(obj, "/metadata/generation")
    {
        return is(
            Health::Progressing,
            "Waiting for the controller to observe the new generation",
        );
    }
    let (want, ready) = match kind {
        "DaemonSet" => (
            int(obj, "/status/desiredNumberScheduled"),
            int(obj, "/status/numberReady"),
        ),
        _ => (
            obj.pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1),
            int(obj, "/status/readyReplicas"),
        ),
    };
    if ready < want || obj.pointer("/status/observedGeneration").is_none() {
        return is(
            Health::Progressing,
            format!("Waiting for rollout to finish: {ready} of {want} pods are ready..."),
        );
    }
    ok()
}

fn service(obj: &Value) -> Assessment {
    if obj.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer") {
        let ingress = obj
            .pointer("/status/loadBalancer/ingress")
            .and_then(Value::as_array);
        if ingress.is_none_or(|i| i.is_empty()) {
            return is(
                Health::Progressing,
                "waiting for the load balancer's address",
            );
        }
    }
    ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_and_worst_of() {
        let d = json!({"kind": "Deployment", "metadata": {"name": "web", "generation": 1}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 1, "updatedReplicas": 2, "availableReplicas": 2}});
        assert_eq!(assess(&d).health, Health::Healthy);
        let rolling = json!({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 2}, "status": {"observedGeneration": 1}});
        assert_eq!(assess(&rolling).health, Health::Progressing);
        let failed = json!({"kind": "Deployment", "metadata": {"name": "web", "generation": 1}, "spec": {},
            "status": {"observedGeneration": 1, "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]}});
        assert_eq!(assess(&failed).health, Health::Degraded);
        let lb = json!({"kind": "Service", "spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {}}});
        assert_eq!(assess(&lb).health, Health::Progressing);
        assert_eq!(
            assess(&json!({"kind": "ConfigMap"})).health,
            Health::Healthy
        );
        assert!(Health::Degraded > Health::Progressing && Health::Progressing > Health::Healthy);
    }
}
