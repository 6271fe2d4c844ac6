//! `ignoreDifferences`: fields of chosen objects that never count as drift,
//! named by JSON pointer, by jq path expression (evaluated with jaq) or by the
//! field managers that own them. skiff also keeps the live value of these
//! fields when it applies (what Argo CD does with RespectIgnoreDifferences),
//! so a sync never undoes what an autoscaler or an injector set there.

use crate::application::ResourceIgnoreDifferences;
use jaq_core::load::{Arena, File, Loader};
use jaq_core::{data, unwrap_valr, Compiler, Ctx, Vars};
use jaq_json::Val;
use serde::Deserialize;
use serde_json::{Map, Value};

type Filter = jaq_core::compile::Filter<jaq_core::Native<data::JustLut<Val>>>;

/// One step of a path into an object.
#[derive(Debug, Clone, PartialEq)]
pub enum Seg {
    Key(String),
    Index(usize),
    /// The list element whose fields equal these (managedFields' `k:`).
    Match(Map<String, Value>),
    /// The set element equal to this (managedFields' `v:`).
    Item(Value),
}

struct Rule {
    group: String,
    kind: String,
    name: String,
    namespace: String,
    pointers: Vec<Vec<Seg>>,
    jq: Vec<Filter>,
    managers: Vec<String>,
}

/// The app's compiled `ignoreDifferences`.
#[derive(Default)]
pub struct Ignore {
    rules: Vec<Rule>,
}

fn pointer(text: &str) -> Vec<Seg> {
    text.split('/')
        .skip(1)
        .map(|s| Seg::Key(s.replace("~1", "/").replace("~0", "~")))
        .collect()
}

fn compile_jq(code: &str) -> Result<Filter, String> {
    let program = format!("path({code})");
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let arena = Arena::default();
    let modules = Loader::new(defs)
        .load(
            &arena,
            File {
                code: program.as_str(),
                path: (),
            },
        )
        .map_err(|e| format!("does not parse: {e:?}"))?;
    Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|e| format!("does not compile: {e:?}"))
}

/// The paths a jq path expression selects in `obj`; none when it fails there.
fn jq_paths(filter: &Filter, obj: &Value) -> Vec<Vec<Seg>> {
    let Ok(input) = Val::deserialize(obj) else {
        return Vec::new();
    };
    let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
    filter
        .id
        .run((ctx, input))
        .map(unwrap_valr)
        .filter_map(Result::ok)
        .filter_map(|path| serde_json::from_str::<Vec<Value>>(&path.to_string()).ok())
        .map(|steps| {
            steps
                .into_iter()
                .map(|s| match s {
                    Value::Number(n) => Seg::Index(n.as_u64().unwrap_or(0) as usize),
                    Value::String(k) => Seg::Key(k),
                    other => Seg::Key(other.to_string()),
                })
                .collect()
        })
        .collect()
}

/// The fields a managedFields `fieldsV1` set names, as paths.
pub fn managed_paths(fields_v1_set: &Value) -> Vec<Vec<Seg>> {
    let mut out = Vec::new();
    fields_v1(fields_v1_set, &mut Vec::new(), &mut out);
    out
}

fn fields_v1(set: &Value, prefix: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    let Some(map) = set.as_object() else { return };
    // "." owns the list element itself.
    if map.contains_key(".") && !prefix.is_empty() {
        out.push(prefix.clone());
    }
    let mut leaf = true;
    for (k, child) in map {
        let seg = if let Some(name) = k.strip_prefix("f:") {
            Seg::Key(name.to_string())
        } else if let Some(keys) = k.strip_prefix("k:") {
            match serde_json::from_str(keys) {
                Ok(Value::Object(m)) => Seg::Match(m),
                _ => continue,
            }
        } else if let Some(v) = k.strip_prefix("v:") {
            match serde_json::from_str(v) {
                Ok(v) => Seg::Item(v),
                _ => continue,
            }
        } else if let Some(i) = k.strip_prefix("i:") {
            Seg::Index(i.parse().unwrap_or(0))
        } else {
            continue;
        };
        leaf = false;
        prefix.push(seg);
        fields_v1(child, prefix, out);
        prefix.pop();
    }
    if leaf && !prefix.is_empty() {
        out.push(prefix.clone());
    }
}

/// A list element whose fields equal `keys` (a managedFields `k:` key).
fn has_fields(element: &Value, keys: &Map<String, Value>) -> bool {
    keys.iter().all(|(k, want)| element.get(k) == Some(want))
}

