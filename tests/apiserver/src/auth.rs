//! Who is asking and may they: bearer tokens (ServiceAccount tokens from the
//! TokenRequest API and tokens a test adds), RBAC evaluated from the stored
//! Roles and bindings, and the review APIs (TokenReview, SubjectAccessReview,
//! LocalSubjectAccessReview, SelfSubjectAccessReview, SelfSubjectReview).
//!
//! A request without a bearer token, or with the kubeconfig's token, acts as
//! the cluster admin: the server is for tests, not a security boundary.

use crate::errors::{ApiError, ApiResult};
use crate::managed::{self, Writer};
use crate::ops::{self, now};
use crate::schema::Schema;
use crate::store::State;
use serde_json::{json, Map, Value};

pub const DEFAULT_AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";
pub const ADMIN_TOKEN: &str = "skiff-test-token";

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub username: String,
    pub uid: String,
    pub groups: Vec<String>,
}

impl User {
    pub fn admin() -> User {
        User {
            username: "admin".into(),
            uid: "admin-uid".into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
        }
    }

    fn is_master(&self) -> bool {
        self.groups.iter().any(|g| g == "system:masters")
    }
}

#[derive(Debug, Clone)]
pub struct Token {
    pub user: User,
    pub audiences: Vec<String>,
    pub jti: Option<String>,
}

/// The user a request's Authorization header names, or `None` for a bad token.
pub fn authenticate(state: &State, authorization: Option<&str>) -> Option<User> {
    let Some(header) = authorization else {
        return Some(User::admin());
    };
    let token = header.strip_prefix("Bearer ").unwrap_or(header).trim();
    if token == ADMIN_TOKEN || token.is_empty() {
        return Some(User::admin());
    }
    state.tokens.get(token).map(|t| t.user.clone())
}

/// What a request wants to do, in RBAC's terms.
pub struct Attributes<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub path: Option<&'a str>,
}

fn subject_matches(subject: &Value, user: &User) -> bool {
    let name = subject["name"].as_str().unwrap_or_default();
    match subject["kind"].as_str() {
        Some("User") => user.username == name,
        Some("Group") => user.groups.iter().any(|g| g == name),
        Some("ServiceAccount") => {
            let ns = subject["namespace"].as_str().unwrap_or_default();
            user.username == format!("system:serviceaccount:{ns}:{name}")
        }
        _ => false,
    }
}

fn describe_subject(subject: &Value) -> String {
    let name = subject["name"].as_str().unwrap_or_default();
    match subject["kind"].as_str() {
        Some("ServiceAccount") => format!(
            "ServiceAccount \"{name}/{}\"",
            subject["namespace"].as_str().unwrap_or_default()
        ),
        Some(kind) => format!("{kind} {name:?}"),
        None => format!("{name:?}"),
    }
}

fn has(list: &Value, want: &str) -> bool {
    list.as_array()
        .is_some_and(|a| a.iter().any(|v| v == "*" || v == want))
}

