//! Incentive programmes end to end: applications refused by code and changing nothing, expert reviews with conflicts, ranking into publicity, objections, decisions after publicity on a clock the test moves, 从优、就高、不重复 across programmes, payment from the city's and the district's budgets, providers applying on what the platform's ledger paid them (SQLite and PostgreSQL), centres' declared certifications and green power in the partner scores, the partner service figures from SQL equal to those from every job, and the HTTP surface by role.
// Amounts in fen are written yuan_fen: 10_000_000_00 is ¥10,000,000.00.
#![allow(clippy::inconsistent_digit_grouping)]

use crate::harness::TestServer;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use suanli_app::Caller;
use suanli_app::incentives::{ApplyRequest, Document, Incentives};
use suanli_core::centre::{Centre, CentreKind, PartnerStatus, Provider, Registration};
use suanli_core::error::ErrorCode;
use suanli_core::id::{CentreId, JobId, ProviderId, TenantId, UserId};
use suanli_core::ident::{Uscc, uscc_check_char};
use suanli_core::job::{Fault, Job, JobKind, JobSpec, JobState};
use suanli_core::money::Fen;
use suanli_core::tenant::Tenant;
use suanli_core::time::{Clock, ManualClock};
use suanli_incentives::{Applicant, Facts, Stage};
use suanli_store::{LedgerService, Store, StoreOptions};

const DAY: i64 = 86_400_000;

fn uscc(division: &str, serial: &str) -> Uscc {
    let first17 = format!("91{division}{serial}");
    Uscc::parse(&format!("{first17}{}", uscc_check_char(&first17).unwrap())).unwrap()
}

fn doc(kind: &str) -> Document {
    Document { kind: kind.into(), name: format!("{kind}.pdf"), body: format!("%PDF {kind}").into_bytes() }
}

