//! Errors at the HTTP edge: domain errors become `application/problem+json` (RFC 9457) with a stable `code`.
//!
//! Internal failures are logged with their context and answered as a bare 500 `internal`,
//! never leaking database messages to the caller.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use suanli_core::error::{Error, ErrorCode};
use suanli_store::StoreError;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the problem type: `/problems/{code}`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    /// What went wrong in this request, for a person.
    pub detail: String,
    /// The stable, machine-readable code (see the error table).
    pub code: String,
}

#[derive(Debug)]
pub enum ApiError {
    Domain(Error),
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::Domain(Error::new(code, message))
    }

    /// The stable code and the message a client may see (an internal error's text is logged, not shown).
    pub fn code_and_detail(self) -> (&'static str, String) {
        match self {
            ApiError::Domain(e) => (e.code.as_str(), e.message),
            ApiError::Internal(msg) => {
                tracing::error!(error = %msg, "internal error");
                (ErrorCode::Internal.as_str(), "An internal error occurred; it has been logged.".into())
            }
        }
    }
}

impl std::fmt::Display for ApiError {
    /// For people: the message and code of a domain error; internal details stay in the log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Domain(e) => write!(f, "{e}"),
            ApiError::Internal(_) => f.write_str("an internal error occurred (internal)"),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError::Domain(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Domain(e) => ApiError::Domain(e),
            other if other.is_unavailable() => {
                tracing::warn!(error = %other, "the database is unavailable");
                ApiError::Domain(Error::new(
                    ErrorCode::Unavailable,
                    "The database did not answer; retry (a write sent again with the same identity is applied once)",
                ))
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

pub fn problem(code: ErrorCode, detail: String) -> Problem {
    Problem {
        type_: format!("/problems/{}", code.as_str()),
        title: code.title().to_string(),
        status: code.http_status(),
        detail,
        code: code.as_str().to_string(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, p) = match self {
            ApiError::Domain(e) => (e.code, problem(e.code, e.message)),
            ApiError::Internal(msg) => {
                tracing::error!(error = %msg, "internal error");
                (ErrorCode::Internal, problem(ErrorCode::Internal, "An internal error occurred; it has been logged.".into()))
            }
        };
        let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry =
            status == StatusCode::TOO_MANY_REQUESTS || p.code == ErrorCode::NotLeader.as_str() || p.code == ErrorCode::Unavailable.as_str();
        let mut resp = (status, axum::Json(p)).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"suanli\""));
        }
        if retry {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        // For middleware: a follower hands a read that turned out to need the leader on to it.
        resp.extensions_mut().insert(code);
        resp
    }
}

impl ApiError {
    /// An energy error as the problem its code names.
    pub fn from_energy(e: suanli_energy::EnergyError) -> ApiError {
        ApiError::Domain(e.into())
    }
}

impl From<suanli_energy::EnergyError> for ApiError {
    fn from(e: suanli_energy::EnergyError) -> ApiError {
        ApiError::from_energy(e)
    }
}
