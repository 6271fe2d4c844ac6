//! schemathesis (from PyPI) reads skiff's OpenAPI document from a running
//! controller and sends every operation generated requests — valid ones with
//! the admin token, and malformed paths, queries and bodies — checking that
//! none gets a 5xx. The documented examples name a real app here, so actions
//! run for real (syncs, refreshes, refused rollbacks).

mod support;

use kube::api::Api;
use support::*;

const ADMIN_TOKEN: &str = "admin-token-for-schemathesis";

/// The schemathesis command: on PATH, or where pip put Python's scripts.
fn schemathesis() -> std::path::PathBuf {
    let works = |binary: &std::path::Path| {
        std::process::Command::new(binary)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let scripts = std::process::Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let candidates = [
        std::path::PathBuf::from("schemathesis"),
        std::path::Path::new(&scripts).join("schemathesis"),
    ];
    candidates
        .into_iter()
        .find(|c| works(c))
        .expect("schemathesis is missing: pip install schemathesis==4.32.5 (.ci/run does)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_generated_request_gets_a_server_error() {
    let binary = schemathesis();
    let c = cluster().await;
    namespace(&c.client, "skiff-system").await;
    admin_secret(&c.client, "skiff-system", ADMIN_TOKEN).await;
    let up = Upstream::new();
    up.commit(
        &[("app/cm.yaml", Some(&config_map("guestbook-config", "v")))],
        "first",
    );
    // The documented example app (manual, so rollbacks are tried), and another.
    let apps: Api<skiff::application::Application> =
        Api::namespaced(c.client.clone(), "skiff-system");
    for (name, automated) in [("guestbook", false), ("web", true)] {
        apps.create(
            &Default::default(),
            &application(name, &up.url(), "app", name, automated),
        )
        .await
        .unwrap();
    }
    let (listen, _cache, _running) = start_controller_with(&c.client, "skiff-system", 2, |args| {
        args.anonymous_read = false;
    });
    eventually("both apps have a status", 30, || async {
        let web = app_status(&apps, "web").await;
        (web["sync"]["status"] == "Synced" && !app_status(&apps, "guestbook").await.is_null())
            .then_some(())
    })
    .await;
    let reports = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("schemathesis");
    let output = tokio::process::Command::new(&binary)
        .args([
            "run",
            &format!("http://{listen}/api/v1/openapi.json"),
            "--checks",
            "not_a_server_error",
            "--header",
            &format!("Authorization: Bearer {ADMIN_TOKEN}"),
            "--max-examples",
            "30",
            "--seed",
            "20261201",
            "--workers",
            "2",
            "--request-timeout",
            "30",
            "--generation-database",
            "none",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
        ])
        .arg(&reports)
        // schemathesis keeps a cache in its working directory: not the repository.
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .output()
        .await
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{stdout}"
    );
    // It ran every documented operation.
    let operations: usize = skiff::web::openapi::document()["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    let tested = format!("Tested: {operations}");
    assert!(stdout.contains(&tested), "{tested}: {stdout}");
}
