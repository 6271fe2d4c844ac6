//! The spine end to end: an Application on a git repository of plain manifests
//! is applied by the controller, follows new commits, and reports status,
//! printer columns and metrics; bad input applies nothing and says why.

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use skiff::application::Application;
use support::*;

const CM: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  greeting: hello\n";
const DEPLOY: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_is_applied_and_follows_new_commits() {
    let c = cluster().await;
    namespace(&c.client, "skiff-system").await;
    namespace(&c.client, "apps").await;
    let up = Upstream::new();
    let first = up.commit(
        &[
            ("guestbook/cm.yaml", Some(CM)),
            ("guestbook/deploy.yaml", Some(DEPLOY)),
        ],
        "first",
    );
    let (listen, _cache) = start_controller(&c.client, "skiff-system", 1);
    let apps: Api<Application> = Api::namespaced(c.client.clone(), "apps");
    apps.create(
        &PostParams::default(),
        &application("guestbook", &up.url(), "guestbook", "guestbook", true),
    )
    .await
    .unwrap();

    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), "guestbook");
    let cm = eventually("the ConfigMap is applied", 30, || {
        let cms = cms.clone();
        async move { cms.get_opt("settings").await.ok().flatten() }
    })
    .await;
    let annotations = cm.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        annotations["skiff.dev/tracking-id"],
        "apps_guestbook:/ConfigMap:guestbook/settings"
    );
    let managers: Vec<String> = cm
        .metadata
        .managed_fields
        .unwrap()
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(managers.contains(&"skiff".to_string()), "{managers:?}");
    let deploy = Api::<Deployment>::namespaced(c.client.clone(), "guestbook")
        .get("web")
        .await
        .unwrap();
    assert_eq!(
        deploy.metadata.annotations.unwrap()["skiff.dev/tracking-id"],
        "apps_guestbook:apps/Deployment:guestbook/web"
    );

    let status = eventually("the app reports Synced at the first commit", 30, || {
        let apps = apps.clone();
        let first = first.clone();
        async move {
            let s = app_status(&apps, "guestbook").await;
            (s["sync"]["status"] == "Synced" && s["sync"]["revision"] == first.as_str())
                .then_some(s)
        }
    })
    .await;
    assert_eq!(status["operationState"]["phase"], "Succeeded");
    assert_eq!(status["history"][0]["revision"], first.as_str());
    assert_eq!(status["resources"].as_array().unwrap().len(), 2);

    // A new commit is applied at the new revision.
    let second = up.commit(
        &[("guestbook/cm.yaml", Some(&CM.replace("hello", "bonjour")))],
        "second",
    );
    eventually("the new commit is applied", 30, || {
        let cms = cms.clone();
        async move {
            cms.get("settings")
                .await
                .ok()
                .filter(|cm| cm.data.as_ref().unwrap()["greeting"] == "bonjour")
        }
    })
    .await;
    let status = eventually("the status names the new revision", 30, || {
        let apps = apps.clone();
        let second = second.clone();
        async move {
            let s = app_status(&apps, "guestbook").await;
            (s["sync"]["revision"] == second.as_str() && s["sync"]["status"] == "Synced")
                .then_some(s)
        }
    })
    .await;
    assert_eq!(status["history"].as_array().unwrap().len(), 2);

    // Printer columns, as kubectl get shows them.
    let req = http::Request::get("/apis/skiff.dev/v1alpha1/namespaces/apps/applications")
        .header("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
        .body(vec![])
        .unwrap();
    let table: Value = c.client.request(req).await.unwrap();
    let columns: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["Name", "Sync", "Health", "Revision", "Age"]);
    assert_eq!(table["rows"][0]["cells"][1], "Synced");
    assert_eq!(table["rows"][0]["cells"][3], second.as_str());

    // Metrics say so too.
    let text = metrics(&listen).await;
    let line = text
        .lines()
        .find(|l| l.starts_with("argocd_app_info{") && l.contains("name=\"guestbook\""))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("sync_status=\"Synced\"")
            && line.contains("autosync_enabled=\"true\"")
            && line.contains("dest_namespace=\"guestbook\""),
        "{line}"
    );
    assert!(text.contains("argocd_app_sync_total{namespace=\"apps\",name=\"guestbook\",project=\"default\",dest_server=\"https://kubernetes.default.svc\",phase=\"Succeeded\",dry_run=\"false\"}"), "{text}");
    assert!(text.contains("argocd_git_request_total{repo="), "{text}");
    let ready = reqwest::get(format!("http://{listen}/readyz"))
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);

    // Deleting the app removes its series.
    apps.delete("guestbook", &Default::default()).await.unwrap();
    eventually("the deleted app's series are gone", 30, || {
        let listen = listen.clone();
        async move {
            let text = reqwest::get(format!("http://{listen}/metrics"))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            (!text.contains("name=\"guestbook\"")).then_some(())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_automated_sync_the_app_is_out_of_sync_until_asked() {
    let c = cluster().await;
    namespace(&c.client, "skiff-system").await;
    namespace(&c.client, "apps").await;
    let up = Upstream::new();
    up.commit(&[("app/cm.yaml", Some(CM))], "first");
    let (_listen, _cache) = start_controller(&c.client, "skiff-system", 1);
    let apps: Api<Application> = Api::namespaced(c.client.clone(), "apps");
    apps.create(
        &PostParams::default(),
        &application("manual", &up.url(), "app", "manual", false),
    )
    .await
    .unwrap();
    eventually("the app is OutOfSync", 30, || {
        let apps = apps.clone();
        async move { (app_status(&apps, "manual").await["sync"]["status"] == "OutOfSync").then_some(()) }
    })
    .await;
    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), "manual");
    assert!(
        cms.get_opt("settings")
            .await
            .map(|o| o.is_none())
            .unwrap_or(true),
        "nothing applied without a sync"
    );
    let patch = json!({"metadata": {"annotations": {"skiff.dev/sync": "now"}}});
    apps.patch("manual", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    eventually(
        "the manual sync applies and the annotation is removed",
        30,
        || {
            let (apps, cms) = (apps.clone(), cms.clone());
            async move {
                let applied = cms.get_opt("settings").await.ok().flatten().is_some();
                let app = apps.get("manual").await.ok()?;
                let cleared = !app
                    .metadata
                    .annotations
                    .unwrap_or_default()
                    .contains_key("skiff.dev/sync");
                (applied && cleared && app.status?.sync.status == "Synced").then_some(())
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crd_and_its_objects_sync_together_and_status_is_written_only_on_change() {
    let c = cluster().await;
    namespace(&c.client, "skiff-system").await;
    namespace(&c.client, "apps").await;
    let crd = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.demo.skiff.dev
spec:
  group: demo.skiff.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
";
    let widget =
        "apiVersion: demo.skiff.dev/v1\nkind: Widget\nmetadata:\n  name: gizmo\nspec:\n  size: 3\n";
    let up = Upstream::new();
    // The Widget sorts before its CRD by file name: skiff applies the CRD first anyway.
    up.commit(
        &[
            ("app/a-widget.yaml", Some(widget)),
            ("app/z-crd.yaml", Some(crd)),
        ],
        "crd and widget",
    );
    let (_listen, _cache) = start_controller(&c.client, "skiff-system", 1);
    let apps: Api<Application> = Api::namespaced(c.client.clone(), "apps");
    apps.create(
        &PostParams::default(),
        &application("widgets", &up.url(), "app", "widgets", true),
    )
    .await
    .unwrap();
    eventually("the CRD and the Widget are applied and Synced", 30, || {
        let apps = apps.clone();
        async move { (app_status(&apps, "widgets").await["sync"]["status"] == "Synced").then_some(()) }
    })
    .await;
    let req = http::Request::get("/apis/demo.skiff.dev/v1/namespaces/widgets/widgets/gizmo")
        .body(vec![])
        .unwrap();
    let gizmo: Value = c.client.request(req).await.unwrap();
    assert_eq!(gizmo["spec"]["size"], 3);

    if let Some(server) = &c.server {
        // With nothing changing, reconciles (every ~1 s) write no status.
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        server.clear_requests();
        tokio::time::sleep(std::time::Duration::from_secs(4)).await;
        let status_writes = server
            .requests()
            .iter()
            .filter(|r| r.method == "PATCH" && r.path.ends_with("/applications/widgets/status"))
            .count();
        let reads = server
            .requests()
            .iter()
            .filter(|r| r.path.contains("/widgets/gizmo"))
            .count();
        assert!(
            reads >= 2,
            "the app was reconciled meanwhile ({reads} reads of its objects)"
        );
        assert_eq!(status_writes, 0, "an unchanged status is not written again");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kustomize_overlay_is_rendered_in_process_and_applied() {
    let c = cluster().await;
    namespace(&c.client, "skiff-system").await;
    namespace(&c.client, "apps").await;
    let up = Upstream::new();
    up.commit(
        &[
            ("base/kustomization.yaml", Some("resources: [deploy.yaml]\nconfigMapGenerator:\n- name: settings\n  literals: [MODE=base]\n")),
            ("base/deploy.yaml", Some(DEPLOY)),
            ("overlays/prod/kustomization.yaml", Some("resources: [../../base]\nnamePrefix: prod-\nreplicas:\n- {name: web, count: 3}\nconfigMapGenerator:\n- name: settings\n  behavior: merge\n  literals: [MODE=prod]\n")),
        ],
        "overlay",
    );
    let (_listen, _cache) = start_controller(&c.client, "skiff-system", 1);
    let apps: Api<Application> = Api::namespaced(c.client.clone(), "apps");
    apps.create(
        &PostParams::default(),
        &application("overlay", &up.url(), "overlays/prod", "overlay", true),
    )
    .await
    .unwrap();
    let status = eventually("the overlay is Synced", 30, || {
        let apps = apps.clone();
        async move {
            let s = app_status(&apps, "overlay").await;
            (s["sync"]["status"] == "Synced").then_some(s)
        }
    })
    .await;
    assert_eq!(status["sourceType"], "Kustomize");
    let deploy = Api::<Deployment>::namespaced(c.client.clone(), "overlay")
        .get("prod-web")
        .await
        .unwrap();
    assert_eq!(deploy.spec.unwrap().replicas, Some(3));
    let cms = Api::<ConfigMap>::namespaced(c.client.clone(), "overlay")
        .list(&Default::default())
        .await
        .unwrap();
    let settings = cms
        .items
        .iter()
        .find(|c| {
            c.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with("prod-settings-"))
        })
        .expect("the generated ConfigMap with its hash suffix");
    assert_eq!(settings.data.as_ref().unwrap()["MODE"], "prod");
}
