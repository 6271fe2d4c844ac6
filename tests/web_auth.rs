//! Login and actions against a running controller, with the cluster as the
//! user database: ServiceAccount tokens from the TokenRequest API, checked by
//! skiff with TokenReview; Roles and RoleBindings that SubjectAccessReview
//! reads. Nothing here is specific to the test API server, so the same test
//! runs against a real cluster (SKIFF_TEST_KUBECONFIG).

mod support;

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::discovery::ApiResource;
use serde_json::{json, Value};
use std::time::Duration;
use support::*;

const ADMIN_TOKEN: &str = "admin-token-for-the-web-auth-test";
/// How long a session lasts in this test's controller.
const SESSION: Duration = Duration::from_secs(4);

/// An HTTP client that follows no redirects (the test looks at them).
struct Http {
    client: reqwest::Client,
    base: String,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }
}

impl Http {
    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, String)>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        if let Some((content_type, body)) = body {
            request = request.header("content-type", content_type).body(body);
        }
        let response = request.send().await.unwrap();
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.send("GET", path, headers, None).await
    }

    async fn post_json(&self, path: &str, headers: &[(&str, &str)], body: Value) -> Answer {
        let body = Some(("application/json", body.to_string()));
        self.send("POST", path, headers, body).await
    }

    async fn post_form(&self, path: &str, headers: &[(&str, &str)], form: &str) -> Answer {
        let body = Some(("application/x-www-form-urlencoded", form.to_string()));
        self.send("POST", path, headers, body).await
    }

    /// Logs in through the API: (the Cookie header, the CSRF token).
    async fn session(&self, token: &str) -> (String, String) {
        let answer = self
            .post_json("/api/v1/session", &[], json!({"token": token}))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let cookie = answer.header("set-cookie");
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        let pair = cookie.split(';').next().unwrap().to_string();
        (pair, answer.json()["csrf"].as_str().unwrap().to_string())
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn apply(client: &kube::Client, object: Value) {
    let api_version = object["apiVersion"].as_str().unwrap();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let kind = object["kind"].as_str().unwrap();
    let plural = format!("{}s", kind.to_lowercase());
    let resource = ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: api_version.into(),
        kind: kind.into(),
        plural,
    };
    let name = object["metadata"]["name"].as_str().unwrap();
    let api: Api<DynamicObject> = match object["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    api.patch(
        name,
        &PatchParams::apply("skiff-tests").force(),
        &Patch::Apply(&object),
    )
    .await
    .unwrap_or_else(|e| panic!("apply {kind} {name}: {e}"));
}

/// A ServiceAccount in `namespace` allowed `verbs` on Applications there;
/// returns a token for it from the TokenRequest API.
async fn account(client: &kube::Client, namespace: &str, name: &str, verbs: &[&str]) -> String {
    apply(
        client,
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": namespace}}),
    )
    .await;
    apply(
        client,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": name, "namespace": namespace},
        "rules": [{"apiGroups": ["skiff.dev"], "resources": ["applications"], "verbs": verbs}]}),
    )
    .await;
    apply(
        client,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]}),
    )
    .await;
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            expiration_seconds: Some(3600),
            ..Default::default()
        }),
        ..Default::default()
    };
    Api::<ServiceAccount>::namespaced(client.clone(), namespace)
        .create_token_request(name, &PostParams::default(), &request)
        .await
        .expect("a ServiceAccount token")
        .status
        .expect("the token")
        .token
        .expect("a token")
}

