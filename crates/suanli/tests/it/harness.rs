//! Test harness: an in-process server on a loopback port with the demo city seeded, and a small JSON client.

use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use suanli_server::{AppState, ServeConfig};
use tempfile::TempDir;

/// The PostgreSQL the store suite runs against (started by `.ci/run` when down).
pub fn pg_url() -> String {
    std::env::var("SUANLI_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The store on a PostgreSQL schema of `pg_url()`. A test that asks for it is about PostgreSQL:
/// without one it fails, in CI and out of it; it is never skipped.
pub async fn pg_store(schema: &str) -> suanli_store::Store {
    let url = pg_url();
    suanli_store::Store::connect(&url, suanli_store::StoreOptions { pg_schema: Some(schema.into()), ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is required for this test (.ci/run starts it): {e}"))
}

/// A unique, valid schema name for one test.
pub fn unique_schema(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}_{}_{}", std::process::id(), nanos % 1_000_000_000)
}

/// The demo city as the tests run it: rounds every 20 ms, jobs at 36,000x, no job failed by the
/// simulated centre (a job's fate there follows its random id, and tests that expect a job to
/// succeed must not fail one run in fifty).
fn demo_config(dir: &std::path::Path) -> ServeConfig {
    ServeConfig {
        demo: true,
        tick: Duration::from_millis(20),
        time_scale: Some(36_000.0),
        seed: 1,
        sim_failure_rate: 0.0,
        ..ServeConfig::at(dir)
    }
}

pub struct TestServer {
    pub url: String,
    pub tokens: HashMap<String, String>,
    pub state: AppState,
    dir: TempDir,
    stop: Option<tokio::sync::watch::Sender<bool>>,
}

impl TestServer {
    /// Seeds the demo city (no background job stream) and serves it; jobs run in the simulated
    /// backend at 36,000x, so an hour-long job takes a tenth of a second.
    pub async fn start() -> TestServer {
        TestServer::start_ahead(0).await
    }

    /// The directory of the server's embedded store.
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// As [`TestServer::start`], with the server's clock `offset_ms` ahead of the wall clock.
    pub async fn start_ahead(offset_ms: i64) -> TestServer {
        TestServer::start_with(|cfg| ServeConfig { clock_offset_ms: offset_ms, ..cfg }).await
    }

    /// As [`TestServer::start`], with the configuration changed by `change` (e.g. a tiny queue).
    pub async fn start_with(change: impl FnOnce(ServeConfig) -> ServeConfig) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let cfg = change(demo_config(dir.path()));
        let state = suanli_server::build_state(&cfg).await.unwrap();
        TestServer::seeded(state, dir, cfg.tick).await
    }

    /// As [`TestServer::start`], with a year of hourly energy telemetry before the last week's, as
    /// `serve --demo` seeds it: annualised PUE, the new-centre rule and lifecycle recommendations
    /// have data.
    pub async fn start_with_energy_year() -> TestServer {
        TestServer::start_with_energy_year_and(|cfg| cfg).await
    }

    /// As [`TestServer::start_with_energy_year`], with the configuration changed by `change`.
    pub async fn start_with_energy_year_and(change: impl FnOnce(ServeConfig) -> ServeConfig) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let cfg = change(demo_config(dir.path()));
        let state = suanli_server::build_state(&cfg).await.unwrap();
        TestServer::seeded_with(state, dir, cfg.tick, 365).await
    }

    /// Seeds the demo city into a built state and serves it.
    async fn seeded(state: AppState, dir: TempDir, tick: Duration) -> TestServer {
        TestServer::seeded_with(state, dir, tick, 0).await
    }

    /// As [`TestServer::seeded`], with `history_days` of hourly energy telemetry.
    async fn seeded_with(state: AppState, dir: TempDir, tick: Duration, history_days: i64) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (_, tokens) = suanli_server::demo::seed_with_history(&state, dir.path(), &url, history_days).await.unwrap();
        TestServer::serve(state, listener, url, tokens.into_iter().collect(), dir, tick)
    }

    /// As [`TestServer::start`], on PostgreSQL in a schema of its own (dropped by the caller
    /// with [`suanli_store::Store::drop_schema`]); answers the server and the schema.
    pub async fn start_pg() -> (TestServer, String) {
        let dir = tempfile::tempdir().unwrap();
        let schema = unique_schema("srv");
        let store = pg_store(&schema).await;
        let cfg = demo_config(dir.path());
        let state = suanli_server::state_for_store(&cfg, store).await.unwrap();
        (TestServer::seeded(state, dir, cfg.tick).await, schema)
    }

    /// A platform outside the demo: no city, no simulated backend, one operator (token under
    /// "operator"), as `suanli bootstrap` leaves a new installation.
    pub async fn start_empty() -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let cfg = ServeConfig { tick: Duration::from_millis(20), ..ServeConfig::at(dir.path()) };
        let token = suanli_server::bootstrap_operator(&cfg, "operator").await.unwrap();
        let state = suanli_server::build_state(&cfg).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        TestServer::serve(state, listener, url, [("operator".to_string(), token)].into(), dir, cfg.tick)
    }

    fn serve(
        state: AppState,
        listener: tokio::net::TcpListener,
        url: String,
        tokens: HashMap<String, String>,
        dir: TempDir,
        tick: Duration,
    ) -> TestServer {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let mut rx2 = rx.clone();
        tokio::spawn(state.engine.clone().run(tick, async move {
            let _ = rx2.changed().await;
        }));
        let app = suanli_server::router(state.clone());
        let mut rx3 = rx.clone();
        // The production accept loop, with its connection limit and header-read timeout.
        tokio::spawn(async move {
            let stop = async move {
                let _ = rx3.changed().await;
            };
            suanli_server::serve_listener(listener, app, suanli_server::ConnLimits::default(), stop).await.unwrap();
        });
        TestServer { url, tokens, state, dir, stop: Some(tx) }
    }

    pub fn as_role(&self, role: &str) -> Api {
        Api::new(&self.url, Some(self.tokens[role].clone()))
    }

    pub fn anonymous(&self) -> Api {
        Api::new(&self.url, None)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(true);
        }
    }
}

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl Api {
    pub fn new(url: &str, token: Option<String>) -> Api {
        Api { http: reqwest::Client::new(), url: url.to_string(), token }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn with_token(&self, token: &str) -> Api {
        Api { token: Some(token.to_string()), ..self.clone() }
    }

    /// The request with this client's token, if it has one.
    fn authed(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = self.authed(req).send().await.expect("request reaches the test server");
        let status = resp.status();
        let ctype = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if !status.is_success() {
            assert_eq!(ctype, "application/problem+json", "error responses are problem+json: {body}");
            assert_eq!(body["status"].as_u64(), Some(status.as_u16() as u64), "problem status matches HTTP status: {body}");
            assert!(body["code"].as_str().is_some_and(|c| !c.is_empty()), "problems carry a code: {body}");
        }
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.http.get(format!("{}{path}", self.url))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(self.http.post(format!("{}{path}", self.url)).json(body)).await
    }

    /// A POST with an `Idempotency-Key`; answers also the `Idempotent-Replayed` header.
    pub async fn post_keyed(&self, path: &str, body: &Value, key: &str) -> (StatusCode, Value, Option<String>) {
        let req = self.authed(self.http.post(format!("{}{path}", self.url)).header("idempotency-key", key).json(body));
        let resp = req.send().await.expect("request reaches the test server");
        let replayed = resp.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap().to_string());
        let status = resp.status();
        (status, serde_json::from_str(&resp.text().await.unwrap()).unwrap_or(Value::Null), replayed)
    }

    pub async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(self.http.put(format!("{}{path}", self.url)).json(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(self.http.patch(format!("{}{path}", self.url)).json(body)).await
    }

    pub async fn post_raw(&self, path: &str, body: &str, content_type: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.post(format!("{}{path}", self.url)).body(body.to_string());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        self.send(req).await
    }

    pub async fn put_raw(&self, path: &str, body: Vec<u8>, content_type: &str) -> (StatusCode, Value) {
        self.send(self.http.put(format!("{}{path}", self.url)).body(body).header("content-type", content_type)).await
    }

    /// A GET answering the raw body and its content type (downloads).
    pub async fn get_bytes(&self, path: &str) -> (StatusCode, String, Vec<u8>) {
        let resp = self.authed(self.http.get(format!("{}{path}", self.url))).send().await.expect("request reaches the test server");
        let status = resp.status();
        let ctype = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        (status, ctype, resp.bytes().await.unwrap().to_vec())
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.http.delete(format!("{}{path}", self.url))).await
    }
}

