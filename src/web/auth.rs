//! Who is asking, and may they: the cluster is the user database.
//!
//! A person presents a Kubernetes bearer token (or the admin token kept in a
//! Secret, for clusters without that wiring). skiff checks it with a
//! TokenReview and then asks a SubjectAccessReview for each thing the person
//! wants, so the cluster's RBAC is the UI's RBAC. A browser keeps a session
//! cookie (HttpOnly, SameSite=Strict) instead of the token; every mutating
//! request of a session carries its CSRF token. A request with an
//! `Authorization: Bearer` header is checked on its own and needs no CSRF
//! token: browsers never attach that header for another site.

use crate::web::SecretLookup;
use axum::http::{header, HeaderMap};
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};
use kube::Client;
use sha2::Digest;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const SESSION_COOKIE: &str = "skiff_session";
/// The header an API client sends a session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The key of the admin Secret that holds the admin token.
pub const ADMIN_TOKEN_KEY: &str = "token";
/// A session's token is reviewed again this often, so a revoked token ends
/// its sessions within minutes.
const REVIEW_AGAIN: Duration = Duration::from_secs(300);
/// How long a bearer token's review, and a read permission, are reused.
const REUSE: Duration = Duration::from_secs(30);
/// Sessions kept at most; the oldest go first beyond this.
const MAX_SESSIONS: usize = 10_000;

/// A user as the cluster knows them (a TokenReview's answer).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub username: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

/// Who a request acts for.
#[derive(Debug, Clone, PartialEq)]
pub enum Who {
    Anonymous,
    /// Logged in with the admin token: may do everything.
    Admin,
    User(User),
}

impl Who {
    /// Who, as a refusal names them.
    pub fn describe(&self) -> String {
        match self {
            Who::User(u) => format!("user {:?}", u.username),
            Who::Admin => "admin".into(),
            Who::Anonymous => "nobody logged in".into(),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Who::Anonymous => "",
            Who::Admin => "admin",
            Who::User(u) => &u.username,
        }
    }
}

/// How a request proved who it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Via {
    Nothing,
    Bearer,
    /// A session cookie; its CSRF token is what mutating requests must repeat.
    Session {
        csrf: String,
    },
}

#[derive(Debug, Clone)]
pub struct Caller {
    pub who: Who,
    pub via: Via,
}

impl Caller {
    /// The session's CSRF token, for the forms of a page (empty without a session).
    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf } => csrf,
            _ => "",
        }
    }
}

/// Why a request is refused: 401 (`Unauthenticated`) or 403.
#[derive(Debug, Clone, PartialEq)]
pub enum Denied {
    /// No credentials where they are needed.
    LoginRequired,
    /// The cluster did not accept the token.
    TokenRejected(String),
    SessionExpired,
    /// A mutating request of a session without its CSRF token.
    Csrf,
    /// RBAC said no.
    Forbidden(String),
    /// The cluster could not be asked.
    Unavailable(String),
}

impl Denied {
    pub fn status(&self) -> u16 {
        match self {
            Denied::LoginRequired | Denied::TokenRejected(_) | Denied::SessionExpired => 401,
            Denied::Csrf | Denied::Forbidden(_) => 403,
            Denied::Unavailable(_) => 503,
        }
    }
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Denied::LoginRequired => write!(f, "log in first: present a Kubernetes bearer token"),
            Denied::TokenRejected(why) => write!(f, "the cluster did not accept the token: {why}"),
            Denied::SessionExpired => write!(f, "the session has expired: log in again"),
            Denied::Csrf => write!(
                f,
                "missing or wrong CSRF token (send the session's token in {CSRF_HEADER} or the form field csrf)"
            ),
            Denied::Forbidden(why) => write!(f, "{why}"),
            Denied::Unavailable(why) => write!(f, "cannot check access now: {why}"),
        }
    }
}

struct Session {
    who: Who,
    csrf: String,
    expires: Instant,
    /// The token the session was opened with: a user's is reviewed again
    /// every REVIEW_AGAIN, the admin's compared with the Secret on every
    /// request (a rotated admin token ends its sessions). It never leaves memory.
    token: String,
    reviewed: Instant,
}

