//! Suanli's data-centre energy telemetry: meter readings into 15-minute buckets, PUE/CUE/WUE, GB 40879 grades, monitoring coverage, lifecycle evaluation and alerts.
//!
//! This crate is pure: it does no I/O, reads no clock (every reading carries its unix-ms
//! timestamp and every call that depends on the present takes `now_ms`) and draws no random
//! numbers. It serves the policy line "建设数据中心监测平台, 纳入平台监测率不低于 75%; 新建数据中心
//! PUE 低于 1.25; 建立数据中心全生命周期评价体系".
//!
//! # Map
//!
//! - [`meter`]: meters ([`MeterKind`], ISO/IEC 30134-2 [`Category`]), [`Reading`]s and the
//!   [`DataCentre`] facts readings are validated against.
//! - [`series`]: the ingest rules (read them there): counters, resets, jitter, kW trapezoids,
//!   gaps, duplicates, conflicts, late readings, plausibility.
//! - [`rollup`]: per-bucket totals in Fenwick trees; any window's sum in O(log n).
//! - [`pue`]: PUE with completeness, interim and annualised, CUE, WUE, renewable share, series.
//! - [`grade`]: GB 40879 grades and the city's rule for new data centres.
//! - [`coverage`]: the share of data centres sending valid data, against 75%.
//! - [`lifecycle`]: score, keep / retrofit / merge / retire, ranking.
//! - [`merge`]: the merge rule: a named destination nearby with better PUE and spare capacity.
//! - [`alert`]: PUE over threshold, silent meters, data-quality issues.
//! - [`book`]: [`EnergyBook`] holds it all: `register`, `ingest`, `pue`, `annualised`, `kpis`,
//!   `series`, `coverage`, `evaluate`, `alerts`, `quality`, `meters`, `rollup`.
//! - [`config`]: [`EnergyConfig`], every threshold with its default.
//! - [`defaults`]: a compute centre's registration until its provider registers one (default
//!   meters, rated power from racks, cooling from the declared PUE).
//! - [`intake`]: judging a batch for storage, and the rule that a resent old reading equal to
//!   the stored one is a duplicate.
//! - [`utilisation`]: a centre's utilisation from the accelerator-time its jobs ran.
//!
//! # State and persistence
//!
//! The book is in-memory state. Per meter it keeps only the readings inside the reorder window
//! (default 6 hours) and its gap list; energy lives in the per-data-centre rollup. The caller
//! owns persistence: store the readings and replay them in time order on start (ingest runs at
//! millions of readings a second in release builds). Snapshots of the book are not built yet.
//!
//! # Error codes
//!
//! [`EnergyError::code`] is one of the "Energy telemetry" rows of `suanli_core::error`:
//! `data_centre_not_found`, `meter_not_found` (404); `meter_exists`, `reading_conflict`,
//! `reading_too_old` (409); `invalid_data_centre`, `invalid_meter`, `reading_not_finite`,
//! `reading_negative`, `reading_unit_mismatch`, `reading_time_implausible`,
//! `power_over_capacity`, `counter_decrease`, `invalid_window`, `invalid_energy_config` (422).

pub mod alert;
pub mod book;
pub mod config;
pub mod coverage;
pub mod csv;
pub mod defaults;
pub mod error;
pub mod grade;
pub mod intake;
pub mod lifecycle;
pub mod merge;
pub mod meter;
pub mod pue;
pub mod rollup;
pub mod series;
pub mod utilisation;

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod tests;

pub use alert::{Alert, AlertKind, Severity};
pub use book::{EnergyBook, IngestReport, MeterStatus, QualityIssue, QualityTally, Rejection};
pub use config::EnergyConfig;
pub use coverage::{CoverageReport, SilentCentre};
pub use defaults::{FACILITY_METER, IT_METER, RATED_KW_PER_RACK, default_meters};
pub use error::EnergyError;
pub use grade::{Gb40879, Grading, PolicyCheck, PolicyOutcome};
pub use intake::{Judged, count_resent, judge, judge_owned};
pub use lifecycle::{Assessment, Lifecycle, Reason, Recommendation};
pub use merge::Load;
pub use meter::{Category, Channel, Cooling, DataCentre, Meter, MeterId, MeterKind, MeterUnit, Reading, ReadingValue};
pub use pue::{Kpis, NoValue, PueFigure, PueKind, SeriesPoint};
pub use rollup::{Rollup, Step};
pub use series::BUCKET_MS;
