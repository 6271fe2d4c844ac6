//! The controller: watches Applications and, for each, runs the pipeline —
//! fetch (source) → render → compare (diff) → apply (sync) → health — then
//! writes the status. `reconcile` is plumbing; the steps live in their stages.

use crate::application::{
    Application, ApplicationCondition, ApplicationStatus, HealthStatus, OperationState,
    ResourceResult, ResourceStatus, RevisionHistory, SyncOperationResult, SyncStatus, LOCAL_NAME,
    LOCAL_SERVER,
};
use crate::diff::{self, ResourceSync};
use crate::health::{self, Health};
use crate::metrics::{repo_label, AppInfo, Metrics, SyncLabels};
use crate::render;
use crate::source::creds::{credentials_for, SECRET_TYPE_LABELS};
use crate::source::git::RepoCache;
use crate::sync::{self, Kinds, Planned};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const SYNC_ANNOTATION: &str = "skiff.dev/sync";
pub const REFRESH_ANNOTATIONS: &[&str] = &["skiff.dev/refresh", "argocd.argoproj.io/refresh"];
const DEFAULT_HISTORY_LIMIT: usize = 10;

#[derive(Debug, Clone)]
pub struct Config {
    /// Watch Applications in this namespace only (all namespaces when None).
    pub watch_namespace: Option<String>,
    /// Where repository Secrets live.
    pub skiff_namespace: String,
    pub requeue: Duration,
    pub cache_dir: PathBuf,
}

/// The handles every reconcile shares.
pub struct Context {
    pub client: Client,
    pub repos: RepoCache,
    pub kinds: Kinds,
    pub metrics: Arc<Metrics>,
    pub config: Config,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("writing the status of {0}: {1}")]
    Status(String, kube::Error),
}

