//! The energy book: every registered data centre with its meters, rollup and data-quality log; registration and ingest.

use crate::config::EnergyConfig;
use crate::error::EnergyError;
use crate::meter::{Channel, DataCentre, MeterId, MeterUnit, Reading};
use crate::rollup::Rollup;
use crate::series::{Applied, BUCKET_MS, Limits, MICRO_PER_UNIT, MeterSeries, bucket_of};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use suanli_core::id::CentreId;
use suanli_core::time::{MS_PER_DAY, MS_PER_HOUR, UnixMs};

/// Data-quality events and flagged balance windows are kept this long.
const QUALITY_RETENTION_MS: i64 = 400 * MS_PER_DAY;

/// All data centres under energy monitoring. Pure state: the caller persists readings and
/// replays them (or restores rollups) on start, and passes the time into every call.
#[derive(Debug, Clone)]
pub struct EnergyBook {
    pub(crate) config: EnergyConfig,
    pub(crate) policy_since_ms: UnixMs,
    /// By id, hashed with a fixed seed (the book draws no random numbers): ingest looks a
    /// centre up several times a batch, and ids share long prefixes that ordered lookups would
    /// compare again and again. Iterated in id order through [`EnergyBook::in_order`].
    pub(crate) centres: HashMap<CentreId, CentreState, foldhash::fast::FixedState>,
    /// Moved by every change of the book (a registration, an ingest): what a caller that keeps
    /// something worked out from the book checks it by.
    revision: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct CentreState {
    pub dc: DataCentre,
    pub meters: BTreeMap<MeterId, MeterSeries>,
    pub rollup: Rollup,
    /// Data-quality issues (rejections and balance violations) per hour of receipt and code.
    pub quality: BTreeMap<(i64, &'static str), u32>,
    /// Start of each balance window already reported as IT above facility.
    pub flagged: BTreeSet<UnixMs>,
}

/// A reading that was refused, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub meter: MeterId,
    pub ts_ms: UnixMs,
    pub error: EnergyError,
}

impl Serialize for Rejection {
    /// `{meter, ts_ms, code, message}`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Rejection", 4)?;
        st.serialize_field("meter", &self.meter)?;
        st.serialize_field("ts_ms", &self.ts_ms)?;
        st.serialize_field("code", self.error.code())?;
        st.serialize_field("message", &self.error.to_string())?;
        st.end()
    }
}

/// A data-quality finding beyond single readings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum QualityIssue {
    /// Over a fully measured balance window, the IT meters recorded more energy than the
    /// facility meters.
    ItExceedsFacility { from_ms: UnixMs, to_ms: UnixMs, facility_kwh: f64, it_kwh: f64 },
}

impl QualityIssue {
    pub fn code(&self) -> &'static str {
        match self {
            QualityIssue::ItExceedsFacility { .. } => "it_exceeds_facility",
        }
    }
}

/// What one call to [`EnergyBook::ingest`] did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IngestReport {
    pub accepted: u32,
    pub duplicates: u32,
    pub rejected: Vec<Rejection>,
    pub issues: Vec<QualityIssue>,
}

/// Data-quality issues of one data centre over a window, by code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QualityTally {
    pub from_ms: UnixMs,
    pub to_ms: UnixMs,
    pub total: u64,
    pub by_code: BTreeMap<String, u64>,
}

/// A meter's state for dashboards and the alert rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeterStatus {
    pub meter: MeterId,
    pub channel: Channel,
    pub unit: MeterUnit,
    pub first_ms: Option<UnixMs>,
    pub last_ms: Option<UnixMs>,
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

impl EnergyBook {
    /// An empty book; the configuration is checked first.
    pub fn new(config: EnergyConfig) -> Result<EnergyBook, EnergyError> {
        config.validate()?;
        let policy_since_ms = config.policy.new_since_ms()?;
        Ok(EnergyBook { config, policy_since_ms, centres: HashMap::default(), revision: 0 })
    }

