//! A typed HTTP client for the Suanli API: bearer auth, problem+json errors turned into one-line messages, typed bodies.

use crate::agent::{self, v1};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;
use suanli_core::id::CentreId;

mod city;
mod data;
mod energy;
mod incentives;
mod jobs;
mod models;
mod money;
pub use money::BillsQuery;
mod registry;

/// A Suanli server reached over HTTP, as one caller (its bearer token).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// An error the server answered with (problem+json), or a failure to reach it or to read its
/// answer (`status` is then `None` and `code` is `unreachable` or `bad_answer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: Option<StatusCode>,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} [{}]", self.message, self.code)
    }
}

impl std::error::Error for ApiFailure {}

impl ApiFailure {
    fn bad_answer(message: String) -> ApiFailure {
        ApiFailure { status: None, code: "bad_answer".into(), message }
    }

    /// Whether the server refused the request itself (4xx): sending it again will not help.
    pub fn is_refusal(&self) -> bool {
        self.status.is_some_and(|s| s.is_client_error())
    }
}

pub type Result<T> = std::result::Result<T, ApiFailure>;

impl Client {
    /// A client whose requests time out after 30 s.
    pub fn new(base: &str, token: Option<String>) -> Result<Client> {
        Client::with_timeout(base, token, Duration::from_secs(30))
    }

    pub fn with_timeout(base: &str, token: Option<String>, timeout: Duration) -> Result<Client> {
        let http = reqwest::Client::builder().timeout(timeout).build().map_err(|e| ApiFailure {
            status: None,
            code: "unreachable".into(),
            message: format!("building the HTTP client: {e}"),
        })?;
        Ok(Client { http, base: base.trim_end_matches('/').to_string(), token })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn get(&self, path: &str) -> Result<Value> {
        self.send::<(), Value>(Method::GET, path, None, &[]).await
    }

    pub async fn post<B: Serialize>(&self, path: &str, body: &B) -> Result<Value> {
        self.send(Method::POST, path, Some(body), &[]).await
    }

    pub async fn put<B: Serialize>(&self, path: &str, body: &B) -> Result<Value> {
        self.send(Method::PUT, path, Some(body), &[]).await
    }

    pub async fn patch<B: Serialize>(&self, path: &str, body: &B) -> Result<Value> {
        self.send(Method::PATCH, path, Some(body), &[]).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value> {
        self.send::<(), Value>(Method::DELETE, path, None, &[]).await
    }

    /// PUT of raw bytes (a file) with its content type.
    pub async fn put_bytes<T: DeserializeOwned>(&self, path: &str, body: Vec<u8>, content_type: &str) -> Result<T> {
        let req = self.request(Method::PUT, path).header("content-type", content_type).body(body);
        let (status, bytes) = self.exchange(req).await?;
        answer(status, &bytes)
    }

    /// GET answering the raw body (a download); errors as for JSON calls.
    pub async fn get_bytes(&self, path: &str) -> Result<Vec<u8>> {
        let (status, bytes) = self.exchange(self.request(Method::GET, path)).await?;
        if status.is_success() {
            return Ok(bytes);
        }
        answer::<Value>(status, &bytes).map(|_| Vec::new())
    }

    /// A typed GET.
    pub async fn get_as<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.send::<(), T>(Method::GET, path, None, &[]).await
    }

    /// A typed POST.
    pub async fn post_as<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.send(Method::POST, path, Some(body), &[]).await
    }

    /// An agent's long-poll for its centre's assignments (protocol version 1).
    pub async fn agent_assignments(&self, centre: &CentreId, wait: Duration) -> Result<v1::Assignments> {
        let path = format!("/api/v1/agents/{centre}/assignments?wait_ms={}", wait.as_millis());
        self.send::<(), _>(Method::GET, &path, None, &[(agent::PROTOCOL_HEADER, "1")]).await
    }

    /// An agent's report of its centre's jobs, cluster and capacity (protocol version 1).
    pub async fn agent_report(&self, centre: &CentreId, report: &v1::Report) -> Result<v1::ReportAck> {
        let path = format!("/api/v1/agents/{centre}/reports");
        self.send(Method::POST, &path, Some(report), &[(agent::PROTOCOL_HEADER, "1")]).await
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    async fn exchange(&self, req: reqwest::RequestBuilder) -> Result<(StatusCode, Vec<u8>)> {
        let unreachable = |e: reqwest::Error| ApiFailure {
            status: None,
            code: "unreachable".into(),
            message: format!("cannot reach the Suanli server at {}: {}", self.base, root_cause(&e)),
        };
        let resp = req.send().await.map_err(unreachable)?;
        let status = resp.status();
        Ok((status, resp.bytes().await.map_err(unreachable)?.to_vec()))
    }

    pub(crate) async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        headers: &[(&str, &str)],
    ) -> Result<T> {
        let mut req = self.request(method, path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let (status, bytes) = self.exchange(req).await?;
        answer(status, &bytes)
    }
}

/// A JSON answer, or the problem it carries as an error. An empty 204 reads as JSON `null`.
fn answer<T: DeserializeOwned>(status: StatusCode, bytes: &[u8]) -> Result<T> {
    let text = String::from_utf8_lossy(bytes);
    if status.is_success() {
        let text = if status == StatusCode::NO_CONTENT { "null" } else { text.as_ref() };
        return serde_json::from_str(text).map_err(|e| {
            ApiFailure::bad_answer(format!(
                "the server's answer does not read as expected ({e}): {}",
                text.chars().take(200).collect::<String>()
            ))
        });
    }
    let problem: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    Err(ApiFailure {
        status: Some(status),
        code: problem.get("code").and_then(Value::as_str).unwrap_or("http_error").to_string(),
        message: problem.get("detail").and_then(Value::as_str).map_or_else(|| format!("the server answered {status}"), str::to_string),
    })
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay as they are).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// `?a=1&b=2` of the parameters that are set, or nothing.
pub(crate) fn query(params: &[(&str, Option<&str>)]) -> String {
    let set: Vec<String> = params.iter().filter_map(|(k, v)| v.map(|v| format!("{k}={}", urlencode(v)))).collect();
    if set.is_empty() { String::new() } else { format!("?{}", set.join("&")) }
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_becomes_a_failure_with_its_code_and_detail() {
        let body = br#"{"type":"about:blank","title":"t","status":422,"code":"invalid_amount","detail":"'20w' is not an amount"}"#;
        let e = answer::<Value>(StatusCode::UNPROCESSABLE_ENTITY, body).unwrap_err();
        assert_eq!((e.code.as_str(), e.message.as_str(), e.is_refusal()), ("invalid_amount", "'20w' is not an amount", true));
        let e = answer::<Value>(StatusCode::BAD_GATEWAY, b"<html>").unwrap_err();
        assert_eq!((e.code.as_str(), e.is_refusal()), ("http_error", false));
        assert_eq!(answer::<Value>(StatusCode::NO_CONTENT, b"").unwrap(), Value::Null);
        let e = answer::<v1::ReportAck>(StatusCode::OK, br#"{"took":1}"#).unwrap_err();
        assert_eq!(e.code, "bad_answer");
    }

    #[test]
    fn query_strings_hold_only_what_is_set_and_encode_it() {
        assert_eq!(query(&[("from", None), ("to", None)]), "");
        assert_eq!(query(&[("from", Some("2026-01-01T00:00:00+08:00")), ("to", None)]), "?from=2026-01-01T00%3A00%3A00%2B08%3A00");
        assert_eq!(query(&[("year", Some("2025")), ("x", Some("a b"))]), "?year=2025&x=a%20b");
    }
}
