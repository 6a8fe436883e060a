//! The gateway's in-memory view of the catalogue and the keys, reloaded from the store, and the live state of each deployment (calls in flight, latency, failures).

use crate::meter::{Server, VoucherTerms};
use crate::route::Candidate;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use suanli_core::centre::PartnerStatus;
use suanli_core::model::{Deployment, Model, ModelKey};
use suanli_core::region::Regions;
use suanli_core::time::UnixMs;
use suanli_store::{Store, StoreResult};

/// Weight of the newest sample in the moving average of time to first token.
const EWMA_ALPHA: f64 = 0.2;

/// What is known of a deployment while it serves: shared across reloads of the catalogue.
#[derive(Debug, Default)]
pub struct Live {
    pub in_flight: AtomicU32,
    /// Moving average of time to first token in µs; 0 = not measured yet.
    ewma_ttft_us: AtomicU64,
    pub consecutive_failures: AtomicU32,
    pub cooldown_until_ms: AtomicI64,
    pub served: AtomicU64,
    pub failed: AtomicU64,
}

impl Live {
    pub fn ewma_ttft_ms(&self) -> Option<f64> {
        match self.ewma_ttft_us.load(Ordering::Relaxed) {
            0 => None,
            us => Some(us as f64 / 1_000.0),
        }
    }

    pub fn record_success(&self, ttft_us: u64) {
        let old = self.ewma_ttft_us.load(Ordering::Relaxed);
        let new = if old == 0 { ttft_us.max(1) } else { ((1.0 - EWMA_ALPHA) * old as f64 + EWMA_ALPHA * ttft_us as f64).max(1.0) as u64 };
        self.ewma_ttft_us.store(new, Ordering::Relaxed);
        self.consecutive_failures.store(0, Ordering::Relaxed);
        self.served.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a failure; after `threshold` in a row (or at once when the upstream said how long
    /// to wait), the deployment cools down until `until_ms`.
    pub fn record_failure(&self, threshold: u32, until_ms: UnixMs, told: bool) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        let n = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        if told || n >= threshold {
            self.cooldown_until_ms.fetch_max(until_ms, Ordering::Relaxed);
        }
    }

    /// A health check answered: the deployment takes calls again.
    pub fn recovered(&self) {
        self.consecutive_failures.store(0, Ordering::Relaxed);
        self.cooldown_until_ms.store(0, Ordering::Relaxed);
    }

    pub fn cooling(&self, now_ms: UnixMs) -> bool {
        self.cooldown_until_ms.load(Ordering::Relaxed) > now_ms
    }
}

/// A deployment with where it runs and who is paid for it.
#[derive(Debug)]
pub struct Dep {
    pub d: Deployment,
    pub region: String,
    pub server: Server,
    pub live: Arc<Live>,
}

impl Dep {
    pub fn candidate(&self, key: &ModelKey, regions: &Regions) -> Candidate {
        let cooldown = self.live.cooldown_until_ms.load(Ordering::Relaxed);
        Candidate {
            deployment: self.d.id.clone(),
            model: self.d.model.clone(),
            centre: self.d.spec.centre_id.to_string(),
            region: self.region.clone(),
            weight: self.d.spec.weight,
            in_flight: self.live.in_flight.load(Ordering::Relaxed),
            max_concurrency: self.d.spec.max_concurrency,
            ewma_ttft_ms: self.live.ewma_ttft_ms(),
            cooldown_until_ms: (cooldown > 0).then_some(cooldown),
            region_allowed: key.allows_region(regions, &self.region),
        }
    }
}

/// A model with its live deployments.
#[derive(Debug)]
pub struct Entry {
    pub model: Model,
    pub deployments: Vec<Arc<Dep>>,
}

/// Everything the hot path reads, swapped whole on reload.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub models: HashMap<String, Arc<Entry>>,
    /// By the SHA-256 of the secret, hex.
    pub keys: HashMap<String, Arc<ModelKey>>,
    pub terms: Option<VoucherTerms>,
}

impl Snapshot {
    /// Reads the catalogue, keys and the programme open now; `lives` keeps each deployment's
    /// live state across reloads.
    pub async fn load(store: &Store, lives: &mut HashMap<String, Arc<Live>>, now: UnixMs) -> StoreResult<Snapshot> {
        let centres: HashMap<String, suanli_core::centre::Centre> =
            store.centres(None).await?.into_iter().map(|c| (c.id.to_string(), c)).collect();
        let mut by_model: HashMap<String, Vec<Arc<Dep>>> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for d in store.deployments().await? {
            let Some(c) = centres.get(d.spec.centre_id.as_str()) else { continue };
            let live = lives.entry(d.id.clone()).or_default().clone();
            seen.insert(d.id.clone());
            let dep = Dep {
                region: c.region.clone(),
                server: Server { provider: c.provider_id.clone(), partner: c.partner_status == PartnerStatus::Partner },
                live,
                d,
            };
            by_model.entry(dep.d.model.clone()).or_default().push(Arc::new(dep));
        }
        lives.retain(|id, _| seen.contains(id));
        let models = store
            .models()
            .await?
            .into_iter()
            .map(|m| {
                let deployments = by_model.remove(&m.name).unwrap_or_default();
                (m.name.clone(), Arc::new(Entry { model: m, deployments }))
            })
            .collect();
        let keys = store.model_keys(None).await?.into_iter().map(|k| (k.secret_sha256.clone(), Arc::new(k))).collect();
        let terms = store.programme_open_at(now).await?.map(|p| VoucherTerms {
            programme: p.id.to_string(),
            ratio_pct: p.rules.ratio_model_calls_pct,
            partner_only: p.rules.partner_only,
        });
        Ok(Snapshot { models, keys, terms })
    }
}
