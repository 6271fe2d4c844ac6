//! Server-rendered pages (askama templates in `web/templates`, escaped by
//! default; CSS and a few lines of script in `web/assets`, embedded in the
//! binary). Every page reads and every action works without JavaScript:
//! actions are forms on a confirmation page, carrying the session's CSRF
//! token; the script only refreshes parts of a page in place.

use super::actions::{self, Failure, Outcome};
use super::api::{self, listing, AppSummary, Filter, ObjectQuery};
use super::auth::{self, Caller, Denied};
use super::resources::{self, Node};
use super::UiState;
use crate::application::Application;
use crate::controller::preview::{Change, Preview};
use crate::controller::requests::Request;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use std::collections::BTreeMap;

const STYLE: &str = include_str!("assets/skiff.css");
const SCRIPT: &str = include_str!("assets/skiff.js");

pub fn router(state: UiState) -> Router {
    Router::new()
        .route("/", get(list_page))
        .route("/login", get(login_page).post(log_in))
        .route("/logout", axum::routing::post(log_out))
        .route("/apps/{namespace}/{name}", get(app_page))
        .route("/apps/{namespace}/{name}/diff", get(diff_page))
        .route("/apps/{namespace}/{name}/resource", get(resource_page))
        .route(
            "/apps/{namespace}/{name}/{action}",
            get(confirm_page).post(act),
        )
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

// ---- The Applications page ----

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

// ---- An application's page ----

/// One line of the resources table: an app's object (depth 0) or a live child.
struct ResourceRow {
    kind: String,
    namespace: String,
    name: String,
    sync: String,
    health: String,
    message: String,
    depth: usize,
    /// The object's page (the app's own objects).
    link: String,
}

/// The resources grouped by kind — (kind, how many, rows) — each followed
/// by its children.
fn resource_groups(base: &str, nodes: &[Node]) -> Vec<(String, usize, Vec<ResourceRow>)> {
    fn flatten(base: &str, node: &Node, depth: usize, rows: &mut Vec<ResourceRow>) {
        let sync = match node.requires_pruning {
            true => "requiresPruning".to_string(),
            false => node.sync.clone(),
        };
        rows.push(ResourceRow {
            kind: node.kind.clone(),
            namespace: node.namespace.clone(),
            name: node.name.clone(),
            sync,
            health: node.health.clone(),
            message: node.message.clone(),
            depth,
            link: format!(
                "{base}/resource?group={}&kind={}&resourceNamespace={}&resourceName={}",
                urlencode(&node.group),
                urlencode(&node.kind),
                urlencode(&node.namespace),
                urlencode(&node.name)
            ),
        });
        for child in &node.children {
            flatten(base, child, depth + 1, rows);
        }
    }
    let mut groups: BTreeMap<String, (usize, Vec<ResourceRow>)> = BTreeMap::new();
    for node in nodes {
        let (count, rows) = groups.entry(node.kind.clone()).or_default();
        *count += 1;
        flatten(base, node, 0, rows);
    }
    groups
        .into_iter()
        .map(|(kind, (count, rows))| (kind, count, rows))
        .collect()
}

struct HistoryRow {
    id: i64,
    deployed_at: String,
    revision: String,
    source: String,
}

#[derive(Template)]
#[template(path = "app_live.html", config = "src/web/askama.toml")]
struct AppLive {
    base: String,
    sync: String,
    revision: String,
    subject: String,
    health: String,
    health_message: String,
    repo: String,
    path: String,
    target: String,
    destination: String,
    project: String,
    policy: String,
    operation: String,
    /// (type, message, since)
    conditions: Vec<(String, String, String)>,
    groups: Vec<(String, usize, Vec<ResourceRow>)>,
    tree_problem: String,
    results: Vec<crate::application::ResourceResult>,
    history: Vec<HistoryRow>,
    can_roll_back: bool,
    events: Vec<(String, String, String, String)>,
}

#[derive(Template)]
#[template(path = "app.html", config = "src/web/askama.toml")]
struct AppPage {
    chrome: Chrome,
    namespace: String,
    name: String,
    base: String,
    notice: String,
    live: String,
}

/// Events as (type, reason, note, time), newest first.
pub type EventLines = [(String, String, String, String)];

fn app_base(namespace: &str, name: &str) -> String {
    format!("/apps/{}/{}", urlencode(namespace), urlencode(name))
}

fn automated(app: &Application) -> bool {
    app.spec
        .sync_policy
        .as_ref()
        .is_some_and(|p| p.automated.is_some())
}

/// What the app's page shows and refreshes: conditions first, the summary,
/// resources by kind with their children, the last operation's results,
/// history and recent Events.
pub fn render_app_live(
    app: &Application,
    tree: &[Node],
    tree_problem: Option<&str>,
    events: &EventLines,
    subject: &str,
) -> String {
    let summary = AppSummary::of(app);
    let status = app.status.clone().unwrap_or_default();
    let spec = &app.spec;
    let base = app_base(&summary.namespace, &summary.name);
    let op = status.operation_state.clone();
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
    rendered(AppLive {
        groups: resource_groups(&base, tree),
        base,
        sync: summary.sync,
        revision: summary.revision.chars().take(7).collect(),
        subject: subject.to_string(),
        health: summary.health,
        health_message: status.health.message.clone(),
        repo: summary.repo,
        path: summary.path,
        target: summary.target,
        destination: format!("{server} / {}", d.namespace.clone().unwrap_or_default()),
        project: summary.project,
        policy,
        operation: op
            .as_ref()
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
        tree_problem: tree_problem.unwrap_or_default().to_string(),
        results: op
            .and_then(|o| o.sync_result)
            .map(|r| r.resources)
            .unwrap_or_default(),
        history: status
            .history
            .iter()
            .rev()
            .map(|h| HistoryRow {
                id: h.id,
                deployed_at: h.deployed_at.clone(),
                revision: h.revision.chars().take(7).collect(),
                source: format!(
                    "{} {} @ {}",
                    h.source.repo_url, h.source.path, h.source.target_revision
                ),
            })
            .collect(),
        can_roll_back: !automated(app),
        events: events.to_vec(),
    })
}

/// What a person asked for, said back on the app's page after an action.
fn notice(asked: Option<&str>) -> String {
    let what = match asked {
        Some("sync") => "a sync",
        Some("sync-prune") => "a sync with prune",
        Some("refresh") => "a refresh",
        Some("hard-refresh") => "a hard refresh",
        Some("rollback") => "a rollback",
        _ => return String::new(),
    };
    format!(
        "You asked for {what}; the controller takes it up within seconds and this page follows it."
    )
}

#[derive(Deserialize)]
struct AppQuery {
    fragment: Option<String>,
    asked: Option<String>,
}

async fn app_page(
    State(s): State<UiState>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
    Query(q): Query<AppQuery>,
) -> Response {
    let base = app_base(&namespace, &name);
    let caller = match page_reader(&s, &headers, &base).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let app = match api::readable(&s, &caller, &namespace, &name).await {
        Ok(app) => app,
        Err((status, text)) => return message(status, text, Chrome::of(Some(&caller), &base), "/"),
    };
    // A page without Events or children beats no page.
    let (tree, problem) = resources::tree(&s.client, &app).await;
    let events = api::app_events(&s.client, &namespace, &name)
        .await
        .unwrap_or_default();
    let subject = s.subject(&app.spec.source.repo_url, &AppSummary::of(&app).revision);
    let live = render_app_live(&app, &tree, problem.as_deref(), &events, &subject);
    if q.fragment.as_deref() == Some("live") {
        return html(StatusCode::OK, live);
    }
    let page = AppPage {
        chrome: Chrome::of(Some(&caller), &base),
        namespace,
        name,
        base,
        notice: notice(q.asked.as_deref()),
        live,
    };
    html(StatusCode::OK, rendered(page))
}

// ---- Diffs ----

/// A unified diff's lines with the class that colours each.
fn diff_lines(diff: &str) -> Vec<(&'static str, String)> {
    diff.lines()
        .map(|l| {
            let class = if l.starts_with("+++") || l.starts_with("---") {
                "dim"
            } else if l.starts_with('+') {
                "add"
            } else if l.starts_with('-') {
                "del"
            } else if l.starts_with("@@") {
                "hunk"
            } else {
                ""
            };
            (class, l.to_string())
        })
        .collect()
}

struct ChangeView {
    title: String,
    state: String,
    changed_by: String,
    lines: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "diff.html", config = "src/web/askama.toml")]
