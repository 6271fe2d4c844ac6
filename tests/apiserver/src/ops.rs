//! The verbs: what create, update, patch, apply, delete, get and list do to the
//! store, with the API server's metadata, defaulting, validation, managedFields,
//! dry-run, finalizer, garbage-collection and namespace rules.

use crate::defaults;
use crate::errors::{qualified, ApiError, ApiResult, Cause, Subject};
use crate::fields::FieldSet;
use crate::managed::{self, Writer};
use crate::patch;
use crate::resources::ResourceType;
use crate::schema::Schema;
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{object_key, State};
use crate::validate;
use crate::yaml;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

#[derive(Debug, Clone)]
pub struct WriteOpts {
    pub dry_run: bool,
    /// `fieldManager`, if the request named one.
    pub field_manager: Option<String>,
    /// The manager derived from the User-Agent (up to the first `/`).
    pub agent_manager: String,
    pub validation: FieldValidation,
    pub force: bool,
}

impl WriteOpts {
    /// A write by one of the cluster's own components, without validation warnings.
    pub fn system(manager: &str) -> WriteOpts {
        WriteOpts {
            dry_run: false,
            field_manager: Some(manager.into()),
            agent_manager: manager.into(),
            validation: FieldValidation::Ignore,
            force: false,
        }
    }

    pub fn manager(&self) -> &str {
        self.field_manager.as_deref().unwrap_or(&self.agent_manager)
    }
}

pub struct Written {
    pub object: Value,
    pub created: bool,
    pub warnings: Vec<String>,
}

/// One object's address.
#[derive(Clone)]
pub struct Target {
    pub rt: Arc<ResourceType>,
    pub namespace: Option<String>,
    pub name: String,
    pub subresource: String,
}

impl Target {
    fn key(&self) -> String {
        object_key(self.namespace.as_deref(), &self.name)
    }
    fn subject(&self) -> Subject<'_> {
        subject(&self.rt, &self.name)
    }
}

pub fn subject<'a>(rt: &'a ResourceType, name: &'a str) -> Subject<'a> {
    Subject {
        group: &rt.group,
        plural: &rt.plural,
        kind: &rt.kind,
        name,
    }
}

pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn schema_of(rt: &ResourceType) -> Schema<'_> {
    match &rt.crd {
        Some(crd) => match &crd.schema {
            Some(s) => Schema::crd(s),
            None => Schema::none(),
        },
        None => Schema::builtin(&rt.api_version(), &rt.kind),
    }
}

fn crd_schema(rt: &ResourceType) -> Option<&Value> {
    rt.crd.as_ref().and_then(|c| c.schema.as_ref())
}

/// Whether writes to the main resource leave `status` alone.
fn has_status_subresource(rt: &ResourceType) -> bool {
    rt.has_subresource("status")
}

/// Parses a request body as JSON, or YAML when the content type says so.
pub fn parse_body(body: &[u8], content_type: &str) -> Result<Value, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    if content_type.contains("yaml") {
        let mut docs = yaml::parse_documents(text).map_err(|e| e.to_string())?;
        return match docs.len() {
            0 => Ok(Value::Null),
            1 => Ok(docs.remove(0)),
            _ => Err("yaml: expected a single document".into()),
        };
    }
    serde_json::from_str(text).map_err(go_json_error)
}

/// Go's encoding/json wording for the common failures.
pub fn go_json_error(e: serde_json::Error) -> String {
    if e.is_eof() {
        "unexpected end of JSON input".to_string()
    } else {
        format!(
            "invalid character at line {} column {}: {e}",
            e.line(),
            e.column()
        )
    }
}

fn internal_group(group: &str) -> &str {
    if group.is_empty() {
        "core"
    } else {
        group.split('.').next().unwrap_or(group)
    }
}

/// A body whose kind or apiVersion is not what the URL serves.
fn check_kind(rt: &ResourceType, body: &Value) -> ApiResult<()> {
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or_default();
    if kind.is_empty() {
        let snippet: String = body.to_string().chars().take(20).collect();
        return Err(ApiError::bad_request(format!(
            "Object 'Kind' is missing in '{snippet}'"
        )));
    }
    if kind != rt.kind {
        let version = body
            .get("apiVersion")
            .and_then(Value::as_str)
            .map(|v| v.rsplit('/').next().unwrap_or(v).to_string())
            .unwrap_or_else(|| rt.version.clone());
        return Err(ApiError::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {}: converting ({version}.{kind}) to ({}.{}): unknown conversion",
            rt.kind,
            internal_group(&rt.group),
            rt.kind
        )));
    }
    Ok(())
}

