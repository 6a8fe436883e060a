//! Talking to an upstream: one attempt at a deployment (a whole answer, or a stream up to its first event), and the relay of a stream to the client with its charge when it ends.

use crate::catalogue::Dep;
use crate::meter::Hold;
use crate::{Answer, Gateway, MAX_CALL_MS, Trace, openai};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use suanli_core::error::{Error, ErrorCode};
use suanli_core::model::{CallStatus, Endpoint, ModelKey, UsageSource, estimate_tokens};
use tokio::sync::mpsc;

/// What one upstream attempt gave.
pub(crate) enum Attempt {
    /// A whole JSON answer.
    Done { body: Value, ttft_us: u64 },
    /// A stream whose first events arrived.
    Streaming {
        first: Vec<Vec<u8>>,
        rest: futures_util::stream::BoxStream<'static, reqwest::Result<Bytes>>,
        reader: openai::SseReader,
        ttft_us: u64,
    },
    /// Try the next deployment.
    Retry { why: String, code: ErrorCode, retry_after_s: Option<u64> },
    /// The upstream refused the request itself (a 4xx other than 408/409/429): no retry.
    Rejected { status: u16, message: String },
}

impl Gateway {
    /// Sends the request to one deployment and reads its answer (a stream up to its first event).
    pub(crate) async fn attempt(&self, dep: &Dep, req: &openai::Request, public_model: &str) -> Attempt {
        let inner = &self.inner;
        let url = format!("{}{}", dep.d.spec.base_url.trim_end_matches('/'), req.endpoint.path());
        let mut rb = inner
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&Value::Object(upstream_body(dep, req))).unwrap_or_default());
        if let Some(k) = &dep.d.spec.upstream_key {
            rb = rb.bearer_auth(k);
        }
        let t0 = Instant::now();
        let resp = match tokio::time::timeout(inner.config.first_byte_timeout, rb.send()).await {
            Err(_) => return Attempt::Retry { why: "no answer in time".into(), code: ErrorCode::UpstreamTimeout, retry_after_s: None },
            Ok(Err(e)) => {
                let code = if e.is_timeout() { ErrorCode::UpstreamTimeout } else { ErrorCode::UpstreamError };
                return Attempt::Retry { why: format!("could not reach it ({})", short_error(&e)), code, retry_after_s: None };
            }
            Ok(Ok(r)) => r,
        };
        let resp = match refused(resp).await {
            Ok(resp) => resp,
            Err(attempt) => return attempt,
        };
        if req.stream {
            let deadline = inner.config.first_byte_timeout.saturating_sub(t0.elapsed());
            return first_events(resp, deadline, t0).await;
        }
        whole_answer(resp, inner.config.idle_timeout, public_model, t0.elapsed().as_micros() as u64).await
    }

    /// Relays a stream to the client from a task of its own, and charges for what was served
    /// when it ends (whole, broken off by the upstream, or left by the client).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn relay(
        &self,
        key: Arc<ModelKey>,
        req: openai::Request,
        max_out: u64,
        dep: Arc<Dep>,
        hold: Hold,
        trace: Trace,
        first: Vec<Vec<u8>>,
        rest: futures_util::stream::BoxStream<'static, reqwest::Result<Bytes>>,
        reader: openai::SseReader,
        ttft_us: u64,
    ) -> Answer {
        let (tx, rx) = mpsc::channel::<Bytes>(64);
        let gw = self.clone();
        let request_id = trace.id.clone();
        tokio::spawn(async move {
            let mut served = Served::default();
            gw.pump(&req, &trace, first, rest, reader, &tx, &mut served).await;
            dep.live.in_flight.fetch_sub(1, Ordering::AcqRel);
            gw.settle_stream(key, &req, max_out, &dep, hold, trace, ttft_us, served, &tx).await;
        });
        Answer::Stream { request_id, events: rx }
    }

    /// Forwards the upstream's events to the client until `[DONE]`, an error, silence, the
    /// longest a call may take, or the client leaving; `served` records what went.
    #[allow(clippy::too_many_arguments)]
    async fn pump(
        &self,
        req: &openai::Request,
        trace: &Trace,
        first: Vec<Vec<u8>>,
        mut rest: futures_util::stream::BoxStream<'static, reqwest::Result<Bytes>>,
        mut reader: openai::SseReader,
        tx: &mpsc::Sender<Bytes>,
        served: &mut Served,
    ) {
        let idle = self.inner.config.idle_timeout;
        let mut pending = first;
        loop {
            for data in pending.drain(..) {
                if served.forward(&data, req, tx).await.is_break() {
                    return;
                }
            }
            // A call may not outlive its hold.
            if trace.started.elapsed().as_millis() as i64 > MAX_CALL_MS - 60_000 {
                served.outcome = Err("the stream ran past the longest a call may take".into());
                return;
            }
            match tokio::time::timeout(idle, rest.next()).await {
                Err(_) => served.outcome = Err("the upstream stream went silent".into()),
                Ok(None) => served.outcome = Err("the upstream stream ended without [DONE]".into()),
                Ok(Some(Err(e))) => served.outcome = Err(format!("the upstream stream broke ({})", short_error(&e))),
                Ok(Some(Ok(chunk))) => {
                    pending = reader.feed(&chunk);
                    continue;
                }
            }
            return;
        }
    }

    /// Records the call with what was served (the upstream's usage when the stream ended whole,
    /// else the gateway's estimate), marks a broken deployment, and ends the client's stream:
    /// `[DONE]` (with the gateway's usage chunk if the client asked and the upstream sent none),
    /// or an error event.
    #[allow(clippy::too_many_arguments)]
    async fn settle_stream(
        &self,
        key: Arc<ModelKey>,
        req: &openai::Request,
        max_out: u64,
        dep: &Dep,
        hold: Hold,
        mut trace: Trace,
        ttft_us: u64,
        mut served: Served,
        tx: &mpsc::Sender<Bytes>,
    ) {
        let served_out = estimate_tokens(&served.text);
        let (input, output, source) = match served.usage {
            Some((i, o)) if served.done => (i, o, UsageSource::Upstream),
            _ => (req.prompt_tokens, served_out.min(max_out.max(served_out)), UsageSource::Estimate),
        };
        let status = if served.done { CallStatus::Ok } else { CallStatus::Partial };
        let error = served.outcome.as_ref().err().map(|_| ErrorCode::UpstreamError);
        if let Err(why) = &served.outcome {
            dep.live.record_failure(
                self.inner.config.failures_to_cool,
                self.inner.clock.now_ms() + self.inner.config.cooldown.as_millis() as i64,
                false,
            );
            trace.attempts.push(json!({"deployment": dep.d.id, "outcome": "broke_mid_stream", "why": why}));
        }
        if served.client_gone {
            trace.attempts.push(json!({"deployment": dep.d.id, "outcome": "client_left"}));
        }
        let charge = dep.d.spec.price(input, output);
        let recorded = self.record(&key, req, Some(dep), hold, trace, status, (input, output, source), charge, Some(ttft_us), error).await;
        if served.client_gone {
            return;
        }
        match (served.outcome, recorded) {
            (Ok(()), Ok(_)) => {
                // The client asked for usage and the upstream sent none: the gateway's count.
                if req.include_usage && served.usage.is_none() {
                    served.frame["model"] = Value::String(req.model.clone());
                    served.frame["choices"] = json!([]);
                    served.frame["usage"] = json!({"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output});
                    let _ = tx.send(openai::sse(&served.frame)).await;
                }
                let _ = tx.send(Bytes::from_static(openai::SSE_DONE)).await;
            }
            (Err(why), _) => {
                let e = Error::new(
                    ErrorCode::UpstreamError,
                    format!("The model's upstream failed mid-stream: {why}; billed for what was served"),
                );
                let _ = tx.send(openai::sse(&openai::error_body(&e, None))).await;
            }
            (Ok(()), Err(r)) => {
                let _ = tx.send(openai::sse(&r.body())).await;
            }
        }
    }
}

/// What a relayed stream served: its text and the upstream's usage, how it ended, and the last
/// chunk's id, object and created (for a usage chunk of the gateway's own).
struct Served {
    text: String,
    usage: Option<(u64, u64)>,
    outcome: Result<(), String>,
    done: bool,
    client_gone: bool,
    frame: Value,
}

impl Default for Served {
    fn default() -> Served {
        Served { text: String::new(), usage: None, outcome: Ok(()), done: false, client_gone: false, frame: json!({}) }
    }
}

impl Served {
    /// One upstream event to the client (as the public model, usage only if it asked); breaks
    /// at `[DONE]`, an error or a client that left.
    async fn forward(&mut self, data: &[u8], req: &openai::Request, tx: &mpsc::Sender<Bytes>) -> std::ops::ControlFlow<()> {
        use std::ops::ControlFlow::{Break, Continue};
        if data == b"[DONE]" {
            self.done = true;
            return Break(());
        }
        let Ok(v) = serde_json::from_slice::<Value>(data) else {
            self.outcome = Err("the upstream sent an event that is not JSON".into());
            return Break(());
        };
        if let Some(e) = v.get("error") {
            self.outcome = Err(format!("the upstream failed mid-stream: {e}"));
            return Break(());
        }
        if let Some(u) = openai::usage_of(&v) {
            self.usage = Some(u);
        }
        self.text.push_str(&openai::response_text(&v));
        for k in ["id", "object", "created"] {
            if let Some(x) = v.get(k) {
                self.frame[k] = x.clone();
            }
        }
        let usage_only = v.get("choices").and_then(Value::as_array).is_some_and(|c| c.is_empty());
        if usage_only && !req.include_usage {
            return Continue(());
        }
        let mut v = v;
        v["model"] = Value::String(req.model.clone());
        if !req.include_usage
            && let Some(o) = v.as_object_mut()
        {
            o.remove("usage");
        }
        if tx.send(openai::sse(&v)).await.is_err() {
            self.client_gone = true;
            return Break(());
        }
        Continue(())
    }
}

/// The request's body as the deployment takes it: its upstream model, float embeddings, and
/// usage always asked for on a stream (the client sees it only if it asked).
fn upstream_body(dep: &Dep, req: &openai::Request) -> serde_json::Map<String, Value> {
    let mut body = req.body.clone();
    body.insert("model".into(), Value::String(dep.d.spec.upstream_model.clone()));
    if req.endpoint == Endpoint::Embeddings {
        body.insert("encoding_format".into(), Value::String("float".into()));
    }
    if req.stream {
        let mut so = body.get("stream_options").and_then(Value::as_object).cloned().unwrap_or_default();
        so.insert("include_usage".into(), Value::Bool(true));
        body.insert("stream_options".into(), Value::Object(so));
    }
    body
}

/// The answer when its status says to try elsewhere (408, 409, 429, 5xx) or that the request
/// itself was refused (another 4xx); else the response to read.
async fn refused(resp: reqwest::Response) -> Result<reqwest::Response, Attempt> {
    let status = resp.status().as_u16();
    if status == 408 || status == 409 || status == 429 || status >= 500 {
        let retry_after_s = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
        let code = if status == 408 || status == 504 { ErrorCode::UpstreamTimeout } else { ErrorCode::UpstreamError };
        return Err(Attempt::Retry { why: format!("it answered {status}"), code, retry_after_s: retry_after_s.filter(|_| status == 429) });
    }
    if !(200..300).contains(&status) {
        let text = tokio::time::timeout(Duration::from_secs(5), resp.text()).await.ok().and_then(Result::ok).unwrap_or_default();
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| text.chars().take(300).collect());
        return Err(Attempt::Rejected { status, message });
    }
    Ok(resp)
}

