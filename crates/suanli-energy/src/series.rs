//! Per-meter ingest: readings become energy per 15-minute bucket under the rules below.
//!
//! # Ingest rules
//!
//! Time is cut into 15-minute buckets: bucket = `ts_ms / 900_000` (UTC, so buckets also align
//! with local hours in every whole-quarter-hour time zone). Energy is kept per bucket in
//! millionths of the meter's unit (µkWh = mWh, or µm³ = mL) as integers, so adding and
//! withdrawing an interval's share is exact.
//!
//! 1. **Checks on every reading**, in this order; a reading that fails one is rejected with its
//!    code and changes nothing: the meter is registered (`meter_not_found`); the value's unit
//!    is the meter's (`reading_unit_mismatch`); the value is finite and within ±1e12
//!    (`reading_not_finite`); it is not negative (`reading_negative`); the timestamp is not
//!    before 2000-01-01 nor later than `now_ms` plus the clock tolerance (default 5 minutes)
//!    (`reading_time_implausible`); an instantaneous kW reading is at most the data centre's
//!    rated capacity times the capacity margin (default 1.10) (`power_over_capacity`).
//! 2. **Duplicates and conflicts.** A reading with the timestamp and value of an accepted one is
//!    a duplicate: ignored, counted apart, not a data-quality issue. The same timestamp with a
//!    different value is rejected (`reading_conflict`); the first accepted value stands.
//! 3. **Order.** A batch is sorted by timestamp per meter before it is applied, so one batch may
//!    arrive in any order. Across batches, a reading older than the meter's latest accepted
//!    reading is accepted if it is within the reorder window (default 6 hours) of that latest
//!    reading: it is inserted in place, and the intervals and buckets it changes are withdrawn
//!    and recomputed. Older readings are rejected (`reading_too_old`).
//! 4. **Cumulative counters** (kWh or m³). The first reading of a meter sets its baseline and
//!    carries no energy. Between consecutive readings the energy is the increase, spread over
//!    the buckets the interval covers in proportion to time. A decrease is:
//!    - *jitter* when the drop is at most 0.1% (configurable) of the previous value: the reading
//!      is accepted with zero energy and the counter's baseline stays at the previous value, so
//!      the rebound is not counted twice;
//!    - otherwise a *reset* (meter replaced, register rolled over): the counter restarted from
//!      zero and the energy of the interval is the new value, provided that is plausible (see
//!      rule 6; water counters have no bound);
//!    - otherwise rejected (`counter_decrease`).
//! 5. **Instantaneous kW.** Energy between consecutive readings is the trapezoid (power varies
//!    linearly between the two samples), spread over buckets by integrating that line.
//! 6. **Capacity.** The energy of a counter interval may not exceed the rated capacity times the
//!    margin over the interval, with intervals shorter than 15 minutes judged as 15 minutes
//!    (short intervals are dominated by the register's resolution) (`power_over_capacity`).
//!    When a late reading is inserted, the readings after it are judged again; if it would make
//!    a later interval implausible, or turn a later reading into a reset, the late reading is
//!    rejected instead (`power_over_capacity`, `counter_decrease`).
//! 7. **Gaps.** An interval longer than the maximum gap (default 1 hour) is a gap. Its energy is
//!    kept and spread as above (a counter's total across a gap is exact, only its timing is
//!    estimated; the kW trapezoid across a gap is an estimate), but the gap's time counts as
//!    unmeasured: windows that overlap gaps have lower completeness, and a PUE needs 90% (see
//!    `pue`). Time before a meter's first and after its latest reading is unmeasured too.
//!    Keeping gap energy rather than dropping it matters for PUE: dropping a facility gap would
//!    flatter the PUE.
//! 8. **Data quality.** Every rejection is a data-quality issue of its data centre. After a batch,
//!    each balance window (default one local hour) whose facility or IT energy changed and whose
//!    facility and IT meters are all fully measured is checked: IT energy above facility energy
//!    is reported as `it_exceeds_facility` with the window (once per window).

use crate::error::EnergyError;
use crate::meter::{Channel, MeterId, MeterUnit, ReadingValue};
use crate::rollup::Rollup;
use smallvec::SmallVec;
use suanli_core::time::UnixMs;

