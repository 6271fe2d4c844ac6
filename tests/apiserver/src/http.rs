//! The HTTP surface: routes Kubernetes REST paths to the verbs, negotiates
//! Table/PartialObjectMetadata/aggregated-discovery answers, and streams watches.

use crate::auth;
use crate::discovery;
use crate::errors::{ApiError, ErrorBody};
use crate::ops::{self, DeleteOpts, FieldValidation, Filter, ListOpts, Target, WriteOpts};
use crate::resources::ResourceType;
use crate::store::{EventType, WatchEvent};
use crate::table;
use crate::{RequestRecord, Shared};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// The API server's default request body limit.
pub const MAX_BODY: usize = 3 * 1024 * 1024;

type Query = HashMap<String, String>;

fn json_response(code: u16, body: &Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn text_response(code: u16, text: &'static str) -> Response {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn error_response(e: ApiError) -> Response {
    match e.body {
        ErrorBody::Status(v) => json_response(e.code, &v),
        ErrorBody::PlainText(t) => text_response(e.code, t),
    }
}

fn with_warnings(mut r: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let text = format!("299 - {}", serde_json::to_string(w).unwrap_or_default());
        if let Ok(v) = HeaderValue::from_str(&text) {
            r.headers_mut().append(header::WARNING, v);
        }
    }
    r
}

fn parse_query(q: Option<&str>) -> Query {
    form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn truthy(q: &Query, k: &str) -> bool {
    matches!(
        q.get(k).map(String::as_str),
        Some("1") | Some("true") | Some("True")
    )
}

/// The field manager kubectl and client-go derive from the User-Agent.
fn agent_manager(headers: &HeaderMap) -> String {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown");
    let m = ua.split('/').next().unwrap_or(ua);
    if m.is_empty() {
        "unknown".into()
    } else {
        m.chars().take(128).collect()
    }
}

/// One parsed resource path.
struct ResourcePath {
    group: String,
    version: String,
    namespace: Option<String>,
    plural: String,
    name: Option<String>,
    subresource: Option<String>,
}

enum Route {
    Version,
    OpenApi(String),
    Health,
    Api,
    Apis,
    Group(String),
    GroupVersion(String, String),
    Resource(ResourcePath),
    NotFound,
}

fn route(path: &str, is_namespaced: impl Fn(&str, &str, &str) -> bool) -> Route {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let (group, version, rest) = match segs.as_slice() {
        ["version"] => return Route::Version,
        ["openapi", "v3", rest @ ..] => return Route::OpenApi(rest.join("/")),
        ["healthz"] | ["readyz"] | ["livez"] => return Route::Health,
        ["api"] => return Route::Api,
        ["apis"] => return Route::Apis,
        ["apis", g] => return Route::Group(g.to_string()),
        ["api", v] => return Route::GroupVersion(String::new(), v.to_string()),
        ["apis", g, v] => return Route::GroupVersion(g.to_string(), v.to_string()),
        ["api", v, rest @ ..] => (String::new(), v.to_string(), rest),
        ["apis", g, v, rest @ ..] => (g.to_string(), v.to_string(), rest),
        _ => return Route::NotFound,
    };
    let decode = |s: &str| percent_decode(s);
    let namespaced =
        rest.len() >= 3 && rest[0] == "namespaces" && is_namespaced(&group, &version, rest[2]);
    let (namespace, rest) = if namespaced {
        (Some(decode(rest[1])), &rest[2..])
    } else {
        (None, rest)
    };
    if rest.is_empty() || rest.len() > 3 {
        return Route::NotFound;
    }
    Route::Resource(ResourcePath {
        group,
        version,
        namespace,
        plural: rest[0].to_string(),
        name: rest.get(1).map(|s| decode(s)),
        subresource: rest.get(2).map(|s| s.to_string()),
    })
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

fn accepts(headers: &HeaderMap, needle: &str) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains(needle))
}

pub async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query_str = req.uri().query().map(String::from);
    let headers = req.headers().clone();
    let latency = shared.controls.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let plural = resource_of(&path);
    let response = if let Some(code) = shared
        .controls
        .take_fault(method.as_str(), plural.as_deref())
    {
        error_response(ApiError::injected(code))
    } else {
        let too_big = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|n| n > MAX_BODY);
        let body = if too_big {
            Err(())
        } else {
            axum::body::to_bytes(req.into_body(), MAX_BODY)
                .await
                .map_err(|_| ())
        };
        match body {
            Err(()) => error_response(ApiError::status(
                413,
                "RequestEntityTooLarge",
                format!("Request entity too large: limit is {MAX_BODY}"),
                None,
            )),
            Ok(body) => {
                dispatch(
                    &shared,
                    &method,
                    &path,
                    query_str.as_deref(),
                    &headers,
                    body,
                )
                .await
            }
        }
    };
    shared.controls.record(RequestRecord {
        method: method.to_string(),
        path,
        query: query_str.unwrap_or_default(),
        resource: plural,
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(String::from),
        status: response.status().as_u16(),
    });
    response
}

