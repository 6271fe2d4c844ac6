//! Validation the tests can meet: names, the workload rules that reject common
//! mistakes, unknown fields, and custom resources against their CRD schema
//! (defaults, pruning, types, enums, required fields, bounds).

use crate::errors::Cause;
use crate::schema::Schema;
use serde_json::{json, Value};

const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// Kinds whose names must be DNS labels rather than subdomains.
fn label_named(kind: &str) -> bool {
    matches!(kind, "Namespace" | "Service")
}

/// Field errors of an object of a built-in or custom kind.
pub fn validate(group: &str, kind: &str, obj: &Value, crd_schema: Option<&Value>) -> Vec<Cause> {
    let mut causes = Vec::new();
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // RBAC objects only need names that are valid path segments (`system:discovery`).
    let path_segment_named = group == "rbac.authorization.k8s.io";
    let crd_like = kind == "CustomResourceDefinition";
    if path_segment_named
        && (name == "." || name == ".." || name.contains('/') || name.contains('%'))
    {
        causes.push(Cause::invalid(
            "metadata.name",
            &json!(name),
            "may not contain '/' or '%', and may not be '.' or '..'",
        ));
    } else if !name.is_empty() && !crd_like && !path_segment_named {
        let ok = if label_named(kind) {
            is_dns_label(name)
        } else {
            is_dns_subdomain(name)
        };
        if !ok {
            let msg = if label_named(kind) {
                LABEL_MSG
            } else {
                SUBDOMAIN_MSG
            };
            causes.push(Cause::invalid("metadata.name", &json!(name), msg));
        }
    }
    if group == "apps"
        && matches!(
            kind,
            "Deployment" | "StatefulSet" | "ReplicaSet" | "DaemonSet"
        )
    {
        workload(obj, &mut causes);
    }
    if let Some(schema) = crd_schema {
        let mut body = obj.clone();
        if let Some(m) = body.as_object_mut() {
            m.remove("metadata");
            m.remove("apiVersion");
            m.remove("kind");
        }
        check_schema(&body, schema, "", &mut causes);
    }
    causes.sort_by(|a, b| a.field.cmp(&b.field));
    causes
}

fn workload(obj: &Value, causes: &mut Vec<Cause>) {
    let spec = &obj["spec"];
    if let Some(r) = spec.get("replicas").and_then(Value::as_i64) {
        if r < 0 {
            causes.push(Cause::invalid(
                "spec.replicas",
                &json!(r),
                "must be greater than or equal to 0",
            ));
        }
    }
    let selector = spec.pointer("/selector/matchLabels");
    let labels = spec.pointer("/template/metadata/labels");
    if spec.get("selector").is_none() {
        causes.push(Cause::required("spec.selector", ""));
    } else if let Some(sel) = selector.and_then(Value::as_object) {
        let matches = sel
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v));
        if !matches {
            causes.push(Cause::invalid(
                "spec.template.metadata.labels",
                labels.unwrap_or(&json!({})),
                "`selector` does not match template `labels`",
            ));
        }
    }
    match spec
        .pointer("/template/spec/containers")
        .and_then(Value::as_array)
    {
        None => causes.push(Cause::required("spec.template.spec.containers", "")),
        Some(cs) => {
            for (i, c) in cs.iter().enumerate() {
                let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
                let field = format!("spec.template.spec.containers[{i}]");
                if name.is_empty() {
                    causes.push(Cause::required(format!("{field}.name"), ""));
                } else if !is_dns_label(name) {
                    causes.push(Cause::invalid(
                        format!("{field}.name"),
                        &json!(name),
                        LABEL_MSG,
                    ));
                }
                if c.get("image")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .is_empty()
                {
                    causes.push(Cause::required(format!("{field}.image"), ""));
                }
            }
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

fn check_schema(v: &Value, schema: &Value, path: &str, causes: &mut Vec<Cause>) {
    let int_or_string = schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    if let Some(want) = schema.get("type").and_then(Value::as_str) {
        let have = type_name(v);
        let ok = have == want
            || (want == "number" && have == "integer")
            || (int_or_string && (have == "integer" || have == "string"))
            || (v.is_null() && schema.get("nullable") == Some(&Value::Bool(true)));
        if !ok {
            causes.push(Cause {
                reason: "FieldValueTypeInvalid",
                field: path.to_string(),
                message: format!(
                    "Invalid value: {have:?}: {path} in body must be of type {want}: {have:?}"
                ),
            });
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(v) {
            let list: Vec<String> = options.iter().map(|o| o.to_string()).collect();
            causes.push(Cause {
                reason: "FieldValueNotSupported",
                field: path.to_string(),
                message: format!(
                    "Unsupported value: {v}: supported values: {}",
                    list.join(", ")
                ),
            });
        }
    }
    if let Some(n) = v.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
            if n < min {
                causes.push(Cause {
                    reason: "FieldValueInvalid",
                    field: path.to_string(),
                    message: format!(
                        "Invalid value: {v}: {path} in body should be greater than or equal to {}",
                        schema["minimum"]
                    ),
                });
            }
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
            if n > max {
                causes.push(Cause {
                    reason: "FieldValueInvalid",
                    field: path.to_string(),
                    message: format!(
                        "Invalid value: {v}: {path} in body should be less than or equal to {}",
                        schema["maximum"]
                    ),
                });
            }
        }
    }
    if let Some(s) = v.as_str() {
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
            if s.chars().count() as u64 > max {
                causes.push(Cause {
                    reason: "FieldValueTooLong",
                    field: path.to_string(),
                    message: format!("Too long: may not be more than {max} bytes"),
                });
            }
        }
    }
    match v {
        Value::Object(map) => {
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for r in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(r) {
                        causes.push(Cause::required(join(path, r), ""));
                    }
                }
            }
            for (k, child) in map {
                let sub = schema
                    .get("properties")
                    .and_then(|p| p.get(k))
                    .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()));
                if let Some(sub) = sub {
                    check_schema(child, sub, &join(path, k), causes);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check_schema(item, item_schema, &format!("{path}[{i}]"), causes);
                }
            }
        }
        _ => {}
    }
}