/// Length of a bucket: 15 minutes.
pub const BUCKET_MS: i64 = 900_000;
/// Buckets are kept in millionths of the meter's unit.
pub const MICRO_PER_UNIT: f64 = 1e6;
/// 2000-01-01T00:00:00Z: readings before it come from meters whose clock was never set.
pub const EARLIEST_TS_MS: UnixMs = 946_684_800_000;
/// Readings beyond this magnitude are rejected as corrupt.
pub const MAX_READING: f64 = 1e12;

const MS_PER_HOUR: f64 = 3_600_000.0;
/// A meter drops its samples older than the reorder window once this many (or half of them) are.
const PRUNE_PROBE: usize = 64;

/// The bucket holding instant `ts_ms`.
pub fn bucket_of(ts_ms: UnixMs) -> i64 {
    ts_ms.div_euclid(BUCKET_MS)
}

/// The limits a meter's readings are judged against: from the data centre and the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Rated capacity times margin, kW.
    pub limit_kw: f64,
    pub jitter_fraction: f64,
    pub max_gap_ms: i64,
    pub reorder_window_ms: i64,
    pub clock_tolerance_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    ts: UnixMs,
    raw: f64,
    /// The counter value energy is measured from: `raw`, except after jitter, where the previous
    /// value is held. For kW meters always `raw`.
    eff: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// Energy evenly spread in time (counters).
    Linear,
    /// Power moving linearly from `p0` to `p1` kW (instantaneous meters).
    Trapezoid { p0: f64, p1: f64 },
}

/// What a reading changes in its meter's series, worked out before any of it is made.
struct Change {
    /// The reading's own sample.
    inserted: Sample,
    /// Intervals that no longer hold.
    removed: SmallVec<[Interval; 2]>,
    /// Intervals that hold now.
    added: SmallVec<[Interval; 2]>,
    /// The new effective values of the samples after it, in order.
    new_effs: SmallVec<[f64; 2]>,
}

/// An interval between two consecutive accepted readings and the energy it carries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Interval {
    pub from: UnixMs,
    pub to: UnixMs,
    /// Energy in millionths of the unit.
    pub micro: i64,
    shape: Shape,
    pub gap: bool,
}

impl Interval {
    /// Calls `f(bucket, micro)` for each bucket the interval covers, with shares that sum to
    /// exactly `micro` and depend only on the interval (so withdrawing repeats adding).
    fn spread(&self, mut f: impl FnMut(i64, i64)) {
        if self.micro == 0 {
            return;
        }
        let len = (self.to - self.from) as f64;
        let fraction = |x: UnixMs| -> f64 {
            let tau = (x - self.from) as f64;
            match self.shape {
                Shape::Trapezoid { p0, p1 } if p0 + p1 > 0.0 => (p0 * tau + (p1 - p0) * tau * tau / (2.0 * len)) / ((p0 + p1) * len / 2.0),
                _ => tau / len,
            }
        };
        let mut before = 0i64;
        for b in bucket_of(self.from)..=bucket_of(self.to - 1) {
            let end = ((b + 1) * BUCKET_MS).min(self.to);
            let cumulative = if end == self.to { self.micro } else { (self.micro as f64 * fraction(end)).round() as i64 };
            f(b, cumulative - before);
            before = cumulative;
        }
    }
}

/// What became of one reading that passed the value checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// Accepted; energy changed within `[from, to)` (empty for a meter's first reading).
    Accepted {
        from: UnixMs,
        to: UnixMs,
    },
    Duplicate,
}

/// One meter's accepted readings within the reorder window, its gaps, and its counts.
#[derive(Debug, Clone)]
pub(crate) struct MeterSeries {
    unit: MeterUnit,
    channel: Channel,
    /// Sorted by time: every accepted reading within the reorder window of the latest one, and
    /// the one before those (the anchor later readings are measured from).
    samples: Vec<Sample>,
    /// Gap intervals `[from, to)`, sorted, over the meter's whole history.
    gaps: Vec<(UnixMs, UnixMs)>,
    first_ts: Option<UnixMs>,
    /// The time of the sample [`MeterSeries::prune`] looks at first (see [`MeterSeries::set_probe`]),
    /// kept here so that the usual reading does not read a sample far back in memory.
    probe_ts: UnixMs,
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

impl MeterSeries {
    pub fn new(unit: MeterUnit, channel: Channel) -> MeterSeries {
        MeterSeries {
            unit,
            channel,
            samples: Vec::new(),
            gaps: Vec::new(),
            first_ts: None,
            probe_ts: UnixMs::MAX,
            accepted: 0,
            duplicates: 0,
            rejected: 0,
        }
    }

