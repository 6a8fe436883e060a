//! The energy service: the in-memory `EnergyBook` over the store's meters and accepted readings, who may write a centre's telemetry, registration of meters and facts, utilisation, and the one ingest path (in `energy/ingest.rs`).
//!
//! Every registered compute centre is a data centre of the book. Unless meters were stored for
//! it, a centre gets the default meters of `suanli_energy::defaults` (`facility` and `it`,
//! cumulative kWh), a rated capacity from its racks and a cooling type from its declared PUE.
//! Centres registered after start join the book when they first send readings or when an
//! energy view is read.
//!
//! The book's write lock is held only to judge and change the book: whatever the store has to
//! say (a new centre's record and meters, the stored readings a resent batch repeats) is read
//! with the lock let go, and the commit happens after it is released (ingest) or before it
//! is taken (facts). The exceptions are the rare paths that must not let a reading in between:
//! registering meters commits under the lock, and a failed commit rebuilds the book from the
//! store under it (ingests wait).

mod book;
mod follow;
mod ingest;
mod writer;

pub use book::{Loaded, build_book};
pub use follow::{CatchUp, Replayed};
pub use ingest::{CsvImport, MAX_CSV_READINGS, RemoteWrite, Series};
pub use writer::MAX_GROUP;

use crate::caller::Caller;
use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use suanli_core::centre::Centre;
use suanli_core::city::Policy;
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{AuditId, CentreId, ProviderId};
use suanli_core::region::Regions;
use suanli_core::time::{MS_PER_DAY, UnixMs};
use suanli_dispatch::ids::Ids;
use suanli_energy::defaults::{cooling_name, cooling_of, data_centre, default_meters};
use suanli_energy::{Assessment, DataCentre, EnergyBook, EnergyConfig, EnergyError, Load, Meter, MeterId};
use suanli_store::{Audit, Store, StoreError};
use tokio::sync::{RwLock, RwLockReadGuard, mpsc};

/// Judged batches waiting for the writer by default; beyond this, ingest answers 429 `ingest_busy`.
pub const WRITE_QUEUE: usize = 256;

/// The energy book's settings under the city's policy: its new-data-centre PUE rule judges by
/// the policy's one limit (`Policy::new_dc_pue_limit`), so the limit the pages and the API
/// show is the limit the book judges by; the rest are the book's defaults.
pub fn config_for(policy: &Policy) -> EnergyConfig {
    let mut config = EnergyConfig::default();
    config.policy.pue_below = policy.new_dc_pue_limit;
    config
}

/// The hasher of the maps every remote write looks its centres up in (hundreds a request):
/// foldhash, not SipHash; the keys are ids the platform issued.
pub(crate) type Fast = foldhash::fast::RandomState;
/// Each centre's registered meters, as the book has them: remote writes are mapped to readings
/// by it without waiting for the book's lock (see [`Energy::remote_write`]).
pub(crate) type MeterTable = HashMap<CentreId, Arc<[Meter]>, Fast>;
/// The centres whose meters the store has.
pub(crate) type CentreSet = HashSet<CentreId, Fast>;
/// Each centre's provider.
pub(crate) type Owners = HashMap<CentreId, ProviderId, Fast>;

/// The meter table of a whole book.
fn table_of(book: &EnergyBook) -> MeterTable {
    book.data_centres().map(|dc| (dc.id.clone(), Arc::from(dc.meters.as_slice()))).collect()
}

/// Each centre's load (utilisation, accelerators, area), and when it was computed.
type Loads = (UnixMs, Arc<BTreeMap<CentreId, Load>>);

/// How long loads kept for pages count as fresh, in the server's clock.
const LOADS_FRESH_MS: UnixMs = 60_000;

/// Every centre's evaluation made for a page, with what it was made from: the book's revision,
/// the time of the loads, and when.
struct Evaluated {
    revision: u64,
    loads_at: UnixMs,
    at: UnixMs,
    ranked: Arc<Vec<Assessment>>,
}

