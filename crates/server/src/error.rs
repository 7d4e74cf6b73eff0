//! [`ApiError`]: a [`LedgerError`] (or a refusal of the server's own, such as
//! a missing parameter or a role that may not) as an HTTP status and the JSON
//! body of interchange.md section 4: `{"error": {"line", "field", "message",
//! "hint"}}` (with `kind`, and `param` for a malformed parameter).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shareledger_ledger::{LedgerError, Rejection, StoreError};

/// An error answered to a request.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The input line (1-based), for a refused append.
    pub line: Option<usize>,
    /// The field (or request parameter) at fault.
    pub field: Option<String>,
    /// What kind of refusal (`decode`, a refusal kind of the core, `param`,
    /// `not_found`, `conflict`, `unauthorized`, `forbidden`, …).
    pub kind: String,
    /// What is wrong.
    pub message: String,
    /// How to put it right.
    pub hint: Option<String>,
}

impl ApiError {
    /// A malformed request (400), naming the parameter.
    pub fn bad_request(param: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            line: None,
            field: Some(param.to_string()),
            kind: "param".into(),
            message: message.into(),
            hint: None,
        }
    }

    /// Not logged in (401).
    pub fn unauthorized() -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            line: None,
            field: None,
            kind: "unauthorized".into(),
            message: "log in first: this server has users".into(),
            hint: Some("POST /login with a name and password, and send the session cookie".into()),
        }
    }

    /// Logged in but not allowed (403).
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::FORBIDDEN,
            line: None,
            field: None,
            kind: "forbidden".into(),
            message: message.into(),
            hint: None,
        }
    }

    /// Something of the server itself went wrong (500).
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            line: None,
            field: None,
            kind: "internal".into(),
            message: message.into(),
            hint: None,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {
            "line": self.line,
            "field": self.field,
            "kind": self.kind,
            "message": self.message,
            "hint": self.hint,
        }})
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            line: r.line,
            field: r.field,
            kind: r.kind,
            message: match r.event_type {
                Some(t) => format!("{t}: {}", r.message),
                None => r.message,
            },
            hint: r.hint,
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        let status =
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match e {
            LedgerError::Rejected(r) => ApiError::from(*r),
            LedgerError::Invalid {
                param,
                value,
                message,
            } => ApiError::bad_request(param, format!("{param} `{value}` {message}")),
            e => {
                let kind = match status.as_u16() {
                    404 => "not_found",
                    409 => "conflict",
                    422 => "return",
                    503 => "busy",
                    _ => "internal",
                };
                let hint = match kind {
                    "conflict" | "busy" => Some("another writer changed the ledger first: retry"),
                    _ => None,
                };
                ApiError {
                    status,
                    line: None,
                    field: None,
                    kind: kind.into(),
                    message: e.to_string(),
                    hint: hint.map(str::to_string),
                }
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::from(LedgerError::from(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}
