//! An app's resources as people look at them: the objects it manages (from
//! its status) with the live objects they own (ReplicaSets and Pods of a
//! Deployment, Jobs of a CronJob, ...) found through ownerReferences, and
//! one object's live manifest with its diff against git.

use crate::application::Application;
use crate::controller::preview::{self, ObjectKey};
use crate::health;
use kube::api::{Api, DynamicObject, ListParams};
use kube::discovery::ApiResource;
use kube::Client;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// One resource and what it owns.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// Synced or OutOfSync for the app's own objects; empty for children.
    pub sync: String,
    pub requires_pruning: bool,
    pub health: String,
    pub message: String,
    pub children: Vec<Node>,
}

/// The kinds that own the children shown, as (group, kind).
const OWNERS: &[(&str, &str)] = &[
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("apps", "ReplicaSet"),
    ("batch", "CronJob"),
    ("batch", "Job"),
];

/// The kinds of children listed: (group, version, kind, plural).
const CHILDREN: &[(&str, &str, &str, &str)] = &[
    ("apps", "v1", "ReplicaSet", "replicasets"),
    ("batch", "v1", "Job", "jobs"),
    ("", "v1", "Pod", "pods"),
];

/// Deployment → ReplicaSet → Pod is the deepest chain.
const DEPTH: usize = 3;

fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

/// Whether `obj` names (group, kind, name) among its owners.
fn owned_by(obj: &Value, group: &str, kind: &str, name: &str) -> bool {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|owners| {
            owners.iter().any(|o| {
                o["kind"] == kind
                    && o["name"] == name
                    && group_of(o["apiVersion"].as_str().unwrap_or_default()) == group
            })
        })
}

fn child_node(obj: &Value, group: &str, version: &str, kind: &str) -> Node {
    let h = health::assess(obj);
    Node {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        namespace: obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .into(),
        name: obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .into(),
        sync: String::new(),
        requires_pruning: false,
        health: h.health.as_str().into(),
        message: h.message,
        children: Vec::new(),
    }
}

/// Attaches to `node`, from `live` (group, version, kind, object), what it
/// owns, `depth` levels down.
fn attach(node: &mut Node, live: &[(&str, &str, &str, Value)], depth: usize) {
    if depth == 0 || !OWNERS.contains(&(node.group.as_str(), node.kind.as_str())) {
        return;
    }
    for (group, version, kind, obj) in live {
        let same_namespace = obj.pointer("/metadata/namespace").and_then(Value::as_str)
            == Some(node.namespace.as_str());
        if same_namespace && owned_by(obj, &node.group, &node.kind, &node.name) {
            let mut child = child_node(obj, group, version, kind);
            attach(&mut child, live, depth - 1);
            node.children.push(child);
        }
    }
    node.children
        .sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
}

/// The app's resources sorted by kind, namespace and name, each with its
/// live children. Children that cannot be listed are left out (the page is
/// still worth showing); the error says why.
pub async fn tree(client: &Client, app: &Application) -> (Vec<Node>, Option<String>) {
    let mut nodes: Vec<Node> = app
        .status
        .iter()
        .flat_map(|s| &s.resources)
        .map(|r| {
            let h = r.health.clone().unwrap_or_default();
            Node {
                group: r.group.clone(),
                version: r.version.clone(),
                kind: r.kind.clone(),
                namespace: r.namespace.clone(),
                name: r.name.clone(),
                sync: r.status.clone(),
                requires_pruning: r.requires_pruning,
                health: h.status,
                message: h.message,
                children: Vec::new(),
            }
        })
        .collect();
    nodes.sort_by(|a, b| (&a.kind, &a.namespace, &a.name).cmp(&(&b.kind, &b.namespace, &b.name)));
    let namespaces: BTreeSet<String> = nodes
        .iter()
        .filter(|n| {
            !n.namespace.is_empty() && OWNERS.contains(&(n.group.as_str(), n.kind.as_str()))
        })
        .map(|n| n.namespace.clone())
        .collect();
    let mut live = Vec::new();
    let mut error = None;
    for namespace in &namespaces {
        for (group, version, kind, plural) in CHILDREN {
            let resource = ApiResource {
                group: group.to_string(),
                version: version.to_string(),
                api_version: if group.is_empty() {
                    version.to_string()
                } else {
                    format!("{group}/{version}")
                },
                kind: kind.to_string(),
                plural: plural.to_string(),
            };
            let api: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), namespace, &resource);
            match api.list(&ListParams::default()).await {
                Ok(list) => live.extend(list.items.into_iter().map(|o| {
                    (
                        *group,
                        *version,
                        *kind,
                        serde_json::to_value(o).unwrap_or_default(),
                    )
                })),
                Err(e) => error = Some(format!("listing {plural} in {namespace}: {e}")),
            }
        }
    }
    for node in &mut nodes {
        attach(node, &live, DEPTH);
    }
    (nodes, error)
}

