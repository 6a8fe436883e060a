//! Building the energy book from the store: every centre with its stored (or default) meters and its registered (or inferred) facts, then the accepted readings replayed.

use std::collections::{BTreeMap, HashMap};
use suanli_core::id::CentreId;
use suanli_core::time::UnixMs;
use suanli_energy::defaults::{cooling_of, data_centre, default_meters};
use suanli_energy::meter::MAX_RATED_KW;
use suanli_energy::{DataCentre, EnergyBook, EnergyConfig, Meter, Reading};
use suanli_store::{Store, StoreError};

/// A book as the store holds it: the book, the centres whose meters are stored, and every
/// centre's provider.
pub struct Loaded {
    pub book: EnergyBook,
    pub stored: super::CentreSet,
    pub owners: super::Owners,
    /// How far the book read the store (what a follower reads on from).
    pub replayed: super::follow::Replayed,
}

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt(what)
}

/// Builds the book under `config` (the city policy's, [`super::config_for`]) from the store.
/// Stored readings are replayed per centre under no capacity limit (they were judged when they
/// came, and the rated capacity may have been registered or lowered since); then each centre's
/// real capacity is set.
pub async fn build_book(store: &Store, config: &EnergyConfig, now_ms: UnixMs) -> Result<Loaded, StoreError> {
    let mut book = EnergyBook::new(config.clone()).map_err(|e| corrupt(e.to_string()))?;
    let rows = store.energy_rows().await?;
    let stored_facts = store.energy_facts().await?;
    let replayed = super::follow::Replayed { mark: rows.mark, registry: super::follow::registry_print(&rows.meters, &stored_facts) };
    let mut meters: BTreeMap<CentreId, Vec<Meter>> = BTreeMap::new();
    for (c, m) in rows.meters {
        meters.entry(c).or_default().push(m);
    }
    let stored: super::CentreSet = meters.keys().cloned().collect();
    let facts: HashMap<CentreId, (String, f64)> = stored_facts.into_iter().map(|(c, k, r)| (c, (k, r))).collect();
    let mut owners = super::Owners::default();
    let mut rated = Vec::new();
    for centre in store.centres(None).await? {
        owners.insert(centre.id.clone(), centre.provider_id.clone());
        let mut dc = data_centre(&centre, meters.remove(&centre.id).unwrap_or_else(default_meters));
        if let Some((cooling, rated_kw)) = facts.get(&centre.id) {
            dc.cooling =
                cooling_of(cooling).ok_or_else(|| corrupt(format!("centre {}: stored cooling '{cooling}' is unknown", centre.id)))?;
            dc.rated_kw = *rated_kw;
        }
        let rated_kw = dc.rated_kw;
        book.register(DataCentre { rated_kw: MAX_RATED_KW, ..dc.clone() }).map_err(|e| corrupt(format!("centre {}: {e}", centre.id)))?;
        rated.push(DataCentre { rated_kw, ..dc });
    }
    replay(&mut book, &rows.readings, now_ms)?;
    for dc in rated {
        book.register(dc).map_err(|e| corrupt(e.to_string()))?;
    }
    Ok(Loaded { book, stored, owners, replayed })
}

/// Replays stored readings (grouped by centre, in the order they were stored).
fn replay(book: &mut EnergyBook, readings: &[(CentreId, Reading)], now_ms: UnixMs) -> Result<(), StoreError> {
    let mut start = 0;
    while start < readings.len() {
        let centre = readings[start].0.clone();
        let end = start + readings[start..].iter().take_while(|(c, _)| *c == centre).count();
        let batch: Vec<Reading> = readings[start..end].iter().map(|(_, r)| r.clone()).collect();
        let report = book.ingest(&centre, now_ms, &batch).map_err(|e| corrupt(format!("replaying {centre}: {e}")))?;
        if !report.rejected.is_empty() {
            tracing::warn!(centre = %centre, rejected = report.rejected.len(), "stored readings refused on replay");
        }
        start = end;
    }
    Ok(())
}
