//! What kustomize does once, at the top of a build: hash suffixes on generated
//! names, name references brought up to date, local-config objects dropped, and
//! the legacy kind order.

use super::fieldspec::Text;
use super::generate;
use super::KustomizeError;
use super::Res;
use crate::render::fields::Fields;
use serde_json::Value;
use std::borrow::Cow;
use std::cmp::Ordering;

pub fn hash_suffixes(resources: &mut [Res]) {
    for r in resources.iter_mut().filter(|r| r.hash_suffix) {
        let h = generate::hash(&r.object);
        let name = format!("{}-{h}", r.name());
        r.store_previous_id();
        r.set_name(&name);
    }
}

/// kustomize writes every object's `metadata.annotations` anew at the end of
/// a build (its own bookkeeping annotations come off): each value as text,
/// and no field at all when none is left (`annotations: {}`, `null` or
/// anything else that is not a map goes).
pub fn annotations_as_printed(object: &mut Value) {
    let Some(meta) = object.field_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let empty = match meta.field_mut("annotations") {
        None => return,
        Some(Value::Object(m)) => {
            for v in m.values_mut() {
                if !v.is_string() {
                    *v = Value::String(scalar_text(v));
                }
            }
            m.is_empty()
        }
        // kustomize reads what is not a map as no annotations at all.
        Some(_) => true,
    };
    if empty {
        meta.remove("annotations");
    }
}

/// The text of a scalar as kyaml holds it (what a JSON patch or a
/// replacement left as a number or boolean).
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        Value::Object(_) | Value::Array(_) => String::new(),
        other => other.to_string(),
    }
}

/// Objects marked `config.kubernetes.io/local-config` are not output: any
/// value but "false" (kustomize's rule).
pub fn drop_local_config(resources: &mut Vec<Res>) {
    resources.retain(|r| {
        r.object
            .field("metadata")
            .and_then(|m| m.field("annotations"))
            .and_then(|a| a.field("config.kubernetes.io/local-config"))
            .is_none_or(|v| v.as_str() == Some("false"))
    });
}

/// The legacy sort's kind order: these kinds first, these last, the rest between.
#[derive(Debug, Clone)]
pub struct Order {
    first: Cow<'static, [Text]>,
    last: Cow<'static, [Text]>,
}

// `ORDER_FIRST`, `ORDER_LAST`: `data/legacy-order.json` compiled in.
// Generated: `SKIFF_REGENERATE=1 cargo test --lib generated`.
include!("data/legacy_order.rs");

impl Order {
    fn builtin() -> Order {
        Order {
            first: Cow::Borrowed(ORDER_FIRST),
            last: Cow::Borrowed(ORDER_LAST),
        }
    }

    /// A kustomization's `sortOptions`: None for fifo, else the legacy order
    /// (kustomize's own unless `legacySortOptions` gives one). Errors name
    /// the field.
    pub fn of(k: &Value) -> Result<Option<Order>, (&'static str, String)> {
        let options = k.get("sortOptions");
        match options.and_then(|o| o.get("order")).and_then(Value::as_str) {
            None | Some("legacy") => {}
            Some("fifo") => {
                if options.and_then(|o| o.get("legacySortOptions")).is_some() {
                    return Err((
                        "sortOptions.legacySortOptions",
                        "is only for order legacy, and order is fifo".into(),
                    ));
                }
                return Ok(None);
            }
            Some(other) => {
                return Err((
                    "sortOptions.order",
                    format!("{other:?} is neither legacy nor fifo"),
                ))
            }
        }
        Ok(Some(
            match options.and_then(|o| o.get("legacySortOptions")) {
                Some(custom) => {
                    let owned = |field: &str| -> Cow<'static, [Text]> {
                        super::strings(custom, field)
                            .into_iter()
                            .map(Cow::Owned)
                            .collect()
                    };
                    Order {
                        first: owned("orderFirst"),
                        last: owned("orderLast"),
                    }
                }
                None => Order::builtin(),
            },
        ))
    }

    /// kustomize's type order of a kind (its legacy sort, and its Gvk order).
    pub fn kind_rank(kind: &str) -> i64 {
        Order::builtin().rank(kind)
    }

    fn rank(&self, kind: &str) -> i64 {
        if let Some(i) = self.first.iter().position(|k| k == kind) {
            return i as i64 - self.first.len() as i64;
        }
        if let Some(i) = self.last.iter().position(|k| k == kind) {
            return 1 + i as i64;
        }
        0
    }
}

