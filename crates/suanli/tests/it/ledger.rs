//! Vouchers and the ledger through the API: programme, applications, approval, billing, settlement, reconciliation, refusals that change nothing, and group commit.

use crate::harness::{Api, TestServer, wait_for_final};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

fn yuan(v: &Value) -> f64 {
    v.as_str().unwrap_or_else(|| panic!("{v} is not a yuan string")).parse().unwrap()
}

/// Every account's balances and the ledger's length: what a refused request must not change.
async fn ledger_state(op: &Api) -> (Value, Value) {
    let (st, accounts) = op.get("/api/v1/ledger/accounts").await;
    assert_eq!(st, StatusCode::OK, "{accounts}");
    let (st, verify) = op.get("/api/v1/ledger/verify").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(verify["ok"], true, "{verify}");
    (accounts, verify["transfers"].clone())
}

async fn tenants(op: &Api) -> Vec<Value> {
    op.get("/api/v1/tenants?limit=1000").await.1["items"].as_array().unwrap().clone()
}

async fn wait_for_bill(api: &Api, job: &str) -> Value {
    for _ in 0..500 {
        let (st, b) = api.get(&format!("/api/v1/jobs/{job}/bill")).await;
        if st == StatusCode::OK {
            return b;
        }
        assert_eq!(b["code"], "bill_not_found", "{b}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("job {job} was not billed within 10 s");
}

#[tokio::test]
async fn vouchers_flow_from_application_to_settlement() {
    let s = TestServer::start().await;
    let (op, tenant) = (s.as_role("operator"), s.as_role("tenant"));
    let (_, me) = tenant.get("/api/v1/me").await;
    let tid = me["tenant_id"].as_str().unwrap().to_string();

    // The demo opened this year's programme with the policy's ¥50M budget.
    let (st, programmes) = op.get("/api/v1/voucher-programmes").await;
    assert_eq!(st, StatusCode::OK);
    let prog = &programmes[0];
    assert_eq!(prog["budget"], "50000000.00");
    assert_eq!((prog["ratio_domestic_pct"].as_u64(), prog["ratio_other_pct"].as_u64()), (Some(30), Some(20)));

    // Apply, approve less than asked: the voucher balance grows by exactly the approved amount.
    let (_, before) = tenant.get(&format!("/api/v1/tenants/{tid}/balance")).await;
    let (st, app) = tenant.post("/api/v1/voucher-applications", &json!({"amount": "100000", "purpose": "训练质检模型"})).await;
    assert_eq!(st, StatusCode::CREATED, "{app}");
    assert_eq!(app["state"], "pending");
    let app_id = app["id"].as_str().unwrap();
    let (st, v) = tenant.post(&format!("/api/v1/voucher-applications/{app_id}/approve"), &json!({})).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (st, app) = op.post(&format!("/api/v1/voucher-applications/{app_id}/approve"), &json!({"amount": "80000"})).await;
    assert_eq!(st, StatusCode::OK, "{app}");
    assert_eq!((app["state"].as_str(), app["approved"].as_str()), (Some("approved"), Some("80000.00")));
    let (st, v) = op.post(&format!("/api/v1/voucher-applications/{app_id}/approve"), &json!({})).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::CONFLICT, Some("application_decided")));
    let (_, after) = tenant.get(&format!("/api/v1/tenants/{tid}/balance")).await;
    assert!((yuan(&after["voucher_available"]) - yuan(&before["voucher_available"]) - 80_000.0).abs() < 0.001, "{before} -> {after}");

    // Jobs run and each is billed once: the voucher pays its ratio, cash the rest; a job the
    // centre failed (the demo injects node failures) costs nothing.
    let (mut voucher_paid, mut cash_paid) = (0.0, 0.0);
    let (mut id, mut bill) = (String::new(), Value::Null);
    for attempt in 0..8 {
        let (st, job) =
            tenant.post("/api/v1/jobs", &json!({"name": "ft", "kind": "training", "accelerators": 8, "duration_s": 7200})).await;
        assert_eq!(st, StatusCode::CREATED, "{job}");
        id = job["id"].as_str().unwrap().to_string();
        let done = wait_for_final(&tenant, &id, Duration::from_secs(20)).await;
        bill = wait_for_bill(&tenant, &id).await;
        let charge = yuan(&bill["charge"]);
        voucher_paid += yuan(&bill["voucher"]);
        cash_paid += yuan(&bill["cash"]);
        assert!((yuan(&bill["voucher"]) + yuan(&bill["cash"]) + yuan(&bill["outstanding"]) - charge).abs() < 0.001, "{bill}");
        if done["state"] == "failed" {
            assert_eq!((bill["rule"].as_str(), charge), (Some("centre_fault"), 0.0), "attempt {attempt}: {done} {bill}");
            continue;
        }
        assert_eq!(done["state"], "succeeded", "{done}");
        assert_eq!(bill["rule"], "completed");
        assert!((charge - yuan(&done["cost"])).abs() < 0.001, "the bill charges the metered cost: {bill} vs {done}");
        let ratio = bill["ratio_pct"].as_u64().unwrap() as f64;
        assert!(ratio == 20.0 || ratio == 30.0, "{bill}");
        assert!((yuan(&bill["voucher"]) - (charge * ratio).floor() / 100.0).abs() < 0.011, "voucher pays ⌊charge × ratio⌋: {bill}");
        break;
    }
    assert_eq!(bill["rule"], "completed", "one of 8 jobs succeeded");
    let (st, v) = op.post(&format!("/api/v1/jobs/{id}/bill"), &json!({})).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::CONFLICT, Some("bill_exists")), "a second bill is refused");

    // The tenant's balances moved by exactly its bills.
    let (_, end) = tenant.get(&format!("/api/v1/tenants/{tid}/balance")).await;
    assert!((yuan(&after["voucher_available"]) - yuan(&end["voucher_available"]) - voucher_paid).abs() < 0.001, "{after} -> {end}");
    assert!((yuan(&after["cash_available"]) - yuan(&end["cash_available"]) - cash_paid).abs() < 0.001, "{after} -> {end}");

    // Bills as CSV.
    let csv =
        reqwest::Client::new().get(format!("{}/api/v1/bills?format=csv", s.url)).bearer_auth(tenant.token().unwrap()).send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("bill_id,job_id,tenant_id,"), "{text}");
    assert!(text.lines().any(|l| l.contains(&id)), "{text}");

    // Settle the provider for today (a Beijing calendar day): one statement, paying what vouchers and cash paid.
    let provider = bill["provider_id"].as_str().unwrap();
    let beijing_now = chrono_now() + suanli_core::time::CST_OFFSET_MS;
    let today = &suanli_core::time::format_date(beijing_now)[..10];
    let tomorrow = suanli_core::time::format_date(beijing_now + 86_400_000);
    let body = json!({"provider_id": provider, "from": today, "to": tomorrow});
    let (st, stmt) = op.post("/api/v1/settlements", &body).await;
    assert_eq!(st, StatusCode::CREATED, "{stmt}");
    assert!(stmt["bills"].as_u64().unwrap() >= 1);
    assert!((yuan(&stmt["settled"]) - yuan(&stmt["voucher"]) - yuan(&stmt["cash"])).abs() < 0.001);
    let (st, v) = op.post("/api/v1/settlements", &body).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::CONFLICT, Some("nothing_to_settle")));
    let (st, v) = op.post("/api/v1/settlements", &json!({"provider_id": provider, "from": tomorrow, "to": today})).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_period")));
    let (_, b2) = tenant.get(&format!("/api/v1/jobs/{id}/bill")).await;
    assert_eq!(b2["statement_id"], stmt["id"]);

    // Reconciliation ties every charge to metered usage; the ledger verifies; the city shows spending.
    let (_, rec) = op.get("/api/v1/ledger/reconciliation").await;
    assert_eq!(rec["mismatches"], json!([]), "{rec}");
    assert!(rec["bills"].as_u64().unwrap() >= 1);
    let (_, verify) = op.get("/api/v1/ledger/verify").await;
    assert_eq!(verify["ok"], true, "{verify}");
    let (_, city) = op.get("/api/v1/city/summary").await;
    assert!(yuan(&city["vouchers"]["spent"]) >= yuan(&bill["voucher"]), "{}", city["vouchers"]);
    assert_eq!(city["vouchers"]["budget"], "50000000.00");
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[tokio::test]
async fn bad_money_input_gets_its_code_and_changes_nothing() {
    let s = TestServer::start().await;
    let (op, tenant) = (s.as_role("operator"), s.as_role("tenant"));
    let all = tenants(&op).await;
    let tid = tenant.get("/api/v1/me").await.1["tenant_id"].as_str().unwrap().to_string();
    let not_sme = all.iter().find(|t| t["sme"] == false && t["uscc"].as_str().unwrap()[2..].starts_with("3301")).unwrap();
    let elsewhere = all.iter().find(|t| !t["uscc"].as_str().unwrap()[2..].starts_with("3301") && t["sme"] == true).unwrap();
    let cash = |t: &str| suanli_ledger::chart::cash(t).id.to_hex();
    // Another tenant's cash account stands in as the credit side (it exists from the demo's top-ups).
    let receivable = cash(all.iter().find(|t| t["id"] != tid.as_str()).unwrap()["id"].as_str().unwrap());
    let before = ledger_state(&op).await;

    let transfer = |amount: &str, debit: &str| json!({"transfers": [{"id": "ab01", "debit_account": debit, "credit_account": receivable, "amount": amount, "reason": "job_charge", "reference": "test"}]});
    let cases: Vec<(&str, Value, &str)> = vec![
        ("/api/v1/tenants/{tid}/top-ups", json!({"amount": "0"}), "zero_amount"),
        ("/api/v1/tenants/{tid}/top-ups", json!({"amount": "-5"}), "negative_amount"),
        ("/api/v1/tenants/{tid}/top-ups", json!({"amount": "92233720368547758.08"}), "amount_out_of_range"),
        ("/api/v1/tenants/{tid}/top-ups", json!({"amount": "1.234"}), "invalid_amount"),
        ("/api/v1/tenants/{tid}/top-ups", json!({"amount": "5", "transfer_id": "xyz"}), "invalid_transfer_id"),
        ("/api/v1/ledger/transfers", transfer("10", &"f".repeat(32)), "unknown_account"),
        ("/api/v1/ledger/transfers", transfer("10", "0"), "invalid_account_id"),
        ("/api/v1/ledger/transfers", transfer("99999999", &cash(&tid)), "insufficient_funds"),
        ("/api/v1/ledger/transfers", transfer("0", &cash(&tid)), "zero_amount"),
        ("/api/v1/ledger/transfers", json!({"transfers": []}), "invalid_count"),
        (
            "/api/v1/ledger/transfers",
            json!({"linked": true, "transfers": [
                {"id": "ab02", "debit_account": cash(&tid), "credit_account": receivable, "amount": "1", "reason": "job_charge"},
                {"id": "ab03", "debit_account": cash(&tid), "credit_account": cash(&tid), "amount": "1", "reason": "job_charge"}]}),
            "same_account",
        ),
        ("/api/v1/voucher-applications", json!({"amount": "100", "purpose": "x", "tenant_id": not_sme["id"]}), "not_eligible"),
        ("/api/v1/voucher-applications", json!({"amount": "100", "purpose": "x", "tenant_id": elsewhere["id"]}), "not_eligible"),
        ("/api/v1/voucher-applications", json!({"amount": "9000000", "purpose": "x", "tenant_id": tid}), "cap_exceeded"),
        ("/api/v1/voucher-applications", json!({"amount": "0", "purpose": "x", "tenant_id": tid}), "zero_amount"),
        ("/api/v1/voucher-programmes", json!({"year": 2099, "ratio_other_pct": 120}), "invalid_ratio"),
        (
            "/api/v1/settlements",
            json!({"provider_id": "prv_000000000000000000000a", "from": "2026-01-01", "to": "2026-02-01"}),
            "provider_not_found",
        ),
    ];
    for (path, body, code) in &cases {
        let path = path.replace("{tid}", &tid);
        let (st, v) = op.post(&path, body).await;
        assert_eq!(v["code"].as_str(), Some(*code), "{path} {body}: {st} {v}");
        assert!(st.is_client_error(), "{path}: {st}");
    }
    assert_eq!(ledger_state(&op).await, before, "refused requests changed the ledger");

    // Idempotency: the same id and body answers exists; the same id with another body is refused.
    let ok = transfer("1.00", &cash(&tid));
    let (st, v) = op.post("/api/v1/ledger/transfers", &ok).await;
    assert_eq!((st, v[0]["outcome"].as_str()), (StatusCode::CREATED, Some("created")), "{v}");
    let (st, v) = op.post("/api/v1/ledger/transfers", &ok).await;
    assert_eq!((st, v[0]["outcome"].as_str()), (StatusCode::CREATED, Some("exists")), "{v}");
    let (st, v) = op.post("/api/v1/ledger/transfers", &transfer("2.00", &cash(&tid))).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::CONFLICT, Some("duplicate_transfer_differs")));

    // Opening a programme is the operator's: a tenant is refused and nothing is opened.
    let (st, v) = tenant.post("/api/v1/voucher-programmes", &json!({"year": 2099})).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{v}");
    let years: Vec<i64> =
        op.get("/api/v1/voucher-programmes").await.1.as_array().unwrap().iter().map(|p| p["year"].as_i64().unwrap()).collect();
    assert!(!years.contains(&2099), "{years:?}");

    // Budget and cap at approval: a small programme for a later year.
    let (st, p) = op.post("/api/v1/voucher-programmes", &json!({"year": 2099, "budget": "1000", "cap_per_enterprise": "800"})).await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let (st, v) = op.post("/api/v1/voucher-programmes", &json!({"year": 2099})).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::CONFLICT, Some("programme_exists")));
    let eligible: Vec<&Value> =
        all.iter().filter(|t| t["sme"] == true && t["uscc"].as_str().unwrap()[2..].starts_with("3301")).take(2).collect();
    let apply = |t: &Value, amount: &str| json!({"programme_id": p["id"], "tenant_id": t["id"], "amount": amount, "purpose": "x"});
    let a1 = op.post("/api/v1/voucher-applications", &apply(eligible[0], "500")).await.1;
    let a2 = op.post("/api/v1/voucher-applications", &apply(eligible[0], "500")).await.1;
    let b1 = op.post("/api/v1/voucher-applications", &apply(eligible[1], "600")).await.1;
    let approve = |a: &Value| format!("/api/v1/voucher-applications/{}/approve", a["id"].as_str().unwrap());
    assert_eq!(op.post(&approve(&a1), &json!({})).await.0, StatusCode::OK);
    let snapshot = ledger_state(&op).await;
    let (st, v) = op.post(&approve(&a2), &json!({})).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::CONFLICT, Some("cap_exceeded")), "{v}");
    let (st, v) = op.post(&approve(&b1), &json!({})).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::CONFLICT, Some("budget_exceeded")), "{v}");
    assert_eq!(ledger_state(&op).await, snapshot, "refused approvals changed the ledger");
    let (_, still) = op.get(&format!("/api/v1/voucher-applications/{}", a2["id"].as_str().unwrap())).await;
    assert_eq!(still["state"], "pending", "a refused approval leaves the application pending");
    let (st, v) =
        op.post(&format!("/api/v1/voucher-applications/{}/reject", b1["id"].as_str().unwrap()), &json!({"reason": "budget spent"})).await;
    assert_eq!((st, v["state"].as_str()), (StatusCode::OK, Some("rejected")));

    // Closing a programme is the operator's: a tenant is refused and nothing changes (the
    // ledger, the programme's state, the audit trail).
    let close = format!("/api/v1/voucher-programmes/{}/close", p["id"].as_str().unwrap());
    let audit_of = |id: &str| format!("/api/v1/audit?subject={id}");
    let (_, audit_before) = op.get(&audit_of(p["id"].as_str().unwrap())).await;
    let before_close = ledger_state(&op).await;
    let (st, v) = tenant.post(&close, &json!({})).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{v}");
    assert_eq!(ledger_state(&op).await, before_close, "a refused close changed the ledger");
    let (_, still) = op.get(&format!("/api/v1/voucher-programmes/{}", p["id"].as_str().unwrap())).await;
    assert_eq!(still["state"], "open", "{still}");
    assert_eq!(op.get(&audit_of(p["id"].as_str().unwrap())).await.1, audit_before, "a refused close wrote an audit record");

    // Closing the programme returns unspent vouchers to its budget, with its audit record.
    let (st, closed) = op.post(&close, &json!({})).await;
    assert_eq!(st, StatusCode::OK, "{closed}");
    assert_eq!(
        (closed["state"].as_str(), closed["expired"].as_str(), closed["remaining"].as_str()),
        (Some("closed"), Some("500.00"), Some("1000.00"))
    );
    let (_, audit) = op.get(&audit_of(p["id"].as_str().unwrap())).await;
    let closes: Vec<&Value> = audit["items"].as_array().unwrap().iter().filter(|a| a["action"] == "programme.close").collect();
    assert_eq!(closes.len(), 1, "{audit}");
    assert!(closes[0]["actor"].as_str().unwrap().starts_with("operator:"), "{audit}");
    let (st, v) = op.post(&close, &json!({})).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::CONFLICT, Some("programme_closed")));
    assert_eq!(ledger_state(&op).await.0.as_array().map(Vec::len), snapshot.0.as_array().map(Vec::len));
}

