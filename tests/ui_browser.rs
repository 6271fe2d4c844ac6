//! The web UI in a real browser: Debian's chromium, headless, driven through
//! chromedriver (WebDriver) against a running controller. A person logs in,
//! finds the OutOfSync app, syncs it and watches its badge turn Synced
//! without reloading, sees its Deployment's ReplicaSet and Pod, and reads a
//! changed field in the diff; without a login, actions are refused. Every
//! page is screenshotted into `target/tmp/ui-screenshots/` and checked for
//! labels and keyboard access. Runs against a real cluster too
//! (SKIFF_TEST_KUBECONFIG).

mod support;

use fantoccini::{Client, ClientBuilder, Locator};
use kube::api::Api;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::*;

const ADMIN_TOKEN: &str = "admin-token-for-the-browser-test";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver and the headless chromium it drives; both go when dropped.
struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    shots: PathBuf,
}

impl Browser {
    async fn start() -> Browser {
        for binary in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(binary).exists(),
                "{binary} is missing: install Debian's chromium and chromium-driver (.ci/run does)"
            );
        }
        let port = free_addr().rsplit(':').next().unwrap().to_string();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        // The flags keep chromium off the network (this machine has none)
        // and out of the sandbox, which needs privileges CI does not have.
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,1000",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"binary": CHROMIUM, "args": args}),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last = String::new();
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
                    std::fs::create_dir_all(&shots).unwrap();
                    return Browser {
                        client,
                        driver,
                        _profile: profile,
                        shots,
                    };
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no WebDriver session from chromedriver: {last}");
    }

    async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        println!("screenshot: {}", path.display());
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Waits until a click's navigation lands where `arrived` says (a
    /// click returns before the next page may have loaded).
    async fn lands(&self, what: &str, arrived: impl Fn(&str) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let path = self.path().await;
            if arrived(&path) {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("the browser did not reach {what}: it is at {path}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    async fn click(&self, locator: Locator<'_>) {
        self.client
            .find(locator)
            .await
            .unwrap_or_else(|e| panic!("{locator:?}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Waits until `css` holds `text`, the page left alone (no reload).
    async fn until_text(&self, what: &str, css: &str, text: &str, secs: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let now = self.text(css).await;
            if now.contains(text) {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out after {secs}s waiting until {what}: {css} says {now:?}");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// What keeps the page from being read with a screen reader or a keyboard:
    /// controls without labels, a missing language or main heading.
    async fn accessibility_problems(&self) -> Vec<String> {
        let script = r#"
            const problems = [];
            if (!document.documentElement.lang) problems.push("no lang on <html>");
            if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one h1");
            for (const c of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
                const named = c.labels && c.labels.length > 0 || c.getAttribute("aria-label");
                if (!named) problems.push("unlabelled " + c.outerHTML);
            }
            for (const b of document.querySelectorAll("button, a[href]")) {
                if (!b.textContent.trim() && !b.getAttribute("aria-label")) problems.push("nameless " + b.outerHTML);
            }
            for (const t of document.querySelectorAll("table")) {
                if (!t.querySelector("th")) problems.push("a table without headers");
            }
            return problems;
        "#;
        let found = self.client.execute(script, vec![]).await.unwrap();
        serde_json::from_value(found).unwrap_or_default()
    }

    /// Screenshots the page and checks it reads for everyone.
    async fn page(&self, name: &str) {
        self.shot(name).await;
        let problems = self.accessibility_problems().await;
        assert!(problems.is_empty(), "{name}: {problems:#?}");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_logs_in_syncs_an_app_and_reads_its_diff_in_chromium() {
    let c = cluster().await;
    for ns in ["skiff-system", "apps"] {
        namespace(&c.client, ns).await;
    }
    admin_secret(&c.client, "skiff-system", ADMIN_TOKEN).await;
    let up = Upstream::new();
    let cm = config_map("a", "v");
    up.commit(
        &[
            ("app/cm.yaml", Some(&cm)),
            ("app/deploy.yaml", Some(DEPLOYMENT)),
        ],
        "Add the web app",
    );
    let apps: Api<skiff::application::Application> = Api::namespaced(c.client.clone(), "apps");
    for (name, automated) in [("web", true), ("manual", false)] {
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
    let base = format!("http://{listen}");
    eventually("skiff serves", 30, || async {
        reqwest::get(format!("{base}/healthz")).await.ok()
    })
    .await;
    let b = Browser::start().await;

    // Without a login: pages send people to log in, and actions are refused.
    b.client.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(b.path().await, "/login?next=/");
    b.page("login").await;
    b.client
        .goto(&format!("{base}/apps/apps/manual/sync"))
        .await
        .unwrap();
    assert_eq!(b.path().await, "/login?next=/apps/apps/manual/sync");
    let refused: Value = b
        .client
        .execute_async(
            "const done = arguments[0];
             fetch('/api/v1/apps/apps/manual/sync', {method: 'POST'})
               .then(r => r.json().then(j => done({status: r.status, error: j.error})));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(refused["status"], 401, "{refused}");
    assert!(apps
        .get("manual")
        .await
        .unwrap()
        .metadata
        .annotations
        .is_none_or(|a| a.is_empty()));

    // Log in with the admin token; the form brings the person back.
    b.client
        .goto(&format!("{base}/login?next=/"))
        .await
        .unwrap();
    b.client
        .find(Locator::Css("input[name=token]"))
        .await
        .unwrap()
        .send_keys(ADMIN_TOKEN)
        .await
        .unwrap();
    b.click(Locator::Css("main button[type=submit]")).await;
    b.lands("/", |p| p == "/").await;
    let manual_sync = "//tr[th/a[@href='/apps/apps/manual']]/td[1]/span";
    let manual_badge = b
        .client
        .wait()
        .for_element(Locator::XPath(manual_sync))
        .await;
    assert!(manual_badge.is_ok(), "the list shows the manual app");
    b.until_text(
        "the list shows web Synced",
        "tr:has(a[href='/apps/apps/web']) td",
        "Synced",
        30,
    )
    .await;
    assert_eq!(
        b.client
            .find(Locator::XPath(manual_sync))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "OutOfSync"
    );
    assert!(
        b.text("tr:has(a[href='/apps/apps/web'])")
            .await
            .contains("Add the web app"),
        "the revision's commit subject"
    );
    b.page("applications").await;
    // The first Tab reaches the skip link: the page is keyboard-first.
    b.client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys("\u{E004}")
        .await
        .unwrap();
    let focused = b
        .client
        .active_element()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(focused, "Skip to the content");

    // The app's page, then Sync through its confirmation.
    b.click(Locator::Css("a[href='/apps/apps/manual']")).await;
    b.lands("the app's page", |p| p == "/apps/apps/manual")
        .await;
    assert_eq!(b.text("dl.summary dd .badge").await, "OutOfSync");
    b.page("application").await;
    b.click(Locator::LinkText("Sync")).await;
    b.lands("the sync confirmation", |p| p == "/apps/apps/manual/sync")
        .await;
    b.page("sync-confirm").await;
    b.click(Locator::Css("main button[type=submit]")).await;
    b.lands("the app's page after the sync", |p| {
        p == "/apps/apps/manual?asked=sync"
    })
    .await;
    assert!(b.text("p.notice").await.contains("You asked for a sync"));
    // The badge turns without a reload: the page refreshes its live part.
    b.until_text(
        "the badge turns Synced",
        "dl.summary dd .badge",
        "Synced",
        30,
    )
    .await;
    assert_eq!(b.path().await, "/apps/apps/manual?asked=sync", "no reload");
    // The Deployment's live children: its ReplicaSet and Pod. A real
    // cluster's controllers make them; the test API server has a stand-in.
    if let Some(server) = &c.server {
        server.create_replicas("manual", "web").unwrap();
        server.set_deployment_ready("manual", "web").unwrap();
    }
    b.until_text(
        "the ReplicaSet shows under its Deployment",
        "#live tr.depth1",
        "ReplicaSet",
        30,
    )
    .await;
    b.until_text(
        "the Pod shows under its ReplicaSet",
        "#live tr.depth2",
        "Pod",
        30,
    )
    .await;
    b.page("application-synced").await;
    let events = b.text("section[aria-labelledby=events]").await;
    assert!(events.contains("admin asked for a sync"), "{events}");

    // A change in git: refresh, and the diff shows the changed field.
    let cm = config_map("a", "changed");
    up.commit(&[("app/cm.yaml", Some(&cm))], "Change k");
    b.click(Locator::LinkText("Refresh")).await;
    b.page("refresh-confirm").await;
    b.click(Locator::Css("main button[type=submit]")).await;
    b.until_text(
        "the app is OutOfSync again",
        "dl.summary dd .badge",
        "OutOfSync",
        30,
    )
    .await;
    b.click(Locator::LinkText("a")).await;
    b.lands("the resource page", |p| {
        p.starts_with("/apps/apps/manual/resource?")
    })
    .await;
    let diff = b.text("section[aria-labelledby=diff] pre").await;
    assert!(
        diff.contains("-  k: v") && diff.contains("+  k: changed"),
        "{diff}"
    );
    assert!(b
        .text("section[aria-labelledby=live] pre")
        .await
        .contains("k: v"));
    b.page("resource-diff").await;
    b.client
        .goto(&format!("{base}/apps/apps/manual/diff"))
        .await
        .unwrap();
    assert!(b.text("main").await.contains("ConfigMap manual/a"));
    b.page("diff").await;
    // History offers a rollback to the first sync.
    b.client
        .goto(&format!("{base}/apps/apps/manual/rollback?id=0"))
        .await
        .unwrap();
    assert!(
        b.text("h1")
            .await
            .starts_with("Roll apps/manual back to history entry 0"),
        "{}",
        b.text("main").await
    );
    b.page("rollback-confirm").await;
    b.client.clone().close().await.unwrap();
}
