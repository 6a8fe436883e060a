//! A centre's partner-status history: admitted, suspended and readmitted through the partner service, listed with who made each change, read back by the API for every role, and what the trends' open compute counts month by month.

use crate::harness::{TestServer, Web};
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use suanli_app::Caller;
use suanli_app::figures::Registry;
use suanli_app::trends::{Amount, compute_trends, months};
use suanli_core::catalogue::Catalogue;
use suanli_core::centre::{Centre, CentreKind, PartnerStatus, Pool, Provider};
use suanli_core::city::Policy;
use suanli_core::id::{CentreId, PoolId, ProviderId, TenantId, UserId};
use suanli_core::money::Fen;
use suanli_core::region::Regions;
use suanli_core::time::{MS_PER_DAY, ManualClock, days_from_civil};
use suanli_store::{Store, StoreOptions};

/// Noon in Beijing on a day of 2026.
fn noon(month: i64, day: i64) -> i64 {
    days_from_civil(2026, month, day) * MS_PER_DAY + 4 * 3_600_000
}

#[tokio::test]
async fn a_centre_counts_as_open_compute_only_while_it_was_a_partner() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}/s.db?mode=rwc", dir.path().display()), StoreOptions::default()).await.unwrap();
    let clock = Arc::new(ManualClock::new(noon(1, 10)));
    let partners = suanli_app::Partners::new(store.clone(), suanli_dispatch::ids::Ids::seeded(clock.clone(), 3));
    let provider = Provider { id: ProviderId::generate(1, 1), name: "历史云".into(), name_en: String::new(), registration: None };
    let centre = Centre {
        id: CentreId::generate(2, 2),
        provider_id: provider.id.clone(),
        name: "历史智算中心".into(),
        name_en: "History AI".into(),
        kind: CentreKind::IntelligentComputing,
        region: "hz-binjiang".into(),
        partner_status: PartnerStatus::Applicant,
        commissioned_ms: noon(1, 1),
        declared_pue: 1.2,
        racks: 100,
        rtt_ms: BTreeMap::new(),
        created_ms: noon(1, 10),
    };
    let pool = Pool {
        id: PoolId::generate(3, 3),
        centre_id: centre.id.clone(),
        accelerator: "h800".into(),
        nodes: 4,
        accelerators_per_node: 8,
        price_per_hour: Fen(2000),
        partner_discount_pct: 0,
        created_ms: noon(1, 10),
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_provider(&provider, 1).await.unwrap();
    tx.insert_centre(&centre, "operator:usr_registrar").await.unwrap();
    tx.insert_pool(&pool).await.unwrap();
    tx.commit().await.unwrap();

    // Admitted mid-March, suspended in May, readmitted in July, each by an operator.
    let (ops, tenant) = ([UserId::generate(4, 1), UserId::generate(4, 2)], TenantId::generate(5, 5));
    let steps = [
        (noon(3, 15), &ops[0], PartnerStatus::Partner, "通过准入评审"),
        (noon(5, 10), &ops[1], PartnerStatus::Suspended, "PUE 超标"),
        (noon(7, 20), &ops[0], PartnerStatus::Partner, "整改完成"),
    ];
    for (at, op, status, why) in steps {
        clock.set(at);
        partners.set_status(&Caller::Operator { user: op.clone() }, &centre.id, status, Some(why.into())).await.unwrap();
    }

    // Any role reads the history, newest first, with who made each change and why.
    let reader = Caller::Tenant { user: UserId::generate(6, 6), tenant };
    let history = partners.history(&reader, &centre.id).await.unwrap();
    let got: Vec<_> = history.iter().map(|c| (c.at_ms, c.from, c.to, c.by.as_str(), c.reason.as_deref())).collect();
    let (by0, by1) = (format!("operator:{}", ops[0]), format!("operator:{}", ops[1]));
    assert_eq!(
        got,
        [
            (noon(7, 20), Some(PartnerStatus::Suspended), PartnerStatus::Partner, by0.as_str(), Some("整改完成")),
            (noon(5, 10), Some(PartnerStatus::Partner), PartnerStatus::Suspended, by1.as_str(), Some("PUE 超标")),
            (noon(3, 15), Some(PartnerStatus::Applicant), PartnerStatus::Partner, by0.as_str(), Some("通过准入评审")),
            (noon(1, 10), None, PartnerStatus::Applicant, "operator:usr_registrar", None),
        ]
    );
    let unknown = partners.history(&reader, &CentreId::generate(9, 9)).await.unwrap_err();
    assert!(format!("{unknown:?}").contains("CentreNotFound"), "{unknown:?}");

    // Open compute month by month, from the history (not from the status it has now).
    let registry = Registry { centres: store.centres(None).await.unwrap(), pools: store.pools().await.unwrap() };
    let all = store.partner_history(None).await.unwrap();
    let span = months(noon(8, 15), 8);
    let [open, _] = compute_trends(&registry, &all, &Catalogue::builtin(), &Regions::builtin(), &Policy::default(), &span);
    let by_month: Vec<(&str, f64)> =
        span.iter().zip(&open.values).map(|(m, v)| (m.month.as_str(), v.map_or(f64::NAN, Amount::as_f64))).collect();
    let pflops = 32.0 * 989.0 / 1000.0;
    assert_eq!(
        by_month,
        [
            ("2026-01", 0.0),
            ("2026-02", 0.0),
            ("2026-03", pflops),
            ("2026-04", pflops),
            ("2026-05", 0.0),
            ("2026-06", 0.0),
            ("2026-07", pflops),
            ("2026-08", pflops),
        ]
    );
}

