//! Field sets and the value walks of server-side apply (structured-merge-diff):
//! which fields an applied configuration or an update touches, how an applied
//! configuration merges into the live object, and how fields are removed.

use crate::schema::{ListType, Schema};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One step of a field path, in managedFields' own spelling:
/// `f:name`, `k:{"name":"app"}`, `v:"value"`, `i:3`.
pub type Element = String;

/// A set of field paths, stored as a tree like `fieldsV1`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSet {
    nodes: BTreeMap<Element, Node>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Node {
    member: bool,
    children: FieldSet,
}

impl FieldSet {
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn insert(&mut self, path: &[Element]) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let node = self.nodes.entry(first.clone()).or_default();
        if rest.is_empty() {
            node.member = true;
        } else {
            node.children.insert(rest);
        }
    }

    /// Whether the path itself, or anything below it, is in the set.
    pub fn touches(&self, path: &[Element]) -> bool {
        let Some((first, rest)) = path.split_first() else {
            return !self.is_empty();
        };
        match self.nodes.get(first) {
            None => false,
            Some(node) => rest.is_empty() || node.children.touches(rest),
        }
    }

    pub fn has(&self, path: &[Element]) -> bool {
        let Some((first, rest)) = path.split_first() else {
            return false;
        };
        match self.nodes.get(first) {
            None => false,
            Some(node) if rest.is_empty() => node.member,
            Some(node) => node.children.has(rest),
        }
    }

    pub fn union(&mut self, other: &FieldSet) {
        for (k, theirs) in &other.nodes {
            let mine = self.nodes.entry(k.clone()).or_default();
            mine.member |= theirs.member;
            mine.children.union(&theirs.children);
        }
    }

    /// Removes every member of `other` (structured-merge-diff's Difference).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::default();
        for (k, mine) in &self.nodes {
            let node = match other.nodes.get(k) {
                None => mine.clone(),
                Some(theirs) => Node {
                    member: mine.member && !theirs.member,
                    children: mine.children.difference(&theirs.children),
                },
            };
            if node.member || !node.children.is_empty() {
                out.nodes.insert(k.clone(), node);
            }
        }
        out
    }

    /// Removes whole subtrees: every node at a member path of `other` goes, with
    /// everything below it (a removed map takes its fields with it).
    pub fn without_subtrees(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::default();
        for (k, mine) in &self.nodes {
            match other.nodes.get(k) {
                Some(theirs) if theirs.member => {}
                Some(theirs) => {
                    let children = mine.children.without_subtrees(&theirs.children);
                    if mine.member || !children.is_empty() {
                        out.nodes.insert(
                            k.clone(),
                            Node {
                                member: mine.member,
                                children,
                            },
                        );
                    }
                }
                None => {
                    out.nodes.insert(k.clone(), mine.clone());
                }
            }
        }
        out
    }

    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::default();
        for (k, mine) in &self.nodes {
            if let Some(theirs) = other.nodes.get(k) {
                let node = Node {
                    member: mine.member && theirs.member,
                    children: mine.children.intersection(&theirs.children),
                };
                if node.member || !node.children.is_empty() {
                    out.nodes.insert(k.clone(), node);
                }
            }
        }
        out
    }

    /// Every member path, depth first.
    pub fn paths(&self) -> Vec<Vec<Element>> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<Element>, out: &mut Vec<Vec<Element>>) {
        for (k, node) in &self.nodes {
            prefix.push(k.clone());
            if node.member {
                out.push(prefix.clone());
            }
            node.children.collect(prefix, out);
            prefix.pop();
        }
    }

    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        for (k, node) in &self.nodes {
            let mut inner = match node.children.to_json() {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            if node.member && !inner.is_empty() {
                inner.insert(".".to_string(), Value::Object(Map::new()));
                inner.sort_keys();
            }
            map.insert(k.clone(), Value::Object(inner));
        }
        Value::Object(map)
    }

    pub fn from_json(value: &Value) -> FieldSet {
        let mut set = FieldSet::default();
        if let Value::Object(map) = value {
            for (k, v) in map {
                if k == "." {
                    continue;
                }
                let children = FieldSet::from_json(v);
                let explicit = v.get(".").is_some();
                let member = explicit || children.is_empty();
                set.nodes.insert(k.clone(), Node { member, children });
            }
        }
        set
    }
}

