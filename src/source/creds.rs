//! Repository credentials from Secrets, read the way Argo CD reads them, so an
//! Argo CD user's Secrets work unchanged: `repository` Secrets match one URL,
//! `repo-creds` Secrets are templates matched by the longest URL prefix.

use super::git::{normalize_url, Credentials, SecretString};
use k8s_openapi::api::core::v1::Secret;

/// The labels that mark a credentials Secret (skiff's and Argo CD's).
pub const SECRET_TYPE_LABELS: &[&str] =
    &["skiff.dev/secret-type", "argocd.argoproj.io/secret-type"];

fn field(secret: &Secret, key: &str) -> Option<String> {
    if let Some(v) = secret.data.as_ref().and_then(|d| d.get(key)) {
        return Some(String::from_utf8_lossy(&v.0).to_string());
    }
    secret
        .string_data
        .as_ref()
        .and_then(|d| d.get(key))
        .cloned()
}

fn secret_type(secret: &Secret) -> Option<&str> {
    let labels = secret.metadata.labels.as_ref()?;
    SECRET_TYPE_LABELS
        .iter()
        .find_map(|l| labels.get(*l))
        .map(String::as_str)
}

fn credentials(secret: &Secret) -> Credentials {
    Credentials {
        username: field(secret, "username").filter(|s| !s.is_empty()),
        password: field(secret, "password")
            .filter(|s| !s.is_empty())
            .map(SecretString),
        ssh_private_key: field(secret, "sshPrivateKey")
            .filter(|s| !s.is_empty())
            .map(SecretString),
        insecure: field(secret, "insecure").is_some_and(|v| v.trim() == "true"),
    }
}

/// Whether `prefix` (normalised) is `url` or a parent path of it.
fn path_prefix(prefix: &str, url: &str) -> bool {
    url == prefix || url.starts_with(&format!("{}/", prefix.trim_end_matches('/')))
}

/// The credentials for `url` among `secrets`: an exact `repository` match
/// first, else the `repo-creds` template with the longest matching prefix.
pub fn credentials_for(url: &str, secrets: &[Secret]) -> Option<Credentials> {
    let want = normalize_url(url);
    let with_url = |kind: &'static str| {
        secrets
            .iter()
            .filter(move |s| secret_type(s) == Some(kind))
            .filter_map(|s| field(s, "url").map(|u| (normalize_url(&u), s)))
    };
    if let Some((_, s)) = with_url("repository").find(|(u, _)| *u == want) {
        return Some(credentials(s));
    }
    with_url("repo-creds")
        .filter(|(u, _)| path_prefix(u, &want))
        .max_by_key(|(u, _)| u.len())
        .map(|(_, s)| credentials(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret(label: &str, kind: &str, data: serde_json::Value) -> Secret {
        serde_json::from_value(
            json!({"metadata": {"name": "s", "labels": {label: kind}}, "stringData": data}),
        )
        .unwrap()
    }

    #[test]
    fn exact_repository_secrets_win_then_the_longest_prefix() {
        let secrets = vec![
            secret(
                "argocd.argoproj.io/secret-type",
                "repo-creds",
                json!({"url": "https://git.example.com", "username": "org", "password": "p1"}),
            ),
            secret(
                "skiff.dev/secret-type",
                "repo-creds",
                json!({"url": "https://git.example.com/team", "username": "team", "password": "p2"}),
            ),
            secret(
                "skiff.dev/secret-type",
                "repository",
                json!({"url": "https://git.example.com/team/app.git", "username": "app", "password": "p3", "insecure": "true"}),
            ),
            secret(
                "other.io/secret-type",
                "repository",
                json!({"url": "https://git.example.com/team/x", "username": "nope"}),
            ),
        ];
        let c = credentials_for("https://git.example.com/team/app", &secrets).unwrap();
        assert_eq!((c.username.as_deref(), c.insecure), (Some("app"), true));
        let c = credentials_for("https://git.example.com/team/x.git", &secrets).unwrap();
        assert_eq!(
            c.username.as_deref(),
            Some("team"),
            "longest prefix; unlabelled secrets are ignored"
        );
        let c = credentials_for("https://git.example.com/other/y", &secrets).unwrap();
        assert_eq!(c.username.as_deref(), Some("org"));
        assert!(
            credentials_for("https://git.example.community/x", &secrets).is_none(),
            "prefixes stop at path boundaries"
        );
        assert!(credentials_for("https://elsewhere.example.com/x", &secrets).is_none());
    }
}
