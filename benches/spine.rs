//! Prints the spine's figures: the time from a git commit to the change being
//! applied (the controller polling every 2 s; webhooks come later), and the
//! controller's resident memory with 100 Applications (goal: ≤ 40 MiB).
//! The controller runs as its own process (the release `skiff` binary) against
//! the in-process test API server, so its memory is its own.
//!
//! `cargo bench --bench spine`

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use skiff::application::Application;
use std::time::{Duration, Instant};

mod support;

const APPS: usize = 100;
const COMMITS: usize = 10;

/// Writes the example app (examples/config-repo/plain/guestbook) with `greeting`
/// as its GREETING, commits it, and returns the commit.
fn commit(repo: &git2::Repository, greeting: &str) -> String {
    let dir = repo.workdir().unwrap();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/config-repo/plain/guestbook");
    std::fs::create_dir_all(dir.join("app")).unwrap();
    for file in ["deployment.yaml", "service.yaml", "configmap.yaml"] {
        let text = std::fs::read_to_string(example.join(file))
            .unwrap()
            .replace("Hello from skiff", greeting);
        std::fs::write(dir.join("app").join(file), text).unwrap();
    }
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("bench", "bench@skiff.dev").unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, greeting, &tree, &parents)
        .unwrap()
        .to_string()
}

async fn app(apps: &Api<Application>, name: &str, url: &str) {
    let app: Application = serde_json::from_value(
        json!({"apiVersion": "skiff.dev/v1alpha1", "kind": "Application",
        "metadata": {"name": name},
        "spec": {"source": {"repoURL": url, "path": "app", "targetRevision": "main"},
                 "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
                 "syncPolicy": {"automated": {}, "syncOptions": ["CreateNamespace=true"]}}}),
    )
    .unwrap();
    apps.patch(
        name,
        &PatchParams::apply("bench").force(),
        &Patch::Apply(&app),
    )
    .await
    .unwrap();
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let server = support::cluster().await;
    let client = server.client();
    let work = tempfile::tempdir().unwrap();
    let repo = git2::Repository::init(work.path().join("config")).unwrap();
    repo.set_head("refs/heads/main").unwrap();
    commit(&repo, "v0");
    let url = format!("file://{}", work.path().join("config").display());

    let listen = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let mut controller = support::spawn_controller(
        server.kubeconfig_path(),
        &listen,
        Some(2),
        &work.path().join("cache"),
        "warn",
    );
    let pid = controller.id();

    let apps: Api<Application> = Api::namespaced(client.clone(), "apps");
    app(&apps, "app-0", &url).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "app-0");
    let greeting = |cms: Api<ConfigMap>| async move {
        cms.get_opt("guestbook-config")
            .await
            .ok()
            .flatten()
            .and_then(|c| c.data)
            .and_then(|d| d.get("GREETING").cloned())
    };
    while greeting(cms.clone()).await.as_deref() != Some("v0") {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut times = Vec::new();
    for i in 1..=COMMITS {
        let want = format!("v{i}");
        commit(&repo, &want);
        let start = Instant::now();
        while greeting(cms.clone()).await.as_deref() != Some(want.as_str()) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "commit to applied (examples/config-repo/plain/guestbook, 2 s polling, {COMMITS} commits): median {:.2} s, max {:.2} s",
        times[COMMITS / 2].as_secs_f64(),
        times[COMMITS - 1].as_secs_f64()
    );
    println!(
        "controller resident memory with 1 app: {:.1} MiB",
        support::memory_kib(pid, "VmRSS:") as f64 / 1024.0
    );

    for i in 1..APPS {
        app(&apps, &format!("app-{i}"), &url).await;
    }
    let start = Instant::now();
    loop {
        let list = apps.list(&Default::default()).await.unwrap();
        let synced = list
            .items
            .iter()
            .filter(|a| a.status.as_ref().is_some_and(|s| s.sync.status == "Synced"))
            .count();
        if synced == APPS {
            break;
        }
        if start.elapsed() > Duration::from_secs(300) {
            println!("only {synced} of {APPS} apps synced after 300 s");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "{APPS} apps synced in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    println!(
        "controller resident memory with {APPS} apps: {:.1} MiB (peak {:.1} MiB; goal <= 40 MiB)",
        support::memory_kib(pid, "VmRSS:") as f64 / 1024.0,
        support::memory_kib(pid, "VmHWM:") as f64 / 1024.0
    );
    let _ = controller.kill();
    let _ = controller.wait();
}
