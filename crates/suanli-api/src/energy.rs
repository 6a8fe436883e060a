//! The energy API's bodies: readings in, ingest results out, meters, facts, PUE, series, coverage, evaluation and alerts.
//!
//! The figures themselves are `suanli-energy`'s types (each documented there); the bodies
//! here say which centre and window they belong to.

use serde::{Deserialize, Serialize};
use suanli_core::id::CentreId;
use suanli_core::time::UnixMs;
use suanli_energy::{Assessment, Lifecycle, Meter, MeterStatus, PueFigure, QualityIssue, SeriesPoint, Step};
use utoipa::ToSchema;

pub use suanli_energy::{Alert, CoverageReport};

/// A batch of meter readings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadingsIn {
    pub readings: Vec<ReadingIn>,
}

/// One reading: a centre, a meter, a time (`ts_ms` or RFC 3339 `ts`) and exactly one of
/// `kwh` (cumulative register), `kw` (instantaneous power) or `m3` (water register).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadingIn {
    pub centre_id: String,
    pub meter: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kwh: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kw: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m3: Option<f64>,
}

/// A refused reading.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RejectionOut {
    pub centre_id: String,
    pub meter: String,
    pub ts_ms: i64,
    /// An energy code of the error table, e.g. `reading_negative`, `power_over_capacity`.
    pub code: String,
    pub message: String,
}

/// What a batch did: accepted (and stored), duplicates of stored readings, refused ones.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IngestOut {
    pub accepted: u32,
    pub duplicates: u32,
    pub rejected: Vec<RejectionOut>,
    /// Data-quality findings beyond single readings (e.g. `it_exceeds_facility`).
    pub issues: Vec<QualityIssue>,
}

/// What a remote write did with its samples (Prometheus reads only the 2xx; people and tests read the rest).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RemoteWriteOut {
    pub accepted: u32,
    pub duplicates: u32,
    /// Samples the ingest rules refused (negative, impossible power, counter decrease, ...).
    pub rejected: u32,
    /// Samples that are not numbers (Prometheus's stale markers among them).
    pub dropped_not_a_number: u32,
    /// Series that are not Suanli's meters (other metric names, unknown centres or meters).
    pub ignored_series: u32,
}

/// Meters to register for a data centre.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetersIn {
    pub meters: Vec<MeterIn>,
}

/// One meter: `kind` is `facility_total` (E_DC), `it`, `cooling`, `renewable` or `water`; an IT
/// meter names its measurement point (`ups_output`, `pdu_output` or `it_input`: ISO/IEC
/// 30134-2 categories 1, 2 and 3) or its `category`; `unit` is `cumulative_kwh` (preferred),
/// `instant_kw` or, for water, `cumulative_m3`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeterIn {
    pub id: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<u8>,
    pub unit: String,
}

/// A data centre's energy facts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FactsIn {
    /// `air`, `chilled_water`, `free_cooling`, `liquid` or `immersion`.
    pub cooling: String,
    /// Rated facility capacity in kW: readings implying more power (beyond a 10% margin) are refused.
    pub rated_kw: f64,
}

/// A data centre's meters, as now registered.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MetersOut {
    pub centre_id: CentreId,
    pub meters: Vec<Meter>,
}

/// A data centre's energy facts as the monitoring platform holds them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Facts {
    /// `air`, `chilled_water`, `free_cooling`, `liquid` or `immersion`.
    pub cooling: String,
    /// Rated facility capacity in kW.
    pub rated_kw: f64,
    /// Standard racks.
    pub racks: u32,
    /// An edge site (a centre of kind `edge`).
    pub edge: bool,
}

/// A data centre's facts, after they were set.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FactsOut {
    pub centre_id: CentreId,
    #[serde(flatten)]
    pub facts: Facts,
}

/// A data centre's meters with what each has reported.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CentreMetersOut {
    pub centre_id: CentreId,
    pub meters: Vec<Meter>,
    /// Per meter: first and last reading, accepted, duplicate and refused counts.
    pub status: Vec<MeterStatus>,
    /// Absent while the centre is not in the monitoring registry.
    pub data_centre: Option<Facts>,
}

/// A data centre's PUE over a window, with its carbon usage effectiveness.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CentrePueOut {
    pub centre_id: CentreId,
    #[serde(flatten)]
    pub pue: PueFigure,
    /// The figure as written for people: "PUE2 1.31", or why it has no value.
    pub display: String,
    /// Carbon usage effectiveness, kgCO2 per IT kWh.
    pub cue: Option<f64>,
}

/// Energy and PUE per period over a window.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SeriesOut {
    pub centre_id: CentreId,
    pub step: Step,
    pub from_ms: UnixMs,
    pub to_ms: UnixMs,
    pub points: Vec<SeriesPoint>,
}

/// A centre's lifecycle assessment with the name of the centre it should merge into.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LifecycleOut {
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
    pub merge_into_name: Option<String>,
}

/// One data centre's evaluation, named, with its interim PUE over the last 30 days.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssessmentOut {
    pub dc: CentreId,
    /// The centre's English name.
    pub name: Option<String>,
    /// 1 = best score.
    pub rank: usize,
    /// KPIs over the annualised window.
    pub kpis: suanli_energy::Kpis,
    pub grading: suanli_energy::Grading,
    pub policy: suanli_energy::PolicyCheck,
    pub lifecycle: LifecycleOut,
    /// The annualised PUE needs a year of data: the last 30 days' PUE beside it.
    pub recent_pue: Option<PueFigure>,
}

impl AssessmentOut {
    /// An assessment with the names the caller looked up.
    pub fn new(a: Assessment, name: Option<String>, merge_into_name: Option<String>, recent_pue: Option<PueFigure>) -> AssessmentOut {
        AssessmentOut {
            dc: a.dc,
            name,
            rank: a.rank,
            kpis: a.kpis,
            grading: a.grading,
            policy: a.policy,
            lifecycle: LifecycleOut { lifecycle: a.lifecycle, merge_into_name },
            recent_pue,
        }
    }
}

/// The lifecycle evaluation of every data centre, ranked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EvaluationOut {
    /// The moment evaluated (the end of the year asked for, or now).
    pub at_ms: UnixMs,
    pub assessments: Vec<AssessmentOut>,
}

/// Open alerts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlertsOut {
    pub alerts: Vec<Alert>,
}
