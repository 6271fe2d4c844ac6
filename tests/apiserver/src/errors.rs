//! API errors as `Status` objects with the real server's codes, reasons and messages.

use serde_json::{json, Map, Value};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub body: ErrorBody,
}

#[derive(Debug, Clone)]
pub enum ErrorBody {
    Status(Value),
    /// Some 404s are Go's plain `404 page not found`, not a Status.
    PlainText(&'static str),
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Who an error is about: a resource, optionally a name.
#[derive(Debug, Clone, Default)]
pub struct Subject<'a> {
    pub group: &'a str,
    pub plural: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
}

impl ApiError {
    pub fn status(
        code: u16,
        reason: &str,
        message: impl Into<String>,
        details: Option<Value>,
    ) -> ApiError {
        let mut m = Map::new();
        m.insert("kind".into(), json!("Status"));
        m.insert("apiVersion".into(), json!("v1"));
        m.insert("metadata".into(), json!({}));
        m.insert("status".into(), json!("Failure"));
        m.insert("message".into(), json!(message.into()));
        m.insert("reason".into(), json!(reason));
        if let Some(d) = details {
            m.insert("details".into(), d);
        }
        m.insert("code".into(), json!(code));
        ApiError {
            code,
            body: ErrorBody::Status(Value::Object(m)),
        }
    }

    pub fn page_not_found() -> ApiError {
        ApiError {
            code: 404,
            body: ErrorBody::PlainText("404 page not found\n"),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::status(400, "BadRequest", message, None)
    }

    pub fn resource_not_found() -> ApiError {
        ApiError::status(
            404,
            "NotFound",
            "the server could not find the requested resource",
            Some(json!({})),
        )
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::status(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            Some(json!({})),
        )
    }

    pub fn unsupported_media_type() -> ApiError {
        ApiError::status(
            415,
            "UnsupportedMediaType",
            "415: Unsupported Media Type",
            Some(json!({})),
        )
    }

    pub fn not_found(s: &Subject) -> ApiError {
        ApiError::status(
            404,
            "NotFound",
            format!("{} {:?} not found", qualified(s.plural, s.group), s.name),
            Some(name_details(s)),
        )
    }

    pub fn already_exists(s: &Subject) -> ApiError {
        ApiError::status(
            409,
            "AlreadyExists",
            format!(
                "{} {:?} already exists",
                qualified(s.plural, s.group),
                s.name
            ),
            Some(name_details(s)),
        )
    }

    pub fn conflict(s: &Subject) -> ApiError {
        ApiError::status(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} {:?}: the object has been modified; please apply your changes to the latest version and try again",
                qualified(s.plural, s.group),
                s.name
            ),
            Some(name_details(s)),
        )
    }

    /// 422 with one cause per field error, worded like the API server.
    pub fn invalid(s: &Subject, causes: Vec<Cause>) -> ApiError {
        let what = format!("{} {:?}", qualified(s.kind, s.group), s.name);
        let mut texts: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        texts.dedup();
        let message = if texts.len() == 1 {
            format!("{what} is invalid: {}", texts[0])
        } else {
            format!("{what} is invalid: [{}]", texts.join(", "))
        };
        let mut details = Map::new();
        if !s.name.is_empty() {
            details.insert("name".into(), json!(s.name));
        }
        if !s.group.is_empty() {
            details.insert("group".into(), json!(s.group));
        }
        details.insert("kind".into(), json!(s.kind));
        details.insert(
            "causes".into(),
            Value::Array(
                causes
                    .iter()
                    .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                    .collect(),
            ),
        );
        ApiError::status(422, "Invalid", message, Some(Value::Object(details)))
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::status(500, "InternalError", message, None)
    }

    /// The error a test asked for through the fault controls.
    pub fn injected(code: u16) -> ApiError {
        let reason = match code {
            400 => "BadRequest",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "NotFound",
            409 => "Conflict",
            410 => "Expired",
            422 => "Invalid",
            429 => "TooManyRequests",
            503 => "ServiceUnavailable",
            504 => "Timeout",
            _ => "InternalError",
        };
        ApiError::status(code, reason, format!("injected fault: {reason}"), None)
    }
}

#[derive(Debug, Clone)]
pub struct Cause {
    pub reason: &'static str,
    pub field: String,
    pub message: String,
}

impl Cause {
    pub fn invalid(field: impl Into<String>, value: &Value, why: &str) -> Cause {
        Cause {
            reason: "FieldValueInvalid",
            field: field.into(),
            message: format!("Invalid value: {}: {why}", go_value(value)),
        }
    }
    pub fn required(field: impl Into<String>, why: &str) -> Cause {
        let message = if why.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {why}")
        };
        Cause {
            reason: "FieldValueRequired",
            field: field.into(),
            message,
        }
    }
    pub fn forbidden(field: impl Into<String>, why: &str) -> Cause {
        Cause {
            reason: "FieldValueForbidden",
            field: field.into(),
            message: format!("Forbidden: {why}"),
        }
    }
}

/// A value as Go's field errors print it: strings quoted, maps as JSON.
pub fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// `deployments.apps` for a group, plain `configmaps` for the core group.
pub fn qualified(name: &str, group: &str) -> String {
    if group.is_empty() {
        name.to_string()
    } else {
        format!("{name}.{group}")
    }
}

fn name_details(s: &Subject) -> Value {
    let mut d = Map::new();
    d.insert("name".into(), json!(s.name));
    if !s.group.is_empty() {
        d.insert("group".into(), json!(s.group));
    }
    d.insert("kind".into(), json!(s.plural));
    Value::Object(d)
}
