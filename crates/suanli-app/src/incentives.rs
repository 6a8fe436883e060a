//! Incentive programmes (奖补): an enterprise — a tenant, or a compute provider or data supplier, whose volumes and ranks are read from the platform's ledger, for the completed year it declares — applies with its evidence (or the operator on its behalf), the operator assigns experts from the pool and they sign in and score it, the operator ranks a programme's applications into publicity (公示) within quota and budget, anyone may object, the operator resolves objections and decides; a decision arbitrates the subject's awards (从优、就高、不重复) and pays through the ledger from the city's and the district's budgets. The API, the CLI and the tests call these; the rules are `suanli_incentives`'.

use crate::caller::Caller;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{AuditId, UserId};
use suanli_core::money::Fen;
use suanli_core::tenant::Role;
use suanli_core::time::UnixMs;
use suanli_dispatch::ids::Ids;
use suanli_incentives::programme::year_of;
use suanli_incentives::review::{Ranked, mean_score};
use suanli_incentives::{
    Applicant, Application, Assignment, Claim, Evidence, Expert, Facts, Objection, ProgrammeSpec, Review, Stage, arbitrate,
    policy_programmes, rank, working_days_after,
};
use suanli_ledger::{ReasonCode, Transfer, TransferId, chart};
use suanli_store::{Audit, Effect, LedgerRequest, LedgerService, NewUser, Store, StoreError, StoredAccount};

mod decide;
mod experts;
mod steps;

const HOLIDAYS_META: &str = "incentives.holidays";

/// The most an evidence document may be, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 8 << 20;

/// A document as uploaded.
#[derive(Debug, Clone)]
pub struct Document {
    pub kind: String,
    pub name: String,
    pub body: Vec<u8>,
}

/// What an enterprise asks for.
#[derive(Debug, Clone)]
pub struct ApplyRequest {
    pub programme: String,
    /// The project (or, for recognitions, the title): with the enterprise, the subject that is
    /// awarded once.
    pub project: String,
    pub cost: Fen,
    pub requested: Fen,
    /// What the applicant declares beyond the registry (parameters, evaluation rank, recognitions).
    pub declared: Facts,
    pub documents: Vec<Document>,
    /// The operator applies on behalf of a tenant or a provider; the others apply for themselves.
    pub on_behalf_of: Option<Applicant>,
    /// The completed year (年度) whose platform volume and supplier rank the application is
    /// judged on; the previous calendar year when left out.
    pub volume_year: Option<i32>,
}

/// Who an applicant is to the programmes: its registration and what the platform's own records
/// say of it.
struct Registered {
    name: String,
    uscc: String,
    district: String,
    facts: Facts,
}

/// Totals of one programme in one year.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProgrammeTotals {
    pub programme: String,
    pub year: i32,
    pub budget: Fen,
    pub applications: u32,
    /// In publicity or awarded.
    pub committed: Fen,
    pub disbursed: Fen,
    pub city: Fen,
    pub district: Fen,
}

/// What one district's enterprises were paid under one programme this year.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DistrictTotals {
    pub programme: String,
    pub district: String,
    pub year: i32,
    pub awards: u32,
    pub paid: Fen,
    pub city: Fen,
    pub district_part: Fen,
}

/// The incentive workflows.
#[derive(Clone)]
pub struct Incentives {
    store: Store,
    ledger: LedgerService,
    ids: Ids,
    /// One step at a time per platform: rankings and decisions read and write several applications.
    step: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Incentives {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Incentives")
    }
}

fn err(code: ErrorCode, why: impl Into<String>) -> StoreError {
    Error::new(code, why).into()
}

/// The division code of a unified social credit code (its 3rd to 8th characters).
fn division(uscc: &str) -> String {
    uscc.get(2..8).unwrap_or("").to_string()
}

fn operator_only(caller: &Caller, what: &str) -> Result<(), StoreError> {
    if matches!(caller, Caller::Operator { .. }) { Ok(()) } else { Err(err(ErrorCode::Forbidden, format!("{what} is the operator's"))) }
}

