//! The web's long tables through the real router: the jobs table covers every job the caller may see (an old job beyond the newest fifty is found by search, filtered by state and centre, exported), its money column is what the tenant is billed (¥0.00 for a job its centre failed), the bills table likewise, and the audit trail is the operator's and the regulator's, filtered by action, actor, subject and time range.

use crate::harness::{TestServer, Web, wait_for_final};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

/// The total a served table says it has (`<table id="{id}" data-rows="N">`).
fn rows(page: &str, id: &str) -> usize {
    let key = format!(r#"<table id="{id}" data-rows=""#);
    let at = page.find(&key).unwrap_or_else(|| panic!("no table {id} in {page}")) + key.len();
    page[at..].split('"').next().unwrap().parse().unwrap()
}

async fn wait_for_bill(api: &crate::harness::Api, job: &str) -> Value {
    for _ in 0..400 {
        let (st, b) = api.get(&format!("/api/v1/jobs/{job}/bill")).await;
        if st == StatusCode::OK {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{job} was never billed");
}

#[tokio::test]
async fn an_old_job_beyond_the_newest_fifty_is_found_by_search_filtered_by_state_and_centre_and_exported() {
    old_job_flow(&TestServer::start().await).await;
}

#[tokio::test]
async fn the_jobs_table_searches_filters_sorts_and_pages_in_sql_on_postgresql_too() {
    let (s, schema) = TestServer::start_pg().await;
    old_job_flow(&s).await;
    let web = Web::sign_in(&s.url, &s.tokens["tenant"]).await.unwrap();
    for sort in 0..6 {
        let page = web.page(&format!("/jobs?jobs.sort={sort}&jobs.dir=desc&jobs.page=2")).await;
        assert_eq!(page.matches(r#"<tr><td><a class="id" href="/jobs/"#).count(), 25, "sorted by column {sort}");
    }
    assert!(rows(&web.page("/vouchers?bills.sort=2").await, "bills") > 0);
    drop(s);
    suanli_store::Store::drop_schema(&crate::harness::pg_url(), &schema).await.unwrap();
}

async fn old_job_flow(s: &TestServer) {
    let tenant = s.as_role("tenant");
    let (st, old) =
        tenant.post("/api/v1/jobs", &json!({"name": "needle-oldest", "kind": "batch", "accelerators": 1, "duration_s": 600})).await;
    assert_eq!(st, StatusCode::CREATED, "{old}");
    let old_id = old["id"].as_str().unwrap().to_string();
    let hay: Vec<Value> =
        (0..60).map(|i| json!({"name": format!("hay-{i}"), "kind": "batch", "accelerators": 1, "duration_s": 600})).collect();
    let (st, v) = tenant.post("/api/v1/jobs:batch", &json!({"jobs": hay})).await;
    assert!(st.is_success(), "{v}");
    let done = wait_for_final(&tenant, &old_id, Duration::from_secs(20)).await;
    assert_eq!(done["state"], "succeeded", "{done}");

    let web = Web::sign_in(&s.url, &s.tokens["tenant"]).await.unwrap();
    let first = web.page("/jobs").await;
    assert!(rows(&first, "jobs") >= 61, "every job counts, not the newest 50");
    assert!(!first.contains(&old_id), "the first page holds the newest jobs");
    for q in ["needle-oldest", "NEEDLE", &old_id, &old_id[..old_id.len() - 3]] {
        let found = web.page(&format!("/jobs?jobs.q={q}")).await;
        assert_eq!(rows(&found, "jobs"), 1, "{q}");
        assert!(found.contains(&format!(r#"href="/jobs/{old_id}""#)), "{q}: {found}");
    }
    // Oldest first, it is on the first page.
    assert!(web.page("/jobs?jobs.sort=0&jobs.dir=asc").await.contains(&old_id));
    // Filtered by its state and its centre (the values are codes; the choices show labels).
    let page = web.page("/jobs?jobs.q=needle&jobs.c2=succeeded").await;
    assert_eq!(rows(&page, "jobs"), 1);
    assert!(page.contains(r#"<option value="succeeded" selected>"#), "{page}");
    let page = web.page("/jobs?jobs.q=needle&jobs.c2=failed").await;
    assert_eq!(rows(&page, "jobs"), 0);
    assert!(page.contains("没有符合筛选条件的记录"), "{page}");
    let centre = done["centre_id"].as_str().unwrap();
    assert_eq!(rows(&web.page(&format!("/jobs?jobs.q=needle&jobs.c3={centre}")).await, "jobs"), 1);
    // Or by part of the centre's name in either language, as typed where a city's centres are too
    // many for a list.
    let (_, c) = tenant.get(&format!("/api/v1/centres/{centre}")).await;
    for name in [&c["name"], &c["name_en"]] {
        let part: String = name.as_str().unwrap().chars().skip(1).take(3).collect();
        let u = reqwest::Url::parse_with_params("http://x/jobs?jobs.q=needle", [("jobs.c3", part.as_str())]).unwrap();
        assert_eq!(rows(&web.page(&format!("/jobs?{}", u.query().unwrap())).await, "jobs"), 1, "{part}");
    }
    assert_eq!(rows(&web.page("/jobs?jobs.q=needle&jobs.c3=no%20such%20centre").await, "jobs"), 0);
    // The CSV spans every page of the filtered set.
    let csv = web.page("/jobs?jobs.q=hay-&format=csv&table=jobs").await;
    assert_eq!(csv.lines().count(), 61, "a header and the 60 hay jobs: {csv}");
    assert!(csv.starts_with("\u{feff}作业,名称,状态,算力中心,账单金额（应付）,算力券支付"), "{csv}");
    // Another tenant's jobs stay out: the provider sees only jobs on its centres.
    let provider = Web::sign_in(&s.url, &s.tokens["provider"]).await.unwrap();
    let (_, mine) = s.as_role("provider").get("/api/v1/jobs?limit=1000").await;
    assert_eq!(rows(&provider.page("/jobs").await, "jobs"), mine["items"].as_array().unwrap().len());
}

#[tokio::test]
async fn a_job_its_centre_failed_shows_its_bill_of_nothing_not_its_metered_cost_in_the_jobs_and_bills_tables() {
    let s = TestServer::start_with(|c| suanli_server::ServeConfig { sim_failure_rate: 1.0, ..c }).await;
    let tenant = s.as_role("tenant");
    let (st, job) = tenant.post("/api/v1/jobs", &json!({"name": "doomed", "kind": "batch", "accelerators": 8, "duration_s": 7200})).await;
    assert_eq!(st, StatusCode::CREATED, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let done = wait_for_final(&tenant, &id, Duration::from_secs(20)).await;
    assert_eq!((done["state"].as_str(), done["fault"].as_str()), (Some("failed"), Some("centre")), "{done}");
    let bill = wait_for_bill(&tenant, &id).await;
    assert_eq!((bill["charge"].as_str(), bill["rule"].as_str()), (Some("0.00"), Some("centre_fault")), "{bill}");

    let web = Web::sign_in(&s.url, &s.tokens["tenant"]).await.unwrap();
    let page = web.page(&format!("/jobs?jobs.q={id}")).await;
    let row = page.split(&format!(r#"<tr><td><a class="id" href="/jobs/{id}">"#)).nth(1).unwrap().split("</tr>").next().unwrap();
    let cells: Vec<&str> = row.split("<td").skip(1).map(|c| c.split_once('>').unwrap().1.split("</td>").next().unwrap()).collect();
    assert_eq!(cells[3..], ["¥0.00", "¥0.00"], "billed ¥0.00, vouchers ¥0.00: {row}");
    assert!(page.contains(">账单金额（应付）<"), "the column says it is the bill");
    let en = web.page(&format!("/jobs?lang=en&jobs.q={id}")).await;
    assert!(en.contains(">Billed amount<") && en.contains("¥0.00"), "{en}");

    let bills = web.page(&format!("/vouchers?bills.q={id}")).await;
    assert_eq!(rows(&bills, "bills"), 1);
    assert!(bills.contains("中心故障，不计费") && bills.contains("¥0.00"), "{bills}");
    assert_eq!(rows(&web.page("/vouchers?bills.c5=centre_fault").await, "bills"), 1);
    assert_eq!(rows(&web.page("/vouchers?bills.c5=completed").await, "bills"), 0);
}

#[tokio::test]
async fn the_audit_trail_is_the_operators_and_the_regulators_filtered_by_action_actor_subject_and_range() {
    let s = TestServer::start().await;
    let tenant = s.as_role("tenant");
    let (st, job) = tenant.post("/api/v1/jobs", &json!({"name": "audited", "kind": "batch", "accelerators": 1, "duration_s": 600})).await;
    assert_eq!(st, StatusCode::CREATED, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    wait_for_final(&tenant, &id, Duration::from_secs(20)).await;

    for role in ["tenant", "provider"] {
        let web = Web::sign_in(&s.url, &s.tokens[role]).await.unwrap();
        let r = web.get("/audit").await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{role}");
        let page = r.text().await.unwrap();
        assert!(page.contains("审计记录仅供平台运营方和监管部门查看") && !page.contains(r#"id="audit""#), "{role}: {page}");
        assert!(!web.page("/jobs").await.contains(r#"href="/audit""#), "{role}: no link in the navigation");
    }
    for role in ["operator", "regulator"] {
        let web = Web::sign_in(&s.url, &s.tokens[role]).await.unwrap();
        let page = web.page("/audit").await;
        assert!(page.contains(r#"<a href="/audit" aria-current="page">审计</a>"#), "{role}: {page}");
        assert!(rows(&page, "audit") > 0);
        let mine = web.page(&format!("/audit?subject={id}")).await;
        let n = rows(&mine, "audit");
        let (_, api) = s.as_role(role).get(&format!("/api/v1/audit?subject={id}")).await;
        assert_eq!(n, api["items"].as_array().unwrap().len(), "the page and the API agree: {api}");
        assert!(mine.contains("提交作业") && mine.contains("(UTC+8)"), "labels and Beijing time: {mine}");
        let submitted = web.page(&format!("/audit?subject={id}&audit.c2=job.submit")).await;
        assert_eq!(rows(&submitted, "audit"), 1, "{submitted}");
        assert!(submitted.contains(r#"<tr data-action="job.submit">"#));
        let en = web.page(&format!("/audit?lang=en&subject={id}&audit.c2=job.submit")).await;
        assert!(en.contains("job submitted") && en.contains("tenant usr_"), "{en}");
        assert_eq!(rows(&web.page(&format!("/audit?subject={id}&actor=tenant")).await, "audit"), 1, "the tenant acted once: it submitted");
        assert_eq!(rows(&web.page(&format!("/audit?subject={id}&range=custom&from=2001-01-01&to=2001-01-02")).await, "audit"), 0);
        assert_eq!(rows(&web.page(&format!("/audit?subject={id}&range=24h")).await, "audit"), n);
        let csv = web.page(&format!("/audit?subject={id}&format=csv&table=audit")).await;
        assert_eq!(csv.lines().count(), n + 1, "{csv}");
        assert!(csv.starts_with("\u{feff}时间,操作人,操作,对象,详情"), "{csv}");
    }
}

/// The rows of a chart's or table's CSV, its header left out.
fn csv_rows(csv: &str) -> usize {
    assert!(csv.starts_with('\u{feff}'), "a CSV: {csv}");
    csv.lines().count() - 1
}

#[tokio::test]
async fn the_month_picker_sets_the_months_of_the_trends_and_their_csv_and_the_api_takes_the_same_span() {
    let s = TestServer::start().await;
    let web = Web::sign_in(&s.url, &s.tokens["regulator"]).await.unwrap();
    let csv = |q: &'static str| {
        let web = &web;
        async move { csv_rows(&web.page(&format!("/?{q}format=csv&table=trend-voucher-spending-data")).await) }
    };
    let page = web.page("/").await;
    assert!(page.contains(r#"<nav class="range" id="months""#) && page.contains(r#"data-range="12m" aria-current="true""#), "{page}");
    assert_eq!(csv("").await, 12);
    assert_eq!(csv("months=24m&").await, 24);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let this_month = suanli_core::time::format_date(now + suanli_core::time::CST_OFFSET_MS)[..7].to_string();
    let month_no: usize = this_month[5..].parse().unwrap();
    assert_eq!(csv("months=ytd&").await, month_no, "January to this month");
    let custom =
        format!("/?months=custom&months_from={}-01&months_to={this_month}&format=csv&table=trend-voucher-spending-data", &this_month[..4]);
    assert_eq!(csv_rows(&web.page(&custom).await), month_no);
    // A refused span is answered beside the form with the input kept; the page shows 12 months.
    let page = web.page("/?months=custom&months_from=2026-05&months_to=2020-01&lang=en").await;
    assert!(page.contains(r#"id="months-error" data-code="invalid_date""#) && page.contains(r#"value="2026-05""#), "{page}");
    // The API takes the same span.
    let api = s.as_role("regulator");
    let (st, t) = api.get("/api/v1/city/trends?span=24m").await;
    assert_eq!((st, t["months"].as_array().map(Vec::len)), (StatusCode::OK, Some(24)), "{t}");
    let (st, t) = api.get("/api/v1/city/trends").await;
    assert_eq!((st, t["months"].as_array().map(Vec::len)), (StatusCode::OK, Some(12)));
    let (st, e) = api.get("/api/v1/city/trends?span=custom&from=2020-01&to=2019-01").await;
    assert_eq!((st, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_date")), "{e}");
}

#[tokio::test]
async fn the_range_picker_sets_the_window_of_a_providers_earnings_and_their_csv() {
    let s = TestServer::start().await;
    let (provider, _, _) = crate::earnings::billed_job(&s).await;
    let token = crate::earnings::provider_user(&s, &provider).await;
    let web = Web::sign_in(&s.url, &token).await.unwrap();
    let page = web.page("/my-centres").await;
    assert!(page.contains(r#"<nav class="range" id="range""#) && page.contains(r#"data-range="all" aria-current="true""#), "{page}");
    let rows = |q: &'static str| {
        let web = &web;
        async move { csv_rows(&web.page(&format!("/my-centres?{q}format=csv&table=earnings-by-period")).await) }
    };
    assert_eq!(rows("").await, 30, "the last 30 days by default (the provider earned today)");
    assert_eq!(rows("range=7d&").await, 7);
    assert_eq!(rows("range=24h&").await, 1);
    assert_eq!(rows("range=1y&").await, 13, "a year by calendar month");
    let en = web.page("/my-centres?range=7d&lang=en").await;
    assert!(en.contains("Earnings per day (yuan), by source, ") && en.contains(r#"data-range="7d" aria-current="true""#), "{en}");
}

/// With no filter, the jobs in bill order are read from the bills' index (migration 25), not by
/// joining every job to its bill: the pages are the same as the join's (which a filter matching
/// every job still takes), in both directions, across the end of the billed jobs and among ties.
#[tokio::test]
async fn every_job_in_bill_order_pages_as_joining_every_job_would() {
    bill_order_flow(&TestServer::start().await).await;
}

#[tokio::test]
async fn every_job_in_bill_order_pages_as_joining_every_job_would_on_postgresql_too() {
    let (s, schema) = TestServer::start_pg().await;
    bill_order_flow(&s).await;
    drop(s);
    suanli_store::Store::drop_schema(&crate::harness::pg_url(), &schema).await.unwrap();
}

/// The demo city has no job of its own, so the jobs here are every job.
async fn bill_order_flow(s: &TestServer) {
    use suanli_core::id::JobId;
    use suanli_core::job::{Job, JobKind, JobSpec, JobState};
    use suanli_core::money::Fen;
    use suanli_store::listing::{Cut, JobListing, JobOrder};
    let store = &s.state.store;
    let tenant = store.tenants().await.unwrap()[0].id.clone();
    let pools = store.pools().await.unwrap();
    let now = s.state.ids.now_ms();
    let mut tx = store.begin().await.unwrap();
    for i in 0..40usize {
        let (t, e) = s.state.ids.parts();
        let mut spec = JobSpec::new(&format!("order-{i}"), JobKind::Training, 1 << (i % 3), 3600);
        spec.min_fp16_tflops = None;
        let mut j = Job::pending(JobId::generate(t, e), tenant.clone(), spec, now - 7_200_000 + i as i64);
        if i % 4 == 3 {
            // Never placed, never billed: no pool has this accelerator.
            j.spec.models = vec!["no-such-accelerator".into()];
        } else {
            let p = &pools[i % pools.len()];
            j.state = JobState::Succeeded;
            (j.pool_id, j.centre_id, j.placed_ms, j.started_ms) =
                (Some(p.id.clone()), Some(p.centre_id.clone()), Some(j.submitted_ms), Some(j.submitted_ms));
            j.finished_ms = Some(j.submitted_ms + 3_600_000);
            j.usage_s = Some(3600);
            j.cost = Some(Fen(1000 * j.spec.accelerators as i64));
        }
        tx.insert_job(&j).await.unwrap();
    }
    tx.commit().await.unwrap();
    let billing = s.state.engine.billing().unwrap();
    while billing.sweep(now).await.unwrap() > 0 {}
    let ids = |order: JobOrder, desc: bool, offset: u32, every: bool| {
        let filter = suanli_store::JobFilter { states: if every { JobState::ALL.to_vec() } else { Vec::new() }, ..Default::default() };
        let l = JobListing { filter, order, cut: Cut { offset, limit: 7, desc }, ..Default::default() };
        async move {
            let got = store.job_listing(&l).await.unwrap();
            (got.total, got.rows.into_iter().map(|r| (r.job.id.to_string(), r.bill.map(|b| (b.charge, b.voucher)))).collect::<Vec<_>>())
        }
    };
    let total = ids(JobOrder::Id, true, 0, false).await.0;
    assert!(total >= 40);
    let (mut unbilled_seen, mut billed_seen) = (false, false);
    for order in [JobOrder::Charge, JobOrder::Voucher] {
        for desc in [true, false] {
            for offset in (0..total as u32 + 7).step_by(5) {
                let (fast, slow) = (ids(order, desc, offset, false).await, ids(order, desc, offset, true).await);
                assert_eq!(fast, slow, "{order:?} desc={desc} from {offset}");
                unbilled_seen |= fast.1.iter().any(|(_, b)| b.is_none());
                billed_seen |= fast.1.iter().any(|(_, b)| b.is_some());
            }
        }
    }
    assert!(unbilled_seen && billed_seen, "the pages hold billed jobs and reach the jobs with no bill");
}
