//! `skiff app …`: Applications from a terminal, the way `argocd app …` drives
//! Argo CD, with the user's kubeconfig and no server of skiff's. Requests go
//! to the controller as the annotations it already reads (`skiff.dev/sync`,
//! `skiff.dev/refresh`, `skiff.dev/rollback`), so what the CLI asks for is
//! exactly what `kubectl annotate` could ask for.

use super::table::{colours, paint, render};
use super::Failed;
use crate::application::{Application, OperationState};
use crate::controller::preview;
use crate::controller::requests::{self, Request};
use clap::{Subcommand, ValueEnum};
use kube::api::Api;
use kube::{Client, ResourceExt};
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct AppArgs {
    /// The Applications' namespace (default: the kubeconfig context's, else `default`).
    #[arg(short, long, global = true, env = "SKIFF_APP_NAMESPACE")]
    pub namespace: Option<String>,
    /// The kubeconfig context to use (default: the current one).
    #[arg(long, global = true)]
    pub context: Option<String>,
    #[command(subcommand)]
    pub command: AppCommand,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormat {
    Wide,
    Json,
    Yaml,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Json,
    Yaml,
}

#[derive(Subcommand, Debug)]
pub enum AppCommand {
    /// List Applications with their sync and health.
    List {
        /// Every namespace.
        #[arg(short = 'A', long)]
        all_namespaces: bool,
        #[arg(short, long)]
        output: Option<ListFormat>,
    },
    /// Show an Application: summary, conditions, resources.
    Get {
        name: String,
        #[arg(short, long)]
        output: Option<Format>,
    },
    /// Show what a sync would change (exit code 1 when something would, like `kubectl diff`).
    Diff {
        name: String,
        /// Compare at this revision instead of targetRevision.
        #[arg(long)]
        revision: Option<String>,
        #[command(flatten)]
        local: LocalArgs,
    },
    /// Sync an Application now.
    Sync {
        name: String,
        /// Also delete what left git.
        #[arg(long)]
        prune: bool,
        /// Only show what would change.
        #[arg(long)]
        dry_run: bool,
        /// Sync this revision of the source instead of targetRevision (automated sync must be off).
        #[arg(long)]
        revision: Option<String>,
        /// Wait for the operation to end; exit code 1 when it fails.
        #[arg(long)]
        wait: bool,
        /// Seconds to wait.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
        #[command(flatten)]
        local: LocalArgs,
    },
    /// Compare with git now (`--hard` also asks the remote even if refs were just listed).
    Refresh {
        name: String,
        #[arg(long)]
        hard: bool,
    },
    /// List the syncs an Application keeps in its history.
    History { name: String },
    /// Sync a history entry's revision and source again (automated sync must be off).
    Rollback {
        name: String,
        id: i64,
        /// Wait for the operation to end; exit code 1 when it fails.
        #[arg(long)]
        wait: bool,
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Wait until an Application is synced, healthy and not syncing (or only what is asked).
    Wait {
        name: String,
        #[arg(long)]
        sync: bool,
        #[arg(long)]
        health: bool,
        /// No operation running.
        #[arg(long)]
        operation: bool,
        /// Seconds to wait (exit code 1 after).
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
}

/// Where `diff` and `sync --dry-run` keep their git mirrors and find
/// repository Secrets (they fetch and render on this machine).
#[derive(clap::Args, Debug)]
pub struct LocalArgs {
    /// The git mirrors (default: $XDG_CACHE_HOME/skiff/repos, else ~/.cache/skiff/repos).
    #[arg(long, env = "SKIFF_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Where skiff's repository Secrets live.
    #[arg(long, default_value = "skiff-system", env = "SKIFF_NAMESPACE")]
    pub skiff_namespace: String,
}

impl LocalArgs {
    fn cache_dir(&self) -> PathBuf {
        if let Some(dir) = &self.cache_dir {
            return dir.clone();
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        base.join("skiff").join("repos")
    }

    async fn preview(
        &self,
        client: &Client,
        app: &Application,
        revision: Option<&str>,
    ) -> Result<preview::Preview, String> {
        let cache = self.cache_dir();
        preview::preview(client, app, revision, &cache, &self.skiff_namespace).await
    }
}

/// The kube client of the kubeconfig (or in-cluster config), and its namespace.
async fn connect(context: Option<&str>) -> Result<(Client, String), String> {
    let options = kube::config::KubeConfigOptions {
        context: context.map(String::from),
        ..Default::default()
    };
    let config = match kube::Config::from_kubeconfig(&options).await {
        Ok(c) => c,
        Err(e) if context.is_none() => kube::Config::incluster().map_err(|_| {
            format!("no cluster to talk to: {e} (set KUBECONFIG, or run inside a cluster)")
        })?,
        Err(e) => return Err(format!("kubeconfig context {context:?}: {e}")),
    };
    let namespace = config.default_namespace.clone();
    let client = Client::try_from(config).map_err(|e| e.to_string())?;
    Ok((client, namespace))
}

fn not_found(e: kube::Error, namespace: &str, name: &str) -> String {
    match e {
        kube::Error::Api(s) if s.code == 404 => format!(
            "no Application {name} in namespace {namespace} (try `skiff app list -A`, or -n NAMESPACE)"
        ),
        kube::Error::Api(s) if s.code == 403 => format!(
            "not allowed to read Application {namespace}/{name}: {}",
            s.message
        ),
        e => format!("reading Application {namespace}/{name}: {e}"),
    }
}

pub async fn run(args: AppArgs) -> Result<i32, Failed> {
    let (client, default_ns) = connect(args.context.as_deref()).await?;
    let namespace = args.namespace.clone().unwrap_or(default_ns);
    let apps: Api<Application> = Api::namespaced(client.clone(), &namespace);
    let get = |name: String| {
        let (apps, namespace) = (apps.clone(), namespace.clone());
        async move {
            apps.get(&name)
                .await
                .map_err(|e| not_found(e, &namespace, &name))
        }
    };
    let colour = colours();
    match args.command {
        AppCommand::List {
            all_namespaces,
            output,
        } => {
            let api: Api<Application> = if all_namespaces {
                Api::all(client)
            } else {
                apps.clone()
            };
            let mut list = api
                .list(&Default::default())
                .await
                .map_err(|e| format!("listing Applications: {e}"))?
                .items;
            list.sort_by_key(|a| (a.namespace(), a.name_any()));
            print!("{}", list_output(&list, output, colour));
            Ok(0)
        }
        AppCommand::Get { name, output } => {
            let app = get(name).await?;
            match output {
                Some(f) => print!("{}", structured(&json!(app), f)),
                None => print!("{}", summary(&app, colour)),
            }
            Ok(0)
        }
        AppCommand::Diff {
            name,
            revision,
            local,
        } => {
            let app = get(name).await?;
            let found = local
                .preview(&client, &app, revision.as_deref())
                .await
                // kubectl diff: 1 means differences, more means trouble.
                .map_err(|e| Failed::with_code(2, e))?;
            for change in &found.changes {
                println!("===== {} ({}) =====", change.title(), change.state);
                print!("{}", change.diff());
            }
            Ok(i32::from(!found.changes.is_empty()))
        }
        AppCommand::Sync {
            name,
            prune,
            dry_run,
            revision,
            wait,
            timeout,
            local,
        } => {
            let app = get(name.clone()).await?;
            if dry_run {
                let found = local.preview(&client, &app, revision.as_deref()).await?;
                print!("{}", dry_run_output(&found, prune, colour));
                return Ok(0);
            }
            let request = Request::Sync {
                prune,
                revision: revision.clone(),
            };
            let ask = request.annotations(&app)?;
            requests::ask(&apps, &name, ask).await?;
            if !wait {
                println!("sync of {namespace}/{name} asked; `skiff app wait {name}` follows it");
                return Ok(0);
            }
            follow_operation(&apps, &app, request.annotation(), timeout, colour).await
        }
        AppCommand::Refresh { name, hard } => {
            let app = get(name.clone()).await?;
            let request = Request::Refresh { hard };
            requests::ask(&apps, &name, request.annotations(&app)?).await?;
            let app = handled(&apps, &name, request.annotation(), 60).await?;
            print!("{}", summary(&app, colour));
            Ok(0)
        }
        AppCommand::History { name } => {
            let app = get(name).await?;
            print!("{}", history_output(&app));
            Ok(0)
        }
        AppCommand::Rollback {
            name,
            id,
            wait,
            timeout,
        } => {
            let app = get(name.clone()).await?;
            let request = Request::Rollback { id };
            let ask = request
                .annotations(&app)
                .map_err(|e| format!("{e}; see `skiff app history {name}`"))?;
            requests::ask(&apps, &name, ask).await?;
            if !wait {
                println!("rollback of {namespace}/{name} to {id} asked; `skiff app wait {name}` follows it");
                return Ok(0);
            }
            follow_operation(&apps, &app, request.annotation(), timeout, colour).await
        }
        AppCommand::Wait {
            name,
            sync,
            health,
            operation,
            timeout,
        } => {
            get(name.clone()).await?;
            let all = !(sync || health || operation);
            let want = Want {
                sync: sync || all,
                health: health || all,
                operation: operation || all,
            };
            wait_for(&apps, &name, want, timeout, colour).await
        }
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

fn sync_status(app: &Application) -> (&str, &str, &str) {
    let s = app.status.as_ref();
    (
        s.map_or("Unknown", |s| s.sync.status.as_str()),
        s.map_or("Unknown", |s| s.health.status.as_str()),
        s.map_or("", |s| short(&s.sync.revision)),
    )
}

fn structured(v: &Value, format: Format) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(v).unwrap_or_default() + "\n",
        Format::Yaml => crate::render::yaml_out::write_stream(std::slice::from_ref(v)),
    }
}

fn list_output(list: &[Application], output: Option<ListFormat>, colour: bool) -> String {
    let format = match output {
        Some(ListFormat::Json) => Some(Format::Json),
        Some(ListFormat::Yaml) => Some(Format::Yaml),
        _ => None,
    };
    if let Some(f) = format {
        let all = json!({"apiVersion": "v1", "kind": "List", "items": list});
        return structured(&all, f);
    }
    let wide = matches!(output, Some(ListFormat::Wide));
    let mut header = vec![
        "NAME",
        "NAMESPACE",
        "SYNC",
        "HEALTH",
        "REVISION",
        "REPO",
        "PATH",
    ];
    if wide {
        header.extend(["TARGET", "PROJECT", "DESTINATION", "AUTOSYNC", "CONDITIONS"]);
    }
    let mut rows = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    for app in list {
        let (sync, health, revision) = sync_status(app);
        let spec = &app.spec;
        let mut row = vec![
            app.name_any(),
            app.namespace().unwrap_or_default(),
            sync.to_string(),
            health.to_string(),
            revision.to_string(),
            spec.source.repo_url.clone(),
            spec.source.path.clone(),
        ];
        if wide {
            let conditions: Vec<String> = app
                .status
                .iter()
                .flat_map(|s| &s.conditions)
                .map(|c| c.type_.clone())
                .collect();
            row.extend([
                spec.source.target_revision.clone(),
                spec.project.clone(),
                destination(app),
                autosync(app),
                if conditions.is_empty() {
                    "<none>".into()
                } else {
                    conditions.join(",")
                },
            ]);
        }
        rows.push(row);
    }
    if list.is_empty() {
        return "No Applications found.\n".into();
    }
    render(&rows, colour)
}

fn destination(app: &Application) -> String {
    let d = &app.spec.destination;
    let server = d
        .server
        .clone()
        .or(d.name.clone())
        .unwrap_or_else(|| crate::application::LOCAL_SERVER.into());
    format!("{server}/{}", d.namespace.clone().unwrap_or_default())
}

fn autosync(app: &Application) -> String {
    match app.spec.sync_policy.as_ref().and_then(|p| p.automated()) {
        None => "off".into(),
        Some(a) => {
            let mut parts = vec!["on"];
            if a.prune {
                parts.push("prune");
            }
            if a.self_heal {
                parts.push("self-heal");
            }
            parts.join(",")
        }
    }
}

fn summary(app: &Application, colour: bool) -> String {
    let (sync, health, revision) = sync_status(app);
    let spec = &app.spec;
    let status = app.status.as_ref();
    let mut lines = vec![
        (
            "Name",
            format!("{}/{}", app.namespace().unwrap_or_default(), app.name_any()),
        ),
        ("Project", spec.project.clone()),
        ("Repo", spec.source.repo_url.clone()),
        ("Path", spec.source.path.clone()),
        ("Target", spec.source.target_revision.clone()),
        ("Destination", destination(app)),
        ("Sync Policy", autosync(app)),
        (
            "Sync Status",
            format!("{} to {revision}", paint(sync, colour)),
        ),
        ("Health Status", paint(health, colour)),
    ];
    if let Some(m) = status.map(|s| &s.health.message).filter(|m| !m.is_empty()) {
        lines.push(("Health Message", m.clone()));
    }
    for i in &spec.info {
        lines.push(("Info", format!("{}: {}", i.name, i.value)));
    }
    if let Some(op) = status.and_then(|s| s.operation_state.as_ref()) {
        lines.push((
            "Operation",
            format!("{} ({})", paint(&op.phase, colour), op.message),
        ));
    }
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 2;
    let mut out: String = lines
        .iter()
        .map(|(k, v)| format!("{:width$}{v}\n", format!("{k}:")))
        .collect();
    let conditions = status.map(|s| s.conditions.as_slice()).unwrap_or_default();
    if !conditions.is_empty() {
        out.push('\n');
        let mut rows = vec![vec![
            "CONDITION".to_string(),
            "MESSAGE".into(),
            "SINCE".into(),
        ]];
        for c in conditions {
            rows.push(vec![
                c.type_.clone(),
                c.message.clone(),
                c.last_transition_time.clone().unwrap_or_default(),
            ]);
        }
        out.push_str(&render(&rows, colour));
    }
    let resources = status.map(|s| s.resources.as_slice()).unwrap_or_default();
    if !resources.is_empty() {
        out.push('\n');
        let mut rows = vec![[
            "GROUP",
            "KIND",
            "NAMESPACE",
            "NAME",
            "STATUS",
            "HEALTH",
            "MESSAGE",
        ]
        .iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>()];
        for r in resources {
            let state = if r.requires_pruning {
                "requiresPruning".to_string()
            } else {
                r.status.clone()
            };
            let h = r.health.as_ref();
            rows.push(vec![
                r.group.clone(),
                r.kind.clone(),
                r.namespace.clone(),
                r.name.clone(),
                state,
                h.map(|h| h.status.clone()).unwrap_or_default(),
                h.map(|h| h.message.clone()).unwrap_or_default(),
            ]);
        }
        out.push_str(&render(&rows, colour));
    }
    out
}

fn history_output(app: &Application) -> String {
    let history = app
        .status
        .as_ref()
        .map(|s| s.history.as_slice())
        .unwrap_or_default();
    if history.is_empty() {
        return format!("{} has no sync history yet.\n", app.name_any());
    }
    let mut rows = vec![["ID", "DATE", "REVISION", "SOURCE"]
        .iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>()];
    for h in history {
        rows.push(vec![
            h.id.to_string(),
            h.deployed_at.clone(),
            short(&h.revision).to_string(),
            format!(
                "{} {} ({})",
                h.source.repo_url, h.source.path, h.source.target_revision
            ),
        ]);
    }
    render(&rows, false)
}

fn dry_run_output(found: &preview::Preview, prune: bool, colour: bool) -> String {
    let mut rows = vec![["KIND", "NAMESPACE", "NAME", "STATUS", "WOULD"]
        .iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>()];
    for c in &found.changes {
        let would = match (c.state, prune) {
            ("Missing", _) => "create",
            ("requiresPruning", true) => "delete",
            ("requiresPruning", false) => "keep (no --prune)",
            _ => "apply",
        };
        rows.push(vec![
            c.kind.clone(),
            c.namespace.clone(),
            c.name.clone(),
            c.state.to_string(),
            would.to_string(),
        ]);
    }
    let mut out = format!(
        "dry run at {}: {} to change, {} unchanged\n",
        short(&found.revision),
        found.changes.len(),
        found.unchanged
    );
    if !found.changes.is_empty() {
        out.push_str(&render(&rows, colour));
    }
    out
}

/// Shows `text` as the one changing line of a terminal, or as a new line
/// elsewhere when it differs from the last one.
struct Progress {
    terminal: bool,
    last: String,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            last: String::new(),
        }
    }
    fn show(&mut self, text: String) {
        if self.terminal {
            eprint!("\r\x1b[K{text}");
            let _ = std::io::stderr().flush();
        } else if text != self.last {
            eprintln!("{text}");
        }
        self.last = text;
    }
    fn done(&mut self) {
        if self.terminal && !self.last.is_empty() {
            eprintln!();
        }
    }
}

/// Waits until the controller has taken `annotation` off (it handled it).
async fn handled(
    apps: &Api<Application>,
    name: &str,
    annotation: &str,
    timeout: u64,
) -> Result<Application, String> {
    let deadline = Instant::now() + Duration::from_secs(timeout);
    loop {
        let app = apps.get(name).await.map_err(|e| e.to_string())?;
        if !app.annotations().contains_key(annotation) {
            return Ok(app);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the controller did not take up the request in {timeout}s: is skiff running (`kubectl -n skiff-system get pods`)?"
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// After a sync or rollback was asked: waits for the operation it started
/// and prints its results; exit code 1 when it failed.
async fn follow_operation(
    apps: &Api<Application>,
    before: &Application,
    annotation: &str,
    timeout: u64,
    colour: bool,
) -> Result<i32, Failed> {
    let name = before.name_any();
    let started = Instant::now();
    let previous = before
        .status
        .as_ref()
        .and_then(|s| s.operation_state.clone());
    let app = handled(apps, &name, annotation, timeout).await?;
    let current = app.status.as_ref().and_then(|s| s.operation_state.clone());
    if current == previous {
        if let Some(c) = app
            .status
            .iter()
            .flat_map(|s| &s.conditions)
            .find(|c| c.type_ == "SyncError" || c.type_.ends_with("Error"))
        {
            return Err(format!("{}: {}", c.type_, c.message).into());
        }
        let (sync, _, _) = sync_status(&app);
        match sync {
            "Synced" => println!("nothing to sync: {name} is already as git wants it"),
            // OutOfSync only by what this sync leaves alone (Prune=false, no --prune).
            other => println!(
                "nothing to sync: {name} is {other} only by objects this sync leaves alone (deleting what left git needs --prune; `skiff app diff {name}` shows them)"
            ),
        }
        return Ok(0);
    }
    let mut progress = Progress::new();
    let left = Duration::from_secs(timeout).saturating_sub(started.elapsed());
    let deadline = Instant::now() + left;
    loop {
        let app = apps.get(&name).await.map_err(|e| e.to_string())?;
        let op = app
            .status
            .as_ref()
            .and_then(|s| s.operation_state.clone())
            .unwrap_or_default();
        if op.phase != "Running" {
            progress.done();
            print!("{}", operation_output(&op, colour));
            return Ok(i32::from(op.phase != "Succeeded"));
        }
        progress.show(format!(
            "{name}: Running ({}s) {}",
            started.elapsed().as_secs(),
            op.message
        ));
        if Instant::now() > deadline {
            progress.done();
            return Err(Failed::with_code(
                1,
                format!(
                    "timed out after {timeout}s; the operation is still running: {}",
                    op.message
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn operation_output(op: &OperationState, colour: bool) -> String {
    let mut out = String::new();
    if let Some(result) = &op.sync_result {
        let mut rows = vec![["KIND", "NAMESPACE", "NAME", "STATUS", "HOOK", "MESSAGE"]
            .iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>()];
        for r in &result.resources {
            rows.push(vec![
                r.kind.clone(),
                r.namespace.clone(),
                r.name.clone(),
                r.status.clone(),
                r.hook_type.clone(),
                r.message.clone(),
            ]);
        }
        if rows.len() > 1 {
            out.push_str(&render(&rows, colour));
        }
        out.push_str(&format!("revision {}\n", short(&result.revision)));
    }
    out.push_str(&format!("{}: {}\n", paint(&op.phase, colour), op.message));
    out
}

struct Want {
    sync: bool,
    health: bool,
    operation: bool,
}

async fn wait_for(
    apps: &Api<Application>,
    name: &str,
    want: Want,
    timeout: u64,
    colour: bool,
) -> Result<i32, Failed> {
    let started = Instant::now();
    let mut progress = Progress::new();
    loop {
        let app = apps.get(name).await.map_err(|e| e.to_string())?;
        let (sync, health, _) = sync_status(&app);
        let running = app
            .status
            .as_ref()
            .and_then(|s| s.operation_state.as_ref())
            .is_some_and(|o| o.phase == "Running");
        let ok = (!want.sync || sync == "Synced")
            && (!want.health || health == "Healthy")
            && (!want.operation || !running);
        let state = format!(
            "sync {sync}, health {health}{}",
            if running { ", operation Running" } else { "" }
        );
        if ok {
            progress.done();
            print!("{}", summary(&app, colour));
            return Ok(0);
        }
        if started.elapsed() > Duration::from_secs(timeout) {
            progress.done();
            return Err(Failed::with_code(
                1,
                format!("timed out after {timeout}s waiting for {name}: {state}"),
            ));
        }
        progress.show(format!(
            "waiting for {name} ({}s): {state}",
            started.elapsed().as_secs()
        ));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
