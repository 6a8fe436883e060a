//! Data sharing (数据开放共享): admitting suppliers, the graded catalogue, access requests and their approvals, de-identified deliveries behind short-lived links, fees through the ledger, and the suppliers' yearly ranking. The API, the web UI, the CLI and the demo all call these.
//!
//! Money: a request's fee is held when it is made (the voucher's share at the programme's data
//! ratio, as far as the voucher has money, and the rest from cash) in the platform's
//! data-purchase clearing account; approval posts the holds and pays the supplier's receivable
//! (settled with its other earnings), rejection voids them, and a request nobody decides within
//! [`REQUEST_WINDOW_MS`] expires with its holds. Data opened unconditionally is paid and delivered
//! at once.

use crate::caller::Caller;

mod delivery;
mod fees;

use delivery::run_policy;
use fees::insufficient;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{AuditId, DataRequestId, DataSetId, ProviderId};
use suanli_core::money::Fen;
use suanli_core::time::{UnixMs, cst_midnight, days_from_civil};
use suanli_data::catalogue::{
    self as cat, Column, DataRequest, DataSet, DataSetSpec, Decider, Decision, Delivery, RequestSpec, RequestState, Supplier,
    SupplierStatus, UpdateFrequency,
};
use suanli_data::pipeline::Format;
use suanli_data::{Encoding, Limits, Policy, PseudonymKey};
use suanli_dispatch::ids::Ids;
use suanli_ledger::{Transfer, TransferId};
use suanli_store::data::DataFilter;
use suanli_store::{Audit, Effect, LedgerRequest, LedgerService, Store, StoreError};

/// An open request not decided within this expires, and its fee's hold with it.
pub const REQUEST_WINDOW_MS: i64 = 14 * 86_400_000;
/// A download link works for this long.
pub const LINK_TTL_MS: i64 = 15 * 60_000;
/// Rows a catalogue preview shows.
pub const PREVIEW_ROWS: u64 = 5;
/// Suppliers the policy rewards each year by data-service volume.
pub const TOP_SUPPLIERS: usize = 5;
const SECRET_META: &str = "data.pseudonym_secret";

/// One supplier's place in a year's ranking.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RankRow {
    pub rank: usize,
    pub supplier_id: ProviderId,
    pub name: String,
    pub deliveries: u64,
    pub volume: Fen,
    /// Among the year's top five (the policy's data-service award).
    pub top: bool,
}

/// A decision on a data request as it would be taken now ([`DataSharing::check_decision`]).
#[derive(Debug, Clone)]
pub struct DecisionCheck {
    pub request: DataRequest,
    /// The requested data set.
    pub set: DataSet,
    /// The request's state now, and the one the decision would move it to.
    pub from: RequestState,
    pub next: RequestState,
    pub now: UnixMs,
}

/// The data-sharing workflows.
#[derive(Clone)]
pub struct DataSharing {
    store: Store,
    ledger: LedgerService,
    ids: Ids,
    /// The platform's secret that consumers' pseudonym keys derive from (kept in the store, so
    /// pseudonyms stay stable across restarts and replicas).
    secret: Arc<Vec<u8>>,
    /// One decision at a time, so a request's holds are posted or voided once.
    decide: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for DataSharing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataSharing")
    }
}

fn err(code: ErrorCode, why: impl Into<String>) -> StoreError {
    Error::new(code, why).into()
}

fn forbidden(why: &str) -> StoreError {
    err(ErrorCode::Forbidden, why)
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// The unix-ms bounds of a year in China Standard Time.
pub fn year_bounds(year: i32) -> (UnixMs, UnixMs) {
    let start = |y: i64| cst_midnight(days_from_civil(y, 1, 1));
    (start(year as i64), start(year as i64 + 1))
}

/// A listing as its supplier types it (the API's body, the web's form), every choice by its
/// code: the domain, the opening `mode` (unconditional, conditional, not-open), the GB/T 43697
/// `grade` (core, important, general-1 to general-4), the update frequency (once, realtime,
/// daily, weekly, monthly, quarterly, yearly) and the price in yuan.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub name: String,
    pub title: String,
    pub title_en: Option<String>,
    pub description: String,
    pub domain: String,
    pub mode: String,
    pub grade: String,
    pub licence: String,
    pub update_frequency: String,
    pub price: String,
    pub quasi: Vec<String>,
}

