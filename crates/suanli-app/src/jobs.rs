//! Jobs: submitting them (one or a batch), with the checks every edge shares, and the one rule of who sees which job, for lists and for single jobs alike.
//!
//! A submission is validated, checked against the tenant's jobs waiting for funds, and checked
//! to be runnable by some pool of the city ("ever feasible"); then it is stored with its audit
//! record through the job writer (group commit) and the engine is woken. The feasibility check
//! reads the registry (centres and pools) from a copy at most a second old, so a submission
//! costs no store read; a refusal is always confirmed against the store as it is now, so a pool
//! added a moment ago never makes a job be refused.

use crate::Caller;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use suanli_core::catalogue::Catalogue;
use suanli_core::centre::{Centre, Pool};
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{AuditId, JobId, TenantId};
use suanli_core::job::{Job, JobSpec};
use suanli_core::reason::{Canceller, JobReason};
use suanli_core::region::Regions;
use suanli_dispatch::engine::Engine;
use suanli_dispatch::ids::Ids;
use suanli_ledger::records::Bill;
use suanli_store::listing::{BillListing, JobLine, JobListing, Listed};
use suanli_store::{Audit, JobFilter, JobKey, JobWriter, Store, StoreError};

/// How old the registry copy behind the feasibility check may be.
const REGISTRY_FRESH: Duration = Duration::from_secs(1);

/// The most specs one batch may carry.
pub const MAX_BATCH: usize = 1000;

/// The centres and pools as read at one moment.
#[derive(Debug)]
struct Registry {
    centres: Vec<Centre>,
    pools: Vec<Pool>,
    read: Instant,
}

/// What a batch submission did: the jobs stored, in the order of their specs, and each refused
/// spec with its index in the batch. An all-or-nothing batch with a refusal stores nothing.
#[derive(Debug)]
pub struct BatchOutcome {
    pub created: Vec<Job>,
    pub refused: Vec<(usize, Error)>,
}

/// The jobs service: submissions from the API, the web UI, the demo and the benchmarks.
#[derive(Clone)]
pub struct Jobs {
    store: Store,
    writer: JobWriter,
    engine: Arc<Engine>,
    catalogue: Arc<Catalogue>,
    regions: Arc<Regions>,
    ids: Ids,
    registry: Arc<Mutex<Option<Arc<Registry>>>>,
    /// One registry read at a time; the others wait for it instead of reading too.
    refresh: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Jobs")
    }
}

impl Jobs {
    /// Starts the job writer over `store`.
    pub fn new(store: Store, engine: Arc<Engine>, catalogue: Arc<Catalogue>, regions: Arc<Regions>, ids: Ids) -> Jobs {
        Jobs {
            writer: JobWriter::start(store.clone(), engine.written_jobs()),
            store,
            engine,
            catalogue,
            regions,
            ids,
            registry: Arc::default(),
            refresh: Arc::default(),
        }
    }

    /// Validates a spec, refuses a job no pool could ever run, and stores it as pending with
    /// its audit record; answers once it is committed.
    pub async fn create(&self, actor: &str, tenant: TenantId, spec: JobSpec) -> Result<Job, StoreError> {
        self.store_new(actor, tenant, spec, None).await
    }

    /// Submits as [`Jobs::create`] does, under the tenant's idempotency key. The first
    /// submission with a key stores the job. A retry with the same key and the same spec
    /// answers that job (`true`: replayed), also when another replica stored it or when the first
    /// answer was lost on the way; so a client that retries after a timeout or a failover never
    /// submits twice. The same key with another spec is refused (`idempotency_key_reused`).
    pub async fn create_idempotent(&self, actor: &str, tenant: TenantId, spec: JobSpec, key: &str) -> Result<(Job, bool), StoreError> {
        check_key(key)?;
        let fingerprint = hex::encode(Sha256::digest(serde_json::to_vec(&spec).map_err(|e| StoreError::Corrupt(e.to_string()))?));
        if let Some(done) = self.replay(&tenant, key, &fingerprint).await? {
            return Ok((done, true));
        }
        match self.store_new(actor, tenant.clone(), spec, Some((key, fingerprint.clone()))).await {
            Ok(job) => Ok((job, false)),
            // A submission with the same key may have committed first (a concurrent retry).
            Err(e) => self.replay(&tenant, key, &fingerprint).await?.map(|done| (done, true)).ok_or(e),
        }
    }

