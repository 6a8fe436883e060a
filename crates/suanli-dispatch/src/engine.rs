//! The engine loop: place pending jobs, hand placed jobs to backends, apply what backends report, stop what was cancelled.

use crate::Backend;
use crate::ids::Ids;
use crate::unfunded::Unfunded;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use suanli_core::catalogue::Catalogue;
use suanli_core::centre::Pool;
use suanli_core::id::{AuditId, CentreId, JobId, PoolId};
use suanli_core::job::{Job, JobState};
use suanli_core::money::Fen;
use suanli_core::reason::JobReason;
use suanli_core::region::Regions;
use suanli_sched::driver::{FairShare, Loads, pflop_s};
use suanli_sched::round::{PolicyKind, PoolLoad, RunningJob, Snapshot, TenantUsage};
use suanli_sched::{SchedConfig, SpeedModel};
use suanli_store::{Audit, Store, StoreError};
use tokio::sync::Notify;

mod active;
mod failover;
mod place;
mod registry;
mod report;
mod timeslice;

pub use active::SnapshotRead;
pub use place::QueueHead;
pub use timeslice::Timeslicing;

/// Jobs a round writes in one transaction (many rows a statement): few commits (one fsync each
/// on SQLite), yet no transaction holds the store's writer for long, so submissions and the
/// ledger's commits interleave with a big round.
const WRITES_PER_TX: usize = 2000;

/// Placements a round writes in one transaction, with their holds, explanations and audit
/// records: small enough that the write budget is checked often (a batch's commit took 26 ms
/// at the median for 500 under `bench e2e`'s load on SQLite), large enough that a round's fixed
/// costs a batch (the writer lock, a commit, the ledger's group of holds) are spread over many
/// jobs: 1,000 rather than 500 placed about 10% more a second in that benchmark.
const PLACEMENTS_PER_TX: usize = 1000;

/// How long into a round placements may still be written; what the decision placed beyond it
/// is left pending for the next round, which runs at once. Reading, deciding and dispatching
/// take the rest of the second a round should fit in.
const ROUND_WRITE_BUDGET: Duration = Duration::from_millis(600);

/// How the live path schedules: the policy, its configuration and the speed model.
#[derive(Debug, Clone)]
pub struct SchedContext {
    pub cfg: SchedConfig,
    pub speeds: SpeedModel,
    pub policy: PolicyKind,
}

impl SchedContext {
    pub fn new(catalogue: &Catalogue) -> SchedContext {
        SchedContext { cfg: SchedConfig::default(), speeds: SpeedModel::new(catalogue, "a100-80g"), policy: PolicyKind::Suanli }
    }
}

/// The fair-share account's half-life in hours (the round driver's, shared with the simulator).
pub use suanli_sched::driver::FAIR_SHARE_HALF_LIFE_H;

/// Counts of what one round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RoundReport {
    pub placed: u32,
    pub waiting: u32,
    pub preempted: u32,
    pub started: u32,
    pub succeeded: u32,
    pub failed: u32,
    pub stopped: u32,
    pub backend_errors: u32,
    pub billed: u32,
    /// Jobs taken back from an unavailable centre before they started.
    pub replaced: u32,
    /// Time-sliced jobs moved to another accelerator type at a lease's end.
    pub migrated: u32,
    /// Time-sliced jobs that gave their accelerators to another job at a lease's end.
    pub yielded: u32,
    /// Jobs the decision placed that the round's write budget left pending for the next round.
    pub deferred: u32,
    /// Waiting jobs behind the head of the queue the round decided over (see [`QueueHead`]):
    /// not looked at this round, their reasons left as they were.
    pub behind: u32,
}

/// How long each phase of one round took: reading the snapshot, the scheduling decision,
/// writing placements and waiting reasons (and, beside them, the jobs already in flight handed
/// to their backends and what they report written, unless time-slicing), the backends' step
/// (the jobs just placed, or under time-slicing every job in flight), billing.
#[derive(Debug, Default, Clone, Copy)]
pub struct RoundPhases {
    pub read: Duration,
    pub decide: Duration,
    pub write: Duration,
    pub dispatch: Duration,
    pub bill: Duration,
    /// How the round read its jobs: all of them, or only the changes since the last round.
    pub snapshot: Option<SnapshotRead>,
}