#[tokio::test]
async fn concurrent_requests_share_commits_and_each_is_acknowledged() {
    let s = TestServer::start().await;
    let op = s.as_role("operator");
    let tid = s.as_role("tenant").get("/api/v1/me").await.1["tenant_id"].as_str().unwrap().to_string();
    let cash = suanli_ledger::chart::cash(&tid).id.to_hex();
    let other = tenants(&op).await.into_iter().find(|t| t["id"] != tid.as_str()).unwrap();
    let receivable = suanli_ledger::chart::cash(other["id"].as_str().unwrap()).id.to_hex();
    let stats = s.state.ledger.stats();
    let commits_before = stats.commits.load(std::sync::atomic::Ordering::Relaxed);
    let n = 300;
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let op = op.clone();
            let body = json!({"transfers": [{"id": format!("c0ffee{i:04x}"), "debit_account": cash, "credit_account": receivable, "amount": "0.01", "reason": "job_charge", "reference": "group"}]});
            tokio::spawn(async move { op.post("/api/v1/ledger/transfers", &body).await })
        })
        .collect();
    for t in tasks {
        let (st, v) = t.await.unwrap();
        assert_eq!((st, v[0]["outcome"].as_str()), (StatusCode::CREATED, Some("created")), "{v}");
    }
    let commits = stats.commits.load(std::sync::atomic::Ordering::Relaxed) - commits_before;
    assert!(commits < n, "{n} concurrent requests took {commits} commits: group commit did not group");
    let (_, verify) = op.get("/api/v1/ledger/verify").await;
    assert_eq!(verify["ok"], true, "{verify}");
}

