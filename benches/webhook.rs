//! Prints the time from a push to the change being applied: 100 pushes to a
//! real git server over HTTP (git http-backend behind lighttpd, basic auth),
//! each announced by a signed Gitea webhook, with the controller (the release
//! `skiff` binary, its own process) polling only every 600 s; then the same
//! with polling alone, every 10 s, for comparison (skiff's default poll is
//! 120 s, so without webhooks a push waits about a minute on average).
//! The test API server stands in for the cluster.
//!
//! `cargo bench --bench webhook`

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "support/mod.rs"]
mod bench_support;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, PostParams};
use serde_json::json;
use skiff::application::Application;
use std::time::{Duration, Instant};
use support::*;

const WEBHOOK_PUSHES: usize = 100;
const POLLED_PUSHES: usize = 10;
const SECRET: &str = "bench-s3cret";

// Not `n:` as the key: YAML 1.1 (and so kubectl) reads a bare `n` as false.
fn cm(value: usize) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  count: \"{value}\"\n"
    )
}

fn gitea_push(url: &str) -> (Vec<u8>, String) {
    let body = json!({"ref": "refs/heads/main", "repository": {
        "html_url": url.trim_end_matches(".git"), "clone_url": url, "default_branch": "main"}})
    .to_string()
    .into_bytes();
    let signature = skiff::web::webhook::sign(SECRET, &body);
    (body, signature)
}

struct Controller(std::process::Child);

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn controller(
    kubeconfig: &std::path::Path,
    listen: &str,
    requeue: u64,
    cache: &std::path::Path,
) -> Controller {
    Controller(bench_support::spawn_controller(
        kubeconfig,
        listen,
        Some(requeue),
        cache,
        "warn",
    ))
}

async fn applied(cms: &Api<ConfigMap>, want: usize) {
    let want = want.to_string();
    loop {
        let now = cms.get_opt("settings").await.ok().flatten();
        if now
            .and_then(|c| c.data)
            .and_then(|d| d.get("count").cloned())
            == Some(want.clone())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at].as_secs_f64()
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "{what}: p50 {:.3} s, p99 {:.3} s, max {:.3} s over {} pushes",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().unwrap().as_secs_f64(),
        times.len()
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let c = cluster().await;
    namespace(&c.client, "skiff-system").await;
    namespace(&c.client, "apps").await;
    let git = GitHttpServer::start("alice", "s3cret");
    let up = Upstream::new();
    up.commit(&[("app/cm.yaml", Some(&cm(0)))], "0");
    let url = git.publish(&up, "config");
    let secrets: Api<Secret> = Api::namespaced(c.client.clone(), "skiff-system");
    for body in [
        json!({"metadata": {"name": "config-repo", "labels": {"skiff.dev/secret-type": "repository"}},
            "stringData": {"url": url, "username": "alice", "password": "s3cret"}}),
        json!({"metadata": {"name": "skiff-webhook"}, "stringData": {"webhook.gitea.secret": SECRET}}),
    ] {
        let secret: Secret = serde_json::from_value(body).unwrap();
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .unwrap();
    }
    let apps: Api<Application> = Api::namespaced(c.client.clone(), "apps");
    apps.create(
        &PostParams::default(),
        &application("bench", &url, "app", "bench", true),
    )
    .await
    .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), "bench");
    let kubeconfig = c.kubeconfig();
    let cache = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut n = 0;

    // Webhooks, with the poll out of the way.
    let listen = free_addr();
    let running = controller(&kubeconfig, &listen, 600, cache.path());
    applied(&cms, n).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut times = Vec::new();
    for _ in 0..WEBHOOK_PUSHES {
        n += 1;
        up.commit(&[("app/cm.yaml", Some(&cm(n)))], &n.to_string());
        git.push(&up, "config");
        let start = Instant::now();
        let (body, signature) = gitea_push(&url);
        let answer = client
            .post(format!("http://{listen}/api/webhook"))
            .header("X-Gitea-Event", "push")
            .header("X-Gitea-Signature", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200);
        applied(&cms, n).await;
        times.push(start.elapsed());
    }
    report(
        "push to applied, signed Gitea webhook (goal p50 <= 1 s)",
        times,
    );
    drop(running);

    // Polling alone.
    let listen = free_addr();
    let _running = controller(&kubeconfig, &listen, 10, cache.path());
    applied(&cms, n).await;
    let mut times = Vec::new();
    for _ in 0..POLLED_PUSHES {
        n += 1;
        up.commit(&[("app/cm.yaml", Some(&cm(n)))], &n.to_string());
        git.push(&up, "config");
        let start = Instant::now();
        applied(&cms, n).await;
        times.push(start.elapsed());
    }
    report("push to applied, polling every 10 s, no webhook", times);
}
