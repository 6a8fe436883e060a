//! Settling a provider's model calls: calls made through the real gateway are paid to the provider once no call can still land in the period (30 minutes on), exactly once.

use crate::gateway::{call, key, ledger_verifies, model, sim, usage};
use crate::harness::TestServer;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use suanli_core::error::ErrorCode;
use suanli_core::id::ProviderId;
use suanli_core::money::Fen;

fn yuan(v: &serde_json::Value) -> f64 {
    v.as_str().unwrap().parse().unwrap()
}

/// The money service settles a provider's model calls only once they started more than
/// `MAX_CALL_MS` (30 minutes) ago. The calls go through the real gateway now; a second money
/// service over the same store and ledger, with its clock 31 minutes ahead, then settles them.
#[tokio::test]
async fn a_providers_model_calls_are_settled_once_no_call_can_still_land_in_the_period() {
    let ts = TestServer::start().await;
    let up = sim(1, 0).await;
    model(&ts, "t-settle", &["chat"], 4096, &[&up], ("3.00", "9.00")).await;
    let (kid, secret) = key(&ts, json!({"name": "k", "budget": "50.00"})).await;
    let (_, me) = ts.as_role("provider").get("/api/v1/me").await;
    let provider = ProviderId::parse(me["provider_id"].as_str().unwrap()).unwrap();
    let now = || suanli_core::time::Clock::now_ms(&suanli_server::SystemClock::default());
    let from = now();
    let msg = json!({"model": "t-settle", "messages": [{"role": "user", "content": "结算"}], "max_tokens": 16});
    for _ in 0..5 {
        assert_eq!(call(&ts.url, &secret, "/v1/chat/completions", &msg).await.0, StatusCode::OK);
    }
    let to = now() + 1;
    let rows = usage(&ts.as_role("tenant"), &kid).await;
    let charged = Fen::parse_positive("charge", &format!("{:.2}", rows.iter().map(|r| yuan(&r["charge"])).sum::<f64>())).unwrap();
    let operator = suanli_app::Caller::Operator { user: suanli_core::id::UserId::generate(0, 0) };

    // Now: the calls are too recent to settle (a call started in the period could still end).
    match ts.state.money.settle(&operator, &provider, from, to).await {
        Ok(st) => assert_eq!(st.model_calls, 0, "{st:?}"),
        Err(e) => assert!(matches!(e, suanli_store::StoreError::Domain(ref d) if d.code == ErrorCode::NothingToSettle), "{e}"),
    }
    // 31 minutes on: all five, for what they were charged, paid to the provider in one transfer.
    let later = suanli_dispatch::ids::Ids::new(Arc::new(suanli_server::SystemClock { offset_ms: 31 * 60_000 }));
    let money = suanli_app::Money::new(ts.state.store.clone(), ts.state.ledger.clone(), later);
    let payout = suanli_ledger::chart::payout(provider.as_str()).id;
    let paid_before = ts.state.store.ledger_account(payout).await.unwrap().map_or(0, |a| {
        let b = a.account.balances();
        (b.credits_posted - b.debits_posted) as i64
    });
    let st = money.settle(&operator, &provider, from, to).await.unwrap();
    assert_eq!((st.model_calls, st.bills, st.data_deliveries), (5, 0, 0), "{st:?}");
    assert_eq!(st.charge, charged);
    assert_eq!(st.settled, Fen(st.voucher.0 + st.cash.0));
    ledger_verifies(&ts).await;
    let paid_after = ts.state.store.ledger_account(payout).await.unwrap().map_or(0, |a| {
        let b = a.account.balances();
        (b.credits_posted - b.debits_posted) as i64
    });
    assert_eq!(paid_after - paid_before, st.settled.0);
    // Settled once: again finds nothing.
    let again = money.settle(&operator, &provider, from, to).await.unwrap_err();
    assert!(matches!(again, suanli_store::StoreError::Domain(ref d) if d.code == ErrorCode::NothingToSettle), "{again}");
    let (_, r) = ts.as_role("operator").get("/api/v1/ledger/reconciliation").await;
    assert_eq!(r["mismatches"], json!([]), "{r}");
}
