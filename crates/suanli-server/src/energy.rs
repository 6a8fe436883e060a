//! The energy service: the in-memory `EnergyBook` over the store's meters and accepted readings, and the one ingest path.
//!
//! Every registered compute centre is a data centre of the book. Unless meters were stored for
//! it, a centre gets two default meters: `facility` (facility total, cumulative kWh) and `it`
//! (IT energy at the PDU output, ISO/IEC 30134-2 category 2, cumulative kWh). Its rated capacity
//! is [`RATED_KW_PER_RACK`] per rack. Centres registered after start join the book when they
//! first send readings or when an energy view is read.
//!
//! Ingest holds the book's write lock: the book judges the batch, the accepted readings are
//! committed to the store (with meters and an audit record), and only then is the answer sent.
//! If the commit fails the book is rebuilt from the store, so it never holds a reading the
//! store does not, and an acknowledged reading is always stored.

use crate::error::{ApiError, ApiResult};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use suanli_core::centre::Centre;
use suanli_core::error::ErrorCode;
use suanli_core::id::{AuditId, CentreId, ProviderId};
use suanli_core::region::Regions;
use suanli_core::time::UnixMs;
use suanli_dispatch::ids::Ids;
use suanli_energy::{
    Category, Cooling, DataCentre, EnergyBook, EnergyConfig, EnergyError, IngestReport, Load, Meter, MeterId, MeterKind, MeterUnit, Reading,
};
use suanli_store::{Audit, Store};
use tokio::sync::RwLock;

/// Rated facility capacity assumed per standard rack, kW (high-density AI racks with cooling).
pub const RATED_KW_PER_RACK: f64 = 20.0;
/// The default facility-total meter of a centre.
pub const FACILITY_METER: &str = "facility";
/// The default IT meter of a centre (category 2, PDU output).
pub const IT_METER: &str = "it";

/// Each centre's load (utilisation, accelerators, area), and when it was computed.
type Loads = (UnixMs, BTreeMap<CentreId, Load>);

/// The book and the store it mirrors; cheap to clone.
#[derive(Clone)]
pub struct EnergyService {
    pub book: Arc<RwLock<EnergyBook>>,
    store: Store,
    ids: Ids,
    /// Centres whose meters are in the store (the book's write lock guards changes).
    stored: Arc<std::sync::Mutex<HashSet<CentreId>>>,
    /// The provider of every centre of the book (write permission is checked against it).
    owners: Arc<std::sync::RwLock<HashMap<CentreId, ProviderId>>>,
    /// The last loads computed for pages, and when (they are reused for a minute).
    recent_loads: Arc<std::sync::Mutex<Option<Loads>>>,
    /// The writer task's queue (see [`EnergyService::ingest_many`]).
    /// The writer's queue, bounded: when it is full, a batch is refused (429) before it is judged.
    writer: tokio::sync::mpsc::Sender<WriteJob>,
    /// How far the book has read the store: what a follower's [`EnergyService::catch_up`] reads on from.
    replayed: Arc<std::sync::Mutex<Replayed>>,
}

/// How far an energy book has read the store: the last reading block it replayed, and a
/// fingerprint of the meters and facts it was built with (when they change, it is rebuilt).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Replayed {
    pub mark: i64,
    pub registry: u64,
}

/// What one [`EnergyService::catch_up`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// Nothing was stored since the last one.
    Current,
    /// The readings of this many new blocks were replayed; the book took this many.
    Replayed { blocks: i64, readings: usize },
    /// Meters or facts changed: the book was rebuilt from the store.
    Rebuilt,
}

/// A fingerprint of the stored meters and facts (the order is the store's, by centre).
fn registry_print(meters: &[(CentreId, Meter)], facts: &[(CentreId, String, f64)]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for (c, m) in meters {
        (c.as_str(), m.id.as_str(), format!("{:?}{:?}", m.kind, m.unit)).hash(&mut h);
    }
    for (c, cooling, rated) in facts {
        (c.as_str(), cooling, rated.to_bits()).hash(&mut h);
    }
    h.finish()
}

