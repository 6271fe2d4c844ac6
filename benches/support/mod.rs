//! What the controller benchmarks share: the test API server with the
//! Application CRD and the skiff-system and apps namespaces, and a process's
//! memory from /proc.
#![allow(dead_code)]

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

pub async fn cluster() -> skiff_test_apiserver::TestApiServer {
    let server = skiff_test_apiserver::TestApiServer::start().await;
    let client = server.client();
    let pp = PatchParams::apply("bench").force();
    let crd: CustomResourceDefinition = serde_json::from_value(
        skiff::render::yaml::parse_documents(&skiff::application::crd_yaml())
            .unwrap()
            .remove(0),
    )
    .unwrap();
    Api::<CustomResourceDefinition>::all(client.clone())
        .patch("applications.skiff.dev", &pp, &Patch::Apply(&crd))
        .await
        .unwrap();
    for ns in ["skiff-system", "apps"] {
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
            .patch(ns, &pp, &Patch::Apply(&body))
            .await
            .unwrap();
    }
    server
}

/// Starts the release `skiff controller` as its own process against the
/// cluster `kubeconfig` names (`requeue`: seconds between passes, or the default).
pub fn spawn_controller(
    kubeconfig: &std::path::Path,
    listen: &str,
    requeue: Option<u64>,
    cache: &std::path::Path,
    log: &str,
) -> std::process::Child {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_skiff"));
    command.args([
        "controller",
        "--namespace",
        "skiff-system",
        "--listen",
        listen,
    ]);
    if let Some(seconds) = requeue {
        command.args(["--requeue-seconds", &seconds.to_string()]);
    }
    command
        .arg("--cache-dir")
        .arg(cache)
        .env("KUBECONFIG", kubeconfig)
        .env("RUST_LOG", log)
        .spawn()
        .expect("the skiff binary")
}

/// A field of /proc/PID/status in KiB (VmRSS: resident now, VmHWM: peak).
pub fn memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