/// Verifying while the writer commits reads balances and history in one snapshot: read apart,
/// a group committed between the two reads showed history whose postings the balances did
/// not hold yet (a verification failure, and a writer reloading from such a read would have
/// written the stale balances back).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ledger_verify_while_committing_sees_one_snapshot() {
    let s = TestServer::start().await;
    let op = s.as_role("operator");
    let ids: Vec<String> = tenants(&op).await.iter().map(|t| suanli_ledger::chart::cash(t["id"].as_str().unwrap()).id.to_hex()).collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let committed = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (op, stop, from, to) = (op.clone(), stop.clone(), ids[w % ids.len()].clone(), ids[(w + 1) % ids.len()].clone());
            let committed = committed.clone();
            tokio::spawn(async move {
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let body = json!({"transfers": [{"id": format!("5a{w:02x}{n:06x}"), "debit_account": from, "credit_account": to, "amount": "0.01", "reason": "adjustment", "reference": "snapshot"}]});
                    let (st, v) = op.post("/api/v1/ledger/transfers", &body).await;
                    assert_eq!(st, StatusCode::CREATED, "{v}");
                    n += 1;
                    committed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                n
            })
        })
        .collect();
    // At least 40 verifications, and on until the writers have committed more than 40 transfers
    // meanwhile (however the two share the machine), within 30 s.
    let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut i = 0;
    while i < 40 || (committed.load(std::sync::atomic::Ordering::Relaxed) <= 40 && std::time::Instant::now() < end) {
        let (_, verify) = op.get("/api/v1/ledger/verify").await;
        assert_eq!(verify["ok"], true, "verification {i} while committing: {verify}");
        i += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut written = 0;
    for w in writers {
        written += w.await.unwrap();
    }
    assert!(written > 40, "the writers committed {written} transfers during the verifications");
}

