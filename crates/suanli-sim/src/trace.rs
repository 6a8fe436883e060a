//! Readers of two public GPU job traces (Microsoft Philly, Alibaba openb) into one job list.
//!
//! Both are plain CSV without embedded newlines. The readers are strict by default: a
//! malformed row is an error naming its line, field and value, because a silently dropped
//! row changes every figure a replay reports. `skip_invalid` turns those errors into
//! [`Skipped`] entries for traces that are known to be dirty.
//!
//! Provenance of the real files (see the project's shared data notes):
//! - Philly: siasosp23/artifacts, `sia-simulator/traces/philly.csv`, a job-level extract of
//!   msr-fiddle/philly-traces (CC-BY-4.0).
//! - Alibaba: alibaba/clusterdata, `cluster-trace-gpu-v2023/csv/openb_pod_list_default.csv`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use suanli_core::time::{days_from_civil, days_in_month};

/// Gang sizes above this are treated as corrupt: no real cluster in these traces comes near it,
/// and it keeps `gpus` comfortably inside `u32` arithmetic downstream.
const MAX_GPUS: u64 = 100_000;

const PHILLY_COLUMNS: [&str; 5] = ["timestamp", "duration", "num_gpus", "gpu_time", "cluster"];
const ALIBABA_COLUMNS: [&str; 11] = [
    "name",
    "cpu_milli",
    "memory_mib",
    "num_gpu",
    "gpu_milli",
    "gpu_spec",
    "qos",
    "pod_phase",
    "creation_time",
    "deletion_time",
    "scheduled_time",
];

/// Which trace a text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TraceFormat {
    Philly,
    AlibabaOpenb,
}

impl TraceFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            TraceFormat::Philly => "philly",
            TraceFormat::AlibabaOpenb => "alibaba-openb",
        }
    }

    fn columns(self) -> &'static [&'static str] {
        match self {
            TraceFormat::Philly => &PHILLY_COLUMNS,
            TraceFormat::AlibabaOpenb => &ALIBABA_COLUMNS,
        }
    }
}

impl fmt::Display for TraceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TraceFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<TraceFormat, String> {
        match s.trim() {
            "philly" => Ok(TraceFormat::Philly),
            "alibaba-openb" => Ok(TraceFormat::AlibabaOpenb),
            other => Err(format!("unknown trace format '{}' (expected 'philly' or 'alibaba-openb')", clip(other))),
        }
    }
}

/// One job of a trace, normalised across formats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceJob {
    /// 0.. in file order of the valid rows, assigned before sorting and before `max_jobs`,
    /// so a job keeps its id however the trace is cut.
    pub id: u64,
    /// 1-based line number in the file.
    pub line: usize,
    /// Philly: the virtual cluster id; Alibaba: `qos:<qos>`.
    pub tenant: String,
    /// Seconds since the earliest valid arrival in the whole file (the first job arrives at 0).
    pub arrival_s: f64,
    /// Run time in seconds, always > 0.
    pub duration_s: f64,
    /// Gang size in whole accelerators, at least 1.
    pub gpus: u32,
    /// 1.0, or `gpu_milli / 1000` for an Alibaba pod sharing one GPU.
    pub gpu_fraction: f64,
    /// Accepted GPU models (Alibaba `gpu_spec` split on '|'); empty means any.
    pub gpu_models: Vec<String>,
}

/// How forgiving a read is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Record malformed rows in [`Trace::skipped`] instead of failing on the first one.
    pub skip_invalid: bool,
    /// Keep only the first N jobs by arrival (after sorting), e.g. for a quick replay.
    pub max_jobs: Option<usize>,
}

/// A parsed trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub format: TraceFormat,
    /// Sorted by `arrival_s`, ties by `line`.
    pub jobs: Vec<TraceJob>,
    /// Rows not turned into jobs, in file order: CPU-only Alibaba pods (reason "no GPU") and,
    /// with `skip_invalid`, malformed rows. Jobs cut by `max_jobs` are not listed.
    pub skipped: Vec<Skipped>,
}

