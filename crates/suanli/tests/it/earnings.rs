//! A provider's earnings from every source (`GET /api/v1/providers/{id}/earnings`): a job bill, a model call through the gateway to a simulated upstream and a data delivery, tied to what the ledger credited to the provider's receivable and to its statements; who may read them; the CLI's and the provider page's views of the same figures.

use crate::data_sharing::{admit, patients, register, request_body, upload};
use crate::gateway::{call, key, model_spec, sim, usage};
use crate::harness::{Api, TestServer, Web, cli, wait_for_final};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use suanli_core::id::ProviderId;
use suanli_core::money::Fen;

fn fen(v: &Value) -> Fen {
    Fen::parse_yuan(v.as_str().unwrap_or_else(|| panic!("not a yuan string: {v}"))).unwrap()
}

/// A Beijing calendar day, `days` from today, YYYY-MM-DD.
fn beijing_day(days: i64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    suanli_core::time::format_date(now + days * 86_400_000 + suanli_core::time::CST_OFFSET_MS)
}

/// A job billed to whichever provider's centre ran it: (provider, centre, the bill).
pub(crate) async fn billed_job(ts: &TestServer) -> (String, String, Value) {
    let tenant = ts.as_role("tenant");
    let (s, job) = tenant.post("/api/v1/jobs", &json!({"name": "earn", "kind": "batch", "accelerators": 1, "duration_s": 3600})).await;
    assert_eq!(s, StatusCode::CREATED, "{job}");
    let id = job["id"].as_str().unwrap();
    wait_for_final(&tenant, id, Duration::from_secs(20)).await;
    let bill = loop {
        let (s, b) = tenant.get(&format!("/api/v1/jobs/{id}/bill")).await;
        if s == StatusCode::OK {
            break b;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    (bill["provider_id"].as_str().unwrap().to_string(), bill["centre_id"].as_str().unwrap().to_string(), bill)
}

/// A user of that provider, made by the operator.
pub(crate) async fn provider_user(ts: &TestServer, provider: &str) -> String {
    let (s, u) =
        ts.as_role("operator").post("/api/v1/users", &json!({"name": "earner", "role": "provider", "provider_id": provider})).await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    u["token"].as_str().unwrap().to_string()
}

/// One model call served by the provider's centre; answers its charge.
async fn model_call(ts: &TestServer, prov: &Api, centre: &str) -> Fen {
    let up = sim(1, 0).await;
    let (s, v) = prov.post("/api/v1/models", &model_spec("t-earn", &["chat"], 4096)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let body = json!({"centre_id": centre, "base_url": up, "upstream_model": "t-earn", "price_input_per_m": "30.00",
                      "price_output_per_m": "90.00", "weight": 100});
    let (s, v) = prov.post("/api/v1/models/t-earn/deployments", &body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (kid, secret) = key(ts, json!({"name": "earn", "budget": "50.00"})).await;
    let msg = json!({"model": "t-earn", "messages": [{"role": "user", "content": "收入"}], "max_tokens": 16});
    // The gateway's catalogue reloads itself; retry until it knows the new model.
    for _ in 0..100 {
        if call(&ts.url, &secret, "/v1/chat/completions", &msg).await.0 == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows = usage(&ts.as_role("tenant"), &kid).await;
    let charge = Fen(rows.iter().map(|r| fen(&r["charge"]).0).sum());
    assert!(charge.is_positive(), "the call was charged: {rows:?}");
    charge
}

/// One unconditional data set of the provider's, delivered at once; answers its fee.
async fn data_delivery(ts: &TestServer, prov: &Api, provider: &str) -> Fen {
    admit(&ts.as_role("operator"), provider, &["healthcare"]).await;
    let set = register(prov, "earn-open", "healthcare", "unconditional", "general-1", "120.00").await;
    assert_eq!(upload(prov, set["id"].as_str().unwrap(), &patients(20, 3).0).await.0, StatusCode::OK);
    let (s, r) = ts.as_role("tenant").post("/api/v1/data/requests", &request_body("earn-open", &["年龄"])).await;
    assert_eq!((s, r["state"].as_str()), (StatusCode::CREATED, Some("delivered")), "{r}");
    fen(&r["fee"])
}

fn source<'a>(e: &'a Value, name: &str) -> &'a Value {
    e["sources"].as_array().unwrap().iter().find(|s| s["source"] == name).unwrap_or_else(|| panic!("no {name} in {e}"))
}

/// Posted to the provider's receivable, and taken out of it by settlement, as the ledger holds them.
async fn receivable(ts: &TestServer, provider: &str) -> (Fen, Fen) {
    let id = suanli_ledger::chart::receivable(provider).id;
    let b = ts.state.store.ledger_account(id).await.unwrap().expect("the receivable exists").account.balances();
    (Fen(b.credits_posted as i64), Fen(b.debits_posted as i64))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_providers_earnings_from_jobs_calls_and_data_agree_with_the_ledger_and_its_statements() {
    earnings_flow(&TestServer::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_providers_earnings_agree_with_the_ledger_and_its_statements_on_postgresql() {
    let (ts, schema) = TestServer::start_pg().await;
    earnings_flow(&ts).await;
    drop(ts);
    suanli_store::Store::drop_schema(&crate::harness::pg_url(), &schema).await.unwrap();
}

/// The "not yet settled" tile's figure on a page.
fn tile(page: &str) -> Fen {
    let at = page.find(r#"id="earnings-unsettled""#).unwrap_or_else(|| panic!("no unsettled tile: {page}"));
    let v = &page[at..];
    let v = &v[v.find(r#"<div class="v">"#).unwrap() + 15..];
    let text = v[..v.find("</div>").unwrap()].replace(['¥', ','], "");
    Fen::parse_yuan(&text).unwrap_or_else(|_| panic!("not a sum: {text}"))
}

/// The tile on My centres and the vouchers page, in both languages, is the earnings service's
/// unsettled over every source; with a model call and a data delivery unsettled (`not_jobs`), a
/// tile counting job bills only would differ.
async fn unsettled_tiles_are_the_services(ts: &TestServer, prov: &Api, provider: &str, not_jobs: i64) {
    let (s, all) = prov.get(&format!("/api/v1/providers/{provider}/earnings")).await;
    assert_eq!(s, StatusCode::OK, "{all}");
    let unsettled = fen(&all["unsettled"]);
    assert!(unsettled.0 >= fen(&source(&all, "jobs")["unsettled"]).0 + not_jobs, "{all}");
    let web = Web::sign_in(&ts.url, prov.token().unwrap()).await.unwrap();
    for path in ["/my-centres", "/my-centres?lang=en", "/vouchers", "/vouchers?lang=en"] {
        assert_eq!(tile(&web.page(path).await), unsettled, "{path}: {all}");
    }
}

/// The provider's job earnings as the store reports them (whole days from the daily sums, cut
/// days from the bills) are its bills summed by Beijing day, centre and settled, for windows
/// of whole days and windows that start or end within a day, around the bill made at `at`.
async fn job_earnings_are_the_bills(ts: &TestServer, provider: &str, at: i64) {
    use std::collections::BTreeMap;
    /// (day, centre, settled) → (bills, earned, outstanding).
    type Sums = BTreeMap<(i64, Option<String>, bool), (u64, i64, i64)>;
    use suanli_core::time::{MS_PER_DAY, cst_day, cst_midnight};
    let pid = ProviderId::parse(provider).unwrap();
    let filter = suanli_store::BillFilter { provider_id: Some(pid.clone()), limit: 100_000, ..Default::default() };
    let bills = ts.state.store.bills(&filter).await.unwrap();
    let midnight = cst_midnight(cst_day(at));
    let windows = [
        (midnight - MS_PER_DAY, midnight + 2 * MS_PER_DAY),
        (at - 3_600_000, at + 3_600_000),
        (at, at + 1),
        (at + 1, at + 3_600_000),
        (midnight - 3 * MS_PER_DAY + 5, at),
        (midnight, midnight + MS_PER_DAY - 1),
    ];
    for (from, to) in windows {
        let mut want = Sums::new();
        for b in bills.iter().filter(|b| (from..to).contains(&b.created_ms)) {
            let e = want.entry((cst_day(b.created_ms), b.centre_id.as_ref().map(|c| c.to_string()), b.statement_id.is_some())).or_default();
            *e = (e.0 + 1, e.1 + b.voucher.0 + b.cash.0, e.2 + b.outstanding.0);
        }
        let records = ts.state.store.provider_earnings(&pid, from, to).await.unwrap();
        let mut got = Sums::new();
        for r in records.rows.iter().filter(|r| r.source == suanli_store::Source::Jobs) {
            let e = got.entry((r.day, r.centre_id.as_ref().map(|c| c.to_string()), r.settled)).or_default();
            *e = (e.0 + r.records, e.1 + r.earned.0, e.2 + r.outstanding.0);
        }
        assert_eq!(got, want, "job earnings in [{from}, {to})");
    }
}

async fn earnings_flow(ts: &TestServer) {
    let (provider, centre, bill) = billed_job(ts).await;
    let prov = Api::new(&ts.url, Some(provider_user(ts, &provider).await));
    let job_earned = Fen(fen(&bill["voucher"]).0 + fen(&bill["cash"]).0);
    let window = format!("from={}&to={}", beijing_day(-1), beijing_day(2));
    let path = format!("/api/v1/providers/{provider}/earnings?{window}");
    // What the provider had before the call and the delivery (the demo seeds data deliveries).
    let (s, before) = prov.get(&path).await;
    assert_eq!(s, StatusCode::OK, "{before}");
    let (credited_before, _) = receivable(ts, &provider).await;
    let call_charge = model_call(ts, &prov, &centre).await;
    let fee = data_delivery(ts, &prov, &provider).await;
    ts.state.ledger.barrier().await.unwrap();

    // Each source earns what the ledger credited for it; nothing is settled yet.
    let (_, e) = prov.get(&path).await;
    assert_eq!((e["period"].as_str(), e["periods"].as_array().unwrap().len()), (Some("day"), 3), "{e}");
    for (name, added, n) in [("jobs", Fen::ZERO, 0), ("model_calls", call_charge, 1), ("data_deliveries", fee, 1)] {
        let (x, was) = (source(&e, name), source(&before, name));
        let earned = Fen(fen(&was["earned"]).0 + added.0);
        assert_eq!((fen(&x["earned"]), fen(&x["posted"])), (earned, earned), "{name}: {e}");
        assert_eq!(x["records"].as_u64().unwrap(), was["records"].as_u64().unwrap() + n, "{name}: {e}");
        assert_eq!((fen(&x["settled"]), fen(&x["unsettled"])), (Fen::ZERO, earned), "{name}");
    }
    assert_eq!(fen(&source(&e, "jobs")["earned"]), job_earned, "the job's bill: {e}");
    let total = fen(&e["earned"]);
    assert_eq!(total, Fen(fen(&before["earned"]).0 + call_charge.0 + fee.0));
    assert_eq!((fen(&e["unsettled"]), fen(&e["posted"])), (total, total), "{e}");
    let by_periods: i64 = e["periods"].as_array().unwrap().iter().map(|p| fen(&p["earned"]).0).sum();
    assert_eq!(Fen(by_periods), total, "the periods add up to the window");
    let centres: Vec<(&str, &str)> =
        e["centres"].as_array().unwrap().iter().map(|c| (c["centre_id"].as_str().unwrap(), c["source"].as_str().unwrap())).collect();
    assert_eq!(centres, [(centre.as_str(), "jobs"), (centre.as_str(), "model_calls")], "data deliveries have no centre: {e}");
    let (credited, paid_out) = receivable(ts, &provider).await;
    assert_eq!((credited.0 - credited_before.0, paid_out), (call_charge.0 + fee.0, Fen::ZERO), "the ledger credited the new earnings");
    unsettled_tiles_are_the_services(ts, &prov, &provider, call_charge.0 + fee.0).await;
    let bill_at = bill["created_ms"].as_i64().unwrap();
    job_earnings_are_the_bills(ts, &provider, bill_at).await;

    // A settlement now takes the bill and the deliveries (the call is too recent: one could
    // still land in the period); the earnings say so, and settled is what the statement paid.
    let op = ts.as_role("operator");
    let (s, st) = op.post("/api/v1/settlements", &json!({"provider_id": provider, "from": "2000-01-01", "to": "2099-01-01"})).await;
    assert_eq!(s, StatusCode::CREATED, "{st}");
    let deliveries = source(&e, "data_deliveries")["records"].as_u64();
    assert_eq!((st["bills"].as_u64(), st["model_calls"].as_u64(), st["data_deliveries"].as_u64()), (Some(1), Some(0), deliveries), "{st}");
    let (_, e) = op.get(&path).await;
    assert_eq!((fen(&e["settled"]), fen(&e["unsettled"])), (fen(&st["settled"]), call_charge), "{e}");
    assert_eq!(fen(&source(&e, "jobs")["settled"]), job_earned);
    job_earnings_are_the_bills(ts, &provider, bill_at).await;
    assert_eq!(fen(&source(&e, "data_deliveries")["settled"]), fen(&source(&e, "data_deliveries")["earned"]));

    // Half an hour on, the call is settled too: every statement's settled adds up to the earnings.
    let later = suanli_dispatch::ids::Ids::new(Arc::new(suanli_server::SystemClock { offset_ms: 31 * 60_000 }));
    let money = suanli_app::Money::new(ts.state.store.clone(), ts.state.ledger.clone(), later);
    let operator = suanli_app::Caller::Operator { user: suanli_core::id::UserId::generate(0, 0) };
    let pid = ProviderId::parse(&provider).unwrap();
    let (from, to) = (suanli_core::time::parse_date("2000-01-01").unwrap(), suanli_core::time::parse_date("2099-01-01").unwrap());
    let second = money.settle(&operator, &pid, from, to).await.unwrap();
    assert_eq!((second.model_calls, second.settled), (1, call_charge));
    let (_, statements) = ts.as_role("regulator").get(&format!("/api/v1/statements?provider_id={provider}")).await;
    let paid = Fen(statements.as_array().unwrap().iter().map(|s| fen(&s["settled"]).0).sum());
    let (_, e) = ts.as_role("regulator").get(&path).await;
    assert_eq!((fen(&e["settled"]), fen(&e["unsettled"]), fen(&e["earned"])), (paid, Fen::ZERO, total), "{e}");
    assert_eq!(receivable(ts, &provider).await.1, paid, "the ledger paid out exactly what the statements say");

    // The CLI, through the typed client, shows the same figures.
    let (ok, out, err) = cli(ts, "operator", &["--output", "json", "providers", "earnings", &provider, "--from", &beijing_day(-1)]).await;
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((fen(&v["earned"]), fen(&v["settled"])), (total, paid), "{v}");

    // The provider's page draws the trend stacked by source and the tables, in both languages.
    let web = Web::sign_in(&ts.url, prov.token().unwrap()).await.unwrap();
    let page = web.page("/my-centres").await;
    assert!(page.contains(r#"aria-labelledby="t-earnings""#) && page.contains("按来源"), "{page}");
    for name in ["算力作业", "模型调用", "数据交付"] {
        assert!(page.contains(name), "no {name} on the page");
    }
    assert!(page.contains(&format!(r#"<tr data-centre="{centre}">"#)) && page.contains(r#"<tr data-source="model_calls">"#));
    let page = web.page("/my-centres?lang=en").await;
    assert!(page.contains("Earnings per day (yuan), by source, ") && page.contains("Data deliveries"), "{page}");
}

#[tokio::test]
async fn earnings_are_for_the_provider_itself_the_operator_and_the_regulator() {
    let ts = TestServer::start().await;
    let (_, me) = ts.as_role("provider").get("/api/v1/me").await;
    let own = me["provider_id"].as_str().unwrap().to_string();
    let (_, providers) = ts.as_role("operator").get("/api/v1/providers").await;
    let list = providers.as_array().cloned().or_else(|| providers["items"].as_array().cloned()).unwrap();
    let other = list.iter().map(|p| p["id"].as_str().unwrap().to_string()).find(|p| *p != own).unwrap();
    let path = |p: &str| format!("/api/v1/providers/{p}/earnings");
    for role in ["provider", "operator", "regulator"] {
        let (s, e) = ts.as_role(role).get(&path(&own)).await;
        assert_eq!(s, StatusCode::OK, "{role}: {e}");
        assert_eq!((e["period"].as_str(), e["periods"].as_array().unwrap().len()), (Some("day"), 30), "the last 30 days: {e}");
    }
    for (role, p) in [("provider", &other), ("tenant", &own)] {
        let (s, e) = ts.as_role(role).get(&path(p)).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{role}: {e}");
    }
    let (s, e) = ts.as_role("operator").get(&path("prv_0000000000000000000000")).await;
    assert!(s == StatusCode::NOT_FOUND || s == StatusCode::BAD_REQUEST, "{e}");
    let (s, e) = ts.as_role("operator").get(&format!("{}?from=2026-13-01", path(&own))).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")), "{e}");
    let (s, e) = ts.as_role("operator").get(&format!("{}?from=2026-11-02&to=2026-11-01", path(&own))).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_period")), "{e}");
    let (s, e) = ts.as_role("operator").get(&format!("{}?from=2000-01-01&to=2026-11-01", path(&own))).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_period")), "more than ten years: {e}");
    let (s, e) = ts.as_role("operator").get(&format!("{}?from=2026-09-01&to=2026-12-01", path(&own))).await;
    assert_eq!((s, e["period"].as_str(), e["periods"].as_array().map(Vec::len)), (StatusCode::OK, Some("month"), Some(3)), "{e}");
}

/// A billing sweep's bills are written many to a statement: a second bill of a job, in the
/// same group as another or after its first was stored, is ignored, and its provider's daily
/// earnings count the job once.
async fn second_bills_flow(ts: &TestServer) {
    use suanli_core::id::{BillId, JobId};
    use suanli_store::{Effect, LedgerRequest};
    let (provider, _, bill) = billed_job(ts).await;
    let job = JobId::parse(bill["job_id"].as_str().unwrap()).unwrap();
    let first = ts.state.store.bill_for_job(&job).await.unwrap().unwrap();
    let again = |n: u64| suanli_ledger::records::Bill {
        id: BillId::generate(first.created_ms + 1, n),
        charge: Fen(first.charge.0 + 100),
        cash: Fen(first.cash.0 + 100),
        ..first.clone()
    };
    let effects = vec![Effect::InsertBill(again(1)), Effect::InsertBill(again(2))];
    ts.state.ledger.submit_all(LedgerRequest { effects, ..Default::default() }).await.unwrap();
    assert_eq!(ts.state.store.bill_for_job(&job).await.unwrap().unwrap(), first, "the first bill stays the job's only bill");
    let filter = suanli_store::BillFilter { provider_id: first.provider_id.clone(), limit: 100_000, ..Default::default() };
    assert_eq!(ts.state.store.bills(&filter).await.unwrap().iter().filter(|b| b.job_id == job).count(), 1);
    job_earnings_are_the_bills(ts, &provider, first.created_ms).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_bill_of_a_job_is_ignored_and_earns_nothing() {
    second_bills_flow(&TestServer::start().await).await;
    let (ts, schema) = TestServer::start_pg().await;
    second_bills_flow(&ts).await;
    drop(ts);
    suanli_store::Store::drop_schema(&crate::harness::pg_url(), &schema).await.unwrap();
}
