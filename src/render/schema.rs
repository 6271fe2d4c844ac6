//! Just enough OpenAPI to know how a field merges: which lists are keyed maps,
//! which are sets, which are atomic, and which maps are atomic — for
//! kustomize's strategic merge (patch strategy and merge key) and for
//! server-side apply (list type).
//!
//! Built-in kinds use the Kubernetes OpenAPI v2 definitions kustomize embeds
//! (`kustomize/data/merge-keys.json`, v1.21.2, from shared/kustomize-data), CRD
//! kinds use their own `openAPIV3Schema`. Both are JSON Schema, so one walker
//! serves both. This file is also compiled into the test API server (`#[path]`
//! include), so it depends on nothing but serde_json.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Structs that newer API versions mark `+structType=atomic` but the 1.21.2 schema
/// does not: server-side apply treats each as one value.
const ATOMIC_DEFINITIONS: &[&str] = &[
    "io.k8s.api.core.v1.LocalObjectReference",
    "io.k8s.api.core.v1.ConfigMapKeySelector",
    "io.k8s.api.core.v1.SecretKeySelector",
    "io.k8s.api.core.v1.ObjectFieldSelector",
    "io.k8s.api.core.v1.ResourceFieldSelector",
    "io.k8s.api.core.v1.NodeSelector",
    "io.k8s.api.core.v1.TypedLocalObjectReference",
    "io.k8s.api.rbac.v1.RoleRef",
];

/// Fields that v1.36 marks atomic (`+mapType=atomic`, `+listType=atomic`) where
/// the 1.21.2 schema does not say so: (definition, field).
const ATOMIC_FIELDS: &[(&str, &str)] = &[("io.k8s.api.core.v1.ServiceSpec", "selector")];

/// Kinds served by v1.36 whose schema 1.21.2 only knows under an older version.
const VERSION_ALIASES: &[(&str, &str)] = &[
    ("autoscaling/v2", "autoscaling/v2beta2"),
    (
        "flowcontrol.apiserver.k8s.io/v1",
        "flowcontrol.apiserver.k8s.io/v1beta1",
    ),
];

/// The embedded definitions, parsed lazily: the file keeps one definition per
/// line, so startup only indexes lines and each definition is parsed the first
/// time a walk reaches it (a render touches a few dozen of the 623).
struct Builtin {
    gvk: Value,
    lines: HashMap<&'static str, &'static str>,
    parsed: Mutex<HashMap<&'static str, &'static Value>>,
}

const MERGE_KEYS: &str = include_str!("kustomize/data/merge-keys.json");

fn builtin() -> &'static Builtin {
    static DATA: OnceLock<Builtin> = OnceLock::new();
    DATA.get_or_init(|| {
        let mut section = "";
        let mut gvk_text = String::from("{");
        let mut lines = HashMap::new();
        for line in MERGE_KEYS.lines() {
            match line {
                "\"gvkToDefinition\":{" => section = "gvk",
                "\"definitions\":{" => section = "definitions",
                l if !l.starts_with('"') => {}
                l if section == "gvk" => gvk_text.push_str(l),
                l if section == "definitions" => {
                    if let Some((name, body)) = l.split_once("\":") {
                        lines.insert(&name[1..], body.trim_end_matches(','));
                    }
                }
                _ => {}
            }
        }
        let gvk_text = format!("{}}}", gvk_text.trim_end_matches(','));
        let gvk = serde_json::from_str(&gvk_text).expect("merge-keys.json gvkToDefinition is JSON");
        Builtin {
            gvk,
            lines,
            parsed: Mutex::new(HashMap::new()),
        }
    })
}

/// A definition by name, parsed on first use (and kept for the process).
fn definition(name: &str) -> Option<&'static Value> {
    let b = builtin();
    let (key, text) = b.lines.get_key_value(name)?;
    let mut parsed = b.parsed.lock().expect("schema cache");
    if let Some(v) = parsed.get(key) {
        return Some(v);
    }
    let v: &'static Value = Box::leak(Box::new(
        serde_json::from_str(text).expect("merge-keys.json definitions are JSON"),
    ));
    parsed.insert(key, v);
    Some(v)
}

