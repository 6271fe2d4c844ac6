//! Actions from the pages: a confirmation page per action (nothing changes
//! until its form is sent), and the form's POST, which carries the session's
//! CSRF token and comes from skiff's own origin.

use super::{
    app_base, html, login_redirect, message, refused, render_diff, rendered, same_origin,
    urlencode, Chrome,
};
use crate::controller::requests::Request;
use crate::web::actions::{self, Failure, Outcome};
use crate::web::api;
use crate::web::auth;
use crate::web::UiState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

/// This part's paths.
pub(super) fn routes() -> axum::Router<UiState> {
    axum::Router::new().route(
        "/apps/{namespace}/{name}/{action}",
        get(confirm_page).post(act),
    )
}

#[derive(Template)]
#[template(path = "confirm.html", config = "src/web/askama.toml")]
struct ConfirmPage {
    chrome: Chrome,
    namespace: String,
    name: String,
    base: String,
    verb: &'static str,
    question: String,
    explanation: String,
    action: String,
    /// (field, label)
    options: Vec<(&'static str, &'static str)>,
    /// (field, value)
    hidden: Vec<(&'static str, String)>,
}

#[derive(Deserialize)]
struct ConfirmQuery {
    id: Option<String>,
}

/// The confirmation page of an action: nothing changes until its form is sent.
async fn confirm_page(
    State(s): State<UiState>,
    headers: HeaderMap,
    Path((namespace, name, action)): Path<(String, String, String)>,
    Query(q): Query<ConfirmQuery>,
) -> Response {
    let base = app_base(&namespace, &name);
    let mut path = format!("{base}/{}", urlencode(&action));
    if let Some(id) = &q.id {
        path.push_str(&format!("?id={}", urlencode(id)));
    }
    // Actions need a login even where reading does not.
    let caller = match s.auth.caller(&headers).await {
        Ok(c) if c.via == auth::Via::Nothing => return login_redirect(&path, false),
        Ok(c) => c,
        Err(d) => return refused(d, &path, &base),
    };
    let chrome = Chrome::of(Some(&caller), &path);
    let app = match api::readable(&s, &caller, &namespace, &name).await {
        Ok(app) => app,
        Err((status, text)) => return message(status, text, chrome, "/"),
    };
    let target = format!(
        "{} @ {}",
        app.spec.source.path, app.spec.source.target_revision
    );
    let who = format!("{namespace}/{name}");
    let (verb, question, explanation, options, hidden) = match action.as_str() {
        "sync" => (
            "Sync",
            format!("Sync {who}?"),
            format!("Applies what git holds at {target} to the cluster. Prune also deletes the app's objects that left git; a dry run only shows what would change."),
            vec![("prune", "Prune: delete what left git"), ("dry_run", "Dry run: only show what would change")],
            vec![],
        ),
        "refresh" => (
            "Refresh",
            format!("Refresh {who}?"),
            format!("Asks git for {target} now and compares it with the cluster; nothing is applied."),
            vec![("hard", "Hard refresh (skiff keeps no rendered manifests, so it is the same)")],
            vec![],
        ),
        "rollback" => {
            let Some(entry) = q
                .id
                .as_deref()
                .and_then(|id| id.parse::<i64>().ok())
                .and_then(|id| app.status.iter().flat_map(|s| &s.history).find(|h| h.id == id))
            else {
                let text = format!("{who} has no history entry {}", q.id.unwrap_or_default());
                return message(404, text, chrome, &base);
            };
            (
                "Roll back",
                format!("Roll {who} back to history entry {}?", entry.id),
                format!(
                    "Syncs {} {} at {} again (deployed {}). Automated sync must be off, or it would undo this.",
                    entry.source.repo_url,
                    entry.source.path,
                    entry.revision.chars().take(7).collect::<String>(),
                    entry.deployed_at
                ),
                vec![],
                vec![("id", entry.id.to_string())],
            )
        }
        _ => return message(404, format!("no action {action:?}: sync, refresh or rollback"), chrome, &base),
    };
    let page = ConfirmPage {
        chrome,
        namespace,
        name,
        action: format!("{base}/{action}"),
        base,
        verb,
        question,
        explanation,
        options,
        hidden,
    };
    html(StatusCode::OK, rendered(page))
}

/// An action's form: checkboxes send "on" when ticked.
#[derive(Deserialize, Default)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    prune: Option<String>,
    dry_run: Option<String>,
    hard: Option<String>,
    id: Option<String>,
}

async fn act(
    State(s): State<UiState>,
    headers: HeaderMap,
    Path((namespace, name, action)): Path<(String, String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let base = app_base(&namespace, &name);
    let path = format!("{base}/{}", urlencode(&action));
    if !same_origin(&headers) {
        return message(
            403,
            "a form from another site".into(),
            Chrome::of(None, &path),
            &base,
        );
    }
    let caller = match s.auth.actor(&headers, Some(&form.csrf)).await {
        Ok(c) => c,
        Err(d) => return message(d.status(), d.to_string(), Chrome::of(None, &path), &base),
    };
    let ticked = |v: &Option<String>| v.as_deref() == Some("on");
    let (request, dry_run, asked) = match action.as_str() {
        "sync" => {
            let prune = ticked(&form.prune);
            let asked = if prune { "sync-prune" } else { "sync" };
            (
                Request::Sync {
                    prune,
                    revision: None,
                },
                ticked(&form.dry_run),
                asked,
            )
        }
        "refresh" => {
            let hard = ticked(&form.hard);
            let asked = if hard { "hard-refresh" } else { "refresh" };
            (Request::Refresh { hard }, false, asked)
        }
        "rollback" => match form.id.as_deref().and_then(|id| id.trim().parse().ok()) {
            Some(id) => (Request::Rollback { id }, false, "rollback"),
            None => {
                let text = "a rollback needs the id of a history entry".to_string();
                return message(400, text, Chrome::of(Some(&caller), &path), &base);
            }
        },
        _ => {
            let text = format!("no action {action:?}: sync, refresh or rollback");
            return message(404, text, Chrome::of(Some(&caller), &path), &base);
        }
    };
    let chrome = Chrome::of(Some(&caller), &path);
    match actions::act(&s, &caller, &namespace, &name, &request, dry_run).await {
        Ok(Outcome::Asked(_)) => Redirect::to(&format!("{base}?asked={asked}")).into_response(),
        Ok(Outcome::Looked(found)) => {
            let prune = matches!(request, Request::Sync { prune: true, .. });
            html(
                StatusCode::OK,
                render_diff(chrome, &namespace, &name, &found, Some(prune)),
            )
        }
        Err(f @ Failure::NotFound(_)) => message(404, f.to_string(), chrome, "/"),
        Err(f) => message(f.status(), f.to_string(), chrome, &base),
    }
}
