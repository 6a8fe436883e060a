//! Jobs: what a tenant asks to run, the requirement it places on accelerators, and its state machine.

use crate::catalogue::{Accelerator, Catalogue};
use crate::centre::check_name;
use crate::error::{Error, ErrorCode};
use crate::id::{CentreId, JobId, PoolId, TenantId};
use crate::money::Fen;
use crate::region::Regions;
use crate::time::UnixMs;
use serde::{Deserialize, Serialize};

/// The largest gang a job may ask for.
pub const MAX_GANG: u32 = 4096;
/// The longest estimated duration accepted: one year.
pub const MAX_DURATION_S: i64 = 366 * 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Training,
    Inference,
    Batch,
}

impl JobKind {
    pub const ALL: [JobKind; 3] = [JobKind::Training, JobKind::Inference, JobKind::Batch];
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Training => "training",
            JobKind::Inference => "inference",
            JobKind::Batch => "batch",
        }
    }
    pub fn parse(s: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A job's life: pending -> placed -> running -> succeeded | failed | cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Pending,
    Placed,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 6] =
        [JobState::Pending, JobState::Placed, JobState::Running, JobState::Succeeded, JobState::Failed, JobState::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Placed => "placed",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed | JobState::Cancelled)
    }

    /// True when the job holds accelerators of its pool.
    pub fn holds_capacity(self) -> bool {
        matches!(self, JobState::Placed | JobState::Running)
    }

    /// The legal moves. A placed job may go back to pending when its centre refuses it
    /// (dispatch failed before it started), and a running job when it is preempted or its
    /// centre goes dark, so that it can be placed again.
    pub fn can_become(self, to: JobState) -> bool {
        use JobState::*;
        matches!(
            (self, to),
            (Pending, Placed)
                | (Pending, Cancelled)
                | (Placed, Running)
                | (Placed, Pending)
                | (Placed, Failed)
                | (Placed, Cancelled)
                | (Running, Pending)
                | (Running, Succeeded)
                | (Running, Failed)
                | (Running, Cancelled)
        )
    }

    /// Checks a transition, with an error that says what the job could do instead.
    pub fn transition(self, to: JobState) -> Result<JobState, Error> {
        if self.can_become(to) {
            return Ok(to);
        }
        let options: Vec<&str> = JobState::ALL.iter().filter(|s| self.can_become(**s)).map(|s| s.as_str()).collect();
        let hint = if options.is_empty() {
            format!("it is {}, a final state", self.as_str())
        } else {
            format!("from {} it can only become {}", self.as_str(), options.join(" or "))
        };
        Err(Error::new(ErrorCode::IllegalTransition, format!("a {} job cannot become {}: {hint}", self.as_str(), to.as_str())))
    }
}

/// What a tenant wants the scheduler to weigh most.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Goal {
    /// Money, carbon and time at the policy's default weights.
    #[default]
    Balanced,
    Cheapest,
    Fastest,
    Greenest,
}

impl Goal {
    pub const ALL: [Goal; 4] = [Goal::Balanced, Goal::Cheapest, Goal::Fastest, Goal::Greenest];
    pub fn as_str(self) -> &'static str {
        match self {
            Goal::Balanced => "balanced",
            Goal::Cheapest => "cheapest",
            Goal::Fastest => "fastest",
            Goal::Greenest => "greenest",
        }
    }
}

/// What a tenant asks for. Either a list of acceptable accelerator models, or minimums
/// (FP16 TFLOPS and memory per accelerator), or both (then a model must satisfy both).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    pub name: String,
    pub kind: JobKind,
    /// Accelerators needed at once (one gang: all or none).
    pub accelerators: u32,
    pub models: Vec<String>,
    pub min_fp16_tflops: Option<f64>,
    pub min_memory_gb: Option<u32>,
    /// Estimated run time in seconds on the scheduler's reference accelerator (A100 80GB by default);
    /// on another model it is divided by that model's speed.
    pub duration_s: i64,
    pub deadline_ms: Option<UnixMs>,
    /// For latency-bound inference: the RTT budget to `users_region`.
    pub latency_slo_ms: Option<u32>,
    pub users_region: Option<String>,
    /// Where the job's data lives.
    pub data_region: Option<String>,
    /// 0 (lowest) to 9 (highest).
    pub priority: u8,
    /// The most the tenant pays per accelerator-hour (after discounts).
    pub max_price_per_hour: Option<Fen>,
    /// A measured job class (e.g. a Gavel job type) whose per-model speeds override the TFLOPS ratio.
    #[serde(default)]
    pub job_class: Option<String>,
    /// Size of the input data set in GB, moved from `data_region` to the centre.
    #[serde(default)]
    pub data_gb: Option<f64>,
    /// Whether a higher-priority job may stop this one (it restarts later, losing bounded work).
    #[serde(default)]
    pub preemptible: bool,
    /// Whether the platform may start this job again elsewhere when its centre goes dark while
    /// it runs (the lost run is not billed). Off by default: some jobs must not run twice.
    #[serde(default)]
    pub restartable: bool,
    #[serde(default)]
    pub goal: Goal,
}

