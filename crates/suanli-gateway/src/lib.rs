//! Suanli's OpenAI-compatible model gateway: a call's key, limits, hold, route with failover, streaming relay and charge.
//!
//! One call, in order: the bearer secret is looked up by its SHA-256 among the tenant keys;
//! the body is read as OpenAI defines it; the key's scope, expiry, rate limits (requests and
//! tokens per minute) and the model's context are checked; the hold for the most the call can
//! cost is placed in the ledger (which refuses past the key's budget or the tenant's money);
//! the model's deployments (then the key's fallback models') are routed and tried in order,
//! retrying on 408/429/5xx, timeouts and garbage; a stream fails over only before its first
//! event reaches the client. When the call ends, the charge for the tokens served is posted
//! with its usage record in one commit, and the route taken is kept for `explain`.
//!
//! Handlers parse nothing of their own: they hand over the endpoint, the bearer secret and
//! the bytes, and send back what [`Gateway::call`] answers.

pub mod catalogue;
pub mod limits;
pub mod meter;
pub mod openai;
pub mod route;
pub mod sim;
mod upstream;

use upstream::{Attempt, to_base64};

use bytes::Bytes;
use catalogue::{Dep, Entry, Live, Snapshot};
use meter::Hold;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::CallId;
use suanli_core::model::{CallStatus, Endpoint, ModelCall, ModelKey, UsageSource, estimate_tokens};
use suanli_core::region::Regions;
use suanli_core::time::Clock;
use suanli_dispatch::ids::Ids;
use suanli_store::{LedgerService, Store, StoreResult};
use tokio::sync::mpsc;

/// The longest a call can take from its hold to its charge: its hold times out then, so a call
/// that started longer ago than this has its usage record, or never will (settlement counts on it).
pub const MAX_CALL_MS: i64 = 30 * 60_000;

/// How the gateway talks to upstreams and treats their failures.
#[derive(Debug, Clone)]
pub struct Config {
    pub connect_timeout: Duration,
    /// Until the response headers (non-streamed) or the first event (streamed).
    pub first_byte_timeout: Duration,
    /// Between two events of a stream, and for a whole non-streamed body.
    pub idle_timeout: Duration,
    /// How long a failing deployment is left out.
    pub cooldown: Duration,
    /// Failures in a row that start a cooldown.
    pub failures_to_cool: u32,
    /// The most deployments one call tries.
    pub max_attempts: usize,
    /// How often the catalogue and keys are reloaded (other replicas' changes) and cooling
    /// deployments are probed.
    pub refresh: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            connect_timeout: Duration::from_secs(2),
            first_byte_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            cooldown: Duration::from_secs(15),
            failures_to_cool: 2,
            max_attempts: 4,
            refresh: Duration::from_secs(5),
        }
    }
}

/// A refused or failed call: the platform error (its code is OpenAI's `code`), the request
/// parameter at fault, and when to retry.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub error: Error,
    pub param: Option<&'static str>,
    pub retry_after_s: Option<u64>,
    /// The call id, when the call got that far (a failed call has a usage record).
    pub request_id: Option<String>,
}

impl From<Error> for Refusal {
    fn from(error: Error) -> Refusal {
        Refusal { error, param: None, retry_after_s: None, request_id: None }
    }
}

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        Error::new(code, message).into()
    }
    /// OpenAI's error body.
    pub fn body(&self) -> Value {
        openai::error_body(&self.error, self.param)
    }
    pub fn status(&self) -> u16 {
        openai::status(self.error.code)
    }
}

/// What a call answers.
#[derive(Debug)]
pub enum Answer {
    Json {
        request_id: String,
        body: Bytes,
    },
    /// SSE bytes, already framed, ending with `data: [DONE]` (or an error event).
    Stream {
        request_id: String,
        events: mpsc::Receiver<Bytes>,
    },
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Stats {
    pub calls: AtomicU64,
    pub refused: AtomicU64,
    pub failed: AtomicU64,
    pub retries: AtomicU64,
    pub input_tokens: AtomicU64,
    pub output_tokens: AtomicU64,
}

/// A deployment's live state, for `/metrics` and the model pages.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeploymentHealth {
    pub deployment: String,
    pub model: String,
    pub centre: String,
    /// Whose centre serves it.
    pub provider: String,
    pub in_flight: u32,
    /// Moving average of time to first token.
    pub ewma_ttft_ms: Option<f64>,
    pub cooldown_until_ms: Option<i64>,
    pub served: u64,
    pub failed: u64,
    /// The last health check: what it found, when (unix ms), how long it took, why it failed.
    pub probe: route::Probe,
    pub probed_ms: Option<i64>,
    pub probe_ms: Option<f64>,
    pub probe_error: Option<String>,
}