/// Drops fields the schema does not know, as fieldValidation asks.
fn unknown_fields(
    rt: &ResourceType,
    obj: &mut Value,
    validation: FieldValidation,
) -> ApiResult<Vec<String>> {
    let mut unknown = Vec::new();
    validate::prune_unknown(obj, schema_of(rt), "", rt.crd.is_none(), &mut unknown);
    if validation == FieldValidation::Strict && !unknown.is_empty() {
        let list: Vec<String> = unknown
            .iter()
            .map(|u| format!("unknown field {u:?}"))
            .collect();
        return Err(ApiError::bad_request(format!(
            "{} in version {:?} cannot be handled as a {}: strict decoding error: {}",
            rt.kind,
            rt.version,
            rt.kind,
            list.join(", ")
        )));
    }
    if validation == FieldValidation::Ignore {
        return Ok(Vec::new());
    }
    Ok(unknown
        .iter()
        .map(|u| format!("unknown field {u:?}"))
        .collect())
}

fn apply_defaults(rt: &ResourceType, obj: &mut Value) {
    if let Some(schema) = crd_schema(rt) {
        validate::crd_defaults(obj, schema);
    } else {
        defaults::apply(&rt.group, &rt.kind, obj);
    }
}

fn check_valid(rt: &ResourceType, obj: &Value, name: &str) -> ApiResult<()> {
    let causes = validate::validate(&rt.group, &rt.kind, obj, crd_schema(rt));
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(&subject(rt, name), causes))
    }
}

/// Orders an object's keys as the API server prints them.
fn normalize(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let mut out = Map::new();
    for k in ["kind", "apiVersion", "metadata"] {
        if let Some(v) = map.remove(k) {
            out.insert(k.to_string(), v);
        }
    }
    let status = map.remove("status");
    for (k, v) in std::mem::take(map) {
        out.insert(k, v);
    }
    if let Some(s) = status {
        out.insert("status".into(), s);
    }
    if let Some(Value::Object(meta)) = out.get_mut("metadata") {
        const ORDER: &[&str] = &[
            "name",
            "generateName",
            "namespace",
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "labels",
            "annotations",
            "ownerReferences",
            "finalizers",
            "managedFields",
        ];
        let mut m = Map::new();
        for k in ORDER {
            if let Some(v) = meta.remove(*k) {
                m.insert(k.to_string(), v);
            }
        }
        for (k, v) in std::mem::take(meta) {
            m.insert(k, v);
        }
        *meta = m;
    }
    *map = out;
}

fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj.as_object_mut()
            .expect("objects are JSON objects")
            .insert("metadata".into(), json!({}));
    }
    obj["metadata"]
        .as_object_mut()
        .expect("metadata is an object")
}

fn random_suffix() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The namespace an object goes into must exist and not be terminating.
fn check_namespace(
    state: &State,
    rt: &ResourceType,
    ns: Option<&str>,
    name: &str,
) -> ApiResult<()> {
    let Some(ns) = ns else {
        return Ok(());
    };
    match state.get("/namespaces", ns) {
        None => Err(ApiError::not_found(&Subject {
            group: "",
            plural: "namespaces",
            kind: "Namespace",
            name: ns,
        })),
        Some(n) if n.pointer("/metadata/deletionTimestamp").is_some() => {
            let mut details = Map::new();
            details.insert("name".into(), json!(name));
            if !rt.group.is_empty() {
                details.insert("group".into(), json!(rt.group));
            }
            details.insert("kind".into(), json!(rt.plural));
            details.insert(
                "causes".into(),
                json!([{"reason": "NamespaceTerminating", "message": format!("namespace {ns} is being terminated"), "field": "metadata.namespace"}]),
            );
            Err(ApiError::status(
                403,
                "Forbidden",
                format!(
                    "{} {name:?} is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                    qualified(&rt.plural, &rt.group)
                ),
                Some(Value::Object(details)),
            ))
        }
        Some(_) => Ok(()),
    }
}