struct DiffPage {
    chrome: Chrome,
    title: &'static str,
    namespace: String,
    name: String,
    base: String,
    revision: String,
    unchanged: usize,
    note: String,
    changes: Vec<ChangeView>,
}

fn change_view(c: &Change) -> ChangeView {
    ChangeView {
        title: c.title(),
        state: c.state.to_string(),
        changed_by: c.changed_by.join(", "),
        lines: diff_lines(&c.diff()),
    }
}

/// What a sync would change, as a page (`dry_run`: asked as a dry run, with
/// or without `prune`).
pub fn render_diff(
    chrome: Chrome,
    namespace: &str,
    name: &str,
    found: &Preview,
    dry_run: Option<bool>,
) -> String {
    let note = match dry_run {
        Some(false) if found.changes.iter().any(|c| c.state == "requiresPruning") => {
            "Without prune, the objects that left git would stay."
        }
        _ => "",
    };
    rendered(DiffPage {
        chrome,
        title: if dry_run.is_some() {
            "Dry run: what a sync would change"
        } else {
            "What a sync would change"
        },
        namespace: namespace.to_string(),
        name: name.to_string(),
        base: app_base(namespace, name),
        revision: found.revision.chars().take(7).collect(),
        unchanged: found.unchanged,
        note: note.to_string(),
        changes: found.changes.iter().map(change_view).collect(),
    })
}

