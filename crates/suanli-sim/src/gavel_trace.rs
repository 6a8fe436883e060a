//! The reader of Gavel's job traces: one job a line, ten tab-separated fields.
//!
//! Gavel (Narayanan et al., OSDI 2020; stanford-futuredata/gavel, MIT) writes a trace line as
//! `str(job)` followed by `\t<arrival>`, where `Job.__str__` (scheduler/job.py) prints
//! `job_type, command, working_directory, num_steps_arg, needs_data_dir (%d), total_steps (%d),
//! scale_factor (%d), priority_weight (%d), SLO (%f, -1 for none)`, and `utils.parse_trace`
//! reads the ten fields back with `int(needs_data_dir)`, `int(total_steps)`,
//! `int(scale_factor) >= 1`, `float(priority_weight)`, `float(SLO)` (negative means none) and
//! `float(arrival_time)` in seconds. Job ids are the lines' order, from 0, as Gavel numbers
//! them when it replays a trace.
//!
//! The reader is as strict as Gavel's asserts and a little stricter where Gavel would crash
//! later or silently accept nonsense (zero steps, a negative arrival, a weight of zero): every
//! error names its line and field. Blank lines and `\r\n` endings are accepted.

use crate::gavel::Throughputs;
use crate::rng::SplitMix;
use crate::trace::{TraceError, clip};
use serde::{Deserialize, Serialize};

/// The ten fields in Gavel's order, for error messages.
pub const GAVEL_FIELDS: [&str; 10] = [
    "job type",
    "command",
    "working directory",
    "steps argument",
    "needs data dir",
    "total steps",
    "scale factor",
    "priority weight",
    "SLO",
    "arrival time",
];

/// One job of a Gavel trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GavelJob {
    /// 0.. in file order of the non-blank lines: Gavel's job id.
    pub id: u64,
    /// 1-based line number in the file.
    pub line: usize,
    /// E.g. "ResNet-18 (batch size 64)": with `scale_factor`, the key of the throughput matrix.
    pub job_type: String,
    pub command: String,
    pub working_directory: String,
    /// The flag that passes the step count to the command, e.g. "--num_steps".
    pub num_steps_arg: String,
    pub needs_data_dir: bool,
    /// Training steps the whole job runs, at least 1.
    pub total_steps: u64,
    /// GPUs the job holds at once, all of one type; at least 1.
    pub scale_factor: u32,
    pub priority_weight: f64,
    /// The job's SLO in seconds; `None` when the trace says -1 (or any negative value).
    pub slo_s: Option<f64>,
    /// Seconds, as the trace gives it (Gavel's traces start at 0).
    pub arrival_s: f64,
}

/// Reads a whole Gavel trace. Never panics, whatever the text.
pub fn read_gavel_trace(text: &str) -> Result<Vec<GavelJob>, TraceError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut jobs = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let row = raw.strip_suffix('\r').unwrap_or(raw);
        if row.trim().is_empty() {
            continue;
        }
        let line = i + 1;
        let job = gavel_row(row, jobs.len() as u64, line).map_err(|message| TraceError { line, message })?;
        jobs.push(job);
    }
    if jobs.is_empty() {
        return Err(TraceError { line: 1, message: "empty trace: expected one job a line, ten tab-separated fields".into() });
    }
    Ok(jobs)
}

fn gavel_row(row: &str, id: u64, line: usize) -> Result<GavelJob, String> {
    let f: Vec<&str> = row.split('\t').collect();
    if f.len() != GAVEL_FIELDS.len() {
        return Err(format!("expected {} tab-separated fields ({}), found {}", GAVEL_FIELDS.len(), GAVEL_FIELDS.join(", "), f.len()));
    }
    if f[0].trim().is_empty() {
        return Err("job type: empty".into());
    }
    let needs_data_dir = match f[4].trim() {
        "0" => false,
        "1" => true,
        other => return Err(format!("needs data dir: expected 0 or 1, found '{}'", clip(other))),
    };
    let total_steps: u64 = integer(f[5], "total steps")?;
    if total_steps == 0 {
        return Err("total steps: must be at least 1".into());
    }
    let scale_factor: u32 = integer(f[6], "scale factor")?;
    if scale_factor == 0 {
        return Err("scale factor: must be at least 1 (GPUs the job holds)".into());
    }
    let priority_weight = number(f[7], "priority weight")?;
    if priority_weight <= 0.0 {
        return Err(format!("priority weight: must be positive, found {priority_weight}"));
    }
    let slo = number(f[8], "SLO")?;
    let arrival_s = number(f[9], "arrival time")?;
    if arrival_s < 0.0 {
        return Err(format!("arrival time: must not be negative, found {arrival_s}"));
    }
    Ok(GavelJob {
        id,
        line,
        job_type: f[0].to_string(),
        command: f[1].to_string(),
        working_directory: f[2].to_string(),
        num_steps_arg: f[3].to_string(),
        needs_data_dir,
        total_steps,
        scale_factor,
        priority_weight,
        slo_s: (slo >= 0.0).then_some(slo),
        arrival_s,
    })
}