/// The update frequencies by their codes, in the order forms offer them.
pub const UPDATE_FREQUENCIES: [&str; 7] = ["once", "realtime", "daily", "weekly", "monthly", "quarterly", "yearly"];

impl Listing {
    /// The data set the listing describes (checked in full by [`DataSharing::register`]); a
    /// choice that is not one is `invalid_data_set`, a price that is not yuan `invalid_amount`.
    pub fn spec(self) -> Result<DataSetSpec, Error> {
        let bad = |why: String| Error::new(ErrorCode::InvalidDataSet, why);
        let freq: UpdateFrequency = serde_json::from_value(serde_json::Value::String(self.update_frequency.clone()))
            .map_err(|_| bad(format!("'{}' is not an update frequency", self.update_frequency.chars().take(64).collect::<String>())))?;
        Ok(DataSetSpec {
            mode: suanli_data::OpeningMode::parse(&self.mode).map_err(|e| bad(e.to_string()))?,
            grade: suanli_data::Grade::parse(&self.grade).map_err(|e| bad(e.to_string()))?,
            price: Fen::parse_yuan(&self.price)?,
            name: self.name,
            title: self.title,
            title_en: self.title_en,
            description: self.description,
            domain: self.domain,
            licence: self.licence,
            update_frequency: freq,
            quasi: self.quasi,
        })
    }
}

impl DataSharing {
    /// The service over a store, with the platform's pseudonym secret made on first use.
    pub async fn open(store: Store, ledger: LedgerService, ids: Ids) -> Result<DataSharing, StoreError> {
        let secret = match store.meta(SECRET_META).await? {
            Some(s) => hex::decode(s).map_err(|_| StoreError::Corrupt("the data pseudonym secret is not hex".into()))?,
            None => {
                let mut raw = vec![0u8; 32];
                ids.fill(&mut raw);
                let mut tx = store.begin().await?;
                tx.set_meta(SECRET_META, &hex::encode(&raw)).await?;
                tx.commit().await?;
                // Another replica may have made one first; the stored one wins.
                hex::decode(store.meta(SECRET_META).await?.unwrap_or_default()).unwrap_or(raw)
            }
        };
        Ok(DataSharing { store, ledger, ids, secret: Arc::new(secret), decide: Arc::default() })
    }

    fn audit(&self, caller: &Caller, action: &str, subject: &str, detail: serde_json::Value) -> Audit {
        let (t, e) = self.ids.parts();
        Audit { id: AuditId::generate(t, e), at_ms: t, actor: caller.actor(), action: action.into(), subject: subject.into(), detail }
    }

    // ----- suppliers -----

    /// The operator admits a provider as a data supplier for some domains, or suspends it.
    pub async fn set_supplier(
        &self,
        caller: &Caller,
        provider: &ProviderId,
        status: SupplierStatus,
        domains: Vec<String>,
        reason: String,
    ) -> Result<Supplier, StoreError> {
        self.check_supplier(caller, provider, status, &domains, &reason).await?;
        let s = Supplier {
            provider_id: provider.clone(),
            status,
            domains,
            reason: reason.trim().to_string(),
            decided_by: caller.actor(),
            decided_ms: self.ids.now_ms(),
        };
        let mut tx = self.store.begin().await?;
        tx.upsert_data_supplier(&s).await?;
        tx.audit(&self.audit(
            caller,
            &format!("data_supplier.{}", s.status.as_str()),
            provider.as_str(),
            serde_json::json!({"domains": s.domains, "reason": s.reason}),
        ))
        .await?;
        tx.commit().await?;
        Ok(s)
    }

