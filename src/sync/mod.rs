//! Sync: put rendered objects into the cluster with server-side apply (field
//! manager `skiff`, forced, as Argo CD's ServerSideApply does), Namespaces and
//! CRDs first, each object marked with skiff's tracking annotation.

pub mod hooks;
pub mod operation;
pub mod options;
pub mod prune;
pub mod retry;
pub mod tasks;

use crate::render::Manifest;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::ApiResource;
use kube::discovery::{Discovery, Scope};
use kube::Client;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

pub const FIELD_MANAGER: &str = "skiff";
pub const TRACKING_ANNOTATION: &str = "skiff.dev/tracking-id";

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum SyncError {
    #[error("{file}: {kind} {name:?}: the cluster does not know kind {api_version} {kind}")]
    UnknownKind {
        file: String,
        api_version: String,
        kind: String,
        name: String,
    },
    #[error("{file}: {kind} {name:?}: namespaced, but neither the object nor spec.destination.namespace names a namespace")]
    NoNamespace {
        file: String,
        kind: String,
        name: String,
    },
    #[error("cannot read the cluster's API discovery: {0}")]
    Discovery(String),
}

/// (group, version, kind).
type Gvk = (String, String, String);

/// The cluster's kinds, from discovery, refreshed when a kind is unknown
/// (e.g. right after its CRD was applied), at most once per second.
pub struct Kinds {
    known: RwLock<HashMap<Gvk, (ApiResource, bool)>>,
    refreshed: RwLock<Option<Instant>>,
}

impl Default for Kinds {
    fn default() -> Self {
        Kinds {
            known: RwLock::new(HashMap::new()),
            refreshed: RwLock::new(None),
        }
    }
}

impl Kinds {
    fn lookup(&self, group: &str, version: &str, kind: &str) -> Option<(ApiResource, bool)> {
        self.known
            .read()
            .expect("kinds")
            .get(&(group.into(), version.into(), kind.into()))
            .cloned()
    }

    pub async fn refresh(&self, client: &Client) -> Result<(), SyncError> {
        let discovery = Discovery::new(client.clone())
            .run()
            .await
            .map_err(|e| SyncError::Discovery(e.to_string()))?;
        let mut known = HashMap::new();
        for group in discovery.groups() {
            for (ar, caps) in group
                .recommended_resources()
                .into_iter()
                .chain(group.versions().flat_map(|v| group.versioned_resources(v)))
            {
                let namespaced = caps.scope == Scope::Namespaced;
                known.insert(
                    (ar.group.clone(), ar.version.clone(), ar.kind.clone()),
                    (ar, namespaced),
                );
            }
        }
        *self.known.write().expect("kinds") = known;
        *self.refreshed.write().expect("kinds") = Some(Instant::now());
        Ok(())
    }

    /// The API resource and scope of a kind, refreshing discovery once if unknown.
    pub async fn resolve(
        &self,
        client: &Client,
        group: &str,
        version: &str,
        kind: &str,
    ) -> Result<Option<(ApiResource, bool)>, SyncError> {
        if let Some(found) = self.lookup(group, version, kind) {
            return Ok(Some(found));
        }
        let stale = self
            .refreshed
            .read()
            .expect("kinds")
            .is_none_or(|t| t.elapsed() > Duration::from_secs(1));
        if stale {
            self.refresh(client).await?;
        }
        Ok(self.lookup(group, version, kind))
    }
}

/// One object ready to apply: the manifest with its namespace and tracking
/// annotation set, and where it goes.
#[derive(Debug, Clone)]
pub struct Planned {
    pub manifest: Manifest,
    pub resource: Option<ApiResource>,
    pub namespaced: bool,
}

impl std::ops::Deref for Planned {
    type Target = Manifest;
    fn deref(&self) -> &Manifest {
        &self.manifest
    }
}

impl Planned {
    /// Namespaces and CRDs go first, so what needs them finds them.
    fn order(&self) -> u8 {
        match self.kind() {
            "Namespace" => 0,
            "CustomResourceDefinition" => 1,
            _ => 2,
        }
    }
}

/// `<app-namespace>_<app-name>:<group>/<kind>:<namespace>/<name>`.
pub fn tracking_id(
    app_namespace: &str,
    app_name: &str,
    group: &str,
    kind: &str,
    namespace: &str,
    name: &str,
) -> String {
    format!("{app_namespace}_{app_name}:{group}/{kind}:{namespace}/{name}")
}