fn rule_allows(rule: &Value, a: &Attributes) -> bool {
    if !has(&rule["verbs"], a.verb) {
        return false;
    }
    if let Some(path) = a.path {
        return rule["nonResourceURLs"].as_array().is_some_and(|urls| {
            urls.iter().filter_map(Value::as_str).any(|u| {
                u == "*"
                    || u == path
                    || u.strip_suffix('*')
                        .is_some_and(|prefix| path.starts_with(prefix))
            })
        });
    }
    let resource = if a.subresource.is_empty() {
        a.resource.to_string()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let names_ok = match rule["resourceNames"].as_array() {
        None => true,
        Some(n) if n.is_empty() => true,
        Some(n) => n.iter().any(|v| v == a.name),
    };
    has(&rule["apiGroups"], a.group) && has(&rule["resources"], &resource) && names_ok
}

fn role_rules(state: &State, kind: &str, namespace: &str, name: &str) -> Vec<Value> {
    let (key, key_name) = if kind == "ClusterRole" {
        ("rbac.authorization.k8s.io/clusterroles", name.to_string())
    } else {
        (
            "rbac.authorization.k8s.io/roles",
            format!("{namespace}/{name}"),
        )
    };
    state
        .get(key, &key_name)
        .and_then(|r| r["rules"].as_array().cloned())
        .unwrap_or_default()
}

/// RBAC: `Some(reason)` when allowed (empty for system:masters), `None` when not.
pub fn authorize(state: &State, user: &User, a: &Attributes) -> Option<String> {
    if user.is_master() {
        return Some(String::new());
    }
    for (_, crb) in state.range("rbac.authorization.k8s.io/clusterrolebindings", None, None) {
        let role = crb["roleRef"]["name"].as_str().unwrap_or_default();
        for subject in crb["subjects"].as_array().into_iter().flatten() {
            if subject_matches(subject, user)
                && role_rules(state, "ClusterRole", "", role)
                    .iter()
                    .any(|r| rule_allows(r, a))
            {
                return Some(format!(
                    "RBAC: allowed by ClusterRoleBinding {:?} of ClusterRole {role:?} to {}",
                    crb["metadata"]["name"].as_str().unwrap_or_default(),
                    describe_subject(subject)
                ));
            }
        }
    }
    if a.namespace.is_empty() {
        return None;
    }
    for (_, rb) in state.range(
        "rbac.authorization.k8s.io/rolebindings",
        Some(a.namespace),
        None,
    ) {
        let kind = rb["roleRef"]["kind"].as_str().unwrap_or("Role");
        let role = rb["roleRef"]["name"].as_str().unwrap_or_default();
        for subject in rb["subjects"].as_array().into_iter().flatten() {
            if subject_matches(subject, user)
                && role_rules(state, kind, a.namespace, role)
                    .iter()
                    .any(|r| rule_allows(r, a))
            {
                return Some(format!(
                    "RBAC: allowed by RoleBinding \"{}/{}\" of {kind} {role:?} to {}",
                    rb["metadata"]["name"].as_str().unwrap_or_default(),
                    a.namespace,
                    describe_subject(subject)
                ));
            }
        }
    }
    None
}

/// The 403 a denied request gets.
pub fn forbidden(user: &User, a: &Attributes) -> ApiError {
    let resource = if a.subresource.is_empty() {
        a.resource.to_string()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let what = if a.group.is_empty() {
        resource.clone()
    } else {
        format!("{resource}.{}", a.group)
    };
    let scope = if a.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace {:?}", a.namespace)
    };
    let subject = if a.name.is_empty() {
        what.clone()
    } else {
        format!("{what} {:?}", a.name)
    };
    let mut details = Map::new();
    if !a.name.is_empty() {
        details.insert("name".into(), json!(a.name));
    }
    if !a.group.is_empty() {
        details.insert("group".into(), json!(a.group));
    }
    details.insert("kind".into(), json!(a.resource));
    ApiError::status(
        403,
        "Forbidden",
        format!(
            "{subject} is forbidden: User {:?} cannot {} resource {resource:?} in API group {:?} {scope}",
            user.username, a.verb, a.group
        ),
        Some(Value::Object(details)),
    )
}

fn jwt_like() -> String {
    use base64::Engine;
    let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.{}",
        e("{\"alg\":\"none\",\"kid\":\"skiff-test\"}"),
        e(&format!("{{\"jti\":\"{}\"}}", uuid::Uuid::new_v4())),
        e(&uuid::Uuid::new_v4().to_string())
    )
}

