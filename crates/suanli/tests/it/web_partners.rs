//! The partner-selection and ledger pages through the real router: the operator changes the partner criteria (bad input beside its field, nothing changed) and runs a round after a confirmation, seeing who changed and why; the regulator reads the criteria and the ledger but changes nothing; tenants and providers are refused; the ledger page says the ledger balances and lists the reconciliation and the accounts.

use crate::harness::{TestServer, Web};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashMap;

/// The criteria as the form posts them, with `field` set to `value`.
fn config_form(field: &str, value: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("weight_performance", "30"),
        ("weight_security", "20"),
        ("weight_green", "20"),
        ("weight_price", "15"),
        ("weight_service", "15"),
        ("min_total", "55"),
        ("max_pue", "1.5"),
        ("max_centre_fault_share", "0.05"),
        ("sla_max_start_latency_s", "300"),
        ("sla_min_jobs", "20"),
        ("security_certifications_pct", "30"),
        ("green_renewable_pct", "30"),
        ("cert_mlps_3", "60"),
        ("cert_mlps_4", "80"),
        ("cert_iso_27001", "30"),
        ("cert_trusted_cloud", "20"),
        ("cert_dc_tier_3", "20"),
        ("cert_dc_tier_4", "30"),
    ];
    if let Some(p) = pairs.iter_mut().find(|(k, _)| *k == field) {
        p.1 = value;
    }
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

async fn config(s: &TestServer) -> Value {
    s.as_role("operator").get("/api/v1/partners/config").await.1
}

async fn statuses(s: &TestServer) -> HashMap<String, String> {
    let (_, v) = s.as_role("operator").get("/api/v1/centres").await;
    let list = v.as_array().cloned().or_else(|| v["items"].as_array().cloned()).unwrap();
    list.iter().map(|c| (c["id"].as_str().unwrap().to_string(), c["partner_status"].as_str().unwrap().to_string())).collect()
}

