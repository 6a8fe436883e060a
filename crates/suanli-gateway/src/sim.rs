//! A simulated OpenAI-compatible upstream, labelled as simulated: deterministic text from the prompt, token counts and usage like a real server, a configurable time to first token and per-token pace. It serves the demo and the gateway benchmark.
//!
//! Answers depend only on the request (a hash of it seeds the words), so the same request
//! always gets the same answer. Every answer names itself `simulated` (`system_fingerprint`
//! and the model list's `owned_by`), so nobody mistakes it for a model.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use suanli_core::model::estimate_tokens;
use suanli_core::rng::SplitMix;

const WORDS: &[&str] = &[
    "compute",
    "city",
    "model",
    "data",
    "voucher",
    "centre",
    "energy",
    "scheduler",
    "token",
    "cluster",
    "Hangzhou",
    "service",
    "latency",
    "policy",
    "inference",
    "training",
    "accelerator",
    "region",
    "budget",
    "tenant",
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "is",
    "for",
];

/// How the simulated upstream behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Model names it answers to (any name when empty).
    pub models: Vec<String>,
    pub ttft: Duration,
    pub per_token: Duration,
    /// Output tokens when the request sets no `max_tokens`.
    pub default_tokens: u64,
    pub embedding_dim: usize,
    /// Report `usage` (real servers mostly do; set false to test the gateway's own count).
    pub report_usage: bool,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            models: Vec::new(),
            ttft: Duration::from_millis(120),
            per_token: Duration::from_millis(15),
            default_tokens: 48,
            embedding_dim: 64,
            report_usage: true,
        }
    }
}

struct Sim {
    config: SimConfig,
    served: AtomicU64,
}

/// The simulated upstream's routes, under `/v1`.
pub fn router(config: SimConfig) -> Router {
    let state = Arc::new(Sim { config, served: AtomicU64::new(0) });
    Router::new()
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(chat))
        .route("/v1/completions", post(completions))
        .route("/v1/embeddings", post(embeddings))
        .with_state(state)
}

/// Serves the simulated upstream on a listener until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, config: SimConfig) -> std::io::Result<()> {
    axum::serve(listener, router(config)).await
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}})))
        .into_response()
}

fn seed_of(bytes: &[u8]) -> u64 {
    // FNV-1a: stable across runs and platforms.
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3))
}