fn integer<T: std::str::FromStr>(s: &str, field: &str) -> Result<T, String> {
    s.trim().parse().map_err(|_| format!("{field}: expected a whole number, found '{}'", clip(s.trim())))
}

fn number(s: &str, field: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{field}: expected a finite number, found '{}'", clip(s.trim())))
}

/// A trace drawn like Gavel's `scripts/utils/generate_trace.py` with its continuous
/// experiments' duration sampler (`utils._generate_duration`), from a seed:
/// - job type uniform over the throughput matrix's types (Gavel's job table, 26 types);
/// - with `multi_gpu`, a type the matrix measures at 4 GPUs (Gavel's "distributed" ones)
///   gets scale factor 2 when a uniform draw falls in [0.7, 0.8], 4 above 0.8, else 1;
/// - run time on a V100: 60 x 10^U(3, 4) s with probability 0.2, else 60 x 10^U(1.5, 3) s;
///   total steps = that time x the V100 throughput at the job's scale factor (at least 1);
/// - Poisson arrivals, `mean_interarrival_s` apart on average (1,200 s is 3 jobs an hour),
///   the first at 0.
///
/// It does not reproduce Gavel's files draw for draw (Python's generator is another), only
/// their distribution: traces the policy was never tuned on.
pub fn generate(seed: u64, jobs: usize, multi_gpu: bool, mean_interarrival_s: f64, throughputs: &Throughputs) -> Vec<GavelJob> {
    let types: Vec<&str> = throughputs.by_scale.keys().map(String::as_str).collect();
    let mut rng = SplitMix::new(seed);
    let mut arrival_s = 0.0;
    let mut out = Vec::with_capacity(jobs);
    for id in 0..jobs {
        if id > 0 {
            arrival_s += -(1.0 - rng.next_f64()).ln() * mean_interarrival_s;
        }
        let job_type = types[rng.below(types.len())];
        let distributed = throughputs.steps_per_s(job_type, 4, "v100").is_some();
        let r = rng.next_f64();
        let scale_factor = match (multi_gpu && distributed, r) {
            (true, r) if (0.7..=0.8).contains(&r) => 2,
            (true, r) if r > 0.8 => 4,
            _ => 1,
        };
        let exponent = if rng.next_f64() >= 0.8 { 3.0 + rng.next_f64() } else { 1.5 + 1.5 * rng.next_f64() };
        let v100_s = 60.0 * 10f64.powf(exponent);
        let rate = throughputs.steps_per_s(job_type, scale_factor, "v100").unwrap_or(1.0);
        out.push(GavelJob {
            id: id as u64,
            line: id + 1,
            job_type: job_type.to_string(),
            command: "generated".into(),
            working_directory: "generated".into(),
            num_steps_arg: "--num_steps".into(),
            needs_data_dir: true,
            total_steps: ((rate * v100_s) as u64).max(1),
            scale_factor,
            priority_weight: 1.0,
            slo_s: None,
            arrival_s: arrival_s.floor(),
        });
    }
    out
}

