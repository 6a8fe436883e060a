//! The tasks that run beside the server until it stops: the engine's rounds, following the leader, the measured PUE, the centres' loads, the hourly ledger check, and the demo's streams.

use crate::{AppState, ServeConfig, demo, ha};
use std::time::Duration;

/// How often the server verifies and reconciles the ledger on its own (and at start when no check is kept).
const LEDGER_CHECK_EVERY: Duration = Duration::from_secs(3600);

/// The tasks that run beside the server until it stops: the engine's rounds, following the
/// leader, refreshing measured PUE, checking the ledger, and in the demo its job and telemetry streams.
pub(crate) struct Background {
    engine: tokio::task::JoinHandle<()>,
    follow: tokio::task::JoinHandle<()>,
    pue: tokio::task::JoinHandle<()>,
    loads: tokio::task::JoinHandle<()>,
    ledger: tokio::task::JoinHandle<()>,
    stream: Option<tokio::task::JoinHandle<()>>,
    telemetry: Option<tokio::task::JoinHandle<()>>,
}

impl Background {
    /// Starts them; each stops when `stop` changes.
    pub(crate) fn spawn(state: &AppState, cfg: &ServeConfig, stop: &tokio::sync::watch::Receiver<bool>) -> Background {
        let engine = state.engine.clone();
        let mut rx = stop.clone();
        let run = engine.run(cfg.tick, async move {
            let _ = rx.changed().await;
        });
        // On SQLite on a thread of its own: a round's decision is CPU work, and its writes hold
        // the store's one writer, so neither waits behind the request handlers.
        let engine = suanli_store::spawn_writer(&state.store, "engine", async move {
            let _ = run.await;
        });
        let stream = (cfg.demo && cfg.demo_stream).then(|| {
            let (mut rx, st, seed) = (stop.clone(), state.clone(), cfg.seed);
            tokio::spawn(async move {
                tokio::select! {
                    r = demo::job_stream(st, seed) => if let Err(e) = r { tracing::warn!(error = %e, "demo job stream stopped") },
                    _ = rx.changed() => {}
                }
            })
        });
        let telemetry = cfg.demo.then(|| {
            let (mut rx, st) = (stop.clone(), state.clone());
            tokio::spawn(async move {
                tokio::select! {
                    r = demo::telemetry_stream(st) => if let Err(e) = r { tracing::warn!(error = %e, "demo telemetry stopped") },
                    _ = rx.changed() => {}
                }
            })
        });
        let pue = every(state, stop, Duration::from_secs(300), |st| async move { refresh_measured_pue(&st).await });
        // The centres' loads that pages show, kept fresh so that a page view does not wait for
        // their 30-day scan.
        let loads = every(state, stop, Duration::from_secs(60), |st| async move {
            st.energy.refresh_loads(&st.regions, st.ids.now_ms()).await;
        });
        let mut first = true;
        let ledger = every(state, stop, LEDGER_CHECK_EVERY, move |st| {
            let first = std::mem::replace(&mut first, false);
            async move {
                // At start only when no check is kept yet (the demo keeps one once seeded).
                if first && !matches!(st.store.meta(suanli_app::ledger::LAST_CHECK_KEY).await, Ok(None)) {
                    return;
                }
                if let Err(e) = st.money.check_ledger_on_schedule(st.ids.now_ms()).await {
                    tracing::warn!(error = %e, "the hourly ledger check failed");
                }
            }
        });
        let follow = tokio::spawn(ha::follow_the_leader(state.clone(), stop.clone()));
        Background { engine, follow, pue, loads, ledger, stream, telemetry }
    }

    /// Waits for every task to stop.
    pub(crate) async fn join(self) {
        let _ = self.engine.await;
        let _ = self.follow.await;
        let _ = self.pue.await;
        let _ = self.loads.await;
        let _ = self.ledger.await;
        if let Some(t) = self.stream {
            let _ = t.await;
        }
        if let Some(t) = self.telemetry {
            let _ = t.await;
        }
    }
}

/// Runs `work` on the state now and then every `period` (from the end of one run to the start
/// of the next) until `stop` changes.
fn every<F, Fut>(state: &AppState, stop: &tokio::sync::watch::Receiver<bool>, period: Duration, mut work: F) -> tokio::task::JoinHandle<()>
where
    F: FnMut(AppState) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let (mut rx, st) = (stop.clone(), state.clone());
    tokio::spawn(async move {
        loop {
            work(st.clone()).await;
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = rx.changed() => return,
            }
        }
    })
}

/// Hands the energy book's measured PUE to the scheduler's carbon model (`serve` does this at
/// start and every 5 minutes).
pub async fn refresh_measured_pue(state: &AppState) {
    let pue = state.energy.measured_pues(state.ids.now_ms()).await;
    tracing::debug!(centres = pue.len(), "measured PUE handed to the scheduler");
    state.engine.set_measured_pue(pue);
}
