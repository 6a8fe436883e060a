//! Monitoring coverage: the share of registered data centres sending valid facility and IT data, against the city's 75% target.
//!
//! # Rule
//!
//! A data centre is **monitored** at `now_ms` when, within the coverage window before it
//! (default the last 24 hours), each of its facility-total meters and each of its IT meters
//! measured some energy: an interval between two accepted readings, not a gap, overlaps the
//! window. A single reading measures nothing, and rejected readings do not count. Coverage is
//! monitored / registered over every registered data centre, edge sites included; with none
//! registered it is 0. The target (default 0.75) is met at or above it.

use crate::book::EnergyBook;
use crate::error::EnergyError;
use crate::meter::{Channel, MeterId};
use serde::{Deserialize, Serialize};
use suanli_core::id::CentreId;
use suanli_core::time::{MS_PER_DAY, UnixMs};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoverageConfig {
    pub window_ms: i64,
    /// Share of data centres that must be monitored (纳入平台监测率不低于 75%).
    pub target: f64,
}

impl Default for CoverageConfig {
    fn default() -> CoverageConfig {
        CoverageConfig { window_ms: MS_PER_DAY, target: 0.75 }
    }
}

impl CoverageConfig {
    pub fn validate(&self) -> Result<(), EnergyError> {
        if self.window_ms <= 0 || !(0.0..=1.0).contains(&self.target) {
            return Err(EnergyError::config("coverage.window_ms must be positive and coverage.target within 0..=1"));
        }
        Ok(())
    }
}

/// A data centre that is not monitored, and what is missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SilentCentre {
    pub dc: CentreId,
    /// Registered facility and IT meters with no measured energy in the window.
    pub silent_meters: Vec<MeterId>,
    /// Channels (facility, IT) without any registered meter.
    pub unmetered: Vec<Channel>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoverageReport {
    pub from_ms: UnixMs,
    pub to_ms: UnixMs,
    pub registered: usize,
    pub monitored: usize,
    /// monitored / registered, 0 to 1.
    pub coverage: f64,
    pub target: f64,
    pub meets_target: bool,
    /// Not monitored, in id order.
    pub silent: Vec<SilentCentre>,
}

impl EnergyBook {
    /// Coverage over the window before `now_ms`.
    pub fn coverage(&self, now_ms: UnixMs) -> CoverageReport {
        let cfg = &self.config.coverage;
        let (from_ms, to_ms) = (now_ms - cfg.window_ms, now_ms);
        let mut silent = Vec::new();
        for (id, state) in self.in_order() {
            let mut gap = SilentCentre { dc: id.clone(), silent_meters: Vec::new(), unmetered: Vec::new() };
            for channel in [Channel::Facility, Channel::It] {
                let meters: Vec<_> = state.meters.iter().filter(|(_, s)| s.channel() == channel).collect();
                if meters.is_empty() {
                    gap.unmetered.push(channel);
                }
                gap.silent_meters.extend(meters.into_iter().filter(|(_, s)| s.measured_ms(from_ms, to_ms) == 0).map(|(m, _)| m.clone()));
            }
            if !gap.silent_meters.is_empty() || !gap.unmetered.is_empty() {
                silent.push(gap);
            }
        }
        let registered = self.centres.len();
        let monitored = registered - silent.len();
        let coverage = if registered == 0 { 0.0 } else { monitored as f64 / registered as f64 };
        CoverageReport { from_ms, to_ms, registered, monitored, coverage, target: cfg.target, meets_target: coverage >= cfg.target, silent }
    }
}
