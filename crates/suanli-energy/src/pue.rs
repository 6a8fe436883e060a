//! PUE (ISO/IEC 30134-2), CUE, WUE and renewable share over a window, with the completeness rule, and energy series.
//!
//! # Rules
//!
//! - **Windows** are whole 15-minute buckets: `[from_ms, to_ms)` is widened to the buckets it
//!   touches (from rounds down, to rounds up). A window must start before it ends, lie after
//!   2000-01-01 and span at most 20 years.
//! - **PUE** = E_DC / E_IT over the window, the sums of the facility-total meters and of the IT
//!   meters. It has no value (`None`, with the reason in [`NoValue`]) when the data centre has no
//!   facility or no IT meter, when E_IT is zero, when IT energy exceeds facility energy (a PUE
//!   below 1 is a metering fault, not a result), or when the window's **completeness** is below
//!   the minimum (default 90%).
//! - **Completeness** of a channel = the share of meter-time in the window that its meters
//!   measured (between accepted readings, outside gaps; see `series`), counting every registered
//!   meter of the channel for the whole window. A window's completeness is the lower of the
//!   facility and IT completeness.
//! - **Annualised PUE** covers the 365 days (35,040 buckets) that end at the start of `now_ms`'s
//!   bucket. A window of 365 or 366 days is reported as annualised; any other as interim.
//! - **Label**: the category of the IT meters as ISO/IEC 30134-2 writes it: `PUE1`, `PUE2`,
//!   `PUE3` (UPS output, PDU output, IT equipment input), shown as "PUE2 1.30" when annualised
//!   and "interim PUE2 1.30" otherwise.
//! - **CUE** (kgCO2/kWh) = (E_DC − on-site renewable) × grid emission factor / E_IT. E_DC counts
//!   all energy the data centre uses, whatever its source; on-site generation is taken to be
//!   used on site and to emit nothing, so it is subtracted (capped at E_DC; exports are not
//!   modelled). The subtraction can be switched off in the configuration. Default factor
//!   0.5366 kgCO2/kWh, China's national grid average for 2022 as published by the Ministry of
//!   Ecology and Environment (configurable; no hourly or regional series is applied here).
//!   CUE has a value only when PUE has one.
//! - **WUE** (L/kWh) = site water (m³ × 1000) / E_IT, when water is metered with enough
//!   completeness and PUE has a value.
//! - **Renewable share** = on-site renewable / E_DC (at most 1), when renewable generation is
//!   metered and both it and the facility meters meet the completeness minimum.

use crate::book::{CentreState, EnergyBook};
use crate::error::EnergyError;
use crate::meter::{Category, Channel};
use crate::rollup::Step;
use crate::series::{BUCKET_MS, EARLIEST_TS_MS, MICRO_PER_UNIT, bucket_of};
use serde::{Deserialize, Serialize};
use std::fmt;
use suanli_core::id::CentreId;
use suanli_core::time::{MS_PER_DAY, UnixMs};

/// Buckets in 365 days.
pub const YEAR_BUCKETS: i64 = 365 * 96;
/// Longest window a query may ask for.
pub const MAX_WINDOW_MS: i64 = 20 * 366 * MS_PER_DAY;
/// Most points a series may return.
pub const MAX_SERIES_POINTS: usize = 100_000;

/// Annualised (a 12-month window) or interim (any other).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PueKind {
    Annualised,
    Interim,
}

/// Why a PUE has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoValue {
    NoFacilityMeter,
    NoItMeter,
    /// Completeness below the minimum.
    Incomplete,
    NoItEnergy,
    /// IT energy above facility energy: a metering fault.
    ItExceedsFacility,
}

impl NoValue {
    pub fn code(self) -> &'static str {
        match self {
            NoValue::NoFacilityMeter => "no_facility_meter",
            NoValue::NoItMeter => "no_it_meter",
            NoValue::Incomplete => "incomplete",
            NoValue::NoItEnergy => "no_it_energy",
            NoValue::ItExceedsFacility => "it_exceeds_facility",
        }
    }
}

/// A PUE over a window, with the figures it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PueFigure {
    pub from_ms: UnixMs,
    pub to_ms: UnixMs,
    pub kind: PueKind,
    pub category: Option<Category>,
    /// "PUE1", "PUE2" or "PUE3"; "PUE" when no IT meter is registered.
    pub label: String,
    pub value: Option<f64>,
    pub no_value: Option<NoValue>,
    pub facility_kwh: f64,
    pub it_kwh: f64,
    /// Lower of facility and IT completeness, 0 to 1.
    pub completeness: f64,
}

