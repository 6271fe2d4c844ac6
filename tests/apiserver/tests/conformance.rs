//! The test API server's conformance suite: each test states one behaviour of
//! the Kubernetes API through a real `kube::Client`.
//!
//! By default every test runs against a fresh in-process test server. With
//! `SKIFF_TEST_KUBECONFIG=/path/to/kubeconfig` the same tests run against that
//! cluster instead, so the two can be compared; tests that need the test
//! server's controls say so and skip there.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{Discovery, Scope};
use kube::Client;
use serde_json::{json, Value};
use skiff_test_apiserver::TestApiServer;
use std::time::Duration;

struct Cluster {
    client: Client,
    server: Option<TestApiServer>,
    namespace: String,
}

impl Cluster {
    /// The test server's controls, or `None` (with a note) on a real cluster.
    fn controls(&self, why: &str) -> Option<&TestApiServer> {
        if self.server.is_none() {
            eprintln!(
                "skipped on a real cluster: this check needs the test server's controls ({why})"
            );
        }
        self.server.as_ref()
    }

    fn cms(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn deployments(&self) -> Api<Deployment> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    async fn cleanup(self) {
        let _ = Api::<Namespace>::all(self.client.clone())
            .delete(&self.namespace, &DeleteParams::default())
            .await;
    }
}

/// A cluster and a fresh namespace named after the test.
async fn cluster(test: &str) -> Cluster {
    let (client, server) = match std::env::var("SKIFF_TEST_KUBECONFIG") {
        Ok(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(&path)
                .expect("SKIFF_TEST_KUBECONFIG is readable");
            let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                .await
                .expect("a usable kubeconfig");
            (Client::try_from(config).expect("client"), None)
        }
        Err(_) => {
            let server = TestApiServer::start().await;
            (server.client(), Some(server))
        }
    };
    let suffix: String = uuid::Uuid::new_v4().to_string().chars().take(6).collect();
    let namespace = format!("conf-{test}-{suffix}");
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": namespace}})).expect("namespace");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("create the test namespace");
    Cluster {
        client,
        server,
        namespace,
    }
}

fn cm(name: &str, labels: Value, data: Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}, "data": data}))
        .expect("configmap")
}

fn deployment(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}}))
    .expect("deployment")
}