/// Who sees an application: the operator and the regulator all; an applicant its own; anyone
/// signed in what is in publicity (a tenant lists only its own, but may open a public one); an
/// expert only what it is assigned.
fn visible_to(caller: &Caller, a: &Application) -> bool {
    match (caller, &a.applicant) {
        (Caller::Operator { .. } | Caller::Regulator { .. }, _) => true,
        (Caller::Tenant { tenant, .. }, Applicant::Tenant(id)) if tenant.as_str() == id => true,
        (Caller::Provider { provider, .. }, Applicant::Provider(id)) if provider.as_str() == id => true,
        (Caller::Provider { .. }, _) => a.stage == Stage::Publicity,
        (Caller::Tenant { .. }, _) => a.stage == Stage::Publicity,
        (Caller::Expert { user }, _) => a.assigned.iter().any(|x| x.expert == user.as_str()),
    }
}

/// What an expert sees of an application it is assigned: its own scores and assignment, not the
/// other experts' (reviews are independent), nor the mean they make.
fn as_seen_by(caller: &Caller, mut a: Application) -> Application {
    if let Caller::Expert { user } = caller {
        a.reviews.retain(|r| r.expert_id.as_deref() == Some(user.as_str()));
        a.assigned.retain(|x| x.expert == user.as_str());
        a.score = None;
    }
    a
}

/// The facts an application took from the platform's own records, in words, with the year
/// they count and why that year.
fn platform_facts(f: &Facts) -> Option<String> {
    let year = f.volume_year?;
    let volume = f.yearly_volume.map(|v| format!("service volume paid through the platform in {year}: {v}"));
    let rank = match (f.supplier_rank, f.yearly_volume) {
        (Some(r), _) => Some(format!("data-service supplier rank {r} in {year}")),
        (None, Some(_)) => Some(format!("no data-service volume ranked in {year}")),
        _ => None,
    };
    let parts: Vec<String> = volume.into_iter().chain(rank).collect();
    (!parts.is_empty()).then(|| {
        format!(
            "from the platform's ledger for {year}, the completed year (年度) the application is judged on — the policy awards a year's transactions once it is over, so the year so far does not count: {}",
            parts.join("; ")
        )
    })
}

/// Who applies: the calling tenant or provider, or whoever the operator applies for.
fn applicant_of(caller: &Caller, on_behalf_of: &Option<Applicant>) -> Result<Applicant, StoreError> {
    Ok(match (caller, on_behalf_of) {
        (Caller::Tenant { tenant, .. }, None) => Applicant::Tenant(tenant.to_string()),
        (Caller::Provider { provider, .. }, None) => Applicant::Provider(provider.to_string()),
        (Caller::Operator { .. }, Some(a)) => a.clone(),
        (Caller::Operator { .. }, None) => {
            return Err(err(ErrorCode::Forbidden, "the operator applies on behalf of a tenant or a provider (on_behalf_of)"));
        }
        (_, Some(_)) => return Err(err(ErrorCode::Forbidden, "only the operator applies on another's behalf")),
        (Caller::Regulator { .. } | Caller::Expert { .. }, None) => {
            return Err(err(ErrorCode::Forbidden, "enterprises (tenants and providers) apply"));
        }
    })
}

/// The applications of a programme that a ranking takes: under review with the programme's
/// reviews; refused when there is none.
fn ready_to_rank<'a>(all: &'a [Application], p: &ProgrammeSpec) -> Result<Vec<&'a Application>, StoreError> {
    let ready: Vec<&Application> =
        all.iter().filter(|a| a.stage == Stage::UnderReview && a.reviews.len() as u32 >= p.min_reviews).collect();
    if ready.is_empty() {
        return Err(err(ErrorCode::WrongStage, format!("no application of {} has its {} reviews yet", p.code, p.min_reviews)));
    }
    Ok(ready)
}

/// The objection `index` of an application, if it is still open.
fn open_objection(a: &mut Application, index: usize) -> Result<&mut Objection, StoreError> {
    a.objections
        .get_mut(index)
        .filter(|o| o.resolution.is_none())
        .ok_or_else(|| err(ErrorCode::WrongStage, "no open objection with that number"))
}