/// Polls a job until it is in a final state or the time runs out.
pub async fn wait_for_final(api: &Api, id: &str, within: Duration) -> Value {
    let end = tokio::time::Instant::now() + within;
    loop {
        let (s, v) = api.get(&format!("/api/v1/jobs/{id}")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        if matches!(v["state"].as_str(), Some("succeeded" | "failed" | "cancelled")) {
            return v;
        }
        assert!(tokio::time::Instant::now() < end, "job {id} did not finish in {within:?}; it is {}", v["state"]);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A placed job's estimated run on its pool, in its own seconds (its reference duration over
/// the accelerator's speed), from the placement's explanation: what a backend runs and meters.
pub async fn run_estimate_s(api: &Api, id: &str) -> f64 {
    let (s, v) = api.get(&format!("/api/v1/jobs/{id}/explain")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["decision"]["chosen"]["run_s"].as_f64().unwrap_or_else(|| panic!("no run_s in the explanation: {v}"))
}

/// Registers a partner intelligent-computing centre of `provider` in Xihu with one node of 8
/// `model` accelerators at `price` yuan an hour; returns its id.
pub async fn partner_centre(op: &Api, provider: &serde_json::Value, name: &str, model: &str, price: &str) -> String {
    let body = serde_json::json!({"provider_id": provider, "name": name, "kind": "intelligent-computing", "region": "hz-xihu", "partner_status": "partner",
                      "commissioned": "2024-06-01", "declared_pue": 1.2, "racks": 120});
    let id = op.post("/api/v1/centres", &body).await.1["id"].as_str().unwrap().to_string();
    let pool = serde_json::json!({"accelerator": model, "nodes": 1, "accelerators_per_node": 8, "price_per_hour": price});
    assert_eq!(op.post(&format!("/api/v1/centres/{id}/pools"), &pool).await.0, reqwest::StatusCode::CREATED);
    id
}

/// A real component a test needs is missing. Under CI (`CI` set, as `.ci/run` runs) that fails
/// the test: a green run must mean the real thing ran. On a developer's machine it prints a loud
/// SKIPPED and the caller returns.
pub fn missing(test: &str, why: &str) {
    let line = "!".repeat(100);
    if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0") {
        panic!("{test}: a real component is missing under CI: {why}");
    }
    eprintln!("\n{line}\n!!! SKIPPED {test}: {why}\n{line}\n");
}

/// Runs the CLI as a role against a test server: (success, stdout, stderr).
pub async fn cli(s: &TestServer, role: &str, args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_suanli"))
        .args(["--server", &s.url, "--token", &s.tokens[role]])
        .args(args)
        .output()
        .await
        .expect("the CLI runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A browser-like client of the web UI: a web session from signing in with a token, its cookie,
/// and the form token it must send with every post (and an `Origin` of the platform itself).
#[derive(Clone)]
pub struct Web {
    pub http: reqwest::Client,
    pub url: String,
    pub cookie: String,
    pub csrf: String,
}

/// The value of the first hidden `csrf` input of a page.
pub fn csrf_in(page: &str) -> Option<String> {
    let at = page.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    Some(page[at..].split('"').next()?.to_string())
}

/// `name=value` of a `Set-Cookie` header naming `name`.
pub fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
}

impl Web {
    /// Signs in as a browser would: the sign-in page's pre-session cookie and form token, then
    /// the token posted from the platform's own origin. `Err` carries the refusal's status.
    pub async fn sign_in(url: &str, token: &str) -> Result<Web, StatusCode> {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let r = http.get(format!("{url}/sign-in")).send().await.unwrap();
        let pre = set_cookie(&r, "suanli_presession").expect("the sign-in page sets a pre-session cookie");
        let csrf = csrf_in(&r.text().await.unwrap()).expect("the sign-in form carries a token");
        let r = http
            .post(format!("{url}/sign-in"))
            .header("cookie", &pre)
            .header("origin", url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={token}&csrf={csrf}"))
            .send()
            .await
            .unwrap();
        if r.status() != StatusCode::SEE_OTHER {
            return Err(r.status());
        }
        let cookie = set_cookie(&r, "suanli_session").expect("a session cookie");
        // The page signing in lands on (an expert's is its assignments).
        let home = r.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or("/").to_string();
        let page = http.get(format!("{url}{home}")).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
        let csrf = csrf_in(&page).expect("signed-in pages carry the form token");
        Ok(Web { http, url: url.to_string(), cookie, csrf })
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.url)).header("cookie", &self.cookie).send().await.unwrap()
    }

    pub async fn page(&self, path: &str) -> String {
        self.get(path).await.text().await.unwrap()
    }

    /// Posts a form with a file (`multipart/form-data`, as a browser sends it): the fields, then
    /// `file` under `field` named `filename`, with the session's token.
    pub async fn post_file(&self, path: &str, fields: &[(&str, &str)], field: &str, filename: &str, file: &[u8]) -> reqwest::Response {
        const B: &str = "----SuanliTestBoundary7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (k, v) in [("csrf", self.csrf.as_str())].into_iter().chain(fields.iter().copied()) {
            body.extend(format!("--{B}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").into_bytes());
        }
        body.extend(
            format!("--{B}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: text/csv\r\n\r\n")
                .into_bytes(),
        );
        body.extend_from_slice(file);
        body.extend(format!("\r\n--{B}--\r\n").into_bytes());
        self.http
            .post(format!("{}{path}", self.url))
            .header("cookie", &self.cookie)
            .header("origin", &self.url)
            .header("content-type", format!("multipart/form-data; boundary={B}"))
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Posts a form (`a=1&b=2`) with the session's token, from the platform's own origin.
    pub async fn post(&self, path: &str, form: &str) -> reqwest::Response {
        let body = if form.is_empty() { format!("csrf={}", self.csrf) } else { format!("{form}&csrf={}", self.csrf) };
        self.http
            .post(format!("{}{path}", self.url))
            .header("cookie", &self.cookie)
            .header("origin", &self.url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

/// The URL a spawned `suanli serve` prints once it listens (its stdout is read to the end by a
/// thread of its own, so the child never blocks on a full pipe).
pub fn printed_url(child: &mut std::process::Child, within: Duration) -> String {
    use std::io::{BufRead, BufReader};
    let stdout = child.stdout.take().expect("serve's stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(i) = line.find("http://") {
                let _ = tx.send(line[i..].trim().to_string());
            }
        }
    });
    rx.recv_timeout(within).unwrap_or_else(|_| panic!("serve printed no URL within {within:?}"))
}