fn api_error(e: kube::Error) -> (u16, String, String) {
    match e {
        kube::Error::Api(s) => (s.code, s.reason.clone(), s.message.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn discovery_lists_builtin_kinds_with_scope_verbs_and_short_names() {
    let c = cluster("discovery").await;
    let discovery = Discovery::new(c.client.clone())
        .run()
        .await
        .expect("discovery runs");
    let (deploy, caps) = discovery
        .resolve_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment"))
        .expect("apps/v1 Deployment is discovered");
    assert_eq!(deploy.plural, "deployments");
    assert_eq!(caps.scope, Scope::Namespaced);
    assert!(caps
        .subresources
        .iter()
        .any(|(r, _)| r.plural == "deployments/status" || r.plural == "status"));
    let (ns, ns_caps) = discovery
        .resolve_gvk(&GroupVersionKind::gvk("", "v1", "Namespace"))
        .expect("Namespace");
    assert_eq!(ns.plural, "namespaces");
    assert_eq!(ns_caps.scope, Scope::Cluster);
    for kind in [
        "ConfigMap",
        "Secret",
        "Service",
        "ServiceAccount",
        "Pod",
        "PersistentVolumeClaim",
        "Event",
        "LimitRange",
        "ResourceQuota",
    ] {
        assert!(
            discovery
                .resolve_gvk(&GroupVersionKind::gvk("", "v1", kind))
                .is_some(),
            "{kind}"
        );
    }
    let core: Value = c
        .client
        .request(http::Request::get("/api/v1").body(vec![]).unwrap())
        .await
        .expect("/api/v1");
    let cm = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "configmaps")
        .unwrap();
    assert_eq!(cm["shortNames"], json!(["cm"]));
    assert!(cm["verbs"].as_array().unwrap().contains(&json!("watch")));
    c.cleanup().await;
}

#[tokio::test]
async fn crud_with_selectors_and_optimistic_concurrency() {
    let c = cluster("crud").await;
    let cms = c.cms();
    let created = cms
        .create(
            &PostParams::default(),
            &cm("a", json!({"app": "x"}), json!({"k": "1"})),
        )
        .await
        .unwrap();
    cms.create(
        &PostParams::default(),
        &cm("b", json!({"app": "y"}), json!({"k": "2"})),
    )
    .await
    .unwrap();
    let got = cms.get("a").await.unwrap();
    assert_eq!(got.data.as_ref().unwrap()["k"], "1");
    let by_label = cms
        .list(&ListParams::default().labels("app=x"))
        .await
        .unwrap();
    assert_eq!(
        by_label
            .items
            .iter()
            .map(|i| i.metadata.name.clone().unwrap())
            .collect::<Vec<_>>(),
        ["a"]
    );
    let by_field = cms
        .list(&ListParams::default().fields("metadata.name=b"))
        .await
        .unwrap();
    assert_eq!(by_field.items.len(), 1);
    let (code, reason, _) = api_error(
        cms.create(&PostParams::default(), &cm("a", json!({}), json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (409, "AlreadyExists"));

    let mut updated = got.clone();
    updated.data = Some([("k".to_string(), "2".to_string())].into());
    let after = cms
        .replace("a", &PostParams::default(), &updated)
        .await
        .unwrap();
    assert_ne!(
        after.metadata.resource_version,
        created.metadata.resource_version
    );
    // The old resourceVersion is now stale.
    let (code, reason, message) = api_error(
        cms.replace("a", &PostParams::default(), &updated)
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    assert!(
        message.contains("the object has been modified"),
        "{message}"
    );

    cms.delete("a", &DeleteParams::default()).await.unwrap();
    let (code, reason, message) = api_error(cms.get("a").await.unwrap_err());
    assert_eq!((code, reason.as_str()), (404, "NotFound"));
    assert_eq!(message, "configmaps \"a\" not found");
    c.cleanup().await;
}

#[tokio::test]
async fn metadata_uid_resource_version_and_generation_on_spec_changes_only() {
    let c = cluster("metadata").await;
    let d = c.deployments();
    let created = d
        .create(&PostParams::default(), &deployment("web", 1))
        .await
        .unwrap();
    assert!(created.metadata.uid.is_some());
    assert!(created.metadata.creation_timestamp.is_some());
    assert_eq!(created.metadata.generation, Some(1));
    let labelled = d
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        labelled.metadata.generation,
        Some(1),
        "a label is not a spec change"
    );
    let rv1: u64 = labelled
        .metadata
        .resource_version
        .clone()
        .unwrap()
        .parse()
        .unwrap();
    let scaled = d
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .unwrap();
    assert_eq!(scaled.metadata.generation, Some(2));
    let rv2: u64 = scaled.metadata.resource_version.unwrap().parse().unwrap();
    assert!(rv2 > rv1);
    let other = c
        .cms()
        .create(&PostParams::default(), &cm("later", json!({}), json!({})))
        .await
        .unwrap();
    let rv3: u64 = other.metadata.resource_version.unwrap().parse().unwrap();
    assert!(rv3 > rv2, "resourceVersion is one counter across kinds");
    c.cleanup().await;
}

#[tokio::test]
async fn status_subresource_is_kept_apart_from_the_main_resource() {
    let c = cluster("status").await;
    let d = c.deployments();
    d.create(&PostParams::default(), &deployment("s", 1))
        .await
        .unwrap();
    let pp = PatchParams::default();
    let after = d
        .patch_status("s", &pp, &Patch::Merge(json!({"status": {"observedGeneration": 1, "replicas": 5}, "spec": {"replicas": 9}})))
        .await
        .unwrap();
    assert_eq!(
        after.spec.unwrap().replicas,
        Some(1),
        "spec is ignored on /status"
    );
    assert_eq!(after.metadata.generation, Some(1));
    let main = d
        .patch("s", &pp, &Patch::Merge(json!({"status": {"replicas": 7}})))
        .await
        .unwrap();
    let status = main.status.unwrap_or_default();
    assert_ne!(
        status.replicas,
        Some(7),
        "status is ignored on the main resource"
    );
    c.cleanup().await;
}

#[tokio::test]
async fn server_side_apply_owns_removes_conflicts_and_merges_lists_by_key() {
    let c = cluster("ssa").await;
    let d = c.deployments();
    let mut first = serde_json::to_value(deployment("web", 2)).unwrap();
    first["metadata"]["labels"] = json!({"app": "web", "tier": "frontend"});
    first["spec"]["template"]["spec"]["containers"][0]["env"] =
        json!([{"name": "MODE", "value": "prod"}, {"name": "DEBUG", "value": "false"}]);
    let a = PatchParams::apply("mgr-a");
    let applied = d
        .patch("web", &a, &Patch::Apply(&first))
        .await
        .expect("apply creates");
    let entry = &applied.metadata.managed_fields.as_ref().unwrap()[0];
    assert_eq!(
        (entry.manager.as_deref(), entry.operation.as_deref()),
        (Some("mgr-a"), Some("Apply"))
    );

    // Re-applying without the label and the env var removes both.
    let mut second = first.clone();
    second["metadata"]["labels"] = json!({"app": "web"});
    second["spec"]["template"]["spec"]["containers"][0]["env"] =
        json!([{"name": "MODE", "value": "prod"}]);
    let reapplied = d.patch("web", &a, &Patch::Apply(&second)).await.unwrap();
    assert!(!reapplied.metadata.labels.unwrap().contains_key("tier"));
    let env = reapplied.spec.unwrap().template.spec.unwrap().containers[0]
        .env
        .clone()
        .unwrap();
    assert_eq!(env.len(), 1);

    // Another manager changing an owned field conflicts, naming it.
    let b_config = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 3}});
    let (code, reason, message) = api_error(
        d.patch(
            "web",
            &PatchParams::apply("mgr-b"),
            &Patch::Apply(&b_config),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    assert_eq!(
        message,
        "Apply failed with 1 conflict: conflict with \"mgr-a\": .spec.replicas"
    );
    let forced = d
        .patch(
            "web",
            &PatchParams::apply("mgr-b").force(),
            &Patch::Apply(&b_config),
        )
        .await
        .unwrap();
    assert_eq!(forced.spec.as_ref().unwrap().replicas, Some(3));
    let owners: Vec<String> = forced
        .metadata
        .managed_fields
        .unwrap()
        .iter()
        .map(|m| m.manager.clone().unwrap())
        .collect();
    assert!(owners.contains(&"mgr-b".to_string()));

    // Containers merge by name across managers.
    let sidecar = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox:1.36"}]}}}});
    let merged = d
        .patch("web", &PatchParams::apply("mgr-c"), &Patch::Apply(&sidecar))
        .await
        .unwrap();
    let names: Vec<String> = merged
        .spec
        .unwrap()
        .template
        .spec
        .unwrap()
        .containers
        .iter()
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(names, ["app", "sidecar"]);
    c.cleanup().await;
}

#[tokio::test]
async fn dry_run_returns_the_would_be_object_and_stores_nothing() {
    let c = cluster("dryrun").await;
    let cms = c.cms();
    let pp = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let would = cms
        .create(&pp, &cm("ghost", json!({}), json!({"a": "b"})))
        .await
        .unwrap();
    assert_eq!(would.metadata.name.as_deref(), Some("ghost"));
    assert_eq!(api_error(cms.get("ghost").await.unwrap_err()).0, 404);

    let d = c.deployments();
    d.create(&PostParams::default(), &deployment("web", 1))
        .await
        .unwrap();
    let mut config = serde_json::to_value(deployment("web", 1)).unwrap();
    config["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.28");
    let mut apply = PatchParams::apply("mgr").force();
    apply.dry_run = true;
    let preview = d
        .patch("web", &apply, &Patch::Apply(&config))
        .await
        .unwrap();
    assert_eq!(
        preview.spec.unwrap().template.spec.unwrap().containers[0]
            .image
            .as_deref(),
        Some("nginx:1.28")
    );
    assert_eq!(
        preview.metadata.generation,
        Some(2),
        "generation is already bumped in the preview"
    );
    let stored = d.get("web").await.unwrap();
    assert_eq!(
        stored.spec.unwrap().template.spec.unwrap().containers[0]
            .image
            .as_deref(),
        Some("nginx:1.27")
    );
    assert_eq!(stored.metadata.generation, Some(1));

    let dp = DeleteParams {
        dry_run: true,
        ..Default::default()
    };
    d.delete("web", &dp).await.unwrap();
    assert!(
        d.get("web").await.is_ok(),
        "a dry-run delete keeps the object"
    );
    c.cleanup().await;
}

#[tokio::test]
async fn server_defaults_fill_deployments_and_services() {
    let c = cluster("defaults").await;
    let d = c
        .deployments()
        .create(&PostParams::default(), &deployment("web", 1))
        .await
        .unwrap();
    let spec = d.spec.unwrap();
    assert_eq!(spec.revision_history_limit, Some(10));
    assert_eq!(spec.progress_deadline_seconds, Some(600));
    assert_eq!(
        spec.strategy.unwrap().type_.as_deref(),
        Some("RollingUpdate")
    );
    let pod = spec.template.spec.unwrap();
    assert_eq!(pod.restart_policy.as_deref(), Some("Always"));
    assert_eq!(pod.dns_policy.as_deref(), Some("ClusterFirst"));
    assert_eq!(pod.scheduler_name.as_deref(), Some("default-scheduler"));
    assert_eq!(pod.termination_grace_period_seconds, Some(30));
    assert_eq!(
        pod.containers[0].image_pull_policy.as_deref(),
        Some("IfNotPresent")
    );
    assert_eq!(
        pod.containers[0].termination_message_path.as_deref(),
        Some("/dev/termination-log")
    );

    let svc: Service = serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})).unwrap();
    let svc = Api::<Service>::namespaced(c.client.clone(), &c.namespace)
        .create(&PostParams::default(), &svc)
        .await
        .unwrap();
    let spec = svc.spec.unwrap();
    assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
    assert_eq!(spec.session_affinity.as_deref(), Some("None"));
    assert!(spec.cluster_ip.is_some_and(|ip| !ip.is_empty()));
    let port = &spec.ports.unwrap()[0];
    assert_eq!(port.protocol.as_deref(), Some("TCP"));
    assert_eq!(
        port.target_port,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(80))
    );
    c.cleanup().await;
}

