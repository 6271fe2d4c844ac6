//! skiff's one HTTP listener: `/metrics`, `/healthz`, `/readyz`, git
//! webhooks at `/api/webhook`, and the UI: server-rendered pages, the JSON
//! API under `/api/v1` they share their data with, and login.

pub mod actions;
pub mod api;
pub mod auth;
pub mod openapi;
pub mod pages;
pub mod resources;
pub mod webhook;

use crate::metrics::Metrics;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct WebState {
    pub metrics: Arc<Metrics>,
    pub ready: Arc<AtomicBool>,
}

pub fn router(state: WebState, webhooks: webhook::Webhooks) -> Router {
    let hooks = Router::new()
        .route("/api/webhook", post(webhook::receive))
        // The handler reads the body itself, against its own limit.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(webhooks);
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(state)
        .merge(hooks)
}

async fn metrics(State(s): State<WebState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
}

async fn readyz(State(s): State<WebState>) -> impl IntoResponse {
    if s.ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ok")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the Application cache is not synced yet",
        )
    }
}

/// A value of a watched Secret, by its key.
pub type SecretLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Keeps one Secret in memory (a watch of that Secret alone), so a request
/// never waits on the API server for it.
pub fn watch_secret(client: kube::Client, namespace: &str, name: &str) -> SecretLookup {
    use futures::StreamExt;
    use k8s_openapi::api::core::v1::Secret;
    use kube::runtime::{reflector, watcher, WatchStreamExt};
    let api: kube::Api<Secret> = kube::Api::namespaced(client, namespace);
    let (reader, writer) = reflector::store();
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let what = format!("{namespace}/{name}");
    let stream = reflector(writer, watcher(api, config)).default_backoff();
    tokio::spawn(stream.for_each(move |event| {
        if let Err(e) = event {
            tracing::warn!(error = %e, secret = %what, "cannot watch the Secret");
        }
        futures::future::ready(())
    }));
    Arc::new(move |key: &str| {
        let secrets = reader.state();
        let value = secrets.first()?.data.as_ref()?.get(key)?;
        // `echo secret | base64` leaves a newline no sender means.
        Some(String::from_utf8_lossy(&value.0).trim().to_string())
    })
}

/// The Applications as the controller last saw them.
pub type AppList = Arc<dyn Fn() -> Vec<Arc<crate::application::Application>> + Send + Sync>;

/// A commit's subject (first line of its message), given the repository URL
/// and the commit, when git has it at hand.
pub type CommitSubject = Arc<dyn Fn(&str, &str) -> Option<String> + Send + Sync>;

/// What the pages and the JSON API share.
#[derive(Clone)]
pub struct UiState {
    pub client: kube::Client,
    pub apps: AppList,
    /// Where previews keep their git mirrors (apart from the controller's).
    pub cache_dir: PathBuf,
    /// Where repository Secrets live.
    pub skiff_namespace: String,
    pub auth: Arc<auth::Auth>,
    pub events: Arc<crate::controller::events::Events>,
    subjects: CommitSubject,
    /// Subjects found, by commit: a commit's message never changes.
    subjects_seen: Arc<Mutex<HashMap<String, String>>>,
}

/// Commits whose subjects are remembered at most.
const SUBJECTS_KEPT: usize = 4096;

impl UiState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: kube::Client,
        apps: AppList,
        cache_dir: PathBuf,
        skiff_namespace: String,
        auth: Arc<auth::Auth>,
        events: Arc<crate::controller::events::Events>,
        subjects: CommitSubject,
    ) -> UiState {
        UiState {
            client,
            apps,
            cache_dir,
            skiff_namespace,
            auth,
            events,
            subjects,
            subjects_seen: Arc::default(),
        }
    }

    /// The subject of `commit` in `repo`, or empty when git does not have it.
    pub fn subject(&self, repo: &str, commit: &str) -> String {
        if commit.is_empty() {
            return String::new();
        }
        if let Some(s) = self.subjects_seen.lock().expect("subjects").get(commit) {
            return s.clone();
        }
        let Some(found) = (self.subjects)(repo, commit) else {
            return String::new();
        };
        let mut seen = self.subjects_seen.lock().expect("subjects");
        if seen.len() >= SUBJECTS_KEPT {
            seen.clear();
        }
        seen.insert(commit.to_string(), found.clone());
        found
    }

    /// The app from the controller's cache.
    pub fn find(
        &self,
        namespace: &str,
        name: &str,
    ) -> Option<Arc<crate::application::Application>> {
        use kube::ResourceExt;
        (self.apps)()
            .into_iter()
            .find(|a| a.namespace().as_deref() == Some(namespace) && a.name_any() == name)
    }
}

/// The UI: pages, the JSON API, login and the embedded assets.
pub fn ui_router(state: UiState) -> Router {
    pages::router(state.clone()).merge(api::router(state))
}
