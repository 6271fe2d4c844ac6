//! Replays every request recorded from a real kube-apiserver v1.36.2
//! (`shared/apiserver-recordings`) against the test API server, scenario by
//! scenario, and compares status codes, content types and bodies, ignoring the
//! fields the recordings list as volatile. Prints how many match; fails on any
//! mismatch that is not listed below with the reason it cannot match.

use serde_json::{json, Value};
use skiff_test_apiserver::TestApiServer;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

/// Recordings the test server cannot reproduce, with the reason.
const UNREPLAYABLE: &[(&str, &str)] = &[
    ("ssa-deployment/07-apply-mgr-a-dryrun-image", "response carries status written by kube-controller-manager"),
    ("ssa-deployment/08-get-after-dryrun", "response carries status written by kube-controller-manager"),
    ("patch/15-get-deployment", "response carries status written by kube-controller-manager"),
    ("status/03-patch-status", "kube-controller-manager rewrote the Deployment status the test wrote"),
    ("status/04-patch-status-with-spec", "kube-controller-manager rewrote the Deployment status the test wrote"),
    ("status/05-get-after-status", "kube-controller-manager rewrote the Deployment status the test wrote"),
    ("status/06-patch-main-with-status", "kube-controller-manager rewrote the Deployment status the test wrote"),
    ("status/07-patch-spec", "kube-controller-manager rewrote the Deployment status the test wrote"),
    ("status/08-patch-metadata-only", "kube-controller-manager rewrote the Deployment status the test wrote"),
    ("status/09-patch-status-again", "kube-controller-manager rewrote the Deployment status the test wrote"),
    ("status/10-get-status-subresource", "kube-controller-manager rewrote the Deployment status the test wrote"),
    ("patch/11-smp-add-container", "kube-controller-manager had annotated the Deployment with deployment.kubernetes.io/revision"),
    ("patch/12-smp-delete-container", "kube-controller-manager had annotated the Deployment with deployment.kubernetes.io/revision"),
    ("patch/13-merge-patch-replaces-list", "kube-controller-manager had annotated the Deployment with deployment.kubernetes.io/revision"),
    ("patch/14-json-patch-deployment", "kube-controller-manager had written Deployment status and annotations"),
    ("delete/03-list-replicasets", "the ReplicaSet is made by kube-controller-manager's deployment controller, which the test server does not run"),
    ("delete/04-delete-foreground", "the Deployment's status was written by kube-controller-manager"),
    ("delete/21-get-namespace-terminating", "the NamespaceDeletion*/NamespaceContentRemaining conditions are written by the namespace controller"),
];

fn recordings_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("SKIFF_RECORDINGS") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/apiserver-recordings")
}

/// Replaces the values that vary between runs with fixed markers.
fn normalize(v: &mut Value, key: &str) {
    match v {
        Value::Object(m) => {
            for k in [
                "uid",
                "resourceVersion",
                "creationTimestamp",
                "deletionTimestamp",
                "continue",
                "time",
                "lastTransitionTime",
                "lastUpdateTime",
                "lastProbeTime",
                "startTime",
                "completionTime",
                "clusterIP",
                "nodePort",
                "serverAddress",
                "expirationTimestamp",
                "token",
            ] {
                if m.contains_key(k) {
                    m.insert(k.into(), json!("<volatile>"));
                }
            }
            if let Some(Value::Array(ips)) = m.get_mut("clusterIPs") {
                for ip in ips.iter_mut() {
                    *ip = json!("<volatile>");
                }
            }
            for k in [
                "controller-uid",
                "batch.kubernetes.io/controller-uid",
                "authentication.kubernetes.io/credential-id",
            ] {
                if m.contains_key(k) {
                    m.insert(k.into(), json!("<volatile>"));
                }
            }
            let uid_keys: Vec<String> = m
                .keys()
                .filter(|k| k.starts_with("k:{\"uid\":"))
                .cloned()
                .collect();
            for k in uid_keys {
                if let Some(v) = m.remove(&k) {
                    m.insert("k:{\"uid\":<volatile>}".into(), v);
                }
            }
            if key == "metadata" {
                if let (Some(Value::String(name)), Some(Value::String(_))) =
                    (m.get("name"), m.get("generateName"))
                {
                    let prefix_len = name.len().saturating_sub(5);
                    let stable = format!("{}<random>", &name[..prefix_len]);
                    m.insert("name".into(), json!(stable));
                }
            }
            if let Some(Value::Array(mf)) = m.get_mut("managedFields") {
                mf.sort_by_key(|e| {
                    format!("{}{}{}", e["manager"], e["operation"], e["subresource"])
                });
            }
            for (k, child) in m.iter_mut() {
                normalize(child, k);
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                normalize(item, key);
            }
        }
        Value::String(s) => {
            if s.contains("-----BEGIN") || s == "<REDACTED-PEM>" {
                *s = "<pem>".into();
            }
            if key == "message" && s.starts_with("too old resource version:") {
                *s = "too old resource version".into();
            }
        }
        _ => {}
    }
}

