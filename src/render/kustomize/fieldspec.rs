//! kustomize's fieldspecs: "at this path, in objects of this kind" tables kept
//! as data (`data/*.yaml`, verbatim from kustomize v5.5.0), and the walk that
//! visits (and optionally creates) the fields they name.

use serde_json::{Map, Value};
use std::sync::OnceLock;

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

/// Reads a fieldspec table (a YAML list of specs, or a map whose one value is the list).
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
        path: split_path(v.get("path")?.as_str()?),
        create: v.get("create").and_then(Value::as_bool).unwrap_or(false),
    })
}

macro_rules! table {
    ($name:ident, $file:literal) => {
        pub fn $name() -> &'static [FieldSpec] {
            static T: OnceLock<Vec<FieldSpec>> = OnceLock::new();
            T.get_or_init(|| parse_table(include_str!(concat!("data/", $file))))
        }
    };
}

table!(common_labels, "commonlabels.yaml");
table!(template_labels, "templatelabels.yaml");
table!(common_annotations, "commonannotations.yaml");
table!(images, "images.yaml");
table!(replicas, "replicas.yaml");
table!(namespace, "namespace.yaml");
table!(name_prefix, "nameprefix.yaml");
table!(name_suffix, "namesuffix.yaml");
table!(var_reference, "varreference.yaml");

/// One referenced kind of the nameReference table and where it is referred to.
#[derive(Debug, Clone, PartialEq)]
pub struct NameReference {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: String,
    pub referrers: Vec<FieldSpec>,
}

pub fn name_references() -> &'static [NameReference] {
    static T: OnceLock<Vec<NameReference>> = OnceLock::new();
    T.get_or_init(|| {
        let docs = crate::render::yaml::parse_documents(include_str!("data/namereference.yaml"))
            .unwrap_or_default();
        let list = docs
            .first()
            .and_then(|d| d.get("nameReference"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        list.iter()
            .map(|r| NameReference {
                group: r.get("group").and_then(Value::as_str).map(String::from),
                version: r.get("version").and_then(Value::as_str).map(String::from),
                kind: r
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                referrers: r
                    .get("fieldSpecs")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(from_value).collect())
                    .unwrap_or_default(),
            })
            .collect()
    })
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
                if map.contains_key(first) || create_here {
                    f(map, first);
                }
                return;
            }
            if !map.contains_key(first) {
                if !create_here {
                    return;
                }
                map.insert(first.to_string(), Value::Object(Map::new()));
            }
            if let Some(child) = map.get_mut(first) {
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
    let text = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or_default();
    let (api_version, kind) = (text("apiVersion"), text("kind"));
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
        assert!(common_labels()
            .iter()
            .any(|s| s.kind.as_deref() == Some("Deployment")
                && s.path == ["spec", "selector", "matchLabels"]));
        assert!(name_references().iter().any(|r| r.kind == "ConfigMap"));
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"image": "a"}, {"image": "b"}]}}}});
        let mut seen = Vec::new();
        let spec = &images()
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
