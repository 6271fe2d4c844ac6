//! `metadata.managedFields`: who owns which field, updated on every write the way
//! the API server's field manager does it (Update operations take what they
//! changed; Apply operations own exactly what they applied, may remove what they
//! stopped applying, and conflict with other owners).

use crate::fields::{self, FieldSet};
use crate::schema::{ListType, Schema};
use serde_json::{json, Map, Value};

/// Fields the field manager never tracks.
const UNTRACKED_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// Struct fields that Go types always serialize (non-pointer structs): on create
/// they count as already present, so they carry no `.` marker of their own.
const ALWAYS_PRESENT: &[&str] = &[
    "metadata",
    "spec",
    "status",
    "template",
    "jobTemplate",
    "strategy",
    "updateStrategy",
    "names",
];

#[derive(Debug, Clone)]
pub struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: String,
    pub fields: FieldSet,
}

impl Entry {
    fn same_owner(&self, manager: &str, operation: &str, subresource: &str) -> bool {
        self.manager == manager && self.operation == operation && self.subresource == subresource
    }

    fn describe(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            s.push_str(&format!(" with subresource {:?}", self.subresource));
        }
        if self.operation == "Update" {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }
}

/// Who is writing: the field manager, its API version and the subresource.
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub subresource: &'a str,
    pub now: &'a str,
}

pub fn decode(object: &Value) -> Vec<Entry> {
    let Some(list) = object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    list.iter()
        .map(|e| Entry {
            manager: str_of(e, "manager"),
            operation: str_of(e, "operation"),
            api_version: str_of(e, "apiVersion"),
            time: str_of(e, "time"),
            subresource: str_of(e, "subresource"),
            fields: FieldSet::from_json(e.get("fieldsV1").unwrap_or(&Value::Null)),
        })
        .collect()
}

fn str_of(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Writes the entries into `metadata.managedFields`, sorted as the server sorts
/// them: Apply before Update, then by time, then by manager name.
pub fn encode(object: &mut Value, mut entries: Vec<Entry>) {
    entries.retain(|e| !e.fields.is_empty());
    entries.sort_by(|a, b| {
        (a.operation != "Apply", &a.time, &a.manager, &a.subresource).cmp(&(
            b.operation != "Apply",
            &b.time,
            &b.manager,
            &b.subresource,
        ))
    });
    let list: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut m = Map::new();
            m.insert("manager".into(), json!(e.manager));
            m.insert("operation".into(), json!(e.operation));
            m.insert("apiVersion".into(), json!(e.api_version));
            m.insert("time".into(), json!(e.time));
            m.insert("fieldsType".into(), json!("FieldsV1"));
            m.insert("fieldsV1".into(), e.fields.to_json());
            if !e.subresource.is_empty() {
                m.insert("subresource".into(), json!(e.subresource));
            }
            Value::Object(m)
        })
        .collect();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(list));
        }
    }
}

