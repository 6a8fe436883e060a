//! Typed identifiers with readable prefixes (`ctr_`, `pool_`, `tnt_`, `job_`, ...).
//!
//! An id is its prefix followed by 12 hex digits of the creation time (unix ms) and
//! 10 hex digits of entropy, so ids sort by creation and never collide in practice.
//! The entropy is passed in: this crate reads no clock and draws no random numbers.

use crate::error::{Error, ErrorCode};
use std::fmt;
use std::str::FromStr;

const TIME_DIGITS: usize = 12;
const ENTROPY_DIGITS: usize = 10;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = json!(concat!($prefix, "0193a1b2c3d4e5f6a7b8c9"))))]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// Builds an id from a creation time and caller-supplied entropy.
            pub fn generate(now_ms: i64, entropy: u64) -> $name {
                $name(format_id($prefix, now_ms, entropy))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Parses and checks an id; the error names the kind of id expected.
            pub fn parse(s: &str) -> Result<$name, Error> {
                check_id($prefix, s)?;
                Ok($name(s.to_owned()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                $name::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                check_id($prefix, &s)?;
                Ok($name(s))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        /// An id compares and hashes as its text, so maps keyed by ids are looked up by `&str`.
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

typed_id!(
    /// A compute centre (also a data centre in the energy registry).
    CentreId, "ctr_"
);
typed_id!(
    /// A resource pool of one accelerator model inside a centre.
    PoolId, "pool_"
);
typed_id!(
    /// A tenant: an enterprise or lab that runs jobs.
    TenantId, "tnt_"
);
typed_id!(
    /// A job submitted by a tenant.
    JobId, "job_"
);
typed_id!(
    /// A user who signs in with a bearer token.
    UserId, "usr_"
);
typed_id!(
    /// A compute provider: the organisation that operates centres.
    ProviderId, "prv_"
);
typed_id!(
    /// An audit record.
    AuditId, "aud_"
);
typed_id!(
    /// A voucher programme (one per year).
    ProgrammeId, "prg_"
);
typed_id!(
    /// An enterprise's application for vouchers.
    ApplicationId, "app_"
);
typed_id!(
    /// The one bill of a job.
    BillId, "bil_"
);
typed_id!(
    /// A provider's settlement statement for a period.
    StatementId, "stm_"
);
typed_id!(
    /// A tenant's key for the model gateway (the secret itself is `sk-sl-…`, shown once).
    ModelKeyId, "mk_"
);
typed_id!(
    /// One call through the model gateway (the `x-request-id` its client sees).
    CallId, "req_"
);
typed_id!(
    /// An application to an incentive programme (奖补申请).
    IncentiveApplicationId, "inc_"
);
typed_id!(
    /// A data set of the data-sharing catalogue.
    DataSetId, "ds_"
);
typed_id!(
    /// A consumer's request for a data set.
    DataRequestId, "drq_"
);
typed_id!(
    /// One de-identified extract delivered to a consumer.
    DeliveryId, "dlv_"
);
typed_id!(
    /// A certification declared for a centre (partner selection).
    CertificationId, "crt_"
);
typed_id!(
    /// A green-power contract declared for a centre (partner selection).
    GreenPowerId, "gpc_"
);

fn format_id(prefix: &str, now_ms: i64, entropy: u64) -> String {
    let time = (now_ms.max(0) as u64) & 0xffff_ffff_ffff;
    let entropy = entropy & 0xff_ffff_ffff;
    format!("{prefix}{time:012x}{entropy:010x}")
}

fn check_id(prefix: &str, s: &str) -> Result<(), Error> {
    let body = s
        .strip_prefix(prefix)
        .ok_or_else(|| Error::new(ErrorCode::InvalidId, format!("'{}' is not an id of the form {prefix}…", truncate(s))))?;
    if body.len() != TIME_DIGITS + ENTROPY_DIGITS || !body.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(Error::new(
            ErrorCode::InvalidId,
            format!(
                "'{}' is not a valid id: expected {prefix} followed by {} lowercase hex digits",
                truncate(s),
                TIME_DIGITS + ENTROPY_DIGITS
            ),
        ));
    }
    Ok(())
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_sort_by_time() {
        let a = JobId::generate(1_700_000_000_000, 42);
        let b = JobId::generate(1_700_000_000_001, 1);
        assert!(a < b);
        assert_eq!(JobId::parse(a.as_str()).unwrap(), a);
        assert!(a.as_str().starts_with("job_"));
        assert_eq!(a.as_str().len(), 4 + 22);
    }

    #[test]
    fn wrong_prefix_or_body_is_rejected() {
        let job = JobId::generate(1, 2);
        let e = CentreId::parse(job.as_str()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidId);
        assert!(JobId::parse("job_XYZ").is_err());
        assert!(JobId::parse("job_0000000000010000000002x").is_err());
        assert!(serde_json::from_str::<JobId>("\"ctr_00000000000100000000020\"").is_err());
    }
}
