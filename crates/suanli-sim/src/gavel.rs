//! The Gavel heterogeneity matrix: isolated training throughput of each job type on each GPU type.
//!
//! Source: stanford-futuredata/gavel @ c4fa40097339, `scheduler/simulation_throughputs.json`
//! (MIT), the matrix of the Gavel paper (OSDI 2020). Its shape is
//! `{worker: {"('<job type>', <scale>)": {"null": steps_per_s, "<co-located key>": [a, b]}}}`;
//! only the isolated ("null") figures are kept (no space sharing). The figure at scale factor
//! 1 converts a job's run time between accelerator generations for the city-wide replay; the
//! figure at every scale factor is the whole job's steps per second on that many GPUs of one
//! type (not a per-GPU rate), which gives a Gavel trace job its run time alone on each type.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Isolated throughput at scale factor 1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Throughputs {
    /// Job type (e.g. "ResNet-18 (batch size 64)") -> worker type ("v100", "p100", "k80") ->
    /// steps per second.
    pub by_job_type: BTreeMap<String, BTreeMap<String, f64>>,
    /// Job type -> scale factor -> worker type -> the whole job's steps per second on
    /// `scale` GPUs of that type.
    pub by_scale: BTreeMap<String, BTreeMap<u32, BTreeMap<String, f64>>>,
}

/// Gavel also lists `<worker>_unconsolidated` types: the same GPUs with a multi-GPU job spread
/// across servers. At scale factor 1 they repeat the consolidated figures exactly, so they
/// are dropped rather than offered as extra hardware.
const UNCONSOLIDATED: &str = "_unconsolidated";

/// Parses the matrix. Every key must have the `('<job type>', <scale>)` shape and every entry
/// a finite, non-negative "null" throughput, so a wrong or truncated file is an error rather
/// than a matrix with holes.
pub fn parse_gavel(text: &str) -> Result<Throughputs, String> {
    let root: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let workers = root.as_object().ok_or("expected a JSON object of worker types at the top level")?;
    let mut by_job_type: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let mut by_scale: BTreeMap<String, BTreeMap<u32, BTreeMap<String, f64>>> = BTreeMap::new();
    for (worker, jobs) in workers {
        let jobs = jobs.as_object().ok_or_else(|| format!("worker '{worker}': expected an object of job types"))?;
        if worker.ends_with(UNCONSOLIDATED) {
            continue;
        }
        for (key, entry) in jobs {
            let (job_type, scale) =
                parse_job_key(key).ok_or_else(|| format!("worker '{worker}': job key {key:?} is not ('<job type>', <scale>)"))?;
            let steps = entry
                .get("null")
                .and_then(serde_json::Value::as_f64)
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("worker '{worker}', job {key:?}: \"null\" must be a non-negative number"))?;
            by_scale.entry(job_type.to_string()).or_default().entry(scale).or_default().insert(worker.clone(), steps);
            if scale == 1 {
                by_job_type.entry(job_type.to_string()).or_default().insert(worker.clone(), steps);
            }
        }
    }
    if by_job_type.is_empty() {
        return Err("no job types at scale factor 1".to_string());
    }
    Ok(Throughputs { by_job_type, by_scale })
}

/// Splits a Python tuple repr such as `('ResNet-18 (batch size 64)', 1)`. Python quotes with
/// `"` when the string itself holds a `'`, so both quote characters are accepted.
fn parse_job_key(key: &str) -> Option<(&str, u32)> {
    let inner = key.strip_prefix('(')?.strip_suffix(')')?;
    let (name, scale) = inner.rsplit_once(',')?;
    let name = name.trim();
    let name =
        name.strip_prefix('\'').and_then(|n| n.strip_suffix('\'')).or_else(|| name.strip_prefix('"').and_then(|n| n.strip_suffix('"')))?;
    let scale = scale.trim().parse().ok()?;
    (!name.is_empty()).then_some((name, scale))
}

impl Throughputs {
    /// How many times faster `job_type` runs on `worker` than on `reference`; `None` when
    /// either figure is missing or the reference throughput is zero.
    pub fn relative_speed(&self, job_type: &str, worker: &str, reference: &str) -> Option<f64> {
        let row = self.by_job_type.get(job_type)?;
        let (w, r) = (*row.get(worker)?, *row.get(reference)?);
        (r > 0.0).then(|| w / r)
    }

    /// The whole job's steps per second for `job_type` on `scale` GPUs of `worker`; `None`
    /// when the matrix has no figure or the figure is zero (the job cannot run there).
    pub fn steps_per_s(&self, job_type: &str, scale: u32, worker: &str) -> Option<f64> {
        self.by_scale.get(job_type)?.get(&scale)?.get(worker).copied().filter(|v| *v > 0.0)
    }

    /// Seconds a job of `total_steps` takes alone on `scale` GPUs of `worker`.
    pub fn run_time_s(&self, job_type: &str, scale: u32, worker: &str, total_steps: u64) -> Option<f64> {
        self.steps_per_s(job_type, scale, worker).map(|v| total_steps as f64 / v)
    }

