//! The built-in transformers a Kustomization's fields drive: namespace,
//! name prefix and suffix, labels, annotations, replicas and images. Each is a
//! small function over the resources, driven by a fieldspec table.

use super::fieldspec::{self, FieldSpec};
use super::Res;
use crate::render::fields::{text, Fields};
use serde_json::{json, Map, Value};

// `CLUSTER_SCOPED`: the (apiVersion, kind) pairs kustomize treats as
// cluster-scoped, exactly these (`data/cluster-scoped.json`, compiled in).
// Generated: `SKIFF_REGENERATE=1 cargo test --lib generated`.
include!("data/cluster_scoped.rs");

pub fn is_cluster_scoped(obj: &Value) -> bool {
    let (av, kind) = (text(obj, "apiVersion"), text(obj, "kind"));
    CLUSTER_SCOPED.iter().any(|(a, k)| *a == av && *k == kind)
}

/// Which subjects of (Cluster)RoleBindings the namespace transformer sets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Subjects {
    /// Subjects named `default` (kustomize's default).
    DefaultOnly,
    AllServiceAccounts,
    None,
}

impl Subjects {
    pub fn parse(mode: &str) -> Option<Subjects> {
        match mode {
            "" | "defaultOnly" => Some(Subjects::DefaultOnly),
            "allServiceAccounts" => Some(Subjects::AllServiceAccounts),
            "none" => Some(Subjects::None),
            _ => None,
        }
    }
}

/// How the namespace transformer sets a field.
#[derive(Debug, Clone, Copy)]
pub struct NamespaceOptions {
    pub unset_only: bool,
    pub subjects: Subjects,
}

impl Default for NamespaceOptions {
    fn default() -> Self {
        NamespaceOptions {
            unset_only: false,
            subjects: Subjects::DefaultOnly,
        }
    }
}

pub fn namespace(resources: &mut [Res], ns: &str, specs: &[FieldSpec], options: NamespaceOptions) {
    let mut set = |m: &mut Map<String, Value>, k: &str| {
        let empty = m
            .field(k)
            .is_none_or(|v| v.is_null() || v.as_str() == Some(""));
        if !options.unset_only || empty {
            m.insert(k.to_string(), json!(ns));
        }
    };
    for r in resources.iter_mut() {
        r.store_previous_id();
        // metadata.namespace only on namespaced kinds, whatever the specs say;
        // metadata.name (a Namespace's) only on apiVersion v1 objects.
        let v1 = r.api_version() == "v1";
        let kind = r.kind().to_string();
        let binding = kind == "RoleBinding" || kind == "ClusterRoleBinding";
        let specs: Vec<&FieldSpec> = specs
            .iter()
            .filter(|s| {
                let is = |a: &str, b: &str| s.path.len() == 2 && s.path[0] == a && s.path[1] == b;
                let handled_above = is("metadata", "namespace")
                    || (!v1 && is("metadata", "name"))
                    || (binding
                        && is("subjects", "namespace")
                        && s.kind.as_deref().is_some_and(|k| k == kind));
                !handled_above
            })
            .collect();
        if !is_cluster_scoped(&r.object) {
            if let Some(meta) = r
                .object
                .field_mut("metadata")
                .and_then(Value::as_object_mut)
            {
                set(meta, "namespace");
            }
        }
        if binding {
            if let Some(subjects) = r.object.field_mut("subjects").and_then(Value::as_array_mut) {
                for s in subjects.iter_mut().filter_map(Value::as_object_mut) {
                    let chosen = match options.subjects {
                        Subjects::None => false,
                        Subjects::DefaultOnly => {
                            s.field("name").and_then(Value::as_str) == Some("default")
                        }
                        Subjects::AllServiceAccounts => {
                            s.field("kind").and_then(Value::as_str) == Some("ServiceAccount")
                        }
                    };
                    if chosen {
                        set(s, "namespace");
                    }
                }
            }
        }
        let chosen: Vec<&FieldSpec> = specs
            .into_iter()
            .filter(|s| s.applies_to(r.api_version(), r.kind()))
            .collect();
        for spec in chosen {
            fieldspec::visit(&mut r.object, &spec.path, spec.create, &mut set);
        }
    }
}