#[tokio::test]
async fn namespaces_must_exist_and_take_their_content_when_deleted() {
    let c = cluster("namespaces").await;
    let missing: Api<ConfigMap> = Api::namespaced(c.client.clone(), "conf-no-such-namespace");
    let (code, _, message) = api_error(
        missing
            .create(&PostParams::default(), &cm("x", json!({}), json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 404);
    assert_eq!(message, "namespaces \"conf-no-such-namespace\" not found");
    c.cms()
        .create(&PostParams::default(), &cm("inside", json!({}), json!({})))
        .await
        .unwrap();
    let namespaces = Api::<Namespace>::all(c.client.clone());
    namespaces
        .delete(&c.namespace, &DeleteParams::default())
        .await
        .unwrap();
    let cms = c.cms();
    eventually("the namespace and its content are gone", || {
        let (namespaces, cms, name) = (namespaces.clone(), cms.clone(), c.namespace.clone());
        async move {
            namespaces.get_opt(&name).await.unwrap().is_none()
                && cms
                    .get_opt("inside")
                    .await
                    .map(|o| o.is_none())
                    .unwrap_or(true)
        }
    })
    .await;
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let c = cluster("finalizers").await;
    let cms = c.cms();
    let mut held = cm("held", json!({}), json!({}));
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    cms.create(&PostParams::default(), &held).await.unwrap();
    cms.delete("held", &DeleteParams::default()).await.unwrap();
    let waiting = cms.get("held").await.unwrap();
    assert!(waiting.metadata.deletion_timestamp.is_some());
    let (code, _, message) = api_error(
        cms.patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"finalizers": ["example.com/hold", "example.com/more"]}}),
            ),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(code, 422);
    assert!(
        message.contains("no new finalizers can be added"),
        "{message}"
    );
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(cms.get_opt("held").await.unwrap().is_none());
    c.cleanup().await;
}

