//! `suanli data deidentify`: de-identify a CSV or JSON Lines file offline under a grade's (or a file's) policy, and report what was found and the k reached; `suanli data policy` prints a built-in policy.

use crate::output::{self, Format};
use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use suanli_data::pipeline::{self, Options, Outcome};
use suanli_data::{DataError, Encoding, Grade, Limits, OpeningMode, Policy, PseudonymKey};

#[derive(Debug, Subcommand)]
pub enum DataCmd {
    /// De-identify a file under the policy of its grade and opening mode: identifiers found in
    /// tagged columns and in free text are masked, pseudonymised, generalised, suppressed or
    /// redacted; with --quasi and --k, rows are generalised until every class has k rows.
    Deidentify(DeidentifyArgs),
    /// Print the built-in policy of a grade and opening mode as JSON (edit it and pass it to
    /// `deidentify --policy` to configure a sub-level).
    Policy {
        #[arg(long, default_value = "general")]
        grade: String,
        #[arg(long, default_value = "unconditional")]
        mode: String,
    },
    /// The platform's data sharing (catalogue, requests, deliveries), through the API.
    #[command(flatten)]
    Sharing(crate::data_sharing::SharingCmd),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FileFormat {
    Csv,
    Jsonl,
}

#[derive(Debug, Args)]
pub struct DeidentifyArgs {
    /// The file to read (CSV with a header row, or JSON Lines).
    #[arg(long)]
    input: PathBuf,
    /// The file to write (UTF-8). Written only when every row was read, unless --skip-malformed.
    /// (`--output` is the global table/json switch, so the file is `--out`.)
    #[arg(long = "out", visible_alias = "output-file")]
    out: PathBuf,
    /// core, important, general (= general-1) … general-4 (GB/T 43697; core is never delivered).
    #[arg(long, default_value = "general")]
    grade: String,
    /// unconditional, conditional (pseudonyms keyed per consumer) or not-open.
    #[arg(long, default_value = "unconditional")]
    mode: String,
    /// A policy file (JSON, as `suanli data policy` prints it) instead of the grade's built-in one.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// The consumer's pseudonym key (conditional opening).
    #[arg(long, env = "SUANLI_CONSUMER_KEY", hide_env_values = true)]
    consumer_key: Option<String>,
    /// csv or jsonl (default: from the extension, .jsonl/.ndjson being JSON Lines).
    #[arg(long, value_enum)]
    format: Option<FileFormat>,
    /// utf-8, gbk or gb18030.
    #[arg(long, default_value = "utf-8")]
    encoding: String,
    /// Quasi-identifier columns for k-anonymity, e.g. 年龄,性别,邮编.
    #[arg(long, value_delimiter = ',')]
    quasi: Vec<String>,
    /// The k every class over --quasi must reach (default: the grade's).
    #[arg(long)]
    k: Option<usize>,
    /// Print what was found by kind, the columns' kinds and the k reached.
    #[arg(long)]
    report: bool,
    /// Deliver the rows that could be read and report the others (by default any bad row stops the delivery).
    #[arg(long)]
    skip_malformed: bool,
    /// Largest field in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    max_field_bytes: usize,
}

fn data_error(e: DataError) -> anyhow::Error {
    anyhow::anyhow!("{e} [{}]", e.code())
}

pub fn run(cmd: DataCmd, fmt: Format) -> anyhow::Result<()> {
    match cmd {
        DataCmd::Deidentify(a) => deidentify(a, fmt),
        DataCmd::Policy { grade, mode } => {
            let policy = builtin(&grade, &mode)?;
            output::json(&serde_json::to_value(&policy)?);
            Ok(())
        }
        DataCmd::Sharing(_) => unreachable!("main dispatches the platform's data commands to data_sharing::run"),
    }
}

fn deidentify(a: DeidentifyArgs, fmt: Format) -> anyhow::Result<()> {
    let policy = match &a.policy {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_str::<Policy>(&text).with_context(|| format!("{} is not a policy", path.display()))?
        }
        None => builtin(&a.grade, &a.mode)?,
    };
    let key = a.consumer_key.as_deref().map(|k| PseudonymKey::new(k.as_bytes()));
    let encoding =
        Encoding::parse(&a.encoding).with_context(|| format!("'{}' is not an encoding: use utf-8, gbk or gb18030", a.encoding))?;
    let jsonl = a.input.extension().is_some_and(|e| e == "jsonl" || e == "ndjson");
    let format = match a.format {
        Some(FileFormat::Jsonl) => pipeline::Format::JsonLines,
        Some(FileFormat::Csv) => pipeline::Format::Csv,
        None if jsonl => pipeline::Format::JsonLines,
        None => pipeline::Format::Csv,
    };
    let limits = Limits { max_field_bytes: a.max_field_bytes, max_record_bytes: a.max_field_bytes.saturating_mul(4).max(1 << 20) };
    let opts = Options { format, encoding, limits, quasi: a.quasi.clone(), k: a.k, ..Options::default() };
    let size = std::fs::metadata(&a.input).with_context(|| format!("cannot read {}", a.input.display()))?.len();
    let bar = progress(size, fmt);
    let input = a.input.clone();
    let mut open = || -> std::io::Result<_> {
        bar.set_position(0);
        Ok(BufReader::with_capacity(1 << 20, bar.wrap_read(std::fs::File::open(&input)?)))
    };
    let dir = a.out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write in {}", dir.display()))?;
    let outcome = {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        pipeline::deidentify(&mut open, &mut w, policy, key, &opts).map_err(data_error)?
    };
    bar.finish_and_clear();
    for p in outcome.problems.iter().take(20) {
        eprintln!("line {}: {} [{}]", p.line, p.message, p.code);
    }
    let bad = outcome.report.rows_malformed;
    if bad > 0 && !a.skip_malformed {
        let first = outcome.problems.first().map_or(0, |p| p.line);
        bail!(
            "{bad} row(s) could not be read (the first at line {first}); nothing was written: fix them, or pass --skip-malformed to deliver the rest"
        );
    }
    tmp.persist(&a.out).with_context(|| format!("cannot write {}", a.out.display()))?;
    if fmt == Format::Json {
        output::json(&serde_json::to_value(&outcome)?);
    } else if a.report {
        print_report(&outcome);
    }
    eprintln!("wrote {} of {} rows to {} ({bad} malformed)", outcome.report.rows_out, outcome.report.rows_in + bad, a.out.display());
    Ok(())
}

