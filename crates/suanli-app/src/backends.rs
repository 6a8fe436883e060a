//! Backend bindings: which cluster each centre's jobs go to, stored, validated once, and connected to the engine.
//!
//! A centre is bound by the operator or its own provider to `slurm+http(s)://host:port?…`
//! (slurmrestd), to `agent` (a `suanli agent` inside the centre connects out), or, only under
//! `--demo`, to `sim` (the simulated centre). An unbound centre takes no jobs outside the demo.
//! Bindings are stored, so a restarted server reaches the same clusters.
//!
//! A time scale other than 1 (simulated seconds per wall second, for tests and rehearsals) is
//! the operator's to set: the platform checks a reported run's usage against its wall-clock
//! span times the scale, so a provider setting its own would set its own bill.

use crate::Caller;
use std::sync::Arc;
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{AuditId, CentreId};
use suanli_core::job::JobState;
use suanli_dispatch::Backend;
use suanli_dispatch::agent::{AgentBackend, AgentHub};
use suanli_dispatch::engine::Engine;
use suanli_dispatch::ids::Ids;
use suanli_dispatch::slurm::{SlurmBackend, SlurmConfig};
use suanli_store::{Audit, BackendBinding, JobFilter, Store, StoreError};

/// A parsed backend URL.
#[derive(Debug, Clone, PartialEq)]
pub enum BackendUrl {
    /// slurmrestd; the token comes from the server's environment (`SLURM_JWT`), never the store.
    Slurm(String),
    /// A `suanli agent` in the centre; `agent?time_scale=X` for a cluster running faster than the wall.
    Agent { time_scale: f64 },
    /// The demo's simulated centre.
    Sim,
}

impl BackendUrl {
    /// Parses and checks a URL as it would be stored.
    pub fn parse(url: &str) -> Result<BackendUrl, Error> {
        let bad = |why: String| Error::new(ErrorCode::InvalidBackend, why);
        let url = url.trim();
        if url == "sim" {
            return Ok(BackendUrl::Sim);
        }
        if let Some(rest) = url.strip_prefix("agent") {
            let time_scale = match rest {
                "" => 1.0,
                q => q
                    .strip_prefix("?time_scale=")
                    .and_then(|v| v.parse::<f64>().ok())
                    .filter(|x| x.is_finite() && *x >= 1.0)
                    .ok_or_else(|| bad(format!("'{url}': an agent binding is 'agent' or 'agent?time_scale=X' with X at least 1")))?,
            };
            return Ok(BackendUrl::Agent { time_scale });
        }
        if url.starts_with("slurm") {
            if url.contains("token=") {
                return Err(bad("a stored binding carries no token: give slurmrestd's JWT to the server as SLURM_JWT".into()));
            }
            // Checked with a placeholder token, so a bad URL is refused here and not at start.
            SlurmConfig::from_url_with_env(url, |k| match k {
                "SLURM_JWT" => Some("checked-later".into()),
                "SLURM_USER" => std::env::var(k).ok().filter(|v| !v.is_empty()).or_else(|| Some("root".into())),
                _ => std::env::var(k).ok().filter(|v| !v.is_empty()),
            })
            .map_err(|e| bad(e.0))?;
            return Ok(BackendUrl::Slurm(url.to_string()));
        }
        Err(bad(format!("'{url}' is not a backend: use slurm+http://HOST:PORT[?partition=P], slurm+https://…, or agent")))
    }

    /// Simulated seconds per wall second this binding declares (1 for a real cluster).
    pub fn time_scale(&self) -> f64 {
        match self {
            BackendUrl::Slurm(url) => SlurmConfig::from_url_with_env(url, |_| Some("x".into())).map_or(1.0, |c| c.time_scale),
            BackendUrl::Agent { time_scale } => *time_scale,
            BackendUrl::Sim => 1.0,
        }
    }
}

/// The bindings service: bind, unbind, and connect what the store holds at start.
#[derive(Clone)]
pub struct Backends {
    store: Store,
    engine: Arc<Engine>,
    agents: Arc<AgentHub>,
    ids: Ids,
    /// The demo's simulated backend; `None` outside `--demo`, where `sim` cannot be bound.
    demo_sim: Option<Arc<dyn Backend>>,
}

impl std::fmt::Debug for Backends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backends").field("demo", &self.demo_sim.is_some()).finish()
    }
}

