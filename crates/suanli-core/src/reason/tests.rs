//! Tests of the typed job reasons: every variant's code, English and Chinese, and their stored form.

use super::*;
use crate::id::{CentreId, JobId, PoolId};

fn pool() -> PoolId {
    PoolId::parse("pool_0123456789abcdef012345").unwrap()
}

fn centre() -> CentreId {
    CentreId::parse("ctr_0123456789abcdef012345").unwrap()
}

/// One of each variant with the English the platform has always written for it.
fn examples() -> Vec<(JobReason, String)> {
    let (p, c) = (pool(), centre());
    let job = JobId::parse("job_0123456789abcdef012345").unwrap();
    vec![
        (JobReason::NoPools, "no pools in the city".into()),
        (JobReason::NoFeasiblePool, "no feasible pool".into()),
        (JobReason::Misfit { misfit: Misfit::TooFar }, Misfit::TooFar.describe().into()),
        (JobReason::BehindHead, "behind the head of the queue (FIFO)".into()),
        (JobReason::WaitingForAccelerators { accelerators: 8 }, "waiting for 8 free accelerators in a feasible pool".into()),
        (
            JobReason::Displaced { accelerators: 4 },
            "waiting for 4 free accelerators: displaced by a job that gains more from the pool".into(),
        ),
        (
            JobReason::WaitingForBetterPool { best_free_yuan: 120, busy_yuan: 80, wait_yuan_per_hour: 5 },
            "waiting for a better pool: the best free one scores ¥120, a busy one ¥80, and waiting costs about ¥5 an hour".into(),
        ),
        (
            JobReason::DeferredToCleanerHour { hours: 3, region: "hz-xihu".into(), cleaner_pct: 12 },
            "deferred 3 h to a cleaner hour: the grid at hz-xihu is 12% cleaner then, within the deadline".into(),
        ),
        (
            JobReason::Reserved { accelerators: 8, pool: p.clone(), start_ms: 0 },
            format!("reserved 8 accelerators of {p} from 1970-01-01T00:00:00Z (later jobs backfill without delaying it)"),
        ),
        (
            JobReason::WaitingForFunds { estimate: Fen(150_050), voucher_pct: 30, cash_available: Fen(1_000) },
            "waiting for funds: placing it needs a hold of up to ¥1500.50 (vouchers pay 30% while they last), and the cash balance has ¥10.00 available (top up, or apply for vouchers)".into(),
        ),
        (
            JobReason::CentreSilentBeforeStart { centre: c.clone() },
            format!("centre {c} stopped answering before the job started; it is placed again"),
        ),
        (
            JobReason::CentreSilentWhileRunning { centre: c.clone() },
            format!("centre {c} went silent while it ran; it starts again elsewhere (the lost run is not billed)"),
        ),
        (
            JobReason::Preempted { by: job.clone(), progress_kept: true },
            format!("preempted by higher-priority job {job}; it resumes with its progress kept"),
        ),
        (
            JobReason::Preempted { by: job.clone(), progress_kept: false },
            format!("preempted by higher-priority job {job}; it restarts when placed again"),
        ),
        (
            JobReason::LeaseYielded { policy: "suanli".into(), left_s: 600 },
            "its lease ended and the suanli policy gave its accelerators to another job; it resumes with its progress kept (600 s of work left here)".into(),
        ),
        (
            JobReason::LeaseMoved {
                from_pool: p.clone(),
                from_accelerator: "a100-80g".into(),
                to_pool: p.clone(),
                to_accelerator: "h800".into(),
                there_s: 300,
                here_s: 900,
                restore_s: 30,
            },
            format!("its lease ended and it moved from {p} (a100-80g) to {p} (h800): 300 s left there against 900 s here, 30 s of checkpoint restore included"),
        ),
        (
            JobReason::Lease { lease_s: 360, pool: p.clone(), accelerator: "h800".into(), policy: "fifo".into() },
            format!("a 360 lease on {p} (h800) under the fifo policy"),
        ),
        (
            JobReason::WaitingForLease { centre: Some(c.clone()), runs: 2 },
            format!("waiting for its next time-sliced lease at centre {c}, where its checkpoint is (2 runs so far)"),
        ),
        (JobReason::Cancelled { by: Canceller::Tenant, note: None }, "cancelled by tenant".into()),
        (JobReason::Cancelled { by: Canceller::Operator, note: Some("数据有误".into()) }, "cancelled by operator: 数据有误".into()),
        (
            JobReason::CancelledUnfunded,
            "cancelled: it waited for funds longer than the platform allows (top up or apply for vouchers, then submit again)".into(),
        ),
        (JobReason::SimulatedNodeFailure, "simulated node failure".into()),
        (JobReason::Failed { detail: "节点故障".into() }, "节点故障".into()),
        (
            JobReason::UsageRefused { detail: "用量为负".into() },
            "the centre's report was refused (用量为负); nothing is billed [usage_report_refused]".into(),
        ),
    ]
}

