//! Prints the sync engine's figures: how long a no-op resync of 1,000 apps of
//! 10 objects each takes (goal ≤ 10 s on 2 cores), and the controller's
//! resident memory with 100 and with 1,000 apps (goal ≤ 40 MiB at 100).
//! The controller runs as its own process (the release `skiff` binary)
//! against the in-process test API server, which shares the machine's cores.
//!
//! `cargo bench --bench engine`

use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use skiff::application::Application;
use std::time::{Duration, Instant};

mod support;

const APPS: usize = 1000;
const OBJECTS: usize = 10;

fn rss_mib(pid: u32) -> f64 {
    support::memory_kib(pid, "VmRSS:") as f64 / 1024.0
}

/// The controller's count of finished reconciles, from its /metrics.
async fn reconciles(listen: &str) -> u64 {
    let text = reqwest::get(format!("http://{listen}/metrics"))
        .await
        .ok()
        .map(|r| r.text());
    let Some(text) = text else { return 0 };
    let text = text.await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("argocd_app_reconcile_count"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

async fn synced(apps: &Api<Application>) -> usize {
    apps.list(&Default::default())
        .await
        .map(|l| {
            l.items
                .iter()
                .filter(|a| a.status.as_ref().is_some_and(|s| s.sync.status == "Synced"))
                .count()
        })
        .unwrap_or(0)
}

async fn add_apps(apps: &Api<Application>, range: std::ops::Range<usize>, url: &str) {
    for i in range {
        let name = format!("app-{i}");
        let app: Application = serde_json::from_value(json!({
            "apiVersion": "skiff.dev/v1alpha1", "kind": "Application", "metadata": {"name": name},
            "spec": {"source": {"repoURL": url, "path": "app", "targetRevision": "main"},
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
                     "syncPolicy": {"automated": {"prune": true}, "syncOptions": ["CreateNamespace=true"]}}}))
        .unwrap();
        apps.patch(
            &name,
            &PatchParams::apply("bench").force(),
            &Patch::Apply(&app),
        )
        .await
        .unwrap();
    }
}

async fn wait_synced(apps: &Api<Application>, want: usize) -> Duration {
    let start = Instant::now();
    while synced(apps).await < want {
        if start.elapsed() > Duration::from_secs(900) {
            println!("not all {want} apps synced after 900 s");
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    start.elapsed()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let server = support::cluster().await;
    let client = server.client();

    // One repository: an app path of ten ConfigMaps.
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("config");
    let repo = git2::Repository::init(&dir).unwrap();
    repo.set_head("refs/heads/main").unwrap();
    std::fs::create_dir_all(dir.join("app")).unwrap();
    for i in 0..OBJECTS {
        let cm = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings-{i}\ndata:\n  MODE: production\n  LEVEL: \"{i}\"\n");
        std::fs::write(dir.join(format!("app/cm-{i}.yaml")), cm).unwrap();
    }
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("bench", "bench@skiff.dev").unwrap();
    repo.commit(Some("HEAD"), &sig, &sig, "ten objects", &tree, &[])
        .unwrap();
    let url = format!("file://{}", dir.display());

    let cache = work.path().join("cache");
    let start_controller = |listen: &str| {
        support::spawn_controller(server.kubeconfig_path(), listen, None, &cache, "error")
    };
    let free_port = || {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let mut controller = start_controller(&free_port());
    let pid = controller.id();
    let apps: Api<Application> = Api::namespaced(client.clone(), "apps");

    add_apps(&apps, 0..100, &url).await;
    let took = wait_synced(&apps, 100).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!(
        "100 apps x {OBJECTS} objects synced in {:.1} s; controller resident memory {:.1} MiB (goal <= 40 MiB)",
        took.as_secs_f64(),
        rss_mib(pid)
    );

    add_apps(&apps, 100..APPS, &url).await;
    let took = wait_synced(&apps, APPS).await;
    println!(
        "{APPS} apps x {OBJECTS} objects synced in {:.1} s",
        took.as_secs_f64()
    );
    println!(
        "controller resident memory with {APPS} apps: {:.1} MiB",
        rss_mib(pid)
    );
    // A no-op resync of every app: a restarted controller passes over each
    // app once, and everything is already in sync.
    let _ = controller.kill();
    let _ = controller.wait();
    let listen = free_port();
    let start = Instant::now();
    let mut controller = start_controller(&listen);
    while reconciles(&listen).await < APPS as u64 {
        if start.elapsed() > Duration::from_secs(300) {
            println!("fewer than {APPS} passes in 300 s");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = start.elapsed();
    println!(
        "no-op resync of {APPS} apps x {OBJECTS} objects (a restarted controller's first pass over each): {:.1} s (goal <= 10 s); {} of {APPS} still Synced; controller resident memory {:.1} MiB",
        took.as_secs_f64(),
        synced(&apps).await,
        rss_mib(controller.id())
    );
    let _ = controller.kill();
    let _ = controller.wait();
}