/// A stream read up to its first events within `deadline` (an error as the first event is a
/// failure before any byte).
async fn first_events(resp: reqwest::Response, deadline: Duration, t0: Instant) -> Attempt {
    let mut rest = resp.bytes_stream().boxed();
    let mut reader = openai::SseReader::default();
    let first = tokio::time::timeout(deadline, async {
        loop {
            match rest.next().await {
                None => return Err("the stream ended before its first event".to_string()),
                Some(Err(e)) => return Err(format!("the stream broke before its first event ({})", short_error(&e))),
                Some(Ok(chunk)) => {
                    let events = reader.feed(&chunk);
                    if !events.is_empty() {
                        return Ok(events);
                    }
                    if reader.pending() > openai::MAX_REQUEST_BYTES {
                        return Err("the stream is not server-sent events".to_string());
                    }
                }
            }
        }
    })
    .await;
    match first {
        Err(_) => Attempt::Retry { why: "no first event in time".into(), code: ErrorCode::UpstreamTimeout, retry_after_s: None },
        Ok(Err(why)) => Attempt::Retry { why, code: ErrorCode::UpstreamError, retry_after_s: None },
        Ok(Ok(first)) => {
            if let Some(v) = first.first().and_then(|d| serde_json::from_slice::<Value>(d).ok()).filter(|v| v.get("error").is_some()) {
                return Attempt::Retry {
                    why: format!("its stream began with an error: {}", v["error"]),
                    code: ErrorCode::UpstreamError,
                    retry_after_s: None,
                };
            }
            Attempt::Streaming { first, rest, reader, ttft_us: t0.elapsed().as_micros() as u64 }
        }
    }
}

