//! The one ingest path: JSON batches, Prometheus remote write, the demo's meters and the benchmarks all come here; a bounded queue to the writer, judging under the book's write lock, and an answer only once the readings are durable.

use super::{Energy, MeterTable, energy, lock, writer::WriteJob};
use crate::caller::Caller;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;
use suanli_core::centre::Centre;
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::CentreId;
use suanli_core::time::UnixMs;
use suanli_energy::EnergyBook;
use suanli_energy::csv::{CsvError, CsvFault};
use suanli_energy::{IngestReport, Meter, MeterId, Reading, Rejection, count_resent, judge, judge_owned};
use suanli_store::energy::EncodedReadings;
use suanli_store::{Audit, StoreError};
use tokio::sync::{RwLockWriteGuard, oneshot};

/// One Prometheus series as its edge read it: the centre and meter it names (not yet checked)
/// and its samples (unix ms, value in the meter's own unit; NaN is a stale marker).
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    pub centre: &'a str,
    pub meter: &'a str,
    pub samples: &'a [(UnixMs, f64)],
}

/// What a remote write came to: each centre's report, and what was not a reading.
#[derive(Debug, Default)]
pub struct RemoteWrite {
    pub reports: Vec<(CentreId, IngestReport)>,
    /// Samples that are not numbers (Prometheus's stale markers among them).
    pub not_a_number: u32,
    /// Series whose centre or meter the energy registry does not have.
    pub ignored_series: u32,
}

/// What an imported readings file came to: its readings and each centre's report, every
/// refused reading with the file's line it came from.
#[derive(Debug, Default)]
pub struct CsvImport {
    pub readings: usize,
    pub accepted: u32,
    pub duplicates: u32,
    /// (line, centre, refusal), in line order.
    pub refused: Vec<(usize, CentreId, Rejection)>,
}

/// The most readings one imported file may hold.
pub const MAX_CSV_READINGS: usize = 100_000;

/// Stored readings per centre that a batch may repeat from beyond the reorder window, and the
/// span of time they were read for.
type StoredBehind = HashMap<CentreId, ((UnixMs, UnixMs), Vec<(String, UnixMs, f64)>)>;

/// The book's write lock, the centres and stored readings read for the batch it is taken for,
/// and how long the lock was waited for (µs).
type Locked<'e> = (RwLockWriteGuard<'e, EnergyBook>, Vec<(Centre, Vec<Meter>)>, StoredBehind, u64);

impl Energy {
    /// Judges and stores readings of many centres sent by `caller` (the operator for any centre,
    /// a provider for its own), then answers in centre order; see [`Energy::ingest_as`].
    pub async fn ingest(
        &self,
        caller: &Caller,
        batches: BTreeMap<CentreId, Vec<Reading>>,
    ) -> Result<Vec<(CentreId, IngestReport)>, StoreError> {
        self.may_write_all(caller, batches.keys()).await?;
        self.ingest_as(Some(&caller.actor()), batches, self.ids.now_ms()).await
    }

    /// Imports a readings file (`centre_id,meter,ts|ts_ms,kwh|kw|m3`, the header naming the value
    /// column) sent by `caller` through the one ingest path. A file that cannot be read is the
    /// inner error, naming its line, and nothing is stored; a centre the caller may not write is
    /// refused whole (`forbidden`), as a JSON batch is.
    pub async fn import_csv(&self, caller: &Caller, text: &str) -> Result<Result<CsvImport, CsvError>, StoreError> {
        self.may_send(caller)?;
        let rows = match suanli_energy::csv::readings(text) {
            Ok(rows) => rows,
            Err(e) => return Ok(Err(e)),
        };
        if rows.len() > MAX_CSV_READINGS {
            return Err(
                Error::new(ErrorCode::PayloadTooLarge, format!("{} readings in one file; at most {MAX_CSV_READINGS}", rows.len())).into()
            );
        }
        let mut batches: BTreeMap<CentreId, Vec<Reading>> = BTreeMap::new();
        let mut lines: HashMap<(CentreId, MeterId, UnixMs), usize> = HashMap::new();
        for (line, centre, reading) in rows {
            let Ok(centre) = CentreId::parse(&centre) else {
                return Ok(Err(CsvError { line: Some(line), fault: CsvFault::BadCentre(centre.chars().take(64).collect()) }));
            };
            lines.entry((centre.clone(), reading.meter.clone(), reading.ts_ms)).or_insert(line);
            batches.entry(centre).or_default().push(reading);
        }
        let readings = batches.values().map(Vec::len).sum();
        let mut out = CsvImport { readings, ..CsvImport::default() };
        for (centre, report) in self.ingest(caller, batches).await? {
            out.accepted += report.accepted;
            out.duplicates += report.duplicates;
            for r in report.rejected {
                let line = lines.get(&(centre.clone(), r.meter.clone(), r.ts_ms)).copied().unwrap_or(0);
                out.refused.push((line, centre.clone(), r));
            }
        }
        out.refused.sort_by_key(|(line, _, _)| *line);
        Ok(Ok(out))
    }