/// A row that did not become a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub line: usize,
    pub reason: String,
}

/// Why a trace could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceError {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for TraceError {}

/// Reads a whole trace text.
///
/// The header (the first non-blank line) must list exactly the format's columns in the
/// format's order. Blank lines are ignored, `\r\n` endings and a UTF-8 byte-order mark are
/// accepted. Never panics, whatever the text.
pub fn read_trace(text: &str, format: TraceFormat, opts: &ReadOptions) -> Result<Trace, TraceError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines =
        text.split('\n').enumerate().map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l))).filter(|(_, l)| !l.trim().is_empty());

    let Some((header_line, header)) = lines.next() else {
        return Err(TraceError { line: 1, message: format!("empty trace: expected the header {}", format.columns().join(",")) });
    };
    check_header(header, format.columns()).map_err(|message| TraceError { line: header_line, message })?;

    let mut jobs: Vec<TraceJob> = Vec::new();
    let mut skipped = Vec::new();
    for (line, row) in lines {
        let parsed = split_csv(row).and_then(|fields| {
            if fields.len() != format.columns().len() {
                return Err(format!("expected {} fields, found {}", format.columns().len(), fields.len()));
            }
            match format {
                TraceFormat::Philly => philly_row(&fields),
                TraceFormat::AlibabaOpenb => alibaba_row(&fields),
            }
        });
        match parsed {
            Ok(Row::Job(raw)) => jobs.push(TraceJob {
                id: jobs.len() as u64,
                line,
                tenant: raw.tenant,
                arrival_s: raw.arrival_abs_s,
                duration_s: raw.duration_s,
                gpus: raw.gpus,
                gpu_fraction: raw.gpu_fraction,
                gpu_models: raw.gpu_models,
            }),
            Ok(Row::Skip(reason)) => skipped.push(Skipped { line, reason }),
            Err(message) if opts.skip_invalid => skipped.push(Skipped { line, reason: message }),
            Err(message) => return Err(TraceError { line, message }),
        }
    }

    // Relative to the earliest arrival: Philly times are ~1.5e9 s since 1970, and a replay
    // wants its clock to start at the first job rather than in 1970.
    let t0 = jobs.iter().map(|j| j.arrival_s).fold(f64::INFINITY, f64::min);
    for j in &mut jobs {
        j.arrival_s -= t0;
    }
    jobs.sort_by(|a, b| a.arrival_s.total_cmp(&b.arrival_s).then(a.line.cmp(&b.line)));
    if let Some(n) = opts.max_jobs {
        jobs.truncate(n);
    }
    Ok(Trace { format, jobs, skipped })
}

/// A data row before its arrival is made relative.
struct RawJob {
    tenant: String,
    arrival_abs_s: f64,
    duration_s: f64,
    gpus: u32,
    gpu_fraction: f64,
    gpu_models: Vec<String>,
}

enum Row {
    Job(RawJob),
    /// Well-formed but deliberately not a job (a CPU-only pod).
    Skip(String),
}

fn check_header(header: &str, expected: &[&str]) -> Result<(), String> {
    let found: Vec<String> = split_csv(header)?.into_iter().map(|c| c.trim().to_string()).collect();
    let want = expected.join(",");
    if let Some(unknown) = found.iter().find(|c| !expected.contains(&c.as_str())) {
        return Err(format!("unknown column '{}' in the header (expected {want})", clip(unknown)));
    }
    if let Some(missing) = expected.iter().find(|c| !found.iter().any(|f| f == *c)) {
        return Err(format!("missing column '{missing}' in the header (expected {want})"));
    }
    for (i, c) in found.iter().enumerate() {
        if found[..i].contains(c) {
            return Err(format!("duplicate column '{c}' in the header (expected {want})"));
        }
    }
    if found.iter().map(String::as_str).ne(expected.iter().copied()) {
        return Err(format!("columns out of order: found {}, expected {want}", found.join(",")));
    }
    Ok(())
}

