//! The energy configuration: every threshold and default of ingest, KPIs, grading, coverage, lifecycle and alerts, serde-friendly.

use crate::alert::AlertConfig;
use crate::coverage::CoverageConfig;
use crate::error::EnergyError;
use crate::grade::{GradeThresholds, PolicyConfig};
use crate::lifecycle::LifecycleConfig;
use crate::series::BUCKET_MS;
use serde::{Deserialize, Serialize};
use suanli_core::time::MS_PER_DAY;

/// All settings, each with a documented default; a partial TOML or JSON document fills the
/// rest from [`EnergyConfig::default`]. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnergyConfig {
    /// An interval between readings longer than this is a gap (default 1 hour).
    pub max_gap_ms: i64,
    /// Late readings up to this long before a meter's latest one are inserted (default 6 hours).
    pub reorder_window_ms: i64,
    /// Readings may be stamped up to this far after `now_ms` (meter clock skew; default 5 minutes).
    pub clock_tolerance_ms: i64,
    /// Power above rated capacity × this is implausible (default 1.10: transients and meter tolerance).
    pub capacity_margin: f64,
    /// A counter drop of at most this fraction of its value is jitter (default 0.001 = 0.1%).
    pub counter_jitter_fraction: f64,
    /// Window of the IT-above-facility check, a multiple of 15 minutes (default 1 hour).
    pub balance_window_ms: i64,
    /// Offset of local time from UTC for days and months, a multiple of 15 (default 480: UTC+8, China).
    pub utc_offset_minutes: i32,
    /// A PUE needs at least this completeness (default 0.90).
    pub min_completeness: f64,
    /// Grid emission factor for CUE, kgCO2/kWh (default 0.5366, China's 2022 national average).
    pub grid_emission_kg_per_kwh: f64,
    /// Subtract metered on-site renewable generation from E_DC in CUE (default true).
    pub cue_subtracts_onsite_renewable: bool,
    pub grades: GradeThresholds,
    pub policy: PolicyConfig,
    pub coverage: CoverageConfig,
    pub lifecycle: LifecycleConfig,
    pub alerts: AlertConfig,
}

impl Default for EnergyConfig {
    fn default() -> EnergyConfig {
        EnergyConfig {
            max_gap_ms: 3_600_000,
            reorder_window_ms: 6 * 3_600_000,
            clock_tolerance_ms: 300_000,
            capacity_margin: 1.10,
            counter_jitter_fraction: 0.001,
            balance_window_ms: 3_600_000,
            utc_offset_minutes: 480,
            min_completeness: 0.90,
            grid_emission_kg_per_kwh: 0.5366,
            cue_subtracts_onsite_renewable: true,
            grades: GradeThresholds::default(),
            policy: PolicyConfig::default(),
            coverage: CoverageConfig::default(),
            lifecycle: LifecycleConfig::default(),
            alerts: AlertConfig::default(),
        }
    }
}

impl EnergyConfig {
    /// The UTC offset in milliseconds.
    pub fn utc_offset_ms(&self) -> i64 {
        self.utc_offset_minutes as i64 * 60_000
    }

    pub fn validate(&self) -> Result<(), EnergyError> {
        let check = |ok: bool, what: &str| if ok { Ok(()) } else { Err(EnergyError::config(what)) };
        check(self.max_gap_ms > 0 && self.max_gap_ms <= 30 * MS_PER_DAY, "max_gap_ms must be positive and at most 30 days")?;
        check(self.reorder_window_ms >= 0 && self.reorder_window_ms <= 7 * MS_PER_DAY, "reorder_window_ms must be within 0..=7 days")?;
        check(self.clock_tolerance_ms >= 0 && self.clock_tolerance_ms <= MS_PER_DAY, "clock_tolerance_ms must be within 0..=1 day")?;
        check(
            self.capacity_margin.is_finite() && self.capacity_margin >= 1.0 && self.capacity_margin <= 10.0,
            "capacity_margin must be within 1..=10",
        )?;
        check((0.0..0.1).contains(&self.counter_jitter_fraction), "counter_jitter_fraction must be within 0..0.1")?;
        check(
            self.balance_window_ms > 0 && self.balance_window_ms % BUCKET_MS == 0 && self.balance_window_ms <= 31 * MS_PER_DAY,
            "balance_window_ms must be a positive multiple of 15 minutes, at most 31 days",
        )?;
        check(
            self.utc_offset_minutes % 15 == 0 && self.utc_offset_minutes.abs() <= 14 * 60,
            "utc_offset_minutes must be a multiple of 15 within ±14 hours",
        )?;
        check(self.min_completeness > 0.0 && self.min_completeness <= 1.0, "min_completeness must be within (0, 1]")?;
        check(
            self.grid_emission_kg_per_kwh.is_finite() && (0.0..=2.0).contains(&self.grid_emission_kg_per_kwh),
            "grid_emission_kg_per_kwh must be within 0..=2",
        )?;
        self.grades.validate()?;
        self.policy.validate()?;
        self.coverage.validate()?;
        self.lifecycle.validate()?;
        self.alerts.validate()
    }
}