#[tokio::test]
async fn deleting_an_owner_deletes_its_dependents() {
    let c = cluster("gc").await;
    let cms = c.cms();
    let owner = cms
        .create(&PostParams::default(), &cm("owner", json!({}), json!({})))
        .await
        .unwrap();
    let mut dependent = cm("dependent", json!({}), json!({}));
    dependent.metadata.owner_references = Some(vec![serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid.unwrap()})).unwrap()]);
    cms.create(&PostParams::default(), &dependent)
        .await
        .unwrap();
    cms.delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    eventually("the dependent is collected", || {
        let cms = cms.clone();
        async move { cms.get_opt("dependent").await.unwrap().is_none() }
    })
    .await;
    c.cleanup().await;
}

#[tokio::test]
async fn watch_sees_added_modified_deleted_in_order() {
    let c = cluster("watch").await;
    let cms = c.cms();
    let list = cms.list(&ListParams::default()).await.unwrap();
    let rv = list.metadata.resource_version.unwrap();
    let mut stream = cms
        .watch(&WatchParams::default().timeout(10), &rv)
        .await
        .unwrap()
        .boxed();
    cms.create(
        &PostParams::default(),
        &cm("w", json!({}), json!({"v": "1"})),
    )
    .await
    .unwrap();
    cms.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "2"}})),
    )
    .await
    .unwrap();
    cms.delete("w", &DeleteParams::default()).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        match stream
            .try_next()
            .await
            .unwrap()
            .expect("the watch stays open")
        {
            WatchEvent::Added(o) => seen.push(("ADDED", o.data.unwrap()["v"].clone())),
            WatchEvent::Modified(o) => seen.push(("MODIFIED", o.data.unwrap()["v"].clone())),
            WatchEvent::Deleted(o) => seen.push(("DELETED", o.data.unwrap()["v"].clone())),
            WatchEvent::Bookmark(_) => {}
            WatchEvent::Error(e) => panic!("watch error {e:?}"),
        }
    }
    assert_eq!(
        seen,
        [
            ("ADDED", "1".to_string()),
            ("MODIFIED", "2".to_string()),
            ("DELETED", "2".to_string())
        ]
    );
    c.cleanup().await;
}

#[tokio::test]
async fn watch_from_an_expired_resource_version_gets_410() {
    let c = cluster("expired").await;
    let cms = c.cms();
    let mut stream = cms
        .watch(&WatchParams::default().timeout(5), "1")
        .await
        .unwrap()
        .boxed();
    match stream.try_next().await.unwrap() {
        Some(WatchEvent::Error(e)) => {
            assert_eq!(e.code, 410);
            assert_eq!(e.reason, "Expired");
        }
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
    c.cleanup().await;
}

#[tokio::test]
async fn compaction_expires_older_resource_versions() {
    let c = cluster("compact").await;
    let Some(server) = c.controls("forcing a compaction") else {
        return c.cleanup().await;
    };
    let cms = c.cms();
    let before = cms
        .create(&PostParams::default(), &cm("a", json!({}), json!({})))
        .await
        .unwrap();
    cms.create(&PostParams::default(), &cm("b", json!({}), json!({})))
        .await
        .unwrap();
    server.compact();
    let rv = before.metadata.resource_version.unwrap();
    let mut stream = cms
        .watch(&WatchParams::default().timeout(5), &rv)
        .await
        .unwrap()
        .boxed();
    assert!(
        matches!(stream.try_next().await.unwrap(), Some(WatchEvent::Error(e)) if e.code == 410)
    );
    c.cleanup().await;
}

#[tokio::test]
async fn bookmarks_arrive_when_asked_for() {
    let c = cluster("bookmarks").await;
    let cms = c.cms();
    let rv = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let wp = WatchParams::default().labels("watched=yes").timeout(4);
    let mut stream = cms.watch(&wp, &rv).await.unwrap().boxed();
    // A write the selector filters out still moves the bookmark forward.
    cms.create(&PostParams::default(), &cm("other", json!({}), json!({})))
        .await
        .unwrap();
    let mut bookmark = None;
    while let Some(event) = stream.try_next().await.unwrap() {
        if let WatchEvent::Bookmark(b) = event {
            bookmark = Some(b.metadata.resource_version);
            break;
        }
    }
    let bookmark: u64 = bookmark
        .expect("a BOOKMARK before the timeout")
        .parse()
        .unwrap();
    assert!(bookmark > rv.parse().unwrap());
    c.cleanup().await;
}

#[tokio::test]
async fn watch_is_complete_and_ordered_under_concurrent_writes() {
    let c = cluster("concurrent").await;
    let cms = c.cms();
    let rv = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut stream = cms
        .watch(&WatchParams::default().labels("burst=yes").timeout(30), &rv)
        .await
        .unwrap()
        .boxed();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let cms = cms.clone();
            tokio::spawn(async move {
                for i in 0..25 {
                    cms.create(
                        &PostParams::default(),
                        &cm(&format!("w{w}-{i}"), json!({"burst": "yes"}), json!({})),
                    )
                    .await
                    .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let mut last = 0u64;
    let mut added = 0;
    while added < 100 {
        match stream.try_next().await.unwrap().expect("open") {
            WatchEvent::Added(o) => {
                let rv: u64 = o.metadata.resource_version.unwrap().parse().unwrap();
                assert!(rv > last, "events arrive in resourceVersion order");
                last = rv;
                added += 1;
            }
            WatchEvent::Bookmark(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    c.cleanup().await;
}

#[tokio::test]
async fn merge_json_and_strategic_patches() {
    let c = cluster("patches").await;
    let d = c.deployments();
    d.create(&PostParams::default(), &deployment("p", 1))
        .await
        .unwrap();
    let smp = json!({"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox:1.36"}]}}}});
    let after = d
        .patch("p", &PatchParams::default(), &Patch::Strategic(smp))
        .await
        .unwrap();
    assert_eq!(
        after.spec.unwrap().template.spec.unwrap().containers.len(),
        2,
        "strategic merge merges containers by name"
    );
    let merge = json!({"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "busybox:1.36"}]}}}});
    let after = d
        .patch("p", &PatchParams::default(), &Patch::Merge(merge))
        .await
        .unwrap();
    assert_eq!(
        after.spec.unwrap().template.spec.unwrap().containers.len(),
        1,
        "merge patch replaces lists"
    );
    let req = http::Request::patch(format!(
        "/apis/apps/v1/namespaces/{}/deployments/p",
        c.namespace
    ))
    .header("Content-Type", "application/json-patch+json")
    .body(
        serde_json::to_vec(&json!([{"op": "replace", "path": "/spec/replicas", "value": 4}]))
            .unwrap(),
    )
    .unwrap();
    let patched: Value = c.client.request(req).await.unwrap();
    assert_eq!(patched["spec"]["replicas"], 4);
    let bad = http::Request::patch(format!(
        "/apis/apps/v1/namespaces/{}/deployments/p",
        c.namespace
    ))
    .header("Content-Type", "application/json-patch+json")
    .body(
        serde_json::to_vec(&json!([{"op": "test", "path": "/spec/replicas", "value": 9}])).unwrap(),
    )
    .unwrap();
    let (code, reason, _) = api_error(c.client.request::<Value>(bad).await.unwrap_err());
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    c.cleanup().await;
}

fn gadget_crd(group: &str) -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("gadgets.{group}")},
        "spec": {"group": group, "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "required": ["size"], "properties": {
                        "size": {"type": "integer", "minimum": 1},
                        "color": {"type": "string", "default": "green"}}},
                    "status": {"type": "object", "properties": {"phase": {"type": "string"}}}}}}}]}}))
    .unwrap()
}

