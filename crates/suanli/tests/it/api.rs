//! HTTP API tests: every route with each role (allowed and denied), bad input, and jobs flowing through the engine.

use crate::harness::{Api, TestServer, wait_for_final};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const ROLES: [&str; 4] = ["operator", "provider", "tenant", "regulator"];

fn job_body(accelerators: u32, duration_s: i64) -> Value {
    json!({"name": "resnet-50", "kind": "training", "accelerators": accelerators, "min_fp16_tflops": 300.0, "duration_s": duration_s})
}

async fn first_id(api: &Api, path: &str) -> String {
    let (s, v) = api.get(path).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"][0]["id"].as_str().unwrap().to_string()
}

/// Counts that no refused request may change.
async fn fingerprint(s: &TestServer) -> (usize, usize, usize, usize, usize) {
    let st = &s.state.store;
    (
        st.jobs(&suanli_store::JobFilter { limit: 1000, ..Default::default() }).await.unwrap().len(),
        st.tenants().await.unwrap().len(),
        st.centres(None).await.unwrap().len(),
        st.pools().await.unwrap().len(),
        st.audit_log(None, 1000).await.unwrap().len(),
    )
}

#[tokio::test]
async fn public_and_read_routes_by_role() {
    let s = TestServer::start().await;
    let anon = s.anonymous();
    assert_eq!(anon.get("/healthz").await.0, StatusCode::OK);
    let (st, doc) = anon.get("/api/v1/openapi.json").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let centre = first_id(&s.as_role("operator"), "/api/v1/centres").await;
    let reads = [
        "/api/v1/city/summary",
        "/api/v1/accelerators",
        "/api/v1/regions",
        "/api/v1/providers",
        "/api/v1/centres",
        "/api/v1/me",
        "/api/v1/jobs",
    ];
    for path in reads.iter().map(|p| p.to_string()).chain([format!("/api/v1/centres/{centre}")]) {
        for role in ROLES {
            let (st, v) = s.as_role(role).get(&path).await;
            assert_eq!(st, StatusCode::OK, "{role} GET {path}: {v}");
        }
        let (st, v) = anon.get(&path).await;
        assert_eq!((st, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")), "anonymous GET {path}");
        let (st, v) = anon.with_token("sl_not-a-real-token").get(&path).await;
        assert_eq!((st, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")), "wrong token GET {path}");
    }
    for (role, status) in [("operator", 200), ("regulator", 200), ("provider", 403), ("tenant", 403)] {
        let (st, v) = s.as_role(role).get("/api/v1/audit").await;
        assert_eq!(st.as_u16(), status, "{role} GET audit: {v}");
    }
    for (role, status, count) in [("operator", 200, 36), ("regulator", 200, 36), ("tenant", 200, 1), ("provider", 403, 0)] {
        let (st, v) = s.as_role(role).get("/api/v1/tenants").await;
        assert_eq!(st.as_u16(), status, "{role} GET tenants: {v}");
        if status == 200 {
            assert_eq!(v["items"].as_array().unwrap().len(), count, "{role} sees {count} tenants");
        }
    }
    let (_, me) = s.as_role("tenant").get("/api/v1/me").await;
    let own = me["tenant_id"].as_str().unwrap().to_string();
    assert_eq!(s.as_role("tenant").get(&format!("/api/v1/tenants/{own}")).await.0, StatusCode::OK);
    let other = s.as_role("operator").get("/api/v1/tenants").await.1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .find(|t| *t != own)
        .unwrap();
    let (st, v) = s.as_role("tenant").get(&format!("/api/v1/tenants/{other}")).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("tenant_not_found")));
    assert_eq!(s.as_role("regulator").get(&format!("/api/v1/tenants/{other}")).await.0, StatusCode::OK);

    let (st, summary) = s.as_role("regulator").get("/api/v1/city/summary").await;
    assert_eq!(st, StatusCode::OK);
    let pflops = summary["open_compute_pflops_fp16"].as_f64().unwrap();
    assert!(pflops > 500.0 && pflops < 5000.0, "demo city open compute {pflops}");
    assert!(summary["high_performance_share"].as_f64().unwrap() > 0.6);
    assert_eq!(summary["targets"]["voucher_budget"], "50000000.00");

    let metrics = reqwest::get(format!("{}/metrics", s.url)).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("suanli_http_requests_total{method=\"GET\",route=\"/api/v1/centres\",status=\"200\"}"), "{metrics}");
    assert!(metrics.contains("suanli_open_compute_pflops_fp16 "));
}

#[tokio::test]
async fn registry_writes_by_role() {
    let s = TestServer::start().await;
    let op = s.as_role("operator");
    let (_, me) = s.as_role("provider").get("/api/v1/me").await;
    let own_provider = me["provider_id"].as_str().unwrap().to_string();
    let centre = |provider: Option<&str>| json!({"provider_id": provider, "name": "新智算中心", "kind": "intelligent-computing", "region": "hz-qiantang", "commissioned": "2026-03-01", "declared_pue": 1.18, "racks": 400, "rtt_ms": {"hangzhou": 3}});

    // Providers: operator only.
    for (role, status) in [("operator", 201), ("provider", 403), ("tenant", 403), ("regulator", 403)] {
        let (st, v) = s.as_role(role).post("/api/v1/providers", &json!({"name": format!("{role}云")})).await;
        assert_eq!(st.as_u16(), status, "{role}: {v}");
    }
    // Centres: operator for anyone, provider for itself as an applicant.
    let (st, created) = op.post("/api/v1/centres", &centre(Some(&own_provider))).await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    assert_eq!(created["partner_status"], "applicant");
    let (st, mine) = s.as_role("provider").post("/api/v1/centres", &centre(None)).await;
    assert_eq!(st, StatusCode::CREATED, "{mine}");
    assert_eq!(mine["provider_id"], own_provider.as_str());
    let mut self_admitted = centre(None);
    self_admitted["partner_status"] = json!("partner");
    assert_eq!(s.as_role("provider").post("/api/v1/centres", &self_admitted).await.0, StatusCode::FORBIDDEN);
    for role in ["tenant", "regulator"] {
        assert_eq!(s.as_role(role).post("/api/v1/centres", &centre(Some(&own_provider))).await.0, StatusCode::FORBIDDEN, "{role}");
    }
    let (st, v) = op.post("/api/v1/centres", &centre(None)).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")), "{v}");

    // Pools: operator, or the provider on its own centre.
    let pool = json!({"accelerator": "ascend-910b2", "nodes": 16, "accelerators_per_node": 8, "price_per_hour": "7.50", "partner_discount_pct": 10});
    let mine_id = mine["id"].as_str().unwrap();
    let (st, p) = s.as_role("provider").post(&format!("/api/v1/centres/{mine_id}/pools"), &pool).await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    assert_eq!((p["capacity"].as_u64(), p["effective_price_per_hour"].as_str()), (Some(128), Some("6.75")));
    let others = s.as_role("operator").get("/api/v1/centres").await.1["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["provider_id"] != own_provider.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(s.as_role("provider").post(&format!("/api/v1/centres/{others}/pools"), &pool).await.0, StatusCode::FORBIDDEN);
    assert_eq!(op.post(&format!("/api/v1/centres/{others}/pools"), &pool).await.0, StatusCode::CREATED);
    for role in ["tenant", "regulator"] {
        assert_eq!(s.as_role(role).post(&format!("/api/v1/centres/{mine_id}/pools"), &pool).await.0, StatusCode::FORBIDDEN, "{role}");
    }

    // Partner admission: operator only; it changes the city's open compute.
    let before = op.get("/api/v1/city/summary").await.1["open_compute_pflops_fp16"].as_f64().unwrap();
    for role in ["provider", "tenant", "regulator"] {
        assert_eq!(
            s.as_role(role).post(&format!("/api/v1/centres/{mine_id}/partner-status"), &json!({"status": "partner"})).await.0,
            StatusCode::FORBIDDEN
        );
    }
    let (st, v) =
        op.post(&format!("/api/v1/centres/{mine_id}/partner-status"), &json!({"status": "partner", "reason": "passed admission"})).await;
    assert_eq!((st, v["partner_status"].as_str()), (StatusCode::OK, Some("partner")));
    let after = op.get("/api/v1/city/summary").await.1["open_compute_pflops_fp16"].as_f64().unwrap();
    assert!((after - before - 128.0 * 0.376).abs() < 0.01, "admitting 128 x 910B2 adds 48.128 PFLOPS: {before} -> {after}");
    let (_, audit) = op.get(&format!("/api/v1/audit?subject={mine_id}")).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["centre.partner_status", "centre.create"]);

    // Tenants and users: operator only; a new user's token works at once.
    let tenant = json!({"name": "杭州新锐智能有限公司", "uscc": "91330106MA2XXXXX1X", "sme": true, "region": "hz-xihu"});
    let (st, v) = op.post("/api/v1/tenants", &tenant).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_uscc")), "{v}");
    let valid = valid_uscc("91330106MA2CXXXX0");
    let (st, t) =
        op.post("/api/v1/tenants", &json!({"name": "杭州新锐智能有限公司", "uscc": valid, "sme": true, "region": "hz-xihu"})).await;
    assert_eq!(st, StatusCode::CREATED, "{t}");
    assert_eq!(t["division_code"], "330106");
    let (st, v) = op.post("/api/v1/tenants", &json!({"name": "另一家", "uscc": valid, "sme": true, "region": "hz-xihu"})).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::CONFLICT, Some("duplicate_uscc")));
    for role in ["provider", "tenant", "regulator"] {
        assert_eq!(
            s.as_role(role)
                .post("/api/v1/tenants", &json!({"name": "x", "uscc": valid_uscc("91330106MA2CXXXX1"), "sme": true, "region": "hz-xihu"}))
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(s.as_role(role).post("/api/v1/users", &json!({"name": "x", "role": "operator"})).await.0, StatusCode::FORBIDDEN);
    }
    let (st, u) = op.post("/api/v1/users", &json!({"name": "新用户", "role": "tenant", "tenant_id": t["id"]})).await;
    assert_eq!(st, StatusCode::CREATED, "{u}");
    let (st, me) = Api::new(&s.url, None).with_token(u["token"].as_str().unwrap()).get("/api/v1/me").await;
    assert_eq!((st, me["tenant_id"].clone()), (StatusCode::OK, t["id"].clone()));
    let (st, v) = op.post("/api/v1/users", &json!({"name": "x", "role": "tenant"})).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")));
}

