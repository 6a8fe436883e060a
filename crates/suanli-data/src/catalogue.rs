//! The data-sharing catalogue's rules: a data set's definition, reading a supplier's upload into the platform's one form, projecting a consumer's fields, and the life of an access request.
//!
//! Pure like the rest of the crate: contents arrive as bytes, time as the caller's `now`, keys
//! from the caller's secret.

use crate::error::DataError;
use crate::kind::Kind;
use crate::ops::PseudonymKey;
use crate::pipeline::Format;
use crate::policy::{Grade, OpeningMode, Policy};
use crate::reader::{CsvReader, Encoding, JsonLinesReader, Limits, RecordBuf, write_csv_record};
use crate::table::{ColumnProfile, Profiler, SAMPLE_ROWS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{DataRequestId, DataSetId, DeliveryId, ProviderId, TenantId};
use suanli_core::money::Fen;
use suanli_core::time::UnixMs;

/// The domains the policy opens data in (分领域): id, Chinese, English.
pub const DOMAINS: &[(&str, &str, &str)] = &[
    ("traffic", "交通出行", "Traffic"),
    ("healthcare", "医疗健康", "Healthcare"),
    ("commerce", "商贸流通", "Commerce"),
    ("education", "教育", "Education"),
    ("tourism", "文化旅游", "Tourism"),
    ("elder_care", "养老服务", "Elder care"),
    ("finance", "金融", "Finance"),
    ("government", "政务服务", "Government services"),
    ("environment", "生态环境", "Environment"),
    ("manufacturing", "工业制造", "Manufacturing"),
];

/// The most an uploaded content may hold, in bytes (larger sets belong in object storage).
pub const MAX_CONTENT_BYTES: usize = 64 << 20;

/// Row errors listed in a refusal (the count covers all of them).
const PROBLEMS_SHOWN: usize = 20;

/// The longest a consumer's access period may be, in days.
pub const MAX_PERIOD_DAYS: i64 = 366;

/// How often a supplier refreshes a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateFrequency {
    Once,
    Realtime,
    Daily,
    Weekly,
    Monthly,
    Quarterly,
    Yearly,
}

/// A data set as its supplier defines it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSetSpec {
    /// Lowercase letters, digits and `-`, 2–64 characters; unique in the catalogue.
    pub name: String,
    /// The title people read (usually Chinese).
    pub title: String,
    #[serde(default)]
    pub title_en: Option<String>,
    #[serde(default)]
    pub description: String,
    /// One of [`DOMAINS`].
    pub domain: String,
    pub mode: OpeningMode,
    pub grade: Grade,
    pub licence: String,
    pub update_frequency: UpdateFrequency,
    /// The fee for one delivery.
    pub price: Fen,
    /// Quasi-identifier columns that k-anonymity is reached over (the grade's policy sets k).
    #[serde(default)]
    pub quasi: Vec<String>,
}

fn invalid(why: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidDataSet, why)
}

/// The domain's names, or None when it is not one of [`DOMAINS`].
pub fn domain(id: &str) -> Option<(&'static str, &'static str)> {
    DOMAINS.iter().find(|d| d.0 == id).map(|d| (d.1, d.2))
}

impl DataSetSpec {
    pub fn validate(&self) -> Result<(), Error> {
        let n = &self.name;
        if !(2..=64).contains(&n.len()) || !n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(invalid(format!(
                "the name '{}' must be 2-64 lowercase letters, digits or '-'",
                n.chars().take(64).collect::<String>()
            )));
        }
        for (what, v, max) in [("title", &self.title, 200), ("licence", &self.licence, 200)] {
            if v.trim().is_empty() || v.chars().count() > max {
                return Err(invalid(format!("the {what} must be 1-{max} characters")));
            }
        }
        if self.description.chars().count() > 4000 || self.title_en.as_ref().is_some_and(|t| t.chars().count() > 200) {
            return Err(invalid("the description is at most 4,000 characters and the English title at most 200"));
        }
        if domain(&self.domain).is_none() {
            let known: Vec<&str> = DOMAINS.iter().map(|d| d.0).collect();
            return Err(invalid(format!("'{}' is not a domain; use one of {}", self.domain, known.join(", "))));
        }
        if let Grade::General { level } = self.grade
            && !(1..=4).contains(&level)
        {
            return Err(invalid("a general grade's level is 1 to 4"));
        }
        if self.price.0 < 0 {
            return Err(invalid("the price may not be negative"));
        }
        if self.quasi.len() > 16 {
            return Err(invalid("at most 16 quasi-identifier columns"));
        }
        Ok(())
    }

    /// Whether consumers may ask for it at all: core data and data not open are only listed.
    pub fn requestable(&self) -> Result<(), Error> {
        Policy::for_grade(self.grade, self.mode).map(|_| ()).map_err(|e| Error::new(ErrorCode::NotDeliverable, e.to_string()))
    }
}

