//! Patches as kustomize v5 applies them: its own strategic merge (patch items
//! first, `$patch` directives, `null` deletes, lists of kinds it has no schema
//! for replaced whole) and JSON6902, aimed by target selectors.

use super::Res;
use crate::render::schema::{ListType, Schema};
use crate::render::selector::LabelSelector;
use serde_json::{Map, Value};

/// Merges `patch` into `original` with kustomize's strategic merge. `None`
/// means the patch deleted the object (`$patch: delete`).
pub fn strategic_merge(original: &Value, patch: &Value, schema: Schema) -> Option<Value> {
    match (original, patch) {
        (Value::Object(o), Value::Object(p)) => merge_map(o, p, schema).map(Value::Object),
        (_, p) => Some(p.clone()),
    }
}

fn directive(m: &Map<String, Value>) -> Option<&str> {
    m.get("$patch").and_then(Value::as_str)
}

/// A map the patch adds: kyaml walks it as it merges, which drops its
/// `$patch` directive and, at every depth, the fields it sets to null.
fn without_directive(m: &Map<String, Value>) -> Map<String, Value> {
    fn strip(v: &Value) -> Option<Value> {
        match v {
            Value::Null => None,
            Value::Object(m) if directive(m) == Some("delete") => None,
            Value::Object(m) => Some(Value::Object(
                m.iter()
                    .filter(|(k, _)| *k != "$patch")
                    .filter_map(|(k, v)| strip(v).map(|v| (k.clone(), v)))
                    .collect(),
            )),
            Value::Array(a) => Some(Value::Array(
                a.iter()
                    .map(|i| match i {
                        Value::Object(_) => strip(i).unwrap_or(Value::Null),
                        other => other.clone(),
                    })
                    .collect(),
            )),
            other => Some(other.clone()),
        }
    }
    let mut out: Map<String, Value> = m
        .iter()
        .filter_map(|(k, v)| strip(v).map(|v| (k.clone(), v)))
        .collect();
    out.remove("$patch");
    out
}

fn merge_map(
    original: &Map<String, Value>,
    patch: &Map<String, Value>,
    schema: Schema,
) -> Option<Map<String, Value>> {
    match directive(patch) {
        Some("delete") => return None,
        Some("replace") => return Some(without_directive(patch)),
        _ => {}
    }
    let mut out = original.clone();
    for (k, pv) in patch {
        if k == "$patch" {
            continue;
        }
        if pv.is_null() {
            out.remove(k);
            continue;
        }
        let child = schema.field(k);
        let merged = match (original.get(k), pv) {
            (Some(Value::Object(o)), Value::Object(p)) => merge_map(o, p, child).map(Value::Object),
            (Some(Value::Array(o)), Value::Array(p)) => Some(Value::Array(merge_list(o, p, child))),
            (None, Value::Object(p)) => match directive(p) {
                Some("delete") => None,
                _ => Some(Value::Object(without_directive(p))),
            },
            // kyaml keeps the written style of the value it replaces: a
            // number or boolean patched over a quoted string is a string.
            (Some(Value::String(o)), p @ (Value::Number(_) | Value::Bool(_)))
                if crate::render::yaml::kyaml::needs_quotes(o) =>
            {
                Some(Value::String(p.to_string()))
            }
            (_, p) => Some(p.clone()),
        };
        match merged {
            Some(v) => {
                out.insert(k.clone(), v);
            }
            None => {
                out.remove(k);
            }
        }
    }
    Some(out)
}

/// Whether two list items are the same element under `keys` (a key missing on
/// one side matches any value, as kyaml's multi-key matching does).
fn same_item(a: &Value, b: &Value, keys: &[String]) -> bool {
    let mut compared = false;
    for k in keys {
        match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) if x != y => return false,
            (Some(_), Some(_)) => compared = true,
            _ => {}
        }
    }
    compared
}

