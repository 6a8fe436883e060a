//! Compute-partner selection from the platform's own records: each centre's compute, its domestic and high-performance shares, the certifications and green-power contracts declared for it (by its provider or the operator) and in force, its price against the city's median for the same accelerators, and the service its jobs received (aggregated in the store), scored by `suanli_incentives::partner` under the operator's weights and thresholds.

use crate::caller::Caller;
use std::collections::{BTreeMap, HashMap};
use suanli_core::catalogue::{AcceleratorClass, Catalogue};
use suanli_core::centre::{PartnerStatus, Pool};
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{AuditId, CentreId};
use suanli_dispatch::ids::Ids;
use suanli_incentives::certification::{self, Certification, CertificationKind, GreenPower, check_sha256};
use suanli_incentives::partner::{self, Config, Measures, PartnerChange, PartnerReason, Score};
use suanli_store::partners::ChangeBy;
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

impl RoundKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RoundKind::Admission => "admission",
            RoundKind::Review => "review",
        }
    }

    pub fn parse(s: &str) -> Option<RoundKind> {
        [RoundKind::Admission, RoundKind::Review].into_iter().find(|k| k.as_str() == s)
    }
}

/// One centre's change in a round, with why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RoundChange {
    pub centre_id: String,
    pub name: String,
    pub from: PartnerStatus,
    pub to: PartnerStatus,
    pub total: f64,
    pub reasons: Vec<PartnerReason>,
}

/// A certification as declared (the service fills in who and when).
#[derive(Debug, Clone)]
pub struct NewCertification {
    pub kind: String,
    pub issuer: String,
    pub number: String,
    /// The last day it is valid, `YYYY-MM-DD`.
    pub expires_on: String,
    pub document_sha256: String,
}

/// A green-power contract as declared.
#[derive(Debug, Clone)]
pub struct NewGreenPower {
    /// Percent of the centre's energy from renewables, 0-100.
    pub share_pct: f64,
    pub evidence_sha256: String,
    /// The first and last day it covers, `YYYY-MM-DD`.
    pub from: String,
    pub until: String,
}

/// A centre's declarations, each with whether it counts now.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Declarations {
    pub certifications: Vec<(Certification, bool)>,
    pub green_power: Vec<(GreenPower, bool)>,
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

/// A round's audit record of one change: the reasons in English words (as records before
/// reasons were typed hold them) and typed, with their codes and figures.
fn round_audit_detail(kind: RoundKind, ch: &RoundChange) -> serde_json::Value {
    let words: Vec<String> = ch.reasons.iter().map(ToString::to_string).collect();
    serde_json::json!({"from": ch.from, "to": ch.to, "round": kind, "total": ch.total, "reasons": words, "reason_details": ch.reasons})
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    (!v.is_empty()).then(|| v[v.len() / 2])
}

impl Partners {
    pub fn new(store: Store, ids: Ids) -> Partners {
        Partners { store, ids }
    }

    fn audit(&self, caller: &Caller, action: &str, subject: &str, detail: serde_json::Value) -> Audit {
        let (t, e) = self.ids.parts();
        Audit { id: AuditId::generate(t, e), at_ms: t, actor: caller.actor(), action: action.into(), subject: subject.into(), detail }
    }

    /// The centre, if the caller may declare for it: the operator any, a provider its own.
    pub async fn declarable(&self, caller: &Caller, centre: &CentreId) -> Result<(), StoreError> {
        let c = self.store.centre(centre).await?.ok_or_else(|| Error::new(ErrorCode::CentreNotFound, format!("no centre {centre}")))?;
        match caller {
            Caller::Operator { .. } => Ok(()),
            Caller::Provider { provider, .. } if *provider == c.provider_id => Ok(()),
            Caller::Provider { .. } => Err(Error::new(ErrorCode::Forbidden, "a provider declares only for its own centres").into()),
            _ => Err(Error::new(ErrorCode::Forbidden, "the centre's provider or the operator declares for a centre").into()),
        }
    }