/// Build-specific and controller-written fields that are ignored wholesale.
fn strip_specific(name: &str, v: &mut Value) {
    if name == "discovery/01-version" {
        for k in ["gitCommit", "buildDate", "goVersion"] {
            if let Some(m) = v.as_object_mut() {
                m.insert(k.into(), json!("<build>"));
            }
        }
    }
    // Document hashes are content hashes of documents that differ.
    if let Some(Value::Object(paths)) = v.get_mut("paths") {
        paths.remove("apis/example.com/v1");
        for doc in paths.values_mut() {
            if let Some(Value::String(url)) = doc.get_mut("serverRelativeURL") {
                if let Some((base, _)) = url.split_once("?hash=") {
                    *url = format!("{base}?hash=<hash>");
                }
            }
        }
    }
    // The recorded cluster had a CRD group example.com of its own.
    if let Some(Value::Array(groups)) = v.get_mut("groups") {
        groups.retain(|g| g["name"] != "example.com");
    }
    if v["kind"] == "APIGroupDiscoveryList" {
        if let Some(Value::Array(items)) = v.get_mut("items") {
            items.retain(|g| g["metadata"]["name"] != "example.com");
        }
    }
    // The Table Age column is relative to now.
    if v["kind"] == "Table" {
        let age = v["columnDefinitions"]
            .as_array()
            .and_then(|c| c.iter().position(|d| d["name"] == "Age"));
        if let (Some(i), Some(Value::Array(rows))) = (age, v.get_mut("rows")) {
            for row in rows {
                row["cells"][i] = json!("<age>");
            }
        }
    }
    // One or two BOOKMARKs with the same resourceVersion (timing).
    if let Value::Array(events) = v {
        events.dedup_by(|a, b| a["type"] == "BOOKMARK" && b["type"] == "BOOKMARK");
    }
}

/// Learns how recorded resourceVersions and continue tokens map to this run's.
fn learn(recorded: &Value, actual: &Value, map: &mut HashMap<String, String>) {
    match (recorded, actual) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                if let Some(vb) = b.get(k) {
                    if (k == "resourceVersion" || k == "continue" || k == "token")
                        && va.is_string()
                        && vb.is_string()
                    {
                        map.insert(
                            va.as_str().unwrap_or_default().into(),
                            vb.as_str().unwrap_or_default().into(),
                        );
                    } else {
                        learn(va, vb, map);
                    }
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (va, vb) in a.iter().zip(b) {
                learn(va, vb, map);
            }
        }
        _ => {}
    }
}

fn substitute_query(path: &str, map: &HashMap<String, String>) -> String {
    let Some((base, query)) = path.split_once('?') else {
        return path.to_string();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, v)) if (k == "resourceVersion" || k == "continue") && map.contains_key(v) => {
                format!("{k}={}", map[v])
            }
            _ => p.to_string(),
        })
        .collect();
    format!("{base}?{}", parts.join("&"))
}

const REDACTED_TOKEN: &str = "<REDACTED-SERVICEACCOUNT-TOKEN>";

fn substitute_body(body: &str, map: &HashMap<String, String>) -> String {
    let body = match map.get(REDACTED_TOKEN) {
        Some(token) => body.replace(REDACTED_TOKEN, token),
        None => body.to_string(),
    };
    let body = body.as_str();
    let Ok(mut v) = serde_json::from_str::<Value>(body) else {
        return body.to_string();
    };
    if let Some(Value::String(rv)) = v.pointer_mut("/metadata/resourceVersion") {
        if let Some(actual) = map.get(rv.as_str()) {
            *rv = actual.clone();
        }
    }
    v.to_string()
}