pub struct Engine {
    store: Store,
    catalogue: Arc<Catalogue>,
    regions: Arc<Regions>,
    ids: Ids,
    /// The demo's simulated centre, for centres bound to no backend (only under `--demo`;
    /// elsewhere an unbound centre takes no jobs).
    default_backend: Option<Arc<dyn Backend>>,
    /// Centres bound to their own backend (Slurm, an agent, ...).
    backends: std::sync::RwLock<HashMap<CentreId, Arc<dyn Backend>>>,
    wake: Notify,
    sched: Arc<SchedContext>,
    /// Fair-share account: FP16 PFLOP-seconds each tenant received, decayed; replayed from the
    /// runs that ended recently after a restart.
    usage: std::sync::Mutex<FairShare>,
    /// Holds at placement and bills at the end; without it jobs run unbilled (simulation).
    billing: Option<crate::billing::Billing>,
    /// A centre whose backend missed heartbeats for this long is unavailable.
    heartbeat_timeout_ms: std::sync::atomic::AtomicI64,
    /// After this much silence a centre's restartable running jobs start again elsewhere;
    /// longer than an agent's lease, after which it has cancelled them itself.
    restart_after_ms: std::sync::atomic::AtomicI64,
    /// Measured PUE per centre (from the energy book); the carbon model uses it instead of the
    /// declared PUE where there is one.
    measured_pue: std::sync::RwLock<HashMap<CentreId, f64>>,
    /// Jobs waiting for funds, left out of rounds until their tenant's money grows.
    unfunded: std::sync::Mutex<Unfunded>,
    /// A job that waits for funds longer than this is cancelled.
    unfunded_expiry_ms: std::sync::atomic::AtomicI64,
    /// How many jobs one tenant may have waiting for funds.
    unfunded_limit: std::sync::atomic::AtomicUsize,
    /// Time-sliced leases for preemptible jobs; `None` (the default): every job placed once.
    timeslicing: std::sync::RwLock<Option<Timeslicing>>,
    /// When each running time-sliced job's current lease began, if renewed since it started.
    lease_from: std::sync::Mutex<HashMap<JobId, i64>>,
    /// The stopped runs of every job still in flight, read from the store each round.
    segments: std::sync::RwLock<HashMap<JobId, Vec<suanli_core::job::Segment>>>,
    /// The jobs waiting and in flight, kept between rounds and brought up to date from the
    /// store's change sequence.
    active: tokio::sync::Mutex<active::ActiveJobs>,
    /// New jobs the job writer of this process committed, taken in by the next round instead
    /// of read back (see [`Engine::written_jobs`]).
    written: suanli_store::WrittenJobs,
    /// Set to have the next round read every job again.
    reread: std::sync::atomic::AtomicBool,
    /// The centres and pools of the last round that read them, with the registry's change number.
    kept_registry: std::sync::Mutex<Option<registry::KeptRegistry>>,
    /// How many waiting jobs a round decides over when the queue is long.
    queue_head: std::sync::Mutex<QueueHead>,
    /// The last running job the last round asked its backend about (they are asked in turn).
    status_cursor: std::sync::Mutex<Option<JobId>>,
    /// How many running jobs a round asks their backends about, at most.
    running_per_round: std::sync::atomic::AtomicUsize,
    /// Set by [`Engine::run`]: the billing sweep runs beside the rounds, not inside them.
    bills_apart: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("default_backend", &self.default_backend.as_ref().map(|b| b.name().to_string())).finish()
    }
}

