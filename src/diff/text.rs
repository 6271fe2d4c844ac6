//! A diff people read: the live object and what applying would leave, as YAML,
//! in unified format, without the server's bookkeeping. A Secret's values are
//! masked the way Argo CD masks them: equal values get the same mask and
//! changed ones a longer one, so a change shows without its content.

use super::without_bookkeeping;
use crate::render::yaml_out::write_document;
use serde_json::{Map, Value};

const SAME: &str = "++++++++";
const CHANGED: &str = "+++++++++";

fn values<'a>(obj: &'a Value, field: &str) -> Option<&'a Map<String, Value>> {
    obj.get(field)?.as_object()
}

/// Masks the values of `live` and `wanted` Secrets in place.
fn mask_secrets(live: &mut Value, wanted: &mut Value) {
    for field in ["data", "stringData"] {
        let before = values(live, field).cloned().unwrap_or_default();
        let after = values(wanted, field).cloned().unwrap_or_default();
        // A value that changes reads SAME live and CHANGED wanted.
        if let Some(m) = live.get_mut(field).and_then(Value::as_object_mut) {
            for v in m.values_mut() {
                *v = Value::String(SAME.into());
            }
        }
        if let Some(m) = wanted.get_mut(field).and_then(Value::as_object_mut) {
            for (k, v) in m.iter_mut() {
                let mask = if before.get(k) == after.get(k) {
                    SAME
                } else {
                    CHANGED
                };
                *v = Value::String(mask.into());
            }
        }
    }
    // kubectl's record of the last apply holds the values too.
    for obj in [live, wanted] {
        if let Some(a) = obj
            .pointer_mut("/metadata/annotations")
            .and_then(Value::as_object_mut)
        {
            if let Some(v) = a.get_mut("kubectl.kubernetes.io/last-applied-configuration") {
                *v = Value::String(SAME.into());
            }
        }
    }
}

/// A live object for people to read: its status kept, managedFields (noise)
/// dropped, a Secret's values masked.
pub fn masked(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    if obj.get("kind") == Some(&Value::from("Secret")) {
        let mut same = v.clone();
        mask_secrets(&mut v, &mut same);
    }
    v
}

/// The unified diff from `live` (None: missing) to `wanted` (None: to be
/// deleted), labelled with `name`; empty when they are the same.
pub fn unified(name: &str, live: Option<&Value>, wanted: Option<&Value>) -> String {
    let mut before = live.map(without_bookkeeping).unwrap_or(Value::Null);
    let mut after = wanted.map(without_bookkeeping).unwrap_or(Value::Null);
    let secret = |v: Option<&Value>| v.and_then(|v| v.get("kind")) == Some(&Value::from("Secret"));
    if secret(live) || secret(wanted) {
        mask_secrets(&mut before, &mut after);
    }
    let text = |v: &Value| {
        let mut out = String::new();
        if !v.is_null() {
            write_document(v, &mut out);
        }
        out
    };
    let (old, new) = (text(&before), text(&after));
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("live/{name}"), &format!("wanted/{name}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_live_secret_is_shown_masked_without_managed_fields() {
        let secret = serde_json::json!({"kind": "Secret", "metadata": {"name": "s", "managedFields": [{}]},
            "data": {"password": "aHVudGVyMg=="}, "type": "Opaque"});
        let shown = super::masked(&secret);
        assert_eq!(shown["data"]["password"], super::SAME);
        assert!(shown["metadata"].get("managedFields").is_none());
        let cm = serde_json::json!({"kind": "ConfigMap", "data": {"k": "v"}, "status": {"x": 1}});
        assert_eq!(super::masked(&cm), cm, "only Secrets are masked");
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn a_yaml_diff_without_bookkeeping() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "resourceVersion": "7", "managedFields": []}, "data": {"k": "old", "same": "x"}});
        let wanted = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "resourceVersion": "8"}, "data": {"k": "new", "same": "x"}});
        let d = unified("ConfigMap/a", Some(&live), Some(&wanted));
        assert!(
            d.starts_with("--- live/ConfigMap/a\n+++ wanted/ConfigMap/a\n"),
            "{d}"
        );
        assert!(d.contains("-  k: old\n+  k: new\n"), "{d}");
        assert!(!d.contains("resourceVersion"), "{d}");
        assert_eq!(unified("ConfigMap/a", Some(&wanted), Some(&wanted)), "");
        let missing = unified("ConfigMap/a", None, Some(&wanted));
        assert!(missing.contains("+kind: ConfigMap"), "{missing}");
        let deleted = unified("ConfigMap/a", Some(&live), None);
        assert!(
            deleted.contains("-kind: ConfigMap")
                && deleted.lines().skip(2).all(|l| !l.starts_with('+')),
            "{deleted}"
        );
    }

    #[test]
    fn secret_values_never_show() {
        let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"password\":\"aHVudGVyMg==\"}}"}},
            "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="}});
        let wanted = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "czNjcjN0", "user": "YWRtaW4="}});
        let d = unified("Secret/s", Some(&live), Some(&wanted));
        for secret in ["aHVudGVyMg==", "czNjcjN0", "YWRtaW4="] {
            assert!(!d.contains(secret), "{d}");
        }
        assert!(
            d.contains(&format!("-  password: {SAME}\n+  password: {CHANGED}\n")),
            "a changed value shows as changed: {d}"
        );
        assert!(
            d.contains(&format!("   user: {SAME}\n")),
            "an equal one does not: {d}"
        );
    }
}