impl fmt::Display for PueFigure {
    /// "PUE2 1.30", "interim PUE2 1.30", or "interim PUE2 unavailable (incomplete, 85% measured)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == PueKind::Interim {
            f.write_str("interim ")?;
        }
        match (self.value, self.no_value) {
            (Some(v), _) => write!(f, "{} {v:.2}", self.label),
            (None, reason) => write!(
                f,
                "{} unavailable ({}, {:.0}% measured)",
                self.label,
                reason.map_or("no data", NoValue::code),
                self.completeness * 100.0
            ),
        }
    }
}

/// PUE and the other efficiency indicators over one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Kpis {
    pub pue: PueFigure,
    /// Carbon usage effectiveness, kgCO2 per IT kWh.
    pub cue: Option<f64>,
    /// Water usage effectiveness, litres per IT kWh.
    pub wue: Option<f64>,
    /// On-site renewable generation over facility energy, 0 to 1.
    pub renewable_share: Option<f64>,
    pub cooling_kwh: Option<f64>,
    pub renewable_kwh: Option<f64>,
    pub water_m3: Option<f64>,
    /// The grid emission factor CUE used, kgCO2/kWh.
    pub grid_emission_kg_per_kwh: f64,
}

/// One point of an energy series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesPoint {
    pub from_ms: UnixMs,
    pub to_ms: UnixMs,
    pub facility_kwh: f64,
    pub it_kwh: f64,
    /// `None` when the channel has no meter.
    pub cooling_kwh: Option<f64>,
    pub renewable_kwh: Option<f64>,
    pub water_m3: Option<f64>,
    /// Lower of facility and IT completeness; points below the minimum are low quality.
    pub completeness: f64,
    /// The period's PUE under the same rules as [`EnergyBook::pue`].
    pub pue: Option<f64>,
}

/// The label ISO/IEC 30134-2 gives a PUE of this category.
pub fn label(category: Option<Category>) -> String {
    match category {
        Some(c) => format!("PUE{}", c.number()),
        None => "PUE".to_owned(),
    }
}

/// Checks a query window and widens it to whole buckets: `(first bucket, end bucket)`.
pub(crate) fn window(from_ms: UnixMs, to_ms: UnixMs) -> Result<(i64, i64), EnergyError> {
    let bad = |reason| Err(EnergyError::InvalidWindow { from_ms, to_ms, reason });
    if from_ms >= to_ms {
        return bad("it must start before it ends");
    }
    if from_ms < EARLIEST_TS_MS {
        return bad("it must start after 2000-01-01");
    }
    if to_ms - from_ms > MAX_WINDOW_MS {
        return bad("it may span at most 20 years");
    }
    Ok((bucket_of(from_ms), bucket_of(to_ms - 1) + 1))
}

impl CentreState {
    /// Share of the channel's meter-time in `[from_ms, to_ms)` that was measured; 0 without meters.
    pub(crate) fn completeness(&self, channel: Channel, from_ms: UnixMs, to_ms: UnixMs) -> f64 {
        let (count, measured) = self
            .meters
            .values()
            .filter(|m| m.channel() == channel)
            .fold((0u32, 0i64), |(n, ms), m| (n + 1, ms + m.measured_ms(from_ms, to_ms)));
        if count == 0 || to_ms <= from_ms {
            return 0.0;
        }
        measured as f64 / (count as f64 * (to_ms - from_ms) as f64)
    }

    fn has_meter(&self, channel: Channel) -> bool {
        self.meters.values().any(|m| m.channel() == channel)
    }

    /// PUE over buckets `[b0, b1)`.
    pub(crate) fn pue_buckets(&self, b0: i64, b1: i64, min_completeness: f64) -> PueFigure {
        let (from_ms, to_ms) = (b0 * BUCKET_MS, b1 * BUCKET_MS);
        let facility = self.rollup.sum(Channel::Facility, b0, b1);
        let it = self.rollup.sum(Channel::It, b0, b1);
        let completeness = self.completeness(Channel::Facility, from_ms, to_ms).min(self.completeness(Channel::It, from_ms, to_ms));
        let category = self.dc.it_category();
        let days = (b1 - b0) / 96;
        let kind = if (b1 - b0) % 96 == 0 && (365..=366).contains(&days) { PueKind::Annualised } else { PueKind::Interim };
        let no_value = if !self.has_meter(Channel::Facility) {
            Some(NoValue::NoFacilityMeter)
        } else if !self.has_meter(Channel::It) {
            Some(NoValue::NoItMeter)
        } else if completeness < min_completeness {
            Some(NoValue::Incomplete)
        } else if it <= 0 {
            Some(NoValue::NoItEnergy)
        } else if it > facility {
            Some(NoValue::ItExceedsFacility)
        } else {
            None
        };
        PueFigure {
            from_ms,
            to_ms,
            kind,
            category,
            label: label(category),
            value: if no_value.is_none() { Some(facility as f64 / it as f64) } else { None },
            no_value,
            facility_kwh: facility as f64 / MICRO_PER_UNIT,
            it_kwh: it as f64 / MICRO_PER_UNIT,
            completeness,
        }
    }

