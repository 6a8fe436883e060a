//! Judging one batch of a data centre's readings for storage: which readings to store, and the rule that a resent reading older than the reorder window is a duplicate when it equals the stored one.
//!
//! The caller (the platform's energy service) judges under its book's write lock and stores
//! what [`judge`] accepted. The book keeps only the readings inside the reorder window, so a
//! batch resent after a long outage is refused as `reading_too_old`; resending must stay
//! harmless, so [`count_resent`] turns those that equal stored readings into duplicates. The
//! stored readings it needs are read before the lock is taken: [`EnergyBook::standing`] says
//! which span of time to read, with a margin for batches judged in between.

use crate::book::{EnergyBook, IngestReport, Rejection};
use crate::error::EnergyError;
use crate::meter::{MeterId, Reading};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use suanli_core::error::ErrorCode;
use suanli_core::id::CentreId;
use suanli_core::time::UnixMs;

/// What a batch came to: the report, and every reading not refused, in batch order (what to store).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Judged {
    pub report: IngestReport,
    pub accepted: Vec<Reading>,
}

/// Applies readings of one data centre to the book. A batch that names one meter and time
/// twice is applied one reading at a time, so each outcome is known exactly. Only an unknown
/// data centre fails.
pub fn judge(book: &mut EnergyBook, centre: &CentreId, now_ms: UnixMs, readings: &[Reading]) -> Result<Judged, EnergyError> {
    judge_batch(book, centre, now_ms, Cow::Borrowed(readings))
}

/// [`judge`] of readings handed over: when none is refused they become `accepted` as they
/// are, without a copy.
pub fn judge_owned(book: &mut EnergyBook, centre: &CentreId, now_ms: UnixMs, readings: Vec<Reading>) -> Result<Judged, EnergyError> {
    judge_batch(book, centre, now_ms, Cow::Owned(readings))
}

fn judge_batch(book: &mut EnergyBook, centre: &CentreId, now_ms: UnixMs, readings: Cow<'_, [Reading]>) -> Result<Judged, EnergyError> {
    // In meter and time order (the usual stream) no meter and time can repeat.
    let sorted = in_order(&readings);
    let repeats = !sorted && {
        let mut seen = HashSet::with_capacity(readings.len());
        readings.iter().any(|r| !seen.insert((r.meter.as_str(), r.ts_ms)))
    };
    if !repeats {
        let report = book.ingest_sorted(centre, now_ms, &readings, sorted)?;
        if report.rejected.is_empty() {
            return Ok(Judged { report, accepted: readings.into_owned() });
        }
        let refused: HashSet<(&str, UnixMs)> = report.rejected.iter().map(|r| (r.meter.as_str(), r.ts_ms)).collect();
        let accepted = readings.iter().filter(|r| !refused.contains(&(r.meter.as_str(), r.ts_ms))).cloned().collect();
        return Ok(Judged { report, accepted });
    }
    let mut total = Judged::default();
    for r in readings.iter() {
        let report = book.ingest(centre, now_ms, std::slice::from_ref(r))?;
        if report.accepted > 0 {
            total.accepted.push(r.clone());
        }
        total.report.accepted += report.accepted;
        total.report.duplicates += report.duplicates;
        total.report.rejected.extend(report.rejected);
        total.report.issues.extend(report.issues);
    }
    Ok(total)
}

/// Whether readings are in strictly increasing meter and time order (each meter's readings
/// together, no meter and time twice).
pub fn in_order(readings: &[Reading]) -> bool {
    readings.windows(2).all(|w| (&w[0].meter, w[0].ts_ms) < (&w[1].meter, w[1].ts_ms))
}

/// How close to the edge of the reorder window a reading counts as possibly too old: another
/// batch judged between [`EnergyBook::standing`] and [`judge`] may move its meter on by this much.
pub const BEHIND_MARGIN_MS: i64 = 3_600_000;