    /// The job a used key names, or the refusal of a key used for another spec.
    async fn replay(&self, tenant: &TenantId, key: &str, fingerprint: &str) -> Result<Option<Job>, StoreError> {
        let Some(used) = self.store.job_key(tenant, key).await? else { return Ok(None) };
        if used.fingerprint != fingerprint {
            return Err(Error::new(
                ErrorCode::IdempotencyKeyReused,
                format!("the Idempotency-Key '{key}' was used for another job spec (job {})", used.job_id),
            )
            .into());
        }
        let job = self.store.job(&used.job_id).await?;
        job.map(Some)
            .ok_or_else(|| StoreError::Corrupt(format!("the idempotency key '{key}' names job {}, which is not stored", used.job_id)))
    }

    async fn store_new(&self, actor: &str, tenant: TenantId, spec: JobSpec, key: Option<(&str, String)>) -> Result<Job, StoreError> {
        spec.validate(&self.catalogue, &self.regions, self.ids.now_ms())?;
        self.engine.may_submit(&tenant)?;
        self.check_feasible(&spec).await?;
        let (t, e) = self.ids.parts();
        let job = Job::pending(JobId::generate(t, e), tenant, spec, t);
        let key = key.map(|(key, fingerprint)| JobKey {
            tenant_id: job.tenant_id.clone(),
            key: key.to_owned(),
            job_id: job.id.clone(),
            fingerprint,
            created_ms: t,
        });
        let mut detail = json!({"tenant": job.tenant_id, "accelerators": job.spec.accelerators, "kind": job.spec.kind});
        if let Some(k) = &key {
            detail["idempotency_key"] = json!(k.key);
        }
        // Group-committed with whatever other submissions wait; answered after the commit.
        self.writer.insert(job.clone(), self.audit(actor, "job.submit", job.id.as_str(), detail), key).await?;
        self.engine.wake();
        Ok(job)
    }

    /// Submits up to [`MAX_BATCH`] specs in one commit. `specs` holds each spec as the edge read
    /// it (an edge's own refusal, such as a malformed amount, keeps its place); each is checked
    /// as [`Jobs::create`] checks one. With `atomic`, one refusal stores nothing.
    pub async fn create_batch(
        &self,
        actor: &str,
        tenant: &TenantId,
        specs: Vec<Result<JobSpec, Error>>,
        atomic: bool,
    ) -> Result<BatchOutcome, StoreError> {
        if specs.is_empty() || specs.len() > MAX_BATCH {
            return Err(Error::new(ErrorCode::InvalidCount, format!("a batch carries 1 to {MAX_BATCH} jobs, not {}", specs.len())).into());
        }
        self.engine.may_submit(tenant)?;
        let now = self.ids.now_ms();
        let (mut ok, mut refused) = (Vec::new(), Vec::new());
        for (index, spec) in specs.into_iter().enumerate() {
            let checked = match spec.and_then(|s| s.validate(&self.catalogue, &self.regions, now).map(|()| s)) {
                Ok(s) => self.check_feasible(&s).await.map(|()| s),
                Err(e) => Err(e.into()),
            };
            match checked {
                Ok(s) => ok.push(s),
                Err(StoreError::Domain(e)) => refused.push((index, e)),
                Err(other) => return Err(other),
            }
        }
        if atomic && !refused.is_empty() {
            return Ok(BatchOutcome { created: Vec::new(), refused });
        }
        let (mut created, mut audits) = (Vec::with_capacity(ok.len()), Vec::with_capacity(ok.len()));
        for spec in ok {
            let (t, e) = self.ids.parts();
            let job = Job::pending(JobId::generate(t, e), tenant.clone(), spec, t);
            let detail = json!({"tenant": job.tenant_id, "accelerators": job.spec.accelerators, "kind": job.spec.kind, "batch": true});
            audits.push(self.audit(actor, "job.submit", job.id.as_str(), detail));
            created.push(job);
        }
        let mut tx = self.store.begin().await?;
        tx.insert_jobs(&created).await?;
        tx.audit_many(&audits).await?;
        tx.commit().await?;
        self.engine.wake();
        Ok(BatchOutcome { created, refused })
    }

