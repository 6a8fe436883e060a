//! Reading slurmrestd's answers: a Slurm job from slurmctld or the accounting database, its state as a run status, errors, exit codes, and the cluster's GPU capacity from its nodes.

use super::{COMMENT_PREFIX, Capacity, NAME_PREFIX, NodeGpus};
use crate::RunStatus;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;
use suanli_core::id::JobId;
use suanli_core::job::Fault;
use suanli_core::reason::JobReason;
use suanli_core::time::UnixMs;
/// A Slurm job as read from slurmctld (`/slurm/...`) or the accounting database (`/slurmdb/...`).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SlurmJob {
    pub(super) id: u64,
    pub(super) suanli: Option<JobId>,
    /// The base state, upper case (`RUNNING`, `COMPLETED`, ...).
    pub(super) state: String,
    /// `state_reason` (`None`, `Resources`, `NonZeroExitCode`, `BadConstraints`, ...).
    pub(super) reason: String,
    pub(super) submit_s: i64,
    pub(super) start_s: i64,
    pub(super) end_s: i64,
    /// The raw wait status (`768` = exit 3, `15` = signal 15).
    pub(super) exit: Option<i64>,
    /// The allocated nodes; empty for a job that never started.
    pub(super) nodes: String,
    pub(super) time_limit_min: Option<i64>,
}