/// Writes jobs in Gavel's format (what `Job.__str__` and the generator print).
pub fn write_gavel_trace(jobs: &[GavelJob]) -> String {
    let mut out = String::new();
    for j in jobs {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{:.6}\t{}\n",
            j.job_type,
            j.command,
            j.working_directory,
            j.num_steps_arg,
            u8::from(j.needs_data_dir),
            j.total_steps,
            j.scale_factor,
            j.priority_weight,
            j.slo_s.unwrap_or(-1.0),
            j.arrival_s
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines in the exact shape of the shared traces (Gavel's generator and physical-cluster traces).
    const SAMPLE: &str = "ResNet-18 (batch size 64)\tpython3 main.py --data_dir=%s/cifar10 --batch_size 64\timage_classification/cifar10\t--num_steps\t1\t1272922\t1\t1\t-1.000000\t1212305\n\
Transformer (batch size 128)\tpython3 train.py -data %s/translation/multi30k.atok.low.pt -batch_size 128 -proj_share_weight\ttranslation\t-step\t1\t5665632\t4\t1\t-1.000000\t1306\r\n\
\n\
A3C\tpython3 main.py --env PongDeterministic-v4 --workers 4 --max-steps\trl\t--max-steps\t0\t36\t2\t3\t7200.000000\t0\n";

    #[test]
    fn reads_gavel_lines() {
        let jobs = read_gavel_trace(SAMPLE).unwrap();
        assert_eq!(jobs.len(), 3);
        let a = &jobs[0];
        assert_eq!((a.id, a.line), (0, 1));
        assert_eq!(a.job_type, "ResNet-18 (batch size 64)");
        assert_eq!(a.command, "python3 main.py --data_dir=%s/cifar10 --batch_size 64");
        assert_eq!(a.working_directory, "image_classification/cifar10");
        assert_eq!(a.num_steps_arg, "--num_steps");
        assert!(a.needs_data_dir);
        assert_eq!((a.total_steps, a.scale_factor, a.priority_weight, a.slo_s, a.arrival_s), (1_272_922, 1, 1.0, None, 1_212_305.0));
        let b = &jobs[1];
        assert_eq!((b.id, b.line, b.scale_factor, b.total_steps, b.arrival_s), (1, 2, 4, 5_665_632, 1306.0));
        // The blank line 3 is skipped; ids stay consecutive and lines stay true.
        let c = &jobs[2];
        assert_eq!((c.id, c.line, c.needs_data_dir, c.priority_weight, c.slo_s), (2, 4, false, 3.0, Some(7200.0)));
    }

    #[test]
    fn malformed_lines_name_line_and_field() {
        let good = "A3C\tcmd\trl\t--max-steps\t0\t36\t1\t1\t-1.000000\t0";
        let with = |i: usize, v: &str| {
            let mut f: Vec<&str> = good.split('\t').collect();
            f[i] = v;
            format!("{good}\n{}\n", f.join("\t"))
        };
        let cases: Vec<(String, &str)> = vec![
            (format!("{good}\nA3C\tcmd\trl\n"), "expected 10 tab-separated fields"),
            (format!("{good}\n{good}\textra\n"), "found 11"),
            (format!("{good}\n{}\n", good.replace('\t', ",")), "found 1"),
            (with(0, " "), "job type: empty"),
            (with(4, "yes"), "needs data dir: expected 0 or 1"),
            (with(5, "12.5"), "total steps: expected a whole number"),
            (with(5, "-3"), "total steps"),
            (with(5, "0"), "total steps: must be at least 1"),
            (with(6, "0"), "scale factor: must be at least 1"),
            (with(6, "two"), "scale factor: expected a whole number"),
            (with(7, "0"), "priority weight: must be positive"),
            (with(7, "inf"), "priority weight: expected a finite number"),
            (with(8, "none"), "SLO: expected a finite number"),
            (with(9, "-1"), "arrival time: must not be negative"),
            (with(9, "NaN"), "arrival time: expected a finite number"),
        ];
        for (text, want) in cases {
            let err = read_gavel_trace(&text).unwrap_err();
            assert_eq!(err.line, 2, "{text:?}: {err}");
            assert!(err.message.contains(want), "{text:?}: {err}");
        }
        assert!(read_gavel_trace("\n\n").unwrap_err().message.contains("empty trace"));
        let long = "x".repeat(500);
        assert!(read_gavel_trace(&with(4, &long)).unwrap_err().message.len() < 120);
    }

    #[test]
    fn generated_traces_follow_gavels_distribution_and_read_back() {
        let thr = crate::gavel::parse_gavel(
            r#"{"v100": {"('A', 1)": {"null": 2.0}, "('B', 1)": {"null": 1.0}, "('B', 2)": {"null": 1.5}, "('B', 4)": {"null": 3.0}}}"#,
        )
        .unwrap();
        let jobs = generate(3, 4000, true, 1200.0, &thr);
        assert_eq!(generate(3, 4000, true, 1200.0, &thr), jobs, "a seed reproduces its trace");
        assert_eq!(jobs[0].arrival_s, 0.0);
        let mean_gap = jobs.last().unwrap().arrival_s / 3999.0;
        assert!((1100.0..1300.0).contains(&mean_gap), "{mean_gap}");
        let share = |f: &dyn Fn(&GavelJob) -> bool| jobs.iter().filter(|j| f(j)).count() as f64 / jobs.len() as f64;
        assert!((0.45..0.55).contains(&share(&|j| j.job_type == "A")));
        assert_eq!(share(&|j| j.job_type == "A" && j.scale_factor > 1), 0.0, "A is not distributed");
        assert!((0.08..0.12).contains(&share(&|j| j.scale_factor == 4)), "20% of B's draws are 4 GPUs");
        // Long jobs (over 1,000 minutes on a V100) are about a fifth.
        let long = share(&|j| {
            let rate = thr.steps_per_s(&j.job_type, j.scale_factor, "v100").unwrap();
            j.total_steps as f64 / rate > 60_000.0
        });
        assert!((0.17..0.23).contains(&long), "{long}");
        let single = generate(3, 100, false, 1200.0, &thr);
        assert!(single.iter().all(|j| j.scale_factor == 1));
        assert_eq!(read_gavel_trace(&write_gavel_trace(&jobs)).unwrap(), jobs);
    }

    #[test]
    fn never_panics_on_odd_text() {
        for text in [
            "\u{feff}",
            "\t\t\t\t\t\t\t\t\t",
            "é\t\t\t\t1\t1\t1\t1\t1\t1",
            "\u{0}\n\r\n",
            "a\tb\tc\td\t1\t18446744073709551616\t1\t1\t1\t1",
        ] {
            let _ = read_gavel_trace(text);
        }
    }
}