/// Renders a path as the API server does in conflict messages: `.spec.containers[name="app"].image`.
pub fn path_string(path: &[Element]) -> String {
    let mut out = String::new();
    for e in path {
        if let Some(f) = e.strip_prefix("f:") {
            out.push('.');
            out.push_str(f);
        } else if let Some(k) = e.strip_prefix("k:") {
            let parsed: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
            let parts: Vec<String> = parsed.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = e.strip_prefix("v:") {
            out.push_str(&format!("[={v}]"));
        } else if let Some(i) = e.strip_prefix("i:") {
            out.push_str(&format!("[{i}]"));
        }
    }
    out
}

pub fn field(name: &str) -> Element {
    format!("f:{name}")
}

/// The element that names a list item, or its index when the list has no keys.
fn item_element(list: &ListType, item: &Value, index: usize) -> Element {
    match list {
        ListType::Map(keys) if item.is_object() && !keys.is_empty() => {
            let mut key = Map::new();
            let mut sorted: Vec<&String> = keys.iter().collect();
            sorted.sort();
            for k in sorted {
                if let Some(v) = item.get(k) {
                    key.insert(k.clone(), v.clone());
                }
            }
            format!("k:{}", Value::Object(key))
        }
        ListType::Set => format!("v:{item}"),
        _ => format!("i:{index}"),
    }
}

/// The fields an applied configuration sets: leaves, atomic values and list items
/// (whose `.` marker managedFields shows), but not intermediate maps.
pub fn applied_fields(value: &Value, schema: Schema) -> FieldSet {
    let mut set = FieldSet::default();
    walk_applied(value, schema, &mut Vec::new(), &mut set);
    set
}

fn walk_applied(value: &Value, schema: Schema, path: &mut Vec<Element>, set: &mut FieldSet) {
    match value {
        Value::Object(map) if !schema.atomic_map() => {
            for (k, v) in map {
                path.push(field(k));
                walk_applied(v, schema.field(k), path, set);
                path.pop();
            }
        }
        Value::Array(items) => {
            let list = schema.list_type();
            if list == ListType::Atomic {
                set.insert(path);
                return;
            }
            for (i, item) in items.iter().enumerate() {
                path.push(item_element(&list, item, i));
                set.insert(path);
                if list != ListType::Set {
                    walk_applied(item, schema.items(), path, set);
                }
                path.pop();
            }
        }
        _ => set.insert(path),
    }
}

/// Every path of a value that did not exist before: the value itself and all of
/// its descendants, as an update's "added" set records them.
fn walk_added(value: &Value, schema: Schema, path: &mut Vec<Element>, set: &mut FieldSet) {
    set.insert(path);
    walk_added_children(value, schema, path, set);
}

fn walk_added_children(value: &Value, schema: Schema, path: &mut Vec<Element>, set: &mut FieldSet) {
    match value {
        Value::Object(map) if !schema.atomic_map() => {
            for (k, v) in map {
                path.push(field(k));
                walk_added(v, schema.field(k), path, set);
                path.pop();
            }
        }
        Value::Array(items) => {
            let list = schema.list_type();
            if list == ListType::Atomic {
                return;
            }
            for (i, item) in items.iter().enumerate() {
                path.push(item_element(&list, item, i));
                if list == ListType::Set {
                    set.insert(path);
                } else {
                    walk_added(item, schema.items(), path, set);
                }
                path.pop();
            }
        }
        _ => {}
    }
}

/// The difference between two versions of an object.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Paths added or changed in the new object.
    pub changed: FieldSet,
    /// Paths present in the old object and gone from the new one.
    pub removed: FieldSet,
}

pub fn compare(old: &Value, new: &Value, schema: Schema) -> Comparison {
    let mut cmp = Comparison::default();
    walk_compare(old, new, schema, &mut Vec::new(), &mut cmp);
    cmp
}

