//! `/metrics` in the Prometheus text format: request counts by route and status, jobs by state, open compute, the model gateway, and each centre's requests to slurmrestd.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use suanli_dispatch::slurm::SlurmStats;
use suanli_store::WriteFigures;

#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    pub jobs_submitted: AtomicU64,
}

/// Counts every request by method, matched route template (never the raw path) and status.
pub async fn track(State(s): State<AppState>, req: Request, next: Next) -> Response {
    // Labels stay bounded whatever a client sends: made-up methods are "other", paths that
    // match no route are "unmatched".
    let method = match req.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS") => m.to_string(),
        _ => "other".to_string(),
    };
    let path = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    *s.metrics.requests.lock().unwrap_or_else(|e| e.into_inner()).entry((method, path, status)).or_default() += 1;
    resp
}

/// Prometheus exposition (text format 0.0.4).
pub async fn render(State(s): State<AppState>) -> Response {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP suanli_build_info Build information.\n# TYPE suanli_build_info gauge\nsuanli_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        out,
        "# HELP suanli_http_requests_total HTTP requests by method, route and status.\n# TYPE suanli_http_requests_total counter"
    );
    for ((m, p, st), n) in s.metrics.requests.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = writeln!(out, "suanli_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{st}\"}} {n}", escape(p));
    }
    let _ = writeln!(
        out,
        "# HELP suanli_jobs_submitted_total Jobs accepted since start.\n# TYPE suanli_jobs_submitted_total counter\nsuanli_jobs_submitted_total {}",
        s.metrics.jobs_submitted.load(Ordering::Relaxed)
    );
    if let Ok(counts) = s.store.job_counts().await {
        let _ = writeln!(out, "# HELP suanli_jobs Jobs in the store by state.\n# TYPE suanli_jobs gauge");
        for st in suanli_core::job::JobState::ALL {
            let n = counts.iter().find(|(x, _)| *x == st).map_or(0, |(_, n)| *n);
            let _ = writeln!(out, "suanli_jobs{{state=\"{}\"}} {n}", st.as_str());
        }
    }
    let summary = match suanli_app::figures::Registry::read(&s.store).await {
        Ok(registry) => crate::api::city::city_summary(&s, &registry).await.ok(),
        Err(_) => None,
    };
    if let Some(summary) = summary {
        let _ = writeln!(
            out,
            "# HELP suanli_open_compute_pflops_fp16 Dense FP16 peak of partner pools.\n# TYPE suanli_open_compute_pflops_fp16 gauge\nsuanli_open_compute_pflops_fp16 {}",
            summary.open_compute_pflops_fp16
        );
        let _ = writeln!(
            out,
            "# HELP suanli_high_performance_share High-performance share of open compute.\n# TYPE suanli_high_performance_share gauge\nsuanli_high_performance_share {}",
            summary.high_performance_share
        );
    }
    gateway(&s, &mut out);
    slurm(&s, &mut out);
    store_writes(&s, &mut out);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response()
}