/// Issue #13, item 8: a non-linked batch where one transfer applies and another is refused
/// moved money, so it is audited, naming what applied and what was refused; a batch of which
/// nothing applied writes no audit record.
#[tokio::test]
async fn ledger_partly_applied_batch_is_audited() {
    let s = TestServer::start().await;
    let op = s.as_role("operator");
    let tid = s.as_role("tenant").get("/api/v1/me").await.1["tenant_id"].as_str().unwrap().to_string();
    let cash = suanli_ledger::chart::cash(&tid).id.to_hex();
    let other = tenants(&op).await.into_iter().find(|t| t["id"] != tid.as_str()).unwrap();
    let receivable = suanli_ledger::chart::cash(other["id"].as_str().unwrap()).id.to_hex();
    let transfer = |id: &str, amount: &str| json!({"id": id, "debit_account": cash, "credit_account": receivable, "amount": amount, "reason": "job_charge", "reference": "partial"});
    let subject = |id: &str| suanli_ledger::TransferId::parse_hex(id).unwrap().to_hex();

    let (st, v) =
        op.post("/api/v1/ledger/transfers", &json!({"transfers": [transfer("ba01", "1.00"), transfer("ba02", "99999999")]})).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!((v[0]["outcome"].as_str(), v[1]["code"].as_str()), (Some("created"), Some("insufficient_funds")), "{v}");
    let audits = s.state.store.audit_log(Some(&subject("ba01")), 10).await.unwrap();
    assert_eq!(audits.len(), 1, "the applied transfer of a partly applied batch is audited: {audits:?}");
    let detail = &audits[0].detail;
    assert_eq!(audits[0].action, "ledger.transfers");
    assert_eq!(detail["applied"], json!([subject("ba01")]), "{detail}");
    assert_eq!(detail["refused"], json!([{"id": subject("ba02"), "code": "insufficient_funds"}]), "{detail}");

    // Nothing applied: nothing changed, nothing audited.
    let (st, v) =
        op.post("/api/v1/ledger/transfers", &json!({"transfers": [transfer("ba03", "99999999"), transfer("ba04", "99999998")]})).await;
    assert_eq!(
        (st, v[0]["code"].as_str(), v[1]["code"].as_str()),
        (StatusCode::CREATED, Some("insufficient_funds"), Some("insufficient_funds")),
        "{v}"
    );
    assert!(s.state.store.audit_log(Some(&subject("ba03")), 10).await.unwrap().is_empty());
    let (_, verify) = op.get("/api/v1/ledger/verify").await;
    assert_eq!(verify["ok"], true, "{verify}");
}