    /// A provider (for its own centre) or the operator declares a certification: its kind,
    /// issuer, number, expiry and the certificate's SHA-256. Refused, changing nothing, when the
    /// centre is unknown or another's, the kind unknown, the hash malformed or the expiry past.
    pub async fn declare_certification(
        &self,
        caller: &Caller,
        centre: &CentreId,
        new: NewCertification,
    ) -> Result<Certification, StoreError> {
        self.declarable(caller, centre).await?;
        let (t, e) = self.ids.parts();
        let c = Certification {
            id: suanli_core::id::CertificationId::generate(t, e).to_string(),
            centre_id: centre.to_string(),
            kind: CertificationKind::parse(&new.kind)?,
            issuer: new.issuer.trim().to_string(),
            number: new.number.trim().to_string(),
            expires_on: new.expires_on,
            document_sha256: check_sha256("document_sha256", new.document_sha256.trim())?,
            declared_by: caller.actor(),
            declared_ms: t,
        };
        c.check(t)?;
        let mut tx = self.store.begin().await?;
        tx.insert_certification(&c).await?;
        tx.audit(&self.audit(caller, "centre.certification", centre.as_str(), serde_json::to_value(&c).unwrap_or_default())).await?;
        tx.commit().await?;
        Ok(c)
    }

    /// A provider (for its own centre) or the operator declares a green-power contract: the
    /// renewable share of the centre's energy over a period, with the evidence's SHA-256.
    pub async fn declare_green_power(&self, caller: &Caller, centre: &CentreId, new: NewGreenPower) -> Result<GreenPower, StoreError> {
        self.declarable(caller, centre).await?;
        let (t, e) = self.ids.parts();
        let g = GreenPower {
            id: suanli_core::id::GreenPowerId::generate(t, e).to_string(),
            centre_id: centre.to_string(),
            share_pct: new.share_pct,
            evidence_sha256: check_sha256("evidence_sha256", new.evidence_sha256.trim())?,
            from: new.from,
            until: new.until,
            declared_by: caller.actor(),
            declared_ms: t,
        };
        g.check(t)?;
        let mut tx = self.store.begin().await?;
        tx.insert_green_power(&g).await?;
        tx.audit(&self.audit(caller, "centre.green_power", centre.as_str(), serde_json::to_value(&g).unwrap_or_default())).await?;
        tx.commit().await?;
        Ok(g)
    }

