//! The operator's money forms through the real router: a settlement's confirmation shows what will be paid, a confirmation that no longer matches is refused with `settlement_changed` and writes nothing, and the settlement paid is the amount shown; a voucher programme opens and closes only after its confirmation; other roles are refused.

use crate::harness::{TestServer, Web, wait_for_final};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

/// The value of the hidden input `name` on a page.
fn hidden(page: &str, name: &str) -> String {
    let key = format!(r#"name="{name}" value=""#);
    let at = page.find(&key).unwrap_or_else(|| panic!("no hidden {name} in {page}")) + key.len();
    page[at..].split('"').next().unwrap().to_string()
}

/// A day in Beijing time, `days` from now, as YYYY-MM-DD.
fn beijing_day(days: i64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    suanli_core::time::format_rfc3339(now + days * 86_400_000 + 8 * 3_600_000)[..10].to_string()
}

#[tokio::test]
async fn a_settlement_from_the_web_pays_only_the_amount_its_confirmation_showed() {
    let s = TestServer::start().await;
    let tenant = s.as_role("tenant");
    let (st, job) =
        tenant.post("/api/v1/jobs", &json!({"name": "to settle", "kind": "batch", "accelerators": 1, "duration_s": 3600})).await;
    assert_eq!(st, StatusCode::CREATED, "{job}");
    let id = job["id"].as_str().unwrap();
    wait_for_final(&tenant, id, Duration::from_secs(20)).await;
    let bill = loop {
        let (st, b) = tenant.get(&format!("/api/v1/jobs/{id}/bill")).await;
        if st == StatusCode::OK {
            break b;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let provider = bill["provider_id"].as_str().unwrap().to_string();
    let op_api = s.as_role("operator");
    let statements = || async { op_api.get(&format!("/api/v1/statements?provider_id={provider}")).await.1.as_array().unwrap().len() };
    let before = statements().await;
    let form = format!("provider={provider}&from={}&to={}", beijing_day(-30), beijing_day(0));

    for role in ["tenant", "provider", "regulator"] {
        let web = Web::sign_in(&s.url, &s.tokens[role]).await.unwrap();
        assert_eq!(web.post("/vouchers/settlements", &form).await.status(), StatusCode::FORBIDDEN, "{role}");
        assert_eq!(web.post("/vouchers/settlements", &format!("{form}&confirmed=1")).await.status(), StatusCode::FORBIDDEN, "{role}");
    }
    let op = Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();
    let r = op.post("/vouchers/settlements", &form).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("确认结算") && page.contains(r#"id="confirm-amount""#), "{page}");
    let (expected, until) = (hidden(&page, "expected"), hidden(&page, "until"));
    assert_eq!(statements().await, before, "settled before the confirmation");

    // A confirmation of another amount is refused beside the form and writes nothing.
    let r = op.post("/vouchers/settlements", &format!("{form}&until={until}&expected=0.01&confirmed=1")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="settle-provider-error" class="error" role="alert" data-code="settlement_changed""#), "{page}");
    assert_eq!(statements().await, before);

    let r = op.post("/vouchers/settlements", &format!("{form}&until={until}&expected={expected}&confirmed=1")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()["location"].to_str().unwrap().starts_with("/vouchers?done=settled&statement=stm_"), "{:?}", r.headers());
    let (_, list) = op_api.get(&format!("/api/v1/statements?provider_id={provider}")).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), before + 1);
    let newest = list.iter().max_by_key(|x| x["created_ms"].as_i64().unwrap()).unwrap();
    assert_eq!(newest["settled"].as_str(), Some(expected.as_str()), "{newest}");
}

/// The operator opens next year's voucher programme from the vouchers page after a
/// confirmation (nothing is opened before it), a second one for the same year is refused beside
/// the year with the input kept, and it is closed after a confirmation; other roles are refused.
#[tokio::test]
async fn the_operator_opens_and_closes_a_voucher_programme_from_the_vouchers_page_after_confirmations() {
    let s = TestServer::start().await;
    let op_api = s.as_role("operator");
    let programmes = || async { op_api.get("/api/v1/voucher-programmes").await.1.as_array().cloned().unwrap_or_default() };
    let before = programmes().await;
    let next = before.iter().filter_map(|p| p["year"].as_i64()).max().unwrap() + 1;
    let op = Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();
    let page = op.page("/vouchers").await;
    assert!(page.contains(r#"id="open-programme""#) && page.contains(&format!(r#"value="{next}""#)), "the form proposes next year");
    let form = format!(
        "year={next}&name=&budget=1000000.00&ratio_domestic_pct=40&ratio_other_pct=20&ratio_model_calls_pct=30&ratio_data_pct=30&cap_per_enterprise=50000.00&division_prefix=3301&sme_only=1&partner_only=1"
    );
    // A share over 100% is refused beside its field, the input kept.
    let r = op.post("/vouchers/programmes", &form.replace("ratio_domestic_pct=40", "ratio_domestic_pct=140")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="programme-ratio_domestic_pct-error""#) && page.contains(r#"value="140""#), "{page}");
    // The confirmation shows the budget and opens nothing.
    let r = op.post("/vouchers/programmes", &form).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("确认开启算力券计划") && page.contains("¥1,000,000.00"), "{page}");
    assert_eq!(programmes().await.len(), before.len(), "opened before the confirmation");
    let r = op.post("/vouchers/programmes", &format!("{form}&confirmed=1")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let after = programmes().await;
    let opened = after.iter().find(|p| p["year"].as_i64() == Some(next)).expect("the programme is open");
    assert_eq!((opened["state"].as_str(), opened["budget"].as_str()), (Some("open"), Some("1000000.00")), "{opened}");
    // The same year again: refused beside the year, nothing more opened.
    let r = op.post("/vouchers/programmes", &format!("{form}&confirmed=1")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(r#"id="programme-year-error""#));
    assert_eq!(programmes().await.len(), after.len());
    // Other roles may neither open nor close.
    let id = opened["id"].as_str().unwrap().to_string();
    for role in ["tenant", "provider", "regulator"] {
        let web = Web::sign_in(&s.url, &s.tokens[role]).await.unwrap();
        assert_eq!(web.post("/vouchers/programmes", &format!("{form}&confirmed=1")).await.status(), StatusCode::FORBIDDEN, "{role}");
        assert_eq!(web.post(&format!("/vouchers/programmes/{id}/close"), "confirmed=1").await.status(), StatusCode::FORBIDDEN, "{role}");
    }
    // Closing: a confirmation first, then closed.
    let r = op.post(&format!("/vouchers/programmes/{id}/close"), "").await;
    assert!(r.text().await.unwrap().contains("确认结束算力券计划"));
    assert_eq!(op_api.get(&format!("/api/v1/voucher-programmes/{id}")).await.1["state"], "open");
    let r = op.post(&format!("/vouchers/programmes/{id}/close"), "confirmed=1").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(op_api.get(&format!("/api/v1/voucher-programmes/{id}")).await.1["state"], "closed");
}
