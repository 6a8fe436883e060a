//! `suanli bench deid`: the de-identification engine's accuracy (F1 per kind) and speed (MB/s on one core) on a labelled corpus of realistic Chinese text, against Microsoft Presidio on the same corpus in the same run.
//!
//! The corpus comes from `scripts/deid_corpus.py` (Faker's zh_CN people, addresses, mobiles and
//! resident IDs, credit codes valid under python-stdnum, Luhn-valid cards, decoys that fail their
//! checks), seeded, in the venv that `scripts/deid-peers.sh` installs; or from `--corpus FILE` in
//! the same JSON Lines form. Three measurements:
//!
//! 1. accuracy: every record's text through [`suanli_data::scan`]; a found span counts when its
//!    kind and byte offsets equal a label's;
//! 2. scan speed: the detectors alone over every text, repeated to at least a second per run;
//! 3. delivery speed: the corpus as a CSV (a record's labelled name, resident ID, mobile, address
//!    and card as tagged columns, its text as a free-text column) through
//!    [`suanli_data::pipeline::deidentify`] into memory: read, profile, de-identify, write.
//!
//! Presidio (`scripts/deid_presidio.py`: pattern recognizers for the same kinds, its built-in
//! e-mail, IP, card and phone recognizers, a blank spaCy pipeline) times its `analyze` over the
//! same texts. Every figure is the median of `--runs`; all run on one core of this machine.

use crate::stats::median;
use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use suanli_data::pipeline::{Options, deidentify};
use suanli_data::reader::write_csv_field;
use suanli_data::{Grade, Kind, OpeningMode, Policy, Span, scan_into};

/// What to run.
#[derive(Debug, Clone)]
pub struct DeidBench {
    /// Megabytes of text to generate (ignored with `corpus`).
    pub mb: f64,
    pub runs: usize,
    pub seed: u64,
    /// A labelled corpus to read instead of generating one.
    pub corpus: Option<PathBuf>,
    pub presidio: bool,
    /// Where `deid-peers.sh`, `deid_corpus.py` and `deid_presidio.py` are.
    pub scripts: PathBuf,
}

/// The goals of issue 15.
const F1_GOAL: f64 = 0.995;
const MB_PER_S_GOAL: f64 = 200.0;
const RATIO_GOAL: f64 = 100.0;

/// One labelled record, offsets in bytes.
#[derive(Debug, Clone, PartialEq)]
struct Record {
    text: String,
    spans: Vec<(usize, usize, Kind)>,
}

#[derive(Deserialize)]
struct RawRecord {
    text: String,
    spans: Vec<RawSpan>,
}

#[derive(Deserialize)]
struct RawSpan {
    start: usize,
    end: usize,
    kind: Kind,
}

/// Byte offsets of character offsets (the corpus counts characters, as Python and Presidio do).
fn byte_offsets(text: &str, chars: &[usize]) -> Option<Vec<usize>> {
    let mut at: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
    at.push(text.len());
    chars.iter().map(|&c| at.get(c).copied()).collect()
}

/// One line of the corpus file.
fn parse_record(line: &str) -> anyhow::Result<Record> {
    let raw: RawRecord = serde_json::from_str(line)?;
    let chars: Vec<usize> = raw.spans.iter().flat_map(|s| [s.start, s.end]).collect();
    let bytes = byte_offsets(&raw.text, &chars).context("a span lies past the end of its text")?;
    let spans = raw.spans.iter().zip(bytes.chunks(2)).map(|(s, b)| (b[0], b[1], s.kind)).collect();
    Ok(Record { text: raw.text, spans })
}

fn read_corpus(path: &Path) -> anyhow::Result<Vec<Record>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| parse_record(l).with_context(|| format!("{} line {}", path.display(), i + 1)))
        .collect()
}

/// Precision, recall and F1 of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Score {
    labelled: u64,
    found: u64,
    matched: u64,
}

impl Score {
    fn precision(&self) -> f64 {
        if self.found == 0 { 1.0 } else { self.matched as f64 / self.found as f64 }
    }

    fn recall(&self) -> f64 {
        if self.labelled == 0 { 1.0 } else { self.matched as f64 / self.labelled as f64 }
    }

    fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }
}

/// Adds one text's found spans and labels to the scores (a match: same kind, same offsets).
fn score_text(found: &[Span], labelled: &[(usize, usize, Kind)], scores: &mut BTreeMap<Kind, Score>) {
    let labels: HashSet<(usize, usize, Kind)> = labelled.iter().copied().collect();
    for &(_, _, kind) in labelled {
        scores.entry(kind).or_default().labelled += 1;
    }
    for s in found {
        let e = scores.entry(s.kind).or_default();
        e.found += 1;
        e.matched += u64::from(labels.contains(&(s.start, s.end, s.kind)));
    }
}

