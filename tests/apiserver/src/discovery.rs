//! Discovery documents: legacy (`/api`, `/apis`, per group and version) and
//! aggregated v2, built from the same table of resource types.

use crate::resources::{builtins, ResourceType};
use crate::store::State;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Every group with its versions and preferred version, built-ins first in the
/// server's order, then CRD groups by name.
pub fn groups(state: &State) -> Vec<(String, Vec<String>, String)> {
    let mut out: Vec<(String, Vec<String>, String)> = builtins().groups.clone();
    let mut custom: BTreeMap<String, Vec<Arc<ResourceType>>> = BTreeMap::new();
    for t in state.crd_types() {
        custom.entry(t.group.clone()).or_default().push(t.clone());
    }
    for (group, types) in custom {
        let mut versions: Vec<String> = Vec::new();
        for t in &types {
            if !versions.contains(&t.version) {
                versions.push(t.version.clone());
            }
        }
        let as_values: Vec<Value> = versions
            .iter()
            .map(|v| json!({"name": v, "served": true}))
            .collect();
        let preferred = crate::resources::preferred_version(&as_values);
        versions.sort_by_key(|v| if *v == preferred { 0 } else { 1 });
        out.push((group, versions, preferred));
    }
    out
}

fn gv(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

pub fn api_versions(server_address: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"],
           "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]})
}

fn group_entry(name: &str, versions: &[String], preferred: &str) -> Value {
    json!({
        "name": name,
        "versions": versions.iter().map(|v| json!({"groupVersion": gv(name, v), "version": v})).collect::<Vec<_>>(),
        "preferredVersion": {"groupVersion": gv(name, preferred), "version": preferred},
    })
}

pub fn group_list(state: &State) -> Value {
    let groups: Vec<Value> = groups(state)
        .iter()
        .filter(|(g, _, _)| !g.is_empty())
        .map(|(g, v, p)| group_entry(g, v, p))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn group(state: &State, name: &str) -> Option<Value> {
    let (g, v, p) = groups(state)
        .into_iter()
        .find(|(g, _, _)| g == name && !g.is_empty())?;
    let mut doc = group_entry(&g, &v, &p);
    let obj = doc.as_object_mut()?;
    let mut out = serde_json::Map::new();
    out.insert("kind".into(), json!("APIGroup"));
    out.insert("apiVersion".into(), json!("v1"));
    for (k, v) in std::mem::take(obj) {
        out.insert(k, v);
    }
    Some(Value::Object(out))
}

/// The APIResourceList of one group/version.
pub fn resource_list(state: &State, group: &str, version: &str) -> Option<Value> {
    if !state.group_version_exists(group, version) {
        return None;
    }
    let mut resources = Vec::new();
    for t in state.types_of(group, version) {
        resources.push(t.discovery_entry());
        resources.extend(t.subresources.iter().cloned());
    }
    resources.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let mut doc = serde_json::Map::new();
    doc.insert("kind".into(), json!("APIResourceList"));
    if !group.is_empty() {
        doc.insert("apiVersion".into(), json!("v1"));
    }
    doc.insert("groupVersion".into(), json!(gv(group, version)));
    doc.insert("resources".into(), Value::Array(resources));
    Some(Value::Object(doc))
}

fn aggregated_resource(t: &ResourceType) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("resource".into(), json!(t.plural));
    m.insert(
        "responseKind".into(),
        json!({"group": "", "version": "", "kind": t.kind}),
    );
    m.insert(
        "scope".into(),
        json!(if t.namespaced {
            "Namespaced"
        } else {
            "Cluster"
        }),
    );
    m.insert("singularResource".into(), json!(t.singular));
    m.insert("verbs".into(), json!(t.verbs));
    if !t.short_names.is_empty() {
        m.insert("shortNames".into(), json!(t.short_names));
    }
    if !t.categories.is_empty() {
        m.insert("categories".into(), json!(t.categories));
    }
    if !t.subresources.is_empty() {
        let subs: Vec<Value> = t
            .subresources
            .iter()
            .map(|s| {
                let name = s["name"].as_str().unwrap_or_default();
                let sub = name.split_once('/').map(|(_, s)| s).unwrap_or(name);
                json!({"subresource": sub,
                       "responseKind": {"group": s.get("group").cloned().unwrap_or(json!("")),
                                        "version": s.get("version").cloned().unwrap_or(json!("")),
                                        "kind": s["kind"]},
                       "verbs": s["verbs"]})
            })
            .collect();
        m.insert("subresources".into(), Value::Array(subs));
    }
    Value::Object(m)
}

/// Aggregated discovery (apidiscovery.k8s.io/v2) of the core group or of all named groups.
pub fn aggregated(state: &State, core: bool) -> Value {
    let mut items = Vec::new();
    for (group, versions, _) in groups(state) {
        if group.is_empty() != core {
            continue;
        }
        let versions: Vec<Value> = versions
            .iter()
            .map(|v| {
                let mut types = state.types_of(&group, v);
                types.sort_by(|a, b| a.plural.cmp(&b.plural));
                json!({"version": v, "resources": types.iter().map(|t| aggregated_resource(t)).collect::<Vec<_>>(), "freshness": "Current"})
            })
            .collect();
        let metadata = if group.is_empty() {
            json!({})
        } else {
            json!({"name": group})
        };
        items.push(json!({"metadata": metadata, "versions": versions}));
    }
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

pub fn version() -> Value {
    json!({"major": "1", "minor": "36", "emulationMajor": "1", "emulationMinor": "36",
           "minCompatibilityMajor": "1", "minCompatibilityMinor": "35", "gitVersion": "v1.36.2",
           "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
           "buildDate": "2026-01-01T00:00:00Z", "goVersion": "skiff-test-apiserver", "compiler": "gc",
           "platform": "linux/amd64"})
}
