//! Models as a service: who may register models and deployments, make and revoke keys, read usage and explain a call. The API, the web UI, the CLI and the demo all call these.

use crate::caller::Caller;
use serde::Serialize;
use std::sync::Arc;
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{AuditId, ModelKeyId, TenantId};
use suanli_core::model::{Deployment, DeploymentSpec, KeySpec, MAX_DEPLOYMENTS, MAX_KEY_BUDGET, Model, ModelCall, ModelKey, ModelSpec};
use suanli_core::money::Fen;
use suanli_core::region::Regions;
use suanli_dispatch::ids::Ids;
use suanli_gateway::{DeploymentHealth, Gateway};
use suanli_ledger::{ReasonCode, Transfer, TransferId, chart};
use suanli_store::models::{UsageFilter, UsageRow};
use suanli_store::{Audit, Effect, LedgerRequest, LedgerService, Store, StoreError, StoredAccount};

/// A model with its deployments, as a caller may see it: upstream URLs and keys only for the
/// model's provider and the operator.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogueEntry {
    pub model: Model,
    pub deployments: Vec<DeploymentView>,
}

/// A deployment as shown; `base_url` is hidden (None) from tenants and other providers.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentView {
    pub id: String,
    pub centre_id: String,
    pub region: String,
    pub price_input_per_m: Fen,
    pub price_output_per_m: Fen,
    pub weight: u32,
    pub max_concurrency: u32,
    pub base_url: Option<String>,
    pub upstream_model: Option<String>,
}

/// The model workflows.
#[derive(Clone)]
pub struct Models {
    store: Store,
    ledger: LedgerService,
    regions: Arc<Regions>,
    ids: Ids,
    gateway: Gateway,
}

impl std::fmt::Debug for Models {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Models")
    }
}

fn forbidden(why: &str) -> StoreError {
    Error::new(ErrorCode::Forbidden, why).into()
}

impl Models {
    pub fn new(store: Store, ledger: LedgerService, regions: Arc<Regions>, ids: Ids, gateway: Gateway) -> Models {
        Models { store, ledger, regions, ids, gateway }
    }

    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    fn audit(&self, caller: &Caller, action: &str, subject: &str, detail: serde_json::Value) -> Audit {
        let (t, e) = self.ids.parts();
        Audit { id: AuditId::generate(t, e), at_ms: t, actor: caller.actor(), action: action.into(), subject: subject.into(), detail }
    }

    /// A provider registers a model it offers.
    pub async fn register(&self, caller: &Caller, spec: ModelSpec) -> Result<Model, StoreError> {
        let Caller::Provider { provider, .. } = caller else {
            return Err(forbidden("models are registered by the providers that offer them"));
        };
        spec.validate()?;
        if self.store.model(&spec.name).await?.is_some() {
            return Err(Error::new(ErrorCode::ModelExists, format!("a model named '{}' is already registered", spec.name)).into());
        }
        let model = Model { name: spec.name.clone(), provider_id: provider.clone(), spec, created_ms: self.ids.now_ms() };
        let mut tx = self.store.begin().await?;
        tx.insert_model(&model).await?;
        tx.audit(&self.audit(
            caller,
            "model.register",
            &model.name,
            serde_json::json!({"kind": model.spec.kind, "domain": model.spec.domain}),
        ))
        .await?;
        tx.commit().await?;
        self.gateway.reload().await?;
        Ok(model)
    }

    async fn own_model(&self, caller: &Caller, name: &str) -> Result<Model, StoreError> {
        let model =
            self.store.model(name).await?.ok_or_else(|| Error::new(ErrorCode::ModelNotFound, format!("no model named '{name}'")))?;
        match caller {
            Caller::Operator { .. } => Ok(model),
            Caller::Provider { provider, .. } if *provider == model.provider_id => Ok(model),
            _ => Err(forbidden("only the model's provider (or the operator) may change its deployments")),
        }
    }