#[tokio::test]
async fn crds_define_kinds_with_schema_defaults_status_and_cleanup() {
    let c = cluster("crd").await;
    let group = format!("{}.example.com", c.namespace);
    let crds = Api::<CustomResourceDefinition>::all(c.client.clone());
    crds.create(&PostParams::default(), &gadget_crd(&group))
        .await
        .unwrap();
    let name = format!("gadgets.{group}");
    eventually("the CRD is established", || {
        let (crds, name) = (crds.clone(), name.clone());
        async move {
            crds.get(&name)
                .await
                .ok()
                .and_then(|c| c.status)
                .and_then(|s| s.conditions)
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                })
        }
    })
    .await;
    let discovery = Discovery::new(c.client.clone()).run().await.unwrap();
    let (ar, caps) = discovery
        .resolve_gvk(&GroupVersionKind::gvk(&group, "v1", "Gadget"))
        .expect("the new kind is discovered");
    assert_eq!(caps.scope, Scope::Namespaced);
    let gadgets: Api<DynamicObject> = Api::namespaced_with(c.client.clone(), &c.namespace, &ar);
    let g: DynamicObject = serde_json::from_value(
        json!({"apiVersion": format!("{group}/v1"), "kind": "Gadget",
        "metadata": {"name": "g1"}, "spec": {"size": 3}}),
    )
    .unwrap();
    let created = gadgets.create(&PostParams::default(), &g).await.unwrap();
    assert_eq!(created.data["spec"]["color"], "green", "schema default");
    let bad: DynamicObject = serde_json::from_value(
        json!({"apiVersion": format!("{group}/v1"), "kind": "Gadget",
        "metadata": {"name": "bad"}, "spec": {"size": 0}}),
    )
    .unwrap();
    let (code, reason, message) = api_error(
        gadgets
            .create(&PostParams::default(), &bad)
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    assert!(
        message.contains("spec.size in body should be greater than or equal to 1"),
        "{message}"
    );
    let status = gadgets
        .patch_status(
            "g1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Ready"}})),
        )
        .await
        .unwrap();
    assert_eq!(status.data["status"]["phase"], "Ready");
    assert_eq!(status.data["spec"]["size"], 3);

    crds.delete(&name, &DeleteParams::default()).await.unwrap();
    eventually("the kind and its objects are gone", || {
        let gadgets = gadgets.clone();
        async move { gadgets.list(&ListParams::default()).await.is_err() }
    })
    .await;
    c.cleanup().await;
}