impl JobSpec {
    /// A spec with the given essentials and defaults for everything else.
    pub fn new(name: &str, kind: JobKind, accelerators: u32, duration_s: i64) -> JobSpec {
        JobSpec {
            name: name.to_string(),
            kind,
            accelerators,
            models: Vec::new(),
            min_fp16_tflops: None,
            min_memory_gb: None,
            duration_s,
            deadline_ms: None,
            latency_slo_ms: None,
            users_region: None,
            data_region: None,
            priority: 4,
            max_price_per_hour: None,
            job_class: None,
            data_gb: None,
            preemptible: false,
            restartable: false,
            goal: Goal::Balanced,
        }
    }
}

impl JobSpec {
    /// Checks the spec on its own terms and against the catalogue and region table.
    pub fn validate(&self, catalogue: &Catalogue, regions: &Regions, now_ms: UnixMs) -> Result<(), Error> {
        check_name("name", &self.name)?;
        if self.accelerators == 0 || self.accelerators > MAX_GANG {
            return Err(Error::new(
                ErrorCode::InvalidCount,
                format!("accelerators must be between 1 and {MAX_GANG}, not {}", self.accelerators),
            ));
        }
        if self.duration_s <= 0 || self.duration_s > MAX_DURATION_S {
            return Err(Error::new(
                ErrorCode::InvalidDuration,
                format!("duration_s must be between 1 and {MAX_DURATION_S} seconds, not {}", self.duration_s),
            ));
        }
        if self.priority > 9 {
            return Err(Error::new(ErrorCode::InvalidPriority, format!("priority must be 0..=9, not {}", self.priority)));
        }
        for m in &self.models {
            catalogue.require(m)?;
        }
        if let Some(t) = self.min_fp16_tflops
            && !(t.is_finite() && t > 0.0)
        {
            return Err(Error::new(ErrorCode::InvalidRequirement, format!("min_fp16_tflops must be a positive number, not {t}")));
        }
        if self.min_memory_gb == Some(0) {
            return Err(Error::new(ErrorCode::InvalidRequirement, "min_memory_gb must be at least 1"));
        }
        if !self.models.is_empty() && !self.models.iter().any(|m| catalogue.get(m).is_some_and(|a| self.accepts(a))) {
            return Err(Error::new(
                ErrorCode::InvalidRequirement,
                "none of the listed models meets the job's own minimum TFLOPS or memory",
            ));
        }
        if let Some(p) = self.max_price_per_hour
            && !p.is_positive()
        {
            return Err(Error::new(ErrorCode::InvalidAmount, "max_price_per_hour must be positive"));
        }
        for region in [&self.users_region, &self.data_region].into_iter().flatten() {
            regions.require(region)?;
        }
        if let Some(slo) = self.latency_slo_ms {
            if slo == 0 {
                return Err(Error::new(ErrorCode::InvalidRequirement, "latency_slo_ms must be at least 1"));
            }
            if self.users_region.is_none() {
                return Err(Error::new(
                    ErrorCode::InvalidRequirement,
                    "a latency SLO needs users_region: the region whose users the RTT is measured to",
                ));
            }
        }
        if let Some(gb) = self.data_gb
            && !(gb.is_finite() && (0.0..=1.0e7).contains(&gb))
        {
            return Err(Error::new(ErrorCode::InvalidRequirement, format!("data_gb must be between 0 and 10,000,000, not {gb}")));
        }
        if self.job_class.as_deref().is_some_and(|c| c.is_empty() || c.len() > 120) {
            return Err(Error::new(ErrorCode::InvalidRequirement, "job_class must be 1 to 120 characters"));
        }
        if let Some(d) = self.deadline_ms
            && d <= now_ms
        {
            return Err(Error::new(ErrorCode::InvalidDuration, "the deadline is in the past"));
        }
        Ok(())
    }

