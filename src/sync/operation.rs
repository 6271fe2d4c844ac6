//! One sync operation, run a step at a time: each phase and wave is applied
//! once the steps before it are applied and healthy; when a step's objects are
//! not healthy yet the operation stays Running and the controller comes back.
//! Between passes only the operation's phase and results are kept (a hook's
//! progress is in its result); where to go on is read from the cluster (a
//! step whose objects are all in sync and healthy is done), so a restarted
//! controller resumes in order and never applies a later wave before an
//! earlier one is healthy.

use super::hooks::{self, HookPhase};
use super::options::{annotation, ObjectOptions, Phase, Propagation, SyncOptions};
use super::prune::{self, Verdict};
use super::tasks::{self, Task};
use super::{apply_one, replace_one, Kinds, Planned};
use crate::application::ResourceResult;
use crate::diff::{ignore, ResourceSync};
use crate::health::{self, Health};
use kube::api::{Api, DeleteParams, DynamicObject, PropagationPolicy};
use kube::core::ApiResource;
use kube::Client;
use serde_json::Value;

/// One rendered object with what the comparison found.
pub struct Compared {
    pub planned: Planned,
    pub options: ObjectOptions,
    pub state: ResourceSync,
    pub live: Option<Value>,
}

/// A live object the app had that the render no longer holds.
pub struct Extraneous {
    pub resource: ApiResource,
    pub namespace: String,
    pub name: String,
    pub live: Value,
    pub verdict: Verdict,
}

/// What happened to one object, in Argo CD's words.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// Synced, SyncFailed, Pruned or PruneSkipped.
    pub status: &'static str,
    pub message: String,
    /// For a hook: the phase it runs in and how far it got.
    pub hook: Option<(Phase, HookPhase)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Every step applied and healthy, prunes done.
    Done,
    /// Waiting for objects to become healthy or hooks to end (the message
    /// names them) before the next step.
    Waiting(String),
    /// An object failed to apply or to be deleted.
    Failed(String),
}

pub struct Report {
    pub progress: Progress,
    pub outcomes: Vec<Outcome>,
}

fn outcome(p: &Planned, status: &'static str, message: String) -> Outcome {
    let (group, version) = p.group_version();
    Outcome {
        group: group.into(),
        version: version.into(),
        kind: p.kind().into(),
        namespace: p.namespace().into(),
        name: p.name().into(),
        status,
        message,
        hook: None,
    }
}

/// A hook's result: Synced while running or done, SyncFailed with why it failed.
fn hook_outcome(p: &Planned, phase: Phase, now: HookPhase) -> Outcome {
    let mut o = outcome(p, "Synced", String::new());
    if let HookPhase::Failed(m) = &now {
        o.status = "SyncFailed";
        o.message = m.clone();
    }
    o.hook = Some((phase, now));
    o
}

fn pruned(e: &Extraneous, status: &'static str, message: String) -> Outcome {
    Outcome {
        group: e.resource.group.clone(),
        version: e.resource.version.clone(),
        kind: e.resource.kind.clone(),
        namespace: e.namespace.clone(),
        name: e.name.clone(),
        status,
        message,
        hook: None,
    }
}

/// Not yet healthy (a suspended object counts as done, as in Argo CD).
fn unhealthy(items: &[&Compared]) -> Vec<String> {
    items
        .iter()
        .filter_map(|c| {
            let health = c
                .live
                .as_ref()
                .map_or(Health::Missing, |l| health::assess(l).health);
            (!matches!(health, Health::Healthy | Health::Suspended))
                .then(|| format!("{} {}", c.planned.kind(), c.planned.name()))
        })
        .collect()
}

/// The field managers (other than skiff) that own a field of `live` whose
/// value differs from what skiff wants there: who made the drift.
pub fn drifted_by(live: &Value, wanted: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let managed = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array);
    for entry in managed.into_iter().flatten() {
        let Some(manager) = entry.get("manager").and_then(Value::as_str) else {
            continue;
        };
        if manager == super::FIELD_MANAGER || out.iter().any(|m| m == manager) {
            continue;
        }
        let changed = entry.get("fieldsV1").is_some_and(|set| {
            ignore::managed_paths(set).iter().any(|path| {
                let want = ignore::get(wanted, path);
                want.is_some() && want != ignore::get(live, path)
            })
        });
        if changed {
            out.push(manager.to_string());
        }
    }
    out
}

/// The tracking id of the live object when it belongs to another app.
fn shared_with(c: &Compared) -> Option<String> {
    let theirs = annotation(c.live.as_ref()?, "tracking-id")?;
    (Some(theirs) != annotation(&c.planned.object, "tracking-id")).then(|| theirs.to_string())
}