fn step<'a>(v: &'a Value, seg: &Seg) -> Option<&'a Value> {
    match (v, seg) {
        (Value::Object(m), Seg::Key(k)) => m.get(k),
        (Value::Array(a), Seg::Index(i)) => a.get(*i),
        (Value::Array(a), Seg::Key(k)) => a.get(k.parse::<usize>().ok()?),
        (Value::Array(a), Seg::Match(keys)) => a.iter().find(|e| has_fields(e, keys)),
        (Value::Array(a), Seg::Item(item)) => a.iter().find(|e| *e == item),
        _ => None,
    }
}

fn step_mut<'a>(v: &'a mut Value, seg: &Seg) -> Option<&'a mut Value> {
    match (v, seg) {
        (Value::Object(m), Seg::Key(k)) => m.get_mut(k),
        (Value::Array(a), Seg::Index(i)) => a.get_mut(*i),
        (Value::Array(a), Seg::Key(k)) => a.get_mut(k.parse::<usize>().ok()?),
        (Value::Array(a), Seg::Match(keys)) => a.iter_mut().find(|e| has_fields(e, keys)),
        (Value::Array(a), Seg::Item(item)) => a.iter_mut().find(|e| *e == item),
        _ => None,
    }
}

pub fn get<'a>(v: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    path.iter().try_fold(v, step)
}

/// Removes the field at `path`, if it is there.
pub fn remove(v: &mut Value, path: &[Seg]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let Some(parent) = parents.iter().try_fold(v, |v, s| step_mut(v, s)) else {
        return;
    };
    match (parent, last) {
        (Value::Object(m), Seg::Key(k)) => {
            m.shift_remove(k);
        }
        (Value::Array(a), seg) => {
            let at = match seg {
                Seg::Index(i) => Some(*i),
                Seg::Key(k) => k.parse().ok(),
                Seg::Match(keys) => a.iter().position(|e| has_fields(e, keys)),
                Seg::Item(item) => a.iter().position(|e| e == item),
            };
            if let Some(i) = at.filter(|i| *i < a.len()) {
                a.remove(i);
            }
        }
        _ => {}
    }
}

/// Sets the field at `path` to `value` where its parent exists (map keys only).
fn set(v: &mut Value, path: &[Seg], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let Some(parent) = parents.iter().try_fold(v, |v, s| step_mut(v, s)) else {
        return;
    };
    match (parent, last) {
        (Value::Object(m), Seg::Key(k)) => {
            m.insert(k.clone(), value);
        }
        (parent, seg) => {
            if let Some(slot) = step_mut(parent, seg) {
                *slot = value;
            }
        }
    }
}