/// The part of an object a writer through `subresource` can own.
pub fn tracked(object: &Value, subresource: &str) -> Value {
    let mut out = Map::new();
    let Value::Object(map) = object else {
        return Value::Object(out);
    };
    for (k, v) in map {
        let keep = match subresource {
            "status" => k == "status",
            _ => k != "status" && k != "apiVersion" && k != "kind",
        };
        if !keep {
            continue;
        }
        if k == "metadata" {
            let mut meta = v.as_object().cloned().unwrap_or_default();
            for f in UNTRACKED_METADATA {
                meta.remove(*f);
            }
            out.insert(k.clone(), Value::Object(meta));
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// Slices Go types serialize as `null` when unset (no omitempty).
const NULL_WHEN_UNSET: &[&str] = &["containers"];

/// What a freshly created object looked like before the write: the Go zero
/// value, i.e. the always-serialized structs, empty, and null slices.
fn skeleton(object: &Value) -> Value {
    let Value::Object(map) = object else {
        return Value::Null;
    };
    let mut out = Map::new();
    for (k, v) in map {
        if ALWAYS_PRESENT.contains(&k.as_str()) && v.is_object() {
            out.insert(k.clone(), skeleton(v));
        } else if NULL_WHEN_UNSET.contains(&k.as_str()) {
            out.insert(k.clone(), Value::Null);
        }
    }
    Value::Object(out)
}

/// Records an Update operation (create, update, any non-apply patch) by `writer`.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    writer: &Writer,
    schema: Schema,
    typed: bool,
) {
    let mut entries = old.map(decode).unwrap_or_default();
    let new_tracked = tracked(new, writer.subresource);
    let old_tracked = match old {
        Some(o) => tracked(o, writer.subresource),
        // Built-in kinds are Go structs whose non-pointer struct fields always
        // exist; an unstructured custom resource starts with metadata only.
        None if typed => skeleton(&new_tracked),
        None => json!({"metadata": {}}),
    };
    let cmp = fields::compare(&old_tracked, &new_tracked, schema);
    for e in entries.iter_mut() {
        if !e.same_owner(writer.manager, "Update", writer.subresource) {
            e.fields = e.fields.difference(&cmp.changed);
        }
        e.fields = e.fields.without_subtrees(&cmp.removed);
    }
    if !cmp.changed.is_empty() {
        match entries
            .iter_mut()
            .find(|e| e.same_owner(writer.manager, "Update", writer.subresource))
        {
            Some(e) => {
                e.fields.union(&cmp.changed);
                e.time = writer.now.to_string();
                e.api_version = writer.api_version.to_string();
            }
            None => entries.push(Entry {
                manager: writer.manager.to_string(),
                operation: "Update".into(),
                api_version: writer.api_version.to_string(),
                time: writer.now.to_string(),
                subresource: writer.subresource.to_string(),
                fields: cmp.changed.clone(),
            }),
        }
    }
    encode(new, entries);
}

/// A field owned by another manager that an apply would change.
#[derive(Debug, Clone)]
pub struct Conflict {
    pub manager: String,
    pub path: String,
}

/// Builds the 409 message exactly as the API server words it.
pub fn conflict_message(conflicts: &[Conflict]) -> String {
    let n = conflicts.len();
    let body = if n == 1 {
        format!(
            "conflict with {}: {}",
            conflicts[0].manager, conflicts[0].path
        )
    } else {
        let mut managers: Vec<&String> = conflicts.iter().map(|c| &c.manager).collect();
        managers.sort();
        managers.dedup();
        let mut lines = Vec::new();
        for m in managers {
            lines.push(format!("conflicts with {m}:"));
            for c in conflicts.iter().filter(|c| &c.manager == m) {
                lines.push(format!("- {}", c.path));
            }
        }
        lines.join("\n")
    };
    format!(
        "Apply failed with {n} conflict{}: {body}",
        if n == 1 { "" } else { "s" }
    )
}

/// Applies `config` over `live` for `writer` (server-side apply). `filled_keys`
/// are list-key fields the server defaulted into the config: they identify items
/// but are not owned. Returns the new object (untracked parts taken from `live`).
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    filled_keys: &FieldSet,
    writer: &Writer,
    force: bool,
    schema: Schema,
) -> Result<Value, Vec<Conflict>> {
    let empty = json!({});
    let live_obj = live.unwrap_or(&empty);
    let mut entries = decode(live_obj);
    let live_tracked = tracked(live_obj, writer.subresource);
    let config_tracked = tracked(config, writer.subresource);
    let mut merged = fields::merge(&live_tracked, &config_tracked, schema);
    let new_set = fields::applied_fields(&config_tracked, schema).difference(filled_keys);

    let previous = entries
        .iter()
        .position(|e| e.same_owner(writer.manager, "Apply", writer.subresource));
    if let Some(i) = previous {
        let dropped = entries[i].fields.difference(&new_set);
        let others: Vec<&Entry> = entries
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, e)| e)
            .collect();
        let mut removable = FieldSet::default();
        for path in dropped.paths() {
            if !others.iter().any(|e| e.fields.touches(&path)) && !new_set.touches(&path) {
                removable.insert(&path);
            }
        }
        fields::remove(&mut merged, &removable, schema);
        prune_emptied(&mut merged, &live_tracked, schema);
    }

    let cmp = fields::compare(&live_tracked, &merged, schema);
    let mut conflicts = Vec::new();
    for e in &entries {
        if e.same_owner(writer.manager, "Apply", writer.subresource) {
            continue;
        }
        let clash = e.fields.intersection(&cmp.changed);
        for path in clash.paths() {
            conflicts.push(Conflict {
                manager: e.describe(),
                path: fields::path_string(&path),
            });
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }
    let changed = !cmp.changed.is_empty() || !cmp.removed.is_empty();
    for e in entries.iter_mut() {
        if !e.same_owner(writer.manager, "Apply", writer.subresource) {
            e.fields = e.fields.difference(&new_set.intersection(&cmp.changed));
        }
        e.fields = e.fields.without_subtrees(&cmp.removed);
    }
    let owned_before = previous.map(|i| entries[i].fields.clone());
    match previous {
        Some(i) => {
            if changed || owned_before.as_ref() != Some(&new_set) {
                entries[i].time = writer.now.to_string();
            }
            entries[i].fields = new_set;
            entries[i].api_version = writer.api_version.to_string();
        }
        None => entries.push(Entry {
            manager: writer.manager.to_string(),
            operation: "Apply".into(),
            api_version: writer.api_version.to_string(),
            time: writer.now.to_string(),
            subresource: writer.subresource.to_string(),
            fields: new_set,
        }),
    }

    let mut out = live_obj.clone();
    if !out.is_object() {
        out = json!({});
    }
    let out_map = out.as_object_mut().expect("object");
    let merged_map = merged.as_object().cloned().unwrap_or_default();
    for (k, v) in merged_map {
        if k == "metadata" {
            let meta = out_map.entry("metadata").or_insert_with(|| json!({}));
            let mut new_meta = v.as_object().cloned().unwrap_or_default();
            // Server-owned metadata stays as stored; a create takes name and
            // namespace from the configuration.
            let source = if live.is_some() {
                meta.as_object()
            } else {
                config["metadata"].as_object()
            };
            if let Some(old) = source {
                for f in UNTRACKED_METADATA {
                    if let Some(x) = old.get(*f) {
                        new_meta.insert(f.to_string(), x.clone());
                    }
                }
            }
            *meta = Value::Object(new_meta);
        } else {
            out_map.insert(k, v);
        }
    }
    // Fields the merge removed at the top level.
    let tracked_keys: Vec<String> = live_tracked
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    for k in tracked_keys {
        if k != "metadata" && merged.get(&k).is_none() {
            out_map.remove(&k);
        }
    }
    for k in ["apiVersion", "kind"] {
        if let Some(v) = config.get(k) {
            out_map.insert(k.to_string(), v.clone());
        }
    }
    encode(&mut out, entries);
    Ok(out)
}