/// Fills in a CRD schema's `default`s where the parent exists and the field is absent.
pub fn crd_defaults(v: &mut Value, schema: &Value) {
    match v {
        Value::Object(map) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, sub) in props {
                    if !map.contains_key(k) {
                        if let Some(d) = sub.get("default") {
                            map.insert(k.clone(), d.clone());
                        }
                    }
                    if let Some(child) = map.get_mut(k) {
                        crd_defaults(child, sub);
                    }
                }
            }
            if let Some(ap) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                for child in map.values_mut() {
                    crd_defaults(child, ap);
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                for item in items {
                    crd_defaults(item, sub);
                }
            }
        }
        _ => {}
    }
}

/// Removes fields the schema does not declare; returns their paths for the
/// "unknown field" warning or strict error.
pub fn prune_unknown(
    v: &mut Value,
    schema: Schema,
    path: &str,
    builtin: bool,
    out: &mut Vec<String>,
) {
    match v {
        Value::Object(map) => {
            if !schema.is_known() || schema.atomic_map() && builtin {
                return;
            }
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if path.is_empty() && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let declared = schema.declares(&k);
                let child_path = join(path, &k);
                if declared == Some(false) && !(builtin && NEWER_FIELDS.contains(&k.as_str())) {
                    map.remove(&k);
                    out.push(child_path);
                    continue;
                }
                if builtin && path.is_empty() && k == "status" {
                    continue;
                }
                if let Some(child) = map.get_mut(&k) {
                    prune_unknown(child, schema.field(&k), &child_path, builtin, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                prune_unknown(item, schema.items(), &format!("{path}[{i}]"), builtin, out);
            }
        }
        _ => {}
    }
}

/// Fields added to built-in kinds after the 1.21.2 schema the server embeds: known, not unknown.
const NEWER_FIELDS: &[&str] = &[
    "os",
    "hostUsers",
    "schedulingGates",
    "resourceClaims",
    "resources",
    "resizePolicy",
    "restartPolicy",
    "restartPolicyRules",
    "grpc",
    "trafficDistribution",
    "ordinals",
    "podFailurePolicy",
    "podReplacementPolicy",
    "backoffLimitPerIndex",
    "maxFailedIndexes",
    "successPolicy",
    "managedBy",
    "timeZone",
    "volumeAttributesClassName",
    "minDomains",
    "nodeAffinityPolicy",
    "nodeTaintsPolicy",
    "matchLabelKeys",
    "mismatchLabelKeys",
    "appArmorProfile",
    "persistentVolumeClaimRetentionPolicy",
    "unhealthyPodEvictionPolicy",
    "sleep",
    "stopSignal",
    "hostnameOverride",
    "supplementalGroupsPolicy",
    "seLinuxChangePolicy",
    "recursiveReadOnly",
    "fileKeyRef",
    "selectableFields",
    "image",
    "ipMode",
    "ports",
    "claims",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crd_schema_errors_read_like_the_servers() {
        let schema = json!({"type": "object", "required": ["spec"], "properties": {"spec": {"type": "object", "required": ["size"], "properties": {
            "size": {"type": "integer", "minimum": 1}, "color": {"type": "string", "enum": ["red", "green", "blue"], "default": "green"}}}}});
        let obj = json!({"metadata": {"name": "bad"}, "spec": {"size": "big", "color": "purple"}});
        let causes = validate("rec.example.com", "Gadget", &obj, Some(&schema));
        let texts: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        assert_eq!(
            texts,
            [
                "spec.color: Unsupported value: \"purple\": supported values: \"red\", \"green\", \"blue\"",
                "spec.size: Invalid value: \"string\": spec.size in body must be of type integer: \"string\""
            ]
        );
        let mut d = json!({"spec": {"size": 2}});
        crd_defaults(&mut d, &schema);
        assert_eq!(d["spec"]["color"], "green");
    }

    #[test]
    fn unknown_builtin_fields_are_found() {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {"foo": 1, "replicas": 1, "template": {"spec": {"os": {"name": "linux"}}}}});
        let mut unknown = Vec::new();
        prune_unknown(
            &mut d,
            Schema::builtin("apps/v1", "Deployment"),
            "",
            true,
            &mut unknown,
        );
        assert_eq!(unknown, ["spec.foo"]);
        assert!(d["spec"].get("foo").is_none());
    }
}