fn merge_list(original: &[Value], patch: &[Value], schema: Schema) -> Vec<Value> {
    if patch
        .iter()
        .any(|p| p.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        return patch
            .iter()
            .filter(|p| p.get("$patch").is_none())
            .cloned()
            .collect();
    }
    let keys = schema.patch_list_keys();
    // kyaml's walk of a list merged by key drops the items that are empty maps.
    let kept: Vec<Value>;
    let original = match &keys {
        Some(k) if !k.is_empty() => {
            kept = original
                .iter()
                .filter(|o| !o.as_object().is_some_and(Map::is_empty))
                .cloned()
                .collect();
            &kept[..]
        }
        _ => original,
    };
    match keys {
        None => patch.to_vec(),
        Some(keys) if keys.is_empty() => {
            // A set of primitives: the patch's values first, then the rest.
            let mut out: Vec<Value> = patch.to_vec();
            out.extend(original.iter().filter(|v| !patch.contains(v)).cloned());
            out
        }
        Some(keys)
            if keys.len() > 1
                && original
                    .iter()
                    .chain(patch)
                    .all(|i| keys.iter().all(|k| i.get(k).is_some())) =>
        {
            // Every element carries every list-map key: kyaml merges on all of
            // them; merged elements keep the original's order and new ones
            // come first, in the patch's order (ListIncreaseDirection: Prepend).
            let mut out = original.to_vec();
            let mut added = Vec::new();
            for p in patch {
                let delete = p.get("$patch").and_then(Value::as_str) == Some("delete");
                match out.iter().position(|o| same_item(o, p, &keys)) {
                    Some(i) if delete => {
                        out.remove(i);
                    }
                    Some(i) => {
                        if let (Value::Object(o), Value::Object(pm)) = (&out[i], p) {
                            match merge_map(o, pm, schema.items()) {
                                Some(m) => out[i] = Value::Object(m),
                                None => {
                                    out.remove(i);
                                }
                            }
                        }
                    }
                    None if delete => {}
                    None => added.push(match p {
                        Value::Object(m) => Value::Object(without_directive(m)),
                        other => other.clone(),
                    }),
                }
            }
            added.extend(out);
            added
        }
        Some(keys) => {
            // Otherwise the patch merge key alone (the first list-map key) decides,
            // and patch elements come first (kustomize's ListIncreaseDirection: Prepend).
            let keys = vec![keys[0].clone()];
            let mut used = vec![false; original.len()];
            let mut out = Vec::with_capacity(original.len() + patch.len());
            for p in patch {
                let found = original
                    .iter()
                    .enumerate()
                    .position(|(i, o)| !used[i] && same_item(o, p, &keys));
                let delete = p.get("$patch").and_then(Value::as_str) == Some("delete");
                match found {
                    Some(i) => {
                        used[i] = true;
                        if !delete {
                            match (&original[i], p) {
                                (Value::Object(o), Value::Object(pm)) => {
                                    if let Some(m) = merge_map(o, pm, schema.items()) {
                                        out.push(Value::Object(m));
                                    }
                                }
                                _ => out.push(p.clone()),
                            }
                        }
                    }
                    None if delete => {}
                    None => out.push(match p {
                        Value::Object(m) => Value::Object(without_directive(m)),
                        other => other.clone(),
                    }),
                }
            }
            out.extend(
                original
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !used[*i])
                    .map(|(_, o)| o.clone()),
            );
            out
        }
    }
}

impl Schema<'_> {
    /// kustomize's view of a list: `Some(keys)` merges by key (empty keys: a
    /// set of primitives), `None` replaces the list.
    fn patch_list_keys(&self) -> Option<Vec<String>> {
        match self.list_type_for_patch() {
            ListType::Map(keys) => Some(keys),
            ListType::Set => Some(Vec::new()),
            ListType::Atomic => None,
        }
    }
}

/// Drops the fields the resource left empty (`key:`), as kustomize's merge
/// walk drops them when a strategic merge patch meets the object: in maps
/// and in the items of lists merged by key (a list replaced whole is not
/// walked). Once merged, none are left to track.
pub fn drop_empty_fields(r: &mut Res) {
    let pointers = std::mem::take(&mut r.empty_fields);
    let root = r.schema();
    for pointer in pointers {
        let segments: Vec<String> = pointer
            .split('/')
            .skip(1)
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect();
        let Some((last, parents)) = segments.split_last() else {
            continue;
        };
        if let Some(m) = walked_parent(&mut r.manifest.object, parents, root) {
            // Null, or the empty string go-yaml reads `{key: }` as.
            if m.get(last)
                .is_some_and(|v| v.is_null() || v.as_str() == Some(""))
            {
                m.remove(last);
            }
        }
    }
}

