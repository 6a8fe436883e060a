//! The Models page's forms through the real router: a provider registers a model (every field of its description) and deploys it at its own centre, then undeploys it after a confirmation; a tenant revokes its key, and the operator another's, after a confirmation; bad input comes back beside its field with what was typed kept and changes nothing; other roles are refused.

use crate::harness::{TestServer, Web};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// The model form as a provider fills it in, with `field` set to `value` (added if new).
fn model_form(field: &str, value: &str) -> String {
    let sha = "cd".repeat(32);
    let mut pairs = vec![
        ("name", "web-med-7b"),
        ("kind", "special"),
        ("domain", "healthcare"),
        ("parameters_b", "7.5"),
        ("licence", "Apache-2.0"),
        ("context_tokens", "32768"),
        ("modality_text", "1"),
        ("modality_image", "1"),
        ("endpoint_chat", "1"),
        ("routing", "least_busy"),
        ("evaluator", "Zhejiang lab"),
        ("eval_date", "2026-05-01"),
        ("score", "82.5"),
        ("document_sha256", sha.as_str()),
        ("description", "A medical model"),
    ];
    match pairs.iter_mut().find(|(k, _)| *k == field) {
        Some(p) => p.1 = value,
        None => pairs.push((field, value)),
    }
    form(&pairs)
}

async fn catalogue(s: &TestServer) -> Vec<Value> {
    s.as_role("operator").get("/api/v1/models").await.1.as_array().cloned().unwrap_or_default()
}

async fn deployments(s: &TestServer, model: &str) -> Vec<String> {
    let (_, m) = s.as_role("operator").get(&format!("/api/v1/models/{model}")).await;
    m["deployments"].as_array().map_or(Vec::new(), |d| d.iter().map(|d| d["id"].as_str().unwrap().to_string()).collect())
}

