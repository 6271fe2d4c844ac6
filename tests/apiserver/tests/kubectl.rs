//! Drives the real `kubectl` against the test API server (or the cluster
//! `SKIFF_TEST_KUBECONFIG` names): server-side apply, `get -o yaml` with
//! defaults and managedFields, and `api-resources` before and after a CRD.

use skiff_test_apiserver::TestApiServer;
use std::path::PathBuf;
use std::process::Command;

struct Target {
    kubeconfig: PathBuf,
    _server: Option<TestApiServer>,
}

async fn target() -> Target {
    match std::env::var("SKIFF_TEST_KUBECONFIG") {
        Ok(path) => Target {
            kubeconfig: path.into(),
            _server: None,
        },
        Err(_) => {
            let server = TestApiServer::start().await;
            Target {
                kubeconfig: server.kubeconfig_path().to_path_buf(),
                _server: Some(server),
            }
        }
    }
}

/// Runs kubectl off the async runtime (the server runs on it) and returns stdout.
async fn kubectl(t: &Target, args: &[&str], stdin: Option<&str>) -> String {
    let kubeconfig = t.kubeconfig.clone();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let stdin = stdin.map(String::from);
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("kubectl is installed (it is on every machine; see README)");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
        }
        let out = child.wait_with_output().expect("kubectl runs");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {stderr}\n{stdout}"
        );
        stdout
    })
    .await
    .expect("kubectl task")
}

const NAMESPACE: &str = "kubectl-e2e";

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: kubectl-e2e
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        ports:
        - containerPort: 80
"#;

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.kubectl-e2e.example.com
spec:
  group: kubectl-e2e.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wdg]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_server_side_apply_get_and_api_resources() {
    let t = target().await;
    // `kubectl create namespace` would send protobuf, which the test server
    // refuses (415); a manifest goes as JSON.
    let ns = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NAMESPACE}\n");
    kubectl(&t, &["apply", "--server-side", "-f", "-"], Some(&ns)).await;
    let applied = kubectl(
        &t,
        &[
            "apply",
            "--server-side",
            "--field-manager",
            "e2e",
            "-f",
            "-",
        ],
        Some(DEPLOYMENT),
    )
    .await;
    assert!(
        applied.contains("deployment.apps/web serverside-applied"),
        "{applied}"
    );

    let yaml = kubectl(
        &t,
        &[
            "get",
            "deployment",
            "web",
            "-n",
            NAMESPACE,
            "-o",
            "yaml",
            "--show-managed-fields",
        ],
        None,
    )
    .await;
    for default in [
        "progressDeadlineSeconds: 600",
        "revisionHistoryLimit: 10",
        "maxSurge: 25%",
        "imagePullPolicy: IfNotPresent",
        "terminationMessagePath: /dev/termination-log",
        "dnsPolicy: ClusterFirst",
        "schedulerName: default-scheduler",
        "protocol: TCP",
    ] {
        assert!(
            yaml.contains(default),
            "missing default {default:?} in:\n{yaml}"
        );
    }
    assert!(
        yaml.contains("manager: e2e") && yaml.contains("operation: Apply"),
        "{yaml}"
    );
    assert!(
        yaml.contains("k:{\"containerPort\":80,\"protocol\":\"TCP\"}"),
        "ports keyed with the defaulted protocol:\n{yaml}"
    );

    let table = kubectl(&t, &["get", "deployments", "-n", NAMESPACE], None).await;
    assert!(
        table.starts_with("NAME") && table.contains("web"),
        "{table}"
    );

    let before = kubectl(&t, &["api-resources"], None).await;
    for row in [
        "configmaps",
        "deployments",
        "customresourcedefinitions",
        "namespaces",
        "ingresses",
        "leases",
        "apiservices",
    ] {
        assert!(
            before.lines().any(|l| l.starts_with(row)),
            "api-resources lacks {row}:\n{before}"
        );
    }
    assert!(!before.contains("kubectl-e2e.example.com"));
    kubectl(&t, &["apply", "--server-side", "-f", "-"], Some(CRD)).await;
    kubectl(
        &t,
        &[
            "wait",
            "--for=condition=Established",
            "crd/widgets.kubectl-e2e.example.com",
            "--timeout=30s",
        ],
        None,
    )
    .await;
    let after = kubectl(&t, &["api-resources"], None).await;
    let row = after
        .lines()
        .find(|l| l.starts_with("widgets"))
        .unwrap_or_else(|| panic!("no widgets row:\n{after}"));
    assert!(
        row.contains("wdg") && row.contains("kubectl-e2e.example.com/v1") && row.contains("Widget"),
        "{row}"
    );

    kubectl(
        &t,
        &["delete", "crd", "widgets.kubectl-e2e.example.com"],
        None,
    )
    .await;
    kubectl(
        &t,
        &["delete", "namespace", NAMESPACE, "--wait=false"],
        None,
    )
    .await;
}
