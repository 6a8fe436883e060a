//! The store suite: one set of checks, run against SQLite and against PostgreSQL.

use crate::harness::{pg_url, unique_schema};
use std::collections::BTreeMap;
use suanli_core::centre::{Centre, CentreKind, PartnerStatus, Pool, Provider};
use suanli_core::error::ErrorCode;
use suanli_core::id::{AuditId, CentreId, JobId, PoolId, ProviderId, TenantId, UserId};
use suanli_core::ident::Uscc;
use suanli_core::job::Fault;
use suanli_core::job::{Job, JobKind, JobSpec, JobState, Segment, SegmentEnd};
use suanli_core::money::Fen;
use suanli_core::reason::{Canceller, JobReason, StatedReason};
use suanli_core::tenant::{Role, Tenant};
use suanli_incentives::partner::{PartnerChange, PartnerReason};
use suanli_store::partners::ChangeBy;
use suanli_store::{Audit, EndRow, JobFilter, NewUser, Store, StoreError, StoreOptions};

fn audit(n: u64, action: &str, subject: &str) -> Audit {
    Audit {
        id: AuditId::generate(1_000 + n as i64, n),
        at_ms: 1_000 + n as i64,
        actor: "test:suite".into(),
        action: action.into(),
        subject: subject.into(),
        detail: serde_json::json!({"n": n}),
    }
}

fn job(n: u64, tenant: &TenantId, accelerators: u32) -> Job {
    let mut spec = JobSpec::new(&format!("job-{n}"), JobKind::Training, accelerators, 3600);
    spec.models = vec!["h800".into()];
    spec.data_region = Some("hangzhou".into());
    spec.max_price_per_hour = Some(Fen(2500));
    spec.data_gb = Some(20.0);
    spec.preemptible = true;
    Job::pending(JobId::generate(10_000 + n as i64, n), tenant.clone(), spec, 10_000 + n as i64)
}