impl Backends {
    pub fn new(store: Store, engine: Arc<Engine>, agents: Arc<AgentHub>, ids: Ids, demo_sim: Option<Arc<dyn Backend>>) -> Backends {
        Backends { store, engine, agents, ids, demo_sim }
    }

    /// Binds a centre to a backend (replacing its binding) and routes its jobs there at once.
    /// The operator may bind any centre; a provider only its own, and only at real time.
    pub async fn bind(&self, caller: &Caller, centre: &CentreId, url: &str) -> Result<BackendBinding, StoreError> {
        self.may_bind(caller, centre, &BackendUrl::parse(url)?).await?;
        self.bind_as(caller.actor(), centre, url).await
    }

    /// Binds a centre on the platform's own authority (`serve --backend`, the demo): `actor`
    /// names it in the audit trail (`system:serve`, `system:demo`).
    pub async fn bind_as(&self, actor: String, centre: &CentreId, url: &str) -> Result<BackendBinding, StoreError> {
        let parsed = BackendUrl::parse(url)?;
        if self.store.centre(centre).await?.is_none() {
            return Err(Error::new(ErrorCode::CentreNotFound, format!("no centre {centre}")).into());
        }
        let backend = self.backend(centre, &parsed).map_err(|e| Error::new(ErrorCode::InvalidBackend, e))?;
        let (t, e) = self.ids.parts();
        let binding = BackendBinding { centre_id: centre.clone(), url: url.trim().to_string(), bound_by: actor, bound_ms: t };
        let mut tx = self.store.begin().await?;
        tx.bind_backend(&binding).await?;
        tx.audit(&Audit {
            id: AuditId::generate(t, e),
            at_ms: t,
            actor: binding.bound_by.clone(),
            action: "centre.bind_backend".into(),
            subject: centre.to_string(),
            detail: serde_json::json!({"url": binding.url, "backend": backend.name()}),
        })
        .await?;
        tx.commit().await?;
        self.engine.set_backend(centre.clone(), backend);
        self.engine.wake();
        Ok(binding)
    }

