//! The JSON API under `/api/v1`, which the pages use too: the Applications
//! from the controller's cache, an app's resources, history, Events and
//! diffs; the actions (sync, refresh, rollback); the session; and the
//! OpenAPI document that describes them all (`web/openapi.rs`).

use super::actions::{self, Failure, Outcome};
use super::auth::{self, Caller, Denied, Who};
use super::UiState;
use crate::application::Application;
use crate::controller::preview::{self, Preview};
use crate::controller::requests::Request;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kube::{Api, Client, ResourceExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub fn router(state: UiState) -> Router {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/session", get(session).post(log_in).delete(log_out))
        .route("/api/v1/apps", get(list))
        .route("/api/v1/apps/{namespace}/{name}", get(app))
        .route("/api/v1/apps/{namespace}/{name}/resources", get(resources))
        .route("/api/v1/apps/{namespace}/{name}/resource", get(resource))
        .route("/api/v1/apps/{namespace}/{name}/history", get(history))
        .route("/api/v1/apps/{namespace}/{name}/events", get(events))
        .route("/api/v1/apps/{namespace}/{name}/diff", get(diff))
        .route("/api/v1/apps/{namespace}/{name}/sync", post(sync))
        .route("/api/v1/apps/{namespace}/{name}/refresh", post(refresh))
        .route("/api/v1/apps/{namespace}/{name}/rollback", post(rollback))
        .with_state(state)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

fn code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A refusal as JSON; a 401 says how to authenticate.
fn denied(d: Denied) -> Response {
    let mut response = error(code(d.status()), d.to_string());
    if d.status() == 401 {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"skiff\""),
        );
    }
    response
}

/// The apps `caller` may read: all when reading is open or for the admin,
/// else those in namespaces where RBAC lets them list Applications.
pub async fn visible(s: &UiState, caller: &Caller) -> Result<Vec<Arc<Application>>, Denied> {
    let apps = (s.apps)();
    if s.auth.settings().anonymous_read || caller.who == Who::Admin {
        return Ok(apps);
    }
    let namespaces: BTreeSet<String> = apps.iter().filter_map(|a| a.namespace()).collect();
    // One review per namespace, asked together.
    let answers =
        futures::future::join_all(namespaces.iter().map(|ns| s.auth.may_read(caller, ns, "")))
            .await;
    let mut allowed = BTreeSet::new();
    for (ns, answer) in namespaces.iter().zip(answers) {
        if answer? {
            allowed.insert(ns.clone());
        }
    }
    Ok(apps
        .into_iter()
        .filter(|a| a.namespace().is_some_and(|ns| allowed.contains(&ns)))
        .collect())
}

/// The app, when the caller may read it: permission is checked before the
/// app is looked up, so a refusal never tells whether it exists.
pub async fn readable(
    s: &UiState,
    caller: &Caller,
    namespace: &str,
    name: &str,
) -> Result<Arc<Application>, (u16, String)> {
    match s.auth.may_read(caller, namespace, name).await {
        Ok(true) => {}
        Ok(false) => {
            return Err((
                403,
                format!(
                    "{} may not get applications.skiff.dev {namespace}/{name} (RBAC)",
                    caller.who.describe()
                ),
            ))
        }
        Err(d) => return Err((d.status(), d.to_string())),
    }
    s.find(namespace, name)
        .ok_or_else(|| (404, format!("no Application {namespace}/{name}")))
}

/// The caller and the app of an API request that reads one app.
async fn reading(
    s: &UiState,
    headers: &HeaderMap,
    namespace: &str,
    name: &str,
) -> Result<(Caller, Arc<Application>), Response> {
    let caller = s.auth.reader(headers).await.map_err(denied)?;
    let app = readable(s, &caller, namespace, name)
        .await
        .map_err(|(status, m)| error(code(status), m))?;
    Ok((caller, app))
}

/// One line of the Applications list.
#[derive(Serialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppSummary {
    pub namespace: String,
    pub name: String,
    pub project: String,
    pub sync: String,
    pub health: String,
    pub revision: String,
    /// The first line of the revision's commit message, when git has it.
    pub subject: String,
    pub repo: String,
    pub path: String,
    pub target: String,
    /// The last operation's phase and end, when there was one.
    pub last_sync: Option<LastSync>,
}

#[derive(Serialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LastSync {
    pub phase: String,
    pub finished_at: Option<String>,
}