/// The steps of a sync: (phase, wave, indexes into `compared`), in order.
pub fn plan_steps(compared: &[Compared]) -> Vec<(Phase, i64, Vec<usize>)> {
    let mut order: Vec<Task> = compared
        .iter()
        .enumerate()
        .flat_map(|(id, c)| {
            let object = &c.planned.object;
            let wave = c.options.wave;
            c.options.phases().into_iter().map(move |phase| Task {
                id,
                object,
                phase,
                wave,
            })
        })
        .collect();
    tasks::order(&mut order);
    tasks::steps(&order)
        .into_iter()
        .map(|step| {
            (
                step[0].phase,
                step[0].wave,
                step.iter().map(|t| t.id).collect(),
            )
        })
        .collect()
}

/// How far a hook got in this operation, from the results of its earlier passes.
fn hook_before(previous: &[ResourceResult], c: &Compared, phase: Phase) -> Option<HookPhase> {
    let p = &c.planned;
    previous
        .iter()
        .find(|r| {
            r.hook_type == phase.as_str()
                && r.kind == p.kind()
                && r.namespace == p.namespace()
                && r.name == p.name()
        })
        .and_then(|r| HookPhase::parse(&r.hook_phase))
}

/// Runs the operation as far as it can go in this pass. `previous` holds the
/// results of its earlier passes (empty for a new operation).
pub async fn run(
    client: &Client,
    kinds: &Kinds,
    compared: &mut [Compared],
    extraneous: &[Extraneous],
    app_options: &SyncOptions,
    previous: &[ResourceResult],
) -> Report {
    let mut outcomes = Vec::new();
    let steps = plan_steps(compared);
    let mut failure = None;
    'steps: for (n, (phase, wave, ids)) in steps.iter().enumerate() {
        if *phase == Phase::SyncFail {
            continue;
        }
        let mut waiting = Vec::new();
        for &id in ids {
            let c = &mut compared[id];
            if !c.options.hook.is_empty() {
                let before = hook_before(previous, c, *phase);
                let fresh = matches!(before, None | Some(HookPhase::Running));
                let now = hooks::advance(client, kinds, c, before).await;
                if fresh {
                    outcomes.push(hook_outcome(&c.planned, *phase, now.clone()));
                }
                match now {
                    HookPhase::Running => {
                        waiting.push(format!("{} {}", c.planned.kind(), c.planned.name()))
                    }
                    HookPhase::Failed(m) => {
                        failure = Some(format!(
                            "{} hook {} {} failed: {m}",
                            phase.as_str(),
                            c.planned.kind(),
                            c.planned.name()
                        ));
                        break 'steps;
                    }
                    HookPhase::Succeeded => {}
                }
                continue;
            }
            if c.state == ResourceSync::Synced {
                continue;
            }
            let options = app_options.with(&c.options.sync);
            if options.fail_on_shared_resource == Some(true) {
                if let Some(shared) = shared_with(c) {
                    let message = format!(
                        "{} {} is shared: it is tracked as {shared} (FailOnSharedResource=true)",
                        c.planned.kind(),
                        c.planned.name()
                    );
                    outcomes.push(outcome(&c.planned, "SyncFailed", message.clone()));
                    failure = Some(message);
                    break 'steps;
                }
            }
            let applied = if options.replace == Some(true) {
                replace_one(client, kinds, &c.planned, c.live.as_ref()).await
            } else {
                apply_one(client, kinds, &c.planned, false).await
            };
            let drift = c
                .live
                .as_ref()
                .map(|live| drifted_by(live, &c.planned.object))
                .unwrap_or_default();
            match applied {
                Ok(obj) => {
                    c.state = ResourceSync::Synced;
                    c.live = Some(obj);
                    let message = if drift.is_empty() {
                        String::new()
                    } else {
                        format!("changed by {}", drift.join(", "))
                    };
                    outcomes.push(outcome(&c.planned, "Synced", message));
                }
                Err(e) => {
                    outcomes.push(outcome(&c.planned, "SyncFailed", e.clone()));
                    failure = Some(format!(
                        "{} {} failed to apply: {e}",
                        c.planned.kind(),
                        c.planned.name()
                    ));
                    break 'steps;
                }
            }
            if c.planned.kind() == "CustomResourceDefinition" {
                let _ = kinds.refresh(client).await;
            }
        }
        // Hooks end before the next step; ordinary objects must be healthy
        // too, except in the last step.
        let last =
            n + 1 == steps.len() || steps[n + 1..].iter().all(|(p, _, _)| *p == Phase::SyncFail);
        if !last {
            let items: Vec<&Compared> = ids
                .iter()
                .map(|&id| &compared[id])
                .filter(|c| c.options.hook.is_empty())
                .collect();
            waiting.extend(unhealthy(&items));
        }
        if !waiting.is_empty() {
            let message = format!(
                "waiting for {} ({} wave {wave})",
                waiting.join(", "),
                phase.as_str(),
            );
            return Report {
                progress: Progress::Waiting(message),
                outcomes,
            };
        }
    }
    if let Some(failure) = failure {
        return Report {
            progress: Progress::Failed(failure),
            outcomes,
        };
    }
    // Prunes: higher waves first, PruneLast ones once everything is healthy.
    let mut prunes: Vec<(usize, i64, bool)> = Vec::new();
    for (i, e) in extraneous.iter().enumerate() {
        match &e.verdict {
            Verdict::Prune { wave, last } => prunes.push((i, *wave, *last)),
            Verdict::Keep(why) => outcomes.push(pruned(e, "PruneSkipped", why.clone())),
            Verdict::NotOurs => {}
        }
    }
    prune::order(&mut prunes);
    let propagation = match app_options.prune_propagation {
        Some(Propagation::Background) => PropagationPolicy::Background,
        Some(Propagation::Orphan) => PropagationPolicy::Orphan,
        // Argo CD's default.
        Some(Propagation::Foreground) | None => PropagationPolicy::Foreground,
    };
    for &(i, _, last) in &prunes {
        let e = &extraneous[i];
        if last {
            let all: Vec<&Compared> = compared.iter().collect();
            let waiting = unhealthy(&all);
            if !waiting.is_empty() {
                return Report {
                    progress: Progress::Waiting(format!(
                        "waiting for healthy state of {} before pruning last",
                        waiting.join(", ")
                    )),
                    outcomes,
                };
            }
        }
        let api: Api<DynamicObject> = if e.namespace.is_empty() {
            Api::all_with(client.clone(), &e.resource)
        } else {
            Api::namespaced_with(client.clone(), &e.namespace, &e.resource)
        };
        let params = DeleteParams {
            propagation_policy: Some(propagation.clone()),
            ..DeleteParams::default()
        };
        match api.delete(&e.name, &params).await {
            Ok(_) => outcomes.push(pruned(e, "Pruned", "pruned".into())),
            Err(kube::Error::Api(status)) if status.code == 404 => {
                outcomes.push(pruned(e, "Pruned", "already gone".into()))
            }
            Err(err) => {
                let message = format!("deleting {} {}: {err}", e.resource.kind, e.name);
                outcomes.push(pruned(e, "SyncFailed", message.clone()));
                return Report {
                    progress: Progress::Failed(message),
                    outcomes,
                };
            }
        }
    }
    Report {
        progress: Progress::Done,
        outcomes,
    }
}

