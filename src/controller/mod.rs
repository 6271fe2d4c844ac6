//! The controller: watches Applications and, for each, runs the pipeline —
//! fetch (source) → render → compare (diff) → apply (sync) → health — then
//! writes the status. `reconcile` is plumbing; the steps live in their stages.

mod deletion;
mod depends;
pub mod events;
pub mod preview;
pub mod requests;
mod watches;
pub mod webhooks;

use depends::Dependencies;

use events::Told;

use crate::application::{
    Application, ApplicationCondition, ApplicationSource, ApplicationStatus, HealthStatus,
    ManagedNamespaceMetadata, OperationState, ResourceResult, ResourceStatus, RevisionHistory,
    SyncOperationResult, SyncStatus, LOCAL_NAME, LOCAL_SERVER,
};
use crate::diff::ignore::Ignore;
use crate::diff::{self, ResourceSync};
use crate::health::{self, Health};
use crate::metrics::{repo_label, AppInfo, Metrics, SyncLabels};
use crate::render;
use crate::source::creds::{credentials_for, SECRET_TYPE_LABELS};
use crate::source::git::RepoCache;
use crate::sync::hooks::{self, HookPhase};
use crate::sync::operation::{self, Compared, Extraneous, Progress};
use crate::sync::options::{ObjectOptions, Phase, Scope, SyncOptions};
use crate::sync::{self, prune, retry, Kinds};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const SYNC_ANNOTATION: &str = "skiff.dev/sync";
/// `skiff.dev/rollback: <history id>`: a manual sync at that entry's revision and source.
pub const ROLLBACK_ANNOTATION: &str = "skiff.dev/rollback";
/// `skiff.dev/sync-revision: <revision>` beside `skiff.dev/sync`: a manual sync
/// of the spec's source at another revision (`argocd app sync --revision`).
pub const SYNC_REVISION_ANNOTATION: &str = "skiff.dev/sync-revision";
pub const REFRESH_ANNOTATIONS: &[&str] = &["skiff.dev/refresh", "argocd.argoproj.io/refresh"];
const DEFAULT_HISTORY_LIMIT: usize = 10;
/// How soon a running operation (waiting for a wave to become healthy) is looked at again.
const OPERATION_POLL: Duration = Duration::from_secs(2);
/// Passes that run at once: each holds its render and live objects, so
/// unbounded concurrency made memory grow with the number of apps; passes
/// mostly wait on the API server, so a few dozen keep it busy.
const CONCURRENT_PASSES: u16 = 16;
/// Reconcile requests closer than this are served by one pass.
const DRIFT_DEBOUNCE: Duration = Duration::from_millis(500);
/// How soon an app held back by its dependencies looks at them again.
const DEPENDENCY_POLL: Duration = Duration::from_secs(3);

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
    watches: watches::Watches,
    /// Apps the watches of managed objects ask to reconcile; taken once by `run`.
    woken: std::sync::Mutex<
        Option<
            tokio::sync::mpsc::UnboundedReceiver<kube::runtime::reflector::ObjectRef<Application>>,
        >,
    >,
    pub events: Arc<events::Events>,
    /// The controller's cache of Applications, once it runs.
    apps: std::sync::OnceLock<kube::runtime::reflector::Store<Application>>,
    /// Apps a webhook asked to refresh: their next pass asks the remote.
    refresh_asked: std::sync::Mutex<std::collections::HashSet<ObjectRef<Application>>>,
    pub repos: RepoCache,
    pub kinds: Kinds,
    pub metrics: Arc<Metrics>,
    pub config: Config,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("writing the status of {0}: {1}")]
    Status(String, kube::Error),
    #[error("removing the finalizer of {0}: {1}")]
    Finalizer(String, kube::Error),
}

impl Context {
    pub fn new(client: Client, config: Config, metrics: Arc<Metrics>) -> Context {
        let m = metrics.clone();
        let observer: crate::source::git::GitObserver = Arc::new(move |r| m.observe_git(&r));
        let (watches, woken) = watches::Watches::new(client.clone());
        Context {
            watches,
            woken: std::sync::Mutex::new(Some(woken)),
            repos: RepoCache::new(&config.cache_dir, Some(observer)),
            kinds: Kinds::default(),
            events: Arc::new(events::Events::new(client.clone())),
            apps: std::sync::OnceLock::new(),
            refresh_asked: Default::default(),
            client,
            metrics,
            config,
        }
    }
}

