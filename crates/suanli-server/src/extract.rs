//! Request extractors that fail with the error table's codes: JSON bodies (unknown fields rejected), queries.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use suanli_core::error::ErrorCode;

/// A JSON request body. Every body type is `deny_unknown_fields`, so an unknown field is
/// `unknown_field`; broken JSON is `malformed_json`; a wrong type or a missing field is `invalid_body`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// Bodies larger than this are refused before parsing.
const MAX_BODY: usize = 1 << 20;

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json") || m.trim().ends_with("+json"));
        if !is_json {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType, "send the body as JSON with Content-Type: application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_unread)?;
        if bytes.len() > MAX_BODY {
            return Err(ApiError::new(ErrorCode::PayloadTooLarge, format!("the body is larger than {MAX_BODY} bytes")));
        }
        parse_json(&bytes).map(JsonBody)
    }
}

/// A body that could not be read: too large (413, `payload_too_large`) or broken in transit.
pub fn body_unread(e: axum::extract::rejection::BytesRejection) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(ErrorCode::PayloadTooLarge, format!("the body is larger than this endpoint accepts: {e}"))
    } else {
        ApiError::new(ErrorCode::InvalidBody, format!("could not read the body: {e}"))
    }
}

/// Parses JSON with the error table's classification.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::new(ErrorCode::MalformedJson, format!("the body is not valid JSON: {e}"))
            }
            Category::Data if e.to_string().starts_with("unknown field") => {
                ApiError::new(ErrorCode::UnknownField, strip_position(&e.to_string()))
            }
            Category::Data => ApiError::new(ErrorCode::InvalidBody, strip_position(&e.to_string())),
        }
    })
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// A query string; unknown parameters and bad values are `invalid_query`.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(q).map(Query).map_err(|e| ApiError::new(ErrorCode::InvalidQuery, format!("bad query string: {e}")))
    }
}

/// A JSON body that may be left out entirely (then `T::default()`).
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let has_type = req.headers().contains_key(header::CONTENT_TYPE);
        let bytes = Bytes::from_request(req, state).await.map_err(body_unread)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(T::default()));
        }
        if !has_type {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType, "send the body as JSON with Content-Type: application/json"));
        }
        if bytes.len() > MAX_BODY {
            return Err(ApiError::new(ErrorCode::PayloadTooLarge, format!("the body is larger than {MAX_BODY} bytes")));
        }
        parse_json(&bytes).map(OptionalJsonBody)
    }
}
