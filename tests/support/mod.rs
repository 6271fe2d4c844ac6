//! Shared pieces of skiff's end-to-end tests: a cluster (the test API server,
//! or the one `SKIFF_TEST_KUBECONFIG` names), a git repository to commit to,
//! and a running controller.
#![allow(dead_code)]

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::Client;
use serde_json::{json, Value};
use skiff::application::Application;
use skiff_test_apiserver::TestApiServer;
use std::path::Path;
use std::time::Duration;

pub struct Cluster {
    pub client: Client,
    pub server: Option<TestApiServer>,
}

pub async fn cluster() -> Cluster {
    let cluster = match std::env::var("SKIFF_TEST_KUBECONFIG") {
        Ok(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(&path)
                .expect("SKIFF_TEST_KUBECONFIG is readable");
            let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                .await
                .expect("kubeconfig");
            Cluster {
                client: Client::try_from(config).expect("client"),
                server: None,
            }
        }
        Err(_) => {
            let server = TestApiServer::start().await;
            Cluster {
                client: server.client(),
                server: Some(server),
            }
        }
    };
    let crd: CustomResourceDefinition = serde_json::from_value(
        skiff::render::yaml::parse_documents(&skiff::application::crd_yaml())
            .unwrap()
            .remove(0),
    )
    .unwrap();
    Api::<CustomResourceDefinition>::all(cluster.client.clone())
        .patch(
            "applications.skiff.dev",
            &PatchParams::apply("skiff-tests").force(),
            &Patch::Apply(&crd),
        )
        .await
        .expect("install the Application CRD");
    cluster
}

impl Cluster {
    /// The kubeconfig a separate process (kubectl, the skiff CLI) can use.
    pub fn kubeconfig(&self) -> std::path::PathBuf {
        match &self.server {
            Some(server) => server.kubeconfig_path().to_path_buf(),
            None => std::env::var("SKIFF_TEST_KUBECONFIG").unwrap().into(),
        }
    }
}

pub async fn namespace(client: &Client, name: &str) {
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    Api::<Namespace>::all(client.clone())
        .patch(
            name,
            &PatchParams::apply("skiff-tests").force(),
            &Patch::Apply(&ns),
        )
        .await
        .expect("create namespace");
}

/// The Secret skiff reads its admin token from (`--admin-secret`'s default).
pub async fn admin_secret(client: &Client, namespace: &str, token: &str) {
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "skiff-admin", "namespace": namespace},
        "stringData": {"token": token}});
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), namespace)
        .patch(
            "skiff-admin",
            &PatchParams::apply("skiff-tests").force(),
            &Patch::Apply(&secret),
        )
        .await
        .expect("the admin Secret");
}

/// A ConfigMap manifest with one key `k`.
pub fn config_map(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: {value}\n")
}

/// A git repository on disk that tests commit to (through git2, no git binary).
pub struct Upstream {
    pub dir: tempfile::TempDir,
    pub repo: git2::Repository,
}

impl Upstream {
    pub fn new() -> Upstream {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        repo.set_head("refs/heads/main").unwrap();
        Upstream { dir, repo }
    }

    pub fn url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }

    /// Commits `files` (path → Some(content) or None to delete) on main; returns the SHA.
    pub fn commit(&self, files: &[(&str, Option<&str>)], message: &str) -> String {
        let parent = self
            .repo
            .find_reference("refs/heads/main")
            .ok()
            .and_then(|r| r.peel_to_commit().ok());
        let mut index = git2::Index::new().unwrap();
        if let Some(p) = &parent {
            index.read_tree(&p.tree().unwrap()).unwrap();
        }
        for (path, content) in files {
            match content {
                Some(text) => {
                    let id = self.repo.blob(text.as_bytes()).unwrap();
                    index
                        .add(&git2::IndexEntry {
                            ctime: git2::IndexTime::new(0, 0),
                            mtime: git2::IndexTime::new(0, 0),
                            dev: 0,
                            ino: 0,
                            mode: 0o100644,
                            uid: 0,
                            gid: 0,
                            file_size: text.len() as u32,
                            id,
                            flags: 0,
                            flags_extended: 0,
                            path: path.as_bytes().to_vec(),
                        })
                        .unwrap();
                }
                None => index.remove_path(Path::new(path)).unwrap(),
            }
        }
        let tree = self
            .repo
            .find_tree(index.write_tree_to(&self.repo).unwrap())
            .unwrap();
        let sig = git2::Signature::now("skiff tests", "tests@skiff.dev").unwrap();
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        self.repo
            .commit(
                Some("refs/heads/main"),
                &sig,
                &sig,
                message,
                &tree,
                &parents,
            )
            .unwrap()
            .to_string()
    }
}