/// The same score on each of the special-model criteria.
fn scores(s: f64) -> BTreeMap<String, f64> {
    [("innovation", s), ("application", s), ("team", s)].iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// An expert the operator adds to the pool, as the caller it signs in as.
async fn expert(w: &World, name: &str, org: &Uscc) -> Caller {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let token_hash = format!("{:064x}", N.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let e = w.svc.add_expert(&w.op, name, org.as_str(), token_hash).await.unwrap();
    Caller::Expert { user: UserId::parse(&e.id).unwrap() }
}

fn id_of(c: &Caller) -> String {
    c.user().to_string()
}

struct World {
    svc: Incentives,
    store: Store,
    ledger: LedgerService,
    clock: Arc<ManualClock>,
    op: Caller,
    ent: Caller,
    ent_uscc: Uscc,
    beijing: Caller,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}/s.db?mode=rwc", dir.path().display()), StoreOptions::default()).await.unwrap();
    world_on(store, dir).await
}

async fn world_on(store: Store, dir: tempfile::TempDir) -> World {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    // 2026-12-01 10:00 CST at the latest, so the policy's window is open.
    let clock = Arc::new(ManualClock::new(now.min(suanli_core::time::days_from_civil(2026, 12, 1) * DAY + 2 * 3_600_000)));
    let ledger = LedgerService::start(store.clone(), clock.clone(), std::time::Duration::from_secs(3600)).await.unwrap();
    let ids = suanli_dispatch::ids::Ids::seeded(clock.clone(), 7);
    let mut tenants = Vec::new();
    let mut tx = store.begin().await.unwrap();
    for (i, (division, region)) in [("330106", "hz-xihu"), ("110105", "beijing")].iter().enumerate() {
        let t = Tenant {
            id: TenantId::generate(1, i as u64),
            name: format!("企业{i}"),
            name_en: String::new(),
            uscc: uscc(division, &format!("MA2{i}XY7KL")),
            sme: true,
            region: region.to_string(),
            created_ms: 1,
        };
        tx.insert_tenant(&t).await.unwrap();
        tenants.push(t);
    }
    tx.commit().await.unwrap();
    let svc = Incentives::open(store.clone(), ledger.clone(), ids).await.unwrap();
    let user = UserId::generate(1, 9);
    World {
        svc,
        store,
        ledger,
        clock,
        op: Caller::Operator { user: user.clone() },
        ent: Caller::Tenant { user: user.clone(), tenant: tenants[0].id.clone() },
        ent_uscc: tenants[0].uscc.clone(),
        beijing: Caller::Tenant { user, tenant: tenants[1].id.clone() },
        _dir: dir,
    }
}

fn special(project: &str, cost: i64, requested: i64) -> ApplyRequest {
    ApplyRequest {
        programme: "hz55-special-model".into(),
        project: project.into(),
        cost: Fen(cost),
        requested: Fen(requested),
        declared: Facts::default(),
        documents: vec![doc("rd_cost_audit"), doc("model_evaluation")],
        on_behalf_of: None,
        volume_year: None,
    }
}

/// Three experts from the pool, assigned by the operator, each score the application itself.
async fn reviewed(w: &World, id: &str, score: f64) {
    for (i, e) in ["张教授", "李研究员", "王工"].iter().enumerate() {
        let x = expert(w, e, &uscc("330108", &format!("EXP{i}00000"))).await;
        w.svc.assign(&w.op, id, &id_of(&x)).await.unwrap();
        w.svc.review(&x, id, scores(score)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_award_goes_from_application_through_review_and_publicity_to_payment_and_is_paid_once() {
    let w = world().await;
    // Refusals change nothing.
    let code = |r: Result<suanli_incentives::Application, suanli_store::StoreError>| match r {
        Err(suanli_store::StoreError::Domain(e)) => e.code,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let mut missing = special("医疗影像模型", 10_000_000_00, 1_000_000_00);
    missing.documents.pop();
    assert_eq!(code(w.svc.apply(&w.ent, missing).await), ErrorCode::MissingEvidence);
    assert_eq!(code(w.svc.apply(&w.ent, special("医疗影像模型", 10_000_000_00, 3_000_000_01)).await), ErrorCode::CapExceeded);
    assert_eq!(code(w.svc.apply(&w.beijing, special("北京模型", 10_000_000_00, 1_000_000_00)).await), ErrorCode::NotEligible);
    assert_eq!(code(w.svc.apply(&w.op, special("x", 1, 1)).await), ErrorCode::Forbidden);
    assert!(w.svc.applications(&w.op).await.unwrap().is_empty(), "refused applications store nothing");

    let a = w.svc.apply(&w.ent, special("医疗影像模型", 10_000_000_00, 2_000_000_00)).await.unwrap();
    assert_eq!(a.stage, Stage::UnderReview);
    assert_eq!(code(w.svc.apply(&w.ent, special("医疗影像模型", 10_000_000_00, 1_000_000_00)).await), ErrorCode::DuplicateApplication);
    assert_eq!(
        w.store.incentive_document(&a.evidence[0].sha256).await.unwrap().unwrap(),
        b"%PDF rd_cost_audit",
        "evidence kept by its hash"
    );

    // Experts are users who sign in and score what the operator assigned them. One of the
    // applicant's own company is never assigned; the operator does not score for experts.
    let insider = expert(&w, "内部专家", &w.ent_uscc).await;
    assert_eq!(code(w.svc.assign(&w.op, &a.id, &id_of(&insider)).await), ErrorCode::ConflictOfInterest);
    assert_eq!(code(w.svc.review(&insider, &a.id, scores(99.0)).await), ErrorCode::IncentiveApplicationNotFound, "not assigned");
    assert_eq!(code(w.svc.review(&w.op, &a.id, scores(80.0)).await), ErrorCode::Forbidden, "experts score for themselves");
    let first = expert(&w, "赵教授", &uscc("330108", "EXPA00000")).await;
    assert!(w.svc.applications(&first).await.unwrap().is_empty(), "an expert sees nothing it is not assigned");
    assert_eq!(code(w.svc.application(&first, &a.id).await), ErrorCode::IncentiveApplicationNotFound);
    assert_eq!(code(w.svc.assign(&w.ent, &a.id, &id_of(&first)).await), ErrorCode::Forbidden, "the operator assigns");
    assert_eq!(code(w.svc.assign(&w.op, &a.id, "usr_nobody").await), ErrorCode::ExpertNotFound);
    w.svc.assign(&w.op, &a.id, &id_of(&first)).await.unwrap();
    assert_eq!(code(w.svc.assign(&w.op, &a.id, &id_of(&first)).await), ErrorCode::AlreadyAssigned);
    assert_eq!(code(w.svc.review(&first, &a.id, scores(101.0)).await), ErrorCode::InvalidReview);
    let mine = w.svc.review(&first, &a.id, scores(86.0)).await.unwrap();
    assert_eq!((mine.reviews.len(), mine.reviews[0].expert_id.clone()), (1, Some(id_of(&first))));
    assert_eq!(code(w.svc.review(&first, &a.id, scores(50.0)).await), ErrorCode::ConflictOfInterest, "once");
    let audit_before = w.store.incentive_application(&a.id).await.unwrap().unwrap();
    assert_eq!((audit_before.reviews.len(), audit_before.assigned.len()), (1, 1), "refusals changed nothing");
    assert_eq!(code(w.svc.rank(&w.op, "hz55-special-model").await.map(|_| a.clone())), ErrorCode::WrongStage, "not reviewed enough");
    reviewed(&w, &a.id, 86.0).await;
    // Each expert sees its own scores only, and not the mean the others make.
    let seen = w.svc.application(&first, &a.id).await.unwrap();
    assert_eq!((seen.reviews.len(), seen.assigned.len(), seen.score), (1, 1, None));
    assert_eq!(w.svc.application(&w.op, &a.id).await.unwrap().reviews.len(), 4);
    assert_eq!(code(w.svc.apply(&first, special("专家的项目", 10_000_000_00, 1_000_000_00)).await), ErrorCode::Forbidden);
    // Publicity counts working days and skips the operator's public holidays.
    assert!(w.svc.set_holidays(&w.ent, &["2026-12-03".into()]).await.is_err(), "the operator's calendar");
    w.svc.set_holidays(&w.op, &["2026-12-03".into()]).await.unwrap();
    let ranked = w.svc.rank(&w.op, "hz55-special-model").await.unwrap();
    let a = ranked.into_iter().find(|x| x.id == a.id).unwrap();
    assert_eq!((a.stage, a.rank, a.score), (Stage::Publicity, Some(1), Some(86.0)));
    // From Tuesday 2026-12-01: Wed 2, (Thu 3 a holiday), Fri 4, Mon 7, Tue 8, Wed 9.
    assert_eq!(a.publicity_until, Some(suanli_core::time::days_from_civil(2026, 12, 10) * DAY - 8 * 3_600_000));

    // Publicity: an objection is taken and dismissed; a decision waits for five working days.
    w.svc.object(&w.beijing, &a.id, "申报研发费用存疑".into()).await.unwrap();
    assert_eq!(code(w.svc.decide(&w.op, &a.id).await), ErrorCode::WrongStage);
    w.clock.advance(9 * DAY);
    assert_eq!(code(w.svc.object(&w.beijing, &a.id, "too late".into()).await), ErrorCode::WrongStage);
    assert_eq!(code(w.svc.decide(&w.op, &a.id).await), ErrorCode::WrongStage, "an open objection blocks the decision");
    w.svc.resolve(&w.op, &a.id, 0, false, "审计报告核实无误".into()).await.unwrap();
    let a = w.svc.decide(&w.op, &a.id).await.unwrap();
    assert_eq!((a.stage, a.paid, a.city_part, a.district_part), (Stage::Awarded, Fen(2_000_000_00), Fen(1_000_000_00), Fen(1_000_000_00)));

    // The same project qualifies as a demonstration for more: it is paid only the difference.
    let demo = ApplyRequest {
        programme: "hz55-demonstration".into(),
        project: "医疗影像模型".into(),
        cost: Fen(20_000_000_00),
        requested: Fen(5_000_000_00),
        declared: Facts::default(),
        documents: vec![doc("investment_audit"), doc("acceptance_report")],
        on_behalf_of: None,
        volume_year: None,
    };
    let d = w.svc.apply(&w.ent, demo).await.unwrap();
    reviewed(&w, &d.id, 90.0).await;
    w.svc.rank(&w.op, "hz55-demonstration").await.unwrap();
    w.clock.advance(8 * DAY);
    let d = w.svc.decide(&w.op, &d.id).await.unwrap();
    assert_eq!((d.stage, d.paid), (Stage::Awarded, Fen(3_000_000_00)), "就高 without paying twice: {:?}", d.notes);
    assert!(d.notes.iter().any(|n| n.contains("awarded")));
    let (ledger, _) = w.store.ledger_load().await.unwrap();
    let payout = ledger.account(suanli_ledger::chart::award_payout(d.applicant.id()).id).unwrap();
    assert_eq!(payout.credit_balance(), Fen(5_000_000_00), "¥5M paid in all, not ¥7M: {payout:?}");
    let district = ledger.account(suanli_ledger::chart::district_treasury("hz-xihu").id).unwrap();
    assert_eq!(district.debit_balance(), Fen(2_500_000_00), "the district paid half of each");
    ledger.verify().unwrap();
    let totals = w.svc.totals(w.clock.now_ms()).await.unwrap();
    let t = totals.iter().find(|t| t.programme == "hz55-demonstration").unwrap();
    assert_eq!((t.disbursed, t.city, t.district), (Fen(3_000_000_00), Fen(1_500_000_00), Fen(1_500_000_00)));
    let by_district = w.svc.totals_by_district(w.clock.now_ms()).await.unwrap();
    let xihu: Vec<_> = by_district.iter().filter(|t| t.district == "hz-xihu").collect();
    assert_eq!(xihu.len(), 2, "one row per programme: {by_district:?}");
    assert_eq!(Fen(xihu.iter().map(|t| t.paid.0).sum()), Fen(5_000_000_00));
    drop(w.ledger);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lower_claim_decided_later_is_superseded_and_the_policy_closes_its_window() {
    let w = world().await;
    let big = w.svc.apply(&w.ent, special("同一项目", 10_000_000_00, 3_000_000_00)).await.unwrap();
    let demo = ApplyRequest {
        programme: "hz55-demonstration".into(),
        project: "同一项目".into(),
        cost: Fen(2_000_000_00),
        requested: Fen(600_000_00),
        declared: Facts::default(),
        documents: vec![doc("investment_audit"), doc("acceptance_report")],
        on_behalf_of: None,
        volume_year: None,
    };
    let small = w.svc.apply(&w.ent, demo.clone()).await.unwrap();
    // A second subject whose higher claim draws an objection.
    let big2 = w.svc.apply(&w.ent, special("异议项目", 10_000_000_00, 2_000_000_00)).await.unwrap();
    let small2 = w.svc.apply(&w.ent, ApplyRequest { project: "异议项目".into(), requested: Fen(500_000_00), ..demo }).await.unwrap();
    for (id, score) in [(&big.id, 80.0), (&small.id, 80.0), (&big2.id, 70.0), (&small2.id, 70.0)] {
        reviewed(&w, id, score).await;
    }
    w.svc.rank(&w.op, "hz55-special-model").await.unwrap();
    w.svc.rank(&w.op, "hz55-demonstration").await.unwrap();
    w.svc.object(&w.beijing, &big2.id, "研发费用重复申报".into()).await.unwrap();
    w.clock.advance(8 * DAY);
    // Deciding the smaller one arbitrates both: the higher is kept and paid, the smaller superseded.
    let small = w.svc.decide(&w.op, &small.id).await.unwrap();
    assert_eq!(small.stage, Stage::Superseded);
    assert!(small.notes.last().unwrap().contains("从优、就高、不重复"), "{:?}", small.notes);
    let big = w.svc.application(&w.op, &big.id).await.unwrap();
    assert_eq!((big.stage, big.paid), (Stage::Awarded, Fen(3_000_000_00)));
    // A claim with an open objection is left out of another's decision, and decided once the
    // objection is resolved: then it is paid the difference.
    let small2 = w.svc.decide(&w.op, &small2.id).await.unwrap();
    assert_eq!((small2.stage, small2.paid), (Stage::Awarded, Fen(500_000_00)));
    assert_eq!(w.svc.application(&w.op, &big2.id).await.unwrap().stage, Stage::Publicity, "its objection is still open");
    w.svc.resolve(&w.op, &big2.id, 0, false, "已核实，不属重复申报".into()).await.unwrap();
    let big2 = w.svc.decide(&w.op, &big2.id).await.unwrap();
    assert_eq!((big2.stage, big2.paid), (Stage::Awarded, Fen(1_500_000_00)), "{:?}", big2.notes);
    // An application still under review when the policy closes is carried to its successor.
    let pending = w.svc.apply(&w.ent, special("年底项目", 1_000_000_00, 100_000_00)).await.unwrap();
    let mut successor = suanli_incentives::policy_programmes().remove(1);
    successor.code = "hz27-special-model".into();
    successor.policy = "后续政策（2027）".into();
    successor.open_from_ms = suanli_core::time::days_from_civil(2027, 1, 1) * DAY - 8 * 3_600_000;
    successor.open_until_ms = suanli_core::time::days_from_civil(2028, 1, 1) * DAY;
    w.svc.create_programme(&w.op, successor).await.unwrap();
    match w.svc.carry(&w.op, "hz55-special-model", "hz27-special-model").await {
        Err(suanli_store::StoreError::Domain(e)) => assert_eq!(e.code, ErrorCode::WrongStage, "not before the policy closes"),
        other => panic!("{other:?}"),
    }
    // After 2026-12-31 the policy takes no application.
    w.clock.set(suanli_core::time::days_from_civil(2027, 1, 2) * DAY);
    match w.svc.apply(&w.ent, special("新项目", 1_000_00, 100_00)).await {
        Err(suanli_store::StoreError::Domain(e)) => assert_eq!(e.code, ErrorCode::ProgrammeClosed),
        other => panic!("{other:?}"),
    }
    let moved = w.svc.carry(&w.op, "hz55-special-model", "hz27-special-model").await.unwrap();
    assert_eq!(moved.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), [pending.id.as_str()], "only the undecided one");
    let carried = w.svc.application(&w.op, &pending.id).await.unwrap();
    assert_eq!((carried.programme.as_str(), carried.stage, carried.year), ("hz27-special-model", Stage::UnderReview, 2027));
    assert!(carried.notes.last().unwrap().contains("carried from hz55-special-model"));
    assert_eq!(w.svc.application(&w.op, &big.id).await.unwrap().programme, "hz55-special-model", "decided awards stay");
}

/// Nothing stored but the demo's one application (its round seeded by `serve --demo`, its
/// publicity marked over so that it can be decided at once).
async fn only_the_demos(op: &crate::harness::Api) {
    let (_, all) = op.get("/api/v1/incentives/applications").await;
    let all = all.as_array().cloned().unwrap_or_default();
    assert_eq!(all.len(), 1, "{all:?}");
    let notes = all[0]["notes"].as_array().cloned().unwrap_or_default();
    assert!(notes.iter().any(|n| n.as_str().is_some_and(|n| n.starts_with("demo: publicity marked over"))), "{notes:?}");
    assert_eq!(all[0]["stage"], "publicity");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_surface_applies_reviews_ranks_and_refuses_by_code() {
    let ts = TestServer::start().await;
    let (op, ten) = (ts.as_role("operator"), ts.as_role("tenant"));
    let (_, programmes) = ten.get("/api/v1/incentives/programmes").await;
    assert_eq!(programmes.as_array().unwrap().len(), 9, "the policy's programmes are seeded");
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let body = |requested: &str, docs: Value| json!({"programme": "hz55-special-model", "project": "城市交通大模型", "cost": "1000000", "requested": requested, "documents": docs});
    let docs = json!([
        {"kind": "rd_cost_audit", "name": "audit.pdf", "content_base64": b64("audit")},
        {"kind": "model_evaluation", "name": "eval.pdf", "content_base64": b64("eval")},
    ]);
    for (b, status, code) in [
        (body("300000.01", docs.clone()), 409, "cap_exceeded"),
        (body("100000", json!([{"kind": "rd_cost_audit", "name": "a.pdf", "content_base64": b64("a")}])), 422, "missing_evidence"),
        (body("100000", json!([{"kind": "rd_cost_audit", "name": "a.pdf", "content_base64": "***"}])), 422, "missing_evidence"),
        (
            json!({"programme": "nope", "project": "p", "cost": "1", "requested": "1", "documents": []}),
            404,
            "incentive_programme_not_found",
        ),
    ] {
        let (s, v) = ten.post("/api/v1/incentives/applications", &b).await;
        assert_eq!((s.as_u16(), v["code"].as_str()), (status, Some(code)), "{v}");
    }
    only_the_demos(&op).await;
    let (s, a) = ten.post("/api/v1/incentives/applications", &body("300000", docs.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    let (s, v) = ten.post("/api/v1/incentives/applications", &body("100000", docs)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("duplicate_application")));
    // The expert pool: experts are users with their own tokens; the operator assigns them, and
    // each scores what it is assigned, as itself.
    let scores = json!({"innovation": 90, "application": 80, "team": 85});
    let review_path = format!("/api/v1/incentives/applications/{id}/reviews");
    for who in [&op, &ten] {
        let (s, v) = who.post(&review_path, &json!({"scores": scores})).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "only experts score: {v}");
    }
    let (s, v) = op.post(&review_path, &json!({"expert": "x", "organisation_uscc": "y", "scores": scores})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown_field")),
        "the operator no longer records scores for experts: {v}"
    );
    assert_eq!(ten.post("/api/v1/incentives/experts", &json!({"name": "x", "organisation_uscc": "y"})).await.0, StatusCode::FORBIDDEN);
    let (s, v) = op.post("/api/v1/incentives/experts", &json!({"name": "坏码", "organisation_uscc": "91330106MA27XY7KL0"})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_uscc")), "{v}");
    let (s, v) = op.post("/api/v1/users", &json!({"name": "x", "role": "expert"})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")),
        "experts join the pool with their employer: {v}"
    );
    let (_, tenants) = ten.get("/api/v1/tenants").await;
    let own_uscc = tenants["items"][0]["uscc"].as_str().unwrap().to_string();
    let (s, insider) = op.post("/api/v1/incentives/experts", &json!({"name": "内部专家", "organisation_uscc": own_uscc})).await;
    assert_eq!(s, StatusCode::CREATED, "{insider}");
    let assign = |expert: &Value| json!({"expert": expert["expert"]["id"]});
    let (s, v) = op.post(&format!("/api/v1/incentives/applications/{id}/assignments"), &assign(&insider)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("conflict_of_interest")), "{v}");
    for (i, e) in ["甲", "乙", "丙"].iter().enumerate() {
        let org = uscc("330108", &format!("EXP{i}00000"));
        let (s, x) = op.post("/api/v1/incentives/experts", &json!({"name": e, "organisation_uscc": org.as_str()})).await;
        assert_eq!(s, StatusCode::CREATED, "{x}");
        let me = op.with_token(x["token"].as_str().unwrap());
        assert_eq!(me.get("/api/v1/incentives/applications").await.1, json!([]), "nothing before it is assigned");
        assert_eq!(me.post(&review_path, &json!({"scores": scores})).await.0, StatusCode::NOT_FOUND);
        let (s, v) = op.post(&format!("/api/v1/incentives/applications/{id}/assignments"), &assign(&x)).await;
        assert_eq!((s, v["assigned"].as_array().map(Vec::len)), (StatusCode::CREATED, Some(i + 1)), "{v}");
        let (_, mine) = me.get("/api/v1/incentives/applications").await;
        assert_eq!(mine.as_array().map(|a| a.iter().map(|x| x["id"].clone()).collect::<Vec<_>>()), Some(vec![json!(id)]));
        assert_eq!(me.get("/api/v1/jobs").await.0, StatusCode::FORBIDDEN, "an expert sees nothing else of the platform");
        assert_eq!(me.get("/api/v1/incentives/totals").await.0, StatusCode::FORBIDDEN);
        let sha = a["evidence"][0]["sha256"].as_str().unwrap();
        let (s, _, doc) = me.get_bytes(&format!("/api/v1/incentives/documents/{sha}")).await;
        assert_eq!((s, doc.as_slice()), (StatusCode::OK, &b"audit"[..]), "it reads the evidence it scores");
        let (s, v) = me.post(&review_path, &json!({"scores": scores})).await;
        assert_eq!(
            (s, v["scored"].as_array().map(Vec::len), &v["score"]),
            (StatusCode::CREATED, Some(1), &Value::Null),
            "its own scores only: {v}"
        );
    }
    assert_eq!(
        ten.get_bytes(&format!("/api/v1/incentives/documents/{}", a["evidence"][0]["sha256"].as_str().unwrap())).await.0,
        StatusCode::FORBIDDEN
    );
    // The demo's expert scores through the CLI once assigned; out of range is refused first.
    let demo_expert = ts.as_role("expert").get("/api/v1/me").await.1["user_id"].clone();
    assert_eq!(
        op.post(&format!("/api/v1/incentives/applications/{id}/assignments"), &json!({"expert": demo_expert})).await.0,
        StatusCode::CREATED
    );
    let (ok, _, err) = crate::harness::cli(
        &ts,
        "expert",
        &["incentives", "review", &id, "--score", "innovation=101", "--score", "application=1", "--score", "team=1"],
    )
    .await;
    assert!(!ok && err.contains("invalid_review"), "{err}");
    let (ok, out, err) = crate::harness::cli(
        &ts,
        "expert",
        &["-o", "json", "incentives", "review", &id, "--score", "innovation=70", "--score", "application=70", "--score", "team=70"],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["scored"][0]["expert_id"], demo_expert);
    let (_, full) = op.get(&format!("/api/v1/incentives/applications/{id}")).await;
    assert_eq!((full["reviews"].as_u64(), full["assigned"].as_array().map(Vec::len)), (Some(4), Some(4)), "{full}");
    let (s, ranked) = op.post("/api/v1/incentives/programmes/hz55-special-model/ranking", &json!({})).await;
    assert_eq!(s, StatusCode::OK, "{ranked}");
    assert_eq!(ranked[0]["stage"], "publicity");
    let (s, v) = ts
        .as_role("provider")
        .post(&format!("/api/v1/incentives/applications/{id}/objections"), &json!({"text": "申报材料与实际不符"}))
        .await;
    assert_eq!((s, v["objections"].as_array().map(Vec::len)), (StatusCode::CREATED, Some(1)));
    let (s, v) = op.post(&format!("/api/v1/incentives/applications/{id}/decision"), &json!({})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("wrong_stage")), "publicity has five working days: {v}");
    // The demo's application, whose publicity is marked over, is decided and paid at once.
    let (_, all) = op.get("/api/v1/incentives/applications").await;
    let demo = all.as_array().unwrap().iter().find(|a| a["id"] != id.as_str()).unwrap()["id"].as_str().unwrap().to_string();
    let (s, v) = op.post(&format!("/api/v1/incentives/applications/{demo}/decision"), &json!({})).await;
    assert_eq!((s, v["stage"].as_str(), v["paid"].as_str()), (StatusCode::OK, Some("awarded"), Some("300000.00")), "{v}");
    let (_, totals) = ts.as_role("regulator").get("/api/v1/incentives/totals").await;
    let t = totals.as_array().unwrap().iter().find(|t| t["programme"] == "hz55-special-model").unwrap();
    assert_eq!((t["committed"].as_str(), t["disbursed"].as_str()), (Some("600000.00"), Some("300000.00")), "this one and the demo's");
    // Exports for the city: CSV of totals, by district, and every application with its evidence.
    let (s, ctype, csv) = ts.as_role("regulator").get_bytes("/api/v1/incentives/totals?format=csv").await;
    let csv = String::from_utf8(csv).unwrap();
    assert!(s == StatusCode::OK && ctype.starts_with("text/csv") && csv.starts_with("programme,year,budget"), "{csv}");
    assert!(csv.contains("hz55-special-model,") && csv.contains(",300000.00,"), "{csv}");
    let (_, apps_csv) = {
        let (s, _, b) = op.get_bytes("/api/v1/incentives/applications?format=csv").await;
        (s, String::from_utf8(b).unwrap())
    };
    assert!(apps_csv.contains(&id) && apps_csv.contains("rd_cost_audit:"), "{apps_csv}");
    let (s, v) = op.get("/api/v1/incentives/totals?by=district").await;
    assert_eq!((s, v.as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "only the demo's award is paid yet: {v}");
    assert_eq!((v[0]["district"].as_str(), v[0]["paid"].as_str()), (Some("hz-binjiang"), Some("300000.00")), "{v}");
    let (s, v) = op.get("/api/v1/incentives/totals?by=centre").await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")));

    // Partner selection from measured data: every demo centre scored, for the operator and the regulator.
    let (s, scores) = ts.as_role("regulator").get("/api/v1/partners/scores").await;
    assert_eq!(s, StatusCode::OK, "{scores}");
    let (_, centres) = op.get("/api/v1/centres").await;
    let n = centres.as_array().or_else(|| centres["items"].as_array()).map_or(0, Vec::len);
    assert_eq!(scores.as_array().unwrap().len(), n, "one score per centre");
    for sc in scores.as_array().unwrap() {
        let t = sc["score"]["total"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&t) && sc["measures"]["fp16_tflops"].as_f64().unwrap() > 0.0, "{sc}");
        assert_eq!(sc["score"]["admitted"].as_bool().unwrap(), sc["score"]["reasons"].as_array().unwrap().is_empty(), "{sc}");
        // Each shortfall both in English words and typed: its code and figures, in the same order.
        let (words, typed) = (sc["score"]["reasons"].as_array().unwrap(), sc["score"]["reason_details"].as_array().unwrap());
        assert_eq!(words.len(), typed.len(), "{sc}");
        for (w, t) in words.iter().zip(typed) {
            let back: suanli_incentives::partner::PartnerReason = serde_json::from_value(t.clone()).unwrap();
            assert_eq!((w.as_str(), t["code"].as_str()), (Some(back.to_string().as_str()), Some(back.code())), "{sc}");
        }
    }
    assert_eq!(ten.get("/api/v1/partners/scores").await.0, StatusCode::FORBIDDEN);
    // The same scores from the CLI, as the issue names it.
    let (ok, out, err) = crate::harness::cli(&ts, "regulator", &["--output", "json", "partners", "scores"]).await;
    assert!(ok, "{err}");
    let from_cli: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(from_cli.as_array().map(Vec::len), Some(n), "{out}");
    let (_, mut cfg) = op.get("/api/v1/partners/config").await;
    cfg["weight_price"] = json!(40);
    let (s, v) = op.put("/api/v1/partners/config", &cfg).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_criteria")), "weights must add up to 100: {v}");
    cfg["weight_price"] = json!(15);
    cfg["min_total"] = json!(0.0);
    assert_eq!(op.put("/api/v1/partners/config", &cfg).await.0, StatusCode::OK);
    assert_eq!(op.get("/api/v1/partners/config").await.1["min_total"], 0.0);
    // The service standard: once a partner has a record, a median start slower than the standard is an alert.
    let (s, job) = ten
        .post(
            "/api/v1/jobs",
            &json!({"name": "sla-probe", "kind": "training", "accelerators": 1, "min_fp16_tflops": 300.0, "duration_s": 60}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{job}");
    let job = crate::harness::wait_for_final(&ten, job["id"].as_str().unwrap(), std::time::Duration::from_secs(30)).await;
    assert_eq!(op.get("/api/v1/partners/alerts").await.1, json!([]), "one job is no record under the default standard");
    cfg["sla_min_jobs"] = json!(1);
    cfg["sla_max_start_latency_s"] = json!(0.0);
    assert_eq!(op.put("/api/v1/partners/config", &cfg).await.0, StatusCode::OK);
    let (_, alerts) = ts.as_role("regulator").get("/api/v1/partners/alerts").await;
    let (_, centre) = op.get(&format!("/api/v1/centres/{}", job["centre_id"].as_str().unwrap())).await;
    let waited = job["started_ms"].as_i64().unwrap() > job["placed_ms"].as_i64().unwrap() && centre["partner_status"] == "partner";
    let here = alerts.as_array().unwrap().iter().filter(|a| a["centre_id"] == job["centre_id"] && a["what"] == "start_latency").count();
    assert_eq!(here, usize::from(waited), "an alert exactly when the job waited to start at a partner: {alerts} {job} {centre}");
    assert_eq!(ten.get("/api/v1/partners/alerts").await.0, StatusCode::FORBIDDEN);
    // The yearly review suspends partners that fail the criteria, with the reasons audited. The
    // test server's centres have no measured PUE, so every partner fails "not metered".
    let (s, changes) = op.post("/api/v1/partners/rounds", &json!({"kind": "review"})).await;
    assert_eq!(s, StatusCode::OK, "{changes}");
    let changes = changes.as_array().unwrap().clone();
    assert!(!changes.is_empty() && changes.iter().all(|c| c["from"] == "partner" && c["to"] == "suspended"), "{changes:?}");
    let first = changes[0]["centre_id"].as_str().unwrap();
    let (_, audit) = op.get(&format!("/api/v1/audit?subject={first}")).await;
    assert!(audit["items"][0]["detail"]["reasons"].to_string().contains("not metered"), "{audit}");
    assert!(
        audit["items"][0]["detail"]["reason_details"].as_array().unwrap().iter().any(|r| r == &json!({"code": "no_measured_pue"})),
        "{audit}"
    );
    for c in &changes {
        assert_eq!(c["reason_details"].as_array().map(Vec::len), c["reasons"].as_array().map(Vec::len), "{c}");
        assert!(c["reason_details"].as_array().unwrap().iter().any(|r| r["code"] == "no_measured_pue"), "{c}");
    }
    // The centre's partner-status history keeps the round's change, by the operator, typed.
    let (_, history) = ten.get(&format!("/api/v1/centres/{first}/partner-history")).await;
    let latest = &history[0];
    assert_eq!((latest["from"].as_str(), latest["to"].as_str()), (Some("partner"), Some("suspended")), "{history}");
    assert!(latest["by"].as_str().unwrap().starts_with("operator:"), "{history}");
    assert!(latest["reasons"].as_array().unwrap().iter().any(|r| r == &json!({"code": "no_measured_pue"})), "{history}");
    assert_eq!(ten.post("/api/v1/partners/rounds", &json!({"kind": "review"})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(op.post("/api/v1/partners/rounds", &json!({"kind": "lottery"})).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    // The page shows the programme's figures and the application, with its evidence for the regulator.
    let web = crate::harness::Web::sign_in(&ts.url, &ts.tokens["regulator"]).await.unwrap();
    let zh = web.page("/incentives").await;
    for want in ["专用模型研发补助", "城市交通大模型", "公示中", "研发费用审计报告"] {
        assert!(zh.contains(want), "the regulator's page shows {want}");
    }
    assert!(zh.contains(r#"id="partners-link""#), "the incentives page links to the partner scores");
    let en = web.page("/incentives?lang=en").await;
    assert!(en.contains("Special model R&amp;D subsidy") && en.contains("in publicity") && !en.contains("公示中"));
    // The partner scores (on their own page) give the shortfalls in the page's language, from
    // their typed form (never marked as untranslated English).
    let zh = web.page("/partners").await;
    assert!(
        zh.contains("算力伙伴遴选评分") && zh.contains("无实测 PUE：该中心的能耗未接入平台计量") && !zh.contains("原文，未翻译"),
        "{zh}"
    );
    let en = web.page("/partners?lang=en").await;
    assert!(en.contains(r#"data-code="no_measured_pue""#) && en.contains(">no measured PUE: the centre's energy is not metered"), "{en}");
    let (_, audit) = op.get(&format!("/api/v1/audit?subject={id}")).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    for want in ["incentive.apply", "incentive.assign", "incentive.review", "incentive.object"] {
        assert!(actions.contains(&want), "{actions:?}");
    }
}

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
    let store = Store::connect(&url, StoreOptions { pg_schema: Some(schema.clone()), ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is required for this test (.ci/run starts it): {e}"));
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
    let store = Store::connect(&url, StoreOptions { pg_schema: Some(schema.clone()), ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is required for this test (.ci/run starts it): {e}"));
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
