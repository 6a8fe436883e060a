//! The model gateway end to end: providers register and deploy models, tenants make keys, calls go through `/v1` to real HTTP upstreams (the simulated one, a garbage one, one that drops its stream, and the real llama.cpp server when the machine has it) and are metered into the ledger.

use crate::harness::{Api, TestServer, missing};
use axum::body::Body;
use axum::response::Response;
use axum::routing::post;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use suanli_gateway::sim::SimConfig;

/// Serves a router on a loopback port; answers its base URL.
pub(crate) async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// A simulated upstream with this pace; answers its `/v1` base URL.
pub(crate) async fn sim(ttft_ms: u64, per_token_ms: u64) -> String {
    let cfg = SimConfig {
        ttft: Duration::from_millis(ttft_ms),
        per_token: Duration::from_millis(per_token_ms),
        default_tokens: 12,
        ..SimConfig::default()
    };
    format!("{}/v1", serve(suanli_gateway::sim::router(cfg)).await)
}

/// The first provider's centres (by region), as the provider sees them.
pub(crate) async fn provider_centres(ts: &TestServer) -> Vec<(String, String)> {
    let (_, me) = ts.as_role("provider").get("/api/v1/me").await;
    let provider = me["provider_id"].as_str().unwrap().to_string();
    let (_, centres) = ts.as_role("provider").get(&format!("/api/v1/centres?provider_id={provider}")).await;
    let list = centres.as_array().cloned().or_else(|| centres["items"].as_array().cloned()).unwrap();
    list.iter().map(|c| (c["id"].as_str().unwrap().to_string(), c["region"].as_str().unwrap().to_string())).collect()
}

pub(crate) fn model_spec(name: &str, endpoints: &[&str], context: u32) -> Value {
    json!({"name": name, "kind": "special", "domain": "healthcare", "parameters_b": 7.0, "licence": "Apache-2.0",
           "context_tokens": context, "modalities": ["text"], "endpoints": endpoints,
           "evaluation": {"evaluator": "test lab", "date": "2026-06-30", "score": 80.0, "document_sha256": "ab".repeat(32)},
           // Ties keep the catalogue's order, so a test knows which deployment is tried first.
           "routing": "least_busy"})
}