/// A free port on 127.0.0.1 for the controller's listener.
pub fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// Starts the controller against `client`; returns its listener address.
pub fn start_controller(
    client: &Client,
    skiff_namespace: &str,
    requeue_seconds: u64,
) -> (String, tempfile::TempDir) {
    let (listen, cache, _running) =
        start_stoppable_controller(client, skiff_namespace, requeue_seconds);
    (listen, cache)
}

/// Starts the controller; the handle stops it (as a crash would) when aborted.
pub fn start_stoppable_controller(
    client: &Client,
    skiff_namespace: &str,
    requeue_seconds: u64,
) -> (String, tempfile::TempDir, tokio::task::JoinHandle<()>) {
    start_controller_with(client, skiff_namespace, requeue_seconds, |_| {})
}

/// Starts the controller with its arguments changed by `change`. Reading the
/// UI is open unless `change` closes it (the auth tests do).
pub fn start_controller_with(
    client: &Client,
    skiff_namespace: &str,
    requeue_seconds: u64,
    change: impl FnOnce(&mut skiff::cli::ControllerArgs),
) -> (String, tempfile::TempDir, tokio::task::JoinHandle<()>) {
    let cache = tempfile::tempdir().unwrap();
    let listen = free_addr();
    let mut args = skiff::cli::ControllerArgs {
        watch_namespace: None,
        namespace: Some(skiff_namespace.to_string()),
        listen: listen.clone(),
        requeue_seconds,
        cache_dir: cache.path().to_path_buf(),
        webhook_secret: "skiff-webhook".into(),
        webhook_allow_unsigned: false,
        webhook_max_body_bytes: 1024 * 1024,
        anonymous_read: true,
        admin_secret: "skiff-admin".into(),
        session_duration: Duration::from_secs(3600),
    };
    change(&mut args);
    let client = client.clone();
    let running = tokio::spawn(async move {
        skiff::cli::run_controller(client, args)
            .await
            .expect("controller runs");
    });
    (listen, cache, running)
}

pub fn application(
    name: &str,
    repo_url: &str,
    path: &str,
    dest_namespace: &str,
    automated: bool,
) -> Application {
    let mut spec = json!({
        "source": {"repoURL": repo_url, "path": path, "targetRevision": "main"},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": dest_namespace},
        "syncPolicy": {"syncOptions": ["CreateNamespace=true"]}
    });
    if automated {
        spec["syncPolicy"]["automated"] = json!({"prune": false, "selfHeal": true});
    }
    serde_json::from_value(json!({"apiVersion": "skiff.dev/v1alpha1", "kind": "Application", "metadata": {"name": name}, "spec": spec})).unwrap()
}

/// A controller (polling every 2 s) and, on one repository holding a
/// ConfigMap, the apps `synced` (automated) and `manual` (not). Returns the
/// controller's listener, its cache and the Applications API.
pub async fn two_apps(
    c: &Cluster,
    synced: &str,
    manual: &str,
) -> (String, tempfile::TempDir, Api<Application>, Upstream) {
    namespace(&c.client, "skiff-system").await;
    namespace(&c.client, "apps").await;
    let (listen, cache) = start_controller(&c.client, "skiff-system", 2);
    let apps: Api<Application> = Api::namespaced(c.client.clone(), "apps");
    let up = Upstream::new();
    up.commit(&[("app/cm.yaml", Some(&config_map("a", "v")))], "first");
    for (name, automated) in [(synced, true), (manual, false)] {
        apps.create(
            &Default::default(),
            &application(name, &up.url(), "app", name, automated),
        )
        .await
        .unwrap();
    }
    (listen, cache, apps, up)
}

