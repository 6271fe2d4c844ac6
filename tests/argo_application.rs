//! Argo CD's documented full Application (written here in our own words,
//! with every field of its current spec) loads with only its apiVersion
//! changed. What skiff does, it does with Argo CD's meaning (info, automated
//! sync turned off by `enabled: false`, every kustomize option); what it does
//! not do yet is an InvalidSpecError naming the field, and nothing is applied.
//! Runnable against a real cluster (`SKIFF_TEST_KUBECONFIG`).

mod support;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use skiff::application::Application;
use support::*;

/// Argo CD's full example, field for field, as an Argo CD user would bring it.
fn full_example(repo_url: &str, dest: &str) -> Value {
    json!({
        "apiVersion": "skiff.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "everything", "finalizers": ["resources-finalizer.argocd.argoproj.io"]},
        "spec": {
            "project": "default",
            "info": [{"name": "Runbook", "value": "https://runbooks.example.com/shop"}],
            "source": {
                "repoURL": repo_url,
                "targetRevision": "main",
                "path": "shop",
                "chart": "shop",
                "ref": "values",
                "name": "primary",
                "helm": {
                    "parameters": [{"name": "ingress.enabled", "value": "true", "forceString": true}],
                    "fileParameters": [{"name": "config", "path": "files/config.json"}],
                    "releaseName": "shop",
                    "valueFiles": ["values-prod.yaml"],
                    "ignoreMissingValueFiles": true,
                    "values": "replicas: 2\n",
                    "valuesObject": {"ingress": {"enabled": true}},
                    "skipCrds": true,
                    "skipSchemaValidation": true,
                    "skipTests": true,
                    "version": "v3",
                    "passCredentials": false,
                    "namespace": "shop",
                    "kubeVersion": "1.30.0",
                    "apiVersions": ["monitoring.coreos.com/v1"]
                },
                "kustomize": {
                    "version": "v5.5.0",
                    "namePrefix": "prod-",
                    "nameSuffix": "-v1",
                    "commonLabels": {"team": "shop"},
                    "commonAnnotations": {"deployed-by": "${ARGOCD_APP_NAME}"},
                    "commonAnnotationsEnvsubst": true,
                    "forceCommonLabels": false,
                    "forceCommonAnnotations": false,
                    "labelWithoutSelector": true,
                    "labelIncludeTemplates": true,
                    "namespace": "shop",
                    "images": ["nginx:1.27"],
                    "replicas": [{"name": "web", "count": "3"}],
                    "patches": [{"target": {"kind": "ConfigMap"}, "patch": "- op: add\n  path: /data/patched\n  value: \"yes\"\n"}],
                    "components": ["../components/missing"],
                    "ignoreMissingComponents": true,
                    "kubeVersion": "1.30.0",
                    "apiVersions": ["monitoring.coreos.com/v1"]
                },
                "directory": {
                    "recurse": true,
                    "include": "*.yaml",
                    "exclude": "{test.yaml}",
                    "jsonnet": {
                        "extVars": [{"name": "foo", "value": "bar"}, {"code": true, "name": "baz", "value": "true"}],
                        "tlas": [{"code": false, "name": "foo", "value": "bar"}],
                        "libs": ["vendor"]
                    }
                },
                "plugin": {
                    "name": "my-plugin",
                    "env": [{"name": "FOO", "value": "bar"}],
                    "parameters": [{"name": "a", "string": "b"}, {"name": "m", "map": {"k": "v"}}, {"name": "l", "array": ["x"]}]
                }
            },
            "sources": [{"repoURL": repo_url, "targetRevision": "main", "ref": "values"}],
            "sourceHydrator": {
                "drySource": {"repoURL": repo_url, "targetRevision": "main", "path": "shop"},
                "syncSource": {"targetBranch": "environments/prod", "path": "shop"}
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": dest},
            "syncPolicy": {
                "automated": {"prune": true, "selfHeal": true, "allowEmpty": false, "enabled": false},
                "syncOptions": ["Validate=false", "CreateNamespace=true", "PrunePropagationPolicy=foreground", "PruneLast=true"],
                "managedNamespaceMetadata": {"labels": {"team": "shop"}, "annotations": {"owner": "shop"}},
                "retry": {"limit": 5, "refresh": true, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}}
            },
            "ignoreDifferences": [
                {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]},
                {"group": "*", "kind": "*", "managedFieldsManagers": ["kube-controller-manager"]}
            ],
            "revisionHistoryLimit": 10
        }
    })
}

/// The example with what skiff does not do yet taken out: what it runs.
fn runnable(repo_url: &str, dest: &str) -> Value {
    let mut app = full_example(repo_url, dest);
    app["metadata"] = json!({"name": "runnable"});
    let spec = app["spec"].as_object_mut().unwrap();
    spec.remove("sources");
    spec.remove("sourceHydrator");
    let source = spec["source"].as_object_mut().unwrap();
    for field in ["chart", "helm", "plugin", "ref"] {
        source.remove(field);
    }
    source.remove("directory");
    app
}

