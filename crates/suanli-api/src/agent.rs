//! The protocol between the platform and a centre's agent, versioned apart from the core model.
//!
//! An agent (`suanli agent`) runs inside a centre behind its firewall. It long-polls
//! `GET /api/v1/agents/{centre}/assignments` and posts `POST /api/v1/agents/{centre}/reports`,
//! each with the header [`PROTOCOL_HEADER`] naming the protocol version it speaks. The bodies are
//! the types of [`v1`]; they carry what a centre needs to run a job (its id, size and run time),
//! not the platform's whole job record, so the platform's model can change without breaking
//! agents already deployed. A request naming a version the platform does not speak is refused
//! with `agent_protocol_unsupported`; a request without the header is read as version 1.

/// The request header naming the agent protocol's version.
pub const PROTOCOL_HEADER: &str = "suanli-agent-protocol";

/// The versions this build speaks, oldest first.
pub const SUPPORTED: &[u32] = &[v1::VERSION];

/// Version 1 of the agent protocol.
pub mod v1 {
    use serde::{Deserialize, Serialize};
    use suanli_core::id::{JobId, TenantId};
    use suanli_core::job::{Fault, Job, JobKind, JobSpec, JobState};
    use suanli_core::time::UnixMs;
    use utoipa::ToSchema;

    pub const VERSION: u32 = 1;

    /// A job as its centre needs it: who it is for, how many accelerators, how long.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct AgentJob {
        pub id: JobId,
        pub tenant_id: TenantId,
        pub name: String,
        pub kind: JobKind,
        /// Accelerators the job needs at once (one gang).
        pub accelerators: u32,
        /// The tenant's estimate in seconds on the reference accelerator.
        pub duration_s: i64,
        /// When the platform placed it (ms since the epoch): a restarted agent adopts a job its
        /// cluster already holds under this id rather than running it twice.
        pub placed_ms: Option<UnixMs>,
        /// When it started, if the platform has seen it start.
        pub started_ms: Option<UnixMs>,
    }

    impl AgentJob {
        /// What a centre is told of a placed job.
        pub fn of(job: &Job) -> AgentJob {
            AgentJob {
                id: job.id.clone(),
                tenant_id: job.tenant_id.clone(),
                name: job.spec.name.clone(),
                kind: job.spec.kind,
                accelerators: job.spec.accelerators,
                duration_s: job.spec.duration_s,
                placed_ms: job.placed_ms,
                started_ms: job.started_ms,
            }
        }

        /// The job as the agent's local backend takes it: placed (or running, once started),
        /// with nothing the centre was not told.
        pub fn to_job(&self) -> Job {
            let spec = JobSpec::new(&self.name, self.kind, self.accelerators, self.duration_s);
            let mut job = Job::pending(self.id.clone(), self.tenant_id.clone(), spec, self.placed_ms.unwrap_or(0));
            job.placed_ms = self.placed_ms;
            job.started_ms = self.started_ms;
            job.state = if self.started_ms.is_some() { JobState::Running } else { JobState::Placed };
            job
        }
    }

    /// A job an agent is told to run, with its seconds on the pool it was placed on (what the
    /// time limit derives from).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct Assigned {
        pub job: AgentJob,
        pub run_s: f64,
    }

    /// What an agent is told to do.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct Assignments {
        /// The protocol version of this answer.
        #[serde(default = "version")]
        pub protocol: u32,
        pub submit: Vec<Assigned>,
        pub cancel: Vec<JobId>,
    }

    fn version() -> u32 {
        VERSION
    }

    impl Assignments {
        pub fn new(submit: Vec<Assigned>, cancel: Vec<JobId>) -> Assignments {
            Assignments { protocol: VERSION, submit, cancel }
        }

        pub fn is_empty(&self) -> bool {
            self.submit.is_empty() && self.cancel.is_empty()
        }
    }

    /// Where a job stands on the centre's cluster.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum RunState {
        Queued,
        Running,
        Succeeded,
        Failed,
        /// The cluster does not know the job.
        Unknown,
    }

    /// One job's status as the agent reports it. `started_ms` is required from `running` on,
    /// `ended_ms` and `usage_s` for `succeeded` and `failed`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct JobReport {
        pub job_id: JobId,
        pub state: RunState,
        #[serde(default)]
        pub started_ms: Option<UnixMs>,
        #[serde(default)]
        pub ended_ms: Option<UnixMs>,
        #[serde(default)]
        pub usage_s: Option<i64>,
        /// For a failed job: `job` (the tenant's) or `centre` (costs the tenant nothing).
        #[serde(default)]
        pub fault: Option<Fault>,
        #[serde(default)]
        pub reason: Option<String>,
    }

    /// The GPUs of one node.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub struct NodeGpus {
        pub name: String,
        /// Slurm's node state (`idle`, `mixed`, `allocated`, `down`, ...).
        pub state: String,
        pub gpus_total: u32,
        pub gpus_used: u32,
        /// Up and not drained: its free GPUs count as free.
        pub available: bool,
    }

    /// What the centre's cluster (or its configured partition) has.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub struct Capacity {
        /// Nodes counted (those in the configured partition, or all).
        pub nodes: u32,
        /// GPUs configured on those nodes (`gres`).
        pub gpus_total: u32,
        /// GPUs not in use (`gres` - `gres_used`) on available nodes; down or drained nodes add none.
        pub gpus_free: u32,
        /// The partitions those nodes belong to, sorted.
        pub partitions: Vec<String>,
        pub per_node: Vec<NodeGpus>,
    }

    /// An agent's report: statuses, what its cluster holds, its capacity. Also its heartbeat.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct Report {
        #[serde(default)]
        pub statuses: Vec<JobReport>,
        /// The Suanli jobs the centre's cluster runs or holds now.
        #[serde(default)]
        pub active: Vec<JobId>,
        #[serde(default)]
        pub capacity: Option<Capacity>,
    }

    /// The platform's answer to a report.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub struct ReportAck {
        /// Statuses taken (a status older than one already final is not).
        pub accepted: usize,
    }
}

