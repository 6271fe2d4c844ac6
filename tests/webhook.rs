//! Git webhooks: each forge's push (payloads shaped as the forges document
//! them, in tests/webhooks/) refreshes the app that follows the pushed branch
//! at once, through a real git server over HTTP, with the poll far away; and
//! every limit of the endpoint answers as documented.

mod support;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, PostParams};
use serde_json::json;
use skiff::application::Application;
use skiff::metrics::Metrics;
use skiff::web::webhook::{sign, Push, Webhooks};
use std::sync::Arc;
use support::*;

fn cm(value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  greeting: {value}\n")
}

/// A fixture with its repository URLs pointing at `http_url`.
fn payload(fixture: &str, http_url: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(format!(
        "{}/tests/webhooks/{fixture}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let web = http_url.trim_end_matches(".git");
    let host_path = web.trim_start_matches("http://");
    let (host, path) = host_path.split_once('/').unwrap();
    let host = host.split(':').next().unwrap();
    text.replace("__WEB_URL__", web)
        .replace("__HTTP_URL__", http_url)
        .replace("__SSH_URL__", &format!("git@{host}:{path}.git"))
        .replace("__GIT_URL__", &format!("git://{host}/{path}.git"))
        .into_bytes()
}

const SECRETS: [(&str, &str); 4] = [
    ("webhook.gitea.secret", "gitea-s3cret"),
    ("webhook.gogs.secret", "gogs-s3cret"),
    ("webhook.github.secret", "github-s3cret"),
    ("webhook.gitlab.secret", "gitlab-s3cret"),
];

/// The headers each forge sends with a push, signed with its secret. Gitea
/// sends GitHub's and Gogs's headers too (signed with its own secret).
fn signed(provider: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    let secret = |key: &str| SECRETS.iter().find(|(k, _)| k.contains(key)).unwrap().1;
    match provider {
        "gitea" => {
            let s = sign(secret("gitea"), body);
            vec![
                ("X-Gitea-Event", "push".into()),
                ("X-Gitea-Signature", s.clone()),
                ("X-Gogs-Event", "push".into()),
                ("X-Gogs-Signature", s.clone()),
                ("X-GitHub-Event", "push".into()),
                ("X-Hub-Signature-256", format!("sha256={s}")),
            ]
        }
        "gogs" => vec![
            ("X-Gogs-Event", "push".into()),
            ("X-Gogs-Signature", sign(secret("gogs"), body)),
        ],
        "github" => vec![
            ("X-GitHub-Event", "push".into()),
            (
                "X-Hub-Signature-256",
                format!("sha256={}", sign(secret("github"), body)),
            ),
        ],
        "gitlab" => vec![
            ("X-Gitlab-Event", "Push Hook".into()),
            ("X-Gitlab-Token", secret("gitlab").into()),
        ],
        other => panic!("no provider {other}"),
    }
}

async fn post(listen: &str, headers: &[(&str, String)], body: Vec<u8>) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(format!("http://{listen}/api/webhook"))
        .header("Content-Type", "application/json")
        .body(body);
    for (k, v) in headers {
        request = request.header(*k, v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_from_each_forge_refreshes_the_app_at_once() {
    let git = GitHttpServer::start("alice", "s3cret");
    let up = Upstream::new();
    up.commit(&[("app/cm.yaml", Some(&cm("zero")))], "first");
    let url = git.publish(&up, "config");
    let c = cluster().await;
    namespace(&c.client, "skiff-system").await;
    namespace(&c.client, "apps").await;
    let secrets: Api<Secret> = Api::namespaced(c.client.clone(), "skiff-system");
    let repo: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "config-repo", "labels": {"skiff.dev/secret-type": "repository"}},
        "stringData": {"url": url, "username": "alice", "password": "s3cret"}}))
    .unwrap();
    secrets.create(&PostParams::default(), &repo).await.unwrap();
    let hooks: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "skiff-webhook"},
        "stringData": SECRETS.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>()}))
    .unwrap();
    secrets
        .create(&PostParams::default(), &hooks)
        .await
        .unwrap();
    // A poll far longer than the test: only the webhook can bring a push in.
    let (listen, _cache) = start_controller(&c.client, "skiff-system", 600);
    let apps: Api<Application> = Api::namespaced(c.client.clone(), "apps");
    let mut app = application("hooked", &url, "app", "hooked", true);
    app.spec.source.target_revision = "HEAD".into();
    apps.create(&PostParams::default(), &app).await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), "hooked");
    let greeting = |want: &'static str| {
        let cms = cms.clone();
        async move {
            let cm = cms.get_opt("settings").await.ok()??;
            (cm.data?.get("greeting")? == want).then_some(())
        }
    };
    eventually("the first commit is applied", 30, || greeting("zero")).await;
    // Let the passes the first sync's own writes started run out.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;

    for (n, (provider, fixture)) in [
        ("gitea", "gitea-push.json"),
        ("gogs", "gogs-push.json"),
        ("github", "github-push.json"),
        ("gitlab", "gitlab-push.json"),
    ]
    .into_iter()
    .enumerate()
    {
        let value: &'static str = ["one", "two", "three", "four"][n];
        up.commit(&[("app/cm.yaml", Some(&cm(value)))], value);
        git.publish(&up, "config");
        let body = payload(fixture, &url);
        let (status, text) = post(&listen, &signed(provider, &body), body).await;
        assert_eq!((status, text.as_str()), (200, "queued\n"), "{provider}");
        let start = std::time::Instant::now();
        eventually(&format!("the {provider} push is applied"), 20, || {
            greeting(value)
        })
        .await;
        eprintln!(
            "{provider}: push applied {:?} after the webhook",
            start.elapsed()
        );
    }

    // A push to another branch refreshes nothing: the commit waiting on
    // main is not brought in until a push to main is announced.
    up.commit(&[("app/cm.yaml", Some(&cm("five")))], "five");
    git.publish(&up, "config");
    let other = payload("github-push.json", &url).replace_ref("refs/heads/dev");
    let (status, _) = post(&listen, &signed("github", &other), other).await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(
        greeting("four").await.is_some(),
        "the dev push refreshed the app"
    );
    let body = payload("gitea-push.json", &url);
    let (status, _) = post(&listen, &signed("gitea", &body), body).await;
    assert_eq!(status, 200);
    eventually("the main push is applied", 20, || greeting("five")).await;
    let metrics = metrics(&listen).await;
    for (provider, count) in [("gitea", 2), ("gogs", 1), ("gitlab", 1)] {
        let line = format!(
            "skiff_webhook_requests_total{{provider=\"{provider}\",outcome=\"queued\"}} {count}"
        );
        assert!(metrics.contains(&line), "{line} in:\n{metrics}");
    }
    assert!(
        metrics.contains("skiff_webhook_requests_total{provider=\"github\",outcome=\"queued\"} 2")
    );
    // A wrong signature is refused and counted.
    let body = payload("gitea-push.json", &url);
    let mut headers = signed("gitea", &body);
    headers[1].1 = sign("wrong", &body);
    let (status, text) = post(&listen, &headers, body).await;
    assert_eq!(status, 401, "{text}");
}