/// After a removal, maps that only held removed fields and did not exist in the
/// live object as non-empty maps are dropped, as structured-merge-diff does.
fn prune_emptied(value: &mut Value, live: &Value, schema: Schema) {
    if let Value::Object(map) = value {
        let keys: Vec<String> = map.keys().cloned().collect();
        for k in keys {
            let live_child = live.get(&k).unwrap_or(&Value::Null);
            let child = map.get_mut(&k).expect("key");
            prune_emptied(child, live_child, schema.field(&k));
            let emptied = child.as_object().is_some_and(|m| m.is_empty())
                && live_child.as_object().is_some_and(|m| !m.is_empty());
            if emptied {
                map.remove(&k);
            }
        }
    } else if let Value::Array(items) = value {
        if schema.list_type() != ListType::Atomic {
            for item in items.iter_mut() {
                prune_emptied(item, &Value::Null, schema.items());
            }
        }
    }
}

/// Adds list-key fields that defaulting gave `defaulted` but `config` lacks (e.g.
/// a Service port's `protocol: TCP`), and returns their paths.
pub fn fill_keys(config: &mut Value, defaulted: &Value, schema: Schema) -> FieldSet {
    let mut filled = FieldSet::default();
    fill(config, defaulted, schema, &mut Vec::new(), &mut filled);
    filled
}

