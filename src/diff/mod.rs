//! Diff: is a live object what applying the rendered one would leave? The
//! prediction comes from a server-side-apply dry run, so server defaults and
//! fields other managers own are not differences.

pub mod ignore;
pub mod text;

use serde_json::Value;

/// Per-resource comparison result, in Argo CD's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResourceSync {
    Synced,
    OutOfSync,
    /// Nothing live: the default of an object not looked at.
    #[default]
    Missing,
}

impl ResourceSync {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceSync::Synced => "Synced",
            ResourceSync::OutOfSync => "OutOfSync",
            ResourceSync::Missing => "OutOfSync",
        }
    }
}

/// The object without what the server changes on every write (status and
/// metadata bookkeeping): what both the comparison and the text diff ignore.
pub(crate) fn without_bookkeeping(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
        if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
            for k in [
                "resourceVersion",
                "generation",
                "managedFields",
                "creationTimestamp",
                "uid",
                "selfLink",
            ] {
                meta.remove(k);
            }
        }
    }
    v
}

/// The object as compared: no bookkeeping, no `ignoreDifferences` fields.
fn comparable(obj: &Value, ignored: &[Vec<ignore::Seg>]) -> Value {
    let mut v = without_bookkeeping(obj);
    for path in ignored {
        ignore::remove(&mut v, path);
    }
    v
}

/// Compares the live object with the dry-run prediction of applying the
/// rendered one, leaving out the `ignored` fields.
pub fn compare(
    live: Option<&Value>,
    predicted: Option<&Value>,
    ignored: &[Vec<ignore::Seg>],
) -> ResourceSync {
    match (live, predicted) {
        (None, _) => ResourceSync::Missing,
        (Some(_), None) => ResourceSync::OutOfSync,
        (Some(l), Some(p)) if comparable(l, ignored) == comparable(p, ignored) => {
            ResourceSync::Synced
        }
        _ => ResourceSync::OutOfSync,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_bookkeeping_is_not_a_difference() {
        let live = json!({"metadata": {"name": "a", "resourceVersion": "1", "managedFields": []}, "data": {"k": "v"}, "status": {"x": 1}});
        let same = json!({"metadata": {"name": "a", "resourceVersion": "2"}, "data": {"k": "v"}});
        let changed = json!({"metadata": {"name": "a"}, "data": {"k": "w"}});
        assert_eq!(compare(Some(&live), Some(&same), &[]), ResourceSync::Synced);
        assert_eq!(
            compare(Some(&live), Some(&changed), &[]),
            ResourceSync::OutOfSync
        );
        let data_k = [vec![
            ignore::Seg::Key("data".into()),
            ignore::Seg::Key("k".into()),
        ]];
        assert_eq!(
            compare(Some(&live), Some(&changed), &data_k),
            ResourceSync::Synced
        );
        assert_eq!(compare(None, Some(&same), &[]), ResourceSync::Missing);
    }
}
