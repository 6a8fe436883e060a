//! The gateway's in-memory view of the catalogue and the keys, reloaded from the store, and the live state of each deployment (calls in flight, latency, failures).

use crate::meter::{Server, VoucherTerms};
use crate::route::{Candidate, Probe};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU32, AtomicU64, Ordering};
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
    /// The last health check's finding (`Probe` as a number), when, and how long it took.
    probe: AtomicU8,
    probed_ms: AtomicI64,
    probe_us: AtomicU64,
    /// Why the last health check failed.
    probe_error: Mutex<Option<String>>,
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

    /// A failed health check: counts toward the cooldown like a failed call, but not as an attempt.
    pub fn probe_failed(&self, threshold: u32, until_ms: UnixMs) {
        let n = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= threshold {
            self.cooldown_until_ms.fetch_max(until_ms, Ordering::Relaxed);
        }
    }

    /// A health check answered: the deployment takes calls again.
    pub fn recovered(&self) {
        self.consecutive_failures.store(0, Ordering::Relaxed);
        self.cooldown_until_ms.store(0, Ordering::Relaxed);
    }

    /// Notes a health check's finding: up (with how long it took) or down (with why).
    pub fn probed(&self, at_ms: UnixMs, took_us: u64, error: Option<String>) {
        self.probe.store(if error.is_none() { Probe::Up as u8 } else { Probe::Down as u8 }, Ordering::Relaxed);
        self.probed_ms.store(at_ms, Ordering::Relaxed);
        self.probe_us.store(took_us, Ordering::Relaxed);
        *self.probe_error.lock().unwrap_or_else(|e| e.into_inner()) = error;
    }

    /// The last health check: its finding, when (unix ms), how long it took (ms) and why it failed.
    pub fn last_probe(&self) -> (Probe, Option<UnixMs>, Option<f64>, Option<String>) {
        let probe = match self.probe.load(Ordering::Relaxed) {
            x if x == Probe::Up as u8 => Probe::Up,
            x if x == Probe::Down as u8 => Probe::Down,
            _ => Probe::Unchecked,
        };
        let at = self.probed_ms.load(Ordering::Relaxed);
        let took = (at > 0).then(|| self.probe_us.load(Ordering::Relaxed) as f64 / 1_000.0);
        (probe, (at > 0).then_some(at), took, self.probe_error.lock().unwrap_or_else(|e| e.into_inner()).clone())
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
        let (probe, probed_ms, _, _) = self.live.last_probe();
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
            probe,
            probed_ms,
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
