//! The order of a sync, as Argo CD runs it: by phase (PreSync, Sync,
//! PostSync, SyncFail), then wave, then kind (Namespaces and RBAC before the
//! workloads that need them; kinds not listed, such as custom resources,
//! last), then name. A Namespace or CRD that would come after the first
//! object needing it moves up to that object's place, phase and wave.

use super::options::Phase;
use crate::render::fields::{text, Fields};
use serde_json::Value;
use std::collections::HashMap;

/// Argo CD's kind order (helm's install order).
const KIND_ORDER: &[&str] = &[
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

fn kind_rank(kind: &str) -> usize {
    KIND_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(KIND_ORDER.len())
}

/// One object to apply in one phase and wave. `id` is the caller's handle.
#[derive(Debug, Clone, PartialEq)]
pub struct Task<'a> {
    pub id: usize,
    pub object: &'a Value,
    pub phase: Phase,
    pub wave: i64,
}

impl Task<'_> {
    fn kind(&self) -> &str {
        text(self.object, "kind")
    }
    fn meta(&self, key: &str) -> &str {
        self.object.field("metadata").map_or("", |m| text(m, key))
    }
    fn group(&self) -> &str {
        let av = text(self.object, "apiVersion");
        av.split_once('/').map_or("", |(g, _)| g)
    }
}

/// Sorts tasks into the order they run.
pub fn order(tasks: &mut [Task]) {
    tasks.sort_by(|a, b| {
        (a.phase, a.wave, kind_rank(a.kind()), a.meta("name")).cmp(&(
            b.phase,
            b.wave,
            kind_rank(b.kind()),
            b.meta("name"),
        ))
    });
    // Namespaces before what lives in them.
    move_ahead(
        tasks,
        |t| (t.kind() == "Namespace" && t.group().is_empty()).then(|| t.meta("name").to_string()),
        |t| Some(t.meta("namespace").to_string()).filter(|ns| !ns.is_empty()),
    );
    // CRDs before their custom resources.
    move_ahead(
        tasks,
        |t| {
            (t.kind() == "CustomResourceDefinition").then(|| {
                let spec = t.object.field("spec");
                let group = spec.map_or("", |s| text(s, "group"));
                let kind = spec
                    .and_then(|s| s.field("names"))
                    .map_or("", |n| text(n, "kind"));
                format!("{group}/{kind}")
            })
        },
        |t| Some(format!("{}/{}", t.group(), t.kind())),
    );
}

/// Moves each task that `provides` a key to just before the first task that
/// `needs` it, if that one comes earlier, taking its phase and wave.
fn move_ahead(
    tasks: &mut [Task],
    provides: impl Fn(&Task) -> Option<String>,
    needs: impl Fn(&Task) -> Option<String>,
) {
    let mut first_need: HashMap<String, usize> = HashMap::new();
    for i in 0..tasks.len() {
        if let Some(key) = provides(&tasks[i]) {
            if let Some(&at) = first_need.get(&key) {
                tasks[i].phase = tasks[at].phase;
                tasks[i].wave = tasks[at].wave;
                tasks[at..=i].rotate_right(1);
                for index in first_need.values_mut() {
                    if *index >= at {
                        *index += 1;
                    }
                }
            }
        } else if let Some(key) = needs(&tasks[i]) {
            first_need.entry(key).or_insert(i);
        }
    }
}

/// Consecutive tasks of one phase and wave: each step starts when the one
/// before it is applied and healthy.
pub fn steps<'t, 'a>(tasks: &'t [Task<'a>]) -> Vec<&'t [Task<'a>]> {
    tasks
        .chunk_by(|a, b| a.phase == b.phase && a.wave == b.wave)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(api_version: &str, kind: &str, name: &str, namespace: &str) -> Value {
        json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace}})
    }

    fn names(tasks: &[Task]) -> Vec<String> {
        tasks
            .iter()
            .map(|t| format!("{}/{}", t.kind(), t.meta("name")))
            .collect()
    }

    #[test]
    fn phase_then_wave_then_kind_then_name() {
        let objects = [
            object("example.com/v1", "Widget", "w", "app"),
            object("apps/v1", "Deployment", "web", "app"),
            object("v1", "Service", "web", "app"),
            object("v1", "ConfigMap", "b", "app"),
            object("v1", "ConfigMap", "a", "app"),
            object("batch/v1", "Job", "migrate", "app"),
            object("v1", "Namespace", "app", ""),
            object("apps/v1", "Deployment", "late", "app"),
        ];
        let setting = [
            (Phase::Sync, 0),
            (Phase::Sync, 0),
            (Phase::Sync, 0),
            (Phase::Sync, 0),
            (Phase::Sync, 0),
            (Phase::PreSync, 0),
            (Phase::Sync, 0),
            (Phase::Sync, -1),
        ];
        let mut tasks: Vec<Task> = objects
            .iter()
            .zip(setting)
            .enumerate()
            .map(|(id, (object, (phase, wave)))| Task {
                id,
                object,
                phase,
                wave,
            })
            .collect();
        order(&mut tasks);
        assert_eq!(
            names(&tasks),
            [
                // The PreSync Job runs in the Namespace, which moves up to it.
                "Namespace/app",
                "Job/migrate",
                "Deployment/late",
                "ConfigMap/a",
                "ConfigMap/b",
                "Service/web",
                "Deployment/web",
                "Widget/w",
            ]
        );
        assert_eq!(tasks[0].phase, Phase::PreSync);
        let steps = steps(&tasks);
        assert_eq!(steps.len(), 3);
        assert_eq!(names(steps[0]), ["Namespace/app", "Job/migrate"]);
        assert_eq!(steps[1][0].wave, -1);
    }

    #[test]
    fn a_crd_in_a_later_wave_moves_before_its_first_resource() {
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "names": {"kind": "Widget"}}});
        let widget = object("example.com/v1", "Widget", "w", "");
        let other = object("other.com/v1", "Widget", "o", "");
        let mut tasks = vec![
            Task {
                id: 0,
                object: &crd,
                phase: Phase::Sync,
                wave: 5,
            },
            Task {
                id: 1,
                object: &widget,
                phase: Phase::Sync,
                wave: 1,
            },
            Task {
                id: 2,
                object: &other,
                phase: Phase::Sync,
                wave: 0,
            },
        ];
        order(&mut tasks);
        assert_eq!(
            names(&tasks),
            [
                "Widget/o",
                "CustomResourceDefinition/widgets.example.com",
                "Widget/w"
            ]
        );
        assert_eq!(tasks[1].wave, 1);
    }
}