fn or<'a>(s: &'a str, empty: &'a str) -> &'a str {
    if s.is_empty() {
        empty
    } else {
        s
    }
}

/// kustomize's legacy order: by kind rank, then group/version/kind, then id,
/// each compared as the text kustomize builds (`group_version_kind`,
/// `namespace|name`) but without building it.
pub fn legacy_sort(resources: &mut [Res], order: &Order) {
    // Looked up once per resource (map lookups are not free), borrowed.
    struct Key<'a> {
        rank: i64,
        gvk: [&'a str; 3],
        id: [&'a str; 2],
        group_empty: bool,
    }
    let keys: Vec<Key> = resources
        .iter()
        .map(|r| {
            let (g, v) = r.group_version();
            let k = r.kind();
            Key {
                rank: order.rank(k),
                gvk: [or(g, "~G"), or(v, "~V"), or(k, "~K")],
                id: [or(r.namespace(), "~X"), or(r.name(), "~N")],
                group_empty: g.is_empty(),
            }
        })
        .collect();
    let mut idx: Vec<usize> = (0..resources.len()).collect();
    idx.sort_by(|&a, &b| {
        let (a, b) = (&keys[a], &keys[b]);
        match a.rank.cmp(&b.rank) {
            Ordering::Equal => {}
            other => return other,
        }
        if a.gvk != b.gvk {
            let by_text = cmp_joined(&a.gvk, &b.gvk, b'_');
            if a.gvk[2] == "Namespace"
                && b.gvk[2] == "Namespace"
                && (a.group_empty || b.group_empty)
            {
                return by_text.reverse();
            }
            return by_text;
        }
        cmp_joined(&a.id, &b.id, b'|')
    });
    drop(keys);
    apply_permutation(resources, idx);
}

/// Compares `a` and `b` as the texts their parts joined by `sep` would be,
/// without building them: a slice at a time, as far as both reach.
fn cmp_joined(a: &[&str], b: &[&str], sep: u8) -> Ordering {
    // Equal leading parts (the usual namespace) decide nothing while both go on.
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if common > 0 && common < a.len() && common < b.len() {
        return cmp_joined(&a[common..], &b[common..], sep);
    }
    fn chunks<'a>(parts: &'a [&'a str], sep: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        parts
            .iter()
            .enumerate()
            .flat_map(move |(i, p)| [if i > 0 { sep } else { &[] }, p.as_bytes()])
    }
    let sep = [sep];
    let (mut rest_a, mut rest_b) = (chunks(a, &sep), chunks(b, &sep));
    let (mut ca, mut cb): (&[u8], &[u8]) = (&[], &[]);
    loop {
        while ca.is_empty() {
            let Some(next) = rest_a.next() else { break };
            ca = next;
        }
        while cb.is_empty() {
            let Some(next) = rest_b.next() else { break };
            cb = next;
        }
        if ca.is_empty() || cb.is_empty() {
            return (!ca.is_empty()).cmp(&!cb.is_empty());
        }
        let n = ca.len().min(cb.len());
        match ca[..n].cmp(&cb[..n]) {
            Ordering::Equal => (ca, cb) = (&ca[n..], &cb[n..]),
            other => return other,
        }
    }
}

/// Reorders `items` so that position i holds what was at `order[i]`.
fn apply_permutation<T>(items: &mut [T], mut order: Vec<usize>) {
    // Follow each cycle, swapping into place.
    for i in 0..order.len() {
        let mut current = i;
        while order[current] != i {
            let next = order[current];
            items.swap(current, next);
            order[current] = current;
            current = next;
        }
        order[current] = current;
    }
}

/// The top kustomization's `buildMetadata`: what kustomize records on the
/// objects it prints.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildMetadata {
    managed_by: bool,
    origin: bool,
    pub transformations: bool,
}

/// The label `managedByLabel` sets. kustomize v5.5.0 itself writes this;
/// `kubectl kustomize` writes `kustomize-(devel)`, which is not a valid label
/// value, so the API server would refuse it.
pub const MANAGED_BY: &str = "kustomize-v5.5.0";

