//! The OpenAPI 3.0 description of the JSON API, served at
//! `/api/v1/openapi.json`. Written by hand beside the handlers in
//! `web/api.rs`; a test calls every path it names against a running skiff,
//! and schemathesis fuzzes it in CI.

use serde_json::{json, Value};

fn reference(schema: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{schema}")})
}

fn answer(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": reference(schema)}}})
}

fn error(description: &str) -> Value {
    answer(description, "Error")
}

/// The refusals every authenticated path may give.
fn refusals(responses: &mut Value) {
    responses["401"] = error("no credentials, a token the cluster rejects, or an expired session");
    responses["403"] =
        error("RBAC does not allow it (or, for a session, the CSRF token is missing)");
    responses["503"] =
        error("the cluster could not be asked who the caller is or what they may do");
}

fn read(summary: &str, parameters: Value, ok: Value, mut more: Value) -> Value {
    more["200"] = ok;
    more["400"] = error("a malformed query");
    refusals(&mut more);
    json!({"get": {"summary": summary, "parameters": parameters, "responses": more,
        "security": [{}, {"bearer": []}, {"session": []}]}})
}

fn act(summary: &str, body: &str, ok: Value) -> Value {
    let mut responses = json!({
        "400": error("a body that is not the JSON described"),
        "404": error("no such Application"),
        "409": error("the app cannot have it as it stands (automated sync is on, no such history entry)"),
        "502": error("the cluster did not take the request"),
    });
    for (status, r) in ok.as_object().into_iter().flatten() {
        responses[status] = r.clone();
    }
    refusals(&mut responses);
    json!({"post": {"summary": summary,
        "parameters": app_params(),
        "requestBody": {"required": false, "content": {"application/json": {"schema": reference(body)}}},
        "responses": responses,
        "security": [{"bearer": []}, {"session": [], "csrf": []}]}})
}

/// The app's namespace and name; the examples are the README's example app.
fn app_params() -> Value {
    json!([
        {"name": "namespace", "in": "path", "required": true, "schema": {"type": "string"}, "example": "skiff-system"},
        {"name": "name", "in": "path", "required": true, "schema": {"type": "string"}, "example": "guestbook"}
    ])
}

/// The document.
pub fn document() -> Value {
    let query = |name: &str, what: &str, required: bool| json!({"name": name, "in": "query", "required": required, "description": what, "schema": {"type": "string"}});
    let not_found = json!({"404": error("no such Application")});
    let mut resource_params = app_params();
    for (name, what, required, example) in [
        (
            "group",
            "the object's API group (empty: the core group)",
            false,
            "",
        ),
        ("kind", "the object's kind", true, "ConfigMap"),
        (
            "resourceNamespace",
            "the object's namespace (empty: cluster-scoped)",
            false,
            "guestbook",
        ),
        (
            "resourceName",
            "the object's name",
            true,
            "guestbook-config",
        ),
    ] {
        let mut param = query(name, what, required);
        param["example"] = json!(example);
        resource_params.as_array_mut().expect("a list").push(param);
    }
    let accepted = |what: &str| json!({"202": answer(what, "Asked")});
    json!({
        "openapi": "3.0.3",
        "info": {"title": "skiff", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Applications as skiff's controller sees them, and the actions a person may take on them. Reading is open or needs a login (the controller's --anonymous-read); actions always need one: a Kubernetes bearer token (checked with a TokenReview, each action allowed by a SubjectAccessReview), or a session cookie from POST /api/v1/session with its CSRF token in X-CSRF-Token."},
        "paths": {
            "/api/v1/session": {
                "get": {"summary": "Who the request acts for, and the session's CSRF token",
                    "responses": {"200": answer("OK", "Session"), "401": error("an expired session")},
                    "security": [{}, {"bearer": []}, {"session": []}]},
                "post": {"summary": "Log in: check a Kubernetes bearer token (or the admin token) and open a session",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": reference("Login")}}},
                    "responses": {"200": answer("a session (its cookie in Set-Cookie)", "Session"),
                        "400": error("a body that is not the JSON described"),
                        "401": error("the cluster rejected the token"),
                        "503": error("the cluster could not be asked")},
                    "security": [{}]},
                "delete": {"summary": "Log out: end the session",
                    "responses": {"204": {"description": "the session is gone"}}, "security": [{}]}
            },
            "/api/v1/apps": read(
                "List Applications, filtered, with counts per sync and health status",
                json!([query("namespace", "only this namespace", false), query("project", "only this project", false),
                    query("sync", "only this sync status", false), query("health", "only this health status", false),
                    query("q", "text in the name, repository or path", false)]),
                answer("OK", "AppList"), json!({})),
            "/api/v1/apps/{namespace}/{name}": read("One Application (spec and status)", app_params(),
                answer("OK", "Application"), not_found.clone()),
            "/api/v1/apps/{namespace}/{name}/resources": read(
                "The Application's resources with their live children (from ownerReferences)", app_params(),
                answer("OK", "Resources"), not_found.clone()),
            "/api/v1/apps/{namespace}/{name}/resource": read(
                "One of the Application's objects: its live manifest (Secret values masked) and its diff against git",
                resource_params,
                answer("OK", "Resource"),
                json!({"404": error("no such Application, or it does not manage that object"),
                    "422": error("the source could not be fetched or rendered")})),
            "/api/v1/apps/{namespace}/{name}/history": read("The syncs the Application keeps", app_params(),
                answer("OK", "History"), not_found.clone()),
            "/api/v1/apps/{namespace}/{name}/events": read("Events about the Application, newest first", app_params(),
                answer("OK", "Events"),
                json!({"404": error("no such Application"), "502": error("the cluster did not answer")})),
            "/api/v1/apps/{namespace}/{name}/diff": read(
                "What a sync would change (unified YAML diffs, Secret values masked)", app_params(),
                answer("OK", "Diff"),
                json!({"404": error("no such Application"), "422": error("the source could not be fetched or rendered")})),
            "/api/v1/apps/{namespace}/{name}/sync": act(
                "Sync (prune: also delete what left git; dryRun: only show what would change)", "SyncRequest",
                json!({"202": answer("the controller was asked", "Asked"), "200": answer("a dry run's findings", "Diff"),
                    "422": error("a dry run could not fetch or render the source")})),
            "/api/v1/apps/{namespace}/{name}/refresh": act(
                "Compare with git now (hard: the same; skiff keeps no rendered manifests to drop)", "RefreshRequest",
                accepted("the controller was asked")),
            "/api/v1/apps/{namespace}/{name}/rollback": act(
                "Sync a history entry again (manual apps only)", "RollbackRequest",
                accepted("the controller was asked"))
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "a Kubernetes bearer token, or the admin token"},
                "session": {"type": "apiKey", "in": "cookie", "name": "skiff_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token", "description": "the session's CSRF token (GET /api/v1/session)"}
            },
            "schemas": schemas()
        }
    })
}