pub fn create(
    state: &mut State,
    rt: Arc<ResourceType>,
    ns: Option<&str>,
    body: Value,
    opts: &WriteOpts,
) -> ApiResult<Written> {
    if !body.is_object() {
        return Err(ApiError::bad_request("the object provided is unrecognized"));
    }
    check_kind(&rt, &body)?;
    let mut obj = body;
    let body_ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .map(String::from);
    if let (Some(url_ns), Some(b)) = (ns, body_ns.as_deref()) {
        if !b.is_empty() && b != url_ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    let meta = meta_mut(&mut obj);
    for f in [
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "managedFields",
        "selfLink",
    ] {
        meta.remove(f);
    }
    match ns {
        Some(ns) => {
            meta.insert("namespace".into(), json!(ns));
        }
        None => {
            meta.remove("namespace");
        }
    }
    let name = meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let name = if name.is_empty() {
        match meta.get("generateName").and_then(Value::as_str) {
            Some(prefix) if !prefix.is_empty() => {
                let n = format!("{prefix}{}", random_suffix());
                meta.insert("name".into(), json!(n));
                n
            }
            _ => {
                return Err(ApiError::invalid(
                    &Subject {
                        group: &rt.group,
                        plural: &rt.plural,
                        kind: &rt.kind,
                        name: "",
                    },
                    vec![Cause::required(
                        "metadata.name",
                        "name or generateName is required",
                    )],
                ))
            }
        }
    } else {
        name
    };
    let target = Target {
        rt: rt.clone(),
        namespace: ns.map(String::from),
        name: name.clone(),
        subresource: String::new(),
    };
    if state.get(&rt.storage_key(), &target.key()).is_some() {
        return Err(ApiError::already_exists(&target.subject()));
    }
    check_namespace(state, &rt, ns, &name)?;
    if has_status_subresource(&rt) {
        if let Some(m) = obj.as_object_mut() {
            m.remove("status");
        }
    }
    let warnings = unknown_fields(&rt, &mut obj, opts.validation)?;
    let writer = Writer {
        manager: opts.manager(),
        api_version: &rt.api_version(),
        subresource: "",
        now: &now(),
    };
    let obj = finish_create(state, &rt, obj, Some(&writer), opts.dry_run)?;
    Ok(Written {
        object: obj,
        created: true,
        warnings,
    })
}

/// The part of a create shared with apply-creates: server fields, defaults,
/// validation, managedFields (unless the apply already wrote them), storage.
fn finish_create(
    state: &mut State,
    rt: &Arc<ResourceType>,
    mut obj: Value,
    writer: Option<&Writer>,
    dry_run: bool,
) -> ApiResult<Value> {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .map(String::from);
    if let Some(m) = obj.as_object_mut() {
        m.insert("apiVersion".into(), json!(rt.api_version()));
        m.insert("kind".into(), json!(rt.kind));
    }
    apply_defaults(rt, &mut obj);
    let meta = meta_mut(&mut obj);
    meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), json!(now()));
    if rt.tracks_generation() {
        meta.insert("generation".into(), json!(1));
    }
    check_valid(rt, &obj, &name)?;
    if let Some(writer) = writer {
        managed::record_update(None, &mut obj, writer, schema_of(rt), rt.crd.is_none());
    }
    defaults::prepare_for_create(&rt.group, &rt.kind, &mut obj, state.rv);
    if rt.kind == "CustomResourceDefinition" {
        if let Some(m) = obj.as_object_mut() {
            let versions = m["spec"]["versions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let stored: Vec<Value> = versions
                .iter()
                .filter(|v| v["storage"] == json!(true))
                .map(|v| v["name"].clone())
                .collect();
            m.insert("status".into(), json!({"conditions": null, "acceptedNames": {"plural": "", "kind": ""}, "storedVersions": stored}));
        }
    }
    normalize(&mut obj);
    if dry_run {
        return Ok(obj);
    }
    let key = object_key(ns.as_deref(), &name);
    let stored = state.put(&rt.storage_key(), &key, obj);
    let response = (*stored).clone();
    after_create(state, rt, &stored);
    Ok(response)
}

/// Stand-ins for the controllers a real cluster runs right after a create.
fn after_create(state: &mut State, rt: &ResourceType, obj: &Value) {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "Namespace") => {
            // The root CA ConfigMap and the default ServiceAccount, as kube-controller-manager adds them.
            let ca = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt", "namespace": name,
                "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
                "data": {"ca.crt": TEST_CA_PEM}});
            let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}});
            for (obj, plural) in [(ca, "configmaps"), (sa, "serviceaccounts")] {
                if let Some(t) = state.find_type("", "v1", plural) {
                    let writer = Writer {
                        manager: "kube-controller-manager",
                        api_version: "v1",
                        subresource: "",
                        now: &now(),
                    };
                    let _ = finish_create(state, &t, obj, Some(&writer), false);
                }
            }
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            // The CRD controllers accept the names and establish the kind.
            let mut established = obj.clone();
            let names = obj["spec"]["names"].clone();
            let mut accepted = names.clone();
            if let Some(a) = accepted.as_object_mut() {
                a.entry("singular").or_insert(json!(names["kind"]
                    .as_str()
                    .unwrap_or_default()
                    .to_lowercase()));
                a.entry("listKind").or_insert(json!(format!(
                    "{}List",
                    names["kind"].as_str().unwrap_or_default()
                )));
            }
            let t = now();
            established["status"]["conditions"] = json!([
                {"type": "NamesAccepted", "status": "True", "lastTransitionTime": t, "reason": "NoConflicts", "message": "no conflicts found"},
                {"type": "Established", "status": "True", "lastTransitionTime": t, "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}
            ]);
            established["status"]["acceptedNames"] = accepted;
            let writer = Writer {
                manager: "kube-apiserver",
                api_version: "apiextensions.k8s.io/v1",
                subresource: "status",
                now: &t,
            };
            managed::record_update(Some(obj), &mut established, &writer, schema_of(rt), true);
            state.put(&rt.storage_key(), &name, established);
        }
        _ => {}
    }
}

/// A self-signed-looking placeholder: the test server has no real CA.
const TEST_CA_PEM: &str = "-----BEGIN CERTIFICATE-----\nTUlJQnNraWZmLXRlc3QtYXBpc2VydmVyLWhhcy1uby1yZWFsLWNlcnRpZmljYXRl\n-----END CERTIFICATE-----\n";