/// Splits one CSV line; double-quoted fields with `""` escapes are honoured, though neither
/// real trace uses them, so a job name with a comma would still read.
fn split_csv(line: &str) -> Result<Vec<String>, String> {
    if !line.contains('"') {
        return Ok(line.split(',').map(str::to_string).collect());
    }
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("unterminated quoted field".to_string());
    }
    fields.push(field);
    Ok(fields)
}

fn philly_row(f: &[String]) -> Result<Row, String> {
    let arrival_abs_s = parse_civil(f[0].trim()).ok_or_else(|| bad(&f[0], "timestamp", "is not a time like 2017-10-09 07:01:55"))?;
    let duration_s = positive("duration", &f[1])?;
    let gpus = gang("num_gpus", &f[2])?;
    // gpu_time is num_gpus x duration in the source; it is checked for shape but not used,
    // since the two columns it derives from are authoritative.
    let gpu_time = number("gpu_time", &f[3])?;
    if gpu_time < 0.0 {
        return Err(bad(&f[3], "gpu_time", "must not be negative"));
    }
    let tenant = f[4].trim();
    if tenant.is_empty() {
        return Err("cluster is empty".to_string());
    }
    Ok(Row::Job(RawJob { tenant: tenant.to_string(), arrival_abs_s, duration_s, gpus, gpu_fraction: 1.0, gpu_models: Vec::new() }))
}

/// An Alibaba openb pod.
///
/// Duration rule: `deletion_time - scheduled_time`, the time the pod held its GPU. A pod that
/// never ran (Pending at trace end) has an empty `scheduled_time`; 0 is treated the same way,
/// because a pod cannot be scheduled before it is created, so 0 with a later `creation_time`
/// can only be a placeholder (and when `creation_time` is also 0 the two rules agree). Such a
/// pod gets `deletion_time - creation_time`: its demand is unknown and the time it waited is
/// the only duration the trace offers.
fn alibaba_row(f: &[String]) -> Result<Row, String> {
    let num_gpu = whole("num_gpu", &f[3])?;
    if num_gpu == 0 {
        return Ok(Row::Skip("no GPU".to_string()));
    }
    let gpus = gang("num_gpu", &f[3])?;
    let milli = whole("gpu_milli", &f[4])?;
    if milli == 0 || milli > 1000 {
        return Err(bad(&f[4], "gpu_milli", "must be between 1 and 1000"));
    }
    if milli < 1000 && gpus > 1 {
        return Err(bad(&f[4], "gpu_milli", "below 1000 is a share of one GPU, but num_gpu is more than 1"));
    }
    let gpu_models = f[5].split('|').map(str::trim).filter(|m| !m.is_empty()).map(str::to_string).collect();
    let qos = f[6].trim();
    if qos.is_empty() {
        return Err("qos is empty".to_string());
    }
    let creation = time_of("creation_time", &f[8])?;
    let deletion = time_of("deletion_time", &f[9])?;
    let sched_text = f[10].trim();
    let (start, start_field) = if sched_text.is_empty() || number("scheduled_time", sched_text)? == 0.0 {
        (creation, "creation_time")
    } else {
        let s = time_of("scheduled_time", sched_text)?;
        if s < creation {
            return Err(format!("scheduled_time '{}' is before creation_time '{}'", clip(sched_text), clip(f[8].trim())));
        }
        (s, "scheduled_time")
    };
    let duration_s = deletion - start;
    if duration_s.is_nan() || duration_s <= 0.0 {
        return Err(format!("duration (deletion_time - {start_field}) is {duration_s}, must be greater than 0"));
    }
    Ok(Row::Job(RawJob {
        tenant: format!("qos:{qos}"),
        arrival_abs_s: creation,
        duration_s,
        gpus,
        gpu_fraction: milli as f64 / 1000.0,
        gpu_models,
    }))
}

/// Keeps error messages short when a field holds garbage.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(MAX).collect();
        c.push('…');
        c
    }
}

