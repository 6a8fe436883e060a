//! `suanli bench …`: the benchmarks' command line; each subcommand bounds its arguments and calls one benchmark of `suanli-bench`.

use crate::output::Format;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub(crate) enum BenchCmd {
    /// Placements per second and round latency on a synthetic city.
    Scheduler {
        #[arg(long, default_value_t = 1000)]
        centres: usize,
        #[arg(long, default_value_t = 10000)]
        pools: usize,
        #[arg(long, default_value_t = 100000)]
        jobs: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Timed runs of the full round (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Durable ledger transfers per second: batches through the ledger writer and concurrent
    /// single-transfer API requests, on the embedded store and on PostgreSQL, against a naive
    /// one-transaction-per-transfer SQL ledger in the same run.
    Ledger {
        #[arg(long, default_value_t = 8000)]
        batch_size: usize,
        #[arg(long, default_value_t = 25)]
        batches: usize,
        #[arg(long, default_value_t = 1000)]
        accounts: usize,
        #[arg(long, default_value_t = 256)]
        concurrency: usize,
        /// Seconds each concurrent phase runs.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// PostgreSQL to measure too (a scratch schema is created and dropped); "none" skips it.
        #[arg(long, env = "DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/test")]
        pg: String,
    },
    /// The user's path: job submissions over HTTP into a real `serve --demo` (SQLite, then
    /// PostgreSQL) for a fixed time, their placement and start, and the same jobs through the
    /// local Slurm's sbatch and slurmrestd in the same run.
    E2e {
        /// Seconds each target takes submissions.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Clients submitting at once (HTTP connections; sbatch processes).
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// The stores to run Suanli on, in order.
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        stores: Vec<String>,
        /// The PostgreSQL for the `postgres` run (a scratch schema, dropped after).
        #[arg(long, env = "DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/test")]
        database_url: String,
        /// slurmrestd to compare with, e.g. slurm+http://127.0.0.1:6820?user=root&partition=gpu
        /// (token from SLURM_JWT); sbatch runs against the same cluster. Left out when not given.
        #[arg(long)]
        slurm: Option<String>,
        /// Seconds to wait after the submissions for every job to start.
        #[arg(long, default_value_t = 120.0)]
        settle_seconds: f64,
        /// Each job's simulated duration (at the demo's 600 simulated seconds per wall second,
        /// 60 s is a tenth of a second of wall time on the fastest accelerators).
        #[arg(long, default_value_t = 60)]
        job_seconds: i64,
        /// Jobs of the load's tenant made to wait before the load: each asks for the city's
        /// scarcest model for longer than the run, so that all but the first few wait, older
        /// than every job of the load (0: none).
        #[arg(long, default_value_t = 0)]
        waiting: usize,
        /// Slurm is also measured from these many clients at once, and Suanli compared with
        /// Slurm's best path at its best concurrency as well as at `--connections`.
        #[arg(long, value_delimiter = ',', default_value = "16,64")]
        slurm_connections: Vec<usize>,
    },
    /// The live engine's rounds over a large store: a store seeded with pending jobs and pools
    /// (SQLite, then PostgreSQL), a first round and later ones with arrivals between them, each
    /// round's read, decide, write and dispatch phases timed.
    Rounds {
        #[arg(long, default_value_t = 100000)]
        jobs: usize,
        #[arg(long, default_value_t = 10000)]
        pools: usize,
        #[arg(long, default_value_t = 1000)]
        centres: usize,
        /// Timed rounds after the first.
        #[arg(long, default_value_t = 10)]
        rounds: usize,
        /// New pending jobs written between two rounds (as an API replica would).
        #[arg(long, default_value_t = 1000)]
        arrivals: usize,
        /// The stores to measure, in order.
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        stores: Vec<String>,
        /// The PostgreSQL for the `postgres` run (a scratch schema, dropped after).
        #[arg(long, env = "DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/test")]
        database_url: String,
        /// Rounds decide over every waiting job and ask about every running one, as before the
        /// queue head and the running jobs' turns (a baseline in the same build).
        #[arg(long)]
        whole_queue: bool,
    },
    /// Jobs dispatched per second through the engine, on the simulated backend and on a real
    /// Slurm, and Suanli's overhead per job over slurmrestd's own submit.
    Dispatch {
        #[arg(long, default_value_t = 300)]
        jobs: usize,
        /// slurmrestd to measure, e.g. slurm+http://127.0.0.1:6820?user=root&partition=gpu (token from SLURM_JWT).
        #[arg(long)]
        slurm: Option<String>,
    },
    /// Meter samples per second into Suanli through Prometheus remote write and JSON batches,
    /// with the same remote-write load sent to Prometheus 2.42 and VictoriaMetrics 1.79 (Debian's
    /// packages) in the same run; each target is a fresh process per round.
    EnergyIngest {
        /// Data centres (two counter series each: facility and IT).
        #[arg(long, default_value_t = 1000)]
        centres: usize,
        /// Minutes of samples (at most 55: Prometheus takes an hour back from its newest sample).
        #[arg(long, default_value_t = 50)]
        minutes: i64,
        /// Seconds between a series' samples.
        #[arg(long, default_value_t = 5)]
        interval_s: i64,
        /// Concurrent senders, each owning a shard of the series.
        #[arg(long, default_value_t = 4)]
        clients: usize,
        #[arg(long, default_value_t = 2000)]
        samples_per_request: usize,
        /// Rounds (the median is reported). A round is about half a second of load per target on
        /// a small machine, so one round's rate swings by a third with the machine's other work.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Skip Prometheus and VictoriaMetrics.
        #[arg(long)]
        no_peers: bool,
    },
    /// Server-side render time of every web page with a big city in the store, against 100 ms.
    Web {
        #[arg(long, default_value_t = 1000)]
        centres: usize,
        #[arg(long, default_value_t = 100_000)]
        jobs: usize,
        /// Requests per page (the first, cold, is reported beside the median, p95 and maximum).
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Keep the store in this new directory (to inspect or serve it afterwards) instead of
        /// a scratch one removed at the end.
        #[arg(long)]
        keep: Option<std::path::PathBuf>,
    },
    /// The model gateway against calling the upstream directly and against LiteLLM's proxy: added
    /// latency at a fixed load, sustained rate, and an Azure LLM trace replay.
    Gateway {
        /// Offered load of the fixed-rate phase, requests per second.
        #[arg(long, default_value_t = 2000)]
        rate: u32,
        /// Length of each phase (the fixed-rate phase's, per target, over all its slices).
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// The fixed-rate phase runs in this many slices, the targets taking turns, so that
        /// each target sees the same machine (a shared one drifts over a run).
        #[arg(long, default_value_t = 5)]
        slices: usize,
        /// Closed-loop clients of the sustained-rate phase.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Leave LiteLLM out (it is started with scripts/litellm.sh otherwise).
        #[arg(long)]
        no_litellm: bool,
        #[arg(long, default_value = "scripts/litellm.sh")]
        litellm_script: std::path::PathBuf,
        /// The Azure LLM inference trace to replay (TIMESTAMP,ContextTokens,GeneratedTokens).
        #[arg(long)]
        trace: Option<std::path::PathBuf>,
        #[arg(long, default_value_t = 2000)]
        trace_requests: usize,
        /// How many times faster than recorded the trace's arrivals are replayed.
        #[arg(long, default_value_t = 10.0)]
        trace_speedup: f64,
    },
    /// De-identification: F1 per kind and MB/s on one core on a labelled corpus of Chinese text
    /// (scripts/deid_corpus.py), against Microsoft Presidio on the same corpus.
    Deid {
        /// Megabytes of text to generate.
        #[arg(long, default_value_t = 2.0)]
        mb: f64,
        /// Timed runs of each measurement (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// A labelled corpus (JSON Lines of text and spans) instead of a generated one.
        #[arg(long)]
        corpus: Option<std::path::PathBuf>,
        /// Leave Presidio out.
        #[arg(long)]
        no_presidio: bool,
        /// Where deid-peers.sh, deid_corpus.py and deid_presidio.py are.
        #[arg(long, default_value = "scripts")]
        scripts: std::path::PathBuf,
    },
    /// The live heuristic's gap to the exact MILP optimum on random contended instances.
    Optimality {
        #[arg(long, default_value_t = 50)]
        instances: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// Runs one benchmark; `--output json` prints one JSON object instead of tables.
pub(crate) async fn run(cmd: BenchCmd, fmt: Format) -> anyhow::Result<()> {
    let json_out = fmt == Format::Json;
    match cmd {
        BenchCmd::Scheduler { centres, pools, jobs, seed, runs } => {
            tokio::task::block_in_place(|| suanli_bench::scheduler::scheduler(centres, pools, jobs, seed, runs.max(1), json_out))
        }
        BenchCmd::Ledger { batch_size, batches, accounts, concurrency, seconds, pg } => {
            let b = suanli_bench::ledger::LedgerBench {
                batch_size: batch_size.clamp(1, 8190),
                batches: batches.max(1),
                accounts: accounts.max(2),
                concurrency: concurrency.max(1),
                seconds: seconds.max(0.1),
                pg_url: Some(pg).filter(|u| u != "none" && u.starts_with("postgres")),
            };
            suanli_bench::ledger::ledger(b, json_out).await
        }
        BenchCmd::E2e { seconds, connections, stores, database_url, slurm, settle_seconds, job_seconds, waiting, slurm_connections } => {
            let b = suanli_bench::e2e::E2eBench {
                seconds: seconds.clamp(1.0, 3600.0),
                connections: connections.clamp(1, 4096),
                stores,
                database_url,
                slurm,
                settle_seconds: settle_seconds.max(0.0),
                job_seconds: job_seconds.clamp(1, 86_400),
                waiting: waiting.min(1_000_000),
                slurm_connections: slurm_connections.into_iter().map(|c| c.clamp(1, 4096)).collect(),
            };
            suanli_bench::e2e::e2e(b, json_out).await
        }
        BenchCmd::Rounds { jobs, pools, centres, rounds, arrivals, stores, database_url, whole_queue } => {
            let (jobs, pools) = (jobs.max(1), pools.max(1));
            let b = suanli_bench::rounds::RoundsBench { jobs, pools, centres, rounds, arrivals, stores, database_url, whole_queue };
            suanli_bench::rounds::rounds(b, json_out).await
        }
        BenchCmd::Dispatch { jobs, slurm } => {
            suanli_bench::dispatch::dispatch(suanli_bench::dispatch::DispatchBench { jobs: jobs.max(1), slurm }, json_out).await
        }
        BenchCmd::EnergyIngest { centres, minutes, interval_s, clients, samples_per_request, rounds, no_peers } => {
            let b = suanli_bench::energy::EnergyIngestBench {
                centres: centres.max(1),
                minutes: minutes.clamp(1, 55),
                interval_s: interval_s.max(1),
                clients: clients.max(1),
                samples_per_request: samples_per_request.max(2),
                rounds: rounds.max(1),
                peers: !no_peers,
            };
            suanli_bench::energy::energy_ingest(b, json_out).await
        }
        BenchCmd::Web { centres, jobs, runs, keep } => {
            suanli_bench::web::web(suanli_bench::web::WebBench { centres, jobs, runs: runs.max(1), keep }, json_out).await
        }
        BenchCmd::Gateway { rate, seconds, slices, concurrency, no_litellm, litellm_script, trace, trace_requests, trace_speedup } => {
            let b = suanli_bench::gateway::GatewayBench {
                rate: rate.max(1),
                seconds: seconds.max(0.5),
                slices: slices.max(1),
                concurrency: concurrency.max(1),
                litellm_script: (!no_litellm).then_some(litellm_script),
                trace,
                trace_requests,
                trace_speedup: trace_speedup.max(0.001),
            };
            suanli_bench::gateway::gateway(b, json_out).await
        }
        BenchCmd::Deid { mb, runs, seed, corpus, no_presidio, scripts } => {
            let b = suanli_bench::deid::DeidBench { mb: mb.max(0.01), runs: runs.max(1), seed, corpus, presidio: !no_presidio, scripts };
            tokio::task::block_in_place(|| suanli_bench::deid::deid(b, json_out))
        }
        BenchCmd::Optimality { instances, seed } => {
            tokio::task::block_in_place(|| suanli_bench::scheduler::optimality(instances.max(1), seed, json_out))
        }
    }
}