/// A supplier's upload as the platform keeps it: UTF-8, one record per line, with its columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    pub format: Format,
    pub bytes: Vec<u8>,
    pub columns: Vec<String>,
    pub rows: u64,
}

/// Parses `csv` or `jsonl`.
pub fn parse_format(s: &str) -> Result<Format, Error> {
    match s.trim().to_ascii_lowercase().as_str() {
        "csv" => Ok(Format::Csv),
        "jsonl" | "ndjson" | "json-lines" => Ok(Format::JsonLines),
        _ => Err(invalid(format!("'{s}' is not a format: use csv or jsonl"))),
    }
}

pub fn format_name(f: Format) -> &'static str {
    match f {
        Format::Csv => "csv",
        Format::JsonLines => "jsonl",
    }
}

/// The refusal of an upload: every malformed row counted, the first ones listed with their lines.
fn malformed(problems: &[DataError], total: usize) -> Error {
    let shown: Vec<String> = problems.iter().take(PROBLEMS_SHOWN).map(|p| format!("{p} ({})", p.code())).collect();
    let more = if total > shown.len() { format!("; and {} more", total - shown.len()) } else { String::new() };
    Error::new(ErrorCode::MalformedData, format!("{total} malformed row(s), nothing was stored: {}{more}", shown.join("; ")))
}

/// Reads an upload whole, refusing it if any row is malformed (binary input, a wrong encoding, a
/// ragged row, an unterminated quote, an oversized field): a data set is never published with
/// rows that a delivery would silently drop. Answers the content re-encoded as UTF-8.
pub fn read_upload(bytes: &[u8], format: Format, encoding: Encoding, limits: Limits) -> Result<Content, Error> {
    if bytes.len() > MAX_CONTENT_BYTES {
        return Err(Error::new(ErrorCode::PayloadTooLarge, format!("a data set's content is at most {} MiB", MAX_CONTENT_BYTES >> 20)));
    }
    let (mut out, mut problems, mut total, mut rows) = (Vec::with_capacity(bytes.len()), Vec::new(), 0usize, 0u64);
    let mut note = |e: DataError, problems: &mut Vec<DataError>| {
        total += 1;
        let fatal = !matches!(&e, DataError::Row { kind, .. } if !kind.is_fatal());
        if problems.len() < PROBLEMS_SHOWN {
            problems.push(e);
        }
        fatal
    };
    let columns = match format {
        Format::Csv => {
            let mut r = CsvReader::new(bytes, encoding, limits);
            let header = r.header().map_err(|e| malformed(&[e], 1))?;
            if header.iter().any(|h| h.trim().is_empty()) || header.len() > 1000 {
                return Err(invalid("the CSV header must name every column (at most 1,000)"));
            }
            write_csv_record(&header, &mut out);
            let mut rec = RecordBuf::default();
            while let Some(item) = r.read_into(&mut rec) {
                match item {
                    Ok(()) => {
                        write_csv_record(&rec.fields().collect::<Vec<_>>(), &mut out);
                        rows += 1;
                    }
                    Err(e) => {
                        if note(e, &mut problems) {
                            break;
                        }
                    }
                }
            }
            header
        }
        Format::JsonLines => {
            let mut columns: Vec<String> = Vec::new();
            for item in JsonLinesReader::new(bytes, encoding, limits) {
                match item {
                    Ok(rec) => {
                        for k in rec.value.keys() {
                            if !columns.contains(k) {
                                columns.push(k.clone());
                            }
                        }
                        serde_json::to_writer(&mut out, &rec.value).map_err(|e| invalid(e.to_string()))?;
                        out.push(b'\n');
                        rows += 1;
                    }
                    Err(e) => {
                        if note(e, &mut problems) {
                            break;
                        }
                    }
                }
            }
            columns
        }
    };
    if total > 0 {
        return Err(malformed(&problems, total));
    }
    if rows == 0 {
        return Err(invalid("the content has no rows"));
    }
    Ok(Content { format, bytes: out, columns, rows })
}

