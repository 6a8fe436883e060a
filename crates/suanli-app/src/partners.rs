//! Compute-partner selection from the platform's own records: each centre's compute, its domestic and high-performance shares, its price against the city's median for the same accelerators, and the service its jobs received, scored by `suanli_incentives::partner` under the operator's weights and thresholds.

use crate::caller::Caller;
use std::collections::{BTreeMap, HashMap};
use suanli_core::catalogue::{AcceleratorClass, Catalogue};
use suanli_core::centre::PartnerStatus;
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{AuditId, CentreId};
use suanli_core::job::{Fault, JobState};
use suanli_dispatch::ids::Ids;
use suanli_incentives::partner::{self, Config, Measures, Score};
use suanli_store::{Audit, Store, StoreError};

const CONFIG_META: &str = "partners.config";

/// What a round does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundKind {
    /// Applicants that meet the criteria become partners.
    Admission,
    /// The yearly review: partners that no longer meet them are suspended, suspended centres
    /// that meet them again are reinstated.
    Review,
}

/// One centre's change in a round, with why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RoundChange {
    pub centre_id: String,
    pub name: String,
    pub from: PartnerStatus,
    pub to: PartnerStatus,
    pub total: f64,
    pub reasons: Vec<String>,
}

/// The partner scores and their configuration.
#[derive(Clone)]
pub struct Partners {
    store: Store,
    ids: Ids,
}

impl std::fmt::Debug for Partners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Partners")
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    (!v.is_empty()).then(|| v[v.len() / 2])
}

impl Partners {
    pub fn new(store: Store, ids: Ids) -> Partners {
        Partners { store, ids }
    }

    /// The weights and thresholds in force (the operator's, else the defaults).
    pub async fn config(&self) -> Result<Config, StoreError> {
        match self.store.meta(CONFIG_META).await? {
            Some(text) => serde_json::from_str(&text).map_err(|_| StoreError::Corrupt("the stored partner configuration".into())),
            None => Ok(Config::default()),
        }
    }

    /// The operator sets the weights and thresholds.
    pub async fn set_config(&self, caller: &Caller, cfg: Config) -> Result<Config, StoreError> {
        if !matches!(caller, Caller::Operator { .. }) {
            return Err(Error::new(ErrorCode::Forbidden, "the partner criteria are the operator's").into());
        }
        partner::check_config(&cfg).map_err(|why| Error::new(ErrorCode::InvalidProgramme, why))?;
        let (t, e) = self.ids.parts();
        let mut tx = self.store.begin().await?;
        tx.set_meta(CONFIG_META, &serde_json::to_string(&cfg).unwrap_or_default()).await?;
        tx.audit(&Audit {
            id: AuditId::generate(t, e),
            at_ms: t,
            actor: caller.actor(),
            action: "partners.config".into(),
            subject: CONFIG_META.into(),
            detail: serde_json::to_value(&cfg).unwrap_or_default(),
        })
        .await?;
        tx.commit().await?;
        Ok(cfg)
    }

    /// Every centre's measures and score (the operator and the regulator). `pues` is what the
    /// energy monitoring measured per centre.
    pub async fn scores(
        &self,
        caller: &Caller,
        catalogue: &Catalogue,
        high_performance: &[AcceleratorClass],
        pues: &HashMap<CentreId, f64>,
    ) -> Result<(Vec<Measures>, Vec<Score>), StoreError> {
        if !matches!(caller, Caller::Operator { .. } | Caller::Regulator { .. }) {
            return Err(Error::new(ErrorCode::Forbidden, "partner scores are for the operator and the regulator").into());
        }
        let measures = self.measures(catalogue, high_performance, pues).await?;
        let scores = partner::score_all(&measures, &self.config().await?);
        Ok((measures, scores))
    }

    /// Partners breaking the unified service standard (the operator and the regulator).
    pub async fn alerts(
        &self,
        caller: &Caller,
        catalogue: &Catalogue,
        high_performance: &[AcceleratorClass],
        pues: &HashMap<CentreId, f64>,
    ) -> Result<Vec<partner::Breach>, StoreError> {
        let (measures, _) = self.scores(caller, catalogue, high_performance, pues).await?;
        let cfg = self.config().await?;
        let partners: std::collections::HashSet<String> = self
            .store
            .centres(None)
            .await?
            .into_iter()
            .filter(|c| c.partner_status == PartnerStatus::Partner)
            .map(|c| c.id.to_string())
            .collect();
        Ok(measures.iter().filter(|m| partners.contains(&m.centre_id)).flat_map(|m| partner::breaches(m, &cfg)).collect())
    }

    /// Sets one centre's partner status by hand, with the reason (the operator).
    pub async fn set_status(
        &self,
        caller: &Caller,
        centre: &CentreId,
        status: PartnerStatus,
        reason: Option<String>,
    ) -> Result<PartnerStatus, StoreError> {
        if !matches!(caller, Caller::Operator { .. }) {
            return Err(Error::new(ErrorCode::Forbidden, "partner status is the operator's").into());
        }
        let (t, e) = self.ids.parts();
        let mut tx = self.store.begin().await?;
        let old = tx.set_partner_status(centre, status).await?;
        tx.audit(&Audit {
            id: AuditId::generate(t, e),
            at_ms: t,
            actor: caller.actor(),
            action: "centre.partner_status".into(),
            subject: centre.to_string(),
            detail: serde_json::json!({"from": old, "to": status, "reason": reason}),
        })
        .await?;
        tx.commit().await?;
        Ok(old)
    }