/// The book and the store it mirrors; cheap to clone.
#[derive(Clone)]
pub struct Energy {
    book: Arc<RwLock<EnergyBook>>,
    /// What the book is built under (a rebuild keeps it).
    config: Arc<EnergyConfig>,
    store: Store,
    ids: Ids,
    /// Centres whose meters are in the store (changed under the book's write lock).
    stored: Arc<Mutex<CentreSet>>,
    /// The provider of every centre of the book (write permission is checked against it).
    owners: Arc<std::sync::RwLock<Owners>>,
    /// Every centre's meters as the book has them (changed with the book, under its write lock).
    meter_table: Arc<std::sync::RwLock<MeterTable>>,
    /// The last loads computed for pages, and when (fresh for a minute, then served while a
    /// refresh runs in the background).
    recent_loads: Arc<Mutex<Option<Loads>>>,
    /// Whether a background refresh of `recent_loads` is under way (one at a time).
    refreshing: Arc<std::sync::atomic::AtomicBool>,
    /// The last evaluation made for pages ([`Energy::evaluation_recent`]).
    recent_evaluation: Arc<Mutex<Option<Evaluated>>>,
    /// How far the book has read the store: what a follower's [`Energy::catch_up`] reads on from.
    replayed: Arc<Mutex<Replayed>>,
    /// The writer's queue, bounded: when it is full, a batch is refused (429) before it is judged.
    writer: mpsc::Sender<writer::WriteJob>,
    queue: usize,
}

impl std::fmt::Debug for Energy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Energy").field("queue", &self.queue).finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn not_found(centre: &CentreId) -> StoreError {
    Error::from(EnergyError::DataCentreNotFound { dc: centre.clone() }).into()
}

fn energy(e: EnergyError) -> StoreError {
    Error::from(e).into()
}

impl Energy {
    /// Loads the book from the store under the city's `policy` ([`config_for`]) and starts the
    /// writer with a queue of `queue` judged batches (at least one; [`WRITE_QUEUE`] in production).
    pub async fn load(store: Store, ids: Ids, queue: usize, policy: &Policy) -> Result<Energy, StoreError> {
        let config = config_for(policy);
        let Loaded { book, stored, owners, replayed } = build_book(&store, &config, ids.now_ms()).await?;
        Ok(Energy {
            config: Arc::new(config),
            writer: writer::start(store.clone(), queue),
            queue: queue.max(1),
            meter_table: Arc::new(std::sync::RwLock::new(table_of(&book))),
            book: Arc::new(RwLock::new(book)),
            store,
            ids,
            stored: Arc::new(Mutex::new(stored)),
            owners: Arc::new(std::sync::RwLock::new(owners)),
            recent_loads: Arc::new(Mutex::new(None)),
            refreshing: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            recent_evaluation: Arc::new(Mutex::new(None)),
            replayed: Arc::new(Mutex::new(replayed)),
        })
    }