#[test]
fn every_unsupported_field_is_named() {
    let mut app: Application = serde_json::from_value(full_example("file:///r", "d")).unwrap();
    let mut seen = Vec::new();
    while let Some(message) = app.spec.unsupported() {
        let field = message.split(':').next().unwrap().to_string();
        match field.as_str() {
            "spec.sources" => app.spec.sources.clear(),
            "spec.sourceHydrator" => app.spec.source_hydrator = None,
            "spec.source.chart" => app.spec.source.chart.clear(),
            "spec.source.helm" => app.spec.source.helm = None,
            "spec.source.plugin" => app.spec.source.plugin = None,
            "spec.source.directory.jsonnet" => app.spec.source.directory = None,
            other => panic!("unexpected field {other}: {message}"),
        }
        seen.push(field);
    }
    assert_eq!(
        seen,
        [
            "spec.sources",
            "spec.sourceHydrator",
            "spec.source.chart",
            "spec.source.helm",
            "spec.source.plugin",
            "spec.source.directory.jsonnet"
        ]
    );
    let runnable: Application = serde_json::from_value(runnable("file:///r", "d")).unwrap();
    assert_eq!(runnable.spec.unsupported(), None);
    let policy = runnable.spec.sync_policy.unwrap();
    assert!(policy.automated.is_some() && policy.automated().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn argo_cds_full_application_loads_and_runs_what_skiff_supports() {
    let c = cluster().await;
    namespace(&c.client, "skiff-system").await;
    namespace(&c.client, "argo").await;
    let up = Upstream::new();
    up.commit(
        &[
            (
                "shop/kustomization.yaml",
                Some("resources: [settings.yaml, web.yaml]\ncommonLabels:\n  tier: web\n"),
            ),
            ("shop/settings.yaml", Some(&config_map("settings", "hello"))),
            (
                "shop/web.yaml",
                Some("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n"),
            ),
        ],
        "shop",
    );
    let (_listen, _cache) = start_controller(&c.client, "skiff-system", 1);
    namespace(&c.client, "shop").await;
    let apps: Api<Application> = Api::namespaced(c.client.clone(), "argo");
    // The CRD keeps every field (the server prunes what its schema lacks).
    let resource = ApiResource::erase::<Application>(&());
    let raw: Api<DynamicObject> = Api::namespaced_with(c.client.clone(), "argo", &resource);
    for value in [
        full_example(&up.url(), "dest-everything"),
        runnable(&up.url(), "dest-runnable"),
    ] {
        let object: DynamicObject = serde_json::from_value(value.clone()).unwrap();
        let created = raw.create(&PostParams::default(), &object).await.unwrap();
        for (field, want) in value["spec"].as_object().unwrap() {
            assert_eq!(
                &created.data["spec"][field], want,
                "the CRD keeps spec.{field}"
            );
        }
        // skiff reads what the server keeps.
        let read: Application =
            serde_json::from_value(serde_json::to_value(&created).unwrap()).unwrap();
        assert_eq!(read.spec.info[0].value, "https://runbooks.example.com/shop");
    }

    // What skiff does not do yet: a condition naming the field, nothing applied.
    let (kind, message) = eventually("the full example reports a condition", 30, || {
        let apps = apps.clone();
        async move {
            let s = app_status(&apps, "everything").await;
            let cond = s["conditions"].as_array()?.first()?.clone();
            Some((
                cond["type"].as_str()?.to_string(),
                cond["message"].as_str()?.to_string(),
            ))
        }
    })
    .await;
    assert_eq!(kind, "InvalidSpecError");
    assert!(message.starts_with("spec.sources: "), "{message}");
    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), "dest-everything");
    assert!(cms
        .list(&Default::default())
        .await
        .map(|l| l.items.is_empty())
        .unwrap_or(true));

    // What it does: compared (OutOfSync), not synced while automated.enabled is false.
    let status = eventually("the runnable app is compared", 30, || {
        let apps = apps.clone();
        async move {
            let s = app_status(&apps, "runnable").await;
            (s["sync"]["status"] == "OutOfSync").then_some(s)
        }
    })
    .await;
    assert!(
        status["conditions"].as_array().is_none_or(|c| c.is_empty()),
        "{status}"
    );
    assert!(
        status["operationState"].is_null(),
        "automated sync is off: {status}"
    );
    // A manual sync applies the kustomize options as Argo CD applies them.
    let patch = json!({"metadata": {"annotations": {"skiff.dev/sync": "now"}}});
    apps.patch("runnable", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), "shop");
    let cm = eventually("the manual sync applies the ConfigMap", 30, || {
        let cms = cms.clone();
        async move { cms.get_opt("prod-settings-v1").await.ok().flatten() }
    })
    .await;
    let labels = cm.metadata.labels.unwrap_or_default();
    assert_eq!(labels.get("team").map(String::as_str), Some("shop"));
    assert_eq!(labels.get("tier").map(String::as_str), Some("web"));
    let annotations = cm.metadata.annotations.unwrap_or_default();
    assert_eq!(
        annotations.get("deployed-by").map(String::as_str),
        Some("runnable"),
        "commonAnnotationsEnvsubst expands ARGOCD_APP_NAME"
    );
    assert_eq!(
        cm.data
            .unwrap_or_default()
            .get("patched")
            .map(String::as_str),
        Some("yes")
    );
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(c.client.clone(), "shop");
    let web = deployments.get("prod-web-v1").await.unwrap();
    let spec = web.spec.unwrap();
    assert_eq!(spec.replicas, Some(3), "replicas count given as a string");
    assert_eq!(
        spec.template.spec.unwrap().containers[0].image.as_deref(),
        Some("nginx:1.27")
    );
    assert!(
        !spec
            .selector
            .match_labels
            .unwrap_or_default()
            .contains_key("team"),
        "labelWithoutSelector keeps selectors as they are"
    );
}