impl Context {
    /// Refreshes an app at once: a pass that asks the remote runs soon.
    pub fn ask_refresh(&self, app: ObjectRef<Application>) {
        self.refresh_asked
            .lock()
            .expect("refresh_asked")
            .insert(app.clone());
        self.watches.wake(app);
    }

    /// The Applications in the controller's cache (none before it runs).
    pub fn applications(&self) -> Vec<Arc<Application>> {
        self.apps.get().map(|s| s.state()).unwrap_or_default()
    }

    /// Whether a refresh was asked for this app since its last pass.
    fn take_refresh(&self, app: &Application) -> bool {
        self.refresh_asked
            .lock()
            .expect("refresh_asked")
            .remove(&ObjectRef::from_obj(app))
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
            Ok(watcher::Event::Delete(app)) => metrics.forget_app(
                &app.namespace().unwrap_or_default(),
                &app.name_any(),
                &app.uid().unwrap_or_default(),
            ),
            Ok(watcher::Event::InitDone) => ready.store(true, Ordering::SeqCst),
            _ => {}
        }
        futures::future::ready(())
    });
    tokio::spawn(lifecycle);
    let woken = ctx.woken.lock().expect("context").take();
    let drift = futures::stream::unfold(woken, |woken| async move {
        let mut woken = woken?;
        let app = woken.recv().await?;
        Some((app, Some(woken)))
    });
    let controller = Controller::new(apps, watcher::Config::default());
    let _ = ctx.apps.set(controller.store());
    controller
        // Changes of an app's objects arrive in bursts; one pass serves them.
        .with_config(
            kube::runtime::controller::Config::default()
                .debounce(DRIFT_DEBOUNCE)
                .concurrency(CONCURRENT_PASSES),
        )
        .reconcile_on(drift)
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
    result.map(|again| Action::requeue(again.unwrap_or_else(|| jittered(ctx.config.requeue))))
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
    /// Objects the app had that the render no longer holds, still live.
    extraneous: Vec<Extraneous>,
    /// Come back this soon (an operation is running).
    again: Option<Duration>,
    /// Why a rollback or a sync at a revision that was asked for was refused.
    refused: Option<String>,
}

