//! Health: one small pure function per kind, Argo CD's rules (gitops-engine's
//! `pkg/health`, with its messages), custom resources by their `Ready` or
//! `Available` condition, and a worst-of aggregate for the application.

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
    is(Health::Healthy, "")
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

fn text<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn condition_is(obj: &Value, kind: &str, status: &str) -> bool {
    condition(obj, kind).is_some_and(|c| c["status"] == status)
}

/// The controller has not seen the latest spec yet.
fn generation_pending(obj: &Value) -> bool {
    int(obj, "/status/observedGeneration") < int(obj, "/metadata/generation")
}

/// The health of one live object.
pub fn assess(obj: &Value) -> Assessment {
    if obj.pointer("/metadata/deletionTimestamp").is_some() {
        return is(Health::Progressing, "Pending deletion");
    }
    let group = text(obj, "/apiVersion")
        .split_once('/')
        .map_or("", |(g, _)| g);
    match (group, text(obj, "/kind")) {
        ("apps", "Deployment") => deployment(obj),
        ("apps", "StatefulSet") => stateful_set(obj),
        ("apps", "DaemonSet") => daemon_set(obj),
        ("apps", "ReplicaSet") => replica_set(obj),
        ("", "Pod") => pod(obj),
        ("", "Service") => service(obj),
        ("", "PersistentVolumeClaim") => match text(obj, "/status/phase") {
            "Bound" => ok(),
            "Lost" => is(Health::Degraded, "the claim lost its volume"),
            _ => is(Health::Progressing, "waiting for the claim to be bound"),
        },
        ("networking.k8s.io" | "extensions", "Ingress") => load_balanced(obj),
        ("batch", "Job") => job(obj),
        ("batch", "CronJob") => cron_job(obj),
        ("autoscaling", "HorizontalPodAutoscaler") => hpa(obj),
        ("apiregistration.k8s.io", "APIService") => api_service(obj),
        ("", _) | ("apps" | "batch" | "rbac.authorization.k8s.io" | "policy", _) => ok(),
        _ => by_conditions(obj),
    }
}

fn deployment(obj: &Value) -> Assessment {
    if obj.pointer("/spec/paused") == Some(&Value::Bool(true)) {
        return is(Health::Suspended, "Deployment is paused");
    }
    if generation_pending(obj) {
        return is(Health::Progressing, "Waiting for rollout to finish: observed deployment generation less than desired generation");
    }
    if condition(obj, "Progressing").is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded") {
        return is(
            Health::Degraded,
            format!(
                "Deployment {:?} exceeded its progress deadline",
                text(obj, "/metadata/name")
            ),
        );
    }
    let want = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let updated = int(obj, "/status/updatedReplicas");
    let total = int(obj, "/status/replicas");
    let available = int(obj, "/status/availableReplicas");
    if updated < want {
        return is(Health::Progressing, format!("Waiting for rollout to finish: {updated} out of {want} new replicas have been updated..."));
    }
    if total > updated {
        return is(
            Health::Progressing,
            format!(
                "Waiting for rollout to finish: {} old replicas are pending termination...",
                total - updated
            ),
        );
    }
    if available < updated {
        return is(Health::Progressing, format!("Waiting for rollout to finish: {available} of {updated} updated replicas are available..."));
    }
    ok()
}

