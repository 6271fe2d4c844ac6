//! Git push webhooks (`POST /api/webhook`): a push reaches the apps that
//! follow the pushed branch or tag in about a second instead of at the next
//! poll. The handler only checks and parses the request, then queues the push
//! and answers; the controller matches it against Applications and refreshes
//! them through its own queue.
//!
//! Providers are told apart by their event header. Gitea (and Forgejo) also
//! send GitHub- and Gogs-style headers, so Gitea is recognised first and read
//! as itself (Argo CD reads it as Gogs, argo-cd#20444).

use crate::metrics::Metrics;
use crate::source::git::normalize_url;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::sync::mpsc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Gitea,
    Gogs,
    GitHub,
    GitLab,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Gitea => "gitea",
            Provider::Gogs => "gogs",
            Provider::GitHub => "github",
            Provider::GitLab => "gitlab",
        }
    }

    /// The key of its secret in the webhook Secret (Argo CD's key names).
    pub fn secret_key(self) -> &'static str {
        match self {
            Provider::Gitea => "webhook.gitea.secret",
            Provider::Gogs => "webhook.gogs.secret",
            Provider::GitHub => "webhook.github.secret",
            Provider::GitLab => "webhook.gitlab.secret",
        }
    }
}

/// A push, as far as matching needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    pub provider: Provider,
    /// Every URL the payload gives for the repository (web, clone, ssh).
    pub urls: Vec<String>,
    /// `refs/heads/<branch>` or `refs/tags/<tag>`.
    pub git_ref: String,
    /// The repository's default branch, when the payload names it.
    pub default_branch: String,
}

/// What a request is, once checked.
#[derive(Debug, PartialEq)]
pub enum Delivery {
    Push(Push),
    /// A ping or test event (GitHub `ping`).
    Ping,
    /// An event that is not a push: answered, nothing done.
    Ignored(String),
}

/// Why a request is turned away.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum Refused {
    #[error("no X-Gitea-Event, X-Gogs-Event, X-GitHub-Event or X-Gitlab-Event header: not a webhook skiff knows")]
    UnknownProvider,
    #[error("no {} webhook secret is configured (key {} in the webhook Secret); unsigned webhooks are refused unless --webhook-allow-unsigned is set", .0.as_str(), .0.secret_key())]
    NotConfigured(Provider),
    #[error("the {} webhook's signature is missing or wrong", .0.as_str())]
    BadSignature(Provider),
    #[error("the {} payload is not a push skiff can read: {}", .0.as_str(), .1)]
    Malformed(Provider, String),
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the body did not arrive in time")]
    Slow,
    #[error("the body was cut off")]
    CutOff,
    #[error("too many webhooks are waiting; try again")]
    Overloaded,
}