/// Makes adding a variant without an example here a compile error (no wildcard arm).
fn variant_index(r: &JobReason) -> usize {
    match r {
        JobReason::NoPools => 0,
        JobReason::NoFeasiblePool => 1,
        JobReason::Misfit { .. } => 2,
        JobReason::BehindHead => 3,
        JobReason::WaitingForAccelerators { .. } => 4,
        JobReason::Displaced { .. } => 5,
        JobReason::WaitingForBetterPool { .. } => 6,
        JobReason::DeferredToCleanerHour { .. } => 7,
        JobReason::Reserved { .. } => 8,
        JobReason::WaitingForFunds { .. } => 9,
        JobReason::CentreSilentBeforeStart { .. } => 10,
        JobReason::CentreSilentWhileRunning { .. } => 11,
        JobReason::Preempted { .. } => 12,
        JobReason::LeaseYielded { .. } => 13,
        JobReason::LeaseMoved { .. } => 14,
        JobReason::Lease { .. } => 15,
        JobReason::WaitingForLease { .. } => 16,
        JobReason::Cancelled { .. } => 17,
        JobReason::CancelledUnfunded => 18,
        JobReason::Failed { .. } => 19,
        JobReason::UsageRefused { .. } => 20,
        JobReason::SimulatedNodeFailure => 21,
    }
}

#[test]
fn every_reason_has_a_code_its_english_and_chinese() {
    let examples = examples();
    let mut seen = std::collections::BTreeSet::new();
    let mut codes = std::collections::BTreeMap::new();
    for (reason, english) in &examples {
        seen.insert(variant_index(reason));
        let code = reason.code();
        assert!(!code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{code}");
        // One code per variant, and no variant shares another's code.
        assert_eq!(*codes.entry(code).or_insert(variant_index(reason)), variant_index(reason), "{code}");
        assert_eq!(&reason.to_string(), english, "{code}: the English is the text clients have always read");
        let forms = reason.forms();
        // The Chinese form, its varying parts (ids, numbers, times, people's words) left out, has
        // no Latin letters; and it uses every part the English uses.
        let bare_zh = fill(forms.zh, &forms.args, |_| String::new());
        assert!(!bare_zh.chars().any(|c| c.is_ascii_alphabetic()), "{code}: English in the Chinese: {bare_zh}");
        assert!(bare_zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{code}: {bare_zh}");
        for i in 0..forms.args.len() {
            let mark = format!("{{{i}}}");
            assert!(forms.en.contains(&mark) && forms.zh.contains(&mark), "{code}: {mark} in both forms");
        }
        // Pages put the forms into HTML as they are.
        assert!(!forms.en.contains(['&', '<', '>']) && !forms.zh.contains(['&', '<', '>']), "{code}");
        let bare_en = fill(forms.en, &forms.args, |_| String::new());
        assert!(!bare_en.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{code}: {bare_en}");
    }
    assert_eq!(seen.len(), 22, "an example of every variant");
}

#[test]
fn a_reason_is_stored_as_json_tagged_by_its_code_and_read_back() {
    for (reason, _) in examples() {
        let json = serde_json::to_value(&reason).unwrap();
        assert_eq!(json["code"], reason.code());
        assert_eq!(serde_json::from_value::<JobReason>(json.clone()).unwrap(), reason);
        let stated: StatedReason = serde_json::from_value(json).unwrap();
        assert!(stated.is(&reason));
    }
    let old: StatedReason = serde_json::from_value(serde_json::json!("node exploded")).unwrap();
    assert_eq!((old.typed(), old.to_string().as_str()), (None, "node exploded"));
}

#[test]
fn chinese_writes_times_in_beijing_and_keeps_what_people_wrote() {
    let r = JobReason::Reserved { accelerators: 8, pool: pool(), start_ms: 0 };
    assert!(r.zh().contains("1970-01-01 08:00:00 (UTC+8)"), "{}", r.zh());
    let c = JobReason::Cancelled { by: Canceller::Tenant, note: Some("wrong data {0}".into()) };
    assert_eq!(c.zh(), "已由企业取消，原因：wrong data {0}");
    assert_eq!(c.to_string(), "cancelled by tenant: wrong data {0}");
}

#[test]
fn whole_yuan_rounds_as_the_text_always_did() {
    for x in [0.4, 0.5, 1.5, 2.5, 119.6, 1e6 + 0.5] {
        assert_eq!(whole(x).to_string(), format!("{x:.0}"), "{x}");
    }
}