impl std::fmt::Debug for EnergyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnergyService").finish_non_exhaustive()
    }
}

/// The default meters: facility total and IT (category 2), both cumulative kWh counters.
pub fn default_meters() -> Vec<Meter> {
    vec![
        Meter { id: meter_id(FACILITY_METER), kind: MeterKind::FacilityTotal, unit: MeterUnit::CumulativeKwh },
        Meter { id: meter_id(IT_METER), kind: MeterKind::It { category: Category::Category2 }, unit: MeterUnit::CumulativeKwh },
    ]
}

fn meter_id(s: &str) -> MeterId {
    MeterId::parse(s).unwrap_or_else(|_| unreachable!("the default meter ids are valid"))
}

/// The energy facts of a compute centre: rated capacity from its racks, cooling guessed from its
/// declared PUE (liquid below 1.20, free cooling below 1.35, chilled water otherwise).
pub fn data_centre(centre: &Centre, meters: Vec<Meter>) -> DataCentre {
    let cooling = if centre.declared_pue < 1.20 {
        Cooling::Liquid
    } else if centre.declared_pue < 1.35 {
        Cooling::FreeCooling
    } else {
        Cooling::ChilledWater
    };
    DataCentre::from_centre(
        centre,
        (centre.racks.max(1) as f64 * RATED_KW_PER_RACK).min(suanli_energy::meter::MAX_RATED_KW),
        cooling,
        meters,
    )
}

/// A cooling type by its snake_case name (`air`, `chilled_water`, `free_cooling`, `liquid`, `immersion`).
pub fn cooling_of(name: &str) -> Option<Cooling> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
}

