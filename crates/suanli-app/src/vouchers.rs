//! Vouchers and cash: the operator opening a year's programme (and closing it, or the system at the year's end), an enterprise applying (itself, or the operator for it), the operator approving an application (all it asked for or less) or rejecting it with a reason, and topping up an enterprise's prepaid cash; the API, the web UI and the demo call these.

use crate::caller::Caller;
use std::future::Future;
use std::pin::Pin;
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{ApplicationId, AuditId, ProgrammeId, TenantId};
use suanli_core::money::Fen;
use suanli_core::time::UnixMs;
use suanli_dispatch::ids::Ids;
use suanli_ledger::records::{Application, ApplicationState, Programme, ProgrammeState};
use suanli_ledger::voucher::ProgrammeRules;
use suanli_ledger::{ReasonCode, Transfer, TransferId, chart};
use suanli_store::{Audit, Effect, LedgerRequest, LedgerService, Precondition, ProgrammeClose, Store, StoreError, StoredAccount};

/// A programme as a person or a client asks for it: its year, and whatever it sets of the
/// rules (money as yuan text, as typed); the rest are Hangzhou's defaults for that year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgrammeDraft {
    pub year: i32,
    pub name: Option<String>,
    pub budget: Option<String>,
    pub ratio_domestic_pct: Option<u8>,
    pub ratio_other_pct: Option<u8>,
    pub ratio_model_calls_pct: Option<u8>,
    pub ratio_data_pct: Option<u8>,
    pub cap_per_enterprise: Option<String>,
    pub sme_only: Option<bool>,
    pub division_prefix: Option<String>,
    pub partner_only: Option<bool>,
}

/// Voucher decisions and cash top-ups.
#[derive(Clone)]
pub struct Vouchers {
    store: Store,
    ledger: LedgerService,
    ids: Ids,
}

impl std::fmt::Debug for Vouchers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vouchers")
    }
}

fn err(code: ErrorCode, why: impl Into<String>) -> StoreError {
    Error::new(code, why).into()
}

/// Money moved by hand — approvals, top-ups, settlements — is the platform operator's; `what`
/// names the task in the refusal. The web UI asks this before it shows a confirmation.
pub fn operator_only(caller: &Caller, what: &str) -> Result<(), StoreError> {
    match caller {
        Caller::Operator { .. } => Ok(()),
        _ => Err(err(ErrorCode::Forbidden, format!("{what} is the platform operator's"))),
    }
}

impl Vouchers {
    pub fn new(store: Store, ledger: LedgerService, ids: Ids) -> Vouchers {
        Vouchers { store, ledger, ids }
    }

    fn audit(&self, actor: &str, action: &str, subject: &str, detail: serde_json::Value) -> Audit {
        let (t, e) = self.ids.parts();
        Audit { id: AuditId::generate(t, e), at_ms: t, actor: actor.to_string(), action: action.into(), subject: subject.into(), detail }
    }

    /// The tenant a caller acts for: its own if a tenant (naming another is `forbidden`), the
    /// named one (which must exist) otherwise.
    pub async fn acting_tenant(&self, caller: &Caller, named: Option<&str>) -> Result<TenantId, StoreError> {
        match caller {
            Caller::Tenant { tenant, .. } => {
                if named.is_some_and(|t| t != tenant.as_str()) {
                    return Err(err(ErrorCode::Forbidden, "a tenant acts only for itself"));
                }
                Ok(tenant.clone())
            }
            _ => {
                let t = TenantId::parse(named.ok_or_else(|| err(ErrorCode::InvalidBody, "tenant_id is required"))?)?;
                self.store.tenant(&t).await?.ok_or_else(|| err(ErrorCode::TenantNotFound, format!("no tenant {t}")))?;
                Ok(t)
            }
        }
    }