    /// Why the scheduler placed a job where it did, as stored with its placement (packed, see
    /// `suanli_sched::explain`); `None` for a job never placed. A stored explanation this build
    /// cannot read is corruption, not a missing one.
    pub async fn decision(&self, id: &JobId) -> Result<Option<suanli_sched::Decision>, StoreError> {
        match self.store.explanation(id).await? {
            Some(v) => suanli_sched::Decision::from_stored(v)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("the stored explanation of {id}: {e}"))),
            None => Ok(None),
        }
    }

    /// Cancels a job that has not finished: its tenant or the operator (others are refused; a
    /// job the caller cannot see is "not found"). A running job is stopped on its backend by
    /// the engine's next round and billed for what it ran; one that never started costs nothing.
    pub async fn cancel(&self, caller: &Caller, id: &JobId, why: Option<&str>) -> Result<Job, StoreError> {
        let by = match caller {
            Caller::Tenant { .. } => Canceller::Tenant,
            Caller::Operator { .. } => Canceller::Operator,
            _ => return Err(Error::new(ErrorCode::Forbidden, "only the job's tenant or the operator cancels a job").into()),
        };
        let job = visible_job(&self.store, caller, id).await?;
        let now = self.ids.now_ms();
        let why = why.map(str::trim).filter(|w| !w.is_empty());
        let reason = JobReason::Cancelled { by, note: why.map(|r| r.chars().take(200).collect()) };
        let audit = self.audit(&caller.actor(), "job.cancel", job.id.as_str(), json!({"from": job.state, "reason": reason.to_string()}));
        let was = job.state;
        let job = self
            .store
            .transition_job(&job.id, suanli_core::job::JobState::Cancelled, audit, |j| {
                j.finished_ms = Some(now);
                j.reason = Some(reason.into());
                if was != suanli_core::job::JobState::Running {
                    // Never started as far as the store knows: nothing to meter.
                    j.usage_s = Some(0);
                    j.cost = Some(suanli_core::money::Fen::ZERO);
                }
            })
            .await?;
        self.engine.wake();
        Ok(job)
    }

    /// Refuses (`job_unsatisfiable`, with the reason) a job that no pool in the city could ever
    /// run, whatever its load: wrong accelerator, too small, out of the data's region, too dear.
    pub async fn check_feasible(&self, spec: &JobSpec) -> Result<(), StoreError> {
        let r = self.registry(false).await?;
        if suanli_sched::ever_feasible(spec, &r.centres, &r.pools, &self.catalogue, &self.regions).is_ok() {
            return Ok(());
        }
        let r = self.registry(true).await?;
        suanli_sched::ever_feasible(spec, &r.centres, &r.pools, &self.catalogue, &self.regions).map_err(|m| {
            Error::new(ErrorCode::JobUnsatisfiable, format!("no pool in the city could ever run this job: {}", m.describe())).into()
        })
    }

    /// The registry copy; read again when it is older than [`REGISTRY_FRESH`] or `now` asks.
    async fn registry(&self, now: bool) -> Result<Arc<Registry>, StoreError> {
        let asked = Instant::now();
        let current = || self.registry.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let usable = |r: &Option<Arc<Registry>>, since: Instant| match r {
            Some(r) if (now && r.read >= since) || (!now && r.read.elapsed() < REGISTRY_FRESH) => Some(r.clone()),
            _ => None,
        };
        if let Some(r) = usable(&current(), asked) {
            return Ok(r);
        }
        let _one = self.refresh.lock().await;
        // Another caller may have read it while this one waited.
        if let Some(r) = usable(&current(), asked) {
            return Ok(r);
        }
        let read = Instant::now();
        let r = Arc::new(Registry { centres: self.store.centres(None).await?, pools: self.store.pools().await?, read });
        *self.registry.lock().unwrap_or_else(|e| e.into_inner()) = Some(r.clone());
        Ok(r)
    }

    fn audit(&self, actor: &str, action: &str, subject: &str, detail: serde_json::Value) -> Audit {
        let (t, e) = self.ids.parts();
        Audit { id: AuditId::generate(t, e), at_ms: t, actor: actor.into(), action: action.into(), subject: subject.into(), detail }
    }
}