/// Tags each column from a sample of the content (what the catalogue's schema shows).
pub fn profile(content: &[u8], format: Format, columns: &[String]) -> Vec<ColumnProfile> {
    let mut p = Profiler::new(columns);
    match format {
        Format::Csv => {
            let mut r = CsvReader::new(content, Encoding::Utf8, Limits::default());
            let _ = r.header();
            let mut rec = RecordBuf::default();
            let mut n = 0;
            while let Some(Ok(())) = r.read_into(&mut rec) {
                p.add_row(&rec.fields().collect::<Vec<_>>());
                n += 1;
                if n >= SAMPLE_ROWS {
                    break;
                }
            }
        }
        Format::JsonLines => {
            for rec in JsonLinesReader::new(content, Encoding::Utf8, Limits::default()).take(SAMPLE_ROWS).flatten() {
                let cells: Vec<String> = columns.iter().map(|c| rec.value.get(c).map(scalar_text).unwrap_or_default()).collect();
                p.add_row(&cells);
            }
        }
    }
    p.finish()
}

fn scalar_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The content with only `fields`, in the order asked (a consumer gets the columns it asked for
/// and nothing else). `limit` keeps at most that many rows (a preview).
pub fn project(content: &[u8], format: Format, fields: &[String], limit: Option<u64>) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(content.len() / 2);
    let limit = limit.unwrap_or(u64::MAX);
    match format {
        Format::Csv => {
            let mut r = CsvReader::new(content, Encoding::Utf8, Limits::default());
            let header = r.header().map_err(|e| malformed(&[e], 1))?;
            let idx: Vec<usize> = fields
                .iter()
                .map(|f| {
                    header.iter().position(|h| h == f).ok_or_else(|| Error::new(ErrorCode::InvalidDataRequest, format!("no column '{f}'")))
                })
                .collect::<Result<_, _>>()?;
            write_csv_record(fields, &mut out);
            let (mut rec, mut n) = (RecordBuf::default(), 0);
            while n < limit
                && let Some(item) = r.read_into(&mut rec)
            {
                item.map_err(|e| malformed(&[e], 1))?;
                write_csv_record(&idx.iter().map(|&i| if i < rec.len() { rec.field(i) } else { "" }).collect::<Vec<_>>(), &mut out);
                n += 1;
            }
        }
        Format::JsonLines => {
            for rec in JsonLinesReader::new(content, Encoding::Utf8, Limits::default()).take(limit.min(usize::MAX as u64) as usize) {
                let mut rec = rec.map_err(|e| malformed(&[e], 1))?;
                let row: serde_json::Map<String, serde_json::Value> =
                    fields.iter().filter_map(|f| rec.value.remove(f).map(|v| (f.clone(), v))).collect();
                serde_json::to_writer(&mut out, &row).map_err(|e| invalid(e.to_string()))?;
                out.push(b'\n');
            }
        }
    }
    Ok(out)
}

/// The pseudonym key of one consumer: pseudonyms are stable across that consumer's deliveries
/// and differ from every other consumer's (so two consumers cannot join their extracts on them).
pub fn consumer_key(platform_secret: &[u8], consumer: &str) -> PseudonymKey {
    let outer = PseudonymKey::new(platform_secret);
    PseudonymKey::new(&outer.hmac(format!("consumer:{consumer}").as_bytes()))
}

