//! The web UI's words and failures: a bill's own page, readable by exactly those the money service lets read bills; the 500 page when a page fails inside; the API docs' trailing slash; the language link after any form's error; grades and meters named in both languages; a job form that keeps what was typed with the error beside its field.

use crate::earnings::billed_job;
use crate::harness::{TestServer, Web};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A new user of `role` bound to `owner` (`tenant_id` or `provider_id`), made by the operator; its token.
async fn user(s: &TestServer, role: &str, owner: (&str, &str)) -> String {
    let (st, u) =
        s.as_role("operator").post("/api/v1/users", &json!({"name": format!("{role} stranger"), "role": role, owner.0: owner.1})).await;
    assert_eq!(st, StatusCode::CREATED, "{u}");
    u["token"].as_str().unwrap().to_string()
}

/// Another record than `not` from a list the operator reads.
async fn other(s: &TestServer, path: &str, not: &str) -> String {
    let (_, v) = s.as_role("operator").get(path).await;
    let items = v["items"].as_array().or(v.as_array()).cloned().unwrap_or_default();
    items.iter().filter_map(|x| x["id"].as_str()).find(|id| *id != not).unwrap_or_else(|| panic!("no other than {not} in {v}")).to_string()
}

#[tokio::test]
async fn a_bill_has_its_own_page_for_its_tenant_its_provider_the_operator_and_the_regulator_only() {
    let s = TestServer::start().await;
    let (provider, _, bill) = billed_job(&s).await;
    let (id, job, tenant) = (bill["id"].as_str().unwrap(), bill["job_id"].as_str().unwrap(), bill["tenant_id"].as_str().unwrap());
    let charge = suanli_core::money::Fen::parse_yuan(bill["charge"].as_str().unwrap()).unwrap();
    let yuan = |f: &Value| suanli_core::money::Fen::parse_yuan(f.as_str().unwrap()).unwrap();
    let fen = |f: suanli_core::money::Fen| format!("¥{}.{:02}", f.0 / 100, f.0 % 100);

    // The job's page links to the bill.
    let tenant_web = Web::sign_in(&s.url, &s.tokens["tenant"]).await.unwrap();
    let page = tenant_web.page(&format!("/jobs/{job}")).await;
    assert!(page.contains(&format!(r#"<a id="bill-link" href="/bills/{id}""#)), "{page}");

    let own_provider = user(&s, "provider", ("provider_id", &provider)).await;
    for token in [&s.tokens["tenant"], &own_provider, &s.tokens["operator"], &s.tokens["regulator"]] {
        let web = Web::sign_in(&s.url, token).await.unwrap();
        let r = web.get(&format!("/bills/{id}")).await;
        assert_eq!(r.status(), StatusCode::OK);
        let page = r.text().await.unwrap();
        for line in
            ["报价（所在资源池）", "按用量计价", "卡时", "计费规则", "算力券支付", "现金支付", "与服务商结算", "出账时间", "(UTC+8)"]
        {
            assert!(page.contains(line), "{line}: {page}");
        }
        assert!(page.contains(&format!(r#"<tr id="bill-charge"><th scope="row">账单金额</th><td>{}</td>"#, fen(charge))), "{page}");
        assert!(page.contains(&fen(yuan(&bill["voucher"]))) && page.contains(&fen(yuan(&bill["cash"]))), "{page}");
        assert!(page.contains(&format!(r#"<a href="/jobs/{job}" title="{job}">"#)), "the job, linked: {page}");
        let rule = if bill["rule"] == "centre_fault" { "中心故障，不计费" } else { "按" };
        assert!(page.contains(r#"<p id="bill-rule">"#) && page.contains(rule), "{page}");
        assert!(page.contains("尚未结算") || page.contains("已结算"), "{page}");
        let en = web.page(&format!("/bills/{id}?lang=en")).await;
        assert!(en.contains("Accelerator-hours") && en.contains("Settled with the provider"), "{en}");
    }

    // Another enterprise, another provider and an expert see no such bill; the API agrees.
    let stranger_tenant = user(&s, "tenant", ("tenant_id", &other(&s, "/api/v1/tenants", tenant).await)).await;
    let stranger_provider = user(&s, "provider", ("provider_id", &other(&s, "/api/v1/providers", &provider).await)).await;
    for token in [&stranger_tenant, &stranger_provider] {
        let web = Web::sign_in(&s.url, token).await.unwrap();
        let r = web.get(&format!("/bills/{id}")).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let page = r.text().await.unwrap();
        assert!(page.contains("<h1>找不到账单</h1>") && page.contains(r#"data-code="bill_not_found""#), "{page}");
        assert!(!page.contains(&fen(charge)) || charge.0 == 0, "{page}");
        let api = crate::harness::Api::new(&s.url, Some(token.clone()));
        assert_eq!(api.get(&format!("/api/v1/jobs/{job}/bill")).await.0, StatusCode::NOT_FOUND);
    }
    let r = tenant_web.get("/bills/bil_nonsense").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// A page whose store read fails inside answers the web UI's 500 page (HTML, in the page's
/// language, the failure logged, nothing of it shown); the API keeps its problem documents.
#[tokio::test]
async fn a_page_that_fails_inside_answers_the_html_500_page_and_the_api_its_problem() {
    let s = TestServer::start().await;
    let (_, _, bill) = billed_job(&s).await;
    let id = bill["id"].as_str().unwrap().to_string();
    let job = bill["job_id"].as_str().unwrap().to_string();
    let web = Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();
    assert_eq!(web.get(&format!("/bills/{id}")).await.status(), StatusCode::OK);
    // A real failure under the page: the bills' table is gone (sessions, in their own table, still work).
    let mut tx = s.state.store.begin().await.unwrap();
    sqlx::query("ALTER TABLE bills RENAME TO bills_gone").execute(tx.connection().await.unwrap()).await.unwrap();
    tx.commit().await.unwrap();
    for (path, lang, words) in
        [(format!("/bills/{id}"), "zh-CN", "服务器内部错误"), (format!("/bills/{id}?lang=en"), "en", "Something went wrong")]
    {
        let r = web.get(&path).await;
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let page = r.text().await.unwrap();
        assert!(
            page.contains(&format!(r#"<html lang="{lang}">"#)) && page.contains(words) && page.contains(r#"<h1 id="server-error">"#),
            "{page}"
        );
        assert!(!page.contains("bills") && !page.contains("no such table"), "no internals shown: {page}");
    }
    let (st, v) = s.as_role("operator").get(&format!("/api/v1/jobs/{job}/bill")).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::INTERNAL_SERVER_ERROR, Some("internal")), "{v}");
}

#[tokio::test]
async fn trailing_slashes_language_links_after_form_errors_and_error_pages_stay_in_the_web_ui() {
    let s = TestServer::start().await;
    let web = Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();
    let r = web.get("/api/").await;
    assert_eq!((r.status(), r.headers()["location"].to_str().unwrap()), (StatusCode::PERMANENT_REDIRECT, "/api"));
    let r = web.get("/api/?lang=en").await;
    assert_eq!(r.headers()["location"].to_str().unwrap(), "/api?lang=en");
    let (st, v) = s.as_role("operator").get("/api/v1/nothing/").await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "under /api/v1 a problem still");
    // A registry form refused, then its page's language link (a GET of the form's target).
    let r = web.post("/registry/centre", "name=").await;
    assert!(r.status().is_client_error(), "{}", r.status());
    let r = web.get("/registry/centre?lang=en").await;
    assert_eq!(r.headers()["location"].to_str().unwrap(), "/registry?lang=en");
    let centre = other(&s, "/api/v1/centres", "").await;
    let r = web.get(&format!("/centres/{centre}/pools/pool_x/price?lang=en")).await;
    assert_eq!(r.headers()["location"].to_str().unwrap(), format!("/centres/{centre}?lang=en"));
    // An unknown centre's page has its heading.
    let r = web.get("/centres/ctr_nope").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("<h1>找不到算力中心</h1>"));
    // The API's page writes `<token>` as text, and says in Chinese why its descriptions are English.
    let en = web.page("/api?lang=en").await;
    assert!(en.contains("Bearer &lt;token&gt;"), "{en}");
    let zh = web.page("/api").await;
    assert!(zh.contains("Bearer &lt;令牌&gt;") && zh.contains(r#"<p id="api-english">"#) && zh.contains(r#"<td lang="en">"#), "{zh}");
}

#[tokio::test]
async fn grades_and_silent_meters_are_named_in_both_languages() {
    let s = TestServer::start_with_energy_year().await;
    let web = Web::sign_in(&s.url, &s.tokens["regulator"]).await.unwrap();
    let en = web.page("/energy?lang=en").await;
    assert!(!en.contains(">grade1<") && !en.contains(">grade2<") && !en.contains(">grade3<"), "raw grades: {en}");
    assert!(en.contains("Grade 1") || en.contains("Grade 2") || en.contains("Grade 3") || en.contains("below Grade 3"), "{en}");
    let zh = web.page("/energy").await;
    assert!(zh.contains(" 级") || zh.contains("未达 3 级"), "{zh}");
    // A centre's page in English names its grade too.
    let (_, centres) = s.as_role("regulator").get("/api/v1/centres").await;
    let id = centres["items"][0]["id"].as_str().unwrap();
    let page = web.page(&format!("/centres/{id}?lang=en")).await;
    assert!(!page.contains(">grade1<") && !page.contains(">grade2<") && !page.contains(">grade3<"), "{page}");
}

#[tokio::test]
async fn a_job_form_the_server_cannot_read_keeps_the_input_with_the_error_beside_its_field() {
    let s = TestServer::start().await;
    let web = Web::sign_in(&s.url, &s.tokens["tenant"]).await.unwrap();
    for (form, field, kept) in [
        ("name=mine&accelerators=abc&hours=2&min_tflops=&step=quote", "accelerators", r#"value="abc""#),
        ("name=mine&accelerators=4&hours=-1&min_tflops=&step=quote", "hours", r#"value="-1""#),
        ("name=mine&accelerators=4&hours=2&min_tflops=lots&step=quote", "min_tflops", r#"value="lots""#),
        ("name=&accelerators=4&hours=2&min_tflops=&step=quote", "name", r#"value="4""#),
    ] {
        let r = web.post("/jobs", form).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{form}");
        let page = r.text().await.unwrap();
        assert!(page.contains(&format!(r#"aria-invalid="true" aria-describedby="{field}-error""#)), "{form}: {page}");
        assert!(page.contains(&format!(r#"<p id="{field}-error" class="error" role="alert">"#)), "{form}: {page}");
        assert!(page.contains(kept) && page.contains(r#"value="mine""#) || field == "name", "{form}: the input kept: {page}");
        assert!(!page.contains("请检查表单中的数值"), "{page}");
    }
}