fn accuracy(corpus: &[Record]) -> BTreeMap<Kind, Score> {
    let (mut scores, mut spans) = (BTreeMap::new(), Vec::new());
    for r in corpus {
        scan_into(&r.text, &mut spans);
        score_text(&spans, &r.spans, &mut scores);
    }
    scores
}

/// MB/s of the detectors over every text: passes over the corpus until a second has gone by.
fn scan_rate(corpus: &[Record], bytes: usize) -> f64 {
    let mut spans = Vec::new();
    let (start, mut passes, mut found) = (Instant::now(), 0u64, 0usize);
    while passes == 0 || start.elapsed() < Duration::from_secs(1) {
        for r in corpus {
            scan_into(&r.text, &mut spans);
            found += spans.len();
        }
        passes += 1;
    }
    std::hint::black_box(found);
    (bytes as u64 * passes) as f64 / 1e6 / start.elapsed().as_secs_f64()
}

/// The header of the delivery's CSV: tagged columns, then the record's text as free text.
const CSV_COLUMNS: [(&str, Option<Kind>); 7] = [
    ("编号", None),
    ("姓名", Some(Kind::Name)),
    ("身份证号", Some(Kind::ResidentId)),
    ("手机号", Some(Kind::Mobile)),
    ("地址", Some(Kind::Address)),
    ("银行卡号", Some(Kind::BankCard)),
    ("备注", None),
];