    /// [`Energy::ingest_as`] for one centre's readings (the demo's meters).
    pub async fn ingest_centre_as(
        &self,
        actor: Option<&str>,
        centre: &CentreId,
        readings: Vec<Reading>,
        now_ms: UnixMs,
    ) -> Result<IngestReport, StoreError> {
        let mut out = self.ingest_as(actor, BTreeMap::from([(centre.clone(), readings)]), now_ms).await?;
        Ok(out.pop().map(|(_, r)| r).unwrap_or_default())
    }

    /// Maps Prometheus series to readings in their meters' units and ingests them for `caller`.
    /// Series of centres or meters the registry does not have are counted, not refused; a
    /// centre the caller may not write refuses the whole request (`forbidden`).
    ///
    /// Centres registered since the book was built join it first. The series are mapped to
    /// readings by the meter table (each centre's registered meters, kept beside the book), not
    /// under the book's lock: a request waits for the lock once, to be judged, where a meter
    /// changed meanwhile is refused by the book's own rules.
    pub async fn remote_write(&self, caller: &Caller, series: Vec<Series<'_>>) -> Result<RemoteWrite, StoreError> {
        self.may_send(caller)?;
        let mut names: Vec<&str> = series.iter().map(|s| s.centre).collect();
        names.dedup();
        names.sort_unstable();
        names.dedup();
        // Each centre is looked up once: a known one's owner is checked at once, an unknown one
        // is looked for in the store (registered since the book was built) and checked then.
        let unknown: Vec<CentreId> =
            self.unknown_owners(caller, names.iter().copied())?.into_iter().filter_map(|n| CentreId::parse(n).ok()).collect();
        if !unknown.is_empty() {
            self.ensure_registered(&unknown.iter().collect::<Vec<_>>()).await?;
            let registered: Vec<CentreId> = {
                let owners = self.owners.read().unwrap_or_else(|e| e.into_inner());
                unknown.into_iter().filter(|c| owners.contains_key(c)).collect()
            };
            self.may_write_all(caller, registered.iter()).await?;
        }
        let mut out = RemoteWrite::default();
        let batches = map_series(&self.meter_table.read().unwrap_or_else(|e| e.into_inner()), &series, &mut out);
        if !batches.is_empty() {
            out.reports = self.ingest_as(Some(&caller.actor()), batches, self.ids.now_ms()).await?;
        }
        Ok(out)
    }

