//! Server-rendered pages (askama templates, escaped by default). Each page
//! reads without JavaScript; a few lines of script only refresh it in place.

use super::api::{listing, ApiState, AppSummary, Filter};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

const STYLE: &str = r#"
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:.6rem 1.2rem}header h1{font-size:1.1rem;margin:0}
main{padding:1rem 1.2rem}
.counts{display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;list-style:none;padding:0;margin:0 0 1rem}
form{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end;margin-bottom:1rem}
label{display:flex;flex-direction:column;font-size:.8rem}
input,select,button{font:inherit;padding:.25rem .4rem}
table{border-collapse:collapse;width:100%;background:#fff}
caption{text-align:left;padding:.4rem 0;color:#57606a}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #d0d7de;vertical-align:top}
.badge{display:inline-block;border-radius:1em;padding:0 .6em;font-size:.85rem;border:1px solid}
.Synced,.Healthy,.Succeeded{color:#1a7f37;border-color:#1a7f37}
.OutOfSync,.Missing,.Running{color:#9a6700;border-color:#9a6700}
.Degraded,.Failed,.Error{color:#cf222e;border-color:#cf222e}
.Progressing{color:#0969da;border-color:#0969da}
.Suspended{color:#8250df;border-color:#8250df}
.Unknown{color:#57606a;border-color:#57606a}
.dim{color:#57606a;font-size:.85rem}
"#;

/// Replaces the rows every 5 s with the server's, keeping the filters.
const LIVE: &str = r#"
setInterval(async () => {
  const url = new URL(location.href);
  url.searchParams.set("fragment", "rows");
  try {
    const r = await fetch(url);
    if (r.ok) document.getElementById("apps").innerHTML = await r.text();
  } catch (e) {}
}, 5000);
"#;

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
#[template(
    ext = "html",
    source = r#"{% for r in rows %}<tr>
<th scope="row"><a href="/apps/{{ r.app.namespace|urlencode }}/{{ r.app.name|urlencode }}"><span class="dim">{{ r.app.namespace }}/</span>{{ r.app.name }}</a></th>
<td><span class="badge {{ r.app.sync }}">{{ r.app.sync }}</span></td>
<td><span class="badge {{ r.app.health }}">{{ r.app.health }}</span></td>
<td><code>{{ r.revision }}</code></td>
<td>{{ r.last }}</td>
<td>{{ r.app.repo }}<br><span class="dim">{{ r.app.path }} @ {{ r.app.target }}</span></td>
</tr>
{% endfor %}"#
)]
struct Rows {
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Applications · skiff</title>
<style>{{ style|safe }}</style>
</head>
<body>
<header><h1>skiff · Applications</h1></header>
<main>
<section aria-label="Applications by status">
<ul class="counts">
{% for (status, n) in sync_counts %}<li><span class="badge {{ status }}">{{ status }}</span> {{ n }}</li>
{% endfor %}{% for (status, n) in health_counts %}<li><span class="badge {{ status }}">{{ status }}</span> {{ n }}</li>
{% endfor %}</ul>
</section>
<form method="get" role="search" aria-label="Filter applications">
<label>Text<input type="search" name="q" value="{{ filter_q }}"></label>
<label>Namespace<input name="namespace" value="{{ filter_namespace }}"></label>
<label>Project<input name="project" value="{{ filter_project }}"></label>
<label>Sync<select name="sync">{% for o in sync_options %}<option value="{{ o.0 }}"{% if o.1 %} selected{% endif %}>{% if o.0.is_empty() %}any{% else %}{{ o.0 }}{% endif %}</option>{% endfor %}</select></label>
<label>Health<select name="health">{% for o in health_options %}<option value="{{ o.0 }}"{% if o.1 %} selected{% endif %}>{% if o.0.is_empty() %}any{% else %}{{ o.0 }}{% endif %}</option>{% endfor %}</select></label>
<button type="submit">Filter</button>
</form>
<table>
<caption>{{ shown }} of {{ total }} applications</caption>
<thead><tr><th scope="col">Application</th><th scope="col">Sync</th><th scope="col">Health</th><th scope="col">Revision</th><th scope="col">Last sync</th><th scope="col">Source</th></tr></thead>
<tbody id="apps" aria-live="polite">{{ rows|safe }}</tbody>
</table>
</main>
<script>{{ live|safe }}</script>
</body>
</html>
"#
)]
struct ListPage<'a> {
    style: &'a str,
    live: &'a str,
    sync_counts: Vec<(String, u64)>,
    health_counts: Vec<(String, u64)>,
    sync_options: Vec<(String, bool)>,
    health_options: Vec<(String, bool)>,
    filter_q: String,
    filter_namespace: String,
    filter_project: String,
    shown: usize,
    total: usize,
    /// Rendered by `Rows` (escaped there).
    rows: String,
}

#[derive(Deserialize, Default)]
struct PageQuery {
    #[serde(flatten)]
    filter: Filter,
    /// `rows`: only the table's rows, for the live refresh.
    fragment: Option<String>,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/", get(list_page))
        .route("/apps/{namespace}/{name}", get(app_page))
        .with_state(state)
}

/// One line of a table on the detail page: cells, and the status words to badge.
struct Line {
    cells: Vec<String>,
    badges: Vec<String>,
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ name }} · skiff</title>
<style>{{ style|safe }}</style>
</head>
<body>
<header><h1><a href="/" style="color:#fff">skiff</a> · {{ namespace }}/{{ name }}</h1></header>
<main>
{% if !conditions.is_empty() %}<section aria-labelledby="conditions"><h2 id="conditions">Conditions</h2>
<ul>{% for c in conditions %}<li><strong>{{ c.0 }}</strong>: {{ c.1 }} <span class="dim">since {{ c.2 }}</span></li>{% endfor %}</ul></section>{% endif %}
<section aria-labelledby="summary"><h2 id="summary">Summary</h2>
<dl>
<dt>Sync</dt><dd><span class="badge {{ sync }}">{{ sync }}</span> to <code>{{ revision }}</code></dd>
<dt>Health</dt><dd><span class="badge {{ health }}">{{ health }}</span> {{ health_message }}</dd>
<dt>Source</dt><dd>{{ repo }} <span class="dim">{{ path }} @ {{ target }}</span></dd>
<dt>Destination</dt><dd>{{ destination }}</dd>
<dt>Sync policy</dt><dd>{{ policy }}</dd>
{% if !operation.is_empty() %}<dt>Last operation</dt><dd>{{ operation }}</dd>{% endif %}
</dl></section>
{% for t in tables %}<section aria-labelledby="t{{ loop.index }}"><h2 id="t{{ loop.index }}">{{ t.0 }}</h2>
{% if t.2.is_empty() %}<p class="dim">None.</p>{% else %}<table><thead><tr>{% for h in t.1 %}<th scope="col">{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for l in t.2 %}<tr>{% for c in l.cells %}<td>{% if l.badges.contains(c) %}<span class="badge {{ c }}">{{ c }}</span>{% else %}{{ c }}{% endif %}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>{% endif %}</section>
{% endfor %}
<p><a href="/api/v1/apps/{{ namespace|urlencode }}/{{ name|urlencode }}/diff">What a sync would change (JSON)</a></p>
</main>
</body>
</html>
"#
)]
struct AppPage<'a> {
    style: &'a str,
    namespace: String,
    name: String,
    sync: String,
    revision: String,
    health: String,
    health_message: String,
    repo: String,
    path: String,
    target: String,
    destination: String,
    policy: String,
    operation: String,
    /// (type, message, since)
    conditions: Vec<(String, String, String)>,
    /// (title, headers, lines)
    tables: Vec<(&'static str, Vec<&'static str>, Vec<Line>)>,
}

const STATUS_WORDS: &[&str] = &[
    "Synced",
    "OutOfSync",
    "Healthy",
    "Progressing",
    "Degraded",
    "Suspended",
    "Missing",
    "Unknown",
    "Succeeded",
    "Failed",
    "Running",
    "SyncFailed",
    "Pruned",
    "PruneSkipped",
];

fn line(cells: Vec<String>) -> Line {
    let badges = cells
        .iter()
        .filter(|c| STATUS_WORDS.contains(&c.as_str()))
        .cloned()
        .collect();
    Line { cells, badges }
}

/// Events as (type, reason, note, time), newest first.
pub type EventLines = [(String, String, String, String)];

/// The detail page of one app.
pub fn render_app(app: &crate::application::Application, events: &EventLines) -> String {
    use kube::ResourceExt;
    let summary = AppSummary::of(app);
    let status = app.status.clone().unwrap_or_default();
    let spec = &app.spec;
    // Resources grouped by kind, then by namespace and name.
    let mut resources = status.resources.clone();
    resources
        .sort_by(|a, b| (&a.kind, &a.namespace, &a.name).cmp(&(&b.kind, &b.namespace, &b.name)));
    let resources = resources
        .iter()
        .map(|r| {
            let state = match r.requires_pruning {
                true => "requires pruning".to_string(),
                false => r.status.clone(),
            };
            let h = r.health.clone().unwrap_or_default();
            line(vec![
                r.kind.clone(),
                r.namespace.clone(),
                r.name.clone(),
                state,
                h.status,
                h.message,
            ])
        })
        .collect();
    let op = status.operation_state.clone();
    let results = op
        .iter()
        .filter_map(|o| o.sync_result.as_ref())
        .flat_map(|r| &r.resources)
        .map(|r| {
            line(vec![
                r.kind.clone(),
                r.namespace.clone(),
                r.name.clone(),
                r.status.clone(),
                r.hook_type.clone(),
                r.message.clone(),
            ])
        })
        .collect();
    let history = status
        .history
        .iter()
        .rev()
        .map(|h| {
            line(vec![
                h.id.to_string(),
                h.deployed_at.clone(),
                h.revision.chars().take(7).collect(),
                format!(
                    "{} {} @ {}",
                    h.source.repo_url, h.source.path, h.source.target_revision
                ),
            ])
        })
        .collect();
    let events = events
        .iter()
        .map(|(t, reason, note, time)| {
            line(vec![time.clone(), t.clone(), reason.clone(), note.clone()])
        })
        .collect();
    let policy = match spec.sync_policy.as_ref().and_then(|p| p.automated.as_ref()) {
        None => "manual".to_string(),
        Some(a) => format!(
            "automated{}{}",
            if a.prune { ", prune" } else { "" },
            if a.self_heal { ", self-heal" } else { "" }
        ),
    };
    let d = &spec.destination;
    let server = d
        .server
        .clone()
        .or(d.name.clone())
        .unwrap_or_else(|| crate::application::LOCAL_SERVER.into());
    AppPage {
        style: STYLE,
        namespace: app.namespace().unwrap_or_default(),
        name: app.name_any(),
        sync: summary.sync,
        revision: summary.revision.chars().take(7).collect(),
        health: summary.health,
        health_message: status.health.message.clone(),
        repo: summary.repo,
        path: summary.path,
        target: summary.target,
        destination: format!("{server} / {}", d.namespace.clone().unwrap_or_default()),
        policy,
        operation: op
            .map(|o| format!("{}: {} (started {})", o.phase, o.message, o.started_at))
            .unwrap_or_default(),
        conditions: status
            .conditions
            .iter()
            .map(|c| {
                let since = c.last_transition_time.clone().unwrap_or_default();
                (c.type_.clone(), c.message.clone(), since)
            })
            .collect(),
        tables: vec![
            (
                "Resources",
                vec!["Kind", "Namespace", "Name", "Sync", "Health", "Message"],
                resources,
            ),
            (
                "Last operation's results",
                vec!["Kind", "Namespace", "Name", "Result", "Hook", "Message"],
                results,
            ),
            (
                "History",
                vec!["ID", "Deployed", "Revision", "Source"],
                history,
            ),
            ("Events", vec!["Time", "Type", "Reason", "Message"], events),
        ],
    }
    .render()
    .unwrap_or_default()
}

async fn app_page(
    State(s): State<ApiState>,
    axum::extract::Path((namespace, name)): axum::extract::Path<(String, String)>,
) -> Response {
    let Some(app) = super::api::find(&s, &namespace, &name) else {
        let body = format!(
            "<!doctype html><title>Not found · skiff</title><p>No Application {}/{}. <a href=\"/\">All applications</a></p>",
            escape(&namespace),
            escape(&name)
        );
        return (axum::http::StatusCode::NOT_FOUND, Html(body)).into_response();
    };
    // Recent Events; a page without them beats no page.
    let events = super::api::app_events(&s.client, &namespace, &name)
        .await
        .unwrap_or_default();
    let html = render_app(&app, &events);
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

fn escape(text: &str) -> String {
    askama::filters::escape(text, askama::filters::Html)
        .map(|e| e.to_string())
        .unwrap_or_default()
}

fn options(all: &[&str], chosen: Option<&str>) -> Vec<(String, bool)> {
    std::iter::once("")
        .chain(all.iter().copied())
        .map(|o| (o.to_string(), chosen.unwrap_or_default() == o))
        .collect()
}

fn counts(v: &serde_json::Value) -> Vec<(String, u64)> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0)))
        .collect()
}