fn fill(
    config: &mut Value,
    defaulted: &Value,
    schema: Schema,
    path: &mut Vec<String>,
    out: &mut FieldSet,
) {
    match (config, defaulted) {
        (Value::Object(c), Value::Object(d)) => {
            for (k, v) in c.iter_mut() {
                if let Some(dv) = d.get(k) {
                    path.push(fields::field(k));
                    fill(v, dv, schema.field(k), path, out);
                    path.pop();
                }
            }
        }
        (Value::Array(c), Value::Array(d)) if c.len() == d.len() => {
            let ListType::Map(keys) = schema.list_type() else {
                return;
            };
            for (item, ditem) in c.iter_mut().zip(d) {
                let (Some(obj), Some(dobj)) = (item.as_object_mut(), ditem.as_object()) else {
                    continue;
                };
                let mut added = Vec::new();
                for k in &keys {
                    if !obj.contains_key(k) {
                        if let Some(dv) = dobj.get(k) {
                            obj.insert(k.clone(), dv.clone());
                            added.push(k.clone());
                        }
                    }
                }
                let mut key = Map::new();
                let mut sorted = keys.clone();
                sorted.sort();
                for k in &sorted {
                    if let Some(v) = obj.get(k) {
                        key.insert(k.clone(), v.clone());
                    }
                }
                path.push(format!("k:{}", Value::Object(key)));
                for k in added {
                    path.push(fields::field(&k));
                    out.insert(path);
                    path.pop();
                }
                fill(item, ditem, schema.items(), path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer<'a>(manager: &'a str) -> Writer<'a> {
        Writer {
            manager,
            api_version: "v1",
            subresource: "",
            now: "2026-01-01T00:00:00Z",
        }
    }

    #[test]
    fn update_on_create_marks_maps_but_not_always_present_structs() {
        let mut obj = json!({"metadata": {"name": "x", "labels": {"a": "b"}}, "data": {"k": "v"}});
        record_update(None, &mut obj, &writer("creator"), Schema::none(), true);
        assert_eq!(
            obj["metadata"]["managedFields"][0]["fieldsV1"],
            json!({"f:data": {".": {}, "f:k": {}}, "f:metadata": {"f:labels": {".": {}, "f:a": {}}}})
        );
    }

    #[test]
    fn apply_conflicts_then_force_moves_ownership() {
        let schema = Schema::builtin("apps/v1", "Deployment");
        let a = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 2}});
        let live = apply(
            None,
            &a,
            &FieldSet::default(),
            &writer("mgr-a"),
            false,
            schema,
        )
        .unwrap();
        let b = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 3}});
        let err = apply(
            Some(&live),
            &b,
            &FieldSet::default(),
            &writer("mgr-b"),
            false,
            schema,
        )
        .unwrap_err();
        assert_eq!(
            conflict_message(&err),
            "Apply failed with 1 conflict: conflict with \"mgr-a\": .spec.replicas"
        );
        let forced = apply(
            Some(&live),
            &b,
            &FieldSet::default(),
            &writer("mgr-b"),
            true,
            schema,
        )
        .unwrap();
        assert_eq!(forced["spec"]["replicas"], 3);
        let entries = decode(&forced);
        assert_eq!(entries.len(), 1, "mgr-a lost its only field: {entries:?}");
        assert_eq!(entries[0].manager, "mgr-b");
    }

    #[test]
    fn reapply_removes_fields_only_the_applier_owned() {
        let schema = Schema::none();
        let w = writer("mgr-a");
        let first = json!({"metadata": {"name": "c", "labels": {"a": "1", "b": "2"}}});
        let live = apply(None, &first, &FieldSet::default(), &w, false, schema).unwrap();
        let second = json!({"metadata": {"name": "c", "labels": {"a": "1"}}});
        let live = apply(
            Some(&live),
            &second,
            &FieldSet::default(),
            &w,
            false,
            schema,
        )
        .unwrap();
        assert_eq!(live["metadata"]["labels"], json!({"a": "1"}));
        assert_eq!(live["metadata"]["name"], "c");
    }
}