/// The resource plural a path addresses, for fault matching and the request log.
fn resource_of(path: &str) -> Option<String> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest = match segs.first() {
        Some(&"api") => segs.get(2..)?,
        Some(&"apis") => segs.get(3..)?,
        _ => return None,
    };
    if rest.len() >= 3 && rest[0] == "namespaces" {
        return Some(rest[2].to_string());
    }
    rest.first().map(|s| s.to_string())
}

async fn dispatch(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let q = parse_query(query);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let (r, user) = {
        let state = shared.state.lock().expect("state lock");
        let r = route(path, |g, v, p| {
            state.find_type(g, v, p).is_some_and(|t| t.namespaced)
        });
        (r, auth::authenticate(&state, authorization))
    };
    let Some(user) = user else {
        return json_response(
            401,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Unauthorized", "reason": "Unauthorized", "code": 401}),
        );
    };
    let aggregated = accepts(headers, "as=APIGroupDiscoveryList");
    match r {
        Route::Version => json_response(200, &discovery::version()),
        Route::OpenApi(doc) => {
            let state = shared.state.lock().expect("state lock");
            if doc.is_empty() {
                // The real server labels its index text/plain.
                let mut r = json_response(200, &crate::openapi::root(&state));
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                r
            } else {
                match crate::openapi::document(&state, &doc) {
                    Some(d) => json_response(200, &d),
                    None => error_response(ApiError::page_not_found()),
                }
            }
        }
        Route::Health => text_response(200, "ok"),
        Route::Api | Route::Apis if aggregated => {
            if !accepts(headers, "v=v2;")
                && !accepts(headers, "v=v2,")
                && !headers
                    .get(header::ACCEPT)
                    .and_then(|a| a.to_str().ok())
                    .is_some_and(|a| a.contains("v=v2;as") || a.ends_with("v=v2"))
            {
                return json_response(
                    406,
                    &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
                    "reason": "NotAcceptable", "code": 406}),
                );
            }
            let state = shared.state.lock().expect("state lock");
            let doc = discovery::aggregated(&state, matches!(r, Route::Api));
            let mut resp = json_response(200, &doc);
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                ),
            );
            resp
        }
        Route::Api => json_response(200, &discovery::api_versions(&shared.address())),
        Route::Apis => {
            let state = shared.state.lock().expect("state lock");
            json_response(200, &discovery::group_list(&state))
        }
        Route::Group(g) => {
            let state = shared.state.lock().expect("state lock");
            match discovery::group(&state, &g) {
                Some(doc) => json_response(200, &doc),
                None => error_response(ApiError::page_not_found()),
            }
        }
        Route::GroupVersion(g, v) => {
            let state = shared.state.lock().expect("state lock");
            match discovery::resource_list(&state, &g, &v) {
                Some(doc) => json_response(200, &doc),
                None => error_response(ApiError::page_not_found()),
            }
        }
        Route::NotFound => error_response(ApiError::page_not_found()),
        Route::Resource(rp) => match resource(shared, method, rp, &q, headers, body, &user).await {
            Ok(r) => r,
            Err(e) => error_response(e),
        },
    }
}

fn write_opts(q: &Query, headers: &HeaderMap) -> WriteOpts {
    WriteOpts {
        dry_run: q.get("dryRun").is_some_and(|v| v == "All"),
        field_manager: q.get("fieldManager").cloned(),
        agent_manager: agent_manager(headers),
        validation: match q.get("fieldValidation").map(String::as_str) {
            Some("Strict") => FieldValidation::Strict,
            Some("Ignore") => FieldValidation::Ignore,
            _ => FieldValidation::Warn,
        },
        force: truthy(q, "force"),
    }
}

/// The RBAC verb of a request.
fn verb(method: &Method, named: bool, q: &Query) -> &'static str {
    match (method.as_str(), named) {
        ("GET", _) if truthy(q, "watch") => "watch",
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "",
    }
}

