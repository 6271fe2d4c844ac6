//! Every bad input of the spine gets a condition a user can act on, and
//! nothing is applied; a bad commit after a good one keeps the last sync
//! result.

mod support;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams};
use serde_json::{json, Value};
use skiff::application::Application;
use support::*;

const CM: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  greeting: hello\n";

async fn condition(apps: &Api<Application>, name: &str) -> (String, String) {
    eventually(&format!("{name} reports a condition"), 30, || {
        let apps = apps.clone();
        let name = name.to_string();
        async move {
            let s = app_status(&apps, &name).await;
            let c = s["conditions"].as_array()?.first()?.clone();
            Some((
                c["type"].as_str()?.to_string(),
                c["message"].as_str()?.to_string(),
            ))
        }
    })
    .await
}

async fn nothing_applied(client: &kube::Client, namespace: &str) {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let applied: Vec<String> = cms
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|c| {
            c.metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key("skiff.dev/tracking-id"))
        })
        .filter_map(|c| c.metadata.name)
        .collect();
    assert!(applied.is_empty(), "{namespace}: applied {applied:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_sets_a_condition_and_applies_nothing() {
    let c = cluster().await;
    namespace(&c.client, "skiff-system").await;
    namespace(&c.client, "apps").await;
    let up = Upstream::new();
    let sha = up.commit(
        &[
            ("good/cm.yaml", Some(CM)),
            ("badyaml/cm.yaml", Some(CM)),
            (
                "badyaml/broken.yaml",
                Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n"),
            ),
            ("unknown/cm.yaml", Some(CM)),
            (
                "unknown/widget.yaml",
                Some("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"),
            ),
            (
                "remote/kustomization.yaml",
                Some("resources:\n- https://github.com/example/config//base?ref=v1\n"),
            ),
            (
                "escape/kustomization.yaml",
                Some("resources:\n- ../../../etc\n"),
            ),
            (
                "noname/cm.yaml",
                Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {a: b}\n"),
            ),
        ],
        "cases",
    );
    let short = &sha[..7];
    let (_listen, _cache) = start_controller(&c.client, "skiff-system", 1);
    let apps: Api<Application> = Api::namespaced(c.client.clone(), "apps");
    let cases: Vec<(&str, String, &str, String, &str)> = vec![
        ("unreachable", "file:///nonexistent/skiff-repo".into(), "good", "ComparisonError".into(), "Failed to load target state: repository /nonexistent/skiff-repo: cannot list its refs"),
        ("badyaml", up.url(), "badyaml", "ComparisonError".into(), "badyaml/broken.yaml: line 5: while parsing a flow sequence"),
        ("unknown", up.url(), "unknown", "ComparisonError".into(), "unknown/widget.yaml: Widget \"w\": the cluster does not know kind example.com/v1 Widget"),
        ("missing", up.url(), "missing", "ComparisonError".into(), "missing: no such file or directory"),
        ("remote", up.url(), "remote", "ComparisonError".into(), "remote/kustomization.yaml: resources: \"https://github.com/example/config//base?ref=v1\": remote resources are not supported"),
        ("escape", up.url(), "escape", "ComparisonError".into(), "escape/kustomization.yaml: resources: escape/../../../etc: the path leaves the repository"),
        ("noname", up.url(), "noname", "ComparisonError".into(), "noname/cm.yaml: document 1: metadata.name is missing"),
    ];
    for (name, url, path, _, _) in &cases {
        apps.create(
            &PostParams::default(),
            &application(name, url, path, &format!("dest-{name}"), true),
        )
        .await
        .unwrap();
    }
    let mut other: Value = serde_json::to_value(application(
        "elsewhere",
        &up.url(),
        "good",
        "dest-elsewhere",
        true,
    ))
    .unwrap();
    other["spec"]["destination"]["server"] = json!("https://other-cluster.example.com:6443");
    apps.create(
        &PostParams::default(),
        &serde_json::from_value(other).unwrap(),
    )
    .await
    .unwrap();

    for (name, _, _, kind, text) in &cases {
        let (got_kind, message) = condition(&apps, name).await;
        assert_eq!(&got_kind, kind, "{name}: {message}");
        assert!(
            message.contains(text),
            "{name}: {message:?} should contain {text:?}"
        );
        if *name != "unreachable" {
            assert!(
                message.contains(short) || *name == "unknown",
                "{name}: the message names the revision: {message}"
            );
        }
        assert_eq!(
            app_status(&apps, name).await["sync"]["status"],
            "Unknown",
            "{name}"
        );
        nothing_applied(&c.client, &format!("dest-{name}")).await;
    }
    let (kind, message) = condition(&apps, "elsewhere").await;
    assert_eq!(kind, "InvalidSpecError");
    assert!(message.contains("only the local cluster"), "{message}");
    nothing_applied(&c.client, "dest-elsewhere").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_commit_after_a_good_one_keeps_the_last_sync_result() {
    let c = cluster().await;
    namespace(&c.client, "skiff-system").await;
    namespace(&c.client, "apps").await;
    let up = Upstream::new();
    let good = up.commit(&[("app/cm.yaml", Some(CM))], "good");
    let (_listen, _cache) = start_controller(&c.client, "skiff-system", 1);
    let apps: Api<Application> = Api::namespaced(c.client.clone(), "apps");
    apps.create(
        &PostParams::default(),
        &application("keep", &up.url(), "app", "keep", true),
    )
    .await
    .unwrap();
    let synced = eventually("synced at the good commit", 30, || {
        let apps = apps.clone();
        let good = good.clone();
        async move {
            let s = app_status(&apps, "keep").await;
            (s["sync"]["status"] == "Synced" && s["sync"]["revision"] == good.as_str()).then_some(s)
        }
    })
    .await;
    up.commit(
        &[
            ("app/cm.yaml", Some(&CM.replace("hello", "changed"))),
            ("app/bad.yaml", Some("kind: [\n")),
        ],
        "bad",
    );
    let (kind, message) = condition(&apps, "keep").await;
    assert_eq!(kind, "ComparisonError");
    assert!(message.contains("app/bad.yaml: line"), "{message}");
    let s = app_status(&apps, "keep").await;
    assert_eq!(
        s["operationState"], synced["operationState"],
        "the last sync result stays"
    );
    assert_eq!(s["history"], synced["history"]);
    assert_eq!(s["sync"]["revision"], good.as_str());
    let cm = Api::<ConfigMap>::namespaced(c.client.clone(), "keep")
        .get("settings")
        .await
        .unwrap();
    assert_eq!(
        cm.data.unwrap()["greeting"],
        "hello",
        "no part of the bad commit was applied"
    );
}