/// Kinds prefixes and suffixes never touch (kustomize's skip list, by the
/// kind the object was read with).
fn keeps_its_name(r: &Res) -> bool {
    match r.org_kind() {
        "CustomResourceDefinition" | "Namespace" => true,
        "APIService" => r.group_version().0 == "apiregistration.k8s.io",
        _ => false,
    }
}

/// namePrefix or nameSuffix (kustomize runs them as two transformers) at the
/// fields `specs` name; at `metadata/name` the object remembers its old id
/// and the affix, which name references are fixed by.
pub fn name_affix(resources: &mut [Res], prefix: &str, suffix: &str, specs: &[FieldSpec]) {
    if prefix.is_empty() && suffix.is_empty() {
        return;
    }
    for r in resources.iter_mut().filter(|r| !keeps_its_name(r)) {
        let (api_version, org_kind) = (r.api_version().to_string(), r.org_kind().to_string());
        for spec in specs
            .iter()
            .filter(|s| s.applies_to(&api_version, &org_kind))
        {
            if spec.path.len() == 2 && spec.path[0] == "metadata" && spec.path[1] == "name" {
                if !prefix.is_empty() {
                    r.prefixes.push(prefix.to_string());
                }
                if !suffix.is_empty() {
                    r.suffixes.push(suffix.to_string());
                }
                r.store_previous_id();
            }
            fieldspec::visit(&mut r.object, &spec.path, spec.create, &mut |m, k| {
                if let Some(Value::String(s)) = m.field_mut(k) {
                    *s = format!("{prefix}{s}{suffix}");
                }
            });
        }
    }
}

fn add_map(values: &Map<String, Value>) -> impl FnMut(&mut Map<String, Value>, &str) + '_ {
    move |m: &mut Map<String, Value>, k: &str| {
        match m.field_mut(k) {
            Some(entry) if entry.is_null() => *entry = json!({}),
            Some(_) => {}
            None => {
                m.insert(k.to_string(), json!({}));
            }
        }
        if let Some(target) = m.field_mut(k).and_then(Value::as_object_mut) {
            for (lk, lv) in values {
                target.insert(lk.clone(), lv.clone());
            }
        }
    }
}

/// Labels on metadata, and on selectors and templates where `specs` says.
pub fn labels(resources: &mut [Res], labels: &Map<String, Value>, specs: &[FieldSpec]) {
    if labels.is_empty() {
        return;
    }
    for r in resources.iter_mut() {
        fieldspec::apply(&mut r.object, specs, &mut add_map(labels));
    }
}

pub fn metadata_labels_only() -> Vec<FieldSpec> {
    vec![FieldSpec::new("metadata/labels", true)]
}

pub fn annotations(resources: &mut [Res], annotations: &Map<String, Value>, specs: &[FieldSpec]) {
    if annotations.is_empty() {
        return;
    }
    for r in resources.iter_mut() {
        fieldspec::apply(&mut r.object, specs, &mut add_map(annotations));
    }
}

pub fn replicas(resources: &mut [Res], entries: &[Value], specs: &[FieldSpec]) {
    for e in entries {
        let name = e.get("name").and_then(Value::as_str).unwrap_or_default();
        let Some(count) = e.get("count").cloned() else {
            continue;
        };
        // Entries name the object as written, before any prefix or suffix.
        for r in resources.iter_mut().filter(|r| r.had_name(name)) {
            let mut set = |m: &mut Map<String, Value>, k: &str| {
                m.insert(k.to_string(), count.clone());
            };
            fieldspec::apply(&mut r.object, specs, &mut set);
        }
    }
}

/// The parts of an image reference: name, tag, digest.
fn split_image(image: &str) -> (String, Option<String>, Option<String>) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d.to_string())),
        None => (image, None),
    };
    // A ':' after the last '/' is a tag; before it, a registry port.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[last_slash..].rfind(':') {
        Some(i) => (
            rest[..last_slash + i].to_string(),
            Some(rest[last_slash + i + 1..].to_string()),
            digest,
        ),
        None => (rest.to_string(), None, digest),
    }
}