impl Refused {
    pub fn status(&self) -> StatusCode {
        match self {
            Refused::UnknownProvider | Refused::Malformed(..) | Refused::CutOff => {
                StatusCode::BAD_REQUEST
            }
            Refused::NotConfigured(_) => StatusCode::FORBIDDEN,
            Refused::BadSignature(_) => StatusCode::UNAUTHORIZED,
            Refused::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Refused::Slow => StatusCode::REQUEST_TIMEOUT,
            Refused::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The metric's outcome label.
    pub fn outcome(&self) -> &'static str {
        match self {
            Refused::UnknownProvider => "unknown_provider",
            Refused::NotConfigured(_) => "not_configured",
            Refused::BadSignature(_) => "bad_signature",
            Refused::Malformed(..) | Refused::CutOff => "malformed",
            Refused::TooLarge(_) => "too_large",
            Refused::Slow => "timeout",
            Refused::Overloaded => "overloaded",
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The provider and its event name, from the headers; Gitea (and Forgejo) first.
pub fn detect(headers: &HeaderMap) -> Option<(Provider, String)> {
    let found = [
        ("x-gitea-event", Provider::Gitea),
        ("x-forgejo-event", Provider::Gitea),
        ("x-gogs-event", Provider::Gogs),
        ("x-github-event", Provider::GitHub),
        ("x-gitlab-event", Provider::GitLab),
    ]
    .into_iter()
    .find_map(|(name, p)| header(headers, name).map(|event| (p, event.trim().to_string())));
    found
}

fn hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The hex HMAC-SHA256 of `body` under `secret`: what Gitea and Gogs send
/// (GitHub prefixes it with `sha256=`).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn hmac_matches(secret: &str, body: &[u8], signature_hex: Option<&str>) -> bool {
    let Some(signature) = signature_hex.and_then(hex) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    // verify_slice compares in constant time.
    mac.verify_slice(&signature).is_ok()
}

/// Checks the request's signature (or GitLab's token) against the provider's
/// secret. No secret: refused, unless unsigned webhooks are allowed.
pub fn verify(
    provider: Provider,
    headers: &HeaderMap,
    body: &[u8],
    secret: Option<&str>,
    allow_unsigned: bool,
) -> Result<(), Refused> {
    let Some(secret) = secret.filter(|s| !s.is_empty()) else {
        return match allow_unsigned {
            true => Ok(()),
            false => Err(Refused::NotConfigured(provider)),
        };
    };
    let good = match provider {
        Provider::Gitea => hmac_matches(
            secret,
            body,
            header(headers, "x-gitea-signature").or(header(headers, "x-forgejo-signature")),
        ),
        Provider::Gogs => hmac_matches(secret, body, header(headers, "x-gogs-signature")),
        Provider::GitHub => hmac_matches(
            secret,
            body,
            header(headers, "x-hub-signature-256").and_then(|s| s.strip_prefix("sha256=")),
        ),
        Provider::GitLab => header(headers, "x-gitlab-token")
            .is_some_and(|token| bool::from(token.as_bytes().ct_eq(secret.as_bytes()))),
    };
    if good {
        Ok(())
    } else {
        Err(Refused::BadSignature(provider))
    }
}

fn is_push(provider: Provider, event: &str) -> bool {
    match provider {
        Provider::Gitea | Provider::Gogs | Provider::GitHub => event == "push",
        Provider::GitLab => matches!(event, "Push Hook" | "Tag Push Hook"),
    }
}

/// Reads a checked request's payload.
pub fn parse(provider: Provider, event: &str, body: &[u8]) -> Result<Delivery, Refused> {
    if provider == Provider::GitHub && event == "ping" {
        return Ok(Delivery::Ping);
    }
    if !is_push(provider, event) {
        return Ok(Delivery::Ignored(event.to_string()));
    }
    let malformed = |why: String| Refused::Malformed(provider, why);
    let payload: Value =
        serde_json::from_slice(body).map_err(|e| malformed(format!("invalid JSON: {e}")))?;
    let git_ref = payload
        .get("ref")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| malformed("no ref".into()))?
        .to_string();
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let (holders, keys): (&[&str], &[&str]) = match provider {
        Provider::GitLab => (
            &["project", "repository"],
            &[
                "web_url",
                "git_http_url",
                "git_ssh_url",
                "http_url",
                "ssh_url",
                "url",
                "homepage",
            ],
        ),
        _ => (
            &["repository"],
            &["html_url", "clone_url", "ssh_url", "git_url", "url"],
        ),
    };
    let mut urls = Vec::new();
    let mut default_branch = String::new();
    for holder in holders.iter().filter_map(|h| payload.get(h)) {
        urls.extend(keys.iter().filter_map(|k| text(holder, k)));
        if default_branch.is_empty() {
            default_branch = text(holder, "default_branch").unwrap_or_default();
        }
    }
    urls.retain(|u| !u.is_empty());
    if urls.is_empty() {
        return Err(malformed(format!(
            "no repository URL (looked for {} in {})",
            keys.join(", "),
            holders.join(" and ")
        )));
    }
    Ok(Delivery::Push(Push {
        provider,
        urls,
        git_ref,
        default_branch,
    }))
}

/// Whether an app on `repo_url` at `target_revision` follows what was pushed.
/// HEAD (or nothing) follows the default branch the payload names; a commit
/// SHA follows nothing.
pub fn follows(repo_url: &str, target_revision: &str, push: &Push) -> bool {
    let key = normalize_url(repo_url).to_ascii_lowercase();
    if !push
        .urls
        .iter()
        .any(|u| normalize_url(u).to_ascii_lowercase() == key)
    {
        return false;
    }
    let pushed = push
        .git_ref
        .strip_prefix("refs/heads/")
        .map(|b| (true, b))
        .or_else(|| push.git_ref.strip_prefix("refs/tags/").map(|t| (false, t)));
    let target = target_revision.trim();
    match (target, pushed) {
        ("" | "HEAD", Some((true, branch))) => branch == push.default_branch,
        ("" | "HEAD", _) => false,
        (t, Some((_, name))) => t == name || t == push.git_ref,
        (t, None) => t == push.git_ref,
    }
}

/// What the webhook handler needs.
#[derive(Clone)]
pub struct Webhooks {
    pub secret: super::SecretLookup,
    pub allow_unsigned: bool,
    pub max_body: usize,
    pub queue: mpsc::Sender<Push>,
    pub metrics: Arc<Metrics>,
}

/// How many times the size limit is read (and dropped) of a body too large.
const DRAINED: usize = 8;

/// How long a client may take to send its body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// `POST /api/webhook`.
pub async fn receive(State(hooks): State<Webhooks>, headers: HeaderMap, body: Body) -> Response {
    let provider = detect(&headers);
    let label = provider.as_ref().map_or("unknown", |(p, _)| p.as_str());
    let (status, outcome, text) = match handle(&hooks, provider, &headers, body).await {
        Ok(Delivery::Push(_)) => (StatusCode::OK, "queued", "queued".to_string()),
        Ok(Delivery::Ping) => (StatusCode::OK, "ping", "pong".to_string()),
        Ok(Delivery::Ignored(event)) => (
            StatusCode::OK,
            "ignored",
            format!("event {event:?} is not a push: nothing to do"),
        ),
        Err(refused) => {
            tracing::debug!(provider = label, %refused, "webhook refused");
            (refused.status(), refused.outcome(), refused.to_string())
        }
    };
    hooks.metrics.count_webhook(label, outcome);
    (status, text + "\n").into_response()
}

/// Reads the body up to `max` bytes. A larger one is read on (and dropped)
/// up to a few times the limit, so the sender gets its 413 instead of a
/// connection closed under it.
async fn read_body(body: Body, max: usize) -> Result<Vec<u8>, Refused> {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return Err(Refused::CutOff);
        };
        seen = seen.saturating_add(chunk.len());
        if seen > max.saturating_mul(DRAINED) {
            break;
        }
        if seen <= max {
            out.extend_from_slice(&chunk);
        }
    }
    if seen > max {
        return Err(Refused::TooLarge(max));
    }
    Ok(out)
}

