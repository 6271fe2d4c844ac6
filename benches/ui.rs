//! Prints how fast the Applications page is with 1,000 apps (goal: rendered
//! server-side in ≤ 100 ms): the render alone, in process, and a whole
//! `GET /` over loopback from skiff's router (reading open, so no cluster is
//! asked), each the median of many after a warm-up, with the page's size.
//!
//! `cargo bench --bench ui`

use serde_json::json;
use skiff::application::Application;
use skiff::web::pages::{render_list, Chrome, PageQuery};
use std::sync::Arc;
use std::time::{Duration, Instant};

const APPS: usize = 1000;
const RUNS: usize = 51;

/// 1,000 apps across 10 namespaces and every status, as a busy cluster has.
fn apps() -> Vec<Arc<Application>> {
    let syncs = ["Synced", "Synced", "Synced", "OutOfSync", "Unknown"];
    let healths = ["Healthy", "Healthy", "Progressing", "Degraded", "Missing"];
    (0..APPS)
        .map(|i| {
            let app = json!({"apiVersion": "skiff.dev/v1alpha1", "kind": "Application",
                "metadata": {"name": format!("app-{i:04}"), "namespace": format!("team-{}", i % 10)},
                "spec": {"project": format!("project-{}", i % 3),
                    "source": {"repoURL": format!("https://git.example.com/platform/config-{}.git", i % 20),
                        "path": format!("apps/app-{i}"), "targetRevision": "main"},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": format!("app-{i}")}},
                "status": {"sync": {"status": syncs[i % 5], "revision": format!("{:040x}", i * 7919)},
                    "health": {"status": healths[i % 5]},
                    "operationState": {"phase": "Succeeded", "startedAt": "2026-12-01T10:00:00Z",
                        "finishedAt": "2026-12-01T10:00:02Z"}}});
            Arc::new(serde_json::from_value(app).unwrap())
        })
        .collect()
}

fn subject(_repo: &str, commit: &str) -> String {
    format!("Deploy {} to production", &commit[..7])
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let apps = apps();
    let q = PageQuery::default();
    let mut bytes = 0;
    let mut times = Vec::new();
    for run in 0..RUNS + 5 {
        let started = Instant::now();
        let page = render_list(&apps, &q, Chrome::of(None, "/"), &subject);
        if run >= 5 {
            times.push(started.elapsed());
        }
        bytes = page.len();
    }
    let fastest = *times.iter().min().unwrap();
    println!(
        "render of the Applications page, {APPS} apps: median {:.1} ms, fastest {:.1} ms ({} KiB of HTML)",
        ms(median(times)),
        ms(fastest),
        bytes / 1024
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        // The router with its real state; reading is open, so serving the
        // list asks the cluster nothing (this client points nowhere).
        let client =
            kube::Client::try_from(kube::Config::new("http://127.0.0.1:9".parse().unwrap()))
                .unwrap();
        let auth = skiff::web::auth::Auth::new(
            client.clone(),
            Arc::new(|_: &str| None),
            skiff::web::auth::Settings {
                anonymous_read: true,
                session_duration: Duration::from_secs(3600),
            },
        );
        let listed = apps.clone();
        let state = skiff::web::UiState::new(
            client.clone(),
            Arc::new(move || listed.clone()),
            std::env::temp_dir().join("skiff-ui-bench"),
            "skiff-system".into(),
            Arc::new(auth),
            Arc::new(skiff::controller::events::Events::new(client)),
            Arc::new(|repo: &str, commit: &str| Some(subject(repo, commit))),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, skiff::web::ui_router(state))
                .await
                .unwrap()
        });
        let http = reqwest::Client::new();
        let mut times = Vec::new();
        let mut size = 0;
        for run in 0..RUNS + 5 {
            let started = Instant::now();
            let body = http
                .get(format!("http://{addr}/"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if run >= 5 {
                times.push(started.elapsed());
            }
            size = body.len();
        }
        assert!(size > 100_000, "the page lists every app");
        println!(
            "GET / over loopback, {APPS} apps: median {:.1} ms, p90 {:.1} ms (goal <= 100 ms)",
            ms(median(times.clone())),
            ms({
                times.sort();
                times[times.len() * 9 / 10]
            })
        );
    });
}