    /// Applies for vouchers: a tenant for itself, or the operator for the named tenant, in the
    /// programme named or the one open now. The programme must be open, the enterprise eligible
    /// (SME, registered in the programme's city) and under its yearly cap; the budget is checked
    /// when the operator approves.
    pub async fn apply(
        &self,
        caller: &Caller,
        named: Option<&str>,
        amount: Fen,
        purpose: &str,
        programme: Option<&ProgrammeId>,
    ) -> Result<Application, StoreError> {
        if !matches!(caller, Caller::Tenant { .. } | Caller::Operator { .. }) {
            return Err(err(ErrorCode::Forbidden, "an enterprise applies for itself, or the operator for it"));
        }
        let tenant_id = self.acting_tenant(caller, named).await?;
        if !amount.is_positive() {
            return Err(err(ErrorCode::InvalidAmount, format!("the amount to apply for must be positive, not {amount}")));
        }
        let purpose = purpose.trim().to_string();
        if purpose.is_empty() || purpose.chars().count() > 500 {
            return Err(err(ErrorCode::InvalidName, "purpose must be 1 to 500 characters"));
        }
        let now = self.ids.now_ms();
        let programme = match programme {
            Some(id) => {
                self.store.programme(id).await?.ok_or_else(|| err(ErrorCode::ProgrammeNotFound, format!("no voucher programme {id}")))?
            }
            None => self
                .store
                .programme_open_at(now)
                .await?
                .ok_or_else(|| err(ErrorCode::ProgrammeClosed, "no voucher programme is open now"))?,
        };
        let (_, end) = programme.rules.year_bounds_ms();
        if programme.state != ProgrammeState::Open || now >= end {
            return Err(err(ErrorCode::ProgrammeClosed, format!("programme {} is not open for applications now", programme.id)));
        }
        let tenant =
            self.store.tenant(&tenant_id).await?.ok_or_else(|| err(ErrorCode::TenantNotFound, format!("no tenant {tenant_id}")))?;
        programme.rules.check_eligible(tenant.sme, tenant.uscc.division_code())?;
        let issued = self
            .store
            .ledger_account(chart::voucher(tenant_id.as_str(), programme.id.as_str()).id)
            .await?
            .map_or(Fen::ZERO, |a| Fen(a.account.credits_posted as i64));
        if issued.0.saturating_add(amount.0) > programme.rules.cap_per_enterprise.0 {
            return Err(err(
                ErrorCode::CapExceeded,
                format!(
                    "the enterprise was issued {issued} this year; {amount} more would exceed the cap of {}",
                    programme.rules.cap_per_enterprise
                ),
            ));
        }
        let (t, e) = self.ids.parts();
        let app = Application {
            id: ApplicationId::generate(t, e),
            programme_id: programme.id.clone(),
            tenant_id,
            requested: amount,
            purpose,
            state: ApplicationState::Pending,
            approved: None,
            decision_reason: None,
            decided_by: None,
            decided_ms: None,
            created_ms: t,
        };
        let audit = self.audit(
            &caller.actor(),
            "voucher.apply",
            app.id.as_str(),
            serde_json::json!({"tenant": app.tenant_id, "programme": app.programme_id, "amount": amount.to_yuan_string()}),
        );
        self.store.insert_application(&app, &audit).await?;
        Ok(app)
    }

    /// A pending application (the operator decides only those).
    async fn pending(&self, id: &ApplicationId) -> Result<Application, StoreError> {
        let a = self.store.application(id).await?.ok_or_else(|| err(ErrorCode::ApplicationNotFound, format!("no application {id}")))?;
        if a.state != ApplicationState::Pending {
            return Err(err(ErrorCode::ApplicationDecided, format!("application {} was already {}", a.id, a.state.as_str())));
        }
        Ok(a)
    }

    /// Approves an application (the operator) for `amount`, at most what was requested (all of
    /// it when `None`): the voucher is issued from the programme's budget in the same commit as
    /// the decision, only if the budget and the enterprise's yearly cap allow.
    pub async fn approve(
        &self,
        caller: &Caller,
        id: &ApplicationId,
        amount: Option<Fen>,
        reason: Option<String>,
    ) -> Result<Application, StoreError> {
        operator_only(caller, "approving voucher applications")?;
        let a = self.pending(id).await?;
        let amount = amount.unwrap_or(a.requested);
        if !amount.is_positive() {
            return Err(err(ErrorCode::InvalidAmount, format!("the amount to approve must be positive, not {amount}")));
        }
        if amount > a.requested {
            return Err(err(ErrorCode::InvalidAmount, format!("cannot approve {amount}, more than the {} requested", a.requested)));
        }
        self.issue_as(&caller.actor(), &a, amount, reason).await?;
        self.store.application(id).await?.ok_or_else(|| err(ErrorCode::ApplicationNotFound, format!("no application {id}")))
    }