    pub fn unit(&self) -> MeterUnit {
        self.unit
    }

    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// Timestamp of the latest accepted reading.
    pub fn last_ts(&self) -> Option<UnixMs> {
        self.samples.last().map(|s| s.ts)
    }

    pub fn first_ts(&self) -> Option<UnixMs> {
        self.first_ts
    }

    /// Milliseconds of `[from, to)` this meter measured: between its first and latest readings,
    /// outside gaps.
    pub fn measured_ms(&self, from: UnixMs, to: UnixMs) -> i64 {
        let (Some(first), Some(last)) = (self.first_ts, self.last_ts()) else { return 0 };
        let span = overlap(first, last, from, to);
        if span == 0 {
            return 0;
        }
        let start = self.gaps.partition_point(|g| g.1 <= from);
        let unmeasured: i64 = self.gaps[start..].iter().take_while(|g| g.0 < to).map(|g| overlap(g.0, g.1, from, to)).sum();
        span - unmeasured
    }

    /// Checks a reading's value and time (rule 1 but the meter lookup) and returns its value.
    pub fn check(&self, meter: &MeterId, ts_ms: UnixMs, value: ReadingValue, now_ms: UnixMs, limits: &Limits) -> Result<f64, EnergyError> {
        if value.unit() != self.unit {
            return Err(EnergyError::ReadingUnitMismatch { meter: meter.clone(), ts_ms, expected: self.unit, got: value.unit() });
        }
        let v = value.value();
        if !(v.is_finite() && v.abs() <= MAX_READING) {
            return Err(EnergyError::ReadingNotFinite { meter: meter.clone(), ts_ms });
        }
        if v < 0.0 {
            return Err(EnergyError::ReadingNegative { meter: meter.clone(), ts_ms, value: v });
        }
        let latest_ms = now_ms.saturating_add(limits.clock_tolerance_ms);
        if ts_ms < EARLIEST_TS_MS || ts_ms > latest_ms {
            return Err(EnergyError::ReadingTimeImplausible { meter: meter.clone(), ts_ms, latest_ms });
        }
        if self.unit == MeterUnit::InstantKw && v > limits.limit_kw {
            return Err(EnergyError::PowerOverCapacity { meter: meter.clone(), ts_ms, kw: v, limit_kw: limits.limit_kw });
        }
        Ok(v)
    }

    /// Applies a checked reading (rules 2 to 7), updating `rollup` and the gap list. On error
    /// nothing changed.
    pub fn apply(&mut self, meter: &MeterId, ts: UnixMs, raw: f64, limits: &Limits, rollup: &mut Rollup) -> Result<Applied, EnergyError> {
        // Readings mostly arrive in order: then the new one goes at the end.
        let pos = match self.samples.last() {
            Some(last) if last.ts < ts => self.samples.len(),
            _ => self.samples.partition_point(|s| s.ts < ts),
        };
        if let Some(existing) = self.samples.get(pos).filter(|s| s.ts == ts) {
            if existing.raw == raw {
                self.duplicates += 1;
                return Ok(Applied::Duplicate);
            }
            return Err(EnergyError::ReadingConflict { meter: meter.clone(), ts_ms: ts, accepted: existing.raw, got: raw });
        }
        if let Some(last) = self.last_ts() {
            let window_start = last - limits.reorder_window_ms;
            if ts < window_start {
                return Err(EnergyError::ReadingTooOld { meter: meter.clone(), ts_ms: ts, window_start_ms: window_start });
            }
        }

        // The usual reading comes after the meter's latest: one interval added, nothing after it
        // to judge again. It is applied here without the general case's lists of changes.
        if pos == self.samples.len()
            && let Some(prev) = self.samples.last().copied()
        {
            let sample = self.step(meter, ts, &prev, ts, raw, limits)?;
            let iv = self.interval(&prev, &sample, limits);
            self.account(&iv, 1, rollup);
            self.samples.push(sample);
            return Ok(self.accepted_at(pos, ts, iv.from.min(ts), iv.to.max(ts), limits));
        }
        // Work out every change before making any, so a refusal leaves the meter untouched.
        let Change { inserted, removed, added, new_effs } = self.change(meter, ts, raw, pos, limits)?;
        let (mut from, mut to) = (ts, ts);
        for iv in &removed {
            self.account(iv, -1, rollup);
            (from, to) = (from.min(iv.from), to.max(iv.to));
        }
        for iv in &added {
            self.account(iv, 1, rollup);
            (from, to) = (from.min(iv.from), to.max(iv.to));
        }
        for (j, eff) in new_effs.into_iter().enumerate() {
            self.samples[pos + j].eff = eff;
        }
        self.samples.insert(pos, inserted);
        Ok(self.accepted_at(pos, ts, from, to, limits))
    }