    /// The book, to read (views and pages). Hold it briefly: ingest waits for readers.
    pub async fn read(&self) -> RwLockReadGuard<'_, EnergyBook> {
        self.book.read().await
    }

    /// Rebuilds the book from the store: a replica that becomes leader does this, because the
    /// last leader ingested readings since this replica loaded. Ingests wait for it.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let mut book = self.book.write().await;
        self.rebuild(&mut book).await
    }

    /// Replaces the book (held by the caller's write lock) with the store's.
    async fn rebuild(&self, book: &mut EnergyBook) -> Result<(), StoreError> {
        let fresh = build_book(&self.store, &self.config, self.ids.now_ms()).await?;
        *book = fresh.book;
        *self.meter_table.write().unwrap_or_else(|e| e.into_inner()) = table_of(book);
        *lock(&self.stored) = fresh.stored;
        *self.owners.write().unwrap_or_else(|e| e.into_inner()) = fresh.owners;
        *lock(&self.recent_loads) = None;
        *lock(&self.recent_evaluation) = None;
        *lock(&self.replayed) = fresh.replayed;
        Ok(())
    }

    /// Registers centres of the store that the book does not know yet (with default meters);
    /// answers every centre of the store, which city-wide views need anyway.
    pub async fn sync_centres(&self) -> Result<Vec<Centre>, StoreError> {
        let centres = self.store.centres(None).await?;
        self.sync_with(&centres).await?;
        Ok(centres)
    }

    /// [`Energy::sync_centres`] over centres already read.
    pub async fn sync_with(&self, centres: &[Centre]) -> Result<(), StoreError> {
        let missing: Vec<&Centre> = {
            let book = self.book.read().await;
            centres.iter().filter(|c| book.data_centre(&c.id).is_none()).collect()
        };
        if !missing.is_empty() {
            let mut book = self.book.write().await;
            for c in missing {
                self.register_new(&mut book, c, default_meters())?;
            }
        }
        Ok(())
    }

    /// Registers the given centres if the book does not know them yet (unknown ids are left
    /// out: they have no meters to resolve).
    pub async fn ensure_registered(&self, centres: &[&CentreId]) -> Result<(), StoreError> {
        let prepared = self.prepare(centres, false).await?;
        if !prepared.is_empty() {
            let mut book = self.book.write().await;
            for (c, meters) in prepared {
                self.register_new(&mut book, &c, meters)?;
            }
        }
        Ok(())
    }

    /// The centres of `centres` the book does not know, read from the store with their stored
    /// meters (or the defaults), without holding the book's lock. An id the store does not know
    /// is `data_centre_not_found` when `strict`, left out otherwise.
    async fn prepare(&self, centres: &[&CentreId], strict: bool) -> Result<Vec<(Centre, Vec<Meter>)>, StoreError> {
        let missing: Vec<&CentreId> = {
            let book = self.book.read().await;
            centres.iter().copied().filter(|c| book.data_centre(c).is_none()).collect()
        };
        if missing.is_empty() {
            return Ok(Vec::new());
        }
        let stored = self.store.energy_meters().await?;
        let mut out = Vec::with_capacity(missing.len());
        for id in missing {
            let Some(c) = self.store.centre(id).await? else {
                if strict {
                    return Err(not_found(id));
                }
                continue;
            };
            let mine: Vec<Meter> = stored.iter().filter(|(s, _)| s == id).map(|(_, m)| m.clone()).collect();
            out.push((c, if mine.is_empty() { default_meters() } else { mine }));
        }
        Ok(out)
    }

    /// Registers a centre read by [`Energy::prepare`] unless the book learnt it meanwhile.
    /// Under the write lock; no I/O.
    fn register_new(&self, book: &mut EnergyBook, c: &Centre, meters: Vec<Meter>) -> Result<(), StoreError> {
        if book.data_centre(&c.id).is_none() {
            book.register(data_centre(c, meters)).map_err(energy)?;
            self.owners.write().unwrap_or_else(|e| e.into_inner()).insert(c.id.clone(), c.provider_id.clone());
            self.note_meters(book, &c.id);
        }
        Ok(())
    }

    /// Copies a centre's meters from the book (held by the caller's write lock) to the meter table.
    fn note_meters(&self, book: &EnergyBook, centre: &CentreId) {
        if let Some(dc) = book.data_centre(centre) {
            self.meter_table.write().unwrap_or_else(|e| e.into_inner()).insert(centre.clone(), Arc::from(dc.meters.as_slice()));
        }
    }

    /// The provider that owns a centre, from the book's registry (the store when the book does
    /// not know the centre yet); `None` for an unknown centre.
    pub async fn owner(&self, centre: &CentreId) -> Result<Option<ProviderId>, StoreError> {
        if let Some(p) = self.owners.read().unwrap_or_else(|e| e.into_inner()).get(centre) {
            return Ok(Some(p.clone()));
        }
        Ok(self.store.centre(centre).await?.map(|c| c.provider_id))
    }

    /// Whether `caller` may write a centre's telemetry, meters and facts: the operator any
    /// centre, a provider its own; everyone else is `forbidden`, an unknown centre
    /// `data_centre_not_found`.
    pub async fn may_write(&self, caller: &Caller, centre: &CentreId) -> Result<(), StoreError> {
        self.may_write_all(caller, std::iter::once(centre)).await
    }

    /// [`Energy::may_write`] for every centre of a batch, with one look at the owners it knows.
    pub async fn may_write_all<'a>(&self, caller: &Caller, centres: impl Iterator<Item = &'a CentreId>) -> Result<(), StoreError> {
        self.may_send(caller)?;
        for centre in self.unknown_owners(caller, centres)? {
            let owner = self.owner(centre).await?.ok_or_else(|| not_found(centre))?;
            if provider_of(caller).is_some_and(|p| *p != owner) {
                return Err(not_yours(centre));
            }
        }
        Ok(())
    }

    /// The centres of `names` whose owner the book does not know yet, in order; `forbidden` for
    /// a known one that is not the calling provider's. One look at the owners for all of them.
    fn unknown_owners<'a, K: Borrow<str> + ?Sized>(
        &self,
        caller: &Caller,
        names: impl Iterator<Item = &'a K>,
    ) -> Result<Vec<&'a K>, StoreError> {
        let mine = provider_of(caller);
        let owners = self.owners.read().unwrap_or_else(|e| e.into_inner());
        let mut unknown = Vec::new();
        for name in names {
            match owners.get_key_value(name.borrow()) {
                None => unknown.push(name),
                Some((centre, owner)) if mine.is_some_and(|p| p != owner) => return Err(not_yours(centre)),
                Some(_) => {}
            }
        }
        Ok(unknown)
    }

    /// Whether `caller` may write any centre's telemetry at all (the operator, a provider):
    /// the edges ask before they decode a large body.
    pub fn may_send(&self, caller: &Caller) -> Result<(), StoreError> {
        match caller {
            Caller::Operator { .. } | Caller::Provider { .. } => Ok(()),
            _ => Err(Error::new(ErrorCode::Forbidden, "energy telemetry is sent by the operator or the centre's provider").into()),
        }
    }

    fn audit(&self, actor: &str, action: &str, subject: &str, detail: serde_json::Value) -> Audit {
        let (t, e) = self.ids.parts();
        Audit { id: AuditId::generate(t, e), at_ms: t, actor: actor.to_string(), action: action.into(), subject: subject.into(), detail }
    }
}

