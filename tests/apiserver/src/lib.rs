//! An in-process Kubernetes API server for tests.
//!
//! It speaks the REST API over plain HTTP on 127.0.0.1: discovery, CRUD on the
//! built-in kinds of kube-apiserver v1.36 and on any kind a
//! CustomResourceDefinition defines, watch, server-side apply with
//! managedFields, the other patch types, dry-run, finalizers, garbage
//! collection and namespace deletion. Test controls inject faults and latency,
//! close watches, record requests, and stand in for the controllers a real
//! cluster runs (workload readiness, load-balancer addresses).
//!
//! ```no_run
//! # async fn demo() {
//! let server = skiff_test_apiserver::TestApiServer::start().await;
//! let client = server.client();
//! # let _ = client;
//! # }
//! ```

pub mod auth;
pub mod defaults;
pub mod discovery;
pub mod errors;
pub mod fields;
mod http;
pub mod managed;
pub mod openapi;
pub mod ops;
pub mod patch;
pub mod resources;
/// Merge semantics from the schema; one file shared with skiff's render stage.
#[path = "../../../src/render/schema.rs"]
pub mod schema;
/// Label and field selectors; one file shared with skiff's render stage.
#[path = "../../../src/render/selector.rs"]
pub mod selector;
pub mod store;
pub mod table;
pub mod validate;
/// YAML read as the API server reads it; one file shared with skiff's render
/// stage, which reads manifests the way kubectl does (the same go-yaml rules).
#[path = "../../../src/render/yaml.rs"]
pub mod yaml;

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::State;
use tokio::sync::{broadcast, watch};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub query: String,
    /// The resource plural the path addresses, if any.
    pub resource: Option<String>,
    pub content_type: Option<String>,
    pub status: u16,
}

struct Fault {
    method: Option<String>,
    resource: Option<String>,
    remaining: usize,
    code: u16,
}

/// Test-only behaviour: faults, latency, the request log, closing watches.
pub struct Controls {
    faults: Mutex<Vec<Fault>>,
    latency: Mutex<Duration>,
    log: Mutex<Vec<RequestRecord>>,
    close: watch::Sender<u64>,
}

impl Controls {
    fn new() -> Controls {
        Controls {
            faults: Mutex::new(Vec::new()),
            latency: Mutex::new(Duration::ZERO),
            log: Mutex::new(Vec::new()),
            close: watch::channel(0).0,
        }
    }

    pub(crate) fn latency(&self) -> Duration {
        *self.latency.lock().expect("latency lock")
    }

    pub(crate) fn take_fault(&self, method: &str, resource: Option<&str>) -> Option<u16> {
        let mut faults = self.faults.lock().expect("faults lock");
        let i = faults.iter().position(|f| {
            f.remaining > 0
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && f.resource.as_deref().is_none_or(|r| Some(r) == resource)
        })?;
        faults[i].remaining -= 1;
        let code = faults[i].code;
        faults.retain(|f| f.remaining > 0);
        Some(code)
    }

    pub(crate) fn record(&self, r: RequestRecord) {
        self.log.lock().expect("log lock").push(r);
    }

    pub(crate) fn close_signal(&self) -> watch::Receiver<u64> {
        self.close.subscribe()
    }
}

pub(crate) struct Shared {
    pub state: Mutex<State>,
    pub controls: Controls,
    address: Mutex<String>,
}

impl Shared {
    pub fn address(&self) -> String {
        self.address.lock().expect("address lock").clone()
    }
}

/// A running test API server. Dropping it stops the server.
pub struct TestApiServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A kubeconfig for a plain-HTTP server without authentication.
pub fn kubeconfig_yaml(url: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: skiff-test\n  cluster:\n    server: {url}\ncontexts:\n- name: skiff-test\n  context:\n    cluster: skiff-test\n    user: skiff-test\n    namespace: default\ncurrent-context: skiff-test\nusers:\n- name: skiff-test\n  user:\n    token: skiff-test-token\n"
    )
}

impl TestApiServer {
    /// Starts a server on 127.0.0.1 with an ephemeral port.
    pub async fn start() -> TestApiServer {
        TestApiServer::start_on("127.0.0.1:0")
            .await
            .expect("bind the test API server")
    }