async fn suite(store: Store) {
    // Registry round trip.
    let provider = Provider { id: ProviderId::generate(1, 1), name: "测试云".into(), name_en: "Test Cloud".into(), registration: None };
    let centre = Centre {
        id: CentreId::generate(2, 2),
        provider_id: provider.id.clone(),
        name: "滨江智算中心".into(),
        name_en: "Binjiang AI".into(),
        kind: CentreKind::IntelligentComputing,
        region: "hz-binjiang".into(),
        partner_status: PartnerStatus::Applicant,
        commissioned_ms: 1_700_000_000_000,
        declared_pue: 1.21,
        racks: 300,
        rtt_ms: BTreeMap::from([("hangzhou".to_string(), 2)]),
        created_ms: 5,
    };
    let pool = Pool {
        id: PoolId::generate(3, 3),
        centre_id: centre.id.clone(),
        accelerator: "h800".into(),
        nodes: 4,
        accelerators_per_node: 8,
        price_per_hour: Fen(2000),
        partner_discount_pct: 10,
        created_ms: 6,
    };
    let tenant = Tenant {
        id: TenantId::generate(4, 4),
        name: "杭州测试科技有限公司".into(),
        name_en: "HZ Test".into(),
        uscc: Uscc::parse("9144030071526726XG").unwrap(),
        sme: true,
        region: "hz-xihu".into(),
        created_ms: 7,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_provider(&provider, 1).await.unwrap();
    tx.insert_centre(&centre, "operator:usr_reg").await.unwrap();
    tx.insert_pool(&pool).await.unwrap();
    tx.insert_tenant(&tenant).await.unwrap();
    tx.audit(&audit(1, "registry.seed", "suite")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.providers().await.unwrap(), vec![provider.clone()]);
    assert_eq!(store.centre(&centre.id).await.unwrap().as_ref(), Some(&centre));
    assert_eq!(store.centres(Some(&provider.id)).await.unwrap(), vec![centre.clone()]);
    assert_eq!(store.centres(Some(&ProviderId::generate(9, 9))).await.unwrap(), vec![]);
    assert_eq!(store.pools_of(&centre.id).await.unwrap(), vec![pool.clone()]);
    assert_eq!(store.tenant(&tenant.id).await.unwrap().as_ref(), Some(&tenant));

    // A duplicate credit code is refused and the transaction leaves nothing behind.
    let twin = Tenant { id: TenantId::generate(5, 5), ..tenant.clone() };
    let mut tx = store.begin().await.unwrap();
    match tx.insert_tenant(&twin).await {
        Err(StoreError::Domain(e)) => assert_eq!(e.code, ErrorCode::DuplicateUscc),
        other => panic!("expected duplicate_uscc, got {other:?}"),
    }
    drop(tx);
    assert_eq!(store.tenants().await.unwrap().len(), 1);

    // A transaction dropped without commit writes nothing, audit included.
    let mut tx = store.begin().await.unwrap();
    tx.insert_job(&job(99, &tenant.id, 8)).await.unwrap();
    tx.audit(&audit(99, "job.submit", "uncommitted")).await.unwrap();
    drop(tx);
    assert!(store.job(&job(99, &tenant.id, 8).id).await.unwrap().is_none());
    assert!(store.audit_log(Some("uncommitted"), 10).await.unwrap().is_empty());

    // Partner status changes, reports the old one and records each change in the centre's
    // history in the same commit (the registration first); a change rolled back leaves none.
    let low = [PartnerReason::TotalBelowAdmission { total: 55.0, min: 60.0 }];
    let by = |at_ms, reason, reasons| ChangeBy { at_ms, by: "operator:usr_op", reason, reasons };
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.set_partner_status(&centre.id, PartnerStatus::Partner, &by(20, Some("符合条件 'ok'"), &[])).await.unwrap(),
        PartnerStatus::Applicant
    );
    assert_eq!(tx.set_partner_status(&centre.id, PartnerStatus::Suspended, &by(30, None, &low)).await.unwrap(), PartnerStatus::Partner);
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.set_partner_status(&centre.id, PartnerStatus::Partner, &by(40, None, &[])).await.unwrap();
    drop(tx);
    assert_eq!(store.centre(&centre.id).await.unwrap().unwrap().partner_status, PartnerStatus::Suspended);
    let change = |from, to, at_ms, by: &str, reason: Option<&str>, reasons: &[PartnerReason]| PartnerChange {
        centre_id: centre.id.to_string(),
        from,
        to,
        at_ms,
        by: by.into(),
        reason: reason.map(Into::into),
        reasons: reasons.to_vec(),
    };
    let history = vec![
        change(Some(PartnerStatus::Partner), PartnerStatus::Suspended, 30, "operator:usr_op", None, &low),
        change(Some(PartnerStatus::Applicant), PartnerStatus::Partner, 20, "operator:usr_op", Some("符合条件 'ok'"), &[]),
        change(None, PartnerStatus::Applicant, 5, "operator:usr_reg", None, &[]),
    ];
    assert_eq!(store.partner_history(Some(&centre.id)).await.unwrap(), history);
    assert_eq!(store.partner_history(None).await.unwrap(), history);
    assert!(store.partner_history(Some(&CentreId::generate(9, 9))).await.unwrap().is_empty());
    let mut tx = store.begin().await.unwrap();
    tx.set_partner_status(&centre.id, PartnerStatus::Partner, &by(40, None, &[])).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.centre(&centre.id).await.unwrap().unwrap().partner_status, PartnerStatus::Partner);
    assert_eq!(store.partner_history(Some(&centre.id)).await.unwrap()[0].to, PartnerStatus::Partner);

    // Users and tokens.
    let mut tx = store.begin().await.unwrap();
    let user = NewUser {
        id: UserId::generate(6, 6),
        name: "t".into(),
        role: Role::Tenant,
        tenant_id: Some(tenant.id.clone()),
        provider_id: None,
        token_sha256_hex: "ab".repeat(32),
        created_ms: 8,
    };
    tx.insert_user(&user).await.unwrap();
    tx.commit().await.unwrap();
    let p = store.principal_by_token(&"ab".repeat(32)).await.unwrap().unwrap();
    assert_eq!((p.role, p.tenant_id.as_ref()), (Role::Tenant, Some(&tenant.id)));
    assert!(store.principal_by_token(&"cd".repeat(32)).await.unwrap().is_none());

    // Jobs: insert, legal and illegal transitions, each with its audit record.
    let mut tx = store.begin().await.unwrap();
    for n in 0..5 {
        tx.insert_job(&job(n, &tenant.id, 8)).await.unwrap();
    }
    tx.commit().await.unwrap();
    let j0 = job(0, &tenant.id, 8).id;
    let placed = store
        .transition_job(&j0, JobState::Placed, audit(10, "job.placed", j0.as_str()), |j| {
            j.pool_id = Some(pool.id.clone());
            j.centre_id = Some(centre.id.clone());
            j.placed_ms = Some(20_000);
        })
        .await
        .unwrap();
    assert_eq!(placed.state, JobState::Placed);
    let before = store.job(&j0).await.unwrap().unwrap();
    match store.transition_job(&j0, JobState::Succeeded, audit(11, "job.succeeded", j0.as_str()), |j| j.cost = Some(Fen(1))).await {
        Err(StoreError::Domain(e)) => assert_eq!(e.code, ErrorCode::IllegalTransition),
        other => panic!("expected illegal_transition, got {other:?}"),
    }
    assert_eq!(store.job(&j0).await.unwrap().unwrap(), before, "an illegal transition changes nothing");
    let audits = store.audit_log(Some(j0.as_str()), 10).await.unwrap();
    assert_eq!(audits.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(), vec!["job.placed"], "only the committed change is audited");
    match store.transition_job(&JobId::generate(1, 1), JobState::Placed, audit(12, "x", "y"), |_| {}).await {
        Err(StoreError::Domain(e)) => assert_eq!(e.code, ErrorCode::JobNotFound),
        other => panic!("expected job_not_found, got {other:?}"),
    }
    store.transition_job(&j0, JobState::Running, audit(13, "job.started", j0.as_str()), |j| j.started_ms = Some(21_000)).await.unwrap();
    let done = store
        .transition_job(&j0, JobState::Succeeded, audit(14, "job.succeeded", j0.as_str()), |j| {
            j.finished_ms = Some(22_000);
            j.usage_s = Some(3600);
            j.cost = Some(Fen(14_400));
        })
        .await
        .unwrap();
    assert_eq!(store.job(&j0).await.unwrap().unwrap(), done);

    // Metering of a job is recorded once.
    let j1 = job(1, &tenant.id, 8).id;
    store.transition_job(&j1, JobState::Cancelled, audit(15, "job.cancel", j1.as_str()), |j| j.finished_ms = Some(1)).await.unwrap();
    assert!(store.record_usage(&j1, 10, Fen(5), audit(16, "job.metered", j1.as_str())).await.unwrap());
    assert!(!store.record_usage(&j1, 20, Fen(9), audit(17, "job.metered", j1.as_str())).await.unwrap());
    assert_eq!(store.job(&j1).await.unwrap().unwrap().usage_s, Some(10));

    // Listing: newest first, filters, cursor pagination.
    let all = store.jobs(&JobFilter { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(all.len(), 5);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let pending = store.jobs(&JobFilter { states: vec![JobState::Pending], limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(pending.len(), 3);
    let page1 = store.jobs(&JobFilter { limit: 2, ..Default::default() }).await.unwrap();
    let page2 = store.jobs(&JobFilter { limit: 2, before: Some(page1[1].id.clone()), ..Default::default() }).await.unwrap();
    assert_eq!(page2[0].id, all[2].id);
    let on_centre = store.jobs(&JobFilter { centre_id: Some(centre.id.clone()), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(on_centre.iter().map(|j| &j.id).collect::<Vec<_>>(), vec![&j0]);
    let of_provider = store.jobs(&JobFilter { provider_id: Some(provider.id.clone()), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(of_provider.len(), 1);
    let counts = store.job_counts().await.unwrap();
    assert!(
        counts.contains(&(JobState::Pending, 3))
            && counts.contains(&(JobState::Succeeded, 1))
            && counts.contains(&(JobState::Cancelled, 1))
    );
    assert_eq!(store.jobs_in_states(&[JobState::Pending]).await.unwrap().len(), 3);

    // A foreign key the database enforces: a pool in a centre that does not exist.
    let mut tx = store.begin().await.unwrap();
    let orphan = Pool { id: PoolId::generate(7, 7), centre_id: CentreId::generate(8, 8), ..pool.clone() };
    assert!(tx.insert_pool(&orphan).await.is_err(), "foreign keys are on");
}

/// Jobs' reasons are read back as they were written, typed through every path that writes
/// one (a new job, a waiting reason alone and many a statement, a transition, a run's end, a
/// time-sliced run's segment); a reason with only its English text (a row from before reasons
/// were typed) reads as untyped.
async fn reasons_suite(store: Store) {
    let tenant = TenantId::generate(4, 4);
    let pool = PoolId::generate(3, 3);
    let ids: Vec<JobId> = (50..54).map(|n| job(n, &tenant, 8).id).collect();
    let mut first = job(50, &tenant, 8);
    first.reason = Some(JobReason::WaitingForAccelerators { accelerators: 8 }.into());
    let mut tx = store.begin().await.unwrap();
    tx.insert_jobs(&[first, job(51, &tenant, 8), job(52, &tenant, 8), job(53, &tenant, 8)]).await.unwrap();
    tx.commit().await.unwrap();
    let read = |id: JobId| {
        let store = store.clone();
        async move { store.job(&id).await.unwrap().unwrap().reason }
    };
    assert_eq!(read(ids[0].clone()).await, Some(JobReason::WaitingForAccelerators { accelerators: 8 }.into()));

    let reserved = JobReason::Reserved { accelerators: 8, pool: pool.clone(), start_ms: 1_764_000_000_000 };
    store.set_job_reason(&ids[1], &reserved).await.unwrap();
    assert_eq!(read(ids[1].clone()).await, Some(reserved.clone().into()));
    let better = JobReason::WaitingForBetterPool { best_free_yuan: 1_200, busy_yuan: 800, wait_yuan_per_hour: 5 };
    let funds = JobReason::WaitingForFunds { estimate: Fen(150_050), voucher_pct: 30, cash_available: Fen(7) };
    let mut tx = store.begin().await.unwrap();
    tx.set_job_reasons(&[(&ids[2], &better), (&ids[3], &funds)]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!((read(ids[2].clone()).await, read(ids[3].clone()).await), (Some(better.into()), Some(funds.clone().into())));
    let changed = store.jobs_changed_since(0, &[]).await.unwrap();
    assert!(changed.jobs.iter().any(|j| j.id == ids[3] && j.reason.as_ref().is_some_and(|r| r.is(&funds))), "the engine's read too");

    // A tenant's note with quotes and Chinese, through a transition.
    let cancelled = JobReason::Cancelled { by: Canceller::Tenant, note: Some("it's \"wrong\" 数据有误".into()) };
    let c = cancelled.clone();
    store
        .transition_job(&ids[0], JobState::Cancelled, audit(50, "job.cancel", ids[0].as_str()), |j| j.reason = Some(c.into()))
        .await
        .unwrap();
    assert_eq!(read(ids[0].clone()).await, Some(cancelled.into()));

    // A run's end as its backend reported it.
    store
        .transition_job(&ids[2], JobState::Placed, audit(51, "job.placed", ids[2].as_str()), |j| j.pool_id = Some(pool.clone()))
        .await
        .unwrap();
    store.transition_job(&ids[2], JobState::Running, audit(52, "job.started", ids[2].as_str()), |j| j.started_ms = Some(1)).await.unwrap();
    let failed = JobReason::Failed { detail: "simulated node failure".into() };
    let end = EndRow {
        id: &ids[2],
        failed: true,
        started_ms: None,
        finished_ms: 2,
        usage_s: 1,
        cost_fen: 0,
        fault: Some(Fault::Centre),
        reason: Some(failed.clone()),
    };
    let mut tx = store.begin().await.unwrap();
    assert!(tx.end_jobs(&[end]).await.unwrap().contains(&ids[2]));
    tx.commit().await.unwrap();
    let ended = store.job(&ids[2]).await.unwrap().unwrap();
    assert_eq!((ended.state, ended.reason), (JobState::Failed, Some(failed.into())));

    // A run that started and ended within one report moves from placed to its end in one
    // update, with its start; the end of a running job does not move a placed one, nor the
    // reverse.
    let through = job(54, &tenant, 8);
    let mut tx = store.begin().await.unwrap();
    tx.insert_jobs(std::slice::from_ref(&through)).await.unwrap();
    tx.commit().await.unwrap();
    let placed = audit(54, "job.placed", through.id.as_str());
    store.transition_job(&through.id, JobState::Placed, placed, |j| j.pool_id = Some(pool.clone())).await.unwrap();
    let end_of = |started_ms| EndRow {
        id: &through.id,
        started_ms,
        failed: false,
        finished_ms: 9,
        usage_s: 7,
        cost_fen: 5,
        fault: None,
        reason: None,
    };
    let mut tx = store.begin().await.unwrap();
    assert!(tx.end_jobs(&[end_of(None)]).await.unwrap().is_empty(), "a placed job is not running");
    assert!(tx.end_jobs(&[end_of(Some(2))]).await.unwrap().contains(&through.id));
    assert!(tx.end_jobs(&[end_of(Some(3))]).await.unwrap().is_empty(), "an ended job is no longer placed");
    tx.commit().await.unwrap();
    let j = store.job(&through.id).await.unwrap().unwrap();
    assert_eq!((j.state, j.started_ms, j.finished_ms, j.usage_s, j.cost), (JobState::Succeeded, Some(2), Some(9), Some(7), Some(Fen(5))));

    // English text alone, as rows written before reasons were typed hold it.
    let old = StatedReason::Untyped("cancelled by operator".into());
    let o = old.clone();
    store.transition_job(&ids[1], JobState::Cancelled, audit(53, "job.cancel", ids[1].as_str()), |j| j.reason = Some(o)).await.unwrap();
    let back = read(ids[1].clone()).await.unwrap();
    assert_eq!((back.typed(), back.to_string()), (None, old.to_string()));

    // A time-sliced run's reason, typed; and one with its English text alone, as segments
    // written before their reasons were typed hold it.
    let p = store.pools().await.unwrap().into_iter().next().expect("the suite registered a pool");
    let seg = |seq: u32, reason: StatedReason| Segment {
        job_id: ids[3].clone(),
        seq,
        centre_id: p.centre_id.clone(),
        pool_id: p.id.clone(),
        accelerator: p.accelerator.clone(),
        started_ms: 1,
        ended_ms: 2,
        usage_s: 1,
        work_ref_s: 1,
        cost: Fen(3),
        end: SegmentEnd::Yielded,
        reason,
    };
    let yielded: StatedReason = JobReason::LeaseYielded { policy: "suanli".into(), left_s: 600 }.into();
    let untyped = StatedReason::Untyped("its lease ended".into());
    let mut tx = store.begin().await.unwrap();
    tx.insert_segment(&seg(1, yielded.clone())).await.unwrap();
    tx.insert_segment(&seg(2, untyped.clone())).await.unwrap();
    tx.commit().await.unwrap();
    let segments = store.job_segments(&ids[3]).await.unwrap();
    assert_eq!(segments, [seg(1, yielded), seg(2, untyped)]);
}

#[tokio::test]
async fn store_suite_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    suite(store.clone()).await;
    reasons_suite(store.clone()).await;
    ledger_suite(store.clone()).await;
    models_suite(store.clone()).await;
    store.close().await;
    // Reopening runs no migration twice and finds the data.
    let again = Store::open_dir(dir.path()).await.unwrap();
    assert_eq!(again.tenants().await.unwrap().len(), 1);
}

#[tokio::test]
async fn store_suite_postgres() {
    let url = pg_url();
    let schema = unique_schema("suite");
    let store = crate::harness::pg_store(&schema).await;
    suite(store.clone()).await;
    reasons_suite(store.clone()).await;
    ledger_suite(store.clone()).await;
    models_suite(store.clone()).await;
    store.close().await;
    let again = Store::connect(&url, StoreOptions { pg_schema: Some(schema.clone()), ..Default::default() }).await.unwrap();
    assert_eq!(again.tenants().await.unwrap().len(), 1);
    again.close().await;
    Store::drop_schema(&url, &schema).await.unwrap();
}

/// Model keys and usage records through the ledger's writer (answered when decided, durable
/// behind a barrier), read back exactly — text with quotes, JSON, empty options — and summed
/// per day, key and model.
async fn models_suite(store: Store) {
    use std::sync::Arc;
    use suanli_core::model::{CallStatus, Endpoint, KeySpec, ModelCall, ModelKey, UsageSource};
    use suanli_store::models::UsageFilter;
    use suanli_store::{Effect, LedgerRequest, LedgerService};
    let tenant = store.tenants().await.unwrap()[0].id.clone();
    let provider = store.providers().await.unwrap()[0].id.clone();
    let clock: Arc<dyn suanli_core::time::Clock> = Arc::new(suanli_core::time::ManualClock::new(1_800_000_000_000));
    let ledger = LedgerService::start(store.clone(), clock, std::time::Duration::from_secs(3600)).await.unwrap();
    let key = ModelKey {
        id: "mk_0000000000010000000001".into(),
        tenant_id: tenant.clone(),
        spec: KeySpec {
            name: "it's a key".into(),
            models: vec![],
            budget: Fen(1_000),
            rpm: 0,
            tpm: 0,
            expires_ms: None,
            regions: vec!["hangzhou".into()],
            fallbacks: vec![],
        },
        prefix: "sk-sl-000000".into(),
        secret_sha256: "ab".repeat(32),
        created_ms: 1,
        revoked_ms: None,
    };
    ledger.submit_all(LedgerRequest { effects: vec![Effect::InsertModelKey(key.clone())], ..Default::default() }).await.unwrap();
    let call = |n: i64, status: CallStatus| ModelCall {
        id: format!("req_{n:022}"),
        key_id: key.id.clone(),
        tenant_id: tenant.clone(),
        model: "m-1".into(),
        endpoint: Endpoint::Chat,
        deployment: (status != CallStatus::Failed).then(|| "m-1#1".into()),
        provider_id: (status != CallStatus::Failed).then(|| provider.clone()),
        status,
        input_tokens: 10 + n as u64,
        output_tokens: 5,
        usage_source: UsageSource::Upstream,
        charge: Fen(if status == CallStatus::Failed { 0 } else { 3 }),
        voucher: Fen(if status == CallStatus::Failed { 0 } else { 1 }),
        cash: Fen(if status == CallStatus::Failed { 0 } else { 2 }),
        programme_id: None,
        started_ms: 1_800_000_000_000 + n,
        ttft_ms: (n % 2 == 0).then_some(12),
        duration_ms: 30,
        route: serde_json::json!({"why": "it's 'quoted'", "n": n}),
        error_code: (status == CallStatus::Failed).then(|| "upstream_error".into()),
    };
    let calls: Vec<ModelCall> = (0..5).map(|n| call(n, if n == 4 { CallStatus::Failed } else { CallStatus::Ok })).collect();
    let waits: Vec<_> = calls
        .iter()
        .map(|c| {
            ledger.submit_all_decided(LedgerRequest {
                effects: vec![Effect::InsertModelCall(std::sync::Arc::new(c.clone()))],
                ..Default::default()
            })
        })
        .collect();
    for w in waits {
        w.await.unwrap();
    }
    ledger.barrier().await.unwrap();
    assert_eq!(store.model_keys(Some(&tenant)).await.unwrap(), vec![key.clone()]);
    for c in &calls {
        assert_eq!(store.model_call(&c.id).await.unwrap().as_ref(), Some(c));
    }
    let usage = store.model_usage(&UsageFilter { tenant: Some(tenant.clone()), ..Default::default() }).await.unwrap();
    assert_eq!(usage.len(), 1);
    assert_eq!((usage[0].calls, usage[0].failed_calls, usage[0].charge, usage[0].input_tokens), (5, 1, Fen(12), 60));
    let unsettled = store.model_calls_unsettled(&provider, 0, 1_900_000_000_000).await.unwrap();
    assert_eq!(unsettled, (4, Fen(12), Fen(4), Fen(8)));
    // A record written again is left as it was.
    ledger
        .submit_all(LedgerRequest {
            effects: vec![Effect::InsertModelCall(std::sync::Arc::new(call(0, CallStatus::Partial)))],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(store.model_call(&calls[0].id).await.unwrap().unwrap().status, CallStatus::Ok);

    // A statement marks exactly what it counted. One counting a call more than is unsettled (a
    // record settled, or one arrived, since its plan) is refused whole with
    // `settlement_changed`, not written and marking nothing; the right count settles them all.
    use suanli_core::id::StatementId;
    use suanli_ledger::records::Statement;
    let end = 1_900_000_000_000;
    let statement = |n: u32, calls: u32| Statement {
        id: StatementId::generate(7, u64::from(n)),
        provider_id: provider.clone(),
        from_ms: 0,
        to_ms: end,
        bills: 0,
        model_calls: calls,
        data_deliveries: 0,
        charge: Fen(12),
        voucher: Fen(4),
        cash: Fen(8),
        outstanding: Fen(0),
        settled: Fen(12),
        transfer_id: None,
        created_ms: 1,
    };
    let settle = |st: &Statement| LedgerRequest {
        effects: vec![Effect::InsertStatement { statement: st.clone(), bills: Vec::new(), model_calls_until: Some(end) }],
        ..Default::default()
    };
    let (over, right) = (statement(1, 5), statement(2, 4));
    let e = ledger.submit_all(settle(&over)).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::SettlementChanged, "{e}");
    assert!(store.statement(&over.id).await.unwrap().is_none(), "the refused statement is not written");
    assert_eq!(store.model_calls_unsettled(&provider, 0, end).await.unwrap().0, 4, "and marks nothing");
    ledger.submit_all(settle(&right)).await.unwrap();
    assert_eq!(store.model_calls_unsettled(&provider, 0, end).await.unwrap().0, 0);
    assert_eq!(store.statement(&right.id).await.unwrap().unwrap().model_calls, 4);
}

/// The ledger's writer on this store: idempotent, linked and two-phase transfers, effects
/// committed with them, concurrent requests grouped, expiry by the clock, and a reload that
/// verifies and matches.
async fn ledger_suite(store: Store) {
    use std::sync::Arc;
    use suanli_core::id::ProgrammeId;
    use suanli_core::time::ManualClock;
    use suanli_ledger::records::{Programme, ProgrammeState};
    use suanli_ledger::voucher::ProgrammeRules;
    use suanli_ledger::{ReasonCode as R, Transfer, TransferId, chart};
    use suanli_store::{Effect, LedgerRequest, LedgerService, StoredAccount};

    let clock = Arc::new(ManualClock::new(1_000));
    let ledger = LedgerService::start(store.clone(), clock.clone(), std::time::Duration::from_millis(20)).await.unwrap();
    let prog = Programme {
        id: ProgrammeId::generate(1, 1),
        name: "test".into(),
        rules: ProgrammeRules::hangzhou(2026),
        state: ProgrammeState::Open,
        created_ms: 1,
        closed_ms: None,
    };
    let tenant = store.tenants().await.unwrap()[0].id.to_string();
    let (treasury, budget, voucher, cash) = (
        chart::city_treasury(),
        chart::programme_budget(prog.id.as_str()),
        chart::voucher(&tenant, prog.id.as_str()),
        chart::cash(&tenant),
    );
    let accounts =
        [&treasury, &budget, &voucher, &cash].map(|c| StoredAccount { account: c.account(), owner: c.owner.clone(), created_ms: 1 });
    let t = |n: u128, dr: &chart::ChartAccount, cr: &chart::ChartAccount, fen: i64, r: R| {
        Transfer::single(TransferId(n), dr.id, cr.id, Fen(fen), r, "ref", 1_000)
    };
    let out = ledger
        .submit_all(LedgerRequest {
            accounts: accounts.to_vec(),
            transfers: vec![t(1, &treasury, &budget, 1_000_000, R::BudgetFunding), t(2, &budget, &voucher, 600_000, R::VoucherIssue)],
            linked: true,
            effects: vec![Effect::InsertProgramme(prog.clone())],
            ..LedgerRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(out, vec![suanli_ledger::Outcome::Created; 2]);
    assert_eq!(store.programme(&prog.id).await.unwrap().map(|p| p.name), Some("test".into()), "the effect committed with the transfers");
    // A linked batch with an overdraft applies nothing.
    let err = ledger
        .submit_all(LedgerRequest {
            transfers: vec![t(3, &voucher, &cash, 100, R::Refund), t(4, &voucher, &cash, 10_000_000, R::Refund)],
            linked: true,
            ..LedgerRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InsufficientFunds);
    // Detached requests (a model call's charge) are decided in queue order and nobody waits for
    // them: a refused one changes nothing, one that applies is durable by the barrier after it.
    for tr in [t(8, &cash, &voucher, 10_000_000, R::Refund), t(9, &treasury, &budget, 25, R::BudgetFunding)] {
        ledger.submit_detached(LedgerRequest { transfers: vec![tr], ..LedgerRequest::default() }).await.unwrap();
    }
    ledger.barrier().await.unwrap();
    let (l, _) = store.ledger_load().await.unwrap();
    assert!(l.transfer(TransferId(8)).is_none(), "a refused detached request wrote nothing");
    assert_eq!(l.transfer(TransferId(9)).map(|x| x.amount), Some(Fen(25)), "the barrier waited for the detached request before it");
    // Two-phase: a hold, posted in part; another hold that times out.
    // History is written as SQL literals: a hostile reference round-trips as text.
    let nasty = "it's \"quoted\"; DROP TABLE ledger_transfers; -- \\ 券";
    let hold = Transfer::pending(TransferId(5), voucher.id, cash.id, Fen(50_000), R::VoucherSpend, nasty, 1_000, None);
    let expiring = Transfer::pending(TransferId(6), voucher.id, cash.id, Fen(7_000), R::VoucherSpend, "job_y", 1_000, Some(500));
    ledger.submit_all(LedgerRequest { transfers: vec![hold.clone(), expiring], ..LedgerRequest::default() }).await.unwrap();
    ledger
        .submit_all(LedgerRequest {
            transfers: vec![Transfer::post(TransferId(7), &hold, Some(Fen(30_000)), 1_200)],
            ..LedgerRequest::default()
        })
        .await
        .unwrap();
    // Many concurrent requests share commits, and each is answered.
    let commits = ledger.stats().commits.load(std::sync::atomic::Ordering::Relaxed);
    let tasks: Vec<_> = (0..400u128)
        .map(|i| {
            let (l, tr) = (ledger.clone(), t(100 + i, &voucher, &cash, 1, R::VoucherSpend));
            tokio::spawn(async move { l.submit_all(LedgerRequest { transfers: vec![tr], ..LedgerRequest::default() }).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert!(ledger.stats().commits.load(std::sync::atomic::Ordering::Relaxed) - commits < 400, "group commit grouped nothing");
    // The clock passes the deadline: the writer expires the hold by itself.
    clock.set(2_000);
    let mut expired = false;
    for _ in 0..200 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let (l, _) = store.ledger_load().await.unwrap();
        if l.pending_state(TransferId(6)) == Some(suanli_ledger::PendingState::Expired) {
            expired = true;
            break;
        }
    }
    assert!(expired, "the timed-out hold was expired and persisted");
    // Reloaded from the store, the ledger verifies and holds exactly these balances.
    let (l, _) = store.ledger_load().await.unwrap();
    let report = l.verify().unwrap();
    assert_eq!(report.transfers, 2 + 1 + 2 + 1 + 400 + 1);
    let v = l.account(voucher.id).unwrap();
    assert_eq!((v.credits_posted, v.debits_posted, v.debits_pending), (600_000, 30_000 + 400, 0));
    assert_eq!(store.ledger_transfers_by_reference(nasty).await.unwrap().len(), 2, "the hold and its post, by their reference");
    let money = store.voucher_money(prog.id.as_str()).await.unwrap();
    assert_eq!((money.spent, money.held), (Fen(30_400), Fen(0)));

    // Issue #13, item 9: a request whose write fails (a statement of a provider that does not
    // exist, which the database's foreign key refuses) is answered `unavailable` alone and
    // without the database's words; the requests grouped with it are applied.
    use suanli_core::id::StatementId;
    use suanli_ledger::records::Statement;
    let bogus = Statement {
        id: StatementId::generate(5, 5),
        provider_id: ProviderId::generate(9, 9),
        from_ms: 0,
        to_ms: 1,
        bills: 0,
        model_calls: 0,
        data_deliveries: 0,
        charge: Fen(0),
        voucher: Fen(0),
        cash: Fen(0),
        outstanding: Fen(0),
        settled: Fen(0),
        transfer_id: None,
        created_ms: 1,
    };
    let tasks: Vec<_> = (0..40u128)
        .map(|i| {
            let mut request =
                LedgerRequest { transfers: vec![t(1_000 + i, &voucher, &cash, 1, R::VoucherSpend)], ..LedgerRequest::default() };
            if i == 20 {
                request.effects = vec![Effect::InsertStatement { statement: bogus.clone(), bills: Vec::new(), model_calls_until: None }];
            }
            let l = ledger.clone();
            tokio::spawn(async move { l.submit_all(request).await })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        match (i, task.await.unwrap()) {
            (20, Err(e)) => {
                assert_eq!(e.code, ErrorCode::Unavailable, "{e}");
                let text = e.message.to_lowercase();
                assert!(!["foreign", "constraint", "insert", "violat", "database"].iter().any(|w| text.contains(w)), "{e}");
            }
            (20, Ok(_)) => panic!("a statement of an unknown provider was written"),
            (_, r) => assert!(r.is_ok(), "request {i} failed beside the failing one: {r:?}"),
        }
    }
    let (l, _) = store.ledger_load().await.unwrap();
    l.verify().unwrap();
    assert!(l.transfer(TransferId(1_020)).is_none(), "nothing of the failing request applied");
    assert_eq!((1_000..1_040u128).filter(|n| l.transfer(TransferId(*n)).is_some()).count(), 39);

    // Issue #13, item 10: the writer closes a programme, expiring what its vouchers hold as it
    // stands then, and refuses to issue from it afterwards (and to close it again).
    use suanli_store::{Precondition, ProgrammeClose};
    let close = || LedgerRequest { close: Some(ProgrammeClose { programme: prog.id.clone(), at_ms: 3_000 }), ..LedgerRequest::default() };
    let expired = ledger.submit_all(close()).await.unwrap();
    assert_eq!(expired.len(), 1, "one voucher with money left");
    assert_eq!(store.programme(&prog.id).await.unwrap().unwrap().state, ProgrammeState::Closed);
    let issue = LedgerRequest {
        transfers: vec![t(3_000, &budget, &voucher, 100, R::VoucherIssue)],
        preconditions: vec![Precondition::ProgrammeOpen(prog.id.clone())],
        ..LedgerRequest::default()
    };
    assert_eq!(ledger.submit_all(issue).await.unwrap_err().code, ErrorCode::ProgrammeClosed);
    assert_eq!(ledger.submit_all(close()).await.unwrap_err().code, ErrorCode::ProgrammeClosed);
    let (l, _) = store.ledger_load().await.unwrap();
    l.verify().unwrap();
    assert_eq!(l.account(voucher.id).unwrap().available(), Fen(0));
    assert!(l.transfer(TransferId(3_000)).is_none());
}

/// SQLite's writer connection belongs to the store's writer lock (not to a pool): a write
/// transaction dropped without a commit, or abandoned in the middle of its work, leaves nothing
/// behind, and the next writer goes on on the same connection.
#[tokio::test]
async fn sqlite_write_transactions_dropped_uncommitted_are_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    {
        let mut tx = store.begin().await.unwrap();
        tx.set_meta("dropped", "1").await.unwrap();
    }
    let abandoned = async {
        let mut tx = store.begin().await.unwrap();
        tx.set_meta("abandoned", "1").await.unwrap();
        std::future::pending::<()>().await
    };
    assert!(tokio::time::timeout(std::time::Duration::from_millis(100), abandoned).await.is_err());
    let mut tx = store.begin().await.unwrap();
    tx.set_meta("kept", "1").await.unwrap();
    tx.commit().await.unwrap();
    let check = |store: Store| async move {
        assert_eq!(store.meta("dropped").await.unwrap(), None);
        assert_eq!(store.meta("abandoned").await.unwrap(), None);
        assert_eq!(store.meta("kept").await.unwrap().as_deref(), Some("1"));
    };
    check(store.clone()).await;
    store.close().await;
    check(Store::open_dir(dir.path()).await.unwrap()).await;
}