    /// The model's provider deploys it at one of its centres.
    pub async fn deploy(&self, caller: &Caller, model: &str, spec: DeploymentSpec) -> Result<Deployment, StoreError> {
        let m = self.own_model(caller, model).await?;
        spec.validate()?;
        let centre = self
            .store
            .centre(&spec.centre_id)
            .await?
            .ok_or_else(|| Error::new(ErrorCode::CentreNotFound, format!("no centre {}", spec.centre_id)))?;
        if centre.provider_id != m.provider_id {
            return Err(forbidden("a model is deployed at a centre of its own provider"));
        }
        let live = self.store.deployments().await?.into_iter().filter(|d| d.model == m.name).count();
        if live >= MAX_DEPLOYMENTS {
            return Err(Error::new(ErrorCode::InvalidModel, format!("a model has at most {MAX_DEPLOYMENTS} deployments")).into());
        }
        let n = self.store.deployment_count(&m.name).await? + 1;
        let d = Deployment { id: format!("{}#{n}", m.name), model: m.name.clone(), spec, created_ms: self.ids.now_ms() };
        let mut tx = self.store.begin().await?;
        tx.insert_deployment(&d).await?;
        tx.audit(&self.audit(
            caller,
            "model.deploy",
            &d.id,
            serde_json::json!({"centre": d.spec.centre_id, "price_input_per_m": d.spec.price_input_per_m.to_yuan_string(), "price_output_per_m": d.spec.price_output_per_m.to_yuan_string()}),
        ))
        .await?;
        tx.commit().await?;
        self.gateway.reload().await?;
        Ok(d)
    }

    /// Whether `caller` may take the deployment `model#n` out of service, and the deployment:
    /// what [`Models::undeploy`] checks first, for a page that asks before undeploying.
    pub async fn check_undeploy(&self, caller: &Caller, model: &str, deployment: &str) -> Result<Deployment, StoreError> {
        self.own_model(caller, model).await?;
        let not_live =
            || StoreError::from(Error::new(ErrorCode::NotFound, format!("model '{model}' has no live deployment '{deployment}'")));
        if !deployment.starts_with(&format!("{model}#")) {
            return Err(not_live());
        }
        self.store.deployments().await?.into_iter().find(|d| d.id == deployment).ok_or_else(not_live)
    }

    /// Takes a deployment out of service (calls in flight finish).
    pub async fn undeploy(&self, caller: &Caller, model: &str, deployment: &str) -> Result<(), StoreError> {
        self.check_undeploy(caller, model, deployment).await?;
        let mut tx = self.store.begin().await?;
        if !tx.remove_deployment(deployment, self.ids.now_ms()).await? {
            return Err(Error::new(ErrorCode::NotFound, format!("model '{model}' has no live deployment '{deployment}'")).into());
        }
        tx.audit(&self.audit(caller, "model.undeploy", deployment, serde_json::json!({}))).await?;
        tx.commit().await?;
        self.gateway.reload().await?;
        Ok(())
    }

    /// The catalogue: every model with its deployments (every role may browse it).
    pub async fn catalogue(&self, caller: &Caller) -> Result<Vec<CatalogueEntry>, StoreError> {
        let centres: std::collections::HashMap<String, String> =
            self.store.centres(None).await?.into_iter().map(|c| (c.id.to_string(), c.region)).collect();
        let deployments = self.store.deployments().await?;
        let models = self.store.models().await?;
        Ok(models
            .into_iter()
            .map(|m| {
                let insider = match caller {
                    Caller::Operator { .. } => true,
                    Caller::Provider { provider, .. } => *provider == m.provider_id,
                    _ => false,
                };
                let deployments = deployments
                    .iter()
                    .filter(|d| d.model == m.name)
                    .map(|d| DeploymentView {
                        id: d.id.clone(),
                        centre_id: d.spec.centre_id.to_string(),
                        region: centres.get(d.spec.centre_id.as_str()).cloned().unwrap_or_default(),
                        price_input_per_m: d.spec.price_input_per_m,
                        price_output_per_m: d.spec.price_output_per_m,
                        weight: d.spec.weight,
                        max_concurrency: d.spec.max_concurrency,
                        base_url: insider.then(|| d.spec.base_url.clone()),
                        upstream_model: insider.then(|| d.spec.upstream_model.clone()),
                    })
                    .collect();
                CatalogueEntry { model: m, deployments }
            })
            .collect())
    }