    /// Judges readings of many centres, hands every accepted one (with an audit record by
    /// `actor` when given) to the writer in judging order, and answers in centre order once the
    /// writer has committed them: an acknowledged reading is durable.
    ///
    /// What the store has to say (centres the book does not know yet, the stored readings a
    /// batch may repeat from beyond the reorder window) is read without the book's lock (see
    /// [`Energy::lock_with_reads`]); the usual batch needs none of it, and takes the book's lock
    /// once. Then, under the write lock: a place in the writer's queue (a full queue refuses the batch
    /// with `ingest_busy` before anything is judged, so sending it again is safe), registration,
    /// judging, the hand-over. The lock is released while the writer commits, so the next batch
    /// is judged meanwhile. If a commit fails the book is rebuilt from the store and the batch
    /// is refused, so the book never keeps a reading the store lost. Any unknown centre is
    /// `data_centre_not_found` and nothing is stored.
    pub async fn ingest_as(
        &self,
        actor: Option<&str>,
        batches: BTreeMap<CentreId, Vec<Reading>>,
        now_ms: UnixMs,
    ) -> Result<Vec<(CentreId, IngestReport)>, StoreError> {
        let t0 = Instant::now();
        let centres = batches.len();
        let (mut book, prepared, behind, waited) = self.lock_with_reads(&batches).await?;
        let (committed, new_meters, reports, t2, released, t3) = {
            let t2 = Instant::now();
            let slot = self.writer.try_reserve().map_err(|_| self.busy())?;
            for (c, meters) in prepared {
                self.register_new(&mut book, &c, meters)?;
            }
            let new_meters = self.meters_to_store(&book, &batches);
            let mut reports = Vec::with_capacity(batches.len());
            // Each centre with accepted readings, by its place in `reports`.
            let mut accepted: Vec<(usize, Vec<Reading>)> = Vec::with_capacity(batches.len());
            for (centre, readings) in batches {
                let j = match behind.get(&centre) {
                    None => judge_owned(&mut book, &centre, now_ms, readings).map_err(energy)?,
                    Some((_, stored)) => {
                        let mut j = judge(&mut book, &centre, now_ms, &readings).map_err(energy)?;
                        count_resent(&mut j.report, &readings, stored);
                        j
                    }
                };
                if !j.accepted.is_empty() {
                    accepted.push((reports.len(), j.accepted));
                }
                reports.push((centre, j.report));
            }
            if accepted.is_empty() && new_meters.is_empty() {
                return Ok(reports);
            }
            let (payload, pending) = oneshot::channel();
            let (reply, committed) = oneshot::channel();
            slot.send(WriteJob { new_meters: new_meters.clone(), payload: pending, reply });
            drop(book);
            let released = Instant::now();
            // Outside the lock, and with no await until the payload is sent: a request dropped
            // in between would leave the writer waiting for it.
            let audit = actor.map(|actor| self.ingest_audit(actor, &reports, &accepted));
            let rows: Vec<(&CentreId, &[Reading])> = accepted.iter().map(|(i, r)| (&reports[*i].0, r.as_slice())).collect();
            let _ = payload.send(EncodedReadings::encode(&rows).map(|r| (r, audit)).map_err(|e| e.to_string()));
            (committed, new_meters, reports, t2, released, Instant::now())
        };
        let answer = self.acknowledge(committed, new_meters, reports).await;
        let us = |a: Instant, b: Instant| (b - a).as_micros() as u64;
        tracing::debug!(
            centres,
            ahead_us = us(t0, t2).saturating_sub(waited),
            lock_us = waited,
            judge_us = us(t2, released),
            encode_us = us(released, t3),
            durable_us = us(t3, Instant::now()),
            "energy batch"
        );
        answer
    }

    /// `ingest_busy` (429, Retry-After): the writer's queue is full.
    fn busy(&self) -> StoreError {
        Error::new(ErrorCode::IngestBusy, format!("{} batches already wait to be stored; send this one again in a second", self.queue))
            .into()
    }