    /// Counts a reading just inserted at `pos` as accepted, with the energy it changed within
    /// `[from, to)`, and moves the probe, the first time and the pruning on.
    fn accepted_at(&mut self, pos: usize, ts: UnixMs, from: UnixMs, to: UnixMs, limits: &Limits) -> Applied {
        // The probe's index and sample stay put once there are enough samples, unless the
        // reading went in before it.
        if pos <= PRUNE_PROBE || self.samples.len() <= 2 * PRUNE_PROBE + 2 {
            self.set_probe();
        }
        if pos == 0 {
            self.first_ts = Some(ts);
        }
        self.accepted += 1;
        self.prune(limits.reorder_window_ms);
        Applied::Accepted { from, to }
    }

    /// What inserting a reading of `raw` at `ts` at `pos` changes: the sample it becomes, the
    /// intervals it replaces and adds, and the later samples' new effective values (as far as
    /// they change); refused, changing nothing, when a later reading would become a decrease.
    fn change(&self, meter: &MeterId, ts: UnixMs, raw: f64, pos: usize, limits: &Limits) -> Result<Change, EnergyError> {
        // Most readings come after the meter's latest: one interval added, none removed, and
        // none of these allocates.
        let mut removed = SmallVec::new();
        let mut added = SmallVec::new();
        let prev = pos.checked_sub(1).map(|i| self.samples[i]);
        let mut current = match prev {
            Some(p) => {
                let s = self.step(meter, ts, &p, ts, raw, limits)?;
                added.push(self.interval(&p, &s, limits));
                s
            }
            None => Sample { ts, raw, eff: raw },
        };
        let inserted = current;
        let mut new_effs = SmallVec::new();
        for (j, old) in self.samples[pos..].iter().enumerate() {
            let old_prev = if j == 0 { prev } else { Some(self.samples[pos + j - 1]) };
            if let Some(p) = old_prev {
                removed.push(self.interval(&p, old, limits));
            }
            let next = self.step(meter, ts, &current, old.ts, old.raw, limits)?;
            // A late reading may not turn a later one into a reset: it would invent energy.
            let was_reset = old_prev.is_some_and(|p| old.eff < p.eff);
            if self.unit.is_cumulative() && next.eff < current.eff && !was_reset {
                return Err(EnergyError::CounterDecrease {
                    meter: meter.clone(),
                    ts_ms: ts,
                    before_ms: current.ts,
                    before: current.raw,
                    after_ms: old.ts,
                    after: old.raw,
                });
            }
            added.push(self.interval(&current, &next, limits));
            new_effs.push(next.eff);
            current = next;
            if next.eff == old.eff {
                break;
            }
        }
        Ok(Change { inserted, removed, added, new_effs })
    }

