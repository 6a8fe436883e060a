//! Meter readings from a CSV file (`centre_id,meter,ts|ts_ms,kwh|kw|m3`): rows, the objects of the JSON readings API, or typed readings, with the line of every fault.

use crate::meter::{MeterId, Reading, ReadingValue};
use serde_json::{Value, json};

/// When a row's reading was taken, as its column gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum RowTime {
    /// `ts_ms`: unix milliseconds.
    Ms(i64),
    /// `ts`: RFC 3339 text, as written.
    Text(String),
}

/// One row of the file: its line (1 = the header), centre id and meter as written, time and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub line: usize,
    pub centre_id: String,
    pub meter: String,
    pub ts: RowTime,
    /// `kwh`, `kw` or `m3`: the column the header names.
    pub unit: &'static str,
    pub value: f64,
}

/// What is wrong with an imported file: its line (none for the file as a whole) and the fault.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvError {
    pub line: Option<usize>,
    pub fault: CsvFault,
}

/// A fault of a readings file, each with its words (pages put their own in other languages).
#[derive(Debug, Clone, PartialEq)]
pub enum CsvFault {
    Empty,
    /// The header lacks this column (`centre_id`, `meter`, or `ts`/`ts_ms`).
    NoColumn(&'static str),
    /// The header names none of `kwh`, `kw`, `m3`.
    NoValueColumn,
    TooFewFields,
    /// The value, as written.
    NotANumber(String),
    TsMsNotInteger,
    /// The time, as written.
    TsNotRfc3339(String),
    /// The meter id, as written (at most 64 characters).
    BadMeter(String),
    /// The centre id, as written (at most 64 characters).
    BadCentre(String),
}

impl std::fmt::Display for CsvFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CsvFault::Empty => f.write_str("the file is empty"),
            CsvFault::NoColumn("ts") => f.write_str("the header has no ts (RFC 3339) or ts_ms column"),
            CsvFault::NoColumn(c) => write!(f, "the header has no {c} column"),
            CsvFault::NoValueColumn => f.write_str("the header names no value column: kwh, kw or m3"),
            CsvFault::TooFewFields => f.write_str("too few fields"),
            CsvFault::NotANumber(v) => write!(f, "'{v}' is not a number"),
            CsvFault::TsMsNotInteger => f.write_str("ts_ms is not an integer"),
            CsvFault::TsNotRfc3339(t) => write!(f, "ts must be RFC 3339 (2026-05-01T08:00:00+08:00), not '{t}'"),
            CsvFault::BadMeter(m) => write!(f, "'{m}' is not a meter id (1 to 64 characters from ASCII letters, digits and -_.:/)"),
            CsvFault::BadCentre(c) => write!(f, "'{c}' is not a centre id"),
        }
    }
}

impl std::fmt::Display for CsvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(n) => write!(f, "line {n}: {}", self.fault),
            None => self.fault.fmt(f),
        }
    }
}

fn whole(fault: CsvFault) -> CsvError {
    CsvError { line: None, fault }
}

/// Reads the CSV's rows; an error names its line.
pub fn rows(text: &str) -> Result<Vec<Row>, CsvError> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or(whole(CsvFault::Empty))?;
    let cols: Vec<String> = header.split(',').map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase()).collect();
    let pos = |name: &str| cols.iter().position(|c| c == name);
    let centre = pos("centre_id").ok_or(whole(CsvFault::NoColumn("centre_id")))?;
    let meter = pos("meter").ok_or(whole(CsvFault::NoColumn("meter")))?;
    let (ts_col, ts_ms) = match (pos("ts"), pos("ts_ms")) {
        (Some(i), _) => (i, false),
        (None, Some(i)) => (i, true),
        _ => return Err(whole(CsvFault::NoColumn("ts"))),
    };
    let (value, unit) = ["kwh", "kw", "m3"].iter().find_map(|u| pos(u).map(|i| (i, *u))).ok_or(whole(CsvFault::NoValueColumn))?;
    let mut out = Vec::new();
    for (n, line) in lines {
        let at = |fault| CsvError { line: Some(n + 1), fault };
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let get = |i: usize| f.get(i).copied().ok_or_else(|| at(CsvFault::TooFewFields));
        let raw = get(value)?;
        let v: f64 = raw.parse().map_err(|_| at(CsvFault::NotANumber(raw.chars().take(64).collect())))?;
        let ts = if ts_ms {
            RowTime::Ms(get(ts_col)?.parse::<i64>().map_err(|_| at(CsvFault::TsMsNotInteger))?)
        } else {
            RowTime::Text(get(ts_col)?.to_string())
        };
        out.push(Row { line: n + 1, centre_id: get(centre)?.to_string(), meter: get(meter)?.to_string(), ts, unit, value: v });
    }
    Ok(out)
}