async fn diff_page(
    State(s): State<UiState>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    let base = app_base(&namespace, &name);
    let path = format!("{base}/diff");
    let caller = match page_reader(&s, &headers, &path).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let chrome = Chrome::of(Some(&caller), &path);
    let app = match api::readable(&s, &caller, &namespace, &name).await {
        Ok(app) => app,
        Err((status, text)) => return message(status, text, chrome, "/"),
    };
    match crate::controller::preview::preview(
        &s.client,
        &app,
        None,
        &s.cache_dir,
        &s.skiff_namespace,
    )
    .await
    {
        Ok(found) => html(
            StatusCode::OK,
            render_diff(chrome, &namespace, &name, &found, None),
        ),
        Err(e) => message(422, e, chrome, &base),
    }
}

#[derive(Template)]
#[template(path = "resource.html", config = "src/web/askama.toml")]
struct ResourcePage {
    chrome: Chrome,
    namespace: String,
    name: String,
    base: String,
    kind: String,
    object: String,
    state: String,
    revision: String,
    changed_by: String,
    lines: Vec<(&'static str, String)>,
    live: String,
}

async fn resource_page(
    State(s): State<UiState>,
    headers: HeaderMap,
    Path((namespace, name)): Path<(String, String)>,
    Query(q): Query<ObjectQuery>,
) -> Response {
    let base = app_base(&namespace, &name);
    let path = format!(
        "{base}/resource?group={}&kind={}&resourceNamespace={}&resourceName={}",
        urlencode(&q.group),
        urlencode(&q.kind),
        urlencode(&q.namespace),
        urlencode(&q.name)
    );
    let caller = match page_reader(&s, &headers, &path).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let chrome = Chrome::of(Some(&caller), &path);
    let app = match api::readable(&s, &caller, &namespace, &name).await {
        Ok(app) => app,
        Err((status, text)) => return message(status, text, chrome, "/"),
    };
    if !api::manages(&app, &q) {
        let text = format!("{namespace}/{name} manages no {} {}", q.kind, q.name);
        return message(404, text, chrome, &base);
    }
    let d = match resources::detail(&s.client, &app, &q.key(), &s.cache_dir, &s.skiff_namespace)
        .await
    {
        Ok(d) => d,
        Err(e) => return message(422, e, chrome, &base),
    };
    let object = match q.namespace.as_str() {
        "" => q.name.clone(),
        ns => format!("{ns}/{}", q.name),
    };
    let page = ResourcePage {
        chrome,
        namespace,
        name,
        base,
        kind: q.kind.clone(),
        object,
        state: d.state,
        revision: d.revision.chars().take(7).collect(),
        changed_by: d.changed_by.join(", "),
        lines: diff_lines(&d.diff),
        live: d.live,
    };
    html(StatusCode::OK, rendered(page))
}

// ---- Actions ----

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

// ---- Login ----

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

