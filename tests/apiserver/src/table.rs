//! `meta.k8s.io/v1` Tables, what `kubectl get` asks for: Name plus the columns
//! the server prints for a kind (or a CRD's additionalPrinterColumns), and Age.

use crate::resources::ResourceType;
use serde_json::{json, Value};

const NAME_DESC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

struct Column {
    name: String,
    ty: &'static str,
    description: String,
    cell: Box<dyn Fn(&Value) -> Value>,
}

fn col(
    name: &str,
    ty: &'static str,
    description: &str,
    cell: impl Fn(&Value) -> Value + 'static,
) -> Column {
    Column {
        name: name.to_string(),
        ty,
        description: description.to_string(),
        cell: Box::new(cell),
    }
}

fn count(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Object(m)) => m.len() as i64,
        Some(Value::Array(a)) => a.len() as i64,
        _ => 0,
    }
}

fn int(obj: &Value, pointer: &str) -> i64 {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn columns(rt: &ResourceType) -> (Vec<Column>, bool) {
    if let Some(crd) = &rt.crd {
        let cols: Vec<Column> = crd
            .printer_columns
            .iter()
            .map(|c| {
                let path = c["jsonPath"].as_str().unwrap_or_default().to_string();
                let pointer = path.replace('.', "/");
                let ty: &'static str = match c["type"].as_str() {
                    Some("integer") => "integer",
                    Some("number") => "number",
                    Some("boolean") => "boolean",
                    Some("date") => "date",
                    _ => "string",
                };
                col(
                    c["name"].as_str().unwrap_or_default(),
                    ty,
                    &format!("Custom resource definition column (in JSONPath format): {path}"),
                    // The server prints date columns as ages, like the built-in Age.
                    move |o| match (ty, o.pointer(&pointer)) {
                        ("date", Some(Value::String(t))) => json!(age_of(t)),
                        (_, v) => v.cloned().unwrap_or(Value::Null),
                    },
                )
            })
            .collect();
        let has_custom = !cols.is_empty();
        return (cols, !has_custom);
    }
    let cols = match rt.kind.as_str() {
        "ConfigMap" => vec![col("Data", "string", "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.", |o| {
            json!(count(o.get("data")) + count(o.get("binaryData")))
        })],
        "Secret" => vec![
            col("Type", "string", "Used to facilitate programmatic handling of secret data.", |o| o.get("type").cloned().unwrap_or(json!(""))),
            col("Data", "string", "Data contains the secret data.", |o| json!(count(o.get("data")))),
        ],
        "Namespace" => vec![col("Status", "string", "The status of the namespace", |o| o.pointer("/status/phase").cloned().unwrap_or(json!("")))],
        "Deployment" => vec![
            col("Ready", "string", "Number of the pod with ready state", |o| json!(format!("{}/{}", int(o, "/status/readyReplicas"), int(o, "/spec/replicas")))),
            col("Up-to-date", "integer", "Total number of non-terminated pods targeted by this deployment that have the desired template spec.", |o| json!(int(o, "/status/updatedReplicas"))),
            col("Available", "integer", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.", |o| json!(int(o, "/status/availableReplicas"))),
        ],
        "Service" => vec![
            col("Type", "string", "The type of service.", |o| o.pointer("/spec/type").cloned().unwrap_or(json!(""))),
            col("Cluster-IP", "string", "The cluster IP of the service.", |o| o.pointer("/spec/clusterIP").cloned().unwrap_or(json!(""))),
            col("External-IP", "string", "The external IP of the service.", |o| {
                let ips: Vec<String> = o.pointer("/status/loadBalancer/ingress").and_then(Value::as_array).map(|a| a.iter().filter_map(|i| i["ip"].as_str().or(i["hostname"].as_str()).map(String::from)).collect()).unwrap_or_default();
                json!(if ips.is_empty() { "<none>".to_string() } else { ips.join(",") })
            }),
            col("Port(s)", "string", "The ports of the service.", |o| {
                let ports: Vec<String> = o.pointer("/spec/ports").and_then(Value::as_array).map(|a| a.iter().map(|p| format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP"))).collect()).unwrap_or_default();
                json!(if ports.is_empty() { "<none>".to_string() } else { ports.join(",") })
            }),
        ],
        "Pod" => vec![
            col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic.", |o| {
                let total = count(o.pointer("/spec/containers"));
                let ready = o.pointer("/status/containerStatuses").and_then(Value::as_array).map(|a| a.iter().filter(|c| c["ready"] == json!(true)).count()).unwrap_or(0);
                json!(format!("{ready}/{total}"))
            }),
            col("Status", "string", "The aggregate status of the containers in this pod.", |o| o.pointer("/status/phase").cloned().unwrap_or(json!(""))),
            col("Restarts", "string", "The number of times the containers in this pod have been restarted.", |o| {
                let n: i64 = o.pointer("/status/containerStatuses").and_then(Value::as_array).map(|a| a.iter().map(|c| c["restartCount"].as_i64().unwrap_or(0)).sum()).unwrap_or(0);
                json!(n.to_string())
            }),
        ],
        _ => Vec::new(),
    };
    (cols, true)
}

fn age(obj: &Value) -> String {
    match obj
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
    {
        Some(ts) => age_of(ts),
        None => "<unknown>".into(),
    }
}

fn age_of(ts: &str) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(ts) else {
        return "<unknown>".into();
    };
    let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
        .num_seconds()
        .max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// A Table of `objects` (full objects), with PartialObjectMetadata rows.
pub fn table(rt: &ResourceType, objects: &[Value], resource_version: &str) -> Value {
    let (cols, with_age) = columns(rt);
    let mut defs = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": NAME_DESC, "priority": 0}),
    ];
    for c in &cols {
        defs.push(json!({"name": c.name, "type": c.ty, "format": "", "description": c.description, "priority": 0}));
    }
    if with_age {
        defs.push(json!({"name": "Age", "type": "string", "format": "", "description": AGE_DESC, "priority": 0}));
    }
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut cells = vec![o.pointer("/metadata/name").cloned().unwrap_or(json!(""))];
            cells.extend(cols.iter().map(|c| (c.cell)(o)));
            if with_age {
                cells.push(json!(age(o)));
            }
            json!({"cells": cells, "object": partial(o)})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": resource_version},
           "columnDefinitions": defs, "rows": rows})
}

pub fn partial(o: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o.get("metadata").cloned().unwrap_or(json!({}))})
}