impl AppSummary {
    pub fn of(app: &Application) -> AppSummary {
        let status = app.status.as_ref();
        let or_unknown = |s: Option<&String>| {
            s.filter(|s| !s.is_empty())
                .cloned()
                .unwrap_or_else(|| "Unknown".into())
        };
        AppSummary {
            namespace: app.namespace().unwrap_or_default(),
            name: app.name_any(),
            project: app.spec.project.clone(),
            sync: or_unknown(status.map(|s| &s.sync.status)),
            health: or_unknown(status.map(|s| &s.health.status)),
            revision: status.map(|s| s.sync.revision.clone()).unwrap_or_default(),
            subject: String::new(),
            repo: app.spec.source.repo_url.clone(),
            path: app.spec.source.path.clone(),
            target: app.spec.source.target_revision.clone(),
            last_sync: status
                .and_then(|s| s.operation_state.as_ref())
                .map(|o| LastSync {
                    phase: o.phase.clone(),
                    finished_at: o.finished_at.clone(),
                }),
        }
    }
}

/// Filters of the list; each is optional, all must match.
#[derive(Deserialize, Debug, Default)]
pub struct Filter {
    pub namespace: Option<String>,
    pub project: Option<String>,
    pub sync: Option<String>,
    pub health: Option<String>,
    /// Text found in the name, repository or path (case-insensitive).
    pub q: Option<String>,
}

impl Filter {
    pub fn matches(&self, s: &AppSummary) -> bool {
        let is = |want: &Option<String>, have: &str| {
            want.as_deref().is_none_or(|w| w.is_empty() || w == have)
        };
        let text = self.q.as_deref().unwrap_or_default().to_lowercase();
        is(&self.namespace, &s.namespace)
            && is(&self.project, &s.project)
            && is(&self.sync, &s.sync)
            && is(&self.health, &s.health)
            && (text.is_empty()
                || [&s.name, &s.repo, &s.path]
                    .iter()
                    .any(|f| f.to_lowercase().contains(&text)))
    }
}

/// The apps a filter keeps, with counts per status over all of them.
#[derive(Serialize, Debug)]
pub struct Listing {
    pub items: Vec<AppSummary>,
    pub counts: Counts,
}

#[derive(Serialize, Debug, Default, PartialEq)]
pub struct Counts {
    pub sync: BTreeMap<String, usize>,
    pub health: BTreeMap<String, usize>,
}

/// The filtered list, sorted by namespace and name, with counts per status
/// over all apps (so the counts do not change as filters do). `subject`
/// gives a shown revision's commit subject (repo, commit).
pub fn listing(
    apps: &[Arc<Application>],
    filter: &Filter,
    subject: &dyn Fn(&str, &str) -> String,
) -> Listing {
    let mut counts = Counts::default();
    let mut items = Vec::new();
    for app in apps {
        let s = AppSummary::of(app);
        *counts.sync.entry(s.sync.clone()).or_default() += 1;
        *counts.health.entry(s.health.clone()).or_default() += 1;
        if filter.matches(&s) {
            items.push(s);
        }
    }
    items.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    for s in &mut items {
        s.subject = subject(&s.repo, &s.revision);
    }
    Listing { items, counts }
}

async fn list(
    State(s): State<UiState>,
    headers: HeaderMap,
    Query(filter): Query<Filter>,
) -> Response {
    let caller = match s.auth.reader(&headers).await {
        Ok(c) => c,
        Err(d) => return denied(d),
    };
    match visible(&s, &caller).await {
        Ok(apps) => Json(listing(&apps, &filter, &|r, c| s.subject(r, c))).into_response(),
        Err(d) => denied(d),
    }
}

async fn app(
    State(s): State<UiState>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    match reading(&s, &headers, &namespace, &name).await {
        Ok((_, app)) => Json(json!(app.as_ref())).into_response(),
        Err(r) => r,
    }
}

async fn history(
    State(s): State<UiState>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    match reading(&s, &headers, &namespace, &name).await {
        Ok((_, app)) => {
            let history = app.status.as_ref().map(|s| s.history.clone());
            Json(json!({"items": history.unwrap_or_default()})).into_response()
        }
        Err(r) => r,
    }
}

async fn resources(
    State(s): State<UiState>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    match reading(&s, &headers, &namespace, &name).await {
        Ok((_, app)) => {
            let (items, problem) = super::resources::tree(&s.client, &app).await;
            Json(json!({"items": items, "error": problem})).into_response()
        }
        Err(r) => r,
    }
}

/// Which of an app's objects: its group (empty for the core group), kind,
/// namespace (empty for cluster-scoped) and name.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ObjectQuery {
    #[serde(default)]
    pub group: String,
    pub kind: String,
    #[serde(default, rename = "resourceNamespace")]
    pub namespace: String,
    #[serde(rename = "resourceName")]
    pub name: String,
}

impl ObjectQuery {
    pub fn key(&self) -> preview::ObjectKey {
        (
            self.group.clone(),
            self.kind.clone(),
            self.namespace.clone(),
            self.name.clone(),
        )
    }
}