/// skiff's /metrics text, from the controller listening on `listen`.
pub async fn metrics(listen: &str) -> String {
    reqwest::get(format!("http://{listen}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A deterministic generator (xorshift) for generated inputs: a failure
/// replays from its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    /// True one time in `n`.
    pub fn chance(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }
}

/// Polls `check` every 100 ms for up to `secs` seconds.
pub async fn eventually<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {secs}s waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn app_status(api: &Api<Application>, name: &str) -> Value {
    api.get(name)
        .await
        .ok()
        .and_then(|a| a.status)
        .map(|s| serde_json::to_value(s).unwrap())
        .unwrap_or(Value::Null)
}

/// git's own `git http-backend` behind lighttpd (Debian's packages), with
/// HTTP basic auth, serving the bare repositories in a temporary directory.
pub struct GitHttpServer {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: std::process::Child,
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_backend() -> std::path::PathBuf {
    for p in [
        "/usr/lib/git-core/git-http-backend",
        "/usr/libexec/git-core/git-http-backend",
    ] {
        if Path::new(p).exists() {
            return p.into();
        }
    }
    panic!("git http-backend not found: install Debian's git package (.ci/run does)");
}

impl GitHttpServer {
    pub fn start(user: &str, password: &str) -> GitHttpServer {
        let dir = tempfile::tempdir().unwrap();
        let repos = dir.path().join("repos");
        std::fs::create_dir_all(&repos).unwrap();
        let port = free_addr()
            .rsplit(':')
            .next()
            .unwrap()
            .parse::<u16>()
            .unwrap();
        std::fs::write(dir.path().join("users"), format!("{user}:{password}\n")).unwrap();
        let conf = format!(
            r#"server.modules = ("mod_alias", "mod_cgi", "mod_setenv", "mod_auth", "mod_authn_file")
server.document-root = "{root}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{root}/error.log"
alias.url = ("/git" => "{backend}")
$HTTP["url"] =~ "^/git" {{
  cgi.assign = ("" => "")
  setenv.set-environment = ("GIT_PROJECT_ROOT" => "{repos}", "GIT_HTTP_EXPORT_ALL" => "1")
}}
auth.backend = "plain"
auth.backend.plain.userfile = "{root}/users"
auth.require = ("/git" => ("method" => "basic", "realm" => "git", "require" => "valid-user"))
"#,
            root = dir.path().display(),
            repos = repos.display(),
            backend = http_backend().display(),
        );
        let conf_path = dir.path().join("lighttpd.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut child = std::process::Command::new("lighttpd")
            .arg("-D")
            .arg("-f")
            .arg(&conf_path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("lighttpd is installed (Debian's lighttpd package; .ci/run installs it)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return GitHttpServer { dir, port, child };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "lighttpd did not start: {}",
            std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
        );
    }

    /// Pushes `upstream`'s main to the published `<name>.git`, as `git push` would.
    pub fn push(&self, upstream: &Upstream, name: &str) {
        let bare = self.dir.path().join("repos").join(format!("{name}.git"));
        let mut remote = upstream
            .repo
            .remote_anonymous(bare.to_str().unwrap())
            .unwrap();
        remote
            .push(&["+refs/heads/main:refs/heads/main"], None)
            .expect("push to the bare repository");
    }

    /// Publishes `upstream` as the bare repository `<name>.git`; returns its URL.
    pub fn publish(&self, upstream: &Upstream, name: &str) -> String {
        let bare = self.dir.path().join("repos").join(format!("{name}.git"));
        let _ = std::fs::remove_dir_all(&bare);
        git2::build::RepoBuilder::new()
            .bare(true)
            .clone(&upstream.url(), &bare)
            .expect("bare clone");
        format!("http://127.0.0.1:{}/git/{name}.git", self.port)
    }
}