/// One object of an app as the resource page shows it.
#[derive(Debug)]
pub struct Detail {
    /// The live object as YAML, Secret values masked; empty when missing.
    pub live: String,
    /// Synced, OutOfSync, Missing or requiresPruning.
    pub state: String,
    /// The unified diff from live to what a sync would leave.
    pub diff: String,
    /// Who changed it away from git (field managers).
    pub changed_by: Vec<String>,
    /// The commit compared.
    pub revision: String,
}

/// The live object and its diff against git, for an object the app manages.
pub async fn detail(
    client: &Client,
    app: &Application,
    key: &ObjectKey,
    cache_dir: &Path,
    skiff_namespace: &str,
) -> Result<Detail, String> {
    let (revision, change) =
        preview::preview_object(client, app, key, cache_dir, skiff_namespace).await?;
    let yaml = |v: &Value| {
        let mut out = String::new();
        crate::render::yaml_out::write_document(&crate::diff::text::masked(v), &mut out);
        out
    };
    Ok(match change {
        Some(c) => Detail {
            live: c.live.as_ref().map(yaml).unwrap_or_default(),
            state: c.state.into(),
            // Synced: only fields the comparison leaves out could differ.
            diff: if c.state == "Synced" {
                String::new()
            } else {
                c.diff()
            },
            changed_by: c.changed_by,
            revision,
        },
        // In the app's status, but neither in git nor in the cluster.
        None => Detail {
            live: String::new(),
            state: "Missing".into(),
            diff: String::new(),
            changed_by: Vec::new(),
            revision,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn owned(kind: &str, name: &str, owner: (&str, &str, &str)) -> Value {
        json!({"metadata": {"name": name, "namespace": "web",
            "ownerReferences": [{"apiVersion": owner.0, "kind": owner.1, "name": owner.2, "uid": "u"}]},
            "kind": kind})
    }

    #[test]
    fn children_are_found_through_owner_references_down_the_chain() {
        let live = vec![
            (
                "apps",
                "v1",
                "ReplicaSet",
                owned("ReplicaSet", "web-7d9", ("apps/v1", "Deployment", "web")),
            ),
            (
                "",
                "v1",
                "Pod",
                owned("Pod", "web-7d9-abcde", ("apps/v1", "ReplicaSet", "web-7d9")),
            ),
            // Another Deployment's, and a same-named owner of another kind.
            (
                "apps",
                "v1",
                "ReplicaSet",
                owned("ReplicaSet", "db-1", ("apps/v1", "Deployment", "db")),
            ),
            (
                "",
                "v1",
                "Pod",
                owned("Pod", "web-x", ("apps/v1", "StatefulSet", "web")),
            ),
        ];
        let mut node = Node {
            group: "apps".into(),
            version: "v1".into(),
            kind: "Deployment".into(),
            namespace: "web".into(),
            name: "web".into(),
            sync: "Synced".into(),
            requires_pruning: false,
            health: "Healthy".into(),
            message: String::new(),
            children: Vec::new(),
        };
        attach(&mut node, &live, DEPTH);
        assert_eq!(node.children.len(), 1, "{node:#?}");
        let rs = &node.children[0];
        assert_eq!(
            (rs.kind.as_str(), rs.name.as_str()),
            ("ReplicaSet", "web-7d9")
        );
        assert_eq!(rs.children.len(), 1);
        assert_eq!(rs.children[0].name, "web-7d9-abcde");
        assert_eq!(
            rs.children[0].sync, "",
            "children are not compared with git"
        );
        // A ConfigMap owns nothing.
        let mut cm = node.clone();
        cm.kind = "ConfigMap".into();
        cm.group = String::new();
        cm.children.clear();
        attach(&mut cm, &live, DEPTH);
        assert!(cm.children.is_empty());
    }
}