    /// Every deployment's health as the gateway sees it now (its last `GET /models` check,
    /// cooldown, calls in flight): a provider's own deployments, or all for the operator.
    pub fn health(&self, caller: &Caller) -> Result<Vec<DeploymentHealth>, StoreError> {
        let all = self.gateway.health();
        match caller {
            Caller::Operator { .. } => Ok(all),
            Caller::Provider { provider, .. } => Ok(all.into_iter().filter(|h| h.provider == provider.as_str()).collect()),
            _ => Err(forbidden("deployments' health is seen by their provider and the operator")),
        }
    }

    /// A tenant makes a key; the answer carries the secret, which is never shown again. The
    /// key's budget moves into its memo account in the same ledger commit as the key.
    pub async fn create_key(&self, caller: &Caller, spec: KeySpec) -> Result<(ModelKey, String), StoreError> {
        let Caller::Tenant { tenant, .. } = caller else { return Err(forbidden("model keys are made by tenants")) };
        self.create_key_for(caller, tenant, spec).await
    }

    /// Makes a key for a tenant (the demo's seeding calls this with the tenant's caller).
    async fn create_key_for(&self, caller: &Caller, tenant: &TenantId, spec: KeySpec) -> Result<(ModelKey, String), StoreError> {
        let now = self.ids.now_ms();
        spec.validate(&self.regions, now)?;
        for m in spec.models.iter().chain(&spec.fallbacks) {
            if self.store.model(m).await?.is_none() {
                return Err(Error::new(ErrorCode::ModelNotFound, format!("no model named '{m}'")).into());
            }
        }
        let secret = self.new_secret();
        let (t, e) = self.ids.parts();
        let key = ModelKey {
            id: ModelKeyId::generate(t, e).to_string(),
            tenant_id: tenant.clone(),
            prefix: secret.chars().take(12).collect(),
            secret_sha256: suanli_gateway::secret_hash(&secret),
            spec,
            created_ms: now,
            revoked_ms: None,
        };
        let audit = self.audit(
            caller,
            "model_key.create",
            &key.id,
            serde_json::json!({"tenant": tenant, "name": key.spec.name, "budget": key.spec.budget.to_yuan_string(), "models": key.spec.models, "regions": key.spec.regions}),
        );
        let funding = TransferId::derive("key-budget", &key.id);
        self.ledger.submit_all(fund_key(&key.id, funding, key.spec.budget, Effect::InsertModelKey(key.clone()), audit, now)).await?;
        self.gateway.reload().await?;
        Ok((key, secret))
    }

    /// The demo's seeding: a key for a tenant, made as the system.
    pub async fn create_key_as_system(&self, tenant: &TenantId, spec: KeySpec) -> Result<(ModelKey, String), StoreError> {
        let caller = Caller::Operator { user: suanli_core::id::UserId::generate(0, 0) };
        self.create_key_for(&caller, tenant, spec).await
    }

