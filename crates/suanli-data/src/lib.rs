//! Suanli's data sharing engine: PII detectors with check digits, de-identification operators, policies per grade, k-anonymity, streaming readers.
//!
//! Pure: no I/O, no clock, no unseeded randomness. Readers take a caller's `BufRead`; keys for
//! pseudonyms come from the caller.

pub mod detect;
pub mod kind;

pub use detect::{Span, scan, scan_into};
pub use kind::Kind;
pub mod corpus;
pub mod error;
pub mod ops;
pub mod policy;

pub use error::{DataError, RowErrorKind};
pub use ops::{Operator, PseudonymKey};
pub use policy::{Grade, OpeningMode, Policy};
pub mod kanon;
pub mod table;

pub use table::{ColumnProfile, Deidentifier, Profiler, Report};
pub mod reader;

pub use reader::{CsvReader, Encoding, JsonLinesReader, Limits};
pub mod catalogue;
pub mod pipeline;
