//! The Applications page: counts, filters and a row per app; its live part
//! (`?fragment=apps`) is what the page's script refreshes.

use super::{html, page_reader, refused, rendered, urlencode, Chrome};
use crate::application::Application;
use crate::web::api::{self, listing, AppSummary, Filter};
use crate::web::UiState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

/// This part's paths.
pub(super) fn routes() -> axum::Router<UiState> {
    axum::Router::new().route("/", get(list_page))
}

struct Row {
    app: AppSummary,
    revision: String,
    last: String,
}

impl Row {
    fn of(app: AppSummary) -> Row {
        let revision = app.revision.chars().take(7).collect();
        let last = match &app.last_sync {
            Some(l) => format!(
                "{} {}",
                l.phase,
                l.finished_at.as_deref().unwrap_or("(running)")
            ),
            None => "never".into(),
        };
        Row {
            app,
            revision,
            last,
        }
    }
}

#[derive(Template)]
#[template(path = "apps.html", config = "src/web/askama.toml")]
struct AppsPart {
    sync_counts: Vec<(String, usize)>,
    health_counts: Vec<(String, usize)>,
    shown: usize,
    total: usize,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "list.html", config = "src/web/askama.toml")]
struct ListPage {
    chrome: Chrome,
    sync_options: Vec<(String, bool)>,
    health_options: Vec<(String, bool)>,
    filter_q: String,
    filter_namespace: String,
    filter_project: String,
    live_url: String,
    /// Rendered by `AppsPart` (escaped there).
    apps: String,
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    #[serde(flatten)]
    pub filter: Filter,
    /// `apps`: only the counts and the table, for the live refresh.
    pub fragment: Option<String>,
}

fn options(all: &[&str], chosen: Option<&str>) -> Vec<(String, bool)> {
    std::iter::once("")
        .chain(all.iter().copied())
        .map(|o| (o.to_string(), chosen.unwrap_or_default() == o))
        .collect()
}

/// The query string of a filter (for the live refresh of the same view).
fn filter_query(f: &Filter) -> String {
    let pairs = [
        ("q", &f.q),
        ("namespace", &f.namespace),
        ("project", &f.project),
        ("sync", &f.sync),
        ("health", &f.health),
    ];
    pairs
        .iter()
        .filter_map(|(k, v)| v.as_deref().filter(|v| !v.is_empty()).map(|v| (k, v)))
        .map(|(k, v)| format!("{k}={}&", urlencode(v)))
        .collect()
}

/// The Applications page (or its live part): `subject` gives a commit's
/// subject line (repository, commit).
pub fn render_list(
    apps: &[std::sync::Arc<Application>],
    q: &PageQuery,
    chrome: Chrome,
    subject: &dyn Fn(&str, &str) -> String,
) -> String {
    let listed = listing(apps, &q.filter, subject);
    let part = AppsPart {
        sync_counts: listed.counts.sync.into_iter().collect(),
        health_counts: listed.counts.health.into_iter().collect(),
        shown: listed.items.len(),
        total: apps.len(),
        rows: listed.items.into_iter().map(Row::of).collect(),
    };
    let apps_html = rendered(part);
    if q.fragment.as_deref() == Some("apps") {
        return apps_html;
    }
    let f = &q.filter;
    rendered(ListPage {
        chrome,
        sync_options: options(&["Synced", "OutOfSync", "Unknown"], f.sync.as_deref()),
        health_options: options(
            &[
                "Healthy",
                "Progressing",
                "Degraded",
                "Suspended",
                "Missing",
                "Unknown",
            ],
            f.health.as_deref(),
        ),
        filter_q: f.q.clone().unwrap_or_default(),
        filter_namespace: f.namespace.clone().unwrap_or_default(),
        filter_project: f.project.clone().unwrap_or_default(),
        live_url: format!("/?{}fragment=apps", filter_query(f)),
        apps: apps_html,
    })
}

async fn list_page(
    State(s): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let caller = match page_reader(&s, &headers, "/").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let apps = match api::visible(&s, &caller).await {
        Ok(apps) => apps,
        Err(d) => return refused(d, "/", "/"),
    };
    let page = render_list(&apps, &q, Chrome::of(Some(&caller), "/"), &|r, c| {
        s.subject(r, c)
    });
    html(StatusCode::OK, page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::pages::tests::app;
    use std::sync::Arc;

    fn list(apps: &[Arc<Application>], filter: Filter, fragment: Option<&str>) -> String {
        let q = PageQuery {
            filter,
            fragment: fragment.map(String::from),
        };
        render_list(apps, &q, Chrome::of(None, "/"), &|_, commit| {
            format!("Subject of {}", &commit[..4])
        })
    }

    #[test]
    fn the_list_page_shows_every_app_escaped_and_filtered() {
        let apps = [
            app(
                "web",
                "https://git.example.com/<b>team</b>",
                "Synced",
                "Healthy",
            ),
            app("db", "https://git.example.com/db", "OutOfSync", "Degraded"),
        ];
        let page = list(&apps, Filter::default(), None);
        assert!(page.starts_with("<!doctype html>"), "{page}");
        assert!(
            page.contains("<caption>2 of 2 applications</caption>"),
            "{page}"
        );
        assert!(page.contains("&#60;b&#62;team&#60;/b&#62;"), "{page}");
        assert!(!page.contains("<b>team"), "repository URLs are escaped");
        assert!(page.contains(r#"<span class="badge OutOfSync">OutOfSync</span>"#));
        assert!(
            page.contains("<code>0123456</code> Subject of 0123"),
            "{page}"
        );
        assert!(page.contains("Succeeded 2026-11-23T10:00:01Z"));
        assert!(page.find(">db</a></th>").unwrap() < page.find(">web</a></th>").unwrap());
        assert!(
            page.contains(r#"<a href="/apps/apps/db">"#),
            "names link to their page"
        );
        assert!(
            page.contains(r#"<a href="/login?next=/">Log in</a>"#),
            "{page}"
        );
        let out_of_sync = Filter {
            sync: Some("OutOfSync".into()),
            ..Filter::default()
        };
        let page = list(&apps, out_of_sync, None);
        assert!(
            page.contains("<caption>1 of 2 applications</caption>"),
            "{page}"
        );
        assert!(
            page.contains(r#"<option value="OutOfSync" selected>"#),
            "the filter stays chosen"
        );
        assert!(
            page.contains(r#"data-live="/?sync=OutOfSync&#38;fragment=apps""#),
            "{page}"
        );
        let out_of_sync = Filter {
            sync: Some("OutOfSync".into()),
            ..Filter::default()
        };
        let part = list(&apps, out_of_sync, Some("apps"));
        assert!(
            part.starts_with("<section") && !part.contains("<html"),
            "{part}"
        );
        assert_eq!(
            part.matches("<tr>").count(),
            2,
            "the header and one app: {part}"
        );
    }
}