    /// The book's write lock, taken once what the store has to say about the batch is read: the
    /// centres the book does not know (`data_centre_not_found` for one the store does not know
    /// either), and the stored readings each centre's readings may repeat from beyond the
    /// reorder window (see `suanli_energy::intake`). The usual batch needs neither, and judging
    /// starts at once. Otherwise the lock is let go while the store is read, then taken again
    /// and the batch looked at anew. Answers the lock, the centres read, the stored readings,
    /// and how long the lock was waited for (µs).
    async fn lock_with_reads(&self, batches: &BTreeMap<CentreId, Vec<Reading>>) -> Result<Locked<'_>, StoreError> {
        let mut prepared: Vec<(Centre, Vec<Meter>)> = Vec::new();
        let mut behind: StoredBehind = HashMap::new();
        let mut waited = 0;
        loop {
            let asked = Instant::now();
            let book = self.book.write().await;
            waited += asked.elapsed().as_micros() as u64;
            // Each centre looked up once: whether the book has it, and what it may repeat.
            let mut missing: Vec<CentreId> = Vec::new();
            let mut spans: Vec<(CentreId, (UnixMs, UnixMs))> = Vec::new();
            for (c, r) in batches {
                match book.standing(c, r) {
                    None if !prepared.iter().any(|(p, _)| p.id == *c) => missing.push(c.clone()),
                    None | Some(None) => {}
                    Some(Some((lo, hi))) => {
                        if behind.get(c).is_none_or(|((l, h), _)| lo < *l || hi > *h) {
                            spans.push((c.clone(), (lo, hi)));
                        }
                    }
                }
            }
            if missing.is_empty() && spans.is_empty() {
                return Ok((book, prepared, behind, waited));
            }
            drop(book);
            if !missing.is_empty() {
                prepared.extend(self.prepare(&missing.iter().collect::<Vec<_>>(), true).await?);
            }
            for (centre, (lo, hi)) in spans {
                let stored = self.store.energy_readings_between(&centre, lo, hi).await?;
                behind.insert(centre, ((lo, hi), stored));
            }
        }
    }

    /// The meters to store with the first readings of a centre whose meters the store does not
    /// have yet (its defaults). Under the write lock; no I/O.
    fn meters_to_store(&self, book: &suanli_energy::EnergyBook, batches: &BTreeMap<CentreId, Vec<Reading>>) -> Vec<(CentreId, Vec<Meter>)> {
        let stored = lock(&self.stored);
        batches
            .iter()
            .filter(|(c, r)| !r.is_empty() && !stored.contains(*c))
            .filter_map(|(c, _)| book.data_centre(c).map(|dc| (c.clone(), dc.meters.clone())))
            .collect()
    }

    /// Waits for the writer's commit and answers; a failed commit rebuilds the book.
    async fn acknowledge(
        &self,
        committed: oneshot::Receiver<Result<(), String>>,
        new_meters: Vec<(CentreId, Vec<Meter>)>,
        reports: Vec<(CentreId, IngestReport)>,
    ) -> Result<Vec<(CentreId, IngestReport)>, StoreError> {
        match committed.await {
            Ok(Ok(())) => {
                let mut stored = lock(&self.stored);
                stored.extend(new_meters.into_iter().map(|(c, _)| c));
                Ok(reports)
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "storing readings failed; rebuilding the energy book from the store");
                let mut book = self.book.write().await;
                if let Err(e2) = self.rebuild(&mut book).await {
                    tracing::error!(error = %e2, "rebuilding the energy book failed");
                }
                Err(StoreError::Corrupt(format!("storing readings failed: {e}")))
            }
            Err(_) => Err(StoreError::Corrupt("the energy writer stopped before answering".into())),
        }
    }

    /// One audit record per batch: its centre as the subject (`energy` when it spans several),
    /// the batch's totals, and, by centre, what each centre with a duplicate or a refused
    /// reading came to. Centres whose readings were all stored are counted, not listed: a
    /// remote write names hundreds of centres, and the stored readings say which they were.
    fn ingest_audit(&self, actor: &str, reports: &[(CentreId, IngestReport)], accepted: &[(usize, Vec<Reading>)]) -> Audit {
        let stored: Vec<&(CentreId, IngestReport)> = accepted.iter().map(|(i, _)| &reports[*i]).collect();
        let subject = match stored.as_slice() {
            [(c, _)] => c.to_string(),
            _ => "energy".to_string(),
        };
        let by_centre: serde_json::Map<String, serde_json::Value> = stored
            .iter()
            .filter(|(_, r)| r.duplicates > 0 || !r.rejected.is_empty())
            .map(|(c, r)| {
                (c.to_string(), serde_json::json!({"accepted": r.accepted, "duplicates": r.duplicates, "rejected": r.rejected.len()}))
            })
            .collect();
        let detail = serde_json::json!({
            "centres": stored.len(),
            "accepted": stored.iter().map(|(_, r)| u64::from(r.accepted)).sum::<u64>(),
            "duplicates": stored.iter().map(|(_, r)| u64::from(r.duplicates)).sum::<u64>(),
            "rejected": stored.iter().map(|(_, r)| r.rejected.len()).sum::<usize>(),
            "by_centre": by_centre,
        });
        self.audit(actor, "energy.ingest", &subject, detail)
    }
}

