//! The `skiff` command line: flags with env-var twins and `--help` text.

pub mod app;
mod table;

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "skiff",
    version,
    about = "A small GitOps controller: keeps a Kubernetes cluster equal to a git repository."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the controller (in-cluster config, or KUBECONFIG).
    Controller(ControllerArgs),
    /// Print what skiff would apply for a directory of manifests.
    Render(RenderArgs),
    /// Print the Application CustomResourceDefinition as YAML.
    Crd,
    /// Print skiff's version.
    Version,
    /// Work with Applications from a terminal (list, get, diff, sync, refresh, history, rollback, wait).
    App(app::AppArgs),
}

/// A command's failure: what to print, and the exit code.
#[derive(Debug)]
pub struct Failed {
    pub code: i32,
    pub message: String,
}

impl Failed {
    pub fn with_code(code: i32, message: impl Into<String>) -> Failed {
        Failed {
            code,
            message: message.into(),
        }
    }
}

impl From<String> for Failed {
    fn from(message: String) -> Failed {
        Failed::with_code(1, message)
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct ControllerArgs {
    /// Watch Applications in this namespace only (default: every namespace).
    #[arg(long, env = "SKIFF_WATCH_NAMESPACE")]
    pub watch_namespace: Option<String>,
    /// skiff's own namespace, which holds repository Secrets (default: the pod's namespace, else skiff-system).
    #[arg(long, env = "SKIFF_NAMESPACE")]
    pub namespace: Option<String>,
    /// Address of the metrics and health listener.
    #[arg(long, default_value = "0.0.0.0:8080", env = "SKIFF_LISTEN")]
    pub listen: String,
    /// Seconds between reconciles of an unchanged Application (±10% jitter).
    #[arg(long, default_value_t = 120, env = "SKIFF_REQUEUE_SECONDS")]
    pub requeue_seconds: u64,
    /// Where the git mirrors live.
    #[arg(long, default_value = "/tmp/skiff/repos", env = "SKIFF_CACHE_DIR")]
    pub cache_dir: PathBuf,
    /// The Secret in skiff's namespace holding webhook secrets
    /// (keys webhook.gitea.secret, webhook.gogs.secret, webhook.github.secret, webhook.gitlab.secret).
    #[arg(long, default_value = "skiff-webhook", env = "SKIFF_WEBHOOK_SECRET")]
    pub webhook_secret: String,
    /// Accept webhooks from providers that have no secret configured (unsigned).
    #[arg(long, env = "SKIFF_WEBHOOK_ALLOW_UNSIGNED")]
    pub webhook_allow_unsigned: bool,
    /// The largest webhook body accepted, in bytes (larger: 413).
    #[arg(long, default_value_t = 1024 * 1024, env = "SKIFF_WEBHOOK_MAX_BODY_BYTES")]
    pub webhook_max_body_bytes: usize,
    /// Let anybody read the UI and the JSON API without logging in (actions
    /// always need a login).
    #[arg(long, env = "SKIFF_ANONYMOUS_READ")]
    pub anonymous_read: bool,
    /// The Secret in skiff's namespace whose key `token` is the admin token:
    /// a login for clusters where TokenReview is not wired up.
    #[arg(long, default_value = "skiff-admin", env = "SKIFF_ADMIN_SECRET")]
    pub admin_secret: String,
    /// How long a UI session lasts (e.g. 24h, 90m).
    #[arg(long, default_value = "24h", value_parser = parse_duration, env = "SKIFF_SESSION_DURATION")]
    pub session_duration: std::time::Duration,
}

/// A positive duration in jiff's friendly format (`24h`, `90m`, `2s`).
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let d: jiff::SignedDuration = text
        .parse()
        .map_err(|e| format!("{text:?} is not a duration like 24h or 90m: {e}"))?;
    std::time::Duration::try_from(d)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{text:?}: a session must last some time"))
}

/// Pushes the webhook handler may queue before it answers 503.
const WEBHOOK_QUEUE: usize = 256;

impl ControllerArgs {
    /// The namespace skiff runs in: the flag, else the pod's, else skiff-system.
    pub fn skiff_namespace(&self) -> String {
        if let Some(ns) = &self.namespace {
            return ns.clone();
        }
        std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "skiff-system".into())
    }
}