/// Completes a credit code's first 17 characters with its check character.
fn valid_uscc(first17: &str) -> String {
    format!("{first17}{}", suanli_core::ident::uscc_check_char(first17).unwrap())
}

#[tokio::test]
async fn bad_input_is_refused_with_codes_and_changes_nothing() {
    let s = TestServer::start().await;
    let tenant = s.as_role("tenant");
    let op = s.as_role("operator");
    let centre = first_id(&op, "/api/v1/centres").await;
    let before = fingerprint(&s).await;
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("/api/v1/jobs", json!({"name": "x", "kind": "training", "accelerators": 0, "duration_s": 60}), 422, "invalid_count"),
        ("/api/v1/jobs", json!({"name": "x", "kind": "training", "accelerators": -1, "duration_s": 60}), 422, "invalid_body"),
        ("/api/v1/jobs", json!({"name": "x", "kind": "training", "accelerators": 1, "duration_s": 0}), 422, "invalid_duration"),
        (
            "/api/v1/jobs",
            json!({"name": "x", "kind": "training", "accelerators": 1, "duration_s": 60, "models": ["gtx-9999"]}),
            422,
            "unknown_accelerator",
        ),
        (
            "/api/v1/jobs",
            json!({"name": "x", "kind": "training", "accelerators": 4000, "duration_s": 60, "models": ["h800"]}),
            422,
            "job_unsatisfiable",
        ),
        (
            "/api/v1/jobs",
            json!({"name": "x", "kind": "training", "accelerators": 1, "duration_s": 60, "max_price_per_hour": "0.01"}),
            422,
            "job_unsatisfiable",
        ),
        (
            "/api/v1/jobs",
            json!({"name": "x", "kind": "training", "accelerators": 1, "duration_s": 60, "max_price_per_hour": "1.234"}),
            422,
            "invalid_amount",
        ),
        (
            "/api/v1/jobs",
            json!({"name": "x", "kind": "training", "accelerators": 1, "duration_s": 60, "priority": 12}),
            422,
            "invalid_priority",
        ),
        (
            "/api/v1/jobs",
            json!({"name": "x", "kind": "training", "accelerators": 1, "duration_s": 60, "data_region": "mars"}),
            422,
            "invalid_region",
        ),
        ("/api/v1/jobs", json!({"name": "x", "kind": "sleeping", "accelerators": 1, "duration_s": 60}), 422, "invalid_body"),
        ("/api/v1/jobs", json!({"name": "x", "kind": "training", "accelerators": 1, "duration_s": 60, "gpus": 8}), 400, "unknown_field"),
        ("/api/v1/jobs", json!({"kind": "training", "accelerators": 1, "duration_s": 60}), 422, "invalid_body"),
    ];
    for (path, body, status, code) in &cases {
        let (st, v) = tenant.post(path, body).await;
        assert_eq!((st.as_u16(), v["code"].as_str().unwrap_or("")), (*status, *code), "{body}: {v}");
        assert!(v["detail"].as_str().is_some_and(|d| d.len() > 10), "a message a person understands: {v}");
    }
    let op_cases: Vec<(String, Value, u16, &str)> = vec![
        (
            "/api/v1/tenants".into(),
            json!({"name": "x", "uscc": "9144030071526726XH", "sme": true, "region": "hz-xihu"}),
            422,
            "invalid_uscc",
        ),
        (
            "/api/v1/tenants".into(),
            json!({"name": "x", "uscc": "9144030071526726XG", "sme": true, "region": "atlantis"}),
            422,
            "invalid_region",
        ),
        (
            format!("/api/v1/centres/{centre}/pools"),
            json!({"accelerator": "h800", "nodes": 0, "accelerators_per_node": 8, "price_per_hour": "10"}),
            422,
            "invalid_count",
        ),
        (
            format!("/api/v1/centres/{centre}/pools"),
            json!({"accelerator": "nope", "nodes": 1, "accelerators_per_node": 8, "price_per_hour": "10"}),
            422,
            "unknown_accelerator",
        ),
        (
            format!("/api/v1/centres/{centre}/pools"),
            json!({"accelerator": "h800", "nodes": 1, "accelerators_per_node": 8, "price_per_hour": "-3"}),
            422,
            "invalid_amount",
        ),
        (
            "/api/v1/centres/ctr_xyz/pools".into(),
            json!({"accelerator": "h800", "nodes": 1, "accelerators_per_node": 8, "price_per_hour": "10"}),
            400,
            "invalid_id",
        ),
        (
            "/api/v1/centres/ctr_00000000000000000000ff/pools".into(),
            json!({"accelerator": "h800", "nodes": 1, "accelerators_per_node": 8, "price_per_hour": "10"}),
            404,
            "centre_not_found",
        ),
        (
            "/api/v1/centres".into(),
            json!({"provider_id": "prv_00000000000000000000ff", "name": "x", "kind": "edge", "region": "hz-xihu", "commissioned": "2024-01-01", "declared_pue": 1.3, "racks": 10}),
            422,
            "unknown_provider",
        ),
    ];
    for (path, body, status, code) in &op_cases {
        let (st, v) = op.post(path, body).await;
        assert_eq!((st.as_u16(), v["code"].as_str().unwrap_or("")), (*status, *code), "{path} {body}: {v}");
    }
    let (_, provider) = s.as_role("provider").get("/api/v1/me").await;
    let pid = provider["provider_id"].as_str().unwrap();
    for (field, value, code) in [
        ("declared_pue", json!(0.8), "invalid_pue"),
        ("commissioned", json!("2023-02-30"), "invalid_date"),
        ("region", json!("nowhere"), "invalid_region"),
        ("racks", json!(500), "invalid_count"),
    ] {
        let mut body = json!({"provider_id": pid, "name": "x", "kind": "edge", "region": "hz-xihu", "commissioned": "2024-01-01", "declared_pue": 1.3, "racks": 10});
        body[field] = value;
        let (st, v) = op.post("/api/v1/centres", &body).await;
        assert_eq!((st.as_u16(), v["code"].as_str().unwrap_or("")), (422, code), "{field}: {v}");
    }
    // Broken requests.
    for (body, ctype, status, code) in [
        ("{\"name\": ", Some("application/json"), 400, "malformed_json"),
        ("not json", Some("application/json"), 400, "malformed_json"),
        ("{}", None, 415, "unsupported_media_type"),
        ("{}", Some("text/plain"), 415, "unsupported_media_type"),
        ("[1, 2]", Some("application/json"), 422, "invalid_body"),
    ] {
        let (st, v) = tenant.post_raw("/api/v1/jobs", body, ctype).await;
        assert_eq!((st.as_u16(), v["code"].as_str().unwrap_or("")), (status, code), "{body:?} {ctype:?}: {v}");
    }
    for (path, status, code) in [
        ("/api/v1/jobs?state=sleeping", 400, "invalid_query"),
        ("/api/v1/jobs?colour=blue", 400, "invalid_query"),
        ("/api/v1/jobs?limit=0", 400, "invalid_query"),
        ("/api/v1/jobs/job_123", 400, "invalid_id"),
        ("/api/v1/jobs/ctr_00000000000000000000ff", 400, "invalid_id"),
        ("/api/v1/jobs/job_00000000000000000000ff", 404, "job_not_found"),
        ("/api/v1/nothing-here", 404, "not_found"),
    ] {
        let (st, v) = tenant.get(path).await;
        assert_eq!((st.as_u16(), v["code"].as_str().unwrap_or("")), (status, code), "{path}: {v}");
    }
    let (st, v) = tenant.delete("/api/v1/jobs").await;
    assert_eq!((st.as_u16(), v["code"].as_str()), (405, Some("method_not_allowed")));
    assert_eq!(fingerprint(&s).await, before, "refused requests change nothing");
}

