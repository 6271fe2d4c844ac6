//! Bad input never crashes or wedges the test API server: thousands of
//! generated requests (random verbs, paths, content types and bodies, valid and
//! broken), each answered with an HTTP status, and the server still serves.

use serde_json::json;
use skiff_test_apiserver::TestApiServer;

/// A small deterministic generator (xorshift), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

fn body(rng: &mut Rng) -> Vec<u8> {
    let kinds = [
        "ConfigMap",
        "Secret",
        "Deployment",
        "Namespace",
        "",
        "Gadget",
    ];
    let candidates = [
        json!({"apiVersion": "v1", "kind": rng.pick(&kinds), "metadata": {"name": "x"}, "data": {"a": "b"}}).to_string(),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": "three", "template": [1, 2]}}).to_string(),
        json!([{"op": "replace", "path": "/data/a", "value": 1}, {"op": "bogus"}]).to_string(),
        json!({"metadata": {"finalizers": ["a", "a"], "labels": {"": ""}}, "spec": null}).to_string(),
        json!({"metadata": {"name": "x", "managedFields": [{"manager": 3}]}}).to_string(),
        "{\"apiVersion\": \"v1\", ".to_string(),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: [1, 2\n".to_string(),
        "a: &a [*a]\n".to_string(),
        "- just\n- a list\n".to_string(),
        "null".to_string(),
        String::from_utf8_lossy(&[0xff, 0xfe, 0x00, 0x7b]).to_string(),
        "{\"spec\": {\"$patch\": \"delete\"}, \"$setElementOrder/containers\": 5}".to_string(),
    ];
    rng.pick(&candidates).clone().into_bytes()
}

fn path(rng: &mut Rng) -> String {
    let paths = [
        "/api/v1/namespaces/default/configmaps",
        "/api/v1/namespaces/default/configmaps/x",
        "/api/v1/namespaces/default/configmaps/x/status",
        "/api/v1/namespaces/nope/configmaps/x",
        "/apis/apps/v1/namespaces/default/deployments/d",
        "/apis/apps/v1/namespaces/default/deployments/d/status",
        "/apis/apps/v1/namespaces/default/deployments/d/scale",
        "/api/v1/namespaces/x",
        "/api/v1/namespaces/x/finalize",
        "/api/v1/nodes/n1",
        "/apis/example.com/v1/gadgets",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x",
        "/api/v1/namespaces/default/serviceaccounts/default/token",
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=abc&timeoutSeconds=1",
        "/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20(&limit=-1",
        "/api/v1/namespaces/default/configmaps?continue=%%%",
        "/api/v1/namespaces/default/configmaps?fieldSelector=spec.x%3D1",
        "/apis",
        "/openapi/v3/apis/apps/v1",
        "/api/v1/namespaces/default/configmaps/x?dryRun=All&force=maybe",
        "//api//v1///",
    ];
    rng.pick(&paths).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_bad_requests_never_crash_the_server() {
    let server = TestApiServer::start().await;
    let http = reqwest::Client::new();
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    let types = [
        "application/json",
        "application/apply-patch+yaml",
        "application/merge-patch+json",
        "application/json-patch+json",
        "application/strategic-merge-patch+json",
        "application/yaml",
        "text/plain",
    ];
    let mut by_status = std::collections::BTreeMap::new();
    for i in 0..3000 {
        let method = reqwest::Method::from_bytes(rng.pick(&methods).as_bytes()).unwrap();
        let mut url = format!("{}{}", server.url(), path(&mut rng));
        if method == reqwest::Method::PATCH && rng.next().is_multiple_of(2) {
            url.push_str(if url.contains('?') {
                "&fieldManager=fuzz"
            } else {
                "?fieldManager=fuzz"
            });
        }
        let resp = http
            .request(method.clone(), &url)
            .header("Content-Type", *rng.pick(&types))
            .body(body(&mut rng))
            .send()
            .await
            .unwrap_or_else(|e| panic!("request {i} ({method} {url}) got no answer: {e}"));
        let status = resp.status().as_u16();
        assert!(
            status < 500,
            "request {i} ({method} {url}) answered {status}: {}",
            resp.text().await.unwrap_or_default()
        );
        let _ = resp.bytes().await;
        *by_status.entry(status).or_insert(0) += 1;
    }
    println!("status codes over 3000 generated requests: {by_status:?}");
    let ok = http
        .get(format!("{}/api/v1/namespaces", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200, "the server still serves");
}