/// The map at `path` if kustomize's merge walk reaches it: through maps, and
/// through the items of lists merged by key.
fn walked_parent<'v>(
    v: &'v mut Value,
    path: &[String],
    schema: Schema,
) -> Option<&'v mut Map<String, Value>> {
    let Some((seg, rest)) = path.split_first() else {
        return v.as_object_mut();
    };
    match v {
        Value::Object(m) => walked_parent(m.get_mut(seg)?, rest, schema.field(seg)),
        Value::Array(items) if schema.patch_list_keys().is_some_and(|k| !k.is_empty()) => {
            let item = items.get_mut(seg.parse::<usize>().ok()?)?;
            walked_parent(item, rest, schema.items())
        }
        _ => None,
    }
}

/// Reads a JSON6902 patch (a list of operations).
pub fn json6902_ops(ops: &Value) -> Result<json_patch::Patch, String> {
    serde_json::from_value(ops.clone()).map_err(|e| format!("not a JSON6902 patch: {e}"))
}

/// Applies a JSON6902 patch. As kustomize does, an `add` first creates the
/// maps (or lists, before an index) its path lacks, and a `replace` of a key
/// a map lacks adds it (the json-patch kustomize uses only checks that the
/// map is there).
pub fn json6902(target: Value, patch: &json_patch::Patch) -> Result<Value, String> {
    use json_patch::{AddOperation, PatchOperation};
    let mut out = target;
    for (i, op) in patch.0.iter().enumerate() {
        let adding;
        let op = match op {
            PatchOperation::Add(add) => {
                ensure_parents(&mut out, &add.path.to_string());
                op
            }
            PatchOperation::Replace(r) if missing_key_of_a_map(&out, &r.path.to_string()) => {
                adding = PatchOperation::Add(AddOperation {
                    path: r.path.clone(),
                    value: r.value.clone(),
                });
                &adding
            }
            other => other,
        };
        json_patch::patch(&mut out, std::slice::from_ref(op)).map_err(|e| {
            // The crate numbers the operation within the one-op patch it was given.
            e.to_string()
                .replacen("operation '/0'", &format!("operation '/{i}'"), 1)
        })?;
    }
    Ok(out)
}

/// Whether `path` names a key its (existing) parent map does not have.
fn missing_key_of_a_map(doc: &Value, path: &str) -> bool {
    let Some((parent, key)) = path.rsplit_once('/') else {
        return false;
    };
    let key = key.replace("~1", "/").replace("~0", "~");
    let parent = if parent.is_empty() {
        Some(doc)
    } else {
        doc.pointer(parent)
    };
    parent
        .and_then(Value::as_object)
        .is_some_and(|m| !m.contains_key(&key))
}

fn ensure_parents(doc: &mut Value, path: &str) {
    let segments: Vec<String> = path
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((_, parents)) = segments.split_last() else {
        return;
    };
    let mut at = doc;
    for (i, key) in parents.iter().enumerate() {
        let next_is_index = segments[i + 1] == "-" || segments[i + 1].parse::<usize>().is_ok();
        at = match at {
            Value::Object(m) => {
                let slot = m.entry(key.clone()).or_insert(Value::Null);
                if slot.is_null() {
                    *slot = if next_is_index {
                        Value::Array(Vec::new())
                    } else {
                        Value::Object(Map::new())
                    };
                }
                slot
            }
            Value::Array(items) => match key.parse::<usize>().ok().and_then(|n| items.get_mut(n)) {
                Some(item) => item,
                None => return,
            },
            _ => return,
        };
    }
}

/// A `target` selector of `patches`/`replacements`; patterns are anchored
/// regular expressions, compiled once.
#[derive(Debug, Default, Clone)]
pub struct Selector {
    group: Option<regex_lite::Regex>,
    version: Option<regex_lite::Regex>,
    kind: Option<regex_lite::Regex>,
    name: Option<regex_lite::Regex>,
    namespace: Option<regex_lite::Regex>,
    label_selector: Option<LabelSelector>,
    annotation_selector: Option<LabelSelector>,
}

