//! `skiff app …`: the real binary against a cluster (the test API server, or
//! `SKIFF_TEST_KUBECONFIG`'s) with a controller running; output and exit codes.

mod support;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::Value;
use skiff::application::Application;
use support::*;

struct Cli {
    kubeconfig: std::path::PathBuf,
    cache: tempfile::TempDir,
}

impl Cli {
    fn new(c: &Cluster) -> Cli {
        Cli {
            kubeconfig: c.kubeconfig(),
            cache: tempfile::tempdir().unwrap(),
        }
    }

    /// Runs `skiff app ARGS -n apps`; returns (exit code, stdout, stderr).
    async fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_skiff"));
        command
            .arg("app")
            .args(args)
            .args(["-n", "apps"])
            .env("KUBECONFIG", &self.kubeconfig)
            .env("SKIFF_CACHE_DIR", self.cache.path())
            .env_remove("NO_COLOR");
        let out = command.output().await.expect("skiff runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }
}

fn cm(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: {value}\n")
}

const SECRET: &str =
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ndata:\n  password: aHVudGVyMg==\n";

async fn settled(apps: &Api<Application>, name: &str) -> Value {
    eventually(&format!("{name} is compared"), 30, || async {
        let s = app_status(apps, name).await;
        (s["sync"]["status"].is_string() && s["sync"]["status"] != "Unknown").then_some(s)
    })
    .await
}

/// A cluster with a controller (polling every 2 s) and the apps namespace.
async fn with_controller() -> (Cluster, Api<Application>, tempfile::TempDir) {
    let c = cluster().await;
    namespace(&c.client, "skiff-system").await;
    namespace(&c.client, "apps").await;
    let (_listen, cache) = start_controller(&c.client, "skiff-system", 2);
    let apps: Api<Application> = Api::namespaced(c.client.clone(), "apps");
    (c, apps, cache)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_get_history_and_wait_print_tables_and_exit_codes() {
    let (c, apps, _cache) = with_controller().await;
    let up = Upstream::new();
    up.commit(&[("app/a.yaml", Some(&cm("a", "v")))], "first");
    apps.create(
        &PostParams::default(),
        &application("guestbook", &up.url(), "app", "guestbook", true),
    )
    .await
    .unwrap();
    apps.create(
        &PostParams::default(),
        &application("manual", &up.url(), "app", "manual", false),
    )
    .await
    .unwrap();
    let cli = Cli::new(&c);
    let (code, out, err) = cli.run(&["wait", "guestbook", "--timeout", "30"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Sync Status:   Synced to "), "{out}");
    settled(&apps, "manual").await;

    let (code, out, err) = cli.run(&["list"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains('\x1b'), "no colour off a terminal: {out:?}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with("NAME        NAMESPACE   SYNC        HEALTH"),
        "{out}"
    );
    let column = lines[0].find("SYNC").unwrap();
    assert_eq!(&lines[1][..9], "guestbook");
    assert_eq!(&lines[1][column..column + 6], "Synced");
    assert_eq!(&lines[2][column..column + 9], "OutOfSync");
    let (_, wide, _) = cli.run(&["list", "-o", "wide"]).await;
    let header = wide.lines().next().unwrap();
    assert!(
        header.contains(" AUTOSYNC ") && header.ends_with(" CONDITIONS"),
        "{wide}"
    );
    assert!(
        wide.contains("on,self-heal") && wide.contains(" off "),
        "{wide}"
    );
    let (_, json_out, _) = cli.run(&["list", "-o", "json"]).await;
    let listed: Value = serde_json::from_str(&json_out).unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    assert_eq!(listed["items"][0]["metadata"]["name"], "guestbook");

    let (code, out, _) = cli.run(&["get", "guestbook"]).await;
    assert_eq!(code, 0);
    assert!(out.contains("Name:          apps/guestbook\n"), "{out}");
    assert!(out.contains("Sync Policy:   on,self-heal\n"), "{out}");
    let resource = out.lines().find(|l| l.contains("ConfigMap")).unwrap();
    assert!(
        resource.contains("guestbook") && resource.contains("Synced"),
        "{out}"
    );
    let (_, yaml, _) = cli.run(&["get", "guestbook", "-o", "yaml"]).await;
    assert!(
        yaml.starts_with("apiVersion: skiff.dev/v1alpha1\n"),
        "{yaml}"
    );

    let (code, out, _) = cli.run(&["history", "guestbook"]).await;
    assert_eq!(code, 0);
    assert!(out.starts_with("ID   DATE"), "{out}");
    assert!(out.lines().nth(1).unwrap().starts_with("0    "), "{out}");
    let (_, out, _) = cli.run(&["history", "manual"]).await;
    assert_eq!(out, "manual has no sync history yet.\n");

    // Waiting for what does not come ends with exit code 1 and the state.
    let (code, _, err) = cli
        .run(&["wait", "manual", "--sync", "--timeout", "2"])
        .await;
    assert_eq!(code, 1);
    assert!(
        err.contains("timed out after 2s waiting for manual: sync OutOfSync"),
        "{err}"
    );
    // Errors say what to do.
    let (code, _, err) = cli.run(&["get", "nope"]).await;
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: no Application nope in namespace apps (try `skiff app list -A`, or -n NAMESPACE)\n"
    );
    let (code, _, err) = cli
        .run(&["sync", "guestbook", "--revision", "HEAD~1"])
        .await;
    assert_eq!(code, 1);
    assert!(err.contains("automated sync on"), "{err}");
    let (code, _, err) = cli.run(&["rollback", "manual", "3"]).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("manual has no history entry 3 (it has: none)"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_sync_refresh_and_rollback() {
    let (c, apps, _cache) = with_controller().await;
    let up = Upstream::new();
    let first = up.commit(
        &[
            ("app/a.yaml", Some(&cm("a", "v"))),
            ("app/b.yaml", Some(&cm("b", "v"))),
            ("app/s.yaml", Some(SECRET)),
        ],
        "first",
    );
    apps.create(
        &PostParams::default(),
        &application("manual", &up.url(), "app", "manual", false),
    )
    .await
    .unwrap();
    settled(&apps, "manual").await;
    let cli = Cli::new(&c);

    // Nothing is live yet: everything is to be created; the Secret's value never shows.
    let (code, out, err) = cli.run(&["diff", "manual"]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("===== ConfigMap manual/a (Missing) =====\n"),
        "{out}"
    );
    assert!(out.contains("+kind: ConfigMap"), "{out}");
    assert!(
        out.contains("===== Secret manual/creds (Missing) =====") && !out.contains("aHVudGVyMg=="),
        "{out}"
    );
    let (code, out, _) = cli.run(&["sync", "manual", "--dry-run"]).await;
    assert_eq!(code, 0);
    assert!(
        out.starts_with(&format!(
            "dry run at {}: 3 to change, 0 unchanged\n",
            &first[..7]
        )),
        "{out}"
    );
    assert!(out.contains("create"), "{out}");
    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), "manual");
    assert!(
        cms.get_opt("a").await.unwrap().is_none(),
        "a dry run applies nothing"
    );

    let (code, out, err) = cli
        .run(&["sync", "manual", "--wait", "--timeout", "60"])
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.ends_with("Succeeded: successfully synced (all tasks run)\n"),
        "{out}"
    );
    let (code, out, _) = cli.run(&["diff", "manual"]).await;
    assert_eq!((code, out.as_str()), (0, ""));

    // A change in git and one that left it.
    up.commit(
        &[("app/a.yaml", Some(&cm("a", "v2"))), ("app/b.yaml", None)],
        "second",
    );
    let (code, out, _) = cli.run(&["refresh", "manual"]).await;
    assert_eq!(code, 0);
    assert!(out.contains("OutOfSync"), "{out}");
    let (code, out, _) = cli.run(&["diff", "manual"]).await;
    assert_eq!(code, 1);
    assert!(
        out.contains("===== ConfigMap manual/a (OutOfSync) =====\n"),
        "{out}"
    );
    assert!(out.contains("-  k: v\n+  k: v2\n"), "{out}");
    let pruned = out
        .split("===== ConfigMap manual/b (requiresPruning) =====\n")
        .nth(1)
        .unwrap();
    assert!(
        pruned.contains("-kind: ConfigMap\n") && !pruned.contains("\n+k"),
        "{out}"
    );
    let (code, out, _) = cli.run(&["sync", "manual", "--dry-run"]).await;
    assert_eq!(code, 0);
    assert!(out.contains("keep (no --prune)"), "{out}");
    let (code, out, err) = cli.run(&["sync", "manual", "--prune", "--wait"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("ConfigMap") && l.contains(" b ") && l.contains("Pruned")),
        "{out}"
    );
    assert!(cms.get_opt("b").await.unwrap().is_none());

    // Back to the first entry, then to a revision by name.
    let (code, out, err) = cli.run(&["rollback", "manual", "0", "--wait"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let a = cms.get("a").await.unwrap();
    assert_eq!(a.data.unwrap()["k"], "v");
    let (code, out, err) = cli
        .run(&["sync", "manual", "--revision", "main", "--wait"])
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(cms.get("a").await.unwrap().data.unwrap()["k"], "v2");
    let (_, out, _) = cli.run(&["history", "manual"]).await;
    assert_eq!(out.lines().count(), 5, "a header and four syncs: {out}");
    // b came back with the rollback and left git again: without --prune a
    // sync has nothing to do, and says why; with it, b goes.
    let (code, out, _) = cli.run(&["sync", "manual", "--wait"]).await;
    assert_eq!(code, 0);
    assert!(out.starts_with("nothing to sync: manual is OutOfSync only by objects this sync leaves alone (deleting what left git needs --prune"), "{out}");
    let (code, _, _) = cli.run(&["sync", "manual", "--prune", "--wait"]).await;
    assert_eq!(code, 0);
    let (code, out, _) = cli.run(&["sync", "manual", "--wait"]).await;
    assert_eq!(
        (code, out.as_str()),
        (0, "nothing to sync: manual is already as git wants it\n")
    );

    // A failing sync exits 1 with the reason: a PreSync hook the test fails.
    if let Some(server) = &c.server {
        let hook = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    skiff.dev/hook: PreSync\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: m\n        image: busybox:1.37\n";
        up.commit(
            &[
                ("app/a.yaml", Some(&cm("a", "v3"))),
                ("app/migrate.yaml", Some(hook)),
            ],
            "third",
        );
        let (code, out, _) = cli.run(&["refresh", "manual"]).await;
        assert_eq!(code, 0, "{out}");
        let syncing = tokio::spawn(async move {
            let result = cli.run(&["sync", "manual", "--wait"]).await;
            (cli, result)
        });
        let jobs: Api<k8s_openapi::api::batch::v1::Job> =
            Api::namespaced(c.client.clone(), "manual");
        eventually("the hook runs", 30, || async {
            jobs.get_opt("migrate").await.ok().flatten()
        })
        .await;
        server.set_job_finished("manual", "migrate", false).unwrap();
        let (_cli, (code, out, _)) = syncing.await.unwrap();
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("Failed: PreSync hook Job migrate failed"),
            "{out}"
        );
    }
}
