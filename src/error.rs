//! Error policy.
//!
//! - Library and store code returns its own errors (`diesel::QueryResult`, `anyhow` for
//!   start-up); use cases return [`AppError`]; only the HTTP edge turns it into a response.
//! - Every error response is `application/problem+json` (RFC 9457) with a stable `code`
//!   that clients may match on, and for validation the list of offending fields.
//! - Internal errors are opaque: the cause chain is logged with the request id and the
//!   client gets "internal error" plus that id, never the cause.
//! - Another tenant's object is `not_found`, exactly like an object that does not exist.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

tokio::task_local! {
    /// The id of the request being served, set by [`crate::web::request_id_scope`], so that
    /// problem bodies can carry it without threading the request through every function.
    pub static REQUEST_ID: String;
}

pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(|id| id.clone()).ok()
}

/// One offending input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's path in the request, e.g. `email` or `items[2].seats`.
    pub field: String,
    /// Stable machine-readable reason, e.g. `too_short`, `invalid_email`, `required`.
    pub code: String,
    /// A human-readable explanation in English.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type (`urn:cloudseat:problem:<code>`).
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    /// Stable machine-readable error code.
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The offending fields, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Problem-specific members (RFC 9457 extensions), e.g. `full_hours` for `sold_out`
    /// or `opens_on` for `booking_not_open`.
    #[serde(flatten)]
    #[schema(ignore)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// One or more fields are invalid (422).
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// The body is not JSON at all (400).
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("request body too large (limit {limit} bytes)")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type: expected application/json")]
    UnsupportedMediaType,
    /// No or bad credentials (401). `code` says which.
    #[error("unauthenticated: {code}")]
    Unauthenticated { code: &'static str },
    /// Authenticated but not allowed (403).
    #[error("forbidden: {code}")]
    Forbidden { code: &'static str },
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request conflicts with the current state (409).
    #[error("conflict: {code}: {detail}")]
    Conflict {
        code: &'static str,
        detail: String,
        /// Members added to the problem body.
        extra: Option<Box<serde_json::Map<String, serde_json::Value>>>,
    },
    #[error("too many requests, retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(&'static str),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, code, message)])
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            detail: detail.into(),
            extra: None,
        }
    }

    /// A conflict whose body carries more members; `extra` must be a JSON object.
    pub fn conflict_with(
        code: &'static str,
        detail: impl Into<String>,
        extra: serde_json::Value,
    ) -> Self {
        AppError::Conflict {
            code,
            detail: detail.into(),
            extra: match extra {
                serde_json::Value::Object(map) => Some(Box::new(map)),
                _ => None,
            },
        }
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(err.into())
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation_failed",
            AppError::MalformedJson(_) => "malformed_json",
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::UnsupportedMediaType => "unsupported_media_type",
            AppError::Unauthenticated { code } | AppError::Forbidden { code } => code,
            AppError::NotFound => "not_found",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::Conflict { code, .. } => code,
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "The request has invalid fields",
            AppError::MalformedJson(_) => "The request body is not valid JSON",
            AppError::PayloadTooLarge { .. } => "The request body is too large",
            AppError::UnsupportedMediaType => "Unsupported media type",
            AppError::Unauthenticated { .. } => "Authentication required",
            AppError::Forbidden { .. } => "Not allowed",
            AppError::NotFound => "Not found",
            AppError::MethodNotAllowed => "Method not allowed",
            AppError::Conflict { .. } => "Conflict with the current state",
            AppError::TooManyRequests { .. } => "Too many requests",
            AppError::Unavailable(_) => "Service unavailable",
            AppError::Internal(_) => "Internal error",
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            AppError::MalformedJson(d) => Some(d.clone()),
            AppError::PayloadTooLarge { limit } => {
                Some(format!("the body may be at most {limit} bytes"))
            }
            AppError::Conflict { detail, .. } => Some(detail.clone()),
            AppError::Unavailable(what) => Some((*what).to_owned()),
            AppError::TooManyRequests { retry_after_secs } => {
                Some(format!("try again in {retry_after_secs} seconds"))
            }
            // Never the cause: it may hold SQL, paths or secrets.
            AppError::Internal(_) => Some("internal error".to_owned()),
            _ => None,
        }
    }

    pub fn problem(&self) -> Problem {
        let code = self.code();
        Problem {
            type_uri: format!("urn:cloudseat:problem:{code}"),
            title: self.title().to_owned(),
            status: self.status_code().as_u16(),
            code: code.to_owned(),
            detail: self.detail(),
            errors: match self {
                AppError::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
            request_id: current_request_id(),
            extensions: match self {
                AppError::Conflict {
                    extra: Some(extra), ..
                } => (**extra).clone(),
                _ => serde_json::Map::new(),
            },
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::MalformedJson(_) => StatusCode::BAD_REQUEST,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(cause) = self {
            tracing::error!(
                request_id = current_request_id().as_deref().unwrap_or("-"),
                error = format!("{cause:#}"),
                "request failed with an internal error"
            );
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        if let AppError::TooManyRequests { retry_after_secs } = self {
            response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        if let AppError::Unauthenticated { .. } = self {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(self.problem())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        AppError::Internal(err.into())
    }
}

impl<E: Into<AppError>> From<crate::db::RunError<E>> for AppError {
    fn from(err: crate::db::RunError<E>) -> Self {
        match err {
            crate::db::RunError::Inner(e) => e.into(),
            crate::db::RunError::Pool(e) => {
                tracing::error!(error = %e, "database pool exhausted or unreachable");
                AppError::Unavailable("the database is not reachable right now")
            }
            crate::db::RunError::Join => {
                AppError::Internal(anyhow::anyhow!("blocking database task failed"))
            }
        }
    }
}

/// Collects field errors while parsing a request into domain types, so a client learns
/// about every bad field at once instead of one per round trip.
#[derive(Default, Debug)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value or records the error under `field`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, Invalid>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(invalid) => {
                self.0
                    .push(FieldError::new(field, invalid.code, invalid.message));
                None
            }
        }
    }

    pub fn push(&mut self, field: &str, invalid: Invalid) {
        self.0
            .push(FieldError::new(field, invalid.code, invalid.message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was recorded.
    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}

impl From<FieldErrors> for AppError {
    /// A parse that failed with these errors (every such parse records at least one).
    fn from(errors: FieldErrors) -> Self {
        AppError::Validation(errors.0)
    }
}

/// Why a value could not be parsed into a domain type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub code: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Invalid {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Invalid {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_never_leak_their_cause() {
        let err = AppError::internal(anyhow::anyhow!("password=hunter2 in SELECT"));
        let body = serde_json::to_string(&err.problem()).unwrap();
        assert!(!body.contains("hunter2"), "{body}");
        assert!(body.contains("\"code\":\"internal\""));
    }

    #[test]
    fn validation_lists_every_field() {
        let mut errors = FieldErrors::new();
        let _: Option<()> = errors.check("email", Err(Invalid::new("invalid_email", "bad")));
        let _: Option<()> = errors.check("name", Err(Invalid::new("too_long", "long")));
        let Err(err) = errors.finish() else {
            panic!("expected errors")
        };
        let problem = err.problem();
        assert_eq!(problem.status, 422);
        assert_eq!(
            problem
                .errors
                .iter()
                .map(|e| e.field.as_str())
                .collect::<Vec<_>>(),
            ["email", "name"]
        );
    }
}