impl Ignore {
    /// Compiles `spec.ignoreDifferences`; an error names the entry and field.
    pub fn compile(entries: &[ResourceIgnoreDifferences]) -> Result<Ignore, String> {
        let mut rules = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let mut jq = Vec::new();
            for (j, code) in e.jq_path_expressions.iter().enumerate() {
                jq.push(compile_jq(code).map_err(|m| {
                    format!("spec.ignoreDifferences[{i}].jqPathExpressions[{j}] {code:?}: {m}")
                })?);
            }
            for (j, p) in e.json_pointers.iter().enumerate() {
                if !p.is_empty() && !p.starts_with('/') {
                    return Err(format!(
                        "spec.ignoreDifferences[{i}].jsonPointers[{j}] {p:?}: a JSON pointer starts with /"
                    ));
                }
            }
            rules.push(Rule {
                group: e.group.clone(),
                kind: e.kind.clone(),
                name: e.name.clone(),
                namespace: e.namespace.clone(),
                pointers: e.json_pointers.iter().map(|p| pointer(p)).collect(),
                jq,
                managers: e.managed_fields_managers.clone(),
            });
        }
        Ok(Ignore { rules })
    }

    fn matching<'a>(&'a self, obj: &'a Value) -> impl Iterator<Item = &'a Rule> + 'a {
        let text = |v: &'a Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
        let meta = obj.get("metadata").unwrap_or(&Value::Null);
        let group = text(obj, "apiVersion")
            .split_once('/')
            .map_or("", |(g, _)| g);
        let (kind, name, namespace) = (
            text(obj, "kind"),
            text(meta, "name"),
            text(meta, "namespace"),
        );
        self.rules.iter().filter(move |r| {
            (r.group == group || r.group == "*")
                && (r.kind == kind || r.kind == "*")
                && (r.name.is_empty() || r.name == name)
                && (r.namespace.is_empty() || r.namespace == namespace)
        })
    }

    /// The ignored fields of this object: pointers, jq paths in either
    /// version, and what the named managers own in the live one.
    pub fn paths(&self, live: &Value, desired: &Value) -> Vec<Vec<Seg>> {
        let mut out = Vec::new();
        for rule in self.matching(live) {
            out.extend(rule.pointers.iter().cloned());
            for f in &rule.jq {
                out.extend(jq_paths(f, live));
                out.extend(jq_paths(f, desired));
            }
            let managed = live
                .pointer("/metadata/managedFields")
                .and_then(Value::as_array);
            for entry in managed.into_iter().flatten() {
                let manager = entry.get("manager").and_then(Value::as_str);
                if manager.is_some_and(|m| rule.managers.iter().any(|r| r == m)) {
                    if let Some(set) = entry.get("fieldsV1") {
                        fields_v1(set, &mut Vec::new(), &mut out);
                    }
                }
            }
        }
        out
    }

    /// Gives `desired` the live value of every ignored field, so applying it
    /// leaves those fields as they are.
    pub fn keep_live(&self, desired: &mut Value, live: &Value) {
        for path in self.paths(live, desired) {
            match get(live, &path) {
                Some(v) => set(desired, &path, v.clone()),
                None => remove(desired, &path),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: Value) -> Ignore {
        Ignore::compile(&[serde_json::from_value(v).unwrap()]).unwrap()
    }

    #[test]
    fn pointers_jq_and_managers_name_fields() {
        let live = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "a",
            "managedFields": [{"manager": "hpa", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
                              {"manager": "injector", "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"sidecar\"}": {".": {}, "f:image": {}}}}}}}}]},
            "spec": {"replicas": 5, "template": {"spec": {"containers": [{"name": "web", "image": "web:2"}, {"name": "sidecar", "image": "proxy:1"}]}}}});
        let mut desired = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "a"},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "web", "image": "web:1"}]}}}});
        let by_manager = rule(
            json!({"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["hpa", "injector"]}),
        );
        let paths = by_manager.paths(&live, &desired);
        assert!(paths.contains(&vec![Seg::Key("spec".into()), Seg::Key("replicas".into())]));
        let by_jq = rule(
            json!({"group": "apps", "kind": "Deployment", "jqPathExpressions": [".spec.template.spec.containers[] | select(.name == \"web\") | .image"]}),
        );
        assert_eq!(
            by_jq.paths(&live, &desired)[0],
            [
                Seg::Key("spec".into()),
                Seg::Key("template".into()),
                Seg::Key("spec".into()),
                Seg::Key("containers".into()),
                Seg::Index(0),
                Seg::Key("image".into())
            ]
        );
        by_jq.keep_live(&mut desired, &live);
        assert_eq!(
            desired["spec"]["template"]["spec"]["containers"][0]["image"],
            "web:2"
        );
        let by_pointer = rule(
            json!({"group": "apps", "kind": "Deployment", "name": "web", "jsonPointers": ["/spec/replicas"]}),
        );
        by_pointer.keep_live(&mut desired, &live);
        assert_eq!(desired["spec"]["replicas"], 5);
        let other = rule(
            json!({"group": "apps", "kind": "Deployment", "name": "api", "jsonPointers": ["/spec/replicas"]}),
        );
        assert!(other.paths(&live, &desired).is_empty(), "another name");

        let mut list = json!({"c": [{"name": "a"}, {"name": "sidecar", "image": "x"}]});
        remove(
            &mut list,
            &[
                Seg::Key("c".into()),
                Seg::Match(json!({"name": "sidecar"}).as_object().unwrap().clone()),
            ],
        );
        assert_eq!(list, json!({"c": [{"name": "a"}]}));
    }

    #[test]
    fn bad_entries_are_errors_naming_them() {
        let bad_jq = Ignore::compile(&[serde_json::from_value(
            json!({"kind": "Deployment", "jqPathExpressions": [".spec | select("]}),
        )
        .unwrap()]);
        assert!(bad_jq.err().unwrap().starts_with(
            "spec.ignoreDifferences[0].jqPathExpressions[0] \".spec | select(\": does not parse"
        ));
        let bad_pointer = Ignore::compile(&[serde_json::from_value(
            json!({"kind": "Deployment", "jsonPointers": ["spec/replicas"]}),
        )
        .unwrap()]);
        assert_eq!(bad_pointer.err().unwrap(), "spec.ignoreDifferences[0].jsonPointers[0] \"spec/replicas\": a JSON pointer starts with /");
    }
}