/// Why an objection is upheld or dismissed, trimmed: the applicant and the objector read it.
fn resolution_reason(reason: &str) -> Result<String, StoreError> {
    let len = reason.trim().chars().count();
    if !(2..=2000).contains(&len) {
        return Err(err(ErrorCode::InvalidBody, "give the reason for the resolution in 2 to 2,000 characters"));
    }
    Ok(reason.trim().to_string())
}

/// The project's name, trimmed; refused when empty or over 200 characters.
fn project_name(project: &str) -> Result<String, StoreError> {
    let project = project.trim().to_string();
    if project.is_empty() || project.chars().count() > 200 {
        return Err(err(ErrorCode::InvalidName, "name the project in 1 to 200 characters"));
    }
    Ok(project)
}

/// The evidence the documents make, each known by its SHA-256; refused when a document is
/// empty, unnamed or too large.
fn evidence_of(documents: &[Document]) -> Result<Vec<Evidence>, StoreError> {
    if let Some(d) = documents.iter().find(|d| d.body.is_empty() || d.body.len() > MAX_DOCUMENT_BYTES || d.name.trim().is_empty()) {
        return Err(err(ErrorCode::MissingEvidence, format!("'{}' is empty, unnamed or over {} MiB", d.kind, MAX_DOCUMENT_BYTES >> 20)));
    }
    Ok(documents
        .iter()
        .map(|d| Evidence {
            kind: d.kind.clone(),
            name: d.name.clone(),
            sha256: hex::encode(Sha256::digest(&d.body)),
            bytes: d.body.len() as u64,
        })
        .collect())
}

impl Incentives {
    /// The service, with the policy's programmes seeded once.
    pub async fn open(store: Store, ledger: LedgerService, ids: Ids) -> Result<Incentives, StoreError> {
        let known = store.incentive_programmes().await?;
        let missing: Vec<ProgrammeSpec> = policy_programmes().into_iter().filter(|p| !known.iter().any(|k| k.code == p.code)).collect();
        if !missing.is_empty() {
            let mut tx = store.begin().await?;
            for p in &missing {
                tx.insert_incentive_programme(p, ids.now_ms()).await?;
            }
            tx.commit().await?;
        }
        Ok(Incentives { store, ledger, ids, step: Arc::default() })
    }

    fn audit(&self, caller: &Caller, action: &str, subject: &str, detail: serde_json::Value) -> Audit {
        let (t, e) = self.ids.parts();
        Audit { id: AuditId::generate(t, e), at_ms: t, actor: caller.actor(), action: action.into(), subject: subject.into(), detail }
    }

    pub async fn programmes(&self) -> Result<Vec<ProgrammeSpec>, StoreError> {
        self.store.incentive_programmes().await
    }

    async fn programme(&self, code: &str) -> Result<ProgrammeSpec, StoreError> {
        self.store.incentive_programme(code).await?.ok_or_else(|| {
            err(ErrorCode::IncentiveProgrammeNotFound, format!("no incentive programme '{}'", code.chars().take(64).collect::<String>()))
        })
    }

    /// The operator defines a programme (of this policy or another of the city's).
    pub async fn create_programme(&self, caller: &Caller, spec: ProgrammeSpec) -> Result<ProgrammeSpec, StoreError> {
        operator_only(caller, "defining a programme")?;
        spec.validate()?;
        if self.store.incentive_programme(&spec.code).await?.is_some() {
            return Err(err(ErrorCode::InvalidProgramme, format!("a programme '{}' exists", spec.code)));
        }
        let mut tx = self.store.begin().await?;
        tx.insert_incentive_programme(&spec, self.ids.now_ms()).await?;
        tx.audit(&self.audit(caller, "incentive_programme.create", &spec.code, serde_json::to_value(&spec).unwrap_or_default())).await?;
        tx.commit().await?;
        Ok(spec)
    }

