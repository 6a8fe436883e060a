//! `/metrics` in the Prometheus text format: request counts by route and status, jobs by state, open compute.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

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
    if let Ok(summary) = crate::api::city::city_summary(&s).await {
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
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response()
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
