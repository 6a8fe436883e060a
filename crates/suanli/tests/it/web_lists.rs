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
    let s = TestServer::start().await;
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
    for q in ["needle-oldest", "NEEDLE", &old_id] {
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
    let cells: Vec<&str> = row.split("<td>").skip(1).map(|c| c.split("</td>").next().unwrap()).collect();
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