fn walk_compare(
    old: &Value,
    new: &Value,
    schema: Schema,
    path: &mut Vec<Element>,
    cmp: &mut Comparison,
) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) if !schema.atomic_map() => {
            for (k, nv) in b {
                path.push(field(k));
                match a.get(k) {
                    Some(ov) => walk_compare(ov, nv, schema.field(k), path, cmp),
                    None => walk_added(nv, schema.field(k), path, &mut cmp.changed),
                }
                path.pop();
            }
            for k in a.keys() {
                if !b.contains_key(k) {
                    path.push(field(k));
                    cmp.removed.insert(path);
                    path.pop();
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if schema.list_type() != ListType::Atomic => {
            let list = schema.list_type();
            let index = |items: &Vec<Value>| -> Vec<(Element, usize)> {
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (item_element(&list, v, i), i))
                    .collect()
            };
            let old_items = index(a);
            let new_items = index(b);
            for (element, i) in &new_items {
                path.push(element.clone());
                match old_items.iter().find(|(e, _)| e == element) {
                    Some((_, j)) if list != ListType::Set => {
                        walk_compare(&a[*j], &b[*i], schema.items(), path, cmp)
                    }
                    Some(_) => {}
                    None if list == ListType::Set => cmp.changed.insert(path),
                    None => walk_added(&b[*i], schema.items(), path, &mut cmp.changed),
                }
                path.pop();
            }
            for (element, _) in &old_items {
                if !new_items.iter().any(|(e, _)| e == element) {
                    path.push(element.clone());
                    cmp.removed.insert(path);
                    path.pop();
                }
            }
        }
        (a, b) => {
            if a != b {
                // A field that was null (Go's unset non-omitempty field) and now
                // holds a map or list is not itself new: only its contents are.
                let filled = a.is_null()
                    && (b.is_object() || b.is_array())
                    && !schema.atomic_map()
                    && !(b.is_array() && schema.list_type() == ListType::Atomic);
                if filled {
                    walk_added_children(b, schema, path, &mut cmp.changed);
                } else {
                    cmp.changed.insert(path);
                }
            }
        }
    }
}