/// The snake_case name of a cooling type.
pub fn cooling_name(c: Cooling) -> String {
    serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

/// Builds the book from the store: every centre with its stored (or default) meters and its
/// registered (or inferred) facts, then the accepted readings replayed per centre (under no
/// capacity limit: they were judged when they came).
#[allow(clippy::type_complexity)]
pub async fn build_book(store: &Store, now_ms: UnixMs) -> anyhow::Result<(EnergyBook, HashSet<CentreId>, HashMap<CentreId, ProviderId>)> {
    let (book, stored, owners, _) = build_book_replayed(store, now_ms).await?;
    Ok((book, stored, owners))
}

/// [`build_book`], and how far it read the store.
#[allow(clippy::type_complexity)]
async fn build_book_replayed(
    store: &Store,
    now_ms: UnixMs,
) -> anyhow::Result<(EnergyBook, HashSet<CentreId>, HashMap<CentreId, ProviderId>, Replayed)> {
    let mut book = EnergyBook::new(EnergyConfig::default()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let rows = store.energy_rows().await?;
    let stored_facts = store.energy_facts().await?;
    let replayed = Replayed { mark: rows.mark, registry: registry_print(&rows.meters, &stored_facts) };
    let mut meters: BTreeMap<CentreId, Vec<Meter>> = BTreeMap::new();
    for (c, m) in rows.meters {
        meters.entry(c).or_default().push(m);
    }
    let stored: HashSet<CentreId> = meters.keys().cloned().collect();
    let facts: HashMap<CentreId, (String, f64)> = stored_facts.into_iter().map(|(c, k, r)| (c, (k, r))).collect();
    let mut owners = HashMap::new();
    let mut rated = Vec::new();
    for centre in store.centres(None).await? {
        owners.insert(centre.id.clone(), centre.provider_id.clone());
        let ms = meters.remove(&centre.id).unwrap_or_else(default_meters);
        let mut dc = data_centre(&centre, ms);
        if let Some((cooling, rated_kw)) = facts.get(&centre.id) {
            dc.cooling =
                cooling_of(cooling).ok_or_else(|| anyhow::anyhow!("centre {}: stored cooling '{cooling}' is unknown", centre.id))?;
            dc.rated_kw = *rated_kw;
        }
        // Stored readings were accepted when they came: replay them under no capacity limit (the
        // rated capacity may have been registered or lowered since), then set the real one.
        let rated_kw = dc.rated_kw;
        book.register(DataCentre { rated_kw: suanli_energy::meter::MAX_RATED_KW, ..dc.clone() })
            .map_err(|e| anyhow::anyhow!("centre {}: {e}", centre.id))?;
        rated.push(DataCentre { rated_kw, ..dc });
    }
    let mut start = 0;
    while start < rows.readings.len() {
        let centre = rows.readings[start].0.clone();
        let end = start + rows.readings[start..].iter().take_while(|(c, _)| *c == centre).count();
        let batch: Vec<Reading> = rows.readings[start..end].iter().map(|(_, r)| r.clone()).collect();
        let report = book.ingest(&centre, now_ms, &batch).map_err(|e| anyhow::anyhow!("replaying {centre}: {e}"))?;
        if !report.rejected.is_empty() {
            tracing::warn!(centre = %centre, rejected = report.rejected.len(), "stored readings refused on replay");
        }
        start = end;
    }
    for dc in rated {
        book.register(dc).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok((book, stored, owners, replayed))
}

impl EnergyService {
    /// Loads the book from the store.
    pub async fn load(store: Store, ids: Ids) -> anyhow::Result<EnergyService> {
        let (book, stored, owners, replayed) = build_book_replayed(&store, ids.now_ms()).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(WRITE_QUEUE);
        tokio::spawn(writer(store.clone(), rx));
        Ok(EnergyService {
            writer: tx,
            book: Arc::new(RwLock::new(book)),
            store,
            ids,
            stored: Arc::new(std::sync::Mutex::new(stored)),
            owners: Arc::new(std::sync::RwLock::new(owners)),
            recent_loads: Arc::new(std::sync::Mutex::new(None)),
            replayed: Arc::new(std::sync::Mutex::new(replayed)),
        })
    }

    /// Rebuilds the book from the store: a replica that becomes leader does this, because the
    /// last leader ingested readings since this replica loaded. Ingests wait for it.
    pub async fn reload(&self) -> anyhow::Result<()> {
        let mut book = self.book.write().await;
        let (fresh, stored, owners, replayed) = build_book_replayed(&self.store, self.ids.now_ms()).await?;
        *book = fresh;
        *self.stored.lock().unwrap_or_else(|e| e.into_inner()) = stored;
        *self.owners.write().unwrap_or_else(|e| e.into_inner()) = owners;
        *self.recent_loads.lock().unwrap_or_else(|e| e.into_inner()) = None;
        *self.replayed.lock().unwrap_or_else(|e| e.into_inner()) = replayed;
        Ok(())
    }

    /// A follower's book brought up to what the leader stored: the reading blocks committed
    /// since the book last read, replayed in commit order; or, when the stored meters or facts
    /// changed, the whole book rebuilt. The leader's book is current already (its writes go
    /// through it), so only followers call this, one task at a time.
    pub async fn catch_up(&self) -> anyhow::Result<CatchUp> {
        let last = *self.replayed.lock().unwrap_or_else(|e| e.into_inner());
        let registry = registry_print(&self.store.energy_meters().await?, &self.store.energy_facts().await?);
        if registry != last.registry {
            self.reload().await?;
            return Ok(CatchUp::Rebuilt);
        }
        let upto = self.store.energy_block_mark().await?;
        if upto <= last.mark {
            return Ok(CatchUp::Current);
        }
        let readings = self.store.energy_readings_after(last.mark, upto).await?;
        let taken = self.replay(&readings).await;
        self.replayed.lock().unwrap_or_else(|e| e.into_inner()).mark = upto;
        Ok(CatchUp::Replayed { blocks: upto - last.mark, readings: taken })
    }

    /// How far the book has read the store.
    pub fn replayed(&self) -> Replayed {
        *self.replayed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ingests readings that the leader stored (a follower replaying the blocks committed since
    /// it last read, in commit order), as the leader ingested them: each centre's run of
    /// readings one batch. A reading the book already holds is refused as a duplicate and
    /// changes nothing; answers how many readings the book took.
    pub async fn replay(&self, readings: &[(CentreId, Reading)]) -> usize {
        let now = self.ids.now_ms();
        let centres: Vec<&CentreId> = readings.iter().map(|(c, _)| c).collect::<HashSet<_>>().into_iter().collect();
        if let Err(e) = self.ensure_registered(&centres).await {
            tracing::warn!(error = %e, "replayed readings of a centre the book cannot register");
        }
        let mut book = self.book.write().await;
        let mut taken = 0;
        let mut start = 0;
        while start < readings.len() {
            let centre = &readings[start].0;
            let end = start + readings[start..].iter().take_while(|(c, _)| c == centre).count();
            let batch: Vec<Reading> = readings[start..end].iter().map(|(_, r)| r.clone()).collect();
            match book.ingest(centre, now, &batch) {
                Ok(report) => taken += report.accepted as usize,
                Err(e) => tracing::warn!(centre = %centre, error = %e, "replayed readings refused"),
            }
            start = end;
        }
        *self.recent_loads.lock().unwrap_or_else(|e| e.into_inner()) = None;
        taken
    }

    /// Registers centres of the store that the book does not know yet (with default meters);
    /// answers every centre of the store, which city-wide views need anyway.
    pub async fn sync_centres(&self) -> ApiResult<Vec<Centre>> {
        let centres = self.store.centres(None).await?;
        let missing: Vec<&Centre> = {
            let book = self.book.read().await;
            centres.iter().filter(|c| book.data_centre(&c.id).is_none()).collect()
        };
        if missing.is_empty() {
            return Ok(centres);
        }
        let mut book = self.book.write().await;
        for c in missing {
            if book.data_centre(&c.id).is_none() {
                book.register(data_centre(c, default_meters())).map_err(internal)?;
                self.owners.write().unwrap_or_else(|e| e.into_inner()).insert(c.id.clone(), c.provider_id.clone());
            }
        }
        drop(book);
        Ok(centres)
    }

    /// Registers the given centres if the book does not know them yet (unknown ids are left
    /// out: they have no meters to resolve).
    pub async fn ensure_registered(&self, centres: &[&CentreId]) -> ApiResult<()> {
        let missing: Vec<&CentreId> = {
            let book = self.book.read().await;
            centres.iter().copied().filter(|c| book.data_centre(c).is_none()).collect()
        };
        if missing.is_empty() {
            return Ok(());
        }
        let mut known = Vec::new();
        for c in missing {
            if self.store.centre(c).await?.is_some() {
                known.push(c);
            }
        }
        let mut book = self.book.write().await;
        self.register_missing(&mut book, &known).await?;
        Ok(())
    }

    /// Judges readings of one centre, stores the accepted ones (with an audit record by `actor`
    /// when given), then answers. An unknown centre is `data_centre_not_found`.
    pub async fn ingest(&self, centre: &CentreId, now_ms: UnixMs, readings: &[Reading], actor: Option<&str>) -> ApiResult<IngestReport> {
        let mut batches = BTreeMap::new();
        batches.insert(centre.clone(), readings.to_vec());
        let mut out = self.ingest_many(batches, now_ms, actor).await?;
        Ok(out.pop().map(|(_, r)| r).unwrap_or_default())
    }

    /// The provider that owns a centre, from the book's registry (the store when the book does
    /// not know the centre yet); `None` for an unknown centre.
    pub async fn owner(&self, centre: &CentreId) -> ApiResult<Option<ProviderId>> {
        if let Some(p) = self.owners.read().unwrap_or_else(|e| e.into_inner()).get(centre) {
            return Ok(Some(p.clone()));
        }
        Ok(self.store.centre(centre).await?.map(|c| c.provider_id))
    }

    /// Registers centres the book does not know (with their stored meters, or the defaults);
    /// returns the meters to persist with the first readings. Holds the write lock.
    async fn register_missing(&self, book: &mut EnergyBook, centres: &[&CentreId]) -> ApiResult<Vec<(CentreId, Vec<Meter>)>> {
        let missing: Vec<&CentreId> = centres.iter().copied().filter(|c| book.data_centre(c).is_none()).collect();
        let mut new_meters = Vec::new();
        if !missing.is_empty() {
            let stored = self.store.energy_meters().await?;
            for centre in missing {
                let Some(c) = self.store.centre(centre).await? else {
                    return Err(EnergyError::DataCentreNotFound { dc: centre.clone() }.into());
                };
                let mine: Vec<Meter> = stored.iter().filter(|(id, _)| id == centre).map(|(_, m)| m.clone()).collect();
                let meters = if mine.is_empty() { default_meters() } else { mine };
                book.register(data_centre(&c, meters.clone())).map_err(internal)?;
                self.owners.write().unwrap_or_else(|e| e.into_inner()).insert(c.id.clone(), c.provider_id.clone());
                new_meters.push((centre.clone(), meters));
            }
        }
        // Persist the (default) meters the first time a centre's readings are stored.
        let stored = self.stored.lock().unwrap_or_else(|e| e.into_inner());
        for centre in centres {
            if !stored.contains(*centre)
                && !new_meters.iter().any(|(c, _)| c == *centre)
                && let Some(dc) = book.data_centre(centre)
            {
                new_meters.push(((*centre).clone(), dc.meters.clone()));
            }
        }
        Ok(new_meters)
    }

    /// Judges readings of many centres under the book's write lock, hands every accepted one
    /// (with an audit record by `actor` when given) to the writer in judging order, and answers
    /// in centre order once the writer has committed them. The lock is released while the
    /// writer commits, so the next batch is judged meanwhile; the writer commits what is queued
    /// together (group commit). If a commit fails, the book is rebuilt from the store and the
    /// batch is refused, so the book never keeps a reading the store lost. Any unknown centre
    /// is `data_centre_not_found` and nothing is stored.
    pub async fn ingest_many(
        &self,
        batches: BTreeMap<CentreId, Vec<Reading>>,
        now_ms: UnixMs,
        actor: Option<&str>,
    ) -> ApiResult<Vec<(CentreId, IngestReport)>> {
        let committed = {
            let mut book = self.book.write().await;
            // A place in the writer's queue first: a full queue refuses the batch before the book
            // judges (and so remembers) any of it.
            let slot = self.writer.try_reserve().map_err(|_| {
                ApiError::new(
                    ErrorCode::IngestBusy,
                    format!("{WRITE_QUEUE} batches already wait to be stored; send this one again in a second"),
                )
            })?;
            let centres: Vec<&CentreId> = batches.iter().filter(|(_, r)| !r.is_empty()).map(|(c, _)| c).collect();
            let all: Vec<&CentreId> = batches.keys().collect();
            let mut new_meters = self.register_missing(&mut book, &all).await?;
            let with_readings: HashSet<&CentreId> = centres.iter().copied().collect();
            new_meters.retain(|(c, _)| with_readings.contains(c));
            let mut reports = Vec::with_capacity(batches.len());
            let mut accepted: Vec<(CentreId, Vec<Reading>)> = Vec::with_capacity(batches.len());
            for (centre, readings) in &batches {
                let (mut report, ok) = judge(&mut book, centre, now_ms, readings)?;
                self.stored_duplicates(centre, readings, &mut report).await?;
                if !ok.is_empty() {
                    accepted.push((centre.clone(), ok));
                }
                reports.push((centre.clone(), report));
            }
            if accepted.is_empty() && new_meters.is_empty() {
                return Ok(reports);
            }
            let audit = actor.map(|actor| self.ingest_audit(actor, &reports, &accepted));
            let (reply, committed) = tokio::sync::oneshot::channel();
            slot.send(WriteJob { new_meters: new_meters.clone(), readings: accepted, audit, reply });
            (committed, new_meters, reports)
        };
        let (committed, new_meters, reports) = committed;
        match committed.await {
            Ok(Ok(())) => {
                let mut stored = self.stored.lock().unwrap_or_else(|e| e.into_inner());
                for (centre, _) in new_meters {
                    stored.insert(centre);
                }
                Ok(reports)
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "storing readings failed; rebuilding the energy book from the store");
                let mut book = self.book.write().await;
                match build_book(&self.store, now_ms).await {
                    Ok((fresh, stored, owners)) => {
                        *book = fresh;
                        *self.stored.lock().unwrap_or_else(|e| e.into_inner()) = stored;
                        *self.owners.write().unwrap_or_else(|e| e.into_inner()) = owners;
                    }
                    Err(e2) => tracing::error!(error = %e2, "rebuilding the energy book failed"),
                }
                Err(internal(e))
            }
            Err(_) => Err(internal("the energy writer stopped before answering")),
        }
    }

    /// One audit record per batch: its centre as the subject (`energy` when it spans several),
    /// with what each centre's readings came to.
    fn ingest_audit(&self, actor: &str, reports: &[(CentreId, IngestReport)], accepted: &[(CentreId, Vec<Reading>)]) -> Audit {
        let with_readings: HashSet<&CentreId> = accepted.iter().map(|(c, _)| c).collect();
        let stored: Vec<&(CentreId, IngestReport)> = reports.iter().filter(|(c, _)| with_readings.contains(c)).collect();
        let subject = match stored.as_slice() {
            [(c, _)] => c.to_string(),
            _ => "energy".to_string(),
        };
        let detail: serde_json::Map<String, serde_json::Value> = stored
            .iter()
            .map(|(c, r)| {
                (c.to_string(), serde_json::json!({"accepted": r.accepted, "duplicates": r.duplicates, "rejected": r.rejected.len()}))
            })
            .collect();
        let (t, e) = self.ids.parts();
        Audit {
            id: AuditId::generate(t, e),
            at_ms: t,
            actor: actor.to_string(),
            action: "energy.ingest".into(),
            subject,
            detail: serde_json::Value::Object(detail),
        }
    }
}

/// Accepted readings on their way to the store, and who waits for the commit.
struct WriteJob {
    new_meters: Vec<(CentreId, Vec<Meter>)>,
    readings: Vec<(CentreId, Vec<Reading>)>,
    audit: Option<Audit>,
    reply: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// At most this many batches go into one commit.
const MAX_GROUP: usize = 64;
/// Batches judged and waiting for the writer; beyond this, ingest answers 429.
pub const WRITE_QUEUE: usize = 256;

/// The energy writer: takes every queued batch (up to [`MAX_GROUP`]), writes them in the order
/// they were judged in one transaction, commits, then answers each.
async fn writer(store: Store, mut jobs: tokio::sync::mpsc::Receiver<WriteJob>) {
    while let Some(first) = jobs.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        let result: Result<(), suanli_store::StoreError> = async {
            let mut tx = store.begin().await?;
            for j in &group {
                for (centre, meters) in &j.new_meters {
                    tx.upsert_energy_meters(centre, meters).await?;
                }
            }
            let rows: Vec<(&CentreId, &[Reading])> = group.iter().flat_map(|j| j.readings.iter().map(|(c, r)| (c, r.as_slice()))).collect();
            tx.insert_energy_readings_many(&rows).await?;
            let audits: Vec<Audit> = group.iter().filter_map(|j| j.audit.clone()).collect();
            tx.audit_many(&audits).await?;
            tx.commit().await
        }
        .await;
        for j in group {
            let _ = j.reply.send(result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        }
    }
}

impl EnergyService {
    /// Registers a data centre's meters: `meters` replace its current ones, except that a
    /// meter with readings is always kept (and may not change kind or unit: `meter_exists`).
    /// Stored with an audit record by `actor`; answers the meters now registered.
    pub async fn register_meters(&self, centre: &CentreId, meters: Vec<Meter>, actor: &str) -> ApiResult<Vec<Meter>> {
        let Some(record) = self.store.centre(centre).await? else {
            return Err(EnergyError::DataCentreNotFound { dc: centre.clone() }.into());
        };
        let mut book = self.book.write().await;
        self.register_missing(&mut book, &[centre]).await?;
        let kept: Vec<Meter> = {
            let used: HashSet<MeterId> =
                book.meters(centre)?.into_iter().filter(|m| m.accepted + m.rejected + m.duplicates > 0).map(|m| m.meter).collect();
            let dc = book.data_centre(centre).ok_or_else(|| internal("registered above"))?;
            dc.meters.iter().filter(|m| used.contains(&m.id) && !meters.iter().any(|n| n.id == m.id)).cloned().collect()
        };
        let mut all = meters;
        all.extend(kept);
        all.sort_by(|a, b| a.id.cmp(&b.id));
        let mut dc = book.data_centre(centre).cloned().unwrap_or_else(|| data_centre(&record, Vec::new()));
        dc.meters = all.clone();
        book.register(dc)?;
        let result: Result<(), suanli_store::StoreError> = async {
            let mut tx = self.store.begin().await?;
            tx.replace_energy_meters(centre, &all).await?;
            let (t, e) = self.ids.parts();
            tx.audit(&Audit {
                id: AuditId::generate(t, e),
                at_ms: t,
                actor: actor.to_string(),
                action: "energy.meters".into(),
                subject: centre.to_string(),
                detail: serde_json::to_value(&all).unwrap_or_default(),
            })
            .await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "storing meters failed; rebuilding the energy book from the store");
            if let Ok((fresh, stored, owners)) = build_book(&self.store, self.ids.now_ms()).await {
                *book = fresh;
                *self.stored.lock().unwrap_or_else(|e| e.into_inner()) = stored;
                *self.owners.write().unwrap_or_else(|e| e.into_inner()) = owners;
            }
            return Err(internal(e));
        }
        self.stored.lock().unwrap_or_else(|e| e.into_inner()).insert(centre.clone());
        Ok(all)
    }

    /// Registers a data centre's cooling and rated facility capacity (kW; readings implying more
    /// power are implausible), stored with an audit record by `actor`. Answers the data centre.
    pub async fn set_facts(&self, centre: &CentreId, cooling: Cooling, rated_kw: f64, actor: &str) -> ApiResult<DataCentre> {
        if self.store.centre(centre).await?.is_none() {
            return Err(EnergyError::DataCentreNotFound { dc: centre.clone() }.into());
        }
        let mut book = self.book.write().await;
        self.register_missing(&mut book, &[centre]).await?;
        let mut dc = book.data_centre(centre).cloned().ok_or_else(|| internal("registered above"))?;
        (dc.cooling, dc.rated_kw) = (cooling, rated_kw);
        dc.validate()?;
        let result: Result<(), suanli_store::StoreError> = async {
            let mut tx = self.store.begin().await?;
            tx.upsert_energy_facts(centre, &cooling_name(cooling), rated_kw).await?;
            let (t, e) = self.ids.parts();
            tx.audit(&Audit {
                id: AuditId::generate(t, e),
                at_ms: t,
                actor: actor.to_string(),
                action: "energy.facts".into(),
                subject: centre.to_string(),
                detail: serde_json::json!({"cooling": cooling_name(cooling), "rated_kw": rated_kw}),
            })
            .await?;
            tx.commit().await
        }
        .await;
        result.map_err(internal)?;
        book.register(dc.clone())?;
        Ok(dc)
    }

    /// [`suanli_app::figures::loads`] at about `now_ms`: computed at most once a minute (pages
    /// show them; the lifecycle score they feed moves over days).
    pub async fn loads_recent(&self, regions: &Regions, now_ms: UnixMs) -> BTreeMap<CentreId, Load> {
        if let Some((at, u)) = self.recent_loads.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
            && (0..60_000).contains(&(now_ms - at))
        {
            return u.clone();
        }
        let u = suanli_app::figures::loads(&self.store, regions, now_ms).await.unwrap_or_default();
        *self.recent_loads.lock().unwrap_or_else(|e| e.into_inner()) = Some((now_ms, u.clone()));
        u
    }

    /// The PUE the scheduler's carbon model should use per centre: the annualised PUE where a
    /// complete year is metered, else the last 30 days' where complete; centres with neither are
    /// left out (they keep their declared PUE).
    pub async fn measured_pues(&self, now_ms: UnixMs) -> HashMap<CentreId, f64> {
        let book = self.book.read().await;
        let ids: Vec<CentreId> = self.owners.read().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect();
        let mut out = HashMap::new();
        for id in ids {
            let year = book.annualised(&id, now_ms).ok().and_then(|p| p.value);
            let month = || book.pue(&id, now_ms - 30 * suanli_core::time::MS_PER_DAY, now_ms).ok().and_then(|p| p.value);
            if let Some(p) = year.or_else(month) {
                out.insert(id, p);
            }
        }
        out
    }
}

impl EnergyService {
    /// Readings older than the book's reorder window that equal stored ones (a batch resent
    /// after a long outage) are duplicates, not errors: resending is always harmless.
    async fn stored_duplicates(&self, centre: &CentreId, readings: &[Reading], report: &mut IngestReport) -> ApiResult<()> {
        let too_old = |r: &suanli_energy::Rejection| r.error.code() == ErrorCode::ReadingTooOld.as_str();
        let (Some(lo), Some(hi)) = (
            report.rejected.iter().filter(|r| too_old(r)).map(|r| r.ts_ms).min(),
            report.rejected.iter().filter(|r| too_old(r)).map(|r| r.ts_ms).max(),
        ) else {
            return Ok(());
        };
        let stored: HashMap<(String, UnixMs), f64> =
            self.store.energy_readings_between(centre, lo, hi).await?.into_iter().map(|(m, t, v)| ((m, t), v)).collect();
        let mut sent: HashMap<(&str, UnixMs), f64> = HashMap::new();
        for r in readings {
            sent.entry((r.meter.as_str(), r.ts_ms)).or_insert(r.value.value());
        }
        let before = report.rejected.len();
        report.rejected.retain(|r| {
            !(too_old(r) && stored.get(&(r.meter.to_string(), r.ts_ms)).is_some_and(|v| sent.get(&(r.meter.as_str(), r.ts_ms)) == Some(v)))
        });
        report.duplicates += (before - report.rejected.len()) as u32;
        Ok(())
    }
}

/// Applies readings to the book and returns the report with the readings to store: every
/// reading not refused, in batch order. A batch that names one meter and time twice is applied
/// one reading at a time, so each outcome is known exactly.
fn judge(book: &mut EnergyBook, centre: &CentreId, now_ms: UnixMs, readings: &[Reading]) -> ApiResult<(IngestReport, Vec<Reading>)> {
    let mut seen = HashSet::with_capacity(readings.len());
    let repeats = readings.iter().any(|r| !seen.insert((r.meter.as_str(), r.ts_ms)));
    if !repeats {
        let report = book.ingest(centre, now_ms, readings).map_err(ApiError::from_energy)?;
        let refused: HashSet<(&str, UnixMs)> = report.rejected.iter().map(|r| (r.meter.as_str(), r.ts_ms)).collect();
        let accepted = readings.iter().filter(|r| !refused.contains(&(r.meter.as_str(), r.ts_ms))).cloned().collect();
        return Ok((report, accepted));
    }
    let mut total = IngestReport::default();
    let mut accepted = Vec::new();
    for r in readings {
        let report = book.ingest(centre, now_ms, std::slice::from_ref(r)).map_err(ApiError::from_energy)?;
        if report.accepted > 0 {
            accepted.push(r.clone());
        }
        total.accepted += report.accepted;
        total.duplicates += report.duplicates;
        total.rejected.extend(report.rejected);
        total.issues.extend(report.issues);
    }
    Ok((total, accepted))
}

impl ApiError {
    /// An energy error as the problem its code names.
    pub fn from_energy(e: EnergyError) -> ApiError {
        ApiError::Domain(e.into())
    }
}

impl From<EnergyError> for ApiError {
    fn from(e: EnergyError) -> ApiError {
        ApiError::from_energy(e)
    }
}
