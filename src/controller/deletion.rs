//! Deleting an Application. As in Argo CD, an app deleted without a
//! resources finalizer leaves its objects alone; with one, its own objects
//! (its inventory and the hooks its last operation left) are deleted first,
//! except those that say `Delete=false`, and the finalizer is removed once
//! they are gone, so the Application disappears last.

use super::events::Told;
use super::{app_sync_options, stop, write_status, Context, Error, Stop, OPERATION_POLL};
use crate::application::{Application, ApplicationCondition};
use crate::sync::prune::{self, Verdict};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PropagationPolicy};
use kube::ResourceExt;
use serde_json::json;
use std::time::Duration;

/// Finalizers that make deleting an app delete its objects: skiff's names
/// and Argo CD's, each in a foreground and a background flavour.
pub const RESOURCES_FINALIZERS: [&str; 4] = [
    "resources-finalizer.skiff.dev",
    "resources-finalizer.skiff.dev/background",
    "resources-finalizer.argocd.argoproj.io",
    "resources-finalizer.argocd.argoproj.io/background",
];

/// How soon a failed deletion is tried again.
const DELETION_RETRY: Duration = Duration::from_secs(5);

/// One pass over an app that is being deleted; returns when to come back.
pub async fn finalize(app: &Application, ctx: &Context) -> Result<Option<Duration>, Error> {
    let ours: Vec<String> = app
        .finalizers()
        .iter()
        .filter(|f| RESOURCES_FINALIZERS.contains(&f.as_str()))
        .cloned()
        .collect();
    if ours.is_empty() {
        // Not asked to delete anything; another finalizer holds the app.
        return Ok(None);
    }
    // Foreground unless every finalizer asks for background, as Argo CD does.
    let propagation = if ours.iter().all(|f| f.ends_with("/background")) {
        PropagationPolicy::Background
    } else {
        PropagationPolicy::Foreground
    };
    match delete_objects(app, ctx, propagation).await {
        Ok(Remaining::None) => {
            remove_finalizers(app, ctx, &ours).await?;
            Ok(None)
        }
        Ok(Remaining::Some) => {
            clear_condition(app, ctx).await?;
            Ok(Some(OPERATION_POLL))
        }
        Err(failure) => {
            let message = failure.message.clone();
            let mut status = app.status.clone().unwrap_or_default();
            let since = status
                .conditions
                .iter()
                .find(|c| c.type_ == failure.kind && c.message == message)
                .and_then(|c| c.last_transition_time.clone())
                .unwrap_or_else(super::now);
            status.conditions = vec![ApplicationCondition {
                type_: failure.kind.into(),
                message,
                last_transition_time: Some(since),
            }];
            if Some(&status) != app.status.as_ref() {
                write_status(ctx, app, &status).await?;
            }
            Ok(Some(DELETION_RETRY))
        }
    }
}

enum Remaining {
    /// Everything to delete is gone.
    None,
    /// Deletions were asked for and have not finished.
    Some,
}

async fn delete_objects(
    app: &Application,
    ctx: &Context,
    propagation: PropagationPolicy,
) -> Result<Remaining, Stop> {
    let spec = &app.spec;
    let options = app_sync_options(app).map_err(|e| {
        stop(
            "DeletionError",
            format!("{e}; nothing is deleted until it is fixed"),
        )
    })?;
    let dest_ns = spec.destination.namespace.clone().unwrap_or_default();
    let app_ns = app.namespace().unwrap_or_default();
    let name = app.name_any();
    let decide_for = prune::App {
        namespace: &app_ns,
        name: &name,
        options: &options,
        created_namespace: (options.create_namespace == Some(true)).then_some(dest_ns.as_str()),
        prune: true,
    };
    let status = app.status.as_ref();
    // The inventory, and hooks the last operation left behind.
    let hooks = status
        .and_then(|s| s.operation_state.as_ref())
        .and_then(|o| o.sync_result.as_ref())
        .into_iter()
        .flat_map(|r| &r.resources)
        .filter(|r| !r.hook_type.is_empty())
        .map(|r| (&r.group, &r.version, &r.kind, &r.namespace, &r.name));
    let mut objects: Vec<_> = status
        .into_iter()
        .flat_map(|s| &s.resources)
        .map(|r| (&r.group, &r.version, &r.kind, &r.namespace, &r.name))
        .chain(hooks)
        .collect();
    objects.dedup();
    let mut remaining = Remaining::None;
    let mut deleted = Vec::new();
    let mut kept = Vec::new();
    for (group, version, kind, namespace, name) in objects {
        let found = ctx
            .kinds
            .resolve(&ctx.client, group, version, kind)
            .await
            .map_err(|e| stop("DeletionError", e.to_string()))?;
        let Some((resource, namespaced)) = found else {
            // The kind is gone from the cluster, and its objects with it.
            continue;
        };
        let api: Api<DynamicObject> = if namespaced {
            Api::namespaced_with(ctx.client.clone(), namespace, &resource)
        } else {
            Api::all_with(ctx.client.clone(), &resource)
        };
        let live = api
            .get_opt(name)
            .await
            .map_err(|e| stop("DeletionError", format!("reading {kind} {name}: {e}")))?;
        let Some(live) = live else { continue };
        let being_deleted = live.metadata.deletion_timestamp.is_some();
        let live = serde_json::to_value(live).unwrap_or_default();
        match prune::decide_on_deletion(&decide_for, &live) {
            Verdict::NotOurs => continue,
            Verdict::Keep(why) => {
                kept.push(format!("{kind} {name} ({why})"));
                continue;
            }
            Verdict::Prune { .. } => {}
        }
        remaining = Remaining::Some;
        if being_deleted {
            continue;
        }
        let params = DeleteParams {
            propagation_policy: Some(propagation.clone()),
            ..DeleteParams::default()
        };
        match api.delete(name, &params).await {
            Ok(_) => deleted.push(format!("{kind} {name}")),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                return Err(stop(
                    "DeletionError",
                    format!("deleting {kind} {name}: {e}"),
                ))
            }
        }
    }
    // What is kept is told with the deletions, or on the last pass.
    let last = matches!(remaining, Remaining::None);
    if !deleted.is_empty() || (last && !kept.is_empty()) {
        let told = Told::Deleting {
            deleted: &deleted,
            kept: &kept,
        };
        ctx.events.tell(app, told).await;
    }
    Ok(remaining)
}

/// Takes skiff's finalizers off, leaving any others. The resourceVersion in
/// the patch makes a concurrent change of the app fail it (the pass comes
/// back) instead of being overwritten.
async fn remove_finalizers(app: &Application, ctx: &Context, ours: &[String]) -> Result<(), Error> {
    let after: Vec<&String> = app
        .finalizers()
        .iter()
        .filter(|f| !ours.contains(f))
        .collect();
    let patch = json!({"metadata": {
        "finalizers": after,
        "resourceVersion": app.resource_version(),
    }});
    let namespace = app.namespace().unwrap_or_default();
    let api: Api<Application> = Api::namespaced(ctx.client.clone(), &namespace);
    match api
        .patch(
            &app.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(Error::Finalizer(
            format!("{namespace}/{}", app.name_any()),
            e,
        )),
    }
}

/// A DeletionError from an earlier pass goes once the deletion goes on.
async fn clear_condition(app: &Application, ctx: &Context) -> Result<(), Error> {
    let Some(mut status) = app.status.clone() else {
        return Ok(());
    };
    let before = status.conditions.len();
    status.conditions.retain(|c| c.type_ != "DeletionError");
    if status.conditions.len() != before {
        write_status(ctx, app, &status).await?;
    }
    Ok(())
}
