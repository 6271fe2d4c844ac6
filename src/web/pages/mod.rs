//! Server-rendered pages (askama templates in `web/templates`, escaped by
//! default; CSS and a few lines of script in `web/assets`, embedded in the
//! binary). Every page reads and every action works without JavaScript:
//! actions are forms on a confirmation page, carrying the session's CSRF
//! token; the script only refreshes parts of a page in place.

mod actions;
mod app;
mod list;
mod login;

pub use app::{render_app_live, render_diff, EventLines};
pub use list::{render_list, PageQuery};

use super::auth::{Caller, Denied};
use super::UiState;
use askama::Template;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

const STYLE: &str = include_str!("../assets/skiff.css");
const SCRIPT: &str = include_str!("../assets/skiff.js");

pub fn router(state: UiState) -> Router {
    Router::new()
        .merge(list::routes())
        .merge(app::routes())
        .merge(actions::routes())
        .merge(login::routes())
        .with_state(state)
        .route("/assets/skiff.css", get(|| asset("text/css", STYLE)))
        .route("/assets/skiff.js", get(|| asset("text/javascript", SCRIPT)))
        .layer(axum::middleware::map_response(security_headers))
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Pages ask for ?v=<version>: a new skiff gets a new URL.
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

/// Every page: scripts and styles from skiff only, never framed, forms
/// posted only to skiff, no referrer leaking app names elsewhere.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// What every page's frame shows: who is logged in, the session's CSRF token
/// (for the log-out form), where login comes back to, and the asset version.
pub struct Chrome {
    pub user: String,
    pub csrf: String,
    pub path: String,
    pub version: &'static str,
}

impl Chrome {
    pub fn of(caller: Option<&Caller>, path: &str) -> Chrome {
        Chrome {
            user: caller.map(|c| c.who.name().to_string()).unwrap_or_default(),
            csrf: caller.map(|c| c.csrf().to_string()).unwrap_or_default(),
            path: path.to_string(),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

fn html(status: StatusCode, body: String) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

fn rendered(t: impl Template) -> String {
    t.render()
        .unwrap_or_else(|e| format!("<!doctype html><p>cannot render the page: {e}</p>"))
}

#[derive(Template)]
#[template(path = "message.html", config = "src/web/askama.toml")]
struct MessagePage<'a> {
    chrome: Chrome,
    title: &'a str,
    text: String,
    login: String,
    back: String,
    back_text: &'a str,
}

/// A page that says why not, with a way on.
fn message(status: u16, text: String, chrome: Chrome, back: &str) -> Response {
    let title = match status {
        401 => "Log in first",
        403 => "Not allowed",
        404 => "Not found",
        409 => "Not possible now",
        _ => "Something went wrong",
    };
    let login = match status {
        401 => format!("/login?next={}", urlencode(&chrome.path)),
        _ => String::new(),
    };
    let back_text = if back == "/" {
        "All applications"
    } else {
        "Back"
    };
    let page = MessagePage {
        chrome,
        title,
        text,
        login,
        back: back.to_string(),
        back_text,
    };
    html(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        rendered(page),
    )
}

fn urlencode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn login_redirect(path: &str, expired: bool) -> Response {
    let mut to = format!("/login?next={}", urlencode(path));
    if expired {
        to.push_str("&expired=1");
    }
    Redirect::to(&to).into_response()
}

/// A refusal as a page: to the login page when logging in would help.
fn refused(d: Denied, path: &str, back: &str) -> Response {
    match d {
        Denied::LoginRequired => login_redirect(path, false),
        Denied::SessionExpired => login_redirect(path, true),
        d => message(d.status(), d.to_string(), Chrome::of(None, path), back),
    }
}

/// Who may read the page at `path`.
async fn page_reader(s: &UiState, headers: &HeaderMap, path: &str) -> Result<Caller, Response> {
    s.auth
        .reader(headers)
        .await
        .map_err(|d| refused(d, path, "/"))
}

/// The app a page at `path` shows, with who asks, when they may read it;
/// else the page that says why.
async fn readable_app(
    s: &UiState,
    headers: &HeaderMap,
    namespace: &str,
    name: &str,
    path: &str,
) -> Result<(Caller, std::sync::Arc<crate::application::Application>), Response> {
    let caller = page_reader(s, headers, path).await?;
    match super::api::readable(s, &caller, namespace, name).await {
        Ok(app) => Ok((caller, app)),
        Err((status, text)) => Err(message(status, text, Chrome::of(Some(&caller), path), "/")),
    }
}

/// An app's page.
fn app_base(namespace: &str, name: &str) -> String {
    format!("/apps/{}/{}", urlencode(namespace), urlencode(name))
}

/// Whether a form came from skiff's own pages: a browser names the page's
/// origin, which must be this host (defence beside the CSRF token, and the
/// only one the login form has).
fn same_origin(headers: &HeaderMap) -> bool {
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site")
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    // Behind a proxy that rewrites Host, the host the browser saw is X-Forwarded-Host.
    let host = ["x-forwarded-host", "host"]
        .iter()
        .find_map(|h| headers.get(*h)?.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority == host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::Application;
    use serde_json::json;
    use std::sync::Arc;

    /// An app in namespace `apps` whose last operation succeeded.
    pub(super) fn app(name: &str, repo: &str, sync: &str, health: &str) -> Arc<Application> {
        Arc::new(
            serde_json::from_value(json!({"apiVersion": "skiff.dev/v1alpha1", "kind": "Application",
                "metadata": {"name": name, "namespace": "apps"},
                "spec": {"project": "default", "source": {"repoURL": repo, "path": "app", "targetRevision": "main"},
                         "destination": {"namespace": name}},
                "status": {"sync": {"status": sync, "revision": "0123456789abcdef"}, "health": {"status": health},
                           "operationState": {"phase": "Succeeded", "startedAt": "2026-11-23T10:00:00Z", "finishedAt": "2026-11-23T10:00:01Z"}}}))
            .unwrap(),
        )
    }

    #[test]
    fn forms_from_other_sites_are_told_apart() {
        let mut h = HeaderMap::new();
        assert!(
            same_origin(&h),
            "no Origin: not a browser's cross-site form"
        );
        h.insert(
            header::HOST,
            HeaderValue::from_static("skiff.example.com:8080"),
        );
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://skiff.example.com:8080"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example.com"),
        );
        assert!(!same_origin(&h));
        h.insert(
            "x-forwarded-host",
            HeaderValue::from_static("evil.example.com"),
        );
        assert!(same_origin(&h), "the host a proxy says the browser saw");
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
    }
}