pub fn get(state: &State, target: &Target) -> ApiResult<Value> {
    let obj = state
        .get(&target.rt.storage_key(), &target.key())
        .ok_or_else(|| ApiError::not_found(&target.subject()))?;
    Ok(present(&target.rt, &obj))
}

/// An object as served at this type's version.
pub fn present(rt: &ResourceType, obj: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(m) = out.as_object_mut() {
        m.insert("apiVersion".into(), json!(rt.api_version()));
    }
    out
}

pub fn update(
    state: &mut State,
    target: &Target,
    body: Value,
    opts: &WriteOpts,
) -> ApiResult<Written> {
    if !body.is_object() {
        return Err(ApiError::bad_request("the object provided is unrecognized"));
    }
    check_kind(&target.rt, &body)?;
    let body_name = body
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if body_name != target.name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({})",
            target.name
        )));
    }
    if let (Some(url_ns), Some(b)) = (
        target.namespace.as_deref(),
        body.pointer("/metadata/namespace").and_then(Value::as_str),
    ) {
        if !b.is_empty() && b != url_ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    let old = state
        .get(&target.rt.storage_key(), &target.key())
        .ok_or_else(|| ApiError::not_found(&target.subject()))?;
    check_resource_version(&body, &old, target)?;
    let mut body = body;
    let warnings = unknown_fields(&target.rt, &mut body, opts.validation)?;
    let mut written = write_update(state, target, &old, body, opts, Mode::Update)?;
    written.warnings = warnings;
    Ok(written)
}

/// A resourceVersion in the written object is a precondition: it must be the stored one.
fn check_resource_version(written: &Value, stored: &Value, target: &Target) -> ApiResult<()> {
    let rv = |v: &Value| {
        v.pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .map(String::from)
    };
    match rv(written) {
        Some(w) if !w.is_empty() && Some(&w) != rv(stored).as_ref() => {
            Err(ApiError::conflict(&target.subject()))
        }
        _ => Ok(()),
    }
}

#[derive(PartialEq)]
enum Mode {
    Update,
    Applied,
}

fn spec_part(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
        m.remove("apiVersion");
        m.remove("kind");
    }
    v
}

fn volatile_free(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
        if let Some(Value::Array(mf)) = meta.get_mut("managedFields") {
            for e in mf.iter_mut().filter_map(Value::as_object_mut) {
                e.remove("time");
            }
        }
    }
    if let Some(m) = v.as_object_mut() {
        m.remove("apiVersion");
    }
    v
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The shared tail of update, patch and apply on an existing object.
fn write_update(
    state: &mut State,
    target: &Target,
    old: &Arc<Value>,
    new: Value,
    opts: &WriteOpts,
    mode: Mode,
) -> ApiResult<Written> {
    let rt = &target.rt;
    let mut new = if target.subresource == "status" {
        let mut merged = (**old).clone();
        if let Some(m) = merged.as_object_mut() {
            match new.get("status") {
                Some(s) => m.insert("status".into(), s.clone()),
                None => m.remove("status"),
            };
            if mode == Mode::Applied {
                if let Some(mf) = new.pointer("/metadata/managedFields") {
                    meta_mut(&mut merged).insert("managedFields".into(), mf.clone());
                }
            }
        }
        merged
    } else {
        let mut n = new;
        if has_status_subresource(rt) {
            if let Some(m) = n.as_object_mut() {
                match old.get("status") {
                    Some(s) => m.insert("status".into(), s.clone()),
                    None => m.remove("status"),
                };
            }
        }
        n
    };
    // Server-owned metadata comes from the stored object, whatever the body said.
    let old_meta = old["metadata"].as_object().cloned().unwrap_or_default();
    {
        let meta = meta_mut(&mut new);
        for f in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            match old_meta.get(f) {
                Some(v) => meta.insert(f.to_string(), v.clone()),
                None => meta.remove(f),
            };
        }
        meta.remove("resourceVersion");
        if mode == Mode::Update {
            match old_meta.get("managedFields") {
                Some(v) => meta.insert("managedFields".into(), v.clone()),
                None => meta.remove("managedFields"),
            };
        }
    }
    if let Some(m) = new.as_object_mut() {
        m.insert("apiVersion".into(), json!(rt.api_version()));
        m.insert("kind".into(), json!(rt.kind));
    }
    apply_defaults(rt, &mut new);
    if rt.group.is_empty() && rt.kind == "Namespace" {
        // spec.finalizers changes only through /finalize.
        if let (Some(m), Some(spec)) = (new.as_object_mut(), old.get("spec")) {
            m.insert("spec".into(), spec.clone());
        }
    }
    if old.pointer("/metadata/deletionTimestamp").is_some() {
        let before = finalizers(old);
        let added: Vec<String> = finalizers(&new)
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        if !added.is_empty() {
            let list: Vec<String> = added.iter().map(|f| format!("{f:?}")).collect();
            let why = format!(
                "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                list.join(", ")
            );
            // The real server reports this cause twice.
            let cause = Cause::forbidden("metadata.finalizers", &why);
            return Err(ApiError::invalid(
                &target.subject(),
                vec![cause.clone(), cause],
            ));
        }
    }
    check_valid(rt, &new, &target.name)?;
    if rt.tracks_generation() && spec_part(&new) != spec_part(old) {
        let g = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        meta_mut(&mut new).insert("generation".into(), json!(g + 1));
    }
    if mode == Mode::Update {
        let writer = Writer {
            manager: opts.manager(),
            api_version: &rt.api_version(),
            subresource: &target.subresource,
            now: &now(),
        };
        managed::record_update(
            Some(old),
            &mut new,
            &writer,
            schema_of(rt),
            rt.crd.is_none(),
        );
    }
    normalize(&mut new);
    if volatile_free(&new) == volatile_free(old) {
        return Ok(Written {
            object: present(rt, old),
            created: false,
            warnings: Vec::new(),
        });
    }
    if opts.dry_run {
        let rv = old_meta
            .get("resourceVersion")
            .cloned()
            .unwrap_or(json!(""));
        meta_mut(&mut new).insert("resourceVersion".into(), rv);
        normalize(&mut new);
        return Ok(Written {
            object: new,
            created: false,
            warnings: Vec::new(),
        });
    }
    let key = target.key();
    let gone = new.pointer("/metadata/deletionTimestamp").is_some() && finalizers(&new).is_empty();
    let stored = state.put(&rt.storage_key(), &key, new);
    let response = (*stored).clone();
    if gone {
        finish_removal(state, rt, &key);
    } else if rt.kind == "CustomResourceDefinition" {
        // A changed CRD keeps its Established condition; nothing else to do.
    }
    Ok(Written {
        object: present(rt, &response),
        created: false,
        warnings: Vec::new(),
    })
}