/// When a centre's agent was last heard from, and what it reported of its capacity (the
/// platform's view of its agents, `GET /api/v1/agents`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AgentView {
    pub centre_id: suanli_core::id::CentreId,
    pub last_seen_ms: Option<suanli_core::time::UnixMs>,
    pub capacity: Option<v1::Capacity>,
    pub waiting_submits: usize,
    pub waiting_cancels: usize,
    pub active: usize,
}

/// The version a request's header names: absent means 1; anything unsupported is an error
/// message naming the versions this build speaks.
pub fn requested_version(header: Option<&str>) -> Result<u32, String> {
    let Some(h) = header else { return Ok(v1::VERSION) };
    match h.trim().parse::<u32>() {
        Ok(v) if SUPPORTED.contains(&v) => Ok(v),
        _ => Err(format!(
            "agent protocol '{h}' is not spoken here; this platform speaks {}",
            SUPPORTED.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_header_is_one_when_absent_and_refused_when_unknown() {
        assert_eq!(requested_version(None), Ok(1));
        assert_eq!(requested_version(Some(" 1 ")), Ok(1));
        for bad in ["2", "0", "v1", ""] {
            let e = requested_version(Some(bad)).unwrap_err();
            assert!(e.contains("speaks 1"), "{e}");
        }
    }

    #[test]
    fn a_report_with_an_unknown_state_or_field_does_not_parse() {
        let ok = r#"{"statuses":[{"job_id":"job_0123456789abcdef012345","state":"running","started_ms":5}],"active":[]}"#;
        let r: v1::Report = serde_json::from_str(ok).unwrap();
        assert_eq!(r.statuses[0].state, v1::RunState::Running);
        assert!(serde_json::from_str::<v1::Report>(&ok.replace("running", "exploded")).is_err());
        assert!(serde_json::from_str::<v1::Report>(&ok.replace("\"active\"", "\"actve\"")).is_err());
    }
}