    /// An enterprise applies: the programme must be open, the evidence complete, the applicant
    /// eligible on its registered facts, the amount within the rules, and the subject new to the
    /// programme this year. Evidence is stored by its SHA-256.
    pub async fn apply(&self, caller: &Caller, req: ApplyRequest) -> Result<Application, StoreError> {
        let applicant = applicant_of(caller, &req.on_behalf_of)?;
        let p = self.programme(&req.programme).await?;
        let now = self.ids.now_ms();
        if !p.is_open(now) {
            return Err(err(ErrorCode::ProgrammeClosed, format!("{} accepts applications only within its window", p.code)));
        }
        let project = project_name(&req.project)?;
        let evidence = evidence_of(&req.documents)?;
        p.check_evidence(&evidence)?;
        let year = year_of(now);
        let volume_year = suanli_incentives::programme::volume_year(req.volume_year, now)?;
        let reg = self.registered(&applicant, &req.declared, volume_year).await?;
        p.check_eligible(&reg.facts)?;
        p.check_request(req.cost, req.requested)?;
        let subject = format!("{}:{project}", reg.uscc);
        if self.store.incentive_applications(Some(("subject", &subject))).await?.iter().any(|a| a.programme == p.code && a.year == year) {
            return Err(err(ErrorCode::DuplicateApplication, format!("'{project}' already has an application under {} this year", p.code)));
        }
        let (ts, e) = self.ids.parts();
        let a = Application {
            id: suanli_core::id::IncentiveApplicationId::generate(ts, e).to_string(),
            programme: p.code.clone(),
            policy: p.policy.clone(),
            applicant: applicant.clone(),
            applicant_name: reg.name,
            subject,
            project,
            applicant_uscc: reg.uscc,
            district: reg.district,
            year,
            cost: req.cost,
            requested: req.requested,
            facts: reg.facts.clone(),
            evidence,
            stage: Stage::UnderReview,
            assigned: Vec::new(),
            reviews: Vec::new(),
            score: None,
            rank: None,
            publicity_until: None,
            objections: Vec::new(),
            paid: Fen::ZERO,
            city_part: Fen::ZERO,
            district_part: Fen::ZERO,
            notes: platform_facts(&reg.facts).into_iter().collect(),
            created_ms: now,
            updated_ms: now,
        };
        self.store_application(caller, &a, &req.documents, now).await?;
        Ok(a)
    }

