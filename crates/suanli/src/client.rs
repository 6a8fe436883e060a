//! A thin HTTP client for the Suanli API: bearer auth, problem+json errors turned into one-line messages.

use anyhow::{Context, anyhow};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// An error the server answered with (problem+json), or a failure to reach it.
#[derive(Debug)]
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

impl Client {
    pub fn new(base: &str, token: Option<String>) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().context("building the HTTP client")?;
        Ok(Client { http, base: base.trim_end_matches('/').to_string(), token })
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send::<()>(Method::GET, path, None).await
    }

    pub async fn post<B: Serialize>(&self, path: &str, body: &B) -> anyhow::Result<Value> {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put<B: Serialize>(&self, path: &str, body: &B) -> anyhow::Result<Value> {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn patch<B: Serialize>(&self, path: &str, body: &B) -> anyhow::Result<Value> {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<Value> {
        self.send::<()>(Method::DELETE, path, None).await
    }

    /// PUT of raw bytes (a file) with its content type.
    pub async fn put_bytes(&self, path: &str, body: Vec<u8>, content_type: &str) -> anyhow::Result<Value> {
        let req = self.request(Method::PUT, path).header("content-type", content_type).body(body);
        let (status, bytes) = self.exchange(req).await?;
        Self::answer(status, &bytes)
    }

    /// GET answering the raw body (a download); errors as for JSON calls.
    pub async fn get_bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let (status, bytes) = self.exchange(self.request(Method::GET, path)).await?;
        if status.is_success() {
            return Ok(bytes);
        }
        Self::answer(status, &bytes).map(|_| Vec::new())
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    async fn exchange(&self, req: reqwest::RequestBuilder) -> anyhow::Result<(StatusCode, Vec<u8>)> {
        let resp = req.send().await.map_err(|e| {
            anyhow!(ApiFailure {
                status: None,
                code: "unreachable".into(),
                message: format!("cannot reach the Suanli server at {}: {}", self.base, root_cause(&e))
            })
        })?;
        let status = resp.status();
        Ok((status, resp.bytes().await.context("reading the response")?.to_vec()))
    }

    async fn send<B: Serialize>(&self, method: Method, path: &str, body: Option<&B>) -> anyhow::Result<Value> {
        let mut req = self.request(method, path);
        if let Some(b) = body {
            req = req.json(b);
        }
        let (status, bytes) = self.exchange(req).await?;
        Self::answer(status, &bytes)
    }

    /// A JSON answer, or the problem it carries as an error.
    fn answer(status: StatusCode, bytes: &[u8]) -> anyhow::Result<Value> {
        let text = String::from_utf8_lossy(bytes);
        if status == reqwest::StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        if status.is_success() {
            return serde_json::from_str(&text)
                .with_context(|| format!("the server sent something that is not JSON: {}", text.chars().take(200).collect::<String>()));
        }
        let problem: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        Err(anyhow!(ApiFailure {
            status: Some(status),
            code: problem.get("code").and_then(Value::as_str).unwrap_or("http_error").to_string(),
            message: problem.get("detail").and_then(Value::as_str).map_or_else(|| format!("the server answered {status}"), str::to_string),
        }))
    }
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
