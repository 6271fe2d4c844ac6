//! The resource types the server serves: the built-ins of kube-apiserver v1.36.2
//! (`data/discovery.json`, made from the shared recordings) and the kinds that
//! CustomResourceDefinitions define while the server runs.

use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};

#[derive(Debug, Clone)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub list_kind: String,
    pub namespaced: bool,
    pub verbs: Vec<String>,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub storage_version_hash: Option<String>,
    /// Subresource entries as legacy discovery lists them (`deployments/status`).
    pub subresources: Vec<Value>,
    pub crd: Option<Arc<CrdVersion>>,
}

/// What a CRD says about one served version of its kind.
#[derive(Debug)]
pub struct CrdVersion {
    pub crd_name: String,
    pub schema: Option<Value>,
    pub printer_columns: Vec<Value>,
    pub status_subresource: bool,
    pub preferred: bool,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The storage key shared by every version of one resource.
    pub fn storage_key(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }

    pub fn has_subresource(&self, sub: &str) -> bool {
        let full = format!("{}/{}", self.plural, sub);
        self.subresources.iter().any(|s| s["name"] == full.as_str())
    }

    /// The entry of this resource in an APIResourceList.
    pub fn discovery_entry(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("name".into(), json!(self.plural));
        m.insert("singularName".into(), json!(self.singular));
        m.insert("namespaced".into(), json!(self.namespaced));
        m.insert("kind".into(), json!(self.kind));
        m.insert("verbs".into(), json!(self.verbs));
        if !self.short_names.is_empty() {
            m.insert("shortNames".into(), json!(self.short_names));
        }
        if !self.categories.is_empty() {
            m.insert("categories".into(), json!(self.categories));
        }
        if let Some(h) = &self.storage_version_hash {
            m.insert("storageVersionHash".into(), json!(h));
        }
        Value::Object(m)
    }

    /// Kinds whose metadata.generation the server maintains.
    pub fn tracks_generation(&self) -> bool {
        self.crd.is_some()
            || matches!(
                self.kind.as_str(),
                "Deployment"
                    | "StatefulSet"
                    | "DaemonSet"
                    | "ReplicaSet"
                    | "ReplicationController"
                    | "Job"
                    | "CronJob"
                    | "Ingress"
                    | "NetworkPolicy"
                    | "PodDisruptionBudget"
                    | "CustomResourceDefinition"
                    | "Pod"
                    | "HorizontalPodAutoscaler"
                    | "ValidatingWebhookConfiguration"
                    | "MutatingWebhookConfiguration"
            )
    }
}

pub struct Builtins {
    /// Group names with their versions, in the server's order; "" is the core group.
    pub groups: Vec<(String, Vec<String>, String)>,
    pub types: Vec<Arc<ResourceType>>,
}