/// How access is decided.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Reading (pages and GET requests) needs no login.
    pub anonymous_read: bool,
    pub session_duration: Duration,
}

pub struct Auth {
    client: Client,
    admin_token: SecretLookup,
    settings: Settings,
    sessions: Mutex<HashMap<String, Session>>,
    /// Bearer token reviews, by the token's SHA-256.
    reviews: Reused<[u8; 32], Result<User, String>>,
    /// Read permissions: (user, namespace, name) → allowed.
    reads: Reused<(String, String, String), bool>,
}

/// Answers kept for a short while (REUSE), so a page of many requests asks
/// the cluster once.
struct Reused<K, V>(Mutex<HashMap<K, (V, Instant)>>);

impl<K: std::hash::Hash + Eq, V: Clone> Reused<K, V> {
    fn get(&self, key: &K) -> Option<V> {
        let answers = self.0.lock().expect("answers");
        let (value, at) = answers.get(key)?;
        (at.elapsed() < REUSE).then(|| value.clone())
    }

    fn put(&self, key: K, value: V) {
        let mut answers = self.0.lock().expect("answers");
        answers.retain(|_, (_, at)| at.elapsed() < REUSE);
        answers.insert(key, (value, Instant::now()));
    }
}

fn random_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The value of a cookie in a request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl Auth {
    pub fn new(client: Client, admin_token: SecretLookup, settings: Settings) -> Auth {
        Auth {
            client,
            admin_token,
            settings,
            sessions: Mutex::default(),
            reviews: Reused(Mutex::default()),
            reads: Reused(Mutex::default()),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn is_admin_token(&self, token: &str) -> bool {
        (self.admin_token)(ADMIN_TOKEN_KEY)
            .is_some_and(|admin| !admin.is_empty() && same(&admin, token))
    }

    /// Who `token` belongs to: the admin, or the user a TokenReview names.
    async fn review(&self, token: &str) -> Result<Who, Denied> {
        if self.is_admin_token(token) {
            return Ok(Who::Admin);
        }
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: token.to_string(),
                audiences: None,
            },
            ..Default::default()
        };
        let answer = Api::<TokenReview>::all(self.client.clone())
            .create(&PostParams::default(), &review)
            .await
            .map_err(|e| Denied::Unavailable(format!("TokenReview: {e}")))?;
        let status = answer.status.unwrap_or_default();
        if status.authenticated != Some(true) {
            let why = status
                .error
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| "not authenticated".into());
            return Err(Denied::TokenRejected(why));
        }
        let info = status.user.unwrap_or_default();
        Ok(Who::User(User {
            username: info.username.unwrap_or_default(),
            uid: info.uid.unwrap_or_default(),
            groups: info.groups.unwrap_or_default(),
            extra: info.extra.unwrap_or_default().into_iter().collect(),
        }))
    }

    /// A bearer token's user, its review reused for a short while.
    async fn bearer_user(&self, token: &str) -> Result<Who, Denied> {
        if self.is_admin_token(token) {
            return Ok(Who::Admin);
        }
        let key: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        if let Some(answer) = self.reviews.get(&key) {
            return answer.map(Who::User).map_err(Denied::TokenRejected);
        }
        let who = self.review(token).await;
        let kept = match &who {
            Ok(Who::User(u)) => Ok(u.clone()),
            Err(Denied::TokenRejected(why)) => Err(why.clone()),
            _ => return who,
        };
        self.reviews.put(key, kept);
        who
    }

    /// Checks a token and opens a session for it: the cookie value, the
    /// session's CSRF token and who logged in.
    pub async fn log_in(&self, token: &str) -> Result<(String, String, Who), Denied> {
        let token = token.trim();
        if token.is_empty() {
            return Err(Denied::LoginRequired);
        }
        let who = self.review(token).await?;
        let (id, csrf) = (random_token(), random_token());
        let now = Instant::now();
        let session = Session {
            who: who.clone(),
            csrf: csrf.clone(),
            expires: now + self.settings.session_duration,
            token: token.to_string(),
            reviewed: now,
        };
        let mut sessions = self.sessions.lock().expect("sessions");
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(id.clone(), session);
        Ok((id, csrf, who))
    }

    pub fn log_out(&self, headers: &HeaderMap) {
        if let Some(id) = cookie(headers, SESSION_COOKIE) {
            self.sessions.lock().expect("sessions").remove(id);
        }
    }

    /// The `Set-Cookie` value of a new session (`secure` behind https).
    pub fn session_cookie(&self, id: &str, secure: bool) -> String {
        format!(
            "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
            self.settings.session_duration.as_secs(),
            if secure { "; Secure" } else { "" }
        )
    }

    /// The `Set-Cookie` value that ends a session in the browser.
    pub fn cleared_cookie() -> String {
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
    }

    /// Who sent the request, from its bearer token or session cookie.
    /// Without either it is `Anonymous`; bad credentials are an error, so
    /// nobody is silently treated as anonymous.
    pub async fn caller(&self, headers: &HeaderMap) -> Result<Caller, Denied> {
        if let Some(token) = bearer(headers) {
            let who = self.bearer_user(token).await?;
            return Ok(Caller {
                who,
                via: Via::Bearer,
            });
        }
        let Some(id) = cookie(headers, SESSION_COOKIE) else {
            return Ok(Caller {
                who: Who::Anonymous,
                via: Via::Nothing,
            });
        };
        let (who, csrf, recheck) = {
            let mut sessions = self.sessions.lock().expect("sessions");
            let Some(s) = sessions.get(id) else {
                return Err(Denied::SessionExpired);
            };
            if s.expires <= Instant::now() {
                sessions.remove(id);
                return Err(Denied::SessionExpired);
            }
            if s.who == Who::Admin && !self.is_admin_token(&s.token) {
                sessions.remove(id);
                return Err(Denied::SessionExpired);
            }
            let recheck = (matches!(s.who, Who::User(_)) && s.reviewed.elapsed() >= REVIEW_AGAIN)
                .then(|| s.token.clone());
            (s.who.clone(), s.csrf.clone(), recheck)
        };
        if let Some(token) = recheck {
            match self.review(&token).await {
                Ok(_) => {
                    if let Some(s) = self.sessions.lock().expect("sessions").get_mut(id) {
                        s.reviewed = Instant::now();
                    }
                }
                Err(Denied::Unavailable(e)) => return Err(Denied::Unavailable(e)),
                Err(_) => {
                    self.sessions.lock().expect("sessions").remove(id);
                    return Err(Denied::SessionExpired);
                }
            }
        }
        Ok(Caller {
            who,
            via: Via::Session { csrf },
        })
    }

    /// A caller that may read: anyone when reading is open, else a logged-in one.
    pub async fn reader(&self, headers: &HeaderMap) -> Result<Caller, Denied> {
        match self.caller(headers).await {
            Ok(c) if c.who == Who::Anonymous && !self.settings.anonymous_read => {
                Err(Denied::LoginRequired)
            }
            // An expired session still reads what anybody may.
            Err(Denied::SessionExpired) if self.settings.anonymous_read => Ok(Caller {
                who: Who::Anonymous,
                via: Via::Nothing,
            }),
            other => other,
        }
    }

    /// A caller that may change things: logged in, and with the session's
    /// CSRF token when it came by cookie (`sent`: the header or form field).
    pub async fn actor(&self, headers: &HeaderMap, sent: Option<&str>) -> Result<Caller, Denied> {
        let caller = self.caller(headers).await?;
        match &caller.via {
            Via::Nothing => Err(Denied::LoginRequired),
            Via::Bearer => Ok(caller),
            Via::Session { csrf } => {
                let sent = sent.or_else(|| headers.get(CSRF_HEADER)?.to_str().ok());
                match sent {
                    Some(s) if same(s, csrf) => Ok(caller),
                    _ => Err(Denied::Csrf),
                }
            }
        }
    }

    /// Whether `who` may `verb` the Application `namespace/name` (an empty
    /// name: any Application in the namespace): a SubjectAccessReview.
    async fn allowed(
        &self,
        who: &Who,
        verb: &str,
        namespace: &str,
        name: &str,
    ) -> Result<bool, Denied> {
        let user = match who {
            Who::Admin => return Ok(true),
            Who::Anonymous => return Ok(false),
            Who::User(u) => u,
        };
        let review = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(user.username.clone()),
                uid: Some(user.uid.clone()).filter(|u| !u.is_empty()),
                groups: Some(user.groups.clone()),
                extra: Some(user.extra.clone().into_iter().collect())
                    .filter(|e: &BTreeMap<_, _>| !e.is_empty()),
                resource_attributes: Some(ResourceAttributes {
                    group: Some("skiff.dev".into()),
                    resource: Some("applications".into()),
                    verb: Some(verb.into()),
                    namespace: Some(namespace.into()),
                    name: Some(name.into()).filter(|n: &String| !n.is_empty()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let answer = Api::<SubjectAccessReview>::all(self.client.clone())
            .create(&PostParams::default(), &review)
            .await
            .map_err(|e| Denied::Unavailable(format!("SubjectAccessReview: {e}")))?;
        Ok(answer.status.is_some_and(|s| s.allowed))
    }

    /// May the caller change the Application? (`patch` on it, as `kubectl
    /// annotate` would need.) Asked every time: a revoked role stops at once.
    pub async fn may_change(
        &self,
        caller: &Caller,
        namespace: &str,
        name: &str,
    ) -> Result<(), Denied> {
        if self.allowed(&caller.who, "patch", namespace, name).await? {
            return Ok(());
        }
        Err(Denied::Forbidden(format!(
            "{} may not patch applications.skiff.dev {namespace}/{name} (RBAC: the cluster's SubjectAccessReview said no)",
            caller.who.describe()
        )))
    }

    /// May the caller read Applications in `namespace` (`name` empty: the
    /// list)? Anyone when reading is open; else RBAC's `get` (or `list` for
    /// the whole namespace), the answer reused for a short while.
    pub async fn may_read(
        &self,
        caller: &Caller,
        namespace: &str,
        name: &str,
    ) -> Result<bool, Denied> {
        if self.settings.anonymous_read || caller.who == Who::Admin {
            return Ok(true);
        }
        let Who::User(user) = &caller.who else {
            return Ok(false);
        };
        let key = (
            user.username.clone(),
            namespace.to_string(),
            name.to_string(),
        );
        if let Some(ok) = self.reads.get(&key) {
            return Ok(ok);
        }
        let verb = if name.is_empty() { "list" } else { "get" };
        let mut ok = self.allowed(&caller.who, verb, namespace, name).await?;
        if !ok && !name.is_empty() {
            // Who may list a namespace's apps may look at each.
            ok = self.allowed(&caller.who, "list", namespace, "").await?;
        }
        self.reads.put(key, ok);
        Ok(ok)
    }
}

/// Whether the request reached skiff over https (directly or through a proxy
/// that says so): then the session cookie is marked Secure.
pub fn over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookies_and_bearer_tokens_are_read_from_their_headers() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; skiff_session=abc; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  tok "),
        );
        assert_eq!(bearer(&h), Some("tok"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dXNlcg=="),
        );
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn tokens_are_random_and_compared_whole() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "256 bits, base64url");
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &a[..42]));
        assert!(!same(&a, &b));
    }

    #[test]
    fn refusals_map_to_401_and_403() {
        assert_eq!(Denied::LoginRequired.status(), 401);
        assert_eq!(Denied::SessionExpired.status(), 401);
        assert_eq!(Denied::TokenRejected("x".into()).status(), 401);
        assert_eq!(Denied::Csrf.status(), 403);
        assert_eq!(Denied::Forbidden("x".into()).status(), 403);
        assert!(Denied::Csrf.to_string().contains(CSRF_HEADER));
    }
}
