//! What a person may ask of the controller — a sync, a refresh, a rollback —
//! and the annotations that ask it. The CLI and the web UI both ask this way,
//! so the controller has one door and the cluster's RBAC on Applications
//! guards it.

use super::{REFRESH_ANNOTATIONS, ROLLBACK_ANNOTATION, SYNC_ANNOTATION, SYNC_REVISION_ANNOTATION};
use crate::application::Application;
use kube::api::{Api, Patch, PatchParams};
use kube::ResourceExt;
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Sync {
        prune: bool,
        /// Another revision of the spec's source (manual apps only).
        revision: Option<String>,
    },
    /// `hard` asks the remote again, like a normal one: skiff keeps no
    /// rendered manifests to throw away.
    Refresh { hard: bool },
    /// Sync a `status.history` entry again.
    Rollback { id: i64 },
}

/// Whether automated sync is on (a rollback or another revision would be undone).
pub fn automated(app: &Application) -> bool {
    app.spec
        .sync_policy
        .as_ref()
        .is_some_and(|p| p.automated().is_some())
}

impl Request {
    /// What is asked, for people ("a sync with prune", "a rollback to 3").
    pub fn describe(&self) -> String {
        match self {
            Request::Sync { prune, revision } => format!(
                "a sync{}{}",
                if *prune { " with prune" } else { "" },
                revision
                    .as_ref()
                    .map(|r| format!(" to revision {r}"))
                    .unwrap_or_default()
            ),
            Request::Refresh { hard: true } => "a hard refresh".into(),
            Request::Refresh { hard: false } => "a refresh".into(),
            Request::Rollback { id } => format!("a rollback to history entry {id}"),
        }
    }

    /// The annotation the controller removes once it has handled the request.
    pub fn annotation(&self) -> &'static str {
        match self {
            Request::Sync { .. } => SYNC_ANNOTATION,
            Request::Refresh { .. } => REFRESH_ANNOTATIONS[0],
            Request::Rollback { .. } => ROLLBACK_ANNOTATION,
        }
    }

    /// The annotations that ask for this, or why `app` cannot have it (what
    /// the controller would refuse, refused before asking).
    pub fn annotations(&self, app: &Application) -> Result<Map<String, Value>, String> {
        let name = app.name_any();
        let mut ask = Map::new();
        match self {
            Request::Sync { prune, revision } => {
                if revision.is_some() && automated(app) {
                    return Err(format!(
                        "{name} has automated sync on: a sync to another revision would be undone; turn it off first (spec.syncPolicy.automated)"
                    ));
                }
                ask.insert(
                    SYNC_ANNOTATION.into(),
                    json!(if *prune { "prune" } else { "true" }),
                );
                if let Some(r) = revision {
                    ask.insert(SYNC_REVISION_ANNOTATION.into(), json!(r));
                }
            }
            Request::Refresh { hard } => {
                let kind = if *hard { "hard" } else { "normal" };
                ask.insert(REFRESH_ANNOTATIONS[0].into(), json!(kind));
            }
            Request::Rollback { id } => {
                if automated(app) {
                    return Err(format!(
                        "{name} has automated sync on: a rollback would be undone; turn it off first (spec.syncPolicy.automated)"
                    ));
                }
                let history = app.status.iter().flat_map(|s| &s.history);
                if !history.clone().any(|h| h.id == *id) {
                    let ids: Vec<String> = history.map(|h| h.id.to_string()).collect();
                    return Err(format!(
                        "{name} has no history entry {id} (it has: {})",
                        if ids.is_empty() {
                            "none".into()
                        } else {
                            ids.join(", ")
                        }
                    ));
                }
                ask.insert(ROLLBACK_ANNOTATION.into(), json!(id.to_string()));
            }
        }
        Ok(ask)
    }
}

/// Asks: a merge patch of the request's annotations on the Application.
pub async fn ask(
    apps: &Api<Application>,
    name: &str,
    annotations: Map<String, Value>,
) -> Result<(), String> {
    let patch = json!({"metadata": {"annotations": annotations}});
    apps.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(|_| ())
        .map_err(|e| format!("asking {name}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(automated: bool, history: &[i64]) -> Application {
        let mut v = json!({"apiVersion": "skiff.dev/v1alpha1", "kind": "Application",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {"source": {"repoURL": "file:///r", "path": "app"}, "destination": {}},
            "status": {"history": history.iter().map(|id| json!({"id": id, "revision": "abc", "deployedAt": "t",
                "source": {"repoURL": "file:///r"}})).collect::<Vec<_>>()}});
        if automated {
            v["spec"]["syncPolicy"] = json!({"automated": {}});
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn requests_become_the_annotations_the_controller_reads() {
        let sync = Request::Sync {
            prune: true,
            revision: Some("v2".into()),
        };
        assert_eq!(
            Value::Object(sync.annotations(&app(false, &[])).unwrap()),
            json!({"skiff.dev/sync": "prune", "skiff.dev/sync-revision": "v2"})
        );
        assert_eq!(sync.describe(), "a sync with prune to revision v2");
        let hard = Request::Refresh { hard: true };
        assert_eq!(
            Value::Object(hard.annotations(&app(true, &[])).unwrap()),
            json!({"skiff.dev/refresh": "hard"})
        );
        let back = Request::Rollback { id: 2 };
        assert_eq!(
            Value::Object(back.annotations(&app(false, &[1, 2])).unwrap()),
            json!({"skiff.dev/rollback": "2"})
        );
    }

    #[test]
    fn what_the_controller_would_refuse_is_refused_before_asking() {
        let err = Request::Rollback { id: 3 }
            .annotations(&app(false, &[1, 2]))
            .unwrap_err();
        assert_eq!(err, "web has no history entry 3 (it has: 1, 2)");
        let err = Request::Rollback { id: 1 }
            .annotations(&app(true, &[1]))
            .unwrap_err();
        assert!(err.contains("automated sync on"), "{err}");
        let err = Request::Sync {
            prune: false,
            revision: Some("v1".into()),
        }
        .annotations(&app(true, &[]))
        .unwrap_err();
        assert!(err.contains("automated sync on"), "{err}");
    }
}