/// Where an access request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Waiting for the supplier.
    AwaitingSupplier,
    /// Important data: the supplier approved, the operator has yet to.
    AwaitingOperator,
    /// Approved and delivered (the fee is paid).
    Delivered,
    Rejected,
    /// Nobody decided within the request's window; its hold was released.
    Expired,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::AwaitingSupplier => "awaiting_supplier",
            RequestState::AwaitingOperator => "awaiting_operator",
            RequestState::Delivered => "delivered",
            RequestState::Rejected => "rejected",
            RequestState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<RequestState> {
        [Self::AwaitingSupplier, Self::AwaitingOperator, Self::Delivered, Self::Rejected, Self::Expired]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    pub fn is_open(self) -> bool {
        matches!(self, RequestState::AwaitingSupplier | RequestState::AwaitingOperator)
    }
}

/// Who decides a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decider {
    Supplier,
    Operator,
}

/// A request's first state: data opened unconditionally is delivered at once; the rest waits for its supplier.
pub fn first_state(mode: OpeningMode) -> RequestState {
    if mode == OpeningMode::Unconditional { RequestState::Delivered } else { RequestState::AwaitingSupplier }
}

/// The state after a decision. Important data (重要数据) needs the operator's approval after the
/// supplier's; either may reject while it is theirs to decide.
pub fn decide(state: RequestState, grade: Grade, who: Decider, approve: bool) -> Result<RequestState, Error> {
    let next = match (state, who, approve) {
        (RequestState::AwaitingSupplier, Decider::Supplier, true) if grade == Grade::Important => RequestState::AwaitingOperator,
        (RequestState::AwaitingSupplier, Decider::Supplier, true) | (RequestState::AwaitingOperator, Decider::Operator, true) => {
            RequestState::Delivered
        }
        (RequestState::AwaitingSupplier, Decider::Supplier, false) | (RequestState::AwaitingOperator, Decider::Operator, false) => {
            RequestState::Rejected
        }
        (s, who, _) => {
            let whose = match who {
                Decider::Supplier => "the supplier's",
                Decider::Operator => "the operator's",
            };
            return Err(Error::new(ErrorCode::DataRequestDecided, format!("the request is {}, not awaiting {whose} decision", s.as_str())));
        }
    };
    Ok(next)
}

/// A consumer's request as asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestSpec {
    pub purpose: String,
    pub fields: Vec<String>,
    /// Access period (unix ms, from inclusive, to exclusive): download links are made only within it.
    pub from_ms: i64,
    pub to_ms: i64,
}

impl RequestSpec {
    /// Checks the request against the data set's columns and the clock.
    pub fn validate(&self, columns: &[String], now_ms: i64) -> Result<(), Error> {
        let bad = |why: String| Error::new(ErrorCode::InvalidDataRequest, why);
        let purpose = self.purpose.trim().chars().count();
        if !(4..=1000).contains(&purpose) {
            return Err(bad("state the purpose in 4 to 1,000 characters".into()));
        }
        if self.fields.is_empty() {
            return Err(bad("ask for at least one field".into()));
        }
        for (i, f) in self.fields.iter().enumerate() {
            if !columns.contains(f) {
                return Err(bad(format!("the data set has no field '{}'", f.chars().take(64).collect::<String>())));
            }
            if self.fields[..i].contains(f) {
                return Err(bad(format!("the field '{f}' is asked for twice")));
            }
        }
        const DAY: i64 = 86_400_000;
        if self.to_ms <= self.from_ms || self.to_ms - self.from_ms > MAX_PERIOD_DAYS * DAY {
            return Err(bad(format!("the period must end after it starts and last at most {MAX_PERIOD_DAYS} days")));
        }
        if self.to_ms <= now_ms {
            return Err(bad("the period has already ended".into()));
        }
        Ok(())
    }
}

