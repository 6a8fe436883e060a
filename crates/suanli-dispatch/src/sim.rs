//! The simulated centre: runs jobs in scaled time, with optional, reproducible failures, for `--demo` and tests.
//!
//! A job runs for its estimated run time on the pool's accelerator (its reference duration over
//! the accelerator's speed, as the engine hands it), at `time_scale` simulated seconds per wall
//! second, after a short start delay; so a bill matches the quote of the pool it ran on. Whether a job fails, and when, is a pure function of the seed and the
//! job id, so a restarted server that re-submits its in-flight jobs sees the same outcome.

use crate::{Backend, BackendError, RunStatus};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use suanli_core::id::JobId;
use suanli_core::job::{Fault, Job};
use suanli_core::time::UnixMs;

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Simulated seconds per wall-clock second (600: an hour-long job runs for 6 s).
    pub time_scale: f64,
    /// Wall milliseconds between submit and start.
    pub start_delay_ms: i64,
    /// Share of jobs that fail part-way (0..=1).
    pub failure_rate: f64,
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig { time_scale: 600.0, start_delay_ms: 300, failure_rate: 0.0, seed: 7 }
    }
}

#[derive(Debug, Clone)]
struct SimRun {
    start_ms: UnixMs,
    /// Wall ms from start to the end (success or failure).
    wall_ms: i64,
    /// Simulated seconds metered at the end.
    usage_s: i64,
    fails: bool,
    cancelled_at: Option<UnixMs>,
}

#[derive(Debug)]
pub struct SimBackend {
    config: SimConfig,
    runs: Mutex<HashMap<JobId, SimRun>>,
}

impl SimBackend {
    pub fn new(config: SimConfig) -> SimBackend {
        SimBackend { config, runs: Mutex::new(HashMap::new()) }
    }

    /// Forgets every job, as a centre that lost its state would (for tests).
    pub fn forget_all(&self) {
        self.runs.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn plan(&self, job: &Job, run_s: f64, now_ms: UnixMs) -> SimRun {
        let h = suanli_core::rng::SplitMix::new(self.config.seed ^ fnv(job.id.as_str())).next_u64();
        let fails = (h % 1_000_000) as f64 / 1_000_000.0 < self.config.failure_rate;
        let duration_s = if run_s.is_finite() { run_s.round().max(1.0) as i64 } else { job.spec.duration_s.max(1) };
        // A failing job dies somewhere between 10% and 90% of its run.
        let usage_s =
            if fails { (duration_s as f64 * (0.1 + 0.8 * ((h >> 20) % 1000) as f64 / 1000.0)).max(1.0) as i64 } else { duration_s };
        let scale = self.config.time_scale.max(1e-6);
        // A job the store says already started keeps its start time (adoption after a restart).
        let start_ms = job.started_ms.unwrap_or(now_ms + self.config.start_delay_ms);
        SimRun { start_ms, wall_ms: ((usage_s as f64 * 1000.0) / scale).ceil() as i64, usage_s, fails, cancelled_at: None }
    }

    fn status_of(&self, run: &SimRun, now_ms: UnixMs) -> RunStatus {
        let end = run.start_ms + run.wall_ms;
        if now_ms < run.start_ms {
            return RunStatus::Queued;
        }
        if now_ms < end {
            return RunStatus::Running { started_ms: run.start_ms };
        }
        if run.fails {
            RunStatus::Failed {
                started_ms: run.start_ms,
                ended_ms: end,
                usage_s: run.usage_s,
                fault: Fault::Centre,
                reason: suanli_core::reason::JobReason::SimulatedNodeFailure,
            }
        } else {
            RunStatus::Succeeded { started_ms: run.start_ms, ended_ms: end, usage_s: run.usage_s }
        }
    }
}

#[async_trait]
impl Backend for SimBackend {
    fn name(&self) -> &str {
        "sim"
    }

    fn time_scale(&self) -> f64 {
        self.config.time_scale
    }

    async fn submit(&self, job: &Job, run_s: f64, now_ms: UnixMs) -> Result<(), BackendError> {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        // A job stopped earlier (preempted, or its centre failed) starts afresh when submitted again.
        if runs.get(&job.id).is_none_or(|r| r.cancelled_at.is_some()) {
            let mut fresh = job.clone();
            if runs.contains_key(&job.id) {
                fresh.started_ms = None;
            }
            let run = self.plan(&fresh, run_s, now_ms);
            runs.insert(job.id.clone(), run);
        }
        Ok(())
    }

    async fn status(&self, jobs: &[JobId], now_ms: UnixMs) -> Result<HashMap<JobId, RunStatus>, BackendError> {
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        Ok(jobs
            .iter()
            .map(|id| {
                let s = match runs.get(id) {
                    Some(run) if run.cancelled_at.is_none() => self.status_of(run, now_ms),
                    _ => RunStatus::Unknown,
                };
                (id.clone(), s)
            })
            .collect())
    }

    async fn cancel(&self, job: &JobId, now_ms: UnixMs) -> Result<Option<i64>, BackendError> {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        let Some(run) = runs.get_mut(job) else {
            return Ok(None);
        };
        if run.cancelled_at.is_some() || now_ms < run.start_ms {
            run.cancelled_at.get_or_insert(now_ms);
            return Ok(None);
        }
        run.cancelled_at = Some(now_ms);
        let ran_wall = (now_ms - run.start_ms).min(run.wall_ms);
        Ok(Some(((ran_wall as f64 / 1000.0) * self.config.time_scale).round().clamp(0.0, run.usage_s as f64) as i64))
    }

    async fn active(&self, now_ms: UnixMs) -> Result<Vec<JobId>, BackendError> {
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        Ok(runs.iter().filter(|(_, r)| r.cancelled_at.is_none() && now_ms < r.start_ms + r.wall_ms).map(|(id, _)| id.clone()).collect())
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}
