//! The JSON API under `/api/v1` (reading; actions come with login): the
//! Applications from the controller's cache, an app's history, Events and
//! diff, and the OpenAPI document that describes them.

use crate::application::Application;
use crate::controller::preview;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kube::{Api, Client, ResourceExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The Applications as the controller last saw them.
pub type AppList = Arc<dyn Fn() -> Vec<Arc<Application>> + Send + Sync>;

#[derive(Clone)]
pub struct ApiState {
    pub client: Client,
    pub apps: AppList,
    /// Where diffs keep their git mirrors (apart from the controller's).
    pub cache_dir: PathBuf,
    /// Where repository Secrets live.
    pub skiff_namespace: String,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/apps", get(list))
        .route("/api/v1/apps/{namespace}/{name}", get(app))
        .route("/api/v1/apps/{namespace}/{name}/history", get(history))
        .route("/api/v1/apps/{namespace}/{name}/events", get(events))
        .route("/api/v1/apps/{namespace}/{name}/diff", get(diff))
        .with_state(state)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
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

/// The filtered list, sorted by namespace and name, with counts per status
/// over all apps (so the counts do not change as filters do).
pub fn listing(apps: &[Arc<Application>], filter: &Filter) -> Value {
    let mut all: Vec<AppSummary> = apps.iter().map(|a| AppSummary::of(a)).collect();
    all.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let mut sync = BTreeMap::<&str, usize>::new();
    let mut health = BTreeMap::<&str, usize>::new();
    for s in &all {
        *sync.entry(&s.sync).or_default() += 1;
        *health.entry(&s.health).or_default() += 1;
    }
    let items: Vec<&AppSummary> = all.iter().filter(|s| filter.matches(s)).collect();
    json!({"items": items, "counts": {"sync": sync, "health": health}})
}

async fn list(State(s): State<ApiState>, Query(filter): Query<Filter>) -> Response {
    Json(listing(&(s.apps)(), &filter)).into_response()
}

/// The app from the controller's cache.
pub fn find(s: &ApiState, namespace: &str, name: &str) -> Option<Arc<Application>> {
    (s.apps)()
        .into_iter()
        .find(|a| a.namespace().as_deref() == Some(namespace) && a.name_any() == name)
}

fn not_found(namespace: &str, name: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("no Application {namespace}/{name}"),
    )
}

async fn app(
    State(s): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    match find(&s, &namespace, &name) {
        Some(app) => Json(json!(app.as_ref())).into_response(),
        None => not_found(&namespace, &name),
    }
}

async fn history(
    State(s): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    match find(&s, &namespace, &name) {
        Some(app) => {
            let history = app.status.as_ref().map(|s| s.history.clone());
            Json(json!({"items": history.unwrap_or_default()})).into_response()
        }
        None => not_found(&namespace, &name),
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
    State(s): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    if find(&s, &namespace, &name).is_none() {
        return not_found(&namespace, &name);
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

async fn diff(
    State(s): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    let Some(app) = find(&s, &namespace, &name) else {
        return not_found(&namespace, &name);
    };
    match preview::preview(&s.client, &app, None, &s.cache_dir, &s.skiff_namespace).await {
        Ok(found) => {
            let items: Vec<Value> = found
                .changes
                .iter()
                .map(|c| {
                    json!({"group": c.group, "kind": c.kind, "namespace": c.namespace,
                        "name": c.name, "state": c.state, "diff": c.diff()})
                })
                .collect();
            Json(json!({"revision": found.revision, "unchanged": found.unchanged, "items": items}))
                .into_response()
        }
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, e),
    }
}

/// The OpenAPI 3.0 description of the API, served at `/api/v1/openapi.json`.
pub fn openapi_document() -> Value {
    let app_params = json!([
        {"name": "namespace", "in": "path", "required": true, "schema": {"type": "string"}},
        {"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}
    ]);
    let query = |name: &str, what: &str| json!({"name": name, "in": "query", "required": false, "description": what, "schema": {"type": "string"}});
    let not_found = json!({"description": "no such Application", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let ok = |schema: &str| json!({"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}});
    let string = json!({"type": "string"});
    json!({
        "openapi": "3.0.3",
        "info": {"title": "skiff", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Applications as skiff's controller sees them."},
        "paths": {
            "/api/v1/apps": {"get": {
                "summary": "List Applications, filtered, with counts per sync and health status",
                "parameters": [query("namespace", "only this namespace"), query("project", "only this project"),
                    query("sync", "only this sync status"), query("health", "only this health status"),
                    query("q", "text in the name, repository or path")],
                "responses": {"200": ok("AppList")}}},
            "/api/v1/apps/{namespace}/{name}": {"get": {
                "summary": "One Application (spec and status)", "parameters": app_params,
                "responses": {"200": ok("Application"), "404": not_found}}},
            "/api/v1/apps/{namespace}/{name}/history": {"get": {
                "summary": "The syncs the Application keeps", "parameters": app_params,
                "responses": {"200": ok("History"), "404": not_found}}},
            "/api/v1/apps/{namespace}/{name}/events": {"get": {
                "summary": "Events about the Application, newest first", "parameters": app_params,
                "responses": {"200": ok("Events"), "404": not_found,
                    "502": {"description": "the cluster did not answer"}}}},
            "/api/v1/apps/{namespace}/{name}/diff": {"get": {
                "summary": "What a sync would change (unified YAML diffs, Secret values masked)",
                "parameters": app_params,
                "responses": {"200": ok("Diff"), "404": not_found,
                    "422": {"description": "the source could not be fetched or rendered",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}}
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": string}},
            "AppSummary": {"type": "object", "required": ["namespace", "name", "project", "sync", "health", "revision", "repo", "path", "target"],
                "properties": {"namespace": string, "name": string, "project": string, "sync": string, "health": string,
                    "revision": string, "repo": string, "path": string, "target": string,
                    "lastSync": {"type": "object", "nullable": true, "properties": {"phase": string, "finishedAt": {"type": "string", "nullable": true}}}}},
            "AppList": {"type": "object", "required": ["items", "counts"], "properties": {
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/AppSummary"}},
                "counts": {"type": "object", "properties": {
                    "sync": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "health": {"type": "object", "additionalProperties": {"type": "integer"}}}}}},
            "Application": {"type": "object", "description": "The Application resource (skiff.dev/v1alpha1); its schema is the CRD's.",
                "required": ["apiVersion", "kind", "metadata", "spec"]},
            "History": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"type": "object",
                "properties": {"id": {"type": "integer"}, "revision": string, "deployedAt": string}}}}},
            "Events": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"type": "object",
                "properties": {"type": {"type": "string", "nullable": true}, "reason": {"type": "string", "nullable": true},
                    "note": {"type": "string", "nullable": true}, "time": {"type": "string", "nullable": true}}}}}},
            "Diff": {"type": "object", "required": ["revision", "unchanged", "items"], "properties": {
                "revision": string, "unchanged": {"type": "integer"},
                "items": {"type": "array", "items": {"type": "object", "properties": {
                    "group": string, "kind": string, "namespace": string, "name": string,
                    "state": {"type": "string", "enum": ["OutOfSync", "Missing", "requiresPruning"]}, "diff": string}}}}}
        }}
    })
}

async fn openapi() -> Response {
    Json(openapi_document()).into_response()
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
        let all = listing(&apps, &Filter::default());
        let names: Vec<&str> = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["db", "web", "api"]);
        assert_eq!(all["counts"]["sync"], json!({"OutOfSync": 1, "Synced": 2}));
        let synced = Filter {
            sync: Some("Synced".into()),
            namespace: Some("apps".into()),
            ..Filter::default()
        };
        let one = listing(&apps, &synced);
        assert_eq!(one["items"].as_array().unwrap().len(), 1);
        assert_eq!(one["counts"], all["counts"], "counts cover all apps");
        let text = Filter {
            q: Some("TEAM/config".into()),
            ..Filter::default()
        };
        assert_eq!(listing(&apps, &text)["items"].as_array().unwrap().len(), 3);
        let none = Filter {
            q: Some("nothing".into()),
            ..Filter::default()
        };
        assert!(listing(&apps, &none)["items"]
            .as_array()
            .unwrap()
            .is_empty());
    }
}