    /// An optional channel's total over buckets `[b0, b1)`: `None` without a meter.
    fn optional_total(&self, channel: Channel, b0: i64, b1: i64) -> Option<f64> {
        self.has_meter(channel).then(|| self.rollup.total(channel, b0, b1))
    }
}

impl EnergyBook {
    /// PUE over `[from_ms, to_ms)` (widened to whole buckets) under the rules in [`crate::pue`].
    pub fn pue(&self, dc: &CentreId, from_ms: UnixMs, to_ms: UnixMs) -> Result<PueFigure, EnergyError> {
        let (b0, b1) = window(from_ms, to_ms)?;
        Ok(self.centre(dc)?.pue_buckets(b0, b1, self.config.min_completeness))
    }

    /// Annualised PUE: the 365 days ending at the start of `now_ms`'s bucket.
    pub fn annualised(&self, dc: &CentreId, now_ms: UnixMs) -> Result<PueFigure, EnergyError> {
        let end = bucket_of(now_ms);
        Ok(self.centre(dc)?.pue_buckets(end - YEAR_BUCKETS, end, self.config.min_completeness))
    }

    /// PUE, CUE, WUE and renewable share over `[from_ms, to_ms)`.
    pub fn kpis(&self, dc: &CentreId, from_ms: UnixMs, to_ms: UnixMs) -> Result<Kpis, EnergyError> {
        let (b0, b1) = window(from_ms, to_ms)?;
        Ok(self.kpis_buckets(self.centre(dc)?, b0, b1))
    }

    pub(crate) fn kpis_buckets(&self, state: &CentreState, b0: i64, b1: i64) -> Kpis {
        let c = &self.config;
        let pue = state.pue_buckets(b0, b1, c.min_completeness);
        let (from_ms, to_ms) = (pue.from_ms, pue.to_ms);
        let enough = |channel| state.completeness(channel, from_ms, to_ms) >= c.min_completeness;
        let renewable_kwh = state.optional_total(Channel::Renewable, b0, b1);
        let water_m3 = state.optional_total(Channel::Water, b0, b1);
        let it_valid = pue.value.is_some();
        let offset = if c.cue_subtracts_onsite_renewable { renewable_kwh.unwrap_or(0.0).min(pue.facility_kwh) } else { 0.0 };
        let cue = it_valid.then(|| (pue.facility_kwh - offset) * c.grid_emission_kg_per_kwh / pue.it_kwh);
        let wue = water_m3.filter(|_| it_valid && enough(Channel::Water)).map(|m3| m3 * 1000.0 / pue.it_kwh);
        let renewable_share = renewable_kwh
            .filter(|_| enough(Channel::Renewable) && enough(Channel::Facility) && pue.facility_kwh > 0.0)
            .map(|r| (r / pue.facility_kwh).min(1.0));
        Kpis {
            cooling_kwh: state.optional_total(Channel::Cooling, b0, b1),
            renewable_kwh,
            water_m3,
            cue,
            wue,
            renewable_share,
            grid_emission_kg_per_kwh: c.grid_emission_kg_per_kwh,
            pue,
        }
    }

    /// Energy per quarter-hour, hour, local day or local month over `[from_ms, to_ms)`: the
    /// first point starts at the period holding `from_ms`, the last ends at or after `to_ms`.
    /// At most [`MAX_SERIES_POINTS`] points.
    pub fn series(&self, dc: &CentreId, from_ms: UnixMs, to_ms: UnixMs, step: Step) -> Result<Vec<SeriesPoint>, EnergyError> {
        window(from_ms, to_ms)?;
        let state = self.centre(dc)?;
        let offset = self.config.utc_offset_ms();
        let mut points = Vec::new();
        let mut start = step.floor(from_ms, offset);
        while start < to_ms {
            if points.len() == MAX_SERIES_POINTS {
                return Err(EnergyError::InvalidWindow { from_ms, to_ms, reason: "the series would have more than 100000 points" });
            }
            let end = step.next(start, offset);
            let (b0, b1) = (bucket_of(start), bucket_of(end));
            let pue = state.pue_buckets(b0, b1, self.config.min_completeness);
            points.push(SeriesPoint {
                from_ms: start,
                to_ms: end,
                facility_kwh: pue.facility_kwh,
                it_kwh: pue.it_kwh,
                cooling_kwh: state.optional_total(Channel::Cooling, b0, b1),
                renewable_kwh: state.optional_total(Channel::Renewable, b0, b1),
                water_m3: state.optional_total(Channel::Water, b0, b1),
                completeness: pue.completeness,
                pue: pue.value,
            });
            start = end;
        }
        Ok(points)
    }
}
