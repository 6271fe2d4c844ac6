//! The sync engine end to end: waves wait for health, annotations are read
//! under both `skiff.dev/` and `argocd.argoproj.io/`, and prune deletes only
//! what left git, only the app's own objects, and never after a failure.

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::ResourceExt;
use serde_json::{json, Value};
use skiff::application::Application;
use support::*;

fn cm(name: &str, annotations: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  annotations: {{{annotations}}}\ndata:\n  k: v\n")
}

const DB: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: db
  annotations:
    argocd.argoproj.io/sync-wave: \"-1\"
spec:
  replicas: 1
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
      - name: db
        image: postgres:17
";

/// Starts the controller; returns the Applications API and its cache dir.
async fn controller(c: &Cluster) -> (Api<Application>, tempfile::TempDir) {
    namespace(&c.client, "skiff-system").await;
    namespace(&c.client, "apps").await;
    let (_listen, cache) = start_controller(&c.client, "skiff-system", 1);
    (Api::namespaced(c.client.clone(), "apps"), cache)
}

/// An automated app on a new repository holding `files`, deployed to namespace `name`.
async fn app(
    c: &Cluster,
    apps: &Api<Application>,
    name: &str,
    automated: Value,
    files: &[(&str, Option<&str>)],
) -> (Upstream, Api<ConfigMap>) {
    let up = Upstream::new();
    up.commit(files, "first");
    let mut a = application(name, &up.url(), "app", name, true);
    a.spec.sync_policy.as_mut().unwrap().automated =
        Some(serde_json::from_value(automated).unwrap());
    apps.create(&PostParams::default(), &a).await.unwrap();
    (up, Api::namespaced(c.client.clone(), name))
}