    /// How many times the book has changed (registrations and ingests, refused ones included):
    /// equal revisions of one book mean the same contents.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn config(&self) -> &EnergyConfig {
        &self.config
    }

    /// Registers a data centre, or updates a registered one's facts and meters. A registered
    /// meter keeps its kind and unit (`meter_exists`); a meter that has readings cannot be
    /// dropped (`invalid_data_centre`): its history is part of the rollup. A meter that never
    /// had a reading may be dropped (a site replacing the default meters with its own).
    pub fn register(&mut self, dc: DataCentre) -> Result<(), EnergyError> {
        dc.validate()?;
        self.revision += 1;
        if let Some(state) = self.centres.get_mut(&dc.id) {
            for old in &state.dc.meters {
                let unused = state.meters.get(&old.id).is_none_or(|s| s.accepted == 0 && s.rejected == 0 && s.duplicates == 0);
                match dc.meter(&old.id) {
                    None if unused => {}
                    None => {
                        return Err(EnergyError::InvalidDataCentre {
                            dc: dc.id.clone(),
                            reason: format!("meter '{}' has history and cannot be unregistered", old.id),
                        });
                    }
                    Some(new) if new != old => {
                        return Err(EnergyError::MeterExists {
                            meter: old.id.clone(),
                            existing: format!("{} ({})", old.kind, old.unit),
                            requested: format!("{} ({})", new.kind, new.unit),
                        });
                    }
                    Some(_) => {}
                }
            }
            state.meters.retain(|id, _| dc.meter(id).is_some());
            for m in &dc.meters {
                state.meters.entry(m.id.clone()).or_insert_with(|| MeterSeries::new(m.unit, m.kind.channel()));
            }
            state.dc = dc;
            return Ok(());
        }
        let meters = dc.meters.iter().map(|m| (m.id.clone(), MeterSeries::new(m.unit, m.kind.channel()))).collect();
        let state = CentreState { dc, meters, rollup: Rollup::new(), quality: BTreeMap::new(), flagged: BTreeSet::new() };
        self.centres.insert(state.dc.id.clone(), state);
        Ok(())
    }

    pub fn data_centre(&self, dc: &CentreId) -> Option<&DataCentre> {
        self.centres.get(dc).map(|s| &s.dc)
    }

    /// Every data centre, in id order.
    pub fn data_centres(&self) -> impl Iterator<Item = &DataCentre> {
        self.in_order().into_iter().map(|(_, s)| &s.dc)
    }

    /// The centres' states in id order.
    pub(crate) fn in_order(&self) -> Vec<(&CentreId, &CentreState)> {
        let mut all: Vec<(&CentreId, &CentreState)> = self.centres.iter().collect();
        all.sort_unstable_by_key(|(id, _)| *id);
        all
    }

    /// The per-bucket totals of a data centre.
    pub fn rollup(&self, dc: &CentreId) -> Result<&Rollup, EnergyError> {
        Ok(&self.centre(dc)?.rollup)
    }

    pub(crate) fn centre(&self, dc: &CentreId) -> Result<&CentreState, EnergyError> {
        self.centres.get(dc).ok_or_else(|| EnergyError::DataCentreNotFound { dc: dc.clone() })
    }

    /// Applies a batch of readings of one data centre under the ingest rules (see
    /// [`crate::series`]). `now_ms` is the time of receipt: it bounds timestamps and dates the
    /// data-quality issues. Only an unknown data centre fails the whole call; each refused
    /// reading is listed in the report, in meter then timestamp order (the order readings are
    /// applied in).
    pub fn ingest(&mut self, dc: &CentreId, now_ms: UnixMs, readings: &[Reading]) -> Result<IngestReport, EnergyError> {
        self.ingest_sorted(dc, now_ms, readings, crate::intake::in_order(readings))
    }

    /// [`EnergyBook::ingest`] for a caller that already knows whether `readings` are in meter and
    /// time order (`sorted`, see [`crate::intake::in_order`]): they are then applied as they come.
    pub(crate) fn ingest_sorted(
        &mut self,
        dc: &CentreId,
        now_ms: UnixMs,
        readings: &[Reading],
        sorted: bool,
    ) -> Result<IngestReport, EnergyError> {
        self.revision += 1;
        let c = &self.config;
        let state = self.centres.get_mut(dc).ok_or_else(|| EnergyError::DataCentreNotFound { dc: dc.clone() })?;
        let limits = Limits {
            limit_kw: state.dc.rated_kw * c.capacity_margin,
            jitter_fraction: c.counter_jitter_fraction,
            max_gap_ms: c.max_gap_ms,
            reorder_window_ms: c.reorder_window_ms,
            clock_tolerance_ms: c.clock_tolerance_ms,
        };
        // Readings in order (the usual stream) are applied as they come, with no index list.
        let order: Option<Vec<usize>> = (!sorted).then(|| {
            let mut order: Vec<usize> = (0..readings.len()).collect();
            order.sort_by(|&a, &b| readings[a].meter.cmp(&readings[b].meter).then(readings[a].ts_ms.cmp(&readings[b].ts_ms)));
            order
        });

        let mut report = IngestReport::default();
        let mut touched: Option<(UnixMs, UnixMs)> = None;
        for k in 0..readings.len() {
            let r = &readings[order.as_ref().map_or(k, |o| o[k])];
            let Some(series) = state.meters.get_mut(&r.meter) else {
                report.rejected.push(Rejection {
                    meter: r.meter.clone(),
                    ts_ms: r.ts_ms,
                    error: EnergyError::MeterNotFound { meter: r.meter.clone(), ts_ms: r.ts_ms },
                });
                continue;
            };
            let outcome = series
                .check(&r.meter, r.ts_ms, r.value, now_ms, &limits)
                .and_then(|v| series.apply(&r.meter, r.ts_ms, v, &limits, &mut state.rollup));
            match outcome {
                Ok(Applied::Accepted { from, to }) => {
                    report.accepted += 1;
                    if matches!(series.channel(), Channel::Facility | Channel::It) && to > from {
                        touched = Some(touched.map_or((from, to), |(f, t)| (f.min(from), t.max(to))));
                    }
                }
                Ok(Applied::Duplicate) => report.duplicates += 1,
                Err(error) => {
                    series.rejected += 1;
                    report.rejected.push(Rejection { meter: r.meter.clone(), ts_ms: r.ts_ms, error });
                }
            }
        }
        if let Some((from, to)) = touched {
            report.issues = state.check_balance(from, to, c.balance_window_ms, c.utc_offset_ms());
        }
        let hour = now_ms.div_euclid(MS_PER_HOUR);
        for code in report.rejected.iter().map(|r| r.error.code()).chain(report.issues.iter().map(QualityIssue::code)) {
            *state.quality.entry((hour, code)).or_default() += 1;
        }
        let horizon = now_ms - QUALITY_RETENTION_MS;
        let cut = (horizon.div_euclid(MS_PER_HOUR), "");
        if state.quality.first_key_value().is_some_and(|(k, _)| *k < cut) {
            state.quality = state.quality.split_off(&cut);
        }
        if state.flagged.first().is_some_and(|f| *f < horizon) {
            state.flagged = state.flagged.split_off(&horizon);
        }
        Ok(report)
    }

    /// The state of each meter of a data centre.
    pub fn meters(&self, dc: &CentreId) -> Result<Vec<MeterStatus>, EnergyError> {
        let state = self.centre(dc)?;
        Ok(state
            .meters
            .iter()
            .map(|(id, s)| MeterStatus {
                meter: id.clone(),
                channel: s.channel(),
                unit: s.unit(),
                first_ms: s.first_ts(),
                last_ms: s.last_ts(),
                accepted: s.accepted,
                duplicates: s.duplicates,
                rejected: s.rejected,
            })
            .collect())
    }

    /// Data-quality issues (rejected readings and balance violations) a data centre produced in
    /// the hours of receipt overlapping `[from_ms, to_ms)`, by code. Kept for 400 days.
    pub fn quality(&self, dc: &CentreId, from_ms: UnixMs, to_ms: UnixMs) -> Result<QualityTally, EnergyError> {
        let state = self.centre(dc)?;
        let mut tally = QualityTally { from_ms, to_ms, total: 0, by_code: BTreeMap::new() };
        let (h0, h1) = (from_ms.div_euclid(MS_PER_HOUR), (to_ms - 1).div_euclid(MS_PER_HOUR));
        if h1 >= h0 {
            for ((_, code), n) in state.quality.range((h0, "")..(h1 + 1, "")) {
                tally.total += *n as u64;
                *tally.by_code.entry((*code).to_owned()).or_default() += *n as u64;
            }
        }
        Ok(tally)
    }
}

