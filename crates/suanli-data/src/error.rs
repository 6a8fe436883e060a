//! The crate's errors, each with a stable snake_case code; row errors carry their line number.
//!
//! These do not reach an HTTP client yet (the command line reports them); when the data service
//! serves them, the codes move into suanli-core's one error table unchanged.

/// An error of the de-identification engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    #[error("{0}")]
    NotDeliverable(String),
    #[error("{0}")]
    InvalidPolicy(String),
    #[error("line {line}: {message}")]
    Row { line: u64, kind: RowErrorKind, message: String },
    #[error("{0}")]
    UnknownColumn(String),
    #[error("{0}")]
    TooManyRows(String),
    #[error("cannot read the input: {0}")]
    Read(String),
    #[error("cannot write the output: {0}")]
    Write(String),
}

/// What is wrong with a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowErrorKind {
    /// A NUL byte: the input is binary, not text. Fatal for the whole input.
    BinaryInput,
    InvalidEncoding,
    RaggedRow,
    UnterminatedQuote,
    FieldTooLarge,
    RecordTooLarge,
    MalformedJson,
    NotAnObject,
}

impl RowErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RowErrorKind::BinaryInput => "binary_input",
            RowErrorKind::InvalidEncoding => "invalid_encoding",
            RowErrorKind::RaggedRow => "ragged_row",
            RowErrorKind::UnterminatedQuote => "unterminated_quote",
            RowErrorKind::FieldTooLarge => "field_too_large",
            RowErrorKind::RecordTooLarge => "record_too_large",
            RowErrorKind::MalformedJson => "malformed_json",
            RowErrorKind::NotAnObject => "not_an_object",
        }
    }

    /// Whether reading cannot go on after this error (the rest of the input is not text).
    pub fn is_fatal(self) -> bool {
        matches!(self, RowErrorKind::BinaryInput)
    }
}

impl DataError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            DataError::NotDeliverable(_) => "not_deliverable",
            DataError::InvalidPolicy(_) => "invalid_policy",
            DataError::Row { kind, .. } => kind.as_str(),
            DataError::UnknownColumn(_) => "unknown_column",
            DataError::TooManyRows(_) => "too_many_rows",
            DataError::Read(_) => "read_failed",
            DataError::Write(_) => "write_failed",
        }
    }

    pub fn row(line: u64, kind: RowErrorKind, message: impl Into<String>) -> DataError {
        DataError::Row { line, kind, message: message.into() }
    }
}