async fn models(State(s): State<Arc<Sim>>) -> Response {
    let data: Vec<Value> =
        s.config.models.iter().map(|m| json!({"id": m, "object": "model", "created": 0, "owned_by": "simulated"})).collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

/// Reads the parts of a request the simulation uses.
fn read(s: &Sim, body: &Bytes) -> Result<(Value, String, u64, bool, bool), Box<Response>> {
    let v: Value = serde_json::from_slice(body).map_err(|_| Box::new(error(StatusCode::BAD_REQUEST, "the body is not JSON")))?;
    let model = v["model"].as_str().unwrap_or("").to_string();
    if !s.config.models.is_empty() && !s.config.models.contains(&model) {
        return Err(Box::new(error(StatusCode::NOT_FOUND, &format!("the model '{model}' does not exist"))));
    }
    let max = v["max_tokens"].as_u64().or(v["max_completion_tokens"].as_u64()).unwrap_or(s.config.default_tokens).max(1);
    let stream = v["stream"].as_bool().unwrap_or(false);
    let usage = v["stream_options"]["include_usage"].as_bool().unwrap_or(false);
    Ok((v, model, max, stream, usage))
}

fn words(seed: u64, n: u64) -> Vec<String> {
    let mut rng = SplitMix::new(seed);
    (0..n).map(|i| if i == 0 { WORDS[rng.below(WORDS.len())].to_string() } else { format!(" {}", WORDS[rng.below(WORDS.len())]) }).collect()
}

async fn chat(State(s): State<Arc<Sim>>, body: Bytes) -> Response {
    let (v, model, max, stream, include_usage) = match read(&s, &body) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let prompt: u64 =
        v["messages"].as_array().map_or(0, |m| m.iter().map(|x| 4 + estimate_tokens(x["content"].as_str().unwrap_or(""))).sum::<u64>() + 3);
    generate(s, model, prompt, max, stream, include_usage, seed_of(&body), true).await
}

async fn completions(State(s): State<Arc<Sim>>, body: Bytes) -> Response {
    let (v, model, max, stream, include_usage) = match read(&s, &body) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let prompt = match &v["prompt"] {
        Value::String(p) => estimate_tokens(p),
        Value::Array(a) => a.iter().map(|x| x.as_str().map_or(1, estimate_tokens)).sum(),
        _ => 0,
    };
    generate(s, model, prompt, max, stream, include_usage, seed_of(&body), false).await
}

#[allow(clippy::too_many_arguments)]
async fn generate(s: Arc<Sim>, model: String, prompt: u64, max: u64, stream: bool, include_usage: bool, seed: u64, chat: bool) -> Response {
    let n = s.served.fetch_add(1, Ordering::Relaxed);
    let id = format!("{}-sim{n:08x}", if chat { "chatcmpl" } else { "cmpl" });
    let object = if chat { "chat.completion" } else { "text_completion" };
    // The length of the answer: from the request's hash, at most max_tokens.
    let natural = s.config.default_tokens / 2 + seed % (s.config.default_tokens + 1);
    let out = natural.clamp(1, max);
    let finish = if out == max { "length" } else { "stop" };
    let parts = words(seed, out);
    let usage = json!({"prompt_tokens": prompt, "completion_tokens": out, "total_tokens": prompt + out});
    if !stream {
        pause(s.config.ttft + s.config.per_token * out as u32).await;
        let text: String = parts.concat();
        let choice = if chat {
            json!({"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish, "logprobs": null})
        } else {
            json!({"index": 0, "text": text, "finish_reason": finish, "logprobs": null})
        };
        let mut v =
            json!({"id": id, "object": object, "created": 0, "model": model, "system_fingerprint": "simulated", "choices": [choice]});
        if s.config.report_usage {
            v["usage"] = usage;
        }
        return axum::Json(v).into_response();
    }
    let cfg = s.config.clone();
    let chunk_object = if chat { "chat.completion.chunk" } else { "text_completion" };
    let stream = async_stream(move |tx: tokio::sync::mpsc::Sender<Bytes>| async move {
        pause(cfg.ttft).await;
        let frame = |choices: Value, usage: Value| {
            let mut v = json!({"id": id, "object": chunk_object, "created": 0, "model": model, "system_fingerprint": "simulated", "choices": choices});
            if include_usage {
                v["usage"] = usage;
            }
            Bytes::from(format!("data: {v}\n\n"))
        };
        if chat {
            let first = json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]);
            if tx.send(frame(first, Value::Null)).await.is_err() {
                return;
            }
        }
        for (i, w) in parts.iter().enumerate() {
            if i > 0 {
                pause(cfg.per_token).await;
            }
            let last = i + 1 == parts.len();
            let fr = if last { Value::String(finish.into()) } else { Value::Null };
            let choice = if chat {
                json!([{"index": 0, "delta": {"content": w}, "finish_reason": fr}])
            } else {
                json!([{"index": 0, "text": w, "finish_reason": fr}])
            };
            if tx.send(frame(choice, Value::Null)).await.is_err() {
                return;
            }
        }
        if include_usage && cfg.report_usage {
            let _ = tx.send(frame(json!([]), usage)).await;
        }
        let _ = tx.send(Bytes::from_static(b"data: [DONE]\n\n")).await;
    });
    let mut r = Response::new(stream);
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    r
}

/// A body fed by a task through a channel.
fn async_stream<F, Fut>(f: F) -> Body
where
    F: FnOnce(tokio::sync::mpsc::Sender<Bytes>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(32);
    tokio::spawn(f(tx));
    let s = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (Ok::<_, std::io::Error>(b), rx)) });
    Body::from_stream(s)
}

async fn embeddings(State(s): State<Arc<Sim>>, body: Bytes) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return error(StatusCode::BAD_REQUEST, "the body is not JSON"),
    };
    let model = v["model"].as_str().unwrap_or("").to_string();
    if !s.config.models.is_empty() && !s.config.models.contains(&model) {
        return error(StatusCode::NOT_FOUND, &format!("the model '{model}' does not exist"));
    }
    let inputs: Vec<String> = match &v["input"] {
        Value::String(x) => vec![x.clone()],
        Value::Array(a) => a.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string)).collect(),
        _ => return error(StatusCode::BAD_REQUEST, "'input' is required"),
    };
    pause(s.config.ttft / 4).await;
    let mut tokens = 0;
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| {
            tokens += estimate_tokens(text);
            let mut rng = SplitMix::new(seed_of(text.as_bytes()));
            let raw: Vec<f64> = (0..s.config.embedding_dim).map(|_| rng.next_f64() * 2.0 - 1.0).collect();
            let norm = raw.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-9);
            let e: Vec<f64> = raw.iter().map(|x| ((x / norm) as f32) as f64).collect();
            json!({"object": "embedding", "index": i, "embedding": e})
        })
        .collect();
    let mut out = json!({"object": "list", "data": data, "model": model});
    if s.config.report_usage {
        out["usage"] = json!({"prompt_tokens": tokens, "total_tokens": tokens});
    }
    axum::Json(out).into_response()
}

/// Waits `d`, or not at all when it is zero: tokio's timer fires on its next millisecond tick,
/// so even a zero sleep would hold an answer up to a millisecond (and release the answers of
/// a whole tick at once).
async fn pause(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}
