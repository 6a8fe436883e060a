//! `suanli serve`: its flags, the server's configuration built from them, and a shutdown on Ctrl-C or SIGTERM; and
//! `suanli bootstrap`, a new installation's first operator.

use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where the embedded store and demo tokens live.
    #[arg(long, env = "SUANLI_DATA_DIR", default_value = "suanli-data")]
    data_dir: PathBuf,
    /// Seed and animate the demo city.
    #[arg(long)]
    demo: bool,
    /// With --demo: do not submit a background stream of jobs.
    #[arg(long)]
    no_stream: bool,
    /// Dispatch round interval in milliseconds.
    #[arg(long, default_value_t = 250)]
    tick_ms: u64,
    /// Simulated seconds per wall second in the simulated backend (default: the demo city's, 600).
    #[arg(long)]
    time_scale: Option<f64>,
    /// Seed of the demo job stream and simulated failures.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// With --demo: the share of the simulated centres' runs that fail as node failures (0 to 1).
    #[arg(long, default_value_t = 0.02)]
    demo_failure_rate: f64,
    /// Run a centre's jobs on its own cluster: CENTRE=URL, e.g.
    /// ctr_…=slurm+http://127.0.0.1:6820?partition=gpu (token from SLURM_JWT). Repeatable.
    #[arg(long = "backend", value_parser = parse_backend)]
    backends: Vec<(String, String)>,
    /// With --demo: days of hourly energy history seeded before the last week (0 for none).
    #[arg(long, default_value_t = 365)]
    demo_energy_days: i64,
    /// Connections served at once; more are closed as soon as they are accepted.
    #[arg(long, default_value_t = 4096)]
    max_connections: usize,
    /// Seconds a client may take to send a request's headers, or sit idle between requests.
    #[arg(long, default_value_t = 15.0)]
    header_read_timeout_s: f64,
    /// Judged batches of meter readings that may wait for the energy writer; beyond them,
    /// readings are refused with 429 ingest_busy and Retry-After: 1.
    #[arg(long, default_value_t = suanli_app::energy::WRITE_QUEUE)]
    energy_queue: usize,
    /// The city's PUE limit for new data centres (their annualised PUE must be below it): the
    /// one setting the pages and the API show and the energy monitor judges by.
    #[arg(long, default_value_t = suanli_core::city::Policy::default().new_dc_pue_limit, value_parser = pue_limit)]
    new_dc_pue_limit: f64,
    /// With DATABASE_URL: the PostgreSQL schema to keep the platform's tables in (created if
    /// missing), so that several installations can share one database.
    #[arg(long, env = "SUANLI_PG_SCHEMA")]
    pg_schema: Option<String>,
    /// This replica's id in the leader lease (PostgreSQL: replicas share the database, one
    /// leads); default `hostname:pid`.
    #[arg(long, env = "SUANLI_REPLICA")]
    replica: Option<String>,
    /// The URL other replicas reach this one at; followers forward writes to the leader's
    /// (default: the address it listens on, e.g. http://127.0.0.1:8080).
    #[arg(long, env = "SUANLI_ADVERTISE_URL")]
    advertise_url: Option<String>,
    /// Lease preemptible jobs their accelerators for this many seconds at a time; at each
    /// lease's end the time-slice policy keeps, moves (to a faster type of its centre) or
    /// requeues the job with its progress kept. Off by default: every job is placed once.
    #[arg(long)]
    timeslice_lease_s: Option<f64>,
    /// With --timeslice-lease-s: the policy deciding lease ends (suanli, fifo-perf, fifo,
    /// fair-agnostic).
    #[arg(long, default_value = "suanli", value_parser = parse_slice_policy)]
    timeslice_policy: suanli_sched::timeslice::SlicePolicy,
    /// With --timeslice-lease-s: seconds (the job's own) a resumed or moved job spends
    /// restoring its checkpoint.
    #[arg(long, default_value_t = 30.0)]
    timeslice_restore_s: f64,
}

fn parse_slice_policy(s: &str) -> Result<suanli_sched::timeslice::SlicePolicy, String> {
    suanli_sched::timeslice::SlicePolicy::parse(s).ok_or_else(|| format!("unknown policy '{s}': suanli, fifo-perf, fifo or fair-agnostic"))
}

fn parse_backend(s: &str) -> Result<(String, String), String> {
    let (centre, url) = s.split_once('=').ok_or_else(|| format!("'{s}' is not CENTRE=URL"))?;
    Ok((centre.to_string(), url.to_string()))
}

/// A PUE limit: a number above 1.0 (no data centre uses less energy than its IT).
fn pue_limit(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 1.0 && x <= 10.0 => Ok(x),
        _ => Err(format!("'{s}' is not a PUE limit: a number above 1.0 and at most 10")),
    }
}

pub(crate) async fn serve(a: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SUANLI_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cfg = suanli_server::ServeConfig {
        listen: a.listen,
        data_dir: a.data_dir,
        database_url: std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()),
        pg_schema: a.pg_schema.filter(|s| !s.is_empty()),
        demo: a.demo,
        tick: Duration::from_millis(a.tick_ms.max(10)),
        time_scale: a.time_scale,
        seed: a.seed,
        demo_stream: !a.no_stream,
        backends: a.backends,
        demo_energy_days: a.demo_energy_days,
        clock_offset_ms: 0,
        sim_failure_rate: a.demo_failure_rate.clamp(0.0, 1.0),
        limits: suanli_server::ConnLimits {
            max_connections: a.max_connections,
            header_read_timeout: Duration::from_secs_f64(a.header_read_timeout_s.clamp(0.1, 3600.0)),
        },
        replica: a.replica,
        advertise_url: a.advertise_url,
        energy_queue: a.energy_queue.max(1),
        policy: suanli_core::city::Policy { new_dc_pue_limit: a.new_dc_pue_limit, ..Default::default() },
        timeslicing: a.timeslice_lease_s.filter(|l| l.is_finite() && *l > 0.0).map(|lease| {
            let mut t = suanli_dispatch::engine::Timeslicing::new(lease, a.timeslice_policy);
            t.cfg.restore_s = a.timeslice_restore_s.max(0.0);
            t
        }),
    };
    suanli_server::serve(cfg, shutdown_signal()).await
}

/// Creates an operator user in the store directly and prints its token.
pub(crate) async fn bootstrap(name: &str, data_dir: PathBuf) -> anyhow::Result<()> {
    let cfg = suanli_server::ServeConfig {
        database_url: std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()),
        ..suanli_server::ServeConfig::at(data_dir)
    };
    let token = suanli_server::bootstrap_operator(&cfg, name).await?;
    println!("{token}");
    eprintln!("operator '{name}' created; keep this token safe: it is shown once and stored only as a hash");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