fn builtin(grade: &str, mode: &str) -> anyhow::Result<Policy> {
    let grade = Grade::parse(grade).map_err(data_error)?;
    let mode = OpeningMode::parse(mode).map_err(data_error)?;
    Policy::for_grade(grade, mode).map_err(data_error)
}

fn progress(size: u64, fmt: Format) -> ProgressBar {
    if fmt == Format::Json {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(size);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec}") {
        bar.set_style(style);
    }
    bar
}

fn print_report(o: &Outcome) {
    let r = &o.report;
    let found: Vec<Value> = pipeline::found(r)
        .into_iter()
        .map(|(k, n)| json!({"kind": k.as_str(), "label": k.label_zh(), "found": n, "action": r.actions.get(&k).map(|a| a.as_str())}))
        .collect();
    output::table(&found, &[("kind", "kind"), ("类别", "label"), ("found", "found"), ("action", "action")]);
    let columns: Vec<Value> = r
        .columns
        .iter()
        .map(|c| json!({"column": c.name, "kind": c.kind.map(|k| k.as_str()), "found": c.found.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>()}))
        .collect();
    output::table(&columns, &[("column", "column"), ("tagged as", "kind"), ("found in sample", "found")]);
    let mut rows = vec![
        json!({"what": "rows read", "value": r.rows_in}),
        json!({"what": "rows delivered", "value": r.rows_out}),
        json!({"what": "rows malformed (not delivered)", "value": r.rows_malformed}),
    ];
    if let Some(k) = &r.k_anonymity {
        let levels: Vec<String> = k.levels.iter().map(|(c, h, l)| format!("{c}: {h:?} level {l}")).collect();
        rows.extend([
            json!({"what": "k target / reached", "value": format!("{} / {}", k.k_target, k.k_reached)}),
            json!({"what": "rows suppressed for k", "value": k.rows_suppressed}),
            json!({"what": "equivalence classes", "value": k.classes}),
            json!({"what": "re-identification risk, max (prosecutor)", "value": format!("{:.4}", k.max_risk)}),
            json!({"what": "re-identification risk, average", "value": format!("{:.4}", k.avg_risk)}),
            json!({"what": "generalisation", "value": levels.join("; ")}),
        ]);
    }
    output::table(&rows, &[("", "what"), ("value", "value")]);
}
