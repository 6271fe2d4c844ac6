//! `deploy/` renders with `kubectl kustomize` and the API server accepts every
//! object of it; the Deployment runs skiff hardened and probed.

mod support;

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{Discovery, Scope};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_renders_with_kubectl_kustomize_and_applies() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("kubectl")
            .args(["kustomize", dir])
            .output()
    })
    .await
    .unwrap()
    .expect("kubectl is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = skiff::render::yaml::parse_documents(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    for kind in [
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Service",
        "CustomResourceDefinition",
    ] {
        assert!(kinds.contains(&kind), "deploy/ lacks a {kind}: {kinds:?}");
    }
    let deploy = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let pod = &deploy["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let container = &pod["containers"][0];
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(
        container["resources"]["requests"].is_object()
            && container["resources"]["limits"].is_object()
    );

    let c = support::cluster().await;
    let discovery = Discovery::new(c.client.clone()).run().await.unwrap();
    // Namespaces and CRDs first, as skiff itself orders them.
    let mut ordered: Vec<&Value> = docs.iter().collect();
    ordered.sort_by_key(|d| match d["kind"].as_str() {
        Some("Namespace") => 0,
        Some("CustomResourceDefinition") => 1,
        _ => 2,
    });
    for doc in ordered {
        let (group, version) = doc["apiVersion"]
            .as_str()
            .unwrap()
            .split_once('/')
            .unwrap_or(("", "v1"));
        let gvk = GroupVersionKind::gvk(group, version, doc["kind"].as_str().unwrap());
        let (ar, caps) = discovery
            .resolve_gvk(&gvk)
            .unwrap_or_else(|| panic!("{gvk:?} is served"));
        let api: Api<DynamicObject> = match caps.scope {
            Scope::Namespaced => Api::namespaced_with(
                c.client.clone(),
                doc["metadata"]["namespace"].as_str().unwrap(),
                &ar,
            ),
            Scope::Cluster => Api::all_with(c.client.clone(), &ar),
        };
        let name = doc["metadata"]["name"].as_str().unwrap();
        let obj: DynamicObject = serde_json::from_value(doc.clone()).unwrap();
        api.patch(
            name,
            &PatchParams::apply("deploy-test").force(),
            &Patch::Apply(&obj),
        )
        .await
        .unwrap_or_else(|e| panic!("the API server refused {gvk:?} {name}: {e}"));
    }
}