/// Waits until the app's status passes `check`; shows the last status when it never does.
async fn status_where(
    apps: &Api<Application>,
    name: &str,
    what: &str,
    secs: u64,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let s = app_status(apps, name).await;
        if check(&s) {
            return s;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {secs}s waiting until {what}; status: {s:#}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The condition of this type in a status.
fn condition<'a>(status: &'a Value, kind: &str) -> Option<&'a Value> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

async fn exists(cms: &Api<ConfigMap>, name: &str) -> bool {
    cms.get_opt(name).await.unwrap().is_some()
}

fn results(status: &Value) -> Vec<(String, String)> {
    status["operationState"]["syncResult"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wave_starts_when_the_one_before_is_healthy() {
    let c = cluster().await;
    let Some(server) = &c.server else {
        eprintln!("skipped: needs the test API server's controls to make the Deployment ready");
        return;
    };
    let after = cm("after", "skiff.dev/sync-wave: \"1\"");
    let (apps, _cache) = controller(&c).await;
    let (_up, cms) = app(
        &c,
        &apps,
        "waves",
        json!({"prune": true, "selfHeal": true}),
        &[
            ("app/db.yaml", Some(DB)),
            ("app/after.yaml", Some(&after)),
            ("app/first.yaml", Some(&cm("first", ""))),
        ],
    )
    .await;
    let waiting = status_where(
        &apps,
        "waves",
        "the operation waits for the Deployment",
        30,
        |s| s["operationState"]["phase"] == "Running",
    )
    .await;
    let message = waiting["operationState"]["message"].as_str().unwrap();
    assert!(
        message.contains("Deployment db") && message.contains("wave -1"),
        "{message}"
    );
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "waves");
    assert!(
        deployments.get_opt("db").await.unwrap().is_some(),
        "wave -1 is applied"
    );
    // Two more passes: wave 0 and 1 still wait.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(
        !exists(&cms, "first").await && !exists(&cms, "after").await,
        "later waves wait"
    );
    server.set_deployment_ready("waves", "db").unwrap();
    let done = status_where(&apps, "waves", "the operation finishes", 30, |s| {
        s["operationState"]["phase"] == "Succeeded"
    })
    .await;
    assert!(exists(&cms, "first").await && exists(&cms, "after").await);
    assert_eq!(done["sync"]["status"], "Synced");
    assert_eq!(done["health"]["status"], "Healthy");
    let names: Vec<String> = results(&done).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["db", "first", "after"],
        "results in the order applied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_deletes_only_what_left_git_and_only_the_apps_own() {
    let c = cluster().await;
    let (apps, _cache) = controller(&c).await;
    // Prune is off at first, so the objects that leave git stay for a while.
    let (up, cms) = app(
        &c,
        &apps,
        "prune",
        json!({"prune": false, "selfHeal": true}),
        &[
            ("app/keep.yaml", Some(&cm("keep", ""))),
            ("app/gone.yaml", Some(&cm("gone", ""))),
            (
                "app/stays.yaml",
                Some(&cm("stays", "argocd.argoproj.io/sync-options: Prune=false")),
            ),
            ("app/adopted.yaml", Some(&cm("adopted", ""))),
        ],
    )
    .await;
    status_where(&apps, "prune", "all four are synced", 30, |s| {
        s["sync"]["status"] == "Synced" && s["resources"].as_array().is_some_and(|r| r.len() == 4)
    })
    .await;
    up.commit(
        &[
            ("app/gone.yaml", None),
            ("app/stays.yaml", None),
            ("app/adopted.yaml", None),
        ],
        "three leave",
    );
    status_where(&apps, "prune", "three require pruning", 30, |s| {
        s["resources"]
            .as_array()
            .is_some_and(|r| r.iter().filter(|r| r["requiresPruning"] == true).count() == 3)
    })
    .await;
    // Another owner takes one over: its tracking annotation no longer names this app.
    let patch = json!({"metadata": {"annotations": {"skiff.dev/tracking-id": "apps_other:/ConfigMap:prune/adopted"}}});
    cms.patch("adopted", &PatchParams::apply("someone-else").force(), &Patch::Apply(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "adopted", "annotations": patch["metadata"]["annotations"]}})))
        .await
        .unwrap();
    // Prune on, and a render error first: nothing may be pruned because of it.
    up.commit(&[("app/bad.yaml", Some("kind: [unclosed\n"))], "broken");
    status_where(&apps, "prune", "the render error is reported", 30, |s| {
        condition(s, "ComparisonError").is_some()
    })
    .await;
    let prune_on =
        json!({"spec": {"syncPolicy": {"automated": {"prune": true, "selfHeal": true}}}});
    apps.patch("prune", &PatchParams::default(), &Patch::Merge(&prune_on))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(exists(&cms, "gone").await, "a failed render prunes nothing");
    up.commit(&[("app/bad.yaml", None)], "fixed");
    let done = status_where(&apps, "prune", "gone is pruned", 30, |s| {
        results(s).contains(&("gone".into(), "Pruned".into()))
    })
    .await;
    assert!(!exists(&cms, "gone").await);
    assert!(exists(&cms, "keep").await);
    assert!(exists(&cms, "stays").await, "Prune=false keeps it");
    assert!(
        exists(&cms, "adopted").await,
        "another owner's object is not pruned"
    );
    assert!(results(&done).contains(&("stays".into(), "PruneSkipped".into())));
    let stays = done["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "stays")
        .unwrap();
    assert_eq!(stays["requiresPruning"], true);
    assert!(!done["resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "adopted"));
    assert_eq!(
        done["sync"]["status"], "OutOfSync",
        "a kept extraneous object is a difference"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_render_prunes_only_with_allow_empty_and_prune_off_only_reports() {
    let c = cluster().await;
    let (apps, _cache) = controller(&c).await;
    let (up, cms) = app(
        &c,
        &apps,
        "empty",
        json!({"prune": true, "selfHeal": true}),
        &[
            ("app/a.yaml", Some(&cm("a", ""))),
            ("app/README.md", Some("not a manifest\n")),
        ],
    )
    .await;
    status_where(&apps, "empty", "a is synced", 30, |s| {
        s["sync"]["status"] == "Synced"
    })
    .await;
    up.commit(&[("app/a.yaml", None)], "empty");
    let refused = status_where(&apps, "empty", "the empty sync is refused", 30, |s| {
        s["conditions"].as_array().is_some_and(|c| {
            c.iter().any(|c| {
                c["type"] == "SyncError" && c["message"].as_str().unwrap().contains("allowEmpty")
            })
        })
    })
    .await;
    assert!(exists(&cms, "a").await, "{refused}");
    let allow = json!({"spec": {"syncPolicy": {"automated": {"prune": true, "selfHeal": true, "allowEmpty": true}}}});
    apps.patch("empty", &PatchParams::default(), &Patch::Merge(&allow))
        .await
        .unwrap();
    eventually("a is pruned", 30, || {
        let cms = cms.clone();
        async move { (!exists(&cms, "a").await).then_some(()) }
    })
    .await;

    // With prune off, an object that left git is reported and left alone,
    // and automated sync does not loop on it.
    let (up, cms) = app(
        &c,
        &apps,
        "noprune",
        json!({"prune": false, "selfHeal": true}),
        &[
            ("app/a.yaml", Some(&cm("a", ""))),
            ("app/b.yaml", Some(&cm("b", ""))),
        ],
    )
    .await;
    status_where(&apps, "noprune", "both are synced", 30, |s| {
        s["sync"]["status"] == "Synced"
    })
    .await;
    up.commit(&[("app/b.yaml", None)], "drop b");
    let s = status_where(&apps, "noprune", "b requires pruning", 30, |s| {
        s["resources"].as_array().is_some_and(|r| {
            r.iter()
                .any(|r| r["name"] == "b" && r["requiresPruning"] == true)
        })
    })
    .await;
    assert_eq!(s["sync"]["status"], "OutOfSync");
    let history = s["history"].as_array().map_or(0, Vec::len);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let later = app_status(&apps, "noprune").await;
    assert!(exists(&cms, "b").await);
    assert_eq!(
        later["history"].as_array().map_or(0, Vec::len),
        history,
        "no sync loop"
    );
}

fn job(name: &str, annotations: &str) -> String {
    format!(
        "apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
  annotations: {{{annotations}}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: run
        image: busybox:1.37
        command: [\"true\"]
"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_run_in_their_phase_and_follow_their_delete_policy() {
    let c = cluster().await;
    let Some(server) = &c.server else {
        eprintln!("skipped: needs the test API server's controls to finish Jobs");
        return;
    };
    let (apps, _cache) = controller(&c).await;
    let migrate = job(
        "migrate",
        "argocd.argoproj.io/hook: PreSync, argocd.argoproj.io/hook-delete-policy: HookSucceeded",
    );
    let notify = cm("notify", "skiff.dev/hook: PostSync");
    let (_up, cms) = app(
        &c,
        &apps,
        "hooks",
        json!({"prune": true, "selfHeal": true}),
        &[
            ("app/migrate.yaml", Some(&migrate)),
            ("app/config.yaml", Some(&cm("config", ""))),
            ("app/notify.yaml", Some(&notify)),
        ],
    )
    .await;
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::namespaced(c.client.clone(), "hooks");
    let waiting = status_where(&apps, "hooks", "the PreSync hook runs", 30, |s| {
        s["operationState"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Job migrate") && m.contains("PreSync"))
    })
    .await;
    assert!(jobs.get_opt("migrate").await.unwrap().is_some());
    assert!(
        !exists(&cms, "config").await,
        "Sync waits for PreSync: {waiting}"
    );
    server.set_job_finished("hooks", "migrate", true).unwrap();
    let done = status_where(&apps, "hooks", "the operation succeeds", 30, |s| {
        s["operationState"]["phase"] == "Succeeded"
    })
    .await;
    assert!(exists(&cms, "config").await && exists(&cms, "notify").await);
    assert!(
        jobs.get_opt("migrate").await.unwrap().is_none(),
        "HookSucceeded deletes the Job"
    );
    let hooks: Vec<(String, String, String)> = done["operationState"]["syncResult"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["hookType"].is_string())
        .map(|r| {
            let t = |k: &str| r[k].as_str().unwrap().to_string();
            (t("name"), t("hookType"), t("hookPhase"))
        })
        .collect();
    assert_eq!(
        hooks,
        [
            ("migrate".into(), "PreSync".into(), "Succeeded".into()),
            ("notify".into(), "PostSync".into(), "Succeeded".into())
        ]
    );
    let listed: Vec<&str> = done["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["config"], "hooks are not the app's resources");
    assert_eq!(done["sync"]["status"], "Synced");

    // A failing PreSync hook fails the operation, nothing of Sync is
    // applied, HookFailed deletes it, and the operation ends only once the
    // SyncFail hook has.
    let (_up, cms) = app(
        &c,
        &apps,
        "hookfail",
        json!({"prune": true, "selfHeal": true}),
        &[
            (
                "app/migrate.yaml",
                Some(&job(
                    "migrate",
                    "skiff.dev/hook: PreSync, skiff.dev/hook-delete-policy: HookFailed",
                )),
            ),
            ("app/config.yaml", Some(&cm("config", ""))),
            (
                "app/cleanup.yaml",
                Some(&job("cleanup", "skiff.dev/hook: SyncFail")),
            ),
        ],
    )
    .await;
    status_where(&apps, "hookfail", "the hook runs", 30, |s| {
        s["operationState"]["phase"] == "Running"
    })
    .await;
    server
        .set_job_finished("hookfail", "migrate", false)
        .unwrap();
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::namespaced(c.client.clone(), "hookfail");
    let cleaning = status_where(&apps, "hookfail", "the SyncFail hook runs", 30, |s| {
        s["operationState"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("waiting for the SyncFail hooks"))
    })
    .await;
    assert_eq!(cleaning["operationState"]["phase"], "Running");
    assert!(jobs.get_opt("cleanup").await.unwrap().is_some());
    assert!(
        jobs.get_opt("migrate").await.unwrap().is_none(),
        "HookFailed deletes the failed Job"
    );
    // A pass or two later the operation still waits.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(
        app_status(&apps, "hookfail").await["operationState"]["phase"],
        "Running"
    );
    server
        .set_job_finished("hookfail", "cleanup", true)
        .unwrap();
    let failed = status_where(&apps, "hookfail", "the operation fails", 30, |s| {
        s["operationState"]["phase"] == "Failed"
    })
    .await;
    let message = failed["operationState"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("PreSync hook Job migrate failed") && !message.contains("waiting"),
        "{message}"
    );
    assert!(!exists(&cms, "config").await);
    let cleanup = failed["operationState"]["syncResult"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "cleanup")
        .unwrap();
    assert_eq!(
        (&cleanup["hookType"], &cleanup["hookPhase"]),
        (&json!("SyncFail"), &json!("Succeeded"))
    );
    let told = events_of(&c, "hookfail").await;
    assert!(
        told.iter()
            .any(|(r, n)| r == "HookFailed" && n.starts_with("hook Job migrate failed")),
        "{told:?}"
    );
    assert!(told.iter().any(|(r, _)| r == "OperationFailed"), "{told:?}");
}

/// The reasons and notes of the events about Application `name`, oldest first.
async fn events_of(c: &Cluster, name: &str) -> Vec<(String, String)> {
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(c.client.clone(), "apps");
    let mut list: Vec<_> = events
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .collect();
    list.sort_by_key(|e| e.event_time.clone().map(|t| t.0));
    list.into_iter()
        .map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_tell_of_syncs_prunes_and_healed_drift() {
    let c = cluster().await;
    let (apps, _cache) = controller(&c).await;
    let (up, cms) = app(
        &c,
        &apps,
        "told",
        json!({"prune": true, "selfHeal": true}),
        &[
            ("app/a.yaml", Some(&cm("a", ""))),
            ("app/b.yaml", Some(&cm("b", ""))),
        ],
    )
    .await;
    status_where(&apps, "told", "the first sync succeeds", 30, |s| {
        s["operationState"]["phase"] == "Succeeded"
    })
    .await;
    // Someone edits a: skiff puts it back and says so.
    let edit = json!({"data": {"k": "edited"}});
    cms.patch("a", &PatchParams::apply("kubectl-edit").force(), &Patch::Apply(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": edit["data"]})))
        .await
        .unwrap();
    eventually("a is healed", 30, || {
        let cms = cms.clone();
        async move {
            let a = cms.get("a").await.ok()?;
            (a.data?.get("k").map(String::as_str) == Some("v")).then_some(())
        }
    })
    .await;
    up.commit(&[("app/b.yaml", None)], "drop b");
    let told = eventually("the prune is told", 30, || {
        let c = &c;
        async move {
            let told = events_of(c, "told").await;
            told.iter().any(|(r, _)| r == "Pruned").then_some(told)
        }
    })
    .await;
    let reasons: Vec<&str> = told.iter().map(|(r, _)| r.as_str()).collect();
    assert!(
        reasons.contains(&"OperationStarted") && reasons.contains(&"OperationCompleted"),
        "{told:?}"
    );
    let healed = told
        .iter()
        .find(|(r, _)| r == "DriftHealed")
        .unwrap_or_else(|| panic!("{told:?}"));
    assert_eq!(
        healed.1, "reverted drift of ConfigMap a (changed by kubectl-edit)",
        "the manager that made the drift is named"
    );
    let pruned = told.iter().find(|(r, _)| r == "Pruned").unwrap();
    assert_eq!(pruned.1, "pruned ConfigMap b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignored_differences_are_not_drift_and_are_not_undone() {
    let c = cluster().await;
    let (apps, _cache) = controller(&c).await;
    let up = Upstream::new();
    let web = DB
        .replace("name: db", "name: web")
        .replace("argocd.argoproj.io/sync-wave: \"-1\"", "note: web");
    up.commit(&[("app/web.yaml", Some(&web))], "first");
    let mut a = application("ignore", &up.url(), "app", "ignore", true);
    a.spec.ignore_differences = vec![serde_json::from_value(
        json!({"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}),
    )
    .unwrap()];
    apps.create(&PostParams::default(), &a).await.unwrap();
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "ignore");
    eventually("web is applied", 30, || {
        let d = deployments.clone();
        async move { d.get_opt("web").await.ok().flatten() }
    })
    .await;
    // An autoscaler (another manager) scales web to 3.
    let scale = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 3}});
    deployments
        .patch(
            "web",
            &PatchParams::apply("hpa-controller").force(),
            &Patch::Apply(&scale),
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let s = app_status(&apps, "ignore").await;
    assert_eq!(s["sync"]["status"], "Synced", "{s:#}");
    let live = deployments.get("web").await.unwrap();
    assert_eq!(
        live.spec.unwrap().replicas,
        Some(3),
        "the ignored field is not undone"
    );
    // A change to a field that is not ignored is drift, and is healed.
    let image = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"template": {"spec": {"containers": [{"name": "db", "image": "postgres:18"}]}}}});
    deployments
        .patch(
            "web",
            &PatchParams::apply("someone").force(),
            &Patch::Apply(&image),
        )
        .await
        .unwrap();
    eventually("the image is healed", 30, || {
        let d = deployments.clone();
        async move {
            let live = d.get("web").await.ok()?;
            let spec = live.spec?;
            let image = spec.template.spec?.containers[0].image.clone()?;
            (image == "postgres:17" && spec.replicas == Some(3)).then_some(())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_ignore_rule_is_an_invalid_spec_and_applies_nothing() {
    let c = cluster().await;
    let (apps, _cache) = controller(&c).await;
    let up = Upstream::new();
    up.commit(&[("app/a.yaml", Some(&cm("a", "")))], "first");
    let mut a = application("badignore", &up.url(), "app", "badignore", true);
    a.spec.ignore_differences = vec![serde_json::from_value(
        json!({"kind": "ConfigMap", "jqPathExpressions": [".data | select("]}),
    )
    .unwrap()];
    apps.create(&PostParams::default(), &a).await.unwrap();
    let s = status_where(&apps, "badignore", "the rule is reported", 30, |s| {
        s["conditions"].as_array().is_some_and(|c| !c.is_empty())
    })
    .await;
    let condition = &s["conditions"][0];
    assert_eq!(condition["type"], "InvalidSpecError");
    assert!(
        condition["message"]
            .as_str()
            .unwrap()
            .starts_with("spec.ignoreDifferences[0].jqPathExpressions[0]"),
        "{condition}"
    );
    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), "badignore");
    assert!(cms.get_opt("a").await.map(|o| o.is_none()).unwrap_or(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sync_is_retried_with_backoff_up_to_the_limit() {
    let c = cluster().await;
    let Some(server) = &c.server else {
        eprintln!("skipped: needs the test API server's controls to inject API errors");
        return;
    };
    let (apps, _cache) = controller(&c).await;
    let retry =
        json!({"limit": 2, "backoff": {"duration": "1s", "factor": 2, "maxDuration": "2s"}});
    // One failed apply, then success on the first retry.
    server.fail_next(Some("PATCH"), Some("configmaps"), 1, 500);
    let up = Upstream::new();
    up.commit(&[("app/a.yaml", Some(&cm("a", "")))], "first");
    let mut a = application("retried", &up.url(), "app", "retried", true);
    a.spec.sync_policy.as_mut().unwrap().retry =
        Some(serde_json::from_value(retry.clone()).unwrap());
    apps.create(&PostParams::default(), &a).await.unwrap();
    let done = status_where(&apps, "retried", "the retry succeeds", 30, |s| {
        s["operationState"]["phase"] == "Succeeded"
    })
    .await;
    assert_eq!(done["operationState"]["retryCount"], 1, "{done:#}");
    assert!(
        done["conditions"].as_array().is_none_or(|c| c.is_empty()),
        "{done:#}"
    );

    // Failing every time: the limit ends it.
    server.fail_next(Some("PATCH"), Some("configmaps"), 100, 500);
    let up = Upstream::new();
    up.commit(&[("app/a.yaml", Some(&cm("a", "")))], "first");
    let mut a = application("exhausted", &up.url(), "app", "exhausted", true);
    a.spec.sync_policy.as_mut().unwrap().retry = Some(serde_json::from_value(retry).unwrap());
    apps.create(&PostParams::default(), &a).await.unwrap();
    let failed = status_where(&apps, "exhausted", "the retries run out", 30, |s| {
        s["operationState"]["phase"] == "Failed"
    })
    .await;
    assert_eq!(failed["operationState"]["retryCount"], 2, "{failed:#}");
    assert_eq!(failed["conditions"][0]["type"], "SyncError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_waits_for_the_apps_it_depends_on() {
    let c = cluster().await;
    let Some(server) = &c.server else {
        eprintln!("skipped: needs the test API server's controls to make the Deployment ready");
        return;
    };
    let (apps, _cache) = controller(&c).await;
    let (_db_repo, _) = app(
        &c,
        &apps,
        "db",
        json!({"prune": true, "selfHeal": true}),
        &[("app/db.yaml", Some(DB))],
    )
    .await;
    let up = Upstream::new();
    up.commit(&[("app/a.yaml", Some(&cm("a", "")))], "first");
    let mut web = application("web", &up.url(), "app", "web", true);
    web.spec.depends_on = vec!["db".into()];
    apps.create(&PostParams::default(), &web).await.unwrap();
    let held = status_where(&apps, "web", "web is held back", 30, |s| {
        condition(s, "DependencyNotReady").is_some()
    })
    .await;
    assert_eq!(
        held["conditions"][0]["message"],
        "waiting for apps/db to be Synced and Healthy"
    );
    assert_eq!(held["sync"]["status"], "OutOfSync", "it is still compared");
    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), "web");
    assert!(!exists(&cms, "a").await);
    server.set_deployment_ready("db", "db").unwrap();
    status_where(&apps, "web", "web syncs once db is healthy", 30, |s| {
        s["sync"]["status"] == "Synced" && s["conditions"].as_array().is_none_or(|c| c.is_empty())
    })
    .await;
    assert!(exists(&cms, "a").await);

    // A cycle and a missing dependency are invalid specs.
    for (name, deps) in [
        ("x", vec!["y"]),
        ("y", vec!["apps/x"]),
        ("lonely", vec!["nope"]),
    ] {
        let mut a = application(name, &up.url(), "app", name, true);
        a.spec.depends_on = deps.into_iter().map(String::from).collect();
        apps.create(&PostParams::default(), &a).await.unwrap();
    }
    for (name, want) in [
        ("x", "spec.dependsOn: a cycle: apps/x → apps/y → apps/x"),
        (
            "lonely",
            "spec.dependsOn: application apps/nope does not exist",
        ),
    ] {
        let s = status_where(&apps, name, "the spec error is reported", 30, |s| {
            s["conditions"].as_array().is_some_and(|c| !c.is_empty())
        })
        .await;
        assert_eq!(s["conditions"][0]["type"], "InvalidSpecError");
        assert_eq!(s["conditions"][0]["message"], want);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_syncs_a_history_entry_and_is_refused_while_automated() {
    let c = cluster().await;
    let (apps, _cache) = controller(&c).await;
    let up = Upstream::new();
    up.commit(&[("app/a.yaml", Some(&cm("a", "skiff.dev/v: one")))], "one");
    let a = application("back", &up.url(), "app", "back", true);
    apps.create(&PostParams::default(), &a).await.unwrap();
    status_where(&apps, "back", "the first revision is synced", 30, |s| {
        s["history"].as_array().is_some_and(|h| h.len() == 1)
    })
    .await;
    up.commit(&[("app/a.yaml", Some(&cm("a", "skiff.dev/v: two")))], "two");
    let s = status_where(&apps, "back", "the second revision is synced", 30, |s| {
        s["history"].as_array().is_some_and(|h| h.len() == 2)
    })
    .await;
    let first_id = s["history"][0]["id"].clone();
    let ask =
        |id: &Value| json!({"metadata": {"annotations": {"skiff.dev/rollback": id.to_string()}}});
    // Refused while automated sync is on.
    apps.patch(
        "back",
        &PatchParams::default(),
        &Patch::Merge(&ask(&first_id)),
    )
    .await
    .unwrap();
    let refused = eventually("the rollback is refused", 30, || {
        let c = &c;
        async move {
            let told = events_of(c, "back").await;
            told.into_iter().find(|(r, _)| r == "RollbackRefused")
        }
    })
    .await;
    assert_eq!(
        refused.1,
        format!("rollback to {first_id} refused: automated sync is on (turn it off first)")
    );
    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), "back");
    let annotation = |cm: ConfigMap| {
        cm.metadata
            .annotations
            .unwrap_or_default()
            .get("skiff.dev/v")
            .cloned()
    };
    assert_eq!(
        annotation(cms.get("a").await.unwrap()).as_deref(),
        Some("two")
    );
    // With automated sync off, it syncs the first revision.
    let manual = json!({"spec": {"syncPolicy": {"automated": null}}});
    apps.patch("back", &PatchParams::default(), &Patch::Merge(&manual))
        .await
        .unwrap();
    apps.patch(
        "back",
        &PatchParams::default(),
        &Patch::Merge(&ask(&first_id)),
    )
    .await
    .unwrap();
    eventually("the first revision is back", 30, || {
        let cms = cms.clone();
        async move { (annotation(cms.get("a").await.ok()?).as_deref() == Some("one")).then_some(()) }
    })
    .await;
    let s = status_where(
        &apps,
        "back",
        "the app is OutOfSync with its spec again",
        30,
        |s| s["sync"]["status"] == "OutOfSync",
    )
    .await;
    assert_eq!(s["history"].as_array().unwrap().len(), 3);
    assert_eq!(s["history"][2]["revision"], s["history"][0]["revision"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_metadata_replace_and_shared_resources() {
    let c = cluster().await;
    let (apps, _cache) = controller(&c).await;
    let up = Upstream::new();
    up.commit(
        &[
            ("app/plain.yaml", Some(&cm("plain", ""))),
            (
                "app/replaced.yaml",
                Some(&cm("replaced", "skiff.dev/sync-options: Replace=true")),
            ),
        ],
        "first",
    );
    let mut a = application("meta", &up.url(), "app", "meta", true);
    a.spec
        .sync_policy
        .as_mut()
        .unwrap()
        .managed_namespace_metadata = Some(
        serde_json::from_value(json!({"labels": {"team": "web"}, "annotations": {"owner": "ops"}}))
            .unwrap(),
    );
    apps.create(&PostParams::default(), &a).await.unwrap();
    status_where(&apps, "meta", "the app syncs", 30, |s| {
        s["sync"]["status"] == "Synced"
    })
    .await;
    let ns = Api::<k8s_openapi::api::core::v1::Namespace>::all(c.client.clone())
        .get("meta")
        .await
        .unwrap();
    assert_eq!(ns.metadata.labels.unwrap()["team"], "web");
    assert_eq!(ns.metadata.annotations.unwrap()["owner"], "ops");
    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), "meta");
    let operation = |cm: ConfigMap| {
        cm.metadata
            .managed_fields
            .unwrap_or_default()
            .into_iter()
            .find(|m| m.manager.as_deref() == Some("skiff"))
            .and_then(|m| m.operation)
    };
    assert_eq!(
        operation(cms.get("plain").await.unwrap()).as_deref(),
        Some("Apply")
    );
    assert_eq!(
        operation(cms.get("replaced").await.unwrap()).as_deref(),
        Some("Update"),
        "Replace=true puts the whole object"
    );

    // Another app's object: FailOnSharedResource stops the sync.
    let up = Upstream::new();
    up.commit(&[("app/plain.yaml", Some(&cm("plain", "")))], "first");
    let mut b = application("thief", &up.url(), "app", "meta", true);
    b.spec
        .sync_policy
        .as_mut()
        .unwrap()
        .sync_options
        .push("FailOnSharedResource=true".into());
    apps.create(&PostParams::default(), &b).await.unwrap();
    let s = status_where(
        &apps,
        "thief",
        "the shared object fails the sync",
        30,
        |s| s["operationState"]["phase"] == "Failed",
    )
    .await;
    let message = s["operationState"]["message"].as_str().unwrap();
    assert_eq!(message, "ConfigMap plain is shared: it is tracked as apps_meta:/ConfigMap:meta/plain (FailOnSharedResource=true)");
    let plain = cms.get("plain").await.unwrap();
    assert_eq!(
        plain.metadata.annotations.unwrap()["skiff.dev/tracking-id"],
        "apps_meta:/ConfigMap:meta/plain",
        "left as it was"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_restarted_mid_sync_resumes_the_operation_in_order() {
    let c = cluster().await;
    let Some(server) = &c.server else {
        eprintln!("skipped: needs the test API server's controls to make the Deployment ready");
        return;
    };
    namespace(&c.client, "skiff-system").await;
    namespace(&c.client, "apps").await;
    let apps: Api<Application> = Api::namespaced(c.client.clone(), "apps");
    let (_listen, _cache, first) = start_stoppable_controller(&c.client, "skiff-system", 1);
    let up = Upstream::new();
    up.commit(
        &[
            ("app/db.yaml", Some(DB)),
            ("app/after.yaml", Some(&cm("after", ""))),
        ],
        "first",
    );
    apps.create(
        &PostParams::default(),
        &application("resume", &up.url(), "app", "resume", true),
    )
    .await
    .unwrap();
    let waiting = status_where(&apps, "resume", "wave -1 is waited for", 30, |s| {
        s["operationState"]["phase"] == "Running"
    })
    .await;
    first.abort();
    let _ = first.await;
    server.set_deployment_ready("resume", "db").unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), "resume");
    assert!(!exists(&cms, "after").await, "no controller, no progress");
    let (_listen, _cache2) = start_controller(&c.client, "skiff-system", 1);
    let done = status_where(&apps, "resume", "the new controller finishes it", 30, |s| {
        s["operationState"]["phase"] == "Succeeded"
    })
    .await;
    assert!(exists(&cms, "after").await);
    assert_eq!(
        done["operationState"]["startedAt"], waiting["operationState"]["startedAt"],
        "the same operation went on"
    );
    let names: Vec<String> = results(&done).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["db", "after"]);
    assert_eq!(done["history"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_healed_without_waiting_for_the_poll() {
    let c = cluster().await;
    namespace(&c.client, "skiff-system").await;
    namespace(&c.client, "apps").await;
    // A poll far longer than the test: only the watch of the object can wake the app.
    let (_listen, _cache) = start_controller(&c.client, "skiff-system", 600);
    let apps: Api<Application> = Api::namespaced(c.client.clone(), "apps");
    let up = Upstream::new();
    up.commit(&[("app/a.yaml", Some(&cm("a", "")))], "first");
    apps.create(
        &PostParams::default(),
        &application("watched", &up.url(), "app", "watched", true),
    )
    .await
    .unwrap();
    status_where(&apps, "watched", "the app syncs", 30, |s| {
        s["sync"]["status"] == "Synced"
    })
    .await;
    // Let the passes the sync's own writes started run out.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), "watched");
    let edit = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "edited"}});
    cms.patch(
        "a",
        &PatchParams::apply("kubectl-edit").force(),
        &Patch::Apply(&edit),
    )
    .await
    .unwrap();
    let start = std::time::Instant::now();
    eventually("the edit is reverted", 20, || {
        let cms = cms.clone();
        async move {
            let a = cms.get("a").await.ok()?;
            (a.data?.get("k").map(String::as_str) == Some("v")).then_some(())
        }
    })
    .await;
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
    let first = status_where(&apps, "watched", "the first heal is recorded", 10, |s| {
        s["operationState"]["phase"] == "Succeeded" && s["operationState"]["selfHealAttempts"] == 1
    })
    .await;
    // A deleted object comes back the same way; a second heal in a row waits
    // 2 s after the first (Argo CD's self-heal backoff).
    cms.delete("a", &Default::default()).await.unwrap();
    eventually("the deleted object is back", 20, || {
        let cms = cms.clone();
        async move { cms.get_opt("a").await.ok().flatten() }
    })
    .await;
    let second = status_where(&apps, "watched", "the second heal is recorded", 10, |s| {
        s["operationState"]["phase"] == "Succeeded" && s["operationState"]["selfHealAttempts"] == 2
    })
    .await;
    let at = |s: &Value, field: &str| {
        s["operationState"][field]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
    };
    let gap = at(&second, "startedAt").duration_since(at(&first, "finishedAt"));
    assert!(gap.as_secs() >= 2, "the second heal waited {gap:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn argo_cd_annotations_sync_the_same_as_skiffs() {
    let c = cluster().await;
    let (apps, _cache) = controller(&c).await;
    let files = |prefix: &str| {
        vec![
            (
                "app/late.yaml".to_string(),
                cm("late", &format!("{prefix}/sync-wave: \"2\"")),
            ),
            (
                "app/early.yaml".to_string(),
                cm("early", &format!("{prefix}/sync-wave: \"-1\"")),
            ),
            (
                "app/hook.yaml".to_string(),
                cm(
                    "hook",
                    &format!("{prefix}/hook: PostSync, {prefix}/hook-delete-policy: HookSucceeded"),
                ),
            ),
            (
                "app/skip.yaml".to_string(),
                cm("skip", &format!("{prefix}/hook: Skip")),
            ),
            ("app/plain.yaml".to_string(), cm("plain", "")),
        ]
    };
    let mut outcomes = Vec::new();
    for (name, prefix) in [("argo", "argocd.argoproj.io"), ("own", "skiff.dev")] {
        let written = files(prefix);
        let borrowed: Vec<(&str, Option<&str>)> = written
            .iter()
            .map(|(p, t)| (p.as_str(), Some(t.as_str())))
            .collect();
        let (_up, cms) = app(
            &c,
            &apps,
            name,
            json!({"prune": true, "selfHeal": true}),
            &borrowed,
        )
        .await;
        let done = status_where(&apps, name, "the sync succeeds", 30, |s| {
            s["operationState"]["phase"] == "Succeeded"
        })
        .await;
        let results: Vec<Value> = done["operationState"]["syncResult"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| json!([r["name"], r["status"], r["hookType"], r["hookPhase"]]))
            .collect();
        let mut live = Vec::new();
        for n in ["late", "early", "hook", "skip", "plain"] {
            live.push(exists(&cms, n).await);
        }
        outcomes.push((results, live, done["resources"].as_array().unwrap().len()));
    }
    assert_eq!(outcomes[0], outcomes[1]);
    let (results, live, listed) = &outcomes[0];
    let order: Vec<&str> = results.iter().map(|r| r[0].as_str().unwrap()).collect();
    assert_eq!(order, ["early", "plain", "late", "hook"]);
    assert_eq!(
        live,
        &[true, true, false, false, true],
        "the hook is deleted, Skip is never applied"
    );
    assert_eq!(*listed, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fetch_prunes_nothing_and_keeps_the_inventory() {
    let c = cluster().await;
    let (apps, _cache) = controller(&c).await;
    let (_up, cms) = app(
        &c,
        &apps,
        "unreachable",
        json!({"prune": true, "selfHeal": true}),
        &[
            ("app/a.yaml", Some(&cm("a", ""))),
            ("app/b.yaml", Some(&cm("b", ""))),
        ],
    )
    .await;
    status_where(&apps, "unreachable", "both are synced", 30, |s| {
        s["sync"]["status"] == "Synced"
    })
    .await;
    let gone = json!({"spec": {"source": {"repoURL": "file:///nonexistent/skiff-repo"}}});
    apps.patch("unreachable", &PatchParams::default(), &Patch::Merge(&gone))
        .await
        .unwrap();
    let s = status_where(&apps, "unreachable", "the fetch fails", 30, |s| {
        condition(s, "ComparisonError").is_some()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(
        exists(&cms, "a").await && exists(&cms, "b").await,
        "nothing is pruned"
    );
    assert_eq!(s["sync"]["status"], "Unknown");
    let names: Vec<&str> = s["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"], "the inventory is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_last_ignore_extraneous_and_the_created_namespace() {
    let c = cluster().await;
    let (apps, _cache) = controller(&c).await;
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: last\n";
    let (up, cms) = app(
        &c,
        &apps,
        "last",
        json!({"prune": true, "selfHeal": true}),
        &[
            ("app/ns.yaml", Some(ns)),
            ("app/a.yaml", Some(&cm("a", "skiff.dev/sync-options: PruneLast=true"))),
            ("app/b.yaml", Some(&cm("b", ""))),
            (
                "app/c.yaml",
                Some(&cm(
                    "c",
                    "argocd.argoproj.io/compare-options: IgnoreExtraneous, argocd.argoproj.io/sync-options: Prune=false",
                )),
            ),
            ("app/keep.yaml", Some(&cm("keep", ""))),
        ],
    )
    .await;
    status_where(&apps, "last", "all are synced", 30, |s| {
        s["sync"]["status"] == "Synced" && s["resources"].as_array().is_some_and(|r| r.len() == 5)
    })
    .await;
    up.commit(
        &[
            ("app/ns.yaml", None),
            ("app/a.yaml", None),
            ("app/b.yaml", None),
            ("app/c.yaml", None),
        ],
        "four leave",
    );
    let done = status_where(&apps, "last", "a and b are pruned", 30, |s| {
        let r = results(s);
        r.contains(&("a".into(), "Pruned".into())) && r.contains(&("b".into(), "Pruned".into()))
    })
    .await;
    let r = results(&done);
    let at = |name: &str| r.iter().position(|(n, _)| n == name).unwrap();
    assert!(at("b") < at("a"), "PruneLast goes after the rest: {r:?}");
    assert!(r.contains(&("last".into(), "PruneSkipped".into())), "{r:?}");
    let namespaces = Api::<k8s_openapi::api::core::v1::Namespace>::all(c.client.clone());
    assert!(
        namespaces.get_opt("last").await.unwrap().is_some(),
        "the CreateNamespace namespace stays"
    );
    assert!(exists(&cms, "c").await && exists(&cms, "keep").await);
    // The namespace kept by CreateNamespace still counts as a difference;
    // c, kept and marked IgnoreExtraneous, does not.
    let listed: Vec<(&str, bool)> = done["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["requiresPruning"] == true))
        .collect();
    assert!(
        listed.contains(&("c", true)) && listed.contains(&("last", true)),
        "{listed:?}"
    );

    // Alone, an IgnoreExtraneous object that stays leaves the app Synced.
    let quiet = cm(
        "c",
        "argocd.argoproj.io/compare-options: IgnoreExtraneous, argocd.argoproj.io/sync-options: Prune=false",
    );
    let (up, cms) = app(
        &c,
        &apps,
        "quiet",
        json!({"prune": true, "selfHeal": true}),
        &[
            ("app/c.yaml", Some(&quiet)),
            ("app/keep.yaml", Some(&cm("keep", ""))),
        ],
    )
    .await;
    status_where(&apps, "quiet", "both are synced", 30, |s| {
        s["resources"].as_array().is_some_and(|r| r.len() == 2) && s["sync"]["status"] == "Synced"
    })
    .await;
    up.commit(&[("app/c.yaml", None)], "c leaves");
    let s = status_where(&apps, "quiet", "c requires pruning", 30, |s| {
        s["resources"].as_array().is_some_and(|r| {
            r.iter()
                .any(|r| r["name"] == "c" && r["requiresPruning"] == true)
        })
    })
    .await;
    assert_eq!(s["sync"]["status"], "Synced", "IgnoreExtraneous");
    assert!(exists(&cms, "c").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_app_deletes_its_objects_only_with_a_resources_finalizer() {
    let c = cluster().await;
    let (apps, _cache) = controller(&c).await;
    let files = [
        ("app/a.yaml", Some(cm("a", ""))),
        (
            "app/b.yaml",
            Some(cm("b", "argocd.argoproj.io/sync-options: Delete=false")),
        ),
    ];
    let files: Vec<(&str, Option<&str>)> = files.iter().map(|(p, f)| (*p, f.as_deref())).collect();
    let finalizer = json!({"metadata": {"finalizers": ["resources-finalizer.argocd.argoproj.io"]}});
    let (_up, cascade) = app(&c, &apps, "cascade", json!({}), &files).await;
    apps.patch(
        "cascade",
        &PatchParams::default(),
        &Patch::Merge(&finalizer),
    )
    .await
    .unwrap();
    let (_up2, plain) = app(&c, &apps, "plain", json!({}), &files).await;
    for name in ["cascade", "plain"] {
        status_where(&apps, name, "both are synced", 30, |s| {
            s["sync"]["status"] == "Synced"
                && s["resources"].as_array().is_some_and(|r| r.len() == 2)
        })
        .await;
    }
    // A failed delete leaves the app, with the reason, and is tried again.
    if let Some(server) = &c.server {
        server.fail_next(Some("DELETE"), Some("configmaps"), 1, 500);
    }
    apps.delete("cascade", &Default::default()).await.unwrap();
    if c.server.is_some() {
        status_where(&apps, "cascade", "the failed delete is told", 30, |s| {
            condition(s, "DeletionError").is_some_and(|c| {
                c["message"]
                    .as_str()
                    .unwrap()
                    .contains("deleting ConfigMap a")
            })
        })
        .await;
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while apps.get_opt("cascade").await.unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the app is never let go"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!exists(&cascade, "a").await, "a goes with its app");
    assert!(exists(&cascade, "b").await, "Delete=false keeps b");
    let told = events_of(&c, "cascade").await;
    assert!(
        told.iter()
            .any(|(reason, note)| reason == "ResourcesDeleting"
                && note.contains("ConfigMap a")
                && note.contains("keeping ConfigMap b (Delete=false)")),
        "{told:?}"
    );

    // Without the finalizer, the app goes and its objects stay, as in Argo CD.
    apps.delete("plain", &Default::default()).await.unwrap();
    while apps.get_opt("plain").await.unwrap().is_some() {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(exists(&plain, "a").await && exists(&plain, "b").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_with_only_generate_name_is_named_by_each_operation() {
    let c = cluster().await;
    let (apps, _cache) = controller(&c).await;
    let note = |data: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: note-\n  annotations:\n    argocd.argoproj.io/hook: PostSync\n    argocd.argoproj.io/hook-delete-policy: BeforeHookCreation\ndata:\n  k: {data}\n")
    };
    let (up, cms) = app(
        &c,
        &apps,
        "generated",
        json!({"prune": true}),
        &[
            ("app/note.yaml", Some(&note("one"))),
            ("app/config.yaml", Some(&cm("config", ""))),
        ],
    )
    .await;
    let hook_name = |s: &Value| -> Option<String> {
        let r = s["operationState"]["syncResult"]["resources"].as_array()?;
        let hook = r.iter().find(|r| r["hookType"] == "PostSync")?;
        Some(hook["name"].as_str()?.to_string())
    };
    let first = status_where(&apps, "generated", "the sync succeeds", 30, |s| {
        s["operationState"]["phase"] == "Succeeded"
    })
    .await;
    let revision = first["sync"]["revision"].as_str().unwrap();
    let name = hook_name(&first).unwrap();
    assert!(
        name.starts_with(&format!("note-{}-postsync-", &revision[..7])),
        "{name}"
    );
    let made = cms.get(&name).await.unwrap();
    assert_eq!(made.data.unwrap()["k"], "one");
    let listed: Vec<&str> = first["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["config"]);

    // The next operation makes a new one; the first stays (its name is not the new one's).
    up.commit(
        &[
            ("app/note.yaml", Some(&note("two"))),
            ("app/config.yaml", Some(&cm("config", "changed: \"yes\""))),
        ],
        "second",
    );
    let second = status_where(&apps, "generated", "the second sync succeeds", 30, |s| {
        s["operationState"]["phase"] == "Succeeded"
            && s["sync"]["revision"] != first["sync"]["revision"]
    })
    .await;
    let again = hook_name(&second).unwrap();
    assert_ne!(again, name);
    assert_eq!(cms.get(&again).await.unwrap().data.unwrap()["k"], "two");
    assert!(exists(&cms, &name).await);

    // Anything but a hook needs a fixed name: the error names the file.
    up.commit(
        &[(
            "app/config.yaml",
            Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: config-\n"),
        )],
        "no name",
    );
    let s = status_where(&apps, "generated", "the render fails", 30, |s| {
        condition(s, "ComparisonError").is_some()
    })
    .await;
    let message = condition(&s, "ComparisonError").unwrap()["message"]
        .as_str()
        .unwrap();
    assert!(
        message.contains("config.yaml")
            && message.contains("generateName is only supported on hooks"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_propagation_policy_decides_what_happens_to_dependents() {
    let c = cluster().await;
    let (apps, _cache) = controller(&c).await;
    let mut ups = Vec::new();
    for (name, option) in [
        ("orphans", Some("PrunePropagationPolicy=orphan")),
        ("cascades", None),
    ] {
        let up = Upstream::new();
        up.commit(
            &[
                ("app/parent.yaml", Some(&cm("parent", ""))),
                ("app/keep.yaml", Some(&cm("keep", ""))),
            ],
            "first",
        );
        let mut a = application(name, &up.url(), "app", name, true);
        let policy = a.spec.sync_policy.as_mut().unwrap();
        policy.automated.as_mut().unwrap().prune = true;
        policy.sync_options.extend(option.map(String::from));
        apps.create(&PostParams::default(), &a).await.unwrap();
        ups.push((name, up));
    }
    for (name, up) in &ups {
        status_where(&apps, name, "both are synced", 30, |s| {
            s["sync"]["status"] == "Synced"
                && s["resources"].as_array().is_some_and(|r| r.len() == 2)
        })
        .await;
        // A dependent made by someone else, owned by the object about to leave git.
        let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), name);
        let parent = cms.get("parent").await.unwrap();
        let child = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "child",
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "parent",
                "uid": parent.metadata.uid.unwrap()}]}});
        cms.create(
            &PostParams::default(),
            &serde_json::from_value(child).unwrap(),
        )
        .await
        .unwrap();
        up.commit(&[("app/parent.yaml", None)], "parent leaves");
    }
    for (name, _) in &ups {
        status_where(&apps, name, "parent is pruned", 30, |s| {
            results(s).contains(&("parent".into(), "Pruned".into()))
        })
        .await;
    }
    let orphans: Api<ConfigMap> = Api::namespaced(c.client.clone(), "orphans");
    let cascades: Api<ConfigMap> = Api::namespaced(c.client.clone(), "cascades");
    eventually("the cascading delete reaches the child", 30, || async {
        (!exists(&cascades, "child").await).then_some(())
    })
    .await;
    let child = eventually("the orphan loses its owner", 30, || async {
        let child = orphans.get_opt("child").await.unwrap()?;
        let owned = child
            .metadata
            .owner_references
            .as_ref()
            .is_some_and(|o| !o.is_empty());
        (!owned).then_some(child)
    })
    .await;
    assert_eq!(child.metadata.name.as_deref(), Some("child"));
    assert!(!exists(&orphans, "parent").await);
}

/// Asks the controller for a pass now and waits until it has run.
async fn refresh(apps: &Api<Application>, name: &str) {
    let ask = json!({"metadata": {"annotations": {"skiff.dev/refresh": "normal"}}});
    apps.patch(name, &PatchParams::default(), &Patch::Merge(&ask))
        .await
        .unwrap();
    eventually("the refresh is handled", 30, || async {
        let a = apps.get(name).await.unwrap();
        (!a.annotations().contains_key("skiff.dev/refresh")).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_the_server_defaults_or_others_own_are_not_drift() {
    let c = cluster().await;
    let (apps, _cache) = controller(&c).await;
    // Minimal manifests: the server fills in strategy, revisionHistoryLimit,
    // clusterIP, protocol, targetPort, sessionAffinity, ...
    let db = DB.replace("argocd.argoproj.io/sync-wave: \"-1\"", "note: db");
    let service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: db\nspec:\n  selector: {app: db}\n  ports:\n  - port: 5432\n";
    let (_up, _) = app(
        &c,
        &apps,
        "defaults",
        json!({"prune": true, "selfHeal": true}),
        &[("app/db.yaml", Some(&db)), ("app/svc.yaml", Some(service))],
    )
    .await;
    status_where(&apps, "defaults", "both are applied", 30, |s| {
        s["operationState"]["phase"] == "Succeeded"
    })
    .await;
    // Another manager adds what skiff does not set.
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "defaults");
    let label = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "db", "labels": {"team": "data"}, "annotations": {"owner": "ops"}}});
    deployments
        .patch("db", &PatchParams::apply("labeler"), &Patch::Apply(&label))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    refresh(&apps, "defaults").await;
    let s = app_status(&apps, "defaults").await;
    assert_eq!(s["sync"]["status"], "Synced", "{s:#}");
    let states: Vec<(&str, &str)> = s["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("Deployment", "Synced"), ("Service", "Synced")]);
    assert_eq!(
        s["history"].as_array().unwrap().len(),
        1,
        "no sync ran for the label: {s:#}"
    );
    let live = deployments.get("db").await.unwrap();
    assert_eq!(
        live.labels()["team"],
        "data",
        "the other manager's label stays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_automated_sync_tries_a_revision_once_and_history_is_bounded() {
    let c = cluster().await;
    let Some(server) = &c.server else {
        eprintln!("skipped: needs the test API server's controls to inject API errors");
        return;
    };
    let (apps, _cache) = controller(&c).await;
    server.fail_next(Some("PATCH"), Some("configmaps"), 1, 500);
    let up = Upstream::new();
    up.commit(&[("app/a.yaml", Some(&cm("a", "")))], "first");
    let mut a = application("once", &up.url(), "app", "once", true);
    a.spec.revision_history_limit = Some(2);
    apps.create(&PostParams::default(), &a).await.unwrap();
    let failed = status_where(&apps, "once", "the sync fails", 30, |s| {
        s["operationState"]["phase"] == "Failed"
    })
    .await;
    // Passes after it do not try the same revision again (it would succeed now).
    for _ in 0..2 {
        refresh(&apps, "once").await;
    }
    let s = app_status(&apps, "once").await;
    assert_eq!(s["operationState"]["phase"], "Failed");
    assert_eq!(
        s["operationState"]["startedAt"],
        failed["operationState"]["startedAt"]
    );
    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), "once");
    assert!(!exists(&cms, "a").await);
    // A new revision is tried.
    let mut revisions = Vec::new();
    for n in 1..=3 {
        up.commit(
            &[("app/a.yaml", Some(&cm("a", &format!("n: \"{n}\""))))],
            "next",
        );
        let s = status_where(&apps, "once", "the new revision syncs", 30, |s| {
            s["operationState"]["phase"] == "Succeeded"
                && !revisions.contains(&s["sync"]["revision"])
                && s["operationState"]["syncResult"]["revision"] == s["sync"]["revision"]
        })
        .await;
        revisions.push(s["sync"]["revision"].clone());
    }
    let s = app_status(&apps, "once").await;
    let history: Vec<(&Value, &Value)> = s["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (&h["id"], &h["revision"]))
        .collect();
    assert_eq!(
        history,
        [(&json!(1), &revisions[1]), (&json!(2), &revisions[2])],
        "revisionHistoryLimit 2 keeps the last two"
    );
}
