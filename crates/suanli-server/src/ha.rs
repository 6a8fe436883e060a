//! High availability: the leader lease's loop, followers that answer reads from books they replay from PostgreSQL, and the relay of writes to the leader.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use suanli_app::Energy;
use suanli_core::ErrorCode;
use suanli_core::lease::LeaseTerms;
use suanli_dispatch::engine::Engine;
use suanli_store::{Dialect, Fence, LedgerService, Store};

/// This replica's id when none is given: `hostname:pid`.
pub fn default_replica() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// The fence of this replica: on SQLite always leader; on PostgreSQL a first attempt at the
/// lease is made before anything else runs, so the first replica to start leads at once.
pub async fn hold_lease(store: &Store, replica: Option<String>) -> Arc<Fence> {
    let replica = replica.filter(|r| !r.is_empty()).unwrap_or_else(default_replica);
    if store.dialect() == Dialect::Sqlite {
        return Arc::new(Fence::always(replica));
    }
    let fence = Arc::new(Fence::new(replica, LeaseTerms::default()));
    store.lease_attempt(&fence).await;
    fence
}

/// Renews or acquires the lease every `renew_ms` for as long as the process runs. When this
/// replica becomes leader, its ledger writer reloads and its energy book is rebuilt (the last
/// leader wrote since they loaded), and its engine runs a round at once.
pub fn renew_lease(store: &Store, fence: &Arc<Fence>, engine: &Arc<Engine>, ledger: &LedgerService, energy: &Energy) {
    if store.dialect() == Dialect::Sqlite {
        return;
    }
    let (store, fence, engine, ledger, energy) =
        (store.clone(), Arc::downgrade(fence), Arc::downgrade(engine), ledger.clone(), energy.clone());
    tokio::spawn(async move {
        let mut led = fence.upgrade().is_some_and(|f| f.leads());
        loop {
            let Some(f) = fence.upgrade() else { return };
            tokio::time::sleep(std::time::Duration::from_millis(f.terms().renew_ms as u64)).await;
            let leads = store.lease_attempt(&f).await;
            if leads && !led {
                ledger.reload_soon();
                if let Err(e) = energy.reload().await {
                    tracing::error!(error = %e, "the energy book could not be rebuilt on becoming leader");
                }
                match engine.upgrade() {
                    Some(e) => e.wake(),
                    None => return,
                }
            }
            led = leads;
        }
    });
}

/// The header a forwarded request carries: the follower that forwarded it. A request that
/// already carries it is never forwarded again, so two replicas that each believe the other
/// leads cannot bounce a request between them.
pub const FORWARDED_BY: &str = "x-suanli-forwarded-by";

/// Headers of one hop only (RFC 9110 §7.6.1), and the length, which the relay recomputes.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

/// The header on every answer that names the replica that answered it (a follower's relayed
/// answer names the leader), so that an operator, a balancer's log or a test can tell.
pub const ANSWERED_BY: &str = "x-suanli-replica";

/// Reads that only the leader can answer: what lives in its memory alone (agents' sessions,
/// the gateway's calls, cooldowns and limits) or a read that writes (a data download counts
/// itself).
fn leader_only(path: &str) -> bool {
    path.starts_with("/v1/")
        || path.starts_with("/api/v1/agents")
        || path == "/api/v1/model-health"
        || path.starts_with("/api/v1/data/downloads/")
}

/// Whether a follower answers this request itself: its health and metrics, and reads (GET and
/// HEAD, and a quote, which changes nothing) other than the [`leader_only`] ones. A follower's
/// answers come from the store, which every replica shares, and from its books (energy, fair
/// share, the gateway's catalogue), which [`follow_the_leader`] keeps replayed.
fn answers_itself(method: &axum::http::Method, path: &str) -> bool {
    use axum::http::Method;
    if matches!(path, "/healthz" | "/metrics") {
        return true;
    }
    let read = matches!(*method, Method::GET | Method::HEAD) || (*method == Method::POST && path == "/api/v1/quotes");
    read && !leader_only(path)
}

/// A follower answers what [`answers_itself`] says it may and relays every other request to
/// the leader named in the lease, streaming the body both ways; a read that turns out to need
/// a write (its answer is `not_leader`) is relayed too. When no leader is known, or the leader
/// cannot be reached, or the request was forwarded once already, the follower answers 503
/// `not_leader` with `Retry-After: 1`: nothing was written, and the client retries (with the
/// same idempotency key or transfer id). Every answer says which replica gave it ([`ANSWERED_BY`]).
pub async fn followers_forward(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let named = |mut r: Response, by: &str| {
        if !r.headers().contains_key(ANSWERED_BY)
            && let Ok(v) = axum::http::HeaderValue::from_str(by)
        {
            r.headers_mut().insert(ANSWERED_BY, v);
        }
        r
    };
    if s.fence.leads() {
        return named(next.run(req).await, s.fence.holder());
    }
    if answers_itself(req.method(), req.uri().path()) {
        let again = (req.method() != axum::http::Method::POST).then(|| {
            let mut copy = Request::new(axum::body::Body::empty());
            *copy.method_mut() = req.method().clone();
            *copy.uri_mut() = req.uri().clone();
            *copy.headers_mut() = req.headers().clone();
            copy
        });
        let answer = next.run(req).await;
        match (answer.extensions().get::<ErrorCode>(), again) {
            (Some(ErrorCode::NotLeader), Some(again)) => return named(relay(&s, again).await, s.fence.holder()),
            _ => return named(answer, s.fence.holder()),
        }
    }
    named(relay(&s, req).await, s.fence.holder())
}

