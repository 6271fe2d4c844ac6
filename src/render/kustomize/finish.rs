//! What kustomize does once, at the top of a build: hash suffixes on generated
//! names, name references brought up to date, local-config objects dropped, and
//! the legacy kind order.

use super::fieldspec::{self, name_references};
use super::generate;
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

/// A renamed object a reference may point to.
struct Referent {
    kind: String,
    group: String,
    name: String,
    namespace: String,
}

/// Updates every reference to a renamed object, as kustomize's nameReference table lists them.
pub fn name_references_update(resources: &mut [Res]) {
    // Renamed referents, indexed by every name they had.
    let mut referents: Vec<Referent> = Vec::new();
    let mut by_old_name: HashMap<String, Vec<usize>> = HashMap::new();
    for r in resources
        .iter()
        .filter(|r| r.names.first().is_some_and(|first| first != r.name()))
    {
        let i = referents.len();
        referents.push(Referent {
            kind: r.kind().to_string(),
            group: r.group_version().0.to_string(),
            name: r.name().to_string(),
            namespace: r.namespace().to_string(),
        });
        for n in &r.names {
            by_old_name.entry(n.clone()).or_default().push(i);
        }
    }
    if referents.is_empty() {
        return;
    }
    for table in name_references() {
        let in_table = |c: &Referent| {
            c.kind == table.kind && table.group.as_deref().is_none_or(|g| g == c.group)
        };
        if !referents.iter().any(in_table) {
            continue;
        }
        for r in resources.iter_mut() {
            let referrer_ns = r.namespace().to_string();
            let pick = |old: &str, ns: Option<&str>| -> Option<(String, String)> {
                let matching: Vec<&Referent> = by_old_name
                    .get(old)?
                    .iter()
                    .map(|i| &referents[*i])
                    .filter(|c| in_table(c))
                    .collect();
                let want_ns = ns.unwrap_or(&referrer_ns);
                // Same namespace (or a cluster-scoped referent); a cluster-scoped
                // referrer naming no namespace may point at the only candidate.
                let loose = ns.is_none() && referrer_ns.is_empty() && matching.len() == 1;
                matching
                    .iter()
                    .find(|c| c.namespace == want_ns || c.namespace.is_empty())
                    .or_else(|| loose.then(|| &matching[0]))
                    .map(|c| (c.name.clone(), c.namespace.clone()))
            };
            let kind = table.kind.clone();
            let mut update = |m: &mut serde_json::Map<String, Value>, k: &str| {
                let Some(v) = m.get_mut(k) else { return };
                rename_in(v, &kind, &pick);
            };
            fieldspec::apply(&mut r.object, &table.referrers, &mut update);
        }
    }
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
            .pointer("/metadata/annotations/config.kubernetes.io~1local-config")
            .and_then(Value::as_str)
            != Some("true")
    });
}

struct Order {
    first: Vec<String>,
    last: Vec<String>,
}

fn order() -> &'static Order {
    static O: OnceLock<Order> = OnceLock::new();
    O.get_or_init(|| {
        let doc: Value = serde_json::from_str(include_str!("data/legacy-order.json"))
            .expect("legacy-order.json");
        let list = |k: &str| {
            doc[k]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        Order {
            first: list("orderFirst"),
            last: list("orderLast"),
        }
    })
}

fn rank(kind: &str) -> i64 {
    let o = order();
    if let Some(i) = o.first.iter().position(|k| k == kind) {
        return i as i64 - o.first.len() as i64;
    }
    if let Some(i) = o.last.iter().position(|k| k == kind) {
        return 1 + i as i64;
    }
    0
}

fn or(s: &str, empty: &str) -> String {
    if s.is_empty() {
        empty.to_string()
    } else {
        s.to_string()
    }
}

/// kustomize's legacy order: by kind rank, then group/version/kind, then id.
pub fn legacy_sort(resources: &mut [Res]) {
    resources.sort_by(|a, b| {
        let (ka, kb) = (a.kind(), b.kind());
        match rank(ka).cmp(&rank(kb)) {
            Ordering::Equal => {}
            other => return other,
        }
        let (ga, va) = a.group_version();
        let (gb, vb) = b.group_version();
        if (ga, va, ka) != (gb, vb, kb) {
            let sa = format!("{}_{}_{}", or(ga, "~G"), or(va, "~V"), or(ka, "~K"));
            let sb = format!("{}_{}_{}", or(gb, "~G"), or(vb, "~V"), or(kb, "~K"));
            if ka == "Namespace" && kb == "Namespace" && (ga.is_empty() || gb.is_empty()) {
                return sb.cmp(&sa);
            }
            return sa.cmp(&sb);
        }
        let id = |r: &Res, g: &str, v: &str| {
            format!(
                "{}.{}.{}|{}|{}",
                or(r.kind(), "[noKind]"),
                or(v, "[noVer]"),
                or(g, "[noGrp]"),
                or(r.namespace(), "~X"),
                or(r.name(), "~N")
            )
        };
        id(a, ga, va).cmp(&id(b, gb, vb))
    });
}
