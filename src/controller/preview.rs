//! What a sync would change, found the way a pass compares (fetch, render,
//! plan, server-side dry run) without writing anything: `skiff app diff` and
//! `skiff app sync --dry-run` show it.

use crate::application::Application;
use crate::diff::ignore::Ignore;
use crate::diff::{self, ResourceSync};
use crate::render;
use crate::source::creds::{credentials_for, SECRET_TYPE_LABELS};
use crate::source::git::RepoCache;
use crate::sync::options::ObjectOptions;
use crate::sync::{self, prune, Kinds};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, ListParams};
use kube::{Client, ResourceExt};
use serde_json::Value;
use std::path::Path;

/// One object a sync would change.
#[derive(Debug)]
pub struct Change {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// OutOfSync, Missing (would be created) or requiresPruning (would be
    /// deleted); Synced only from `preview_object`.
    pub state: &'static str,
    pub live: Option<Value>,
    /// What applying would leave; None for an object that left git.
    pub wanted: Option<Value>,
    /// The field managers whose writes differ from git (drift attribution).
    pub changed_by: Vec<String>,
}

impl Change {
    pub fn title(&self) -> String {
        let group = if self.group.is_empty() {
            String::new()
        } else {
            format!("{}/", self.group)
        };
        match self.namespace.as_str() {
            "" => format!("{group}{} {}", self.kind, self.name),
            ns => format!("{group}{} {ns}/{}", self.kind, self.name),
        }
    }

    /// The unified YAML diff, Secret values masked.
    pub fn diff(&self) -> String {
        let name = format!("{}/{}", self.kind, self.name);
        diff::text::unified(&name, self.live.as_ref(), self.wanted.as_ref())
    }
}

pub struct Preview {
    /// The commit compared.
    pub revision: String,
    pub changes: Vec<Change>,
    /// Objects already as git wants them.
    pub unchanged: usize,
}

/// Which object to look at alone: (group, kind, namespace, name).
pub type ObjectKey = (String, String, String, String);

/// Compares `app` at `revision` (default: its targetRevision) with the cluster.
pub async fn preview(
    client: &Client,
    app: &Application,
    revision: Option<&str>,
    cache_dir: &Path,
    skiff_namespace: &str,
) -> Result<Preview, String> {
    compare_with(client, app, revision, cache_dir, skiff_namespace, None).await
}

/// One object of `app` as a sync would find it (Synced too), or None when
/// it is neither in git nor live as the app's.
pub async fn preview_object(
    client: &Client,
    app: &Application,
    key: &ObjectKey,
    cache_dir: &Path,
    skiff_namespace: &str,
) -> Result<(String, Option<Change>), String> {
    let mut found = compare_with(client, app, None, cache_dir, skiff_namespace, Some(key)).await?;
    Ok((found.revision, found.changes.pop()))
}

