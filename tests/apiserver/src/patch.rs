//! The three non-apply patch types: JSON merge patch (RFC 7386), JSON patch
//! (RFC 6902) and the API server's strategic merge patch for built-in kinds.

use crate::schema::{ListType, Schema};
use serde_json::{Map, Value};

pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    let mut out = target.clone();
    json_patch::merge(&mut out, patch);
    out
}

pub fn json_patch(target: &Value, ops: &Value) -> Result<Value, String> {
    let patch: json_patch::Patch =
        serde_json::from_value(ops.clone()).map_err(|e| e.to_string())?;
    let mut out = target.clone();
    json_patch::patch(&mut out, &patch).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Strategic merge patch as kube-apiserver applies it: lists with a merge key
/// merge item by item (new items appended), `null` deletes, and the `$patch`,
/// `$retainKeys`, `$setElementOrder/…` and `$deleteFromPrimitiveList/…`
/// directives work.
pub fn strategic_merge(original: &Value, patch: &Value, schema: Schema) -> Result<Value, String> {
    match (original, patch) {
        (Value::Object(o), Value::Object(p)) => Ok(merge_map(o, p, schema)?
            .map(Value::Object)
            .unwrap_or(Value::Null)),
        (_, p) => Ok(strip(p)),
    }
}

fn merge_map(
    original: &Map<String, Value>,
    patch: &Map<String, Value>,
    schema: Schema,
) -> Result<Option<Map<String, Value>>, String> {
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut p = patch.clone();
            p.remove("$patch");
            return Ok(strip(&Value::Object(p)).as_object().cloned());
        }
        Some("delete") => return Ok(None),
        Some("merge") | None => {}
        Some(other) => return Err(format!("Unknown patch type: {other}")),
    }
    let mut out = original.clone();
    let mut orders = Vec::new();
    for (k, v) in patch {
        if k == "$patch" {
            continue;
        }
        if k == "$retainKeys" {
            let keep: Vec<&str> = v
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            out.retain(|key, _| keep.contains(&key.as_str()) || patch.contains_key(key));
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Some(remove)) = (out.get_mut(field), v.as_array()) {
                list.retain(|item| !remove.contains(item));
            }
            continue;
        }
        if let Some(field) = k.strip_prefix("$setElementOrder/") {
            orders.push((field.to_string(), v.clone()));
            continue;
        }
        if v.is_null() {
            out.remove(k);
            continue;
        }
        let child = schema.field(k);
        let merged = match (original.get(k), v) {
            (Some(Value::Object(o)), Value::Object(p)) => {
                merge_map(o, p, child)?.map(Value::Object)
            }
            (Some(Value::Array(o)), Value::Array(p)) => {
                Some(Value::Array(merge_list(o, p, child)?))
            }
            (None, Value::Object(p)) => merge_map(&Map::new(), p, child)?.map(Value::Object),
            (None, Value::Array(p)) => Some(Value::Array(merge_list(&[], p, child)?)),
            (_, p) => Some(strip(p)),
        };
        match merged {
            Some(m) => {
                out.insert(k.clone(), m);
            }
            None => {
                out.remove(k);
            }
        }
    }
    for (field, order) in orders {
        let key = match schema.field(&field).patch_list() {
            ListType::Map(keys) => keys.into_iter().next(),
            _ => None,
        };
        if let (Some(Value::Array(list)), Some(order)) = (out.get_mut(&field), order.as_array()) {
            let position = |item: &Value| -> usize {
                let probe = match &key {
                    Some(k) => item.get(k),
                    None => Some(item),
                };
                order
                    .iter()
                    .position(|o| match &key {
                        Some(k) => o.get(k) == probe,
                        None => Some(o) == probe,
                    })
                    .unwrap_or(usize::MAX)
            };
            list.sort_by_key(position);
        }
    }
    Ok(Some(out))
}

fn merge_list(original: &[Value], patch: &[Value], schema: Schema) -> Result<Vec<Value>, String> {
    if patch
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        return Ok(patch
            .iter()
            .filter(|i| i.get("$patch").is_none())
            .map(strip)
            .collect());
    }
    match schema.patch_list() {
        ListType::Atomic => Ok(patch.iter().map(strip).collect()),
        ListType::Set => {
            let mut out = original.to_vec();
            for item in patch {
                if !out.contains(item) {
                    out.push(item.clone());
                }
            }
            Ok(out)
        }
        ListType::Map(keys) => {
            let key = keys.first().cloned().unwrap_or_default();
            let mut out = original.to_vec();
            for item in patch {
                let Some(obj) = item.as_object() else {
                    out.push(item.clone());
                    continue;
                };
                let id = obj.get(&key);
                let found = out.iter().position(|o| id.is_some() && o.get(&key) == id);
                let directive = obj.get("$patch").and_then(Value::as_str);
                match (found, directive) {
                    (Some(i), Some("delete")) => {
                        out.remove(i);
                    }
                    (None, Some("delete")) => {}
                    (Some(i), _) => {
                        let merged = match &out[i] {
                            Value::Object(o) => {
                                merge_map(o, obj, schema.items())?.map(Value::Object)
                            }
                            _ => Some(strip(item)),
                        };
                        match merged {
                            Some(m) => out[i] = m,
                            None => {
                                out.remove(i);
                            }
                        }
                    }
                    (None, _) => {
                        if let Some(m) = merge_map(&Map::new(), obj, schema.items())? {
                            out.push(Value::Object(m));
                        }
                    }
                }
            }
            Ok(out)
        }
    }
}

/// Removes patch directives from a value that is inserted whole.
fn strip(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_merge_by_name_and_delete_directive_removes() {
        let schema = Schema::builtin("apps/v1", "Deployment");
        let d = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "a"}]}}}});
        let added = strategic_merge(
            &d,
            &json!({"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "s"}]}}}}),
            schema,
        )
        .unwrap();
        let names: Vec<&str> = added["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["app", "sidecar"]);
        let removed = strategic_merge(
            &added,
            &json!({"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}}),
            schema,
        )
        .unwrap();
        assert_eq!(removed, d);
    }

    #[test]
    fn null_deletes_and_atomic_lists_are_replaced() {
        let schema = Schema::builtin("apps/v1", "Deployment");
        let d = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"template": {"spec": {"containers": [{"name": "c", "args": ["x", "y"]}]}}}});
        let p = json!({"metadata": {"labels": {"a": null}}, "spec": {"template": {"spec": {"containers": [{"name": "c", "args": ["z"]}]}}}});
        let out = strategic_merge(&d, &p, schema).unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"b": "2"}));
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][0]["args"],
            json!(["z"])
        );
    }
}