pub enum PatchKind {
    Apply,
    Merge,
    Json,
    Strategic,
}

pub fn patch_kind(rt: &ResourceType, content_type: &str) -> ApiResult<PatchKind> {
    let ct = content_type.split(';').next().unwrap_or_default().trim();
    match ct {
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => Ok(PatchKind::Apply),
        "application/merge-patch+json" => Ok(PatchKind::Merge),
        "application/json-patch+json" => Ok(PatchKind::Json),
        "application/strategic-merge-patch+json" if rt.crd.is_none() => Ok(PatchKind::Strategic),
        "application/strategic-merge-patch+json" => Err(ApiError::status(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
            None,
        )),
        _ => Err(ApiError::unsupported_media_type()),
    }
}

pub fn patch(
    state: &mut State,
    target: &Target,
    kind: PatchKind,
    body: &[u8],
    opts: &WriteOpts,
) -> ApiResult<Written> {
    if let PatchKind::Apply = kind {
        return apply(state, target, body, opts);
    }
    let old = state
        .get(&target.rt.storage_key(), &target.key())
        .ok_or_else(|| ApiError::not_found(&target.subject()))?;
    let text = std::str::from_utf8(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let patch_doc: Value = serde_json::from_str(text).map_err(|e| {
        ApiError::bad_request(format!("error decoding patch: {}", go_json_error(e)))
    })?;
    let base = present(&target.rt, &old);
    let mut patched = match kind {
        PatchKind::Merge => {
            if !patch_doc.is_object() {
                return Err(ApiError::bad_request(
                    "error decoding patch: a merge patch must be a JSON object",
                ));
            }
            patch::merge_patch(&base, &patch_doc)
        }
        PatchKind::Json => patch::json_patch(&base, &patch_doc).map_err(|_| {
            ApiError::status(
                422,
                "Invalid",
                "the server rejected our request due to an error in our request",
                Some(json!({})),
            )
        })?,
        PatchKind::Strategic => patch::strategic_merge(&base, &patch_doc, schema_of(&target.rt))
            .map_err(ApiError::bad_request)?,
        PatchKind::Apply => unreachable!("handled above"),
    };
    check_resource_version(&patched, &old, target)?;
    let warnings = unknown_fields(&target.rt, &mut patched, opts.validation)?;
    let mut written = write_update(state, target, &old, patched, opts, Mode::Update)?;
    written.warnings = warnings;
    Ok(written)
}

fn apply(state: &mut State, target: &Target, body: &[u8], opts: &WriteOpts) -> ApiResult<Written> {
    let rt = &target.rt;
    let Some(manager) = opts.field_manager.as_deref().filter(|m| !m.is_empty()) else {
        return Err(ApiError::status(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            Some(json!({"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [{"reason": "FieldValueRequired", "message": "Required value: is required for apply patch", "field": "fieldManager"}]})),
        ));
    };
    let mut config = parse_body(body, "yaml")
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "error decoding YAML: the applied configuration must be an object",
        ));
    }
    check_kind(rt, &config)?;
    let config_name = config
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !config_name.is_empty() && config_name != target.name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({config_name}) does not match the name on the URL ({})",
            target.name
        )));
    }
    {
        let meta = meta_mut(&mut config);
        meta.insert("name".into(), json!(target.name));
        match &target.namespace {
            Some(ns) => meta.insert("namespace".into(), json!(ns)),
            None => meta.remove("namespace"),
        };
        meta.remove("managedFields");
    }
    let warnings = unknown_fields(rt, &mut config, opts.validation)?;
    let live = state.get(&rt.storage_key(), &target.key());
    if live.is_none() {
        if !target.subresource.is_empty() {
            return Err(ApiError::not_found(&target.subject()));
        }
        check_namespace(state, rt, target.namespace.as_deref(), &target.name)?;
    }
    let mut defaulted = config.clone();
    apply_defaults(rt, &mut defaulted);
    let schema = schema_of(rt);
    let filled: FieldSet = managed::fill_keys(&mut config, &defaulted, schema);
    let t = now();
    let api_version = rt.api_version();
    let writer = Writer {
        manager,
        api_version: &api_version,
        subresource: &target.subresource,
        now: &t,
    };
    let live_view = live.as_ref().map(|l| present(rt, l));
    let result = managed::apply(live_view.as_ref(), &config, &filled, &writer, opts.force, schema).map_err(|conflicts| {
        let causes: Vec<Value> = conflicts
            .iter()
            .map(|c| json!({"reason": "FieldManagerConflict", "message": format!("conflict with {}", c.manager), "field": c.path}))
            .collect();
        ApiError::status(409, "Conflict", managed::conflict_message(&conflicts), Some(json!({"causes": causes})))
    })?;
    match live {
        None => {
            let mut obj = result;
            if has_status_subresource(rt) {
                if let Some(m) = obj.as_object_mut() {
                    m.remove("status");
                }
            }
            let object = finish_create(state, rt, obj, None, opts.dry_run)?;
            Ok(Written {
                object,
                created: true,
                warnings,
            })
        }
        Some(old) => {
            let mut written = write_update(state, target, &old, result, opts, Mode::Applied)?;
            written.warnings = warnings;
            Ok(written)
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct DeleteOpts {
    pub dry_run: bool,
    pub propagation: Option<String>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
}

pub fn delete(state: &mut State, target: &Target, opts: &DeleteOpts) -> ApiResult<Value> {
    let rt = &target.rt;
    let key = target.key();
    let old = state
        .get(&rt.storage_key(), &key)
        .ok_or_else(|| ApiError::not_found(&target.subject()))?;
    let uid = old
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Some(p) = &opts.precondition_uid {
        if *p != uid {
            return Err(ApiError::status(409, "Conflict", format!(
                "Operation cannot be fulfilled on {} {:?}: Precondition failed: UID in precondition: {p}, UID in object meta: {uid}",
                qualified(&rt.plural, &rt.group), target.name), Some(json!({"name": target.name, "kind": rt.plural}))));
        }
    }
    if let Some(p) = &opts.precondition_rv {
        let rv = old
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if p != rv {
            return Err(ApiError::conflict(&target.subject()));
        }
    }
    if old.pointer("/metadata/deletionTimestamp").is_some() {
        return Ok(present(rt, &old));
    }
    let propagation = opts
        .propagation
        .clone()
        .unwrap_or_else(|| "Background".into());
    let is_namespace = rt.group.is_empty() && rt.kind == "Namespace";
    let is_crd = rt.kind == "CustomResourceDefinition";
    let foreground = propagation == "Foreground";
    let waits = !finalizers(&old).is_empty() || foreground || is_namespace || is_crd;
    if !waits {
        if opts.dry_run {
            return Ok(success_status(rt, &target.name, &uid));
        }
        state.remove(&rt.storage_key(), &key);
        after_removal(state, rt, &old, &propagation);
        return Ok(success_status(rt, &target.name, &uid));
    }
    let mut marked = (*old).clone();
    {
        let meta = meta_mut(&mut marked);
        meta.insert("deletionTimestamp".into(), json!(now()));
        if !is_namespace && !is_crd {
            meta.insert("deletionGracePeriodSeconds".into(), json!(0));
        }
        if foreground || is_crd {
            let f = meta.entry("finalizers").or_insert_with(|| json!([]));
            if let Some(list) = f.as_array_mut() {
                let finalizer = if is_crd {
                    "customresourcecleanup.apiextensions.k8s.io"
                } else {
                    "foregroundDeletion"
                };
                list.push(json!(finalizer));
            }
        }
    }
    if is_namespace {
        marked["status"]["phase"] = json!("Terminating");
    }
    if is_crd {
        if let Some(conds) = marked["status"]["conditions"].as_array_mut() {
            conds.push(json!({"type": "Terminating", "status": "True", "lastTransitionTime": now(), "reason": "InstanceDeletionPending", "message": "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon"}));
        }
    }
    normalize(&mut marked);
    if opts.dry_run {
        return Ok(present(rt, &marked));
    }
    let stored = state.put(&rt.storage_key(), &key, marked);
    let response = present(rt, &stored);
    // The controllers' part, done at once: the test server has no delay to model.
    if is_namespace {
        empty_namespace(state, &target.name);
        try_finish_namespace(state, &target.name);
    } else if is_crd {
        let group = old["spec"]["group"].as_str().unwrap_or_default();
        let plural = old["spec"]["names"]["plural"].as_str().unwrap_or_default();
        state.remove_all(&format!("{group}/{plural}"));
        drop_finalizer(
            state,
            rt,
            &key,
            "customresourcecleanup.apiextensions.k8s.io",
        );
    } else if foreground {
        delete_dependents(state, &uid, "Background");
        drop_finalizer(state, rt, &key, "foregroundDeletion");
    }
    Ok(response)
}

fn success_status(rt: &ResourceType, name: &str, uid: &str) -> Value {
    let mut details = Map::new();
    details.insert("name".into(), json!(name));
    if !rt.group.is_empty() {
        details.insert("group".into(), json!(rt.group));
    }
    details.insert("kind".into(), json!(rt.plural));
    details.insert("uid".into(), json!(uid));
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
}

/// Removes one finalizer as its controller would; the object goes when none is left.
fn drop_finalizer(state: &mut State, rt: &ResourceType, key: &str, finalizer: &str) {
    let Some(obj) = state.get(&rt.storage_key(), key) else {
        return;
    };
    let mut obj = (*obj).clone();
    if let Some(list) = obj
        .pointer_mut("/metadata/finalizers")
        .and_then(Value::as_array_mut)
    {
        list.retain(|f| f != finalizer);
        if list.is_empty() {
            meta_mut(&mut obj).remove("finalizers");
        }
    }
    let gone = finalizers(&obj).is_empty();
    state.put(&rt.storage_key(), key, obj);
    if gone {
        finish_removal(state, rt, key);
    }
}

/// An object whose last finalizer went away leaves the store.
fn finish_removal(state: &mut State, rt: &ResourceType, key: &str) {
    if let Some(old) = state.remove(&rt.storage_key(), key) {
        after_removal(state, rt, &old, "Background");
    }
}

/// Garbage collection and namespace bookkeeping after an object is gone.
fn after_removal(state: &mut State, rt: &ResourceType, old: &Value, propagation: &str) {
    let uid = old
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if propagation == "Orphan" {
        orphan_dependents(state, &uid);
    } else {
        delete_dependents(state, &uid, "Background");
    }
    if rt.namespaced {
        if let Some(ns) = old.pointer("/metadata/namespace").and_then(Value::as_str) {
            try_finish_namespace(state, ns);
        }
    }
}

fn dependents(state: &State, uid: &str) -> Vec<(String, String)> {
    if uid.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for sk in state.storage_keys() {
        for (k, v) in state.range(&sk, None, None) {
            let owned = v
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid));
            if owned {
                out.push((sk.clone(), k.clone()));
            }
        }
    }
    out
}