/// No database text in a problem's body (a constraint's or statement's words).
fn assert_no_sql(v: &Value) {
    let text = v.to_string().to_lowercase();
    for word in ["unique", "constraint", "insert into", "update ", "sqlite", "violat", "duplicate key", "database"] {
        assert!(!text.contains(word), "a client saw database text ({word}): {v}");
    }
}

/// Issue #13, item 9: twelve concurrent creations of the same programme year, and a top-up of
/// another enterprise beside them. One creation wins, the others get `programme_exists`, the
/// top-up is applied, and no answer carries SQL text.
#[tokio::test]
async fn ledger_failing_request_does_not_fail_its_group() {
    let s = TestServer::start().await;
    let op = s.as_role("operator");
    let tid = s.as_role("tenant").get("/api/v1/me").await.1["tenant_id"].as_str().unwrap().to_string();
    for year in [2091, 2092, 2093] {
        let mut creations = Vec::new();
        for _ in 0..12 {
            let op = op.clone();
            creations.push(tokio::spawn(async move {
                op.post("/api/v1/voucher-programmes", &json!({"year": year, "budget": "1000", "cap_per_enterprise": "500"})).await
            }));
        }
        let (op2, path) = (op.clone(), format!("/api/v1/tenants/{tid}/top-ups"));
        let top_up = tokio::spawn(async move { op2.post(&path, &json!({"amount": "1.00"})).await });
        let mut created = 0;
        for c in creations {
            let (st, v) = c.await.unwrap();
            assert_no_sql(&v);
            match st {
                StatusCode::CREATED => created += 1,
                _ => assert_eq!((st, v["code"].as_str()), (StatusCode::CONFLICT, Some("programme_exists")), "{v}"),
            }
        }
        assert_eq!(created, 1, "exactly one programme for {year}");
        let (st, v) = top_up.await.unwrap();
        assert_no_sql(&v);
        assert_eq!(st, StatusCode::OK, "an unrelated top-up beside the race: {v}");
    }
    let (_, programmes) = op.get("/api/v1/voucher-programmes").await;
    let years: Vec<i64> = programmes.as_array().unwrap().iter().filter_map(|p| p["year"].as_i64()).filter(|y| *y > 2090).collect();
    assert_eq!(years.len(), 3, "{programmes}");
    let (_, verify) = op.get("/api/v1/ledger/verify").await;
    assert_eq!(verify["ok"], true, "{verify}");
}