/// The model gateway's counters and each deployment's live state.
fn gateway(s: &AppState, out: &mut String) {
    let g = s.models.gateway();
    let st = g.stats();
    for (name, help, v) in [
        ("suanli_model_calls_total", "Model calls answered through the gateway.", &st.calls),
        (
            "suanli_model_calls_refused_total",
            "Model calls refused before an upstream was tried (auth, limits, budget, bad input).",
            &st.refused,
        ),
        ("suanli_model_calls_failed_total", "Model calls that no deployment could serve.", &st.failed),
        ("suanli_model_call_retries_total", "Upstream attempts after a call's first one.", &st.retries),
        ("suanli_model_input_tokens_total", "Input tokens metered.", &st.input_tokens),
        ("suanli_model_output_tokens_total", "Output tokens metered.", &st.output_tokens),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", v.load(Ordering::Relaxed));
    }
    let health = g.health();
    let _ = writeln!(
        out,
        "# HELP suanli_model_deployment_in_flight Calls in flight per deployment.\n# TYPE suanli_model_deployment_in_flight gauge"
    );
    for h in &health {
        let _ = writeln!(out, "suanli_model_deployment_in_flight{{deployment=\"{}\"}} {}", escape(&h.deployment), h.in_flight);
    }
    let _ = writeln!(
        out,
        "# HELP suanli_model_deployment_ttft_ms Moving average of time to first token per deployment.\n# TYPE suanli_model_deployment_ttft_ms gauge"
    );
    for h in health.iter().filter(|h| h.ewma_ttft_ms.is_some()) {
        let _ = writeln!(
            out,
            "suanli_model_deployment_ttft_ms{{deployment=\"{}\"}} {:.3}",
            escape(&h.deployment),
            h.ewma_ttft_ms.unwrap_or(0.0)
        );
    }
    let _ = writeln!(
        out,
        "# HELP suanli_model_deployment_up Whether the last health check (GET /models) found the deployment answering.\n# TYPE suanli_model_deployment_up gauge"
    );
    for h in health.iter().filter(|h| h.probe != suanli_gateway::route::Probe::Unchecked) {
        let up = u8::from(h.probe == suanli_gateway::route::Probe::Up);
        let _ = writeln!(out, "suanli_model_deployment_up{{deployment=\"{}\"}} {up}", escape(&h.deployment));
    }
    let _ = writeln!(
        out,
        "# HELP suanli_model_deployment_failures_total Failed attempts per deployment.\n# TYPE suanli_model_deployment_failures_total counter"
    );
    for h in &health {
        let _ = writeln!(out, "suanli_model_deployment_failures_total{{deployment=\"{}\"}} {}", escape(&h.deployment), h.failed);
    }
}

/// What each centre bound to slurmrestd asked it, by centre (counted from when the binding was
/// connected: a restart or a new binding starts from zero, which Prometheus reads as a reset).
fn slurm(s: &AppState, out: &mut String) {
    let stats = s.engine.slurm_stats();
    type Counter = fn(&SlurmStats) -> u64;
    let series: [(&str, &str, Counter); 5] = [
        ("suanli_slurm_requests_total", "Requests to slurmrestd, whatever they asked.", |st| st.requests),
        ("suanli_slurm_response_bytes_total", "Bytes of slurmrestd's answer bodies.", |st| st.bytes),
        ("suanli_slurm_job_reads_total", "Single Slurm jobs read (GET /slurm/v0.0.38/job/{id}).", |st| st.job_reads),
        ("suanli_slurm_listings_total", "Listings of every job slurmctld keeps, answered in full.", |st| st.listings),
        ("suanli_slurm_listings_unchanged_total", "Listings asked with update_time that slurmctld answered 304 (no job changed).", |st| {
            st.listings_unchanged
        }),
    ];
    for (name, help, value) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (centre, st) in &stats {
            let _ = writeln!(out, "{name}{{centre=\"{}\"}} {}", escape(centre.as_str()), value(st));
        }
    }
}

/// The store's write transactions by writer (see suanli-store's write_stats.rs): on SQLite the
/// seconds open, summed, over the wall time is how busy its one writer is.
fn store_writes(s: &AppState, out: &mut String) {
    let figures = s.store.write_figures();
    type Value = fn(&WriteFigures) -> f64;
    let series: [(&str, &str, Value); 3] = [
        ("suanli_store_write_transactions_total", "Write transactions begun, by writer.", |f| f.transactions as f64),
        (
            "suanli_store_write_wait_seconds_total",
            "Seconds write transactions waited to begin, by writer (SQLite: for its one writer lock).",
            |f| f.wait_s,
        ),
        (
            "suanli_store_write_open_seconds_total",
            "Seconds write transactions were open, by writer (SQLite: the writer lock held, one at a time).",
            |f| f.open_s,
        ),
    ];
    for (name, help, value) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (writer, f) in &figures {
            let _ = writeln!(out, "{name}{{writer=\"{}\"}} {}", writer.as_str(), value(f));
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
