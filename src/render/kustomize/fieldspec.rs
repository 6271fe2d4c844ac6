//! kustomize's fieldspecs: "at this path, in objects of this kind" tables kept
//! as data (`data/*.yaml`, verbatim from kustomize v5.5.0), and the walk that
//! visits (and optionally creates) the fields they name.

use crate::render::fields::{text, Fields};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub path: Vec<String>,
    pub create: bool,
}

impl FieldSpec {
    pub fn new(path: &str, create: bool) -> FieldSpec {
        FieldSpec {
            group: None,
            version: None,
            kind: None,
            path: split_path(path),
            create,
        }
    }

    /// Whether the spec applies to an object of this apiVersion and kind.
    pub fn applies_to(&self, api_version: &str, kind: &str) -> bool {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        self.kind.as_deref().is_none_or(|k| k == kind)
            && self.group.as_deref().is_none_or(|g| g == group)
            && self.version.as_deref().is_none_or(|v| v == version)
    }
}

/// `a/b[]/c` and `metadata/annotations/x\/y` into segments (`[]` marks a list).
fn split_path(path: &str) -> Vec<String> {
    if !path.contains('\\') {
        return path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'/') => {
                cur.push('/');
                chars.next();
            }
            '/' => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    // A trailing `[]` marks a list: walked, never created.
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

/// Reads a fieldspec table (a YAML list of specs, or a map whose one value is
/// the list) through the general YAML reader: for user `fields`, and to check
/// the built-in tables' fast reading.
pub fn parse_table(text: &str) -> Vec<FieldSpec> {
    let docs = crate::render::yaml::parse_documents(text).unwrap_or_default();
    let list = match docs.into_iter().next() {
        Some(Value::Array(a)) => a,
        Some(Value::Object(m)) => m
            .into_iter()
            .next()
            .and_then(|(_, v)| v.as_array().cloned())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    list.iter().filter_map(from_value).collect()
}

pub fn from_value(v: &Value) -> Option<FieldSpec> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    Some(FieldSpec {
        group: s("group"),
        version: s("version"),
        kind: s("kind"),
        // Read as sigs.k8s.io/yaml reads configurations: any scalar as its text.
        path: split_path(&match v.get("path")? {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return None,
        }),
        create: v.get("create").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// One referenced kind of the nameReference table and where it is referred to.
#[derive(Debug, Clone, PartialEq)]
pub struct NameReference {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: String,
    pub referrers: Vec<FieldSpec>,
}

/// The `- key: value` entries of one of kustomize's built-in tables, with the
/// indentation of their dash. These tables are kustomize's own text (plain
/// values, two levels at most), so they are read line by line: a process that
/// renders one small tree spends less on them than on a general reader's
/// values.
fn table_entries(text: &str) -> Vec<(usize, Vec<(&str, &str)>)> {
    let mut entries: Vec<(usize, Vec<(&str, &str)>)> = Vec::new();
    for line in text.lines() {
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        let (item, body) = match content.strip_prefix("- ") {
            Some(rest) => (true, rest),
            None => (false, content),
        };
        let Some((key, value)) = body.split_once(':') else {
            continue;
        };
        let pair = (key.trim(), value.trim());
        if item {
            entries.push((indent, vec![pair]));
        } else if let Some(last) = entries.last_mut().filter(|(dash, _)| indent > *dash) {
            last.1.push(pair);
        }
    }
    entries
}

fn spec_of(pairs: &[(&str, &str)]) -> Option<FieldSpec> {
    let get = |k: &str| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    let text = |k: &str| get(k).filter(|v| !v.is_empty()).map(String::from);
    Some(FieldSpec {
        group: text("group"),
        version: text("version"),
        kind: text("kind"),
        path: split_path(get("path")?),
        create: get("create") == Some("true"),
    })
}

/// A built-in fieldspec table.
pub fn builtin_table(text: &str) -> Vec<FieldSpec> {
    table_entries(text)
        .iter()
        .filter_map(|(_, pairs)| spec_of(pairs))
        .collect()
}

/// The built-in nameReference table: referents at the outer level, their
/// referrer fieldspecs nested under them.
pub fn builtin_name_references(text: &str) -> Vec<NameReference> {
    let mut out: Vec<NameReference> = Vec::new();
    let entries = table_entries(text);
    let outer = entries.first().map_or(0, |(indent, _)| *indent);
    for (indent, pairs) in &entries {
        if *indent == outer {
            let get = |k: &str| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
            out.push(NameReference {
                group: get("group").map(String::from),
                version: get("version").map(String::from),
                kind: get("kind").unwrap_or_default().to_string(),
                referrers: Vec::new(),
            });
        } else if let (Some(last), Some(spec)) = (out.last_mut(), spec_of(pairs)) {
            last.referrers.push(spec);
        }
    }
    out
}

/// Visits every field `path` names in `obj` (lists are walked element by
/// element), creating missing maps and the leaf when `create` is set; `f`
/// gets the leaf's parent map and key.
pub fn visit(
    obj: &mut Value,
    path: &[String],
    create: bool,
    f: &mut dyn FnMut(&mut Map<String, Value>, &str),
) {
    let Some((segment, rest)) = path.split_first() else {
        return;
    };
    let list = segment.ends_with("[]");
    let first = segment.trim_end_matches("[]");
    // This segment may be created unless it is a list; deeper ones keep `create`.
    let create_here = create && !list;
    match obj {
        Value::Array(items) => {
            for item in items {
                visit(item, path, create, f);
            }
        }
        Value::Object(map) => {
            if rest.is_empty() {
                if create_here || map.field(first).is_some() {
                    f(map, first);
                }
                return;
            }
            if map.field(first).is_none() {
                if !create_here {
                    return;
                }
                map.insert(first.to_string(), Value::Object(Map::new()));
            }
            if let Some(child) = map.field_mut(first) {
                if child.is_null() && create_here {
                    *child = Value::Object(Map::new());
                }
                visit(child, rest, create, f);
            }
        }
        _ => {}
    }
}

/// Applies `f` at every field of every spec in `specs` that applies to `obj`.
pub fn apply(
    obj: &mut Value,
    specs: &[FieldSpec],
    f: &mut dyn FnMut(&mut Map<String, Value>, &str),
) {
    let (api_version, kind) = (text(obj, "apiVersion"), text(obj, "kind"));
    // Chosen before `obj` is borrowed mutably; most specs name other kinds.
    let chosen: Vec<&FieldSpec> = specs
        .iter()
        .filter(|s| s.applies_to(api_version, kind))
        .collect();
    for spec in chosen {
        visit(obj, &spec.path, spec.create, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_load_and_paths_walk_lists() {
        let builtin = crate::render::kustomize::config::Config::builtin();
        assert!(builtin
            .common_labels
            .iter()
            .any(|s| s.kind.as_deref() == Some("Deployment")
                && s.path == ["spec", "selector", "matchLabels"]));
        assert!(builtin.name_reference.iter().any(|r| r.kind == "ConfigMap"));
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"image": "a"}, {"image": "b"}]}}}});
        let mut seen = Vec::new();
        let spec = &builtin
            .images
            .iter()
            .find(|s| s.path[0] == "spec" && s.path[1] == "template")
            .unwrap()
            .path;
        assert_eq!(spec.last().unwrap(), "image");
        visit(&mut d, spec, false, &mut |m, k| seen.push(m[k].clone()));
        assert_eq!(seen, [json!("a"), json!("b")]);
        assert_eq!(
            split_path("metadata/annotations/a\\/b"),
            ["metadata", "annotations", "a/b"]
        );
        let mut sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "spec": {}});
        visit(
            &mut sts,
            &split_path("spec/volumeClaimTemplates[]/metadata/labels"),
            true,
            &mut |m, k| {
                m.insert(k.into(), json!({}));
            },
        );
        assert_eq!(sts["spec"], json!({}), "lists are never created");
    }
}