#[tokio::test]
async fn the_api_lists_a_centres_partner_changes_to_every_role() {
    let s = TestServer::start().await;
    let op = s.as_role("operator");
    let (_, me) = s.as_role("provider").get("/api/v1/me").await;
    let body =
        json!({"name": "新中心", "kind": "edge", "region": "hz-xihu", "commissioned": "2026-03-01", "declared_pue": 1.3, "racks": 4});
    let (st, c) = s.as_role("provider").post("/api/v1/centres", &body).await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    let id = c["id"].as_str().unwrap();
    for (status, reason) in [("partner", "passed admission"), ("suspended", "")] {
        let (st, v) = op.post(&format!("/api/v1/centres/{id}/partner-status"), &json!({"status": status, "reason": reason})).await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }
    let (_, op_me) = op.get("/api/v1/me").await;
    for role in ["operator", "regulator", "provider", "tenant"] {
        let (st, v) = s.as_role(role).get(&format!("/api/v1/centres/{id}/partner-history")).await;
        assert_eq!(st, StatusCode::OK, "{role}: {v}");
        let rows: Vec<_> =
            v.as_array().unwrap().iter().map(|c| (c["from"].clone(), c["to"].clone(), c["by"].clone(), c["reason"].clone())).collect();
        assert_eq!(
            rows,
            [
                (json!("partner"), json!("suspended"), json!(format!("operator:{}", op_me["user_id"].as_str().unwrap())), json!(null)),
                (
                    json!("applicant"),
                    json!("partner"),
                    json!(format!("operator:{}", op_me["user_id"].as_str().unwrap())),
                    json!("passed admission")
                ),
                (json!(null), json!("applicant"), json!(format!("provider:{}", me["user_id"].as_str().unwrap())), json!(null)),
            ],
            "{role}"
        );
    }
    // The CLI through the typed client: the same changes as JSON, and a table for people.
    let listed: serde_json::Value = serde_json::from_str(&cli(&s, &["--output", "json", "centres", "partner-history", id]).await).unwrap();
    let (_, api) = s.as_role("tenant").get(&format!("/api/v1/centres/{id}/partner-history")).await;
    assert_eq!(listed, api);
    let table = cli(&s, &["centres", "partner-history", id]).await;
    assert!(table.contains("passed admission") && table.contains("suspended") && table.contains("at (UTC)"), "{table}");

    // The centre's page shows the same changes to a tenant, in each language, times in UTC+8.
    let web = Web::sign_in(&s.url, &s.tokens["tenant"]).await.unwrap();
    let history_table = |page: &str| {
        let start = page.find(r#"<table id="partner-history""#).unwrap_or_else(|| panic!("no history table: {page}"));
        page[start..start + page[start..].find("</table>").unwrap()].to_string()
    };
    let zh = history_table(&web.page(&format!("/centres/{id}?lang=zh")).await);
    assert_eq!(zh.matches("<tr data-to=").count(), 3, "{zh}");
    assert!(zh.contains("暂停") && zh.contains("（登记）") && zh.contains("passed admission") && zh.contains("(UTC+8)"), "{zh}");
    // The user's id is marked as written (not a word of the page), beside the role's label.
    let who = |role: &str| format!(r#"{role} <span class="user-text">usr_"#);
    assert!(zh.contains(&who("运营方")) && zh.contains(&who("算力服务商")), "who, by the role's label: {zh}");
    assert!(!zh.contains("<td>suspended</td>") && !zh.contains("(registered)") && !zh.contains("operator"), "{zh}");
    let en = history_table(&web.page(&format!("/centres/{id}?lang=en")).await);
    assert!(en.contains("(registered)") && en.contains("title=\"Sort by By\">By</a>") && en.contains("<td>suspended</td>"), "{en}");
}

/// The CLI run as a tenant against the test server: its standard output, after it succeeded.
async fn cli(s: &TestServer, args: &[&str]) -> String {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_suanli"))
        .args(["--server", &s.url, "--token", &s.tokens["tenant"]])
        .args(args)
        .output()
        .await
        .expect("the CLI runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}