fn type_for_storage_key(state: &State, storage_key: &str) -> Option<Arc<ResourceType>> {
    let (group, plural) = storage_key.split_once('/')?;
    crate::resources::builtins()
        .types
        .iter()
        .chain(state.crd_types().iter())
        .find(|t| t.group == group && t.plural == plural)
        .cloned()
}

fn delete_dependents(state: &mut State, uid: &str, propagation: &str) {
    for (sk, key) in dependents(state, uid) {
        let Some(rt) = type_for_storage_key(state, &sk) else {
            continue;
        };
        let Some(obj) = state.get(&sk, &key) else {
            continue;
        };
        let target = Target {
            rt: rt.clone(),
            namespace: obj
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .map(String::from),
            name: obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            subresource: String::new(),
        };
        let _ = delete(
            state,
            &target,
            &DeleteOpts {
                propagation: Some(propagation.into()),
                ..Default::default()
            },
        );
    }
}

fn orphan_dependents(state: &mut State, uid: &str) {
    for (sk, key) in dependents(state, uid) {
        if let Some(obj) = state.get(&sk, &key) {
            let mut obj = (*obj).clone();
            if let Some(refs) = obj
                .pointer_mut("/metadata/ownerReferences")
                .and_then(Value::as_array_mut)
            {
                refs.retain(|r| r["uid"] != uid);
                if refs.is_empty() {
                    meta_mut(&mut obj).remove("ownerReferences");
                }
            }
            state.put(&sk, &key, obj);
        }
    }
}