impl Energy {
    /// Registers a data centre's meters (the operator, or the centre's provider): `meters`
    /// replace its current ones, except that a meter with readings is always kept (and may not
    /// change kind or unit: `meter_exists`). Stored with an audit record; answers the meters
    /// now registered. Commits under the book's write lock, so no reading of a meter being
    /// dropped is accepted in between.
    pub async fn register_meters(&self, caller: &Caller, centre: &CentreId, meters: Vec<Meter>) -> Result<Vec<Meter>, StoreError> {
        self.may_write(caller, centre).await?;
        let prepared = self.prepare(&[centre], true).await?;
        let mut book = self.book.write().await;
        for (c, m) in prepared {
            self.register_new(&mut book, &c, m)?;
        }
        let mut dc = book.data_centre(centre).cloned().ok_or_else(|| not_found(centre))?;
        let used: HashSet<MeterId> = book
            .meters(centre)
            .map_err(energy)?
            .into_iter()
            .filter(|m| m.accepted + m.rejected + m.duplicates > 0)
            .map(|m| m.meter)
            .collect();
        let kept: Vec<Meter> = dc.meters.iter().filter(|m| used.contains(&m.id) && !meters.iter().any(|n| n.id == m.id)).cloned().collect();
        let mut all = meters;
        all.extend(kept);
        all.sort_by(|a, b| a.id.cmp(&b.id));
        dc.meters = all.clone();
        let before = book.data_centre(centre).cloned();
        book.register(dc).map_err(energy)?;
        self.note_meters(&book, centre);
        let audit = self.audit(&caller.actor(), "energy.meters", centre.as_str(), serde_json::to_value(&all).unwrap_or_default());
        let result: Result<(), StoreError> = async {
            let mut tx = self.store.begin().await?;
            tx.replace_energy_meters(centre, &all).await?;
            tx.audit(&audit).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "storing meters failed; rebuilding the energy book from the store");
            if let Err(e2) = self.rebuild(&mut book).await {
                tracing::error!(error = %e2, "rebuilding the energy book failed; restoring the centre's registration");
                if let Some(dc) = before {
                    book.register(dc).map_err(energy)?;
                    self.note_meters(&book, centre);
                }
            }
            return Err(e);
        }
        lock(&self.stored).insert(centre.clone());
        Ok(all)
    }

    /// Registers a data centre's cooling (by name: `air`, `chilled_water`, `free_cooling`,
    /// `liquid`, `immersion`) and rated facility capacity (kW; readings implying
    /// more power are implausible), the operator or the centre's provider; stored with an
    /// audit record, then applied to the book. Answers the data centre.
    pub async fn set_facts(&self, caller: &Caller, centre: &CentreId, cooling: &str, rated_kw: f64) -> Result<DataCentre, StoreError> {
        self.may_write(caller, centre).await?;
        let cooling = cooling_of(cooling).ok_or_else(|| {
            energy(EnergyError::InvalidDataCentre {
                dc: centre.clone(),
                reason: format!("cooling is air, chilled_water, free_cooling, liquid or immersion, not '{cooling}'"),
            })
        })?;
        self.ensure_registered(&[centre]).await?;
        let mut dc = self.book.read().await.data_centre(centre).cloned().ok_or_else(|| not_found(centre))?;
        (dc.cooling, dc.rated_kw) = (cooling, rated_kw);
        dc.validate().map_err(energy)?;
        let detail = serde_json::json!({"cooling": cooling_name(cooling), "rated_kw": rated_kw});
        let audit = self.audit(&caller.actor(), "energy.facts", centre.as_str(), detail);
        let mut tx = self.store.begin().await?;
        tx.upsert_energy_facts(centre, &cooling_name(cooling), rated_kw).await?;
        tx.audit(&audit).await?;
        tx.commit().await?;
        // Meters may have changed since the read above: change only the facts.
        let mut book = self.book.write().await;
        let mut now = book.data_centre(centre).cloned().ok_or_else(|| not_found(centre))?;
        (now.cooling, now.rated_kw) = (cooling, rated_kw);
        book.register(now.clone()).map_err(energy)?;
        Ok(now)
    }
}

