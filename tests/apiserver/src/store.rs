//! The server's storage: every object by resource and key, one global
//! resourceVersion counter, a bounded event history for watches that resume, and
//! a broadcast of new events to open watches.

use crate::resources::{self, ResourceType};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Events kept for watches that resume from a resourceVersion; older ones answer 410.
pub const DEFAULT_HISTORY: usize = 50_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

#[derive(Debug)]
pub struct WatchEvent {
    pub rv: u64,
    pub storage_key: String,
    pub namespace: String,
    pub kind: EventType,
    pub object: Arc<Value>,
    pub previous: Option<Arc<Value>>,
}

pub struct State {
    pub rv: u64,
    objects: HashMap<String, BTreeMap<String, Arc<Value>>>,
    history: VecDeque<Arc<WatchEvent>>,
    pub history_limit: usize,
    /// The resourceVersion of the oldest event a watch may still resume after.
    pub compacted_rv: u64,
    crd_types: Vec<Arc<ResourceType>>,
    events: broadcast::Sender<Arc<WatchEvent>>,
    /// Bearer tokens the server accepts, with whom they authenticate.
    pub tokens: HashMap<String, crate::auth::Token>,
}

/// `namespace/name`, or `name` for cluster-scoped objects: etcd's key order.
pub fn object_key(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_string(),
    }
}

impl State {
    pub fn new(events: broadcast::Sender<Arc<WatchEvent>>) -> State {
        State {
            rv: 1000,
            objects: HashMap::new(),
            history: VecDeque::new(),
            history_limit: DEFAULT_HISTORY,
            compacted_rv: 1000,
            crd_types: Vec::new(),
            events,
            tokens: HashMap::new(),
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<WatchEvent>> {
        self.events.subscribe()
    }

    pub fn get(&self, storage_key: &str, key: &str) -> Option<Arc<Value>> {
        self.objects.get(storage_key)?.get(key).cloned()
    }

    /// Objects of a resource in key order, optionally in one namespace, starting after `after`.
    pub fn range<'a>(
        &'a self,
        storage_key: &str,
        namespace: Option<&'a str>,
        after: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a String, &'a Arc<Value>)> + 'a {
        let map = self.objects.get(storage_key);
        let prefix = namespace.map(|ns| format!("{ns}/"));
        map.into_iter().flat_map(move |m| {
            let start = match (after, &prefix) {
                (Some(a), _) => std::ops::Bound::Excluded(a.to_string()),
                (None, Some(p)) => std::ops::Bound::Included(p.clone()),
                (None, None) => std::ops::Bound::Unbounded,
            };
            let prefix = prefix.clone();
            m.range((start, std::ops::Bound::Unbounded))
                .take_while(move |(k, _)| prefix.as_ref().is_none_or(|p| k.starts_with(p.as_str())))
        })
    }

    pub fn count(&self, storage_key: &str) -> usize {
        self.objects.get(storage_key).map_or(0, |m| m.len())
    }

    /// Stores an object under a new resourceVersion and tells the watches.
    pub fn put(&mut self, storage_key: &str, key: &str, mut object: Value) -> Arc<Value> {
        self.rv += 1;
        let rv = self.rv;
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
        }
        let object = Arc::new(object);
        let map = self.objects.entry(storage_key.to_string()).or_default();
        let previous = map.insert(key.to_string(), object.clone());
        let kind = if previous.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.emit(storage_key, &object, kind, previous);
        if storage_key == "apiextensions.k8s.io/customresourcedefinitions" {
            self.refresh_crd_types();
        }
        object
    }

    /// Removes an object; its DELETED event carries the last state with a new resourceVersion.
    pub fn remove(&mut self, storage_key: &str, key: &str) -> Option<Arc<Value>> {
        let old = self.objects.get_mut(storage_key)?.remove(key)?;
        self.rv += 1;
        let mut last = (*old).clone();
        if let Some(meta) = last.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), Value::String(self.rv.to_string()));
        }
        let last = Arc::new(last);
        self.emit(storage_key, &last, EventType::Deleted, Some(old));
        if storage_key == "apiextensions.k8s.io/customresourcedefinitions" {
            self.refresh_crd_types();
        }
        Some(last)
    }

    fn emit(
        &mut self,
        storage_key: &str,
        object: &Arc<Value>,
        kind: EventType,
        previous: Option<Arc<Value>>,
    ) {
        let namespace = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let event = Arc::new(WatchEvent {
            rv: self.rv,
            storage_key: storage_key.to_string(),
            namespace,
            kind,
            object: object.clone(),
            previous,
        });
        self.history.push_back(event.clone());
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted_rv = old.rv;
            }
        }
        // No receiver is fine: nobody is watching.
        let _ = self.events.send(event);
    }

    /// Forgets the event history, as an etcd compaction does: watches from an
    /// older resourceVersion then get 410 Gone.
    pub fn compact(&mut self) {
        self.history.clear();
        self.compacted_rv = self.rv;
    }

    /// Events after `rv`, or `None` when they are no longer known (410).
    pub fn events_since(&self, rv: u64) -> Option<Vec<Arc<WatchEvent>>> {
        if rv < self.compacted_rv {
            return None;
        }
        Some(self.history.iter().filter(|e| e.rv > rv).cloned().collect())
    }

    fn refresh_crd_types(&mut self) {
        let crds: Vec<Arc<Value>> = self
            .range("apiextensions.k8s.io/customresourcedefinitions", None, None)
            .map(|(_, v)| v.clone())
            .collect();
        self.crd_types = crds
            .iter()
            .flat_map(|c| resources::types_of_crd(c))
            .collect();
    }

    pub fn crd_types(&self) -> &[Arc<ResourceType>] {
        &self.crd_types
    }

    /// The type serving `group/version/plural`, built-in or from a CRD.
    pub fn find_type(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        resources::builtins()
            .types
            .iter()
            .chain(self.crd_types.iter())
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    /// Every type of a group/version (for discovery and routing).
    pub fn types_of(&self, group: &str, version: &str) -> Vec<Arc<ResourceType>> {
        resources::builtins()
            .types
            .iter()
            .chain(self.crd_types.iter())
            .filter(|t| t.group == group && t.version == version)
            .cloned()
            .collect()
    }

    pub fn group_version_exists(&self, group: &str, version: &str) -> bool {
        if let Some((_, versions, _)) = resources::builtins()
            .groups
            .iter()
            .find(|(g, _, _)| g == group)
        {
            return versions.iter().any(|v| v == version);
        }
        self.crd_types
            .iter()
            .any(|t| t.group == group && t.version == version)
    }

    /// A type by group and kind (any served version), for ownerReferences.
    pub fn find_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceType>> {
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        resources::builtins()
            .types
            .iter()
            .chain(self.crd_types.iter())
            .find(|t| t.group == group && t.kind == kind)
            .cloned()
    }

    /// Every stored resource key, for garbage collection scans.
    pub fn storage_keys(&self) -> Vec<String> {
        self.objects.keys().cloned().collect()
    }

    /// Drops every object of a resource (a CRD's kind going away), with events.
    pub fn remove_all(&mut self, storage_key: &str) {
        let keys: Vec<String> = self
            .objects
            .get(storage_key)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for k in keys {
            self.remove(storage_key, &k);
        }
    }
}