#[tokio::test]
async fn bad_requests_get_the_real_error_codes_and_the_server_survives() {
    let c = cluster("bad").await;
    let ns = c.namespace.clone();
    let raw = |method: &str, path: String, ct: &str, body: Vec<u8>| {
        http::Request::builder()
            .method(method)
            .uri(path)
            .header("Content-Type", ct)
            .body(body)
            .unwrap()
    };
    let cases = [
        (
            raw(
                "POST",
                format!("/api/v1/namespaces/{ns}/configmaps"),
                "application/json",
                b"{\"apiVersion\": \"v1\", ".to_vec(),
            ),
            400,
        ),
        (
            raw(
                "POST",
                format!("/api/v1/namespaces/{ns}/configmaps"),
                "application/json",
                br#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}}"#.to_vec(),
            ),
            400,
        ),
        (
            raw(
                "GET",
                format!("/api/v1/namespaces/{ns}/foobars"),
                "application/json",
                vec![],
            ),
            404,
        ),
        (
            raw(
                "GET",
                "/apis/nonexistent.example.com/v1/foobars".into(),
                "application/json",
                vec![],
            ),
            404,
        ),
        (
            raw(
                "PATCH",
                format!("/api/v1/namespaces/{ns}/configmaps/x"),
                "application/json",
                b"{}".to_vec(),
            ),
            415,
        ),
        (
            raw(
                "POST",
                format!("/api/v1/namespaces/{ns}/configmaps"),
                "application/json",
                vec![b' '; 4 * 1024 * 1024],
            ),
            413,
        ),
    ];
    for (req, want) in cases {
        let what = format!("{} {}", req.method(), req.uri());
        let err = c.client.request::<Value>(req).await.expect_err(&what);
        let code = match err {
            kube::Error::Api(s) => s.code,
            other => {
                // Plain-text 404s are not Status objects.
                let text = other.to_string();
                assert!(text.contains("404"), "{what}: {text}");
                404
            }
        };
        assert_eq!(code, want, "{what}");
    }
    // Still serving.
    c.cms()
        .create(&PostParams::default(), &cm("alive", json!({}), json!({})))
        .await
        .unwrap();
    c.cleanup().await;
}

#[tokio::test]
async fn controls_inject_faults_latency_and_log_requests() {
    let c = cluster("controls").await;
    let Some(server) = c.controls("fault injection and the request log") else {
        return c.cleanup().await;
    };
    let cms = c.cms();
    server.fail_next(Some("POST"), Some("configmaps"), 2, 500);
    for _ in 0..2 {
        let (code, reason, _) = api_error(
            cms.create(&PostParams::default(), &cm("f", json!({}), json!({})))
                .await
                .unwrap_err(),
        );
        assert_eq!((code, reason.as_str()), (500, "InternalError"));
    }
    cms.create(&PostParams::default(), &cm("f", json!({}), json!({})))
        .await
        .expect("the third try succeeds");
    server.clear_requests();
    for i in 0..3 {
        cms.patch(
            "f",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"i": i.to_string()}})),
        )
        .await
        .unwrap();
    }
    assert_eq!(server.count_requests("PATCH", "configmaps"), 3);
    server.set_latency(Duration::from_millis(200));
    let start = std::time::Instant::now();
    cms.get("f").await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(200));
    server.set_latency(Duration::ZERO);
    c.cleanup().await;
}

#[tokio::test]
async fn closing_watches_ends_every_stream() {
    let c = cluster("close").await;
    let Some(server) = c.controls("closing watches") else {
        return c.cleanup().await;
    };
    let cms = c.cms();
    let mut stream = cms
        .watch(&WatchParams::default().timeout(60), "0")
        .await
        .unwrap()
        .boxed();
    server.close_watches();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(e) = stream.next().await {
            if e.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream ended after close_watches");
    c.cleanup().await;
}

#[tokio::test]
async fn controllers_stand_ins_mark_workloads_and_load_balancers() {
    let c = cluster("standins").await;
    let Some(server) = c.controls("standing in for kube-controller-manager") else {
        return c.cleanup().await;
    };
    c.deployments()
        .create(&PostParams::default(), &deployment("web", 2))
        .await
        .unwrap();
    server.set_deployment_ready(&c.namespace, "web").unwrap();
    let status = c.deployments().get("web").await.unwrap().status.unwrap();
    assert_eq!(status.available_replicas, Some(2));
    assert!(status
        .conditions
        .unwrap()
        .iter()
        .any(|c| c.type_ == "Available" && c.status == "True"));
    server.set_deployment_failed(&c.namespace, "web").unwrap();
    let status = c.deployments().get("web").await.unwrap().status.unwrap();
    assert!(status
        .conditions
        .unwrap()
        .iter()
        .any(|c| c.reason.as_deref() == Some("ProgressDeadlineExceeded")));

    let svc: Service = serde_json::from_value(json!({"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}})).unwrap();
    let services = Api::<Service>::namespaced(c.client.clone(), &c.namespace);
    services.create(&PostParams::default(), &svc).await.unwrap();
    server
        .set_load_balancer_ingress(&c.namespace, "lb", "192.0.2.10")
        .unwrap();
    let lb = services
        .get("lb")
        .await
        .unwrap()
        .status
        .unwrap()
        .load_balancer
        .unwrap();
    assert_eq!(lb.ingress.unwrap()[0].ip.as_deref(), Some("192.0.2.10"));
    c.cleanup().await;
}

#[tokio::test]
async fn reviews_answer_from_tokens_and_rbac() {
    let c = cluster("reviews").await;
    let Some(server) = c.controls("issuing a test bearer token") else {
        return c.cleanup().await;
    };
    server.add_token("alice-token", "alice", &["devs"]);
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "cm-reader"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]});
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "cm-reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-reader"},
        "subjects": [{"kind": "Group", "name": "devs"}]});
    for (plural, body) in [("roles", role), ("rolebindings", binding)] {
        let req = http::Request::post(format!(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/{}/{plural}",
            c.namespace
        ))
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(&body).unwrap())
        .unwrap();
        c.client.request::<Value>(req).await.unwrap();
    }
    let review = |token: &str| {
        let body = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}});
        http::Request::post("/apis/authentication.k8s.io/v1/tokenreviews")
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(&body).unwrap())
            .unwrap()
    };
    let ok: Value = c.client.request(review("alice-token")).await.unwrap();
    assert_eq!(ok["status"]["authenticated"], true);
    assert_eq!(ok["status"]["user"]["username"], "alice");
    let bad: Value = c.client.request(review("nope")).await.unwrap();
    assert_eq!(bad["status"]["error"], "invalid bearer token");
    let sar = |verb: &str| {
        let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": "alice", "groups": ["devs"], "resourceAttributes": {"namespace": c.namespace, "verb": verb, "resource": "configmaps"}}});
        http::Request::post("/apis/authorization.k8s.io/v1/subjectaccessreviews")
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(&body).unwrap())
            .unwrap()
    };
    let allowed: Value = c.client.request(sar("get")).await.unwrap();
    assert_eq!(allowed["status"]["allowed"], true);
    assert_eq!(
        allowed["status"]["reason"],
        format!(
            "RBAC: allowed by RoleBinding \"cm-reader/{}\" of Role \"cm-reader\" to Group \"devs\"",
            c.namespace
        )
    );
    let denied: Value = c.client.request(sar("delete")).await.unwrap();
    assert_eq!(denied["status"], json!({"allowed": false}));

    // The token itself is held to the same RBAC.
    let mut config = server.config();
    config.auth_info.token = Some("alice-token".to_string().into());
    let alice = Client::try_from(config).unwrap();
    let as_alice: Api<ConfigMap> = Api::namespaced(alice.clone(), &c.namespace);
    as_alice
        .list(&ListParams::default())
        .await
        .expect("alice may list configmaps");
    let (code, _, message) = api_error(
        Api::<k8s_openapi::api::core::v1::Secret>::namespaced(alice, &c.namespace)
            .list(&ListParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 403);
    assert_eq!(message, format!("secrets is forbidden: User \"alice\" cannot list resource \"secrets\" in API group \"\" in the namespace \"{}\"", c.namespace));
    c.cleanup().await;
}