impl CentreState {
    /// Rule 8 of the ingest rules: every balance window overlapping `[from, to)` that is fully
    /// measured by the facility and IT meters, has IT energy above facility energy and was not
    /// reported before.
    fn check_balance(&mut self, from: UnixMs, to: UnixMs, window_ms: i64, utc_offset_ms: i64) -> Vec<QualityIssue> {
        let mut issues = Vec::new();
        let mut start = (from + utc_offset_ms).div_euclid(window_ms) * window_ms - utc_offset_ms;
        while start < to {
            let end = start + window_ms;
            let (b0, b1) = (bucket_of(start), bucket_of(end - 1) + 1);
            let facility = self.rollup.sum(Channel::Facility, b0, b1);
            let it = self.rollup.sum(Channel::It, b0, b1);
            if it > facility
                && !self.flagged.contains(&start)
                && self.completeness(Channel::Facility, b0 * BUCKET_MS, b1 * BUCKET_MS) >= 1.0
                && self.completeness(Channel::It, b0 * BUCKET_MS, b1 * BUCKET_MS) >= 1.0
            {
                self.flagged.insert(start);
                issues.push(QualityIssue::ItExceedsFacility {
                    from_ms: start,
                    to_ms: end,
                    facility_kwh: facility as f64 / MICRO_PER_UNIT,
                    it_kwh: it as f64 / MICRO_PER_UNIT,
                });
            }
            start = end;
        }
        issues
    }
}
