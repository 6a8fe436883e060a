//! The Slurm backend: runs Suanli jobs on a real Slurm cluster through slurmrestd (REST API v0.0.38, JWT auth).
//!
//! Every request carries `X-SLURM-USER-NAME` and `X-SLURM-USER-TOKEN`. The endpoints used, and
//! the exact fields read, are those verified in `docs/slurm-v0.0.38-notes.md`:
//!
//! | call | endpoint |
//! | --- | --- |
//! | submit | `GET /slurm/v0.0.38/jobs` (adoption), on a miss `GET /slurmdb/v0.0.38/jobs?job_name=`, then `POST /slurm/v0.0.38/job/submit` |
//! | status | one `GET /slurm/v0.0.38/jobs`; `GET /slurmdb/v0.0.38/job/{id}` for a job purged from slurmctld |
//! | cancel | `GET /slurm/v0.0.38/job/{id}`, `DELETE /slurm/v0.0.38/job/{id}` |
//! | active | one `GET /slurm/v0.0.38/jobs` |
//! | capacity | `GET /slurm/v0.0.38/nodes` |
//!
//! # Carrying the Suanli id
//!
//! A Slurm job made by this backend is named `suanli-<job id>` and has the comment
//! `suanli:<job id>`. The comment is authoritative; the name is read only when the comment
//! carries no Suanli id. Slurm is the truth: the in-memory map (Suanli id -> Slurm id) is a
//! cache that a restarted process rebuilds through `submit`'s adoption.
//!
//! # Adoption (idempotent submit)
//!
//! `submit` returns at once for a job it created or adopted in this process. Otherwise it lists
//! the Slurm jobs carrying the id and adopts the newest one that is pending or running; failing
//! that, the newest finished one unless it is *stale*: cancelled through this backend, ended
//! without ever starting (refused by Slurm, or cancelled while pending), or ended before the
//! job's current placement (`Job::placed_ms`: an earlier attempt, e.g. before a preemption).
//! When slurmctld knows no job with the id (finished jobs leave it after `MinJobAge`) and the
//! job was placed more than a minute ago (a restart), the accounting database is asked by name
//! before a new job is submitted.
//!
//! # Status mapping
//!
//! | Slurm `job_state` | [`RunStatus`] |
//! | --- | --- |
//! | PENDING, CONFIGURING, REQUEUED, REQUEUE_HOLD, REQUEUE_FED, RESV_DEL_HOLD | Queued |
//! | RUNNING, COMPLETING, SUSPENDED, SIGNALING, STAGE_OUT, RESIZING, STOPPED | Running (Queued if it has no node yet) |
//! | COMPLETED | Succeeded |
//! | FAILED, TIMEOUT, OUT_OF_MEMORY, DEADLINE | Failed, the tenant's: reason names the exit code or signal |
//! | NODE_FAIL, BOOT_FAIL, PREEMPTED | Failed, [`Fault::Centre`] |
//! | CANCELLED | Failed, [`Fault::Centre`], "cancelled in slurm, not through Suanli" |
//! | FAILED without ever starting (refused, e.g. `BadConstraints`) | Failed, [`Fault::Centre`], "slurm refused the job" |
//! | anything else | Running if it has started, else Queued (logged) |
//!
//! A CANCELLED job is the centre's doing: tenants cancel through Suanli, and a job this backend
//! cancelled reports [`RunStatus::Unknown`] (as the simulated centre does) until submitted again.
//!
//! `usage_s` is metered seconds per accelerator in the job's own seconds:
//! `(end_time - start_time) * time_scale`, 0 for a job that never started. Slurm's times are
//! whole seconds, so with a large `time_scale` the metering granularity is `time_scale` seconds.

use crate::{Backend, BackendError, RunStatus};
use async_trait::async_trait;
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;
use suanli_core::id::JobId;
use suanli_core::job::{Fault, Job};
use suanli_core::time::UnixMs;

/// The slurmrestd API version this backend speaks.
pub const API_VERSION: &str = "v0.0.38";
/// Slurm job names are this prefix followed by the Suanli job id.
pub const NAME_PREFIX: &str = "suanli-";
/// Slurm job comments are this prefix followed by the Suanli job id.
pub const COMMENT_PREFIX: &str = "suanli:";
/// `PATH` in the job's environment (slurmrestd requires an environment).
const JOB_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// How long slurmctld surely still lists a finished job: below Slurm's default `MinJobAge`
/// (300 s) and far below the local cluster's 3600 s.
const LISTED_FOR_MS: i64 = 60_000;
/// Above this many cached ids, entries of finished jobs are dropped.
const CACHE_CAP: usize = 4096;

/// What the batch script does.
#[derive(Debug, Clone, PartialEq)]
pub enum SlurmScript {
    /// Synthetic work: `sleep <run_s / time_scale>` seconds, where `run_s` is the job's run time
    /// on the pool's accelerator (its reference duration over the accelerator's speed).
    Sleep,
    /// This bash script body runs as the job. Its environment has `SUANLI_JOB_ID`,
    /// `SUANLI_DURATION_S` (the job's own seconds on this pool) and `SUANLI_WALL_S`
    /// (`SUANLI_DURATION_S / time_scale`).
    Bash(String),
}

/// How to reach a Slurm cluster and how to run jobs on it.
#[derive(Clone)]
pub struct SlurmConfig {
    /// slurmrestd's base URL, e.g. `http://127.0.0.1:6820` (no path).
    pub url: String,
    /// The Slurm user the token belongs to (`X-SLURM-USER-NAME`).
    pub user: String,
    /// A JWT from `scontrol token` (`X-SLURM-USER-TOKEN`).
    pub token: String,
    /// The partition jobs go to; `None`: the cluster's default partition.
    pub partition: Option<String>,
    /// The job's own seconds per wall second (1.0: real time; tests use 1800: an hour in 2 s).
    pub time_scale: f64,
    /// The Slurm time limit is the scaled duration times this, in whole minutes, plus one minute.
    pub time_limit_slack: f64,
    pub script: SlurmScript,
    /// The whole-request timeout of every HTTP call.
    pub timeout: Duration,
    /// The job's `current_working_directory`.
    pub working_dir: String,
    /// The job's `standard_output` (and error); `%j` is the Slurm job id.
    pub standard_output: String,
}

impl std::fmt::Debug for SlurmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlurmConfig")
            .field("url", &self.url)
            .field("user", &self.user)
            .field("token", &"<redacted>")
            .field("partition", &self.partition)
            .field("time_scale", &self.time_scale)
            .field("time_limit_slack", &self.time_limit_slack)
            .field("script", &self.script)
            .field("timeout", &self.timeout)
            .field("working_dir", &self.working_dir)
            .field("standard_output", &self.standard_output)
            .finish()
    }
}

