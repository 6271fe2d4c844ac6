//! Name references brought up to date once, at the top of a build
//! (kustomize's nameReference transformer). A field that names an object by
//! a name it had (a ConfigMap in a volume, a ServiceAccount in a binding's
//! subjects, a Service in a webhook's clientConfig) gets its current name,
//! and a `{name, namespace}` map its namespace too. The referral is chosen as
//! kustomize chooses it: among the objects the referrer may point at, those
//! that had that name and kind before, in the referrer's namespace (a
//! ServiceAccount anywhere), then with the same prefixes and suffixes.

use super::fieldspec::{self, FieldSpec, NameReference};
use super::{KustomizeError, PrevId, Res};
use crate::render::fields::{text, Fields};
use serde_json::{Map, Value};

/// What a referrer needs to know of every object it might point at.
struct Referral {
    group: String,
    version: String,
    kind: String,
    name: String,
    /// The namespace as written (empty for none).
    namespace: String,
    effective_namespace: String,
    org_namespace: String,
    cluster_scoped: bool,
    previous: Vec<PrevId>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

impl Referral {
    fn of(r: &Res) -> Referral {
        let (group, version) = r.group_version();
        Referral {
            group: group.to_string(),
            version: version.to_string(),
            kind: r.kind().to_string(),
            name: r.name().to_string(),
            namespace: r.namespace().to_string(),
            effective_namespace: r.effective_namespace(),
            org_namespace: r.org_namespace(),
            cluster_scoped: r.is_cluster_scoped(),
            previous: r.previous.clone(),
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
        }
    }

    /// Whether one of its previous ids is of a kind `(group, version, kind)` selects.
    fn was(&self, group: Option<&str>, version: Option<&str>, kind: &str) -> bool {
        let selects =
            |want: Option<&str>, have: &str| want.is_none_or(|w| w.is_empty() || w == have);
        selects(group, &self.group)
            && selects(version, &self.version)
            && self
                .previous
                .iter()
                .any(|p| kind.is_empty() || p.kind == kind)
    }
}

/// The referrer being updated: its id and context.
struct Referrer {
    kind: String,
    name: String,
    effective_namespace: String,
    cluster_scoped: bool,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    /// `roleRef`'s apiGroup and kind, when it has both.
    role_ref: Option<(String, String)>,
}

/// Updates every name reference the table lists (kustomize's FixBackReferences).
pub fn fix(resources: &mut [Res], table: &[NameReference]) -> Result<(), KustomizeError> {
    // Only an object with a previous id can be a referral; with none, nothing changes.
    if resources.iter().all(|r| r.previous.is_empty()) {
        return Ok(());
    }
    let all: Vec<Referral> = resources.iter().map(Referral::of).collect();
    // The table's entries some renamed or moved object belongs to.
    let entries: Vec<&NameReference> = table
        .iter()
        .filter(|t| {
            all.iter()
                .any(|c| c.was(t.group.as_deref(), t.version.as_deref(), &t.kind))
        })
        .collect();
    if entries.is_empty() {
        return Ok(());
    }
    for r in resources.iter_mut() {
        let (api_version, org_kind) = (r.api_version().to_string(), r.org_kind().to_string());
        let specs: Vec<(&NameReference, &FieldSpec)> = entries
            .iter()
            .flat_map(|t| t.referrers.iter().map(move |s| (*t, s)))
            .filter(|(_, s)| s.applies_to(&api_version, &org_kind))
            .collect();
        if specs.is_empty() {
            continue;
        }
        let referrer = Referrer {
            kind: r.kind().to_string(),
            name: r.name().to_string(),
            effective_namespace: r.effective_namespace(),
            cluster_scoped: r.is_cluster_scoped(),
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
            role_ref: role_ref(&r.object),
        };
        let subset = could_be_referenced(&referrer, &r.object, &all);
        let (kind, name) = (&referrer.kind, &referrer.name);
        let mut object = std::mem::take(&mut r.object);
        let mut failure = None;
        for (entry, spec) in specs {
            let update = Update {
                referrer: &referrer,
                entry,
                role_ref_path: spec.path.join("/").ends_with("roleRef/name"),
                subset: &subset,
            };
            fieldspec::visit(&mut object, &spec.path, false, &mut |m, k| {
                if failure.is_none() {
                    if let Err(e) = update.field(m, k) {
                        failure = Some(format!(
                            "updating name reference in '{}' field of {kind} {name:?}: {e}",
                            spec.path.join("/")
                        ));
                    }
                }
            });
        }
        r.object = object;
        if let Some(message) = failure {
            return Err(KustomizeError::field(&r.file, "nameReference", message));
        }
    }
    Ok(())
}

fn role_ref(object: &Value) -> Option<(String, String)> {
    let role_ref = object.field("roleRef")?;
    let group = role_ref.field("apiGroup")?.as_str()?;
    let kind = role_ref.field("kind")?.as_str()?;
    Some((group.to_string(), kind.to_string()))
}

/// kustomize's SubsetThatCouldBeReferencedByResource: a cluster-scoped
/// referrer may point anywhere; a namespaced one at cluster-scoped objects,
/// its own namespace, and (a RoleBinding) the namespaces of its
/// ServiceAccount subjects.
fn could_be_referenced<'a>(
    referrer: &Referrer,
    object: &Value,
    all: &'a [Referral],
) -> Vec<&'a Referral> {
    if referrer.cluster_scoped {
        return all.iter().collect();
    }
    let mut binding_namespaces: Vec<&str> = Vec::new();
    if referrer.kind == "RoleBinding" {
        for s in object
            .field("subjects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if text(s, "kind") == "ServiceAccount" {
                if let Some(ns) = s.field("namespace").and_then(Value::as_str) {
                    binding_namespaces.push(ns);
                }
            }
        }
    }
    all.iter()
        .filter(|c| {
            c.cluster_scoped
                || c.effective_namespace == referrer.effective_namespace
                || binding_namespaces.contains(&c.namespace.as_str())
        })
        .collect()
}