/// Whether the app manages the object (it is in its status).
pub fn manages(app: &Application, q: &ObjectQuery) -> bool {
    app.status.iter().flat_map(|s| &s.resources).any(|r| {
        r.group == q.group && r.kind == q.kind && r.namespace == q.namespace && r.name == q.name
    })
}

async fn resource(
    State(s): State<UiState>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
    Query(q): Query<ObjectQuery>,
) -> Response {
    let app = match reading(&s, &headers, &namespace, &name).await {
        Ok((_, app)) => app,
        Err(r) => return r,
    };
    if !manages(&app, &q) {
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "{namespace}/{name} manages no {} {}",
                q.kind,
                [q.namespace.as_str(), q.name.as_str()]
                    .iter()
                    .filter(|p| !p.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join("/")
            ),
        );
    }
    match super::resources::detail(&s.client, &app, &q.key(), &s.cache_dir, &s.skiff_namespace)
        .await
    {
        Ok(d) => Json(
            json!({"state": d.state, "revision": d.revision, "live": d.live,
            "diff": d.diff, "changedBy": d.changed_by}),
        )
        .into_response(),
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, e),
    }
}

/// Events about an app, newest first: (type, reason, note, time).
pub async fn app_events(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<Vec<(String, String, String, String)>, kube::Error> {
    let api: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), namespace);
    // Filtered here rather than by field selector: events.k8s.io serves the
    // core Event field names (involvedObject.*), which not every server maps.
    let list = api.list(&kube::api::ListParams::default()).await?.items;
    let mut items: Vec<(String, String, String, String)> = list
        .into_iter()
        .filter(|e| {
            e.regarding.as_ref().is_some_and(|r| {
                r.kind.as_deref() == Some("Application") && r.name.as_deref() == Some(name)
            })
        })
        .map(|e| {
            let time = e
                .series
                .as_ref()
                .map(|s| s.last_observed_time.0.to_string())
                .or(e.event_time.as_ref().map(|t| t.0.to_string()))
                .unwrap_or_default();
            (
                e.type_.unwrap_or_default(),
                e.reason.unwrap_or_default(),
                e.note.unwrap_or_default(),
                time,
            )
        })
        .collect();
    items.sort_by(|a, b| b.3.cmp(&a.3));
    Ok(items)
}

async fn events(
    State(s): State<UiState>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    if let Err(r) = reading(&s, &headers, &namespace, &name).await {
        return r;
    }
    match app_events(&s.client, &namespace, &name).await {
        Ok(list) => {
            let items: Vec<Value> = list
                .into_iter()
                .map(|(t, reason, note, time)| {
                    json!({"type": t, "reason": reason, "note": note, "time": time})
                })
                .collect();
            Json(json!({"items": items})).into_response()
        }
        Err(e) => error(StatusCode::BAD_GATEWAY, format!("listing Events: {e}")),
    }
}

/// A preview as JSON: the commit, how many objects are as git wants them,
/// and each change with its diff and who made it.
pub fn preview_json(found: &Preview) -> Value {
    let items: Vec<Value> = found
        .changes
        .iter()
        .map(|c| {
            json!({"group": c.group, "kind": c.kind, "namespace": c.namespace,
                "name": c.name, "state": c.state, "diff": c.diff(), "changedBy": c.changed_by})
        })
        .collect();
    json!({"revision": found.revision, "unchanged": found.unchanged, "items": items})
}

async fn diff(
    State(s): State<UiState>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    let app = match reading(&s, &headers, &namespace, &name).await {
        Ok((_, app)) => app,
        Err(r) => return r,
    };
    match preview::preview(&s.client, &app, None, &s.cache_dir, &s.skiff_namespace).await {
        Ok(found) => Json(preview_json(&found)).into_response(),
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, e),
    }
}

/// A JSON body, or the defaults when there is none; the error says what is
/// wrong with it.
fn body<T: serde::de::DeserializeOwned + Default>(bytes: &Bytes) -> Result<T, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| format!("the request body: {e}"))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SyncBody {
    #[serde(default)]
    prune: bool,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    revision: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    #[serde(default)]
    hard: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    id: Option<i64>,
}

/// Runs an action for an API request: authenticated (bearer token, or a
/// session with its CSRF token), allowed by RBAC, then done.
async fn action(
    s: &UiState,
    headers: &HeaderMap,
    namespace: &str,
    name: &str,
    request: Result<(Request, bool), String>,
) -> Response {
    let caller = match s.auth.actor(headers, None).await {
        Ok(c) => c,
        Err(d) => return denied(d),
    };
    let (request, dry_run) = match request {
        Ok(r) => r,
        Err(why) => return error(StatusCode::BAD_REQUEST, why),
    };
    match actions::act(s, &caller, namespace, name, &request, dry_run).await {
        Ok(Outcome::Asked(what)) => {
            (StatusCode::ACCEPTED, Json(json!({"asked": what}))).into_response()
        }
        Ok(Outcome::Looked(found)) => Json(preview_json(&found)).into_response(),
        Err(Failure::Denied(d)) => denied(d),
        Err(f) => error(code(f.status()), f.to_string()),
    }
}