impl Engine {
    pub fn new(
        store: Store,
        catalogue: Arc<Catalogue>,
        regions: Arc<Regions>,
        ids: Ids,
        default_backend: Option<Arc<dyn Backend>>,
        sched: Arc<SchedContext>,
    ) -> Engine {
        Engine {
            store,
            catalogue,
            regions,
            ids,
            default_backend,
            backends: std::sync::RwLock::default(),
            wake: Notify::new(),
            sched,
            usage: std::sync::Mutex::new(FairShare::default()),
            measured_pue: std::sync::RwLock::new(HashMap::new()),
            billing: None,
            heartbeat_timeout_ms: std::sync::atomic::AtomicI64::new(30_000),
            restart_after_ms: std::sync::atomic::AtomicI64::new(90_000),
            unfunded: std::sync::Mutex::default(),
            unfunded_expiry_ms: std::sync::atomic::AtomicI64::new(crate::unfunded::DEFAULT_EXPIRY_MS),
            unfunded_limit: std::sync::atomic::AtomicUsize::new(crate::unfunded::DEFAULT_PER_TENANT),
            timeslicing: std::sync::RwLock::new(None),
            lease_from: std::sync::Mutex::default(),
            segments: std::sync::RwLock::default(),
            active: tokio::sync::Mutex::default(),
            written: suanli_store::WrittenJobs::default(),
            reread: std::sync::atomic::AtomicBool::new(true),
            kept_registry: std::sync::Mutex::new(None),
            queue_head: std::sync::Mutex::default(),
            status_cursor: std::sync::Mutex::default(),
            running_per_round: std::sync::atomic::AtomicUsize::new(report::RUNNING_PER_ROUND),
            bills_apart: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// How many waiting jobs a round decides over when more wait than it could place.
    pub fn set_queue_head(&self, head: QueueHead) {
        *self.queue_head.lock().unwrap_or_else(|e| e.into_inner()) = head;
    }

    /// How many running jobs a round hands over and asks about, at most (the rest in later
    /// rounds, in turn); `usize::MAX`: every one, every round.
    pub fn set_running_per_round(&self, jobs: usize) {
        self.running_per_round.store(jobs.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    fn queue_head(&self) -> QueueHead {
        *self.queue_head.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many jobs one tenant may have waiting for funds before new ones are refused.
    pub fn set_unfunded_limit(&self, jobs: usize) {
        self.unfunded_limit.store(jobs, std::sync::atomic::Ordering::Relaxed);
    }

    /// Refuses a tenant's new job while it has as many jobs waiting for funds as allowed.
    pub fn may_submit(&self, tenant: &suanli_core::id::TenantId) -> Result<(), suanli_core::Error> {
        let (waiting, limit) = (self.waiting_for_funds(tenant), self.unfunded_limit.load(std::sync::atomic::Ordering::Relaxed));
        if waiting >= limit {
            return Err(suanli_core::Error::new(
                suanli_core::error::ErrorCode::UnfundedJobsLimit,
                format!(
                    "{waiting} of this tenant's jobs already wait for funds (at most {limit}); top up, apply for vouchers or cancel some first"
                ),
            ));
        }
        Ok(())
    }

    /// How long a job may wait for funds before it is cancelled.
    pub fn set_unfunded_expiry(&self, after: Duration) {
        self.unfunded_expiry_ms.store(after.as_millis() as i64, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many of a tenant's jobs wait for funds now.
    pub fn waiting_for_funds(&self, tenant: &suanli_core::id::TenantId) -> usize {
        self.unfunded.lock().unwrap_or_else(|e| e.into_inner()).waiting(tenant)
    }

    /// Cancels jobs that waited for funds too long, and lets jobs whose tenant's money grew be
    /// planned again; returns the pending jobs the round should plan.
    async fn fundable(&self, b: &crate::billing::Billing, pending: Vec<Arc<Job>>, now: i64) -> Result<Vec<Arc<Job>>, StoreError> {
        let (expired, due) = {
            let mut u = self.unfunded.lock().unwrap_or_else(|e| e.into_inner());
            // Over a long queue with no job held back, no set of every waiting job is built.
            if !u.is_empty() {
                u.retain_pending(&pending.iter().map(|j| &j.id).collect());
            }
            (u.expired(now, self.unfunded_expiry_ms.load(std::sync::atomic::Ordering::Relaxed)), u.due(now))
        };
        for id in &expired {
            let audit = self.audit("job.cancelled", id, json!({"why": "waited for funds too long"}));
            let cancelled = self
                .store
                .transition_job(id, JobState::Cancelled, audit, |x| {
                    x.reason = Some(JobReason::CancelledUnfunded.into());
                    x.finished_ms = Some(now);
                })
                .await;
            if let Err(e) = cancelled {
                tracing::debug!(job = %id, error = %e, "an unfunded job was not cancelled");
            }
            self.unfunded.lock().unwrap_or_else(|e| e.into_inner()).forget(id);
        }
        for tenant in due {
            let spendable = b.spendable(&tenant, now).await?;
            self.unfunded.lock().unwrap_or_else(|e| e.into_inner()).checked(&tenant, spendable, now);
        }
        let u = self.unfunded.lock().unwrap_or_else(|e| e.into_inner());
        if expired.is_empty() && u.is_empty() {
            return Ok(pending);
        }
        Ok(pending.into_iter().filter(|j| !expired.contains(&j.id) && !u.holds_back(&j.id, &j.tenant_id)).collect())
    }

    /// How long a centre may be silent before its restartable running jobs start elsewhere.
    pub fn set_restart_after(&self, silence: Duration) {
        self.restart_after_ms.store(silence.as_millis() as i64, std::sync::atomic::Ordering::Relaxed);
    }

    /// Moves a placed or running job back to pending (to be placed again), forgetting where it
    /// was, and releases its holds; `None` if it had already moved on (cancelled meanwhile).
    async fn back_to_pending(&self, id: &JobId, now: i64, audit: Audit, reason: JobReason) -> Result<Option<Job>, StoreError> {
        let moved = self.store.transition_job(id, JobState::Pending, audit, |x| requeued(x, reason)).await;
        match moved {
            Ok(job) => {
                if let Some(b) = &self.billing {
                    b.release(id, now).await?;
                }
                Ok(Some(job))
            }
            Err(StoreError::Domain(e)) => {
                tracing::debug!(job = %id, error = %e, "not moved back to pending");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Centres silent for longer than the restart threshold.
    fn abandoned_centres(&self, now_ms: i64) -> HashSet<CentreId> {
        let after = self.restart_after_ms.load(std::sync::atomic::Ordering::Relaxed);
        self.backends
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, b)| b.silent_ms(now_ms).is_some_and(|s| s > after))
            .map(|(c, _)| c.clone())
            .collect()
    }

    /// How long a centre's agent may be silent before the centre counts as unavailable.
    pub fn set_heartbeat_timeout(&self, timeout: Duration) {
        self.heartbeat_timeout_ms.store(timeout.as_millis() as i64, std::sync::atomic::Ordering::Relaxed);
    }

    /// Centres whose backend says they cannot take work now.
    pub fn unavailable_centres(&self, now_ms: i64) -> HashSet<CentreId> {
        let timeout = self.heartbeat_timeout_ms.load(std::sync::atomic::Ordering::Relaxed);
        self.backends
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, b)| !b.available(now_ms, timeout))
            .map(|(c, _)| c.clone())
            .collect()
    }

    /// Bills jobs through the ledger: holds at placement, one bill at the end.
    pub fn with_billing(mut self, billing: crate::billing::Billing) -> Engine {
        self.billing = Some(billing);
        self
    }

    pub fn billing(&self) -> Option<&crate::billing::Billing> {
        self.billing.as_ref()
    }

    pub fn sched(&self) -> &SchedContext {
        &self.sched
    }

    /// Charges a tenant's fair-share account with compute it received, decaying older receipts.
    fn account(&self, tenant: &suanli_core::id::TenantId, pflop_s: f64, now: i64) {
        self.usage.lock().unwrap_or_else(|e| e.into_inner()).charge(tenant, pflop_s, now);
    }

    /// Rebuilds the fair-share account from the runs that ended within the last four half-lives,
    /// charged in the order they ended, as this engine would have charged them had it run
    /// every round: at start and on becoming leader (the last leader's account died with it).
    pub async fn replay_fair_share(&self) -> Result<usize, StoreError> {
        let now = self.ids.now_ms();
        let runs = self.store.runs_ended_since(now - (4.0 * FAIR_SHARE_HALF_LIFE_H * 3_600_000.0) as i64).await?;
        let pools: HashMap<PoolId, Pool> = self.store.pools().await?.into_iter().map(|p| (p.id.clone(), p)).collect();
        *self.usage.lock().unwrap_or_else(|e| e.into_inner()) = FairShare::default();
        for r in &runs {
            if let Some(acc) = pools.get(&r.pool_id).and_then(|p| self.catalogue.get(&p.accelerator)) {
                self.account(&r.tenant_id, pflop_s(acc, r.accelerators, r.usage_s as f64), r.finished_ms);
            }
        }
        tracing::debug!(runs = runs.len(), "fair-share account replayed from the store");
        Ok(runs.len())
    }

    /// What each tenant received, decayed to `now` (FP16 PFLOP-seconds), largest first.
    pub fn fair_share_at(&self, now: i64) -> Vec<(suanli_core::id::TenantId, f64)> {
        self.usage.lock().unwrap_or_else(|e| e.into_inner()).at(now)
    }

    /// The fair-share account: what each tenant received, decayed to when it was last charged.
    pub fn fair_share_account(&self) -> TenantUsage {
        let received = self.usage.lock().unwrap_or_else(|e| e.into_inner()).received().clone();
        TenantUsage { received, weight: HashMap::new() }
    }

    /// Pools as the scheduler sees them: free accelerators and the in-flight jobs holding the rest.
    fn build_loads(&self, pools: &[Pool], in_flight: &[Job], now: i64) -> Vec<PoolLoad> {
        let mut loads = Loads::idle(pools);
        for j in in_flight {
            let Some(i) = j.pool_id.as_ref().and_then(|p| loads.position(p)) else { continue };
            let start = j.started_ms.or(j.placed_ms).unwrap_or(now);
            let est = self.run_estimate_s(j, Some(&pools[i]));
            loads.occupy(
                i,
                RunningJob {
                    job: j.id.clone(),
                    tenant: j.tenant_id.clone(),
                    accelerators: j.spec.accelerators,
                    priority: j.spec.priority,
                    preemptible: j.spec.preemptible && j.state == JobState::Running,
                    started_ms: start,
                    est_end_ms: start + (est * 1000.0) as i64,
                },
            );
        }
        loads.pools
    }

    /// Replaces the measured PUE of the centres (a centre left out goes back to its declared PUE).
    pub fn set_measured_pue(&self, pue: HashMap<CentreId, f64>) {
        *self.measured_pue.write().unwrap_or_else(|e| e.into_inner()) = pue;
    }

    /// The centres as the scheduler costs them: a centre's `declared_pue` becomes its measured
    /// PUE where the energy book has one (the carbon model multiplies IT energy by it).
    fn with_measured_pue(&self, centres: &mut [suanli_core::centre::Centre]) {
        let measured = self.measured_pue.read().unwrap_or_else(|e| e.into_inner());
        for c in centres {
            if let Some(p) = measured.get(&c.id).filter(|p| p.is_finite() && **p >= 1.0) {
                c.declared_pue = *p;
            }
        }
    }

    /// The scheduler's view of the city at `now`.
    fn snapshot<'a>(
        &'a self,
        now: i64,
        centres: &'a [suanli_core::centre::Centre],
        loads: &'a [PoolLoad],
        usage: &'a TenantUsage,
    ) -> Snapshot<'a> {
        Snapshot {
            now_ms: now,
            centres,
            pools: loads,
            catalogue: &self.catalogue,
            regions: &self.regions,
            speeds: &self.sched.speeds,
            cfg: &self.sched.cfg,
            usage,
        }
    }

    /// The options for a job before it is submitted, against the city as it is now.
    pub async fn quote(
        &self,
        tenant: &suanli_core::id::TenantId,
        spec: &suanli_core::job::JobSpec,
        limit: usize,
    ) -> Result<suanli_sched::quote::Quote, StoreError> {
        let mut centres = self.store.centres(None).await?;
        self.with_measured_pue(&mut centres);
        centres.retain(|c| self.reaches(&c.id));
        let live: HashSet<&CentreId> = centres.iter().map(|c| &c.id).collect();
        let pools: Vec<Pool> = self.store.pools().await?.into_iter().filter(|p| live.contains(&p.centre_id)).collect();
        let in_flight = self.store.jobs_in_states(&[JobState::Placed, JobState::Running]).await?;
        let now = self.ids.now_ms();
        let loads = self.build_loads(&pools, &in_flight, now);
        let usage = self.usage.lock().unwrap_or_else(|e| e.into_inner()).view(now, []);
        let snap = self.snapshot(now, &centres, &loads, &usage);
        Ok(suanli_sched::quote::quote(snap, tenant, spec, limit))
    }

    /// The estimated run time of a job on a pool's model, seconds: what is left of its work
    /// (all of it, unless earlier time-sliced runs did some) plus a checkpoint restore if it
    /// resumes.
    fn run_estimate_s(&self, job: &Job, pool: Option<&Pool>) -> f64 {
        let done = self.segment_totals(&job.id);
        let (work, restore) = if done.segments > 0 {
            (done.remaining_ref_s(job.spec.duration_s) as f64, self.restore_s())
        } else {
            (job.spec.duration_s as f64, 0.0)
        };
        match pool.and_then(|p| self.catalogue.get(&p.accelerator)) {
            Some(acc) => self.sched.speeds.run_seconds(job.spec.job_class.as_deref(), acc, work) + restore,
            None => work + restore,
        }
    }

    /// Routes one centre's jobs to its own backend instead of the default.
    pub fn with_backend(self, centre: CentreId, backend: Arc<dyn Backend>) -> Engine {
        self.set_backend(centre, backend);
        self
    }

    /// Routes one centre's jobs to its own backend from now on (a running engine too).
    pub fn set_backend(&self, centre: CentreId, backend: Arc<dyn Backend>) {
        self.backends.write().unwrap_or_else(|e| e.into_inner()).insert(centre, backend);
    }

    /// Stops routing a centre's jobs anywhere (it is bound to nothing now).
    pub fn remove_backend(&self, centre: &CentreId) {
        self.backends.write().unwrap_or_else(|e| e.into_inner()).remove(centre);
    }

    /// Whether jobs placed on this centre reach a backend (its own, or the demo's).
    pub fn reaches(&self, centre: &CentreId) -> bool {
        self.default_backend.is_some() || self.backends.read().unwrap_or_else(|e| e.into_inner()).contains_key(centre)
    }

    /// A centre's own backend: its name and whether it can take work now (heard from within the
    /// heartbeat timeout); `None` for a centre bound to none. One lookup, for per-centre views.
    pub fn backend_of(&self, centre: &CentreId, now_ms: i64) -> Option<(String, bool)> {
        let timeout = self.heartbeat_timeout_ms.load(std::sync::atomic::Ordering::Relaxed);
        let map = self.backends.read().unwrap_or_else(|e| e.into_inner());
        map.get(centre).map(|b| (b.name().to_string(), b.available(now_ms, timeout)))
    }

    /// The centres with a backend of their own, and its name.
    pub fn backends(&self) -> Vec<(CentreId, String)> {
        self.backends.read().unwrap_or_else(|e| e.into_inner()).iter().map(|(c, b)| (c.clone(), b.name().to_string())).collect()
    }

    /// What each centre's own slurmrestd backend asked its cluster since it was connected, by
    /// centre (a centre bound again starts from zero).
    pub fn slurm_stats(&self) -> Vec<(CentreId, crate::slurm::SlurmStats)> {
        let map = self.backends.read().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<_> = map.iter().filter_map(|(c, b)| Some((c.clone(), b.slurm_stats()?))).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Asks the loop to run a round now (after a submit or a cancel).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn backend_for(&self, centre: Option<&CentreId>) -> Option<Arc<dyn Backend>> {
        let map = self.backends.read().unwrap_or_else(|e| e.into_inner());
        centre.and_then(|c| map.get(c)).or(self.default_backend.as_ref()).cloned()
    }

    /// Stops a job on its centre's backend; what it ran, if the backend knows.
    async fn cancel_on(&self, centre: Option<&CentreId>, job: &JobId, now: i64) -> Option<i64> {
        let backend = self.backend_for(centre)?;
        backend.cancel(job, now).await.unwrap_or_else(|e| {
            tracing::warn!(job = %job, error = %e, "cancel failed");
            None
        })
    }

    fn audit(&self, action: &str, subject: &JobId, detail: serde_json::Value) -> Audit {
        let (t, e) = self.ids.parts();
        Audit {
            id: AuditId::generate(t, e),
            at_ms: t,
            actor: "system:dispatch".into(),
            action: action.into(),
            subject: subject.to_string(),
            detail,
        }
    }

    /// Runs rounds until `shutdown` resolves: every `interval`, or sooner when woken; only
    /// while this replica holds the leader lease (a fenced store's writes fail otherwise, so a
    /// round that loses the lease part-way stops at its next write).
    ///
    /// The billing sweep runs beside the rounds, on its own tick: a round then places and
    /// starts jobs without waiting for the bills of the jobs that ended.
    pub async fn run(self: Arc<Self>, interval: Duration, shutdown: impl std::future::Future<Output = ()>) {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let billing = self.billing.is_some().then(|| {
            self.bills_apart.store(true, std::sync::atomic::Ordering::Relaxed);
            let engine = self.clone();
            tokio::spawn(async move { engine.bill_apart(interval, stopped).await })
        });
        self.clone().rounds(interval, shutdown).await;
        let _ = stop.send(true);
        if let Some(b) = billing {
            let _ = b.await;
        }
    }

    /// The billing sweep every `interval` while this replica leads, until `stop` changes.
    async fn bill_apart(&self, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        let Some(b) = &self.billing else { return };
        loop {
            if self.store.leads() {
                let t0 = std::time::Instant::now();
                match b.sweep(self.ids.now_ms()).await {
                    Ok(billed) => tracing::debug!(billed, bill_ms = t0.elapsed().as_millis() as u64, "billing sweep"),
                    Err(e) => tracing::warn!(error = %e, "billing sweep failed; retrying next tick"),
                }
            }
            tokio::select! {
                _ = stop.changed() => break,
                _ = tokio::time::sleep(interval) => {},
            }
        }
    }

    /// The rounds of [`Engine::run`].
    async fn rounds(self: Arc<Self>, interval: Duration, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut led = false;
        loop {
            if !self.store.leads() {
                // Another replica writes meanwhile: on becoming leader, read everything again.
                self.forget_jobs();
                led = false;
                tracing::trace!("a follower runs no rounds");
            } else {
                if !led {
                    match self.replay_fair_share().await {
                        Ok(runs) => {
                            tracing::info!(runs, "fair-share account replayed from the store on leading");
                            led = true
                        }
                        Err(e) => tracing::warn!(error = %e, "the fair-share account could not be replayed; retrying next tick"),
                    }
                }
                if led && let Err(e) = self.round().await {
                    self.forget_jobs();
                    match &e {
                        StoreError::Domain(d) if d.code == suanli_core::error::ErrorCode::NotLeader => {
                            tracing::warn!(error = %e, "dispatch round fenced off: this replica no longer leads")
                        }
                        _ => tracing::warn!(error = %e, "dispatch round failed; retrying next tick"),
                    }
                }
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(interval) => {},
                _ = self.wake.notified() => {},
            }
        }
    }

    /// One round over the store as it is now (the jobs kept from the last round, brought up to
    /// date with what was written since): fail over from dark centres, place what
    /// waits, hand in-flight jobs to their backends and apply what they say, stop what is over,
    /// bill what ended.
    pub async fn round(&self) -> Result<RoundReport, StoreError> {
        self.round_timed().await.map(|(report, _)| report)
    }

    /// [`Engine::round`], with how long each of its phases took.
    pub async fn round_timed(&self) -> Result<(RoundReport, RoundPhases), StoreError> {
        let mut report = RoundReport::default();
        let mut phases = RoundPhases::default();
        let t0 = std::time::Instant::now();
        let down = self.unavailable_centres(self.ids.now_ms());
        let (mut in_flight, mut pending, snapshot) = self.active_jobs().await?;
        phases.snapshot = Some(snapshot);
        // With no job waiting or in flight there is nothing to place, start or move: an idle
        // round reads no registry (a city of 1,000 centres and 10,000 pools every tick).
        let (mut centres, pools) = if in_flight.is_empty() && pending.is_empty() {
            (Vec::new(), Arc::new(Vec::new()))
        } else {
            let kept = self.registry().await?;
            let mut centres = kept.centres.as_ref().clone();
            self.with_measured_pue(&mut centres);
            (centres, kept.pools)
        };
        let pool_by_id: HashMap<&PoolId, &Pool> = pools.iter().map(|p| (&p.id, p)).collect();
        *self.segments.write().unwrap_or_else(|e| e.into_inner()) = self.store.open_job_segments().await?;
        if let Some(b) = &self.billing {
            pending = self.fundable(b, pending, self.ids.now_ms()).await?;
        }
        if !down.is_empty() {
            centres.retain(|c| !down.contains(&c.id));
            self.fail_over(&down, &mut in_flight, &mut pending, &mut report).await?;
        }
        // A centre bound to no backend takes no jobs (its pools say why on the centre's page).
        centres.retain(|c| self.reaches(&c.id));
        let live_centres: HashSet<&CentreId> = centres.iter().map(|c| &c.id).collect();
        let live_pools: Vec<Pool> = pools.iter().filter(|p| live_centres.contains(&p.centre_id)).cloned().collect();
        let placing = Placing { centres: &centres, pools: &live_pools, pool_by_id: &pool_by_id, writes_until: t0 + ROUND_WRITE_BUDGET };
        let read = t0.elapsed();
        let slicing = self.timeslicing();
        // Under time-slicing a job that ran before resumes only through a lease at its centre.
        let (resuming, pending): (Vec<Arc<Job>>, Vec<Arc<Job>>) = match &slicing {
            Some(_) => pending.into_iter().partition(|j| self.segment_totals(&j.id).segments > 0),
            None => (Vec::new(), pending),
        };
        let decided = self.decide_round(&placing, &pending, &mut in_flight, &mut report).await?;
        phases.decide = decided.took;
        let placed = match &slicing {
            None => {
                // The jobs already in flight are handed to their backends and heard from while
                // this round's placements are written: other rows, another writer, so neither
                // waits for the other. The jobs just placed are handed over after.
                let (written, heard) =
                    tokio::join!(self.write_decided(&placing, &decided), self.dispatch(&in_flight, &pool_by_id, &mut report));
                heard?;
                let new = self.settle_placed(&decided, written?, &mut report).await?;
                let placed = t0.elapsed();
                self.dispatch(&new, &pool_by_id, &mut report).await?;
                in_flight.extend(new);
                placed
            }
            Some(ts) => {
                // Under time-slicing the leases move the jobs in flight first: the backends hear
                // of them after.
                let written = self.write_decided(&placing, &decided).await?;
                in_flight.extend(self.settle_placed(&decided, written, &mut report).await?);
                let placed: HashSet<JobId> = in_flight.iter().map(|j| j.id.clone()).collect();
                let waiting: Vec<Job> =
                    resuming.iter().chain(pending.iter().filter(|j| !placed.contains(&j.id))).map(|j| Job::clone(j)).collect();
                self.lease_step(&placing, ts, waiting, &mut in_flight, &mut report).await?;
                let placed = t0.elapsed();
                self.dispatch(&in_flight, &pool_by_id, &mut report).await?;
                placed
            }
        };
        self.stop_strays(&in_flight, &pool_by_id, &mut report).await?;
        let dispatched = t0.elapsed();
        if let Some(b) = self.billing.as_ref().filter(|_| !self.bills_apart.load(std::sync::atomic::Ordering::Relaxed)) {
            report.billed = b.sweep(self.ids.now_ms()).await?;
        }
        tracing::debug!(
            snapshot = ?snapshot,
            pending = pending.len(),
            in_flight = in_flight.len(),
            placed = report.placed,
            deferred = report.deferred,
            behind = report.behind,
            started = report.started,
            billed = report.billed,
            read_ms = read.as_millis() as u64,
            decide_ms = phases.decide.as_millis() as u64,
            place_ms = (placed - read).as_millis() as u64,
            dispatch_ms = (dispatched - placed).as_millis() as u64,
            bill_ms = (t0.elapsed() - dispatched).as_millis() as u64,
            "dispatch round"
        );
        phases.read = read;
        phases.write = (placed - read).saturating_sub(phases.decide);
        phases.dispatch = dispatched - placed;
        phases.bill = t0.elapsed() - dispatched;
        Ok((report, phases))
    }

    /// The fair-share account as a round at `now` sees it: receipts decayed to now, and the
    /// jobs in flight counted in full until they are charged at their end.
    fn fair_usage(&self, in_flight: &[Job], pool_by_id: &HashMap<&PoolId, &Pool>, now: i64) -> TenantUsage {
        let work: Vec<(&suanli_core::id::TenantId, f64)> = in_flight
            .iter()
            .filter_map(|j| {
                let pool = j.pool_id.as_ref().and_then(|p| pool_by_id.get(p)).copied()?;
                let acc = self.catalogue.get(&pool.accelerator)?;
                Some((&j.tenant_id, pflop_s(acc, j.spec.accelerators, self.run_estimate_s(j, Some(pool)))))
            })
            .collect();
        self.usage.lock().unwrap_or_else(|e| e.into_inner()).view(now, work)
    }
}

/// What a round places onto: the live centres and pools, and every pool by id.
struct Placing<'a> {
    centres: &'a [suanli_core::centre::Centre],
    pools: &'a [Pool],
    pool_by_id: &'a HashMap<&'a PoolId, &'a Pool>,
    /// When the round stops writing placements (see [`ROUND_WRITE_BUDGET`]).
    writes_until: std::time::Instant,
}

/// A job sent back to pending: where it was placed and when it started are forgotten.
fn requeued(x: &mut Job, reason: JobReason) {
    x.reason = Some(reason.into());
    x.pool_id = None;
    x.centre_id = None;
    x.placed_ms = None;
    x.started_ms = None;
}

/// Metered cost: the pool's price after partner discount, for the gang, for the seconds it ran.
pub fn cost_of(job: &Job, pool: Option<&Pool>, usage_s: i64) -> Fen {
    pool.map_or(Fen::ZERO, |p| Fen::charge(p.price_per_hour, job.spec.accelerators, usage_s, p.partner_discount_pct))
}