/// A column of a data set's schema, with what a sample of it held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// The kind of identifier the column holds (its cells are treated as that kind).
    pub kind: Option<Kind>,
    /// Identifiers found in the sampled cells, by kind.
    pub found: BTreeMap<Kind, u64>,
    pub sampled: u64,
}

impl From<&ColumnProfile> for Column {
    fn from(p: &ColumnProfile) -> Column {
        Column { name: p.name.clone(), kind: p.kind, found: p.found.clone(), sampled: p.sampled }
    }
}

/// A data set of the catalogue. Until its content is uploaded it has no rows and cannot be requested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSet {
    pub id: DataSetId,
    pub supplier_id: ProviderId,
    pub spec: DataSetSpec,
    /// `csv` or `jsonl`, once content is uploaded.
    pub format: Option<String>,
    pub columns: Vec<Column>,
    /// The first rows, de-identified under the set's own policy (none for data that is never delivered).
    pub preview: Option<String>,
    pub rows: u64,
    pub content_sha256: Option<String>,
    pub content_bytes: u64,
    pub created_ms: UnixMs,
    pub updated_ms: UnixMs,
}

impl DataSet {
    pub fn column_names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }
}

/// Whether a provider may supply data (市级数据开放共享供应商), as the operator decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupplierStatus {
    Admitted,
    Suspended,
}

impl SupplierStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SupplierStatus::Admitted => "admitted",
            SupplierStatus::Suspended => "suspended",
        }
    }

    pub fn parse(s: &str) -> Option<SupplierStatus> {
        [SupplierStatus::Admitted, SupplierStatus::Suspended].into_iter().find(|x| x.as_str() == s)
    }
}

/// A provider's admission as a data supplier, for the domains it was admitted in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supplier {
    pub provider_id: ProviderId,
    pub status: SupplierStatus,
    pub domains: Vec<String>,
    pub reason: String,
    pub decided_by: String,
    pub decided_ms: UnixMs,
}

impl Supplier {
    /// Whether it may offer (and deliver) data in a domain now.
    pub fn may_supply(&self, domain: &str) -> bool {
        self.status == SupplierStatus::Admitted && self.domains.iter().any(|d| d == domain)
    }
}

/// One step of a request's review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// `supplier` or `operator`.
    pub step: String,
    pub by: String,
    pub approve: bool,
    pub reason: String,
    pub at_ms: UnixMs,
}

/// A consumer's request for a data set, with its fee's hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataRequest {
    pub id: DataRequestId,
    pub data_set_id: DataSetId,
    pub tenant_id: TenantId,
    pub supplier_id: ProviderId,
    pub spec: RequestSpec,
    pub state: RequestState,
    /// The fee, and how it is paid: the voucher's share and cash (held until the decision).
    pub fee: Fen,
    pub voucher: Fen,
    pub cash: Fen,
    pub programme_id: Option<String>,
    pub decisions: Vec<Decision>,
    pub created_ms: UnixMs,
    /// An open request not decided by then expires, and its hold is released.
    pub expires_ms: UnixMs,
    pub updated_ms: UnixMs,
}

impl DataRequest {
    /// The state as of `now` (an open request past its window has expired).
    pub fn state_at(&self, now: UnixMs) -> RequestState {
        if self.state.is_open() && now >= self.expires_ms { RequestState::Expired } else { self.state }
    }
}

/// A de-identified extract delivered to a consumer: who got which columns under which policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: DeliveryId,
    pub request_id: DataRequestId,
    pub data_set_id: DataSetId,
    pub tenant_id: TenantId,
    pub supplier_id: ProviderId,
    pub columns: Vec<String>,
    pub policy: Policy,
    /// What the de-identification found and did (kinds, operators, k reached, risk).
    pub report: serde_json::Value,
    pub format: String,
    pub sha256: String,
    pub bytes: u64,
    pub fee: Fen,
    pub voucher: Fen,
    pub cash: Fen,
    pub programme_id: Option<String>,
    pub access_from_ms: UnixMs,
    pub access_to_ms: UnixMs,
    pub created_ms: UnixMs,
    pub statement_id: Option<String>,
}

#[cfg(test)]
mod tests;