#[tokio::test]
async fn runtime_watcher_and_dynamic_api_work_end_to_end() {
    let c = cluster("runtime").await;
    let ar = ApiResource::erase::<ConfigMap>(&());
    let dynamic: Api<DynamicObject> = Api::namespaced_with(c.client.clone(), &c.namespace, &ar);
    let stream = kube::runtime::watcher(c.cms(), kube::runtime::watcher::Config::default());
    let mut stream = Box::pin(stream);
    let obj: DynamicObject = serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dyn"}, "data": {"a": "b"}})).unwrap();
    dynamic
        .patch(
            "dyn",
            &PatchParams::apply("runtime-test"),
            &Patch::Apply(&obj),
        )
        .await
        .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = stream.try_next().await.unwrap() {
            if let kube::runtime::watcher::Event::Apply(cm)
            | kube::runtime::watcher::Event::InitApply(cm) = event
            {
                if cm.metadata.name.as_deref() == Some("dyn") {
                    return true;
                }
            }
        }
        false
    })
    .await;
    assert_eq!(seen, Ok(true));
    c.cleanup().await;
}

/// One manifest of every kind the issue lists, namespaced ones in `ns`.
fn every_kind(ns: &str, tag: &str) -> Vec<Value> {
    let pod_spec = json!({"containers": [{"name": "c", "image": "busybox:1.36"}]});
    let template = json!({"metadata": {"labels": {"app": tag}}, "spec": pod_spec});
    let selector = json!({"matchLabels": {"app": tag}});
    vec![
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": tag, "namespace": ns}, "data": {"a": "b"}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": tag, "namespace": ns}, "stringData": {"a": "b"}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": tag, "namespace": ns}, "spec": {"ports": [{"port": 80}]}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": tag, "namespace": ns}}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": tag, "namespace": ns}, "spec": pod_spec}),
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": tag, "namespace": ns}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
        json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": tag}, "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/tmp/x"}}}),
        json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": tag, "namespace": ns}, "spec": {"hard": {"pods": "10"}}}),
        json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": tag, "namespace": ns}, "spec": {"limits": [{"type": "Container", "default": {"cpu": "100m"}}]}}),
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": tag, "namespace": ns}, "involvedObject": {"kind": "Pod", "name": tag, "namespace": ns}, "reason": "Test", "message": "hello", "type": "Normal"}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": tag, "namespace": ns}, "spec": {"selector": selector, "template": template}}),
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": tag, "namespace": ns}, "spec": {"serviceName": tag, "selector": selector, "template": template}}),
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": tag, "namespace": ns}, "spec": {"selector": selector, "template": template}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": tag, "namespace": ns}, "spec": {"selector": selector, "template": template}}),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": tag, "namespace": ns}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1.36"}]}}}}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": tag, "namespace": ns}, "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox:1.36"}]}}}}}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": tag, "namespace": ns}, "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": tag, "port": {"number": 80}}}}]}}]}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": tag}, "spec": {"controller": "example.com/ingress"}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": tag, "namespace": ns}, "spec": {"podSelector": {}}}),
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": tag}, "provisioner": "example.com/disk"}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": tag, "namespace": ns}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": tag, "namespace": ns}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": tag}, "subjects": [{"kind": "ServiceAccount", "name": tag, "namespace": ns}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": tag}, "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": tag}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": tag}, "subjects": [{"kind": "ServiceAccount", "name": tag, "namespace": ns}]}),
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": tag, "namespace": ns}, "spec": {"minAvailable": 1, "selector": selector}}),
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": tag, "namespace": ns}, "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": tag}, "maxReplicas": 3}}),
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": tag, "namespace": ns}, "spec": {"holderIdentity": "me"}}),
        json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": format!("v1.{tag}.example.com")}, "spec": {"group": format!("{tag}.example.com"), "version": "v1", "groupPriorityMinimum": 100, "versionPriority": 10, "service": {"name": tag, "namespace": ns}}}),
    ]
}