fn stateful_set(obj: &Value) -> Assessment {
    if int(obj, "/status/observedGeneration") == 0 || generation_pending(obj) {
        return is(
            Health::Progressing,
            "Waiting for statefulset spec update to be observed...",
        );
    }
    let want = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let ready = int(obj, "/status/readyReplicas");
    if ready < want {
        return is(
            Health::Progressing,
            format!("Waiting for {} pods to be ready...", want - ready),
        );
    }
    let updated = int(obj, "/status/updatedReplicas");
    match text(obj, "/spec/updateStrategy/type") {
        "OnDelete" => {
            return is(
                Health::Healthy,
                format!("statefulset has {ready} ready pods"),
            )
        }
        _ if obj
            .pointer("/spec/updateStrategy/rollingUpdate/partition")
            .is_some() =>
        {
            let partition = int(obj, "/spec/updateStrategy/rollingUpdate/partition");
            if updated < want - partition {
                return is(Health::Progressing, format!("Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...", want - partition));
            }
            return is(
                Health::Healthy,
                format!("partitioned roll out complete: {updated} new pods have been updated..."),
            );
        }
        _ => {}
    }
    let (current, update) = (
        text(obj, "/status/currentRevision"),
        text(obj, "/status/updateRevision"),
    );
    if current != update {
        return is(
            Health::Progressing,
            format!("waiting for statefulset rolling update to complete {updated} pods at revision {update}..."),
        );
    }
    is(
        Health::Healthy,
        format!("statefulset rolling update complete {ready} pods at revision {current}..."),
    )
}

fn daemon_set(obj: &Value) -> Assessment {
    if generation_pending(obj) {
        return is(
            Health::Progressing,
            "Waiting for daemon set spec update to be observed...",
        );
    }
    let name = text(obj, "/metadata/name");
    let desired = int(obj, "/status/desiredNumberScheduled");
    let updated = int(obj, "/status/updatedNumberScheduled");
    if text(obj, "/spec/updateStrategy/type") == "OnDelete" {
        return is(
            Health::Healthy,
            format!("daemon set {updated} out of {desired} new pods have been updated"),
        );
    }
    if updated < desired {
        return is(Health::Progressing, format!("Waiting for daemon set {name:?} rollout to finish: {updated} out of {desired} new pods have been updated..."));
    }
    let available = int(obj, "/status/numberAvailable");
    if available < desired {
        return is(Health::Progressing, format!("Waiting for daemon set {name:?} rollout to finish: {available} of {desired} updated pods are available..."));
    }
    ok()
}

fn replica_set(obj: &Value) -> Assessment {
    if generation_pending(obj) {
        return is(Health::Progressing, "Waiting for rollout to finish: observed replica set generation less than desired generation");
    }
    if let Some(c) = condition(obj, "ReplicaFailure").filter(|c| c["status"] == "True") {
        return is(
            Health::Degraded,
            c["message"].as_str().unwrap_or("replica failure"),
        );
    }
    let want = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let available = int(obj, "/status/availableReplicas");
    if available < want {
        return is(Health::Progressing, format!("Waiting for rollout to finish: {available} out of {want} new replicas are available..."));
    }
    ok()
}

/// A container that cannot start or keeps failing: an image that cannot be
/// pulled, a bad config, a crash loop (Argo CD's reading of waiting reasons).
fn stuck_container(obj: &Value) -> Option<String> {
    ["/status/initContainerStatuses", "/status/containerStatuses"]
        .iter()
        .filter_map(|p| obj.pointer(p).and_then(Value::as_array))
        .flatten()
        .find_map(|c| {
            let reason = c.pointer("/state/waiting/reason")?.as_str()?;
            let stuck = reason.starts_with("Err")
                || reason.ends_with("Error")
                || reason.ends_with("BackOff");
            stuck.then(|| {
                let message = c
                    .pointer("/state/waiting/message")
                    .and_then(Value::as_str)
                    .unwrap_or(reason);
                format!("container {}: {message}", c["name"].as_str().unwrap_or(""))
            })
        })
}

fn pod(obj: &Value) -> Assessment {
    let message = || text(obj, "/status/message").to_string();
    match text(obj, "/status/phase") {
        "Succeeded" => is(Health::Healthy, message()),
        "Failed" => {
            let m = message();
            is(
                Health::Degraded,
                if m.is_empty() {
                    "the pod failed".into()
                } else {
                    m
                },
            )
        }
        phase => {
            if let Some(stuck) = stuck_container(obj) {
                return is(Health::Degraded, stuck);
            }
            let always = matches!(text(obj, "/spec/restartPolicy"), "" | "Always");
            if phase == "Running" && always && condition_is(obj, "Ready", "True") {
                return ok();
            }
            is(Health::Progressing, message())
        }
    }
}

