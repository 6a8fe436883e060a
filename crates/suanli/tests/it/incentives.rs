//! Incentive programmes end to end: applications refused by code and changing nothing, expert reviews with conflicts, ranking into publicity, objections, decisions after publicity on a clock the test moves, 从优、就高、不重复 across programmes, payment from the city's and the district's budgets, and the HTTP surface by role (the awards resting on what the platform recorded are in `incentives_providers`).
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
use suanli_core::error::ErrorCode;
use suanli_core::id::{TenantId, UserId};
use suanli_core::ident::{Uscc, uscc_check_char};
use suanli_core::money::Fen;
use suanli_core::tenant::Tenant;
use suanli_core::time::{Clock, ManualClock};
use suanli_incentives::{Facts, Stage};
use suanli_store::{LedgerService, Store, StoreOptions};

pub(crate) const DAY: i64 = 86_400_000;

pub(crate) fn uscc(division: &str, serial: &str) -> Uscc {
    let first17 = format!("91{division}{serial}");
    Uscc::parse(&format!("{first17}{}", uscc_check_char(&first17).unwrap())).unwrap()
}

pub(crate) fn doc(kind: &str) -> Document {
    Document { kind: kind.into(), name: format!("{kind}.pdf"), body: format!("%PDF {kind}").into_bytes() }
}

/// The same score on each of the special-model criteria.
pub(crate) fn scores(s: f64) -> BTreeMap<String, f64> {
    [("innovation", s), ("application", s), ("team", s)].iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// An expert the operator adds to the pool, as the caller it signs in as.
pub(crate) async fn expert(w: &World, name: &str, org: &Uscc) -> Caller {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let token_hash = format!("{:064x}", N.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let e = w.svc.add_expert(&w.op, name, org.as_str(), token_hash).await.unwrap();
    Caller::Expert { user: UserId::parse(&e.id).unwrap() }
}

pub(crate) fn id_of(c: &Caller) -> String {
    c.user().to_string()
}

pub(crate) struct World {
    pub(crate) svc: Incentives,
    pub(crate) store: Store,
    pub(crate) ledger: LedgerService,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) op: Caller,
    pub(crate) ent: Caller,
    pub(crate) ent_uscc: Uscc,
    pub(crate) beijing: Caller,
    pub(crate) _dir: tempfile::TempDir,
}

pub(crate) async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}/s.db?mode=rwc", dir.path().display()), StoreOptions::default()).await.unwrap();
    world_on(store, dir).await
}

pub(crate) async fn world_on(store: Store, dir: tempfile::TempDir) -> World {
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

pub(crate) fn special(project: &str, cost: i64, requested: i64) -> ApplyRequest {
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
pub(crate) async fn reviewed(w: &World, id: &str, score: f64) {
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
pub(crate) async fn only_the_demos(op: &crate::harness::Api) {
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
