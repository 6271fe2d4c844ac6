//! A small OpenAPI v3 surface: the root index and one document per
//! group/version listing each resource's operations with the query parameters
//! kubectl checks for (`fieldValidation`, `dryRun`, `fieldManager`), plus the
//! schemas of CRD kinds so `kubectl explain` can describe them.

use crate::resources::ResourceType;
use crate::store::State;
use serde_json::{json, Map, Value};
use sha2::Digest;

fn hash(doc: &Value) -> String {
    let digest = sha2::Sha512::digest(doc.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02X}")).collect()
}

/// The documents the root lists, by path relative to `/openapi/v3/`.
fn document_paths(state: &State) -> Vec<String> {
    let mut paths = vec![
        ".well-known/openid-configuration".to_string(),
        "api".into(),
        "api/v1".into(),
        "apis".into(),
    ];
    for (group, versions, _) in crate::discovery::groups(state) {
        if group.is_empty() {
            continue;
        }
        let builtin = state.crd_types().iter().all(|t| t.group != group);
        if builtin {
            paths.push(format!("apis/{group}"));
        }
        for v in versions {
            paths.push(format!("apis/{group}/{v}"));
        }
    }
    paths.extend(["openid/v1/jwks".to_string(), "version".to_string()]);
    paths.sort();
    paths
}

pub fn root(state: &State) -> Value {
    let mut paths = Map::new();
    for p in document_paths(state) {
        let doc = document(state, &p).unwrap_or(Value::Null);
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={}", hash(&doc))}),
        );
    }
    json!({"paths": paths})
}

fn gvk(t: &ResourceType) -> Value {
    json!({"group": t.group, "version": t.version, "kind": t.kind})
}

fn schema_name(t: &ResourceType) -> String {
    let reversed: Vec<&str> = t.group.split('.').rev().collect();
    format!("{}.{}.{}", reversed.join("."), t.version, t.kind)
}

/// One document: `api/v1`, `apis/GROUP/VERSION`, or the trivial ones.
pub fn document(state: &State, path: &str) -> Option<Value> {
    if !document_paths(state).iter().any(|p| p == path) {
        return None;
    }
    let (group, version) = match path.split('/').collect::<Vec<_>>().as_slice() {
        ["api", v] => (String::new(), v.to_string()),
        ["apis", g, v] => (g.to_string(), v.to_string()),
        _ => {
            return Some(
                json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.36.2"}, "paths": {}}),
            )
        }
    };
    let prefix = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    let params = json!([
        {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}}
    ]);
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for t in state.types_of(&group, &version) {
        let item = if t.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
        } else {
            format!("{prefix}/{}/{{name}}", t.plural)
        };
        let collection = item.trim_end_matches("/{name}").to_string();
        let op = |id: &str| json!({"operationId": format!("{id}{}", t.kind), "x-kubernetes-group-version-kind": gvk(&t), "parameters": params, "responses": {"200": {"description": "OK"}}});
        paths.insert(collection, json!({"post": op("create"), "get": op("list")}));
        paths.insert(item, json!({"get": op("read"), "put": op("replace"), "patch": op("patch"), "delete": op("delete")}));
        if let Some(crd) = &t.crd {
            let mut schema = crd
                .schema
                .clone()
                .unwrap_or_else(|| json!({"type": "object"}));
            if let Some(m) = schema.as_object_mut() {
                m.insert("x-kubernetes-group-version-kind".into(), json!([gvk(&t)]));
                let props = m.entry("properties").or_insert_with(|| json!({}));
                if let Some(p) = props.as_object_mut() {
                    p.entry("apiVersion").or_insert(json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."}));
                    p.entry("kind").or_insert(json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents."}));
                    p.entry("metadata").or_insert(
                        json!({"type": "object", "description": "Standard object's metadata."}),
                    );
                }
            }
            schemas.insert(schema_name(&t), schema);
        }
    }
    Some(
        json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.36.2"}, "paths": paths, "components": {"schemas": schemas}}),
    )
}