    /// Job types in lexical order.
    pub fn job_types(&self) -> Vec<&str> {
        self.by_job_type.keys().map(String::as_str).collect()
    }

    /// Worker types that appear for any job type, in lexical order.
    pub fn workers(&self) -> Vec<&str> {
        let mut w: Vec<&str> = self.by_job_type.values().flat_map(|row| row.keys().map(String::as_str)).collect();
        w.sort_unstable();
        w.dedup();
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
        "k80": {
            "('ResNet-18 (batch size 16)', 1)": {"null": 2.0, "('A3C', 1)": [1.0, 0.5]},
            "('ResNet-18 (batch size 16)', 2)": {"null": 3.5},
            "('A3C', 1)": {"null": 0.0}
        },
        "v100": {
            "('ResNet-18 (batch size 16)', 1)": {"null": 9.0},
            "('A3C', 1)": {"null": 4.0},
            "(\"O'Brien net\", 1)": {"null": 1.5}
        },
        "v100_unconsolidated": {
            "('ResNet-18 (batch size 16)', 1)": {"null": 9.0}
        }
    }"#;

    #[test]
    fn parses_scale_one_isolated_figures() {
        let t = parse_gavel(SAMPLE).unwrap();
        assert_eq!(t.job_types(), ["A3C", "O'Brien net", "ResNet-18 (batch size 16)"]);
        assert_eq!(t.workers(), ["k80", "v100"]);
        assert_eq!(t.by_job_type["ResNet-18 (batch size 16)"]["k80"], 2.0);
    }

    #[test]
    fn whole_job_rates_at_every_scale() {
        let t = parse_gavel(SAMPLE).unwrap();
        let r = "ResNet-18 (batch size 16)";
        assert_eq!(t.steps_per_s(r, 2, "k80"), Some(3.5));
        assert_eq!(t.steps_per_s(r, 2, "v100"), None);
        assert_eq!(t.steps_per_s("A3C", 1, "k80"), None, "zero throughput: cannot run there");
        // 7,000 steps of the 2-GPU job at 3.5 steps/s for the whole gang: 2,000 s, not 4,000.
        assert_eq!(t.run_time_s(r, 2, "k80", 7_000), Some(2_000.0));
        assert_eq!(t.run_time_s(r, 1, "v100", 900), Some(100.0));
        assert_eq!(t.run_time_s(r, 4, "v100", 900), None);
    }

    #[test]
    fn relative_speeds() {
        let t = parse_gavel(SAMPLE).unwrap();
        let r = "ResNet-18 (batch size 16)";
        let cases: &[(&str, &str, &str, Option<f64>)] = &[
            (r, "v100", "k80", Some(4.5)),
            (r, "k80", "v100", Some(2.0 / 9.0)),
            (r, "v100", "v100", Some(1.0)),
            ("A3C", "v100", "k80", None),
            ("A3C", "k80", "v100", Some(0.0)),
            (r, "p100", "k80", None),
            ("BERT", "v100", "k80", None),
            ("O'Brien net", "v100", "k80", None),
        ];
        for (job, w, reference, want) in cases {
            assert_eq!(t.relative_speed(job, w, reference), *want, "{job} {w}/{reference}");
        }
    }

    #[test]
    fn job_keys() {
        let cases: &[(&str, Option<(&str, u32)>)] = &[
            ("('A3C', 1)", Some(("A3C", 1))),
            ("('LM (batch size 5)', 8)", Some(("LM (batch size 5)", 8))),
            ("(\"it's\", 2)", Some(("it's", 2))),
            ("('A3C', x)", None),
            ("('A3C' 1)", None),
            ("A3C, 1", None),
            ("('', 1)", None),
            ("('A3C, 1)", None),
            ("null", None),
        ];
        for (key, want) in cases {
            assert_eq!(parse_job_key(key), *want, "{key}");
        }
    }

    #[test]
    fn bad_files() {
        let cases: &[(&str, &str)] = &[
            ("", "not valid JSON"),
            ("[1, 2]", "top level"),
            ("{}", "no job types"),
            (r#"{"k80": 3}"#, "worker 'k80'"),
            (r#"{"k80": {"A3C": {"null": 1.0}}}"#, "job key \"A3C\""),
            (r#"{"k80": {"('A3C', 1)": {}}}"#, "\"null\" must be"),
            (r#"{"k80": {"('A3C', 1)": {"null": -1.0}}}"#, "\"null\" must be"),
            (r#"{"k80": {"('A3C', 1)": {"null": "fast"}}}"#, "\"null\" must be"),
            (r#"{"k80": {"('A3C', 2)": {"null": 1.0}}}"#, "no job types"),
        ];
        for (text, msg) in cases {
            let err = parse_gavel(text).unwrap_err();
            assert!(err.contains(msg), "{text}: {err}");
        }
    }
}