trait ReplaceRef {
    fn replace_ref(self, to: &str) -> Vec<u8>;
}

impl ReplaceRef for Vec<u8> {
    fn replace_ref(self, to: &str) -> Vec<u8> {
        String::from_utf8(self)
            .unwrap()
            .replacen("\"refs/heads/main\"", &format!("{to:?}"), 1)
            .into_bytes()
    }
}

/// The endpoint alone, with a queue nobody drains: its answers per input.
async fn endpoint(
    allow_unsigned: bool,
    queue: usize,
) -> (String, Arc<Metrics>, tokio::sync::mpsc::Receiver<Push>) {
    let metrics = Arc::new(Metrics::default());
    let (tx, rx) = tokio::sync::mpsc::channel(queue);
    let webhooks = Webhooks {
        // No GitLab secret here.
        secret: Arc::new(|key: &str| {
            SECRETS
                .iter()
                .find(|(k, _)| *k == key && !k.contains("gitlab"))
                .map(|(_, v)| v.to_string())
        }),
        allow_unsigned,
        max_body: 64 * 1024,
        queue: tx,
        metrics: metrics.clone(),
    };
    let router = skiff::web::router(
        skiff::web::WebState {
            metrics: metrics.clone(),
            ready: Default::default(),
        },
        webhooks,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listen = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (listen, metrics, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_limit_answers_as_documented() {
    let (listen, metrics, mut pushes) = endpoint(false, 1).await;
    let url = "https://git.example.com/team/config.git";
    let body = payload("gitea-push.json", url);

    // Signed right: queued, and the push read from Gitea's own payload.
    let (status, _) = post(&listen, &signed("gitea", &body), body.clone()).await;
    assert_eq!(status, 200);
    let push = pushes.recv().await.unwrap();
    assert_eq!(push.git_ref, "refs/heads/main");
    assert_eq!(push.default_branch, "main");
    assert!(push.urls.contains(&url.to_string()), "{:?}", push.urls);

    // The queue holds one: the second waiting push is refused with 503.
    let (status, _) = post(&listen, &signed("gitea", &body), body.clone()).await;
    assert_eq!(status, 200);
    let (status, text) = post(&listen, &signed("gitea", &body), body.clone()).await;
    assert_eq!(
        (status, text.as_str()),
        (503, "too many webhooks are waiting; try again\n")
    );
    pushes.recv().await.unwrap();

    // Wrong signature, missing signature.
    let mut wrong = signed("gitea", &body);
    wrong[1].1 = sign("other", &body);
    assert_eq!(post(&listen, &wrong, body.clone()).await.0, 401);
    let unsigned = vec![("X-Gitea-Event", "push".to_string())];
    assert_eq!(post(&listen, &unsigned, body.clone()).await.0, 401);
    // A signed body that is not JSON, or a push without a ref.
    let junk = b"{not json".to_vec();
    let (status, text) = post(&listen, &signed("github", &junk), junk).await;
    assert_eq!(status, 400);
    assert!(
        text.starts_with("the github payload is not a push skiff can read: invalid JSON"),
        "{text}"
    );
    let no_ref = br#"{"repository": {"clone_url": "https://x/y.git"}}"#.to_vec();
    let (status, text) = post(&listen, &signed("github", &no_ref), no_ref).await;
    assert_eq!(
        (status, text.as_str()),
        (
            400,
            "the github payload is not a push skiff can read: no ref\n"
        )
    );
    // Too large, declared or not.
    let big = vec![b' '; 64 * 1024 + 1];
    assert_eq!(post(&listen, &signed("gitea", &big), big).await.0, 413);
    // No provider header; a provider with no secret configured.
    assert_eq!(post(&listen, &[], body.clone()).await.0, 400);
    let gitlab = payload("gitlab-push.json", url);
    let (status, text) = post(&listen, &signed("gitlab", &gitlab), gitlab.clone()).await;
    assert_eq!(status, 403);
    assert!(text.contains("webhook.gitlab.secret"), "{text}");
    // Ping and other events: answered, nothing queued.
    let ping = vec![("X-GitHub-Event", "ping".to_string())];
    let (status, text) = post(&listen, &ping, b"{}".to_vec()).await;
    assert_eq!(
        (status, text.as_str()),
        (401, "the github webhook's signature is missing or wrong\n")
    );
    let ping_signed = vec![
        ("X-GitHub-Event", "ping".to_string()),
        (
            "X-Hub-Signature-256",
            format!("sha256={}", sign("github-s3cret", b"{}")),
        ),
    ];
    assert_eq!(
        post(&listen, &ping_signed, b"{}".to_vec()).await,
        (200, "pong\n".into())
    );
    let issue = vec![
        ("X-GitHub-Event", "issues".to_string()),
        (
            "X-Hub-Signature-256",
            format!("sha256={}", sign("github-s3cret", b"{}")),
        ),
    ];
    assert_eq!(post(&listen, &issue, b"{}".to_vec()).await.0, 200);
    assert!(pushes.try_recv().is_err(), "nothing else was queued");

    let text = metrics.encode();
    for (labels, count) in [
        ("provider=\"gitea\",outcome=\"queued\"", 2),
        ("provider=\"gitea\",outcome=\"overloaded\"", 1),
        ("provider=\"gitea\",outcome=\"bad_signature\"", 2),
        ("provider=\"github\",outcome=\"malformed\"", 2),
        ("provider=\"gitea\",outcome=\"too_large\"", 1),
        ("provider=\"unknown\",outcome=\"unknown_provider\"", 1),
        ("provider=\"gitlab\",outcome=\"not_configured\"", 1),
        ("provider=\"github\",outcome=\"ping\"", 1),
        ("provider=\"github\",outcome=\"ignored\"", 1),
    ] {
        let line = format!("skiff_webhook_requests_total{{{labels}}} {count}");
        assert!(text.contains(&line), "{line} in:\n{text}");
    }

    // With unsigned webhooks allowed, a provider without a secret is accepted.
    let (listen, _, mut pushes) = endpoint(true, 4).await;
    let gitlab_unsigned = vec![("X-Gitlab-Event", "Push Hook".to_string())];
    assert_eq!(post(&listen, &gitlab_unsigned, gitlab).await.0, 200);
    assert!(pushes.recv().await.unwrap().urls.contains(&url.to_string()));
    // ... but a provider that has one still needs a signature.
    assert_eq!(post(&listen, &unsigned, body).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_input_panics_or_hangs_the_endpoint() {
    let (listen, _, mut pushes) = endpoint(false, 8).await;
    tokio::spawn(async move { while pushes.recv().await.is_some() {} });
    let url = "https://git.example.com/team/config.git";
    let fixtures: Vec<Vec<u8>> = [
        "gitea-push.json",
        "gogs-push.json",
        "github-push.json",
        "gitlab-push.json",
    ]
    .iter()
    .map(|f| payload(f, url))
    .collect();
    let events = [
        "push",
        "ping",
        "Push Hook",
        "Tag Push Hook",
        "",
        "pu sh",
        "issues",
    ];
    let header_names = [
        "X-Gitea-Event",
        "X-Forgejo-Event",
        "X-Gogs-Event",
        "X-GitHub-Event",
        "X-Gitlab-Event",
        "X-Gitea-Signature",
        "X-Gogs-Signature",
        "X-Hub-Signature-256",
        "X-Gitlab-Token",
        "Content-Type",
    ];
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let client = reqwest::Client::new();
    let mut answered = std::collections::BTreeMap::new();
    for _ in 0..2000 {
        let mut body = match rng.below(5) {
            0 => fixtures[rng.below(4)].clone(),
            1 => {
                // A fixture cut short or with a byte changed.
                let mut f = fixtures[rng.below(4)].clone();
                let at = rng.below(f.len());
                if rng.below(2) == 0 {
                    f.truncate(at);
                } else {
                    f[at] = rng.next() as u8;
                }
                f
            }
            2 => (0..rng.below(512)).map(|_| rng.next() as u8).collect(),
            // Deep nesting (serde_json's recursion limit must hold).
            3 => {
                let depth = 1 + rng.below(100_000);
                let mut v = vec![b'['; depth];
                v.extend(vec![b']'; depth]);
                v
            }
            _ => {
                let v = json!({"ref": rng.next(), "repository": [rng.next()], "project": {"web_url": null}});
                v.to_string().into_bytes()
            }
        };
        if rng.below(20) == 0 {
            body = vec![b'x'; 64 * 1024 + rng.below(4096)];
        }
        let mut request = client
            .post(format!("http://{listen}/api/webhook"))
            .body(body.clone());
        // Half start as a forge would send them, then get noise on top.
        if rng.below(2) == 0 {
            let provider = ["gitea", "gogs", "github", "gitlab"][rng.below(4)];
            for (k, v) in signed(provider, &body) {
                request = request.header(k, v);
            }
        }
        for _ in 0..rng.below(3) {
            let name = header_names[rng.below(header_names.len())];
            let value = match rng.below(3) {
                0 => events[rng.below(events.len())].to_string(),
                1 => sign("gitea-s3cret", &body),
                _ => format!("sha256={}", sign("github-s3cret", &body)),
            };
            request = request.header(name, value);
        }
        let response = tokio::time::timeout(std::time::Duration::from_secs(10), request.send())
            .await
            .expect("every request is answered in time")
            .unwrap();
        let status = response.status().as_u16();
        assert!(
            [200, 400, 401, 403, 413, 503].contains(&status),
            "answer {status} for a {}-byte body",
            body.len()
        );
        *answered.entry(status).or_insert(0) += 1;
    }
    eprintln!("answers by status: {answered:?}");
    // Signed pushes got through among the noise, and the server still serves.
    assert!(
        answered.get(&200).copied().unwrap_or(0) > 50,
        "{answered:?}"
    );
    let health = reqwest::get(format!("http://{listen}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
}
