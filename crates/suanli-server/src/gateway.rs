//! The OpenAI-compatible endpoints under `/v1`: thin handlers that hand the bearer secret and the body to the gateway and send back its answer, in OpenAI's shapes.

use crate::AppState;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use suanli_core::error::{Error, ErrorCode};
use suanli_core::model::Endpoint;
use suanli_gateway::{Answer, Refusal, openai};

/// The `/v1` routes (merged at the root).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/models", get(list_models))
        .route("/v1/models/{id}", get(get_model))
        .route("/v1/chat/completions", post(chat))
        .route("/v1/completions", post(completions))
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/{*rest}", get(unknown).post(unknown))
        .layer(DefaultBodyLimit::max(openai::MAX_REQUEST_BYTES + 1))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

fn json(status: StatusCode, body: Vec<u8>, request_id: Option<&str>) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(id).ok()) {
        r.headers_mut().insert("x-request-id", id);
    }
    r
}

fn refusal(r: Refusal) -> Response {
    let status = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = json(status, serde_json::to_vec(&r.body()).unwrap_or_default(), r.request_id.as_deref());
    if let Some(s) = r.retry_after_s {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    resp
}

async fn call(s: AppState, endpoint: Endpoint, headers: HeaderMap, body: Bytes) -> Response {
    match s.models.gateway().call(endpoint, bearer(&headers), &body).await {
        Ok(Answer::Json { request_id, body }) => json(StatusCode::OK, body.to_vec(), Some(&request_id)),
        Ok(Answer::Stream { request_id, events }) => {
            let stream =
                futures_util::stream::unfold(events, |mut rx| async move { rx.recv().await.map(|b| (Ok::<_, std::io::Error>(b), rx)) });
            let mut r = Response::new(Body::from_stream(stream));
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            if let Ok(id) = HeaderValue::from_str(&request_id) {
                h.insert("x-request-id", id);
            }
            r
        }
        Err(r) => refusal(r),
    }
}

async fn chat(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    call(s, Endpoint::Chat, headers, body).await
}

async fn completions(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    call(s, Endpoint::Completions, headers, body).await
}

async fn embeddings(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    call(s, Endpoint::Embeddings, headers, body).await
}

async fn list_models(State(s): State<AppState>, headers: HeaderMap) -> Response {
    match s.models.gateway().list_models(bearer(&headers)) {
        Ok(v) => json(StatusCode::OK, serde_json::to_vec(&v).unwrap_or_default(), None),
        Err(r) => refusal(r),
    }
}

async fn get_model(State(s): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    match s.models.gateway().get_model(bearer(&headers), &id) {
        Ok(v) => json(StatusCode::OK, serde_json::to_vec(&v).unwrap_or_default(), None),
        Err(r) => refusal(r),
    }
}

async fn unknown(Path(rest): Path<String>) -> Response {
    let e = Error::new(ErrorCode::NotFound, format!("Unknown request URL: /v1/{}", rest.chars().take(100).collect::<String>()));
    refusal(Refusal { error: e, param: None, retry_after_s: None, request_id: None })
}
