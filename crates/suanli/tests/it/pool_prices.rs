//! A pool's price changed after it was added (`PUT /api/v1/pools/{id}/price`, `suanli pools price`): by the operator or the pool's own provider only, checked like a new pool's, audited, refusals changing nothing, and bills made before keeping the price they were charged at (the reconciliation still ties out).

use crate::harness::{Api, TestServer, cli, wait_for_final};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

async fn pool_price(api: &Api, centre: &str, pool: &str) -> (String, u64) {
    let (_, c) = api.get(&format!("/api/v1/centres/{centre}")).await;
    let p = c["pools"].as_array().unwrap().iter().find(|p| p["id"] == pool).unwrap().clone();
    (p["price_per_hour"].as_str().unwrap().to_string(), p["partner_discount_pct"].as_u64().unwrap())
}

async fn wait_for_bill(api: &Api, job: &str) -> Value {
    for _ in 0..500 {
        let (st, b) = api.get(&format!("/api/v1/jobs/{job}/bill")).await;
        if st == StatusCode::OK {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("job {job} was not billed within 10 s");
}

#[tokio::test]
async fn a_pool_is_repriced_by_its_provider_or_the_operator_and_bills_keep_their_price() {
    let s = TestServer::start().await;
    let (op, provider, tenant) = (s.as_role("operator"), s.as_role("provider"), s.as_role("tenant"));
    let me = provider.get("/api/v1/me").await.1;
    let mine = me["provider_id"].as_str().unwrap().to_string();
    let centres = op.get("/api/v1/centres").await.1["items"].as_array().unwrap().clone();
    let with_pools = |own: bool| {
        centres.iter().find(|c| (c["provider_id"] == mine.as_str()) == own && !c["pools"].as_array().unwrap().is_empty()).unwrap().clone()
    };
    let (own, other) = (with_pools(true), with_pools(false));
    let (own_c, own_p) = (own["id"].as_str().unwrap(), own["pools"][0]["id"].as_str().unwrap());
    let (other_c, other_p) = (other["id"].as_str().unwrap(), other["pools"][0]["id"].as_str().unwrap());

    // A job billed before the change keeps the price it was charged at.
    let (st, job) =
        tenant.post("/api/v1/jobs", &json!({"name": "before the change", "kind": "batch", "accelerators": 1, "duration_s": 3600})).await;
    assert_eq!(st, StatusCode::CREATED, "{job}");
    let job_id = job["id"].as_str().unwrap();
    wait_for_final(&tenant, job_id, Duration::from_secs(20)).await;
    let bill = wait_for_bill(&tenant, job_id).await;

    // Refusals: the wrong role, another provider's pool, bad prices and discounts, an unknown
    // pool, an unknown field. None changes the price.
    let before = pool_price(&op, own_c, own_p).await;
    let price = |p: &str| format!("/api/v1/pools/{p}/price");
    for (who, pool, body, status, code) in [
        (&tenant, own_p, json!({"price_per_hour": "9.00"}), StatusCode::FORBIDDEN, "forbidden"),
        (&provider, other_p, json!({"price_per_hour": "9.00"}), StatusCode::FORBIDDEN, "forbidden"),
        (&provider, own_p, json!({"price_per_hour": "0"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount"),
        (&provider, own_p, json!({"price_per_hour": "-3.00"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount"),
        (&provider, own_p, json!({"price_per_hour": "20万"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount"),
        (
            &provider,
            own_p,
            json!({"price_per_hour": "9.00", "partner_discount_pct": 95}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_amount",
        ),
        (&op, "not-a-pool", json!({"price_per_hour": "9.00"}), StatusCode::BAD_REQUEST, "invalid_id"),
        (&op, own_p, json!({"price_per_hour": "9.00", "currency": "usd"}), StatusCode::BAD_REQUEST, "unknown_field"),
    ] {
        let (st, e) = who.put(&price(pool), &body).await;
        assert_eq!((st, e["code"].as_str()), (status, Some(code)), "{body}: {e}");
    }
    let unknown = suanli_core::id::PoolId::generate(1, 1);
    let (st, e) = op.put(&price(unknown.as_str()), &json!({"price_per_hour": "9.00"})).await;
    assert_eq!((st, e["code"].as_str()), (StatusCode::NOT_FOUND, Some("pool_not_found")), "{e}");
    assert_eq!(pool_price(&op, own_c, own_p).await, before, "a refused change changed the price");

    // The provider reprices its own pool (the discount kept), the operator any pool.
    let (st, p) = provider.put(&price(own_p), &json!({"price_per_hour": "31.40"})).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(pool_price(&op, own_c, own_p).await, ("31.40".to_string(), before.1));
    let (st, p) = op.put(&price(other_p), &json!({"price_per_hour": "27.18", "partner_discount_pct": 5})).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(pool_price(&op, other_c, other_p).await, ("27.18".to_string(), 5));
    let (_, audit) = op.get(&format!("/api/v1/audit?subject={own_p}")).await;
    let rec = audit["items"].as_array().unwrap().iter().find(|a| a["action"] == "pool.price").cloned().expect("audited");
    assert_eq!(rec["detail"]["after"]["price_per_hour"], "31.40", "{rec}");

    // The CLI does the same.
    let (ok, out, err) = cli(&s, "provider", &["pools", "price", own_p, "--price", "33.30", "--discount", "10"]).await;
    assert!(ok, "{out}{err}");
    assert_eq!(pool_price(&op, own_c, own_p).await, ("33.30".to_string(), 10));

    // Every pool repriced: bills made before keep theirs and the ledger still ties out.
    for c in &centres {
        for p in c["pools"].as_array().unwrap() {
            let pid = p["id"].as_str().unwrap();
            assert_eq!(op.put(&price(pid), &json!({"price_per_hour": "99.99"})).await.0, StatusCode::OK);
        }
    }
    let again = tenant.get(&format!("/api/v1/jobs/{job_id}/bill")).await.1;
    assert_eq!(again["price_per_hour"], bill["price_per_hour"], "{again}");
    let (_, rec) = op.get("/api/v1/ledger/reconciliation").await;
    assert_eq!(rec["mismatches"], json!([]), "{rec}");
}