    /// Whether an accelerator model satisfies the job's requirement (ignoring counts).
    pub fn accepts(&self, a: &Accelerator) -> bool {
        (self.models.is_empty() || self.models.contains(&a.model))
            && self.min_fp16_tflops.is_none_or(|t| a.fp16_tflops >= t)
            && self.min_memory_gb.is_none_or(|g| a.memory_gb >= g)
    }
}

/// Who answers for a job that failed: the tenant's own job, or the centre that ran it (a node
/// failure, a job the centre cancelled or refused, an impossible usage report). A centre's fault
/// costs the tenant nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    Job,
    Centre,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Job => "job",
            Fault::Centre => "centre",
        }
    }

    pub fn parse(s: &str) -> Option<Fault> {
        match s {
            "job" => Some(Fault::Job),
            "centre" => Some(Fault::Centre),
            _ => None,
        }
    }
}

/// What a backend says a finished run used, before the platform believes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunClaim {
    pub started_ms: UnixMs,
    pub ended_ms: UnixMs,
    /// Seconds per accelerator, in the job's own seconds (wall seconds times the time scale).
    pub usage_s: i64,
}

/// What the platform can check a claim against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunBounds {
    /// When the job was placed (a run cannot start before).
    pub placed_ms: Option<UnixMs>,
    pub now_ms: UnixMs,
    /// The backend's simulated seconds per wall second (1 on a real cluster).
    pub time_scale: f64,
    /// The job's estimated run on its pool, in its own seconds.
    pub run_estimate_s: f64,
}

/// Clocks of a centre and the platform may disagree by this much.
pub const CLOCK_SKEW_MS: i64 = 5_000;
/// A run may last this many times its estimate (the time limit backends enforce).
pub const TIME_LIMIT_FACTOR: f64 = 1.5;

/// A usage report the platform refuses: it contradicts itself or what the platform knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRefused(pub String);

impl RunBounds {
    /// The longest run the platform bills, in the job's own seconds: the time limit (1.5x the
    /// estimate) plus a minute of the backend's time, as Slurm rounds limits up to minutes.
    pub fn limit_s(&self) -> i64 {
        (self.run_estimate_s * TIME_LIMIT_FACTOR + 60.0 * self.time_scale).ceil() as i64
    }

    /// The usage the platform bills for a claim: refused when the claim contradicts itself
    /// (ends before it starts, starts before placement, ends in the future, uses more than its
    /// own span), else capped at the time limit (`Ok((usage, capped))`).
    pub fn check(&self, c: RunClaim) -> Result<(i64, bool), UsageRefused> {
        let refuse = |why: String| Err(UsageRefused(why));
        if c.usage_s < 0 {
            return refuse(format!("usage {} s is negative", c.usage_s));
        }
        if c.ended_ms < c.started_ms {
            return refuse(format!("the run ends ({}) before it starts ({})", c.ended_ms, c.started_ms));
        }
        if let Some(placed) = self.placed_ms.filter(|p| c.started_ms < p - CLOCK_SKEW_MS) {
            return refuse(format!("the run starts ({}) before the job was placed ({placed})", c.started_ms));
        }
        if c.ended_ms > self.now_ms + CLOCK_SKEW_MS {
            return refuse(format!("the run ends ({}) in the future (now {})", c.ended_ms, self.now_ms));
        }
        // A second of the backend's time covers whole-second clocks (Slurm's) on both ends.
        let span_s = ((c.ended_ms - c.started_ms) as f64 / 1000.0 + 1.0) * self.time_scale;
        if c.usage_s as f64 > span_s.ceil() {
            return refuse(format!("usage {} s is more than the run's own span of {:.0} s", c.usage_s, span_s));
        }
        let limit = self.limit_s();
        Ok(if c.usage_s > limit { (limit, true) } else { (c.usage_s, false) })
    }
}

/// How a time-sliced run segment ended (the job goes on with its progress kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SegmentEnd {
    /// Its lease ended and another job took its accelerators; it waits for its next turn.
    Yielded,
    /// Its lease ended and it moved to another accelerator type of its centre.
    Migrated,
    /// A higher-priority job preempted it mid-lease.
    Preempted,
}

impl SegmentEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentEnd::Yielded => "yielded",
            SegmentEnd::Migrated => "migrated",
            SegmentEnd::Preempted => "preempted",
        }
    }

    pub fn parse(s: &str) -> Option<SegmentEnd> {
        [SegmentEnd::Yielded, SegmentEnd::Migrated, SegmentEnd::Preempted].into_iter().find(|e| e.as_str() == s)
    }
}