#[tokio::test]
async fn jobs_flow_and_tenants_see_only_their_own() {
    let s = TestServer::start().await;
    let tenant = s.as_role("tenant");
    let op = s.as_role("operator");
    // A second tenant with its own token.
    let (_, tenants) = op.get("/api/v1/tenants").await;
    let (_, me) = tenant.get("/api/v1/me").await;
    let other_tenant = tenants["items"].as_array().unwrap().iter().find(|t| t["id"] != me["tenant_id"]).unwrap()["id"].clone();
    let (_, u) = op.post("/api/v1/users", &json!({"name": "other", "role": "tenant", "tenant_id": other_tenant})).await;
    let other = tenant.with_token(u["token"].as_str().unwrap());

    // Submit, run, succeed, metered.
    let (st, job) = tenant.post("/api/v1/jobs", &job_body(8, 3600)).await;
    assert_eq!(st, StatusCode::CREATED, "{job}");
    assert_eq!(job["state"], "pending");
    let id = job["id"].as_str().unwrap().to_string();
    let done = wait_for_final(&tenant, &id, Duration::from_secs(20)).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    // Metered at the run's length on the pool it ran on: its reference hour over the speed.
    let run_s = crate::harness::run_estimate_s(&tenant, &id).await;
    let usage = done["usage_s"].as_i64().unwrap();
    assert!((usage - run_s.round() as i64).abs() <= 1, "metered {usage} s, run {run_s} s: {done}");
    let (_, centre) = tenant.get(&format!("/api/v1/centres/{}", done["centre_id"].as_str().unwrap())).await;
    let pool = centre["pools"].as_array().unwrap().iter().find(|p| p["id"] == done["pool_id"]).unwrap();
    let price: f64 = pool["effective_price_per_hour"].as_str().unwrap().parse().unwrap();
    let cost: f64 = done["cost"].as_str().unwrap().parse().unwrap();
    let expected = price * 8.0 * usage as f64 / 3600.0;
    assert!((cost - expected).abs() < 0.011, "8 accelerators x {usage} s x ¥{price}/h = ¥{expected}, billed ¥{cost}");
    let accel = pool["accelerator"].as_str().unwrap();
    let (_, cat) = tenant.get("/api/v1/accelerators").await;
    let tflops = cat["items"].as_array().unwrap().iter().find(|a| a["model"] == accel).unwrap()["fp16_tflops"].as_f64().unwrap();
    assert!(tflops >= 300.0, "placed on {accel} with {tflops} TFLOPS, job asked for 300");
    let (_, audit) = op.get(&format!("/api/v1/audit?subject={id}")).await;
    let mut actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    actions.reverse();
    // The hold and the placement are stamped in the same millisecond, so their order is not fixed.
    let mut first: Vec<&str> = actions[..5].to_vec();
    first.sort();
    assert_eq!(first, ["job.hold", "job.placed", "job.started", "job.submit", "job.succeeded"], "{actions:?}");
    assert_eq!((actions[0], actions[4]), ("job.submit", "job.succeeded"), "{actions:?}");
    assert!(actions[5..].iter().all(|a| *a == "job.billed"), "{actions:?}");

    // Visibility: the other tenant neither sees nor cancels it; provider and regulator may not cancel.
    let (st, v) = other.get(&format!("/api/v1/jobs/{id}")).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("job_not_found")));
    assert_eq!(other.post(&format!("/api/v1/jobs/{id}/cancel"), &json!({})).await.0, StatusCode::NOT_FOUND);
    let (_, others_list) = other.get("/api/v1/jobs").await;
    assert!(others_list["items"].as_array().unwrap().iter().all(|j| j["tenant_id"] == other_tenant));
    let (st, _) = tenant.get(&format!("/api/v1/jobs?tenant_id={}", other_tenant.as_str().unwrap())).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    for role in ["provider", "regulator"] {
        assert_eq!(s.as_role(role).post(&format!("/api/v1/jobs/{id}/cancel"), &json!({})).await.0, StatusCode::FORBIDDEN, "{role}");
        assert_eq!(s.as_role(role).post("/api/v1/jobs", &job_body(1, 60)).await.0, StatusCode::FORBIDDEN, "{role}");
    }
    assert_eq!(s.as_role("regulator").get(&format!("/api/v1/jobs/{id}")).await.0, StatusCode::OK);
    // The provider sees the job only if it ran on one of its centres.
    let (_, pme) = s.as_role("provider").get("/api/v1/me").await;
    let provider_owns = centre["provider_id"] == pme["provider_id"];
    let expected = if provider_owns { StatusCode::OK } else { StatusCode::NOT_FOUND };
    assert_eq!(s.as_role("provider").get(&format!("/api/v1/jobs/{id}")).await.0, expected);

    // Illegal transition: a finished job cannot be cancelled.
    let (st, v) = tenant.post(&format!("/api/v1/jobs/{id}/cancel"), &json!({})).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::CONFLICT, Some("illegal_transition")), "{v}");

    // Operator submits on a tenant's behalf; without a tenant it is refused.
    let mut body = job_body(1, 60);
    assert_eq!(op.post("/api/v1/jobs", &body).await.1["code"], "invalid_body");
    body["tenant_id"] = other_tenant.clone();
    let (st, j) = op.post("/api/v1/jobs", &body).await;
    assert_eq!((st, j["tenant_id"].clone()), (StatusCode::CREATED, other_tenant.clone()));

    // Cancel a running job: it stops and is billed only for what ran.
    let (_, long) = tenant.post("/api/v1/jobs", &job_body(8, 400 * 3600)).await;
    let lid = long["id"].as_str().unwrap().to_string();
    let end = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, v) = tenant.get(&format!("/api/v1/jobs/{lid}")).await;
        if v["state"] == "running" {
            break;
        }
        assert!(tokio::time::Instant::now() < end, "job never started: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (st, c) = tenant.post(&format!("/api/v1/jobs/{lid}/cancel"), &json!({"reason": "wrong data set"})).await;
    assert_eq!((st, c["state"].as_str()), (StatusCode::OK, Some("cancelled")), "{c}");
    assert!(c["reason"].as_str().unwrap().contains("wrong data set"));
    let end = tokio::time::Instant::now() + Duration::from_secs(20);
    let metered = loop {
        let (_, v) = tenant.get(&format!("/api/v1/jobs/{lid}")).await;
        if !v["usage_s"].is_null() {
            break v;
        }
        assert!(tokio::time::Instant::now() < end, "cancelled job never metered: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let usage = metered["usage_s"].as_i64().unwrap();
    assert!(usage > 0 && usage < 400 * 3600, "billed for what ran: {usage} s");
    assert_ne!(metered["cost"], "0.00");

    // A job waiting for capacity says why, and cancelled while pending costs nothing.
    let (_, pme) = s.as_role("provider").get("/api/v1/me").await;
    let (_, tiny) = op.post("/api/v1/centres", &json!({"provider_id": pme["provider_id"], "name": "K80 小站", "kind": "edge", "region": "hz-fuyang", "partner_status": "partner", "commissioned": "2020-01-01", "declared_pue": 1.5, "racks": 2})).await;
    let (st, _) = op
        .post(
            &format!("/api/v1/centres/{}/pools", tiny["id"].as_str().unwrap()),
            &json!({"accelerator": "k80", "nodes": 1, "accelerators_per_node": 1, "price_per_hour": "0.50"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let k80 = json!({"name": "k80", "kind": "batch", "accelerators": 1, "models": ["k80"], "duration_s": 400 * 3600});
    let (_, first) = tenant.post("/api/v1/jobs", &k80).await;
    let (_, second) = tenant.post("/api/v1/jobs", &k80).await;
    let sid = second["id"].as_str().unwrap().to_string();
    let end = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, v) = tenant.get(&format!("/api/v1/jobs/{sid}")).await;
        // The blocked job gets a reservation on the only K80 (backfill may not delay it).
        if v["reason"].as_str().is_some_and(|r| r.contains("reserved 1 accelerators")) {
            assert_eq!((v["state"].as_str(), v["reason_code"].as_str()), (Some("pending"), Some("reserved")), "{v}");
            break;
        }
        assert!(tokio::time::Instant::now() < end, "second K80 job never reported waiting: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Its page says so in Chinese from the typed reason, the start in Beijing time; in English as the API does.
    let web = crate::harness::Web::sign_in(&s.url, &s.tokens["tenant"]).await.unwrap();
    let zh = web.page(&format!("/jobs/{sid}?lang=zh")).await;
    assert!(zh.contains(r#"data-code="reserved""#) && zh.contains("的 1 张加速卡，自 "), "{zh}");
    assert!(zh.contains("(UTC+8) 起（后续作业回填，不会推迟它）") && !zh.contains("原文"), "{zh}");
    let en = web.page(&format!("/jobs/{sid}?lang=en")).await;
    assert!(en.contains("reserved 1 accelerators of ") && en.contains("(UTC+8) (later jobs backfill without delaying it)"), "{en}");
    let (_, c) = tenant.post(&format!("/api/v1/jobs/{sid}/cancel"), &json!({})).await;
    assert_eq!((c["state"].as_str(), c["cost"].as_str(), c["usage_s"].as_i64()), (Some("cancelled"), Some("0.00"), Some(0)));
    assert_eq!((c["reason"].as_str(), c["reason_code"].as_str()), (Some("cancelled by tenant"), Some("cancelled")));
    tenant.post(&format!("/api/v1/jobs/{}/cancel", first["id"].as_str().unwrap()), &json!({})).await;

    // Listing with filters and pagination.
    let (_, page1) = op.get("/api/v1/jobs?limit=2").await;
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = op.get(&format!("/api/v1/jobs?limit=2&cursor={cursor}")).await;
    assert!(page2["items"][0]["id"].as_str().unwrap() < cursor);
    let (_, succeeded) = op.get("/api/v1/jobs?state=succeeded,cancelled").await;
    assert!(succeeded["items"].as_array().unwrap().iter().all(|j| j["state"] == "succeeded" || j["state"] == "cancelled"));
}

#[tokio::test]
async fn quotes_and_explanations() {
    let s = TestServer::start().await;
    let tenant = s.as_role("tenant");
    let body = json!({"name": "llm-sft", "kind": "training", "accelerators": 16, "min_fp16_tflops": 300.0, "duration_s": 8 * 3600, "data_region": "hz-xihu", "data_gb": 800.0});
    let (st, q) = tenant.post("/api/v1/quotes", &body).await;
    assert_eq!(st, StatusCode::OK, "{q}");
    let options = q["options"].as_array().unwrap();
    assert!(options.len() >= 3, "{q}");
    let cost = |o: &Value| o["cost"].as_str().unwrap().parse::<f64>().unwrap();
    let min_cost = options.iter().map(cost).fold(f64::INFINITY, f64::min);
    assert_eq!(cost(&q["cheapest"]), min_cost);
    let min_time = options.iter().map(|o| o["completion_s"].as_f64().unwrap()).fold(f64::INFINITY, f64::min);
    assert_eq!(q["fastest"]["completion_s"].as_f64().unwrap(), min_time);
    let min_carbon = options.iter().map(|o| o["carbon_kg"].as_f64().unwrap()).fold(f64::INFINITY, f64::min);
    assert_eq!(q["greenest"]["carbon_kg"].as_f64().unwrap(), min_carbon);
    assert_eq!(q["recommended"], options[0]);
    for o in options {
        let tflops_ok = s.state.catalogue.get(o["accelerator"].as_str().unwrap()).unwrap().fp16_tflops >= 300.0;
        assert!(tflops_ok, "quoted only models that meet the minimum: {o}");
    }
    // A quote changes nothing and is refused to roles that do not submit.
    assert_eq!(s.state.store.jobs(&suanli_store::JobFilter { limit: 10, ..Default::default() }).await.unwrap().len(), 0);
    for role in ["provider", "regulator"] {
        assert_eq!(s.as_role(role).post("/api/v1/quotes", &body).await.0, StatusCode::FORBIDDEN);
    }
    let (st, v) = tenant
        .post("/api/v1/quotes", &json!({"name": "x", "kind": "training", "accelerators": 4000, "models": ["h800"], "duration_s": 60}))
        .await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("job_unsatisfiable")));

    // Submitted, the job lands where the quote recommended, and explain says why.
    let (_, job) = tenant.post("/api/v1/jobs", &body).await;
    let id = job["id"].as_str().unwrap();
    let done = wait_for_final(&tenant, id, Duration::from_secs(20)).await;
    let (st, ex) = tenant.get(&format!("/api/v1/jobs/{id}/explain")).await;
    assert_eq!(st, StatusCode::OK, "{ex}");
    assert_eq!(ex["decision"]["policy"], "suanli");
    assert_eq!(ex["decision"]["chosen"]["pool_id"], done["pool_id"]);
    assert_eq!(ex["decision"]["chosen"]["pool_id"], q["recommended"]["pool_id"], "an idle city places the job where the quote said");
    let alts = ex["decision"]["alternatives"].as_array().unwrap();
    assert!(!alts.is_empty());
    let chosen_score = ex["decision"]["chosen"]["score_yuan"].as_f64().unwrap();
    assert!(alts.iter().all(|a| a["score_yuan"].as_f64().unwrap() >= chosen_score), "{ex}");
    assert!(ex["decision"]["chosen"]["transfer_s"].as_f64().unwrap() >= 0.0);
    let (_, u) = s
        .as_role("operator")
        .post(
            "/api/v1/users",
            &json!({"name": "o", "role": "tenant", "tenant_id": s.as_role("operator").get("/api/v1/tenants").await.1["items"].as_array().unwrap().iter().find(|t| t["id"] != done["tenant_id"]).unwrap()["id"]}),
        )
        .await;
    let other = tenant.with_token(u["token"].as_str().unwrap());
    assert_eq!(other.get(&format!("/api/v1/jobs/{id}/explain")).await.0, StatusCode::NOT_FOUND);
}

/// A submission under an `Idempotency-Key` is stored once however often it is sent, also
/// when the copies race; the same key with another spec, and a malformed key, are refused and
/// store nothing; keys are per tenant.
#[tokio::test]
async fn idempotency_keys_store_a_submission_once() {
    idempotency_keys(&TestServer::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_store_a_submission_once_on_postgresql() {
    let (ts, _) = TestServer::start_pg().await;
    idempotency_keys(&ts).await;
}

async fn idempotency_keys(ts: &TestServer) {
    let t = ts.as_role("tenant");
    let spec = json!({"name": "sweep-7", "kind": "training", "accelerators": 1, "duration_s": 600});
    let count = |v: &Value| v["items"].as_array().unwrap().iter().filter(|j| j["name"] == "sweep-7").count();

    let (s, first, replayed) = t.post_keyed("/api/v1/jobs", &spec, "3f1c2a9e-retry").await;
    assert_eq!((s, replayed.as_deref()), (StatusCode::CREATED, Some("false")), "{first}");
    let (s, again, replayed) = t.post_keyed("/api/v1/jobs", &spec, "3f1c2a9e-retry").await;
    assert_eq!((s, replayed.as_deref()), (StatusCode::CREATED, Some("true")), "{again}");
    assert_eq!(again["id"], first["id"], "a retry answers the job stored the first time");

    // Twenty copies racing with one new key store one job, and all answer it.
    let racing: Vec<_> = (0..20).map(|_| t.post_keyed("/api/v1/jobs", &spec, "race-1")).collect();
    let answers = futures_util::future::join_all(racing).await;
    let ids: std::collections::BTreeSet<_> =
        answers.iter().map(|(s, v, _)| (assert_eq!(*s, StatusCode::CREATED, "{v}"), v["id"].to_string()).1).collect();
    assert_eq!(ids.len(), 1, "racing copies answer one job: {ids:?}");
    assert_eq!(answers.iter().filter(|a| a.2.as_deref() == Some("false")).count(), 1, "exactly one copy stored it");
    assert_eq!(count(&t.get("/api/v1/jobs?limit=1000").await.1), 2);

    // The same key with another spec, and malformed keys: refused, nothing stored.
    let other = json!({"name": "sweep-7", "kind": "training", "accelerators": 2, "duration_s": 600});
    let (s, v, _) = t.post_keyed("/api/v1/jobs", &other, "3f1c2a9e-retry").await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("idempotency_key_reused")), "{v}");
    for bad in ["", &"k".repeat(201), "has space"] {
        let (s, v, _) = t.post_keyed("/api/v1/jobs", &spec, bad).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_idempotency_key")), "{bad:?}: {v}");
    }
    assert_eq!(count(&t.get("/api/v1/jobs?limit=1000").await.1), 2, "refusals store nothing");

    // Keys belong to their tenant: the operator's submission for another tenant with the same key is its own.
    let (_, tenants) = ts.as_role("operator").get("/api/v1/tenants?limit=1000").await;
    let mine = t.get("/api/v1/me").await.1["tenant_id"].clone();
    let other_tenant = tenants["items"].as_array().unwrap().iter().map(|x| x["id"].clone()).find(|id| *id != mine).unwrap();
    let mut for_other = spec.clone();
    for_other["tenant_id"] = other_tenant;
    let (s, v, replayed) = ts.as_role("operator").post_keyed("/api/v1/jobs", &for_other, "3f1c2a9e-retry").await;
    assert_eq!((s, replayed.as_deref()), (StatusCode::CREATED, Some("false")), "{v}");
    assert_ne!(v["id"], first["id"]);
}

/// Issue 20's batch endpoint: a sweep of specs in one request and one commit; each refused
/// spec carries its index and code; all-or-nothing with one bad spec stores nothing.
#[tokio::test]
async fn job_batches_are_all_or_nothing_or_each_on_its_own() {
    let s = TestServer::start().await;
    let tenant = s.as_role("tenant");
    let good = |i: usize| json!({"name": format!("sweep-{i}"), "kind": "batch", "accelerators": 1, "duration_s": 600});
    let mut jobs: Vec<serde_json::Value> = (0..5).map(good).collect();
    jobs[1] = json!({"name": "too-big", "kind": "batch", "accelerators": 100000, "duration_s": 600});
    jobs[3] = json!({"name": "", "kind": "batch", "accelerators": 1, "duration_s": 600});
    let count = |v: &serde_json::Value| v["items"].as_array().map_or(0, |a| a.len());
    let (_, before) = tenant.get("/api/v1/jobs?limit=1000").await;
    let (st, v) = tenant.post("/api/v1/jobs:batch", &json!({"jobs": jobs, "atomic": true})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let refused: Vec<(u64, &str)> =
        v["refused"].as_array().unwrap().iter().map(|r| (r["index"].as_u64().unwrap(), r["code"].as_str().unwrap())).collect();
    assert_eq!(v["code"], "batch_refused", "{v}");
    assert_eq!(refused, vec![(1, "invalid_count"), (3, "invalid_name")], "{v}");
    assert_eq!(count(&tenant.get("/api/v1/jobs?limit=1000").await.1), count(&before), "an atomic batch with a bad spec stored something");
    let (st, v) = tenant.post("/api/v1/jobs:batch", &json!({"jobs": jobs})).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let names: Vec<&str> = v["created"].as_array().unwrap().iter().map(|j| j["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["sweep-0", "sweep-2", "sweep-4"]);
    assert_eq!(v["refused"].as_array().unwrap().len(), 2);
    let (st, e) = tenant.post("/api/v1/jobs:batch", &json!({"jobs": (0..1001).map(good).collect::<Vec<_>>()})).await;
    assert_eq!((st, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_count")), "{e}");
    let (st, e) = tenant.post("/api/v1/jobs:batch", &json!({"jobs": [good(0)], "tenant_id": "tnt_00000000000000000000ff"})).await;
    assert_eq!((st, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{e}");
    let id = v["created"][0]["id"].as_str().unwrap();
    let done = wait_for_final(&tenant, id, Duration::from_secs(20)).await;
    assert!(matches!(done["state"].as_str(), Some("succeeded" | "failed")), "{done}");
}

/// Issue 20: submissions from many clients are group-committed by one writer; each is
/// answered after its commit, every one is stored once with its audit record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submissions_are_group_committed_and_each_stored() {
    let s = TestServer::start().await;
    let http = reqwest::Client::new();
    let token = s.tokens["tenant"].clone();
    let mut tasks = Vec::new();
    for i in 0..300 {
        let (http, url, token) = (http.clone(), s.url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let body = json!({"name": format!("c-{i}"), "kind": "batch", "accelerators": 1, "duration_s": 60});
            let r = http.post(format!("{url}/api/v1/jobs")).bearer_auth(token).json(&body).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        let (st, v) = t.await.unwrap();
        assert_eq!(st, StatusCode::CREATED, "{v}");
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    let op = s.as_role("operator");
    for id in ids.iter().step_by(37) {
        let (st, _) = op.get(&format!("/api/v1/jobs/{id}")).await;
        assert_eq!(st, StatusCode::OK);
        let (_, audit) = op.get(&format!("/api/v1/audit?subject={id}")).await;
        assert_eq!(audit["items"].as_array().unwrap().iter().filter(|a| a["action"] == "job.submit").count(), 1, "{audit}");
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 300);
}

/// A job's page refreshes itself while the job may still change, and not once it has ended.
#[tokio::test]
async fn a_jobs_page_is_live_until_the_job_ends() {
    let s = TestServer::start().await;
    let tenant = s.as_role("tenant");
    let submit = |name: &'static str, duration_s: i64| {
        let tenant = &tenant;
        async move {
            let (st, v) =
                tenant.post("/api/v1/jobs", &json!({"name": name, "kind": "training", "accelerators": 1, "duration_s": duration_s})).await;
            assert_eq!(st, StatusCode::CREATED, "{v}");
            v["id"].as_str().unwrap().to_string()
        }
    };
    let long = submit("long", 20 * 86_400).await;
    let short = submit("short", 60).await;
    let ended = wait_for_final(&tenant, &short, Duration::from_secs(30)).await;
    assert_eq!(ended["state"], "succeeded", "{ended}");
    let web = crate::harness::Web::sign_in(&s.url, &s.tokens["tenant"]).await.unwrap();
    assert!(web.page(&format!("/jobs/{long}")).await.contains("data-refresh=\"10\""), "a waiting or running job's page is live");
    let page = web.page(&format!("/jobs/{short}")).await;
    assert!(!page.contains("data-refresh=") && page.contains("<h1 data-ended>"), "an ended job's page is not: {page}");
}
