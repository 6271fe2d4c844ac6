//! skiff's one HTTP listener: `/metrics`, `/healthz`, `/readyz`, git
//! webhooks at `/api/webhook` and the JSON API under `/api/v1` (the UI joins
//! it later).

pub mod api;
pub mod pages;
pub mod webhook;

use crate::metrics::Metrics;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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