#[allow(clippy::too_many_arguments)]
async fn resource(
    shared: &Arc<Shared>,
    method: &Method,
    rp: ResourcePath,
    q: &Query,
    headers: &HeaderMap,
    body: Bytes,
    user: &auth::User,
) -> Result<Response, ApiError> {
    {
        let state = shared.state.lock().expect("state lock");
        let attrs = auth::Attributes {
            verb: verb(method, rp.name.is_some(), q),
            group: &rp.group,
            resource: &rp.plural,
            subresource: rp.subresource.as_deref().unwrap_or_default(),
            namespace: rp.namespace.as_deref().unwrap_or_default(),
            name: rp.name.as_deref().unwrap_or_default(),
            path: None,
        };
        if auth::authorize(&state, user, &attrs).is_none() {
            return Err(auth::forbidden(user, &attrs));
        }
    }
    let rt = {
        let state = shared.state.lock().expect("state lock");
        if !state.group_version_exists(&rp.group, &rp.version) {
            return Err(ApiError::page_not_found());
        }
        state.find_type(&rp.group, &rp.version, &rp.plural)
    };
    let Some(rt) = rt else {
        return Err(ApiError::resource_not_found());
    };
    if rt.namespaced != rp.namespace.is_some() && rp.name.is_some() {
        return Err(ApiError::resource_not_found());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    if content_type.contains("protobuf") || content_type.contains("cbor") {
        // The test server speaks JSON and YAML only; client-go then retries in JSON.
        return Err(ApiError::unsupported_media_type());
    }
    let opts = write_opts(q, headers);
    if *method == Method::POST && rp.name.is_none() && auth::is_review(&rt.group, &rt.plural) {
        let parsed = ops::parse_body(&body, &content_type).map_err(ApiError::bad_request)?;
        let state = shared.state.lock().expect("state lock");
        let out = auth::review(
            &state,
            &rt.kind,
            &rt.api_version(),
            rp.namespace.as_deref(),
            &parsed,
            user,
            opts.manager(),
        )?;
        return Ok(json_response(201, &out));
    }
    if *method == Method::POST
        && rt.plural == "serviceaccounts"
        && rp.subresource.as_deref() == Some("token")
    {
        let parsed = ops::parse_body(&body, &content_type).map_err(ApiError::bad_request)?;
        let mut state = shared.state.lock().expect("state lock");
        let ns = rp.namespace.clone().unwrap_or_default();
        let out = auth::token_request(
            &mut state,
            &ns,
            rp.name.as_deref().unwrap_or_default(),
            &parsed,
            opts.manager(),
        )?;
        return Ok(json_response(201, &out));
    }
    let Some(name) = rp.name.clone() else {
        // Collection verbs.
        return match *method {
            Method::GET if truthy(q, "watch") => Ok(watch(shared, rt, rp.namespace, q).await?),
            Method::GET => {
                let list_opts = ListOpts {
                    label_selector: q.get("labelSelector").cloned(),
                    field_selector: q.get("fieldSelector").cloned(),
                    limit: q.get("limit").and_then(|l| l.parse().ok()),
                    continue_token: q.get("continue").cloned(),
                    resource_version: q.get("resourceVersion").cloned(),
                    resource_version_match: q.get("resourceVersionMatch").cloned(),
                };
                let state = shared.state.lock().expect("state lock");
                let list = ops::list(&state, &rt, rp.namespace.as_deref(), &list_opts)?;
                Ok(json_response(200, &negotiate_list(&rt, list, headers)))
            }
            Method::POST => {
                if !rt.verbs.iter().any(|v| v == "create") {
                    return Err(ApiError::method_not_allowed());
                }
                let parsed = ops::parse_body(&body, &content_type).map_err(|e| {
                    let snippet: String = String::from_utf8_lossy(&body).chars().take(30).collect();
                    ApiError::bad_request(format!(
                        "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {e} ({snippet} ...)",
                        rt.kind
                    ))
                })?;
                let mut state = shared.state.lock().expect("state lock");
                let w = ops::create(&mut state, rt, rp.namespace.as_deref(), parsed, &opts)?;
                Ok(with_warnings(json_response(201, &w.object), &w.warnings))
            }
            Method::DELETE => {
                let mut state = shared.state.lock().expect("state lock");
                let filter = Filter::parse(
                    &rt,
                    q.get("labelSelector").map(String::as_str),
                    q.get("fieldSelector").map(String::as_str),
                )?;
                let names: Vec<(Option<String>, String)> = state
                    .range(&rt.storage_key(), rp.namespace.as_deref(), None)
                    .filter(|(_, v)| filter.matches(v))
                    .map(|(_, v)| {
                        (
                            v.pointer("/metadata/namespace")
                                .and_then(Value::as_str)
                                .map(String::from),
                            v.pointer("/metadata/name")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                        )
                    })
                    .collect();
                let del = delete_opts(q, &body);
                let mut items = Vec::new();
                for (ns, name) in names {
                    let target = Target {
                        rt: rt.clone(),
                        namespace: ns,
                        name,
                        subresource: String::new(),
                    };
                    if let Ok(v) = ops::delete(&mut state, &target, &del) {
                        if v["kind"] != "Status" {
                            items.push(v);
                        }
                    }
                }
                Ok(json_response(
                    200,
                    &json!({"kind": rt.list_kind, "apiVersion": rt.api_version(), "metadata": {"resourceVersion": state.rv.to_string()}, "items": items}),
                ))
            }
            _ => Err(ApiError::method_not_allowed()),
        };
    };
    let sub = rp.subresource.clone().unwrap_or_default();
    if !sub.is_empty() && sub != "status" {
        return Err(ApiError::resource_not_found());
    }
    if sub == "status" && !rt.has_subresource("status") {
        return Err(ApiError::resource_not_found());
    }
    let target = Target {
        rt: rt.clone(),
        namespace: rp.namespace.clone(),
        name,
        subresource: sub,
    };
    match *method {
        Method::GET => {
            let state = shared.state.lock().expect("state lock");
            let obj = ops::get(&state, &target)?;
            let out = if accepts(headers, "as=Table") {
                let rv = obj
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                table::table(&rt, &[obj], &rv)
            } else if accepts(headers, "as=PartialObjectMetadata") {
                table::partial(&obj)
            } else {
                obj
            };
            Ok(json_response(200, &out))
        }
        Method::PUT => {
            let parsed = ops::parse_body(&body, &content_type).map_err(|e| {
                ApiError::bad_request(format!(
                    "the object provided is unrecognized (must be of type {}): {e}",
                    rt.kind
                ))
            })?;
            let mut state = shared.state.lock().expect("state lock");
            let w = ops::update(&mut state, &target, parsed, &opts)?;
            Ok(with_warnings(json_response(200, &w.object), &w.warnings))
        }
        Method::PATCH => {
            let kind = ops::patch_kind(&rt, &content_type)?;
            let mut state = shared.state.lock().expect("state lock");
            let w = ops::patch(&mut state, &target, kind, &body, &opts)?;
            let code = if w.created { 201 } else { 200 };
            Ok(with_warnings(json_response(code, &w.object), &w.warnings))
        }
        Method::DELETE => {
            if !target.subresource.is_empty() {
                return Err(ApiError::method_not_allowed());
            }
            let del = delete_opts(q, &body);
            let mut state = shared.state.lock().expect("state lock");
            let out = ops::delete(&mut state, &target, &del)?;
            Ok(json_response(200, &out))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn delete_opts(q: &Query, body: &[u8]) -> DeleteOpts {
    let b: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let dry = q.get("dryRun").is_some_and(|v| v == "All")
        || b["dryRun"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == "All"));
    let orphan = b["orphanDependents"] == json!(true)
        || q.get("orphanDependents").is_some_and(|v| v == "true");
    DeleteOpts {
        dry_run: dry,
        propagation: q
            .get("propagationPolicy")
            .cloned()
            .or_else(|| b["propagationPolicy"].as_str().map(String::from))
            .or_else(|| orphan.then(|| "Orphan".to_string())),
        precondition_uid: b
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(String::from),
        precondition_rv: b
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(String::from),
    }
}

fn negotiate_list(rt: &ResourceType, list: Value, headers: &HeaderMap) -> Value {
    let rv = list
        .pointer("/metadata/resourceVersion")
        .cloned()
        .unwrap_or(json!(""));
    let items = list["items"].as_array().cloned().unwrap_or_default();
    if accepts(headers, "as=Table") {
        let mut t = table::table(rt, &items, rv.as_str().unwrap_or_default());
        if let Some(c) = list
            .pointer("/metadata/continue")
            .filter(|c| c.as_str() != Some(""))
        {
            t["metadata"]["continue"] = c.clone();
        }
        return t;
    }
    if accepts(headers, "as=PartialObjectMetadataList") {
        let mut meta = list["metadata"].clone();
        if meta.is_null() {
            meta = json!({});
        }
        return json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                      "items": items.iter().map(table::partial).collect::<Vec<_>>()});
    }
    list
}

fn event_line(kind: &str, object: &Value) -> Bytes {
    let mut line = json!({"type": kind, "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}

/// How a stored event looks to one watcher: its type after selector
/// transitions, or nothing when the watcher does not see it.
fn view(
    event: &WatchEvent,
    rt: &ResourceType,
    ns: Option<&str>,
    filter: &Filter,
) -> Option<(EventType, Value)> {
    if event.storage_key != rt.storage_key() {
        return None;
    }
    if let Some(ns) = ns {
        if event.namespace != ns {
            return None;
        }
    }
    let now = filter.matches(&event.object);
    let before = event.previous.as_ref().is_some_and(|p| filter.matches(p));
    let kind = match (event.kind, before, now) {
        (EventType::Deleted, true, _) => EventType::Deleted,
        (EventType::Deleted, false, _) => return None,
        (EventType::Added, _, true) => EventType::Added,
        (EventType::Modified, true, true) => EventType::Modified,
        (EventType::Modified, false, true) => EventType::Added,
        (EventType::Modified, true, false) => EventType::Deleted,
        _ => return None,
    };
    Some((kind, ops::present(rt, &event.object)))
}

async fn watch(
    shared: &Arc<Shared>,
    rt: Arc<ResourceType>,
    ns: Option<String>,
    q: &Query,
) -> Result<Response, ApiError> {
    let filter = Filter::parse(
        &rt,
        q.get("labelSelector").map(String::as_str),
        q.get("fieldSelector").map(String::as_str),
    )?;
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(1800);
    let bookmarks = truthy(q, "allowWatchBookmarks");
    let send_initial = truthy(q, "sendInitialEvents");
    let requested_rv = q.get("resourceVersion").cloned().unwrap_or_default();
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(256);
    let mut closer = shared.controls.close_signal();
    let (mut events, initial, start_rv) = {
        let state = shared.state.lock().expect("state lock");
        let events = state.subscribe();
        let mut initial: Vec<Bytes> = Vec::new();
        if requested_rv.is_empty() || requested_rv == "0" || send_initial {
            for (_, obj) in state.range(&rt.storage_key(), ns.as_deref(), None) {
                if filter.matches(obj) {
                    initial.push(event_line("ADDED", &ops::present(&rt, obj)));
                }
            }
            if send_initial && bookmarks {
                let bm = json!({"kind": rt.kind, "apiVersion": rt.api_version(),
                    "metadata": {"resourceVersion": state.rv.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}}});
                initial.push(event_line("BOOKMARK", &bm));
            }
        } else {
            let rv: u64 = requested_rv.parse().unwrap_or(0);
            match state.events_since(rv) {
                None => {
                    let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": format!("too old resource version: {rv} ({})", state.compacted_rv + 1),
                        "reason": "Expired", "code": 410});
                    initial.push(event_line("ERROR", &status));
                    let _ = tx.try_send(Ok(initial.remove(0)));
                    drop(tx);
                    return Ok(stream_response(rx));
                }
                Some(past) => {
                    for e in past {
                        if let Some((kind, obj)) = view(&e, &rt, ns.as_deref(), &filter) {
                            initial.push(event_line(kind.as_str(), &obj));
                        }
                    }
                }
            }
        }
        (events, initial, state.rv)
    };
    tokio::spawn(async move {
        for line in initial {
            if tx.send(Ok(line)).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
        let first_bookmark = Duration::from_secs(timeout.saturating_sub(2).clamp(1, 60));
        let mut next_bookmark = tokio::time::Instant::now() + first_bookmark;
        let mut latest = start_rv;
        let mut sent = start_rv;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return,
                _ = closer.changed() => return,
                _ = tokio::time::sleep_until(next_bookmark), if bookmarks => {
                    if latest > sent {
                        let bm = json!({"kind": rt.kind, "apiVersion": rt.api_version(), "metadata": {"resourceVersion": latest.to_string()}});
                        if tx.send(Ok(event_line("BOOKMARK", &bm))).await.is_err() {
                            return;
                        }
                        sent = latest;
                    }
                    next_bookmark += Duration::from_secs(60);
                }
                received = events.recv() => match received {
                    Ok(event) => {
                        if event.storage_key == rt.storage_key() {
                            latest = latest.max(event.rv);
                        }
                        if let Some((kind, obj)) = view(&event, &rt, ns.as_deref(), &filter) {
                            sent = event.rv;
                            if tx.send(Ok(event_line(kind.as_str(), &obj))).await.is_err() {
                                return;
                            }
                        }
                    }
                    // A watcher that fell behind is closed, as the real server does; the client re-lists.
                    Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
    Ok(stream_response(rx))
}

fn stream_response(rx: mpsc::Receiver<Result<Bytes, Infallible>>) -> Response {
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
