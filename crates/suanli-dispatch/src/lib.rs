//! Dispatch: the [`Backend`] trait a centre's cluster is reached through, the simulated centre, and the engine loop.
//!
//! The engine runs one round at a time: place pending jobs (through `suanli-sched`), hand
//! placed jobs to their backend (submit is idempotent: the backend job carries the Suanli
//! job id), read the status of everything in flight, and write each change to the store in
//! one transaction with its audit record. Backends hold no state that the store cannot
//! rebuild: after a restart the engine re-submits what the store says is in flight and the
//! backend adopts it.

pub mod agent;
pub mod billing;
pub mod engine;
pub mod ids;
pub mod sim;
pub mod slurm;
pub mod unfunded;

use async_trait::async_trait;
use std::collections::HashMap;
use suanli_core::id::JobId;
use suanli_core::job::{Fault, Job};
use suanli_core::time::UnixMs;

/// What a backend says about one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    /// Accepted, not yet started.
    Queued,
    Running {
        started_ms: UnixMs,
    },
    /// Finished; `usage_s` is the metered run time per accelerator on the pool it ran on, in the
    /// job's own seconds (wall seconds times the backend's time scale, 1 on a real cluster).
    Succeeded {
        started_ms: UnixMs,
        ended_ms: UnixMs,
        usage_s: i64,
    },
    Failed {
        started_ms: UnixMs,
        ended_ms: UnixMs,
        usage_s: i64,
        /// Who answers for the failure: the centre's fault costs the tenant nothing.
        fault: Fault,
        /// Why, as the backend said it ([`JobReason::Failed`]) or the platform found it.
        reason: suanli_core::reason::JobReason,
    },
    /// The backend has no record of the job.
    Unknown,
}

/// A failure to talk to a backend (as opposed to a job failing on it).
#[derive(Debug, Clone)]
pub struct BackendError(pub String);

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "backend: {}", self.0)
    }
}

impl std::error::Error for BackendError {}

/// A centre's cluster, as the platform sees it.
#[async_trait]
pub trait Backend: Send + Sync {
    /// A short name for logs and the audit trail ("sim", "slurm", ...).
    fn name(&self) -> &str;

    /// Starts a job, or adopts it if this backend already has it (same Suanli job id). `run_s`
    /// is how long the job should run on the accelerator of the pool it was placed on (its
    /// reference duration over that accelerator's speed): simulated work runs that long, and
    /// time limits derive from it.
    async fn submit(&self, job: &Job, run_s: f64, now_ms: UnixMs) -> Result<(), BackendError>;

    /// The status of many jobs at once.
    async fn status(&self, jobs: &[JobId], now_ms: UnixMs) -> Result<HashMap<JobId, RunStatus>, BackendError>;

    /// Stops a job; returns the metered seconds it ran, if it had started.
    async fn cancel(&self, job: &JobId, now_ms: UnixMs) -> Result<Option<i64>, BackendError>;

    /// The Suanli job ids this backend is running or holding now.
    async fn active(&self, now_ms: UnixMs) -> Result<Vec<JobId>, BackendError>;

    /// Simulated seconds per wall second (1 for a real cluster): the platform checks a reported
    /// run's usage against its wall-clock span times this.
    fn time_scale(&self) -> f64 {
        1.0
    }

    /// Whether the centre can take work: false when it missed its heartbeats for longer than
    /// `heartbeat_timeout_ms` (backends without heartbeats are always available).
    fn available(&self, _now_ms: UnixMs, _heartbeat_timeout_ms: i64) -> bool {
        true
    }

    /// How long the centre has been silent, for backends with heartbeats (an agent that never
    /// connected: forever); `None` for backends without.
    fn silent_ms(&self, _now_ms: UnixMs) -> Option<i64> {
        None
    }

    /// What a slurmrestd backend asked its cluster since it was made (for `/metrics`); `None`
    /// for backends that do not talk to slurmrestd.
    fn slurm_stats(&self) -> Option<slurm::SlurmStats> {
        None
    }
}