/// Deletes everything in a terminating namespace (objects with finalizers wait).
fn empty_namespace(state: &mut State, ns: &str) {
    for sk in state.storage_keys() {
        let keys: Vec<String> = state
            .range(&sk, Some(ns), None)
            .map(|(k, _)| k.clone())
            .collect();
        let Some(rt) = type_for_storage_key(state, &sk) else {
            continue;
        };
        if !rt.namespaced {
            continue;
        }
        for key in keys {
            let name = key
                .split_once('/')
                .map(|(_, n)| n)
                .unwrap_or(&key)
                .to_string();
            let target = Target {
                rt: rt.clone(),
                namespace: Some(ns.to_string()),
                name,
                subresource: String::new(),
            };
            let _ = delete(state, &target, &DeleteOpts::default());
        }
    }
}

/// A terminating namespace goes once nothing is left in it.
fn try_finish_namespace(state: &mut State, ns: &str) {
    let Some(nsobj) = state.get("/namespaces", ns) else {
        return;
    };
    if nsobj.pointer("/metadata/deletionTimestamp").is_none() {
        return;
    }
    let occupied = state
        .storage_keys()
        .iter()
        .any(|sk| state.range(sk, Some(ns), None).next().is_some());
    if !occupied {
        state.remove("/namespaces", ns);
    }
}