/// Merges an applied configuration into the live object: config values win,
/// keyed lists merge item by item, everything else is replaced.
pub fn merge(live: &Value, config: &Value, schema: Schema) -> Value {
    match (live, config) {
        (Value::Object(a), Value::Object(b)) if !schema.atomic_map() => {
            let mut out = a.clone();
            for (k, v) in b {
                let merged = match a.get(k) {
                    Some(lv) => merge(lv, v, schema.field(k)),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(a), Value::Array(b)) => match schema.list_type() {
            ListType::Atomic => config.clone(),
            list => Value::Array(merge_list(a, b, &list, schema.items())),
        },
        _ => config.clone(),
    }
}

/// structured-merge-diff's list merge: walk both lists; an item only in the
/// live list stays where it is, config items lead once the live item at hand is
/// also in the config, and whatever remains of either list follows.
fn merge_list(live: &[Value], config: &[Value], list: &ListType, items: Schema) -> Vec<Value> {
    let key = |v: &Value, i: usize| item_element(list, v, i);
    let live_keys: Vec<Element> = live.iter().enumerate().map(|(i, v)| key(v, i)).collect();
    let config_keys: Vec<Element> = config.iter().enumerate().map(|(i, v)| key(v, i)).collect();
    let mut out = Vec::with_capacity(live.len().max(config.len()));
    let mut live_done = vec![false; live.len()];
    let merged_item = |ci: usize, li: Option<usize>| match li {
        Some(li) if *list != ListType::Set => merge(&live[li], &config[ci], items),
        _ => config[ci].clone(),
    };
    let take_config = |ci: usize, live_done: &mut Vec<bool>, out: &mut Vec<Value>| {
        let li = live_keys.iter().position(|k| *k == config_keys[ci]);
        if let Some(li) = li {
            live_done[li] = true;
        }
        out.push(merged_item(ci, li));
    };
    let (mut l, mut c) = (0, 0);
    while l < live.len() || c < config.len() {
        if l < live.len() && live_done[l] {
            l += 1;
            continue;
        }
        if l < live.len() && c < config.len() {
            if live_keys[l] == config_keys[c] || config_keys[c..].contains(&live_keys[l]) {
                take_config(c, &mut live_done, &mut out);
                c += 1;
            } else {
                out.push(live[l].clone());
                live_done[l] = true;
                l += 1;
            }
            continue;
        }
        if l < live.len() {
            out.push(live[l].clone());
            live_done[l] = true;
            l += 1;
        } else {
            take_config(c, &mut live_done, &mut out);
            c += 1;
        }
    }
    out
}

/// Removes the given member paths from a value (fields, keyed items, set values).
pub fn remove(value: &mut Value, set: &FieldSet, schema: Schema) {
    for (element, node) in &set.nodes {
        match value {
            Value::Object(map) => {
                let Some(name) = element.strip_prefix("f:") else {
                    continue;
                };
                if node.member {
                    map.remove(name);
                } else if let Some(child) = map.get_mut(name) {
                    remove(child, &node.children, schema.field(name));
                }
            }
            Value::Array(items) => {
                let list = schema.list_type();
                let position = items
                    .iter()
                    .enumerate()
                    .position(|(i, v)| item_element(&list, v, i) == *element);
                if let Some(i) = position {
                    if node.member {
                        items.remove(i);
                    } else {
                        remove(&mut items[i], &node.children, schema.items());
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Schema<'static> {
        Schema::builtin("apps/v1", "Deployment")
    }

    #[test]
    fn applied_fields_match_the_recorded_managed_fields() {
        let config = json!({"metadata": {"labels": {"app": "web"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"spec": {"containers": [{"name": "app", "image": "nginx",
                    "env": [{"name": "MODE", "value": "prod"}]}]}}}});
        let set = applied_fields(&config, deployment());
        assert_eq!(
            set.to_json(),
            json!({"f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"app\"}": {".": {}, "f:env": {"k:{\"name\":\"MODE\"}": {".": {}, "f:name": {}, "f:value": {}}},
                        "f:image": {}, "f:name": {}}}}}}})
        );
        assert_eq!(FieldSet::from_json(&set.to_json()), set);
    }

    #[test]
    fn difference_keeps_an_emptied_parent_that_was_a_member() {
        let creator = FieldSet::from_json(&json!({"f:data": {".": {}, "f:a": {}}}));
        let taken = FieldSet::from_json(&json!({"f:data": {"f:a": {}}}));
        assert_eq!(creator.difference(&taken).to_json(), json!({"f:data": {}}));
    }

    #[test]
    fn compare_reports_changes_additions_and_removals() {
        let old = json!({"data": {"a": "1", "b": "2"}});
        let new = json!({"data": {"a": "10", "c": "3"}, "metadata": {"labels": {"x": "y"}}});
        let cmp = compare(&old, &new, Schema::none());
        assert_eq!(
            cmp.changed.to_json(),
            json!({"f:data": {"f:a": {}, "f:c": {}}, "f:metadata": {".": {}, "f:labels": {".": {}, "f:x": {}}}})
        );
        assert_eq!(cmp.removed.to_json(), json!({"f:data": {"f:b": {}}}));
    }

    #[test]
    fn merge_keeps_live_items_and_updates_keyed_ones() {
        let s = deployment()
            .field("spec")
            .field("template")
            .field("spec")
            .field("containers");
        let live = json!([{"name": "a", "image": "1", "x": 1}, {"name": "b", "image": "1"}]);
        let config = json!([{"name": "b", "image": "2"}, {"name": "c", "image": "3"}]);
        let merged = merge(&live, &config, s);
        assert_eq!(
            merged,
            json!([{"name": "a", "image": "1", "x": 1}, {"name": "b", "image": "2"}, {"name": "c", "image": "3"}])
        );
        let mut v = merged;
        remove(
            &mut v,
            &FieldSet::from_json(&json!({"k:{\"name\":\"a\"}": {}})),
            s,
        );
        assert_eq!(v[0]["name"], "b");
    }

    #[test]
    fn path_strings_read_like_the_servers() {
        let p = vec![
            field("spec"),
            "k:{\"name\":\"app\"}".to_string(),
            field("image"),
        ];
        assert_eq!(path_string(&p), ".spec[name=\"app\"].image");
    }
}
