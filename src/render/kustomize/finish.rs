//! What kustomize does once, at the top of a build: hash suffixes on generated
//! names, name references brought up to date, local-config objects dropped, and
//! the legacy kind order.

use super::fieldspec::{self, NameReference};
use super::generate;
use super::KustomizeError;
use super::Res;
use crate::render::fields::Fields;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::OnceLock;

pub fn hash_suffixes(resources: &mut [Res]) {
    for r in resources.iter_mut().filter(|r| r.hash_suffix) {
        let h = generate::hash(&r.object);
        let name = format!("{}-{h}", r.name());
        r.rename(&name);
    }
}

/// A renamed (or moved) object a reference may point to.
struct Referent {
    kind: String,
    group: String,
    name: String,
    namespace: String,
    /// Every name it had: a reference may use any of them.
    names: Vec<String>,
    /// Every namespace it had: a reference may name any of them.
    namespaces: Vec<String>,
}

/// Updates every reference to a renamed object, as kustomize's nameReference table lists them.
pub fn name_references_update(resources: &mut [Res], table: &[NameReference]) {
    let referents: Vec<Referent> = resources
        .iter()
        .filter(|r| {
            r.names.first().is_some_and(|first| first != r.name())
                || r.namespaces
                    .first()
                    .is_some_and(|first| first != r.namespace())
        })
        .map(|r| Referent {
            kind: r.kind().to_string(),
            group: r.group_version().0.to_string(),
            name: r.name().to_string(),
            namespace: r.namespace().to_string(),
            names: r.names.clone(),
            namespaces: r.namespaces.clone(),
        })
        .collect();
    if referents.is_empty() {
        return;
    }
    // Every name a referent had, sorted: the referents an old name may mean
    // are one run of this list.
    let mut by_old_name: Vec<(&str, usize)> = referents
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.names.iter().map(move |n| (n.as_str(), i)))
        .collect();
    by_old_name.sort_unstable();
    let named = |old: &str| {
        let from = by_old_name.partition_point(|(n, _)| *n < old);
        let to = from + by_old_name[from..].partition_point(|(n, _)| *n == old);
        by_old_name[from..to].iter().map(|(_, i)| &referents[*i])
    };
    let in_table = |t: &NameReference, c: &Referent| {
        c.kind == t.kind && t.group.as_deref().is_none_or(|g| g == c.group)
    };
    // The referrer specs of every table entry some referent belongs to, by the
    // kind they apply to: each resource then looks only at its own.
    let mut by_kind: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
    let mut any_kind: Vec<(usize, usize)> = Vec::new();
    // One referent of each kind and group: the table is checked against these.
    let mut kinds: Vec<&Referent> = Vec::new();
    for c in &referents {
        if !kinds.iter().any(|k| k.kind == c.kind && k.group == c.group) {
            kinds.push(c);
        }
    }
    for (t, entry) in table.iter().enumerate() {
        if !kinds.iter().any(|c| in_table(entry, c)) {
            continue;
        }
        for (i, spec) in entry.referrers.iter().enumerate() {
            match &spec.kind {
                Some(k) => by_kind.entry(k.as_str()).or_default().push((t, i)),
                None => any_kind.push((t, i)),
            }
        }
    }
    let mut chosen: Vec<(usize, usize)> = Vec::new();
    for r in resources.iter_mut() {
        chosen.clear();
        chosen.extend(
            by_kind
                .get(r.kind())
                .into_iter()
                .flatten()
                .chain(&any_kind)
                .filter(|(t, i)| table[*t].referrers[*i].applies_to(r.api_version(), r.kind())),
        );
        if chosen.is_empty() {
            continue;
        }
        // The table's order, as kustomize applies it.
        chosen.sort_unstable();
        let referrer_ns = r.namespace().to_string();
        for &(t, i) in &chosen {
            let entry = &table[t];
            let pick = |old: &str, ns: Option<&str>| -> Option<(String, String)> {
                let matching = || named(old).filter(|c| in_table(entry, c));
                let want_ns = ns.unwrap_or(&referrer_ns);
                // Same namespace (or a cluster-scoped referent); a cluster-scoped
                // referrer naming no namespace may point at the only candidate.
                let only = || {
                    let mut all = matching();
                    all.next().filter(|_| all.next().is_none())
                };
                matching()
                    .find(|c| c.namespace == want_ns || c.namespace.is_empty())
                    .or_else(|| {
                        matching().find(|c| c.namespaces.iter().any(|n| same_namespace(n, want_ns)))
                    })
                    .or_else(|| {
                        (ns.is_none() && referrer_ns.is_empty())
                            .then(only)
                            .flatten()
                    })
                    .map(|c| (c.name.clone(), c.namespace.clone()))
            };
            let mut update = |m: &mut serde_json::Map<String, Value>, k: &str| {
                let Some(v) = m.field_mut(k) else { return };
                rename_in(v, &entry.kind, &pick);
            };
            let spec = &entry.referrers[i];
            fieldspec::visit(&mut r.object, &spec.path, spec.create, &mut update);
        }
    }
}