impl Energy {
    /// [`crate::figures::loads`] at about `now_ms`, for pages: the last computed while it is
    /// under a minute old; an older one is still answered (the lifecycle score and the merge
    /// rule they feed move over days) while one refresh runs in the background; computed here
    /// only when none is kept (at start, or after a rebuild or a catch-up dropped it). `serve`
    /// also refreshes them every minute ([`Energy::refresh_loads`]), so a page view rarely waits.
    pub async fn loads_recent(&self, regions: &Arc<Regions>, now_ms: UnixMs) -> BTreeMap<CentreId, Load> {
        Arc::unwrap_or_clone(self.loads_kept(regions, now_ms).await.1)
    }

    /// [`Energy::loads_recent`], shared rather than copied, with the time they were computed at.
    async fn loads_kept(&self, regions: &Arc<Regions>, now_ms: UnixMs) -> Loads {
        use std::sync::atomic::Ordering;
        let kept = lock(&self.recent_loads).clone();
        let Some((at, loads)) = kept else {
            return (now_ms, self.refresh_loads(regions, now_ms).await);
        };
        if !(0..LOADS_FRESH_MS).contains(&(now_ms - at)) && !self.refreshing.swap(true, Ordering::AcqRel) {
            let (energy, regions) = (self.clone(), regions.clone());
            tokio::spawn(async move {
                energy.refresh_loads(&regions, now_ms).await;
                energy.refreshing.store(false, Ordering::Release);
            });
        }
        (at, loads)
    }

    /// Every centre's evaluation ([`EnergyBook::evaluate`], ranked) at about `now_ms` on
    /// [`Energy::loads_recent`]'s loads, for pages: the one made for an earlier view while the
    /// book has not changed since ([`EnergyBook::revision`]), the loads are the same and it is
    /// under a minute old (as the loads may be); else one made now, and kept. An evaluation
    /// reads every centre's year (where an under-used centre could merge depends on the
    /// others), so a centre's page takes its own from here rather than evaluating the city.
    pub async fn evaluation_recent(&self, regions: &Arc<Regions>, now_ms: UnixMs) -> Arc<Vec<Assessment>> {
        let (loads_at, loads) = self.loads_kept(regions, now_ms).await;
        let book = self.book.read().await;
        let revision = book.revision();
        if let Some(e) = lock(&self.recent_evaluation).as_ref()
            && (e.revision, e.loads_at) == (revision, loads_at)
            && (0..LOADS_FRESH_MS).contains(&(now_ms - e.at))
        {
            return e.ranked.clone();
        }
        // Kept while the read lock is held, so a rebuild (under the write lock) cannot come
        // between the evaluation and its keeping.
        let ranked = Arc::new(book.evaluate(now_ms, &loads));
        *lock(&self.recent_evaluation) = Some(Evaluated { revision, loads_at, at: now_ms, ranked: ranked.clone() });
        ranked
    }

