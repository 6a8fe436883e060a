//! The energy crate's errors: one variant per refusal, each with a stable snake_case code that is also a row of the platform's error table.

use crate::meter::{MeterId, MeterUnit};
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::CentreId;
use suanli_core::time::{UnixMs, format_rfc3339};

/// Why a registration, a reading or a query was refused. A refused reading changes nothing.
///
/// Reading-level variants name the meter and the reading's timestamp so an operator can find
/// the sample in the collector's log.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EnergyError {
    #[error("data centre {dc} is not registered for energy monitoring")]
    DataCentreNotFound { dc: CentreId },
    #[error("meter '{meter}' (reading at {}) is not registered at this data centre", format_rfc3339(*.ts_ms))]
    MeterNotFound { meter: MeterId, ts_ms: UnixMs },
    #[error("data centre {dc} cannot be registered: {reason}")]
    InvalidDataCentre { dc: CentreId, reason: String },
    #[error("meter '{meter}' is invalid: {reason}")]
    InvalidMeter { meter: String, reason: String },
    #[error("meter '{meter}' is already registered as {existing}; it cannot become {requested}")]
    MeterExists { meter: MeterId, existing: String, requested: String },
    #[error("meter '{meter}' reading at {}: the value is not a finite number within ±1e12", format_rfc3339(*.ts_ms))]
    ReadingNotFinite { meter: MeterId, ts_ms: UnixMs },
    #[error("meter '{meter}' reading at {}: the value {value} is negative", format_rfc3339(*.ts_ms))]
    ReadingNegative { meter: MeterId, ts_ms: UnixMs, value: f64 },
    #[error("meter '{meter}' reading at {}: the meter reports {expected}, not {got}", format_rfc3339(*.ts_ms))]
    ReadingUnitMismatch { meter: MeterId, ts_ms: UnixMs, expected: MeterUnit, got: MeterUnit },
    #[error("meter '{meter}' reading at {}: the timestamp is before 2000-01-01 or after {} (now plus the clock tolerance)", format_rfc3339(*.ts_ms), format_rfc3339(*.latest_ms))]
    ReadingTimeImplausible { meter: MeterId, ts_ms: UnixMs, latest_ms: UnixMs },
    #[error("meter '{meter}' reading at {}: {kw:.1} kW is above the data centre's rated capacity with margin ({limit_kw:.1} kW)", format_rfc3339(*.ts_ms))]
    PowerOverCapacity { meter: MeterId, ts_ms: UnixMs, kw: f64, limit_kw: f64 },
    #[error("meter '{meter}' reading at {}: the counter goes from {before} at {} to {after} at {}, which is neither jitter nor a plausible reset", format_rfc3339(*.ts_ms), format_rfc3339(*.before_ms), format_rfc3339(*.after_ms))]
    CounterDecrease { meter: MeterId, ts_ms: UnixMs, before_ms: UnixMs, before: f64, after_ms: UnixMs, after: f64 },
    #[error("meter '{meter}' reading at {}: {got} conflicts with the value {accepted} already accepted for that time", format_rfc3339(*.ts_ms))]
    ReadingConflict { meter: MeterId, ts_ms: UnixMs, accepted: f64, got: f64 },
    #[error("meter '{meter}' reading at {}: older than the reorder window, which starts at {}", format_rfc3339(*.ts_ms), format_rfc3339(*.window_start_ms))]
    ReadingTooOld { meter: MeterId, ts_ms: UnixMs, window_start_ms: UnixMs },
    #[error("the window {} to {} is invalid: {reason}", format_rfc3339(*.from_ms), format_rfc3339(*.to_ms))]
    InvalidWindow { from_ms: UnixMs, to_ms: UnixMs, reason: &'static str },
    #[error("the energy configuration is invalid: {reason}")]
    InvalidConfig { reason: String },
}

impl EnergyError {
    /// The stable snake_case code; equal to [`EnergyError::error_code`]'s `as_str()`.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The row of the platform's error table (code, HTTP status, title) this error answers with:
    /// 404 for an unknown data centre or meter, 409 for conflicts with accepted state, 422 for
    /// invalid data.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            EnergyError::DataCentreNotFound { .. } => ErrorCode::DataCentreNotFound,
            EnergyError::MeterNotFound { .. } => ErrorCode::MeterNotFound,
            EnergyError::InvalidDataCentre { .. } => ErrorCode::InvalidDataCentre,
            EnergyError::InvalidMeter { .. } => ErrorCode::InvalidMeter,
            EnergyError::MeterExists { .. } => ErrorCode::MeterExists,
            EnergyError::ReadingNotFinite { .. } => ErrorCode::ReadingNotFinite,
            EnergyError::ReadingNegative { .. } => ErrorCode::ReadingNegative,
            EnergyError::ReadingUnitMismatch { .. } => ErrorCode::ReadingUnitMismatch,
            EnergyError::ReadingTimeImplausible { .. } => ErrorCode::ReadingTimeImplausible,
            EnergyError::PowerOverCapacity { .. } => ErrorCode::PowerOverCapacity,
            EnergyError::CounterDecrease { .. } => ErrorCode::CounterDecrease,
            EnergyError::ReadingConflict { .. } => ErrorCode::ReadingConflict,
            EnergyError::ReadingTooOld { .. } => ErrorCode::ReadingTooOld,
            EnergyError::InvalidWindow { .. } => ErrorCode::InvalidWindow,
            EnergyError::InvalidConfig { .. } => ErrorCode::InvalidEnergyConfig,
        }
    }

    pub(crate) fn config(reason: impl Into<String>) -> EnergyError {
        EnergyError::InvalidConfig { reason: reason.into() }
    }
}

impl From<EnergyError> for Error {
    fn from(e: EnergyError) -> Error {
        Error::new(e.error_code(), e.to_string())
    }
}