/// A whole JSON answer read within `idle`, named as the public model; anything not shaped as an
/// OpenAI response is a failure.
async fn whole_answer(resp: reqwest::Response, idle: Duration, public_model: &str, ttft_us: u64) -> Attempt {
    let bytes = match tokio::time::timeout(idle, resp.bytes()).await {
        Err(_) => {
            return Attempt::Retry { why: "the body did not arrive in time".into(), code: ErrorCode::UpstreamTimeout, retry_after_s: None };
        }
        Ok(Err(e)) => {
            return Attempt::Retry {
                why: format!("the body broke off ({})", short_error(&e)),
                code: ErrorCode::UpstreamError,
                retry_after_s: None,
            };
        }
        Ok(Ok(b)) => b,
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut v) if v.is_object() && (v.get("choices").is_some() || v.get("data").is_some()) => {
            v["model"] = Value::String(public_model.to_string());
            Attempt::Done { body: v, ttft_us }
        }
        _ => Attempt::Retry {
            why: "it answered something that is not an OpenAI response".into(),
            code: ErrorCode::UpstreamError,
            retry_after_s: None,
        },
    }
}

/// A transport error's cause without URLs (which may name internal hosts).
pub(crate) fn short_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused or unreachable".into()
    } else if e.is_body() || e.is_decode() {
        "the body broke off".into()
    } else {
        "transport error".into()
    }
}

/// Turns float embeddings into base64 of little-endian f32s, as OpenAI's `encoding_format: base64`.
pub(crate) fn to_base64(body: &mut Value) {
    use base64::Engine;
    if let Some(Value::Array(items)) = body.get_mut("data") {
        for item in items {
            if let Some(Value::Array(floats)) = item.get("embedding") {
                let mut bytes = Vec::with_capacity(floats.len() * 4);
                for f in floats {
                    bytes.extend_from_slice(&(f.as_f64().unwrap_or(0.0) as f32).to_le_bytes());
                }
                item["embedding"] = Value::String(base64::engine::general_purpose::STANDARD.encode(bytes));
            }
        }
    }
}
