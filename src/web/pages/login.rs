//! Logging in (a token checked by the cluster, or the admin token) and out.

use super::{html, message, rendered, same_origin, Chrome};
use crate::web::auth::{self, Denied};
use crate::web::UiState;
use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

/// This part's paths.
pub(super) fn routes() -> axum::Router<UiState> {
    axum::Router::new()
        .route("/login", get(login_page).post(log_in))
        .route("/logout", post(log_out))
}

#[derive(Template)]
#[template(path = "login.html", config = "src/web/askama.toml")]
struct LoginPage {
    chrome: Chrome,
    problem: String,
    next: String,
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
}

/// Where to go after logging in: a path of skiff's own, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.into(),
        _ => "/".into(),
    }
}

async fn login_page(Query(q): Query<LoginQuery>) -> Response {
    let problem = match q.expired {
        Some(_) => Denied::SessionExpired.to_string(),
        None => String::new(),
    };
    let page = LoginPage {
        chrome: Chrome::of(None, "/login"),
        problem,
        next: safe_next(q.next.as_deref()),
    };
    html(StatusCode::OK, rendered(page))
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    token: String,
    next: Option<String>,
}

async fn log_in(
    State(s): State<UiState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    if !same_origin(&headers) {
        return message(
            403,
            "a login form from another site".into(),
            Chrome::of(None, "/login"),
            "/",
        );
    }
    match s.auth.log_in(&form.token).await {
        Ok((id, _, _)) => {
            let cookie = s.auth.session_cookie(&id, auth::over_https(&headers));
            ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
        }
        Err(d) => {
            let page = LoginPage {
                chrome: Chrome::of(None, "/login"),
                problem: d.to_string(),
                next,
            };
            let status = StatusCode::from_u16(d.status()).unwrap_or(StatusCode::UNAUTHORIZED);
            html(status, rendered(page))
        }
    }
}

#[derive(Deserialize)]
struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

async fn log_out(
    State(s): State<UiState>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    // Only the session's own page may end it.
    if s.auth.actor(&headers, Some(&form.csrf)).await.is_ok() {
        s.auth.log_out(&headers);
    }
    (
        [(header::SET_COOKIE, auth::Auth::cleared_cookie())],
        Redirect::to("/login"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_login_people_stay_on_skiff() {
        assert_eq!(safe_next(Some("/apps/a/b")), "/apps/a/b");
        for evil in [
            "//evil.example.com",
            "https://evil.example.com",
            "/\\evil",
            "",
        ] {
            assert_eq!(safe_next(Some(evil)), "/", "{evil}");
        }
    }
}