fn bad(value: &str, field: &str, why: &str) -> String {
    format!("{field} '{}' {why}", clip(value.trim()))
}

fn number(field: &str, value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(bad(value, field, "is not a finite number")),
    }
}

fn positive(field: &str, value: &str) -> Result<f64, String> {
    let v = number(field, value)?;
    if v > 0.0 { Ok(v) } else { Err(bad(value, field, "must be greater than 0")) }
}

fn time_of(field: &str, value: &str) -> Result<f64, String> {
    let v = number(field, value)?;
    if v < 0.0 {
        return Err(bad(value, field, "must not be negative"));
    }
    Ok(v)
}

fn whole(field: &str, value: &str) -> Result<u64, String> {
    value.trim().parse::<u64>().map_err(|_| bad(value, field, "is not a whole number"))
}

fn gang(field: &str, value: &str) -> Result<u32, String> {
    let n = whole(field, value)?;
    if n == 0 {
        return Err(bad(value, field, "must be at least 1"));
    }
    if n > MAX_GPUS {
        return Err(bad(value, field, &format!("exceeds {MAX_GPUS}")));
    }
    u32::try_from(n).map_err(|_| bad(value, field, "is too large"))
}

/// Parses "YYYY-MM-DD HH:MM:SS" (a 'T' separator is accepted too) as seconds since
/// 1970-01-01 00:00:00 of the same wall clock.
///
/// The zone is unknown and deliberately ignored: only differences between arrivals matter.
/// Around a daylight-saving change the local clock repeats or skips an hour, which can
/// misorder or shift arrivals by up to an hour there; the trace offers nothing better.
fn parse_civil(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b' ' || b[10] == b'T') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0i64, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0')))
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some((days * 86_400 + h * 3_600 + mi * 60 + sec) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PH: &str = "timestamp,duration,num_gpus,gpu_time,cluster\n";
    const AL: &str = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n";

    fn strict() -> ReadOptions {
        ReadOptions::default()
    }

    fn lenient() -> ReadOptions {
        ReadOptions { skip_invalid: true, max_jobs: None }
    }

    #[test]
    fn format_names_round_trip() {
        for f in [TraceFormat::Philly, TraceFormat::AlibabaOpenb] {
            assert_eq!(f.as_str().parse::<TraceFormat>(), Ok(f));
            assert_eq!(f.to_string(), f.as_str());
        }
        assert!("csv".parse::<TraceFormat>().unwrap_err().contains("'csv'"));
    }

    #[test]
    fn civil_dates() {
        let cases: &[(&str, Option<f64>)] = &[
            ("1970-01-01 00:00:00", Some(0.0)),
            ("1970-01-02 00:00:01", Some(86_401.0)),
            ("2000-03-01 00:00:00", Some(951_868_800.0)),
            ("2017-10-09 07:01:55", Some(1_507_532_515.0)),
            ("2016-02-29 12:00:00", Some(1_456_747_200.0)),
            ("1969-12-31 23:59:59", Some(-1.0)),
            ("2017-02-29 00:00:00", None),
            ("1900-02-29 00:00:00", None),
            ("2017-13-01 00:00:00", None),
            ("2017-00-01 00:00:00", None),
            ("2017-04-31 00:00:00", None),
            ("2017-10-09 24:00:00", None),
            ("2017-10-09 07:60:00", None),
            ("2017-10-09 07:01:60", None),
            ("2017-10-09 07:01", None),
            ("2017/10/09 07:01:55", None),
            ("2017-1a-09 07:01:55", None),
            ("２017-10-09 07:01:5", None),
            ("", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_civil(s), *want, "{s}");
        }
    }

    #[test]
    fn philly_sorts_and_makes_arrivals_relative() {
        let text = format!(
            "{PH}2017-10-09 07:01:55,66.0,1,66.0,11cb48\n\
             2017-10-09 06:13:03,2951.0,4,11804.0,6214e9\r\n\
             \n\
             2017-10-09 06:13:03,10,2,20,aaa\n\n"
        );
        let t = read_trace(&text, TraceFormat::Philly, &strict()).unwrap();
        assert!(t.skipped.is_empty());
        let got: Vec<(u64, usize, &str, f64, f64, u32)> =
            t.jobs.iter().map(|j| (j.id, j.line, j.tenant.as_str(), j.arrival_s, j.duration_s, j.gpus)).collect();
        assert_eq!(got, vec![(1, 3, "6214e9", 0.0, 2951.0, 4), (2, 5, "aaa", 0.0, 10.0, 2), (0, 2, "11cb48", 2932.0, 66.0, 1),]);
        assert!(t.jobs.iter().all(|j| j.gpu_fraction == 1.0 && j.gpu_models.is_empty()));
    }

    #[test]
    fn max_jobs_keeps_the_earliest() {
        let text = format!("{PH}2017-10-09 09:00:00,5,1,5,c\n2017-10-09 07:00:00,5,1,5,a\n2017-10-09 08:00:00,5,1,5,b\n");
        let opts = ReadOptions { skip_invalid: false, max_jobs: Some(2) };
        let t = read_trace(&text, TraceFormat::Philly, &opts).unwrap();
        let tenants: Vec<&str> = t.jobs.iter().map(|j| j.tenant.as_str()).collect();
        assert_eq!(tenants, ["a", "b"]);
        assert_eq!(t.jobs[1].arrival_s, 3600.0);
    }

    #[test]
    fn philly_bad_rows() {
        let cases: &[(&str, usize, &str)] = &[
            ("2017-10-09 07:01:55,66.0,1,66.0", 2, "expected 5 fields, found 4"),
            ("2017-10-09 07:01:55,66.0,1,66.0,a,b", 2, "expected 5 fields, found 6"),
            ("2017-10-32 07:01:55,66,1,66,a", 2, "timestamp '2017-10-32 07:01:55'"),
            ("yesterday,66,1,66,a", 2, "timestamp 'yesterday'"),
            ("2017-10-09 07:01:55,abc,1,66,a", 2, "duration 'abc' is not a finite number"),
            ("2017-10-09 07:01:55,NaN,1,66,a", 2, "duration 'NaN'"),
            ("2017-10-09 07:01:55,inf,1,66,a", 2, "duration 'inf'"),
            ("2017-10-09 07:01:55,0,1,0,a", 2, "duration '0' must be greater than 0"),
            ("2017-10-09 07:01:55,-5,1,0,a", 2, "duration '-5' must be greater than 0"),
            ("2017-10-09 07:01:55,5,0,0,a", 2, "num_gpus '0' must be at least 1"),
            ("2017-10-09 07:01:55,5,-1,0,a", 2, "num_gpus '-1' is not a whole number"),
            ("2017-10-09 07:01:55,5,1.5,0,a", 2, "num_gpus '1.5' is not a whole number"),
            ("2017-10-09 07:01:55,5,100001,5,a", 2, "num_gpus '100001' exceeds 100000"),
            ("2017-10-09 07:01:55,5,99999999999999999999,5,a", 2, "num_gpus '99999999999999999999'"),
            ("2017-10-09 07:01:55,5,1,x,a", 2, "gpu_time 'x'"),
            ("2017-10-09 07:01:55,5,1,5,", 2, "cluster is empty"),
            ("2017-10-09 07:01:55,5,1,5,\"a", 2, "unterminated quoted field"),
        ];
        for (row, line, msg) in cases {
            let text = format!("{PH}{row}\n");
            let err = read_trace(&text, TraceFormat::Philly, &strict()).unwrap_err();
            assert_eq!(err.line, *line, "{row}");
            assert!(err.message.contains(msg), "{row}: {}", err.message);
            assert!(err.to_string().starts_with(&format!("line {line}: ")));
            let t = read_trace(&text, TraceFormat::Philly, &lenient()).unwrap();
            assert!(t.jobs.is_empty());
            assert_eq!(t.skipped.len(), 1);
            assert_eq!(t.skipped[0].line, *line);
            assert_eq!(t.skipped[0].reason, err.message);
        }
    }

    #[test]
    fn error_line_numbers_count_blank_lines() {
        let text = format!("{PH}\n2017-10-09 07:01:55,5,1,5,a\n\n\n2017-10-09 07:01:55,5,0,5,a\n");
        let err = read_trace(&text, TraceFormat::Philly, &strict()).unwrap_err();
        assert_eq!(err.line, 6);
        let t = read_trace(&text, TraceFormat::Philly, &lenient()).unwrap();
        assert_eq!((t.jobs.len(), t.skipped[0].line), (1, 6));
        assert_eq!(t.jobs[0].line, 3);
    }

    #[test]
    fn headers() {
        let cases: &[(&str, TraceFormat, &str)] = &[
            ("", TraceFormat::Philly, "empty trace"),
            ("\n\n", TraceFormat::Philly, "empty trace"),
            ("timestamp,duration,num_gpus,gpu_time", TraceFormat::Philly, "missing column 'cluster'"),
            ("timestamp,duration,num_gpus,gpu_time,cluster,user", TraceFormat::Philly, "unknown column 'user'"),
            ("timestamp,duration,gpus,gpu_time,cluster", TraceFormat::Philly, "unknown column 'gpus'"),
            ("timestamp,duration,num_gpus,gpu_time,cluster,cluster", TraceFormat::Philly, "duplicate column 'cluster'"),
            ("duration,timestamp,num_gpus,gpu_time,cluster", TraceFormat::Philly, "columns out of order"),
            ("timestamp,duration,num_gpus,gpu_time,cluster", TraceFormat::AlibabaOpenb, "unknown column 'timestamp'"),
            (
                "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time",
                TraceFormat::AlibabaOpenb,
                "missing column 'scheduled_time'",
            ),
        ];
        for (header, format, msg) in cases {
            let err = read_trace(header, *format, &lenient()).unwrap_err();
            assert_eq!(err.line, 1, "{header}");
            assert!(err.message.contains(msg), "{header}: {}", err.message);
        }
        // A header alone is a valid, empty trace; a BOM and CRLF are tolerated.
        let t = read_trace(&format!("\u{feff}{}\r\n", PH.trim_end()), TraceFormat::Philly, &strict()).unwrap();
        assert!(t.jobs.is_empty() && t.skipped.is_empty());
    }

    #[test]
    fn alibaba_rows() {
        let text = format!(
            "{AL}openb-pod-0000,12000,16384,1,1000,,LS,Running,0,12537496,0\n\
             openb-pod-0001,6000,12288,1,460,V100M16|V100M32,LS,Running,427061,12902960,427061\n\
             openb-pod-0002,4000,8192,0,0,,BE,Running,100,200,100\n\
             openb-pod-0003,6000,12288,8,1000,,BE,Pending,500,900,\n\
             openb-pod-0004,6000,12288,2,1000,A10,Burstable,Failed,50,400,80\n"
        );
        let t = read_trace(&text, TraceFormat::AlibabaOpenb, &strict()).unwrap();
        assert_eq!(t.skipped, vec![Skipped { line: 4, reason: "no GPU".into() }]);
        type Summary<'a> = (u64, usize, &'a str, f64, f64, u32, f64, Vec<String>);
        let got: Vec<Summary> = t
            .jobs
            .iter()
            .map(|j| (j.id, j.line, j.tenant.as_str(), j.arrival_s, j.duration_s, j.gpus, j.gpu_fraction, j.gpu_models.clone()))
            .collect();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                (0, 2, "qos:LS", 0.0, 12_537_496.0, 1, 1.0, s(&[])),
                (3, 6, "qos:Burstable", 50.0, 320.0, 2, 1.0, s(&["A10"])),
                (2, 5, "qos:BE", 500.0, 400.0, 8, 1.0, s(&[])),
                (1, 3, "qos:LS", 427_061.0, 12_475_899.0, 1, 0.46, s(&["V100M16", "V100M32"])),
            ]
        );
    }

    #[test]
    fn alibaba_bad_rows() {
        let cases: &[(&str, &str)] = &[
            ("p,1,1,1,1000,,LS,Running,0,10", "expected 11 fields, found 10"),
            ("p,1,1,x,1000,,LS,Running,0,10,0", "num_gpu 'x' is not a whole number"),
            ("p,1,1,100001,1000,,LS,Running,0,10,0", "num_gpu '100001' exceeds 100000"),
            ("p,1,1,1,0,,LS,Running,0,10,0", "gpu_milli '0' must be between 1 and 1000"),
            ("p,1,1,1,1001,,LS,Running,0,10,0", "gpu_milli '1001'"),
            ("p,1,1,2,500,,LS,Running,0,10,0", "gpu_milli '500' below 1000"),
            ("p,1,1,1,1000,,,Running,0,10,0", "qos is empty"),
            ("p,1,1,1,1000,,LS,Running,zero,10,0", "creation_time 'zero' is not a finite number"),
            ("p,1,1,1,1000,,LS,Running,-1,10,0", "creation_time '-1' must not be negative"),
            ("p,1,1,1,1000,,LS,Running,0,,0", "deletion_time '' is not a finite number"),
            ("p,1,1,1,1000,,LS,Running,0,10,abc", "scheduled_time 'abc' is not a finite number"),
            ("p,1,1,1,1000,,LS,Running,5,10,3", "scheduled_time '3' is before creation_time '5'"),
            ("p,1,1,1,1000,,LS,Running,0,10,10", "duration (deletion_time - scheduled_time) is 0"),
            ("p,1,1,1,1000,,LS,Pending,10,4,", "duration (deletion_time - creation_time) is -6"),
        ];
        for (row, msg) in cases {
            let text = format!("{AL}openb-pod-ok,1,1,1,1000,,LS,Running,0,10,0\n{row}\n");
            let err = read_trace(&text, TraceFormat::AlibabaOpenb, &strict()).unwrap_err();
            assert_eq!(err.line, 3, "{row}");
            assert!(err.message.contains(msg), "{row}: {}", err.message);
            let t = read_trace(&text, TraceFormat::AlibabaOpenb, &lenient()).unwrap();
            assert_eq!(t.jobs.len(), 1);
            assert_eq!(t.skipped, vec![Skipped { line: 3, reason: err.message }]);
        }
    }

    #[test]
    fn quoted_fields() {
        let text = format!("{AL}\"pod, with comma\",1,1,1,1000,\"V100M16|A10\",LS,Running,0,10,0\n");
        let t = read_trace(&text, TraceFormat::AlibabaOpenb, &strict()).unwrap();
        assert_eq!(t.jobs[0].gpu_models, ["V100M16", "A10"]);
        assert_eq!(split_csv("\"a\"\"b\",c").unwrap(), ["a\"b", "c"]);
    }

    proptest! {
        #[test]
        fn readers_never_panic(text in any::<String>(), skip in any::<bool>(), max in proptest::option::of(0usize..5)) {
            let opts = ReadOptions { skip_invalid: skip, max_jobs: max };
            for f in [TraceFormat::Philly, TraceFormat::AlibabaOpenb] {
                let _ = read_trace(&text, f, &opts);
            }
        }

        #[test]
        fn rows_after_a_valid_header_never_panic(
            rows in proptest::collection::vec("[0-9a-zA-Z:.,| \"\r\u{4e00}-]{0,60}", 0..8),
            skip in any::<bool>(),
        ) {
            let opts = ReadOptions { skip_invalid: skip, max_jobs: None };
            for (f, h) in [(TraceFormat::Philly, PH), (TraceFormat::AlibabaOpenb, AL)] {
                let text = format!("{h}{}", rows.join("\n"));
                if let Ok(t) = read_trace(&text, f, &opts) {
                    prop_assert!(t.jobs.iter().all(|j| j.duration_s > 0.0 && j.gpus >= 1 && j.arrival_s >= 0.0));
                }
            }
        }
    }
}