/// Parses the CSV into reading objects of `POST /api/v1/energy/readings`; an error names its line.
pub fn parse_readings(text: &str) -> Result<Vec<Value>, String> {
    Ok(rows(text)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|r| {
            let mut o = json!({"centre_id": r.centre_id, "meter": r.meter, r.unit: r.value});
            match r.ts {
                RowTime::Ms(ms) => o["ts_ms"] = json!(ms),
                RowTime::Text(t) => o["ts"] = json!(t),
            }
            o
        })
        .collect())
}

/// The rows as readings, each with its line and centre id as written: the time read (RFC 3339
/// or unix ms) and the meter id checked; an error names its line.
pub fn readings(text: &str) -> Result<Vec<(usize, String, Reading)>, CsvError> {
    rows(text)?
        .into_iter()
        .map(|r| {
            let at = |fault| CsvError { line: Some(r.line), fault };
            let ts_ms = match &r.ts {
                RowTime::Ms(ms) => *ms,
                RowTime::Text(t) => {
                    suanli_core::time::parse_rfc3339(t).ok_or_else(|| at(CsvFault::TsNotRfc3339(t.chars().take(64).collect())))?
                }
            };
            let meter = MeterId::parse(&r.meter).map_err(|_| at(CsvFault::BadMeter(r.meter.chars().take(64).collect())))?;
            let value = match r.unit {
                "kw" => ReadingValue::InstantKw(r.value),
                "m3" => ReadingValue::CumulativeM3(r.value),
                _ => ReadingValue::CumulativeKwh(r.value),
            };
            Ok((r.line, r.centre_id, Reading { meter, ts_ms, value }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_from_csv_with_line_numbers() {
        let ok = parse_readings("centre_id,meter,ts_ms,kwh\nctr_1,facility,1000,5.5\n\nctr_1,it,2000,4\n").unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1], json!({"centre_id": "ctr_1", "meter": "it", "ts_ms": 2000, "kwh": 4.0}));
        assert_eq!(parse_readings("centre_id,meter,ts,kw\nc,m,2026-01-01T00:00:00Z,1").unwrap()[0]["ts"], "2026-01-01T00:00:00Z");
        for (text, want) in [
            ("", "empty"),
            ("meter,ts,kwh\n", "centre_id"),
            ("centre_id,meter,ts_ms,kwh\nc,m,1,x\n", "line 2"),
            ("centre_id,meter,ts_ms,kwh\nc,m\n", "line 2: too few"),
            ("centre_id,meter,ts_ms,kwh\nc,m,1.5,1\n", "ts_ms"),
            ("centre_id,meter,ts_ms\n", "value column"),
        ] {
            assert!(parse_readings(text).unwrap_err().contains(want), "{text:?}");
        }
    }

    #[test]
    fn typed_readings_name_their_lines() {
        let ok = readings(
            "\u{feff}centre_id,meter,ts,kw\nctr_1,facility,2026-01-01T08:00:00+08:00,12.5\n\nctr_1,it,2026-01-01T09:00:00+08:00,10\n",
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!((ok[0].0, ok[1].0, ok[1].1.as_str()), (2, 4, "ctr_1"));
        assert_eq!(ok[0].2.ts_ms, 1_767_225_600_000);
        assert_eq!(ok[1].2.value, ReadingValue::InstantKw(10.0));
        let e = readings("centre_id,meter,ts,kwh\nc,m,yesterday,1\n").unwrap_err();
        assert_eq!((e.line, e.fault), (Some(2), CsvFault::TsNotRfc3339("yesterday".into())));
        assert_eq!(readings("centre_id,meter,ts_ms,m3\nc,m,1,1\nc,bad meter!,2,1\n").unwrap_err().line, Some(3));
        assert_eq!(readings("meter,ts,kwh\n").unwrap_err(), CsvError { line: None, fault: CsvFault::NoColumn("centre_id") });
    }
}