pub fn builtins() -> &'static Builtins {
    static DATA: OnceLock<Builtins> = OnceLock::new();
    DATA.get_or_init(|| {
        let doc: Value = serde_json::from_str(include_str!("../data/discovery.json"))
            .expect("data/discovery.json is valid JSON");
        let groups = doc["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| {
                let versions = g["versions"]
                    .as_array()
                    .expect("versions")
                    .iter()
                    .map(|v| v.as_str().unwrap_or_default().to_string())
                    .collect();
                (
                    g["name"].as_str().unwrap_or_default().to_string(),
                    versions,
                    g["preferredVersion"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect();
        let mut types = Vec::new();
        for (gv, entries) in doc["resources"].as_object().expect("resources") {
            let (group, version) = match gv.split_once('/') {
                Some((g, v)) => (g.to_string(), v.to_string()),
                None => (String::new(), gv.clone()),
            };
            let entries = entries.as_array().expect("list");
            for e in entries {
                let name = e["name"].as_str().unwrap_or_default();
                if name.contains('/') {
                    continue;
                }
                let subresources = entries
                    .iter()
                    .filter(|s| {
                        s["name"]
                            .as_str()
                            .and_then(|n| n.split_once('/'))
                            .is_some_and(|(p, _)| p == name)
                    })
                    .cloned()
                    .collect();
                let strings = |k: &str| -> Vec<String> {
                    e[k].as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|s| s.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let kind = e["kind"].as_str().unwrap_or_default().to_string();
                types.push(Arc::new(ResourceType {
                    group: group.clone(),
                    version: version.clone(),
                    plural: name.to_string(),
                    singular: e["singularName"].as_str().unwrap_or_default().to_string(),
                    list_kind: format!("{kind}List"),
                    kind,
                    namespaced: e["namespaced"].as_bool().unwrap_or(false),
                    verbs: strings("verbs"),
                    short_names: strings("shortNames"),
                    categories: strings("categories"),
                    storage_version_hash: e["storageVersionHash"].as_str().map(String::from),
                    subresources,
                    crd: None,
                }));
            }
        }
        Builtins { groups, types }
    })
}

const CRD_VERBS: &[&str] = &[
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "create",
    "update",
    "watch",
];

/// The resource types one CRD object defines (one per served version), once it
/// is established (not being deleted).
pub fn types_of_crd(crd: &Value) -> Vec<Arc<ResourceType>> {
    if crd.pointer("/metadata/deletionTimestamp").is_some() {
        return Vec::new();
    }
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or_default().to_string();
    let names = &spec["names"];
    let plural = names["plural"].as_str().unwrap_or_default().to_string();
    let kind = names["kind"].as_str().unwrap_or_default().to_string();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    let preferred = preferred_version(&versions);
    let mut out = Vec::new();
    for v in &versions {
        if v["served"] != json!(true) {
            continue;
        }
        let version = v["name"].as_str().unwrap_or_default().to_string();
        let status = v.pointer("/subresources/status").is_some();
        let scale = v.pointer("/subresources/scale").is_some();
        let namespaced = spec["scope"] == "Namespaced";
        let mut subresources = Vec::new();
        if status {
            subresources.push(json!({"name": format!("{plural}/status"), "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": ["get", "patch", "update"]}));
        }
        if scale {
            subresources.push(json!({"name": format!("{plural}/scale"), "singularName": "", "namespaced": namespaced, "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}));
        }
        out.push(Arc::new(ResourceType {
            group: group.clone(),
            version: version.clone(),
            plural: plural.clone(),
            singular: names["singular"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| kind.to_lowercase()),
            kind: kind.clone(),
            list_kind: names["listKind"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| format!("{kind}List")),
            namespaced,
            verbs: CRD_VERBS.iter().map(|s| s.to_string()).collect(),
            short_names: strings(&names["shortNames"]),
            categories: strings(&names["categories"]),
            storage_version_hash: Some(storage_version_hash(&group, &version, &kind)),
            subresources,
            crd: Some(Arc::new(CrdVersion {
                crd_name: crd["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                schema: v.pointer("/schema/openAPIV3Schema").cloned(),
                printer_columns: v["additionalPrinterColumns"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
                status_subresource: status,
                preferred: version == preferred,
            })),
        }));
    }
    out
}

/// The API server's storageVersionHash: the first 8 bytes of
/// sha256("group/version/kind"), base64.
fn storage_version_hash(group: &str, version: &str, kind: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{group}/{version}/{kind}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(&digest[..8])
}

/// Kubernetes' version priority: GA > beta > alpha, higher numbers first.
pub fn preferred_version(versions: &[Value]) -> String {
    let mut served: Vec<String> = versions
        .iter()
        .filter(|v| v["served"] == json!(true))
        .filter_map(|v| v["name"].as_str().map(String::from))
        .collect();
    served.sort_by_key(|v| std::cmp::Reverse(version_rank(v)));
    served.first().cloned().unwrap_or_default()
}

fn version_rank(v: &str) -> (u8, u32, u32) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let major: u32 = digits.parse().unwrap_or(0);
    let tail = &rest[digits.len()..];
    if tail.is_empty() {
        return (3, major, 0);
    }
    if let Some(n) = tail.strip_prefix("beta") {
        return (2, major, n.parse().unwrap_or(0));
    }
    if let Some(n) = tail.strip_prefix("alpha") {
        return (1, major, n.parse().unwrap_or(0));
    }
    (0, major, 0)
}