/// One stopped run of a time-sliced job: where it ran, what it metered and what it cost, how
/// much of the job's work it did (reference seconds) and why it stopped. The job's last run is
/// not a segment: it is the job's own `usage_s` and `cost`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub job_id: JobId,
    /// 1, 2, ... in the order the runs happened.
    pub seq: u32,
    pub centre_id: CentreId,
    pub pool_id: PoolId,
    pub accelerator: String,
    pub started_ms: UnixMs,
    pub ended_ms: UnixMs,
    /// Seconds per accelerator it ran, as the backend metered them when it was stopped.
    pub usage_s: i64,
    /// Seconds of the job's reference duration it completed (restore time excluded).
    pub work_ref_s: i64,
    /// What it ran, at its pool's price and discount.
    pub cost: Fen,
    pub end: SegmentEnd,
    /// Why it stopped: typed, or only the English text of a segment stored before segments'
    /// reasons were typed.
    pub reason: crate::reason::StatedReason,
}

/// The sums over a job's segments: what its earlier runs metered, cost and completed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentTotals {
    pub segments: u32,
    pub usage_s: i64,
    pub cost: Fen,
    pub work_ref_s: i64,
}

impl SegmentTotals {
    pub fn of(segments: &[Segment]) -> SegmentTotals {
        segments.iter().fold(SegmentTotals::default(), |t, s| SegmentTotals {
            segments: t.segments + 1,
            usage_s: t.usage_s + s.usage_s,
            cost: Fen(t.cost.0 + s.cost.0),
            work_ref_s: t.work_ref_s + s.work_ref_s,
        })
    }

