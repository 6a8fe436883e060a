//! `suanli agent`: run inside a compute centre, connected out to the platform, running the centre's jobs on the local Slurm.

use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use suanli_core::id::CentreId;
use suanli_dispatch::agent::{AgentConfig, run_agent};
use suanli_dispatch::slurm::{SlurmBackend, SlurmConfig};

/// Runs the agent of `centre` against the platform at `server` until it fails; `backend` is the
/// local cluster's URL.
pub(crate) async fn run(
    server: &str,
    token: Option<String>,
    centre: &str,
    backend: &str,
    poll_ms: u64,
    lease_s: u64,
) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SUANLI_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let token = token.context("the agent needs --token (a provider's or the operator's)")?;
    let centre = CentreId::parse(centre)?;
    let slurm = Arc::new(
        SlurmBackend::new(SlurmConfig::from_url(backend).map_err(|e| anyhow::anyhow!("{e}"))?).map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    eprintln!("suanli agent: centre {centre}, platform {server}, cluster {}", slurm.config().url);
    let cfg = AgentConfig {
        server: server.to_string(),
        token,
        centre,
        poll: Duration::from_millis(poll_ms.clamp(100, 30_000)),
        lease: Duration::from_secs(lease_s.max(1)),
    };
    run_agent(cfg, slurm.clone(), Some(slurm)).await.map_err(|e| anyhow::anyhow!("{e}"))
}