    /// A round over every centre's score (the operator): an admission round admits applicants
    /// that meet the criteria; the yearly review suspends partners that no longer do and
    /// reinstates suspended centres that do again. Each change is audited with its score and
    /// reasons, in one commit.
    pub async fn round(
        &self,
        caller: &Caller,
        kind: RoundKind,
        catalogue: &Catalogue,
        high_performance: &[AcceleratorClass],
        pues: &HashMap<CentreId, f64>,
    ) -> Result<Vec<RoundChange>, StoreError> {
        if !matches!(caller, Caller::Operator { .. }) {
            return Err(Error::new(ErrorCode::Forbidden, "partner rounds are the operator's").into());
        }
        let (_, scores) = self.scores(caller, catalogue, high_performance, pues).await?;
        let status: HashMap<String, PartnerStatus> =
            self.store.centres(None).await?.into_iter().map(|c| (c.id.to_string(), c.partner_status)).collect();
        let mut changes = Vec::new();
        for sc in &scores {
            let Some(&from) = status.get(&sc.centre_id) else { continue };
            let to = match (kind, from, sc.admitted) {
                (RoundKind::Admission, PartnerStatus::Applicant, true) => PartnerStatus::Partner,
                (RoundKind::Review, PartnerStatus::Partner, false) => PartnerStatus::Suspended,
                (RoundKind::Review, PartnerStatus::Suspended, true) => PartnerStatus::Partner,
                _ => continue,
            };
            changes.push(RoundChange {
                centre_id: sc.centre_id.clone(),
                name: sc.name.clone(),
                from,
                to,
                total: sc.total,
                reasons: sc.reasons.clone(),
            });
        }
        let mut tx = self.store.begin().await?;
        for ch in &changes {
            let id = CentreId::parse(&ch.centre_id)?;
            tx.set_partner_status(&id, ch.to).await?;
            let (t, e) = self.ids.parts();
            tx.audit(&Audit {
                id: AuditId::generate(t, e),
                at_ms: t,
                actor: caller.actor(),
                action: "centre.partner_status".into(),
                subject: ch.centre_id.clone(),
                detail: serde_json::json!({"from": ch.from, "to": ch.to, "round": kind, "total": ch.total, "reasons": ch.reasons}),
            })
            .await?;
        }
        tx.commit().await?;
        Ok(changes)
    }

    async fn measures(
        &self,
        catalogue: &Catalogue,
        high_performance: &[AcceleratorClass],
        pues: &HashMap<CentreId, f64>,
    ) -> Result<Vec<Measures>, StoreError> {
        let centres = self.store.centres(None).await?;
        let pools = self.store.pools().await?;
        // The city's median effective price per accelerator model.
        let mut prices: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for p in &pools {
            prices.entry(p.accelerator.as_str()).or_default().push(p.effective_price().0 as f64);
        }
        let medians: BTreeMap<&str, f64> = prices.into_iter().filter_map(|(k, v)| median(v).map(|m| (k, m))).collect();
        let jobs = self.store.jobs_in_states(&[JobState::Running, JobState::Succeeded, JobState::Failed, JobState::Cancelled]).await?;
        let mut out = Vec::new();
        for c in &centres {
            let (mut tflops, mut hp, mut domestic, mut weighted_price, mut capacity) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for p in pools.iter().filter(|p| p.centre_id == c.id) {
                let Some(acc) = catalogue.get(&p.accelerator) else { continue };
                let t = acc.fp16_tflops * p.capacity() as f64;
                tflops += t;
                hp += if high_performance.contains(&acc.class) { t } else { 0.0 };
                domestic += if acc.domestic { t } else { 0.0 };
                if let Some(m) = medians.get(p.accelerator.as_str()).filter(|m| **m > 0.0) {
                    weighted_price += p.effective_price().0 as f64 / m * p.capacity() as f64;
                    capacity += p.capacity() as f64;
                }
            }
            let mine: Vec<_> = jobs.iter().filter(|j| j.centre_id.as_ref() == Some(&c.id)).collect();
            let latencies: Vec<f64> =
                mine.iter().filter_map(|j| Some((j.started_ms? - j.placed_ms?) as f64 / 1000.0)).filter(|s| *s >= 0.0).collect();
            let ended = mine.iter().filter(|j| matches!(j.state, JobState::Succeeded | JobState::Failed)).count();
            let centre_faults = mine.iter().filter(|j| j.state == JobState::Failed && j.fault == Some(Fault::Centre)).count();
            out.push(Measures {
                centre_id: c.id.to_string(),
                name: c.name.clone(),
                fp16_tflops: tflops,
                high_performance_share: if tflops > 0.0 { hp / tflops } else { 0.0 },
                domestic_share: if tflops > 0.0 { domestic / tflops } else { 0.0 },
                certifications: 0,
                measured_pue: pues.get(&c.id).copied(),
                renewable_share: None,
                price_index: (capacity > 0.0).then(|| weighted_price / capacity),
                jobs_started: latencies.len() as u32,
                start_latency_p50_s: median(latencies),
                centre_fault_share: (ended > 0).then(|| centre_faults as f64 / ended as f64),
            });
        }
        Ok(out)
    }
}
