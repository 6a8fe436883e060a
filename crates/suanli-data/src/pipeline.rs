//! A whole delivery: profile a sample, gather quasi-identifiers (when k-anonymity is asked), then
//! de-identify every row into the caller's writer. The caller opens the input (twice with k-anonymity).

use crate::error::DataError;
use crate::kind::Kind;
use crate::ops::PseudonymKey;
use crate::policy::Policy;
use crate::reader::{CsvReader, Encoding, JsonLinesReader, Limits, RecordBuf, push_csv_field, write_csv_record};
use crate::table::{Deidentifier, Profiler, Report, SAMPLE_ROWS};
use serde::Serialize;
use serde_json::{Map, Value};
use std::io::{BufRead, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

/// How to read and what to guarantee.
#[derive(Debug, Clone)]
pub struct Options {
    pub format: Format,
    pub encoding: Encoding,
    pub limits: Limits,
    /// Quasi-identifier columns (CSV headers or top-level JSON keys).
    pub quasi: Vec<String>,
    /// The k to reach over `quasi` (defaults to the policy's).
    pub k: Option<usize>,
    /// Rows of quasi-identifiers held in memory at most.
    pub max_quasi_rows: usize,
    pub sample_rows: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            format: Format::Csv,
            encoding: Encoding::Utf8,
            limits: Limits::default(),
            quasi: Vec::new(),
            k: None,
            max_quasi_rows: 10_000_000,
            sample_rows: SAMPLE_ROWS,
        }
    }
}

/// A row the reader refused: never delivered, always reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowProblem {
    pub line: u64,
    pub code: &'static str,
    pub message: String,
}

/// What a run did: the report and every refused row (the first 1,000 kept in full).
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub report: Report,
    pub problems: Vec<RowProblem>,
}

const PROBLEMS_KEPT: usize = 1000;

/// Rows as a uniform stream of (line, fields) whatever the format; JSON rows keep their object.
enum Row {
    Csv(Vec<String>),
    Json(Map<String, Value>),
}

type Rows<'a> = Box<dyn Iterator<Item = Result<(Row, u64), DataError>> + 'a>;

fn rows<'a, R: BufRead + 'a>(r: R, opts: &Options) -> Result<(Vec<String>, Rows<'a>), DataError> {
    match opts.format {
        Format::Csv => {
            let mut c = CsvReader::new(r, opts.encoding, opts.limits);
            let header = c.header()?;
            Ok((header, Box::new(c.map(|r| r.map(|r| (Row::Csv(r.fields), r.line))))))
        }
        Format::JsonLines => {
            let j = JsonLinesReader::new(r, opts.encoding, opts.limits);
            Ok((Vec::new(), Box::new(j.map(|r| r.map(|r| (Row::Json(r.value), r.line))))))
        }
    }
}

/// A JSON value as a cell's text (nested values have none: they are walked instead).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A row's cells by column, adding columns for JSON keys not seen before.
fn cells(row: &Row, columns: &mut Vec<String>, grow: bool) -> Vec<String> {
    match row {
        Row::Csv(f) => f.clone(),
        Row::Json(m) => {
            if grow {
                for k in m.keys() {
                    if !columns.contains(k) {
                        columns.push(k.clone());
                    }
                }
            }
            columns.iter().map(|c| m.get(c).and_then(scalar).unwrap_or_default()).collect()
        }
    }
}

fn fatal(e: &DataError) -> bool {
    !matches!(e, DataError::Row { kind, .. } if !kind.is_fatal())
}

/// Runs a delivery. `open` opens the input from its start (the caller may count bytes for progress).
pub fn deidentify<R: BufRead, W: Write>(
    open: &mut dyn FnMut() -> std::io::Result<R>,
    out: &mut W,
    policy: Policy,
    key: Option<PseudonymKey>,
    opts: &Options,
) -> Result<Outcome, DataError> {
    let reopen = |open: &mut dyn FnMut() -> std::io::Result<R>| open().map_err(|e| DataError::Read(e.to_string()));
    let (mut columns, mut first) = rows(reopen(open)?, opts)?;
    let mut sample = Vec::new();
    for item in first.by_ref() {
        match item {
            Ok((row, _)) => sample.push(cells(&row, &mut columns, true)),
            Err(e) if fatal(&e) => return Err(e),
            Err(_) => {}
        }
        if sample.len() >= opts.sample_rows {
            break;
        }
    }
    let mut profiler = Profiler::new(&columns);
    sample.iter().for_each(|r| profiler.add_row(r));
    let k = opts.k.or(policy.k);
    let share = policy.max_suppressed_share;
    let mut deid = Deidentifier::new(policy, key, profiler.finish(), &opts.quasi)?;
    if !opts.quasi.is_empty() {
        let k = k.ok_or_else(|| DataError::InvalidPolicy("quasi-identifiers are given but no k: pass --k".into()))?;
        let mut table = deid.quasi_table(&sample, opts.max_quasi_rows);
        for row in &sample {
            table.push(&deid.quasi_values(row))?;
        }
        for item in first {
            match item {
                Ok((row, _)) => table.push(&deid.quasi_values(&cells(&row, &mut columns, false)))?,
                Err(e) if fatal(&e) => return Err(e),
                Err(_) => {}
            }
        }
        deid.set_plan(table.solve(k, share));
    }
    second_pass(reopen(open)?, out, &mut deid, &columns, opts)
}