async fn sync(
    State(s): State<UiState>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
    bytes: Bytes,
) -> Response {
    let request = body::<SyncBody>(&bytes).map(|b| {
        let revision = b.revision.filter(|r| !r.trim().is_empty());
        (
            Request::Sync {
                prune: b.prune,
                revision,
            },
            b.dry_run,
        )
    });
    action(&s, &headers, &namespace, &name, request).await
}

async fn refresh(
    State(s): State<UiState>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
    bytes: Bytes,
) -> Response {
    let request = body::<RefreshBody>(&bytes).map(|b| (Request::Refresh { hard: b.hard }, false));
    action(&s, &headers, &namespace, &name, request).await
}

async fn rollback(
    State(s): State<UiState>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
    bytes: Bytes,
) -> Response {
    let request = body::<RollbackBody>(&bytes).and_then(|b| match b.id {
        Some(id) => Ok((Request::Rollback { id }, false)),
        None => Err("the request body needs id: the history entry to go back to".into()),
    });
    action(&s, &headers, &namespace, &name, request).await
}

/// Who the request acts for, and the session's CSRF token.
async fn session(State(s): State<UiState>, headers: HeaderMap) -> Response {
    match s.auth.caller(&headers).await {
        Ok(c) => Json(json!({
            "user": Some(c.who.name()).filter(|n| !n.is_empty()),
            "admin": c.who == Who::Admin,
            "csrf": Some(c.csrf()).filter(|t| !t.is_empty()),
            "anonymousRead": s.auth.settings().anonymous_read,
        }))
        .into_response(),
        Err(d) => denied(d),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    #[serde(default)]
    token: String,
}

/// Opens a session for a bearer token (or the admin token).
async fn log_in(State(s): State<UiState>, headers: HeaderMap, bytes: Bytes) -> Response {
    let token = match body::<LoginBody>(&bytes) {
        Ok(b) => b.token,
        Err(why) => return error(StatusCode::BAD_REQUEST, why),
    };
    match s.auth.log_in(&token).await {
        Ok((id, csrf, who)) => {
            let cookie = s.auth.session_cookie(&id, auth::over_https(&headers));
            (
                [(header::SET_COOKIE, cookie)],
                Json(json!({"user": who.name(), "admin": who == Who::Admin, "csrf": csrf})),
            )
                .into_response()
        }
        Err(d) => denied(d),
    }
}

async fn log_out(State(s): State<UiState>, headers: HeaderMap) -> Response {
    s.auth.log_out(&headers);
    (
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, auth::Auth::cleared_cookie())],
    )
        .into_response()
}

async fn openapi() -> Response {
    Json(super::openapi::document()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(namespace: &str, name: &str, sync: &str, health: &str) -> Arc<Application> {
        Arc::new(
            serde_json::from_value(json!({"apiVersion": "skiff.dev/v1alpha1", "kind": "Application",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"project": "default", "source": {"repoURL": "https://git.example.com/Team/Config", "path": name, "targetRevision": "main"},
                         "destination": {"namespace": name}},
                "status": {"sync": {"status": sync, "revision": "abc"}, "health": {"status": health}}}))
            .unwrap(),
        )
    }

    #[test]
    fn the_list_filters_and_counts_every_app() {
        let apps = [
            app("apps", "web", "Synced", "Healthy"),
            app("apps", "db", "OutOfSync", "Degraded"),
            app("team", "api", "Synced", "Progressing"),
        ];
        let subject = |repo: &str, commit: &str| format!("{commit} of {repo}");
        let all = json!(listing(&apps, &Filter::default(), &subject));
        let names: Vec<&str> = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["db", "web", "api"]);
        assert_eq!(all["counts"]["sync"], json!({"OutOfSync": 1, "Synced": 2}));
        assert_eq!(
            all["items"][0]["subject"],
            "abc of https://git.example.com/Team/Config"
        );
        let synced = Filter {
            sync: Some("Synced".into()),
            namespace: Some("apps".into()),
            ..Filter::default()
        };
        let one = json!(listing(&apps, &synced, &subject));
        assert_eq!(one["items"].as_array().unwrap().len(), 1);
        assert_eq!(one["counts"], all["counts"], "counts cover all apps");
        let text = Filter {
            q: Some("TEAM/config".into()),
            ..Filter::default()
        };
        assert_eq!(listing(&apps, &text, &subject).items.len(), 3);
        let none = Filter {
            q: Some("nothing".into()),
            ..Filter::default()
        };
        assert!(listing(&apps, &none, &subject).items.is_empty());
    }
}
