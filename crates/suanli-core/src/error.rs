//! The one error table: every user-facing error has a stable snake_case code, an HTTP status and a title.
//!
//! Edge crates turn an [`Error`] into an `application/problem+json` body (RFC 9457)
//! whose `code` member is [`ErrorCode::as_str`]. Codes are part of the public API:
//! never rename one, only add.

use std::fmt;

macro_rules! error_table {
    ($( $variant:ident => ($code:literal, $status:literal, $title:literal), )*) => {
        /// A stable, machine-readable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum ErrorCode { $( $variant, )* }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];

            /// The snake_case code clients match on.
            pub fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => $code, )* }
            }

            /// The HTTP status this error is answered with.
            pub fn http_status(self) -> u16 {
                match self { $( ErrorCode::$variant => $status, )* }
            }

            /// A short, human title (the problem's `title`).
            pub fn title(self) -> &'static str {
                match self { $( ErrorCode::$variant => $title, )* }
            }
        }
    };
}

error_table! {
    // Request shape.
    MalformedJson => ("malformed_json", 400, "The request body is not valid JSON"),
    UnknownField => ("unknown_field", 400, "The request body has a field this endpoint does not accept"),
    InvalidBody => ("invalid_body", 422, "The request body does not match the expected schema"),
    InvalidQuery => ("invalid_query", 400, "A query parameter is invalid"),
    UnsupportedMediaType => ("unsupported_media_type", 415, "The request body must be application/json"),
    // Field validation.
    InvalidId => ("invalid_id", 400, "An identifier is malformed"),
    InvalidAmount => ("invalid_amount", 422, "An amount of money is invalid"),
    InvalidCount => ("invalid_count", 422, "A count must be a positive whole number within limits"),
    InvalidName => ("invalid_name", 422, "A name is empty or too long"),
    InvalidUscc => ("invalid_uscc", 422, "The unified social credit code is invalid"),
    InvalidRegion => ("invalid_region", 422, "The region is not known"),
    InvalidDate => ("invalid_date", 422, "A date is invalid"),
    InvalidPue => ("invalid_pue", 422, "A PUE value must be at least 1.0 and at most 4.0"),
    InvalidDuration => ("invalid_duration", 422, "A duration must be positive and at most one year"),
    InvalidPriority => ("invalid_priority", 422, "Priority must be between 0 and 9"),
    InvalidRequirement => ("invalid_requirement", 422, "The job's accelerator requirement is inconsistent"),
    UnknownAccelerator => ("unknown_accelerator", 422, "The accelerator model is not in the catalogue"),
    UnknownProvider => ("unknown_provider", 422, "The provider is not known"),
    DuplicateUscc => ("duplicate_uscc", 409, "A tenant with this unified social credit code already exists"),
    // Jobs.
    JobUnsatisfiable => ("job_unsatisfiable", 422, "No pool in the city could ever run this job"),
    UnfundedJobsLimit => ("unfunded_jobs_limit", 409, "The tenant has as many jobs waiting for funds as it may"),
    BatchRefused => ("batch_refused", 422, "Some specs of an all-or-nothing batch were refused, so none was stored"),
    IllegalTransition => ("illegal_transition", 409, "The job cannot move to that state from its current state"),
    // Auth.
    Unauthenticated => ("unauthenticated", 401, "A valid bearer token is required"),
    Forbidden => ("forbidden", 403, "Your role may not do this"),
    // Lookups.
    NotFound => ("not_found", 404, "No such resource"),
    CentreNotFound => ("centre_not_found", 404, "No such compute centre"),
    TenantNotFound => ("tenant_not_found", 404, "No such tenant"),
    JobNotFound => ("job_not_found", 404, "No such job"),
    MethodNotAllowed => ("method_not_allowed", 405, "This method is not allowed on this path"),
    // Ledger: accounts and transfers.
    InvalidAccountId => ("invalid_account_id", 400, "An account id must be 1 to 32 hex digits and not zero"),
    InvalidAccount => ("invalid_account", 422, "The account definition is invalid"),
    AccountExistsDiffers => ("account_exists_differs", 409, "An account with this id exists with a different definition"),
    InvalidTransferId => ("invalid_transfer_id", 400, "A transfer id must be 1 to 32 hex digits, not zero, without the top bit"),
    DuplicateTransferDiffers => ("duplicate_transfer_differs", 409, "A transfer with this id exists with a different body"),
    SameAccount => ("same_account", 422, "A transfer must debit and credit two different accounts"),
    ZeroAmount => ("zero_amount", 422, "The amount must be positive, not zero"),
    NegativeAmount => ("negative_amount", 422, "The amount must be positive, not negative"),
    AmountOutOfRange => ("amount_out_of_range", 422, "The amount is beyond what the ledger holds (an i64 of fen)"),
    UnknownAccount => ("unknown_account", 422, "The transfer names an account that does not exist"),
    CurrencyMismatch => ("currency_mismatch", 422, "The debit and credit accounts hold different currencies"),
    InvalidTimeout => ("invalid_timeout", 422, "A pending transfer's timeout must be positive"),
    PendingNotFound => ("pending_not_found", 422, "The pending transfer to post or void does not exist"),
    NotPending => ("not_pending", 409, "The transfer to post or void is not a pending transfer"),
    PendingDiffers => ("pending_differs", 422, "A post or void must repeat its pending transfer's accounts and amount"),
    AlreadyPosted => ("already_posted", 409, "The pending transfer was already posted"),
    AlreadyVoided => ("already_voided", 409, "The pending transfer was already voided"),
    PendingExpired => ("pending_expired", 409, "The pending transfer has expired"),
    ExceedsPending => ("exceeds_pending", 422, "A post may not exceed its pending amount"),
    InsufficientFunds => ("insufficient_funds", 409, "The account does not hold enough to pay this"),
    CreditsExceedDebits => ("credits_exceed_debits", 409, "The account may not be credited beyond its debits"),
    LinkedFailed => ("linked_failed", 409, "Another transfer in the linked batch failed, so none was applied"),
    // Vouchers, bills and settlement.
    ProgrammeNotFound => ("programme_not_found", 404, "No such voucher programme"),
    ProgrammeExists => ("programme_exists", 409, "A voucher programme for this year already exists"),
    ProgrammeClosed => ("programme_closed", 409, "The voucher programme is closed or outside its year"),
    InvalidRatio => ("invalid_ratio", 422, "A subsidy ratio must be between 0% and 100%"),
    NotEligible => ("not_eligible", 422, "The enterprise is not eligible for this voucher programme"),
    ApplicationNotFound => ("application_not_found", 404, "No such voucher application"),
    ApplicationDecided => ("application_decided", 409, "The voucher application was already decided"),
    BudgetExceeded => ("budget_exceeded", 409, "The voucher programme's budget does not cover this amount"),
    CapExceeded => ("cap_exceeded", 409, "The amount would take the enterprise beyond its yearly cap"),
    BillExists => ("bill_exists", 409, "This job already has a bill"),
    BillNotFound => ("bill_not_found", 404, "No such bill"),
    ProviderNotFound => ("provider_not_found", 404, "No such compute provider"),
    NothingToSettle => ("nothing_to_settle", 409, "The provider has no unsettled bills in this period"),
    InvalidPeriod => ("invalid_period", 422, "The period must start before it ends"),
    LedgerViolation => ("ledger_violation", 500, "The ledger failed verification"),
    // Backends of centres.
    InvalidBackend => ("invalid_backend", 422, "The backend URL is not one Suanli can reach a cluster through"),
    CentreBusy => ("centre_busy", 409, "The centre has jobs placed or running on its backend"),
    UsageReportRefused => ("usage_report_refused", 422, "A centre's usage report contradicts itself or what the platform knows"),
    // Server side.
    PayloadTooLarge => ("payload_too_large", 413, "The request body is larger than this endpoint accepts"),
    IngestBusy => ("ingest_busy", 429, "The energy writer's queue is full; send the batch again after Retry-After"),
    Unavailable => ("unavailable", 503, "The service is temporarily unavailable"),
    Internal => ("internal", 500, "An internal error occurred"),
    // Energy telemetry.
    DataCentreNotFound => ("data_centre_not_found", 404, "No such data centre in the energy registry"),
    MeterNotFound => ("meter_not_found", 404, "No such meter in the data centre"),
    InvalidDataCentre => ("invalid_data_centre", 422, "The data centre's energy registration is invalid"),
    InvalidMeter => ("invalid_meter", 422, "The meter definition is invalid"),
    MeterExists => ("meter_exists", 409, "A meter with this id is already registered with a different kind"),
    ReadingNotFinite => ("reading_not_finite", 422, "A meter reading must be a finite number"),
    ReadingNegative => ("reading_negative", 422, "A meter reading may not be negative"),
    ReadingUnitMismatch => ("reading_unit_mismatch", 422, "The reading's unit does not match the meter"),
    ReadingTimeImplausible => ("reading_time_implausible", 422, "The reading's timestamp is before 2000 or in the future"),
    PowerOverCapacity => ("power_over_capacity", 422, "The reading implies more power than the data centre's rated capacity"),
    CounterDecrease => ("counter_decrease", 422, "A cumulative counter went down without a plausible reset"),
    ReadingConflict => ("reading_conflict", 409, "A different reading for this meter and time was already accepted"),
    ReadingTooOld => ("reading_too_old", 409, "The reading is older than the meter's reorder window"),
    InvalidWindow => ("invalid_window", 422, "The time window must start before it ends"),
    MalformedPayload => ("malformed_payload", 400, "The request body cannot be decoded (e.g. not snappy-compressed protobuf)"),
    InvalidEnergyConfig => ("invalid_energy_config", 422, "The energy configuration is invalid"),
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A domain error: a code from the table and a message a person understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} ({code})")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error { code, message: message.into() }
    }
}

/// Shorthand for results of domain operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_snake_case_with_error_statuses() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s} is not snake_case");
            assert!((400..600).contains(&code.http_status()), "{s} has status {}", code.http_status());
            assert!(!code.title().is_empty());
        }
    }
}