/// Registers a model as the first provider and deploys it at its first centre behind `base`.
pub(crate) async fn model(ts: &TestServer, name: &str, endpoints: &[&str], context: u32, bases: &[&str], price: (&str, &str)) {
    let p = ts.as_role("provider");
    let (s, v) = p.post("/api/v1/models", &model_spec(name, endpoints, context)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let centres = provider_centres(ts).await;
    for (i, base) in bases.iter().enumerate() {
        let body = json!({"centre_id": centres[i % centres.len()].0, "base_url": base, "upstream_model": name,
                          "price_input_per_m": price.0, "price_output_per_m": price.1, "weight": 100});
        let (s, v) = p.post(&format!("/api/v1/models/{name}/deployments"), &body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
}

/// Makes a key as the tenant; answers (key id, secret).
pub(crate) async fn key(ts: &TestServer, body: Value) -> (String, String) {
    let (s, v) = ts.as_role("tenant").post("/api/v1/model-keys", &body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (v["id"].as_str().unwrap().to_string(), v["key"].as_str().unwrap().to_string())
}

pub(crate) async fn call(url: &str, secret: &str, path: &str, body: &Value) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let r = reqwest::Client::new().post(format!("{url}{path}")).bearer_auth(secret).json(body).send().await.unwrap();
    let (s, h) = (r.status(), r.headers().clone());
    (s, h, r.text().await.unwrap())
}

fn sse_events(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

pub(crate) async fn usage(api: &Api, key: &str) -> Vec<Value> {
    let (s, v) = api.get(&format!("/api/v1/model-usage?key={key}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v.as_array().unwrap().clone()
}

pub(crate) async fn ledger_verifies(ts: &TestServer) {
    let (s, v) = ts.as_role("operator").get("/api/v1/ledger/verify").await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn chat_streams_completions_and_embeddings_are_metered_into_the_ledger() {
    let ts = TestServer::start().await;
    let up = sim(1, 0).await;
    model(&ts, "t-chat", &["chat", "completions"], 4096, &[&up], ("2.00", "8.00")).await;
    model(&ts, "t-embed", &["embeddings"], 512, &[&up], ("0.50", "0")).await;
    let (kid, secret) = key(&ts, json!({"name": "k", "budget": "10.00"})).await;

    let (s, h, text) = call(
        &ts.url,
        &secret,
        "/v1/chat/completions",
        &json!({"model": "t-chat", "messages": [{"role": "user", "content": "你好，杭州"}], "max_tokens": 8}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["model"], "t-chat");
    assert_eq!(v["usage"]["completion_tokens"], 8);
    let request_id = h["x-request-id"].to_str().unwrap().to_string();
    assert!(request_id.starts_with("req_"));

    let (s, h, text) = call(&ts.url, &secret, "/v1/chat/completions", &json!({"model": "t-chat", "stream": true, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5})).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(h["content-type"], "text/event-stream");
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    let events = sse_events(&text);
    let last = events.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["completion_tokens"], 5);
    assert!(events[..events.len() - 1].iter().all(|e| e["usage"].is_null()));
    // Without include_usage the client gets no usage chunk (the gateway still meters it).
    let (_, _, text) = call(
        &ts.url,
        &secret,
        "/v1/chat/completions",
        &json!({"model": "t-chat", "stream": true, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}),
    )
    .await;
    assert!(sse_events(&text).iter().all(|e| e.get("usage").is_none() && e["choices"] != json!([])), "{text}");

    let (s, _, text) =
        call(&ts.url, &secret, "/v1/completions", &json!({"model": "t-chat", "prompt": "Once upon a time", "max_tokens": 4})).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let (s, _, floats) = call(&ts.url, &secret, "/v1/embeddings", &json!({"model": "t-embed", "input": ["数据不出域", "b"]})).await;
    assert_eq!(s, StatusCode::OK, "{floats}");
    let (_, _, b64) =
        call(&ts.url, &secret, "/v1/embeddings", &json!({"model": "t-embed", "input": ["数据不出域", "b"], "encoding_format": "base64"}))
            .await;
    let floats: Value = serde_json::from_str(&floats).unwrap();
    let b64: Value = serde_json::from_str(&b64).unwrap();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64["data"][0]["embedding"].as_str().unwrap()).unwrap();
    let decoded: Vec<f32> = bytes.chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    let expected: Vec<f32> = floats["data"][0]["embedding"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
    assert_eq!(decoded, expected);

    // Usage per key, model and day ties to the calls; the key's budget went down by the charges.
    let rows = usage(&ts.as_role("tenant"), &kid).await;
    let calls: u64 = rows.iter().map(|r| r["calls"].as_u64().unwrap()).sum();
    assert_eq!(calls, 6);
    let chat = rows.iter().find(|r| r["model"] == "t-chat").unwrap();
    assert_eq!(chat["output_tokens"], 8 + 5 + 3 + 4);
    let charged: f64 = rows.iter().map(|r| r["charge"].as_str().unwrap().parse::<f64>().unwrap()).sum();
    let (_, keys) = ts.as_role("tenant").get("/api/v1/model-keys").await;
    let k = keys.as_array().unwrap().iter().find(|k| k["id"] == kid.as_str()).unwrap();
    let left: f64 = k["remaining"].as_str().unwrap().parse().unwrap();
    assert!((10.0 - charged - left).abs() < 0.005, "charged {charged}, left {left}");
    // The provider sees the calls it served; another tenant's key list does not show this key.
    assert_eq!(usage(&ts.as_role("provider"), &kid).await.len(), rows.len());
    let (s, v) = ts.as_role("tenant").get(&format!("/api/v1/model-calls/{request_id}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "ok");
    assert_eq!(v["usage_source"], "upstream");
    assert_eq!(v["route"]["attempts"][0]["outcome"], "served");
    ledger_verifies(&ts).await;
    // Every usage record ties to what the ledger posted for it.
    let (s, r) = ts.as_role("operator").get("/api/v1/ledger/reconciliation").await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!((r["model_calls"].as_u64(), r["model_calls_matched"].as_u64()), (Some(6), Some(6)), "{r}");
    assert_eq!(r["mismatches"], json!([]), "{r}");
    let metrics = reqwest::get(format!("{}/metrics", ts.url)).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("suanli_model_calls_total 6\n"), "{metrics}");
    assert!(metrics.contains("suanli_model_output_tokens_total 20\n"), "{metrics}");
    assert!(metrics.contains("suanli_model_deployment_ttft_ms{deployment=\"t-chat#1\"}"), "{metrics}");
}

#[tokio::test]
async fn a_budget_for_ten_calls_admits_at_most_ten_of_a_hundred_concurrent_ones() {
    let ts = TestServer::start().await;
    // Slow enough that every call is in flight while the others reserve.
    let up = sim(1_500, 0).await;
    // Output costs ¥10,000 per million tokens and max_tokens is 100: each call holds exactly ¥1.
    model(&ts, "t-dear", &["chat"], 4096, &[&up], ("0", "10000.00")).await;
    let (kid, secret) = key(&ts, json!({"name": "ten calls", "budget": "10.00"})).await;
    let body = json!({"model": "t-dear", "messages": [{"role": "user", "content": "x"}], "max_tokens": 100});
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (url, secret, body) = (ts.url.clone(), secret.clone(), body.clone());
        tasks.push(tokio::spawn(async move { call(&url, &secret, "/v1/chat/completions", &body).await }));
    }
    let mut ok = 0;
    let mut quota = 0;
    for t in tasks {
        let (s, _, text) = t.await.unwrap();
        match s {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let v: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(v["error"]["code"], "insufficient_quota", "{text}");
                assert_eq!(v["error"]["type"], "insufficient_quota");
                quota += 1;
            }
            s => panic!("unexpected {s}: {text}"),
        }
    }
    assert!(ok <= 10, "{ok} calls were admitted on a budget for 10");
    assert_eq!(ok, 10, "every call overlapped, so exactly the ten the budget covers ran");
    assert_eq!(ok + quota, 100);
    let rows = usage(&ts.as_role("tenant"), &kid).await;
    assert_eq!(rows.iter().map(|r| r["calls"].as_u64().unwrap()).sum::<u64>(), 10, "only admitted calls are recorded");
    let (_, keys) = ts.as_role("tenant").get("/api/v1/model-keys").await;
    let left: f64 = keys[0]["remaining"].as_str().unwrap().parse().unwrap();
    assert!(left >= 0.0);
    ledger_verifies(&ts).await;
}

/// An upstream that answers 200 with something that is not JSON.
async fn garbage() -> String {
    let app = axum::Router::new().route("/v1/chat/completions", post(|| async { "<html>gateway of a gateway</html>" }));
    format!("{}/v1", serve(app).await)
}

/// An upstream that streams two chunks and then drops the connection without `[DONE]`.
async fn dropping() -> String {
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(|| async {
            let chunks = [
                r#"data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"half an"},"finish_reason":null}]}"#,
                r#"data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" answer"},"finish_reason":null}]}"#,
            ];
            let s = futures_util::stream::iter(chunks.into_iter().map(|c| Ok::<_, std::io::Error>(format!("{c}\n\n"))))
                .chain(futures_util::stream::once(async {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Err(std::io::Error::other("dropped"))
                }));
            let mut r = Response::new(Body::from_stream(s));
            r.headers_mut().insert("content-type", "text/event-stream".parse().unwrap());
            r
        }),
    );
    format!("{}/v1", serve(app).await)
}

use futures_util::StreamExt;

#[tokio::test]
async fn bad_input_and_bad_upstreams_get_openai_errors_and_bill_only_what_was_served() {
    let ts = TestServer::start().await;
    let up = sim(1, 0).await;
    model(&ts, "t-small", &["chat"], 64, &[&up], ("2.00", "8.00")).await;
    // A garbage upstream first, a good one second: the call fails over and says so.
    model(&ts, "t-flaky", &["chat"], 4096, &[&garbage().await, &up], ("2.00", "8.00")).await;
    model(&ts, "t-broken", &["chat"], 4096, &[&garbage().await], ("2.00", "8.00")).await;
    model(&ts, "t-drop", &["chat"], 4096, &[&dropping().await], ("2.00", "8.00")).await;
    let (kid, secret) = key(&ts, json!({"name": "k", "budget": "50.00", "rpm": 1000})).await;
    let msg = |m: &str| json!({"model": m, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 8});
    let error_of = |text: &str| serde_json::from_str::<Value>(text).unwrap()["error"].clone();

    let r =
        reqwest::Client::new().post(format!("{}/v1/chat/completions", ts.url)).bearer_auth(&secret).body("{not json").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&r.text().await.unwrap())["code"], "malformed_json");
    let (s, _, t) = call(&ts.url, &secret, "/v1/chat/completions", &msg("no-such-model")).await;
    assert_eq!(
        (s, error_of(&t)["code"].clone(), error_of(&t)["param"].clone()),
        (StatusCode::NOT_FOUND, json!("model_not_found"), json!("model"))
    );
    let (s, _, t) = call(&ts.url, "sk-sl-wrong", "/v1/chat/completions", &msg("t-small")).await;
    assert_eq!((s, error_of(&t)["type"].clone()), (StatusCode::UNAUTHORIZED, json!("authentication_error")));
    let r = reqwest::Client::new().post(format!("{}/v1/chat/completions", ts.url)).json(&msg("t-small")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let long = json!({"model": "t-small", "messages": [{"role": "user", "content": "word ".repeat(100)}], "max_tokens": 8});
    let (s, _, t) = call(&ts.url, &secret, "/v1/chat/completions", &long).await;
    assert_eq!((s, error_of(&t)["code"].clone()), (StatusCode::BAD_REQUEST, json!("context_length_exceeded")));
    let (s, _, t) = call(&ts.url, &secret, "/v1/chat/completions", &json!({"model": "t-small", "messages": "hi"})).await;
    assert_eq!((s, error_of(&t)["type"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_request_error")));
    assert!(usage(&ts.as_role("tenant"), &kid).await.is_empty(), "refused requests are not calls and cost nothing");

    // Failover past the garbage upstream.
    let (s, h, t) = call(&ts.url, &secret, "/v1/chat/completions", &msg("t-flaky")).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let (_, explained) = ts.as_role("tenant").get(&format!("/api/v1/model-calls/{}", h["x-request-id"].to_str().unwrap())).await;
    let attempts = explained["route"]["attempts"].as_array().unwrap();
    assert!(attempts.iter().any(|a| a["outcome"] == "failed" && a["error"] == "upstream_error"), "{explained}");
    assert_eq!(attempts.last().unwrap()["outcome"], "served");
    // Only garbage: a 502 with the call recorded as failed, at no charge.
    let (s, h, t) = call(&ts.url, &secret, "/v1/chat/completions", &msg("t-broken")).await;
    assert_eq!((s, error_of(&t)["code"].clone()), (StatusCode::BAD_GATEWAY, json!("upstream_error")));
    let (_, failed) = ts.as_role("tenant").get(&format!("/api/v1/model-calls/{}", h["x-request-id"].to_str().unwrap())).await;
    assert_eq!((failed["status"].clone(), failed["charge"].clone()), (json!("failed"), json!("0.00")));
    // A stream dropped halfway: the client gets what was served and an error event; the call is
    // billed (by the gateway's own count) for the two chunks only.
    let mut body = msg("t-drop");
    body["stream"] = json!(true);
    body["max_tokens"] = json!(1000);
    let (s, h, t) = call(&ts.url, &secret, "/v1/chat/completions", &body).await;
    assert_eq!(s, StatusCode::OK);
    assert!(t.contains("half an") && t.contains("\"error\"") && !t.contains("[DONE]"), "{t}");
    let (_, partial) = ts.as_role("tenant").get(&format!("/api/v1/model-calls/{}", h["x-request-id"].to_str().unwrap())).await;
    assert_eq!((partial["status"].clone(), partial["usage_source"].clone()), (json!("partial"), json!("estimate")));
    assert_eq!(partial["output_tokens"], 4, "'half an answer' is 14 bytes: 4 tokens by the estimate");
    // Revoked keys are refused at once.
    let (s, _) = ts.as_role("tenant").delete(&format!("/api/v1/model-keys/{kid}")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, t) = call(&ts.url, &secret, "/v1/chat/completions", &msg("t-small")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{t}");
    assert!(error_of(&t)["message"].as_str().unwrap().contains("revoked"));
    ledger_verifies(&ts).await;
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_and_region_keys_keep_data_home() {
    let ts = TestServer::start().await;
    let up = sim(1, 0).await;
    model(&ts, "t-rl", &["chat"], 4096, &[&up], ("2.00", "8.00")).await;
    let (_, secret) = key(&ts, json!({"name": "slow", "budget": "5.00", "rpm": 2})).await;
    let msg = json!({"model": "t-rl", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4});
    for _ in 0..2 {
        assert_eq!(call(&ts.url, &secret, "/v1/chat/completions", &msg).await.0, StatusCode::OK);
    }
    let (s, h, t) = call(&ts.url, &secret, "/v1/chat/completions", &msg).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{t}");
    assert_eq!(serde_json::from_str::<Value>(&t).unwrap()["error"]["code"], "rate_limited");
    let wait: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "retry after {wait} s");

    // The provider's centres are in Yuhang and Linping; a key kept to Xihu District may not use them.
    let centres = provider_centres(&ts).await;
    assert!(centres.iter().all(|(_, r)| r != "hz-xihu"));
    let (_, xihu) = key(&ts, json!({"name": "xihu only", "budget": "5.00", "regions": ["hz-xihu"]})).await;
    let (s, h, t) = call(&ts.url, &xihu, "/v1/chat/completions", &msg).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{t}");
    assert_eq!(serde_json::from_str::<Value>(&t).unwrap()["error"]["code"], "no_deployment");
    let (_, explained) = ts.as_role("tenant").get(&format!("/api/v1/model-calls/{}", h["x-request-id"].to_str().unwrap())).await;
    assert_eq!(explained["route"]["chain"][0]["excluded"][0][1], "region_not_allowed", "{explained}");
    // A key kept to Hangzhou may.
    let (_, home) = key(&ts, json!({"name": "hangzhou", "budget": "5.00", "regions": ["hangzhou"]})).await;
    assert_eq!(call(&ts.url, &home, "/v1/chat/completions", &msg).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_failing_deployment_cools_down_and_a_fallback_model_answers() {
    let ts = TestServer::start().await;
    let up = sim(1, 0).await;
    // A port nobody listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1", l.local_addr().unwrap())
    };
    model(&ts, "t-dead", &["chat"], 4096, &[&dead], ("2.00", "8.00")).await;
    model(&ts, "t-backup", &["chat"], 4096, &[&up], ("1.00", "4.00")).await;
    let (_, secret) = key(&ts, json!({"name": "k", "budget": "5.00", "fallbacks": ["t-backup"]})).await;
    let msg = json!({"model": "t-dead", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4});
    for round in 0..3 {
        let (s, h, t) = call(&ts.url, &secret, "/v1/chat/completions", &msg).await;
        assert_eq!(s, StatusCode::OK, "{t}");
        let (_, v) = ts.as_role("tenant").get(&format!("/api/v1/model-calls/{}", h["x-request-id"].to_str().unwrap())).await;
        assert_eq!(v["deployment"], "t-backup#1", "{v}");
        let chain = v["route"]["chain"].as_array().unwrap();
        if round >= 2 {
            // Two failures in a row put the dead deployment in cooldown: it is not even tried.
            assert_eq!(chain[0]["excluded"][0][1], "cooling_down", "{v}");
        }
    }
}

/// The same metering on PostgreSQL: the ledger's writer there shares the server's runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_budgets_hold_and_every_call_reconciles() {
    let (ts, schema) = TestServer::start_pg().await;
    // Slow enough that every call is in flight while the others reserve.
    let up = sim(1_500, 0).await;
    model(&ts, "t-pg", &["chat"], 4096, &[&up], ("0", "10000.00")).await;
    let (kid, secret) = key(&ts, json!({"name": "pg", "budget": "10.00"})).await;
    let body = json!({"model": "t-pg", "messages": [{"role": "user", "content": "x"}], "max_tokens": 100});
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let (url, secret, body) = (ts.url.clone(), secret.clone(), body.clone());
        tasks.push(tokio::spawn(async move { call(&url, &secret, "/v1/chat/completions", &body).await.0 }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::OK => ok += 1,
            s => assert_eq!(s, StatusCode::TOO_MANY_REQUESTS),
        }
    }
    assert_eq!(ok, 10, "every call overlapped, so exactly the ten the budget covers ran");
    let rows = usage(&ts.as_role("tenant"), &kid).await;
    assert_eq!(rows.iter().map(|r| r["calls"].as_u64().unwrap()).sum::<u64>(), ok);
    let (s, r) = ts.as_role("operator").get("/api/v1/ledger/reconciliation").await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!((r["model_calls"].as_u64(), r["model_calls_matched"].as_u64()), (Some(ok), Some(ok)), "{r}");
    ledger_verifies(&ts).await;
    drop(ts);
    suanli_store::Store::drop_schema(&crate::harness::pg_url(), &schema).await.unwrap();
}

/// The official `openai` Python client, unchanged, with `base_url=<suanli>/v1`.
#[tokio::test]
async fn the_official_openai_python_client_works_unchanged() {
    let Some(python) = std::env::var("SUANLI_PYTHON").ok().filter(|p| !p.is_empty()) else {
        return missing(
            "the_official_openai_python_client_works_unchanged",
            "SUANLI_PYTHON (a Python with the openai package; scripts/test.sh sets it)",
        );
    };
    let ts = TestServer::start().await;
    let up = sim(1, 0).await;
    model(&ts, "t-chat", &["chat", "completions"], 4096, &[&up], ("2.00", "8.00")).await;
    model(&ts, "t-embed", &["embeddings"], 512, &[&up], ("0.50", "0")).await;
    let (_, secret) = key(&ts, json!({"name": "py", "budget": "10.00", "rpm": 30})).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/openai_client.py");
    let out = tokio::process::Command::new(&python)
        .arg(script)
        .env("OPENAI_BASE_URL", format!("{}/v1", ts.url))
        .env("OPENAI_API_KEY", &secret)
        .env("SUANLI_CHAT_MODEL", "t-chat")
        .env("SUANLI_EMBED_MODEL", "t-embed")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the openai client failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("all checks passed"), "{stdout}");
}

/// A real OpenAI-compatible inference server (llama.cpp's, started by scripts/test.sh) behind
/// the gateway, called with the official client; the charge follows the server's own usage.
#[tokio::test]
async fn a_real_inference_server_serves_through_the_gateway() {
    let (Some(llm), Some(name), Some(python)) = (
        std::env::var("SUANLI_LLM_URL").ok().filter(|s| !s.is_empty()),
        std::env::var("SUANLI_LLM_MODEL").ok().filter(|s| !s.is_empty()),
        std::env::var("SUANLI_PYTHON").ok().filter(|s| !s.is_empty()),
    ) else {
        return missing(
            "a_real_inference_server_serves_through_the_gateway",
            "SUANLI_LLM_URL, SUANLI_LLM_MODEL and SUANLI_PYTHON (scripts/llm-upstream.sh)",
        );
    };
    let ts = TestServer::start().await;
    let p = ts.as_role("provider");
    let (s, v) = p.post("/api/v1/models", &model_spec("real-llm", &["chat", "completions"], 2048)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let centre = provider_centres(&ts).await[0].0.clone();
    let body =
        json!({"centre_id": centre, "base_url": llm, "upstream_model": name, "price_input_per_m": "1.00", "price_output_per_m": "2.00"});
    let (s, v) = p.post("/api/v1/models/real-llm/deployments", &body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (kid, secret) = key(&ts, json!({"name": "real", "budget": "10.00"})).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/openai_client.py");
    let out = tokio::process::Command::new(&python)
        .arg(script)
        .env("OPENAI_BASE_URL", format!("{}/v1", ts.url))
        .env("OPENAI_API_KEY", &secret)
        .env("SUANLI_CHAT_MODEL", "real-llm")
        .env("SUANLI_REAL", "1")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the openai client failed against the real server:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let rows = usage(&ts.as_role("tenant"), &kid).await;
    assert!(rows.iter().map(|r| r["output_tokens"].as_u64().unwrap()).sum::<u64>() > 0, "{rows:?}");
    let (_, calls) = ts.as_role("tenant").get("/api/v1/model-calls").await;
    assert!(calls.as_array().unwrap().iter().all(|c| c["status"] == "ok"), "{calls}");
    ledger_verifies(&ts).await;
}