#[tokio::test]
async fn a_provider_registers_deploys_and_undeploys_a_model_through_the_web_forms() {
    let s = TestServer::start().await;
    let centres = crate::gateway::provider_centres(&s).await;
    let prov = Web::sign_in(&s.url, &s.tokens["provider"]).await.unwrap();
    let page = prov.page("/models?lang=en").await;
    for action in ["/models/register", "/models/deploy"] {
        assert!(page.contains(&format!(r#"action="{action}""#)), "the provider's page has {action}");
    }
    assert!(page.contains(r#"id="model-modality_text" name="modality_text" type="checkbox" value="1" checked"#), "text is ticked at first");

    // Bad input: beside its field, typed input kept, nothing registered.
    let before = catalogue(&s).await.len();
    for (field, bad, code) in [
        ("parameters_b", "seven", "invalid_model"),
        ("domain", "astrology", "invalid_model"),
        ("document_sha256", "xyz", "invalid_model"),
        ("name", "Bad Name", "invalid_name"),
        ("eval_date", "2026-13-01", "invalid_date"),
    ] {
        let r = prov.post("/models/register", &model_form(field, bad)).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        let page = r.text().await.unwrap();
        assert!(page.contains(&format!(r#"id="model-{field}-error""#)), "{field}: the error is beside it");
        assert!(page.contains(&format!(r#"data-code="{code}""#)), "{field}: {code}");
        assert!(page.contains(r#"value="Apache-2.0""#), "{field}: what was typed is kept");
    }
    // No modality ticked: refused beside the modalities.
    let r = prov.post("/models/register", &model_form("modality_text", "0").replace("&modality_image=1", "")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(r#"id="model-modality_text-error""#));
    assert_eq!(catalogue(&s).await.len(), before, "a refused form registers nothing");

    // Registered with every field.
    let r = prov.post("/models/register", &model_form("", "")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains(r#"id="done""#));
    let (_, m) = s.as_role("tenant").get("/api/v1/models/web-med-7b").await;
    let spec = &m;
    assert_eq!(
        (&spec["kind"], &spec["domain"], &spec["parameters_b"], &spec["context_tokens"], &spec["routing"]),
        (&json!("special"), &json!("healthcare"), &json!(7.5), &json!(32768), &json!("least_busy")),
        "{m}"
    );
    assert_eq!((&spec["modalities"], &spec["endpoints"]), (&json!(["text", "image"]), &json!(["chat"])), "{m}");
    assert_eq!((&spec["evaluation"]["score"], &spec["evaluation"]["date"]), (&json!(82.5), &json!("2026-05-01")), "{m}");
    // The same name again is refused beside the name.
    let r = prov.post("/models/register", &model_form("", "")).await;
    assert!(r.text().await.unwrap().contains(r#"id="model-name-error" class="error" role="alert" data-code="model_exists""#));

    // Deploy: bad input beside its field, nothing deployed; then deployed.
    let deploy = |field: &str, value: &str| {
        let mut pairs = [
            ("model", "web-med-7b".to_string()),
            ("centre", centres[0].0.clone()),
            ("base_url", "http://10.0.0.9:8000/v1".to_string()),
            ("upstream_model", "med-7b".to_string()),
            ("price_input", "2.50".to_string()),
            ("price_output", "8.00".to_string()),
            ("weight", String::new()),
            ("max_concurrency", "16".to_string()),
        ];
        if let Some(p) = pairs.iter_mut().find(|(k, _)| *k == field) {
            p.1 = value.to_string();
        }
        pairs.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect::<Vec<_>>().join("&")
    };
    for (field, bad) in [("base_url", "ftp://x"), ("price_input", "2.5元"), ("max_concurrency", "lots"), ("weight", "5000")] {
        let r = prov.post("/models/deploy", &deploy(field, bad)).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        let page = r.text().await.unwrap();
        assert!(page.contains(&format!(r#"id="deploy-{field}-error""#)), "{field}: beside it");
        assert!(page.contains(r#"value="med-7b""#), "{field}: kept");
    }
    assert!(deployments(&s, "web-med-7b").await.is_empty(), "a refused deployment deploys nothing");
    let r = prov.post("/models/deploy", &deploy("", "")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(deployments(&s, "web-med-7b").await, ["web-med-7b#1"]);
    let (_, m) = s.as_role("provider").get("/api/v1/models/web-med-7b").await;
    let d = &m["deployments"][0];
    assert_eq!(
        (&d["price_input_per_m"], &d["price_output_per_m"], &d["weight"], &d["max_concurrency"]),
        (&json!("2.50"), &json!("8.00"), &json!(100), &json!(16)),
        "{m}"
    );
    let page = prov.page("/models?lang=en").await;
    assert!(page.contains(r#"<input type="hidden" name="deployment" value="web-med-7b#1">"#), "the deployment has its undeploy button");
    assert!(page.contains("¥2.50") && page.contains("¥8.00"));

    // Undeploy asks first, changing nothing; Cancel goes back; confirming undeploys.
    let r = prov.post("/models/undeploy", "deployment=web-med-7b%231").await;
    assert_eq!(r.status(), StatusCode::OK);
    let ask = r.text().await.unwrap();
    assert!(ask.contains(r#"id="confirm""#) && ask.contains("web-med-7b#1") && ask.contains(r#"href="/models#deployments""#), "{ask}");
    assert_eq!(deployments(&s, "web-med-7b").await, ["web-med-7b#1"], "asking changes nothing");
    // Others may not undeploy it.
    for role in ["tenant", "regulator"] {
        let web = Web::sign_in(&s.url, &s.tokens[role]).await.unwrap();
        let r = web.post("/models/undeploy", "deployment=web-med-7b%231&confirmed=1").await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{role}");
        assert_eq!(web.post("/models/register", &model_form("name", "other-7b")).await.status(), StatusCode::FORBIDDEN, "{role}");
        assert!(!web.page("/models").await.contains(r#"action="/models/register""#), "{role} has no model forms");
    }
    assert_eq!(deployments(&s, "web-med-7b").await, ["web-med-7b#1"]);
    let r = prov.post("/models/undeploy", "deployment=web-med-7b%231&confirmed=1").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(deployments(&s, "web-med-7b").await.is_empty(), "undeployed");
    // Undeploying it again is refused with the error on the page.
    let r = prov.post("/models/undeploy", "deployment=web-med-7b%231").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(r#"data-code="not_found""#));

    // The operator deploys but does not register: the register form is the providers'.
    let op = Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();
    let page = op.page("/models").await;
    assert!(page.contains(r#"action="/models/deploy""#) && !page.contains(r#"action="/models/register""#));
    assert_eq!(op.post("/models/register", &model_form("name", "op-7b")).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(catalogue(&s).await.len(), before + 1);
}

/// Whether the key is revoked, as the API says.
async fn revoked(s: &TestServer, id: &str) -> bool {
    let (_, keys) = s.as_role("operator").get("/api/v1/model-keys").await;
    keys.as_array().unwrap().iter().find(|k| k["id"] == id).unwrap()["revoked"].is_string()
}

#[tokio::test]
async fn a_key_is_revoked_by_its_tenant_or_the_operator_after_a_confirmation() {
    let s = TestServer::start().await;
    let make = |name: &str| json!({"name": name, "budget": "20.00"});
    let (_, k1) = s.as_role("tenant").post("/api/v1/model-keys", &make("web revoke one")).await;
    let (_, k2) = s.as_role("tenant").post("/api/v1/model-keys", &make("web revoke two")).await;
    let (k1, k2) = (k1["id"].as_str().unwrap().to_string(), k2["id"].as_str().unwrap().to_string());

    let tenant = Web::sign_in(&s.url, &s.tokens["tenant"]).await.unwrap();
    assert!(tenant.page("/models").await.contains(&format!(r#"action="/models/keys/{k1}/revoke""#)));
    let r = tenant.post(&format!("/models/keys/{k1}/revoke"), "").await;
    let ask = r.text().await.unwrap();
    assert!(ask.contains(r#"id="confirm""#) && ask.contains("web revoke one") && ask.contains(r#"href="/models#keys""#), "{ask}");
    assert!(!revoked(&s, &k1).await, "asking changes nothing");

    // A provider and the regulator may not revoke it.
    for role in ["provider", "regulator"] {
        let web = Web::sign_in(&s.url, &s.tokens[role]).await.unwrap();
        assert_eq!(web.post(&format!("/models/keys/{k1}/revoke"), "confirmed=1").await.status(), StatusCode::FORBIDDEN, "{role}");
    }
    assert!(!revoked(&s, &k1).await);

    let r = tenant.post(&format!("/models/keys/{k1}/revoke"), "confirmed=1").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains(r#"id="revoked""#));
    assert!(revoked(&s, &k1).await, "revoked");
    // Again: refused, with the error on the page.
    let r = tenant.post(&format!("/models/keys/{k1}/revoke"), "confirmed=1").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(r#"data-code="model_key_revoked""#));

    // The operator revokes the tenant's other key.
    let op = Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();
    assert!(op.page("/models").await.contains(&format!(r#"action="/models/keys/{k2}/revoke""#)));
    assert_eq!(op.post(&format!("/models/keys/{k2}/revoke"), "confirmed=1").await.status(), StatusCode::OK);
    assert!(revoked(&s, &k2).await);
}
