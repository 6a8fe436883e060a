//! The engine loop: place pending jobs, hand placed jobs to backends, apply what backends report, stop what was cancelled.

use crate::ids::Ids;
use crate::unfunded::Unfunded;
use crate::{Backend, RunStatus};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use suanli_core::catalogue::Catalogue;
use suanli_core::centre::Pool;
use suanli_core::id::{AuditId, CentreId, JobId, PoolId};
use suanli_core::job::{Fault, Job, JobState, RunBounds, RunClaim, UsageRefused};
use suanli_core::money::Fen;
use suanli_core::region::Regions;
use suanli_sched::round::{PolicyKind, PoolLoad, RunningJob, Snapshot, TenantUsage, schedule};
use suanli_sched::{SchedConfig, SpeedModel};
use suanli_store::{Audit, Store, StoreError};
use tokio::sync::Notify;

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

/// Half-life of a tenant's received compute in the fair-share account.
const FAIR_SHARE_HALF_LIFE_MS: f64 = 6.0 * 3_600_000.0;

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
    /// Fair-share account: FP16 PFLOP-seconds each tenant received, decayed; rebuilt from the
    /// in-flight jobs after a restart.
    usage: std::sync::Mutex<(TenantUsage, i64)>,
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
            usage: std::sync::Mutex::new((TenantUsage::default(), 0)),
            measured_pue: std::sync::RwLock::new(HashMap::new()),
            billing: None,
            heartbeat_timeout_ms: std::sync::atomic::AtomicI64::new(30_000),
            restart_after_ms: std::sync::atomic::AtomicI64::new(90_000),
            unfunded: std::sync::Mutex::default(),
            unfunded_expiry_ms: std::sync::atomic::AtomicI64::new(crate::unfunded::DEFAULT_EXPIRY_MS),
            unfunded_limit: std::sync::atomic::AtomicUsize::new(crate::unfunded::DEFAULT_PER_TENANT),
        }
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
    async fn fundable(&self, b: &crate::billing::Billing, pending: Vec<Job>, now: i64) -> Result<Vec<Job>, StoreError> {
        let (expired, due) = {
            let mut u = self.unfunded.lock().unwrap_or_else(|e| e.into_inner());
            u.retain_pending(&pending.iter().map(|j| &j.id).collect());
            (u.expired(now, self.unfunded_expiry_ms.load(std::sync::atomic::Ordering::Relaxed)), u.due(now))
        };
        for id in &expired {
            let audit = self.audit("job.cancelled", id, json!({"why": "waited for funds too long"}));
            let cancelled = self
                .store
                .transition_job(id, JobState::Cancelled, audit, |x| {
                    x.reason = Some(
                        "cancelled: it waited for funds longer than the platform allows (top up or apply for vouchers, then submit again)"
                            .into(),
                    );
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
        Ok(pending.into_iter().filter(|j| !expired.contains(&j.id) && !u.holds_back(&j.id, &j.tenant_id)).collect())
    }

    /// How long a centre may be silent before its restartable running jobs start elsewhere.
    pub fn set_restart_after(&self, silence: Duration) {
        self.restart_after_ms.store(silence.as_millis() as i64, std::sync::atomic::Ordering::Relaxed);
    }

    /// Moves a placed or running job back to pending (to be placed again), forgetting where it
    /// was, and releases its holds; `None` if it had already moved on (cancelled meanwhile).
    async fn back_to_pending(&self, id: &JobId, now: i64, audit: Audit, reason: String) -> Result<Option<Job>, StoreError> {
        let moved = self
            .store
            .transition_job(id, JobState::Pending, audit, |x| {
                x.reason = Some(reason);
                x.pool_id = None;
                x.centre_id = None;
                x.placed_ms = None;
                x.started_ms = None;
            })
            .await;
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
        let mut guard = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        let (usage, last) = &mut *guard;
        if *last > 0 && now > *last {
            let decay = 0.5f64.powf((now - *last) as f64 / FAIR_SHARE_HALF_LIFE_MS);
            usage.received.values_mut().for_each(|v| *v *= decay);
        }
        *last = now.max(*last);
        *usage.received.entry(tenant.clone()).or_insert(0.0) += pflop_s;
    }

    /// Pools as the scheduler sees them: free accelerators and the in-flight jobs holding the rest.
    fn build_loads(&self, pools: &[Pool], in_flight: &[Job], now: i64) -> Vec<PoolLoad> {
        let mut loads: Vec<PoolLoad> = pools.iter().map(PoolLoad::idle).collect();
        let load_index: HashMap<&PoolId, usize> = pools.iter().enumerate().map(|(i, p)| (&p.id, i)).collect();
        for j in in_flight {
            let Some(&i) = j.pool_id.as_ref().and_then(|p| load_index.get(p)) else { continue };
            let start = j.started_ms.or(j.placed_ms).unwrap_or(now);
            let est = self.run_estimate_s(j, Some(&pools[i]));
            loads[i].free = loads[i].free.saturating_sub(j.spec.accelerators);
            loads[i].running.push(RunningJob {
                job: j.id.clone(),
                tenant: j.tenant_id.clone(),
                accelerators: j.spec.accelerators,
                priority: j.spec.priority,
                preemptible: j.spec.preemptible && j.state == JobState::Running,
                started_ms: start,
                est_end_ms: start + (est * 1000.0) as i64,
            });
        }
        loads
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
        let usage = self.usage.lock().unwrap_or_else(|e| e.into_inner()).0.clone();
        let snap = self.snapshot(now, &centres, &loads, &usage);
        Ok(suanli_sched::quote::quote(snap, tenant, spec, limit))
    }

    /// The estimated run time of a job on a pool's model, seconds.
    fn run_estimate_s(&self, job: &Job, pool: Option<&Pool>) -> f64 {
        match pool.and_then(|p| self.catalogue.get(&p.accelerator)) {
            Some(acc) => self.sched.speeds.run_seconds(job.spec.job_class.as_deref(), acc, job.spec.duration_s as f64),
            None => job.spec.duration_s as f64,
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
    pub async fn run(self: Arc<Self>, interval: Duration, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if !self.store.leads() {
                tracing::trace!("a follower runs no rounds");
            } else if let Err(e) = self.round().await {
                match &e {
                    StoreError::Domain(d) if d.code == suanli_core::error::ErrorCode::NotLeader => {
                        tracing::warn!(error = %e, "dispatch round fenced off: this replica no longer leads")
                    }
                    _ => tracing::warn!(error = %e, "dispatch round failed; retrying next tick"),
                }
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(interval) => {},
                _ = self.wake.notified() => {},
            }
        }
    }

    /// One round over a fresh snapshot of the store: fail over from dark centres, place what
    /// waits, hand in-flight jobs to their backends and apply what they say, stop what is over,
    /// bill what ended.
    pub async fn round(&self) -> Result<RoundReport, StoreError> {
        let mut report = RoundReport::default();
        let t0 = std::time::Instant::now();
        let down = self.unavailable_centres(self.ids.now_ms());
        let mut centres = self.store.centres(None).await?;
        self.with_measured_pue(&mut centres);
        let pools = self.store.pools().await?;
        let pool_by_id: HashMap<&PoolId, &Pool> = pools.iter().map(|p| (&p.id, p)).collect();
        let mut in_flight = self.store.jobs_in_states(&[JobState::Placed, JobState::Running]).await?;
        let mut pending = self.store.jobs_in_states(&[JobState::Pending]).await?;
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
        let placing = Placing { centres: &centres, pools: &live_pools, pool_by_id: &pool_by_id };
        let read = t0.elapsed();
        self.place(&placing, &pending, &mut in_flight, &mut report).await?;
        let placed = t0.elapsed();
        self.dispatch(&in_flight, &pool_by_id, &mut report).await?;
        self.stop_strays(&in_flight, &pool_by_id, &mut report).await?;
        let dispatched = t0.elapsed();
        if let Some(b) = &self.billing {
            report.billed = b.sweep(self.ids.now_ms()).await?;
        }
        tracing::debug!(
            pending = pending.len(),
            in_flight = in_flight.len(),
            placed = report.placed,
            started = report.started,
            billed = report.billed,
            read_ms = read.as_millis() as u64,
            place_ms = (placed - read).as_millis() as u64,
            dispatch_ms = (dispatched - placed).as_millis() as u64,
            bill_ms = (t0.elapsed() - dispatched).as_millis() as u64,
            "dispatch round"
        );
        Ok(report)
    }

    /// Failover: a dark centre's jobs that have not started are placed again elsewhere (its
    /// backend is told to drop them, so a returning agent cancels rather than starts them);
    /// restartable running jobs of a centre silent past the restart threshold start again
    /// elsewhere (the lost run is the centre's and is not billed). Other running jobs stay.
    async fn fail_over(
        &self,
        down: &HashSet<CentreId>,
        in_flight: &mut Vec<Job>,
        pending: &mut Vec<Job>,
        report: &mut RoundReport,
    ) -> Result<(), StoreError> {
        let now = self.ids.now_ms();
        let stranded = |j: &Job| j.state == JobState::Placed && j.centre_id.as_ref().is_some_and(|c| down.contains(c));
        for j in in_flight.iter().filter(|j| stranded(j)) {
            let Some(centre) = j.centre_id.clone() else { continue };
            self.cancel_on(j.centre_id.as_ref(), &j.id, now).await;
            let audit = self.audit("job.replaced", &j.id, json!({"unavailable_centre": centre}));
            let reason = format!("centre {centre} stopped answering before the job started; it is placed again");
            if let Some(job) = self.back_to_pending(&j.id, now, audit, reason).await? {
                report.replaced += 1;
                pending.push(job);
            }
        }
        in_flight.retain(|j| !stranded(j));
        let abandoned = self.abandoned_centres(now);
        let gone =
            |j: &Job| j.state == JobState::Running && j.spec.restartable && j.centre_id.as_ref().is_some_and(|c| abandoned.contains(c));
        for j in in_flight.iter().filter(|j| gone(j)) {
            let Some(centre) = j.centre_id.clone() else { continue };
            self.cancel_on(j.centre_id.as_ref(), &j.id, now).await;
            let audit = self.audit("job.restarted", &j.id, json!({"silent_centre": centre, "lost_run_started_ms": j.started_ms}));
            let reason = format!("centre {centre} went silent while it ran; it starts again elsewhere (the lost run is not billed)");
            if let Some(job) = self.back_to_pending(&j.id, now, audit, reason).await? {
                report.replaced += 1;
                pending.push(job);
            }
        }
        in_flight.retain(|j| !gone(j));
        Ok(())
    }

    /// The fair-share account as the scheduler should see it: jobs in flight count towards
    /// their tenant's share until they are accounted at the end.
    fn fair_usage(&self, in_flight: &[Job], pool_by_id: &HashMap<&PoolId, &Pool>) -> TenantUsage {
        let mut u = self.usage.lock().unwrap_or_else(|e| e.into_inner()).0.clone();
        for j in in_flight {
            let pool = j.pool_id.as_ref().and_then(|p| pool_by_id.get(p)).copied();
            if let Some(acc) = pool.and_then(|p| self.catalogue.get(&p.accelerator)) {
                *u.received.entry(j.tenant_id.clone()).or_insert(0.0) +=
                    acc.fp16_tflops / 1000.0 * j.spec.accelerators as f64 * self.run_estimate_s(j, pool);
            }
        }
        u
    }

    /// Places, preempts, reserves and defers: one scheduling decision over the live city,
    /// then each placement held on the ledger and committed with its explanation.
    async fn place(&self, at: &Placing<'_>, pending: &[Job], in_flight: &mut Vec<Job>, report: &mut RoundReport) -> Result<(), StoreError> {
        let now = self.ids.now_ms();
        let loads = self.build_loads(at.pools, in_flight, now);
        let usage = self.fair_usage(in_flight, at.pool_by_id);
        let outcome = schedule(self.snapshot(now, at.centres, &loads, &usage), pending, self.sched.policy);
        let pending_by_id: HashMap<&JobId, &Job> = pending.iter().map(|j| (&j.id, j)).collect();
        for pre in &outcome.preemptions {
            let centre = in_flight.iter().find(|j| j.id == pre.victim).and_then(|j| j.centre_id.clone());
            let ran = self.cancel_on(centre.as_ref(), &pre.victim, now).await;
            let audit = self.audit("job.preempted", &pre.victim, json!({"by": pre.by, "pool": pre.pool, "lost_s": ran}));
            let reason = format!("preempted by higher-priority job {}; it restarts when placed again", pre.by);
            if self.back_to_pending(&pre.victim, now, audit, reason).await?.is_some() {
                report.preempted += 1;
            }
            in_flight.retain(|j| j.id != pre.victim);
        }
        // Every placement's charge is held first, all at once, so the ledger's writer takes them
        // in one or a few commits; then the placements, explanations, audit records and the
        // waiting jobs' reasons are written in one transaction.
        let chosen: Vec<(&Job, &suanli_sched::round::Placement)> =
            outcome.placements.iter().filter_map(|p| pending_by_id.get(&p.job).map(|j| (*j, p))).collect();
        let held = futures_util::future::join_all(chosen.iter().map(|(job, p)| self.hold_placement(at, job, p, now))).await;
        let mut refused = Vec::new();
        let mut placed = Vec::new();
        let mut tx = Chunked::new(&self.store);
        for ((job, p), held) in chosen.into_iter().zip(held) {
            match held? {
                Ok(()) => placed.extend(self.commit_placement(tx.tx().await?, p, now).await?),
                Err(why) => refused.push((job, why)),
            }
            tx.done_one().await?;
        }
        for w in &outcome.waits {
            report.waiting += 1;
            if pending_by_id.get(&w.job).is_some_and(|j| j.reason.as_deref() != Some(w.reason.as_str())) {
                tx.tx().await?.set_job_reason(&w.job, &w.reason).await?;
                tx.done_one().await?;
            }
        }
        for (job, why) in &refused {
            report.waiting += 1;
            if job.reason.as_deref() != Some(why.0.as_str()) {
                tx.tx().await?.set_job_reason(&job.id, &why.0).await?;
                tx.done_one().await?;
            }
        }
        tx.commit().await?;
        {
            let mut unfunded = self.unfunded.lock().unwrap_or_else(|e| e.into_inner());
            for j in &placed {
                unfunded.forget(&j.id);
            }
        }
        report.placed += placed.len() as u32;
        in_flight.extend(placed);
        if let (Some(b), false) = (&self.billing, refused.is_empty()) {
            // Left out of rounds until their tenant's money grows; the capacity they were planned
            // on goes to others in a round run at once.
            for (job, _) in refused {
                let spendable = b.spendable(&job.tenant_id, now).await?;
                self.unfunded.lock().unwrap_or_else(|e| e.into_inner()).mark(&job.id, &job.tenant_id, spendable, now);
            }
            self.wake();
        }
        Ok(())
    }

    /// Holds a placement's charge on the ledger; the refusal when the tenant's money falls short.
    async fn hold_placement(
        &self,
        at: &Placing<'_>,
        job: &Job,
        p: &suanli_sched::round::Placement,
        now: i64,
    ) -> Result<Result<(), crate::billing::HoldRefused>, StoreError> {
        let (pool, centre) = (&p.chosen.pool, &p.chosen.centre);
        match (&self.billing, at.pool_by_id.get(pool), at.centres.iter().find(|c| &c.id == centre)) {
            (Some(b), Some(pl), Some(c)) => b.hold(job, pl, c, self.run_estimate_s(job, Some(pl)), now).await,
            _ => Ok(Ok(())),
        }
    }

    /// Writes one placement with its explanation and audit record into `tx`; `None` when the
    /// job moved on since the snapshot (cancelled), which changes nothing.
    async fn commit_placement(
        &self,
        tx: &mut suanli_store::WriteTx<'_>,
        p: &suanli_sched::round::Placement,
        now: i64,
    ) -> Result<Option<Job>, StoreError> {
        let (pool, centre) = (p.chosen.pool.clone(), p.chosen.centre.clone());
        let explanation = json!({
            "decided_ms": now,
            "policy": self.sched.policy.as_str(),
            "chosen": p.chosen.view(),
            "alternatives": p.alternatives.iter().map(|a| a.view()).collect::<Vec<_>>(),
            "preempted": p.preempted,
            "backfilled": p.backfilled,
            "fair_share_pflop_s": p.fair_share,
        });
        let audit = self.audit("job.placed", &p.job, json!({"pool": pool, "centre": centre, "price_per_hour": p.chosen.price_per_hour.to_yuan_string(), "score_yuan": p.chosen.score_yuan}));
        let placed = tx
            .transition_job(&p.job, JobState::Placed, |j| {
                j.pool_id = Some(pool.clone());
                j.centre_id = Some(centre.clone());
                j.placed_ms = Some(now);
                j.reason = None;
            })
            .await;
        match placed {
            Ok(j) => {
                tx.set_explanation(&p.job, &explanation).await?;
                tx.audit(&audit).await?;
                Ok(Some(j))
            }
            // Cancelled between the snapshot and now: nothing to do.
            Err(StoreError::Domain(e)) => {
                tracing::debug!(job = %p.job, error = %e, "not placed");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Hands in-flight jobs to their backends (idempotent: a backend adopts what it has), then
    /// applies what each backend says of them.
    async fn dispatch(&self, in_flight: &[Job], pool_by_id: &HashMap<&PoolId, &Pool>, report: &mut RoundReport) -> Result<(), StoreError> {
        let mut by_backend: HashMap<usize, (Arc<dyn Backend>, Vec<&Job>)> = HashMap::new();
        for j in in_flight {
            let Some(b) = self.backend_for(j.centre_id.as_ref()) else { continue };
            by_backend.entry(Arc::as_ptr(&b) as *const () as usize).or_insert_with(|| (b, Vec::new())).1.push(j);
        }
        for (backend, jobs) in by_backend.values() {
            let now = self.ids.now_ms();
            for j in jobs {
                let run_s = self.run_estimate_s(j, j.pool_id.as_ref().and_then(|p| pool_by_id.get(p)).copied());
                if let Err(e) = backend.submit(j, run_s, now).await {
                    report.backend_errors += 1;
                    tracing::warn!(job = %j.id, backend = backend.name(), error = %e, "submit failed");
                }
            }
            let ids: Vec<JobId> = jobs.iter().map(|j| j.id.clone()).collect();
            let statuses = match backend.status(&ids, self.ids.now_ms()).await {
                Ok(s) => s,
                Err(e) => {
                    report.backend_errors += 1;
                    tracing::warn!(backend = backend.name(), error = %e, "status failed");
                    continue;
                }
            };
            // What the backend says of them, a few hundred jobs a transaction.
            let mut tx = Chunked::new(&self.store);
            for j in jobs {
                let Some(status) = statuses.get(&j.id) else { continue };
                if matches!(status, RunStatus::Queued | RunStatus::Unknown)
                    || (j.state == JobState::Running && matches!(status, RunStatus::Running { .. }))
                {
                    continue;
                }
                let pool = j.pool_id.as_ref().and_then(|p| pool_by_id.get(p)).copied();
                let (status, alert) = self.believable(j, status, pool, backend.time_scale());
                if let Some(alert) = alert {
                    tx.tx().await?.audit(&alert).await?;
                }
                self.apply(tx.tx().await?, j, &status, pool, report).await?;
                tx.done_one().await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// Stops what the store says is over but a backend still runs (metering what it ran, once);
    /// a job a backend runs that Suanli does not know is reported, not killed.
    async fn stop_strays(
        &self,
        in_flight: &[Job],
        pool_by_id: &HashMap<&PoolId, &Pool>,
        report: &mut RoundReport,
    ) -> Result<(), StoreError> {
        let in_flight_ids: HashSet<&JobId> = in_flight.iter().map(|j| &j.id).collect();
        let mut backends: Vec<Arc<dyn Backend>> = self.default_backend.iter().cloned().collect();
        backends.extend(self.backends.read().unwrap_or_else(|e| e.into_inner()).values().cloned());
        for backend in &backends {
            let now = self.ids.now_ms();
            let active = match backend.active(now).await {
                Ok(a) => a,
                Err(e) => {
                    report.backend_errors += 1;
                    tracing::warn!(backend = backend.name(), error = %e, "listing active jobs failed");
                    continue;
                }
            };
            for id in active.iter().filter(|id| !in_flight_ids.contains(id)) {
                match self.store.job(id).await? {
                    Some(job) if job.state.is_terminal() => {
                        let ran = backend.cancel(id, now).await.unwrap_or_else(|e| {
                            tracing::warn!(job = %id, error = %e, "cancel failed");
                            None
                        });
                        report.stopped += 1;
                        if job.usage_s.is_none() {
                            let usage = ran.unwrap_or(0);
                            let cost = cost_of(&job, job.pool_id.as_ref().and_then(|p| pool_by_id.get(p)).copied(), usage);
                            let detail = json!({"usage_s": usage, "cost": cost.to_yuan_string(), "why": "stopped after cancel"});
                            self.store.record_usage(id, usage, cost, self.audit("job.metered", id, detail)).await?;
                        }
                    }
                    Some(_) => {}
                    None => {
                        tracing::warn!(job = %id, backend = backend.name(), "backend runs a job Suanli does not know; reported, not killed")
                    }
                }
            }
        }
        Ok(())
    }

    /// A backend's report as the platform bills it: a finished run whose claim contradicts itself
    /// (see [`RunBounds::check`]) fails as the centre's fault and bills nothing; one past its time
    /// limit is billed up to the limit. Either is recorded as an alert against the centre.
    fn believable(&self, j: &Job, status: &RunStatus, pool: Option<&Pool>, time_scale: f64) -> (RunStatus, Option<Audit>) {
        let (RunStatus::Succeeded { started_ms, ended_ms, usage_s } | RunStatus::Failed { started_ms, ended_ms, usage_s, .. }) = status
        else {
            return (status.clone(), None);
        };
        let bounds =
            RunBounds { placed_ms: j.placed_ms, now_ms: self.ids.now_ms(), time_scale, run_estimate_s: self.run_estimate_s(j, pool) };
        let claim = RunClaim { started_ms: *started_ms, ended_ms: *ended_ms, usage_s: *usage_s };
        let (believed, alert) = match bounds.check(claim) {
            Ok((usage, false)) if usage == *usage_s => return (status.clone(), None),
            Ok((usage, _)) => {
                let why = format!("usage {usage_s} s is past the time limit of {} s; billed up to the limit", bounds.limit_s());
                let mut capped = status.clone();
                if let RunStatus::Succeeded { usage_s, .. } | RunStatus::Failed { usage_s, .. } = &mut capped {
                    *usage_s = usage;
                }
                (capped, ("usage_over_time_limit", why))
            }
            Err(UsageRefused(why)) => {
                let refused = RunStatus::Failed {
                    started_ms: *started_ms,
                    ended_ms: (*ended_ms).clamp(*started_ms, bounds.now_ms),
                    usage_s: 0,
                    fault: Fault::Centre,
                    reason: format!("the centre's report was refused ({why}); nothing is billed [usage_report_refused]"),
                };
                (refused, ("usage_report_refused", why))
            }
        };
        let centre = j.centre_id.as_ref().map_or_else(String::new, |c| c.to_string());
        tracing::warn!(job = %j.id, centre, code = alert.0, why = %alert.1, "a backend's usage report was not believed");
        let (t, e) = self.ids.parts();
        let record = Audit {
            id: AuditId::generate(t, e),
            at_ms: t,
            actor: "system:dispatch".into(),
            action: "centre.alert".into(),
            subject: centre,
            detail: json!({"code": alert.0, "job": j.id, "detail": alert.1, "claimed_usage_s": usage_s, "started_ms": started_ms, "ended_ms": ended_ms}),
        };
        (believed, Some(record))
    }

    /// Writes what a backend says of a job into `tx`: its start, its end with usage and cost.
    async fn apply(
        &self,
        tx: &mut suanli_store::WriteTx<'_>,
        j: &Job,
        status: &RunStatus,
        pool: Option<&Pool>,
        report: &mut RoundReport,
    ) -> Result<(), StoreError> {
        let (started, ended, usage, failure) = match status {
            RunStatus::Queued | RunStatus::Unknown => return Ok(()),
            RunStatus::Running { started_ms } => (*started_ms, None, None, None),
            RunStatus::Succeeded { started_ms, ended_ms, usage_s } => (*started_ms, Some(*ended_ms), Some(*usage_s), None),
            RunStatus::Failed { started_ms, ended_ms, usage_s, fault, reason } => {
                (*started_ms, Some(*ended_ms), Some(*usage_s), Some((*fault, reason.clone())))
            }
        };
        if j.state == JobState::Placed {
            match tx.transition_job(&j.id, JobState::Running, |x| x.started_ms = Some(started)).await {
                Ok(_) => {}
                Err(StoreError::Domain(_)) => return Ok(()), // cancelled meanwhile
                Err(e) => return Err(e),
            }
            tx.audit(&self.audit("job.started", &j.id, json!({"started_ms": started}))).await?;
            report.started += 1;
        }
        if let (Some(ended), Some(usage)) = (ended, usage) {
            let to = if failure.is_some() { JobState::Failed } else { JobState::Succeeded };
            let cost = cost_of(j, pool, usage);
            match tx
                .transition_job(&j.id, to, |x| {
                    x.finished_ms = Some(ended);
                    x.usage_s = Some(usage);
                    x.cost = Some(cost);
                    x.fault = failure.as_ref().map(|f| f.0);
                    x.reason = failure.as_ref().map(|f| f.1.clone());
                })
                .await
            {
                Ok(_) => {}
                Err(StoreError::Domain(_)) => return Ok(()),
                Err(e) => return Err(e),
            }
            tx.audit(&self.audit(
                if failure.is_some() { "job.failed" } else { "job.succeeded" },
                &j.id,
                json!({"usage_s": usage, "cost": cost.to_yuan_string(), "fault": failure.as_ref().map(|f| f.0), "reason": failure.as_ref().map(|f| &f.1)}),
            ))
            .await?;
            if failure.is_some() {
                report.failed += 1;
            } else {
                report.succeeded += 1;
            }
            if let Some(acc) = pool.and_then(|p| self.catalogue.get(&p.accelerator)) {
                // Usage is seconds on the pool's own accelerator.
                self.account(&j.tenant_id, acc.fp16_tflops / 1000.0 * j.spec.accelerators as f64 * usage as f64, ended);
            }
        }
        Ok(())
    }
}

/// A round's writes in transactions of at most [`Chunked::SIZE`] jobs each: few commits (one
/// fsync each on SQLite), yet no transaction holds the store's writer for long, so submissions
/// and the ledger's commits interleave with a big round.
struct Chunked<'s> {
    store: &'s suanli_store::Store,
    open: Option<suanli_store::WriteTx<'s>>,
    n: usize,
}

impl<'s> Chunked<'s> {
    const SIZE: usize = 256;

    fn new(store: &'s suanli_store::Store) -> Chunked<'s> {
        Chunked { store, open: None, n: 0 }
    }

    /// The open transaction, begun if there is none.
    async fn tx(&mut self) -> Result<&mut suanli_store::WriteTx<'s>, StoreError> {
        if self.open.is_none() {
            self.open = Some(self.store.begin().await?);
        }
        Ok(self.open.as_mut().expect("begun above"))
    }

    /// Counts one job written; commits when the transaction holds enough.
    async fn done_one(&mut self) -> Result<(), StoreError> {
        self.n += 1;
        if self.n >= Self::SIZE {
            self.commit().await?;
        }
        Ok(())
    }

    async fn commit(&mut self) -> Result<(), StoreError> {
        self.n = 0;
        match self.open.take() {
            Some(tx) => tx.commit().await,
            None => Ok(()),
        }
    }
}

/// What a round places onto: the live centres and pools, and every pool by id.
struct Placing<'a> {
    centres: &'a [suanli_core::centre::Centre],
    pools: &'a [Pool],
    pool_by_id: &'a HashMap<&'a PoolId, &'a Pool>,
}

/// Metered cost: the pool's price after partner discount, for the gang, for the seconds it ran.
pub fn cost_of(job: &Job, pool: Option<&Pool>, usage_s: i64) -> Fen {
    pool.map_or(Fen::ZERO, |p| Fen::charge(p.price_per_hour, job.spec.accelerators, usage_s, p.partner_discount_pct))
}