impl EnergyBook {
    /// Whether the book has the data centre (`None` when it has not, so a batch's centre is
    /// looked up once) and, when it has, the span of time of the readings it would refuse as
    /// older than the reorder window, or will once their meter moves on by up to
    /// [`BEHIND_MARGIN_MS`]: the stored readings [`count_resent`] needs lie in it. The span is
    /// `None` when there are none (the usual stream, and late readings well inside the window),
    /// or for meters the centre does not have.
    pub fn standing(&self, dc: &CentreId, readings: &[Reading]) -> Option<Option<(UnixMs, UnixMs)>> {
        let state = self.centres.get(dc)?;
        let edge = self.config.reorder_window_ms - BEHIND_MARGIN_MS;
        // A meter's readings mostly come together: look its series up once for each run.
        let mut last: Option<(&MeterId, Option<UnixMs>)> = None;
        let mut span: Option<(UnixMs, UnixMs)> = None;
        for r in readings {
            let meter_last = match last {
                Some((m, l)) if *m == r.meter => l,
                _ => {
                    let l = state.meters.get(&r.meter).and_then(|s| s.last_ts());
                    last = Some((&r.meter, l));
                    l
                }
            };
            if meter_last.is_some_and(|l| r.ts_ms < l - edge) {
                span = Some(span.map_or((r.ts_ms, r.ts_ms), |(lo, hi)| (lo.min(r.ts_ms), hi.max(r.ts_ms))));
            }
        }
        Some(span)
    }
}

fn too_old(r: &Rejection) -> bool {
    r.error.code() == ErrorCode::ReadingTooOld.as_str()
}