/// POST serviceaccounts/NAME/token: issues a token for the ServiceAccount.
pub fn token_request(
    state: &mut State,
    ns: &str,
    name: &str,
    body: &Value,
    manager: &str,
) -> ApiResult<Value> {
    let sa = state
        .get("/serviceaccounts", &format!("{ns}/{name}"))
        .ok_or_else(|| {
            ApiError::not_found(&crate::errors::Subject {
                group: "",
                plural: "serviceaccounts",
                kind: "ServiceAccount",
                name,
            })
        })?;
    let uid = sa["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut spec = body["spec"].as_object().cloned().unwrap_or_default();
    let expiration = spec
        .get("expirationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(3600);
    let t = now();
    let mut obj = json!({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": ns}, "spec": Value::Object(spec.clone())});
    let writer = Writer {
        manager,
        api_version: "authentication.k8s.io/v1",
        subresource: "token",
        now: &t,
    };
    managed::record_update(
        None,
        &mut obj,
        &writer,
        Schema::builtin("authentication.k8s.io/v1", "TokenRequest"),
        true,
    );
    let audiences: Vec<String> = spec
        .get("audiences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .filter(|a: &Vec<String>| !a.is_empty())
        .unwrap_or_else(|| vec![DEFAULT_AUDIENCE.to_string()]);
    spec.insert("audiences".into(), json!(audiences));
    spec.insert("expirationSeconds".into(), json!(expiration));
    spec.entry("boundObjectRef").or_insert(Value::Null);
    let token = jwt_like();
    let expires = (chrono::Utc::now() + chrono::Duration::seconds(expiration))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    state.tokens.insert(
        token.clone(),
        Token {
            user: User {
                username: format!("system:serviceaccount:{ns}:{name}"),
                uid: uid.clone(),
                groups: vec![
                    "system:serviceaccounts".into(),
                    format!("system:serviceaccounts:{ns}"),
                    "system:authenticated".into(),
                ],
            },
            audiences,
            jti: Some(uuid::Uuid::new_v4().to_string()),
        },
    );
    let managed_fields = obj["metadata"]["managedFields"].clone();
    Ok(
        json!({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": ns, "uid": uid, "creationTimestamp": t, "managedFields": managed_fields},
        "spec": Value::Object(spec), "status": {"token": token, "expirationTimestamp": expires}}),
    )
}

/// The review kinds served by POST to their collection.
pub fn is_review(group: &str, plural: &str) -> bool {
    matches!(
        (group, plural),
        ("authentication.k8s.io", "tokenreviews")
            | ("authentication.k8s.io", "selfsubjectreviews")
            | ("authorization.k8s.io", "subjectaccessreviews")
            | ("authorization.k8s.io", "localsubjectaccessreviews")
            | ("authorization.k8s.io", "selfsubjectaccessreviews")
    )
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Answers a review: the echoed spec, managedFields of the writer, and the verdict.
pub fn review(
    state: &State,
    kind: &str,
    api_version: &str,
    ns: Option<&str>,
    body: &Value,
    requester: &User,
    manager: &str,
) -> ApiResult<Value> {
    let spec = body.get("spec").cloned().unwrap_or(json!({}));
    if kind == "SelfSubjectReview" {
        return Ok(
            json!({"kind": kind, "apiVersion": api_version, "metadata": {"creationTimestamp": now()},
            "status": {"userInfo": {"username": requester.username, "uid": requester.uid, "groups": requester.groups}}}),
        );
    }
    let status = match kind {
        "TokenReview" => token_review(state, &spec),
        _ => {
            let resource = spec.get("resourceAttributes").filter(|v| v.is_object());
            let non_resource = spec.get("nonResourceAttributes").filter(|v| v.is_object());
            if resource.is_some() == non_resource.is_some() {
                let why =
                    "exactly one of nonResourceAttributes or resourceAttributes must be specified";
                return Err(ApiError::status(
                    422,
                    "Invalid",
                    format!(".authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Invalid value: null: {why}"),
                    Some(json!({"group": "authorization.k8s.io", "causes": [{"reason": "FieldValueInvalid", "message": format!("Invalid value: null: {why}"), "field": "spec.resourceAttributes"}]})),
                ));
            }
            let user = if kind == "SelfSubjectAccessReview" {
                requester.clone()
            } else {
                User {
                    username: spec["user"].as_str().unwrap_or_default().to_string(),
                    uid: spec["uid"].as_str().unwrap_or_default().to_string(),
                    groups: strings(&spec["groups"]),
                }
            };
            let empty = json!({});
            let r = resource.unwrap_or(&empty);
            let path = non_resource.and_then(|n| n["path"].as_str());
            let verb = resource
                .or(non_resource)
                .and_then(|x| x["verb"].as_str())
                .unwrap_or_default();
            let attrs = Attributes {
                verb,
                group: r["group"].as_str().unwrap_or_default(),
                resource: r["resource"].as_str().unwrap_or_default(),
                subresource: r["subresource"].as_str().unwrap_or_default(),
                namespace: r["namespace"].as_str().unwrap_or_default(),
                name: r["name"].as_str().unwrap_or_default(),
                path,
            };
            match authorize(state, &user, &attrs) {
                Some(reason) if reason.is_empty() => json!({"allowed": true}),
                Some(reason) => json!({"allowed": true, "reason": reason}),
                None => json!({"allowed": false}),
            }
        }
    };
    let mut obj = json!({"kind": kind, "apiVersion": api_version, "metadata": {}, "spec": spec});
    if let Some(ns) = ns {
        obj["metadata"]["namespace"] = json!(ns);
    }
    let t = now();
    let writer = Writer {
        manager,
        api_version,
        subresource: "",
        now: &t,
    };
    managed::record_update(
        None,
        &mut obj,
        &writer,
        Schema::builtin(api_version, kind),
        true,
    );
    obj["status"] = status;
    Ok(obj)
}

fn token_review(state: &State, spec: &Value) -> Value {
    let token = spec["token"].as_str().unwrap_or_default();
    let wanted = strings(&spec["audiences"]);
    let Some(t) = state.tokens.get(token) else {
        return json!({"user": {}, "error": "invalid bearer token"});
    };
    if !wanted.is_empty() && !wanted.iter().any(|w| t.audiences.contains(w)) {
        return json!({"user": {}, "error": format!(
            "[invalid bearer token, token audiences {} is invalid for the target audiences {}]",
            go_strings(&t.audiences), go_strings(&wanted))});
    }
    let mut user = json!({"username": t.user.username, "uid": t.user.uid, "groups": t.user.groups});
    if let Some(jti) = &t.jti {
        user["extra"] =
            json!({"authentication.kubernetes.io/credential-id": [format!("JTI={jti}")]});
    }
    let audiences = if wanted.is_empty() {
        t.audiences.clone()
    } else {
        wanted
    };
    json!({"authenticated": true, "user": user, "audiences": audiences})
}

/// Go's `%q` of a []string: `["a" "b"]`.
fn go_strings(v: &[String]) -> String {
    let quoted: Vec<String> = v.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(" "))
}

/// The RBAC objects every cluster starts with that reviews and tests rely on.
pub fn bootstrap_rbac(state: &mut State) {
    let roles = [
        (
            "cluster-admin",
            json!([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, {"verbs": ["*"], "nonResourceURLs": ["*"]}]),
            "system:masters",
        ),
        (
            "system:discovery",
            json!([{"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"]}]),
            "system:authenticated",
        ),
        (
            "system:basic-user",
            json!([{"verbs": ["create"], "apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]}, {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]}]),
            "system:authenticated",
        ),
        (
            "system:public-info-viewer",
            json!([{"verbs": ["get"], "nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"]}]),
            "system:authenticated",
        ),
    ];
    let opts = ops::WriteOpts::system("kube-apiserver");
    for (name, rules, group) in roles {
        let labels = json!({"kubernetes.io/bootstrapping": "rbac-defaults"});
        let annotations = json!({"rbac.authorization.kubernetes.io/autoupdate": "true"});
        if let Some(rt) = state.find_type("rbac.authorization.k8s.io", "v1", "clusterroles") {
            let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": name, "labels": labels, "annotations": annotations}, "rules": rules});
            let _ = ops::create(state, rt, None, role, &opts);
        }
        if let Some(rt) = state.find_type("rbac.authorization.k8s.io", "v1", "clusterrolebindings")
        {
            let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": name, "labels": labels, "annotations": annotations},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}]});
            let _ = ops::create(state, rt, None, binding, &opts);
        }
    }
}
