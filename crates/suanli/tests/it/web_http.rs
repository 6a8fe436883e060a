//! The web UI over HTTP: sign-in in both languages, tables and CSV export, forms that submit, apply and approve, cross-site refusals, bounded bodies and methods, and error pages.

use crate::harness::{TestServer, wait_for_final};
use reqwest::StatusCode;
use std::time::Duration;

/// The web UI's first page: sign-in with a token, the overview in Chinese by default and in
/// English on request (remembered), nothing served without signing in.
#[tokio::test]
async fn web_overview_needs_sign_in_and_speaks_both_languages() {
    use crate::harness::Web;
    let s = TestServer::start().await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = http.get(format!("{}/", s.url)).send().await.unwrap();
    assert_eq!((r.status(), r.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/sign-in"));
    assert_eq!(Web::sign_in(&s.url, "sl_wrong").await.err(), Some(StatusCode::UNAUTHORIZED));
    let web = Web::sign_in(&s.url, &s.tokens["regulator"]).await.unwrap();
    let page = web.page("/").await;
    assert!(
        page.contains("<html lang=\"zh-CN\"") && page.contains("城市算力总览") && page.contains("<svg") && page.contains("算力券已使用"),
        "{page}"
    );
    let r = web.get("/?lang=en").await;
    let lang_cookie = crate::harness::set_cookie(&r, "suanli_lang").unwrap();
    let page = r.text().await.unwrap();
    assert!(page.contains("City compute overview") && page.contains("Open compute by region"), "{page}");
    let page = http
        .get(format!("{}/", s.url))
        .header("cookie", format!("{}; {lang_cookie}", web.cookie))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<html lang=\"en\""), "the language choice is remembered");
    // The energy page: coverage of the demo city (24 of 26 centres report) and the ranking.
    let page = web.page("/energy").await;
    assert!(page.contains("监测覆盖率") && page.contains("24/26") && page.contains("全生命周期评价排名"), "{page}");
    // Centres: the registry filtered to Hangzhou's districts, and one centre's page with its PUE chart.
    let page = web.page("/centres?region=hz-").await;
    let first = page.split("href=\"/centres/").nth(1).and_then(|x| x.split('"').next()).expect("a centre link").to_string();
    assert!(page.contains("hz-") && !page.contains("<td>sd-"), "{page}");
    // Regions by their names (西湖区), their ids only in a title.
    assert!(page.contains(r#"<span title="hz-"#) && page.contains("区</span>") && !page.contains("<td>hz-"), "{page}");
    let page = web.page(&format!("/centres/{first}")).await;
    assert!(page.contains("资源池") && page.contains("每日 PUE · 近 30 天") && page.contains("<svg"), "{page}");
    assert_eq!(web.get("/centres/ctr_00000000000000000000ff").await.status(), StatusCode::NOT_FOUND);
}

/// Every data table sorts, filters and exports without script: the headers are links, the CSV is
/// the page's own address with `format=csv&table=…` (UTF-8 with a BOM, the headers as shown in the
/// page's language), and the script that swaps tables in place is served by the server itself.
#[tokio::test]
async fn web_tables_sort_filter_and_export_csv() {
    use crate::harness::Web;
    let s = TestServer::start().await;
    let web = Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();
    let page = web.page("/centres?t1.sort=5&t1.dir=desc").await;
    assert!(page.contains(r#"<div class="dt" id="dt-t1">"#) && page.contains(r#"aria-sort="descending""#), "{page}");
    assert!(page.contains(r#"<script src="/assets/suanli.js?v="#), "{page}");
    let r = web.get("/centres?lang=en&format=csv&table=t1").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(r.headers()["content-disposition"], "attachment; filename=\"centres-t1.csv\"");
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xef\xbb\xbf", "a byte-order mark for Excel");
    let csv = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(csv.starts_with("Name,Region,Kind,"), "{csv}");
    let rows = csv.lines().count() - 1;
    let zh = String::from_utf8(web.get("/centres?format=csv&table=t1").await.bytes().await.unwrap()[3..].to_vec()).unwrap();
    assert!(zh.starts_with("名称,区域,类型,"), "{zh}");
    assert_eq!(zh.lines().count() - 1, rows, "the same rows in both languages");
    let page = web.page("/centres?t1.q=%E6%B2%A1%E6%9C%89%E8%BF%99%E6%A0%B7").await;
    assert!(page.contains(r#"data-rows="0""#) && page.contains("没有符合筛选条件的记录"), "{page}");
    assert_eq!(web.get("/centres?format=csv&table=nope").await.status(), StatusCode::NOT_FOUND);
    let r = web.get("/assets/suanli.js").await;
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert!(r.text().await.unwrap().starts_with("// suanli.js"));
    let wall = web.page("/wall").await;
    assert!(
        wall.contains(r#"<body class="wall">"#) && !wall.contains(r#"<nav aria-label="#) && wall.contains("data-refresh=\"10\""),
        "{wall}"
    );
}

/// The jobs and vouchers pages do each role's task over plain HTML forms: a tenant submits a
/// job and applies for vouchers (a zero amount is refused with its code), the operator approves
/// an application; a tenant never sees the approval forms.
#[tokio::test]
async fn web_forms_submit_jobs_apply_and_approve() {
    use crate::harness::Web;
    let s = TestServer::start().await;
    let sign_in = |role: &str| Web::sign_in(&s.url, &s.tokens[role]);
    let tenant = sign_in("tenant").await.unwrap();
    let page = tenant.page("/jobs").await;
    assert!(page.contains("提交作业") && page.contains("<label for=\"accelerators\">"), "{page}");
    // The quote step: the cheapest, fastest and greenest options with a goal to choose.
    let r = tenant.post("/jobs", "name=web-job&accelerators=8&hours=1&min_tflops=300&step=quote").await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="quotes""#) && page.contains(r#"value="greenest""#) && page.contains(r#"id="submit-job""#), "{page}");
    assert!(page.contains(r#"value="web-job""#), "the form keeps its values: {page}");
    let r = tenant.post("/jobs", "name=web-job&accelerators=100000&hours=1&step=quote").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "an impossible job gets no quote");
    let r = tenant.post("/jobs", "name=web-job&accelerators=8&hours=1&min_tflops=300&step=submit&goal=greenest").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let id = to.strip_prefix("/jobs?submitted=").expect("redirected to the jobs page").to_string();
    let page = tenant.page(&to).await;
    assert!(page.contains("已提交") && page.contains(&format!(r#"href="/jobs/{id}""#)) && page.contains("web-job"), "{page}");
    let (_, job) = s.as_role("tenant").get(&format!("/api/v1/jobs/{id}")).await;
    assert_eq!(job["goal"], "greenest", "{job}");
    let page = tenant.page(&format!("/jobs/{id}?lang=en")).await;
    assert!(page.contains("<h1>web-job</h1>") && page.contains(r#"id="explanation""#) && page.contains("Greenest"), "{page}");
    let other = sign_in("provider").await.unwrap();
    let page = other.page("/vouchers?lang=en").await;
    assert!(page.contains("My earnings") && page.contains("Statements") && !page.contains("/approve"), "{page}");
    let r = other.get(&format!("/jobs/{id}")).await;
    let (_, placed) = s.as_role("tenant").get(&format!("/api/v1/jobs/{id}")).await;
    if placed["centre_id"].is_null() {
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "a provider sees only jobs at its own centres");
    }
    let r = tenant.post("/vouchers/apply", "amount=0&purpose=%E8%AE%AD%E7%BB%83%E5%A4%A7%E6%A8%A1%E5%9E%8B").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // In Chinese, beside the form, which keeps what was typed; the code only for programs.
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"data-code="zero_amount">金额须大于零</p>"#), "{page}");
    assert!(
        page.contains(r#"value="训练大模型""#) && page.contains(r#"id="amount" name="amount" inputmode="decimal" required value="0""#),
        "{page}"
    );
    let r = tenant.post("/vouchers/apply", "amount=120000&purpose=%E8%AE%AD%E7%BB%83").await;
    assert_eq!(r.headers()["location"], "/vouchers?done=applied");
    let page = tenant.page("/vouchers?done=applied").await;
    assert!(page.contains("申请已提交") && page.contains("算力券可用"), "{page}");
    assert!(!page.contains("/approve"), "a tenant sees no approval forms");
    let op = sign_in("operator").await.unwrap();
    let page = op.page("/vouchers?lang=en").await;
    assert!(page.contains("Applications to decide"), "{page}");
    let (_, apps) = s.as_role("operator").get("/api/v1/voucher-applications?state=pending").await;
    let id = apps.as_array().unwrap().iter().find(|a| a["requested"] == "120000.00").unwrap()["id"].as_str().unwrap().to_string();
    // Approving asks first, showing the amount; only the confirmation issues the voucher.
    let r = op.post(&format!("/vouchers/applications/{id}/approve"), "amount=100000").await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("确认批准") && page.contains("¥100,000.00") && page.contains(r#"name="confirmed" value="1""#), "{page}");
    let (_, a) = s.as_role("operator").get(&format!("/api/v1/voucher-applications/{id}")).await;
    assert_eq!(a["state"], "pending", "approved before the confirmation: {a}");
    let r = op.post(&format!("/vouchers/applications/{id}/approve"), "amount=100000&confirmed=1").await;
    assert_eq!(r.headers()["location"], "/vouchers?done=approved");
    let (_, a) = s.as_role("operator").get(&format!("/api/v1/voucher-applications/{id}")).await;
    assert_eq!((a["state"].as_str(), a["approved"].as_str()), (Some("approved"), Some("100000.00")), "{a}");
    let r = tenant.post(&format!("/vouchers/applications/{id}/approve"), "amount=1&confirmed=1").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a tenant cannot approve");
    // Rejecting asks first too, with the enterprise, the amount and the reason it will read.
    let r = tenant.post("/vouchers/apply", "amount=7000&purpose=%E5%BE%85%E9%A9%B3%E5%9B%9E").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, apps) = s.as_role("operator").get("/api/v1/voucher-applications?state=pending").await;
    let id = apps.as_array().unwrap().iter().find(|a| a["requested"] == "7000.00").unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(op.post(&format!("/vouchers/applications/{id}/reject"), "reason=+").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = tenant.post(&format!("/vouchers/applications/{id}/reject"), "reason=no").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a tenant is refused before any confirmation");
    let r = op.post(&format!("/vouchers/applications/{id}/reject"), "reason=%E9%A2%84%E7%AE%97%E4%B8%8D%E8%B6%B3").await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    for want in ["确认驳回此申请？", "¥7,000.00", "待驳回", "预算不足", "不能撤销", r#"id="cancel" href="/vouchers""#] {
        assert!(page.contains(want), "the confirmation shows {want}: {page}");
    }
    let (_, a) = s.as_role("operator").get(&format!("/api/v1/voucher-applications/{id}")).await;
    assert_eq!(a["state"], "pending", "rejected before the confirmation: {a}");
    let r = op.post(&format!("/vouchers/applications/{id}/reject"), "reason=%E9%A2%84%E7%AE%97%E4%B8%8D%E8%B6%B3&confirmed=1").await;
    assert_eq!(r.headers()["location"], "/vouchers?done=rejected");
    let (_, a) = s.as_role("operator").get(&format!("/api/v1/voucher-applications/{id}")).await;
    assert_eq!((a["state"].as_str(), a["decision_reason"].as_str()), (Some("rejected"), Some("预算不足")), "{a}");
}

/// Issue 13.3 and 13.4, the attacks first: a page on another port of the same host (or a
/// sibling subdomain) cannot make the operator's browser approve a voucher application or sign
/// a victim in; a form without its session's token is refused; the cookie is a revocable
/// session id, not the API token, and sign-out kills it; pages are never cached or framed.
#[tokio::test]
async fn web_forms_refuse_cross_site_posts_and_sessions_end_at_sign_out() {
    use crate::harness::Web;
    let s = TestServer::start().await;
    let tenant = Web::sign_in(&s.url, &s.tokens["tenant"]).await.unwrap();
    assert_eq!(tenant.post("/vouchers/apply", "amount=300000&purpose=x").await.status(), StatusCode::SEE_OTHER);
    let (_, apps) = s.as_role("operator").get("/api/v1/voucher-applications?state=pending").await;
    let app = apps.as_array().unwrap().iter().find(|a| a["requested"] == "300000.00").unwrap()["id"].as_str().unwrap().to_string();
    let op = Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();
    let approve = format!("{}/vouchers/applications/{app}/approve", s.url);
    let attempt = |origin: Option<&'static str>, body: String| {
        let mut req =
            op.http.post(&approve).header("cookie", &op.cookie).header("content-type", "application/x-www-form-urlencoded").body(body);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    // The attack as found: a form on another port of 127.0.0.1, the cookie sent along.
    for (origin, body) in [
        (Some("http://127.0.0.1:1"), String::new()),
        (Some("http://127.0.0.1:1"), format!("csrf={}", op.csrf)),
        (Some("https://evil.127.0.0.1.example"), format!("csrf={}", op.csrf)),
        (Some("null"), format!("csrf={}", op.csrf)),
        (None, format!("csrf={}", op.csrf)),
        (Some(""), String::new()),
    ] {
        let r = attempt(origin, body).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "origin {origin:?}");
    }
    // From the platform's own origin but without the session's token, or with another's.
    let own = Box::leak(s.url.clone().into_boxed_str());
    assert_eq!(attempt(Some(own), String::new()).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(attempt(Some(own), format!("csrf={}", tenant.csrf)).await.unwrap().status(), StatusCode::FORBIDDEN);
    let (_, a) = s.as_role("operator").get(&format!("/api/v1/voucher-applications/{app}")).await;
    assert_eq!(a["state"], "pending", "a refused post changed nothing: {a}");
    let (_, audit) = s.as_role("operator").get(&format!("/api/v1/audit?subject={app}")).await;
    assert!(!audit["items"].as_array().unwrap().iter().any(|x| x["action"] != "voucher.apply"), "{audit}");
    // Login CSRF: signing a victim's browser in from another origin, or without the pre-session token.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = format!("token={}", s.tokens["tenant"]);
    let r = http
        .post(format!("{}/sign-in", s.url))
        .header("origin", "http://127.0.0.1:1")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = http
        .post(format!("{}/sign-in", s.url))
        .header("origin", &s.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no pre-session token");

    // Sessions: the cookie is not the token; pages are not cached or framed; sign-out revokes.
    assert!(!op.cookie.contains(&s.tokens["operator"]) && op.cookie.starts_with("suanli_session="), "{}", op.cookie);
    let r = op.get("/vouchers").await;
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(op.post("/sign-out", "").await.status(), StatusCode::SEE_OTHER);
    let r = op.get("/vouchers").await;
    assert_eq!(
        (r.status(), r.headers()["location"].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/sign-in"),
        "a signed-out cookie still worked"
    );
    let r = op.post(&format!("/vouchers/applications/{app}/approve"), "").await;
    assert_eq!((r.status(), r.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/sign-in"));
    let (_, a) = s.as_role("operator").get(&format!("/api/v1/voucher-applications/{app}")).await;
    assert_eq!(a["state"], "pending", "{a}");
    // Behind TLS the session cookie is Secure.
    let r = http.get(format!("{}/sign-in", s.url)).header("x-forwarded-proto", "https").send().await.unwrap();
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("Secure"));
}

/// Issue 13.6 and 13.12: an oversized body is 413 with a code, made-up methods share one metric
/// label, and a window ending at the smallest i64 is refused rather than overflowing.
#[tokio::test]
async fn oversized_bodies_made_up_methods_and_extreme_windows_are_bounded() {
    let s = TestServer::start().await;
    let tenant = s.as_role("tenant");
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(3 << 20));
    let (st, e) = tenant.post_raw("/api/v1/jobs", &huge, Some("application/json")).await;
    assert_eq!((st, e["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")), "{e}");
    let http = reqwest::Client::new();
    for i in 0..50 {
        let method = reqwest::Method::from_bytes(format!("MADEUP{i}").as_bytes()).unwrap();
        let r = http.request(method, format!("{}/api/v1/jobs", s.url)).send().await.unwrap();
        assert!(r.status().is_client_error(), "{}", r.status());
    }
    let metrics = http.get(format!("{}/metrics", s.url)).send().await.unwrap().text().await.unwrap();
    assert!(!metrics.contains("MADEUP"), "made-up methods became labels");
    assert!(metrics.contains("method=\"other\""), "{metrics}");
    let (_, centres) = tenant.get("/api/v1/centres").await;
    let cid = centres["items"][0]["id"].as_str().unwrap().to_string();
    let (st, e) = tenant.get(&format!("/api/v1/energy/centres/{cid}/pue?to={}", i64::MIN)).await;
    assert!(st.is_client_error(), "{st}: {e}");
}

/// Issue 17.1, 17.3, 17.9: the web UI answers unknown paths, trailing slashes and a language
/// link after a form with its own pages (not the API's JSON), documents the API for people,
/// marks the current page and offers a skip link; a job's page sets its bill against its quote
/// with the billing rule in words, to the fen.
#[tokio::test]
async fn web_error_pages_api_docs_and_honest_money() {
    use crate::harness::Web;
    let s = TestServer::start().await;
    let web = Web::sign_in(&s.url, &s.tokens["tenant"]).await.unwrap();
    let r = web.get("/no-such-page").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("找不到这个页面"));
    let r = web.get("/jobs/").await;
    assert_eq!((r.status(), r.headers()["location"].to_str().unwrap()), (StatusCode::PERMANENT_REDIRECT, "/jobs"));
    let r = web.get("/vouchers/apply?lang=en").await;
    assert_eq!(r.headers()["location"].to_str().unwrap(), "/vouchers?lang=en", "the language link after a form error");
    let (st, e) = s.as_role("tenant").get("/api/v1/no-such-thing").await;
    assert_eq!((st, e["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let docs = web.page("/api?lang=en").await;
    assert!(docs.contains("<code>/api/v1/jobs</code>") && docs.contains("/api/v1/openapi.json"), "{docs}");
    let page = web.page("/jobs").await;
    assert!(page.contains(r##"<a class="skip" href="#main">"##) && page.contains(r#"<a href="/jobs" aria-current="page">"#), "{page}");

    let (_, job) = s
        .as_role("tenant")
        .post(
            "/api/v1/jobs",
            &serde_json::json!({"name": "money", "kind": "training", "accelerators": 2, "models": ["a800"], "duration_s": 7200}),
        )
        .await;
    let id = job["id"].as_str().unwrap().to_string();
    let done = wait_for_final(&s.as_role("tenant"), &id, Duration::from_secs(20)).await;
    let t0 = std::time::Instant::now();
    while s.as_role("tenant").get(&format!("/api/v1/jobs/{id}/bill")).await.0 != StatusCode::OK {
        assert!(t0.elapsed() < Duration::from_secs(10), "not billed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, bill) = s.as_role("tenant").get(&format!("/api/v1/jobs/{id}/bill")).await;
    let page = web.page(&format!("/jobs/{id}")).await;
    assert!(page.contains("报价（所在资源池）") && page.contains("卡时") && page.contains("计费规则"), "{page}");
    let rule = if done["state"] == "succeeded" { "已完成，按实际运行计费" } else { "中心故障，不计费" };
    assert!(page.contains(rule), "{page}");
    let charge: f64 = bill["charge"].as_str().unwrap().parse().unwrap();
    let shown = format!(
        r#"<span id="billed">¥{}"#,
        if charge >= 1000.0 { format!("{},{:06.2}", (charge / 1000.0).floor(), charge % 1000.0) } else { format!("{charge:.2}") }
    );
    assert!(page.contains(&shown), "the bill to the fen ({shown}): {page}");
}