/// kustomize treats no namespace and `default` as the same.
fn same_namespace(a: &str, b: &str) -> bool {
    let default = |n: &str| n.is_empty() || n == "default";
    a == b || (default(a) && default(b))
}

/// The current name (and namespace) of the referent an old name points to.
type Pick<'a> = &'a dyn Fn(&str, Option<&str>) -> Option<(String, String)>;

fn rename_in(v: &mut Value, kind: &str, pick: Pick) {
    match v {
        Value::String(s) => {
            if let Some((new, _)) = pick(s, None) {
                *s = new;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| rename_in(i, kind, pick)),
        // Lists of objects such as binding subjects: only items of the referent's kind.
        Value::Object(m) => {
            if m.field("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k != kind)
            {
                return;
            }
            let ns = m
                .field("namespace")
                .and_then(Value::as_str)
                .map(String::from);
            let found = m
                .field("name")
                .and_then(Value::as_str)
                .and_then(|name| pick(name, ns.as_deref()));
            if let Some((new, new_ns)) = found {
                m.insert("name".into(), Value::String(new));
                // A subject follows its referent into the referent's namespace.
                if m.contains_key("kind") && !new_ns.is_empty() {
                    m.insert("namespace".into(), Value::String(new_ns));
                }
            }
        }
        _ => {}
    }
}

/// kustomize writes every object's `metadata.annotations` anew at the end of
/// a build (its own bookkeeping annotations come off): each value as text,
/// and no field at all when none is left (`annotations: {}` or `null` goes).
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
        Some(Value::Null) => true,
        Some(_) => false,
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

/// Objects marked `config.kubernetes.io/local-config: "true"` are not output.
pub fn drop_local_config(resources: &mut Vec<Res>) {
    resources.retain(|r| {
        r.object
            .field("metadata")
            .and_then(|m| m.field("annotations"))
            .and_then(|a| a.field("config.kubernetes.io/local-config"))
            .and_then(Value::as_str)
            != Some("true")
    });
}

/// The legacy sort's kind order: these kinds first, these last, the rest between.
#[derive(Debug, Clone)]
pub struct Order {
    first: Vec<String>,
    last: Vec<String>,
}

impl Order {
    fn builtin() -> &'static Order {
        static O: OnceLock<Order> = OnceLock::new();
        O.get_or_init(|| {
            let doc: Value = serde_json::from_str(include_str!("data/legacy-order.json"))
                .expect("legacy-order.json");
            Order {
                first: super::strings(&doc, "orderFirst"),
                last: super::strings(&doc, "orderLast"),
            }
        })
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
                Some(custom) => Order {
                    first: super::strings(custom, "orderFirst"),
                    last: super::strings(custom, "orderLast"),
                },
                None => Order::builtin().clone(),
            },
        ))
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
