//! Incentives that rest on what the platform recorded: a top-five data supplier awarded on last year's deliveries, providers applying on what the ledger paid them, the partner service figures from SQL equal to those from every job (SQLite and PostgreSQL), centres' declared certifications and green power in the partner scores, and providers' registrations.

// Amounts in fen are written yuan_fen: 10_000_000_00 is ¥10,000,000.00.
#![allow(clippy::inconsistent_digit_grouping)]

use super::incentives::*;

use crate::harness::TestServer;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use suanli_app::Caller;
use suanli_app::incentives::ApplyRequest;
use suanli_core::centre::{Centre, CentreKind, PartnerStatus, Provider, Registration};
use suanli_core::error::ErrorCode;
use suanli_core::id::{CentreId, JobId, ProviderId, TenantId, UserId};
use suanli_core::job::{Fault, Job, JobKind, JobSpec, JobState};
use suanli_core::money::Fen;
use suanli_core::tenant::Tenant;
use suanli_core::time::Clock;
use suanli_incentives::{Applicant, Facts, Stage};
use suanli_store::Store;

/// A data-service supplier whose deliveries last year, paid through the ledger, put it in the
/// year's top five applies for the top-five award and is paid through review, publicity and
/// decision; the same claim on the year before, when it sold nothing, is refused.
async fn data_supplier_award(w: World) {
    use suanli_data::catalogue::{DataSetSpec, RequestSpec, SupplierStatus, UpdateFrequency};
    use suanli_ledger::{ReasonCode as R, Transfer, TransferId, chart};
    let now = w.clock.now_ms();
    let (year, last) = (suanli_incentives::programme::year_of(now), suanli_incentives::programme::year_of(now) - 1);
    let data = suanli_app::DataSharing::open(w.store.clone(), w.ledger.clone(), suanli_dispatch::ids::Ids::seeded(w.clock.clone(), 11))
        .await
        .unwrap();
    let registration = Registration { uscc: uscc("330106", "MA2D1XY7K"), region: "hz-xihu".into(), sme: true };
    let supplier = Provider {
        id: ProviderId::generate(3, 1),
        name: "西湖数据服务商".into(),
        name_en: String::new(),
        registration: Some(registration),
    };
    let mut tx = w.store.begin().await.unwrap();
    tx.insert_provider(&supplier, 1).await.unwrap();
    tx.commit().await.unwrap();
    let prov = Caller::Provider { user: UserId::generate(1, 11), provider: supplier.id.clone() };

    // Last year: the operator admits it, it lists an open data set, and a tenant buys it three times.
    w.clock.set(now - 365 * DAY);
    let t = w.clock.now_ms();
    let tenant = match &w.ent {
        Caller::Tenant { tenant, .. } => tenant.to_string(),
        _ => unreachable!(),
    };
    let (banks, cash) = (chart::enterprise_banks(), chart::cash(&tenant));
    let top_up = Transfer::single(TransferId::derive("top-up", "data-award"), banks.id, cash.id, Fen(100_000_00), R::CashTopUp, "t", t);
    let accounts = [&banks, &cash].iter().map(|a| suanli_store::StoredAccount::of(a, t)).collect();
    w.ledger
        .submit_all(suanli_store::LedgerRequest {
            accounts,
            transfers: vec![top_up],
            linked: true,
            ..suanli_store::LedgerRequest::default()
        })
        .await
        .unwrap();
    data.set_supplier(&w.op, &supplier.id, SupplierStatus::Admitted, vec!["tourism".into()], "年度数据供应商遴选".into()).await.unwrap();
    let spec = DataSetSpec {
        name: "westlake-counts".into(),
        title: "西湖景区客流".into(),
        title_en: Some("West Lake visitor counts".into()),
        description: "各景点每日入园人次".into(),
        domain: "tourism".into(),
        mode: suanli_data::OpeningMode::Unconditional,
        grade: suanli_data::Grade::General { level: 1 },
        licence: "公共数据授权运营协议".into(),
        update_frequency: UpdateFrequency::Monthly,
        price: Fen(2_000_00),
        quasi: Vec::new(),
    };
    let set = data.register(&prov, spec).await.unwrap();
    let csv = "日期,景点,入园人次\n2025-10-01,断桥,12000\n2025-10-02,雷峰塔,8000\n2025-10-03,苏堤,9500\n";
    data.upload(&prov, set.id.as_str(), csv.as_bytes().to_vec(), suanli_data::pipeline::Format::Csv, suanli_data::Encoding::Utf8)
        .await
        .unwrap();
    for purpose in ["景区客流预测研究", "公交线路优化分析", "节假日客流预警"] {
        let at = w.clock.now_ms();
        let spec =
            RequestSpec {
                purpose: purpose.into(), fields: vec!["日期".into(), "入园人次".into()], from_ms: at, to_ms: at + 30 * DAY
            };
        let (_, delivery) = data.request(&w.ent, "westlake-counts", spec).await.unwrap();
        assert!(delivery.is_some(), "open data is delivered and paid at once");
        w.clock.advance(DAY);
    }
    w.clock.set(now);
    let ranking = data.ranking(last).await.unwrap();
    let row = ranking.iter().find(|r| r.supplier_id == supplier.id).unwrap();
    assert_eq!((row.rank, row.deliveries, row.volume, row.top), (1, 3, Fen(6_000_00), true), "{ranking:?}");
    assert!(data.ranking(year).await.unwrap().iter().all(|r| r.supplier_id != supplier.id), "nothing this year so far");
    let volume = w.svc.provider_volume(&supplier.id, last).await.unwrap();
    assert!(volume.is_positive(), "the deliveries were paid to it through the ledger");

    // This year it applies on last year's rank: eligible, reviewed, ranked, publicised, paid.
    let top5 = |y: Option<i32>| ApplyRequest {
        programme: "hz55-data-supplier".into(),
        project: "西湖景区客流数据服务".into(),
        cost: Fen(1_000_000_00),
        requested: Fen(1_000_000_00),
        declared: Facts::default(),
        documents: vec![doc("service_report")],
        on_behalf_of: None,
        volume_year: y,
    };
    let (code, why) = refusal(w.svc.apply(&prov, top5(Some(last - 1))).await);
    assert!(code == ErrorCode::NotEligible && why.contains("top 5") && why.contains(&(last - 1).to_string()), "{why}");
    let a = w.svc.apply(&prov, top5(None)).await.unwrap();
    assert_eq!((a.facts.supplier_rank, a.facts.volume_year, a.facts.yearly_volume), (Some(1), Some(last), Some(volume)));
    assert!(a.notes[0].contains(&format!("data-service supplier rank 1 in {last}")), "{:?}", a.notes);
    reviewed(&w, &a.id, 82.0).await;
    let ranked = w.svc.rank(&w.op, "hz55-data-supplier").await.unwrap();
    assert_eq!((ranked[0].id.as_str(), ranked[0].stage), (a.id.as_str(), Stage::Publicity));
    w.clock.advance(9 * DAY);
    let a = w.svc.decide(&w.op, &a.id).await.unwrap();
    assert_eq!((a.stage, a.paid), (Stage::Awarded, Fen(1_000_000_00)), "{:?}", a.notes);
    assert_eq!(a.city_part.0 + a.district_part.0, a.paid.0);
    let (ledger, _) = w.store.ledger_load().await.unwrap();
    assert_eq!(ledger.account(chart::award_payout(supplier.id.as_str()).id).unwrap().credit_balance(), Fen(1_000_000_00));
    assert_eq!(ledger.account(chart::district_treasury("hz-xihu").id).unwrap().debit_balance(), a.district_part);
    ledger.verify().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_top_five_data_supplier_is_awarded_on_last_years_deliveries_sqlite() {
    data_supplier_award(world().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_top_five_data_supplier_is_awarded_on_last_years_deliveries_postgres() {
    on_postgres("incdata", |store| async move { data_supplier_award(world_on(store, tempfile::tempdir().unwrap()).await).await }).await;
}

/// Runs a test on a scratch PostgreSQL schema, dropped afterwards.
async fn on_postgres<F: std::future::Future<Output = ()>>(prefix: &str, test: impl FnOnce(Store) -> F) {
    let (url, schema) = (crate::harness::pg_url(), crate::harness::unique_schema(prefix));
    let store = crate::harness::pg_store(&schema).await;
    test(store.clone()).await;
    store.close().await;
    Store::drop_schema(&url, &schema).await.unwrap();
}

/// Providers registered in Hangzhou (Binjiang) and one the operator never registered.
struct Providers {
    big: ProviderId,
    small: ProviderId,
    unregistered: ProviderId,
}

async fn providers(w: &World) -> Providers {
    let mut tx = w.store.begin().await.unwrap();
    let mut ids = Vec::new();
    for (i, registered) in [true, true, false].into_iter().enumerate() {
        let p = Provider {
            id: ProviderId::generate(2, i as u64),
            name: format!("算力服务商{i}"),
            name_en: String::new(),
            registration: registered.then(|| Registration {
                uscc: uscc("330108", &format!("MA2P{i}XY7K")),
                region: "hz-binjiang".into(),
                sme: false,
            }),
        };
        tx.insert_provider(&p, 1).await.unwrap();
        ids.push(p.id);
    }
    tx.commit().await.unwrap();
    Providers { big: ids[0].clone(), small: ids[1].clone(), unregistered: ids[2].clone() }
}

/// The ledger pays the providers: the big one ¥21M of job charges less a ¥500,000 refund (a
/// ¥10M settlement pays it out and takes nothing from its volume); the small one ¥1M of model
/// calls and a ¥5M hold never posted.
async fn earnings(w: &World, p: &Providers) {
    use suanli_ledger::{ReasonCode as R, Transfer, TransferId, chart};
    let tenant = match &w.ent {
        Caller::Tenant { tenant, .. } => tenant.to_string(),
        _ => unreachable!(),
    };
    let now = w.clock.now_ms();
    let (banks, cash) = (chart::enterprise_banks(), chart::cash(&tenant));
    let (big, small) = (chart::receivable(p.big.as_str()), chart::receivable(p.small.as_str()));
    let payout = chart::payout(p.big.as_str());
    let one = |tag: &str, from: &suanli_ledger::chart::ChartAccount, to: &suanli_ledger::chart::ChartAccount, yuan: i64, r: R| {
        Transfer::single(TransferId::derive(tag, "volume-test"), from.id, to.id, Fen(yuan * 100), r, tag, now)
    };
    let transfers = vec![
        one("top-up", &banks, &cash, 40_000_000, R::CashTopUp),
        one("jobs", &cash, &big, 21_000_000, R::JobCharge),
        one("settle", &big, &payout, 10_000_000, R::Settlement),
        one("refund", &big, &cash, 500_000, R::Refund),
        one("calls", &cash, &small, 1_000_000, R::ModelCall),
        Transfer::pending(TransferId::derive("hold", "volume-test"), cash.id, small.id, Fen(5_000_000_00), R::JobCharge, "hold", now, None),
    ];
    let accounts = [&banks, &cash, &big, &small, &payout].iter().map(|a| suanli_store::StoredAccount::of(a, now)).collect();
    w.ledger
        .submit_all(suanli_store::LedgerRequest { accounts, transfers, linked: true, ..suanli_store::LedgerRequest::default() })
        .await
        .unwrap();
}

/// This year so far the ledger pays the small provider ¥30M of job charges.
async fn paid_this_year(w: &World, p: &Providers) {
    use suanli_ledger::{ReasonCode as R, Transfer, TransferId, chart};
    let tenant = match &w.ent {
        Caller::Tenant { tenant, .. } => tenant.to_string(),
        _ => unreachable!(),
    };
    let now = w.clock.now_ms();
    let (banks, cash, small) = (chart::enterprise_banks(), chart::cash(&tenant), chart::receivable(p.small.as_str()));
    let transfers = vec![
        Transfer::single(TransferId::derive("top-up-now", "volume-test"), banks.id, cash.id, Fen(30_000_000_00), R::CashTopUp, "t", now),
        Transfer::single(TransferId::derive("jobs-now", "volume-test"), cash.id, small.id, Fen(30_000_000_00), R::JobCharge, "j", now),
    ];
    let accounts = [&banks, &cash, &small].iter().map(|a| suanli_store::StoredAccount::of(a, now)).collect();
    w.ledger
        .submit_all(suanli_store::LedgerRequest { accounts, transfers, linked: true, ..suanli_store::LedgerRequest::default() })
        .await
        .unwrap();
}

fn service_platform(project: &str, on_behalf_of: Option<Applicant>) -> ApplyRequest {
    ApplyRequest {
        programme: "hz55-service-platform".into(),
        project: project.into(),
        cost: Fen(2_000_000_00),
        requested: Fen(2_000_000_00),
        declared: Facts::default(),
        documents: vec![doc("service_report")],
        on_behalf_of,
        volume_year: None,
    }
}

fn refusal(r: Result<suanli_incentives::Application, suanli_store::StoreError>) -> (ErrorCode, String) {
    match r {
        Err(suanli_store::StoreError::Domain(e)) => (e.code, e.message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A provider whose platform volume passes ¥20M applies for the service-platform award and is
/// paid through review, publicity and decision; one short of it, one never registered, a
/// tenant, and a provider outside the data-service top five are refused `not_eligible`, and
/// the refusals store nothing.
async fn provider_applications(w: World) {
    let p = providers(&w).await;
    // The awards count the last completed year's volume (年度): the ledger paid these last year.
    let now = w.clock.now_ms();
    let year = suanli_incentives::programme::year_of(now);
    w.clock.set(now - 365 * DAY);
    earnings(&w, &p).await;
    w.clock.set(now);
    paid_this_year(&w, &p).await;
    let user = UserId::generate(1, 10);
    let big = Caller::Provider { user: user.clone(), provider: p.big.clone() };
    let small = Caller::Provider { user: user.clone(), provider: p.small.clone() };
    let unregistered = Caller::Provider { user, provider: p.unregistered.clone() };
    let last = year - 1;
    assert_eq!(w.svc.provider_volume(&p.big, last).await.unwrap(), Fen(20_500_000_00), "charges less the refund; settlement not deducted");
    assert_eq!(w.svc.provider_volume(&p.small, last).await.unwrap(), Fen(1_000_000_00), "a hold never posted does not count");
    assert_eq!(w.svc.provider_volume(&p.big, last - 1).await.unwrap(), Fen::ZERO, "only the year's");
    assert_eq!(w.svc.provider_volume(&p.small, year).await.unwrap(), Fen(30_000_000_00), "this year so far");

    // The small provider passes ¥20M this year, but the year is not over: it is judged on last year's.
    let (code, why) = refusal(w.svc.apply(&small, service_platform("城市算力调度平台", None)).await);
    assert_eq!(code, ErrorCode::NotEligible);
    assert!(why.contains("1000000.00") || why.contains("1,000,000"), "the refusal says the measured volume: {why}");
    assert!(why.contains(&format!("in {last}")), "and the year it counts: {why}");
    let declared = |y: i32| ApplyRequest { volume_year: Some(y), ..service_platform("城市算力调度平台", None) };
    let (code, why) = refusal(w.svc.apply(&small, declared(year)).await);
    assert!(code == ErrorCode::InvalidVolumeYear && why.contains(&last.to_string()), "the year so far is never a 年度: {why}");
    assert_eq!(refusal(w.svc.apply(&small, declared(last - 2)).await).0, ErrorCode::InvalidVolumeYear);
    assert_eq!(refusal(w.svc.apply(&big, declared(last - 1)).await).0, ErrorCode::NotEligible, "the year before had nothing");
    assert_eq!(refusal(w.svc.apply(&unregistered, service_platform("平台", None)).await).0, ErrorCode::NotEligible);
    assert_eq!(
        refusal(w.svc.apply(&w.ent, service_platform("平台", None)).await).0,
        ErrorCode::NotEligible,
        "a tenant has no platform volume"
    );
    let top5 =
        ApplyRequest { programme: "hz55-data-supplier".into(), requested: Fen(1_000_000_00), ..service_platform("数据服务", None) };
    let (code, why) = refusal(w.svc.apply(&big, top5).await);
    assert!(code == ErrorCode::NotEligible && why.contains("top 5"), "{why}");
    assert_eq!(refusal(w.svc.apply(&w.op, service_platform("平台", None)).await).0, ErrorCode::Forbidden, "the operator names whom for");
    let for_big = Some(Applicant::Provider(p.big.to_string()));
    assert_eq!(refusal(w.svc.apply(&w.ent, service_platform("平台", for_big.clone())).await).0, ErrorCode::Forbidden);
    assert!(w.svc.applications(&w.op).await.unwrap().is_empty(), "refusals store nothing");
    let (ledger, _) = w.store.ledger_load().await.unwrap();
    assert!(ledger.account(suanli_ledger::chart::award_payout(p.small.as_str()).id).is_none(), "and pay nothing");

    // The operator applies on the big provider's behalf; its facts come from the ledger.
    let a = w.svc.apply(&w.op, service_platform("城市算力调度平台", for_big)).await.unwrap();
    assert_eq!(
        (&a.applicant, a.applicant_name.as_str(), a.district.as_str()),
        (&Applicant::Provider(p.big.to_string()), "算力服务商0", "hz-binjiang")
    );
    assert_eq!((a.facts.yearly_volume, a.facts.supplier_rank, a.facts.volume_year), (Some(Fen(20_500_000_00)), None, Some(last)));
    assert!(
        a.notes[0].contains("from the platform's ledger") && a.notes[0].contains(&format!("for {last}, the completed year")),
        "{:?}",
        a.notes
    );
    assert_eq!(a.year, year, "the application's own year is this one");
    assert_eq!(
        refusal(w.svc.apply(&big, service_platform("城市算力调度平台", None)).await).0,
        ErrorCode::DuplicateApplication,
        "per subject"
    );
    // The provider sees its own application; the other provider does not while it is under review.
    assert_eq!(w.svc.applications(&big).await.unwrap().len(), 1);
    assert!(w.svc.applications(&small).await.unwrap().is_empty());
    assert_eq!(refusal(w.svc.application(&small, &a.id).await).0, ErrorCode::IncentiveApplicationNotFound);

    reviewed(&w, &a.id, 88.0).await;
    let ranked = w.svc.rank(&w.op, "hz55-service-platform").await.unwrap();
    assert_eq!(ranked[0].stage, Stage::Publicity);
    assert_eq!(w.svc.applications(&small).await.unwrap().len(), 1, "in publicity it is public");
    w.clock.advance(9 * DAY);
    let a = w.svc.decide(&w.op, &a.id).await.unwrap();
    assert_eq!((a.stage, a.paid, a.city_part, a.district_part), (Stage::Awarded, Fen(2_000_000_00), Fen(1_000_000_00), Fen(1_000_000_00)));
    let (ledger, _) = w.store.ledger_load().await.unwrap();
    let paid = ledger.account(suanli_ledger::chart::award_payout(p.big.as_str()).id).unwrap();
    assert_eq!(paid.credit_balance(), Fen(2_000_000_00), "paid to the provider's award account");
    let district = ledger.account(suanli_ledger::chart::district_treasury("hz-binjiang").id).unwrap();
    assert_eq!(district.debit_balance(), Fen(1_000_000_00));
    ledger.verify().unwrap();
    let stored = w.store.incentive_applications(Some(("provider_id", p.big.as_str()))).await.unwrap();
    assert_eq!(stored.len(), 1, "the provider is a column to query");
    assert!(w.store.incentive_applications(Some(("tenant_id", p.big.as_str()))).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_apply_on_their_platform_volume_sqlite() {
    provider_applications(world().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_apply_on_their_platform_volume_postgres() {
    on_postgres("incprov", |store| async move { provider_applications(world_on(store, tempfile::tempdir().unwrap()).await).await }).await;
}

/// The partner service figures as they were computed before the store aggregated them: from
/// every started job.
fn service_from_every_job(jobs: &[Job], centre: &CentreId) -> (u32, Option<f64>, Option<f64>) {
    let mine: Vec<_> = jobs.iter().filter(|j| j.centre_id.as_ref() == Some(centre)).collect();
    let mut latencies: Vec<f64> =
        mine.iter().filter_map(|j| Some((j.started_ms? - j.placed_ms?) as f64 / 1000.0)).filter(|s| *s >= 0.0).collect();
    latencies.sort_by(f64::total_cmp);
    let ended = mine.iter().filter(|j| matches!(j.state, JobState::Succeeded | JobState::Failed)).count();
    let faults = mine.iter().filter(|j| j.state == JobState::Failed && j.fault == Some(Fault::Centre)).count();
    let median = (!latencies.is_empty()).then(|| latencies[latencies.len() / 2]);
    (latencies.len() as u32, median, (ended > 0).then(|| faults as f64 / ended as f64))
}

async fn service_figures_match(store: Store) {
    let provider = Provider { id: ProviderId::generate(3, 1), name: "服务商".into(), name_en: String::new(), registration: None };
    let tenant = Tenant {
        id: TenantId::generate(3, 2),
        name: "企业".into(),
        name_en: String::new(),
        uscc: uscc("330106", "MA2TXY7KL"),
        sme: true,
        region: "hz-xihu".into(),
        created_ms: 1,
    };
    let centres: Vec<Centre> = (0..3)
        .map(|i| Centre {
            id: CentreId::generate(4, i),
            provider_id: provider.id.clone(),
            name: format!("中心{i}"),
            name_en: String::new(),
            kind: CentreKind::IntelligentComputing,
            region: "hz-xihu".into(),
            partner_status: PartnerStatus::Partner,
            commissioned_ms: 1,
            declared_pue: 1.2,
            racks: 10,
            rtt_ms: Default::default(),
            created_ms: 1,
        })
        .collect();
    let mut tx = store.begin().await.unwrap();
    tx.insert_provider(&provider, 1).await.unwrap();
    tx.insert_tenant(&tenant).await.unwrap();
    for c in &centres {
        tx.insert_centre(c, "system:test").await.unwrap();
    }
    // Jobs in every state, with and without times, a few started "before" they were placed (a
    // clock skew the figures ignore), even and odd counts per centre, ties, and both faults.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for n in 0..157u64 {
        let mut j = Job::pending(
            JobId::generate(5_000 + n as i64, n),
            tenant.id.clone(),
            JobSpec::new(&format!("j{n}"), JobKind::Training, 1, 60),
            1_000,
        );
        j.state = JobState::ALL[next(6) as usize];
        j.centre_id = match next(7) {
            0 => None,
            k => Some(centres[(k % 2) as usize].id.clone()),
        };
        if j.state != JobState::Pending {
            j.placed_ms = Some(2_000 + next(5) as i64 * 1_000);
            if next(5) > 0 {
                j.started_ms = Some(j.placed_ms.unwrap() + next(4_000) as i64 - 500);
            }
        }
        if j.state == JobState::Failed {
            j.fault = Some(if next(3) == 0 { Fault::Centre } else { Fault::Job });
        }
        tx.insert_job(&j).await.unwrap();
    }
    tx.commit().await.unwrap();
    let jobs = store.jobs_in_states(&[JobState::Running, JobState::Succeeded, JobState::Failed, JobState::Cancelled]).await.unwrap();
    let aggregated = store.centre_service().await.unwrap();
    for c in &centres {
        let (started, median, faults) = service_from_every_job(&jobs, &c.id);
        let s = aggregated.get(c.id.as_str()).cloned().unwrap_or_default();
        assert_eq!(s.jobs_started, started, "{}", c.id);
        assert_eq!(s.start_latency_p50_ms.map(|ms| ms as f64 / 1000.0), median, "{}", c.id);
        assert_eq!((s.ended > 0).then(|| s.centre_faults as f64 / s.ended as f64), faults, "{}", c.id);
    }
    assert!(aggregated.get(centres[0].id.as_str()).is_some_and(|s| s.jobs_started > 10 && s.centre_faults > 0), "{aggregated:?}");
    assert!(!aggregated.contains_key(centres[2].id.as_str()), "a centre without jobs has no figures");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partner_service_figures_from_sql_equal_those_from_every_job_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    service_figures_match(Store::open_dir(dir.path()).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partner_service_figures_from_sql_equal_those_from_every_job_postgres() {
    let (url, schema) = (crate::harness::pg_url(), crate::harness::unique_schema("incsvc"));
    let store = crate::harness::pg_store(&schema).await;
    service_figures_match(store.clone()).await;
    store.close().await;
    Store::drop_schema(&url, &schema).await.unwrap();
}

/// Runs the CLI against the test server.
async fn cli(ts: &TestServer, role: &str, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_suanli"))
        .args(["--server", &ts.url, "--token", &ts.tokens[role]])
        .args(args)
        .output()
        .await
        .expect("the CLI runs")
}

fn score_of<'a>(scores: &'a Value, centre: &str) -> &'a Value {
    scores.as_array().unwrap().iter().find(|s| s["score"]["centre_id"] == centre).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn centres_declare_certifications_and_green_power_that_count_in_the_partner_scores() {
    let ts = TestServer::start().await;
    let (op, prov, reg) = (ts.as_role("operator"), ts.as_role("provider"), ts.as_role("regulator"));
    let (_, me) = prov.get("/api/v1/me").await;
    let (_, centres) = op.get("/api/v1/centres").await;
    let centres = centres["items"].as_array().unwrap().clone();
    let mine = centres.iter().find(|c| c["provider_id"] == me["provider_id"]).unwrap()["id"].as_str().unwrap().to_string();
    let theirs = centres.iter().find(|c| c["provider_id"] != me["provider_id"]).unwrap()["id"].as_str().unwrap().to_string();
    let (_, before) = reg.get("/api/v1/partners/scores").await;
    let before = score_of(&before, &mine).clone();
    assert_eq!(before["measures"]["certifications"], json!([]));
    assert_eq!(before["measures"]["renewable_share"], Value::Null);
    let next_year = suanli_incentives::programme::year_of(ts.state.ids.now_ms()) + 1;
    let sha = "ab".repeat(32);
    let cert = |kind: &str, expires: &str, hash: &str| json!({"kind": kind, "issuer": "公安部第三研究所", "number": "330100-0042", "expires_on": expires, "document_sha256": hash});
    let valid_until = format!("{next_year}-06-30");
    // Bad input: a stable code each, and nothing stored.
    for (who, centre, body, status, code) in [
        (&prov, "ctr_0000000000000000000000".to_string(), cert("mlps_3", &valid_until, &sha), 404, "centre_not_found"),
        (&prov, theirs.clone(), cert("mlps_3", &valid_until, &sha), 403, "forbidden"),
        (&prov, mine.clone(), cert("mlps_9", &valid_until, &sha), 422, "invalid_certification"),
        (&prov, mine.clone(), cert("mlps_3", "2020-01-01", &sha), 422, "certification_expired"),
        (&prov, mine.clone(), cert("mlps_3", &valid_until, "not-a-hash"), 422, "invalid_sha256"),
        (&op, mine.clone(), cert("mlps_3", "2026-02-30", &sha), 422, "invalid_date"),
    ] {
        let (s, v) = who.post(&format!("/api/v1/centres/{centre}/certifications"), &body).await;
        assert_eq!((s.as_u16(), v["code"].as_str()), (status, Some(code)), "{body} {v}");
    }
    let green = |share: Value, from: &str, until: &str, hash: &str| json!({"share_pct": share, "evidence_sha256": hash, "from": from, "until": until});
    let (from, until) = (format!("{}-01-01", next_year - 1), format!("{next_year}-12-31"));
    for (centre, body, status, code) in [
        (mine.clone(), green(json!(100.5), &from, &until, &sha), 422, "invalid_share"),
        (mine.clone(), green(json!(-1), &from, &until, &sha), 422, "invalid_share"),
        (mine.clone(), green(json!(40), &from, &until, "00"), 422, "invalid_sha256"),
        (mine.clone(), green(json!(40), "2020-01-01", "2020-12-31", &sha), 422, "invalid_period"),
        (theirs.clone(), green(json!(40), &from, &until, &sha), 403, "forbidden"),
    ] {
        let (s, v) = prov.post(&format!("/api/v1/centres/{centre}/green-power"), &body).await;
        assert_eq!((s.as_u16(), v["code"].as_str()), (status, Some(code)), "{body} {v}");
    }
    assert_eq!(
        ts.as_role("tenant").post(&format!("/api/v1/centres/{mine}/certifications"), &cert("mlps_3", &valid_until, &sha)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(prov.get(&format!("/api/v1/centres/{mine}/certifications")).await.1, json!([]), "nothing stored");
    assert_eq!(prov.get(&format!("/api/v1/centres/{mine}/green-power")).await.1, json!([]));
    let (_, unchanged) = reg.get("/api/v1/partners/scores").await;
    assert_eq!(score_of(&unchanged, &mine)["score"]["security"], before["score"]["security"], "refusals change no score");

    // The provider declares for its centre (one through the CLI, hashing the document), the operator for another's.
    let (s, v) = prov.post(&format!("/api/v1/centres/{mine}/certifications"), &cert("mlps_3", &valid_until, &sha.to_uppercase())).await;
    assert_eq!((s, v["in_force"].as_bool()), (StatusCode::CREATED, Some(true)), "{v}");
    assert_eq!(v["declaration"]["document_sha256"], json!(sha), "kept lowercase");
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("iso27001.pdf");
    std::fs::write(&pdf, b"%PDF ISO/IEC 27001 certificate").unwrap();
    let out = cli(
        &ts,
        "provider",
        &[
            "-o",
            "json",
            "incentives",
            "certify",
            &mine,
            "--kind",
            "iso_27001",
            "--issuer",
            "CQC",
            "--number",
            "ISMS-1",
            "--expires",
            &valid_until,
            "--document",
            pdf.to_str().unwrap(),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    use sha2::Digest;
    assert_eq!(printed["declaration"]["document_sha256"], json!(hex::encode(sha2::Sha256::digest(b"%PDF ISO/IEC 27001 certificate"))));
    let out =
        cli(&ts, "provider", &["incentives", "green-power", &mine, "--share", "60", "--from", &from, "--until", &until, "--sha256", &sha])
            .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out =
        cli(&ts, "provider", &["incentives", "green-power", &mine, "--share", "160", "--from", &from, "--until", &until, "--sha256", &sha])
            .await;
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("invalid_share"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (s, _) = op.post(&format!("/api/v1/centres/{theirs}/certifications"), &cert("trusted_cloud", &valid_until, &sha)).await;
    assert_eq!(s, StatusCode::CREATED);
    let out = cli(&ts, "regulator", &["incentives", "declarations", &mine]).await;
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && listed.contains("mlps_3") && listed.contains("iso_27001") && listed.contains("60"), "{listed}");

    // The scores count them: 40 + 30 points on the security criterion's 30%, and the share.
    let (_, after) = reg.get("/api/v1/partners/scores").await;
    let after = score_of(&after, &mine);
    assert_eq!(after["measures"]["certifications"], json!(["mlps_3", "iso_27001"]));
    assert_eq!(after["measures"]["renewable_share"], json!(0.6));
    let gained = after["score"]["security"].as_f64().unwrap() - before["score"]["security"].as_f64().unwrap();
    assert!((gained - 21.0).abs() < 1e-9, "{gained}");
    // Under the operator's weights: a certification worth nothing adds nothing.
    let (_, mut cfg) = op.get("/api/v1/partners/config").await;
    cfg["certification_points"]["mlps_3"] = json!(0);
    cfg["security_certifications_pct"] = json!(50);
    assert_eq!(op.put("/api/v1/partners/config", &cfg).await.0, StatusCode::OK);
    let (_, weighted) = reg.get("/api/v1/partners/scores").await;
    let domestic = before["measures"]["domestic_share"].as_f64().unwrap();
    let security = score_of(&weighted, &mine)["score"]["security"].as_f64().unwrap();
    assert!((security - (50.0 * domestic + 0.5 * 30.0)).abs() < 1e-9, "{security}");
    cfg["certification_points"]["mlps_3"] = json!(101);
    let (s, v) = op.put("/api/v1/partners/config", &cfg).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_criteria")));
    let (_, audit) = op.get(&format!("/api/v1/audit?subject={mine}")).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"centre.certification") && actions.contains(&"centre.green_power"), "{actions:?}");

    // The partner scores' page shows what counts, in both languages.
    let web = crate::harness::Web::sign_in(&ts.url, &ts.tokens["regulator"]).await.unwrap();
    let zh = web.page("/partners").await;
    assert!(zh.contains("有效认证") && zh.contains("等保三级") && zh.contains("60%"), "the regulator's page shows the declarations");
    let en = web.page("/partners?lang=en").await;
    assert!(en.contains("Certifications in force") && en.contains("MLPS level 3") && en.contains("Trusted Cloud"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_provider_applies_over_http_and_the_operator_for_it() {
    let ts = TestServer::start().await;
    let (op, prov) = (ts.as_role("operator"), ts.as_role("provider"));
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let body = |programme: &str, on_behalf_of: Value| {
        json!({"programme": programme, "project": "城市算力服务平台", "cost": "2000000", "requested": "1000000",
        "documents": [{"kind": "service_report", "name": "report.pdf", "content_base64": b64("report")}], "on_behalf_of": on_behalf_of})
    };
    // The provider registry takes a credit code and a district, both or neither.
    let (s, v) = op.post("/api/v1/providers", &json!({"name": "新服务商", "uscc": "91330106MA2XY7KL00"})).await;
    assert_eq!((s.as_u16(), v["code"].as_str()), (422, Some("invalid_body")), "{v}");
    let (s, v) = op.post("/api/v1/providers", &json!({"name": "新服务商", "uscc": "91330106MA2XY7KL0I", "region": "hz-xihu"})).await;
    assert_eq!((s.as_u16(), v["code"].as_str()), (422, Some("invalid_uscc")), "{v}");
    let good = uscc("330106", "MA2NEW7KL");
    let (s, created) =
        op.post("/api/v1/providers", &json!({"name": "新服务商", "uscc": good.as_str(), "region": "hz-xihu", "sme": true})).await;
    assert_eq!(
        (s, created["uscc"].as_str(), created["sme"].as_bool()),
        (StatusCode::CREATED, Some(good.as_str()), Some(true)),
        "{created}"
    );
    // The demo's provider has no ¥20M through the platform: refused with the measured volume, nothing stored.
    let (s, v) = prov.post("/api/v1/incentives/applications", &body("hz55-service-platform", Value::Null)).await;
    assert_eq!((s.as_u16(), v["code"].as_str()), (422, Some("not_eligible")), "{v}");
    assert!(v["detail"].as_str().unwrap_or_default().contains("service volume"), "{v}");
    only_the_demos(&op).await;
    for (who, on_behalf_of, status, code) in [
        (&prov, json!(created["id"]), 403, "forbidden"),
        (&op, json!("ctr_0000000000000000000000"), 400, "invalid_id"),
        (&op, json!("prv_0000000000000000000000"), 404, "provider_not_found"),
    ] {
        let (s, v) = who.post("/api/v1/incentives/applications", &body("hz55-service-platform", on_behalf_of)).await;
        assert_eq!((s.as_u16(), v["code"].as_str()), (status, Some(code)), "{v}");
    }
    // A programme a provider's registered facts meet: the operator applies for it, typed as a provider.
    let mut open = suanli_incentives::policy_programmes().remove(7);
    open.code = "hz-platform-startup".into();
    open.rules = vec![suanli_incentives::Rule::Division { prefix: "3301".into() }, suanli_incentives::Rule::Sme];
    assert_eq!(op.post("/api/v1/incentives/programmes", &serde_json::to_value(&open).unwrap()).await.0, StatusCode::CREATED);
    let (s, a) = op.post("/api/v1/incentives/applications", &body("hz-platform-startup", json!(created["id"]))).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!(
        (a["applicant_kind"].as_str(), a["applicant_id"].clone(), a["tenant_id"].clone(), a["district"].as_str()),
        (Some("provider"), created["id"].clone(), Value::Null, Some("hz-xihu"))
    );
    assert!(a["facts"]["yearly_volume"].is_number(), "the platform's volume is on record: {a}");
    let (_, csv) = {
        let (s, _, b) = op.get_bytes("/api/v1/incentives/applications?format=csv").await;
        (s, String::from_utf8(b).unwrap())
    };
    assert!(csv.starts_with("id,programme,policy,applicant_kind,applicant_id,") && csv.contains(",provider,"), "{csv}");
    let out = cli(&ts, "operator", &["incentives", "applications"]).await;
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("provider"), "{}", String::from_utf8_lossy(&out.stdout));
    let web = crate::harness::Web::sign_in(&ts.url, &ts.tokens["operator"]).await.unwrap();
    let zh = web.page("/incentives").await;
    assert!(
        zh.contains("申请主体") && zh.contains("新服务商") && zh.contains("算力/数据服务商"),
        "the page names the applicant and its kind"
    );
}

/// The operator sets a provider's registration after creation: validated whole (both fields the
/// first time, the credit code's check character, a known district), refusals changing nothing
/// and writing no audit, each change audited with what it was; later applications are judged on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_providers_registration_is_updated_after_creation_validated_and_audited() {
    let ts = TestServer::start().await;
    let (op, prov) = (ts.as_role("operator"), ts.as_role("provider"));
    let (s, created) = op.post("/api/v1/providers", &json!({"name": "后补登记服务商"})).await;
    assert_eq!((s, &created["uscc"]), (StatusCode::CREATED, &Value::Null), "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/providers/{id}");
    let good = uscc("330106", "MA2UPD7KL");
    let mut wrong_check = good.as_str().to_string();
    wrong_check.replace_range(17..18, if wrong_check.ends_with('0') { "1" } else { "0" });
    for (who, p, body, status, code) in [
        (&op, path.clone(), json!({"sme": true}), 422, "invalid_body"),
        (&op, path.clone(), json!({}), 422, "invalid_body"),
        (&op, path.clone(), json!({"uscc": wrong_check, "region": "hz-xihu"}), 422, "invalid_uscc"),
        (&op, path.clone(), json!({"uscc": good.as_str(), "region": "atlantis"}), 422, "invalid_region"),
        (&op, path.clone(), json!({"uscc": good.as_str(), "region": "hz-xihu", "name": "x"}), 400, "unknown_field"),
        (&prov, path.clone(), json!({"uscc": good.as_str(), "region": "hz-xihu"}), 403, "forbidden"),
        (
            &op,
            "/api/v1/providers/prv_0000000000000000000000".into(),
            json!({"uscc": good.as_str(), "region": "hz-xihu"}),
            404,
            "provider_not_found",
        ),
    ] {
        let (s, v) = who.patch(&p, &body).await;
        assert_eq!((s.as_u16(), v["code"].as_str()), (status, Some(code)), "{body}: {v}");
    }
    let listed = |v: &Value| v["items"].as_array().unwrap().iter().find(|p| p["id"] == id.as_str()).cloned().unwrap();
    assert_eq!(listed(&op.get("/api/v1/providers").await.1)["uscc"], Value::Null, "refusals change nothing");
    assert_eq!(
        op.get(&format!("/api/v1/audit?subject={id}")).await.1["items"].as_array().unwrap().len(),
        1,
        "and audit nothing: only the creation"
    );

    // Unregistered, it cannot apply; registered, the operator applies for it on the new facts.
    let mut open = suanli_incentives::policy_programmes().remove(7);
    open.code = "hz-registered-startup".into();
    open.rules = vec![suanli_incentives::Rule::Division { prefix: "3301".into() }, suanli_incentives::Rule::Sme];
    assert_eq!(op.post("/api/v1/incentives/programmes", &serde_json::to_value(&open).unwrap()).await.0, StatusCode::CREATED);
    let b64 = base64::engine::general_purpose::STANDARD.encode("report");
    let apply = json!({"programme": "hz-registered-startup", "project": "算力服务平台", "cost": "2000000", "requested": "1000000",
        "documents": [{"kind": "service_report", "name": "report.pdf", "content_base64": b64}], "on_behalf_of": id});
    let (s, v) = op.post("/api/v1/incentives/applications", &apply).await;
    assert_eq!((s.as_u16(), v["code"].as_str()), (422, Some("not_eligible")), "{v}");
    let (s, v) = op.patch(&path, &json!({"uscc": good.as_str().to_lowercase(), "region": "hz-xihu"})).await;
    assert_eq!(
        (s, v["uscc"].as_str(), v["region"].as_str(), v["sme"].as_bool()),
        (StatusCode::OK, Some(good.as_str()), Some("hz-xihu"), Some(false)),
        "{v}"
    );
    let (s, v) = op.post("/api/v1/incentives/applications", &apply).await;
    assert_eq!((s.as_u16(), v["code"].as_str()), (422, Some("not_eligible")), "not yet an SME: {v}");
    // The CLI changes one field and keeps the others.
    let out = cli(&ts, "operator", &["providers", "update", &id, "--sme", "true"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = cli(&ts, "operator", &["providers", "update", &id, "--uscc", &wrong_check]).await;
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("invalid_uscc"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let now = listed(&op.get("/api/v1/providers").await.1);
    assert_eq!(
        (now["uscc"].as_str(), now["region"].as_str(), now["sme"].as_bool()),
        (Some(good.as_str()), Some("hz-xihu"), Some(true)),
        "{now}"
    );
    let (s, a) = op.post("/api/v1/incentives/applications", &apply).await;
    assert_eq!((s, a["district"].as_str()), (StatusCode::CREATED, Some("hz-xihu")), "{a}");
    let (_, audit) = op.get(&format!("/api/v1/audit?subject={id}")).await;
    let changes: Vec<&Value> = audit["items"].as_array().unwrap().iter().filter(|a| a["action"] == "provider.registration").collect();
    assert_eq!(changes.len(), 2, "{audit}");
    let sme_change = changes.iter().find(|c| c["detail"]["after"]["sme"] == true).unwrap();
    assert_eq!(
        (sme_change["detail"]["before"]["sme"].as_bool(), sme_change["detail"]["before"]["uscc"].as_str()),
        (Some(false), Some(good.as_str())),
        "{sme_change}"
    );
}