impl Selector {
    pub fn from_value(v: &Value) -> Result<Selector, String> {
        let re = |k: &str| -> Result<Option<regex_lite::Regex>, String> {
            match v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(p) => regex_lite::Regex::new(&format!("^(?:{p})$"))
                    .map(Some)
                    .map_err(|e| format!("target.{k}: bad pattern {p:?}: {e}")),
            }
        };
        Ok(Selector {
            group: re("group")?,
            version: re("version")?,
            kind: re("kind")?,
            name: re("name")?,
            namespace: re("namespace")?,
            label_selector: parse_selector("labelSelector", v)?,
            annotation_selector: parse_selector("annotationSelector", v)?,
        })
    }

    /// kustomize's `Select`: the name and namespace may match the object's
    /// first (as written) or current ones; no namespace is `default`, and a
    /// cluster-scoped object has none a pattern could match.
    pub fn matches(&self, r: &Res) -> bool {
        let (group, version) = r.group_version();
        let field = |re: &Option<regex_lite::Regex>, have: &str| {
            re.as_ref().is_none_or(|re| re.is_match(have))
        };
        field(&self.group, group)
            && field(&self.version, version)
            && field(&self.kind, r.kind())
            && (field(&self.name, r.org_name()) || field(&self.name, r.name()))
            && (self.namespace.is_none()
                || field(&self.namespace, &r.org_namespace())
                || field(&self.namespace, &r.effective_namespace()))
            && self
                .label_selector
                .as_ref()
                .is_none_or(|l| l.matches(r.object.get("metadata").and_then(|m| m.get("labels"))))
            && self.annotation_selector.as_ref().is_none_or(|a| {
                a.matches(r.object.get("metadata").and_then(|m| m.get("annotations")))
            })
    }
}

fn parse_selector(field: &str, v: &Value) -> Result<Option<LabelSelector>, String> {
    match v
        .get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
    {
        None => Ok(None),
        Some(sel) => LabelSelector::parse(sel)
            .map(Some)
            .map_err(|e| format!("target.{field}: cannot parse {sel:?}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patch_items_come_first_unless_every_key_is_present() {
        let schema = Schema::builtin("apps/v1", "Deployment")
            .field("spec")
            .field("template")
            .field("spec")
            .field("containers");
        let original = json!([{"name": "app", "image": "nginx", "ports": [{"containerPort": 53, "protocol": "TCP"}, {"containerPort": 53, "protocol": "UDP"}]}]);
        let patch = json!([{"name": "sidecar", "image": "busybox"}, {"name": "app", "ports": [{"containerPort": 53, "protocol": "UDP", "name": "dns"}]}]);
        let out = merge_list(
            original.as_array().unwrap(),
            patch.as_array().unwrap(),
            schema,
        );
        assert_eq!(out[0]["name"], "sidecar");
        assert_eq!(out[1]["image"], "nginx");
        // Every port carries both list-map keys: the original order stays, as kubectl keeps it.
        assert_eq!(
            out[1]["ports"],
            json!([{"containerPort": 53, "protocol": "TCP"}, {"containerPort": 53, "protocol": "UDP", "name": "dns"}])
        );
    }

    #[test]
    fn delete_directive_and_null() {
        let schema = Schema::builtin("v1", "ConfigMap");
        let out = strategic_merge(
            &json!({"data": {"a": "1", "b": "2"}}),
            &json!({"data": {"a": null}}),
            schema,
        )
        .unwrap();
        assert_eq!(out, json!({"data": {"b": "2"}}));
        assert!(
            strategic_merge(&json!({"data": {}}), &json!({"$patch": "delete"}), schema).is_none()
        );
    }

    #[test]
    fn selectors() {
        let r = Res::new(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}, "annotations": {"expose": "yes"}}}));
        let sel = |v: Value| Selector::from_value(&v).unwrap().matches(&r);
        assert!(sel(
            json!({"labelSelector": "app=web,tier in (front,back)", "kind": "Deploy.*"})
        ));
        assert!(!sel(json!({"labelSelector": "app!=web"})));
        assert!(sel(
            json!({"labelSelector": "!missing", "annotationSelector": "expose=yes"})
        ));
        assert!(!sel(json!({"group": "batch", "name": "web"})));
        assert!(Selector::from_value(&json!({"labelSelector": "app in (a"})).is_err());
    }
}