    /// Stores a new application with its evidence documents, and audits it.
    async fn store_application(&self, caller: &Caller, a: &Application, documents: &[Document], now: i64) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        for (d, ev) in documents.iter().zip(&a.evidence) {
            tx.insert_incentive_document(&ev.sha256, &d.body, now).await?;
        }
        tx.insert_incentive_application(a).await?;
        tx.audit(&self.audit(
            caller,
            "incentive.apply",
            &a.id,
            serde_json::json!({"programme": a.programme, "applicant": a.applicant, "project": a.project, "requested": a.requested.to_yuan_string(), "facts": a.facts, "evidence": a.evidence}),
        ))
        .await?;
        tx.commit().await
    }

    /// An applicant's registration and facts. Registered facts come from the registry and the
    /// platform's own records, never from the applicant: a provider's yearly service volume is
    /// what the ledger paid it in `year` (a completed year), its supplier rank that year's
    /// data-service ranking; a tenant has neither. The rest is declared and backed by the evidence.
    async fn registered(&self, applicant: &Applicant, declared: &Facts, year: i32) -> Result<Registered, StoreError> {
        match applicant {
            Applicant::Tenant(id) => {
                let tid = suanli_core::id::TenantId::parse(id)?;
                let t = self.store.tenant(&tid).await?.ok_or_else(|| err(ErrorCode::TenantNotFound, format!("no tenant {id}")))?;
                Ok(Registered {
                    name: t.name.clone(),
                    uscc: t.uscc.as_str().to_string(),
                    district: t.region.clone(),
                    facts: Facts {
                        division_code: division(t.uscc.as_str()),
                        sme: t.sme,
                        yearly_volume: None,
                        supplier_rank: None,
                        volume_year: None,
                        ..declared.clone()
                    },
                })
            }
            Applicant::Provider(id) => {
                let pid = suanli_core::id::ProviderId::parse(id)?;
                let p = self.store.provider(&pid).await?.ok_or_else(|| err(ErrorCode::ProviderNotFound, format!("no provider {id}")))?;
                let reg = p.registration.ok_or_else(|| {
                    err(
                        ErrorCode::NotEligible,
                        format!("provider {id} has no registered credit code and district: the operator records them first"),
                    )
                })?;
                let rank = crate::data::supplier_ranking(&self.store, year)
                    .await?
                    .into_iter()
                    .find(|r| r.supplier_id == pid && r.volume.is_positive())
                    .map(|r| r.rank as u32);
                Ok(Registered {
                    name: p.name,
                    uscc: reg.uscc.as_str().to_string(),
                    district: reg.region,
                    facts: Facts {
                        division_code: division(reg.uscc.as_str()),
                        sme: reg.sme,
                        yearly_volume: Some(self.provider_volume(&pid, year).await?),
                        supplier_rank: rank,
                        volume_year: Some(year),
                        ..declared.clone()
                    },
                })
            }
        }
    }

    /// What the platform's ledger paid a provider in a year (China Standard Time): everything
    /// posted to its receivable — job charges, model calls, data deliveries — less what was taken
    /// back from it other than by settlement (settlement pays it out, it takes nothing back).
    pub async fn provider_volume(&self, provider: &suanli_core::id::ProviderId, year: i32) -> Result<Fen, StoreError> {
        let (from, to) = crate::data::year_bounds(year);
        let flows = self.store.ledger_flows(chart::receivable(provider.as_str()).id, from, to).await?;
        Ok(Fen(flows
            .iter()
            .map(|(credit, reason, sum)| match (credit, reason) {
                (true, _) => sum.0,
                (false, ReasonCode::Settlement) => 0,
                (false, _) => -sum.0,
            })
            .sum()))
    }

    /// Applications the caller may see: a tenant its own; a provider its own and what is in
    /// publicity (it is public); the operator and the regulator all.
    pub async fn applications(&self, caller: &Caller) -> Result<Vec<Application>, StoreError> {
        match caller {
            Caller::Tenant { tenant, .. } => self.store.incentive_applications(Some(("tenant_id", tenant.as_str()))).await,
            Caller::Operator { .. } | Caller::Regulator { .. } => self.store.incentive_applications(None).await,
            Caller::Provider { .. } | Caller::Expert { .. } => Ok(self
                .store
                .incentive_applications(None)
                .await?
                .into_iter()
                .filter(|a| visible_to(caller, a))
                .map(|a| as_seen_by(caller, a))
                .collect()),
        }
    }

    pub async fn application(&self, caller: &Caller, id: &str) -> Result<Application, StoreError> {
        let not_found = || {
            err(ErrorCode::IncentiveApplicationNotFound, format!("no incentive application {}", id.chars().take(40).collect::<String>()))
        };
        let a = self.store.incentive_application(id).await?.ok_or_else(not_found)?;
        if visible_to(caller, &a) { Ok(as_seen_by(caller, a)) } else { Err(not_found()) }
    }

    async fn save(&self, caller: &Caller, a: &Application, was: Stage, action: &str, detail: serde_json::Value) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        tx.update_incentive_application(a, was).await?;
        tx.audit(&self.audit(caller, action, &a.id, detail)).await?;
        tx.commit().await
    }

    /// The operator ranks a programme's reviewed applications of this year: within the quota
    /// and what the year's budget has left, by score, into publicity; the rest are not selected.
    /// Applications with too few reviews wait for the next ranking.
    pub async fn rank(&self, caller: &Caller, code: &str) -> Result<Vec<Application>, StoreError> {
        operator_only(caller, "ranking a programme")?;
        let _one = self.step.lock().await;
        let p = self.programme(code).await?;
        let now = self.ids.now_ms();
        let all = self.this_years(code, now).await?;
        let committed: i64 = all.iter().filter(|a| matches!(a.stage, Stage::Publicity | Stage::Awarded)).map(|a| a.requested.0).sum();
        let places = p
            .quota_per_year
            .map(|q| q.saturating_sub(all.iter().filter(|a| matches!(a.stage, Stage::Publicity | Stage::Awarded)).count() as u32));
        let ready = ready_to_rank(&all, &p)?;
        let (chosen, rest) = rank(
            ready
                .iter()
                .map(|a| Ranked { id: a.id.clone(), score: a.score.unwrap_or(0.0), amount: a.requested, created_ms: a.created_ms })
                .collect(),
            places,
            Fen(p.budget_per_year.0 - committed),
        );
        let until = working_days_after(now, p.publicity_days, &self.holidays().await?);
        let mut out = Vec::new();
        let mut tx = self.store.begin().await?;
        for (i, r) in chosen.iter().chain(&rest).enumerate() {
            let mut a = ready
                .iter()
                .find(|a| a.id == r.id)
                .map(|a| (*a).clone())
                .ok_or_else(|| err(ErrorCode::Internal, "ranked an unknown application"))?;
            a.rank = Some(i as u32 + 1);
            a.updated_ms = now;
            if i < chosen.len() {
                a.stage = Stage::Publicity;
                a.publicity_until = Some(until);
                a.notes.push(format!(
                    "ranked {} of {} with {:.2}; in publicity until {}",
                    i + 1,
                    ready.len(),
                    r.score,
                    suanli_core::time::format_rfc3339(until)
                ));
            } else {
                a.stage = Stage::NotSelected;
                a.notes.push(format!(
                    "ranked {} of {} with {:.2}: beyond the quota or what the year's budget has left",
                    i + 1,
                    ready.len(),
                    r.score
                ));
            }
            tx.update_incentive_application(&a, Stage::UnderReview).await?;
            out.push(a);
        }
        tx.audit(&self.audit(
            caller,
            "incentive.rank",
            code,
            serde_json::json!({"selected": chosen.len(), "not_selected": rest.len(), "publicity_until": until}),
        ))
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Anyone signed in may object to an application in publicity.
    pub async fn object(&self, caller: &Caller, id: &str, text: String) -> Result<Application, StoreError> {
        let _one = self.step.lock().await;
        let mut a = self
            .store
            .incentive_application(id)
            .await?
            .ok_or_else(|| err(ErrorCode::IncentiveApplicationNotFound, "no such application"))?;
        let now = self.ids.now_ms();
        if a.stage != Stage::Publicity || a.publicity_until.is_some_and(|u| now >= u) {
            return Err(err(ErrorCode::WrongStage, "objections are taken only during publicity"));
        }
        let len = text.trim().chars().count();
        if !(4..=2000).contains(&len) {
            return Err(err(ErrorCode::InvalidBody, "state the objection in 4 to 2,000 characters"));
        }
        a.objections.push(Objection { by: caller.actor(), text: text.trim().into(), at_ms: now, resolution: None });
        a.updated_ms = now;
        self.save(caller, &a, Stage::Publicity, "incentive.object", serde_json::json!({"text": text.trim()})).await?;
        Ok(a)
    }

    /// The operator resolves an objection: upheld withdraws the application; dismissed keeps it.
    pub async fn resolve(&self, caller: &Caller, id: &str, index: usize, uphold: bool, reason: String) -> Result<Application, StoreError> {
        operator_only(caller, "resolving an objection")?;
        let _one = self.step.lock().await;
        let mut a = self.application(caller, id).await?;
        let now = self.ids.now_ms();
        let was = a.stage;
        let reason = resolution_reason(&reason)?;
        let o = open_objection(&mut a, index)?;
        o.resolution = Some((uphold, reason.clone(), caller.actor(), now));
        if uphold {
            a.stage = Stage::Withdrawn;
            a.notes.push(format!("withdrawn: an objection was upheld ({reason})"));
        }
        a.updated_ms = now;
        self.save(caller, &a, was, "incentive.resolve", serde_json::json!({"objection": index, "upheld": uphold, "reason": reason}))
            .await?;
        Ok(a)
    }

    /// Per programme this year: budget, applications, committed, disbursed and its split.
    pub async fn totals(&self, now: UnixMs) -> Result<Vec<ProgrammeTotals>, StoreError> {
        let year = year_of(now);
        let apps = self.store.incentive_applications(None).await?;
        Ok(self
            .store
            .incentive_programmes()
            .await?
            .into_iter()
            .map(|p| {
                let mine: Vec<&Application> = apps.iter().filter(|a| a.programme == p.code && a.year == year).collect();
                let sum = |f: &dyn Fn(&&Application) -> Fen| Fen(mine.iter().map(|a| f(a).0).sum());
                ProgrammeTotals {
                    programme: p.code.clone(),
                    year,
                    budget: p.budget_per_year,
                    applications: mine.len() as u32,
                    committed: sum(&|a| if matches!(a.stage, Stage::Publicity | Stage::Awarded) { a.requested } else { Fen::ZERO }),
                    disbursed: sum(&|a| a.paid),
                    city: sum(&|a| a.city_part),
                    district: sum(&|a| a.district_part),
                }
            })
            .collect())
    }

    /// Per programme and district this year: awards, paid, and the city's and the district's parts.
    pub async fn totals_by_district(&self, now: UnixMs) -> Result<Vec<DistrictTotals>, StoreError> {
        let year = year_of(now);
        let mut out: std::collections::BTreeMap<(String, String), DistrictTotals> = std::collections::BTreeMap::new();
        for a in self.store.incentive_applications(None).await?.into_iter().filter(|a| a.year == year && a.stage == Stage::Awarded) {
            let t = out.entry((a.programme.clone(), a.district.clone())).or_insert_with(|| DistrictTotals {
                programme: a.programme.clone(),
                district: a.district.clone(),
                year,
                awards: 0,
                paid: Fen::ZERO,
                city: Fen::ZERO,
                district_part: Fen::ZERO,
            });
            t.awards += 1;
            t.paid = Fen(t.paid.0 + a.paid.0);
            t.city = Fen(t.city.0 + a.city_part.0);
            t.district_part = Fen(t.district_part.0 + a.district_part.0);
        }
        Ok(out.into_values().collect())
    }

    /// Public holidays the publicity calendar skips, as days since 1970-01-01 (the operator's list).
    pub async fn holidays(&self) -> Result<Vec<i64>, StoreError> {
        match self.store.meta(HOLIDAYS_META).await? {
            Some(text) => serde_json::from_str(&text).map_err(|_| StoreError::Corrupt("the stored holiday list".into())),
            None => Ok(Vec::new()),
        }
    }

    /// The operator sets the public holidays (`YYYY-MM-DD`, China Standard Time), replacing the list.
    pub async fn set_holidays(&self, caller: &Caller, dates: &[String]) -> Result<Vec<i64>, StoreError> {
        operator_only(caller, "the holiday calendar")?;
        if dates.len() > 400 {
            return Err(err(ErrorCode::InvalidDate, "at most 400 holidays"));
        }
        let mut days = Vec::with_capacity(dates.len());
        for d in dates {
            days.push(suanli_core::time::parse_date(d)?.div_euclid(86_400_000));
        }
        days.sort_unstable();
        days.dedup();
        let mut tx = self.store.begin().await?;
        tx.set_meta(HOLIDAYS_META, &serde_json::to_string(&days).unwrap_or_default()).await?;
        tx.audit(&self.audit(caller, "incentive.holidays", HOLIDAYS_META, serde_json::json!({"dates": dates}))).await?;
        tx.commit().await?;
        Ok(days)
    }

    /// A stored evidence document by its hash: the operator and the regulator, to check it; an
    /// expert, of an application it is assigned.
    pub async fn document(&self, caller: &Caller, sha256: &str) -> Result<Vec<u8>, StoreError> {
        let allowed = match caller {
            Caller::Operator { .. } | Caller::Regulator { .. } => true,
            Caller::Expert { .. } => self.applications(caller).await?.iter().any(|a| a.evidence.iter().any(|e| e.sha256 == sha256)),
            Caller::Tenant { .. } | Caller::Provider { .. } => false,
        };
        if !allowed {
            return Err(err(ErrorCode::Forbidden, "evidence is read by the operator, the regulator and the experts assigned"));
        }
        self.store.incentive_document(sha256).await?.ok_or_else(|| err(ErrorCode::NotFound, "no document with that SHA-256"))
    }
}