/// Counts and keeps a refused row; a fatal or non-row error ends the delivery.
fn refuse(e: DataError, deid: &mut Deidentifier, problems: &mut Vec<RowProblem>) -> Result<(), DataError> {
    match e {
        DataError::Row { line, kind, message } if !kind.is_fatal() => {
            deid.malformed();
            if problems.len() < PROBLEMS_KEPT {
                problems.push(RowProblem { line, code: kind.as_str(), message });
            }
            Ok(())
        }
        e => Err(e),
    }
}

const FLUSH_BYTES: usize = 1 << 16;

fn second_pass<R: BufRead, W: Write>(
    r: R,
    out: &mut W,
    deid: &mut Deidentifier,
    columns: &[String],
    opts: &Options,
) -> Result<Outcome, DataError> {
    let write = |out: &mut W, buf: &mut Vec<u8>| {
        out.write_all(buf).map_err(|e| DataError::Write(e.to_string()))?;
        buf.clear();
        Ok::<(), DataError>(())
    };
    let (mut buf, mut problems, mut index) = (Vec::with_capacity(2 * FLUSH_BYTES), Vec::new(), 0usize);
    if opts.format == Format::Csv {
        let mut reader = CsvReader::new(r, opts.encoding, opts.limits);
        write_csv_record(&reader.header()?, &mut buf);
        write(out, &mut buf)?;
        let (mut rec, mut cell, mut text) = (RecordBuf::default(), String::new(), String::with_capacity(2 * FLUSH_BYTES));
        while let Some(item) = reader.read_into(&mut rec) {
            match item {
                Ok(()) => {
                    if deid.begin_row(index) {
                        csv_row(deid, &rec, &mut cell, &mut text);
                    }
                    index += 1;
                }
                Err(e) => refuse(e, deid, &mut problems)?,
            }
            if text.len() >= FLUSH_BYTES {
                out.write_all(text.as_bytes()).map_err(|e| DataError::Write(e.to_string()))?;
                text.clear();
            }
        }
        out.write_all(text.as_bytes()).map_err(|e| DataError::Write(e.to_string()))?;
    } else {
        for item in JsonLinesReader::new(r, opts.encoding, opts.limits) {
            match item {
                Ok(rec) => {
                    if deid.begin_row(index) {
                        serde_json::to_writer(&mut buf, &json_row(deid, columns, rec.value))
                            .map_err(|e| DataError::Write(e.to_string()))?;
                        buf.push(b'\n');
                    }
                    index += 1;
                }
                Err(e) => refuse(e, deid, &mut problems)?,
            }
            if buf.len() >= FLUSH_BYTES {
                write(out, &mut buf)?;
            }
        }
    }
    write(out, &mut buf)?;
    out.flush().map_err(|e| DataError::Write(e.to_string()))?;
    Ok(Outcome { report: deid.report(), problems })
}

/// Appends a de-identified CSV row to `text`. A plain record's values go straight in: nothing in it
/// needs quoting, and no operator writes a comma, a quote or a line break.
fn csv_row(deid: &mut Deidentifier, rec: &RecordBuf, cell: &mut String, text: &mut String) {
    for (c, v) in rec.fields().enumerate() {
        if c > 0 {
            text.push(',');
        }
        if rec.plain() {
            deid.field_into(Some(c), v, text);
        } else {
            cell.clear();
            deid.field_into(Some(c), v, cell);
            push_csv_field(cell, text);
        }
    }
    text.push_str("\r\n");
}

/// A JSON row: top-level values by their column, nested strings and numbers as free text.
fn json_row(deid: &mut Deidentifier, columns: &[String], m: Map<String, Value>) -> Map<String, Value> {
    m.into_iter()
        .map(|(k, v)| {
            let col = columns.iter().position(|c| *c == k);
            let v = match (&v, scalar(&v)) {
                (Value::Bool(_), _) => v,
                (_, Some(text)) => {
                    let out = deid.field(col, &text);
                    if out == text { v } else { Value::String(out) }
                }
                _ => walk(deid, v),
            };
            (k, v)
        })
        .collect()
}

fn walk(deid: &mut Deidentifier, v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(deid.text(&s)),
        Value::Number(n) => {
            let text = n.to_string();
            let out = deid.text(&text);
            if out == text { Value::Number(n) } else { Value::String(out) }
        }
        Value::Array(a) => Value::Array(a.into_iter().map(|v| walk(deid, v)).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, walk(deid, v))).collect()),
        other => other,
    }
}

/// Kinds found, as (kind, count) in report order.
pub fn found(report: &Report) -> Vec<(Kind, u64)> {
    Kind::ALL.iter().filter_map(|k| report.found.get(k).map(|n| (*k, *n))).collect()
}

#[cfg(test)]
mod tests;