async fn handle(
    hooks: &Webhooks,
    provider: Option<(Provider, String)>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Delivery, Refused> {
    let body = tokio::time::timeout(BODY_TIMEOUT, read_body(body, hooks.max_body))
        .await
        .map_err(|_| Refused::Slow)??;
    let (provider, event) = provider.ok_or(Refused::UnknownProvider)?;
    let secret = (hooks.secret)(provider.secret_key());
    verify(
        provider,
        headers,
        &body,
        secret.as_deref(),
        hooks.allow_unsigned,
    )?;
    let delivery = parse(provider, &event, &body)?;
    if let Delivery::Push(push) = &delivery {
        hooks
            .queue
            .try_send(push.clone())
            .map_err(|_| Refused::Overloaded)?;
    }
    Ok(delivery)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(urls: &[&str], git_ref: &str) -> Push {
        Push {
            provider: Provider::Gitea,
            urls: urls.iter().map(|u| u.to_string()).collect(),
            git_ref: git_ref.into(),
            default_branch: "main".into(),
        }
    }

    #[test]
    fn repository_urls_match_in_every_spelling() {
        let p = push(
            &[
                "https://Git.Example.com/team/config",
                "git@git.example.com:team/config.git",
            ],
            "refs/heads/main",
        );
        for url in [
            "https://git.example.com/team/config.git",
            "https://user@git.example.com/team/config",
            "ssh://git@git.example.com/team/config",
            "git@GIT.example.com:team/config",
            "https://git.example.com/Team/Config/",
        ] {
            assert!(follows(url, "main", &p), "{url}");
        }
        assert!(!follows("https://git.example.com/team/other", "main", &p));
        assert!(!follows(
            "https://other.example.com/team/config",
            "main",
            &p
        ));
    }

    #[test]
    fn refs_match_branches_tags_and_the_default_branch() {
        let url = "https://git.example.com/team/config";
        let main = push(&[url], "refs/heads/main");
        for target in ["main", "refs/heads/main", "HEAD", ""] {
            assert!(follows(url, target, &main), "{target:?}");
        }
        assert!(!follows(url, "dev", &main));
        let dev = push(&[url], "refs/heads/dev");
        assert!(follows(url, "dev", &dev));
        assert!(!follows(url, "HEAD", &dev), "HEAD is the default branch");
        let tag = push(&[url], "refs/tags/v1.2.0");
        assert!(follows(url, "v1.2.0", &tag));
        assert!(!follows(url, "HEAD", &tag));
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert!(!follows(url, sha, &main), "a pinned commit follows nothing");
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn gitea_is_told_apart_from_the_github_and_gogs_headers_it_also_sends() {
        let h = headers(&[
            ("X-GitHub-Event", "push"),
            ("X-Gogs-Event", "push"),
            ("X-Gitea-Event", "push"),
        ]);
        assert_eq!(detect(&h), Some((Provider::Gitea, "push".into())));
        let forgejo = headers(&[("X-Forgejo-Event", "push")]);
        assert_eq!(detect(&forgejo).unwrap().0, Provider::Gitea);
        assert_eq!(detect(&headers(&[("X-Other", "x")])), None);
    }

    #[test]
    fn signatures_per_provider() {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let good = sign("s3cret", body);
        let cases = [
            (Provider::Gitea, "X-Gitea-Signature", good.clone()),
            (Provider::Gogs, "X-Gogs-Signature", good.clone()),
            (
                Provider::GitHub,
                "X-Hub-Signature-256",
                format!("sha256={good}"),
            ),
            (Provider::GitLab, "X-Gitlab-Token", "s3cret".into()),
        ];
        for (provider, name, value) in cases {
            let signed = headers(&[(name, &value)]);
            assert_eq!(
                verify(provider, &signed, body, Some("s3cret"), false),
                Ok(())
            );
            assert_eq!(
                verify(provider, &signed, b"tampered", Some("s3cret"), false).is_err(),
                provider != Provider::GitLab,
                "{provider:?}: a token does not sign the body"
            );
            assert_eq!(
                verify(provider, &signed, body, Some("other"), false),
                Err(Refused::BadSignature(provider))
            );
            assert_eq!(
                verify(provider, &HeaderMap::new(), body, Some("s3cret"), true),
                Err(Refused::BadSignature(provider)),
                "a configured secret is required even when unsigned ones are allowed"
            );
            assert_eq!(
                verify(provider, &HeaderMap::new(), body, None, false),
                Err(Refused::NotConfigured(provider))
            );
            assert_eq!(
                verify(provider, &HeaderMap::new(), body, None, true),
                Ok(())
            );
        }
        let odd = headers(&[("X-Gitea-Signature", "abc")]);
        assert!(verify(Provider::Gitea, &odd, body, Some("s3cret"), false).is_err());
    }

    #[test]
    fn events_that_are_not_pushes_are_answered_and_ignored() {
        assert_eq!(parse(Provider::GitHub, "ping", b"{}"), Ok(Delivery::Ping));
        assert_eq!(
            parse(Provider::GitHub, "issues", b"not json"),
            Ok(Delivery::Ignored("issues".into()))
        );
        assert!(matches!(
            parse(Provider::GitLab, "Tag Push Hook", b"{}"),
            Err(Refused::Malformed(_, m)) if m == "no ref"
        ));
        assert!(matches!(
            parse(Provider::Gitea, "push", b"{\"ref\": \"refs/heads/main\"}"),
            Err(Refused::Malformed(_, m)) if m.starts_with("no repository URL")
        ));
        assert!(matches!(
            parse(Provider::Gogs, "push", b"{"),
            Err(Refused::Malformed(_, m)) if m.starts_with("invalid JSON")
        ));
    }
}