/// Issue #13, item 10: approvals racing a programme's close. Each approval either lands
/// before the close (and its voucher expires with the others) or is refused with
/// `programme_closed`; no voucher of the closed programme is left available, and its whole
/// budget is back.
#[tokio::test]
async fn vouchers_approvals_racing_a_close_strand_nothing() {
    let s = TestServer::start().await;
    let op = s.as_role("operator");
    let eligible: Vec<Value> = tenants(&op)
        .await
        .into_iter()
        .filter(|t| t["sme"] == true && t["uscc"].as_str().unwrap()[2..].starts_with("3301"))
        .take(8)
        .collect();
    assert!(eligible.len() >= 4, "the demo city has eligible enterprises");
    for year in [2081, 2082, 2083, 2084] {
        let (st, p) =
            op.post("/api/v1/voucher-programmes", &json!({"year": year, "budget": "100000", "cap_per_enterprise": "10000"})).await;
        assert_eq!(st, StatusCode::CREATED, "{p}");
        let pid = p["id"].as_str().unwrap().to_string();
        let mut apps = Vec::new();
        for t in &eligible {
            for _ in 0..3 {
                let body = json!({"programme_id": pid, "tenant_id": t["id"], "amount": "100", "purpose": "race"});
                let (st, a) = op.post("/api/v1/voucher-applications", &body).await;
                assert_eq!(st, StatusCode::CREATED, "{a}");
                apps.push(a["id"].as_str().unwrap().to_string());
            }
        }
        let approve = |id: &String| {
            let (op, path) = (op.clone(), format!("/api/v1/voucher-applications/{id}/approve"));
            tokio::spawn(async move { op.post(&path, &json!({})).await })
        };
        let half = apps.len() / 2;
        let mut approvals: Vec<_> = apps[..half].iter().map(approve).collect();
        let (op2, path) = (op.clone(), format!("/api/v1/voucher-programmes/{pid}/close"));
        let close = tokio::spawn(async move { op2.post(&path, &json!({})).await });
        approvals.extend(apps[half..].iter().map(approve));
        let (st, v) = close.await.unwrap();
        assert_eq!(st, StatusCode::OK, "{v}");
        for a in approvals {
            let (st, v) = a.await.unwrap();
            assert!(
                st == StatusCode::OK || (st, v["code"].as_str()) == (StatusCode::CONFLICT, Some("programme_closed")),
                "an approval racing the close: {st} {v}"
            );
        }
        let suffix = format!("/{pid}");
        let stranded: Vec<String> = s
            .state
            .store
            .ledger_accounts(None)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.account.kind == suanli_ledger::AccountKind::EnterpriseVoucher && a.owner.ends_with(&suffix))
            .filter(|a| a.account.available().is_positive())
            .map(|a| format!("{} {}", a.owner, a.account.available()))
            .collect();
        assert!(stranded.is_empty(), "vouchers left available in closed programme {year}: {stranded:?}");
        let (_, p) = op.get(&format!("/api/v1/voucher-programmes/{pid}")).await;
        assert_eq!((p["state"].as_str(), p["remaining"].as_str()), (Some("closed"), Some("100000.00")), "{p}");
    }
    let (_, verify) = op.get("/api/v1/ledger/verify").await;
    assert_eq!(verify["ok"], true, "{verify}");
}

/// Issue #13, item 11: a demo whose first seeding is killed (here: its task aborted, which
/// like a kill leaves exactly what was committed) seeds the rest when started again: every
/// tenant gets its opening balance once, every eligible one one application.
#[tokio::test]
async fn ledger_demo_seeding_killed_midway_resumes() {
    // Killed right after the city committed; then killed after some of the money.
    for kill_after_applications in [0usize, 3] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = suanli_server::ServeConfig { demo: true, ..suanli_server::ServeConfig::at(dir.path()) };
        let state = suanli_server::build_state(&cfg).await.unwrap();
        let url = "http://127.0.0.1:9";
        let (st, path) = (state.clone(), dir.path().to_path_buf());
        let first = tokio::spawn(async move { suanli_server::demo::seed(&st, &path, url).await });
        loop {
            let city = state.store.meta("demo_seeded").await.unwrap().is_some();
            if city && state.store.applications(None, None, 1000).await.unwrap().len() >= kill_after_applications {
                first.abort();
                break;
            }
            assert!(!first.is_finished(), "the first seeding finished before it could be killed");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let _ = first.await;
        suanli_server::demo::seed(&state, dir.path(), url).await.unwrap();

        let store = &state.store;
        let tenants = store.tenants().await.unwrap();
        assert!(tenants.len() >= 10);
        let apps = store.applications(None, None, 1000).await.unwrap();
        for t in &tenants {
            let cash = store.ledger_account(suanli_ledger::chart::cash(t.id.as_str()).id).await.unwrap();
            let credited = cash.map_or(0, |a| a.account.credits_posted);
            assert_eq!(credited, 100_000_000, "tenant {} ({}) has its opening balance once", t.id, t.name_en);
            assert!(apps.iter().filter(|a| a.tenant_id == t.id).count() <= 1, "tenant {} applied twice", t.id);
        }
        assert!(!apps.is_empty());
        assert!(store.meta("demo_money_seeded").await.unwrap().is_some());
        let (ledger, _) = store.ledger_load().await.unwrap();
        ledger.verify().unwrap();
    }
}