    /// Reference seconds of work left of a job of `duration_s` (at least one).
    pub fn remaining_ref_s(&self, duration_s: i64) -> i64 {
        (duration_s - self.work_ref_s).max(1)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub tenant_id: TenantId,
    pub spec: JobSpec,
    pub state: JobState,
    pub pool_id: Option<PoolId>,
    pub centre_id: Option<CentreId>,
    pub submitted_ms: UnixMs,
    pub placed_ms: Option<UnixMs>,
    pub started_ms: Option<UnixMs>,
    pub finished_ms: Option<UnixMs>,
    /// Why the job is where it is (pending reason, failure cause, who cancelled).
    pub reason: Option<crate::reason::StatedReason>,
    /// Accelerator-seconds per accelerator the job ran, as the backend metered it.
    pub usage_s: Option<i64>,
    /// Metered cost at the pool's price and discount.
    pub cost: Option<Fen>,
    /// For a failed job: who answers for the failure.
    #[serde(default)]
    pub fault: Option<Fault>,
}

impl Job {
    /// A job just submitted: pending, nowhere yet.
    pub fn pending(id: JobId, tenant_id: TenantId, spec: JobSpec, submitted_ms: UnixMs) -> Job {
        Job {
            id,
            tenant_id,
            spec,
            state: JobState::Pending,
            pool_id: None,
            centre_id: None,
            submitted_ms,
            placed_ms: None,
            started_ms: None,
            finished_ms: None,
            reason: None,
            usage_s: None,
            cost: None,
            fault: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_claims_are_checked_and_capped() {
        let b = RunBounds { placed_ms: Some(1_000_000), now_ms: 10_000_000, time_scale: 1.0, run_estimate_s: 3600.0 };
        let claim = |s: i64, e: i64, u: i64| b.check(RunClaim { started_ms: s, ended_ms: e, usage_s: u });
        assert_eq!(claim(1_000_000, 4_600_000, 3600), Ok((3600, false)));
        // Slurm's whole-second clocks: a second of slack.
        assert_eq!(claim(1_000_000, 4_600_000, 3601), Ok((3601, false)));
        // The attack: a second of wall time claiming a billion seconds.
        assert!(claim(9_998_000, 9_999_000, 1_000_000_000).is_err());
        assert!(claim(2_000_000, 1_000_000, 0).is_err(), "ends before it starts");
        assert!(claim(100_000, 200_000, 100).is_err(), "starts before placement");
        assert!(claim(1_000_000, 20_000_000, 100).is_err(), "ends in the future");
        assert!(claim(1_000_000, 2_000_000, -1).is_err(), "negative");
        // Consistent but past the time limit (1.5 x 3600 s + 60 s): billed up to the limit.
        assert_eq!(b.limit_s(), 5460);
        assert_eq!(claim(1_000_000, 9_000_000, 8000), Ok((5460, true)));
        // A time-scaled backend: a wall second is time_scale of the job's seconds.
        let fast = RunBounds { time_scale: 600.0, ..b };
        assert_eq!(fast.check(RunClaim { started_ms: 1_000_000, ended_ms: 1_006_000, usage_s: 3600 }), Ok((3600, false)));
        assert!(fast.check(RunClaim { started_ms: 1_000_000, ended_ms: 1_001_000, usage_s: 3600 }).is_err());
    }

    pub(crate) fn spec() -> JobSpec {
        JobSpec {
            name: "train-llm".into(),
            kind: JobKind::Training,
            accelerators: 8,
            models: vec![],
            min_fp16_tflops: Some(300.0),
            min_memory_gb: None,
            duration_s: 3600,
            deadline_ms: None,
            latency_slo_ms: None,
            users_region: None,
            data_region: Some("hangzhou".into()),
            priority: 5,
            max_price_per_hour: None,
            job_class: None,
            data_gb: None,
            preemptible: false,
            restartable: false,
            goal: Goal::Balanced,
        }
    }

    #[test]
    fn every_transition_follows_the_table() {
        use JobState::*;
        let legal = [
            (Pending, Placed),
            (Pending, Cancelled),
            (Placed, Running),
            (Placed, Pending),
            (Placed, Failed),
            (Placed, Cancelled),
            (Running, Pending),
            (Running, Succeeded),
            (Running, Failed),
            (Running, Cancelled),
        ];
        for from in JobState::ALL {
            for to in JobState::ALL {
                let ok = legal.contains(&(from, to));
                assert_eq!(from.transition(to).is_ok(), ok, "{from:?} -> {to:?}");
            }
        }
        let e = Succeeded.transition(Running).unwrap_err();
        assert_eq!(e.code, ErrorCode::IllegalTransition);
        assert!(e.message.contains("final state"));
        assert!(Pending.transition(Succeeded).unwrap_err().message.contains("placed or cancelled"));
    }

    #[test]
    fn spec_validation_table() {
        let (cat, regions) = (Catalogue::builtin(), Regions::builtin());
        assert!(spec().validate(&cat, &regions, 0).is_ok());
        let cases: Vec<(JobSpec, ErrorCode)> = vec![
            (JobSpec { accelerators: 0, ..spec() }, ErrorCode::InvalidCount),
            (JobSpec { accelerators: MAX_GANG + 1, ..spec() }, ErrorCode::InvalidCount),
            (JobSpec { duration_s: -1, ..spec() }, ErrorCode::InvalidDuration),
            (JobSpec { priority: 10, ..spec() }, ErrorCode::InvalidPriority),
            (JobSpec { models: vec!["gtx-9999".into()], ..spec() }, ErrorCode::UnknownAccelerator),
            (JobSpec { models: vec!["t4".into()], ..spec() }, ErrorCode::InvalidRequirement),
            (JobSpec { min_fp16_tflops: Some(f64::NAN), ..spec() }, ErrorCode::InvalidRequirement),
            (JobSpec { latency_slo_ms: Some(10), ..spec() }, ErrorCode::InvalidRequirement),
            (JobSpec { data_region: Some("mars".into()), ..spec() }, ErrorCode::InvalidRegion),
            (JobSpec { max_price_per_hour: Some(Fen(-1)), ..spec() }, ErrorCode::InvalidAmount),
            (JobSpec { deadline_ms: Some(5), ..spec() }, ErrorCode::InvalidDuration),
            (JobSpec { name: String::new(), ..spec() }, ErrorCode::InvalidName),
        ];
        for (s, code) in cases {
            assert_eq!(s.validate(&cat, &regions, 10).unwrap_err().code, code, "{s:?}");
        }
    }

    #[test]
    fn accepts_by_model_or_minimums() {
        let cat = Catalogue::builtin();
        let s = spec();
        assert!(s.accepts(cat.get("h800").unwrap()));
        assert!(!s.accepts(cat.get("t4").unwrap()));
        let by_model = JobSpec { models: vec!["t4".into()], min_fp16_tflops: None, ..spec() };
        assert!(by_model.accepts(cat.get("t4").unwrap()));
        assert!(!by_model.accepts(cat.get("h800").unwrap()));
    }
}
