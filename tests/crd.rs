//! The generated CRD in `crds/` matches the Rust types, and a cluster accepts
//! it and Applications written with Argo CD's field names.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use skiff::application::Application;

#[test]
fn crds_folder_matches_the_rust_types() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crds/application.yaml"
    ))
    .unwrap();
    assert!(
        committed == skiff::application::crd_yaml(),
        "crds/application.yaml is stale: run `cargo run -- crd > crds/application.yaml`"
    );
}

#[tokio::test]
async fn the_crd_is_served_and_accepts_an_argo_cd_shaped_application() {
    let server = skiff_test_apiserver::TestApiServer::start().await;
    let client = server.client();
    let crd: CustomResourceDefinition = serde_json::from_value(
        serde_json::to_value(
            skiff::render::yaml::parse_documents(&skiff::application::crd_yaml())
                .unwrap()
                .remove(0),
        )
        .unwrap(),
    )
    .unwrap();
    Api::<CustomResourceDefinition>::all(client.clone())
        .patch(
            "applications.skiff.dev",
            &PatchParams::apply("test").force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap();
    let manifest = r#"
apiVersion: skiff.dev/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: default
spec:
  source:
    repoURL: https://gitea.example.com/org/config.git
    path: guestbook
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
    retry: {limit: 5, backoff: {duration: 5s, factor: 2, maxDuration: 3m}}
"#;
    let value = skiff::render::yaml::parse_documents(manifest)
        .unwrap()
        .remove(0);
    let app: Application = serde_json::from_value(value).unwrap();
    let apps: Api<Application> = Api::namespaced(client, "default");
    let created = apps
        .patch(
            "guestbook",
            &PatchParams::apply("test"),
            &Patch::Apply(&app),
        )
        .await
        .unwrap();
    assert_eq!(
        created.spec.project, "default",
        "project defaults to default"
    );
    assert_eq!(
        created.spec.source.target_revision, "HEAD",
        "targetRevision defaults to HEAD"
    );
    assert!(
        created
            .spec
            .sync_policy
            .unwrap()
            .automated
            .unwrap()
            .self_heal
    );
}
