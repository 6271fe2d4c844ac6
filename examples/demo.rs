//! skiff with no cluster: the test API server in process, a local git repository
//! made from `examples/config-repo`, the Applications from
//! `examples/applications` pointed at it, and the controller running against
//! both. Commit to the printed repository and the change is synced within
//! seconds.
//!
//! ```text
//! cargo run --release --example demo            # runs until Ctrl-C
//! cargo run --release --example demo -- --check # proves a commit round trip, then exits
//! ```

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{json, Value};
use skiff::application::Application;
use std::path::{Path, PathBuf};
use std::time::Duration;

const REQUEUE_SECONDS: u64 = 3;

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Commits every file of the working tree; returns the new commit's SHA.
fn commit_all(repo: &git2::Repository, message: &str) -> String {
    let mut index = repo.index().expect("index");
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .expect("add");
    index.write().expect("write index");
    let tree = repo
        .find_tree(index.write_tree().expect("tree"))
        .expect("tree");
    let sig = git2::Signature::now("skiff demo", "demo@skiff.dev").expect("signature");
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
        .expect("commit")
        .to_string()
}

async fn wait_for<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..secs * 10 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("demo: timed out waiting until {what}");
    std::process::exit(1);
}

#[tokio::main]
async fn main() {
    let check = std::env::args().any(|a| a == "--check");
    let work =
        PathBuf::from(std::env::var("SKIFF_DEMO_DIR").unwrap_or_else(|_| "/tmp/skiff-demo".into()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("demo directory");

    // The cluster.
    let server = skiff_test_apiserver::TestApiServer::start().await;
    let kubeconfig = work.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        skiff_test_apiserver::kubeconfig_yaml(&server.url()),
    )
    .expect("kubeconfig");
    let client = server.client();

    // The config repository.
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let repo_dir = work.join("config");
    copy_tree(&examples.join("config-repo"), &repo_dir).expect("copy examples/config-repo");
    let repo = git2::Repository::init(&repo_dir).expect("git init");
    repo.set_head("refs/heads/main").expect("main branch");
    commit_all(&repo, "Import the example config repository");
    let repo_url = format!("file://{}", repo_dir.display());

    // skiff's CRD, namespace and the example Applications, pointed at the local repository.
    let crd: CustomResourceDefinition = serde_json::from_value(
        skiff::render::yaml::parse_documents(&skiff::application::crd_yaml())
            .unwrap()
            .remove(0),
    )
    .unwrap();
    let pp = PatchParams::apply("skiff-demo").force();
    Api::<CustomResourceDefinition>::all(client.clone())
        .patch("applications.skiff.dev", &pp, &Patch::Apply(&crd))
        .await
        .expect("CRD");
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "skiff-system"}});
    Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
        .patch("skiff-system", &pp, &Patch::Apply(&ns))
        .await
        .expect("namespace");
    let apps: Api<Application> = Api::namespaced(client.clone(), "skiff-system");
    let mut files: Vec<_> = std::fs::read_dir(examples.join("applications"))
        .expect("examples/applications")
        .flatten()
        .collect();
    files.sort_by_key(|e| e.file_name());
    for entry in files {
        let text = std::fs::read_to_string(entry.path()).expect("application manifest");
        let mut value: Value = skiff::render::yaml::parse_documents(&text)
            .expect("YAML")
            .remove(0);
        value["spec"]["source"]["repoURL"] = json!(repo_url);
        let app: Application = serde_json::from_value(value).expect("an Application");
        let name = app.metadata.name.clone().unwrap_or_default();
        apps.patch(&name, &pp, &Patch::Apply(&app))
            .await
            .expect("apply Application");
    }

    // The UI's admin token, in the Secret skiff reads it from.
    let admin_token = format!("demo-{:016x}", rand::random::<u64>());
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "skiff-admin", "namespace": "skiff-system"},
        "stringData": {"token": admin_token}});
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), "skiff-system")
        .patch("skiff-admin", &pp, &Patch::Apply(&secret))
        .await
        .expect("admin Secret");

    // The controller.
    let listen = std::env::var("SKIFF_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let args = skiff::cli::ControllerArgs {
        watch_namespace: None,
        namespace: Some("skiff-system".into()),
        listen: listen.clone(),
        requeue_seconds: REQUEUE_SECONDS,
        cache_dir: work.join("cache"),
        webhook_secret: "skiff-webhook".into(),
        webhook_allow_unsigned: false,
        webhook_max_body_bytes: 1024 * 1024,
        anonymous_read: false,
        admin_secret: "skiff-admin".into(),
        session_duration: Duration::from_secs(24 * 3600),
    };
    let controller_client = client.clone();
    tokio::spawn(async move {
        if let Err(e) = skiff::cli::run_controller(controller_client, args).await {
            eprintln!("demo: controller failed: {e}");
            std::process::exit(1);
        }
    });

    println!("skiff demo is running (no cluster needed):");
    println!("  test API server  {}", server.url());
    println!("  kubeconfig       {}", kubeconfig.display());
    println!("  config repo      {}", repo_dir.display());
    println!("  web UI           http://{listen}/  (log in with the admin token {admin_token})");
    println!("  metrics          http://{listen}/metrics");
    println!();
    println!("  export KUBECONFIG={}", kubeconfig.display());
    println!("  kubectl get applications.skiff.dev -n skiff-system");
    println!("  kubectl get configmap guestbook-config -n guestbook -o yaml");
    println!();
    println!("Commit to the repo and watch it sync within seconds:");
    println!("  cd {} && sed -i 's/Hello from skiff/Hello again/' plain/guestbook/configmap.yaml && git commit -qam 'Say hello again'", repo_dir.display());

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "guestbook");
    let greeting = |cms: Api<ConfigMap>| async move {
        cms.get_opt("guestbook-config")
            .await
            .ok()
            .flatten()
            .and_then(|c| c.data)
            .and_then(|d| d.get("GREETING").cloned())
    };
    let first = wait_for("the plain guestbook app is synced", 60, || {
        greeting(cms.clone())
    })
    .await;
    println!("\nsynced: guestbook-config GREETING={first:?}");
    if !check {
        let _ = tokio::signal::ctrl_c().await;
        return;
    }
    // --check: one commit round trip, then exit.
    let path = repo_dir.join("plain/guestbook/configmap.yaml");
    let text = std::fs::read_to_string(&path)
        .expect("configmap.yaml")
        .replace("Hello from skiff", "Hello again");
    std::fs::write(&path, text).expect("edit");
    let sha = commit_all(&repo, "Say hello again");
    let started = std::time::Instant::now();
    wait_for("the commit is synced", 60, || {
        let cms = cms.clone();
        async move { greeting(cms).await.filter(|g| g == "Hello again") }
    })
    .await;
    println!(
        "commit {} synced in {:.1} s",
        &sha[..7],
        started.elapsed().as_secs_f64()
    );
}
