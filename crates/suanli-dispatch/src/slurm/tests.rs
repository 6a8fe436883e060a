//! The Slurm backend's unit tests: request bodies, answers read from recorded slurmrestd JSON, adoption and the status mapping.

use super::*;
use suanli_core::id::TenantId;
use suanli_core::job::Fault;
use suanli_core::job::{JobKind, JobSpec};
use suanli_core::reason::JobReason;

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
            reason: JobReason::Failed { detail: "failed in slurm: exit code 3".into() }
        }
    );
    let RunStatus::Failed { reason, fault, .. } =
        ctld(sample("TIMEOUT", json!({"state_reason": "TimeLimit", "exit_code": 15}))).run_status(scale)
    else {
        panic!("a timeout fails")
    };
    assert_eq!(reason.to_string(), "timed out in slurm: ran past its time limit of 5 min (killed by signal 15)");
    assert_eq!(fault, Fault::Job);
    let RunStatus::Failed { reason, .. } = ctld(sample("OUT_OF_MEMORY", json!({"exit_code": 9}))).run_status(scale) else {
        panic!("oom fails")
    };
    assert_eq!(reason.to_string(), "out of memory in slurm (killed by signal 9)");
    for (state, text) in [
        ("NODE_FAIL", "slurm node failure on vm"),
        ("BOOT_FAIL", "slurm node boot failure"),
        ("PREEMPTED", "preempted by slurm"),
        ("CANCELLED", "cancelled in slurm, not through Suanli"),
    ] {
        let RunStatus::Failed { reason, usage_s, fault, .. } = ctld(sample(state, json!({"exit_code": 15}))).run_status(scale) else {
            panic!("{state} fails")
        };
        assert_eq!((reason.to_string().as_str(), fault), (text, Fault::Centre), "{state}");
        assert_eq!(usage_s, 5, "{state} still meters what ran");
    }
}