/// Narrows a job listing to what the caller may see: the operator and regulator all jobs, a
/// tenant its own, a provider those placed on its centres. A tenant asking for another
/// tenant's jobs is refused rather than silently narrowed.
pub fn scope(caller: &Caller, filter: &mut JobFilter) -> Result<(), Error> {
    match caller {
        Caller::Operator { .. } | Caller::Regulator { .. } => {}
        Caller::Tenant { tenant, .. } => {
            if filter.tenant_id.as_ref().is_some_and(|t| t != tenant) {
                return Err(Error::new(ErrorCode::Forbidden, "a tenant lists only its own jobs"));
            }
            filter.tenant_id = Some(tenant.clone());
        }
        Caller::Provider { provider, .. } => filter.provider_id = Some(provider.clone()),
        Caller::Expert { .. } => return Err(Error::new(ErrorCode::Forbidden, "an expert sees only the applications assigned to it")),
    }
    Ok(())
}

/// A job the caller may see; others' jobs are "not found", so their existence does not leak.
pub async fn visible_job(store: &Store, caller: &Caller, id: &JobId) -> Result<Job, StoreError> {
    let not_found = || StoreError::Domain(Error::new(ErrorCode::JobNotFound, format!("no job {id} that you can see")));
    let job = store.job(id).await?.ok_or_else(not_found)?;
    let visible = match caller {
        Caller::Operator { .. } | Caller::Regulator { .. } => true,
        Caller::Tenant { tenant, .. } => *tenant == job.tenant_id,
        Caller::Provider { provider, .. } => match &job.centre_id {
            Some(c) => store.centre(c).await?.is_some_and(|centre| centre.provider_id == *provider),
            None => false,
        },
        Caller::Expert { .. } => false,
    };
    if visible { Ok(job) } else { Err(not_found()) }
}

/// An idempotency key is 1 to 200 visible ASCII characters (a UUID, say).
fn check_key(key: &str) -> Result<(), Error> {
    if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::new(
            ErrorCode::InvalidIdempotencyKey,
            "an Idempotency-Key is 1 to 200 visible ASCII characters, such as a UUID",
        ));
    }
    Ok(())
}

/// One page of the jobs the caller may see (every such job, searched, filtered, sorted and
/// counted in the store), each with its centre's names and its bill: the web's jobs table.
pub async fn listing(store: &Store, caller: &Caller, mut l: JobListing) -> Result<Listed<JobLine>, StoreError> {
    scope(caller, &mut l.filter)?;
    store.job_listing(&l).await
}

/// One page of the bills the caller may see: a tenant its own, a provider those of its
/// centres, the operator and the regulator all; an expert none.
pub async fn bill_listing(store: &Store, caller: &Caller, mut l: BillListing) -> Result<Listed<Bill>, StoreError> {
    match caller {
        Caller::Operator { .. } | Caller::Regulator { .. } => {}
        Caller::Tenant { tenant, .. } => l.tenant_id = Some(tenant.clone()),
        Caller::Provider { provider, .. } => l.provider_id = Some(provider.clone()),
        Caller::Expert { .. } => return Err(Error::new(ErrorCode::Forbidden, "an expert sees only the applications assigned to it").into()),
    }
    store.bill_listing(&l).await
}