/// Readings refused as older than the reorder window that equal the stored reading of their
/// meter and time (`stored`: meter, time, value) are duplicates, not errors: resending a batch
/// is always harmless. Moves them from `rejected` to `duplicates`; answers how many.
pub fn count_resent(report: &mut IngestReport, sent: &[Reading], stored: &[(String, UnixMs, f64)]) -> u32 {
    if !report.rejected.iter().any(too_old) {
        return 0;
    }
    let stored: HashMap<(&str, UnixMs), f64> = stored.iter().map(|(m, t, v)| ((m.as_str(), *t), *v)).collect();
    let mut first_sent: HashMap<(&str, UnixMs), f64> = HashMap::new();
    for r in sent {
        first_sent.entry((r.meter.as_str(), r.ts_ms)).or_insert(r.value.value());
    }
    let before = report.rejected.len();
    report.rejected.retain(|r| {
        let key = (r.meter.as_str(), r.ts_ms);
        !(too_old(r) && stored.get(&key).is_some_and(|v| first_sent.get(&key) == Some(v)))
    });
    let resent = (before - report.rejected.len()) as u32;
    report.duplicates += resent;
    resent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EnergyConfig;
    use crate::meter::{DataCentre, MeterId, ReadingValue};
    use crate::series::BUCKET_MS;

    const T0: UnixMs = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    const HOUR: i64 = 3_600_000;

    fn book() -> (EnergyBook, CentreId) {
        let id = CentreId::generate(1, 1);
        let mut book = EnergyBook::new(EnergyConfig::default()).unwrap();
        book.register(DataCentre {
            id: id.clone(),
            rated_kw: 1_000.0,
            racks: 50,
            commissioned_ms: 0,
            cooling: crate::meter::Cooling::Air,
            edge: false,
            meters: crate::defaults::default_meters(),
        })
        .unwrap();
        (book, id)
    }

    fn kwh(meter: &str, ts_ms: UnixMs, v: f64) -> Reading {
        Reading { meter: MeterId::parse(meter).unwrap(), ts_ms, value: ReadingValue::CumulativeKwh(v) }
    }

    #[test]
    fn judge_lists_what_to_store_in_batch_order() {
        let (mut book, id) = book();
        let batch = [kwh("facility", T0 + BUCKET_MS, 10.0), kwh("facility", T0, 5.0), kwh("nope", T0, 1.0), kwh("it", T0, -1.0)];
        let j = judge(&mut book, &id, T0 + HOUR, &batch).unwrap();
        assert_eq!((j.report.accepted, j.report.duplicates, j.report.rejected.len()), (2, 0, 2), "{:?}", j.report);
        assert_eq!(j.accepted, batch[..2].to_vec());
        // Sent again: duplicates, still handed on for storage (not refused; the store's reads
        // and the replay drop repeats), as the batch path always did.
        let j = judge(&mut book, &id, T0 + HOUR, &batch[..2]).unwrap();
        assert_eq!((j.report.accepted, j.report.duplicates, j.accepted.len()), (0, 2, 2));
        assert!(judge(&mut book, &CentreId::generate(1, 2), T0, &batch).is_err(), "an unknown data centre fails the batch");
    }

    #[test]
    fn judge_applies_a_batch_naming_one_reading_twice_one_at_a_time() {
        let (mut book, id) = book();
        let batch = [kwh("facility", T0, 5.0), kwh("facility", T0, 5.0), kwh("facility", T0, 6.0)];
        let j = judge(&mut book, &id, T0 + HOUR, &batch).unwrap();
        assert_eq!((j.report.accepted, j.report.duplicates, j.report.rejected.len()), (1, 1, 1), "{:?}", j.report);
        assert_eq!(j.accepted, vec![batch[0].clone()]);
        assert_eq!(j.report.rejected[0].error.code(), "reading_conflict");
    }

    #[test]
    fn behind_spans_the_readings_near_or_past_the_window_edge() {
        let (mut book, id) = book();
        assert_eq!(book.standing(&id, &[kwh("facility", T0, 1.0)]).flatten(), None, "an empty meter has nothing behind");
        judge(&mut book, &id, T0 + 10 * HOUR, &[kwh("facility", T0 + 8 * HOUR, 100.0)]).unwrap();
        // The window starts at T0 + 2 h; an hour's margin makes the edge T0 + 3 h.
        let batch = [
            kwh("facility", T0 + 9 * HOUR, 110.0),
            kwh("facility", T0, 1.0),
            kwh("facility", T0 + 2 * HOUR + BUCKET_MS, 2.0),
            kwh("facility", T0 + 3 * HOUR, 3.0),
            kwh("facility", T0 + 7 * HOUR, 90.0),
            kwh("it", T0, 1.0),
        ];
        assert_eq!(book.standing(&id, &batch).flatten(), Some((T0, T0 + 2 * HOUR + BUCKET_MS)));
        assert_eq!(book.standing(&id, &batch[3..]).flatten(), None, "late readings inside the window read nothing");
        assert_eq!(book.standing(&id, &batch[..1]).flatten(), None, "a stream in order reads nothing");
        assert_eq!(book.standing(&CentreId::generate(1, 2), &batch).flatten(), None);
    }

    #[test]
    fn a_resent_reading_older_than_the_window_is_a_duplicate_only_when_it_equals_the_stored_one() {
        let (mut book, id) = book();
        judge(&mut book, &id, T0 + 20 * HOUR, &[kwh("facility", T0 + 19 * HOUR, 500.0)]).unwrap();
        // Seven hours and more behind: outside the 6-hour reorder window.
        let batch = [kwh("facility", T0, 10.0), kwh("facility", T0 + BUCKET_MS, 11.0), kwh("facility", T0 + 2 * BUCKET_MS, 12.0)];
        let mut j = judge(&mut book, &id, T0 + 20 * HOUR, &batch).unwrap();
        assert_eq!(j.report.rejected.len(), 3);
        assert!(j.report.rejected.iter().all(too_old));
        let stored = vec![("facility".to_string(), T0, 10.0), ("facility".to_string(), T0 + BUCKET_MS, 99.0)];
        assert_eq!(count_resent(&mut j.report, &batch, &stored), 1, "the same value is a duplicate; another value, or none stored, is not");
        assert_eq!((j.report.duplicates, j.report.rejected.len()), (1, 2));
        assert_eq!(j.report.rejected.iter().map(|r| r.ts_ms).collect::<Vec<_>>(), [T0 + BUCKET_MS, T0 + 2 * BUCKET_MS]);
        // Other refusals are left alone.
        let mut other = judge(&mut book, &id, T0 + 20 * HOUR, &[kwh("it", T0 + 19 * HOUR, -1.0)]).unwrap();
        assert_eq!(count_resent(&mut other.report, &[kwh("it", T0 + 19 * HOUR, -1.0)], &[("it".into(), T0 + 19 * HOUR, -1.0)]), 0);
        assert_eq!(other.report.rejected.len(), 1);
    }
}