fn load_balanced(obj: &Value) -> Assessment {
    let ingress = obj
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array);
    if ingress.is_none_or(|i| i.is_empty()) {
        return is(
            Health::Progressing,
            "waiting for the load balancer's address",
        );
    }
    ok()
}

fn service(obj: &Value) -> Assessment {
    if text(obj, "/spec/type") == "LoadBalancer" {
        return load_balanced(obj);
    }
    ok()
}

fn job(obj: &Value) -> Assessment {
    if let Some(c) = condition(obj, "Failed").filter(|c| c["status"] == "True") {
        return is(
            Health::Degraded,
            c["message"].as_str().unwrap_or("the job failed"),
        );
    }
    if condition_is(obj, "Complete", "True") {
        return ok();
    }
    if obj.pointer("/spec/suspend") == Some(&Value::Bool(true)) {
        return is(Health::Suspended, "Job is suspended");
    }
    is(Health::Progressing, "the job is running")
}

fn cron_job(obj: &Value) -> Assessment {
    if obj.pointer("/spec/suspend") == Some(&Value::Bool(true)) {
        return is(Health::Suspended, "CronJob is suspended");
    }
    let scheduled = text(obj, "/status/lastScheduleTime");
    if scheduled.is_empty() {
        return is(Health::Healthy, "The CronJob has not yet scheduled a job");
    }
    if obj
        .pointer("/status/active")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        return is(Health::Progressing, "The CronJob has active jobs");
    }
    // RFC 3339 times in UTC compare as text.
    if text(obj, "/status/lastSuccessfulTime") < scheduled {
        return is(
            Health::Degraded,
            "The CronJob has not completed its last execution successfully",
        );
    }
    ok()
}

fn hpa(obj: &Value) -> Assessment {
    let Some(conditions) = obj.pointer("/status/conditions").and_then(Value::as_array) else {
        return is(Health::Progressing, "Waiting to Autoscale");
    };
    for c in conditions {
        let failed = c["status"] == "False"
            && (c["type"] == "AbleToScale"
                || (c["type"] == "ScalingActive"
                    && c["reason"]
                        .as_str()
                        .is_some_and(|r| r.starts_with("Failed"))));
        if failed {
            return is(
                Health::Degraded,
                c["message"].as_str().unwrap_or("cannot scale"),
            );
        }
    }
    ok()
}

fn api_service(obj: &Value) -> Assessment {
    match condition(obj, "Available") {
        Some(c) if c["status"] == "True" => ok(),
        Some(c) => is(
            Health::Progressing,
            format!(
                "{}: {}",
                c["reason"].as_str().unwrap_or(""),
                c["message"].as_str().unwrap_or("")
            ),
        ),
        None => is(
            Health::Progressing,
            "waiting for the APIService to be available",
        ),
    }
}

/// A custom resource: its `Ready` (or else `Available`) condition, once its
/// controller has seen the current generation. Without either, Healthy.
fn by_conditions(obj: &Value) -> Assessment {
    let Some(c) = condition(obj, "Ready").or_else(|| condition(obj, "Available")) else {
        return ok();
    };
    if obj.pointer("/status/observedGeneration").is_some() && generation_pending(obj) {
        return is(
            Health::Progressing,
            "waiting for the controller to observe the new generation",
        );
    }
    if let Some(g) = c.get("observedGeneration").and_then(Value::as_i64) {
        if g < int(obj, "/metadata/generation") {
            return is(
                Health::Progressing,
                "waiting for the controller to observe the new generation",
            );
        }
    }
    let message = c["message"].as_str().unwrap_or_default().to_string();
    match c["status"].as_str() {
        Some("True") => is(Health::Healthy, message),
        Some("False") => is(Health::Degraded, message),
        _ => is(Health::Progressing, message),
    }
}

