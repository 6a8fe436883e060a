//! The Slurm backend: runs Suanli jobs on a real Slurm cluster through slurmrestd (REST API v0.0.38, JWT auth).
//!
//! Every request carries `X-SLURM-USER-NAME` and `X-SLURM-USER-TOKEN`. The endpoints used, and
//! the exact fields read, are those verified in `docs/slurm-v0.0.38-notes.md`:
//!
//! | call | endpoint |
//! | --- | --- |
//! | submit | the view (below) for adoption, its live candidates read again with `GET /slurm/v0.0.38/job/{id}`; on a miss `GET /slurmdb/v0.0.38/jobs?job_name=`, then `POST /slurm/v0.0.38/job/submit` |
//! | status | `GET /slurm/v0.0.38/job/{id}` for each job this process follows (one listing instead when more than 64); `GET /slurmdb/v0.0.38/job/{id}` for a job purged from slurmctld |
//! | cancel | `GET /slurm/v0.0.38/job/{id}`, `DELETE /slurm/v0.0.38/job/{id}` |
//! | active | the view's live jobs, each read again unless read within the last second |
//! | capacity | `GET /slurm/v0.0.38/nodes` |
//!
//! # The view: what Slurm has of Suanli's jobs
//!
//! slurmctld keeps every ended job for `MinJobAge`, so listing all it keeps (`GET
//! /slurm/v0.0.38/jobs`) grows with everything the cluster ran in that time, whoever ran it.
//! The backend keeps a view of the Slurm jobs carrying a Suanli id: filled by a full listing on
//! first need and again at most once a minute (asked with `update_time`, so an unchanged cluster
//! answers 304 and no body), and kept current by reading single jobs: each poll reads only the
//! jobs it follows. The listing is what finds jobs this process did not submit (adoption after a
//! restart, strays, strangers); see [`poll`] for the reasons and Slurm's clock.
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

mod answers;
mod poll;

use crate::{Backend, BackendError, RunStatus};
use answers::*;
use async_trait::async_trait;
pub use poll::SlurmStats;
use poll::{Counters, DISCOVER_EVERY, FRESH_FOR, View};
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;
use suanli_core::id::JobId;
use suanli_core::job::Job;
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
    /// How often the full listing that finds jobs this process did not submit (adoption after
    /// a restart, strays, strangers) is read again, asked with `update_time` (see [`poll`]).
    pub discover_every: Duration,
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
            .field("discover_every", &self.discover_every)
            .finish()
    }
}

impl SlurmConfig {
    /// A configuration with the defaults: default partition, `time_scale` 1.0, slack 1.5,
    /// `sleep` jobs, 10 s timeout, working directory `/tmp`, output to `/dev/null`, the full
    /// listing read again at most once a minute.
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
            discover_every: DISCOVER_EVERY,
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

/// What a cluster has, in the agent protocol's wire form (an agent reports it as its centre's capacity).
pub use suanli_api::agent::v1::{Capacity, NodeGpus};

#[derive(Debug, Clone, Copy)]
struct Tracked {
    slurm_id: u64,
    /// Cancelled through this backend: reports Unknown, never adopted again.
    cancelled: bool,
    /// Seen in a final state (may be dropped when the cache is full).
    finished: bool,
}

/// A Slurm cluster reached through slurmrestd.
#[derive(Debug)]
pub struct SlurmBackend {
    config: SlurmConfig,
    http: reqwest::Client,
    tracked: Mutex<HashMap<JobId, Tracked>>,
    /// GPUs configured per node (of the partition), learned on the first submission.
    node_gpus: Mutex<Option<Vec<u32>>>,
    /// Serialises submissions, so two calls for one job cannot both submit.
    submitting: tokio::sync::Mutex<()>,
    /// The Slurm jobs carrying a Suanli id, as last read (see [`poll`]).
    view: Mutex<View>,
    counters: Counters,
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
            submitting: tokio::sync::Mutex::new(()),
            view: Mutex::new(View::default()),
            counters: Counters::default(),
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
        Counters::add(&self.counters.requests, 1);
        Counters::add(&self.counters.bytes, text.len() as u64);
        if status == StatusCode::NOT_MODIFIED {
            // A listing asked with `update_time`: nothing changed, and no body.
            return Ok((status, Value::Null));
        }
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