/// One referrer field being brought up to date.
struct Update<'a> {
    referrer: &'a Referrer,
    entry: &'a NameReference,
    role_ref_path: bool,
    subset: &'a [&'a Referral],
}

impl Update<'_> {
    fn field(&self, parent: &mut Map<String, Value>, key: &str) -> Result<(), String> {
        let Some(node) = parent.field_mut(key) else {
            return Ok(());
        };
        match node {
            Value::Null => Ok(()),
            Value::Object(m) => self.mapping(m),
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Object(m) => self.mapping(m)?,
                        Value::Array(_) | Value::Null => {}
                        scalar => self.scalar(scalar)?,
                    }
                }
                Ok(())
            }
            scalar => self.scalar(scalar),
        }
    }

    fn scalar(&self, node: &mut Value) -> Result<(), String> {
        let old = scalar_text(node);
        let same_names = |c: &[&Referral]| c.iter().all(|x| x.name == c[0].name);
        if let Some(referral) = self.select(&old, self.subset.to_vec(), same_names)? {
            if referral.name != old {
                *node = Value::String(referral.name.clone());
            }
        }
        Ok(())
    }

    /// A `{name, namespace}` map (a subject, a webhook's service): the
    /// namespace it names narrows the candidates, and follows the referral.
    fn mapping(&self, m: &mut Map<String, Value>) -> Result<(), String> {
        let old = match m.field("name") {
            Some(n) => scalar_text(n),
            None => return Err("path config error; no 'name' field in node".into()),
        };
        let candidates: Vec<&Referral> = match m.field("namespace") {
            None => self.subset.to_vec(),
            Some(ns) => {
                let ns = scalar_text(ns);
                let by_org: Vec<&Referral> = self
                    .subset
                    .iter()
                    .copied()
                    .filter(|c| !c.cluster_scoped && c.org_namespace == ns)
                    .collect();
                if by_org.is_empty() {
                    self.subset
                        .iter()
                        .copied()
                        .filter(|c| !c.cluster_scoped && c.effective_namespace == ns)
                        .collect()
                } else {
                    by_org
                }
            }
        };
        let same = |c: &[&Referral]| {
            c.iter()
                .all(|x| x.name == c[0].name && x.namespace == c[0].namespace)
        };
        let Some(referral) = self.select(&old, candidates, same)? else {
            return Ok(());
        };
        if referral.name == old && referral.namespace.is_empty() {
            return Ok(());
        }
        m.insert("name".into(), Value::String(referral.name.clone()));
        if !referral.namespace.is_empty() {
            m.insert(
                "namespace".into(),
                Value::String(referral.namespace.clone()),
            );
        }
        Ok(())
    }

    /// kustomize's selectReferral.
    fn select<'r>(
        &self,
        old: &str,
        candidates: Vec<&'r Referral>,
        identical: impl Fn(&[&Referral]) -> bool,
    ) -> Result<Option<&'r Referral>, String> {
        let referrer = self.referrer;
        let entry = self.entry;
        let mut c: Vec<&Referral> = candidates
            .into_iter()
            .filter(|c| c.previous.iter().any(|p| p.name == old))
            .filter(|c| {
                c.was(
                    entry.group.as_deref(),
                    entry.version.as_deref(),
                    &entry.kind,
                )
            })
            .filter(|c| match (&referrer.role_ref, self.role_ref_path) {
                (Some((group, kind)), true) => c.was(Some(group), None, kind),
                _ => true,
            })
            .filter(|c| {
                referrer.cluster_scoped
                    || c.cluster_scoped
                    || c.kind == "ServiceAccount"
                    || c.effective_namespace == referrer.effective_namespace
            })
            .collect();
        if c.len() == 1 {
            return Ok(Some(c[0]));
        }
        c.retain(|c| {
            same_ending(&c.prefixes, &referrer.prefixes)
                && same_ending(&c.suffixes, &referrer.suffixes)
        });
        match c.len() {
            0 => Ok(None),
            1 => Ok(Some(c[0])),
            _ if identical(&c) => Ok(Some(c[0])),
            _ => Err(format!(
                "found multiple possible referrals: {}",
                c.iter()
                    .map(|x| format!("{} {}/{}", x.kind, x.namespace, x.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null | Value::Object(_) | Value::Array(_) => String::new(),
        other => other.to_string(),
    }
}

/// kustomize's SameEndingSubSlice: one list ends as the other does (an
/// empty list only matches an empty one).
fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return long.is_empty();
    }
    long[long.len() - short.len()..] == *short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endings_compare_as_kustomize_compares_them() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(same_ending(&v(&["a", "b", "c"]), &v(&["b", "c"])));
        assert!(!same_ending(&v(&["a", "b", "c"]), &v(&["a", "b"])));
        assert!(!same_ending(&v(&["a"]), &v(&[])));
        assert!(same_ending(&v(&[]), &v(&[])));
    }
}