    /// Whether the operator may admit or suspend this supplier so (what [`DataSharing::set_supplier`]
    /// checks first; a web page asks before its confirmation): the operator only, a known
    /// provider, known domains, at least one to admit, a reason of 2 to 500 characters.
    pub async fn check_supplier(
        &self,
        caller: &Caller,
        provider: &ProviderId,
        status: SupplierStatus,
        domains: &[String],
        reason: &str,
    ) -> Result<(), StoreError> {
        if !matches!(caller, Caller::Operator { .. }) {
            return Err(forbidden("data suppliers are admitted by the platform's operator"));
        }
        self.store.provider(provider).await?.ok_or_else(|| err(ErrorCode::ProviderNotFound, format!("no provider {provider}")))?;
        if let Some(d) = domains.iter().find(|d| cat::domain(d).is_none()) {
            return Err(err(ErrorCode::InvalidDataSet, format!("'{}' is not a domain", d.chars().take(64).collect::<String>())));
        }
        if status == SupplierStatus::Admitted && domains.is_empty() {
            return Err(err(ErrorCode::InvalidDataSet, "a supplier is admitted for at least one domain"));
        }
        let len = reason.trim().chars().count();
        if !(2..=500).contains(&len) {
            return Err(err(ErrorCode::InvalidDataSet, "give the reason for the decision in 2 to 500 characters"));
        }
        Ok(())
    }

    /// Every admitted or suspended supplier (public: consumers see whom they buy from).
    pub async fn suppliers(&self) -> Result<Vec<Supplier>, StoreError> {
        self.store.data_suppliers().await
    }

    // ----- the catalogue -----

