//! The fair-share account after a restart or a takeover: an engine started on a store where runs have ended rebuilds the account that the engine which saw them end had built.

use crate::rounds::{seed, sim_engine};
use std::sync::Arc;
use suanli_core::id::JobId;
use suanli_core::job::{Job, JobKind, JobSpec, JobState};
use suanli_core::time::{Clock, ManualClock};
use suanli_store::Store;

const NOW: i64 = 1_800_000_000_000;

#[tokio::test]
async fn a_new_engine_replays_the_fair_share_account_that_the_last_one_built() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    let tenant = seed(&store).await;
    let clock = Arc::new(ManualClock::new(NOW));
    let first = sim_engine(&store, clock.clone());
    // Three runs of different sizes, ending hours apart, so that decay matters.
    let mut ids = Vec::new();
    for (n, (accelerators, secs)) in [(8u32, 3_600i64), (4, 1_800), (2, 7_200)].into_iter().enumerate() {
        let mut spec = JobSpec::new(&format!("run-{n}"), JobKind::Training, accelerators, secs);
        spec.models = vec!["h800".into()];
        let job = Job::pending(JobId::generate(clock.now_ms(), n as u64 + 1), tenant.clone(), spec, clock.now_ms());
        let mut tx = store.begin().await.unwrap();
        tx.insert_jobs(std::slice::from_ref(&job)).await.unwrap();
        tx.commit().await.unwrap();
        first.round().await.unwrap();
        clock.advance(secs * 1000 + 60_000);
        first.round().await.unwrap();
        first.round().await.unwrap();
        assert_eq!(store.job(&job.id).await.unwrap().unwrap().state, JobState::Succeeded);
        ids.push(job.id);
        clock.advance(2 * 3_600_000);
    }
    let built = first.fair_share_account();
    let received = built.received.get(&tenant).copied().unwrap_or(0.0);
    assert!(received > 0.0, "the engine that saw the runs end charged the tenant: {built:?}");

    // A new engine (a restart, or another replica taking over) starts with an empty account and
    // rebuilds it from the store.
    let second = sim_engine(&store, clock.clone());
    assert!(second.fair_share_account().received.is_empty());
    second.replay_fair_share().await.unwrap();
    let replayed = second.fair_share_account().received.get(&tenant).copied().unwrap_or(0.0);
    assert!((replayed - received).abs() <= received * 1e-9, "replayed {replayed} PFLOP-s, the last engine had {received}");

    // Runs older than four half-lives no longer count.
    clock.advance(30 * 3_600_000);
    let third = sim_engine(&store, clock.clone());
    third.replay_fair_share().await.unwrap();
    assert!(third.fair_share_account().received.is_empty(), "{:?}", third.fair_share_account());
}