/// Runs the controller and its listener until the process is stopped.
pub async fn run_controller(client: kube::Client, args: ControllerArgs) -> Result<(), String> {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    let metrics = Arc::new(crate::metrics::Metrics::default());
    let ready = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let skiff_namespace = args.skiff_namespace();
    let (queue, pushes) = tokio::sync::mpsc::channel(WEBHOOK_QUEUE);
    let webhooks = crate::web::webhook::Webhooks {
        secret: crate::web::watch_secret(client.clone(), &skiff_namespace, &args.webhook_secret),
        allow_unsigned: args.webhook_allow_unsigned,
        max_body: args.webhook_max_body_bytes,
        queue,
        metrics: metrics.clone(),
    };
    let config = crate::controller::Config {
        watch_namespace: args.watch_namespace.clone(),
        skiff_namespace: skiff_namespace.clone(),
        requeue: std::time::Duration::from_secs(args.requeue_seconds.max(1)),
        cache_dir: args.cache_dir.clone(),
    };
    let ctx = Arc::new(crate::controller::Context::new(
        client.clone(),
        config,
        metrics.clone(),
    ));
    let web_state = crate::web::WebState {
        metrics: metrics.clone(),
        ready: ready.clone(),
    };
    let auth = crate::web::auth::Auth::new(
        client.clone(),
        crate::web::watch_secret(client.clone(), &skiff_namespace, &args.admin_secret),
        crate::web::auth::Settings {
            anonymous_read: args.anonymous_read,
            session_duration: args.session_duration,
        },
    );
    let subjects: crate::web::CommitSubject = {
        let ctx = ctx.clone();
        Arc::new(move |repo: &str, commit: &str| ctx.repos.subject(repo, commit))
    };
    let ui = crate::web::UiState::new(
        client,
        {
            let ctx = ctx.clone();
            Arc::new(move || ctx.applications())
        },
        // Previews keep their own mirrors: a RepoCache locks per process, so
        // two must not share a directory.
        args.cache_dir.join("api"),
        skiff_namespace.clone(),
        Arc::new(auth),
        ctx.events.clone(),
        subjects,
    );
    let app = crate::web::router(web_state, webhooks).merge(crate::web::ui_router(ui));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    tracing::info!(listen = %args.listen, %skiff_namespace, "skiff controller starting");
    tokio::spawn(crate::controller::webhooks::serve(
        ctx.clone(),
        pushes,
        ready.clone(),
    ));
    crate::controller::run(ctx, ready).await;
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct RenderArgs {
    /// The directory to render.
    pub dir: PathBuf,
    /// Read subdirectories too.
    #[arg(long, env = "SKIFF_RENDER_RECURSE")]
    pub recurse: bool,
    /// Only files matching this glob (or `{a,b}` list).
    #[arg(long, default_value = "", env = "SKIFF_RENDER_INCLUDE")]
    pub include: String,
    /// Skip files matching this glob (or `{a,b}` list).
    #[arg(long, default_value = "", env = "SKIFF_RENDER_EXCLUDE")]
    pub exclude: String,
    /// The root no path may leave (default: the enclosing git work tree; outside git, the current directory when DIR is inside it, else /).
    #[arg(long, env = "SKIFF_RENDER_ROOT")]
    pub root: Option<PathBuf>,
    /// A chart's release name (default: the chart's name).
    #[arg(long, default_value = "")]
    pub release_name: String,
    /// A chart's release namespace.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// A values file for a chart (repeatable; later files win).
    #[arg(long = "values", short = 'f')]
    pub values: Vec<PathBuf>,
    /// Values for a chart as `a.b=c,list[0]=x` (repeatable; after --values).
    #[arg(long)]
    pub set: Vec<String>,
    /// As --set, every value a string.
    #[arg(long)]
    pub set_string: Vec<String>,
    /// As --set, the value a file's text (`key=path`).
    #[arg(long)]
    pub set_file: Vec<String>,
    /// The Kubernetes version a chart sees (default v1.36.0, as Helm v4 offline).
    #[arg(long)]
    pub kube_version: Option<String>,
    /// An API version a chart sees as available (repeatable, added to Helm's).
    #[arg(long)]
    pub api_versions: Vec<String>,
    /// Leave a chart's crds/ out.
    #[arg(long)]
    pub skip_crds: bool,
}

/// The chart options of `skiff render` (`helm template`'s flags).
fn helm_options(args: &RenderArgs) -> Result<crate::render::helm::Options, String> {
    use crate::render::helm::set;
    let mut values = serde_json::Map::new();
    for file in &args.values {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let doc = crate::render::yaml::parse_documents(&text)
            .map_err(|e| format!("{}: {e}", file.display()))?
            .into_iter()
            .next()
            .unwrap_or_default();
        match doc {
            serde_json::Value::Object(m) => set::merge(&mut values, m),
            serde_json::Value::Null => {}
            _ => return Err(format!("{}: a values file must be a map", file.display())),
        }
    }
    let mut values = serde_json::Value::Object(values);
    for expr in &args.set {
        set::apply_set(&mut values, expr, true).map_err(|e| format!("--set {expr}: {e}"))?;
    }
    for expr in &args.set_string {
        set::apply_set(&mut values, expr, false)
            .map_err(|e| format!("--set-string {expr}: {e}"))?;
    }
    for expr in &args.set_file {
        let (key, path) = expr
            .split_once('=')
            .ok_or_else(|| format!("--set-file {expr}: expected key=path"))?;
        let text = std::fs::read_to_string(path).map_err(|e| format!("--set-file {path}: {e}"))?;
        let escaped = text.replace('\\', "\\\\").replace(',', "\\,");
        set::apply_set(&mut values, &format!("{key}={escaped}"), false)
            .map_err(|e| format!("--set-file {expr}: {e}"))?;
    }
    Ok(crate::render::helm::Options {
        release_name: args.release_name.clone(),
        namespace: args.namespace.clone(),
        values,
        kube_version: args.kube_version.clone(),
        api_versions: args.api_versions.clone(),
        skip_crds: args.skip_crds,
    })
}

/// Runs a command; returns its exit code. A failure is printed by `main`.
///
/// Only the controller and `app` need an async runtime; the offline commands
/// start none, so `skiff render` is a short-lived process.
pub fn run(cli: Cli) -> Result<i32, Failed> {
    if let Command::App(args) = cli.command {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        return runtime.block_on(app::run(args));
    }
    offline_or_controller(cli.command)
        .map(|()| 0)
        .map_err(Failed::from)
}

/// The root `skiff render` may read below when `--root` is not given: the
/// enclosing git work tree (what the controller sees of a repository); for a
/// tree outside git (unpacked from an archive), the current directory when DIR
/// is inside it, else the filesystem root, so `../base` reaches what
/// `kubectl kustomize` reaches.
pub fn default_root(dir: &Path, cwd: Option<&Path>) -> PathBuf {
    if let Some(repo) = dir.ancestors().find(|a| a.join(".git").exists()) {
        return repo.to_path_buf();
    }
    match cwd {
        Some(cwd) if dir.starts_with(cwd) => cwd.to_path_buf(),
        _ => PathBuf::from("/"),
    }
}

fn offline_or_controller(command: Command) -> Result<(), String> {
    match command {
        Command::App(_) => unreachable!("run handles app"),
        Command::Controller(args) => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info,kube=warn".into()),
                )
                .with_writer(std::io::stderr)
                .init();
            let runtime = tokio::runtime::Runtime::new()
                .map_err(|e| format!("cannot start the async runtime: {e}"))?;
            runtime.block_on(async {
                let client = kube::Client::try_default().await.map_err(|e| {
                    format!("no cluster to talk to (in-cluster config or KUBECONFIG): {e}")
                })?;
                run_controller(client, args).await
            })
        }
        Command::Version => {
            println!("skiff {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Crd => {
            print!("{}", crate::application::crd_yaml());
            Ok(())
        }
        Command::Render(args) => {
            let dir = args
                .dir
                .canonicalize()
                .map_err(|e| format!("{}: {e}", args.dir.display()))?;
            let root = match &args.root {
                Some(r) => r
                    .canonicalize()
                    .map_err(|e| format!("{}: {e}", r.display()))?,
                None => {
                    let cwd = std::env::current_dir()
                        .ok()
                        .and_then(|c| c.canonicalize().ok());
                    default_root(&dir, cwd.as_deref())
                }
            };
            let rel = dir
                .strip_prefix(&root)
                .map_err(|_| {
                    format!(
                        "{} is not inside the root {}",
                        dir.display(),
                        root.display()
                    )
                })?
                .to_string_lossy()
                .to_string();
            let tree = crate::source::tree::DirTree::new(&root).map_err(|e| e.to_string())?;
            let opts = crate::application::DirectorySource {
                recurse: args.recurse,
                include: args.include.clone(),
                exclude: args.exclude.clone(),
                ..Default::default()
            };
            let tool = crate::render::detect(&tree, &rel).map_err(|e| e.to_string())?;
            let manifests = if tool == crate::render::Tool::Helm {
                crate::render::render_chart(&tree, &rel, &helm_options(&args)?)
            } else {
                crate::render::render(&tree, &rel, &opts)
            }
            .map_err(|e| e.to_string())?;
            // kustomize prints keys sorted; a plain directory keeps the files' order.
            let objects: Vec<serde_json::Value> = manifests
                .into_iter()
                .map(|m| match tool {
                    crate::render::Tool::Kustomize => {
                        crate::render::kustomize::sorted_owned(m.object)
                    }
                    crate::render::Tool::Directory | crate::render::Tool::Helm => m.object,
                })
                .collect();
            print!("{}", crate::render::yaml_out::write_stream(&objects));
            Ok(())
        }
    }
}