#[tokio::test]
async fn the_operator_sets_the_partner_criteria_and_runs_a_round_through_the_web_forms() {
    let s = TestServer::start().await;
    let op = Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();
    let page = op.page("/partners?lang=en").await;
    assert!(page.contains(r#"action="/partners/config""#) && page.contains(r#"action="/partners/rounds""#), "the operator's forms");
    assert!(
        page.contains(
            r#"id="config-weight_performance" name="weight_performance" maxlength="200" inputmode="numeric" required value="30""#
        ),
        "the form holds what is in force"
    );
    assert!(page.contains(r#"<h2 id="partners">"#), "the scores are on the page");
    assert!(op.page("/incentives").await.contains(r#"href="/partners""#), "the incentives page links to it");

    // Bad input: beside its field, kept, nothing changed.
    let before = config(&s).await;
    for (field, bad, at, code) in [
        ("weight_service", "abc", "weight_service", "invalid_count"),
        ("weight_service", "25", "weight_service", "invalid_criteria"),
        ("max_pue", "9", "max_pue", "invalid_criteria"),
        ("min_total", "high", "min_total", "invalid_body"),
        ("cert_mlps_4", "150", "cert_mlps_4", "invalid_criteria"),
    ] {
        let r = op.post("/partners/config", &config_form(field, bad)).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field}={bad}");
        let page = r.text().await.unwrap();
        assert!(page.contains(&format!(r#"id="config-{at}-error""#)), "{field}={bad}: beside {at}");
        assert!(page.contains(&format!(r#"data-code="{code}""#)), "{field}={bad}: {code}");
        assert!(page.contains(&format!(r#"value="{bad}""#)), "{field}={bad}: kept");
    }
    assert_eq!(config(&s).await, before, "a refused form changes nothing");
    let r = op.post("/partners/config", &config_form("min_total", "55")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains(r#"id="done""#));
    assert_eq!(config(&s).await["min_total"].as_f64(), Some(55.0));

    // A round asks first and changes nothing; a bad kind is refused beside it.
    let r = op.post("/partners/rounds", "kind=lottery").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(r#"id="round-kind-error""#));
    let was = statuses(&s).await;
    let r = op.post("/partners/rounds", "kind=review").await;
    let ask = r.text().await.unwrap();
    assert!(ask.contains(r#"id="confirm""#) && ask.contains(r#"href="/partners""#), "{ask}");
    assert_eq!(statuses(&s).await, was, "asking changes nothing");
    let r = op.post("/partners/rounds", "kind=review&confirmed=1").await;
    assert_eq!(r.status(), StatusCode::OK);
    let done = r.text().await.unwrap();
    assert!(done.contains(r#"id="round-result""#), "the result is shown");
    let now = statuses(&s).await;
    let changed: Vec<&String> = now.keys().filter(|id| now[*id] != was[*id]).collect();
    for id in &changed {
        assert!(done.contains(&format!(r#"href="/centres/{id}""#)), "{id} changed and the result says so");
    }
    let result = done.split(r#"id="round-result""#).nth(1).unwrap().split("</section>").next().unwrap();
    assert_eq!(result.matches(r#"href="/centres/"#).count(), changed.len(), "the result lists the centres that changed, no more");
    if changed.is_empty() {
        assert!(result.contains("没有中心的伙伴资格发生变化"));
    }
}

#[tokio::test]
async fn the_ledger_and_partner_pages_are_the_operators_and_the_regulators() {
    let s = TestServer::start().await;
    let op = Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();
    let page = op.page("/ledger?lang=en").await;
    assert!(page.contains(r#"id="ledger-ok" data-ok="true""#), "the demo's ledger balances");
    for id in ["verify", "reconciliation", "accounts", "accounts-table", "mismatch-table"] {
        assert!(page.contains(&format!(r#"id="{id}""#)), "the ledger page has {id}");
    }
    assert!(page.contains(r#"href="/ledger" aria-current="page""#), "the nav has the ledger");
    let (_, accounts) = s.as_role("operator").get("/api/v1/ledger/accounts").await;
    assert!(!accounts.as_array().unwrap().is_empty());
    assert!(page.contains("Enterprise vouchers") && !page.contains("enterprise_voucher<"), "kinds in words");
    let zh = op.page("/ledger?lang=zh-CN").await;
    assert!(zh.contains("账本平衡") && zh.contains("企业算力券"), "in Chinese too");

    // A view shows the latest check kept (the demo's, made once it was seeded) and replays nothing;
    // "verify now" checks again and keeps who asked.
    let at = |page: &str| -> i64 { page.split(r#"id="checked-at" data-at=""#).nth(1).unwrap().split('"').next().unwrap().parse().unwrap() };
    let first = at(&page);
    assert!(page.contains("hourly check"), "the seeded check is the schedule's");
    assert_eq!(at(&op.page("/ledger?lang=en").await), first, "a view does not check again");
    let r = op.post("/ledger/verify", "").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/ledger#verify");
    let again = op.page("/ledger?lang=en").await;
    assert!(at(&again) >= first && again.contains("user <code>"), "the check asked for is kept, with who asked");
    assert!(again.contains(r#"id="ledger-ok" data-ok="true""#));

    // The regulator reads both pages and changes nothing.
    let reg = Web::sign_in(&s.url, &s.tokens["regulator"]).await.unwrap();
    assert_eq!(reg.get("/ledger").await.status(), StatusCode::OK);
    assert_eq!(reg.post("/ledger/verify", "").await.status(), StatusCode::SEE_OTHER, "the regulator may check the ledger");
    let page = reg.page("/partners").await;
    assert!(
        page.contains(r#"id="config-title""#)
            && !page.contains(r#"action="/partners/config""#)
            && !page.contains(r#"action="/partners/rounds""#)
    );
    let before = s.as_role("operator").get("/api/v1/partners/config").await.1;
    assert_eq!(reg.post("/partners/config", &config_form("min_total", "10")).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(reg.post("/partners/rounds", "kind=admission&confirmed=1").await.status(), StatusCode::FORBIDDEN);

    // Tenants and providers see neither.
    for role in ["tenant", "provider"] {
        let web = Web::sign_in(&s.url, &s.tokens[role]).await.unwrap();
        assert_eq!(web.get("/ledger").await.status(), StatusCode::FORBIDDEN, "{role}");
        assert_eq!(web.post("/ledger/verify", "").await.status(), StatusCode::FORBIDDEN, "{role}");
        assert_eq!(web.get("/partners").await.status(), StatusCode::FORBIDDEN, "{role}");
        assert_eq!(web.post("/partners/config", &config_form("min_total", "10")).await.status(), StatusCode::FORBIDDEN, "{role}");
        assert_eq!(web.post("/partners/rounds", "kind=admission&confirmed=1").await.status(), StatusCode::FORBIDDEN, "{role}");
        assert!(!web.page("/").await.contains(r#"href="/ledger""#), "{role}'s nav has no ledger");
    }
    assert_eq!(s.as_role("operator").get("/api/v1/partners/config").await.1, before, "nothing changed");
}