#[test]
fn slurm_meters_usage_in_the_jobs_own_seconds() {
    // 5 wall seconds at 1800 job seconds per wall second.
    let RunStatus::Succeeded { usage_s, .. } = ctld(sample("COMPLETED", json!({}))).run_status(1800.0) else { panic!() };
    assert_eq!(usage_s, 9000);
    // Cancelled while pending: start == end, no node, exit 0: it never ran.
    let never =
        ctld(sample("CANCELLED", json!({"start_time": 1795950160, "end_time": 1795950160, "nodes": "", "state_reason": "JobHeldUser"})));
    assert!(!never.started());
    assert_eq!(
        never.run_status(1800.0),
        RunStatus::Failed {
            started_ms: 1795950160000,
            ended_ms: 1795950160000,
            usage_s: 0,
            fault: Fault::Centre,
            reason: JobReason::Failed { detail: "cancelled in slurm, not through Suanli".into() }
        }
    );
    assert_eq!(never.metered_until(1795950200000, 1800.0), None);
    // Refused at submission (recorded: gres gpu:9 on an 8-GPU node).
    let refused = ctld(sample(
        "FAILED",
        json!({"job_id": 6, "state_reason": "BadConstraints", "exit_code": 1, "nodes": "", "start_time": 1795951742, "end_time": 1795951742}),
    ));
    let RunStatus::Failed { reason, usage_s, fault, .. } = refused.run_status(1.0) else { panic!() };
    assert_eq!((reason.to_string().as_str(), usage_s, fault), ("slurm refused the job (BadConstraints)", 0, Fault::Centre));
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
    assert_eq!(reason.to_string(), "failed in slurm: exit code 3");
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
    let c =
        SlurmConfig::from_url_with_env("slurm+https://slurm.example:443/?user=ops&token=abc&time_scale=1800&slack=2&timeout_s=3", |_| None)
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

#[test]
fn slurm_times_surely_past_skip_estimates() {
    // Pending: the start and end are the scheduler's estimates; only the submission is past.
    let pending = ctld(sample("PENDING", json!({"submit_time": 100, "start_time": 500, "end_time": 800, "nodes": ""})));
    assert_eq!(pending.surely_past_s(), 100);
    // Running: the start is past, the end is the expected end.
    let running = ctld(sample("RUNNING", json!({"submit_time": 100, "start_time": 120, "end_time": 900})));
    assert_eq!(running.surely_past_s(), 120);
    let done = ctld(sample("COMPLETED", json!({"submit_time": 100, "start_time": 120, "end_time": 130})));
    assert_eq!(done.surely_past_s(), 130);
    assert_eq!(SlurmJob::submitted(4, &JobId::parse(ID).unwrap()).surely_past_s(), 0);
}

#[test]
fn slurm_clock_keeps_the_reading_showing_the_later_slurm_time() {
    use super::poll::SlurmClock;
    let t0 = std::time::Instant::now();
    let s = Duration::from_secs;
    let mut clock = SlurmClock::default();
    assert_eq!(clock.floor_s(t0), None);
    clock.observe(0, t0);
    assert_eq!(clock.floor_s(t0), None, "0 is no time");
    clock.observe(1000, t0);
    assert_eq!(clock.floor_s(t0 + s(5)), Some(1005), "carried forward on this process's clock");
    // An older event read later says less: Slurm was at 1000 + 10 when it was read.
    clock.observe(1003, t0 + s(10));
    assert_eq!(clock.floor_s(t0 + s(10)), Some(1010));
    // A newer one says more.
    clock.observe(1020, t0 + s(10));
    assert_eq!(clock.floor_s(t0 + s(12)), Some(1022));
    // Order of reading does not matter: an answer read earlier but handled later still counts.
    clock.observe(1030, t0 + s(9));
    assert_eq!(clock.floor_s(t0 + s(12)), Some(1033));
    assert_eq!(clock.floor_s(t0), Some(1030), "never below a reading, before it was read");
}

#[test]
fn slurm_view_listing_stamp_and_reads() {
    use super::poll::View;
    let t0 = std::time::Instant::now();
    let s = Duration::from_secs;
    let ours = JobId::parse(ID).unwrap();
    let job = |id: u64, state: &str, patch: Value| {
        let mut v = sample(state, patch);
        v["job_id"] = json!(id);
        ctld(v)
    };
    let stranger = ctld(json!({"job_id": 1, "job_state": "COMPLETED", "name": "wrap", "submit_time": 900, "end_time": 1000}));
    let done = job(2, "COMPLETED", json!({"submit_time": 900, "start_time": 910, "end_time": 950}));
    let running = job(3, "RUNNING", json!({"submit_time": 960, "start_time": 970, "end_time": 99_999}));
    let mut view = View::default();
    assert!(!view.listed_within(s(60), t0));
    // A job submitted while the first listing was on its way is kept.
    view.read(SlurmJob::submitted(4, &ours), t0 + s(1));
    view.listed(vec![stranger, done.clone(), running.clone()], t0, t0 + s(2));
    assert!(view.listed_within(s(60), t0 + s(59)) && !view.listed_within(s(60), t0 + s(60)));
    // Jobs carrying no Suanli id are not kept; the newest past time is the stranger's end, not
    // the running job's expected end.
    assert_eq!(view.get(1), None);
    assert_eq!(view.stamp(), Some(1000 - 2));
    assert_eq!(view.carrying(&ours).iter().map(|j| j.id).collect::<Vec<_>>().len(), 3);
    assert_eq!(view.live().iter().map(|j| j.id).collect::<Vec<_>>(), vec![3, 4]);
    // What needs reading again: live jobs read before the cutoff, or outdated.
    assert_eq!(view.live_read_before(t0 + s(1)), Vec::<u64>::new());
    assert_eq!(view.live_read_before(t0 + s(2)), vec![4], "read at t0 + 1 s");
    view.outdated(3);
    assert_eq!(view.live_read_before(t0 + s(1)), vec![3]);
    assert_eq!(view.live_read_before(t0 + s(3)), vec![3, 4]);
    // A second listing: asked at t0 + 30 s, Slurm's clock then was at least 1000 + 28.
    view.listed(vec![done.clone()], t0 + s(30), t0 + s(31));
    assert_eq!(view.stamp(), Some(1028 - 2));
    assert_eq!(view.carrying(&ours).iter().map(|j| j.id).collect::<Vec<_>>(), vec![2], "jobs the listing no longer has are gone");
    // 304: nothing changed; the next listing asks from later on, and reads stay fresh.
    view.unchanged(t0 + s(40));
    assert_eq!(view.stamp(), Some(1038 - 2));
    assert!(view.listed_within(s(60), t0 + s(99)));
    // One job read, then purged from slurmctld.
    view.read(job(5, "PENDING", json!({"submit_time": 1100, "start_time": 2000, "nodes": ""})), t0 + s(41));
    assert_eq!(view.clock.floor_s(t0 + s(41)), Some(1100));
    assert_eq!(view.live().iter().map(|j| j.id).collect::<Vec<_>>(), vec![5]);
    view.gone(5);
    assert!(view.get(5).is_none() && view.live().is_empty());
    assert_eq!(view.carrying(&ours).len(), 1);
}