/// The shapes the paths answer with and take.
fn schemas() -> Value {
    let string = json!({"type": "string"});
    let nullable = json!({"type": "string", "nullable": true});
    let boolean = json!({"type": "boolean"});
    let strings = json!({"type": "array", "items": {"type": "string"}});
    json!({
        "Error": {"type": "object", "required": ["error"], "properties": {"error": string}},
        "Login": {"type": "object", "required": ["token"], "additionalProperties": false, "properties": {"token": string}},
        "Session": {"type": "object", "properties": {"user": nullable, "admin": boolean,
            "csrf": nullable, "anonymousRead": boolean}},
        "Asked": {"type": "object", "required": ["asked"], "properties": {"asked": string}},
        "SyncRequest": {"type": "object", "additionalProperties": false, "properties": {
            "prune": boolean, "dryRun": boolean, "revision": nullable}},
        "RefreshRequest": {"type": "object", "additionalProperties": false, "properties": {"hard": boolean}},
        "RollbackRequest": {"type": "object", "required": ["id"], "additionalProperties": false,
            "properties": {"id": {"type": "integer", "format": "int64"}}, "example": {"id": 0}},
        "AppSummary": {"type": "object", "required": ["namespace", "name", "project", "sync", "health", "revision", "subject", "repo", "path", "target"],
            "properties": {"namespace": string, "name": string, "project": string, "sync": string, "health": string,
                "revision": string, "subject": string, "repo": string, "path": string, "target": string,
                "lastSync": {"type": "object", "nullable": true, "properties": {"phase": string, "finishedAt": nullable}}}},
        "AppList": {"type": "object", "required": ["items", "counts"], "properties": {
            "items": {"type": "array", "items": reference("AppSummary")},
            "counts": {"type": "object", "properties": {
                "sync": {"type": "object", "additionalProperties": {"type": "integer"}},
                "health": {"type": "object", "additionalProperties": {"type": "integer"}}}}}},
        "Application": {"type": "object", "description": "The Application resource (skiff.dev/v1alpha1); its schema is the CRD's.",
            "required": ["apiVersion", "kind", "metadata", "spec"]},
        "Node": {"type": "object", "properties": {"group": string, "version": string, "kind": string,
            "namespace": string, "name": string, "sync": string, "requiresPruning": boolean,
            "health": string, "message": string,
            "children": {"type": "array", "items": reference("Node")}}},
        "Resources": {"type": "object", "required": ["items"], "properties": {
            "items": {"type": "array", "items": reference("Node")},
            "error": nullable}},
        "Resource": {"type": "object", "required": ["state", "revision", "live", "diff", "changedBy"], "properties": {
            "state": {"type": "string", "enum": ["Synced", "OutOfSync", "Missing", "requiresPruning"]},
            "revision": string, "live": string, "diff": string, "changedBy": strings}},
        "History": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"type": "object",
            "properties": {"id": {"type": "integer"}, "revision": string, "deployedAt": string}}}}},
        "Events": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"type": "object",
            "properties": {"type": nullable, "reason": nullable, "note": nullable, "time": nullable}}}}},
        "Diff": {"type": "object", "required": ["revision", "unchanged", "items"], "properties": {
            "revision": string, "unchanged": {"type": "integer"},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "group": string, "kind": string, "namespace": string, "name": string,
                "state": {"type": "string", "enum": ["OutOfSync", "Missing", "requiresPruning"]},
                "diff": string, "changedBy": strings}}}}}
    })
}