/// The readings of `series` by centre, by the meters of `table` (each centre's registered
/// meters); counts series of centres or meters it does not have, and samples that are not
/// numbers, in `out`.
fn map_series(table: &MeterTable, series: &[Series<'_>], out: &mut RemoteWrite) -> BTreeMap<CentreId, Vec<Reading>> {
    // A centre's series mostly come together, and the centres in order: each run of a centre's
    // series gathers its readings, and runs in centre order make the map in one pass.
    let mut runs: Vec<(&CentreId, Vec<Reading>)> = Vec::new();
    let mut meters: &[Meter] = &[];
    for s in series {
        if runs.last().is_none_or(|(c, _)| c.as_str() != s.centre) {
            let Some((centre, of_centre)) = table.get_key_value(s.centre) else {
                out.ignored_series += 1;
                continue;
            };
            // Room for each of its meters' series with as many samples as this one.
            runs.push((centre, Vec::with_capacity(of_centre.len() * s.samples.len())));
            meters = of_centre;
        }
        let Some(m) = meters.iter().find(|m| m.id.as_str() == s.meter) else {
            out.ignored_series += 1;
            continue;
        };
        let Some((_, readings)) = runs.last_mut() else { continue };
        // The book's own copy of the id: the book's lookups then compare no text.
        let (unit, meter) = (m.unit, &m.id);
        out.not_a_number += s.samples.iter().filter(|(_, v)| v.is_nan()).count() as u32;
        readings.extend(s.samples.iter().filter(|(_, v)| !v.is_nan()).map(|&(ts_ms, v)| Reading {
            meter: meter.clone(),
            ts_ms,
            value: suanli_store::energy::value_of(unit, v),
        }));
    }
    runs.retain(|(_, r)| !r.is_empty());
    if runs.windows(2).all(|w| w[0].0 < w[1].0) {
        return runs.into_iter().map(|(c, r)| (c.clone(), r)).collect();
    }
    let mut batches: BTreeMap<CentreId, Vec<Reading>> = BTreeMap::new();
    for (c, readings) in runs {
        match batches.entry(c.clone()) {
            Entry::Vacant(e) => {
                e.insert(readings);
            }
            Entry::Occupied(mut e) => e.get_mut().extend(readings),
        }
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use suanli_energy::defaults::default_meters;

    #[test]
    fn series_map_to_readings_by_centre_whatever_their_order() {
        let (a, b) = (CentreId::generate(1, 1), CentreId::generate(1, 2));
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let mut table = MeterTable::default();
        for c in [&lo, &hi] {
            table.insert(c.clone(), Arc::from(default_meters()));
        }
        let samples = [(1_000, 5.0), (2_000, f64::NAN), (3_000, 7.0)];
        let series = |centre, meter| Series { centre, meter, samples: &samples };
        let (lo_s, hi_s) = (lo.as_str(), hi.as_str());
        for order in [
            vec![series(lo_s, "facility"), series(lo_s, "it"), series(hi_s, "it")],
            vec![series(hi_s, "it"), series(lo_s, "facility"), series("dc_unknown", "it"), series(lo_s, "it")],
            vec![series(lo_s, "facility"), series(hi_s, "it"), series(lo_s, "it"), series(hi_s, "no_such_meter")],
        ] {
            let mut out = RemoteWrite::default();
            let got = map_series(&table, &order, &mut out);
            assert_eq!(got.keys().collect::<Vec<_>>(), vec![&lo, &hi]);
            let meters = |c: &CentreId| got[c].iter().map(|r| (r.meter.as_str().to_string(), r.ts_ms)).collect::<Vec<_>>();
            let at = |m: &str| [(m.to_string(), 1_000), (m.to_string(), 3_000)];
            assert_eq!(meters(&lo), [at("facility"), at("it")].concat());
            assert_eq!(meters(&hi), at("it").to_vec());
            assert_eq!(out.not_a_number, 3, "one stale marker a mapped series");
            assert_eq!(out.ignored_series, u32::from(order.len() == 4), "the unknown centre or meter");
        }
    }
}
