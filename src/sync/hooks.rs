//! Hooks: objects a sync creates in their phase and waits for (a Job until it
//! completes, a Pod until it ends, anything else until it is healthy), then
//! deletes as their `hook-delete-policy` says. A hook runs once per
//! operation: its progress is kept in the operation's results, so a pass that
//! comes back (or a restarted controller) picks it up where it was.

use super::operation::Compared;
use super::options::DeletePolicy;
use super::{apply_one, get_live, Kinds, Planned, TRACKING_ANNOTATION};
use crate::health::{self, Health};
use crate::render::fields::{text, Fields};
use kube::api::{Api, DeleteParams, DynamicObject, PropagationPolicy};
use kube::Client;
use serde_json::Value;

/// Where a hook stands.
#[derive(Debug, Clone, PartialEq)]
pub enum HookPhase {
    Running,
    Succeeded,
    Failed(String),
}

impl HookPhase {
    pub fn as_str(&self) -> &'static str {
        match self {
            HookPhase::Running => "Running",
            HookPhase::Succeeded => "Succeeded",
            HookPhase::Failed(_) => "Failed",
        }
    }
    pub fn parse(text: &str) -> Option<HookPhase> {
        match text {
            "Running" => Some(HookPhase::Running),
            "Succeeded" => Some(HookPhase::Succeeded),
            "Failed" => Some(HookPhase::Failed(String::new())),
            _ => None,
        }
    }
}

fn condition_true(obj: &Value, kind: &str) -> Option<String> {
    obj.field("status")?
        .field("conditions")?
        .as_array()?
        .iter()
        .find(|c| text(c, "type") == kind && text(c, "status") == "True")
        .map(|c| text(c, "message").to_string())
}

/// How far a live hook object has got.
pub fn progress(obj: &Value) -> HookPhase {
    match text(obj, "kind") {
        "Job" => {
            if let Some(message) = condition_true(obj, "Failed") {
                HookPhase::Failed(if message.is_empty() {
                    "the job failed".into()
                } else {
                    message
                })
            } else if condition_true(obj, "Complete").is_some() {
                HookPhase::Succeeded
            } else {
                HookPhase::Running
            }
        }
        "Pod" => match obj.field("status").map_or("", |s| text(s, "phase")) {
            "Succeeded" => HookPhase::Succeeded,
            "Failed" => HookPhase::Failed(
                Some(obj.field("status").map_or("", |s| text(s, "message")))
                    .filter(|m| !m.is_empty())
                    .unwrap_or("the pod failed")
                    .to_string(),
            ),
            _ => HookPhase::Running,
        },
        _ => match health::assess(obj) {
            a if a.health == Health::Healthy => HookPhase::Succeeded,
            a if a.health == Health::Degraded => HookPhase::Failed(a.message),
            _ => HookPhase::Running,
        },
    }
}

/// Names a hook that has only `generateName` for this operation, as Argo CD
/// does (`<generateName><revision>-<phase>-<start>`): every pass of the
/// operation (its revision and start are pinned) finds the same object, and
/// the next operation makes a new one.
pub fn name_generated(c: &mut Compared, revision: &str, started: &str) {
    if c.options.hook.is_empty() || !c.planned.name().is_empty() {
        return;
    }
    let Some(meta) = c.planned.manifest.object["metadata"].as_object_mut() else {
        return;
    };
    let Some(prefix) = meta.remove("generateName") else {
        return;
    };
    let start = started
        .parse::<jiff::Timestamp>()
        .map_or(0, |t| t.as_second());
    let name = format!(
        "{}{}-{}-{start}",
        prefix.as_str().unwrap_or_default(),
        &revision[..revision.len().min(7)],
        c.options.hook[0].as_str().to_ascii_lowercase()
    );
    // The tracking id was made with an empty name: it ends with the namespace and '/'.
    if let Some(Value::String(id)) = meta
        .get_mut("annotations")
        .and_then(|a| a.get_mut(TRACKING_ANNOTATION))
    {
        id.push_str(&name);
    }
    meta.insert("name".into(), Value::String(name));
}

async fn delete(client: &Client, kinds: &Kinds, p: &Planned) -> Result<(), String> {
    let (group, version) = p.group_version();
    let Some((resource, namespaced)) = kinds
        .resolve(client, group, version, p.kind())
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let api: Api<DynamicObject> = if namespaced {
        Api::namespaced_with(client.clone(), p.namespace(), &resource)
    } else {
        Api::all_with(client.clone(), &resource)
    };
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..DeleteParams::default()
    };
    match api.delete(p.name(), &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(format!("deleting hook {} {}: {e}", p.kind(), p.name())),
    }
}

/// Moves one hook on: starts it when it has not run in this operation
/// (`before` is None), else looks at it again. Deletes it as its policy says
/// once it has ended.
pub async fn advance(
    client: &Client,
    kinds: &Kinds,
    c: &mut Compared,
    before: Option<HookPhase>,
) -> HookPhase {
    let phase = match before {
        Some(done @ (HookPhase::Succeeded | HookPhase::Failed(_))) => return done,
        Some(HookPhase::Running) => match get_live(client, &c.planned).await {
            Ok(Some(live)) => {
                let phase = progress(&live);
                c.live = Some(live);
                phase
            }
            Ok(None) => HookPhase::Failed("the hook was deleted while it ran".into()),
            Err(e) => return HookPhase::Failed(format!("reading the hook: {e}")),
        },
        None => {
            if c.options
                .delete_policies
                .contains(&DeletePolicy::BeforeHookCreation)
            {
                if let Err(e) = delete(client, kinds, &c.planned).await {
                    return HookPhase::Failed(e);
                }
            }
            match apply_one(client, kinds, &c.planned, false).await {
                Ok(obj) => {
                    let phase = progress(&obj);
                    c.live = Some(obj);
                    phase
                }
                Err(e) => return HookPhase::Failed(format!("creating the hook: {e}")),
            }
        }
    };
    let policy = match &phase {
        HookPhase::Succeeded => Some(DeletePolicy::HookSucceeded),
        HookPhase::Failed(_) => Some(DeletePolicy::HookFailed),
        HookPhase::Running => None,
    };
    if policy.is_some_and(|p| c.options.delete_policies.contains(&p)) {
        if let Err(e) = delete(client, kinds, &c.planned).await {
            return HookPhase::Failed(e);
        }
    }
    phase
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jobs_pods_and_other_kinds_end_as_argo_cd_reads_them() {
        let job = |conditions: Value| json!({"kind": "Job", "status": {"conditions": conditions}});
        assert_eq!(progress(&job(json!([]))), HookPhase::Running);
        assert_eq!(
            progress(&job(json!([{"type": "Complete", "status": "True"}]))),
            HookPhase::Succeeded
        );
        assert_eq!(
            progress(&job(
                json!([{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}])
            )),
            HookPhase::Failed("BackoffLimitExceeded".into())
        );
        let pod = |phase: &str| json!({"kind": "Pod", "status": {"phase": phase}});
        assert_eq!(progress(&pod("Running")), HookPhase::Running);
        assert_eq!(progress(&pod("Succeeded")), HookPhase::Succeeded);
        assert_eq!(
            progress(&pod("Failed")),
            HookPhase::Failed("the pod failed".into())
        );
        assert_eq!(
            progress(&json!({"kind": "ConfigMap"})),
            HookPhase::Succeeded
        );
    }
}