/// A position in a schema; no node means "no schema here" (maps are granular,
/// lists atomic), as the API server does for fields it has no schema for.
#[derive(Clone, Copy)]
pub struct Schema<'a> {
    node: Option<&'a Value>,
    builtin: bool,
    forced_atomic: bool,
    /// The built-in definition this position resolved to, if any.
    def: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ListType {
    Atomic,
    Set,
    Map(Vec<String>),
}

impl<'a> Schema<'a> {
    pub fn none() -> Schema<'a> {
        Schema {
            node: None,
            builtin: false,
            forced_atomic: false,
            def: None,
        }
    }

    /// The schema of a built-in kind, if the embedded definitions know it.
    pub fn builtin(api_version: &str, kind: &str) -> Schema<'static> {
        let gvk = &builtin().gvk;
        let lookup = |v: &str| gvk.get(v).and_then(|m| m.get(kind));
        let name = lookup(api_version).or_else(|| {
            VERSION_ALIASES
                .iter()
                .find(|(new, _)| *new == api_version)
                .and_then(|(_, old)| lookup(old))
        });
        let def = name.and_then(Value::as_str);
        let node = def.and_then(definition);
        Schema {
            node,
            builtin: true,
            forced_atomic: false,
            def,
        }
    }

    /// The schema of a custom resource: its CRD version's `openAPIV3Schema`.
    pub fn crd(schema: &'a Value) -> Schema<'a> {
        Schema {
            node: Some(schema),
            builtin: false,
            forced_atomic: false,
            def: None,
        }
    }

    fn value(&self) -> Option<&'a Value> {
        self.node.map(|v| self.deref(v))
    }

    fn deref(&self, mut v: &'a Value) -> &'a Value {
        if self.builtin {
            for _ in 0..16 {
                match v.get("$ref").and_then(Value::as_str) {
                    Some(r) => match definition(r.trim_start_matches("#/definitions/")) {
                        Some(target) => v = target,
                        None => break,
                    },
                    None => break,
                }
            }
        }
        v
    }

    fn with(&self, node: Option<&'a Value>) -> Schema<'a> {
        let def = node
            .and_then(|n| n.get("$ref"))
            .and_then(Value::as_str)
            .map(|r| r.trim_start_matches("#/definitions/"));
        Schema {
            node,
            builtin: self.builtin,
            forced_atomic: false,
            def,
        }
    }

    pub fn is_known(&self) -> bool {
        self.node.is_some()
    }

    /// The schema of field `name` of an object.
    pub fn field(&self, name: &str) -> Schema<'a> {
        let Some(v) = self.value() else {
            return Schema::none();
        };
        if let Some(p) = v.get("properties").and_then(|p| p.get(name)) {
            let mut child = self.with(Some(p));
            child.forced_atomic = self.def.is_some_and(|d| ATOMIC_FIELDS.contains(&(d, name)));
            return child;
        }
        match v.get("additionalProperties") {
            Some(ap @ Value::Object(_)) => self.with(Some(ap)),
            _ => Schema::none(),
        }
    }

    /// The schema of the items of a list.
    pub fn items(&self) -> Schema<'a> {
        let Some(v) = self.value() else {
            return Schema::none();
        };
        self.with(v.get("items"))
    }

    /// Whether `name` is a declared field (for pruning unknown CRD fields).
    pub fn declares(&self, name: &str) -> Option<bool> {
        let v = self.value()?;
        if v.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
            return None;
        }
        if v.get("additionalProperties")
            .is_some_and(|ap| ap.is_object() || ap == &Value::Bool(true))
        {
            return None;
        }
        let props = v.get("properties")?;
        Some(props.get(name).is_some())
    }

    pub fn raw(&self) -> Option<&'a Value> {
        self.value()
    }

    /// How server-side apply treats a list at this position.
    pub fn list_type(&self) -> ListType {
        if self.forced_atomic {
            return ListType::Atomic;
        }
        let Some(v) = self.value() else {
            return ListType::Atomic;
        };
        let keys = || -> Option<Vec<String>> {
            if let Some(keys) = v
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
            {
                return Some(
                    keys.iter()
                        .filter_map(|k| k.as_str().map(String::from))
                        .collect(),
                );
            }
            v.get("x-kubernetes-patch-merge-key")
                .and_then(Value::as_str)
                .map(|k| vec![k.to_string()])
        };
        match v.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("map") => return ListType::Map(keys().unwrap_or_default()),
            Some("set") => return ListType::Set,
            Some("atomic") => return ListType::Atomic,
            _ => {}
        }
        if self.patch_merge() {
            return match keys() {
                Some(keys) => ListType::Map(keys),
                None => ListType::Set,
            };
        }
        ListType::Atomic
    }

    /// Strategic-merge-patch view of a list: merge by key, merge as a set, or replace.
    pub fn patch_list(&self) -> ListType {
        let Some(v) = self.value() else {
            return ListType::Atomic;
        };
        if !self.patch_merge() {
            return ListType::Atomic;
        }
        match v
            .get("x-kubernetes-patch-merge-key")
            .and_then(Value::as_str)
        {
            Some(k) => ListType::Map(vec![k.to_string()]),
            None => ListType::Set,
        }
    }

    /// kustomize's strategic merge view: associative only when the patch
    /// strategy says merge; keys from list-map-keys, else the merge key; a
    /// merge strategy without keys is a set of primitives.
    pub fn list_type_for_patch(&self) -> ListType {
        let Some(v) = self.value() else {
            return ListType::Atomic;
        };
        if !self.patch_merge() {
            return ListType::Atomic;
        }
        if let Some(keys) = v
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
        {
            return ListType::Map(
                keys.iter()
                    .filter_map(|k| k.as_str().map(String::from))
                    .collect(),
            );
        }
        match v
            .get("x-kubernetes-patch-merge-key")
            .and_then(Value::as_str)
        {
            Some(k) => ListType::Map(vec![k.to_string()]),
            None => ListType::Set,
        }
    }

    fn patch_merge(&self) -> bool {
        self.value()
            .and_then(|v| v.get("x-kubernetes-patch-strategy"))
            .and_then(Value::as_str)
            .is_some_and(|s| s.split(',').any(|p| p == "merge"))
    }

    /// Whether a map or struct at this position is one atomic value.
    pub fn atomic_map(&self) -> bool {
        if self.forced_atomic {
            return true;
        }
        let Some(raw) = self.node else {
            return false;
        };
        if let Some(r) = raw.get("$ref").and_then(Value::as_str) {
            let name = r.trim_start_matches("#/definitions/");
            if ATOMIC_DEFINITIONS.contains(&name) {
                return true;
            }
        }
        let v = self.deref(raw);
        v.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic")
            || raw.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic")
    }

    /// Whether the schema declares `x-kubernetes-int-or-string` here.
    pub fn int_or_string(&self) -> bool {
        self.value()
            .is_some_and(|v| v.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_lists_merge_like_the_server() {
        let d = Schema::builtin("apps/v1", "Deployment");
        let pod = d.field("spec").field("template").field("spec");
        assert_eq!(
            pod.field("containers").list_type(),
            ListType::Map(vec!["name".into()])
        );
        let ports = pod.field("containers").items().field("ports");
        assert_eq!(
            ports.list_type(),
            ListType::Map(vec!["containerPort".into(), "protocol".into()])
        );
        assert_eq!(
            pod.field("containers").items().field("args").list_type(),
            ListType::Atomic
        );
        assert_eq!(pod.field("tolerations").list_type(), ListType::Atomic);
        assert!(d.field("spec").field("selector").atomic_map());
        assert!(!d.field("spec").field("template").atomic_map());
        let meta = d.field("metadata");
        assert_eq!(meta.field("finalizers").list_type(), ListType::Set);
        let svc = Schema::builtin("v1", "Service");
        assert_eq!(
            svc.field("spec").field("ports").list_type(),
            ListType::Map(vec!["port".into(), "protocol".into()])
        );
        assert_eq!(
            svc.field("spec").field("ports").patch_list(),
            ListType::Map(vec!["port".into()])
        );
        assert!(Schema::builtin("autoscaling/v2", "HorizontalPodAutoscaler").is_known());
        assert!(!Schema::builtin("example.com/v1", "Widget").is_known());
        assert!(svc.field("spec").field("selector").atomic_map());
    }
}