/// Resolves every manifest's kind and namespace and marks it as the app's.
/// A kind the cluster does not know is an error unless a CRD in the same
/// render defines it (it becomes known once that CRD is applied).
pub async fn plan(
    client: &Client,
    kinds: &Kinds,
    manifests: &[Manifest],
    app_namespace: &str,
    app_name: &str,
    destination_namespace: &str,
) -> Result<Vec<Planned>, SyncError> {
    let defined_here: Vec<(String, String)> = manifests
        .iter()
        .filter(|m| m.kind() == "CustomResourceDefinition")
        .map(|m| {
            let group = m
                .object
                .pointer("/spec/group")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let kind = m
                .object
                .pointer("/spec/names/kind")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            (group, kind)
        })
        .collect();
    let mut out = Vec::with_capacity(manifests.len());
    for m in manifests {
        let (group, version) = m.group_version();
        let found = kinds.resolve(client, group, version, m.kind()).await?;
        let (resource, namespaced) = match found {
            Some((ar, namespaced)) => (Some(ar), namespaced),
            None if defined_here
                .iter()
                .any(|(g, k)| g == group && k == m.kind()) =>
            {
                (None, true)
            }
            None => {
                return Err(SyncError::UnknownKind {
                    file: m.file.clone(),
                    api_version: m.api_version().to_string(),
                    kind: m.kind().to_string(),
                    name: m.name().to_string(),
                })
            }
        };
        let mut object = m.object.clone();
        let meta = object["metadata"]
            .as_object_mut()
            .expect("render checked metadata");
        if namespaced {
            if m.namespace().is_empty() {
                if destination_namespace.is_empty() {
                    return Err(SyncError::NoNamespace {
                        file: m.file.clone(),
                        kind: m.kind().into(),
                        name: m.name().into(),
                    });
                }
                meta.insert("namespace".into(), json!(destination_namespace));
            }
        } else {
            // kustomize gives a namespace to kinds it does not know; the cluster knows better.
            meta.remove("namespace");
        }
        let namespace = meta
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(a) = annotations.as_object_mut() {
            a.insert(
                TRACKING_ANNOTATION.into(),
                json!(tracking_id(
                    app_namespace,
                    app_name,
                    group,
                    m.kind(),
                    &namespace,
                    m.name()
                )),
            );
        }
        let manifest = Manifest {
            object,
            file: m.file.clone(),
        };
        out.push(Planned {
            manifest,
            resource,
            namespaced,
        });
    }
    out.sort_by_key(|p| p.order());
    Ok(out)
}

fn api_for(client: &Client, p: &Planned, ar: &ApiResource) -> Api<DynamicObject> {
    if p.namespaced {
        Api::namespaced_with(client.clone(), p.namespace(), ar)
    } else {
        Api::all_with(client.clone(), ar)
    }
}

/// The live object, or None when it does not exist.
pub async fn get_live(client: &Client, p: &Planned) -> Result<Option<Value>, kube::Error> {
    let Some(ar) = &p.resource else {
        return Ok(None);
    };
    let live = api_for(client, p, ar).get_opt(p.name()).await?;
    Ok(live.map(|o| serde_json::to_value(o).unwrap_or(Value::Null)))
}

/// The API resource of a planned object (its CRD may have been applied since planning).
async fn resource_of(client: &Client, kinds: &Kinds, p: &Planned) -> Result<ApiResource, String> {
    if let Some(ar) = &p.resource {
        return Ok(ar.clone());
    }
    let (group, version) = p.group_version();
    match kinds
        .resolve(client, group, version, p.kind())
        .await
        .map_err(|e| e.to_string())?
    {
        Some((ar, _)) => Ok(ar),
        None => Err(format!(
            "kind {} is not served yet (its CRD may still be establishing)",
            p.kind()
        )),
    }
}

fn api_error(e: kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message,
        e => e.to_string(),
    }
}

/// Server-side applies one object (or dry-runs it) and returns what the server made of it.
pub async fn apply_one(
    client: &Client,
    kinds: &Kinds,
    p: &Planned,
    dry_run: bool,
) -> Result<Value, String> {
    let ar = resource_of(client, kinds, p).await?;
    let mut params = PatchParams::apply(FIELD_MANAGER).force();
    params.dry_run = dry_run;
    let obj: DynamicObject = serde_json::from_value(p.object.clone()).map_err(|e| e.to_string())?;
    api_for(client, p, &ar)
        .patch(p.name(), &params, &Patch::Apply(&obj))
        .await
        .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
        .map_err(api_error)
}

/// `Replace=true`: replaces the whole live object (or creates it), as
/// `kubectl replace` does, for objects a merge cannot bring to the wanted state.
pub async fn replace_one(
    client: &Client,
    kinds: &Kinds,
    p: &Planned,
    live: Option<&Value>,
) -> Result<Value, String> {
    let ar = resource_of(client, kinds, p).await?;
    let mut obj: DynamicObject =
        serde_json::from_value(p.object.clone()).map_err(|e| e.to_string())?;
    let params = kube::api::PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    let api = api_for(client, p, &ar);
    let made = match live {
        Some(live) => {
            obj.metadata.resource_version = live
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .map(String::from);
            api.replace(p.name(), &params, &obj).await
        }
        None => api.create(&params, &obj).await,
    };
    made.map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
        .map_err(api_error)
}
