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
    // Server side.
    Unavailable => ("unavailable", 503, "The service is temporarily unavailable"),
    Internal => ("internal", 500, "An internal error occurred"),
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
