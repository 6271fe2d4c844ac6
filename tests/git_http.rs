//! Git over smart HTTP with basic auth, served by git's own `git http-backend`
//! behind lighttpd: the right credentials from a repository Secret sync; a
//! wrong password gives a ComparisonError and applies nothing.

mod support;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use skiff::application::Application;
use support::*;

const CM: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  greeting: hello\n";

async fn repository_secret(
    client: &kube::Client,
    name: &str,
    label: &str,
    url: &str,
    password: &str,
) {
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": "skiff-system", "labels": {label: "repository"}},
        "stringData": {"url": url, "username": "alice", "password": password}}))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), "skiff-system")
        .patch(
            name,
            &PatchParams::apply("skiff-tests").force(),
            &Patch::Apply(&secret),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_from_a_secret_syncs_and_a_wrong_password_applies_nothing() {
    let git = GitHttpServer::start("alice", "s3cret");
    let up = Upstream::new();
    up.commit(&[("app/cm.yaml", Some(CM))], "first");
    let good_url = git.publish(&up, "good");
    let bad_url = git.publish(&up, "bad");

    let c = cluster().await;
    namespace(&c.client, "skiff-system").await;
    namespace(&c.client, "apps").await;
    // One Secret with skiff's label, one with Argo CD's: both are read.
    repository_secret(
        &c.client,
        "good-repo",
        "skiff.dev/secret-type",
        &good_url,
        "s3cret",
    )
    .await;
    repository_secret(
        &c.client,
        "bad-repo",
        "argocd.argoproj.io/secret-type",
        &bad_url,
        "wrong",
    )
    .await;
    let (listen, _cache) = start_controller(&c.client, "skiff-system", 1);
    let apps: Api<Application> = Api::namespaced(c.client.clone(), "apps");
    apps.create(
        &PostParams::default(),
        &application("over-http", &good_url, "app", "over-http", true),
    )
    .await
    .unwrap();
    apps.create(
        &PostParams::default(),
        &application("wrong-password", &bad_url, "app", "wrong-password", true),
    )
    .await
    .unwrap();

    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), "over-http");
    eventually("the app over HTTP is applied", 60, || {
        let cms = cms.clone();
        async move { cms.get_opt("settings").await.ok().flatten() }
    })
    .await;

    let message = eventually("the wrong password is reported", 60, || {
        let apps = apps.clone();
        async move {
            let s = app_status(&apps, "wrong-password").await;
            let c = s["conditions"].as_array()?.first()?.clone();
            (c["type"] == "ComparisonError")
                .then(|| c["message"].as_str().unwrap_or_default().to_string())
        }
    })
    .await;
    assert!(
        message.contains("authentication failed") || message.contains("credentials"),
        "{message}"
    );
    assert!(
        !message.contains("wrong"),
        "the password never reaches the status: {message}"
    );
    let none: Api<ConfigMap> = Api::namespaced(c.client.clone(), "wrong-password");
    assert!(none
        .get_opt("settings")
        .await
        .map(|o| o.is_none())
        .unwrap_or(true));
    // Counted as Argo CD counts failed fetches; the good repository has none.
    let metrics = metrics(&listen).await;
    let failed = format!(
        "argocd_git_fetch_fail_total{{repo=\"{}\",revision=\"main\"}}",
        bad_url.trim_end_matches(".git")
    );
    assert!(metrics.contains(&failed), "{failed} in:\n{metrics}");
    assert!(
        !metrics.contains(&failed.replace("/bad", "/good")),
        "{metrics}"
    );
}