/// Runs one pass; returns how soon to come back when sooner than the usual requeue.
async fn process(app: &Application, ctx: &Context) -> Result<Option<Duration>, Error> {
    if app.metadata.deletion_timestamp.is_some() {
        // An app on its way out is never synced.
        return deletion::finalize(app, ctx).await;
    }
    let namespace = app.namespace().unwrap_or_default();
    let name = app.name_any();
    let annotations = app.annotations();
    let refresh_annotated = REFRESH_ANNOTATIONS
        .iter()
        .any(|a| annotations.contains_key(*a));
    let refresh = ctx.take_refresh(app) || refresh_annotated;
    // `skiff.dev/sync: prune` also prunes, as `argocd app sync --prune` does.
    let manual_sync = annotations.get(SYNC_ANNOTATION).map(String::as_str);
    let rollback = annotations.get(ROLLBACK_ANNOTATION).map(String::as_str);
    let revision = annotations
        .get(SYNC_REVISION_ANNOTATION)
        .map(String::as_str);

    let mut pass = Pass::default();
    let asked = Asked {
        refresh,
        sync: manual_sync,
        rollback,
        revision,
    };
    if let Err(s) = compare_and_sync(app, ctx, asked, &mut pass).await {
        pass.errors.push(s);
    }
    let again = pass.again;
    let previous = app.status.clone().unwrap_or_default();
    let status = next_status(app, &previous, pass);
    if status_differs(&previous, &status) {
        let mut status = status.clone();
        status.reconciled_at = Some(now());
        write_status(ctx, app, &status).await?;
    }
    if refresh_annotated || manual_sync.is_some() || rollback.is_some() || revision.is_some() {
        let mut remove = serde_json::Map::new();
        for a in REFRESH_ANNOTATIONS.iter().chain(
            [
                SYNC_ANNOTATION,
                ROLLBACK_ANNOTATION,
                SYNC_REVISION_ANNOTATION,
            ]
            .iter(),
        ) {
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
    ctx.metrics.set_app_info(
        AppInfo {
            namespace,
            name,
            project: app.spec.project.clone(),
            autosync_enabled: app
                .spec
                .sync_policy
                .as_ref()
                .is_some_and(|p| p.automated().is_some())
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
        },
        &app.uid().unwrap_or_default(),
    );
    Ok(again)
}

/// Writes the whole status (server-side apply on /status: skiff owns all of it).
async fn write_status(
    ctx: &Context,
    app: &Application,
    status: &ApplicationStatus,
) -> Result<(), Error> {
    let (namespace, name) = (app.namespace().unwrap_or_default(), app.name_any());
    let body = json!({"apiVersion": "skiff.dev/v1alpha1", "kind": "Application", "status": status});
    let api: Api<Application> = Api::namespaced(ctx.client.clone(), &namespace);
    api.patch_status(
        &name,
        &PatchParams::apply(sync::FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map_err(|e| Error::Status(format!("{namespace}/{name}"), e))?;
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
    let comparison_failed = pass
        .errors
        .iter()
        .any(|e| matches!(e.kind, "ComparisonError" | "InvalidSpecError"));
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

/// What the Application's annotations ask of this pass.
#[derive(Clone, Copy)]
struct Asked<'a> {
    refresh: bool,
    /// `skiff.dev/sync`: its value (`prune` also prunes).
    sync: Option<&'a str>,
    /// `skiff.dev/rollback`: a history id.
    rollback: Option<&'a str>,
    /// `skiff.dev/sync-revision`: the revision a manual sync is for.
    revision: Option<&'a str>,
}

/// The source and revision a pass works on: the running operation's (it is
/// pinned), a history entry's (rollback), the spec's source at the revision a
/// manual sync asks for, or the spec's. A refused rollback or revision is left
/// in `pass.refused`.
fn target(app: &Application, asked: Asked, pass: &mut Pass) -> (ApplicationSource, String, bool) {
    let spec = &app.spec;
    let status = app.status.as_ref();
    let pinned = status
        .and_then(|s| s.operation_state.as_ref())
        .filter(|o| o.phase == "Running")
        .and_then(|o| o.sync_result.as_ref())
        .and_then(|r| Some((r.source.clone()?, r.revision.clone())));
    if let Some((source, revision)) = pinned {
        return (source, revision, false);
    }
    if let Some(id) = asked.rollback {
        let automated = spec
            .sync_policy
            .as_ref()
            .is_some_and(|p| p.automated().is_some());
        let entry = status
            .into_iter()
            .flat_map(|s| &s.history)
            .find(|h| h.id.to_string() == id.trim());
        let refused = match entry {
            _ if automated => {
                format!("rollback to {id} refused: automated sync is on (turn it off first)")
            }
            None => format!("rollback to {id} refused: status.history has no entry with that id"),
            Some(h) => return (h.source.clone(), h.revision.clone(), true),
        };
        pass.refused = Some(refused);
    }
    if let (Some(_), Some(revision)) = (asked.sync, asked.revision.map(str::trim)) {
        let automated = spec
            .sync_policy
            .as_ref()
            .is_some_and(|p| p.automated().is_some());
        if !automated && !revision.is_empty() {
            return (spec.source.clone(), revision.to_string(), false);
        }
        pass.refused = Some(format!(
            "sync to revision {revision:?} refused: {}",
            if automated {
                "automated sync is on and would go back to targetRevision (turn it off first)"
            } else {
                "the revision is empty"
            }
        ));
    }
    (
        spec.source.clone(),
        spec.source.target_revision.clone(),
        false,
    )
}

async fn compare_and_sync(
    app: &Application,
    ctx: &Context,
    asked: Asked<'_>,
    pass: &mut Pass,
) -> Result<(), Stop> {
    let spec = &app.spec;
    let (source, revision, rolling_back) = target(app, asked, pass);
    if let Some(message) = pass.refused.clone() {
        // A one-off request: told as an event, shown as a condition for this pass.
        let told = match asked.rollback {
            Some(_) => Told::RollbackRefused { message: &message },
            None => Told::SyncRefused { message: &message },
        };
        ctx.events.tell(app, told).await;
        pass.errors.push(stop("SyncError", message));
    }
    let refresh = asked.refresh;
    // A refused request syncs nothing.
    let manual_sync = match pass.refused {
        Some(_) => None,
        None => asked.sync.or(rolling_back.then_some("rollback")),
    };
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
    if let Some(message) = spec.unsupported() {
        return Err(stop("InvalidSpecError", message));
    }
    if spec.source.repo_url.trim().is_empty() {
        return Err(stop("InvalidSpecError", "spec.source.repoURL is empty"));
    }
    let app_ns = app.namespace().unwrap_or_default();
    let dest_ns = dest.namespace.clone().unwrap_or_default();
    let dependencies = if spec.depends_on.is_empty() {
        Dependencies::Ready
    } else {
        depends::check(&ctx.client, app)
            .await
            .map_err(|e| stop("InvalidSpecError", e))?
    };

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
    let creds = credentials_for(&source.repo_url, &secrets);
    let resolved = ctx
        .repos
        .resolve(&source.repo_url, &revision, creds.as_ref(), refresh)
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
    pass.tool = render::detect(&tree, &source.path).ok();
    let env = render::BuildEnv::of(app, &source, &resolved.commit);
    let manifests = render::render_source(&tree, &source, &env).map_err(|e| {
        stop(
            "ComparisonError",
            format!(
                "Failed to render {} at {}: {e}",
                source.path,
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
    for p in &planned {
        if let Some(resource) = &p.resource {
            ctx.watches.ensure(resource);
        }
    }

    let app_options = app_sync_options(app).map_err(|e| stop("InvalidSpecError", e))?;
    let automated = spec.sync_policy.as_ref().and_then(|p| p.automated());

    let ignore =
        Ignore::compile(&spec.ignore_differences).map_err(|e| stop("InvalidSpecError", e))?;

    // Diff.
    let mut compared = Vec::with_capacity(planned.len());
    for mut p in planned {
        let options = ObjectOptions::of(&p.object).map_err(|e| {
            stop(
                "ComparisonError",
                format!("{}: {} {}: {e}", p.file, p.kind(), p.name()),
            )
        })?;
        if options.skip {
            continue;
        }
        // A hook with only generateName is named by the operation that makes it.
        let looked = if p.name().is_empty() {
            Looked::default()
        } else {
            look(&ctx.client, &ctx.kinds, &ignore, &mut p)
                .await
                .map_err(|e| stop("ComparisonError", e))?
        };
        // A failed dry run leaves the object OutOfSync; the sync tells why.
        compared.push(Compared {
            state: looked.state,
            planned: p,
            options,
            live: looked.live,
        });
    }
    let prune_asked = manual_sync == Some("prune") || automated.is_some_and(|a| a.prune);
    let created_namespace =
        (app_options.create_namespace == Some(true)).then_some(dest_ns.as_str());
    let extraneous = extraneous(
        app,
        ctx,
        &compared,
        &prune::App {
            namespace: &app_ns,
            name: &app.name_any(),
            options: &app_options,
            created_namespace,
            prune: prune_asked,
        },
    )
    .await?;
    // Hooks run during a sync; they are not part of the app's state.
    let counted = |c: &&Compared| c.options.hook.is_empty();
    // Differences a sync can resolve: an object to apply, or one to prune.
    let actionable = compared
        .iter()
        .filter(counted)
        .any(|c| c.state != ResourceSync::Synced)
        || extraneous
            .iter()
            .any(|(e, ignored)| !ignored && matches!(e.verdict, prune::Verdict::Prune { .. }));

    // Sync: a new operation when there is something to do and it is asked
    // for, or the one still running. An automated sync tries a revision and
    // source once (again with selfHeal, after a successful attempt).
    let running = app
        .status
        .as_ref()
        .and_then(|s| s.operation_state.as_ref())
        .filter(|o| o.phase == "Running");
    let attempted = app
        .status
        .as_ref()
        .and_then(|s| s.operation_state.as_ref())
        .filter(|o| {
            o.sync_result.as_ref().is_some_and(|r| {
                r.revision == resolved.commit && r.source.as_ref() == Some(&source)
            })
        });
    let auto =
        automated.is_some_and(|a| attempted.is_none_or(|o| a.self_heal && o.phase == "Succeeded"));
    let mut extraneous: Vec<Extraneous> = extraneous.into_iter().map(|(e, _)| e).collect();
    let mut start = running.is_some() || (actionable && (auto || manual_sync.is_some()));
    if start && running.is_none() {
        if let Dependencies::Waiting(names) = dependencies {
            start = false;
            pass.errors.push(stop(
                "DependencyNotReady",
                format!("waiting for {} to be Synced and Healthy", names.join(", ")),
            ));
            pass.again = Some(DEPENDENCY_POLL);
        }
    }
    // A repeat of a successful automated sync of this revision is self-heal.
    let trigger = if manual_sync.is_some() && running.is_none() {
        Trigger::Manual
    } else if attempted.is_some_and(|o| o.phase == "Succeeded") {
        Trigger::SelfHeal
    } else {
        Trigger::Automated
    };
    // Heals in a row wait longer each time, so skiff does not fight another
    // writer of the same field in a hot loop.
    let mut self_heal_attempts = running.map_or(0, |o| o.self_heal_attempts);
    if let (true, None, Some(last)) = (start && trigger == Trigger::SelfHeal, running, attempted) {
        let since = last
            .finished_at
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .and_then(|t| Duration::try_from(jiff::Timestamp::now().duration_since(t)).ok())
            .unwrap_or_default();
        let done = if since > retry::SELF_HEAL_COOLDOWN {
            0
        } else {
            last.self_heal_attempts
        };
        let wait = retry::self_heal_wait(done);
        if since < wait {
            start = false;
            pass.again = Some(wait - since);
        }
        self_heal_attempts = done + 1;
    }
    if start {
        let operation = SyncRun {
            source: &source,
            app,
            ctx,
            commit: &resolved.commit,
            options: &app_options,
            created_namespace,
            running,
            trigger,
            self_heal_attempts,
        };
        if let Err(e) = operation.run(&mut compared, &mut extraneous, pass).await {
            pass.errors.push(e);
        }
    } else if let Some(failed) = attempted.filter(|o| o.phase == "Failed") {
        // The failed sync of this revision stays an error until a new one runs.
        pass.errors.push(stop("SyncError", failed.message.clone()));
    }
    pass.extraneous = extraneous;

    // Health and per-resource status.
    let mut assessed = Vec::new();
    for c in compared.iter().filter(counted) {
        let p = &c.planned;
        let assessment = match &c.live {
            Some(obj) => health::assess(obj),
            None => health::Assessment {
                health: Health::Missing,
                message: String::new(),
            },
        };
        let (group, version) = p.group_version();
        pass.resources.push(ResourceStatus {
            group: group.into(),
            version: version.into(),
            kind: p.kind().into(),
            namespace: p.namespace().into(),
            name: p.name().into(),
            status: c.state.as_str().into(),
            health: Some(HealthStatus {
                status: assessment.health.as_str().into(),
                message: assessment.message.clone(),
            }),
            requires_pruning: false,
        });
        assessed.push((format!("{} {}", p.kind(), p.name()), assessment));
    }
    for e in &pass.extraneous {
        pass.resources.push(ResourceStatus {
            group: e.resource.group.clone(),
            version: e.resource.version.clone(),
            kind: e.resource.kind.clone(),
            namespace: e.namespace.clone(),
            name: e.name.clone(),
            status: "OutOfSync".into(),
            health: None,
            requires_pruning: true,
        });
    }
    pass.synced = compared
        .iter()
        .filter(counted)
        .all(|c| c.state == ResourceSync::Synced)
        && pass.extraneous.iter().all(|e| ignores_extraneous(&e.live));
    let app_health = health::aggregate(&assessed);
    pass.health = Some((app_health.health, app_health.message));
    Ok(())
}

/// One rendered object against the cluster.
#[derive(Default)]
pub(crate) struct Looked {
    pub live: Option<Value>,
    /// What a server-side dry-run apply leaves (None when nothing is live).
    pub predicted: Option<Value>,
    /// Why the dry run failed, if it did.
    pub dry_run_error: Option<String>,
    pub state: ResourceSync,
}

/// Reads the live object and predicts the apply (the diff of a pass and of
/// `skiff app diff`). Ignored fields take their live values in `p`, so the
/// comparison and a later apply both keep them. Err: the live object could
/// not be read.
pub(crate) async fn look(
    client: &Client,
    kinds: &Kinds,
    ignore: &Ignore,
    p: &mut sync::Planned,
) -> Result<Looked, String> {
    let live = sync::get_live(client, p)
        .await
        .map_err(|e| format!("reading {} {}: {e}", p.kind(), p.name()))?;
    let mut ignored = Vec::new();
    let (mut predicted, mut dry_run_error) = (None, None);
    if let Some(live) = &live {
        ignore.keep_live(&mut p.manifest.object, live);
        ignored = ignore.paths(live, &p.object);
        match sync::apply_one(client, kinds, p, true).await {
            Ok(v) => predicted = Some(v),
            Err(e) => dry_run_error = Some(e),
        }
    }
    let state = diff::compare(live.as_ref(), predicted.as_ref(), &ignored);
    Ok(Looked {
        live,
        predicted,
        dry_run_error,
        state,
    })
}

/// What started a sync operation.
#[derive(Clone, Copy, PartialEq)]
enum Trigger {
    Manual,
    Automated,
    /// Automated, again for a revision already synced: live objects drifted.
    SelfHeal,
}

/// One pass of a sync operation for an app.
struct SyncRun<'a> {
    /// The source synced (the spec's, or a history entry's for a rollback).
    source: &'a ApplicationSource,
    trigger: Trigger,
    app: &'a Application,
    ctx: &'a Context,
    commit: &'a str,
    options: &'a SyncOptions,
    created_namespace: Option<&'a str>,
    /// The operation this continues, if one is running.
    running: Option<&'a OperationState>,
    /// Self-heals in a row, this one included (0 when it is not one).
    self_heal_attempts: i64,
}

impl SyncRun<'_> {
    /// Events for what this pass of the operation did.
    async fn tell(&self, report: &operation::Report) {
        let (app, events) = (self.app, &self.ctx.events);
        let name = |o: &operation::Outcome| format!("{} {}", o.kind, o.name);
        let pruned: Vec<String> = report
            .outcomes
            .iter()
            .filter(|o| o.status == "Pruned")
            .map(name)
            .collect();
        if !pruned.is_empty() {
            events.tell(app, Told::Pruned { objects: &pruned }).await;
        }
        for o in &report.outcomes {
            if let Some((_, HookPhase::Failed(m))) = &o.hook {
                let hook = name(o);
                let told = Told::HookFailed {
                    hook: &hook,
                    message: m,
                };
                events.tell(app, told).await;
            }
        }
        let revision = self.commit;
        match &report.progress {
            Progress::Done => {
                if self.trigger == Trigger::SelfHeal {
                    let healed: Vec<String> = report
                        .outcomes
                        .iter()
                        .filter(|o| o.status == "Synced" && o.hook.is_none())
                        .map(|o| match o.message.as_str() {
                            "" => name(o),
                            by => format!("{} ({by})", name(o)),
                        })
                        .collect();
                    if !healed.is_empty() {
                        events
                            .tell(app, Told::DriftHealed { objects: &healed })
                            .await;
                    }
                }
                events
                    .tell(app, Told::OperationSucceeded { revision })
                    .await;
            }
            Progress::Failed(message) => {
                let told = Told::OperationFailed { revision, message };
                events.tell(app, told).await;
            }
            Progress::Waiting(_) => {}
        }
    }

    /// Runs the operation as far as it goes now and records it in `pass`;
    /// what it pruned leaves `extraneous`.
    async fn run(
        &self,
        compared: &mut [Compared],
        extraneous: &mut Vec<Extraneous>,
        pass: &mut Pass,
    ) -> Result<(), Stop> {
        let (app, ctx, spec) = (self.app, self.ctx, &self.app.spec);
        let automated = spec.sync_policy.as_ref().and_then(|p| p.automated());
        let strategy = spec.sync_policy.as_ref().and_then(|p| p.retry.as_ref());
        let retries = self.running.map_or(0, |o| o.retry_count);
        // A retry waits out its backoff from the end of the failed attempt.
        if let Some(failed_at) = self
            .running
            .filter(|o| o.retry_count > 0)
            .and_then(|o| o.finished_at.as_deref())
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        {
            let wait =
                retry::backoff(strategy, retries).map_err(|e| stop("InvalidSpecError", e))?;
            let waited = jiff::Timestamp::now().duration_since(failed_at);
            let left = jiff::SignedDuration::try_from(wait).unwrap_or_default() - waited;
            if left.is_positive() {
                pass.again = Some(Duration::try_from(left).unwrap_or(OPERATION_POLL));
                return Ok(());
            }
        }
        let prunes = extraneous
            .iter()
            .filter(|e| matches!(e.verdict, prune::Verdict::Prune { .. }))
            .count();
        let rendered = compared
            .iter()
            .filter(|c| c.options.hook.is_empty())
            .count();
        prune::refuse_empty(rendered, prunes, automated.is_some_and(|a| a.allow_empty))
            .map_err(|e| stop("SyncError", e))?;
        let started = self.running.map_or_else(now, |o| o.started_at.clone());
        for c in compared.iter_mut() {
            hooks::name_generated(c, self.commit, &started);
        }
        if let Some(ns) = self.created_namespace.filter(|ns| !ns.is_empty()) {
            let metadata = spec
                .sync_policy
                .as_ref()
                .and_then(|p| p.managed_namespace_metadata.as_ref());
            ensure_namespace(ctx, ns, metadata)
                .await
                .map_err(|e| stop("SyncError", format!("creating namespace {ns}: {e}")))?;
        }
        // Results of earlier passes of this operation, updated by this one's.
        let mut results: Vec<ResourceResult> = self
            .running
            .and_then(|o| o.sync_result.as_ref())
            .map(|r| r.resources.clone())
            .unwrap_or_default();
        if self.running.is_none() {
            let automated = self.trigger != Trigger::Manual;
            let started = Told::OperationStarted {
                revision: self.commit,
                automated,
            };
            ctx.events.tell(app, started).await;
        }
        // An operation that failed waits for its SyncFail hooks.
        let failing = self.running.filter(|_| {
            results
                .iter()
                .any(|r| r.hook_type == Phase::SyncFail.as_str())
        });
        let (client, kinds) = (&ctx.client, &ctx.kinds);
        let mut report = match failing {
            Some(op) => {
                let failure = op.message.strip_suffix(operation::SYNC_FAIL_WAIT);
                let failure = failure.unwrap_or(&op.message);
                operation::run_sync_fail(client, kinds, compared, &results, failure).await
            }
            None => {
                operation::run(client, kinds, compared, extraneous, self.options, &results).await
            }
        };
        let retrying = failing.is_none()
            && matches!(report.progress, Progress::Failed(_))
            && retry::allows(strategy, retries);
        if let (Progress::Failed(failure), false, None) = (&report.progress, retrying, failing) {
            let after = operation::run_sync_fail(client, kinds, compared, &results, failure).await;
            report.outcomes.extend(after.outcomes);
            report.progress = after.progress;
        }
        if !retrying {
            self.tell(&report).await;
        }
        for o in report.outcomes {
            if o.status == "Pruned" {
                extraneous.retain(|e| {
                    (&e.resource.kind, &e.namespace, &e.name) != (&o.kind, &o.namespace, &o.name)
                });
            }
            let (hook_type, hook_phase) = o
                .hook
                .map(|(t, p)| (t.as_str().to_string(), p.as_str().to_string()))
                .unwrap_or_default();
            results.retain(|r| {
                (&r.group, &r.kind, &r.namespace, &r.name, &r.hook_type)
                    != (&o.group, &o.kind, &o.namespace, &o.name, &hook_type)
            });
            results.push(ResourceResult {
                group: o.group,
                version: o.version,
                kind: o.kind,
                namespace: o.namespace,
                name: o.name,
                status: o.status.into(),
                message: o.message,
                hook_type,
                hook_phase,
            });
        }
        let (phase, message) = match &report.progress {
            Progress::Done => (
                "Succeeded",
                "successfully synced (all tasks run)".to_string(),
            ),
            Progress::Waiting(m) => ("Running", m.clone()),
            Progress::Failed(m) if retrying => (
                "Running",
                format!("retrying (attempt {} failed): {m}", retries + 1),
            ),
            Progress::Failed(m) => ("Failed", m.clone()),
        };
        let finished = (phase != "Running" || retrying).then(now);
        if retrying {
            let wait =
                retry::backoff(strategy, retries + 1).map_err(|e| stop("InvalidSpecError", e))?;
            pass.again = Some(wait);
        } else if phase == "Running" {
            pass.again = Some(OPERATION_POLL);
        } else {
            ctx.metrics.count_sync(
                SyncLabels {
                    namespace: app.namespace().unwrap_or_default(),
                    name: app.name_any(),
                    project: spec.project.clone(),
                    dest_server: spec
                        .destination
                        .server
                        .clone()
                        .unwrap_or_else(|| LOCAL_SERVER.into()),
                    phase: phase.into(),
                    dry_run: "false".into(),
                },
                &app.uid().unwrap_or_default(),
            );
        }
        pass.operation = Some(OperationState {
            phase: phase.into(),
            message,
            started_at: started.clone(),
            finished_at: finished.clone(),
            sync_result: Some(SyncOperationResult {
                revision: self.commit.to_string(),
                source: Some(self.source.clone()),
                resources: results,
            }),
            retry_count: retries + i64::from(retrying),
            self_heal_attempts: self.self_heal_attempts,
        });
        match report.progress {
            Progress::Done => {
                let next_id = app
                    .status
                    .as_ref()
                    .and_then(|s| s.history.last())
                    .map_or(0, |h| h.id + 1);
                pass.history = Some(RevisionHistory {
                    id: next_id,
                    revision: self.commit.to_string(),
                    deployed_at: finished.unwrap_or_default(),
                    deploy_started_at: Some(started),
                    source: self.source.clone(),
                });
                Ok(())
            }
            Progress::Failed(_) if retrying => Ok(()),
            Progress::Failed(m) => Err(stop("SyncError", m)),
            Progress::Waiting(_) => Ok(()),
        }
    }
}

/// `spec.syncPolicy.syncOptions`, parsed; the error names the field.
fn app_sync_options(app: &Application) -> Result<SyncOptions, String> {
    let options = app.spec.sync_policy.iter().flat_map(|p| &p.sync_options);
    SyncOptions::parse(options.map(String::as_str), Scope::App)
        .map_err(|e| format!("spec.syncPolicy.syncOptions: {e}"))
}

fn ignores_extraneous(live: &Value) -> bool {
    ObjectOptions::of(live).is_ok_and(|o| o.ignore_extraneous)
}

/// The app's objects (its last status is the inventory) that the render no
/// longer holds and that are still live, each with what a prune would do and
/// whether it is ignored (`IgnoreExtraneous`). Another app's object, or one
/// that merely copies the tracking annotation, is not listed.
async fn extraneous(
    app: &Application,
    ctx: &Context,
    compared: &[Compared],
    decide_for: &prune::App<'_>,
) -> Result<Vec<(Extraneous, bool)>, Stop> {
    let inventory = app
        .status
        .as_ref()
        .map(|s| s.resources.as_slice())
        .unwrap_or_default();
    let mut out = Vec::new();
    for r in inventory {
        let rendered = compared.iter().any(|c| {
            let p = &c.planned;
            p.group_version().0 == r.group
                && p.kind() == r.kind
                && p.namespace() == r.namespace
                && p.name() == r.name
        });
        if rendered {
            continue;
        }
        let found = ctx
            .kinds
            .resolve(&ctx.client, &r.group, &r.version, &r.kind)
            .await
            .map_err(|e| stop("ComparisonError", e.to_string()))?;
        let Some((resource, namespaced)) = found else {
            continue;
        };
        let api: Api<kube::api::DynamicObject> = if namespaced {
            Api::namespaced_with(ctx.client.clone(), &r.namespace, &resource)
        } else {
            Api::all_with(ctx.client.clone(), &resource)
        };
        let live = api.get_opt(&r.name).await.map_err(|e| {
            stop(
                "ComparisonError",
                format!("reading {} {}: {e}", r.kind, r.name),
            )
        })?;
        let Some(live) = live.and_then(|l| serde_json::to_value(l).ok()) else {
            continue;
        };
        let verdict = prune::decide(decide_for, &live);
        if verdict == prune::Verdict::NotOurs {
            continue;
        }
        let ignored = ignores_extraneous(&live);
        out.push((
            Extraneous {
                resource,
                namespace: r.namespace.clone(),
                name: r.name.clone(),
                live,
                verdict,
            },
            ignored,
        ));
    }
    Ok(out)
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

async fn repository_secrets(ctx: &Context) -> Result<Vec<Secret>, kube::Error> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &ctx.config.skiff_namespace);
    let mut out = Vec::new();
    for label in SECRET_TYPE_LABELS {
        out.extend(api.list(&ListParams::default().labels(label)).await?.items);
    }
    Ok(out)
}

/// Creates the destination namespace (CreateNamespace=true) and keeps the
/// labels and annotations of `managedNamespaceMetadata` on it. A namespace
/// that exists and has no managed metadata is left untouched.
async fn ensure_namespace(
    ctx: &Context,
    ns: &str,
    metadata: Option<&ManagedNamespaceMetadata>,
) -> Result<(), kube::Error> {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(ctx.client.clone());
    if metadata.is_none() && api.get_opt(ns).await?.is_some() {
        return Ok(());
    }
    let mut body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
    if let Some(m) = metadata {
        body["metadata"]["labels"] = json!(m.labels);
        body["metadata"]["annotations"] = json!(m.annotations);
    }
    api.patch(
        ns,
        &PatchParams::apply(sync::FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await?;
    Ok(())
}
