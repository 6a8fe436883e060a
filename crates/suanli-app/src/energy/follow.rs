//! A follower's energy book kept up with the leader's: the reading blocks committed since it last read, replayed in commit order, or the whole book rebuilt when meters or facts changed.

use super::{Energy, lock};
use std::collections::HashSet;
use suanli_core::id::CentreId;
use suanli_energy::{Meter, Reading};
use suanli_store::StoreError;

/// How far an energy book has read the store: the last reading block it replayed, and a
/// fingerprint of the meters and facts it was built with (when they change, it is rebuilt).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Replayed {
    pub mark: i64,
    pub registry: u64,
}

/// What one [`Energy::catch_up`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// Nothing was stored since the last one.
    Current,
    /// The readings of this many new blocks were replayed; the book took this many.
    Replayed { blocks: i64, readings: usize },
    /// Meters or facts changed: the book was rebuilt from the store.
    Rebuilt,
}

/// A fingerprint of the stored meters and facts (in the store's order, by centre).
pub fn registry_print(meters: &[(CentreId, Meter)], facts: &[(CentreId, String, f64)]) -> u64 {
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

impl Energy {
    /// A follower's book brought up to what the leader stored: the reading blocks committed
    /// since the book last read, replayed in commit order; or, when the stored meters or facts
    /// changed, the whole book rebuilt. The leader's book is current already (its writes go
    /// through it), so only followers call this, one task at a time.
    pub async fn catch_up(&self) -> Result<CatchUp, StoreError> {
        let last = *lock(&self.replayed);
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
        lock(&self.replayed).mark = upto;
        Ok(CatchUp::Replayed { blocks: upto - last.mark, readings: taken })
    }

    /// Ingests readings that the leader stored, as the leader ingested them: each centre's run
    /// of readings one batch, in commit order. A reading the book already holds is refused as
    /// a duplicate and changes nothing; answers how many readings the book took.
    async fn replay(&self, readings: &[(CentreId, Reading)]) -> usize {
        let now = self.ids.now_ms();
        let centres: Vec<&CentreId> = readings.iter().map(|(c, _)| c).collect::<HashSet<_>>().into_iter().collect();
        if let Err(e) = self.ensure_registered(&centres).await {
            tracing::warn!(error = %e, "replayed readings of a centre the book cannot register");
        }
        let mut book = self.book.write().await;
        let (mut taken, mut start) = (0, 0);
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
        *lock(&self.recent_loads) = None;
        taken
    }
}