/// Ends the message of an operation whose SyncFail hooks are running; the
/// failure before it is what the operation ends with.
pub const SYNC_FAIL_WAIT: &str = " (waiting for the SyncFail hooks)";

/// After an operation failed with `failure`: starts its SyncFail hooks and
/// waits for them, as Argo CD does; the operation fails once they have ended.
pub async fn run_sync_fail(
    client: &Client,
    kinds: &Kinds,
    compared: &mut [Compared],
    previous: &[ResourceResult],
    failure: &str,
) -> Report {
    let mut outcomes = Vec::new();
    let mut running = false;
    let mut failed = Vec::new();
    for (phase, _, ids) in plan_steps(compared)
        .into_iter()
        .filter(|(p, _, _)| *p == Phase::SyncFail)
    {
        for id in ids {
            let c = &mut compared[id];
            let before = hook_before(previous, c, phase);
            let fresh = matches!(before, None | Some(HookPhase::Running));
            let now = hooks::advance(client, kinds, c, before).await;
            if fresh {
                outcomes.push(hook_outcome(&c.planned, phase, now.clone()));
            }
            match now {
                HookPhase::Running => running = true,
                HookPhase::Failed(m) => failed.push(format!(
                    "; SyncFail hook {} {} failed: {m}",
                    c.planned.kind(),
                    c.planned.name()
                )),
                HookPhase::Succeeded => {}
            }
        }
    }
    let progress = if running {
        Progress::Waiting(format!("{failure}{SYNC_FAIL_WAIT}"))
    } else {
        Progress::Failed(format!("{failure}{}", failed.concat()))
    };
    Report { progress, outcomes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_manager_of_a_drifted_field_is_named() {
        let live = json!({"metadata": {"managedFields": [
            {"manager": "skiff", "fieldsV1": {"f:data": {"f:other": {}}}},
            {"manager": "kubectl-edit", "fieldsV1": {"f:data": {"f:k": {}}}},
            {"manager": "hpa", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "labeler", "fieldsV1": {"f:metadata": {"f:labels": {"f:team": {}}}}}],
            "labels": {"team": "web"}},
            "data": {"k": "edited", "other": "x"}, "spec": {"replicas": 3}});
        let wanted =
            json!({"data": {"k": "v", "other": "x"}, "metadata": {"labels": {"team": "web"}}});
        // hpa's field is not one skiff sets; labeler's label has the wanted value.
        assert_eq!(drifted_by(&live, &wanted), ["kubectl-edit"]);
        let same = json!({"data": {"k": "edited", "other": "x"}});
        assert!(drifted_by(&live, &same).is_empty());
    }
}
