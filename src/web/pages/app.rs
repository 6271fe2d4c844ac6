//! An application's pages: the app (conditions, summary, resources with
//! their live children, the last operation, history, Events; its live part
//! is `?fragment=live`), what a sync would change, and one resource.

use super::{app_base, html, message, readable_app, rendered, urlencode, Chrome};
use crate::application::Application;
use crate::controller::preview::{Change, Preview};
use crate::web::api::{self, AppSummary, ObjectQuery};
use crate::web::resources::{self, Node};
use crate::web::UiState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use std::collections::BTreeMap;

/// This part's paths.
pub(super) fn routes() -> axum::Router<UiState> {
    axum::Router::new()
        .route("/apps/{namespace}/{name}", get(app_page))
        .route("/apps/{namespace}/{name}/diff", get(diff_page))
        .route("/apps/{namespace}/{name}/resource", get(resource_page))
}

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
    /// spec.info: (name, value).
    info: Vec<(String, String)>,
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
    let policy = match spec.sync_policy.as_ref().and_then(|p| p.automated()) {
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
        info: spec
            .info
            .iter()
            .map(|i| (i.name.clone(), i.value.clone()))
            .collect(),
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
        can_roll_back: !crate::controller::requests::automated(app),
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
    let (caller, app) = match readable_app(&s, &headers, &namespace, &name, &base).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    // A page without Events or children beats no page.
    let (tree, problem) = resources::tree(&s.client, &app).await;
    let events = api::app_events(&s.client, &namespace, &name)
        .await
        .unwrap_or_default();
    let revision = app
        .status
        .as_ref()
        .map_or("", |st| st.sync.revision.as_str());
    let subject = s.subject(&app.spec.source.repo_url, revision);
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
    let (caller, app) = match readable_app(&s, &headers, &namespace, &name, &path).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let chrome = Chrome::of(Some(&caller), &path);
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
    let (caller, app) = match readable_app(&s, &headers, &namespace, &name, &path).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let chrome = Chrome::of(Some(&caller), &path);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::pages::tests::app;
    use serde_json::json;

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

    #[test]
    fn diffs_are_coloured_by_line() {
        let lines = diff_lines("--- live/x\n+++ wanted/x\n@@ -1 +1 @@\n-  k: v\n+  k: w\n   same");
        let classes: Vec<&str> = lines.iter().map(|l| l.0).collect();
        assert_eq!(classes, ["dim", "dim", "hunk", "del", "add", ""]);
    }
}