    /// A centre's declarations and whether each counts now (the operator, the regulator and
    /// the centre's provider).
    pub async fn declarations(&self, caller: &Caller, centre: &CentreId) -> Result<Declarations, StoreError> {
        if !matches!(caller, Caller::Regulator { .. }) {
            self.declarable(caller, centre).await?;
        } else if self.store.centre(centre).await?.is_none() {
            return Err(Error::new(ErrorCode::CentreNotFound, format!("no centre {centre}")).into());
        }
        let now = self.ids.now_ms();
        Ok(Declarations {
            certifications: self
                .store
                .centre_certifications(Some(centre))
                .await?
                .into_iter()
                .map(|c| {
                    let live = c.in_force(now).unwrap_or(false);
                    (c, live)
                })
                .collect(),
            green_power: self
                .store
                .centre_green_power(Some(centre))
                .await?
                .into_iter()
                .map(|g| {
                    let live = g.in_force(now);
                    (g, live)
                })
                .collect(),
        })
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
        Partners::may_set_config(caller)?;
        partner::check_config(&cfg).map_err(|why| Error::new(ErrorCode::InvalidCriteria, why))?;
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

    /// Whether `caller` may set a centre's partner status by hand (the operator only): what
    /// [`Partners::set_status`] checks first, for a page that asks before changing it.
    pub fn may_set_status(caller: &Caller) -> Result<(), StoreError> {
        if !matches!(caller, Caller::Operator { .. }) {
            return Err(Error::new(ErrorCode::Forbidden, "partner status is the operator's").into());
        }
        Ok(())
    }

    /// Sets one centre's partner status by hand, with the reason (the operator).
    pub async fn set_status(
        &self,
        caller: &Caller,
        centre: &CentreId,
        status: PartnerStatus,
        reason: Option<String>,
    ) -> Result<PartnerStatus, StoreError> {
        Partners::may_set_status(caller)?;
        let (t, e) = self.ids.parts();
        let by = caller.actor();
        let words = reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
        let change = ChangeBy { at_ms: t, by: &by, reason: words, reasons: &[] };
        let mut tx = self.store.begin().await?;
        let old = tx.set_partner_status(centre, status, &change).await?;
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

    /// A centre's partner-status changes, newest first, with who made them and why: every
    /// role may read them, as every role may see the centre (`centre_not_found` if there is
    /// none). What the API, the CLI and the centre's page show.
    pub async fn history(&self, _caller: &Caller, centre: &CentreId) -> Result<Vec<PartnerChange>, StoreError> {
        if self.store.centre(centre).await?.is_none() {
            return Err(Error::new(ErrorCode::CentreNotFound, format!("no centre {centre}")).into());
        }
        self.store.partner_history(Some(centre)).await
    }

    /// Whether `caller` may run a partner round (the operator only): what [`Partners::round`]
    /// checks first, for a page that asks before running one.
    pub fn may_run_round(caller: &Caller) -> Result<(), StoreError> {
        if !matches!(caller, Caller::Operator { .. }) {
            return Err(Error::new(ErrorCode::Forbidden, "partner rounds are the operator's").into());
        }
        Ok(())
    }

    /// Whether `caller` may change the partner criteria (the operator only): what
    /// [`Partners::set_config`] checks first, so a page offers the form only to who may use it.
    pub fn may_set_config(caller: &Caller) -> Result<(), StoreError> {
        if !matches!(caller, Caller::Operator { .. }) {
            return Err(Error::new(ErrorCode::Forbidden, "the partner criteria are the operator's").into());
        }
        Ok(())
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
        Partners::may_run_round(caller)?;
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
        let by = caller.actor();
        let mut tx = self.store.begin().await?;
        for ch in &changes {
            let id = CentreId::parse(&ch.centre_id)?;
            let (t, e) = self.ids.parts();
            tx.set_partner_status(&id, ch.to, &ChangeBy { at_ms: t, by: &by, reason: None, reasons: &ch.reasons }).await?;
            tx.audit(&Audit {
                id: AuditId::generate(t, e),
                at_ms: t,
                actor: caller.actor(),
                action: "centre.partner_status".into(),
                subject: ch.centre_id.clone(),
                detail: round_audit_detail(kind, ch),
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
        // The registry, the service figures and the declarations, read at once.
        let (centres, pools, service, certifications, green_power) = tokio::try_join!(
            self.store.centres(None),
            self.store.pools(),
            self.store.centre_service(),
            self.store.centre_certifications(None),
            self.store.centre_green_power(None),
        )?;
        // The city's median effective price per accelerator model.
        let mut prices: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for p in &pools {
            prices.entry(p.accelerator.as_str()).or_default().push(p.effective_price().0 as f64);
        }
        let medians: BTreeMap<&str, f64> = prices.into_iter().filter_map(|(k, v)| median(v).map(|m| (k, m))).collect();
        let now = self.ids.now_ms();
        let mut certs: HashMap<String, Vec<Certification>> = HashMap::new();
        for c in certifications {
            certs.entry(c.centre_id.clone()).or_default().push(c);
        }
        let mut green: HashMap<String, Vec<GreenPower>> = HashMap::new();
        for g in green_power {
            green.entry(g.centre_id.clone()).or_default().push(g);
        }
        // Each centre's pools, gathered once (a scan of every pool per centre is quadratic).
        let mut by_centre: HashMap<&CentreId, Vec<&Pool>> = HashMap::new();
        for p in &pools {
            by_centre.entry(&p.centre_id).or_default().push(p);
        }
        let mut out = Vec::new();
        for c in &centres {
            let (mut tflops, mut hp, mut domestic, mut weighted_price, mut capacity) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for p in by_centre.get(&c.id).map_or(&[][..], Vec::as_slice) {
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
            let sv = service.get(c.id.as_str()).cloned().unwrap_or_default();
            let id = c.id.to_string();
            out.push(Measures {
                centre_id: c.id.to_string(),
                name: c.name.clone(),
                fp16_tflops: tflops,
                high_performance_share: if tflops > 0.0 { hp / tflops } else { 0.0 },
                domestic_share: if tflops > 0.0 { domestic / tflops } else { 0.0 },
                certifications: certification::certifications_in_force(certs.get(&id).map_or(&[][..], Vec::as_slice), now),
                measured_pue: pues.get(&c.id).copied(),
                renewable_share: certification::renewable_share(green.get(&id).map_or(&[][..], Vec::as_slice), now),
                price_index: (capacity > 0.0).then(|| weighted_price / capacity),
                jobs_started: sv.jobs_started,
                start_latency_p50_s: sv.start_latency_p50_ms.map(|ms| ms as f64 / 1000.0),
                centre_fault_share: (sv.ended > 0).then(|| sv.centre_faults as f64 / sv.ended as f64),
            });
        }
        Ok(out)
    }
}
