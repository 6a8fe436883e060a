//! Suanli's benchmarks, run by `suanli bench …`: each prints its figures and their ratios to peers measured in the same run.
//!
//! They live apart from the product: the binary only parses the command line and calls one
//! function here. `scheduler` the scheduler's round at city scale and the live heuristic's gap
//! to the exact optimum; `ledger` durable transfers against a naive SQL ledger (`naive`, kept
//! here since no product code uses it); `rounds` the live engine's rounds over a large store;
//! `dispatch` the engine's submissions to the simulated backend and to Slurm; `e2e` the user's
//! path through a real `serve --demo` against Slurm; `energy` meter ingest against Prometheus
//! and VictoriaMetrics; `web` page render times in a big city (each page's cold first request
//! and maximum beside its median); `gateway` the model gateway against the upstream alone and
//! LiteLLM; `deid` de-identification against Presidio.
//!
//! `e2e` and `energy` start the running executable as `serve`: call them from the `suanli`
//! binary only. Tests never assert on the figures.

pub mod deid;
pub mod dispatch;
pub mod e2e;
pub mod energy;
pub mod gateway;
pub mod h1;
pub mod ledger;
mod naive;
mod progress;
pub mod rounds;
pub mod scheduler;
mod stats;
mod table;
pub mod web;

/// Where a benchmarked server logs: with `SUANLI_BENCH_LOG=<filter>` (for example
/// `suanli_dispatch=debug` for round timings, or `sqlx::query=debug` for every statement) into
/// `bench-<name>.log` in the working directory, otherwise warnings only, discarded.
pub(crate) fn server_log(cmd: &mut tokio::process::Command, name: &str) -> anyhow::Result<()> {
    match std::env::var("SUANLI_BENCH_LOG") {
        Ok(filter) => cmd.env("SUANLI_LOG", filter).stderr(std::fs::File::create(format!("bench-{name}.log"))?),
        Err(_) => cmd.env("SUANLI_LOG", "warn").stderr(std::process::Stdio::null()),
    };
    Ok(())
}