/// A request relayed to the leader, or refused with `not_leader` when that cannot be done.
async fn relay(s: &AppState, req: Request) -> Response {
    let refuse = |why: String| ApiError::new(ErrorCode::NotLeader, why).into_response();
    if let Some(by) = req.headers().get(FORWARDED_BY) {
        return refuse(format!(
            "replica {} is a follower, and this request was already forwarded by {}; retry",
            s.fence.holder(),
            by.to_str().unwrap_or("another replica")
        ));
    }
    // The lease as last renewed, else as the store has it now (a replica just started).
    let known = match s.fence.leader() {
        Some(l) => Some(l),
        None => s.store.lease_leader().await.ok().flatten().filter(|(_, url)| !url.is_empty()),
    };
    let Some((leader, url)) = known else {
        return refuse(format!("replica {} is a follower and no leader is known yet; retry", s.fence.holder()));
    };
    match forward(s, req, &url).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(leader = %leader, url = %url, error = %e, "forwarding to the leader failed");
            refuse(format!("replica {} could not reach the leader {leader}: {e}; retry", s.fence.holder()))
        }
    }
}

/// One request relayed to the leader at `base`, and its answer relayed back.
async fn forward(s: &AppState, req: Request, base: &str) -> Result<Response, reqwest::Error> {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let client = CLIENT.get_or_init(|| {
        // Redirects go back to the client as the leader gave them (a sign-in's 303 and its cookie).
        let client =
            reqwest::Client::builder().connect_timeout(std::time::Duration::from_secs(1)).redirect(reqwest::redirect::Policy::none());
        client.build().expect("an HTTP client builds")
    });
    let (parts, body) = req.into_parts();
    let target = format!("{base}{}", parts.uri.path_and_query().map_or("/", |p| p.as_str()));
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            headers.append(name.clone(), value.clone());
        }
    }
    headers.insert(
        FORWARDED_BY,
        reqwest::header::HeaderValue::from_str(s.fence.holder()).unwrap_or(reqwest::header::HeaderValue::from_static("follower")),
    );
    let sent =
        client.request(parts.method, target).headers(headers).body(reqwest::Body::wrap_stream(body.into_data_stream())).send().await?;
    let mut answer = Response::builder().status(sent.status().as_u16());
    for (name, value) in sent.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            answer = answer.header(name, value);
        }
    }
    Ok(answer
        .body(axum::body::Body::from_stream(sent.bytes_stream()))
        .unwrap_or_else(|e| ApiError::new(ErrorCode::Internal, format!("the leader's answer could not be relayed: {e}")).into_response()))
}

/// How often a follower reads what the leader stored since it last read.
pub const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// A follower's fair-share account is replayed again at most this often, and only when jobs
/// changed: the replay reads the runs of the last day.
const FAIR_SHARE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Keeps a follower's books replayed from PostgreSQL, every [`FOLLOW_EVERY`], for as long as
/// `stop` says nothing: the energy book reads the reading blocks committed since it last read
/// (or is rebuilt when meters or facts changed), and the fair-share account is replayed when
/// jobs changed (at most every 5 s). The gateway's catalogue reloads itself every 5 s on every
/// replica, and everything else a read needs is read from the store. The leader's books are
/// current (its writes go through them); a follower that becomes leader rebuilds them at once
/// ([`renew_lease`]). Nothing to do on SQLite, which has one process.
pub async fn follow_the_leader(s: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    if s.store.dialect() == Dialect::Sqlite {
        return;
    }
    let mut jobs_seen = None;
    let mut fair_share_at = std::time::Instant::now() - FAIR_SHARE_EVERY;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(FOLLOW_EVERY) => {}
            _ = stop.changed() => return,
        }
        if s.fence.leads() {
            jobs_seen = None;
            continue;
        }
        match s.energy.catch_up().await {
            Ok(suanli_app::energy::CatchUp::Current) => {}
            Ok(done) => tracing::debug!(?done, "the follower's energy book caught up"),
            Err(e) => tracing::warn!(error = %e, "the follower's energy book could not catch up; retrying"),
        }
        if fair_share_at.elapsed() < FAIR_SHARE_EVERY {
            continue;
        }
        match s.store.jobs_written_since(jobs_seen).await {
            Ok((true, mark)) => match s.engine.replay_fair_share().await {
                Ok(_) => {
                    jobs_seen = Some(mark);
                    fair_share_at = std::time::Instant::now();
                }
                Err(e) => tracing::warn!(error = %e, "the follower's fair-share account could not be replayed; retrying"),
            },
            Ok((false, mark)) => jobs_seen = Some(mark),
            Err(e) => tracing::warn!(error = %e, "the follower could not read the jobs' change mark; retrying"),
        }
    }
}