    fn node(kind: &str, name: &str, sync: &str, children: Vec<Node>) -> Node {
        Node {
            group: if kind == "Deployment" || kind == "ReplicaSet" {
                "apps"
            } else {
                ""
            }
            .into(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: "web".into(),
            name: name.into(),
            sync: sync.into(),
            requires_pruning: false,
            health: "Healthy".into(),
            message: String::new(),
            children,
        }
    }

    #[test]
    fn the_app_page_puts_errors_first_and_shows_children_under_their_owner() {
        let mut a = (*app("web", "https://git.example.com/x", "OutOfSync", "Degraded")).clone();
        let status = a.status.as_mut().unwrap();
        status.conditions = vec![serde_json::from_value(json!({"type": "ComparisonError", "message": "Failed to render <app>", "lastTransitionTime": "2026-11-23T10:00:00Z"})).unwrap()];
        status.history = vec![serde_json::from_value(json!({"id": 4, "revision": "fedcba9876543210", "deployedAt": "2026-11-23T09:00:00Z", "source": {"repoURL": "https://git.example.com/x", "path": "app"}})).unwrap()];
        let tree = [
            node("ConfigMap", "a", "OutOfSync", vec![]),
            node(
                "Deployment",
                "web",
                "Synced",
                vec![node(
                    "ReplicaSet",
                    "web-7d9",
                    "",
                    vec![node("Pod", "web-7d9-x1", "", vec![])],
                )],
            ),
        ];
        let events = [(
            "Warning".to_string(),
            "OperationFailed".to_string(),
            "sync to abc failed".to_string(),
            "2026-11-23T10:00:02Z".to_string(),
        )];
        let page = render_app_live(&a, &tree, None, &events, "Add the <web> app");
        let conditions = page
            .find("<h2 id=\"conditions\">")
            .expect("conditions shown");
        assert!(
            conditions < page.find("<h2 id=\"summary\">").unwrap(),
            "errors come first"
        );
        assert!(page.contains("Failed to render &#60;app&#62;"), "{page}");
        assert!(
            page.contains("Add the &#60;web&#62; app"),
            "the commit subject, escaped: {page}"
        );
        assert!(
            page.contains(
                r#"<th scope="rowgroup" colspan="5">ConfigMap <span class="dim">(1)</span></th>"#
            ),
            "{page}"
        );
        assert!(
            page.contains(
                r#"<th scope="rowgroup" colspan="5">Deployment <span class="dim">(1)</span></th>"#
            ),
            "{page}"
        );
        assert!(page.contains(r#"<a href="/apps/apps/web/resource?group=&#38;kind=ConfigMap&#38;resourceNamespace=web&#38;resourceName=a">a</a>"#), "{page}");
        let rs = page
            .find("web-7d9</td>")
            .expect("the ReplicaSet under its Deployment");
        assert!(page.find(">web</a>").unwrap() < rs);
        assert!(
            page.contains(r#"<tr class="child depth2">"#),
            "the Pod two levels down: {page}"
        );
        assert!(page.contains(r#"<span class="badge OutOfSync">OutOfSync</span>"#));
        assert!(
            page.contains("<td>OperationFailed</td><td>sync to abc failed</td>"),
            "{page}"
        );
        assert!(
            page.contains(r#"<a href="/apps/apps/web/rollback?id=4">Roll back to 4</a>"#),
            "{page}"
        );
        // With automated sync on, a rollback is not offered.
        a.spec.sync_policy = Some(serde_json::from_value(json!({"automated": {}})).unwrap());
        let page = render_app_live(&a, &tree, None, &[], "");
        assert!(!page.contains("Roll back to"), "{page}");
        assert!(page.contains("automated sync is on"));
    }

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

    #[test]
    fn diffs_are_coloured_by_line_and_next_stays_on_skiff() {
        let lines = diff_lines("--- live/x\n+++ wanted/x\n@@ -1 +1 @@\n-  k: v\n+  k: w\n   same");
        let classes: Vec<&str> = lines.iter().map(|l| l.0).collect();
        assert_eq!(classes, ["dim", "dim", "hunk", "del", "add", ""]);
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