    /// One job from slurmctld; `None` when it does not know the id (500 with error 2017).
    async fn get_job(&self, slurm_id: u64) -> Result<Option<SlurmJob>, BackendError> {
        let path = format!("/slurm/{API_VERSION}/job/{slurm_id}");
        Counters::add(&self.counters.job_reads, 1);
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

    fn slurm_stats(&self) -> Option<SlurmStats> {
        Some(self.stats())
    }

    async fn submit(&self, job: &Job, run_s: f64, now_ms: UnixMs) -> Result<(), BackendError> {
        let _one_at_a_time = self.submitting.lock().await;
        let cancelled = match self.lock().get(&job.id) {
            Some(t) if !t.cancelled => return Ok(()),
            Some(t) => Some(t.slurm_id),
            None => None,
        };
        // Jobs this process submitted are tracked above; the view finds those an earlier
        // process submitted, which a listing read by this process holds. The live ones may
        // have ended since it was read: read them again before deciding.
        self.discover(self.config.discover_every).await?;
        let live: Vec<u64> = self.view().carrying(&job.id).iter().filter(|j| j.is_active()).map(|j| j.id).collect();
        self.reread(&live).await?;
        let listed = self.view().carrying(&job.id);
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
        // In the view until read: pending, and to be read again before it is believed.
        let mut view = self.view();
        view.read(SlurmJob::submitted(slurm_id, &job.id), std::time::Instant::now());
        view.outdated(slurm_id);
        Ok(())
    }

    async fn status(&self, jobs: &[JobId], _now_ms: UnixMs) -> Result<HashMap<JobId, RunStatus>, BackendError> {
        if jobs.is_empty() {
            return Ok(HashMap::new());
        }
        let tracked: HashMap<&JobId, Tracked> = {
            let map = self.lock();
            jobs.iter().filter_map(|id| map.get(id).map(|t| (id, *t))).collect()
        };
        // Not submitted by this process: only a live job is surely this attempt's, found in the
        // view and read again with the jobs this process follows.
        let strangers: Vec<&JobId> = jobs.iter().filter(|id| !tracked.contains_key(id)).collect();
        if !strangers.is_empty() {
            self.discover(self.config.discover_every).await?;
        }
        let mut read: Vec<u64> = tracked.values().filter(|t| !t.cancelled).map(|t| t.slurm_id).collect();
        {
            let view = self.view();
            read.extend(strangers.iter().flat_map(|id| view.carrying(id)).filter(|j| j.is_active()).map(|j| j.id));
        }
        read.sort_unstable();
        read.dedup();
        self.reread(&read).await?;
        let scale = self.config.time_scale;
        let mut out = HashMap::with_capacity(jobs.len());
        for id in jobs {
            let status = match tracked.get(id) {
                Some(t) if t.cancelled => RunStatus::Unknown,
                Some(t) => {
                    let known = self.view().get(t.slurm_id).map(|j| j.run_status(scale));
                    match known {
                        Some(s) => s,
                        None => match self.history_job(t.slurm_id).await? {
                            Some(j) => j.run_status(scale),
                            None => RunStatus::Unknown,
                        },
                    }
                }
                None => self
                    .view()
                    .carrying(id)
                    .into_iter()
                    .filter(|j| j.is_active())
                    .max_by_key(|j| j.id)
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
                Some(j) => {
                    self.view().read(j.clone(), std::time::Instant::now());
                    Some(j)
                }
                None => self.history_job(t.slurm_id).await?,
            },
            None => {
                self.discover(self.config.discover_every).await?;
                let live: Vec<u64> = self.view().carrying(job).iter().filter(|j| j.is_active()).map(|j| j.id).collect();
                self.reread(&live).await?;
                self.view().carrying(job).into_iter().filter(|j| j.is_active()).max_by_key(|j| j.id)
            }
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
            // It ends in a moment: `active` reads it again until it has.
            self.view().outdated(target.id);
        }
        self.lock().insert(job.clone(), Tracked { slurm_id: target.id, cancelled: true, finished: false });
        Ok(target.metered_until(now_ms, self.config.time_scale))
    }

    async fn active(&self, _now_ms: UnixMs) -> Result<Vec<JobId>, BackendError> {
        self.discover(self.config.discover_every).await?;
        let stale = {
            let now = std::time::Instant::now();
            self.view().live_read_before(now.checked_sub(FRESH_FOR).unwrap_or(now))
        };
        self.reread(&stale).await?;
        let mut seen = HashSet::new();
        Ok(self.view().live().into_iter().filter_map(|j| j.suanli.clone()).filter(|id| seen.insert(id.clone())).collect())
    }
}

#[cfg(test)]
mod tests;