    /// Whether `caller` may unbind the centre now, and what it is bound to: what
    /// [`Backends::unbind`] checks first, for a page that asks before unbinding.
    pub async fn check_unbind(&self, caller: &Caller, centre: &CentreId) -> Result<BackendBinding, StoreError> {
        self.may_bind(caller, centre, &BackendUrl::Agent { time_scale: 1.0 }).await?;
        let filter = JobFilter {
            states: vec![JobState::Placed, JobState::Running],
            centre_id: Some(centre.clone()),
            limit: 1,
            ..JobFilter::default()
        };
        if !self.store.jobs(&filter).await?.is_empty() {
            return Err(
                Error::new(ErrorCode::CentreBusy, format!("centre {centre} has jobs placed or running; unbind it when they end")).into()
            );
        }
        self.store
            .backend_binding(centre)
            .await?
            .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("centre {centre} is bound to no backend")).into())
    }

    /// Unbinds a centre: it takes no more jobs. Refused while jobs are placed or running there.
    pub async fn unbind(&self, caller: &Caller, centre: &CentreId) -> Result<(), StoreError> {
        self.check_unbind(caller, centre).await?;
        let (t, e) = self.ids.parts();
        let mut tx = self.store.begin().await?;
        if !tx.unbind_backend(centre).await? {
            return Err(Error::new(ErrorCode::NotFound, format!("centre {centre} is bound to no backend")).into());
        }
        tx.audit(&Audit {
            id: AuditId::generate(t, e),
            at_ms: t,
            actor: caller.actor(),
            action: "centre.unbind_backend".into(),
            subject: centre.to_string(),
            detail: serde_json::json!({}),
        })
        .await?;
        tx.commit().await?;
        self.engine.remove_backend(centre);
        Ok(())
    }

    /// A centre's agent connected: an unbound centre is bound to it; a centre bound elsewhere refuses it.
    pub async fn agent_connected(&self, caller: &Caller, centre: &CentreId) -> Result<(), StoreError> {
        if self.engine.backend_of(centre, 0).is_some_and(|(name, _)| name == "agent") {
            return Ok(());
        }
        match self.store.backend_binding(centre).await? {
            None => {
                self.bind(caller, centre, "agent").await?;
                tracing::info!(centre = %centre, "centre bound to its agent, which connected");
                Ok(())
            }
            Some(b) if matches!(BackendUrl::parse(&b.url), Ok(BackendUrl::Agent { .. })) => {
                self.connect(&b);
                Ok(())
            }
            Some(b) => Err(Error::new(
                ErrorCode::InvalidBackend,
                format!("centre {centre} is bound to {}; bind it to 'agent' before its agent connects", b.url),
            )
            .into()),
        }
    }

    /// Where a centre's jobs go now: `None` with the reason when it takes no jobs.
    pub fn reach(&self, centre: &CentreId, now_ms: i64) -> Result<String, String> {
        match (self.engine.backend_of(centre, now_ms), &self.demo_sim) {
            (Some((name, false)), _) => Err(format!("bound to {name}, which has not been heard from recently; its jobs wait")),
            (Some((name, true)), _) => Ok(name),
            (None, Some(sim)) => Ok(format!("{} (demo)", sim.name())),
            (None, None) => Err("bound to no backend: the operator or its provider binds it (PUT /api/v1/centres/{id}/backend)".into()),
        }
    }

    /// Routes every stored binding to the engine (at start). A binding that cannot be connected
    /// is logged and its centre takes no jobs until it is bound again.
    pub async fn connect_stored(&self) -> Result<usize, StoreError> {
        let bindings = self.store.backend_bindings().await?;
        Ok(bindings.iter().filter(|b| self.connect(b)).count())
    }

    fn connect(&self, b: &BackendBinding) -> bool {
        match BackendUrl::parse(&b.url).map_err(|e| e.message).and_then(|u| self.backend(&b.centre_id, &u)) {
            Ok(backend) => {
                self.engine.set_backend(b.centre_id.clone(), backend);
                true
            }
            Err(e) => {
                tracing::warn!(centre = %b.centre_id, url = %b.url, error = %e, "cannot connect the centre's backend; it takes no jobs");
                false
            }
        }
    }

    fn backend(&self, centre: &CentreId, url: &BackendUrl) -> Result<Arc<dyn Backend>, String> {
        Ok(match url {
            BackendUrl::Sim => self.demo_sim.clone().ok_or("the simulated backend exists only in the demo (suanli serve --demo)")?,
            BackendUrl::Agent { time_scale } => {
                Arc::new(AgentBackend::new(self.agents.clone(), centre.clone()).with_time_scale(*time_scale))
            }
            BackendUrl::Slurm(u) => {
                let config = SlurmConfig::from_url(u).map_err(|e| e.0)?;
                Arc::new(SlurmBackend::new(config).map_err(|e| e.0)?)
            }
        })
    }

    async fn may_bind(&self, caller: &Caller, centre: &CentreId, url: &BackendUrl) -> Result<(), StoreError> {
        let c = self.store.centre(centre).await?.ok_or_else(|| Error::new(ErrorCode::CentreNotFound, format!("no centre {centre}")))?;
        match caller {
            Caller::Operator { .. } => Ok(()),
            Caller::Provider { provider, .. } if *provider == c.provider_id => {
                if url.time_scale() != 1.0 {
                    return Err(Error::new(ErrorCode::Forbidden, "only the operator binds a backend with a time scale other than 1").into());
                }
                Ok(())
            }
            Caller::Provider { .. } => Err(Error::new(ErrorCode::Forbidden, "a provider binds only its own centres").into()),
            _ => Err(Error::new(ErrorCode::Forbidden, "only the operator or the centre's provider binds its backend").into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_urls_are_checked_once() {
        assert_eq!(BackendUrl::parse("agent"), Ok(BackendUrl::Agent { time_scale: 1.0 }));
        assert_eq!(BackendUrl::parse("agent?time_scale=1800"), Ok(BackendUrl::Agent { time_scale: 1800.0 }));
        assert_eq!(BackendUrl::parse("sim"), Ok(BackendUrl::Sim));
        let slurm = BackendUrl::parse("slurm+http://127.0.0.1:6820?partition=gpu&time_scale=600").unwrap();
        assert_eq!(slurm.time_scale(), 600.0);
        for bad in ["", "http://x", "agent?time_scale=0.5", "agent?x=1", "slurm+http://h:1?token=abc", "slurm+http://h:1/path", "k8s://x"] {
            assert_eq!(BackendUrl::parse(bad).unwrap_err().code, ErrorCode::InvalidBackend, "{bad}");
        }
    }
}