fn rewrite_image(current: &str, rule: &Value) -> Option<String> {
    let (name, tag, digest) = split_image(current);
    if rule.get("name").and_then(Value::as_str) != Some(name.as_str()) {
        return None;
    }
    let new_name = rule
        .get("newName")
        .and_then(Value::as_str)
        .unwrap_or(&name)
        .to_string();
    let new_tag = rule.get("newTag").and_then(|t| match t {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let new_digest = rule.get("digest").and_then(Value::as_str).map(String::from);
    Some(match (new_digest, new_tag) {
        (Some(d), _) => format!("{new_name}@{d}"),
        (None, Some(t)) => format!("{new_name}:{t}"),
        (None, None) => match (tag, digest) {
            (Some(t), Some(d)) => format!("{new_name}:{t}@{d}"),
            (Some(t), None) => format!("{new_name}:{t}"),
            (None, Some(d)) => format!("{new_name}@{d}"),
            (None, None) => new_name,
        },
    })
}

/// Images are rewritten in any `containers`/`initContainers` list at any depth
/// of any kind but CustomResourceDefinition, and at the fields `specs` adds
/// beyond kustomize's own table (which that walk already covers).
pub fn images(resources: &mut [Res], rules: &[Value], specs: &[FieldSpec]) {
    if rules.is_empty() {
        return;
    }
    fn walk(v: &mut Value, rules: &[Value]) {
        match v {
            Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    if (k == "containers" || k == "initContainers") && child.is_array() {
                        for c in child.as_array_mut().into_iter().flatten() {
                            if let Some(Value::String(image)) = c.field_mut("image") {
                                if let Some(new) =
                                    rules.iter().find_map(|r| rewrite_image(image, r))
                                {
                                    *image = new;
                                }
                            }
                        }
                    }
                    walk(child, rules);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, rules)),
            _ => {}
        }
    }
    let extra: Vec<&FieldSpec> = specs
        .iter()
        .filter(|s| !super::config::Config::builtin().images.contains(s))
        .collect();
    for r in resources.iter_mut() {
        if r.kind() != "CustomResourceDefinition" {
            walk(&mut r.object, rules);
        }
        let chosen: Vec<&FieldSpec> = extra
            .iter()
            .copied()
            .filter(|s| s.applies_to(r.api_version(), r.kind()))
            .collect();
        for spec in chosen {
            fieldspec::visit(&mut r.object, &spec.path, false, &mut |m, k| {
                if let Some(Value::String(image)) = m.get_mut(k) {
                    if let Some(new) = rules.iter().find_map(|r| rewrite_image(image, r)) {
                        *image = new;
                    }
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_scoped_is_generated_from_the_json() {
        let doc: Value = serde_json::from_str(include_str!("data/cluster-scoped.json")).unwrap();
        let pairs: Vec<String> = doc["clusterScoped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "    ({:?}, {:?}),\n",
                    text(e, "apiVersion"),
                    text(e, "kind")
                )
            })
            .collect();
        assert!(pairs.len() > 20);
        let rust = format!(
            "// @generated from data/cluster-scoped.json by `SKIFF_REGENERATE=1 cargo test --lib generated`.\n\
             // Included by transform.rs; do not edit.\n\
             const CLUSTER_SCOPED: &[(&str, &str)] = &[\n{}];\n",
            pairs.concat()
        );
        super::super::assert_generated("cluster_scoped.rs", &rust);
        assert!(is_cluster_scoped(
            &json!({"apiVersion": "v1", "kind": "Namespace"})
        ));
        assert!(!is_cluster_scoped(
            &json!({"apiVersion": "v1", "kind": "Service"})
        ));
    }

    #[test]
    fn image_rules_by_tag_name_and_digest() {
        let rule = json!({"name": "nginx", "newTag": "1.27"});
        assert_eq!(rewrite_image("nginx:1.25", &rule).unwrap(), "nginx:1.27");
        assert_eq!(rewrite_image("nginx", &rule).unwrap(), "nginx:1.27");
        assert!(rewrite_image("nginx-other:1", &rule).is_none());
        let rule = json!({"name": "reg:5000/app", "newName": "mirror/app", "digest": "sha256:abc"});
        assert_eq!(
            rewrite_image("reg:5000/app:2", &rule).unwrap(),
            "mirror/app@sha256:abc"
        );
        assert_eq!(
            split_image("reg:5000/app"),
            ("reg:5000/app".into(), None, None)
        );
    }
}