async fn event_notes(client: &kube::Client, namespace: &str, reason: &str) -> Vec<String> {
    let api: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), namespace);
    api.list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .filter_map(|e| e.note)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_sessions_rbac_and_csrf_guard_every_action() {
    let c = cluster().await;
    for ns in ["skiff-system", "team", "other"] {
        namespace(&c.client, ns).await;
    }
    admin_secret(&c.client, "skiff-system", ADMIN_TOKEN).await;
    let viewer = account(&c.client, "team", "viewer", &["get", "list", "watch"]).await;
    let deployer = account(
        &c.client,
        "team",
        "deployer",
        &["get", "list", "watch", "patch"],
    )
    .await;
    let up = Upstream::new();
    up.commit(&[("app/cm.yaml", Some(&config_map("a", "v")))], "first");
    for (ns, name) in [("team", "web"), ("other", "db")] {
        Api::<skiff::application::Application>::namespaced(c.client.clone(), ns)
            .create(
                &Default::default(),
                &application(name, &up.url(), "app", &format!("{ns}-{name}"), false),
            )
            .await
            .unwrap();
    }
    let (listen, _cache, _running) = start_controller_with(&c.client, "skiff-system", 2, |args| {
        args.anonymous_read = false;
        args.session_duration = SESSION;
    });
    let http = Http {
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: format!("http://{listen}"),
    };
    eventually("skiff serves", 30, || async {
        reqwest::get(format!("http://{listen}/healthz")).await.ok()
    })
    .await;

    // Reading needs a login here; a token the cluster rejects is refused.
    let anonymous = http.get("/api/v1/apps", &[]).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_eq!(
        anonymous.header("www-authenticate"),
        "Bearer realm=\"skiff\""
    );
    let page = http.get("/apps/team/web", &[]).await;
    assert_eq!(page.status, 303, "a page sends people to log in");
    assert_eq!(page.header("location"), "/login?next=/apps/team/web");
    let bad = http
        .get("/api/v1/apps", &[("authorization", "Bearer not-a-token")])
        .await;
    assert_eq!(bad.status, 401);
    assert!(
        bad.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("the cluster did not accept the token"),
        "{}",
        bad.body
    );
    let login = http
        .post_json("/api/v1/session", &[], json!({"token": "not-a-token"}))
        .await;
    assert_eq!(login.status, 401, "{}", login.body);
    assert!(login.header("set-cookie").is_empty());

    // RBAC decides what each may see and do.
    let viewer_auth = bearer(&viewer);
    let seen = eventually("the viewer's list shows the team's app", 30, || async {
        let list = http
            .get("/api/v1/apps", &[("authorization", &viewer_auth)])
            .await;
        assert_eq!(list.status, 200, "{}", list.body);
        let names: Vec<String> = list.json()["items"]
            .as_array()?
            .iter()
            .map(|i| {
                format!(
                    "{}/{}",
                    i["namespace"].as_str().unwrap(),
                    i["name"].as_str().unwrap()
                )
            })
            .collect();
        (!names.is_empty()).then_some(names)
    })
    .await;
    assert_eq!(
        seen,
        ["team/web"],
        "nothing from a namespace the viewer may not list"
    );
    let hidden = http
        .get("/api/v1/apps/other/db", &[("authorization", &viewer_auth)])
        .await;
    assert_eq!(hidden.status, 403, "{}", hidden.body);
    let denied = http
        .post_json(
            "/api/v1/apps/team/web/sync",
            &[("authorization", &viewer_auth)],
            json!({}),
        )
        .await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert!(
        denied
            .body
            .contains("may not patch applications.skiff.dev team/web"),
        "{}",
        denied.body
    );

    // A session: its cookie alone does not act; its CSRF token must come too.
    let (cookie, csrf) = http.session(&deployer).await;
    let me = http.get("/api/v1/session", &[("cookie", &cookie)]).await;
    assert_eq!(me.json()["user"], "system:serviceaccount:team:deployer");
    assert_eq!(me.json()["csrf"], csrf.as_str());
    let no_csrf = http
        .post_json(
            "/api/v1/apps/team/web/sync",
            &[("cookie", &cookie)],
            json!({}),
        )
        .await;
    assert_eq!(no_csrf.status, 403, "{}", no_csrf.body);
    assert!(no_csrf.body.contains("CSRF"), "{}", no_csrf.body);
    let wrong = http
        .post_json(
            "/api/v1/apps/team/web/sync",
            &[("cookie", &cookie), ("x-csrf-token", "guess")],
            json!({}),
        )
        .await;
    assert_eq!(wrong.status, 403);
    let form = http
        .post_form("/apps/team/web/sync", &[("cookie", &cookie)], "prune=on")
        .await;
    assert_eq!(form.status, 403, "a form without the token: {}", form.body);
    let asked = http
        .post_json(
            "/api/v1/apps/team/web/sync",
            &[("cookie", &cookie), ("x-csrf-token", &csrf)],
            json!({"prune": true}),
        )
        .await;
    assert_eq!(asked.status, 202, "{}", asked.body);
    assert_eq!(asked.json()["asked"], "a sync with prune");
    let apps = Api::<skiff::application::Application>::namespaced(c.client.clone(), "team");
    eventually("the asked sync runs", 30, || async {
        (app_status(&apps, "web").await["sync"]["status"] == "Synced").then_some(())
    })
    .await;
    let notes = event_notes(&c.client, "team", "SyncRequested").await;
    assert!(
        notes
            .iter()
            .any(|n| n == "system:serviceaccount:team:deployer asked for a sync with prune"),
        "{notes:?}"
    );
    // The same through the HTML form, with the token: back to the app's page.
    let form = http
        .post_form(
            "/apps/team/web/refresh",
            &[("cookie", &cookie)],
            &format!("csrf={csrf}&hard=on"),
        )
        .await;
    assert_eq!(form.status, 303, "{}", form.body);
    assert_eq!(form.header("location"), "/apps/team/web?asked=hard-refresh");
    // The deployer may patch apps in team only.
    let elsewhere = http
        .post_json(
            "/api/v1/apps/other/db/refresh",
            &[("cookie", &cookie), ("x-csrf-token", &csrf)],
            json!({}),
        )
        .await;
    assert_eq!(elsewhere.status, 403, "{}", elsewhere.body);

    // A session ends: its requests are then refused, and pages ask to log in again.
    tokio::time::sleep(SESSION + Duration::from_millis(500)).await;
    let late = http
        .post_json(
            "/api/v1/apps/team/web/refresh",
            &[("cookie", &cookie), ("x-csrf-token", &csrf)],
            json!({}),
        )
        .await;
    assert_eq!(late.status, 401, "{}", late.body);
    assert!(
        late.body.contains("the session has expired"),
        "{}",
        late.body
    );
    let page = http.get("/apps/team/web", &[("cookie", &cookie)]).await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.header("location"),
        "/login?next=/apps/team/web&expired=1"
    );

    // The admin token (from the Secret) logs in through the form and may do anything.
    let login = http
        .post_form(
            "/login",
            &[],
            &format!("token={ADMIN_TOKEN}&next=/apps/other/db"),
        )
        .await;
    assert_eq!(login.status, 303, "{}", login.body);
    assert_eq!(login.header("location"), "/apps/other/db");
    let cookie = login
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = http
        .get("/apps/other/db/rollback?id=1", &[("cookie", &cookie)])
        .await;
    assert_eq!(page.status, 404, "db has no history yet: {}", page.body);
    let page = http
        .get("/apps/other/db/sync", &[("cookie", &cookie)])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the confirmation form carries the CSRF token")
        .to_string();
    let done = http
        .post_form(
            "/apps/other/db/sync",
            &[("cookie", &cookie)],
            &format!("csrf={csrf}&dry_run=on"),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body.contains("Dry run: what a sync would change"),
        "{}",
        done.body
    );
    assert!(done.body.contains("ConfigMap other-db/a"), "{}", done.body);
    let notes = event_notes(&c.client, "other", "SyncRequested").await;
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("admin looked at what a sync would change")),
        "{notes:?}"
    );
    // Rotating the admin token ends the sessions opened with the old one.
    admin_secret(&c.client, "skiff-system", "a-rotated-admin-token").await;
    eventually("the old admin session ends", 10, || async {
        let me = http.get("/api/v1/session", &[("cookie", &cookie)]).await;
        (me.status == 401).then_some(())
    })
    .await;
}