    /// Starts a server on `addr` (e.g. `127.0.0.1:6443`).
    pub async fn start_on(addr: &str) -> std::io::Result<TestApiServer> {
        let (events, _) = broadcast::channel(65_536);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(events)),
            controls: Controls::new(),
            address: Mutex::new(String::new()),
        });
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        *shared.address.lock().expect("address lock") = addr.to_string();
        bootstrap(&shared);
        let app = axum::Router::new()
            .fallback(http::handle)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let dir = tempfile::tempdir()?;
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, kubeconfig_yaml(&format!("http://{addr}")))?;
        Ok(TestApiServer {
            shared,
            addr,
            kubeconfig,
            _dir: dir,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A kubeconfig file that points at this server.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    pub fn config(&self) -> kube::Config {
        let mut config = kube::Config::new(self.url().parse().expect("server URL"));
        config.default_namespace = "default".into();
        config.read_timeout = Some(Duration::from_secs(300));
        config
    }

    pub fn client(&self) -> kube::Client {
        kube::Client::try_from(self.config()).expect("a client for the test API server")
    }

    // ---- test controls ----

    /// Fails the next `count` requests with `method` (any if `None`) on
    /// `resource` (a plural, any if `None`) with HTTP `code`.
    pub fn fail_next(&self, method: Option<&str>, resource: Option<&str>, count: usize, code: u16) {
        self.shared
            .controls
            .faults
            .lock()
            .expect("faults lock")
            .push(Fault {
                method: method.map(String::from),
                resource: resource.map(String::from),
                remaining: count,
                code,
            });
    }

    /// Adds `latency` before every answer.
    pub fn set_latency(&self, latency: Duration) {
        *self.shared.controls.latency.lock().expect("latency lock") = latency;
    }

    /// Ends every open watch stream, as an API server restart would.
    pub fn close_watches(&self) {
        self.shared.controls.close.send_modify(|n| *n += 1);
    }

    /// Forgets the watch history: resuming from an older resourceVersion gives 410.
    pub fn compact(&self) {
        self.shared.state.lock().expect("state lock").compact();
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.controls.log.lock().expect("log lock").clone()
    }

    pub fn clear_requests(&self) {
        self.shared.controls.log.lock().expect("log lock").clear();
    }

    /// How many requests used `method` on `resource`.
    pub fn count_requests(&self, method: &str, resource: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.resource.as_deref() == Some(resource))
            .count()
    }

    /// Makes `token` authenticate as `username` in `groups` (plus
    /// system:authenticated); what it may do is up to the stored RBAC objects.
    pub fn add_token(&self, token: &str, username: &str, groups: &[&str]) {
        let mut groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        groups.push("system:authenticated".into());
        let user = auth::User {
            username: username.into(),
            uid: format!("{username}-uid"),
            groups,
        };
        let t = auth::Token {
            user,
            audiences: vec![auth::DEFAULT_AUDIENCE.into()],
            jti: None,
        };
        self.shared
            .state
            .lock()
            .expect("state lock")
            .tokens
            .insert(token.into(), t);
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.state.lock().expect("state lock").rv
    }

    /// Reads an object straight from storage (`api_version` like `apps/v1`, `plural` like `deployments`).
    pub fn object(
        &self,
        api_version: &str,
        plural: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let (group, version) = split_api_version(api_version);
        let state = self.shared.state.lock().expect("state lock");
        let rt = state.find_type(group, version, plural)?;
        state
            .get(&rt.storage_key(), &store::object_key(namespace, name))
            .map(|v| ops::present(&rt, &v))
    }

    /// Replaces an object's status as its controller would (manager
    /// `kube-controller-manager`, subresource `status`).
    pub fn set_status(
        &self,
        api_version: &str,
        plural: &str,
        namespace: Option<&str>,
        name: &str,
        status: Value,
    ) -> Result<Value, String> {
        let (group, version) = split_api_version(api_version);
        let mut state = self.shared.state.lock().expect("state lock");
        let rt = state
            .find_type(group, version, plural)
            .ok_or_else(|| format!("no resource {api_version} {plural}"))?;
        let target = ops::Target {
            rt: rt.clone(),
            namespace: namespace.map(String::from),
            name: name.to_string(),
            subresource: if rt.has_subresource("status") {
                "status".into()
            } else {
                String::new()
            },
        };
        let current = ops::get(&state, &target).map_err(|e| format!("{e:?}"))?;
        let mut next = current.clone();
        next["status"] = status;
        let opts = ops::WriteOpts::system("kube-controller-manager");
        ops::update(&mut state, &target, next, &opts)
            .map(|w| w.object)
            .map_err(|e| format!("{e:?}"))
    }

    fn generation(
        &self,
        api_version: &str,
        plural: &str,
        ns: &str,
        name: &str,
    ) -> Result<(Value, i64), String> {
        let obj = self
            .object(api_version, plural, Some(ns), name)
            .ok_or_else(|| format!("{plural} {ns}/{name} not found"))?;
        let g = obj
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        Ok((obj, g))
    }

    /// Writes a Deployment status as the deployment controller would: how
    /// many replicas are updated and ready, and the Progressing condition.
    fn deployment_status(
        &self,
        ns: &str,
        name: &str,
        updated: bool,
        ready: bool,
        progressing: (&str, &str, &str),
    ) -> Result<(), String> {
        let (obj, g) = self.generation("apps/v1", "deployments", ns, name)?;
        let r = obj
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let (updated, ready) = (if updated { r } else { 0 }, if ready { r } else { 0 });
        let t = ops::now();
        let available = if ready == r {
            json!({"type": "Available", "status": "True", "lastUpdateTime": t, "lastTransitionTime": t, "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."})
        } else {
            json!({"type": "Available", "status": "False", "lastUpdateTime": t, "lastTransitionTime": t, "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability."})
        };
        let (status, reason, message) = progressing;
        let mut s = json!({"observedGeneration": g, "replicas": r, "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": ready,
            "conditions": [available, {"type": "Progressing", "status": status, "lastUpdateTime": t, "lastTransitionTime": t, "reason": reason,
                "message": format!("ReplicaSet \"{name}\" {message}.")}]});
        if ready < r {
            s["unavailableReplicas"] = json!(r - ready);
        }
        self.set_status("apps/v1", "deployments", Some(ns), name, s)
            .map(|_| ())
    }

    /// Marks a Deployment rolled out and available.
    pub fn set_deployment_ready(&self, ns: &str, name: &str) -> Result<(), String> {
        self.deployment_status(
            ns,
            name,
            true,
            true,
            (
                "True",
                "NewReplicaSetAvailable",
                "has successfully progressed",
            ),
        )
    }

    /// Marks a Deployment as rolling out (updated replicas not yet available).
    pub fn set_deployment_progressing(&self, ns: &str, name: &str) -> Result<(), String> {
        self.deployment_status(
            ns,
            name,
            false,
            false,
            ("True", "ReplicaSetUpdated", "is progressing"),
        )
    }

    /// Marks a Deployment's rollout failed (ProgressDeadlineExceeded).
    pub fn set_deployment_failed(&self, ns: &str, name: &str) -> Result<(), String> {
        self.deployment_status(
            ns,
            name,
            true,
            false,
            (
                "False",
                "ProgressDeadlineExceeded",
                "has timed out progressing",
            ),
        )
    }

    /// Marks a StatefulSet's replicas ready and current.
    pub fn set_statefulset_ready(&self, ns: &str, name: &str) -> Result<(), String> {
        let (obj, g) = self.generation("apps/v1", "statefulsets", ns, name)?;
        let r = obj
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let rev = format!("{name}-1");
        self.set_status("apps/v1", "statefulsets", Some(ns), name, json!({
            "observedGeneration": g, "replicas": r, "readyReplicas": r, "currentReplicas": r, "updatedReplicas": r, "availableReplicas": r,
            "currentRevision": rev, "updateRevision": rev, "collisionCount": 0}))?;
        Ok(())
    }

    /// Marks a DaemonSet scheduled and ready on `nodes` nodes.
    pub fn set_daemonset_ready(&self, ns: &str, name: &str, nodes: i64) -> Result<(), String> {
        let (_, g) = self.generation("apps/v1", "daemonsets", ns, name)?;
        self.set_status("apps/v1", "daemonsets", Some(ns), name, json!({
            "observedGeneration": g, "currentNumberScheduled": nodes, "numberMisscheduled": 0, "desiredNumberScheduled": nodes,
            "numberReady": nodes, "updatedNumberScheduled": nodes, "numberAvailable": nodes}))?;
        Ok(())
    }

    /// Marks a Job complete (`succeeded = true`) or failed (BackoffLimitExceeded).
    pub fn set_job_finished(&self, ns: &str, name: &str, succeeded: bool) -> Result<(), String> {
        let t = ops::now();
        let status = if succeeded {
            json!({"startTime": t, "completionTime": t, "succeeded": 1, "ready": 0, "terminating": 0,
                   "conditions": [{"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": t, "lastTransitionTime": t, "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"},
                                  {"type": "Complete", "status": "True", "lastProbeTime": t, "lastTransitionTime": t, "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"}]})
        } else {
            json!({"startTime": t, "failed": 1, "ready": 0, "terminating": 0,
                   "conditions": [{"type": "FailureTarget", "status": "True", "lastProbeTime": t, "lastTransitionTime": t, "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"},
                                  {"type": "Failed", "status": "True", "lastProbeTime": t, "lastTransitionTime": t, "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]})
        };
        self.set_status("batch/v1", "jobs", Some(ns), name, status)?;
        Ok(())
    }

    /// Sets a Pod's phase and whether its containers are ready; `restarts` > 0
    /// with `ready = false` and phase Running looks like a crash loop.
    pub fn set_pod_state(
        &self,
        ns: &str,
        name: &str,
        phase: &str,
        ready: bool,
        restarts: i64,
    ) -> Result<(), String> {
        let obj = self
            .object("v1", "pods", Some(ns), name)
            .ok_or_else(|| format!("pod {ns}/{name} not found"))?;
        let t = ops::now();
        let containers: Vec<Value> = obj
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|c| {
                let state = if ready || phase == "Succeeded" {
                    json!({"running": {"startedAt": t}})
                } else if restarts > 0 {
                    json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting failed container"}})
                } else {
                    json!({"waiting": {"reason": "ContainerCreating"}})
                };
                json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": ready, "restartCount": restarts, "started": ready, "state": state})
            })
            .collect();
        let status = if ready { "True" } else { "False" };
        self.set_status(
            "v1",
            "pods",
            Some(ns),
            name,
            json!({
            "phase": phase, "qosClass": "BestEffort", "startTime": t,
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": t},
                {"type": "Initialized", "status": "True", "lastTransitionTime": t},
                {"type": "ContainersReady", "status": status, "lastTransitionTime": t},
                {"type": "Ready", "status": status, "lastTransitionTime": t}
            ],
            "containerStatuses": containers}),
        )?;
        Ok(())
    }

    /// Does what the deployment and ReplicaSet controllers would for a
    /// Deployment: a ReplicaSet it owns and, owned by that, one running Pod
    /// per replica (names `<deployment>-<hash>` and `<replicaset>-<n>`).
    pub fn create_replicas(&self, ns: &str, deployment: &str) -> Result<(), String> {
        let (d, _) = self.generation("apps/v1", "deployments", ns, deployment)?;
        let replicas = d
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let owner = |api_version: &str, kind: &str, obj: &Value| {
            json!([{"apiVersion": api_version, "kind": kind, "name": obj["metadata"]["name"],
                "uid": obj["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}])
        };
        let template = d["spec"]["template"].clone();
        // The pod-template-hash is an FNV-1a hash of the template, as the real one is.
        let hash = template.to_string().bytes().fold(0x811c_9dc5u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        let hash = format!("{hash:x}");
        let rs_name = format!("{deployment}-{hash}");
        let opts = ops::WriteOpts::system("kube-controller-manager");
        let create = |plural: &str, api_version: &str, obj: Value| -> Result<Value, String> {
            let (group, version) = split_api_version(api_version);
            let mut state = self.shared.state.lock().expect("state lock");
            let rt = state
                .find_type(group, version, plural)
                .ok_or_else(|| format!("no resource {plural}"))?;
            ops::create(&mut state, rt, Some(ns), obj, &opts)
                .map(|w| w.object)
                .map_err(|e| format!("{e:?}"))
        };
        let rs = create(
            "replicasets",
            "apps/v1",
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": rs_name, "namespace": ns, "labels": template["metadata"]["labels"],
                "ownerReferences": owner("apps/v1", "Deployment", &d)},
            "spec": {"replicas": replicas, "selector": d["spec"]["selector"], "template": template}}),
        )?;
        self.set_status("apps/v1", "replicasets", Some(ns), &rs_name, json!({"replicas": replicas,
            "fullyLabeledReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
            "observedGeneration": 1}))?;
        for n in 0..replicas {
            let pod_name = format!("{rs_name}-{n}");
            create(
                "pods",
                "v1",
                json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod_name, "namespace": ns, "labels": template["metadata"]["labels"],
                    "ownerReferences": owner("apps/v1", "ReplicaSet", &rs)},
                "spec": template["spec"]}),
            )?;
            self.set_pod_state(ns, &pod_name, "Running", true, 0)?;
        }
        Ok(())
    }

    /// Gives a LoadBalancer Service an ingress address.
    pub fn set_load_balancer_ingress(&self, ns: &str, name: &str, ip: &str) -> Result<(), String> {
        self.set_status(
            "v1",
            "services",
            Some(ns),
            name,
            json!({"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}}),
        )?;
        Ok(())
    }
}

fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// The objects a fresh cluster has: the `default`, `kube-system` and
/// `kube-public` namespaces.
fn bootstrap(shared: &Shared) {
    let mut state = shared.state.lock().expect("state lock");
    let Some(rt) = state.find_type("", "v1", "namespaces") else {
        return;
    };
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let opts = ops::WriteOpts::system("kube-apiserver");
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        let _ = ops::create(&mut state, rt.clone(), None, body, &opts);
    }
    auth::bootstrap_rbac(&mut state);
}