impl BuildMetadata {
    pub fn of(k: &Value, file: &str) -> Result<BuildMetadata, KustomizeError> {
        let mut m = BuildMetadata::default();
        for item in k
            .get("buildMetadata")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match item.as_str() {
                Some("managedByLabel") => m.managed_by = true,
                Some("originAnnotations") => m.origin = true,
                Some("transformerAnnotations") => m.transformations = true,
                _ => {
                    return Err(KustomizeError::field(
                        file,
                        "buildMetadata",
                        format!(
                            "{item}: not one of managedByLabel, originAnnotations, transformerAnnotations"
                        ),
                    ))
                }
            }
        }
        Ok(m)
    }

    /// Labels and annotates the final objects; paths are relative to `top`,
    /// the directory built.
    pub fn apply(&self, resources: &mut [Res], top: &str) {
        if !(self.managed_by || self.origin || self.transformations) {
            return;
        }
        for r in resources.iter_mut() {
            let origin = self.origin.then(|| match &r.generated {
                Some(by) => configured(by, top, ""),
                None => format!("path: {}\n", relative(top, &r.file)),
            });
            let transformations =
                (self.transformations && !r.transformations.is_empty()).then(|| {
                    r.transformations
                        .iter()
                        .map(|by| format!("- {}", configured(by, top, "  ").trim_start()))
                        .collect::<String>()
                });
            let Some(meta) = r.object.get_mut("metadata").and_then(Value::as_object_mut) else {
                continue;
            };
            let mut put = |map: &str, key: &str, value: String| {
                let slot = meta
                    .entry(map)
                    .or_insert_with(|| Value::Object(Default::default()));
                if !slot.is_object() {
                    *slot = Value::Object(Default::default());
                }
                if let Some(m) = slot.as_object_mut() {
                    m.insert(key.into(), Value::String(value));
                }
            };
            if let Some(o) = origin {
                put("annotations", "config.kubernetes.io/origin", o);
            }
            if let Some(t) = transformations {
                put(
                    "annotations",
                    "alpha.config.kubernetes.io/transformations",
                    t,
                );
            }
            if self.managed_by {
                put("labels", "app.kubernetes.io/managed-by", MANAGED_BY.into());
            }
        }
    }
}

/// `configuredIn`/`configuredBy` as kustomize writes them, each line indented.
fn configured(by: &super::builtins::ConfiguredBy, top: &str, indent: &str) -> String {
    let mut out = format!(
        "{indent}configuredIn: {}\n{indent}configuredBy:\n{indent}  apiVersion: builtin\n{indent}  kind: {}\n",
        relative(top, &by.file),
        by.kind
    );
    if let Some(name) = &by.name {
        out.push_str(&format!("{indent}  name: {name}\n"));
    }
    out
}

/// `path` (a tree path) as seen from the directory `from`.
fn relative(from: &str, path: &str) -> String {
    let parts = |p: &str| -> Vec<String> {
        p.split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .map(String::from)
            .collect()
    };
    let (from, to) = (parts(from), parts(path));
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out: Vec<String> = vec!["..".to_string(); from.len() - common];
    out.extend(to[common..].iter().cloned());
    out.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_order_is_generated_from_the_json() {
        let doc: Value = serde_json::from_str(include_str!("data/legacy-order.json")).unwrap();
        let list = |field: &str| {
            let quoted: Vec<String> = super::super::strings(&doc, field)
                .iter()
                .map(|k| format!("    Cow::Borrowed({k:?}),\n"))
                .collect();
            assert!(!quoted.is_empty(), "{field}");
            quoted.concat()
        };
        let rust = format!(
            "// @generated from data/legacy-order.json by `SKIFF_REGENERATE=1 cargo test --lib generated`.\n\
             // Included by finish.rs; do not edit.\n\
             const ORDER_FIRST: &[Text] = &[\n{}];\n\
             const ORDER_LAST: &[Text] = &[\n{}];\n",
            list("orderFirst"),
            list("orderLast")
        );
        super::super::assert_generated("legacy_order.rs", &rust);
        assert_eq!(Order::kind_rank("Namespace"), -(ORDER_FIRST.len() as i64));
    }

    #[test]
    fn joined_parts_compare_as_their_text() {
        let cases: &[(&[&str], &[&str])] = &[
            (&["a", "b"], &["a", "b"]),
            (&["ab", "c"], &["a", "bc"]),
            (&["a", "b"], &["a|", "b"]),
            (&["", "x"], &["x", ""]),
            (&["ns", "name"], &["ns-2", "a"]),
            (&["ns", "a"], &["ns", "ab"]),
            (&["~X", "n"], &["default", "n"]),
            (&[""], &[]),
        ];
        for (a, b) in cases {
            for (a, b) in [(a, b), (b, a)] {
                assert_eq!(
                    cmp_joined(a, b, b'|'),
                    a.join("|").cmp(&b.join("|")),
                    "{a:?} {b:?}"
                );
            }
        }
    }
}
