//! High availability, first slice: the leader lease's loop, and followers that serve reads but refuse writes with `not_leader`.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
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
/// replica becomes leader, its ledger writer reloads (the last leader wrote since it loaded)
/// and its engine runs a round at once.
pub fn renew_lease(store: &Store, fence: &Arc<Fence>, engine: &Arc<Engine>, ledger: &LedgerService) {
    if store.dialect() == Dialect::Sqlite {
        return;
    }
    let (store, fence, engine, ledger) = (store.clone(), Arc::downgrade(fence), Arc::downgrade(engine), ledger.clone());
    tokio::spawn(async move {
        let mut led = fence.upgrade().is_some_and(|f| f.leads());
        loop {
            let Some(f) = fence.upgrade() else { return };
            tokio::time::sleep(std::time::Duration::from_millis(f.terms().renew_ms as u64)).await;
            let leads = store.lease_attempt(&f).await;
            if leads && !led {
                ledger.reload_soon();
                match engine.upgrade() {
                    Some(e) => e.wake(),
                    None => return,
                }
            }
            led = leads;
        }
    });
}

/// A follower serves reads; every other request (API writes, web form posts, model calls,
/// agents' reports) is answered 503 `not_leader` with `Retry-After: 1`, because the ledger's
/// writer and the other in-memory books are the leader's alone in this slice.
pub async fn followers_read_only(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) || s.fence.leads() {
        return next.run(req).await;
    }
    ApiError::new(
        ErrorCode::NotLeader,
        format!("replica {} is a follower (the leader takes writes); retry, or send it to the leader", s.fence.holder()),
    )
    .into_response()
}