async fn compare_with(
    client: &Client,
    app: &Application,
    revision: Option<&str>,
    cache_dir: &Path,
    skiff_namespace: &str,
    only: Option<&ObjectKey>,
) -> Result<Preview, String> {
    let spec = &app.spec;
    if let Some(message) = spec.unsupported() {
        return Err(message);
    }
    let source = &spec.source;
    let revision = revision.unwrap_or(&source.target_revision);
    // Repository Secrets, when the caller may read them (a public repository needs none).
    let secrets: Api<Secret> = Api::namespaced(client.clone(), skiff_namespace);
    let mut found = Vec::new();
    for label in SECRET_TYPE_LABELS {
        if let Ok(list) = secrets.list(&ListParams::default().labels(label)).await {
            found.extend(list.items);
        }
    }
    let creds = credentials_for(&source.repo_url, &found);
    let repos = RepoCache::new(cache_dir, None);
    let resolved = repos
        .resolve(&source.repo_url, revision, creds.as_ref(), true)
        .await
        .map_err(|e| e.to_string())?;
    let tree = repos.tree(&resolved).map_err(|e| e.to_string())?;
    let env = render::BuildEnv::of(app, source, &resolved.commit);
    let manifests = render::render_source(&tree, source, &env)
        .map_err(|e| format!("rendering {} at {}: {e}", source.path, resolved.commit))?;
    let app_ns = app.namespace().unwrap_or_default();
    let dest_ns = spec.destination.namespace.clone().unwrap_or_default();
    let kinds = Kinds::default();
    let planned = sync::plan(
        client,
        &kinds,
        &manifests,
        &app_ns,
        &app.name_any(),
        &dest_ns,
    )
    .await
    .map_err(|e| e.to_string())?;
    let ignore = Ignore::compile(&spec.ignore_differences)?;
    let mut changes = Vec::new();
    let mut unchanged = 0;
    let mut rendered = Vec::new();
    for mut p in planned {
        let options = ObjectOptions::of(&p.object)
            .map_err(|e| format!("{}: {} {}: {e}", p.file, p.kind(), p.name()))?;
        // Hooks run during a sync; they are not compared.
        if options.skip || !options.hook.is_empty() {
            continue;
        }
        let group = p.group_version().0.to_string();
        let key = (
            group.clone(),
            p.kind().to_string(),
            p.namespace().to_string(),
            p.name().to_string(),
        );
        let skipped = only.is_some_and(|o| *o != key);
        rendered.push(key);
        if skipped {
            continue;
        }
        let looked = super::look(client, &kinds, &ignore, &mut p).await?;
        if let Some(e) = looked.dry_run_error {
            return Err(format!("dry run of {} {}: {e}", p.kind(), p.name()));
        }
        if looked.state == ResourceSync::Synced {
            unchanged += 1;
            // An object looked at alone is told about even when unchanged.
            if only.is_none() {
                continue;
            }
        }
        let changed_by = looked
            .live
            .as_ref()
            .map(|live| crate::sync::operation::drifted_by(live, &p.object))
            .unwrap_or_default();
        changes.push(Change {
            group,
            changed_by,
            kind: p.kind().to_string(),
            namespace: p.namespace().to_string(),
            name: p.name().to_string(),
            // Argo CD's status says OutOfSync for both; people want to know which.
            state: match looked.state {
                ResourceSync::Missing => "Missing",
                ResourceSync::Synced => "Synced",
                ResourceSync::OutOfSync => "OutOfSync",
            },
            live: looked.live,
            wanted: Some(looked.predicted.unwrap_or_else(|| p.object.clone())),
        });
    }
    // The app's objects that left git and would be pruned.
    let options = crate::sync::options::SyncOptions::default();
    let decide_for = prune::App {
        namespace: &app_ns,
        name: &app.name_any(),
        options: &options,
        created_namespace: None,
        prune: true,
    };
    let inventory = app.status.iter().flat_map(|s| &s.resources);
    for r in inventory {
        let key = (
            r.group.clone(),
            r.kind.clone(),
            r.namespace.clone(),
            r.name.clone(),
        );
        if rendered.contains(&key) || only.is_some_and(|o| *o != key) {
            continue;
        }
        let Some((resource, namespaced)) = kinds
            .resolve(client, &r.group, &r.version, &r.kind)
            .await
            .map_err(|e| e.to_string())?
        else {
            continue;
        };
        let api: Api<DynamicObject> = if namespaced {
            Api::namespaced_with(client.clone(), &r.namespace, &resource)
        } else {
            Api::all_with(client.clone(), &resource)
        };
        let Some(live) = api
            .get_opt(&r.name)
            .await
            .map_err(|e| format!("reading {} {}: {e}", r.kind, r.name))?
        else {
            continue;
        };
        let live = serde_json::to_value(live).unwrap_or_default();
        if prune::decide(&decide_for, &live) == prune::Verdict::NotOurs {
            continue;
        }
        changes.push(Change {
            group: r.group.clone(),
            kind: r.kind.clone(),
            namespace: r.namespace.clone(),
            name: r.name.clone(),
            state: "requiresPruning",
            live: Some(live),
            wanted: None,
            changed_by: Vec::new(),
        });
    }
    Ok(Preview {
        revision: resolved.commit,
        changes,
        unchanged,
    })
}
