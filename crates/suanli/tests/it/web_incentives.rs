//! The incentive tasks through the web UI's forms, on the real router: applying with evidence files (multipart), objecting, the operator's ranking, resolving, deciding and carrying after confirmations, adding an expert whose token is shown once, and a centre's certifications and green power declared from a file or a hash. Each form: it works, bad input is refused beside its field changing nothing, and a role it is not for is refused.

use crate::harness::{TestServer, Web};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;

/// Posts a `multipart/form-data` form as a browser does: the session's token first, then the
/// text fields, then the files as `(field, file name, bytes)`.
async fn post_files(web: &Web, path: &str, fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> reqwest::Response {
    let boundary = "----suanliTestBoundary7MA4YWxkTrZu0gW";
    let mut body: Vec<u8> = Vec::new();
    let mut field = |name: &str, value: &str| {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes())
    };
    field("csrf", &web.csrf);
    for (k, v) in fields {
        field(k, v);
    }
    for (name, file, bytes) in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/pdf\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    web.http
        .post(format!("{}{path}", web.url))
        .header("cookie", &web.cookie)
        .header("origin", &web.url)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn sign_in(s: &TestServer, role: &str) -> Web {
    Web::sign_in(&s.url, &s.tokens[role]).await.unwrap()
}

async fn applications(s: &TestServer) -> Vec<Value> {
    s.as_role("operator").get("/api/v1/incentives/applications").await.1.as_array().cloned().unwrap_or_default()
}

const FIELDS: &[(&str, &str)] = &[
    ("programme", "hz55-special-model"),
    ("project", "网页申报的城市大模型"),
    ("cost", "1000000"),
    ("requested", "100000.00"),
    ("doc_kind_1", "rd_cost_audit"),
    ("doc_kind_2", "model_evaluation"),
];

fn with(fields: &[(&'static str, &'static str)], name: &str, value: &'static str) -> Vec<(&'static str, &'static str)> {
    fields.iter().map(|(k, v)| (*k, if *k == name { value } else { *v })).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_applies_from_the_web_with_evidence_files_and_bad_input_is_refused_beside_its_field() {
    let s = TestServer::start().await;
    let before = applications(&s).await.len();
    let tenant = sign_in(&s, "tenant").await;
    let form = tenant.page("/incentives").await;
    assert!(form.contains(r#"enctype="multipart/form-data""#) && form.contains(r#"id="apply-doc-file-1""#), "{form}");
    let files: &[(&str, &str, &[u8])] = &[("doc_file_1", "audit.pdf", b"audit"), ("doc_file_2", "eval.pdf", b"evaluation")];
    // Bad input: the error beside its field, the input kept, nothing stored.
    for (fields, docs, id) in [
        (with(FIELDS, "requested", "十万"), files, "apply-requested-error"),
        (with(FIELDS, "requested", "300000.01"), files, "apply-requested-error"),
        (with(FIELDS, "project", " "), files, "apply-project-error"),
        (with(FIELDS, "programme", "nope"), files, "apply-programme-error"),
        (FIELDS.to_vec(), &files[..1], "apply-documents-error"),
    ] {
        let r = post_files(&tenant, "/incentives/applications", &fields, docs).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{id}");
        let page = r.text().await.unwrap();
        assert!(page.contains(&format!(r#"id="{id}""#)), "{id}: {page}");
        assert!(page.contains(r#"value="1000000""#), "the input is kept");
    }
    assert_eq!(applications(&s).await.len(), before, "nothing stored");
    // Roles that do not apply are refused and nothing is stored.
    for role in ["regulator", "expert"] {
        let web = sign_in(&s, role).await;
        assert_eq!(post_files(&web, "/incentives/applications", FIELDS, files).await.status(), StatusCode::FORBIDDEN, "{role}");
    }
    let tenant_id = s.as_role("tenant").get("/api/v1/me").await.1["tenant_id"].as_str().unwrap().to_string();
    let provider = sign_in(&s, "provider").await;
    let mut on_behalf: Vec<(&str, &str)> = FIELDS.to_vec();
    on_behalf.push(("on_behalf_of", &tenant_id));
    assert_eq!(post_files(&provider, "/incentives/applications", &on_behalf, files).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(applications(&s).await.len(), before);
    // The application is made, with both files stored by their SHA-256.
    let r = post_files(&tenant, "/incentives/applications", FIELDS, files).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/incentives/applications/inc_") && to.ends_with("?done=applied"), "{to}");
    let page = tenant.page(&to).await;
    assert!(page.contains("申请已提交") && page.contains("研发费用审计报告"), "{page}");
    let all = applications(&s).await;
    let a = all.iter().find(|a| a["project"] == "网页申报的城市大模型").unwrap();
    let hashes: Vec<&str> = a["evidence"].as_array().unwrap().iter().map(|e| e["sha256"].as_str().unwrap()).collect();
    assert_eq!(hashes, vec![hex::encode(sha2::Sha256::digest(b"audit")), hex::encode(sha2::Sha256::digest(b"evaluation"))]);
    // The operator applies on behalf of the tenant.
    let op = sign_in(&s, "operator").await;
    assert!(op.page("/incentives").await.contains(r#"id="apply-on_behalf_of""#));
    let mut fields: Vec<(&str, &str)> = with(FIELDS, "project", "代为申报的模型");
    fields.push(("on_behalf_of", &tenant_id));
    assert_eq!(post_files(&op, "/incentives/applications", &fields, files).await.status(), StatusCode::SEE_OTHER);
    let made = applications(&s).await;
    assert_eq!(made.iter().find(|a| a["project"] == "代为申报的模型").unwrap()["applicant_id"].as_str(), Some(tenant_id.as_str()));
}

/// An application of the tenant's scored by three experts from the pool, ready to rank.
async fn reviewed_application(s: &TestServer) -> String {
    let (op, ten) = (s.as_role("operator"), s.as_role("tenant"));
    let b64 = |x: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, x);
    let (st, a) = ten
        .post(
            "/api/v1/incentives/applications",
            &json!({"programme": "hz55-special-model", "project": "排名用模型", "cost": "1000000", "requested": "100000", "documents": [
                {"kind": "rd_cost_audit", "name": "a.pdf", "content_base64": b64("a")},
                {"kind": "model_evaluation", "name": "e.pdf", "content_base64": b64("e")}]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    for org in ["91330108MA2H00001B", "91330108MA2H00002E", "91330108MA2H00003H"] {
        let (_, x) = op.post("/api/v1/incentives/experts", &json!({"name": "评审专家", "organisation_uscc": org})).await;
        op.post(&format!("/api/v1/incentives/applications/{id}/assignments"), &json!({"expert": x["expert"]["id"]})).await;
        let me = op.with_token(x["token"].as_str().unwrap());
        let (st, v) = me
            .post(
                &format!("/api/v1/incentives/applications/{id}/reviews"),
                &json!({"scores": {"innovation": 90, "application": 80, "team": 85}}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    id
}

async fn stage(s: &TestServer, id: &str) -> Value {
    s.as_role("operator").get(&format!("/api/v1/incentives/applications/{id}")).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_ranks_and_a_provider_objects_and_the_operator_resolves_and_decides_from_the_web_after_confirmations() {
    let s = TestServer::start().await;
    let id = reviewed_application(&s).await;
    let op = sign_in(&s, "operator").await;
    // Ranking: other roles refused; an unknown programme beside its field; a confirmation first.
    for role in ["tenant", "provider", "regulator"] {
        let web = sign_in(&s, role).await;
        assert_eq!(
            web.post("/incentives/programmes/rank", "programme=hz55-special-model&confirmed=1").await.status(),
            StatusCode::FORBIDDEN
        );
    }
    let r = op.post("/incentives/programmes/rank", "programme=nope").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(r#"id="rank-programme-error""#));
    let r = op.post("/incentives/programmes/rank", "programme=hz55-special-model").await;
    let page = r.text().await.unwrap();
    assert!(page.contains("确认排名并进入公示") && page.contains(r#"<strong id="confirm-count">1</strong>"#), "{page}");
    assert_eq!(stage(&s, &id).await["stage"], "under_review", "nothing ranked before the confirmation");
    let page = op.post("/incentives/programmes/rank", "programme=hz55-special-model&confirmed=1").await.text().await.unwrap();
    assert!(page.contains("其中 1 份进入公示"), "{page}");
    assert_eq!(stage(&s, &id).await["stage"], "publicity");

    // An objection: too short is refused beside the field; the expert may not; a provider objects.
    let provider = sign_in(&s, "provider").await;
    let path = format!("/incentives/applications/{id}");
    assert!(provider.page(&path).await.contains(r#"id="object-form""#));
    let r = provider.post(&format!("{path}/object"), "text=%E7%9F%AD").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(r#"id="object-text-error""#));
    assert_eq!(stage(&s, &id).await["objections"], json!([]));
    let r = provider
        .post(&format!("{path}/object"), "text=%E7%94%B3%E6%8A%A5%E6%9D%90%E6%96%99%E4%B8%8E%E5%AE%9E%E9%99%85%E4%B8%8D%E7%AC%A6")
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(stage(&s, &id).await["objections"].as_array().unwrap().len(), 1);

    // Resolving: only the operator; a reason is needed; a confirmation first.
    let tenant = sign_in(&s, "tenant").await;
    assert_eq!(
        tenant.post(&format!("{path}/objections/1/resolve"), "uphold=0&reason=ok%20ok&confirmed=1").await.status(),
        StatusCode::FORBIDDEN
    );
    let r = op.post(&format!("{path}/objections/1/resolve"), "uphold=0&reason=").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(r#"id="resolve-0-reason-error""#));
    let page = op
        .post(&format!("{path}/objections/1/resolve"), "uphold=0&reason=%E6%A0%B8%E5%AE%9E%E6%97%A0%E8%AF%AF")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("确认处理此异议") && page.contains("不成立"), "{page}");
    assert_eq!(stage(&s, &id).await["objections"][0]["resolution"], Value::Null, "nothing resolved before the confirmation");
    let r = op.post(&format!("{path}/objections/1/resolve"), "uphold=0&reason=%E6%A0%B8%E5%AE%9E%E6%97%A0%E8%AF%AF&confirmed=1").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(stage(&s, &id).await["objections"][0]["resolution"][0], false, "dismissed");

    // Deciding: refused during publicity (beside the form); once publicity is over, a
    // confirmation first, then the award is paid.
    let r = op.post(&format!("{path}/decide"), "").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(r#"data-code="wrong_stage""#));
    let mut a = s.state.store.incentive_application(&id).await.unwrap().unwrap();
    a.publicity_until = Some(s.state.ids.now_ms() - 1);
    let mut tx = s.state.store.begin().await.unwrap();
    tx.update_incentive_application(&a, suanli_incentives::Stage::Publicity).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(tenant.post(&format!("{path}/decide"), "confirmed=1").await.status(), StatusCode::FORBIDDEN);
    let page = op.post(&format!("{path}/decide"), "").await.text().await.unwrap();
    assert!(page.contains("确认决定并拨付") && page.contains("¥100,000.00"), "{page}");
    assert_eq!(stage(&s, &id).await["stage"], "publicity");
    assert_eq!(op.post(&format!("{path}/decide"), "confirmed=1").await.status(), StatusCode::SEE_OTHER);
    let done = stage(&s, &id).await;
    assert_eq!((done["stage"].as_str(), done["paid"].as_str()), (Some("awarded"), Some("100000.00")), "{done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_adds_an_expert_whose_token_is_shown_once_and_carries_only_a_closed_programme() {
    let s = TestServer::start().await;
    let op = sign_in(&s, "operator").await;
    let pool = || async { s.as_role("operator").get("/api/v1/incentives/experts").await.1.as_array().unwrap().len() };
    let before = pool().await;
    let r = op.post("/incentives/experts", "name=%E6%9D%8E%E4%B8%93%E5%AE%B6&organisation=91330106MA27XY7KL0").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="expert-organisation-error""#) && page.contains("91330106MA27XY7KL0"), "{page}");
    let tenant = sign_in(&s, "tenant").await;
    assert_eq!(tenant.post("/incentives/experts", "name=x&organisation=91330106MA27XY7K92").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(pool().await, before);
    let page =
        op.post("/incentives/experts", "name=%E6%9D%8E%E4%B8%93%E5%AE%B6&organisation=91330106MA27XY7K92").await.text().await.unwrap();
    let at = page.find(r#"<code id="new-token">"#).expect("the token is shown") + r#"<code id="new-token">"#.len();
    let token = &page[at..at + page[at..].find('<').unwrap()];
    assert_eq!(pool().await, before + 1);
    let (st, me) = s.as_role("operator").with_token(token).get("/api/v1/me").await;
    assert_eq!((st, me["role"].as_str()), (StatusCode::OK, Some("expert")), "the token shown signs the expert in: {me}");
    assert!(!op.page("/incentives").await.contains(token), "shown once");
    // Carrying: a programme still open is refused beside the field; only the operator.
    let r = op.post("/incentives/programmes/carry", "from=hz55-special-model&to=hz55-special-model").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(r#"id="carry-from-error""#));
    assert_eq!(tenant.post("/incentives/programmes/carry", "from=a&to=b&confirmed=1").await.status(), StatusCode::FORBIDDEN);
}

/// Carrying a closed programme's applications to a successor from the web, after a confirmation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_programmes_applications_are_carried_to_its_successor_after_a_confirmation() {
    let s = TestServer::start().await;
    let (api, ten) = (s.as_role("operator"), s.as_role("tenant"));
    let (_, programmes) = api.get("/api/v1/incentives/programmes").await;
    // A programme whose window closes in a few seconds, as a policy's end date passes.
    let mut closing = programmes.as_array().unwrap().iter().find(|p| p["code"] == "hz55-special-model").unwrap().clone();
    let closes = s.state.ids.now_ms() + 3_000;
    closing["code"] = json!("web-closing-model");
    closing["open_until_ms"] = json!(closes);
    let (st, v) = api.post("/api/v1/incentives/programmes", &closing).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let b64 = |x: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, x);
    let (st, a) = ten
        .post(
            "/api/v1/incentives/applications",
            &json!({"programme": "web-closing-model", "project": "结转用模型", "cost": "1000000", "requested": "100000", "documents": [
                {"kind": "rd_cost_audit", "name": "a.pdf", "content_base64": b64("a")},
                {"kind": "model_evaluation", "name": "e.pdf", "content_base64": b64("e")}]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    let op = sign_in(&s, "operator").await;
    let form = "from=web-closing-model&to=hz55-special-model";
    let r = op.post("/incentives/programmes/carry", form).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "still open");
    assert!(r.text().await.unwrap().contains(r#"id="carry-from-error""#));
    while s.state.ids.now_ms() <= closes {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let page = op.post("/incentives/programmes/carry", form).await.text().await.unwrap();
    assert!(page.contains("确认结转未决定的申请") && page.contains(r#"<strong id="confirm-count">1</strong>"#), "{page}");
    assert_eq!(stage(&s, &id).await["programme"], "web-closing-model", "nothing carried before the confirmation");
    let page = op.post("/incentives/programmes/carry", &format!("{form}&confirmed=1")).await.text().await.unwrap();
    assert!(page.contains("已结转 1 份申请"), "{page}");
    assert_eq!(stage(&s, &id).await["programme"], "hz55-special-model");
}

async fn certifications(s: &TestServer, centre: &str) -> Vec<Value> {
    s.as_role("operator").get(&format!("/api/v1/centres/{centre}/certifications")).await.1.as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_declares_its_centres_certification_from_a_file_and_green_power_by_hash_on_the_centres_page() {
    let s = TestServer::start().await;
    let (op, prov) = (s.as_role("operator"), s.as_role("provider"));
    let (_, me) = prov.get("/api/v1/me").await;
    let (_, centres) = op.get("/api/v1/centres").await;
    let centres = centres["items"].as_array().unwrap().clone();
    let mine = centres.iter().find(|c| c["provider_id"] == me["provider_id"]).unwrap()["id"].as_str().unwrap().to_string();
    let theirs = centres.iter().find(|c| c["provider_id"] != me["provider_id"]).unwrap()["id"].as_str().unwrap().to_string();
    let next_year = suanli_incentives::programme::year_of(s.state.ids.now_ms()) + 1;
    let expires = format!("{next_year}-06-30");
    let web = sign_in(&s, "provider").await;
    let page = web.page(&format!("/centres/{mine}")).await;
    assert!(page.contains(r#"id="certify-form""#) && page.contains("等保三级"), "the form offers the kinds by their labels");
    assert!(!web.page(&format!("/centres/{theirs}")).await.contains(r#"id="certify-form""#), "not on another's centre");
    let fields = |sha: &'static str| {
        vec![
            ("kind", "mlps_3"),
            ("issuer", "公安部第三研究所"),
            ("number", "330100-0042"),
            ("expires_on", expires.as_str()),
            ("sha256", sha),
        ]
    };
    let path = format!("/centres/{mine}/certifications");
    // Bad input beside its field, nothing stored.
    let r = post_files(&web, &path, &fields("not-a-hash"), &[]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="certify-sha256-error""#) && page.contains("公安部第三研究所"), "{page}");
    let mut past = fields("");
    past[3].1 = "2020-01-01";
    let r = post_files(&web, &path, &past, &[("file", "cert.pdf", b"certificate")]).await;
    assert!(r.text().await.unwrap().contains(r#"id="certify-expires_on-error""#));
    assert_eq!(certifications(&s, &mine).await.len(), 0);
    // Others refused: a tenant, and the provider on another's centre.
    let tenant = sign_in(&s, "tenant").await;
    assert_eq!(post_files(&tenant, &path, &fields(""), &[("file", "c.pdf", b"c")]).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        post_files(&web, &format!("/centres/{theirs}/certifications"), &fields(""), &[("file", "c.pdf", b"c")]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(certifications(&s, &theirs).await.len(), 0);
    // From a file: its SHA-256 is declared.
    let r = post_files(&web, &path, &fields(""), &[("file", "cert.pdf", b"certificate")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let listed = certifications(&s, &mine).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["declaration"]["document_sha256"].as_str().unwrap(), hex::encode(sha2::Sha256::digest(b"certificate")));
    let page = web.page(&format!("/centres/{mine}")).await;
    assert!(page.contains("认证已申报") || page.contains("等保三级"), "{page}");
    // Green power by its hash; a share over 100 refused beside its field.
    let gpath = format!("/centres/{mine}/green-power");
    let hash = "ab".repeat(32);
    let green =
        |share: &'static str| vec![("share_pct", share), ("from", "2025-01-01"), ("until", "2099-12-31"), ("sha256", hash.as_str())];
    let r = post_files(&web, &gpath, &green("100.5"), &[]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(r#"id="green-share_pct-error""#));
    assert_eq!(post_files(&web, &gpath, &green("60"), &[]).await.status(), StatusCode::SEE_OTHER);
    let (_, g) = op.get(&format!("/api/v1/centres/{mine}/green-power")).await;
    assert_eq!((g[0]["declaration"]["share_pct"].as_f64(), g[0]["in_force"].as_bool()), (Some(60.0), Some(true)), "{g}");
    let operator = sign_in(&s, "operator").await;
    let page = operator.page(&format!("/centres/{mine}")).await;
    assert!(
        page.contains(r#"id="green-power-list""#) && page.contains("60.0%") && page.contains("有效"),
        "the operator sees them and may declare"
    );
}