    /// Computes the loads at `now_ms` and keeps them for [`Energy::loads_recent`] (unless a
    /// newer computation was kept meanwhile); answers them, shared with what is kept. A failed
    /// read answers and keeps none.
    pub async fn refresh_loads(&self, regions: &Regions, now_ms: UnixMs) -> Arc<BTreeMap<CentreId, Load>> {
        match crate::figures::loads(&self.store, regions, now_ms).await {
            Ok(loads) => {
                let loads = Arc::new(loads);
                let mut kept = lock(&self.recent_loads);
                if kept.as_ref().is_none_or(|(at, _)| *at <= now_ms) {
                    *kept = Some((now_ms, loads.clone()));
                }
                loads
            }
            Err(e) => {
                tracing::warn!(error = %e, "the centres' loads could not be read");
                Arc::default()
            }
        }
    }

    /// The PUE the scheduler's carbon model should use per centre: the annualised PUE where a
    /// complete year is metered, else the last 30 days' where complete; centres with neither
    /// are left out (they keep their declared PUE).
    pub async fn measured_pues(&self, now_ms: UnixMs) -> HashMap<CentreId, f64> {
        let book = self.book.read().await;
        let ids: Vec<CentreId> = self.owners.read().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect();
        let mut out = HashMap::new();
        for id in ids {
            let year = book.annualised(&id, now_ms).ok().and_then(|p| p.value);
            let month = || book.pue(&id, now_ms - 30 * MS_PER_DAY, now_ms).ok().and_then(|p| p.value);
            if let Some(p) = year.or_else(month) {
                out.insert(id, p);
            }
        }
        out
    }
}

/// A meter as typed (the API's body, the web's form): `kind` is `facility_total`, `it` (with
/// exactly one of a metering `point`, `ups_output`, `pdu_output` or `it_input`, or a
/// `category` 1 to 3), `cooling`, `renewable` or `water`; `unit` is `cumulative_kwh`,
/// `instant_kw` or `cumulative_m3`. A refusal is `invalid_meter`, naming the meter.
pub fn meter_of(id: &str, kind: &str, point: Option<&str>, category: Option<u8>, unit: &str) -> Result<Meter, Error> {
    use suanli_energy::{Category, MeterKind, MeterUnit};
    let bad = |reason: String| Error::from(EnergyError::InvalidMeter { meter: id.chars().take(64).collect(), reason });
    let kind = match kind {
        "facility_total" => MeterKind::FacilityTotal,
        "it" => {
            let category = match (point, category) {
                (Some("ups_output"), None) | (None, Some(1)) => Category::Category1,
                (Some("pdu_output"), None) | (None, Some(2)) => Category::Category2,
                (Some("it_input"), None) | (None, Some(3)) => Category::Category3,
                _ => {
                    return Err(bad(
                        "an IT meter names exactly one of point (ups_output, pdu_output, it_input) or category (1, 2, 3)".into()
                    ));
                }
            };
            MeterKind::It { category }
        }
        "cooling" => MeterKind::Cooling,
        "renewable" => MeterKind::Renewable,
        "water" => MeterKind::Water,
        other => {
            return Err(bad(format!(
                "kind is facility_total, it, cooling, renewable or water, not '{}'",
                other.chars().take(64).collect::<String>()
            )));
        }
    };
    if !matches!(kind, MeterKind::It { .. }) && (point.is_some() || category.is_some()) {
        return Err(bad("only an IT meter has a point or category".into()));
    }
    let unit = match unit {
        "cumulative_kwh" => MeterUnit::CumulativeKwh,
        "instant_kw" => MeterUnit::InstantKw,
        "cumulative_m3" => MeterUnit::CumulativeM3,
        other => {
            return Err(bad(format!(
                "unit is cumulative_kwh, instant_kw or cumulative_m3, not '{}'",
                other.chars().take(64).collect::<String>()
            )));
        }
    };
    Ok(Meter::new(id, kind, unit)?)
}

/// The provider a caller sends for: `None` for the operator, who sends for every centre.
fn provider_of(caller: &Caller) -> Option<&ProviderId> {
    match caller {
        Caller::Provider { provider, .. } => Some(provider),
        _ => None,
    }
}

/// `forbidden`: a provider writes telemetry only for its own centres.
fn not_yours(centre: &CentreId) -> StoreError {
    Error::new(ErrorCode::Forbidden, format!("a provider sends readings only for its own centres, not {centre}")).into()
}