/// The corpus as a table: a row per record, its first labelled value of each tagged column's kind.
fn delivery_csv(corpus: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    let header: Vec<&str> = CSV_COLUMNS.iter().map(|(h, _)| *h).collect();
    out.extend_from_slice(header.join(",").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (i, r) in corpus.iter().enumerate() {
        out.extend_from_slice((i + 1).to_string().as_bytes());
        for (_, kind) in &CSV_COLUMNS[1..6] {
            out.push(b',');
            let value = r.spans.iter().find(|s| Some(s.2) == *kind).map_or("", |s| &r.text[s.0..s.1]);
            write_csv_field(value, &mut out);
        }
        out.push(b',');
        write_csv_field(&r.text, &mut out);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// MB/s of one whole delivery of `csv` (general data, level 1, opened unconditionally) into `out`
/// (one buffer for every run, as a file would be: the first run's page faults are not the engine's).
fn delivery_rate(csv: &[u8], out: &mut Vec<u8>) -> anyhow::Result<(f64, u64)> {
    let policy = Policy::for_grade(Grade::General { level: 1 }, OpeningMode::Unconditional)?;
    out.clear();
    let t = Instant::now();
    let outcome = deidentify(&mut || Ok(Cursor::new(csv)), out, policy, None, &Options::default())?;
    let s = t.elapsed().as_secs_f64();
    Ok((csv.len() as f64 / 1e6 / s, outcome.report.rows_out))
}

/// The venv's Python, from `deid-peers.sh env` (which fails when it is not installed).
fn peers_python(scripts: &Path) -> anyhow::Result<PathBuf> {
    let script = scripts.join("deid-peers.sh");
    if !script.is_file() {
        bail!("no {}: run from the repository's root, or pass --scripts DIR", script.display());
    }
    let o = Command::new("bash").arg(&script).arg("env").output().with_context(|| format!("running {}", script.display()))?;
    let text = String::from_utf8_lossy(&o.stdout);
    match text.lines().find_map(|l| l.strip_prefix("SUANLI_DEID_PYTHON=")) {
        Some(p) if o.status.success() => Ok(PathBuf::from(p.trim())),
        _ => bail!(
            "the corpus generator and Presidio need their Python venv: run `{} install` once (Faker, python-stdnum, presidio-analyzer, spaCy from PyPI), or pass --corpus FILE --no-presidio",
            script.display()
        ),
    }
}

fn run_python(python: &Path, script: &Path, args: &[&str]) -> anyhow::Result<String> {
    let o = Command::new(python)
        .arg(script)
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !o.status.success() {
        bail!("{} failed ({})", script.display(), o.status);
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

fn score_json(s: &Score) -> Value {
    json!({"labelled": s.labelled, "found": s.found, "matched": s.matched, "precision": s.precision(), "recall": s.recall(), "f1": s.f1()})
}

/// The corpus given, or one generated into `dir` by the peers' Python.
fn corpus_path(b: &DeidBench, python: Option<&Path>, dir: &Path, json_out: bool) -> anyhow::Result<PathBuf> {
    match (&b.corpus, python) {
        (Some(p), _) => Ok(p.clone()),
        (None, Some(py)) => {
            let out = dir.join("corpus.jsonl");
            let pb = crate::progress::spinner(json_out, format!("generating {} MB of labelled text (seed {})", b.mb, b.seed));
            let (mb, seed) = (b.mb.to_string(), b.seed.to_string());
            run_python(py, &b.scripts.join("deid_corpus.py"), &["--out", &out.to_string_lossy(), "--mb", &mb, "--seed", &seed])?;
            pb.finish_and_clear();
            Ok(out)
        }
        (None, None) => unreachable!("a Python is found whenever no corpus is given"),
    }
}

/// `runs` whole deliveries of the CSV: MB/s of each.
fn delivery_runs(csv: &[u8], runs: usize, json_out: bool) -> anyhow::Result<Vec<f64>> {
    let pb = crate::progress::bar(json_out, runs as u64, "suanli: whole delivery", 30, "runs");
    let (mut delivery, mut out) = (Vec::new(), Vec::with_capacity(csv.len() + csv.len() / 4));
    for _ in 0..runs {
        delivery.push(delivery_rate(csv, &mut out)?.0);
        pb.inc(1);
    }
    pb.finish_and_clear();
    Ok(delivery)
}

/// Presidio's figures over the same corpus, from its script's JSON.
fn presidio(py: &Path, b: &DeidBench, corpus: &Path, bytes: usize, json_out: bool) -> anyhow::Result<Value> {
    let pb = crate::progress::spinner(json_out, format!("presidio: {} runs over {:.1} MB (slow)", b.runs, bytes as f64 / 1e6));
    let out = run_python(py, &b.scripts.join("deid_presidio.py"), &["--corpus", &corpus.to_string_lossy(), "--runs", &b.runs.to_string()])?;
    pb.finish_and_clear();
    serde_json::from_str(out.trim()).context("reading deid_presidio.py's JSON")
}

/// Runs the benchmark and prints the table (or JSON).
pub fn deid(b: DeidBench, json_out: bool) -> anyhow::Result<()> {
    let python = match (&b.corpus, b.presidio) {
        (Some(_), false) => None,
        _ => Some(peers_python(&b.scripts)?),
    };
    let dir = tempfile::tempdir()?;
    let path = corpus_path(&b, python.as_deref(), dir.path(), json_out)?;
    let corpus = read_corpus(&path)?;
    if corpus.is_empty() {
        bail!("{}: no records", path.display());
    }
    let bytes: usize = corpus.iter().map(|r| r.text.len()).sum();
    let scores = accuracy(&corpus);

    let pb = crate::progress::bar(json_out, b.runs as u64, "suanli: detectors", 30, "runs");
    let scan: Vec<f64> = (0..b.runs).map(|_| (scan_rate(&corpus, bytes), pb.inc(1)).0).collect();
    pb.finish_and_clear();
    let csv = delivery_csv(&corpus);
    let delivery = delivery_runs(&csv, b.runs, json_out)?;
    let (scan_mb_s, delivery_mb_s) = (median(scan.clone()), median(delivery.clone()));

    let presidio: Option<Value> = match (&python, b.presidio) {
        (Some(py), true) => Some(presidio(py, &b, &path, bytes, json_out)?),
        _ => None,
    };
    let presidio_mb_s = presidio.as_ref().and_then(|p| p["mb_per_s"].as_f64());
    let ratio = presidio_mb_s.map(|p| scan_mb_s / p);

    let kinds: serde_json::Map<String, Value> = scores
        .iter()
        .map(|(k, s)| {
            let mut v = score_json(s);
            v["checksum"] = json!(k.has_checksum());
            (k.to_string(), v)
        })
        .collect();
    let min_checksum_f1 = scores.iter().filter(|(k, _)| k.has_checksum()).map(|(_, s)| s.f1()).fold(f64::NAN, f64::min);
    let summary = json!({
        "corpus": {"records": corpus.len(), "bytes": bytes, "labelled_spans": corpus.iter().map(|r| r.spans.len()).sum::<usize>(),
                   "seed": b.corpus.is_none().then_some(b.seed), "file": b.corpus.as_ref().map(|p| p.display().to_string())},
        "f1": scores.iter().map(|(k, s)| (k.to_string(), json!(s.f1()))).collect::<serde_json::Map<_, _>>(),
        "kinds": kinds,
        "mb_per_s": scan_mb_s,
        "scan_mb_per_s_runs": scan,
        "delivery_mb_per_s": delivery_mb_s,
        "delivery_mb_per_s_runs": delivery,
        "delivery_csv_bytes": csv.len(),
        "presidio_mb_per_s": presidio_mb_s,
        "ratio_vs_presidio": ratio,
        "presidio": presidio,
        "goals": {
            "checksum_f1_min": min_checksum_f1, "checksum_f1_goal": F1_GOAL, "checksum_f1_met": min_checksum_f1 >= F1_GOAL,
            "mb_per_s_goal": MB_PER_S_GOAL, "mb_per_s_met": scan_mb_s >= MB_PER_S_GOAL, "delivery_mb_per_s_met": delivery_mb_s >= MB_PER_S_GOAL,
            "ratio_goal": RATIO_GOAL, "ratio_met": ratio.map(|r| r >= RATIO_GOAL),
        },
    });
    if json_out {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    print_table(&scores, presidio.as_ref(), &summary, b.runs);
    Ok(())
}

fn print_table(scores: &BTreeMap<Kind, Score>, presidio: Option<&Value>, summary: &Value, runs: usize) {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED).set_header(vec![
        "kind",
        "check digit",
        "labelled",
        "found",
        "precision",
        "recall",
        "F1",
        "Presidio F1",
    ]);
    for (k, s) in scores {
        let peer = presidio.and_then(|p| p["kinds"][k.as_str()]["f1"].as_f64()).map_or("-".into(), |f| format!("{f:.4}"));
        table.add_row(vec![
            k.to_string(),
            if k.has_checksum() { "yes".into() } else { String::new() },
            s.labelled.to_string(),
            s.found.to_string(),
            format!("{:.4}", s.precision()),
            format!("{:.4}", s.recall()),
            format!("{:.4}", s.f1()),
            peer,
        ]);
    }
    println!("{table}");
    let c = &summary["corpus"];
    println!(
        "corpus: {} records, {:.1} MB of text, {} labelled spans; medians of {runs} runs on one core",
        c["records"],
        c["bytes"].as_f64().unwrap_or(0.0) / 1e6,
        c["labelled_spans"]
    );
    let f = |k: &str| summary[k].as_f64().unwrap_or(f64::NAN);
    println!("suanli detectors:        {:>10.1} MB/s (goal >= {MB_PER_S_GOAL})", f("mb_per_s"));
    println!("suanli whole delivery:   {:>10.1} MB/s (CSV of {:.1} MB)", f("delivery_mb_per_s"), f("delivery_csv_bytes") / 1e6);
    match summary["presidio_mb_per_s"].as_f64() {
        Some(p) => {
            println!("presidio analyze:        {p:>10.3} MB/s");
            println!("ratio vs presidio:       {:>10.0}x (goal >= {RATIO_GOAL}x)", f("ratio_vs_presidio"));
        }
        None => println!("presidio: not run (--no-presidio)"),
    }
    println!("checksum kinds' lowest F1: {:.4} (goal >= {F1_GOAL})", summary["goals"]["checksum_f1_min"].as_f64().unwrap_or(f64::NAN));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn character_offsets_become_byte_offsets() {
        let r =
            parse_record(r#"{"text": "身份证号110101199003074477。", "spans": [{"start": 4, "end": 22, "kind": "resident_id"}]}"#).unwrap();
        assert_eq!(r.spans, vec![(12, 30, Kind::ResidentId)]);
        assert_eq!(&r.text[12..30], "110101199003074477");
        assert!(parse_record(r#"{"text": "短", "spans": [{"start": 0, "end": 5, "kind": "name"}]}"#).is_err());
        assert!(parse_record(r#"{"text": "x", "spans": [{"start": 0, "end": 1, "kind": "no_such_kind"}]}"#).is_err());
    }

    #[test]
    fn a_match_needs_kind_and_offsets() {
        let labelled = [(0, 18, Kind::ResidentId), (20, 31, Kind::Mobile), (40, 43, Kind::Name)];
        let found = [
            Span { start: 0, end: 18, kind: Kind::ResidentId },
            Span { start: 20, end: 31, kind: Kind::Landline },
            Span { start: 40, end: 46, kind: Kind::Name },
        ];
        let mut scores = BTreeMap::new();
        score_text(&found, &labelled, &mut scores);
        assert_eq!(scores[&Kind::ResidentId], Score { labelled: 1, found: 1, matched: 1 });
        assert_eq!(scores[&Kind::Mobile], Score { labelled: 1, found: 0, matched: 0 });
        assert_eq!(scores[&Kind::Landline], Score { labelled: 0, found: 1, matched: 0 });
        assert_eq!(scores[&Kind::Name].f1(), 0.0);
        assert_eq!(scores[&Kind::ResidentId].f1(), 1.0);
        let half = Score { labelled: 4, found: 2, matched: 2 };
        assert!((half.f1() - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn the_delivery_table_has_tagged_columns_and_the_text() {
        let text = "联系人王伟，手机13812345678，备注\"a,b\"".to_string();
        let r = Record { spans: vec![(9, 15, Kind::Name), (24, 35, Kind::Mobile)], text };
        let csv = String::from_utf8(delivery_csv(&[r])).unwrap();
        let mut lines = csv.split("\r\n");
        assert_eq!(lines.next(), Some("编号,姓名,身份证号,手机号,地址,银行卡号,备注"));
        assert_eq!(lines.next(), Some("1,王伟,,13812345678,,,\"联系人王伟，手机13812345678，备注\"\"a,b\"\"\""));
    }
}
