//! Model keys after creation and deployments' health: top-ups and rotation (API, CLI and web form), the key form's every field, and the health checks of every deployment.

use crate::gateway::{call, key, ledger_verifies, model, sim, usage};
use crate::harness::{TestServer, Web, cli};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Output at ¥10,000 per million tokens and `max_tokens` 100: every call holds exactly ¥1.
fn dear_call() -> Value {
    json!({"model": "t-dear", "messages": [{"role": "user", "content": "x"}], "max_tokens": 100})
}

async fn the_key(ts: &TestServer, id: &str) -> Value {
    let (s, keys) = ts.as_role("tenant").get("/api/v1/model-keys").await;
    assert_eq!(s, StatusCode::OK, "{keys}");
    keys.as_array().unwrap().iter().find(|k| k["id"] == id).cloned().unwrap()
}

fn yuan(v: &Value) -> f64 {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_key_is_topped_up_and_rotated_keeping_its_limits_budget_and_history() {
    let ts = TestServer::start().await;
    let up = sim(1, 0).await;
    model(&ts, "t-dear", &["chat"], 4096, &[&up], ("0", "10000.00")).await;
    let (kid, old) = key(&ts, json!({"name": "one call", "budget": "1.00", "rpm": 50, "tpm": 100000, "regions": ["hangzhou"]})).await;
    let tenant = ts.as_role("tenant");

    let (s, _, t) = call(&ts.url, &old, "/v1/chat/completions", &dear_call()).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    // What is left no longer covers a call's hold.
    let (s, _, t) = call(&ts.url, &old, "/v1/chat/completions", &dear_call()).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{t}");
    assert_eq!(serde_json::from_str::<Value>(&t).unwrap()["error"]["code"], "insufficient_quota");
    let before = the_key(&ts, &kid).await;
    let spent = 1.0 - yuan(&before["remaining"]);
    assert!(spent > 0.0);

    // Bad top-ups: a clear error with a stable code, and nothing changes.
    let op = ts.as_role("operator");
    for (who, body, status, code) in [
        (&tenant, json!({"amount": "-1"}), StatusCode::UNPROCESSABLE_ENTITY, "negative_amount"),
        (&tenant, json!({"amount": "0"}), StatusCode::UNPROCESSABLE_ENTITY, "zero_amount"),
        (&tenant, json!({"amount": "abc"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount"),
        (&tenant, json!({"amount": "100000000.00"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount"),
        (&tenant, json!({"amount": "5.00", "extra": 1}), StatusCode::BAD_REQUEST, "unknown_field"),
        (&op, json!({"amount": "5.00"}), StatusCode::FORBIDDEN, "forbidden"),
    ] {
        let (s, v) = who.post(&format!("/api/v1/model-keys/{kid}/top-up"), &body).await;
        assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{body}: {v}");
    }
    let (s, v) = tenant.post("/api/v1/model-keys/mk_nosuchkey/top-up", &json!({"amount": "5.00"})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("model_key_not_found")), "{v}");
    assert_eq!(the_key(&ts, &kid).await, before, "a refused top-up changes nothing");

    // A top-up: the budget grows, the money is in the key's budget, and calls are admitted again.
    let (s, v) = tenant.post(&format!("/api/v1/model-keys/{kid}/top-up"), &json!({"amount": "5.00"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["budget"], "6.00");
    assert!((yuan(&v["remaining"]) - (6.0 - spent)).abs() < 0.005, "{v}");
    assert!(v.get("key").is_none(), "a top-up shows no secret");
    let (s, _, t) = call(&ts.url, &old, "/v1/chat/completions", &dear_call()).await;
    assert_eq!(s, StatusCode::OK, "{t}");

    // Bad rotations change nothing.
    let (s, v) = op.post(&format!("/api/v1/model-keys/{kid}/rotate"), &json!({})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{v}");
    let (s, v) = tenant.post("/api/v1/model-keys/mk_nosuchkey/rotate", &json!({})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("model_key_not_found")), "{v}");
    let url = ts.url.clone();
    let models = |secret: String| {
        let url = url.clone();
        async move { reqwest::Client::new().get(format!("{url}/v1/models")).bearer_auth(secret).send().await.unwrap().status() }
    };
    assert_eq!(models(old.clone()).await, StatusCode::OK, "the old secret still works");

    // Rotation: a new secret once; the old one is refused at once; the key is the same key.
    let kept = the_key(&ts, &kid).await;
    let (s, v) = tenant.post(&format!("/api/v1/model-keys/{kid}/rotate"), &json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let new = v["key"].as_str().unwrap().to_string();
    assert!(new.starts_with("sk-sl-") && new != old);
    assert_eq!(v["id"], kid.as_str());
    assert_ne!(v["prefix"], kept["prefix"]);
    for f in ["name", "budget", "remaining", "rpm", "tpm", "regions", "models", "fallbacks", "expires", "created"] {
        assert_eq!(v[f], kept[f], "{f} stays with the key");
    }
    let (s, _, t) = call(&ts.url, &old, "/v1/chat/completions", &dear_call()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{t}");
    assert_eq!(serde_json::from_str::<Value>(&t).unwrap()["error"]["code"], "unauthenticated");
    assert_eq!(models(old.clone()).await, StatusCode::UNAUTHORIZED);
    let (s, _, t) = call(&ts.url, &new, "/v1/chat/completions", &dear_call()).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let calls: u64 = usage(&tenant, &kid).await.iter().map(|r| r["calls"].as_u64().unwrap()).sum();
    assert_eq!(calls, 3, "the usage history stays with the key");
    assert!(the_key(&ts, &kid).await.get("key").is_none(), "the secret is shown only once");

    // The CLI: top up and rotate.
    let (ok, out, err) = cli(&ts, "tenant", &["models", "keys", "topup", &kid, "--amount", "2.50"]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("8.50"), "{out}");
    let (ok, out, err) = cli(&ts, "tenant", &["models", "keys", "rotate", &kid]).await;
    assert!(ok, "{out}{err}");
    let newer = out.split_whitespace().find(|w| w.starts_with("sk-sl-") && w.len() == 54).unwrap().to_string();
    assert_eq!(call(&ts.url, &new, "/v1/chat/completions", &dear_call()).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(call(&ts.url, &newer, "/v1/chat/completions", &dear_call()).await.0, StatusCode::OK);
    let (ok, _, err) = cli(&ts, "tenant", &["models", "keys", "topup", &kid, "--amount=-3"]).await;
    assert!(!ok && err.contains("negative_amount"), "{err}");

    // A revoked key is neither topped up nor rotated.
    assert_eq!(tenant.delete(&format!("/api/v1/model-keys/{kid}")).await.0, StatusCode::NO_CONTENT);
    let revoked = the_key(&ts, &kid).await;
    let (s, v) = tenant.post(&format!("/api/v1/model-keys/{kid}/top-up"), &json!({"amount": "1.00"})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("model_key_revoked")), "{v}");
    let (s, v) = tenant.post(&format!("/api/v1/model-keys/{kid}/rotate"), &json!({})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("model_key_revoked")), "{v}");
    assert_eq!(the_key(&ts, &kid).await, revoked);
    assert_eq!(call(&ts.url, &newer, "/v1/chat/completions", &dear_call()).await.0, StatusCode::UNAUTHORIZED);

    let (_, audit) = op.get(&format!("/api/v1/audit?subject={kid}")).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().filter_map(|a| a["action"].as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "model_key.top_up").count(), 2, "{audit}");
    assert_eq!(actions.iter().filter(|a| **a == "model_key.rotate").count(), 2, "{audit}");
    ledger_verifies(&ts).await;
}

/// The form's fields, urlencoded.
fn form(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| if b.is_ascii_alphanumeric() || b"-._".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect::<String>()
    };
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

#[tokio::test]
async fn the_web_key_form_covers_every_field_and_keeps_input_beside_an_error() {
    let ts = TestServer::start().await;
    let up = sim(1, 0).await;
    model(&ts, "t-main", &["chat"], 4096, &[&up], ("1.00", "2.00")).await;
    model(&ts, "t-spare", &["chat"], 4096, &[&up], ("1.00", "2.00")).await;
    let web = Web::sign_in(&ts.url, &ts.tokens["tenant"]).await.unwrap();
    let page = web.page("/models?lang=en").await;
    for id in ["key-name", "key-budget", "key-models", "key-rpm", "key-tpm", "key-expires", "key-regions", "key-fallbacks"] {
        assert!(page.contains(&format!("id=\"{id}\"")), "the form has {id}");
    }
    assert!(page.contains(r#"name="regions" value="hangzhou" checked"#), "regions are choices, Hangzhou by default");
    let count = || async { ts.as_role("tenant").get("/api/v1/model-keys").await.1.as_array().unwrap().len() };
    let keys_before = count().await;

    // Each bad field: 422, the error beside that field (with the stable code), the input kept, nothing made.
    let good = [
        ("name", "web key"),
        ("budget", "30.00"),
        ("models", "t-main"),
        ("rpm", "60"),
        ("tpm", "20000"),
        ("expires", "2099-12-31"),
        ("regions", "hangzhou"),
        ("fallbacks", "t-spare"),
    ];
    for (field, bad, code) in [
        ("budget", "-5", "negative_amount"),
        ("tpm", "lots", "invalid_count"),
        ("rpm", "1.5", "invalid_count"),
        ("expires", "2020-01-01", "invalid_date"),
        ("expires", "31/12/2099", "invalid_date"),
        ("fallbacks", "t-nosuch", "model_not_found"),
        ("regions", "atlantis", "invalid_region"),
        ("name", " ", "invalid_name"),
    ] {
        let pairs: Vec<(&str, &str)> = good.iter().map(|&(k, v)| if k == field { (k, bad) } else { (k, v) }).collect();
        let r = web.post("/models/keys", &form(&pairs)).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field}={bad}");
        let page = r.text().await.unwrap();
        let err_at = page.find(&format!(r#"id="key-{field}-error""#)).unwrap_or_else(|| panic!("no error beside {field}: {page}"));
        assert!(
            page[err_at..].starts_with(&format!(r#"id="key-{field}-error" class="error" role="alert" data-code="{code}""#)),
            "{field}: {}",
            &page[err_at..err_at + 200]
        );
        assert!(page.contains(&format!(r#"aria-describedby="key-{field}-error""#)), "{field}");
        let name_kept = if field == "name" { format!(r#"value="{bad}""#) } else { r#"value="web key""#.to_string() };
        let tpm_kept = if field == "tpm" { format!(r#"value="{bad}""#) } else { r#"value="20000""#.to_string() };
        assert!(page.contains(&name_kept) && page.contains(&tpm_kept), "the input is kept: {field}");
        assert!(page.contains(r#"value="t-main" checked"#), "ticked models stay ticked");
        assert_eq!(count().await, keys_before, "{field}={bad} made nothing");
    }

    // Every field taken.
    let r = web.post("/models/keys", &form(&good)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="new-key""#), "the secret is shown once");
    let (_, keys) = ts.as_role("tenant").get("/api/v1/model-keys").await;
    let k = keys.as_array().unwrap().iter().find(|k| k["name"] == "web key").unwrap().clone();
    assert_eq!(k["models"], json!(["t-main"]));
    assert_eq!((k["budget"].as_str(), k["rpm"].as_u64(), k["tpm"].as_u64()), (Some("30.00"), Some(60), Some(20000)));
    assert_eq!(k["expires"], "2099-12-31T16:00:00Z", "the end of the day in China Standard Time");
    assert_eq!(k["regions"], json!(["hangzhou"]));
    assert_eq!(k["fallbacks"], json!(["t-spare"]));
    let kid = k["id"].as_str().unwrap().to_string();

    // Top-up from the page: a bad amount shows beside its field and changes nothing; a good one adds.
    let r = web.post(&format!("/models/keys/{kid}/top-up"), "amount=abc").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains(&format!(r#"id="topup-{kid}-error" class="error" role="alert" data-code="invalid_amount""#)), "{page}");
    assert!(page.contains(r#"value="abc""#));
    // A good one asks first with the budget before and after, then adds once confirmed.
    let r = web.post(&format!("/models/keys/{kid}/top-up"), "amount=12.50").await;
    assert_eq!(r.status(), StatusCode::OK);
    let ask = r.text().await.unwrap();
    assert!(
        ask.contains(r#"<strong id="confirm-amount">¥12.50</strong>"#) && ask.contains("¥42.50") && ask.contains("/models#keys"),
        "{ask}"
    );
    assert_eq!(the_key(&ts, &kid).await["budget"], "30.00", "topped up before the confirmation");
    let r = web.post(&format!("/models/keys/{kid}/top-up"), "amount=12.50&confirmed=1").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("¥12.50"));
    assert_eq!(the_key(&ts, &kid).await["budget"], "42.50");
    // Rotation asks first (the old secret still works), then shows the new secret once.
    let prefix = the_key(&ts, &kid).await["prefix"].clone();
    let r = web.post(&format!("/models/keys/{kid}/rotate"), "").await;
    assert_eq!(r.status(), StatusCode::OK);
    let ask = r.text().await.unwrap();
    assert!(ask.contains("Rotate this key?") || ask.contains("确认更换此密钥？"), "{ask}");
    assert!(!ask.contains(r#"<code id="new-key">"#), "rotated before the confirmation");
    assert_eq!(the_key(&ts, &kid).await["prefix"], prefix);
    let r = web.post(&format!("/models/keys/{kid}/rotate"), "confirmed=1").await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    let at = page.find(r#"<code id="new-key">"#).unwrap() + r#"<code id="new-key">"#.len();
    let secret = &page[at..at + 54];
    assert!(secret.starts_with("sk-sl-"), "{secret}");
    let msg = json!({"model": "t-main", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4});
    assert_eq!(call(&ts.url, secret, "/v1/chat/completions", &msg).await.0, StatusCode::OK);
    // The Chinese page has the same form, in Chinese.
    let zh = web.page("/models?lang=zh").await;
    assert!(zh.contains("每分钟令牌上限") && zh.contains("备用模型") && zh.contains("充值"), "the form in Chinese");
    ledger_verifies(&ts).await;
}

#[tokio::test]
async fn every_deployment_is_health_checked_and_its_state_is_shown() {
    let ts = TestServer::start().await;
    let up = sim(1, 0).await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1", l.local_addr().unwrap())
    };
    model(&ts, "t-live", &["chat"], 4096, &[&up, &dead], ("1.00", "2.00")).await;
    // Probed without any call having failed: the live one is up, the dead one down.
    ts.state.models.gateway().probe().await;
    let (s, health) = ts.as_role("provider").get("/api/v1/model-health").await;
    assert_eq!(s, StatusCode::OK, "{health}");
    let of = |id: &str| health.as_array().unwrap().iter().find(|h| h["deployment"] == id).cloned().unwrap();
    assert_eq!(of("t-live#1")["probe"], "up", "{health}");
    assert!(of("t-live#1")["probe_ms"].as_f64().is_some());
    assert_eq!(of("t-live#2")["probe"], "down", "{health}");
    assert_eq!(of("t-live#2")["probe_error"], "connection refused or unreachable");
    assert!(of("t-live#2")["cooldown_until"].is_null(), "one failed check is not yet a cooldown");
    // A second failed check cools it down: calls no longer try it (the explanation says why).
    ts.state.models.gateway().probe().await;
    let (_, health) = ts.as_role("operator").get("/api/v1/model-health").await;
    let dead_now = health.as_array().unwrap().iter().find(|h| h["deployment"] == "t-live#2").cloned().unwrap();
    assert!(dead_now["cooldown_until"].is_string(), "{dead_now}");
    assert_eq!(dead_now["failed"], 0, "checks are not counted as failed calls");
    let (_, secret) = key(&ts, json!({"name": "k", "budget": "5.00"})).await;
    let msg = json!({"model": "t-live", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4});
    let (s, h, t) = call(&ts.url, &secret, "/v1/chat/completions", &msg).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let (_, v) = ts.as_role("tenant").get(&format!("/api/v1/model-calls/{}", h["x-request-id"].to_str().unwrap())).await;
    let candidates = v["route"]["chain"][0]["candidates"].as_array().unwrap().clone();
    let probe_of = |id: &str| candidates.iter().find(|c| c["deployment"] == id).unwrap()["probe"].clone();
    assert_eq!((probe_of("t-live#1"), probe_of("t-live#2")), (json!("up"), json!("down")), "{v}");
    assert_eq!(v["route"]["chain"][0]["excluded"], json!([["t-live#2", "cooling_down"]]), "{v}");
    // Tenants and the regulator see no upstream's health; the page shows it to the provider.
    for role in ["tenant", "regulator"] {
        let (s, v) = ts.as_role(role).get("/api/v1/model-health").await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{role}");
    }
    let web = Web::sign_in(&ts.url, &ts.tokens["provider"]).await.unwrap();
    let page = web.page("/models?lang=en").await;
    assert!(page.contains(r#"<h2 id="health">"#) && page.contains(r#"data-probe="down""#) && page.contains(r#"data-probe="up""#), "{page}");
    let metrics = reqwest::get(format!("{}/metrics", ts.url)).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("suanli_model_deployment_up{deployment=\"t-live#1\"} 1\n"), "{metrics}");
    assert!(metrics.contains("suanli_model_deployment_up{deployment=\"t-live#2\"} 0\n"), "{metrics}");
}