pub(super) const QUEUED_STATES: &[&str] = &["PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"];
pub(super) const RUNNING_STATES: &[&str] = &["RUNNING", "COMPLETING", "SUSPENDED", "SIGNALING", "STAGE_OUT", "RESIZING", "STOPPED"];
pub(super) const FINAL_STATES: &[&str] =
    &["COMPLETED", "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "DEADLINE", "NODE_FAIL", "BOOT_FAIL", "PREEMPTED", "CANCELLED"];

impl SlurmJob {
    pub(super) fn from_ctld(v: &Value) -> Option<SlurmJob> {
        Some(SlurmJob {
            id: number(v.get("job_id")?)? as u64,
            suanli: suanli_id(v.get("comment").and_then(Value::as_str), v.get("name").and_then(Value::as_str)),
            state: base_state(v.get("job_state").and_then(Value::as_str).unwrap_or("")),
            reason: v.get("state_reason").and_then(Value::as_str).unwrap_or("").to_string(),
            submit_s: v.get("submit_time").and_then(number).unwrap_or(0),
            start_s: v.get("start_time").and_then(number).unwrap_or(0),
            end_s: v.get("end_time").and_then(number).unwrap_or(0),
            exit: v.get("exit_code").and_then(number),
            nodes: v.get("nodes").and_then(Value::as_str).unwrap_or("").to_string(),
            time_limit_min: v.get("time_limit").and_then(number),
        })
    }

    /// A job just submitted, before slurmctld is asked about it.
    pub(super) fn submitted(id: u64, suanli: &JobId) -> SlurmJob {
        SlurmJob {
            id,
            suanli: Some(suanli.clone()),
            state: "PENDING".to_string(),
            reason: String::new(),
            submit_s: 0,
            start_s: 0,
            end_s: 0,
            exit: None,
            nodes: String::new(),
            time_limit_min: None,
        }
    }

    pub(super) fn from_db(v: &Value) -> Option<SlurmJob> {
        let time = v.get("time");
        let t = |k: &str| time.and_then(|t| t.get(k)).and_then(number).unwrap_or(0);
        // The job-level exit_code is wrong in 22.05.8 for failed jobs: read the batch step's.
        let batch = v.get("steps").and_then(Value::as_array).and_then(|steps| {
            steps.iter().find(|s| s.pointer("/step/name").and_then(Value::as_str) == Some("batch")).and_then(|s| s.get("exit_code"))
        });
        let nodes = v.get("nodes").and_then(Value::as_str).unwrap_or("");
        Some(SlurmJob {
            id: number(v.get("job_id")?)? as u64,
            suanli: suanli_id(v.pointer("/comment/job").and_then(Value::as_str), v.get("name").and_then(Value::as_str)),
            state: base_state(v.pointer("/state/current").and_then(Value::as_str).unwrap_or("")),
            reason: v.pointer("/state/reason").and_then(Value::as_str).unwrap_or("").to_string(),
            submit_s: t("submission"),
            start_s: t("start"),
            end_s: t("end"),
            exit: batch.or_else(|| v.get("exit_code")).and_then(db_exit),
            nodes: if nodes == "None assigned" { String::new() } else { nodes.to_string() },
            time_limit_min: time.and_then(|t| t.get("limit")).and_then(number),
        })
    }

    pub(super) fn is_active(&self) -> bool {
        QUEUED_STATES.contains(&self.state.as_str()) || RUNNING_STATES.contains(&self.state.as_str())
    }

    pub(super) fn is_final(&self) -> bool {
        FINAL_STATES.contains(&self.state.as_str())
    }

    /// Whether it ever ran: a job cancelled while pending has a start time but no node.
    pub(super) fn started(&self) -> bool {
        self.start_s > 0 && !self.nodes.is_empty()
    }

    /// The latest of its times that Slurm's clock has surely passed: the submission, the start
    /// once it ran, the end once final (a pending or running job's other times are estimates).
    pub(super) fn surely_past_s(&self) -> i64 {
        let ran = RUNNING_STATES.contains(&self.state.as_str()) || self.is_final();
        let start = if ran && self.started() { self.start_s } else { 0 };
        let end = if self.is_final() { self.end_s } else { 0 };
        self.submit_s.max(start).max(end)
    }

    /// Metered seconds in the job's own seconds.
    pub(super) fn usage_s(&self, time_scale: f64) -> i64 {
        if !self.started() || self.end_s < self.start_s {
            return 0;
        }
        ((self.end_s - self.start_s) as f64 * time_scale).round() as i64
    }

    /// What a cancel at `now_ms` meters: `None` if it never started.
    pub(super) fn metered_until(&self, now_ms: UnixMs, time_scale: f64) -> Option<i64> {
        if !self.started() {
            return None;
        }
        if self.is_final() {
            return Some(self.usage_s(time_scale));
        }
        let ran_ms = (now_ms - self.start_s * 1000).max(0);
        Some((ran_ms as f64 / 1000.0 * time_scale).round() as i64)
    }

    pub(super) fn run_status(&self, time_scale: f64) -> RunStatus {
        let state = self.state.as_str();
        let started_ms = self.start_s * 1000;
        if QUEUED_STATES.contains(&state) {
            return RunStatus::Queued;
        }
        if RUNNING_STATES.contains(&state) {
            return if self.started() { RunStatus::Running { started_ms } } else { RunStatus::Queued };
        }
        if !self.is_final() {
            tracing::warn!(slurm_id = self.id, state, "slurm: unfamiliar job state");
            return if self.started() { RunStatus::Running { started_ms } } else { RunStatus::Queued };
        }
        // A job that never started has no run: it starts and ends when it ended.
        let (started_ms, ended_ms) = if self.started() {
            (started_ms, self.end_s.max(self.start_s) * 1000)
        } else {
            let at = if self.end_s > 0 { self.end_s } else { self.submit_s };
            (at * 1000, at * 1000)
        };
        let usage_s = self.usage_s(time_scale);
        let exit = describe_exit(self.exit);
        let why = match self.reason.as_str() {
            "" | "None" | "NonZeroExitCode" | "TimeLimit" => String::new(),
            r => format!(", {r}"),
        };
        let (fault, reason) = match state {
            "COMPLETED" => return RunStatus::Succeeded { started_ms, ended_ms, usage_s },
            "FAILED" if !self.started() => (Fault::Centre, format!("slurm refused the job ({})", self.reason)),
            "FAILED" => (Fault::Job, format!("failed in slurm: {exit}{why}")),
            "TIMEOUT" => {
                let limit = self.time_limit_min.map_or(String::new(), |m| format!(" of {m} min"));
                (Fault::Job, format!("timed out in slurm: ran past its time limit{limit} ({exit})"))
            }
            "OUT_OF_MEMORY" => (Fault::Job, format!("out of memory in slurm ({exit})")),
            "DEADLINE" => (Fault::Job, format!("missed its deadline in slurm ({exit})")),
            "NODE_FAIL" => (Fault::Centre, format!("slurm node failure on {}", if self.nodes.is_empty() { "?" } else { &self.nodes })),
            "BOOT_FAIL" => (Fault::Centre, "slurm node boot failure".to_string()),
            "PREEMPTED" => (Fault::Centre, "preempted by slurm".to_string()),
            _ => (Fault::Centre, "cancelled in slurm, not through Suanli".to_string()),
        };
        RunStatus::Failed { started_ms, ended_ms, usage_s, fault, reason: JobReason::Failed { detail: reason } }
    }
}

/// The job to adopt among those carrying the id: the newest live one, else the newest finished
/// one that is not stale (see the module documentation).
pub(super) fn adoptable(candidates: &[SlurmJob], placed_ms: Option<UnixMs>, cancelled: Option<u64>) -> Option<&SlurmJob> {
    let ours = candidates.iter().filter(|j| Some(j.id) != cancelled);
    if let Some(live) = ours.clone().filter(|j| j.is_active()).max_by_key(|j| j.id) {
        return Some(live);
    }
    ours.filter(|j| j.is_final() && j.started())
        // Whole seconds: a job of this attempt may read as ended up to a second before the placement.
        .filter(|j| placed_ms.is_none_or(|p| j.end_s * 1000 + 1000 >= p))
        .max_by_key(|j| j.id)
}

/// The id from a submission answer: success means a `job_id`, even with errors (a held job).
pub(super) fn submitted_id(status: StatusCode, answer: &Value) -> Result<u64, ()> {
    match answer.get("job_id").and_then(number) {
        Some(id) if id > 0 && status == StatusCode::OK => Ok(id as u64),
        _ => Err(()),
    }
}

pub(super) fn suanli_id(comment: Option<&str>, name: Option<&str>) -> Option<JobId> {
    match comment.and_then(|c| c.strip_prefix(COMMENT_PREFIX)) {
        Some(id) => JobId::parse(id.trim()).ok(),
        None => name.and_then(|n| n.strip_prefix(NAME_PREFIX)).and_then(|id| JobId::parse(id).ok()),
    }
}

/// `RUNNING`, `running`, `CANCELLED by 0`, `COMPLETING+...` -> the base state in upper case.
pub(super) fn base_state(s: &str) -> String {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or("").to_ascii_uppercase()
}

/// An integer from a number, a numeric string, or a later API's `{"set": true, "number": n}`.
pub(super) fn number(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        Value::Object(o) if o.get("set").and_then(Value::as_bool) != Some(false) => o.get("number").and_then(number),
        _ => None,
    }
}

