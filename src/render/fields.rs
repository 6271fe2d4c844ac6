//! Field lookups for the render's hot paths. serde_json's ordered map finds a
//! key by hashing it with SipHash; the maps of Kubernetes objects hold a
//! handful of keys, and comparing them one by one costs a fraction of that.
//! Large maps (a ConfigMap's data) still go through the hash.

use serde_json::{Map, Value};

/// Up to this many keys, a scan beats hashing the key.
const SCAN_LIMIT: usize = 16;

pub trait Fields {
    fn field(&self, key: &str) -> Option<&Value>;
    fn field_mut(&mut self, key: &str) -> Option<&mut Value>;
}

impl Fields for Map<String, Value> {
    fn field(&self, key: &str) -> Option<&Value> {
        if self.len() > SCAN_LIMIT {
            return self.get(key);
        }
        self.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
    }
    fn field_mut(&mut self, key: &str) -> Option<&mut Value> {
        if self.len() > SCAN_LIMIT {
            return self.get_mut(key);
        }
        self.iter_mut()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    }
}

impl Fields for Value {
    fn field(&self, key: &str) -> Option<&Value> {
        self.as_object()?.field(key)
    }
    fn field_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.as_object_mut()?.field_mut(key)
    }
}

/// The string at `key`, or "" when it is missing or not a string.
pub fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.field(key).and_then(Value::as_str).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn small_and_large_maps_find_the_same_fields() {
        let mut small = json!({"a": 1, "bb": 2, "b": 3});
        assert_eq!(small.field("b"), Some(&json!(3)));
        assert_eq!(small.field("c"), None);
        *small.field_mut("bb").unwrap() = json!(5);
        assert_eq!(small["bb"], 5);
        let mut large: Map<String, Value> = (0..40).map(|i| (format!("k{i}"), json!(i))).collect();
        assert_eq!(large.field("k33"), Some(&json!(33)));
        assert_eq!(large.field("k40"), None);
        *large.field_mut("k0").unwrap() = json!("x");
        assert_eq!(large["k0"], "x");
        assert_eq!(json!([1]).field("a"), None);
        assert_eq!(text(&json!({"s": "v", "n": 1}), "s"), "v");
        assert_eq!(text(&json!({"s": "v", "n": 1}), "n"), "");
    }
}