/// The Applications page (or only its rows), as HTML.
pub fn render_list(
    apps: &[std::sync::Arc<crate::application::Application>],
    q: &PageQueryRef,
) -> String {
    // The counts cover every app; the rows only those the filter keeps.
    let listed = listing(apps, &Filter::default());
    let mut items: Vec<Row> = apps
        .iter()
        .map(|a| AppSummary::of(a))
        .filter(|s| q.filter.matches(s))
        .map(Row::of)
        .collect();
    items.sort_by(|a, b| (&a.app.namespace, &a.app.name).cmp(&(&b.app.namespace, &b.app.name)));
    let shown = items.len();
    let rows = Rows { rows: items }.render().unwrap_or_default();
    if q.rows_only {
        return rows;
    }
    let f = q.filter;
    ListPage {
        style: STYLE,
        live: LIVE,
        sync_counts: counts(&listed["counts"]["sync"]),
        health_counts: counts(&listed["counts"]["health"]),
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
        shown,
        total: apps.len(),
        rows,
    }
    .render()
    .unwrap_or_default()
}

/// What `render_list` is asked for.
pub struct PageQueryRef<'a> {
    pub filter: &'a Filter,
    pub rows_only: bool,
}

async fn list_page(State(s): State<ApiState>, Query(q): Query<PageQuery>) -> Response {
    let apps = (s.apps)();
    let asked = PageQueryRef {
        filter: &q.filter,
        rows_only: q.fragment.as_deref() == Some("rows"),
    };
    let html = render_list(&apps, &asked);
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::Application;
    use serde_json::json;
    use std::sync::Arc;

    fn app(name: &str, repo: &str, sync: &str, health: &str) -> Arc<Application> {
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
    fn the_detail_page_puts_errors_first_and_badges_statuses() {
        let mut a = (*app("web", "https://git.example.com/x", "OutOfSync", "Degraded")).clone();
        let status = a.status.as_mut().unwrap();
        status.conditions = vec![serde_json::from_value(json!({"type": "ComparisonError", "message": "Failed to render <app>", "lastTransitionTime": "2026-11-23T10:00:00Z"})).unwrap()];
        status.resources = vec![serde_json::from_value(json!({"group": "", "version": "v1", "kind": "ConfigMap", "namespace": "web", "name": "a", "status": "OutOfSync", "health": {"status": "Healthy"}})).unwrap()];
        let events = [(
            "Warning".to_string(),
            "OperationFailed".to_string(),
            "sync to abc failed".to_string(),
            "2026-11-23T10:00:02Z".to_string(),
        )];
        let page = render_app(&a, &events);
        let conditions = page
            .find("<h2 id=\"conditions\">")
            .expect("conditions shown");
        assert!(
            conditions < page.find("<h2 id=\"summary\">").unwrap(),
            "errors come first"
        );
        assert!(
            page.contains("Failed to render &#60;app&#62;")
                || page.contains("Failed to render &lt;app&gt;"),
            "{page}"
        );
        assert!(page.contains(r#"<td>ConfigMap</td><td>web</td><td>a</td><td><span class="badge OutOfSync">OutOfSync</span></td><td><span class="badge Healthy">Healthy</span></td>"#), "{page}");
        assert!(
            page.contains("<td>OperationFailed</td><td>sync to abc failed</td>"),
            "{page}"
        );
        assert!(
            page.contains("<h2 id=\"t3\">History</h2>\n<p class=\"dim\">None.</p>"),
            "{page}"
        );
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
        let all = Filter::default();
        let page = render_list(
            &apps,
            &PageQueryRef {
                filter: &all,
                rows_only: false,
            },
        );
        assert!(page.starts_with("<!doctype html>"), "{page}");
        assert!(
            page.contains("<caption>2 of 2 applications</caption>"),
            "{page}"
        );
        assert!(
            page.contains("&#60;b&#62;team&#60;/b&#62;")
                || page.contains("&lt;b&gt;team&lt;/b&gt;"),
            "{page}"
        );
        assert!(!page.contains("<b>team"), "repository URLs are escaped");
        assert!(page.contains(r#"<span class="badge OutOfSync">OutOfSync</span>"#));
        assert!(page.contains("<code>0123456</code>"));
        assert!(page.contains("Succeeded 2026-11-23T10:00:01Z"));
        // db sorts first.
        assert!(page.find(">db</a></th>").unwrap() < page.find(">web</a></th>").unwrap());
        assert!(
            page.contains(r#"<a href="/apps/apps/db">"#),
            "names link to their page"
        );
        let out_of_sync = Filter {
            sync: Some("OutOfSync".into()),
            ..Filter::default()
        };
        let page = render_list(
            &apps,
            &PageQueryRef {
                filter: &out_of_sync,
                rows_only: false,
            },
        );
        assert!(
            page.contains("<caption>1 of 2 applications</caption>"),
            "{page}"
        );
        assert!(
            page.contains(r#"<option value="OutOfSync" selected>"#),
            "the filter stays chosen"
        );
        let rows = render_list(
            &apps,
            &PageQueryRef {
                filter: &out_of_sync,
                rows_only: true,
            },
        );
        assert!(
            rows.starts_with("<tr>") && !rows.contains("<html"),
            "{rows}"
        );
        assert_eq!(rows.matches("<tr>").count(), 1);
    }
}