    /// Keys a caller may see: a tenant its own, the operator all. With what each has left.
    pub async fn keys(&self, caller: &Caller) -> Result<Vec<(ModelKey, Fen)>, StoreError> {
        self.ledger.barrier().await?;
        let keys = match caller {
            Caller::Tenant { tenant, .. } => self.store.model_keys(Some(tenant)).await?,
            Caller::Operator { .. } => self.store.model_keys(None).await?,
            _ => return Err(forbidden("model keys are seen by their tenant and the operator")),
        };
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            let left = self.store.ledger_account(chart::model_key_budget(&k.id).id).await?.map_or(Fen::ZERO, |a| a.account.available());
            out.push((k, left));
        }
        Ok(out)
    }

    /// Whether `caller` may revoke the key (its tenant or the operator; a live key), and the
    /// key: what [`Models::revoke_key`] checks first, for a page that asks before revoking.
    pub async fn check_revoke_key(&self, caller: &Caller, id: &str) -> Result<ModelKey, StoreError> {
        let key = self.store.model_key(id).await?.ok_or_else(|| Error::new(ErrorCode::ModelKeyNotFound, format!("no model key {id}")))?;
        match caller {
            Caller::Operator { .. } => {}
            Caller::Tenant { tenant, .. } if *tenant == key.tenant_id => {}
            Caller::Tenant { .. } => return Err(Error::new(ErrorCode::ModelKeyNotFound, format!("no model key {id}")).into()),
            _ => return Err(forbidden("a key is revoked by its tenant or the operator")),
        }
        if key.revoked_ms.is_some() {
            return Err(Error::new(ErrorCode::ModelKeyRevoked, format!("model key {id} is already revoked")).into());
        }
        Ok(key)
    }

    /// Revokes a key (its tenant or the operator); calls with it are refused from now on.
    pub async fn revoke_key(&self, caller: &Caller, id: &str) -> Result<(), StoreError> {
        self.check_revoke_key(caller, id).await?;
        let mut tx = self.store.begin().await?;
        if !tx.revoke_model_key(id, self.ids.now_ms()).await? {
            return Err(Error::new(ErrorCode::ModelKeyRevoked, format!("model key {id} is already revoked")).into());
        }
        tx.audit(&self.audit(caller, "model_key.revoke", id, serde_json::json!({}))).await?;
        tx.commit().await?;
        self.gateway.reload().await?;
        Ok(())
    }

    /// The caller's own live key: another tenant's is "not found", a revoked one refused.
    async fn own_live_key(&self, caller: &Caller, id: &str, what: &str) -> Result<ModelKey, StoreError> {
        let Caller::Tenant { tenant, .. } = caller else { return Err(forbidden(&format!("a key is {what} by its tenant"))) };
        let not_found = || StoreError::from(Error::new(ErrorCode::ModelKeyNotFound, format!("no model key {id}")));
        let key = self.store.model_key(id).await?.ok_or_else(not_found)?;
        if key.tenant_id != *tenant {
            return Err(not_found());
        }
        if key.revoked_ms.is_some() {
            return Err(Error::new(ErrorCode::ModelKeyRevoked, format!("model key {id} is revoked: it cannot be {what}")).into());
        }
        Ok(key)
    }

    /// Its tenant adds to a key's budget: the money moves into the key's memo account, as at
    /// creation, in the same ledger commit as the key's recorded budget. Answers the key and
    /// what its budget has left now.
    pub async fn top_up_key(&self, caller: &Caller, id: &str, amount: Fen) -> Result<(ModelKey, Fen), StoreError> {
        let (mut key, total) = self.check_top_up_key(caller, id, amount).await?;
        let now = self.ids.now_ms();
        let (t, e) = self.ids.parts();
        let topup = AuditId::generate(t, e);
        let audit = self.audit(
            caller,
            "model_key.top_up",
            &key.id,
            serde_json::json!({"amount": amount.to_yuan_string(), "budget": total.to_yuan_string()}),
        );
        let funding = TransferId::derive("key-topup", &format!("{}/{topup}", key.id));
        let effect = Effect::AddModelKeyBudget { id: key.id.clone(), amount };
        self.ledger.submit_all(fund_key(&key.id, funding, amount, effect, audit, now)).await?;
        key.spec.budget = total;
        let left = self.key_left(&key.id).await?;
        Ok((key, left))
    }

    /// Whether `caller` may add `amount` to the key's budget: the key and the budget it would
    /// have. What [`Models::top_up_key`] checks first, for a page that asks before topping up.
    pub async fn check_top_up_key(&self, caller: &Caller, id: &str, amount: Fen) -> Result<(ModelKey, Fen), StoreError> {
        if !amount.is_positive() {
            return Err(Error::new(ErrorCode::InvalidAmount, "a top-up must be positive").into());
        }
        let key = self.own_live_key(caller, id, "topped up").await?;
        let Some(total) = key.spec.budget.0.checked_add(amount.0).filter(|t| *t <= MAX_KEY_BUDGET.0) else {
            return Err(
                Error::new(ErrorCode::InvalidAmount, format!("a key's budget is at most {}", MAX_KEY_BUDGET.to_yuan_string())).into()
            );
        };
        Ok((key, Fen(total)))
    }

    /// Whether `caller` may rotate the key, and the key: what [`Models::rotate_key`] checks
    /// first, for a page that asks before rotating.
    pub async fn check_rotate_key(&self, caller: &Caller, id: &str) -> Result<ModelKey, StoreError> {
        self.own_live_key(caller, id, "rotated").await
    }

    /// What a key's budget has left (after calls and holds in flight).
    pub async fn key_left(&self, id: &str) -> Result<Fen, StoreError> {
        self.ledger.barrier().await?;
        Ok(self.store.ledger_account(chart::model_key_budget(id).id).await?.map_or(Fen::ZERO, |a| a.account.available()))
    }

    /// Its tenant gives a key a new secret, answered this once; the old secret is refused from
    /// now on. The key keeps its id, limits, budget and usage history.
    pub async fn rotate_key(&self, caller: &Caller, id: &str) -> Result<(ModelKey, String), StoreError> {
        let mut key = self.check_rotate_key(caller, id).await?;
        let secret = self.new_secret();
        key.prefix = secret.chars().take(12).collect();
        key.secret_sha256 = suanli_gateway::secret_hash(&secret);
        let mut tx = self.store.begin().await?;
        if !tx.rotate_model_key(&key.id, &key.secret_sha256, &key.prefix).await? {
            return Err(Error::new(ErrorCode::ModelKeyRevoked, format!("model key {id} is revoked: it cannot be rotated")).into());
        }
        tx.audit(&self.audit(caller, "model_key.rotate", &key.id, serde_json::json!({"prefix": key.prefix}))).await?;
        tx.commit().await?;
        self.gateway.reload().await?;
        Ok((key, secret))
    }

    fn new_secret(&self) -> String {
        let mut raw = [0u8; 24];
        self.ids.fill(&mut raw);
        format!("sk-sl-{}", hex::encode(raw))
    }

    /// Narrows a usage filter to what the caller may see.
    /// `None` for an expert, who sees no model usage.
    fn scope(&self, caller: &Caller, mut f: UsageFilter) -> Option<UsageFilter> {
        match caller {
            Caller::Tenant { tenant, .. } => f.tenant = Some(tenant.clone()),
            Caller::Provider { provider, .. } => f.provider = Some(provider.clone()),
            Caller::Operator { .. } | Caller::Regulator { .. } => {}
            Caller::Expert { .. } => return None,
        }
        Some(f)
    }

    /// Usage per day, key and model.
    pub async fn usage(&self, caller: &Caller, filter: UsageFilter) -> Result<Vec<UsageRow>, StoreError> {
        let Some(filter) = self.scope(caller, filter) else { return Ok(Vec::new()) };
        // Calls are charged when the ledger decides; this reads them once they are durable.
        self.ledger.barrier().await?;
        self.store.model_usage(&filter).await
    }

    /// The newest calls.
    pub async fn calls(&self, caller: &Caller, filter: UsageFilter, limit: u32) -> Result<Vec<ModelCall>, StoreError> {
        let Some(filter) = self.scope(caller, filter) else { return Ok(Vec::new()) };
        self.ledger.barrier().await?;
        self.store.model_calls(&filter, limit).await
    }

    /// One call with its route (`suanli models explain`): its tenant, the provider that served
    /// it, the operator and the regulator.
    pub async fn call(&self, caller: &Caller, id: &str) -> Result<ModelCall, StoreError> {
        self.ledger.barrier().await?;
        let not_found = || StoreError::from(Error::new(ErrorCode::NotFound, format!("no model call {id}")));
        let call = self.store.model_call(id).await?.ok_or_else(not_found)?;
        let visible = match caller {
            Caller::Operator { .. } | Caller::Regulator { .. } => true,
            Caller::Tenant { tenant, .. } => *tenant == call.tenant_id,
            Caller::Provider { provider, .. } => call.provider_id.as_ref() == Some(provider),
            Caller::Expert { .. } => false,
        };
        if !visible {
            return Err(not_found());
        }
        Ok(call)
    }
}

/// Moves `amount` from the platform's key-limits account into key `id`'s budget memo account,
/// with `effect` (the key itself, or its higher budget) in the same commit: a key made or
/// topped up.
fn fund_key(id: &str, transfer: TransferId, amount: Fen, effect: Effect, audit: Audit, now: suanli_core::time::UnixMs) -> LedgerRequest {
    let (budget, limits) = (chart::model_key_budget(id), chart::model_key_limits());
    LedgerRequest {
        accounts: vec![StoredAccount::of(&budget, now), StoredAccount::of(&limits, now)],
        transfers: vec![Transfer::single(transfer, limits.id, budget.id, amount, ReasonCode::KeyBudget, id, now)],
        linked: true,
        effects: vec![effect],
        audit: Some(audit),
        ..LedgerRequest::default()
    }
}