    /// Issues an approved amount on the platform's own authority (`actor` in the audit trail;
    /// the demo): budget to the enterprise's voucher, only if the programme's budget and the
    /// enterprise's yearly cap allow (checked in the ledger's writer, so two approvals cannot
    /// both pass), atomically with the decision.
    pub async fn issue_as(&self, actor: &str, a: &Application, amount: Fen, reason: Option<String>) -> Result<(), StoreError> {
        let p = self
            .store
            .programme(&a.programme_id)
            .await?
            .ok_or_else(|| err(ErrorCode::ProgrammeNotFound, "the application's programme is gone"))?;
        let now = self.ids.now_ms();
        let budget = chart::programme_budget(p.id.as_str());
        let voucher = chart::voucher(a.tenant_id.as_str(), p.id.as_str());
        let rules = p.rules.clone();
        let (budget_id, voucher_id) = (budget.id, voucher.id);
        let guard: suanli_store::ledger::Guard = Box::new(move |l: &suanli_ledger::Ledger| {
            let issued = l.account(voucher_id).map_or(Fen::ZERO, |x| Fen(x.credits_posted as i64));
            let left = l.account(budget_id).map_or(Fen::ZERO, |x| x.available());
            rules.check_issue(issued, left, amount)
        });
        let audit = self.audit(
            actor,
            "voucher.approve",
            a.id.as_str(),
            serde_json::json!({"tenant": a.tenant_id, "amount": amount.to_yuan_string()}),
        );
        self.ledger
            .submit_all(LedgerRequest {
                accounts: vec![StoredAccount::of(&voucher, now)],
                transfers: vec![Transfer::single(
                    TransferId::derive("issue", a.id.as_str()),
                    budget.id,
                    voucher.id,
                    amount,
                    ReasonCode::VoucherIssue,
                    a.id.as_str(),
                    now,
                )],
                linked: true,
                // Checked in the writer: an approval racing the programme's close either lands
                // before it (and its voucher expires with the others) or is refused.
                preconditions: vec![Precondition::ProgrammeOpen(p.id.clone())],
                close: None,
                guard: Some(guard),
                plan: None,
                effects: vec![Effect::DecideApplication {
                    id: a.id.clone(),
                    state: ApplicationState::Approved,
                    approved: Some(amount),
                    reason,
                    by: actor.to_string(),
                    at_ms: now,
                }],
                audit: Some(audit),
            })
            .await?;
        Ok(())
    }

    /// Whether `caller` may reject this application with this reason, and the application: what
    /// [`Vouchers::reject`] checks first, for a page that asks before rejecting.
    pub async fn check_reject(&self, caller: &Caller, id: &ApplicationId, reason: &str) -> Result<Application, StoreError> {
        operator_only(caller, "rejecting voucher applications")?;
        let a = self.pending(id).await?;
        if reason.trim().is_empty() {
            return Err(err(ErrorCode::InvalidName, "a rejection needs a reason"));
        }
        Ok(a)
    }

    /// Rejects a pending application with a reason (the operator).
    pub async fn reject(&self, caller: &Caller, id: &ApplicationId, reason: &str) -> Result<Application, StoreError> {
        let a = self.check_reject(caller, id, reason).await?;
        let reason = reason.trim().to_string();
        let audit = self.audit(&caller.actor(), "voucher.reject", a.id.as_str(), serde_json::json!({"reason": reason}));
        self.ledger
            .submit_all(LedgerRequest {
                effects: vec![Effect::DecideApplication {
                    id: a.id.clone(),
                    state: ApplicationState::Rejected,
                    approved: None,
                    reason: Some(reason),
                    by: caller.actor(),
                    at_ms: self.ids.now_ms(),
                }],
                audit: Some(audit),
                ..LedgerRequest::default()
            })
            .await?;
        self.store.application(id).await?.ok_or_else(|| err(ErrorCode::ApplicationNotFound, format!("no application {id}")))
    }