impl SlurmConfig {
    /// A configuration with the defaults: default partition, `time_scale` 1.0, slack 1.5,
    /// `sleep` jobs, 10 s timeout, working directory `/tmp`, output to `/dev/null`.
    pub fn new(url: &str, user: &str, token: &str) -> SlurmConfig {
        SlurmConfig {
            url: url.trim_end_matches('/').to_string(),
            user: user.to_string(),
            token: token.to_string(),
            partition: None,
            time_scale: 1.0,
            time_limit_slack: 1.5,
            script: SlurmScript::Sleep,
            timeout: Duration::from_secs(10),
            working_dir: "/tmp".to_string(),
            standard_output: "/dev/null".to_string(),
        }
    }

    /// Parses a backend URL:
    ///
    /// `slurm+http://HOST:PORT[?user=U][&token=JWT][&partition=P][&time_scale=X][&slack=Y][&timeout_s=N]`
    ///
    /// (`slurm+https://` for TLS; `slurm://` means `slurm+http://`). `user` defaults to the
    /// environment variable `SLURM_USER`, `token` to `SLURM_JWT`, `partition` to `SLURM_PARTITION`
    /// or else the cluster's default partition — the variables `scripts/slurm-local.sh start`
    /// prints. Prefer the environment for the token: a URL ends up in logs. Unknown keys are
    /// refused, so a typo does not pass silently.
    pub fn from_url(url: &str) -> Result<SlurmConfig, BackendError> {
        SlurmConfig::from_url_with_env(url, |k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// [`SlurmConfig::from_url`] with the environment supplied (for tests).
    pub fn from_url_with_env(url: &str, env: impl Fn(&str) -> Option<String>) -> Result<SlurmConfig, BackendError> {
        let bad = |why: String| BackendError(format!("slurm URL {:?}: {why}", redact_url(url)));
        let http = if let Some(rest) = url.strip_prefix("slurm+http://").or_else(|| url.strip_prefix("slurm://")) {
            format!("http://{rest}")
        } else if let Some(rest) = url.strip_prefix("slurm+https://") {
            format!("https://{rest}")
        } else {
            return Err(bad("must start with slurm+http://, slurm+https:// or slurm://".into()));
        };
        let parsed = Url::parse(&http).map_err(|e| bad(e.to_string()))?;
        let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or_else(|| bad("no host".into()))?;
        if !matches!(parsed.path(), "" | "/") {
            return Err(bad(format!("unexpected path {:?}: give only host and port", parsed.path())));
        }
        let base = match parsed.port() {
            Some(p) => format!("{}://{host}:{p}", parsed.scheme()),
            None => format!("{}://{host}", parsed.scheme()),
        };
        let (mut user, mut token, mut partition) = (None, None, None);
        let mut config = SlurmConfig::new(&base, "", "");
        for (k, v) in parsed.query_pairs() {
            let number = |what: &str| -> Result<f64, BackendError> {
                v.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x > 0.0)
                    .ok_or_else(|| bad(format!("{what} must be a positive number, not {v:?}")))
            };
            match k.as_ref() {
                "user" => user = Some(v.to_string()),
                "token" => token = Some(v.to_string()),
                "partition" => partition = Some(v.to_string()),
                "time_scale" => config.time_scale = number("time_scale")?,
                "slack" | "time_limit_slack" => config.time_limit_slack = number("slack")?,
                "timeout_s" => config.timeout = Duration::from_secs_f64(number("timeout_s")?),
                other => {
                    return Err(bad(format!("unknown parameter {other:?} (known: user, token, partition, time_scale, slack, timeout_s)")));
                }
            }
        }
        config.user = user.or_else(|| env("SLURM_USER")).ok_or_else(|| bad("no user: add ?user=NAME or set SLURM_USER".into()))?;
        config.token = token
            .or_else(|| env("SLURM_JWT"))
            .ok_or_else(|| bad("no token: set SLURM_JWT (from `scontrol token`) or add &token=JWT".into()))?;
        config.partition = partition.or_else(|| env("SLURM_PARTITION")).filter(|p| !p.is_empty());
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), BackendError> {
        let bad = |why: &str| Err(BackendError(format!("slurm config: {why}")));
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return bad("time_scale must be a positive number");
        }
        if !(self.time_limit_slack.is_finite() && self.time_limit_slack >= 1.0) {
            return bad("time_limit_slack must be at least 1.0");
        }
        if self.user.is_empty() || self.token.is_empty() {
            return bad("user and token must be set");
        }
        if Url::parse(&self.url).is_err() {
            return bad("url must be an http(s) URL such as http://127.0.0.1:6820");
        }
        Ok(())
    }
}

/// The GPUs of one node.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeGpus {
    pub name: String,
    /// Slurm's node state (`idle`, `mixed`, `allocated`, `down`, ...).
    pub state: String,
    pub gpus_total: u32,
    pub gpus_used: u32,
    /// Up and not drained: its free GPUs count as free.
    pub available: bool,
}

/// What a Slurm cluster (or its configured partition) has.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

#[derive(Debug, Clone, Copy)]
struct Tracked {
    slurm_id: u64,
    /// Cancelled through this backend: reports Unknown, never adopted again.
    cancelled: bool,
    /// Seen in a final state (may be dropped when the cache is full).
    finished: bool,
}

/// How long a job listing read by one submission serves the next ones.
const LISTING_REUSE: Duration = Duration::from_secs(1);

/// A Slurm cluster reached through slurmrestd.
#[derive(Debug)]
pub struct SlurmBackend {
    config: SlurmConfig,
    http: reqwest::Client,
    tracked: Mutex<HashMap<JobId, Tracked>>,
    /// GPUs configured per node (of the partition), learned on the first submission.
    node_gpus: Mutex<Option<Vec<u32>>>,
    /// Serialises submissions, so two calls for one job cannot both submit. Holds the listing
    /// the last submission read: a burst of submissions (one engine round) lists once.
    submitting: tokio::sync::Mutex<Option<(std::time::Instant, Vec<SlurmJob>)>>,
}