/// slurmdb's `{"status": "SIGNALED", "signal": {"signal_id": 15}}` / `{"return_code": 3}` as a raw wait status.
pub(super) fn db_exit(v: &Value) -> Option<i64> {
    if let Some(sig) = v.pointer("/signal/signal_id").and_then(number).filter(|s| *s > 0) {
        return Some(sig & 0x7f);
    }
    v.get("return_code").and_then(number).map(|rc| (rc & 0xff) << 8)
}

pub(super) fn describe_exit(raw: Option<i64>) -> String {
    match raw {
        None => "exit status unknown".to_string(),
        Some(raw) if raw & 0x7f != 0 => format!("killed by signal {}", raw & 0x7f),
        Some(raw) => format!("exit code {}", (raw >> 8) & 0xff),
    }
}

/// `(code, message)` of each entry of `errors`; `code` from `error_code` or `error_number`.
pub(super) fn slurm_errors(json: &Value) -> Vec<(Option<i64>, String)> {
    let Some(errors) = json.get("errors").and_then(Value::as_array) else {
        return Vec::new();
    };
    errors
        .iter()
        .map(|e| {
            let code = e.get("error_code").or_else(|| e.get("error_number")).and_then(number);
            let text: Vec<&str> =
                ["error", "description"].iter().filter_map(|k| e.get(*k).and_then(Value::as_str)).filter(|s| !s.is_empty()).collect();
            let source = e.get("source").and_then(Value::as_str).map(|s| format!(" [{s}]")).unwrap_or_default();
            (code, format!("{}{source}", text.join(": ")))
        })
        .collect()
}