    /// The sample a reading of `raw` at `ts` becomes after `prev`, checked against rules 4 and 6.
    /// `reading_ts` is the reading being ingested, which errors name.
    fn step(
        &self,
        meter: &MeterId,
        reading_ts: UnixMs,
        prev: &Sample,
        ts: UnixMs,
        raw: f64,
        limits: &Limits,
    ) -> Result<Sample, EnergyError> {
        if self.unit == MeterUnit::InstantKw {
            return Ok(Sample { ts, raw, eff: raw });
        }
        let energy_meter = self.unit == MeterUnit::CumulativeKwh;
        let allowed = limits.limit_kw * ((ts - prev.ts).max(BUCKET_MS) as f64 / MS_PER_HOUR);
        let decrease = || EnergyError::CounterDecrease {
            meter: meter.clone(),
            ts_ms: reading_ts,
            before_ms: prev.ts,
            before: prev.raw,
            after_ms: ts,
            after: raw,
        };
        let (eff, energy) = if raw >= prev.eff {
            (raw, raw - prev.eff)
        } else if prev.eff - raw <= limits.jitter_fraction * prev.eff {
            (prev.eff, 0.0)
        } else if energy_meter && raw > allowed {
            return Err(decrease());
        } else {
            (raw, raw)
        };
        if energy_meter && energy > allowed {
            let hours = (ts - prev.ts).max(BUCKET_MS) as f64 / MS_PER_HOUR;
            return Err(EnergyError::PowerOverCapacity {
                meter: meter.clone(),
                ts_ms: reading_ts,
                kw: energy / hours,
                limit_kw: limits.limit_kw,
            });
        }
        Ok(Sample { ts, raw, eff })
    }

    /// The interval between two consecutive samples, from their stored values alone (no checks),
    /// so an interval withdrawn later is exactly the one added earlier. Counter values are
    /// rounded to millionths before subtracting, so a run of intervals adds up to exactly the
    /// counter's rise.
    fn interval(&self, a: &Sample, b: &Sample, limits: &Limits) -> Interval {
        let micro = |v: f64| (v * MICRO_PER_UNIT).round() as i64;
        let (micro, shape) = match self.unit {
            MeterUnit::InstantKw => {
                (micro((a.raw + b.raw) / 2.0 * ((b.ts - a.ts) as f64 / MS_PER_HOUR)), Shape::Trapezoid { p0: a.raw, p1: b.raw })
            }
            // After a reset the stored value is below the previous one and counts from zero.
            _ if b.eff < a.eff => (micro(b.eff), Shape::Linear),
            _ => (micro(b.eff) - micro(a.eff), Shape::Linear),
        };
        Interval { from: a.ts, to: b.ts, micro, shape, gap: b.ts - a.ts > limits.max_gap_ms }
    }

    fn account(&mut self, iv: &Interval, sign: i64, rollup: &mut Rollup) {
        let channel = self.channel;
        iv.spread(|bucket, micro| rollup.add(channel, bucket, sign * micro));
        if iv.gap {
            let key = (iv.from, iv.to);
            let at = self.gaps.partition_point(|g| *g < key);
            if sign > 0 {
                self.gaps.insert(at, key);
            } else if self.gaps.get(at) == Some(&key) {
                self.gaps.remove(at);
            }
        }
    }

    /// Drops readings older than the reorder window but keeps the latest of those as the anchor.
    /// Amortised: drains only when [`PRUNE_PROBE`] samples or half of them are older.
    fn prune(&mut self, reorder_window_ms: i64) {
        let Some(last) = self.last_ts() else { return };
        let cutoff = last - reorder_window_ms;
        // Samples are in time order: the probe is older than the cutoff exactly when the sample
        // at PRUNE_PROBE or the one halfway is.
        if self.probe_ts >= cutoff {
            return;
        }
        let old = self.samples.partition_point(|s| s.ts < cutoff);
        let drop = old.saturating_sub(1);
        if drop >= PRUNE_PROBE || drop * 2 > self.samples.len() {
            self.samples.drain(..drop);
            self.set_probe();
        }
    }

    /// Sets the probe: the time of the sample at [`PRUNE_PROBE`] or halfway, whichever is first.
    fn set_probe(&mut self) {
        self.probe_ts = self.samples.get(PRUNE_PROBE.min(self.samples.len() / 2)).map_or(UnixMs::MAX, |s| s.ts);
    }

    #[cfg(test)]
    pub fn gaps(&self) -> &[(UnixMs, UnixMs)] {
        &self.gaps
    }

    #[cfg(test)]
    pub fn kept(&self) -> usize {
        self.samples.len()
    }
}

/// Length of the overlap of `[a0, a1)` and `[b0, b1)`.
pub(crate) fn overlap(a0: i64, a1: i64, b0: i64, b1: i64) -> i64 {
    (a1.min(b1) - a0.max(b0)).max(0)
}
