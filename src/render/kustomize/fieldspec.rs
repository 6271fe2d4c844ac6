//! kustomize's fieldspecs: "at this path, in objects of this kind" tables kept
//! as data (`data/*.yaml`, verbatim from kustomize v5.5.0), and the walk that
//! visits (and optionally creates) the fields they name.

use crate::render::fields::{text, Fields};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Text of a fieldspec: borrowed from the built-in tables (compiled in, so a
/// process that renders one small tree builds none of them), or read from a
/// kustomization's own files.
pub type Text = Cow<'static, str>;

/// A fieldspec table: the built-in one borrowed, or one of its own once
/// something is added to it.
pub type Specs = Cow<'static, [FieldSpec]>;

#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    pub group: Option<Text>,
    pub version: Option<Text>,
    pub kind: Option<Text>,
    pub path: Cow<'static, [Text]>,
    pub create: bool,
}

impl FieldSpec {
    pub fn new(path: &str, create: bool) -> FieldSpec {
        FieldSpec {
            group: None,
            version: None,
            kind: None,
            path: Cow::Owned(split_path(path)),
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
fn split_path(path: &str) -> Vec<Text> {
    if !path.contains('\\') {
        return path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| Cow::Owned(s.to_string()))
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
    out.into_iter()
        .filter(|s| !s.is_empty())
        .map(Cow::Owned)
        .collect()
}

/// Reads a fieldspec table (a YAML list of specs, or a map whose one value is
/// the list) through the general YAML reader (how the built-in tables are
/// compiled in: `config::tests::builtin_config_is_generated`).
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
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(|s| Cow::Owned(s.to_string()))
    };
    Some(FieldSpec {
        group: s("group"),
        version: s("version"),
        kind: s("kind"),
        // Read as sigs.k8s.io/yaml reads configurations: any scalar as its text.
        path: Cow::Owned(split_path(&match v.get("path")? {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return None,
        })),
        create: v.get("create").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// One referenced kind of the nameReference table and where it is referred to.
#[derive(Debug, Clone, PartialEq)]
pub struct NameReference {
    pub group: Option<Text>,
    pub version: Option<Text>,
    pub kind: Text,
    pub referrers: Specs,
}

/// Visits every field `path` names in `obj` (lists are walked element by
/// element), creating missing maps and the leaf when `create` is set; `f`
/// gets the leaf's parent map and key.
pub fn visit(
    obj: &mut Value,
    path: &[Text],
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
                && s.path[..] == ["spec", "selector", "matchLabels"]));
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