pub(super) fn describe_errors(json: &Value) -> String {
    let errors = slurm_errors(json);
    if errors.is_empty() {
        return "no error details".into();
    }
    errors.iter().map(|(code, text)| code.map_or(text.clone(), |c| format!("error {c}: {text}"))).collect::<Vec<_>>().join("; ")
}

pub(super) fn transport_error(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {:.1} s (timeout)", timeout.as_secs_f64());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

pub(super) fn snippet(text: &str) -> String {
    let t = text.trim();
    match t.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &t[..i]),
        None => t.to_string(),
    }
}

pub(super) fn redact_url(url: &str) -> String {
    match url.find("token=") {
        Some(i) => {
            let end = url[i..].find('&').map_or(url.len(), |e| i + e);
            format!("{}token=<redacted>{}", &url[..i], &url[end..])
        }
        None => url.to_string(),
    }
}

/// A GRES count: `gpu:8`, `gpu:a100:4(S:0-1)`, `gpu:a100:2(IDX:0,2),gpu:v100:1` -> the sum of
/// the `gpu` entries, each the last `:`-separated number before any `(`.
pub(super) fn gres_gpus(s: &str) -> u32 {
    let mut parts = Vec::new();
    let (mut depth, mut from) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[from..]);
    parts
        .iter()
        .map(|p| p.split('(').next().unwrap_or("").trim())
        .filter(|p| p.split(':').next() == Some("gpu"))
        .filter_map(|p| p.rsplit(':').next().and_then(|n| n.parse::<u32>().ok()))
        .sum()
}

pub(super) fn capacity_from_nodes(nodes: &[Value], partition: Option<&str>) -> Capacity {
    let mut partitions = std::collections::BTreeSet::new();
    let mut per_node = Vec::new();
    for n in nodes {
        let parts: Vec<String> = n
            .get("partitions")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|p| p.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        if partition.is_some_and(|p| !parts.iter().any(|x| x == p)) {
            continue;
        }
        partitions.extend(parts);
        let state = n.get("state").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
        let flags: Vec<String> = n
            .get("state_flags")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|f| f.as_str().map(str::to_ascii_uppercase)).collect())
            .unwrap_or_default();
        let base = base_state(&state).to_ascii_lowercase();
        let flagged =
            flags.iter().any(|f| ["DRAIN", "FAIL", "MAINT", "NOT_RESPONDING", "POWER", "REBOOT"].iter().any(|bad| f.starts_with(bad)));
        let available = matches!(base.as_str(), "idle" | "mixed" | "allocated" | "completing") && !flagged;
        let total = n.get("gres").and_then(Value::as_str).map_or(0, gres_gpus);
        let used = n.get("gres_used").and_then(Value::as_str).map_or(0, gres_gpus).min(total);
        per_node.push(NodeGpus {
            name: n.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
            state,
            gpus_total: total,
            gpus_used: used,
            available,
        });
    }
    Capacity {
        nodes: per_node.len() as u32,
        gpus_total: per_node.iter().map(|n| n.gpus_total).sum(),
        gpus_free: per_node.iter().filter(|n| n.available).map(|n| n.gpus_total - n.gpus_used).sum(),
        partitions: partitions.into_iter().collect(),
        per_node,
    }
}
