//! What kustomize does once, at the top of a build: hash suffixes on generated
//! names, name references brought up to date, local-config objects dropped, and
//! the legacy kind order.

use super::fieldspec::{self, NameReference};
use super::generate;
use super::KustomizeError;
use super::Res;
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
    /// Every namespace it had: a reference may name any of them.
    namespaces: Vec<String>,
}

/// Updates every reference to a renamed object, as kustomize's nameReference table lists them.
pub fn name_references_update(resources: &mut [Res], table: &[NameReference]) {
    // Renamed or moved referents, indexed by every name they had.
    let mut referents: Vec<Referent> = Vec::new();
    let mut by_old_name: HashMap<String, Vec<usize>> = HashMap::new();
    for r in resources.iter().filter(|r| {
        r.names.first().is_some_and(|first| first != r.name())
            || r.namespaces
                .first()
                .is_some_and(|first| first != r.namespace())
    }) {
        let i = referents.len();
        referents.push(Referent {
            kind: r.kind().to_string(),
            group: r.group_version().0.to_string(),
            name: r.name().to_string(),
            namespace: r.namespace().to_string(),
            namespaces: r.namespaces.clone(),
        });
        for n in &r.names {
            by_old_name.entry(n.clone()).or_default().push(i);
        }
    }
    if referents.is_empty() {
        return;
    }
    let in_table = |t: &NameReference, c: &Referent| {
        c.kind == t.kind && t.group.as_deref().is_none_or(|g| g == c.group)
    };
    // The referrer specs of every table entry some referent belongs to, by the
    // kind they apply to: each resource then looks only at its own.
    let mut by_kind: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
    let mut any_kind: Vec<(usize, usize)> = Vec::new();
    for (t, entry) in table.iter().enumerate() {
        if !referents.iter().any(|c| in_table(entry, c)) {
            continue;
        }
        for (i, spec) in entry.referrers.iter().enumerate() {
            match &spec.kind {
                Some(k) => by_kind.entry(k.as_str()).or_default().push((t, i)),
                None => any_kind.push((t, i)),
            }
        }
    }
    for r in resources.iter_mut() {
        let mut chosen: Vec<(usize, usize)> = by_kind
            .get(r.kind())
            .into_iter()
            .flatten()
            .chain(&any_kind)
            .filter(|(t, i)| table[*t].referrers[*i].applies_to(r.api_version(), r.kind()))
            .copied()
            .collect();
        if chosen.is_empty() {
            continue;
        }
        // The table's order, as kustomize applies it.
        chosen.sort_unstable();
        let referrer_ns = r.namespace().to_string();
        for (t, i) in chosen {
            let entry = &table[t];
            let pick = |old: &str, ns: Option<&str>| -> Option<(String, String)> {
                let matching: Vec<&Referent> = by_old_name
                    .get(old)?
                    .iter()
                    .map(|i| &referents[*i])
                    .filter(|c| in_table(entry, c))
                    .collect();
                let want_ns = ns.unwrap_or(&referrer_ns);
                // Same namespace (or a cluster-scoped referent); a cluster-scoped
                // referrer naming no namespace may point at the only candidate.
                let loose = ns.is_none() && referrer_ns.is_empty() && matching.len() == 1;
                matching
                    .iter()
                    .find(|c| c.namespace == want_ns || c.namespace.is_empty())
                    .or_else(|| {
                        matching
                            .iter()
                            .find(|c| c.namespaces.iter().any(|n| same_namespace(n, want_ns)))
                    })
                    .or_else(|| loose.then(|| &matching[0]))
                    .map(|c| (c.name.clone(), c.namespace.clone()))
            };
            let mut update = |m: &mut serde_json::Map<String, Value>, k: &str| {
                let Some(v) = m.get_mut(k) else { return };
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
            if m.get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k != kind)
            {
                return;
            }
            let ns = m.get("namespace").and_then(Value::as_str).map(String::from);
            let found = m
                .get("name")
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

/// Objects marked `config.kubernetes.io/local-config: "true"` are not output.
pub fn drop_local_config(resources: &mut Vec<Res>) {
    resources.retain(|r| {
        r.object
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get("config.kubernetes.io/local-config"))
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
    fn text<'a>(parts: &'a [&'a str], sep: u8) -> impl Iterator<Item = u8> + 'a {
        parts
            .iter()
            .enumerate()
            .flat_map(move |(i, p)| (i > 0).then_some(sep).into_iter().chain(p.bytes()))
    }
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
            let (ta, tb) = (text(&a.gvk, b'_'), text(&b.gvk, b'_'));
            if a.gvk[2] == "Namespace"
                && b.gvk[2] == "Namespace"
                && (a.group_empty || b.group_empty)
            {
                return tb.cmp(ta);
            }
            return ta.cmp(tb);
        }
        text(&a.id, b'|').cmp(text(&b.id, b'|'))
    });
    drop(keys);
    apply_permutation(resources, idx);
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