impl SlurmBackend {
    /// A backend for the cluster; fails only on an invalid configuration.
    pub fn new(config: SlurmConfig) -> Result<SlurmBackend, BackendError> {
        let config = SlurmConfig { url: config.url.trim_end_matches('/').to_string(), ..config };
        config.validate()?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| BackendError(format!("slurm: cannot build the HTTP client: {e}")))?;
        Ok(SlurmBackend {
            config,
            http,
            tracked: Mutex::new(HashMap::new()),
            node_gpus: Mutex::new(None),
            submitting: tokio::sync::Mutex::new(None),
        })
    }

    pub fn config(&self) -> &SlurmConfig {
        &self.config
    }

    /// The Slurm job id this backend submitted or adopted for a Suanli job, if any.
    pub fn slurm_id(&self, job: &JobId) -> Option<u64> {
        self.lock().get(job).map(|t| t.slurm_id)
    }

    /// Nodes and GPUs, from `GET /slurm/v0.0.38/nodes`.
    pub async fn capacity(&self) -> Result<Capacity, BackendError> {
        let path = format!("/slurm/{API_VERSION}/nodes");
        let answer = self.call_ok(Method::GET, &path, None).await?;
        let nodes = answer.get("nodes").and_then(Value::as_array).ok_or_else(|| self.unexpected(&path, "no \"nodes\" list"))?;
        let capacity = capacity_from_nodes(nodes, self.config.partition.as_deref());
        *self.node_gpus.lock().unwrap_or_else(|e| e.into_inner()) = Some(capacity.per_node.iter().map(|n| n.gpus_total).collect());
        Ok(capacity)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, Tracked>> {
        self.tracked.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn track(&self, job: &JobId, slurm_id: u64) {
        let mut map = self.lock();
        if map.len() >= CACHE_CAP {
            map.retain(|_, t| !t.finished && !t.cancelled);
        }
        map.insert(job.clone(), Tracked { slurm_id, cancelled: false, finished: false });
    }

    // ------------------------------------------------------------------ HTTP

    /// One request; 401 and non-JSON answers are errors, any other status is returned.
    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<(StatusCode, Value), BackendError> {
        let url = format!("{}{path}", self.config.url);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header("X-SLURM-USER-NAME", &self.config.user)
            .header("X-SLURM-USER-TOKEN", &self.config.token)
            .header("Accept", "application/json");
        if let Some(b) = body {
            request = request.json(b);
        }
        let fail = |why: String| BackendError(format!("slurm {method} {url}: {why}"));
        let started = std::time::Instant::now();
        let response = request.send().await.map_err(|e| fail(transport_error(&e, self.config.timeout)))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| fail(format!("reading the answer (HTTP {status}): {}", transport_error(&e, self.config.timeout))))?;
        tracing::debug!(%method, path, status = status.as_u16(), ms = started.elapsed().as_millis() as u64, "slurmrestd");
        if status == StatusCode::UNAUTHORIZED {
            return Err(fail(format!(
                "HTTP 401 {:?}: slurmrestd refused the credentials (both X-SLURM-USER-NAME and X-SLURM-USER-TOKEN are needed; user {:?})",
                snippet(&text),
                self.config.user
            )));
        }
        let json: Value =
            serde_json::from_str(&text).map_err(|e| fail(format!("HTTP {status}, the answer is not JSON ({e}): {:?}", snippet(&text))))?;
        Ok((status, json))
    }

    /// A request that must answer HTTP 200.
    async fn call_ok(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, BackendError> {
        let (status, json) = self.call(method.clone(), path, body).await?;
        if status != StatusCode::OK {
            return Err(self.refused(&method, path, status, &json));
        }
        Ok(json)
    }

    fn refused(&self, method: &Method, path: &str, status: StatusCode, json: &Value) -> BackendError {
        let errors = describe_errors(json);
        let hint = if status == StatusCode::INTERNAL_SERVER_ERROR && slurm_errors(json).iter().any(|(code, _)| *code == Some(-1)) {
            " (slurmrestd also answers this for an expired or invalid token: check SLURM_JWT)"
        } else {
            ""
        };
        BackendError(format!("slurm {method} {}{path}: HTTP {}: {errors}{hint}", self.config.url, status.as_u16()))
    }

    fn unexpected(&self, path: &str, why: &str) -> BackendError {
        BackendError(format!("slurm {}{path}: unexpected answer: {why}", self.config.url))
    }

    /// Every job slurmctld knows (pending, running, and finished within `MinJobAge`).
    async fn list(&self) -> Result<Vec<SlurmJob>, BackendError> {
        let path = format!("/slurm/{API_VERSION}/jobs");
        let answer = self.call_ok(Method::GET, &path, None).await?;
        let jobs = answer.get("jobs").and_then(Value::as_array).ok_or_else(|| self.unexpected(&path, "no \"jobs\" list"))?;
        Ok(jobs.iter().filter_map(SlurmJob::from_ctld).collect())
    }

    /// One job from slurmctld; `None` when it does not know the id (500 with error 2017).
    async fn get_job(&self, slurm_id: u64) -> Result<Option<SlurmJob>, BackendError> {
        let path = format!("/slurm/{API_VERSION}/job/{slurm_id}");
        let (status, json) = self.call(Method::GET, &path, None).await?;
        if status != StatusCode::OK {
            if slurm_errors(&json).iter().any(|(code, _)| *code == Some(2017)) {
                return Ok(None);
            }
            return Err(self.refused(&Method::GET, &path, status, &json));
        }
        Ok(json.get("jobs").and_then(Value::as_array).and_then(|j| j.first()).and_then(SlurmJob::from_ctld))
    }

    /// One job from the accounting database; `None` when it is not there (or there is no database).
    async fn history_job(&self, slurm_id: u64) -> Result<Option<SlurmJob>, BackendError> {
        let path = format!("/slurmdb/{API_VERSION}/job/{slurm_id}");
        Ok(self.history(&path).await?.into_iter().find(|j| j.id == slurm_id))
    }

    /// Jobs named `suanli-<id>` in the accounting database.
    async fn history_by_name(&self, job: &JobId) -> Result<Vec<SlurmJob>, BackendError> {
        let path = format!("/slurmdb/{API_VERSION}/jobs?job_name={NAME_PREFIX}{job}");
        Ok(self.history(&path).await?.into_iter().filter(|j| j.suanli.as_ref() == Some(job)).collect())
    }

    async fn history(&self, path: &str) -> Result<Vec<SlurmJob>, BackendError> {
        let (status, json) = match self.call(Method::GET, path, None).await {
            Ok(answer) => answer,
            // No accounting plugin loaded: slurmrestd answers 404 with a non-JSON body.
            Err(e) if e.0.contains("HTTP 404") => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        if status == StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        if status != StatusCode::OK {
            return Err(self.refused(&Method::GET, path, status, &json));
        }
        // "Nothing found" is HTTP 200 with error 9003 and an empty list.
        Ok(json.get("jobs").and_then(Value::as_array).map(|jobs| jobs.iter().filter_map(SlurmJob::from_db).collect()).unwrap_or_default())
    }

    // ------------------------------------------------------------------ submission

    /// The `nodes` count for a gang of `gpus`, or a refusal when no node shape fits it.
    async fn nodes_for(&self, gpus: u32) -> Result<u32, BackendError> {
        let known = self.node_gpus.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let per_node = match &known {
            Some(p) => p.clone(),
            None => self.capacity().await?.per_node.iter().map(|n| n.gpus_total).collect(),
        };
        match gang_nodes(gpus, &per_node) {
            Ok(n) => Ok(n),
            // The nodes may have changed since they were read: read again before refusing.
            Err(_) if known.is_some() => {
                let fresh: Vec<u32> = self.capacity().await?.per_node.iter().map(|n| n.gpus_total).collect();
                gang_nodes(gpus, &fresh).map_err(|why| self.refusal(gpus, &why))
            }
            Err(why) => Err(self.refusal(gpus, &why)),
        }
    }

    fn refusal(&self, gpus: u32, why: &str) -> BackendError {
        let part = self.config.partition.as_deref().map_or("the default partition".to_string(), |p| format!("partition {p:?}"));
        BackendError(format!("slurm cannot run a gang of {gpus} GPUs in {part}: {why}"))
    }

    /// The JSON body of `POST /slurm/v0.0.38/job/submit`.
    pub fn submit_body(&self, job: &Job, run_s: f64, nodes: u32) -> Value {
        submit_body(&self.config, job, run_s, nodes)
    }
}

/// The body of a submission (see [`SlurmBackend::submit_body`]).
fn submit_body(config: &SlurmConfig, job: &Job, run_s: f64, nodes: u32) -> Value {
    // The job's own seconds on this pool's accelerator: its reference duration over the speed.
    let duration_s = if run_s.is_finite() { run_s.round().max(1.0) as i64 } else { job.spec.duration_s.max(1) };
    let wall_s = duration_s as f64 / config.time_scale;
    let gpus_per_node = job.spec.accelerators.div_ceil(nodes.max(1));
    let script = match &config.script {
        SlurmScript::Sleep => format!("#!/bin/bash\nsleep {wall_s:.3}\n"),
        SlurmScript::Bash(body) => format!("#!/bin/bash\n{body}\n"),
    };
    let mut props = json!({
        "name": format!("{NAME_PREFIX}{}", job.id),
        "comment": format!("{COMMENT_PREFIX}{}", job.id),
        "current_working_directory": config.working_dir,
        "standard_output": config.standard_output,
        "environment": {
            "PATH": JOB_PATH,
            "SUANLI_JOB_ID": job.id.as_str(),
            "SUANLI_DURATION_S": duration_s.to_string(),
            "SUANLI_WALL_S": format!("{wall_s:.3}"),
        },
        "gres": format!("gpu:{gpus_per_node}"),
        "nodes": [nodes, nodes],
        "time_limit": time_limit_minutes(duration_s, config.time_scale, config.time_limit_slack),
        // Suanli decides about retries: a node failure must surface, not rerun silently.
        "requeue": false,
    });
    if let Some(p) = &config.partition {
        props["partition"] = json!(p);
    }
    json!({"job": props, "script": script})
}

/// `ceil(duration / time_scale * slack / 60) + 1` minutes.
pub fn time_limit_minutes(duration_s: i64, time_scale: f64, slack: f64) -> i64 {
    (duration_s.max(1) as f64 / time_scale * slack / 60.0).ceil() as i64 + 1
}

/// How many nodes a gang of `gpus` needs, given the GPUs of each node: one node when one is
/// big enough, else `gpus / largest` of the largest nodes when that divides evenly and that
/// many exist (never over-allocating), else a reason to refuse.
fn gang_nodes(gpus: u32, per_node: &[u32]) -> Result<u32, String> {
    let largest = per_node.iter().copied().max().unwrap_or(0);
    if largest == 0 {
        return Err("no node has GPUs".into());
    }
    if gpus <= largest {
        return Ok(1);
    }
    let count = per_node.iter().filter(|g| **g == largest).count() as u32;
    if gpus.is_multiple_of(largest) && gpus / largest <= count {
        return Ok(gpus / largest);
    }
    Err(format!(
        "the largest node has {largest} GPUs and there {} {count} such node{}; a gang must fill whole nodes of {largest} (or fit in one)",
        if count == 1 { "is" } else { "are" },
        if count == 1 { "" } else { "s" }
    ))
}

#[async_trait]
impl Backend for SlurmBackend {
    fn name(&self) -> &str {
        "slurm"
    }

    fn time_scale(&self) -> f64 {
        self.config.time_scale
    }

    async fn submit(&self, job: &Job, run_s: f64, now_ms: UnixMs) -> Result<(), BackendError> {
        let mut listing = self.submitting.lock().await;
        let cancelled = match self.lock().get(&job.id) {
            Some(t) if !t.cancelled => return Ok(()),
            Some(t) => Some(t.slurm_id),
            None => None,
        };
        // Jobs this process submitted are tracked above; the listing finds jobs an earlier
        // process submitted, which are older than any listing reused for a second.
        let fresh = listing.as_ref().is_some_and(|(at, _)| at.elapsed() < LISTING_REUSE);
        if !fresh {
            *listing = Some((std::time::Instant::now(), self.list().await?));
        }
        let listed: Vec<SlurmJob> = listing
            .as_ref()
            .map_or(&[][..], |(_, l)| l.as_slice())
            .iter()
            .filter(|j| j.suanli.as_ref() == Some(&job.id))
            .cloned()
            .collect();
        // A job of this placement that finished less than MinJobAge ago is still listed: only
        // ask the (slower, ~0.1 s) accounting database when the placement is older than that.
        let recent = job.placed_ms.is_some_and(|p| now_ms - p < LISTED_FOR_MS);
        let candidates = if listed.is_empty() && !recent { self.history_by_name(&job.id).await? } else { listed };
        if let Some(found) = adoptable(&candidates, job.placed_ms, cancelled) {
            tracing::info!(job = %job.id, slurm_id = found.id, state = %found.state, "slurm: adopted the existing job");
            self.track(&job.id, found.id);
            return Ok(());
        }
        if job.spec.accelerators == 0 {
            return Err(BackendError(format!("slurm: job {} asks for no accelerators", job.id)));
        }
        let nodes = self.nodes_for(job.spec.accelerators).await?;
        let body = submit_body(&self.config, job, run_s, nodes);
        let path = format!("/slurm/{API_VERSION}/job/submit");
        let (status, answer) = self.call(Method::POST, &path, Some(&body)).await?;
        let slurm_id = submitted_id(status, &answer).map_err(|_| self.refused(&Method::POST, &path, status, &answer))?;
        let errors = slurm_errors(&answer);
        if !errors.is_empty() {
            // A held job comes back with its id and error 2042: it is submitted, and waits for release.
            tracing::warn!(job = %job.id, slurm_id, errors = %describe_errors(&answer), "slurm: submitted with errors");
        }
        tracing::info!(job = %job.id, slurm_id, gpus = job.spec.accelerators, nodes, "slurm: submitted");
        self.track(&job.id, slurm_id);
        Ok(())
    }

    async fn status(&self, jobs: &[JobId], _now_ms: UnixMs) -> Result<HashMap<JobId, RunStatus>, BackendError> {
        if jobs.is_empty() {
            return Ok(HashMap::new());
        }
        let listed = self.list().await?;
        let by_slurm_id: HashMap<u64, &SlurmJob> = listed.iter().map(|j| (j.id, j)).collect();
        let mut by_suanli: HashMap<&JobId, Vec<&SlurmJob>> = HashMap::new();
        for j in &listed {
            if let Some(id) = &j.suanli {
                by_suanli.entry(id).or_default().push(j);
            }
        }
        let scale = self.config.time_scale;
        let mut out = HashMap::with_capacity(jobs.len());
        for id in jobs {
            let tracked = self.lock().get(id).copied();
            let status = match tracked {
                Some(t) if t.cancelled => RunStatus::Unknown,
                Some(t) => match by_slurm_id.get(&t.slurm_id) {
                    Some(j) => j.run_status(scale),
                    None => match self.history_job(t.slurm_id).await? {
                        Some(j) => j.run_status(scale),
                        None => RunStatus::Unknown,
                    },
                },
                // Not submitted by this process: only a live job is surely this attempt's.
                None => by_suanli
                    .get(id)
                    .and_then(|js| js.iter().filter(|j| j.is_active()).max_by_key(|j| j.id))
                    .map_or(RunStatus::Unknown, |j| j.run_status(scale)),
            };
            if matches!(status, RunStatus::Succeeded { .. } | RunStatus::Failed { .. })
                && let Some(t) = self.lock().get_mut(id)
            {
                t.finished = true;
            }
            out.insert(id.clone(), status);
        }
        Ok(out)
    }

    async fn cancel(&self, job: &JobId, now_ms: UnixMs) -> Result<Option<i64>, BackendError> {
        let tracked = self.lock().get(job).copied();
        let target = match tracked {
            Some(t) if t.cancelled => return Ok(None),
            Some(t) => match self.get_job(t.slurm_id).await? {
                Some(j) => Some(j),
                None => self.history_job(t.slurm_id).await?,
            },
            None => self.list().await?.into_iter().filter(|j| j.suanli.as_ref() == Some(job) && j.is_active()).max_by_key(|j| j.id),
        };
        let Some(target) = target else {
            return Ok(None);
        };
        if target.is_active() {
            let path = format!("/slurm/{API_VERSION}/job/{}", target.id);
            let (status, answer) = self.call(Method::DELETE, &path, None).await?;
            if status != StatusCode::OK {
                return Err(self.refused(&Method::DELETE, &path, status, &answer));
            }
            tracing::info!(job = %job, slurm_id = target.id, state = %target.state, "slurm: cancelled");
        }
        self.lock().insert(job.clone(), Tracked { slurm_id: target.id, cancelled: true, finished: false });
        Ok(target.metered_until(now_ms, self.config.time_scale))
    }

    async fn active(&self, _now_ms: UnixMs) -> Result<Vec<JobId>, BackendError> {
        let mut seen = HashSet::new();
        Ok(self.list().await?.into_iter().filter(|j| j.is_active()).filter_map(|j| j.suanli).filter(|id| seen.insert(id.clone())).collect())
    }
}

// ---------------------------------------------------------------------- the JSON

/// A Slurm job as read from slurmctld (`/slurm/...`) or the accounting database (`/slurmdb/...`).
#[derive(Debug, Clone, PartialEq)]
struct SlurmJob {
    id: u64,
    suanli: Option<JobId>,
    /// The base state, upper case (`RUNNING`, `COMPLETED`, ...).
    state: String,
    /// `state_reason` (`None`, `Resources`, `NonZeroExitCode`, `BadConstraints`, ...).
    reason: String,
    submit_s: i64,
    start_s: i64,
    end_s: i64,
    /// The raw wait status (`768` = exit 3, `15` = signal 15).
    exit: Option<i64>,
    /// The allocated nodes; empty for a job that never started.
    nodes: String,
    time_limit_min: Option<i64>,
}

const QUEUED_STATES: &[&str] = &["PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"];
const RUNNING_STATES: &[&str] = &["RUNNING", "COMPLETING", "SUSPENDED", "SIGNALING", "STAGE_OUT", "RESIZING", "STOPPED"];
const FINAL_STATES: &[&str] =
    &["COMPLETED", "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "DEADLINE", "NODE_FAIL", "BOOT_FAIL", "PREEMPTED", "CANCELLED"];

impl SlurmJob {
    fn from_ctld(v: &Value) -> Option<SlurmJob> {
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

    fn from_db(v: &Value) -> Option<SlurmJob> {
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

    fn is_active(&self) -> bool {
        QUEUED_STATES.contains(&self.state.as_str()) || RUNNING_STATES.contains(&self.state.as_str())
    }

    fn is_final(&self) -> bool {
        FINAL_STATES.contains(&self.state.as_str())
    }

    /// Whether it ever ran: a job cancelled while pending has a start time but no node.
    fn started(&self) -> bool {
        self.start_s > 0 && !self.nodes.is_empty()
    }

    /// Metered seconds in the job's own seconds.
    fn usage_s(&self, time_scale: f64) -> i64 {
        if !self.started() || self.end_s < self.start_s {
            return 0;
        }
        ((self.end_s - self.start_s) as f64 * time_scale).round() as i64
    }

    /// What a cancel at `now_ms` meters: `None` if it never started.
    fn metered_until(&self, now_ms: UnixMs, time_scale: f64) -> Option<i64> {
        if !self.started() {
            return None;
        }
        if self.is_final() {
            return Some(self.usage_s(time_scale));
        }
        let ran_ms = (now_ms - self.start_s * 1000).max(0);
        Some((ran_ms as f64 / 1000.0 * time_scale).round() as i64)
    }

    fn run_status(&self, time_scale: f64) -> RunStatus {
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
        RunStatus::Failed { started_ms, ended_ms, usage_s, fault, reason }
    }
}

/// The job to adopt among those carrying the id: the newest live one, else the newest finished
/// one that is not stale (see the module documentation).
fn adoptable(candidates: &[SlurmJob], placed_ms: Option<UnixMs>, cancelled: Option<u64>) -> Option<&SlurmJob> {
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
fn submitted_id(status: StatusCode, answer: &Value) -> Result<u64, ()> {
    match answer.get("job_id").and_then(number) {
        Some(id) if id > 0 && status == StatusCode::OK => Ok(id as u64),
        _ => Err(()),
    }
}

fn suanli_id(comment: Option<&str>, name: Option<&str>) -> Option<JobId> {
    match comment.and_then(|c| c.strip_prefix(COMMENT_PREFIX)) {
        Some(id) => JobId::parse(id.trim()).ok(),
        None => name.and_then(|n| n.strip_prefix(NAME_PREFIX)).and_then(|id| JobId::parse(id).ok()),
    }
}

/// `RUNNING`, `running`, `CANCELLED by 0`, `COMPLETING+...` -> the base state in upper case.
fn base_state(s: &str) -> String {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or("").to_ascii_uppercase()
}

/// An integer from a number, a numeric string, or a later API's `{"set": true, "number": n}`.
fn number(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        Value::Object(o) if o.get("set").and_then(Value::as_bool) != Some(false) => o.get("number").and_then(number),
        _ => None,
    }
}

/// slurmdb's `{"status": "SIGNALED", "signal": {"signal_id": 15}}` / `{"return_code": 3}` as a raw wait status.
fn db_exit(v: &Value) -> Option<i64> {
    if let Some(sig) = v.pointer("/signal/signal_id").and_then(number).filter(|s| *s > 0) {
        return Some(sig & 0x7f);
    }
    v.get("return_code").and_then(number).map(|rc| (rc & 0xff) << 8)
}

fn describe_exit(raw: Option<i64>) -> String {
    match raw {
        None => "exit status unknown".to_string(),
        Some(raw) if raw & 0x7f != 0 => format!("killed by signal {}", raw & 0x7f),
        Some(raw) => format!("exit code {}", (raw >> 8) & 0xff),
    }
}

/// `(code, message)` of each entry of `errors`; `code` from `error_code` or `error_number`.
fn slurm_errors(json: &Value) -> Vec<(Option<i64>, String)> {
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

fn describe_errors(json: &Value) -> String {
    let errors = slurm_errors(json);
    if errors.is_empty() {
        return "no error details".into();
    }
    errors.iter().map(|(code, text)| code.map_or(text.clone(), |c| format!("error {c}: {text}"))).collect::<Vec<_>>().join("; ")
}

fn transport_error(e: &reqwest::Error, timeout: Duration) -> String {
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

fn snippet(text: &str) -> String {
    let t = text.trim();
    match t.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &t[..i]),
        None => t.to_string(),
    }
}

fn redact_url(url: &str) -> String {
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
fn gres_gpus(s: &str) -> u32 {
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

fn capacity_from_nodes(nodes: &[Value], partition: Option<&str>) -> Capacity {
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

#[cfg(test)]
mod tests {
    use super::*;
    use suanli_core::id::TenantId;
    use suanli_core::job::{JobKind, JobSpec};

    const ID: &str = "job_0193a1b2c3d4e5f6a7b8c9";

    fn ctld(v: Value) -> SlurmJob {
        SlurmJob::from_ctld(&v).expect("a job")
    }

    /// A recorded v0.0.38 job (trimmed), with some fields replaced.
    fn sample(state: &str, patch: Value) -> Value {
        let mut v = json!({
            "comment": format!("suanli:{ID}"), "end_time": 1795950154, "exit_code": 0, "gres_detail": [],
            "job_id": 3, "job_state": state, "name": format!("suanli-{ID}"), "nodes": "vm", "partition": "gpu",
            "start_time": 1795950149, "state_reason": "None", "submit_time": 1795950149, "time_limit": 5,
            "tres_per_node": "gres:gpu:2", "tres_alloc_str": "cpu=1,node=1,billing=1,gres/gpu=2", "array_task_id": null
        });
        for (k, x) in patch.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    #[test]
    fn slurm_maps_each_state_from_recorded_samples() {
        let scale = 1.0;
        assert_eq!(ctld(sample("PENDING", json!({"start_time": 0, "end_time": 0, "nodes": ""}))).run_status(scale), RunStatus::Queued);
        // Waiting on Resources: the times are estimates, and there is no node yet.
        assert_eq!(ctld(sample("PENDING", json!({"state_reason": "Resources", "nodes": ""}))).run_status(scale), RunStatus::Queued);
        assert_eq!(ctld(sample("CONFIGURING", json!({}))).run_status(scale), RunStatus::Queued);
        assert_eq!(
            ctld(sample("RUNNING", json!({"end_time": 1795950449}))).run_status(scale),
            RunStatus::Running { started_ms: 1795950149000 }
        );
        assert_eq!(ctld(sample("COMPLETING", json!({}))).run_status(scale), RunStatus::Running { started_ms: 1795950149000 });
        assert_eq!(
            ctld(sample("COMPLETED", json!({}))).run_status(scale),
            RunStatus::Succeeded { started_ms: 1795950149000, ended_ms: 1795950154000, usage_s: 5 }
        );
        let failed = ctld(sample("FAILED", json!({"job_id": 5, "state_reason": "NonZeroExitCode", "exit_code": 768}))).run_status(scale);
        assert_eq!(
            failed,
            RunStatus::Failed {
                started_ms: 1795950149000,
                ended_ms: 1795950154000,
                usage_s: 5,
                fault: Fault::Job,
                reason: "failed in slurm: exit code 3".into()
            }
        );
        let RunStatus::Failed { reason, fault, .. } =
            ctld(sample("TIMEOUT", json!({"state_reason": "TimeLimit", "exit_code": 15}))).run_status(scale)
        else {
            panic!("a timeout fails")
        };
        assert_eq!(reason, "timed out in slurm: ran past its time limit of 5 min (killed by signal 15)");
        assert_eq!(fault, Fault::Job);
        let RunStatus::Failed { reason, .. } = ctld(sample("OUT_OF_MEMORY", json!({"exit_code": 9}))).run_status(scale) else {
            panic!("oom fails")
        };
        assert_eq!(reason, "out of memory in slurm (killed by signal 9)");
        for (state, text) in [
            ("NODE_FAIL", "slurm node failure on vm"),
            ("BOOT_FAIL", "slurm node boot failure"),
            ("PREEMPTED", "preempted by slurm"),
            ("CANCELLED", "cancelled in slurm, not through Suanli"),
        ] {
            let RunStatus::Failed { reason, usage_s, fault, .. } = ctld(sample(state, json!({"exit_code": 15}))).run_status(scale) else {
                panic!("{state} fails")
            };
            assert_eq!((reason.as_str(), fault), (text, Fault::Centre), "{state}");
            assert_eq!(usage_s, 5, "{state} still meters what ran");
        }
    }

    #[test]
    fn slurm_meters_usage_in_the_jobs_own_seconds() {
        // 5 wall seconds at 1800 job seconds per wall second.
        let RunStatus::Succeeded { usage_s, .. } = ctld(sample("COMPLETED", json!({}))).run_status(1800.0) else { panic!() };
        assert_eq!(usage_s, 9000);
        // Cancelled while pending: start == end, no node, exit 0: it never ran.
        let never = ctld(sample(
            "CANCELLED",
            json!({"start_time": 1795950160, "end_time": 1795950160, "nodes": "", "state_reason": "JobHeldUser"}),
        ));
        assert!(!never.started());
        assert_eq!(
            never.run_status(1800.0),
            RunStatus::Failed {
                started_ms: 1795950160000,
                ended_ms: 1795950160000,
                usage_s: 0,
                fault: Fault::Centre,
                reason: "cancelled in slurm, not through Suanli".into()
            }
        );
        assert_eq!(never.metered_until(1795950200000, 1800.0), None);
        // Refused at submission (recorded: gres gpu:9 on an 8-GPU node).
        let refused = ctld(sample(
            "FAILED",
            json!({"job_id": 6, "state_reason": "BadConstraints", "exit_code": 1, "nodes": "", "start_time": 1795951742, "end_time": 1795951742}),
        ));
        let RunStatus::Failed { reason, usage_s, fault, .. } = refused.run_status(1.0) else { panic!() };
        assert_eq!((reason.as_str(), usage_s, fault), ("slurm refused the job (BadConstraints)", 0, Fault::Centre));
        // A cancel meters up to now while running, and what ran once finished.
        let running = ctld(sample("RUNNING", json!({"end_time": 1795950449})));
        assert_eq!(running.metered_until(1795950151500, 1800.0), Some(4500));
        assert_eq!(running.metered_until(0, 1800.0), Some(0), "a clock behind slurm meters nothing, not a negative");
        assert_eq!(ctld(sample("COMPLETED", json!({}))).metered_until(i64::MAX / 2, 2.0), Some(10));
    }

    #[test]
    fn slurm_reads_ids_exit_codes_and_odd_values() {
        let j = ctld(sample("RUNNING", json!({})));
        assert_eq!(j.suanli.as_ref().map(JobId::as_str), Some(ID));
        // The comment wins; the name is the fallback; a foreign job carries nothing.
        assert_eq!(suanli_id(Some("hello"), Some(&format!("suanli-{ID}"))).map(String::from), Some(ID.to_string()));
        assert_eq!(suanli_id(Some(""), Some("suanli-job_test")), None);
        assert_eq!(suanli_id(None, Some("train.sh")), None);
        assert_eq!(describe_exit(Some(0)), "exit code 0");
        assert_eq!(describe_exit(Some(768)), "exit code 3");
        assert_eq!(describe_exit(Some(15)), "killed by signal 15");
        assert_eq!(describe_exit(None), "exit status unknown");
        assert_eq!(base_state("CANCELLED by 0"), "CANCELLED");
        assert_eq!(base_state("running"), "RUNNING");
        assert_eq!(number(&json!("42")), Some(42));
        assert_eq!(number(&json!({"set": true, "infinite": false, "number": 7})), Some(7));
        assert_eq!(number(&json!({"set": false, "number": 7})), None);
        assert_eq!(number(&Value::Null), None);
        // A job with nulls where numbers usually are still reads.
        let odd = ctld(sample("PENDING", json!({"start_time": null, "exit_code": null, "time_limit": null})));
        assert_eq!((odd.start_s, odd.exit, odd.time_limit_min), (0, None, None));
        assert_eq!(SlurmJob::from_ctld(&json!({"name": "no id"})), None);
    }

    #[test]
    fn slurm_reads_the_accounting_database() {
        // Recorded /slurmdb/v0.0.38/job/4 (trimmed): cancelled while running.
        let v = json!({
            "job_id": 4, "name": format!("suanli-{ID}"),
            "comment": {"administrator": null, "job": format!("suanli:{ID}"), "system": null},
            "state": {"current": "CANCELLED", "reason": "None"},
            "time": {"elapsed": 2, "eligible": 1795950157, "end": 1795950160, "start": 1795950158, "submission": 1795950157, "suspended": 0, "limit": 5},
            "exit_code": {"status": "SUCCESS", "return_code": 0},
            "partition": "gpu", "nodes": "vm", "kill_request_user": "root",
            "steps": [{"step": {"job_id": 4, "het": {"component": null}, "id": "batch", "name": "batch"}, "state": "CANCELLED",
                       "exit_code": {"status": "SIGNALED", "return_code": null, "signal": {"signal_id": 15, "name": "Terminated"}}}]
        });
        let j = SlurmJob::from_db(&v).unwrap();
        assert_eq!(
            (j.id, j.state.as_str(), j.start_s, j.end_s, j.exit, j.time_limit_min),
            (4, "CANCELLED", 1795950158, 1795950160, Some(15), Some(5))
        );
        assert_eq!(j.suanli.as_ref().map(JobId::as_str), Some(ID));
        assert_eq!(j.usage_s(600.0), 1200);
        // The batch step's exit code, not the job's (always SUCCESS in 22.05.8).
        let mut failed = v.clone();
        failed["state"]["current"] = json!("FAILED");
        failed["steps"][0]["exit_code"] = json!({"status": "FAILED", "return_code": 3});
        let RunStatus::Failed { reason, .. } = SlurmJob::from_db(&failed).unwrap().run_status(1.0) else { panic!() };
        assert_eq!(reason, "failed in slurm: exit code 3");
        let mut never = v;
        never["nodes"] = json!("None assigned");
        assert!(!SlurmJob::from_db(&never).unwrap().started());
    }

    fn job(placed_ms: Option<UnixMs>) -> Job {
        let mut j = Job::pending(
            JobId::parse(ID).unwrap(),
            TenantId::generate(1, 1),
            JobSpec::new("train", JobKind::Training, 2, 3600),
            1_795_950_000_000,
        );
        j.placed_ms = placed_ms;
        j
    }

    #[test]
    fn slurm_adopts_live_jobs_and_skips_stale_ones() {
        let at = |id: u64, state: &str, start: i64, end: i64, nodes: &str| {
            ctld(sample(state, json!({"job_id": id, "start_time": start, "end_time": end, "nodes": nodes})))
        };
        let old_cancelled = at(3, "CANCELLED", 1000, 1010, "vm");
        let live = at(7, "RUNNING", 2000, 9999, "vm");
        let done = at(8, "COMPLETED", 2000, 2100, "vm");
        let refused = at(9, "FAILED", 2200, 2200, "");
        // A live job wins, even over a newer finished one.
        assert_eq!(adoptable(&[old_cancelled.clone(), live.clone(), done.clone()], None, None).map(|j| j.id), Some(7));
        // Not the one this backend cancelled, even while it is still running.
        assert_eq!(adoptable(std::slice::from_ref(&live), None, Some(7)).map(|j| j.id), None);
        // A finished job of this attempt is adopted; one that ended before the placement is not.
        assert_eq!(adoptable(std::slice::from_ref(&done), Some(2_000_000), None).map(|j| j.id), Some(8));
        assert_eq!(adoptable(std::slice::from_ref(&done), Some(2_100_500), None).map(|j| j.id), Some(8), "second rounding");
        assert_eq!(adoptable(&[old_cancelled.clone(), done.clone()], Some(2_200_000), None).map(|j| j.id), None);
        // Never started (refused): nothing to adopt.
        assert_eq!(adoptable(&[refused], None, None).map(|j| j.id), None);
        assert!(adoptable(&[], None, None).is_none());
    }

    #[test]
    fn slurm_submission_body_and_answers() {
        let mut config = SlurmConfig::new("http://127.0.0.1:6820/", "root", "t");
        config.partition = Some("gpu".into());
        config.time_scale = 1800.0;
        let backend = SlurmBackend::new(config).unwrap();
        assert_eq!(backend.config().url, "http://127.0.0.1:6820");
        let body = backend.submit_body(&job(None), 3600.0, 1);
        assert_eq!(body["job"]["name"], json!(format!("suanli-{ID}")));
        assert_eq!(body["job"]["comment"], json!(format!("suanli:{ID}")));
        assert_eq!(body["job"]["partition"], json!("gpu"));
        assert_eq!(body["job"]["gres"], json!("gpu:2"));
        assert_eq!(body["job"]["nodes"], json!([1, 1]));
        assert_eq!(body["job"]["current_working_directory"], json!("/tmp"));
        assert_eq!(body["job"]["environment"]["SUANLI_JOB_ID"], json!(ID));
        assert!(body["job"]["environment"]["PATH"].as_str().unwrap().contains("/usr/bin"));
        // 3600 s / 1800 = 2 s; * 1.5 = 3 s -> ceil(0.05 min) + 1 = 2 min.
        assert_eq!(body["job"]["time_limit"], json!(2));
        assert_eq!(body["script"], json!("#!/bin/bash\nsleep 2.000\n"));
        assert_eq!(time_limit_minutes(3600, 1.0, 1.5), 91);
        assert_eq!(time_limit_minutes(60, 1.0, 1.0), 2);
        assert_eq!(submit_body(&SlurmConfig::new("http://h:1", "u", "t"), &job(None), 3600.0, 1)["job"].get("partition"), None);
        // A held job: HTTP 200 with an id AND error 2042 is a success.
        let held = json!({"errors": [{"error_code": 2042, "error": "Job is in held state, pending scheduler release"}], "job_id": 5, "step_id": "BATCH"});
        assert_eq!(submitted_id(StatusCode::OK, &held), Ok(5));
        assert_eq!(describe_errors(&held), "error 2042: Job is in held state, pending scheduler release");
        let refused = json!({"errors": [{"error_code": 2014, "error": "Requested node configuration is not available"}]});
        assert_eq!(submitted_id(StatusCode::INTERNAL_SERVER_ERROR, &refused), Err(()));
        assert_eq!(submitted_id(StatusCode::OK, &json!({"errors": [], "job_id": 0})), Err(()));
        let bad_token = json!({"errors": [{"description": "request failed", "error_number": -1, "error": "Unspecified error", "source": "slurm_get_statistics"}]});
        let e = backend.refused(&Method::GET, "/slurm/v0.0.38/jobs", StatusCode::INTERNAL_SERVER_ERROR, &bad_token);
        assert!(
            e.0.contains("HTTP 500") && e.0.contains("Unspecified error: request failed [slurm_get_statistics]") && e.0.contains("token"),
            "{e}"
        );
    }

    #[test]
    fn slurm_gangs_fill_whole_nodes_or_are_refused() {
        assert_eq!(gang_nodes(2, &[8]), Ok(1));
        assert_eq!(gang_nodes(8, &[8]), Ok(1));
        assert!(gang_nodes(16, &[8]).unwrap_err().contains("largest node has 8 GPUs and there is 1 such node"));
        assert_eq!(gang_nodes(16, &[8, 8, 4]), Ok(2));
        assert!(gang_nodes(12, &[8, 8]).is_err());
        assert!(gang_nodes(1, &[0]).unwrap_err().contains("no node has GPUs"));
        let mut config = SlurmConfig::new("http://h:1", "u", "t");
        config.partition = Some("gpu".into());
        let mut j = job(None);
        j.spec.accelerators = 16;
        assert_eq!(submit_body(&config, &j, 3600.0, 2)["job"]["gres"], json!("gpu:8"));
        assert_eq!(submit_body(&config, &j, 3600.0, 2)["job"]["nodes"], json!([2, 2]));
    }

    #[test]
    fn slurm_capacity_from_recorded_nodes() {
        let nodes = json!([
            {"name": "vm", "gres": "gpu:8", "gres_used": "gpu:2", "gres_drained": "N/A", "state": "mixed", "state_flags": [], "partitions": ["gpu"]},
            {"name": "n2", "gres": "gpu:a100:4(S:0-1)", "gres_used": "gpu:a100:1(IDX:0)", "state": "idle", "state_flags": ["DRAIN"], "partitions": ["gpu", "big"]},
            {"name": "cpu1", "gres": "(null)", "gres_used": "(null)", "state": "idle", "state_flags": [], "partitions": ["cpu"]}
        ]);
        let all = capacity_from_nodes(nodes.as_array().unwrap(), None);
        assert_eq!((all.nodes, all.gpus_total, all.gpus_free), (3, 12, 6), "the drained node's GPUs are not free");
        assert_eq!(all.partitions, vec!["big", "cpu", "gpu"]);
        let gpu = capacity_from_nodes(nodes.as_array().unwrap(), Some("gpu"));
        assert_eq!((gpu.nodes, gpu.gpus_total, gpu.gpus_free), (2, 12, 6));
        assert_eq!(gpu.per_node[1], NodeGpus { name: "n2".into(), state: "idle".into(), gpus_total: 4, gpus_used: 1, available: false });
        assert_eq!(gres_gpus("gpu:a100:2(IDX:0,2),gpu:v100:1,shard:4"), 3);
        assert_eq!(gres_gpus("N/A"), 0);
        assert_eq!(gres_gpus(""), 0);
    }

    #[test]
    fn slurm_url_form() {
        let env = |k: &str| match k {
            "SLURM_JWT" => Some("jwt-from-env".to_string()),
            _ => None,
        };
        let c = SlurmConfig::from_url_with_env("slurm+http://127.0.0.1:6820?user=root&partition=gpu", env).unwrap();
        assert_eq!(
            (c.url.as_str(), c.user.as_str(), c.token.as_str(), c.partition.as_deref()),
            ("http://127.0.0.1:6820", "root", "jwt-from-env", Some("gpu"))
        );
        assert_eq!((c.time_scale, c.time_limit_slack, c.timeout), (1.0, 1.5, Duration::from_secs(10)));
        let c = SlurmConfig::from_url_with_env(
            "slurm+https://slurm.example:443/?user=ops&token=abc&time_scale=1800&slack=2&timeout_s=3",
            |_| None,
        )
        .unwrap();
        assert_eq!(
            (c.url.as_str(), c.token.as_str(), c.partition.as_deref(), c.time_scale, c.time_limit_slack),
            ("https://slurm.example", "abc", None, 1800.0, 2.0)
        );
        assert_eq!(c.timeout, Duration::from_secs(3));
        assert_eq!(SlurmConfig::from_url_with_env("slurm://h:1?user=u&token=t", |_| None).unwrap().url, "http://h:1");
        assert!(!format!("{c:?}").contains("abc"), "the token is not in Debug output");
        for (url, why) in [
            ("http://h:1?user=u&token=t", "must start with"),
            ("slurm+http://h:1?token=t", "no user"),
            ("slurm+http://h:1?user=u", "no token"),
            ("slurm+http://h:1/x?user=u&token=t", "unexpected path"),
            ("slurm+http://h:1?user=u&token=t&partiton=gpu", "unknown parameter \"partiton\""),
            ("slurm+http://h:1?user=u&token=t&time_scale=0", "time_scale must be a positive number"),
            ("slurm+http://h:1?user=u&token=t&slack=0.5", "at least 1.0"),
        ] {
            let e = SlurmConfig::from_url_with_env(url, |_| None).unwrap_err();
            assert!(e.0.contains(why), "{url}: {e}");
            assert!(!e.0.contains("token=t&") && !e.0.ends_with("token=t"), "the token is redacted: {e}");
        }
    }
}