#[derive(Debug, Default)]
pub struct ListOpts {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
}

pub struct Filter {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Filter {
    pub fn parse(rt: &ResourceType, label: Option<&str>, field: Option<&str>) -> ApiResult<Filter> {
        let labels = LabelSelector::parse(label.unwrap_or_default())
            .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
        let fields = FieldSelector::parse(field.unwrap_or_default(), &rt.kind)
            .map_err(ApiError::bad_request)?;
        Ok(Filter { labels, fields })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(obj.pointer("/metadata/labels")) && self.fields.matches(obj)
    }

    fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }
}

fn encode_continue(rv: u64, start: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{start}\u{0}")});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

fn decode_continue(token: &str) -> ApiResult<(u64, String)> {
    let bad = |why: String| ApiError::bad_request(format!("invalid continue token: {why}"));
    // Go's RawURLEncoding reports the offset of the first byte it cannot use.
    let illegal = token
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .or((token.len() % 4 == 1).then(|| token.len() - 1));
    if let Some(at) = illegal {
        return Err(bad(format!(
            "continue key is not valid: illegal base64 data at input byte {at}"
        )));
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|e| bad(format!("continue key is not valid: {e}")))?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    let rv = v["rv"].as_u64().unwrap_or(0);
    let start = v["start"]
        .as_str()
        .unwrap_or_default()
        .trim_end_matches('\u{0}')
        .to_string();
    Ok((rv, start))
}

/// A list at the current state (the test server keeps no older snapshots).
pub fn list(
    state: &State,
    rt: &ResourceType,
    ns: Option<&str>,
    opts: &ListOpts,
) -> ApiResult<Value> {
    let filter = Filter::parse(
        rt,
        opts.label_selector.as_deref(),
        opts.field_selector.as_deref(),
    )?;
    if opts.resource_version_match.as_deref() == Some("Exact") {
        let rv: u64 = opts
            .resource_version
            .as_deref()
            .unwrap_or("0")
            .parse()
            .unwrap_or(0);
        if rv < state.compacted_rv {
            return Err(ApiError::status(
                410,
                "Expired",
                "The resourceVersion for the provided list is too old.",
                None,
            ));
        }
    }
    let after = match &opts.continue_token {
        Some(t) if !t.is_empty() => {
            let (_, start) = decode_continue(t)?;
            Some(match ns {
                Some(ns) => format!("{ns}/{start}"),
                None => start,
            })
        }
        _ => None,
    };
    let limit = opts.limit.filter(|l| *l > 0);
    let mut items = Vec::new();
    let mut last_key = None;
    let mut more = false;
    let mut remaining = 0usize;
    for (k, v) in state.range(&rt.storage_key(), ns, after.as_deref()) {
        if let Some(l) = limit {
            if items.len() >= l {
                more = true;
                if filter.is_empty() {
                    remaining += 1;
                    continue;
                }
                break;
            }
        }
        if filter.matches(v) {
            let mut item = present(rt, v);
            if rt.crd.is_none() {
                if let Some(m) = item.as_object_mut() {
                    m.remove("kind");
                    m.remove("apiVersion");
                }
            }
            items.push(item);
            last_key = Some(k.clone());
        }
    }
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), json!(state.rv.to_string()));
    if more {
        let start = last_key.unwrap_or_default();
        let relative = match ns {
            Some(ns) => start
                .strip_prefix(&format!("{ns}/"))
                .unwrap_or(&start)
                .to_string(),
            None => start,
        };
        meta.insert(
            "continue".into(),
            json!(encode_continue(state.rv, &relative)),
        );
        if filter.is_empty() {
            meta.insert("remainingItemCount".into(), json!(remaining));
        }
    } else if rt.crd.is_some() {
        // Unstructured lists always carry the (empty) continue field.
        meta.insert("continue".into(), json!(""));
    }
    Ok(
        json!({"kind": rt.list_kind, "apiVersion": rt.api_version(), "metadata": meta, "items": items}),
    )
}