    /// An admitted supplier lists a data set in one of its domains. It can be requested once its content is uploaded.
    pub async fn register(&self, caller: &Caller, spec: DataSetSpec) -> Result<DataSet, StoreError> {
        let Caller::Provider { provider, .. } = caller else {
            return Err(forbidden("data sets are registered by their suppliers"));
        };
        spec.validate()?;
        let supplier = self.store.data_supplier(provider).await?;
        if !supplier.as_ref().is_some_and(|s| s.may_supply(&spec.domain)) {
            return Err(err(
                ErrorCode::SupplierNotAdmitted,
                format!("provider {provider} is not an admitted data supplier for the domain '{}'", spec.domain),
            ));
        }
        if self.store.data_set(&spec.name).await?.is_some() {
            return Err(err(ErrorCode::DataSetExists, format!("a data set named '{}' is already registered", spec.name)));
        }
        let (t, e) = self.ids.parts();
        let d = DataSet {
            id: DataSetId::generate(t, e),
            supplier_id: provider.clone(),
            spec,
            format: None,
            columns: Vec::new(),
            preview: None,
            rows: 0,
            content_sha256: None,
            content_bytes: 0,
            created_ms: t,
            updated_ms: t,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_data_set(&d).await?;
        tx.audit(&self.audit(
            caller,
            "data_set.register",
            d.id.as_str(),
            serde_json::json!({"name": d.spec.name, "domain": d.spec.domain, "grade": d.spec.grade, "mode": d.spec.mode, "price": d.spec.price.to_yuan_string()}),
        ))
        .await?;
        tx.commit().await?;
        Ok(d)
    }

    async fn find_set(&self, id_or_name: &str) -> Result<DataSet, StoreError> {
        self.store
            .data_set(id_or_name)
            .await?
            .ok_or_else(|| err(ErrorCode::DataSetNotFound, format!("no data set '{}'", id_or_name.chars().take(64).collect::<String>())))
    }

    /// The supplier uploads (or replaces) a set's content: read whole, refused if any row is
    /// malformed, kept as UTF-8; its columns are tagged from a sample and a de-identified
    /// preview is made under the set's own policy.
    pub async fn upload(
        &self,
        caller: &Caller,
        id: &str,
        bytes: Vec<u8>,
        format: Format,
        encoding: Encoding,
    ) -> Result<DataSet, StoreError> {
        let mut d = self.find_set(id).await?;
        match caller {
            Caller::Provider { provider, .. } if *provider == d.supplier_id => {}
            _ => return Err(forbidden("a data set's content is uploaded by its supplier")),
        }
        let key = self.preview_key(&d.id);
        let spec = d.spec.clone();
        let policy = self.policy(spec.grade, spec.mode).await.ok();
        let (content, columns, preview) = tokio::task::spawn_blocking(move || -> Result<_, Error> {
            let content = cat::read_upload(&bytes, format, encoding, Limits::default())?;
            if let Some(q) = spec.quasi.iter().find(|q| !content.columns.contains(q)) {
                return Err(Error::new(ErrorCode::InvalidDataSet, format!("the quasi-identifier '{q}' is not a column of the content")));
            }
            let columns: Vec<Column> = cat::profile(&content.bytes, format, &content.columns).iter().map(Column::from).collect();
            let preview = match policy {
                Some(policy) => {
                    let head = cat::project(&content.bytes, format, &content.columns, Some(PREVIEW_ROWS))?;
                    let (out, _) = run_policy(&head, format, policy, Some(key), &[])?;
                    Some(String::from_utf8_lossy(&out).into_owned())
                }
                None => None,
            };
            Ok((content, columns, preview))
        })
        .await
        .map_err(|e| err(ErrorCode::Internal, e.to_string()))??;
        d.format = Some(cat::format_name(format).to_string());
        d.columns = columns;
        d.preview = preview;
        d.rows = content.rows;
        d.content_sha256 = Some(sha256_hex(&content.bytes));
        d.content_bytes = content.bytes.len() as u64;
        d.updated_ms = self.ids.now_ms();
        let mut tx = self.store.begin().await?;
        tx.set_data_content(&d, &content.bytes).await?;
        tx.audit(&self.audit(
            caller,
            "data_set.upload",
            d.id.as_str(),
            serde_json::json!({"rows": d.rows, "bytes": d.content_bytes, "sha256": d.content_sha256, "columns": d.columns.iter().map(|c| (&c.name, c.kind)).collect::<Vec<_>>()}),
        ))
        .await?;
        tx.commit().await?;
        Ok(d)
    }

    fn preview_key(&self, set: &DataSetId) -> PseudonymKey {
        cat::consumer_key(&self.secret, &format!("preview:{set}"))
    }

    /// The catalogue (every role browses it).
    pub async fn catalogue(&self) -> Result<Vec<DataSet>, StoreError> {
        self.store.data_sets().await
    }

    pub async fn data_set(&self, id_or_name: &str) -> Result<DataSet, StoreError> {
        self.find_set(id_or_name).await
    }

    // ----- policies -----

    /// The policy deliveries of a grade and opening use: the operator's, else the built-in one.
    pub async fn policy(&self, grade: suanli_data::Grade, mode: suanli_data::OpeningMode) -> Result<Policy, StoreError> {
        let builtin = Policy::for_grade(grade, mode).map_err(|e| err(ErrorCode::NotDeliverable, e.to_string()))?;
        match self.store.meta(&policy_key(grade, mode)).await? {
            Some(text) => {
                serde_json::from_str(&text).map_err(|_| StoreError::Corrupt(format!("the stored policy {}", policy_key(grade, mode))))
            }
            None => Ok(builtin),
        }
    }

    /// Every deliverable grade and opening with its policy, and whether the operator configured it.
    pub async fn policies(&self) -> Result<Vec<(Policy, bool)>, StoreError> {
        use suanli_data::{Grade, OpeningMode};
        let mut out = Vec::new();
        for grade in [
            Grade::Important,
            Grade::General { level: 1 },
            Grade::General { level: 2 },
            Grade::General { level: 3 },
            Grade::General { level: 4 },
        ] {
            for mode in [OpeningMode::Conditional, OpeningMode::Unconditional] {
                if Policy::for_grade(grade, mode).is_ok() {
                    let configured = self.store.meta(&policy_key(grade, mode)).await?.is_some();
                    out.push((self.policy(grade, mode).await?, configured));
                }
            }
        }
        Ok(out)
    }

    /// The operator configures a grade's (e.g. a general sub-level's) policy for an opening; it
    /// may not keep a person's identifier, nor pseudonymise without a consumer (unconditional).
    /// Deliveries and previews made from now on use it.
    pub async fn set_policy(&self, caller: &Caller, policy: Policy) -> Result<Policy, StoreError> {
        if !matches!(caller, Caller::Operator { .. }) {
            return Err(forbidden("de-identification policies are configured by the platform's operator"));
        }
        policy
            .validate(policy.mode == suanli_data::OpeningMode::Conditional)
            .map_err(|e| err(ErrorCode::InvalidDataPolicy, format!("{e} ({})", e.code())))?;
        let key = policy_key(policy.grade, policy.mode);
        let text = serde_json::to_string(&policy).map_err(|e| err(ErrorCode::Internal, e.to_string()))?;
        let mut tx = self.store.begin().await?;
        tx.set_meta(&key, &text).await?;
        tx.audit(&self.audit(caller, "data_policy.set", &key, serde_json::to_value(&policy).unwrap_or_default())).await?;
        tx.commit().await?;
        Ok(policy)
    }

    // ----- requests -----

    /// A consumer asks for a data set's fields for a purpose and period; the fee is held now.
    /// Data opened unconditionally is delivered (and paid) at once.
    pub async fn request(&self, caller: &Caller, set: &str, spec: RequestSpec) -> Result<(DataRequest, Option<Delivery>), StoreError> {
        let Caller::Tenant { tenant, .. } = caller else { return Err(forbidden("data sets are requested by enterprises (tenants)")) };
        let d = self.find_set(set).await?;
        d.spec.requestable()?;
        if d.rows == 0 {
            return Err(err(ErrorCode::NotDeliverable, "the supplier has not uploaded this data set's content yet"));
        }
        self.supplier_may_deliver(&d).await?;
        let now = self.ids.now_ms();
        spec.validate(&d.column_names(), now)?;
        let (programme, voucher_fen, cash_fen) = self.split_fee(tenant.as_str(), d.spec.price).await?;
        let (t, e) = self.ids.parts();
        let mut r = DataRequest {
            id: DataRequestId::generate(t, e),
            data_set_id: d.id.clone(),
            tenant_id: tenant.clone(),
            supplier_id: d.supplier_id.clone(),
            spec,
            state: cat::first_state(d.spec.mode),
            fee: d.spec.price,
            voucher: voucher_fen,
            cash: cash_fen,
            programme_id: programme.clone(),
            decisions: Vec::new(),
            created_ms: now,
            expires_ms: now + REQUEST_WINDOW_MS,
            updated_ms: now,
        };
        let audit = self.audit(
            caller,
            "data_request.create",
            r.id.as_str(),
            serde_json::json!({"data_set": d.id, "fields": r.spec.fields, "purpose": r.spec.purpose, "fee": r.fee.to_yuan_string()}),
        );
        if r.state == RequestState::Delivered {
            r.decisions.push(Decision {
                step: "open".into(),
                by: "policy:unconditional".into(),
                approve: true,
                reason: "opened unconditionally (无条件开放)".into(),
                at_ms: now,
            });
            let (delivery, body) = self.make_delivery(&d, &r).await?;
            let effects = vec![Effect::InsertDataRequest(Box::new(r.clone())), self.delivery_effect(caller, &delivery, body)];
            let (transfers, accounts) = (self.pay_at_once(&r), self.accounts(&r, now));
            self.ledger
                .submit_all(LedgerRequest { accounts, transfers, linked: true, effects, audit: Some(audit), ..LedgerRequest::default() })
                .await
                .map_err(insufficient)?;
            return Ok((r, Some(delivery)));
        }
        let transfers = self.holds(&r);
        let accounts = self.accounts(&r, now);
        self.ledger
            .submit_all(LedgerRequest {
                accounts,
                transfers,
                linked: true,
                effects: vec![Effect::InsertDataRequest(Box::new(r.clone()))],
                audit: Some(audit),
                ..LedgerRequest::default()
            })
            .await
            .map_err(insufficient)?;
        Ok((r, None))
    }

    async fn supplier_may_deliver(&self, d: &DataSet) -> Result<(), StoreError> {
        let s = self.store.data_supplier(&d.supplier_id).await?;
        if !s.is_some_and(|s| s.may_supply(&d.spec.domain)) {
            return Err(err(ErrorCode::SupplierNotAdmitted, "the data set's supplier is suspended or no longer admitted for its domain"));
        }
        Ok(())
    }

    /// Whether `caller` may take this decision on the request now, and what it would do: what
    /// [`DataSharing::decide`] checks first, for a page that asks before deciding.
    pub async fn check_decision(&self, caller: &Caller, id: &str, approve: bool, reason: &str) -> Result<DecisionCheck, StoreError> {
        let id = DataRequestId::parse(id)?;
        let r = self.store.data_request(&id).await?.ok_or_else(|| err(ErrorCode::DataRequestNotFound, format!("no data request {id}")))?;
        let who = match caller {
            Caller::Provider { provider, .. } if *provider == r.supplier_id => Decider::Supplier,
            Caller::Operator { .. } => Decider::Operator,
            Caller::Tenant { tenant, .. } if *tenant == r.tenant_id => {
                return Err(forbidden("a request is decided by the supplier and the operator"));
            }
            _ => return Err(err(ErrorCode::DataRequestNotFound, format!("no data request {id}"))),
        };
        let len = reason.trim().chars().count();
        if !(2..=500).contains(&len) {
            return Err(err(ErrorCode::InvalidDataRequest, "give the reason for the decision in 2 to 500 characters"));
        }
        let now = self.ids.now_ms();
        let from = r.state_at(now);
        if from == RequestState::Expired {
            return Err(err(ErrorCode::DataRequestDecided, format!("request {id} expired undecided; its hold was released")));
        }
        let set = self.find_set(r.data_set_id.as_str()).await?;
        let next = cat::decide(from, set.spec.grade, who, approve)?;
        Ok(DecisionCheck { request: r, set, from, next, now })
    }

    /// The supplier (then, for important data, the operator) approves or rejects a request.
    /// Approval delivers at once: the extract is made, the holds are posted, the supplier paid.
    pub async fn decide(
        &self,
        caller: &Caller,
        id: &str,
        approve: bool,
        reason: String,
    ) -> Result<(DataRequest, Option<Delivery>), StoreError> {
        let _one = self.decide.lock().await;
        let DecisionCheck { request: r, set: d, from: state, next, now } = self.check_decision(caller, id, approve, &reason).await?;
        let id = r.id.clone();
        let who = if matches!(caller, Caller::Operator { .. }) { Decider::Operator } else { Decider::Supplier };
        let mut updated = r.clone();
        updated.state = next;
        updated.updated_ms = now;
        updated.decisions.push(Decision {
            step: if who == Decider::Supplier { "supplier" } else { "operator" }.into(),
            by: caller.actor(),
            approve,
            reason: reason.trim().to_string(),
            at_ms: now,
        });
        let audit = self.audit(
            caller,
            &format!("data_request.{}", if approve { "approve" } else { "reject" }),
            id.as_str(),
            serde_json::json!({"state": next.as_str(), "reason": reason.trim()}),
        );
        let mut effects = vec![Effect::UpdateDataRequest { request: Box::new(updated.clone()), from: state }];
        let holds = self.holds(&r);
        let (transfers, delivery) = match next {
            RequestState::Rejected => {
                (holds.iter().map(|h| Transfer::void(TransferId::derive("data-void", &h.id.to_hex()), h, now)).collect(), None)
            }
            RequestState::Delivered => {
                self.supplier_may_deliver(&d).await?;
                let (delivery, body) = self.make_delivery(&d, &updated).await?;
                let mut t: Vec<Transfer> =
                    holds.iter().map(|h| Transfer::post(TransferId::derive("data-post", &h.id.to_hex()), h, None, now)).collect();
                t.extend(self.pay_supplier(&r, now));
                effects.push(self.delivery_effect(caller, &delivery, body));
                (t, Some(delivery))
            }
            _ => (Vec::new(), None),
        };
        let accounts = self.accounts(&r, now);
        self.ledger
            .submit_all(LedgerRequest { accounts, transfers, linked: true, effects, audit: Some(audit), ..LedgerRequest::default() })
            .await
            .map_err(|e| match e.code {
                ErrorCode::PendingExpired => {
                    err(ErrorCode::DataRequestDecided, format!("request {id} expired undecided; its hold was released"))
                }
                _ => e.into(),
            })?;
        Ok((updated, delivery))
    }

    /// Requests the caller may see: a tenant its own, a supplier those for its sets, the
    /// operator and regulator all. States are as of now (undecided past the window: expired).
    pub async fn requests(&self, caller: &Caller, limit: u32) -> Result<Vec<DataRequest>, StoreError> {
        let now = self.ids.now_ms();
        let Some(filter) = scope(caller) else { return Ok(Vec::new()) };
        let mut out = self.store.data_requests(&filter, limit).await?;
        out.iter_mut().for_each(|r| r.state = r.state_at(now));
        Ok(out)
    }

    pub async fn request_by_id(&self, caller: &Caller, id: &str) -> Result<DataRequest, StoreError> {
        let id = DataRequestId::parse(id)?;
        let not_found = || err(ErrorCode::DataRequestNotFound, format!("no data request {id}"));
        let mut r = self.store.data_request(&id).await?.ok_or_else(not_found)?;
        if !visible(caller, &r.tenant_id, &r.supplier_id) {
            return Err(not_found());
        }
        r.state = r.state_at(self.ids.now_ms());
        Ok(r)
    }

    // ----- the ranking -----

    /// Suppliers by data-service volume (delivery fees) in a year (China Standard Time), the
    /// top five marked (数据服务交易额前五).
    pub async fn ranking(&self, year: i32) -> Result<Vec<RankRow>, StoreError> {
        supplier_ranking(&self.store, year).await
    }
}

/// The year's ranking of suppliers by data-service volume: the data service shows it, and the
/// incentive programmes read a supplier's rank from it.
pub async fn supplier_ranking(store: &Store, year: i32) -> Result<Vec<RankRow>, StoreError> {
    if !(2000..=2100).contains(&year) {
        return Err(err(ErrorCode::InvalidDate, format!("{year} is not a year the platform keeps")));
    }
    let (from, to) = year_bounds(year);
    let names: std::collections::HashMap<String, String> =
        store.providers().await?.into_iter().map(|p| (p.id.to_string(), p.name)).collect();
    Ok(store
        .data_volumes(from, to)
        .await?
        .into_iter()
        .enumerate()
        .map(|(i, v)| RankRow {
            rank: i + 1,
            name: names.get(v.supplier_id.as_str()).cloned().unwrap_or_default(),
            supplier_id: v.supplier_id,
            deliveries: v.deliveries,
            volume: v.volume,
            top: i < TOP_SUPPLIERS && v.volume.is_positive(),
        })
        .collect())
}

fn policy_key(grade: suanli_data::Grade, mode: suanli_data::OpeningMode) -> String {
    let mode = match mode {
        suanli_data::OpeningMode::Unconditional => "unconditional",
        suanli_data::OpeningMode::Conditional => "conditional",
        suanli_data::OpeningMode::NotOpen => "not-open",
    };
    format!("data.policy.{}.{mode}", grade.label())
}

/// What the caller may list; `None` for an expert, who sees no data sharing.
fn scope(caller: &Caller) -> Option<DataFilter> {
    match caller {
        Caller::Tenant { tenant, .. } => Some(DataFilter { tenant: Some(tenant.clone()), ..DataFilter::default() }),
        Caller::Provider { provider, .. } => Some(DataFilter { supplier: Some(provider.clone()), ..DataFilter::default() }),
        Caller::Operator { .. } | Caller::Regulator { .. } => Some(DataFilter::default()),
        Caller::Expert { .. } => None,
    }
}

fn visible(caller: &Caller, tenant: &suanli_core::id::TenantId, supplier: &ProviderId) -> bool {
    match caller {
        Caller::Operator { .. } | Caller::Regulator { .. } => true,
        Caller::Tenant { tenant: t, .. } => t == tenant,
        Caller::Provider { provider, .. } => provider == supplier,
        Caller::Expert { .. } => false,
    }
}