    /// Records a cash top-up of an enterprise's prepaid balance from its bank (the operator).
    /// A retry with the same `transfer_id` applies once; without one, each call is a new top-up.
    pub async fn top_up(
        &self,
        caller: &Caller,
        tenant: &TenantId,
        amount: Fen,
        transfer_id: Option<TransferId>,
        reference: Option<String>,
    ) -> Result<TransferId, StoreError> {
        operator_only(caller, "recording cash top-ups")?;
        self.store.tenant(tenant).await?.ok_or_else(|| err(ErrorCode::TenantNotFound, format!("no tenant {tenant}")))?;
        let id = transfer_id.unwrap_or_else(|| {
            let (ms, e) = self.ids.parts();
            TransferId::derive("top-up", &format!("{tenant}/{ms}/{e}"))
        });
        self.top_up_as(&caller.actor(), tenant, amount, id, reference).await?;
        Ok(id)
    }

    /// A top-up on the platform's own authority (`actor` in the audit trail; the demo's opening
    /// balances), idempotent by transfer id.
    pub async fn top_up_as(
        &self,
        actor: &str,
        tenant: &TenantId,
        amount: Fen,
        transfer_id: TransferId,
        reference: Option<String>,
    ) -> Result<(), StoreError> {
        if !amount.is_positive() {
            return Err(err(ErrorCode::InvalidAmount, format!("a top-up must be positive, not {amount}")));
        }
        let reference = reference.map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).unwrap_or_else(|| tenant.to_string());
        if reference.chars().count() > 200 || reference.chars().any(char::is_control) {
            return Err(err(ErrorCode::InvalidName, "the payment reference must be at most 200 printable characters"));
        }
        let now = self.ids.now_ms();
        let (banks, cash) = (chart::enterprise_banks(), chart::cash(tenant.as_str()));
        let audit = self.audit(
            actor,
            "cash.top_up",
            tenant.as_str(),
            serde_json::json!({"amount": amount.to_yuan_string(), "reference": reference}),
        );
        self.ledger
            .submit_all(LedgerRequest {
                accounts: vec![StoredAccount::of(&banks, now), StoredAccount::of(&cash, now)],
                transfers: vec![Transfer::single(transfer_id, banks.id, cash.id, amount, ReasonCode::CashTopUp, reference, now)],
                linked: true,
                audit: Some(audit),
                ..LedgerRequest::default()
            })
            .await?;
        Ok(())
    }
    /// The rules a draft describes: Hangzhou's defaults for its year, with what the draft sets.
    pub fn rules_of(draft: &ProgrammeDraft) -> Result<ProgrammeRules, Error> {
        let d = ProgrammeRules::hangzhou(draft.year);
        let money = |name: &str, v: &Option<String>, default: Fen| {
            v.as_deref().map(|x| Fen::parse_positive(name, x)).transpose().map(|x| x.unwrap_or(default))
        };
        Ok(ProgrammeRules {
            year: draft.year,
            budget: money("budget", &draft.budget, d.budget)?,
            ratio_domestic_pct: draft.ratio_domestic_pct.unwrap_or(d.ratio_domestic_pct),
            ratio_other_pct: draft.ratio_other_pct.unwrap_or(d.ratio_other_pct),
            ratio_model_calls_pct: draft.ratio_model_calls_pct.unwrap_or(d.ratio_model_calls_pct),
            ratio_data_pct: draft.ratio_data_pct.unwrap_or(d.ratio_data_pct),
            cap_per_enterprise: money("cap_per_enterprise", &draft.cap_per_enterprise, d.cap_per_enterprise)?,
            sme_only: draft.sme_only.unwrap_or(d.sme_only),
            division_prefix: draft.division_prefix.clone().unwrap_or(d.division_prefix),
            partner_only: draft.partner_only.unwrap_or(d.partner_only),
        })
    }

    /// Opens a year's voucher programme and funds its budget from the city treasury, in one
    /// commit (the operator); `programme_exists` if the year has one.
    pub async fn open_programme(&self, caller: &Caller, rules: ProgrammeRules, name: Option<String>) -> Result<Programme, StoreError> {
        operator_only(caller, "opening a voucher programme")?;
        self.open_programme_as(&caller.actor(), rules, name).await
    }

    /// [`Vouchers::open_programme`] on the platform's own authority (the demo's programme).
    pub async fn open_programme_as(&self, actor: &str, rules: ProgrammeRules, name: Option<String>) -> Result<Programme, StoreError> {
        rules.validate()?;
        // One programme a year is checked in the ledger's writer (`programme_exists`), where
        // concurrent creations are serialised.
        let (t, e) = self.ids.parts();
        let name = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).unwrap_or_else(|| format!("杭州市算力券 {}", rules.year));
        suanli_core::centre::check_name("name", &name)?;
        let p = Programme { id: ProgrammeId::generate(t, e), name, rules, state: ProgrammeState::Open, created_ms: t, closed_ms: None };
        let (treasury, budget) = (chart::city_treasury(), chart::programme_budget(p.id.as_str()));
        let funding = Transfer::single(
            TransferId::derive("fund", p.id.as_str()),
            treasury.id,
            budget.id,
            p.rules.budget,
            ReasonCode::BudgetFunding,
            p.id.as_str(),
            t,
        );
        let audit = self.audit(
            actor,
            "programme.create",
            p.id.as_str(),
            serde_json::json!({"year": p.rules.year, "budget": p.rules.budget.to_yuan_string()}),
        );
        self.ledger
            .submit_all(LedgerRequest {
                accounts: vec![StoredAccount::of(&treasury, t), StoredAccount::of(&budget, t)],
                transfers: vec![funding],
                linked: true,
                effects: vec![Effect::InsertProgramme(p.clone())],
                audit: Some(audit),
                ..LedgerRequest::default()
            })
            .await?;
        Ok(p)
    }

    /// Closes a programme (the operator): every enterprise's unspent voucher balance returns to
    /// the budget and the programme is marked closed, in one commit of the ledger's writer,
    /// which refuses to issue from it afterwards. `programme_not_found` for an unknown id,
    /// `programme_closed` if it was closed already. Holds still open are posted or released as
    /// their jobs end. Answers the programme as stored after the close.
    pub async fn close_programme(&self, caller: &Caller, id: &ProgrammeId) -> Result<Programme, StoreError> {
        operator_only(caller, "closing a voucher programme")?;
        let p = self.store.programme(id).await?.ok_or_else(|| err(ErrorCode::ProgrammeNotFound, format!("no voucher programme {id}")))?;
        self.close_programme_as(&caller.actor(), &p, self.ids.now_ms()).await?;
        self.store.programme(id).await?.ok_or_else(|| err(ErrorCode::ProgrammeNotFound, format!("no voucher programme {id}")))
    }

    /// [`Vouchers::close_programme`] on the platform's own authority (`actor` in the audit trail).
    pub async fn close_programme_as(&self, actor: &str, p: &Programme, now: UnixMs) -> Result<(), StoreError> {
        // The writer adds to the detail how many vouchers expired.
        let audit = self.audit(actor, "programme.close", p.id.as_str(), serde_json::json!({}));
        self.ledger
            .submit_all(LedgerRequest {
                close: Some(ProgrammeClose { programme: p.id.clone(), at_ms: now }),
                audit: Some(audit),
                ..LedgerRequest::default()
            })
            .await?;
        Ok(())
    }

    /// Closes, as the system (`system:billing`), every open programme whose year has ended at
    /// `now`; answers how many it closed. A programme the operator closed meanwhile is skipped.
    pub async fn close_ended(&self, now: UnixMs) -> Result<u32, StoreError> {
        let mut closed = 0;
        for p in self.store.programmes().await? {
            if p.state != ProgrammeState::Open || now < p.rules.year_bounds_ms().1 {
                continue;
            }
            match self.close_programme_as(YEAR_END_ACTOR, &p, now).await {
                Ok(()) => {
                    closed += 1;
                    tracing::info!(programme = %p.id, year = p.rules.year, "closed a voucher programme at the end of its year");
                }
                Err(StoreError::Domain(e)) if e.code == ErrorCode::ProgrammeClosed => {}
                Err(e) => return Err(e),
            }
        }
        Ok(closed)
    }
}

/// Who closes a programme at the end of its year, in the audit trail.
pub const YEAR_END_ACTOR: &str = "system:billing";

/// The engine's sweep closes ended programmes through this service.
impl suanli_dispatch::billing::YearEnd for Vouchers {
    fn close_ended(&self, now: UnixMs) -> Pin<Box<dyn Future<Output = Result<u32, StoreError>> + Send + '_>> {
        Box::pin(Vouchers::close_ended(self, now))
    }
}