#[tokio::test]
async fn every_listed_kind_is_applied_read_listed_and_deleted() {
    let c = cluster("kinds").await;
    let discovery = Discovery::new(c.client.clone()).run().await.unwrap();
    let tag = c.namespace.clone();
    for manifest in every_kind(&c.namespace, &tag) {
        let api_version = manifest["apiVersion"].as_str().unwrap();
        let kind = manifest["kind"].as_str().unwrap();
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let (ar, caps) = discovery
            .resolve_gvk(&GroupVersionKind::gvk(group, version, kind))
            .unwrap_or_else(|| panic!("{kind} is served"));
        let api: Api<DynamicObject> = match caps.scope {
            Scope::Namespaced => Api::namespaced_with(c.client.clone(), &c.namespace, &ar),
            Scope::Cluster => Api::all_with(c.client.clone(), &ar),
        };
        let name = manifest["metadata"]["name"].as_str().unwrap().to_string();
        // A label, so that even a kind applied with nothing but its name has a
        // field to own (the real server records no entry for an empty apply).
        let mut manifest = manifest.clone();
        manifest["metadata"]["labels"] = json!({"owner": "kinds"});
        let obj: DynamicObject = serde_json::from_value(manifest).unwrap();
        api.patch(
            &name,
            &PatchParams::apply("kinds").force(),
            &Patch::Apply(&obj),
        )
        .await
        .unwrap_or_else(|e| panic!("apply {kind}: {e}"));
        let got = api
            .get(&name)
            .await
            .unwrap_or_else(|e| panic!("get {kind}: {e}"));
        assert_eq!(
            got.metadata.managed_fields.unwrap()[0].manager.as_deref(),
            Some("kinds"),
            "{kind}"
        );
        let listed = api.list(&ListParams::default()).await.unwrap();
        assert!(
            listed
                .items
                .iter()
                .any(|i| i.metadata.name.as_deref() == Some(&name)),
            "{kind} is listed"
        );
        api.delete(&name, &DeleteParams::default())
            .await
            .unwrap_or_else(|e| panic!("delete {kind}: {e}"));
    }
    c.cleanup().await;
}

#[tokio::test]
async fn dry_run_update_stores_nothing() {
    let c = cluster("dryrunput").await;
    let cms = c.cms();
    let created = cms
        .create(
            &PostParams::default(),
            &cm("x", json!({}), json!({"a": "1"})),
        )
        .await
        .unwrap();
    let mut changed = created.clone();
    changed.data = Some([("a".to_string(), "2".to_string())].into());
    let pp = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let preview = cms.replace("x", &pp, &changed).await.unwrap();
    assert_eq!(preview.data.unwrap()["a"], "2");
    assert_eq!(cms.get("x").await.unwrap().data.unwrap()["a"], "1");
    c.cleanup().await;
}

#[tokio::test]
async fn watches_end_at_timeout_seconds() {
    let c = cluster("timeout").await;
    let cms = c.cms();
    let start = std::time::Instant::now();
    let mut stream = cms
        .watch(&WatchParams::default().timeout(2), "0")
        .await
        .unwrap()
        .boxed();
    while stream.try_next().await.unwrap().is_some() {}
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(10),
        "{took:?}"
    );
    c.cleanup().await;
}

#[tokio::test]
async fn stand_ins_for_jobs_pods_statefulsets_and_daemonsets() {
    let c = cluster("standins2").await;
    let Some(server) = c.controls("standing in for kube-controller-manager and the kubelet") else {
        return c.cleanup().await;
    };
    let ns = c.namespace.clone();
    let tag = "w".to_string();
    let discovery = Discovery::new(c.client.clone()).run().await.unwrap();
    for manifest in every_kind(&ns, &tag) {
        if !matches!(
            manifest["kind"].as_str(),
            Some("Job" | "Pod" | "StatefulSet" | "DaemonSet")
        ) {
            continue;
        }
        let (group, version) = manifest["apiVersion"]
            .as_str()
            .unwrap()
            .split_once('/')
            .unwrap_or(("", "v1"));
        let (ar, _) = discovery
            .resolve_gvk(&GroupVersionKind::gvk(
                group,
                version,
                manifest["kind"].as_str().unwrap(),
            ))
            .unwrap();
        let api: Api<DynamicObject> = Api::namespaced_with(c.client.clone(), &ns, &ar);
        api.create(
            &PostParams::default(),
            &serde_json::from_value(manifest).unwrap(),
        )
        .await
        .unwrap();
    }
    server.set_job_finished(&ns, &tag, false).unwrap();
    let job = server.object("batch/v1", "jobs", Some(&ns), &tag).unwrap();
    assert_eq!(job["status"]["conditions"][1]["type"], "Failed");
    server
        .set_pod_state(&ns, &tag, "Running", false, 5)
        .unwrap();
    let pod = server.object("v1", "pods", Some(&ns), &tag).unwrap();
    assert_eq!(
        pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
        "CrashLoopBackOff"
    );
    server.set_statefulset_ready(&ns, &tag).unwrap();
    assert_eq!(
        server
            .object("apps/v1", "statefulsets", Some(&ns), &tag)
            .unwrap()["status"]["readyReplicas"],
        1
    );
    server.set_daemonset_ready(&ns, &tag, 3).unwrap();
    assert_eq!(
        server
            .object("apps/v1", "daemonsets", Some(&ns), &tag)
            .unwrap()["status"]["numberReady"],
        3
    );
    c.cleanup().await;
}