/// The gateway. Cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    ledger: LedgerService,
    regions: Arc<Regions>,
    clock: Arc<dyn Clock>,
    ids: Ids,
    http: reqwest::Client,
    config: Config,
    snapshot: RwLock<Arc<Snapshot>>,
    lives: Mutex<HashMap<String, Arc<Live>>>,
    limiter: limits::Limiter,
    seq: AtomicU64,
    stats: Stats,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gateway")
    }
}

/// SHA-256 of a secret, hex: how keys are stored and looked up.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A call's progress, for its usage record and explanation.
struct Trace {
    id: String,
    started: Instant,
    started_ms: i64,
    chain: Vec<Value>,
    attempts: Vec<Value>,
    /// Tokens taken from the key's per-minute allowance (what was not used goes back).
    tokens: u64,
}

impl Trace {
    fn route_json(&self, hold: &Hold, served_by: Option<&str>) -> Value {
        json!({"chain": self.chain, "attempts": self.attempts, "served_by": served_by, "hold": hold.estimate.to_yuan_string()})
    }
}

impl Gateway {
    pub async fn start(
        store: Store,
        ledger: LedgerService,
        regions: Arc<Regions>,
        clock: Arc<dyn Clock>,
        ids: Ids,
        config: Config,
    ) -> StoreResult<Gateway> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(1024)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| suanli_store::StoreError::Corrupt(format!("http client: {e}")))?;
        let gw = Gateway {
            inner: Arc::new(Inner {
                store,
                ledger,
                regions,
                clock,
                ids,
                http,
                config,
                snapshot: RwLock::new(Arc::new(Snapshot::default())),
                lives: Mutex::new(HashMap::new()),
                limiter: limits::Limiter::default(),
                seq: AtomicU64::new(0),
                stats: Stats::default(),
            }),
        };
        gw.reload().await?;
        let weak = Arc::downgrade(&gw.inner);
        let every = gw.inner.config.refresh;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                let gw = Gateway { inner };
                if let Err(e) = gw.reload().await {
                    tracing::warn!(error = %e, "reloading the model catalogue failed; keeping the last one");
                }
                gw.probe().await;
            }
        });
        Ok(gw)
    }

    /// Reads the catalogue, keys and voucher terms again (call after changing them).
    pub async fn reload(&self) -> StoreResult<()> {
        let now = self.inner.clock.now_ms();
        let mut lives = std::mem::take(&mut *self.inner.lives.lock().unwrap_or_else(|e| e.into_inner()));
        let result = Snapshot::load(&self.inner.store, &mut lives, now).await;
        *self.inner.lives.lock().unwrap_or_else(|e| e.into_inner()) = lives;
        let snap = result?;
        *self.inner.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snap);
        Ok(())
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.snapshot.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// Every deployment's live state, by deployment id.
    pub fn health(&self) -> Vec<DeploymentHealth> {
        let snap = self.snapshot();
        let mut out: Vec<_> = snap
            .models
            .values()
            .flat_map(|e| e.deployments.iter())
            .map(|d| {
                let l = &d.live;
                let cool = l.cooldown_until_ms.load(Ordering::Relaxed);
                let (probe, probed_ms, probe_ms, probe_error) = l.last_probe();
                DeploymentHealth {
                    deployment: d.d.id.clone(),
                    model: d.d.model.clone(),
                    centre: d.d.spec.centre_id.to_string(),
                    provider: d.server.provider.to_string(),
                    in_flight: l.in_flight.load(Ordering::Relaxed),
                    ewma_ttft_ms: l.ewma_ttft_ms(),
                    cooldown_until_ms: (cool > 0).then_some(cool),
                    served: l.served.load(Ordering::Relaxed),
                    failed: l.failed.load(Ordering::Relaxed),
                    probe,
                    probed_ms,
                    probe_ms: probe_ms.map(round2),
                    probe_error,
                }
            })
            .collect();
        out.sort_by(|a, b| a.deployment.cmp(&b.deployment));
        out
    }

    /// Health checks: every deployment is asked `GET /models` at once, every refresh. One that
    /// answers (2xx, or 404/405 from a server without a model list) is up, and takes calls
    /// again before its cooldown ends; one that does not is down, and the failure counts toward
    /// its cooldown like a failed call's (so a dead upstream leaves the route before a tenant's
    /// call finds it).
    pub async fn probe(&self) {
        let snap = self.snapshot();
        let mut checks = tokio::task::JoinSet::new();
        for d in snap.models.values().flat_map(|e| e.deployments.iter()) {
            let (gw, d) = (self.clone(), d.clone());
            checks.spawn(async move { gw.probe_one(&d).await });
        }
        while checks.join_next().await.is_some() {}
    }

    async fn probe_one(&self, d: &Dep) {
        let inner = &self.inner;
        let url = format!("{}/models", d.d.spec.base_url.trim_end_matches('/'));
        let mut req = inner.http.get(url).timeout(Duration::from_secs(2));
        if let Some(k) = &d.d.spec.upstream_key {
            req = req.bearer_auth(k);
        }
        let t0 = Instant::now();
        let error = match req.send().await {
            Ok(r) if r.status().is_success() || matches!(r.status().as_u16(), 404 | 405) => None,
            Ok(r) => Some(format!("answered {}", r.status().as_u16())),
            Err(e) if e.is_timeout() => Some("no answer within 2 s".to_string()),
            Err(e) if e.is_connect() => Some("connection refused or unreachable".to_string()),
            Err(_) => Some("the request failed".to_string()),
        };
        let now = inner.clock.now_ms();
        let failed = error.is_some();
        d.live.probed(now, t0.elapsed().as_micros() as u64, error);
        if failed {
            d.live.probe_failed(inner.config.failures_to_cool, now + inner.config.cooldown.as_millis() as i64);
        } else if d.live.consecutive_failures.load(Ordering::Relaxed) > 0 {
            d.live.recovered();
        }
    }

    /// Models the key may call, for `GET /v1/models`.
    pub fn list_models(&self, secret: Option<&str>) -> Result<Value, Refusal> {
        let key = self.key(secret)?;
        let snap = self.snapshot();
        let mut data: Vec<Value> = snap
            .models
            .values()
            .filter(|e| key.spec.models.is_empty() || key.spec.models.contains(&e.model.name))
            .map(|e| json!({"id": e.model.name, "object": "model", "created": e.model.created_ms / 1000, "owned_by": e.model.provider_id}))
            .collect();
        data.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        Ok(json!({"object": "list", "data": data}))
    }

    /// One model, for `GET /v1/models/{id}`.
    pub fn get_model(&self, secret: Option<&str>, name: &str) -> Result<Value, Refusal> {
        let list = self.list_models(secret)?;
        list["data"].as_array().and_then(|d| d.iter().find(|m| m["id"] == name)).cloned().ok_or_else(|| Refusal {
            param: Some("model"),
            ..Refusal::new(ErrorCode::ModelNotFound, format!("The model '{name}' does not exist or this key may not use it"))
        })
    }

    fn key(&self, secret: Option<&str>) -> Result<Arc<ModelKey>, Refusal> {
        let Some(secret) = secret.filter(|s| !s.is_empty()) else {
            return Err(Refusal::new(ErrorCode::Unauthenticated, "No API key provided: send 'Authorization: Bearer sk-sl-…'"));
        };
        let snap = self.snapshot();
        let key = snap.keys.get(&secret_hash(secret)).cloned().ok_or_else(|| {
            let shown: String = secret.chars().take(8).collect();
            Refusal::new(ErrorCode::Unauthenticated, format!("Incorrect API key provided: {shown}…"))
        })?;
        key.usable(self.inner.clock.now_ms())?;
        Ok(key)
    }

    /// Serves one call.
    pub async fn call(&self, endpoint: Endpoint, secret: Option<&str>, body: &[u8]) -> Result<Answer, Refusal> {
        let r = self.call_inner(endpoint, secret, body).await;
        let s = &self.inner.stats;
        match &r {
            Ok(_) => s.calls.fetch_add(1, Ordering::Relaxed),
            Err(e) if e.request_id.is_some() => s.failed.fetch_add(1, Ordering::Relaxed),
            Err(_) => s.refused.fetch_add(1, Ordering::Relaxed),
        };
        r
    }

    async fn call_inner(&self, endpoint: Endpoint, secret: Option<&str>, body: &[u8]) -> Result<Answer, Refusal> {
        let inner = &self.inner;
        let started = Instant::now();
        let now = inner.clock.now_ms();
        let key = self.key(secret)?;
        let req = openai::parse(endpoint, body)?;
        key.check(&req.model, now).map_err(|e| Refusal { param: Some("model"), ..e.into() })?;
        let snap = self.snapshot();
        let not_found = |m: &str| Refusal {
            param: Some("model"),
            ..Refusal::new(ErrorCode::ModelNotFound, format!("The model '{m}' does not exist or this key may not use it"))
        };
        let entry = snap.models.get(&req.model).cloned().ok_or_else(|| not_found(&req.model))?;
        if !entry.model.spec.serves(endpoint) {
            return Err(Refusal {
                param: Some("model"),
                ..Refusal::new(ErrorCode::InvalidBody, format!("The model '{}' does not serve {}", req.model, endpoint.path()))
            });
        }
        let context = entry.model.spec.context_tokens as u64;
        let max_out = match endpoint {
            Endpoint::Embeddings => 0,
            _ => req.max_tokens.unwrap_or_else(|| openai::DEFAULT_MAX_TOKENS.min(context.saturating_sub(req.prompt_tokens)).max(1)),
        };
        if req.prompt_tokens + max_out > context {
            return Err(Refusal {
                param: Some("messages"),
                ..Refusal::new(
                    ErrorCode::ContextLengthExceeded,
                    format!(
                        "This model's maximum context length is {context} tokens; the request asks for about {} ({} in the prompt, {max_out} for the completion)",
                        req.prompt_tokens + max_out,
                        req.prompt_tokens
                    ),
                )
            });
        }
        let tokens = req.prompt_tokens + max_out;
        if let Err(r) = inner.limiter.take(&key.id, key.spec.rpm, key.spec.tpm, tokens, now) {
            let message = if r.retry_after_ms < 0 {
                format!("The request needs about {tokens} tokens, more than the key's {} per minute", key.spec.tpm)
            } else {
                format!("Rate limit reached for key {}… on {}; retry in {:.1} s", key.prefix, r.what, r.retry_after_ms as f64 / 1000.0)
            };
            return Err(Refusal {
                retry_after_s: (r.retry_after_ms >= 0).then(|| (r.retry_after_ms as u64).div_ceil(1000).max(1)),
                ..Refusal::new(ErrorCode::RateLimited, message)
            });
        }
        // The model, then the key's fallbacks that exist and serve this endpoint.
        let mut chain: Vec<Arc<Entry>> = vec![entry];
        for f in &key.spec.fallbacks {
            if let Some(e) = snap.models.get(f).filter(|e| e.model.spec.serves(endpoint) && !chain.iter().any(|c| c.model.name == *f)) {
                chain.push(e.clone());
            }
        }
        let estimate = chain
            .iter()
            .flat_map(|e| e.deployments.iter())
            .filter(|d| key.allows_region(&inner.regions, &d.region))
            .map(|d| d.d.spec.price(req.prompt_tokens, max_out))
            .max()
            .unwrap_or_default();
        let (t, e) = inner.ids.parts();
        let id = CallId::generate(t, e).to_string();
        let trace = Trace { id: id.clone(), started, started_ms: now, chain: Vec::new(), attempts: Vec::new(), tokens };
        let timeout_ms = MAX_CALL_MS;
        let hold = meter::reserve(&inner.ledger, Hold::new(&id, &key.tenant_id, &key.id, estimate, snap.terms.clone()), now, timeout_ms)
            .await
            .inspect_err(|_| inner.limiter.give_back(&key.id, key.spec.tpm, tokens))
            .map_err(|e| Refusal { retry_after_s: None, ..e.into() })?;
        self.forward(key, req, max_out, chain, hold, trace).await
    }

    /// Tries the chain's deployments in routing order until one answers.
    async fn forward(
        &self,
        key: Arc<ModelKey>,
        req: openai::Request,
        max_out: u64,
        chain: Vec<Arc<Entry>>,
        hold: Hold,
        mut trace: Trace,
    ) -> Result<Answer, Refusal> {
        let inner = &self.inner;
        let mut last: Option<Refusal> = None;
        let mut tries = 0usize;
        for entry in &chain {
            let candidates: Vec<_> = entry.deployments.iter().map(|d| d.candidate(&key, &inner.regions)).collect();
            let seed = inner.seq.fetch_add(1, Ordering::Relaxed) ^ (trace.started_ms as u64).rotate_left(17);
            let route = route::route(entry.model.spec.routing, &candidates, inner.clock.now_ms(), seed);
            trace.chain.push(json!({"model": entry.model.name, "strategy": route.strategy, "candidates": candidates, "order": route.order, "excluded": route.excluded}));
            for dep_id in &route.order {
                if tries >= inner.config.max_attempts {
                    break;
                }
                let Some(dep) = entry.deployments.iter().find(|d| &d.d.id == dep_id) else { continue };
                // Taken just now by other calls.
                if dep.live.in_flight.fetch_add(1, Ordering::AcqRel) >= dep.d.spec.max_concurrency {
                    dep.live.in_flight.fetch_sub(1, Ordering::AcqRel);
                    trace.attempts.push(json!({"deployment": dep.d.id, "outcome": "at_concurrency_limit", "ms": 0}));
                    continue;
                }
                tries += 1;
                if tries > 1 {
                    inner.stats.retries.fetch_add(1, Ordering::Relaxed);
                }
                let t0 = Instant::now();
                let attempt = self.attempt(dep, &req, &entry.model.name).await;
                let ms = t0.elapsed().as_secs_f64() * 1000.0;
                match attempt {
                    Attempt::Done { body, ttft_us } => {
                        dep.live.in_flight.fetch_sub(1, Ordering::AcqRel);
                        dep.live.record_success(ttft_us);
                        trace.attempts.push(json!({"deployment": dep.d.id, "outcome": "served", "ms": round2(ms)}));
                        return self.finish_json(&key, &req, dep, body, hold, trace, ttft_us).await;
                    }
                    Attempt::Streaming { first, rest, reader, ttft_us } => {
                        dep.live.record_success(ttft_us);
                        trace.attempts.push(json!({"deployment": dep.d.id, "outcome": "streaming", "ms": round2(ms)}));
                        return Ok(self.relay(key, req, max_out, dep.clone(), hold, trace, first, rest, reader, ttft_us));
                    }
                    Attempt::Retry { why, code, retry_after_s } => {
                        dep.live.in_flight.fetch_sub(1, Ordering::AcqRel);
                        let cool_s = retry_after_s.map_or(inner.config.cooldown.as_secs_f64(), |s| s as f64);
                        dep.live.record_failure(
                            inner.config.failures_to_cool,
                            inner.clock.now_ms() + (cool_s * 1000.0) as i64,
                            retry_after_s.is_some(),
                        );
                        tracing::debug!(deployment = %dep.d.id, %why, "upstream attempt failed; trying the next deployment");
                        trace.attempts.push(
                            json!({"deployment": dep.d.id, "outcome": "failed", "error": code.as_str(), "why": why, "ms": round2(ms)}),
                        );
                        last = Some(Refusal::new(code, format!("The model's upstream failed: {why}")));
                    }
                    Attempt::Rejected { status, message } => {
                        dep.live.in_flight.fetch_sub(1, Ordering::AcqRel);
                        trace.attempts.push(json!({"deployment": dep.d.id, "outcome": "rejected", "status": status, "ms": round2(ms)}));
                        let r =
                            Refusal::new(ErrorCode::InvalidBody, format!("The model's upstream refused the request ({status}): {message}"));
                        return Err(self.fail(&key, &req, hold, trace, r).await);
                    }
                }
            }
        }
        let r = last.unwrap_or_else(|| {
            Refusal::new(
                ErrorCode::NoDeployment,
                format!("No deployment of '{}' can take the call now (see the call's explanation)", req.model),
            )
        });
        Err(self.fail(&key, &req, hold, trace, r).await)
    }

    /// Charges a whole answer and hands it over.
    #[allow(clippy::too_many_arguments)]
    async fn finish_json(
        &self,
        key: &ModelKey,
        req: &openai::Request,
        dep: &Dep,
        mut body: Value,
        hold: Hold,
        trace: Trace,
        ttft_us: u64,
    ) -> Result<Answer, Refusal> {
        let (input, output, source) = match openai::usage_of(&body) {
            Some((i, o)) => (i, o, UsageSource::Upstream),
            None => (req.prompt_tokens, estimate_tokens(&openai::response_text(&body)), UsageSource::Estimate),
        };
        if req.endpoint == Endpoint::Embeddings && req.base64 {
            to_base64(&mut body);
        }
        let charge = dep.d.spec.price(input, output);
        let request_id = trace.id.clone();
        self.record(key, req, Some(dep), hold, trace, CallStatus::Ok, (input, output, source), charge, Some(ttft_us), None).await?;
        Ok(Answer::Json { request_id, body: Bytes::from(serde_json::to_vec(&body).unwrap_or_default()) })
    }

    /// Writes a call's usage record with its charge; answers with the record's id.
    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        key: &ModelKey,
        req: &openai::Request,
        dep: Option<&Dep>,
        hold: Hold,
        trace: Trace,
        status: CallStatus,
        usage: (u64, u64, UsageSource),
        charge: suanli_core::money::Fen,
        ttft_us: Option<u64>,
        error: Option<ErrorCode>,
    ) -> Result<Arc<ModelCall>, Refusal> {
        let inner = &self.inner;
        let (input, output, source) = usage;
        inner.stats.input_tokens.fetch_add(input, Ordering::Relaxed);
        inner.stats.output_tokens.fetch_add(output, Ordering::Relaxed);
        let record = ModelCall {
            id: trace.id.clone(),
            key_id: key.id.clone(),
            tenant_id: key.tenant_id.clone(),
            model: req.model.clone(),
            endpoint: req.endpoint,
            deployment: dep.map(|d| d.d.id.clone()),
            provider_id: dep.map(|d| d.server.provider.clone()),
            status,
            input_tokens: input,
            output_tokens: output,
            usage_source: source,
            charge: suanli_core::money::Fen::ZERO,
            voucher: suanli_core::money::Fen::ZERO,
            cash: suanli_core::money::Fen::ZERO,
            programme_id: None,
            started_ms: trace.started_ms,
            ttft_ms: ttft_us.map(|us| (us / 1000) as i64),
            duration_ms: trace.started.elapsed().as_millis() as i64,
            route: trace.route_json(&hold, dep.map(|d| d.d.id.as_str())),
            error_code: error.map(|c| c.as_str().to_string()),
        };
        inner.limiter.give_back(&key.id, key.spec.tpm, trace.tokens.saturating_sub(input + output));
        meter::settle(&inner.ledger, &hold, charge, dep.map(|d| &d.server), record, inner.clock.now_ms()).await.map_err(|e| {
            tracing::error!(call = %trace.id, error = %e, "recording a model call's charge failed; its hold will expire");
            Refusal { request_id: Some(trace.id.clone()), ..e.into() }
        })
    }

    /// Records a call that served nothing (its hold is released) and answers its refusal.
    async fn fail(&self, key: &ModelKey, req: &openai::Request, hold: Hold, trace: Trace, mut r: Refusal) -> Refusal {
        let id = trace.id.clone();
        let code = r.error.code;
        if let Err(e) = self
            .record(
                key,
                req,
                None,
                hold,
                trace,
                CallStatus::Failed,
                (0, 0, UsageSource::Estimate),
                suanli_core::money::Fen::ZERO,
                None,
                Some(code),
            )
            .await
        {
            return e;
        }
        r.request_id = Some(id);
        r
    }
}

fn round2(ms: f64) -> f64 {
    (ms * 100.0).round() / 100.0
}