impl Context {
    pub fn new(client: Client, config: Config, metrics: Arc<Metrics>) -> Context {
        let m = metrics.clone();
        let observer: crate::source::git::GitObserver =
            Arc::new(move |url, kind, took, _ok| m.observe_git(url, kind, took));
        Context {
            repos: RepoCache::new(&config.cache_dir, Some(observer)),
            kinds: Kinds::default(),
            client,
            metrics,
            config,
        }
    }
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Runs the controller until the process ends; `ready` turns true once the
/// Application cache has synced.
pub async fn run(ctx: Arc<Context>, ready: Arc<AtomicBool>) {
    let apps: Api<Application> = match &ctx.config.watch_namespace {
        Some(ns) => Api::namespaced(ctx.client.clone(), ns),
        None => Api::all(ctx.client.clone()),
    };
    // A second watch of Applications: deleted ones take their metric series
    // with them, and the first complete listing makes skiff ready.
    let metrics = ctx.metrics.clone();
    let lifecycle = watcher(apps.clone(), watcher::Config::default()).for_each(move |event| {
        match event {
            Ok(watcher::Event::Delete(app)) => {
                metrics.forget_app(&app.namespace().unwrap_or_default(), &app.name_any())
            }
            Ok(watcher::Event::InitDone) => ready.store(true, Ordering::SeqCst),
            _ => {}
        }
        futures::future::ready(())
    });
    tokio::spawn(lifecycle);
    Controller::new(apps, watcher::Config::default())
        .shutdown_on_signal()
        .run(reconcile, error_policy, ctx)
        .for_each(|result| {
            if let Err(e) = result {
                tracing::debug!(error = %e, "reconcile");
            }
            futures::future::ready(())
        })
        .await;
}

fn jittered(base: Duration) -> Duration {
    use rand::Rng;
    let factor = rand::rng().random_range(0.9..1.1);
    base.mul_f64(factor)
}

async fn reconcile(app: Arc<Application>, ctx: Arc<Context>) -> Result<Action, Error> {
    let start = Instant::now();
    let span = tracing::info_span!("reconcile", app = %app.name_any(), namespace = %app.namespace().unwrap_or_default());
    let _enter = span.enter();
    let result = process(&app, &ctx).await;
    let dest = app
        .spec
        .destination
        .server
        .clone()
        .unwrap_or_else(|| LOCAL_SERVER.into());
    ctx.metrics
        .observe_reconcile(&app.namespace().unwrap_or_default(), &dest, start.elapsed());
    result.map(|_| Action::requeue(jittered(ctx.config.requeue)))
}

fn error_policy(_app: Arc<Application>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(%error, "reconcile failed; retrying");
    Action::requeue(Duration::from_secs(5))
}

/// Why a comparison or sync stopped, as an Application condition.
struct Stop {
    kind: &'static str,
    message: String,
}

fn stop(kind: &'static str, message: impl Into<String>) -> Stop {
    Stop {
        kind,
        message: message.into(),
    }
}

/// What the pipeline learned about one app in this pass.
#[derive(Default)]
struct Pass {
    revision: Option<String>,
    tool: Option<render::Tool>,
    resources: Vec<ResourceStatus>,
    synced: bool,
    health: Option<(Health, String)>,
    operation: Option<OperationState>,
    history: Option<RevisionHistory>,
    errors: Vec<Stop>,
}

async fn process(app: &Application, ctx: &Context) -> Result<(), Error> {
    let namespace = app.namespace().unwrap_or_default();
    let name = app.name_any();
    let annotations = app.annotations();
    let refresh = REFRESH_ANNOTATIONS
        .iter()
        .any(|a| annotations.contains_key(*a));
    let manual_sync = annotations.contains_key(SYNC_ANNOTATION);

    let mut pass = Pass::default();
    if let Err(s) = compare_and_sync(app, ctx, refresh, manual_sync, &mut pass).await {
        pass.errors.push(s);
    }
    let previous = app.status.clone().unwrap_or_default();
    let status = next_status(app, &previous, pass);
    if status_differs(&previous, &status) {
        let mut status = status.clone();
        status.reconciled_at = Some(now());
        let body =
            json!({"apiVersion": "skiff.dev/v1alpha1", "kind": "Application", "status": status});
        let api: Api<Application> = Api::namespaced(ctx.client.clone(), &namespace);
        api.patch_status(
            &name,
            &PatchParams::apply(sync::FIELD_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await
        .map_err(|e| Error::Status(format!("{namespace}/{name}"), e))?;
    }
    if refresh || manual_sync {
        let mut remove = serde_json::Map::new();
        for a in REFRESH_ANNOTATIONS.iter().chain([SYNC_ANNOTATION].iter()) {
            if annotations.contains_key(*a) {
                remove.insert(a.to_string(), Value::Null);
            }
        }
        let api: Api<Application> = Api::namespaced(ctx.client.clone(), &namespace);
        let patch = json!({"metadata": {"annotations": remove}});
        if let Err(e) = api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            tracing::warn!(error = %e, "could not remove the handled annotations");
        }
    }
    ctx.metrics.set_app_info(AppInfo {
        namespace,
        name,
        project: app.spec.project.clone(),
        autosync_enabled: app
            .spec
            .sync_policy
            .as_ref()
            .is_some_and(|p| p.automated.is_some())
            .to_string(),
        repo: repo_label(&app.spec.source.repo_url),
        dest_server: app
            .spec
            .destination
            .server
            .clone()
            .unwrap_or_else(|| LOCAL_SERVER.into()),
        dest_namespace: app.spec.destination.namespace.clone().unwrap_or_default(),
        sync_status: status.sync.status.clone(),
        health_status: status.health.status.clone(),
        operation: String::new(),
    });
    Ok(())
}

/// Status changes other than the reconcile time.
fn status_differs(old: &ApplicationStatus, new: &ApplicationStatus) -> bool {
    let mut a = old.clone();
    a.reconciled_at = None;
    let mut b = new.clone();
    b.reconciled_at = None;
    a != b
}

fn next_status(app: &Application, previous: &ApplicationStatus, pass: Pass) -> ApplicationStatus {
    let mut status = previous.clone();
    status.observed_generation = app.metadata.generation;
    if let Some(tool) = pass.tool {
        status.source_type = Some(tool.as_str().into());
    }
    let compared = crate::application::ComparedTo {
        source: app.spec.source.clone(),
        destination: app.spec.destination.clone(),
    };
    let comparison_failed = pass.errors.iter().any(|e| e.kind != "SyncError");
    if comparison_failed {
        status.sync = SyncStatus {
            status: "Unknown".into(),
            revision: previous.sync.revision.clone(),
            compared_to: previous.sync.compared_to.clone(),
        };
    } else {
        status.sync = SyncStatus {
            status: if pass.synced { "Synced" } else { "OutOfSync" }.into(),
            revision: pass.revision.clone().unwrap_or_default(),
            compared_to: Some(compared),
        };
        status.resources = pass.resources;
        if let Some((h, message)) = pass.health {
            status.health = HealthStatus {
                status: h.as_str().into(),
                message,
            };
        }
    }
    if status.health.status.is_empty() {
        status.health.status = Health::Unknown.as_str().into();
    }
    if let Some(op) = pass.operation {
        status.operation_state = Some(op);
    }
    if let Some(entry) = pass.history {
        status.history.push(entry);
        let limit = app
            .spec
            .revision_history_limit
            .map_or(DEFAULT_HISTORY_LIMIT, |l| l.max(1) as usize);
        let excess = status.history.len().saturating_sub(limit);
        status.history.drain(..excess);
    }
    // Conditions: one per kind of error now present; a condition that stays
    // keeps the time it first appeared.
    let mut conditions = Vec::new();
    for e in pass.errors {
        let since = previous
            .conditions
            .iter()
            .find(|c| c.type_ == e.kind && c.message == e.message)
            .and_then(|c| c.last_transition_time.clone())
            .unwrap_or_else(now);
        conditions.push(ApplicationCondition {
            type_: e.kind.into(),
            message: e.message,
            last_transition_time: Some(since),
        });
    }
    status.conditions = conditions;
    status
}

async fn compare_and_sync(
    app: &Application,
    ctx: &Context,
    refresh: bool,
    manual_sync: bool,
    pass: &mut Pass,
) -> Result<(), Stop> {
    let spec = &app.spec;
    let dest = &spec.destination;
    if dest
        .server
        .as_deref()
        .is_some_and(|s| !s.is_empty() && s != LOCAL_SERVER)
        || dest
            .name
            .as_deref()
            .is_some_and(|n| !n.is_empty() && n != LOCAL_NAME)
    {
        return Err(stop(
            "InvalidSpecError",
            format!(
                "spec.destination: only the local cluster ({LOCAL_SERVER}, name {LOCAL_NAME}) is supported, not {}",
                dest.server.clone().or(dest.name.clone()).unwrap_or_default()
            ),
        ));
    }
    if spec.source.repo_url.trim().is_empty() {
        return Err(stop("InvalidSpecError", "spec.source.repoURL is empty"));
    }
    let app_ns = app.namespace().unwrap_or_default();
    let dest_ns = dest.namespace.clone().unwrap_or_default();

    // Source.
    let secrets = repository_secrets(ctx).await.map_err(|e| {
        stop(
            "ComparisonError",
            format!(
                "cannot read repository Secrets in {}: {e}",
                ctx.config.skiff_namespace
            ),
        )
    })?;
    let creds = credentials_for(&spec.source.repo_url, &secrets);
    let resolved = ctx
        .repos
        .resolve(
            &spec.source.repo_url,
            &spec.source.target_revision,
            creds.as_ref(),
            refresh,
        )
        .await
        .map_err(|e| {
            stop(
                "ComparisonError",
                format!("Failed to load target state: {e}"),
            )
        })?;
    pass.revision = Some(resolved.commit.clone());
    let tree = ctx.repos.tree(&resolved).map_err(|e| {
        stop(
            "ComparisonError",
            format!("Failed to load target state: {e}"),
        )
    })?;

    // Render.
    pass.tool = render::detect(&tree, &spec.source.path).ok();
    let manifests = render::render_source(&tree, &spec.source).map_err(|e| {
        stop(
            "ComparisonError",
            format!(
                "Failed to render {} at {}: {e}",
                spec.source.path,
                short(&resolved.commit)
            ),
        )
    })?;
    let planned = sync::plan(
        &ctx.client,
        &ctx.kinds,
        &manifests,
        &app_ns,
        &app.name_any(),
        &dest_ns,
    )
    .await
    .map_err(|e| stop("ComparisonError", e.to_string()))?;

    // Diff.
    let mut compared = Vec::with_capacity(planned.len());
    for p in &planned {
        let live = sync::get_live(&ctx.client, p).await.map_err(|e| {
            stop(
                "ComparisonError",
                format!("reading {} {}: {e}", p.kind(), p.name()),
            )
        })?;
        let predicted = match &live {
            Some(_) => sync::apply_one(&ctx.client, &ctx.kinds, p, true).await.ok(),
            None => None,
        };
        compared.push((diff::compare(live.as_ref(), predicted.as_ref()), live));
    }
    let in_sync = compared.iter().all(|(s, _)| *s == ResourceSync::Synced);
    let automated = spec
        .sync_policy
        .as_ref()
        .is_some_and(|p| p.automated.is_some());

    // Sync.
    if !in_sync && (automated || manual_sync) {
        let started = now();
        let mut results = Vec::new();
        let mut failed = 0;
        if spec
            .sync_policy
            .as_ref()
            .is_some_and(|p| p.has_option("CreateNamespace=true"))
            && !dest_ns.is_empty()
        {
            ensure_namespace(ctx, &dest_ns)
                .await
                .map_err(|e| stop("SyncError", format!("creating namespace {dest_ns}: {e}")))?;
        }
        for (i, p) in planned.iter().enumerate() {
            if compared[i].0 == ResourceSync::Synced {
                continue;
            }
            let result = sync::apply_one(&ctx.client, &ctx.kinds, p, false).await;
            let (status, message) = match &result {
                Ok(_) => ("Synced", String::new()),
                Err(e) => {
                    failed += 1;
                    ("SyncFailed", e.clone())
                }
            };
            if let Ok(obj) = result {
                compared[i] = (ResourceSync::Synced, Some(obj));
            }
            results.push(resource_result(p, status, message));
            if p.kind() == "CustomResourceDefinition" {
                let _ = ctx.kinds.refresh(&ctx.client).await;
            }
        }
        let phase = if failed == 0 { "Succeeded" } else { "Failed" };
        let message = if failed == 0 {
            "successfully synced (all tasks run)".to_string()
        } else {
            format!("{failed} of {} objects failed to apply", results.len())
        };
        ctx.metrics.count_sync(SyncLabels {
            namespace: app_ns.clone(),
            name: app.name_any(),
            project: spec.project.clone(),
            dest_server: dest.server.clone().unwrap_or_else(|| LOCAL_SERVER.into()),
            phase: phase.into(),
            dry_run: "false".into(),
        });
        let finished = now();
        pass.operation = Some(OperationState {
            phase: phase.into(),
            message: message.clone(),
            started_at: started.clone(),
            finished_at: Some(finished.clone()),
            sync_result: Some(SyncOperationResult {
                revision: resolved.commit.clone(),
                resources: results,
            }),
        });
        if failed == 0 {
            let next_id = app
                .status
                .as_ref()
                .and_then(|s| s.history.last())
                .map_or(0, |h| h.id + 1);
            pass.history = Some(RevisionHistory {
                id: next_id,
                revision: resolved.commit.clone(),
                deployed_at: finished,
                deploy_started_at: Some(started),
                source: spec.source.clone(),
            });
        } else {
            pass.errors.push(stop("SyncError", message));
        }
    }

    // Health and per-resource status.
    let mut worst = (Health::Healthy, String::new());
    let mut unhealthy = Vec::new();
    for (p, (state, live)) in planned.iter().zip(&compared) {
        let assessment = match live {
            Some(obj) => health::assess(obj),
            None => health::Assessment {
                health: Health::Missing,
                message: String::new(),
            },
        };
        if assessment.health != Health::Healthy {
            unhealthy.push(format!(
                "{} {}: {}",
                p.kind(),
                p.name(),
                assessment.health.as_str()
            ));
        }
        if assessment.health > worst.0 {
            worst = (assessment.health, assessment.message.clone());
        }
        let (group, version) = p.group_version();
        pass.resources.push(ResourceStatus {
            group: group.into(),
            version: version.into(),
            kind: p.kind().into(),
            namespace: p.namespace().into(),
            name: p.name().into(),
            status: state.as_str().into(),
            health: Some(HealthStatus {
                status: assessment.health.as_str().into(),
                message: assessment.message,
            }),
            requires_pruning: false,
        });
    }
    if !unhealthy.is_empty() {
        worst.1 = unhealthy
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
    }
    pass.synced = compared.iter().all(|(s, _)| *s == ResourceSync::Synced);
    pass.health = Some(worst);
    Ok(())
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

fn resource_result(p: &Planned, status: &str, message: String) -> ResourceResult {
    let (group, version) = p.group_version();
    ResourceResult {
        group: group.into(),
        version: version.into(),
        kind: p.kind().into(),
        namespace: p.namespace().into(),
        name: p.name().into(),
        status: status.into(),
        message,
    }
}

async fn repository_secrets(ctx: &Context) -> Result<Vec<Secret>, kube::Error> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &ctx.config.skiff_namespace);
    let mut out = Vec::new();
    for label in SECRET_TYPE_LABELS {
        out.extend(api.list(&ListParams::default().labels(label)).await?.items);
    }
    Ok(out)
}

async fn ensure_namespace(ctx: &Context, ns: &str) -> Result<(), kube::Error> {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(ctx.client.clone());
    if api.get_opt(ns).await?.is_some() {
        return Ok(());
    }
    let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
    api.patch(
        ns,
        &PatchParams::apply(sync::FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await?;
    Ok(())
}