/// The app's health: the worst of its resources' (hooks are not passed in).
/// A missing resource is Missing only when nothing is live; otherwise the
/// app is still Progressing towards it. The message names up to three
/// resources that are not healthy.
pub fn aggregate(resources: &[(String, Assessment)]) -> Assessment {
    if resources.is_empty() {
        return ok();
    }
    let all_missing = resources.iter().all(|(_, a)| a.health == Health::Missing);
    let effective = |a: &Assessment| match a.health {
        Health::Missing if !all_missing => Health::Progressing,
        h => h,
    };
    let worst = resources
        .iter()
        .map(|(_, a)| effective(a))
        .max()
        .unwrap_or(Health::Healthy);
    let named: Vec<String> = resources
        .iter()
        .filter(|(_, a)| a.health != Health::Healthy)
        .take(3)
        .map(|(name, a)| {
            if a.message.is_empty() {
                format!("{name}: {}", a.health.as_str())
            } else {
                format!("{name}: {} ({})", a.health.as_str(), a.message)
            }
        })
        .collect();
    is(worst, named.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn health(obj: Value) -> Health {
        assess(&obj).health
    }

    #[test]
    fn workloads() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "generation": 1}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}});
        assert_eq!(health(d.clone()), Health::Healthy);
        let mut old = d.clone();
        old["status"]["replicas"] = json!(3);
        assert_eq!(
            assess(&old).message,
            "Waiting for rollout to finish: 1 old replicas are pending termination..."
        );
        let rolling = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 2}, "status": {"observedGeneration": 1}});
        assert_eq!(health(rolling), Health::Progressing);
        let failed = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "generation": 1}, "spec": {},
            "status": {"observedGeneration": 1, "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]}});
        assert_eq!(health(failed), Health::Degraded);
        let paused =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"paused": true}});
        assert_eq!(health(paused), Health::Suspended);

        let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"generation": 1}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 1, "readyReplicas": 2, "updatedReplicas": 2, "currentRevision": "a", "updateRevision": "a"}});
        assert_eq!(health(sts.clone()), Health::Healthy);
        let mut updating = sts.clone();
        updating["status"]["updateRevision"] = json!("b");
        assert_eq!(health(updating), Health::Progressing);
        let mut partitioned = sts;
        partitioned["spec"]["updateStrategy"] =
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 1}});
        partitioned["status"]["updatedReplicas"] = json!(0);
        assert_eq!(health(partitioned), Health::Progressing);

        let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "generation": 1},
            "status": {"observedGeneration": 1, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 2}});
        assert_eq!(assess(&ds).message, "Waiting for daemon set \"agent\" rollout to finish: 2 of 3 updated pods are available...");
        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"generation": 1}, "spec": {"replicas": 1},
            "status": {"observedGeneration": 1, "conditions": [{"type": "ReplicaFailure", "status": "True", "message": "quota exceeded"}]}});
        assert_eq!(assess(&rs), is(Health::Degraded, "quota exceeded"));
    }

    #[test]
    fn pods_jobs_and_the_rest() {
        let crash = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"restartPolicy": "Always"}, "status": {"phase": "Running",
            "containerStatuses": [{"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}}}]}});
        assert_eq!(
            assess(&crash),
            is(
                Health::Degraded,
                "container app: back-off 5m0s restarting failed container"
            )
        );
        let pull = json!({"apiVersion": "v1", "kind": "Pod", "status": {"phase": "Pending",
            "initContainerStatuses": [{"name": "init", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}});
        assert_eq!(health(pull), Health::Degraded);
        let ready = json!({"apiVersion": "v1", "kind": "Pod", "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(health(ready), Health::Healthy);
        let once = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"restartPolicy": "Never"}, "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(
            health(once),
            Health::Progressing,
            "a run-once pod is healthy when it succeeds"
        );

        let suspended = json!({"apiVersion": "batch/v1", "kind": "Job", "spec": {"suspend": true}});
        assert_eq!(health(suspended), Health::Suspended);
        let cron = |status: Value| json!({"apiVersion": "batch/v1", "kind": "CronJob", "spec": {}, "status": status});
        assert_eq!(health(cron(json!({}))), Health::Healthy);
        assert_eq!(
            health(cron(
                json!({"lastScheduleTime": "2026-01-02T00:00:00Z", "lastSuccessfulTime": "2026-01-01T00:00:00Z"})
            )),
            Health::Degraded
        );
        assert_eq!(
            health(cron(
                json!({"lastScheduleTime": "2026-01-02T00:00:00Z", "active": [{"name": "x"}]})
            )),
            Health::Progressing
        );
        assert_eq!(
            health(cron(
                json!({"lastScheduleTime": "2026-01-02T00:00:00Z", "lastSuccessfulTime": "2026-01-02T00:01:00Z"})
            )),
            Health::Healthy
        );

        let hpa = |conditions: Value| json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "status": {"conditions": conditions}});
        assert_eq!(
            health(hpa(
                json!([{"type": "AbleToScale", "status": "True"}, {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric", "message": "no metrics"}])
            )),
            Health::Degraded
        );
        assert_eq!(
            health(hpa(
                json!([{"type": "AbleToScale", "status": "True"}, {"type": "ScalingLimited", "status": "True"}])
            )),
            Health::Healthy
        );
        let api = json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "status": {"conditions": [{"type": "Available", "status": "False", "reason": "MissingEndpoints", "message": "no endpoints"}]}});
        assert_eq!(
            assess(&api),
            is(Health::Progressing, "MissingEndpoints: no endpoints")
        );
        let ingress = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}}});
        assert_eq!(health(ingress), Health::Healthy);
        let lb = json!({"apiVersion": "v1", "kind": "Service", "spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {}}});
        assert_eq!(health(lb), Health::Progressing);
        let deleting = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}});
        assert_eq!(health(deleting), Health::Progressing);
        assert_eq!(
            health(json!({"apiVersion": "v1", "kind": "ConfigMap"})),
            Health::Healthy
        );
    }

    #[test]
    fn custom_resources_by_conditions() {
        let cr = |generation: i64, observed: i64, status: &str| {
            json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"generation": generation}, "status": {"observedGeneration": observed, "conditions": [{"type": "Ready", "status": status, "message": "m"}]}})
        };
        assert_eq!(health(cr(1, 1, "True")), Health::Healthy);
        assert_eq!(health(cr(1, 1, "False")), Health::Degraded);
        assert_eq!(health(cr(1, 1, "Unknown")), Health::Progressing);
        assert_eq!(
            health(cr(2, 1, "True")),
            Health::Progressing,
            "a stale Ready says nothing"
        );
        let available = json!({"apiVersion": "example.com/v1", "kind": "Widget", "status": {"conditions": [{"type": "Available", "status": "True"}]}});
        assert_eq!(health(available), Health::Healthy);
        assert_eq!(
            health(json!({"apiVersion": "example.com/v1", "kind": "Widget"})),
            Health::Healthy
        );
    }

    #[test]
    fn the_app_is_the_worst_and_missing_only_when_nothing_is_live() {
        let a = |h: Health| is(h, "");
        let missing_one = [
            ("ConfigMap a".to_string(), a(Health::Healthy)),
            ("ConfigMap b".to_string(), a(Health::Missing)),
        ];
        let agg = aggregate(&missing_one);
        assert_eq!(agg.health, Health::Progressing);
        assert_eq!(agg.message, "ConfigMap b: Missing");
        let all_missing = [("ConfigMap a".to_string(), a(Health::Missing))];
        assert_eq!(aggregate(&all_missing).health, Health::Missing);
        let many: Vec<(String, Assessment)> = (0..5)
            .map(|i| (format!("Pod p{i}"), is(Health::Degraded, "crash")))
            .collect();
        let agg = aggregate(&many);
        assert_eq!(agg.health, Health::Degraded);
        assert_eq!(
            agg.message,
            "Pod p0: Degraded (crash); Pod p1: Degraded (crash); Pod p2: Degraded (crash)"
        );
        assert_eq!(aggregate(&[]).health, Health::Healthy);
    }
}