struct Sent {
    status: u16,
    content_type: String,
    body: Value,
}

async fn send(
    http: &reqwest::Client,
    base: &str,
    req: &Value,
    map: &HashMap<String, String>,
    bearer: Option<&str>,
) -> Sent {
    let method = reqwest::Method::from_bytes(req["method"].as_str().unwrap_or("GET").as_bytes())
        .expect("method");
    let path = substitute_query(req["path"].as_str().unwrap_or("/"), map);
    let mut builder = http
        .request(method, format!("{base}{path}"))
        .header("User-Agent", "rec-capture/v1");
    if let Some(ct) = req["headers"]["Content-Type"].as_str() {
        builder = builder.header("Content-Type", ct);
    }
    if let Some(accept) = req["headers"]["Accept"].as_str() {
        builder = builder.header("Accept", accept);
    }
    if let Some(body) = req["body"].as_str() {
        builder = builder.body(substitute_body(body, map));
    }
    if let Some(token) = bearer {
        builder = builder.bearer_auth(token);
    }
    let resp = builder
        .send()
        .await
        .expect("request reaches the test server");
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let bytes = resp.bytes().await.expect("response body");
    let text = String::from_utf8_lossy(&bytes).to_string();
    let is_watch = path.contains("watch=1") || path.contains("watch=true");
    let body = if is_watch {
        Value::Array(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str(l).unwrap_or(json!(l)))
                .collect(),
        )
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Sent {
        status,
        content_type,
        body,
    }
}

/// The writes that happened during a recorded watch (not recorded themselves),
/// derived from the events the watch saw.
async fn writes_during_watch(
    http: &reqwest::Client,
    base: &str,
    name: &str,
    recorded: &Value,
    existing: &[String],
) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    if name == "watch/05-watch-bookmark-after-filtered-event" {
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bump"}, "data": {"x": "1"}});
        http.post(format!("{base}/api/v1/namespaces/rec-watch/configmaps"))
            .json(&body)
            .send()
            .await
            .expect("write");
        return;
    }
    for event in recorded.as_array().into_iter().flatten() {
        let obj = &event["object"];
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
        let obj_name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let manager = obj["metadata"]["managedFields"][0]["manager"]
            .as_str()
            .unwrap_or("rec-capture");
        let url = format!("{base}/api/v1/namespaces/{ns}/configmaps");
        match event["type"].as_str() {
            Some("ADDED") if !existing.contains(&obj_name.to_string()) => {
                let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": obj_name, "labels": obj["metadata"]["labels"]}, "data": obj["data"]});
                http.post(format!("{url}?fieldManager={manager}"))
                    .json(&body)
                    .send()
                    .await
                    .expect("write");
            }
            Some("MODIFIED") => {
                http.patch(format!("{url}/{obj_name}?fieldManager={manager}"))
                    .header("Content-Type", "application/merge-patch+json")
                    .body(json!({"data": obj["data"]}).to_string())
                    .send()
                    .await
                    .expect("write");
            }
            Some("DELETED") => {
                http.delete(format!("{url}/{obj_name}"))
                    .send()
                    .await
                    .expect("write");
            }
            _ => {}
        }
    }
}

fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = format!("{path}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(va), Some(vb)) => {
                        if let Some(d) = first_difference(va, vb, &p) {
                            return Some(d);
                        }
                    }
                    (Some(va), None) => {
                        return Some(format!("{p}: recorded {}, missing here", short(va)))
                    }
                    (None, Some(vb)) => {
                        return Some(format!("{p}: not recorded, here {}", short(vb)))
                    }
                    (None, None) => {}
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!(
                    "{path}: recorded {} items, here {}: recorded {} here {}",
                    x.len(),
                    y.len(),
                    short(a),
                    short(b)
                ));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (va, vb))| first_difference(va, vb, &format!("{path}[{i}]")))
        }
        _ if a == b => None,
        _ => Some(format!("{path}: recorded {}, here {}", short(a), short(b))),
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 300 {
        format!("{}…", &s[..300])
    } else {
        s
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_recording_matches_or_is_explained() {
    let dir = recordings_dir();
    let index: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("index.json")).unwrap_or_else(|e| {
            panic!(
                "cannot read {}/index.json ({e}); set SKIFF_RECORDINGS",
                dir.display()
            )
        }),
    )
    .expect("index.json is JSON");
    let mut by_scenario: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for entry in &index {
        let file = entry["file"].as_str().expect("file");
        let scenario = file.split('/').next().expect("scenario").to_string();
        by_scenario.entry(scenario).or_default().push(entry.clone());
    }
    let only = std::env::var("SKIFF_REPLAY_ONLY").ok();
    let http = reqwest::Client::new();
    let (mut matched, mut explained, mut total) = (0, 0, 0);
    let mut failures = Vec::new();
    let mut explained_but_matching = Vec::new();
    for (scenario, steps) in by_scenario {
        if only.as_deref().is_some_and(|o| !scenario.contains(o)) {
            continue;
        }
        let server = TestApiServer::start().await;
        let base = server.url();
        let mut map = HashMap::new();
        let mut existing: Vec<String> = Vec::new();
        for entry in steps {
            total += 1;
            let file = entry["file"].as_str().expect("file");
            let rec: Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join(file)).expect("recording"))
                    .expect("json");
            let name = rec["name"].as_str().expect("name").to_string();
            let request = &rec["request"];
            let recorded = &rec["response"];
            let is_watch = request["path"]
                .as_str()
                .unwrap_or_default()
                .contains("watch=1");
            // These two were sent with the ServiceAccount token from 12-auth/05.
            let bearer =
                if name == "auth/16-sa-token-forbidden" || name == "auth/17-sa-token-allowed" {
                    map.get(REDACTED_TOKEN).cloned()
                } else {
                    None
                };
            let sent = if is_watch {
                let (sent, ()) = tokio::join!(
                    send(&http, &base, request, &map, None),
                    writes_during_watch(&http, &base, &name, &recorded["body"], &existing)
                );
                sent
            } else {
                send(&http, &base, request, &map, bearer.as_deref()).await
            };
            learn(&recorded["body"], &sent.body, &mut map);
            if let Some(n) = sent.body.pointer("/metadata/name").and_then(Value::as_str) {
                if sent.status == 201 {
                    existing.push(n.to_string());
                }
            }
            let mut want = recorded["body"].clone();
            let mut got = sent.body.clone();
            strip_specific(&name, &mut want);
            strip_specific(&name, &mut got);
            normalize(&mut want, "");
            normalize(&mut got, "");
            let want_ct = recorded["headers"]["Content-Type"]
                .as_str()
                .unwrap_or_default();
            let difference = if recorded["status"].as_u64() != Some(sent.status as u64) {
                Some(format!(
                    "status: recorded {}, here {}; body here {}",
                    recorded["status"],
                    sent.status,
                    short(&sent.body)
                ))
            } else if want_ct != sent.content_type {
                Some(format!(
                    "content type: recorded {want_ct:?}, here {:?}",
                    sent.content_type
                ))
            } else {
                first_difference(&want, &got, "")
            };
            let reason = UNREPLAYABLE
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, r)| *r);
            match (difference, reason) {
                (None, None) => matched += 1,
                (None, Some(_)) => {
                    matched += 1;
                    explained_but_matching.push(name.clone());
                }
                (Some(_), Some(_)) => explained += 1,
                (Some(d), None) => failures.push(format!("{name}: {d}")),
            }
        }
    }
    println!("replay: {matched} of {total} recordings match; {explained} listed as unreplayable; {} mismatch", failures.len());
    for (n, r) in UNREPLAYABLE {
        println!("  unreplayable {n}: {r}");
    }
    for f in &failures {
        println!("  MISMATCH {f}");
    }
    if !explained_but_matching.is_empty() {
        println!("  listed as unreplayable but matching now (remove from the list): {explained_but_matching:?}");
    }
    assert!(
        failures.is_empty(),
        "{} recordings do not match (see above)",
        failures.len()
    );
    assert!(
        explained_but_matching.is_empty(),
        "the unreplayable list is stale: {explained_but_matching:?}"
    );
}