/// Issue 13.10, the leak left after closing moved into the writer: a job's voucher hold still
/// open when its programme closes is released later (the job is cancelled and billed for what
/// ran); the money that comes back to the voucher goes on to the budget in the same commit,
/// so no voucher of a closed programme keeps money.
#[tokio::test]
async fn holds_released_after_a_close_go_back_to_the_budget() {
    let s = TestServer::start().await;
    let (op, tenant) = (s.as_role("operator"), s.as_role("tenant"));
    let tenant_id = tenant.get("/api/v1/me").await.1["tenant_id"].as_str().unwrap().to_string();
    let (st, app) = tenant.post("/api/v1/voucher-applications", &json!({"amount": "100000", "purpose": "训练"})).await;
    assert_eq!(st, StatusCode::CREATED, "{app}");
    let (st, a) = op.post(&format!("/api/v1/voucher-applications/{}/approve", app["id"].as_str().unwrap()), &json!({})).await;
    assert_eq!(st, StatusCode::OK, "{a}");
    let programme = a["programme_id"].as_str().unwrap().to_string();
    // A long job on domestic accelerators: its hold takes part of it from the voucher.
    let body = json!({"name": "long", "kind": "training", "accelerators": 8, "models": ["ascend-910b2"], "duration_s": 1_440_000});
    let (_, job) = tenant.post("/api/v1/jobs", &body).await;
    let id = job["id"].as_str().unwrap().to_string();
    let t0 = std::time::Instant::now();
    while tenant.get(&format!("/api/v1/jobs/{id}")).await.1["state"] != "running" {
        assert!(t0.elapsed() < Duration::from_secs(10), "never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let voucher = |b: &Value| b["vouchers"].as_array().unwrap().iter().find(|v| v["programme_id"] == programme.as_str()).cloned().unwrap();
    let (_, before) = tenant.get(&format!("/api/v1/tenants/{tenant_id}/balance")).await;
    assert_ne!(voucher(&before)["held"], "0.00", "the job holds part of its voucher: {before}");
    let (st, closed) = op.post(&format!("/api/v1/voucher-programmes/{programme}/close"), &json!({})).await;
    assert_eq!(st, StatusCode::OK, "{closed}");
    let (_, c) = tenant.post(&format!("/api/v1/jobs/{id}/cancel"), &json!({"reason": "close test"})).await;
    assert_eq!(c["state"], "cancelled", "{c}");
    let t0 = std::time::Instant::now();
    while tenant.get(&format!("/api/v1/jobs/{id}/bill")).await.0 != StatusCode::OK {
        assert!(t0.elapsed() < Duration::from_secs(20), "not billed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, after) = tenant.get(&format!("/api/v1/tenants/{tenant_id}/balance")).await;
    let v = voucher(&after);
    assert_eq!(
        (v["available"].as_str(), v["held"].as_str()),
        (Some("0.00"), Some("0.00")),
        "money stayed in a closed programme's voucher: {after}"
    );
    let (_, verify) = op.get("/api/v1/ledger/verify").await;
    assert_eq!(verify["ok"], true, "{verify}");
    let (_, rec) = op.get("/api/v1/ledger/reconciliation").await;
    assert_eq!(rec["mismatches"], json!([]), "{rec}");
}

/// Issue 20: a round holds all its placements at once, and the split between voucher and cash
/// is decided in the ledger's writer. So one tenant's holds placed together never count the same
/// voucher money twice: none is refused as unfunded while cash is ample, and the voucher pays
/// exactly what it had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_placed_at_once_split_voucher_and_cash_without_double_counting() {
    let s = TestServer::start().await;
    let op = s.as_role("operator");
    let uscc = format!("91330106MA2CXNC01{}", suanli_core::ident::uscc_check_char("91330106MA2CXNC01").unwrap());
    let (st, t) = op.post("/api/v1/tenants", &json!({"name": "并发用券公司", "uscc": uscc, "sme": true, "region": "hz-xihu"})).await;
    assert_eq!(st, StatusCode::CREATED, "{t}");
    let tid = t["id"].as_str().unwrap().to_string();
    let (_, u) = op.post("/api/v1/users", &json!({"name": "conc", "role": "tenant", "tenant_id": tid})).await;
    let tenant = op.with_token(u["token"].as_str().unwrap());
    assert_eq!(op.post(&format!("/api/v1/tenants/{tid}/top-ups"), &json!({"amount": "100000"})).await.0, StatusCode::OK);
    let (st, app) = tenant.post("/api/v1/voucher-applications", &json!({"amount": "30", "purpose": "并发测试"})).await;
    assert_eq!(st, StatusCode::CREATED, "{app}");
    let (st, app) = op.post(&format!("/api/v1/voucher-applications/{}/approve", app["id"].as_str().unwrap()), &json!({})).await;
    assert_eq!(st, StatusCode::OK, "{app}");
    // Forty jobs in one request: one round places them together, and their holds' voucher
    // shares (a few yuan each) add up to far more than the voucher's ¥30.
    let jobs: Vec<Value> =
        (0..40).map(|i| json!({"name": format!("conc-{i}"), "kind": "batch", "accelerators": 1, "duration_s": 3600})).collect();
    let (st, v) = tenant.post("/api/v1/jobs:batch", &json!({"jobs": jobs, "atomic": true})).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let ids: Vec<String> = v["created"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap().to_string()).collect();
    let mut bills = Vec::new();
    let mut placed_at = std::collections::BTreeSet::new();
    for id in &ids {
        let done = wait_for_final(&tenant, id, Duration::from_secs(30)).await;
        placed_at.insert(done["placed_ms"].as_i64().unwrap());
        bills.push(wait_for_bill(&tenant, id).await);
    }
    // Stored in one commit, so one round saw them all; a hold refused as unfunded would have
    // left its job to a later round.
    assert_eq!(placed_at.len(), 1, "placed in several rounds: {placed_at:?}");
    let (_, bal) = tenant.get(&format!("/api/v1/tenants/{tid}/balance")).await;
    let voucher_paid: f64 = bills.iter().map(|b| yuan(&b["voucher"])).sum();
    assert!(yuan(&bal["voucher_available"]) >= 0.0, "{bal}");
    assert!((voucher_paid + yuan(&bal["voucher_available"]) - 30.0).abs() < 0.001, "the voucher paid {voucher_paid} of ¥30: {bal}");
    assert!(voucher_paid > 0.0, "the voucher paid nothing: {bills:?}");
    let (_, verify) = op.get("/api/v1/ledger/verify").await;
    assert_eq!(verify["ok"], true, "{verify}");
}

/// Issue 12: closing a programme lives in the vouchers service; the engine's sweep closes a
/// programme whose year has ended through it, as the system, with its audit record.
#[tokio::test]
async fn vouchers_programme_of_an_ended_year_is_closed_by_the_system() {
    let s = TestServer::start().await;
    let op = s.as_role("operator");
    let (st, p) = op.post("/api/v1/voucher-programmes", &json!({"year": 2020, "budget": "1000", "cap_per_enterprise": "800"})).await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let id = p["id"].as_str().unwrap();
    let mut state = p["state"].clone();
    for _ in 0..250 {
        state = op.get(&format!("/api/v1/voucher-programmes/{id}")).await.1["state"].clone();
        if state == "closed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(state, "closed", "the sweep closes a programme whose year has ended");
    let (_, audit) = op.get(&format!("/api/v1/audit?subject={id}")).await;
    let actors: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "programme.close")
        .map(|a| a["actor"].as_str().unwrap())
        .collect();
    assert_eq!(actors, [suanli_app::vouchers::YEAR_END_ACTOR], "{audit}");
}

/// The reconciliation reads bills and the ledger's postings as of one moment. Run again and
/// again on PostgreSQL while jobs are billed (each bill commits with its postings) and cash
/// top-ups post, it never reports a mismatch: read apart, a bill committed between the read of
/// the bills and the read of the postings showed as money "posted without a bill".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_while_jobs_are_billed_finds_no_false_mismatch() {
    let (s, schema) = TestServer::start_pg().await;
    let (op, tenant) = (s.as_role("operator"), s.as_role("tenant"));
    let tid = tenant.get("/api/v1/me").await.1["tenant_id"].as_str().unwrap().to_string();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // The service the API and the CLI call, without HTTP between, so that it runs often.
    let reconciler = |money: suanli_app::Money, stop: std::sync::Arc<std::sync::atomic::AtomicBool>| async move {
        let operator = suanli_app::Caller::Operator { user: suanli_core::id::UserId::generate(1, 1) };
        let (mut runs, mut mismatches) = (0, Vec::new());
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let rec = money.reconcile(&operator).await.unwrap();
            runs += 1;
            if !rec.mismatches.is_empty() {
                mismatches.push(format!("{:?}", rec.mismatches));
            }
        }
        (runs, mismatches)
    };
    let reconcilers: Vec<_> = (0..3).map(|_| tokio::spawn(reconciler(s.state.money.clone(), stop.clone()))).collect();
    // A tenant's vouchers as its balance shows them, read while they hold and pay: what was
    // issued is what it spent, holds and has left (a hold paid between two reads counted twice).
    let balances = {
        let (tenant, stop, tid) = (tenant.clone(), stop.clone(), tid.clone());
        tokio::spawn(async move {
            let mut bad = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (_, b) = tenant.get(&format!("/api/v1/tenants/{tid}/balance")).await;
                for v in b["vouchers"].as_array().unwrap() {
                    let fen = |k: &str| (yuan(&v[k]) * 100.0).round() as i64;
                    if fen("issued") != fen("spent") + fen("held") + fen("available") {
                        bad.push(v.clone());
                    }
                }
            }
            bad
        })
    };
    let top_ups = {
        let (op, stop, tid) = (op.clone(), stop.clone(), tid.clone());
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                assert_eq!(op.post(&format!("/api/v1/tenants/{tid}/top-ups"), &json!({"amount": "1"})).await.0, StatusCode::OK);
            }
        })
    };
    // A few batches apart, so that billing goes on for a while.
    let mut ids = Vec::new();
    for batch in 0..4 {
        let jobs: Vec<Value> =
            (0..40).map(|i| json!({"name": format!("rec-{batch}-{i}"), "kind": "batch", "accelerators": 1, "duration_s": 3600})).collect();
        let (st, v) = tenant.post("/api/v1/jobs:batch", &json!({"jobs": jobs})).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        ids.extend(v["created"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap().to_string()));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for id in &ids {
        wait_for_final(&tenant, id, Duration::from_secs(60)).await;
        wait_for_bill(&tenant, id).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    top_ups.await.unwrap();
    let bad_balances = balances.await.unwrap();
    assert!(bad_balances.is_empty(), "vouchers whose parts do not add up: {bad_balances:?}");
    let (mut runs, mut mismatches) = (0, Vec::new());
    for r in reconcilers {
        let (n, m) = r.await.unwrap();
        runs += n;
        mismatches.extend(m);
    }
    eprintln!("reconciliation timing: {runs} reconciliations while {} jobs were billed", ids.len());
    assert!(runs >= 10, "only {runs} reconciliations ran while the jobs were billed");
    assert!(mismatches.is_empty(), "{} of {runs} reconciliations found mismatches, the first: {}", mismatches.len(), mismatches[0]);
    let (_, rec) = op.get("/api/v1/ledger/reconciliation").await;
    assert_eq!(rec["mismatches"], json!([]), "{rec}");
    assert!(rec["bills"].as_u64().unwrap() >= ids.len() as u64, "{rec}");
    drop(s);
    suanli_store::Store::drop_schema(&crate::harness::pg_url(), &schema).await.unwrap();
}
