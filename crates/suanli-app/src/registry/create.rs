//! The registry's new entries: providers, centres, pools, tenants and users, each validated whole by the one rule every edge (API, web forms, CLI through the API) goes through, stored with its audit record in one commit.

use super::{RegistrationChange, Registry};
use crate::caller::Caller;
use suanli_core::centre::{Centre, CentreKind, NewCentre, NewPool, PartnerStatus, Pool, Provider, check_name};
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{AuditId, CentreId, PoolId, ProviderId, TenantId, UserId};
use suanli_core::ident::Uscc;
use suanli_core::money::Fen;
use suanli_core::tenant::{NewTenant, Role, Tenant};
use suanli_core::time::parse_date;
use suanli_store::{Audit, NewUser, StoreError};

/// A new compute provider: its names and, when known, its enterprise registration (credit code
/// and district together; `sme` only with them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderSpec {
    pub name: String,
    pub name_en: String,
    pub uscc: Option<String>,
    pub region: Option<String>,
    pub sme: bool,
}

/// A new compute centre. `provider_id` is the operator's to name; a provider registers only
/// its own, as an applicant.
#[derive(Debug, Clone, PartialEq)]
pub struct CentreSpec {
    pub provider_id: Option<String>,
    pub name: String,
    pub name_en: String,
    pub kind: CentreKind,
    pub region: String,
    pub partner_status: Option<PartnerStatus>,
    /// `YYYY-MM-DD`.
    pub commissioned: String,
    pub declared_pue: f64,
    pub racks: u32,
    pub rtt_ms: std::collections::BTreeMap<String, u32>,
}

/// A new pool of one accelerator model in a centre; the price in yuan per accelerator-hour as
/// the user wrote it (`"12.50"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSpec {
    pub accelerator: String,
    pub nodes: u32,
    pub accelerators_per_node: u32,
    pub price_per_hour: String,
    pub partner_discount_pct: u8,
}

/// A new tenant enterprise (an SME or lab that buys compute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSpec {
    pub name: String,
    pub name_en: String,
    pub uscc: String,
    pub sme: bool,
    pub region: String,
}

/// A new user: a tenant user names its tenant, a provider user its provider, nobody else either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    pub name: String,
    pub role: Role,
    pub tenant_id: Option<String>,
    pub provider_id: Option<String>,
}

/// A user as created, with the API token it signs in with, shown this once.
#[derive(Debug, Clone)]
pub struct CreatedUser {
    pub user: NewUser,
    pub token: String,
}

fn operator_only(caller: &Caller, what: &str) -> Result<(), Error> {
    match caller {
        Caller::Operator { .. } => Ok(()),
        _ => Err(Error::new(ErrorCode::Forbidden, format!("{what} are registered by the operator"))),
    }
}

impl Registry {
    fn audit(&self, caller: &Caller, action: &str, subject: &str, detail: serde_json::Value) -> Audit {
        let (t, e) = self.ids.parts();
        Audit { id: AuditId::generate(t, e), at_ms: t, actor: caller.actor(), action: action.into(), subject: subject.into(), detail }
    }

    /// A provider as `spec` describes it, checked whole, with a new id (nothing is stored).
    pub fn provider_of(&self, spec: &ProviderSpec) -> Result<Provider, Error> {
        check_name("name", &spec.name)?;
        let registration = match (&spec.uscc, &spec.region) {
            (None, None) => None,
            (Some(_), Some(_)) => Some(
                RegistrationChange { uscc: spec.uscc.clone(), region: spec.region.clone(), sme: Some(spec.sme) }
                    .apply(None, &self.regions)?,
            ),
            _ => {
                return Err(Error::new(
                    ErrorCode::InvalidBody,
                    "a provider's registration needs both its credit code (uscc) and its district (region)",
                ));
            }
        };
        let (t, e) = self.ids.parts();
        Ok(Provider { id: ProviderId::generate(t, e), name: spec.name.trim().into(), name_en: spec.name_en.trim().into(), registration })
    }

    /// The operator registers a compute provider.
    pub async fn create_provider(&self, caller: &Caller, spec: &ProviderSpec) -> Result<Provider, StoreError> {
        operator_only(caller, "providers")?;
        let p = self.provider_of(spec)?;
        let mut tx = self.store.begin().await?;
        tx.insert_provider(&p, self.ids.now_ms()).await?;
        tx.audit(&self.audit(caller, "provider.create", p.id.as_str(), serde_json::json!({"name": p.name}))).await?;
        tx.commit().await?;
        Ok(p)
    }

    /// A centre of `provider` as `spec` describes it (its `provider_id` and who asks are the
    /// caller's to settle), checked whole, with a new id (nothing is stored).
    pub fn centre_of(&self, provider_id: ProviderId, spec: &CentreSpec) -> Result<Centre, Error> {
        let new = NewCentre {
            provider_id,
            name: spec.name.trim().into(),
            name_en: spec.name_en.trim().into(),
            kind: spec.kind,
            region: spec.region.clone(),
            partner_status: spec.partner_status.unwrap_or(PartnerStatus::Applicant),
            commissioned_ms: parse_date(&spec.commissioned)?,
            declared_pue: spec.declared_pue,
            racks: spec.racks,
            rtt_ms: spec.rtt_ms.clone(),
        };
        new.validate(&self.regions)?;
        let (t, e) = self.ids.parts();
        let centre = Centre {
            id: CentreId::generate(t, e),
            provider_id: new.provider_id,
            name: new.name,
            name_en: new.name_en,
            kind: new.kind,
            region: new.region,
            partner_status: new.partner_status,
            commissioned_ms: new.commissioned_ms,
            declared_pue: new.declared_pue,
            racks: new.racks,
            rtt_ms: new.rtt_ms,
            created_ms: t,
        };
        Ok(centre)
    }

    /// The operator registers a centre for a provider (as a partner or an applicant); a
    /// provider registers its own, always as an applicant that the operator admits later.
    pub async fn create_centre(&self, caller: &Caller, spec: &CentreSpec) -> Result<Centre, StoreError> {
        let named = spec.provider_id.as_deref().map(ProviderId::parse).transpose()?;
        let provider_id = match caller {
            Caller::Provider { provider, .. } => {
                if named.as_ref().is_some_and(|p| p != provider) {
                    return Err(Error::new(ErrorCode::Forbidden, "a provider registers centres only for itself").into());
                }
                if spec.partner_status.is_some_and(|p| p != PartnerStatus::Applicant) {
                    return Err(Error::new(
                        ErrorCode::Forbidden,
                        "only the operator admits partners; a provider's new centre is an applicant",
                    )
                    .into());
                }
                provider.clone()
            }
            Caller::Operator { .. } => {
                named.ok_or_else(|| Error::new(ErrorCode::InvalidBody, "provider_id is required when the operator registers a centre"))?
            }
            _ => return Err(Error::new(ErrorCode::Forbidden, "centres are registered by their provider or the operator").into()),
        };
        if self.store.provider(&provider_id).await?.is_none() {
            return Err(Error::new(ErrorCode::UnknownProvider, format!("no provider {provider_id}")).into());
        }
        let centre = self.centre_of(provider_id, spec)?;
        let detail = serde_json::json!({"name": centre.name, "region": centre.region, "partner_status": centre.partner_status});
        let mut tx = self.store.begin().await?;
        tx.insert_centre(&centre, &caller.actor()).await?;
        tx.audit(&self.audit(caller, "centre.create", centre.id.as_str(), detail)).await?;
        tx.commit().await?;
        Ok(centre)
    }

    /// A pool of `centre` as `spec` describes it, checked whole (a known accelerator model, a
    /// price to the fen), with a new id (nothing is stored).
    pub fn pool_of(&self, centre: &CentreId, spec: &PoolSpec) -> Result<Pool, Error> {
        let new = NewPool {
            accelerator: spec.accelerator.clone(),
            nodes: spec.nodes,
            accelerators_per_node: spec.accelerators_per_node,
            price_per_hour: Fen::parse_yuan(&spec.price_per_hour)?,
            partner_discount_pct: spec.partner_discount_pct,
        };
        new.validate(&self.catalogue)?;
        let (t, e) = self.ids.parts();
        let pool = Pool {
            id: PoolId::generate(t, e),
            centre_id: centre.clone(),
            accelerator: new.accelerator,
            nodes: new.nodes,
            accelerators_per_node: new.accelerators_per_node,
            price_per_hour: new.price_per_hour,
            partner_discount_pct: new.partner_discount_pct,
            created_ms: t,
        };
        Ok(pool)
    }

    /// The operator, or the provider whose centre it is, adds a pool to a centre.
    pub async fn create_pool(&self, caller: &Caller, centre: &CentreId, spec: &PoolSpec) -> Result<Pool, StoreError> {
        let c = self.store.centre(centre).await?.ok_or_else(|| Error::new(ErrorCode::CentreNotFound, format!("no centre {centre}")))?;
        match caller {
            Caller::Operator { .. } => {}
            Caller::Provider { provider, .. } if *provider == c.provider_id => {}
            Caller::Provider { .. } => return Err(Error::new(ErrorCode::Forbidden, "a provider adds pools only to its own centres").into()),
            _ => return Err(Error::new(ErrorCode::Forbidden, "pools are added by their centre's provider or the operator").into()),
        }
        let pool = self.pool_of(&c.id, spec)?;
        let detail = serde_json::json!({"centre": c.id, "accelerator": pool.accelerator, "capacity": pool.capacity()});
        let mut tx = self.store.begin().await?;
        tx.insert_pool(&pool).await?;
        tx.audit(&self.audit(caller, "pool.create", pool.id.as_str(), detail)).await?;
        tx.commit().await?;
        Ok(pool)
    }

    /// A tenant as `spec` describes it, checked whole (the credit code's check character, a
    /// known district), with a new id (nothing is stored).
    pub fn tenant_of(&self, spec: &TenantSpec) -> Result<Tenant, Error> {
        let new = NewTenant {
            name: spec.name.trim().into(),
            name_en: spec.name_en.trim().into(),
            uscc: Uscc::parse(&spec.uscc)?,
            sme: spec.sme,
            region: spec.region.clone(),
        };
        new.validate(&self.regions)?;
        let (t, e) = self.ids.parts();
        let tenant = Tenant {
            id: TenantId::generate(t, e),
            name: new.name,
            name_en: new.name_en,
            uscc: new.uscc,
            sme: new.sme,
            region: new.region,
            created_ms: t,
        };
        Ok(tenant)
    }

    /// The operator registers a tenant enterprise.
    pub async fn create_tenant(&self, caller: &Caller, spec: &TenantSpec) -> Result<Tenant, StoreError> {
        operator_only(caller, "tenants")?;
        let tenant = self.tenant_of(spec)?;
        let detail = serde_json::json!({"name": tenant.name, "uscc": tenant.uscc});
        let mut tx = self.store.begin().await?;
        tx.insert_tenant(&tenant).await?;
        tx.audit(&self.audit(caller, "tenant.create", tenant.id.as_str(), detail)).await?;
        tx.commit().await?;
        Ok(tenant)
    }

    /// The operator creates a user with a new API token (answered this once, stored hashed).
    /// Experts are not created here: they join the review pool with their employer's credit code.
    pub async fn create_user(&self, caller: &Caller, spec: &UserSpec) -> Result<CreatedUser, StoreError> {
        operator_only(caller, "users")?;
        check_name("name", &spec.name)?;
        let tenant_id = spec.tenant_id.as_deref().map(TenantId::parse).transpose()?;
        let provider_id = spec.provider_id.as_deref().map(ProviderId::parse).transpose()?;
        match spec.role {
            Role::Tenant => {
                let t = tenant_id.as_ref().ok_or_else(|| Error::new(ErrorCode::InvalidBody, "a tenant user needs tenant_id"))?;
                self.store.tenant(t).await?.ok_or_else(|| Error::new(ErrorCode::TenantNotFound, format!("no tenant {t}")))?;
            }
            Role::Provider => {
                let p = provider_id.as_ref().ok_or_else(|| Error::new(ErrorCode::InvalidBody, "a provider user needs provider_id"))?;
                self.store.provider(p).await?.ok_or_else(|| Error::new(ErrorCode::UnknownProvider, format!("no provider {p}")))?;
            }
            Role::Operator | Role::Regulator => {}
            Role::Expert => {
                return Err(Error::new(
                    ErrorCode::InvalidBody,
                    "experts join the review pool with their employer's credit code: POST /api/v1/incentives/experts",
                )
                .into());
            }
        }
        if (spec.role != Role::Tenant && tenant_id.is_some()) || (spec.role != Role::Provider && provider_id.is_some()) {
            return Err(
                Error::new(ErrorCode::InvalidBody, "tenant_id goes only with role tenant, provider_id only with role provider").into()
            );
        }
        let (t, e) = self.ids.parts();
        let token = crate::tokens::new_token(&self.ids);
        let user = NewUser {
            id: UserId::generate(t, e),
            name: spec.name.trim().into(),
            role: spec.role,
            tenant_id,
            provider_id,
            token_sha256_hex: crate::tokens::token_hash(&token),
            created_ms: t,
        };
        let detail = serde_json::json!({"name": user.name, "role": user.role});
        let mut tx = self.store.begin().await?;
        tx.insert_user(&user).await?;
        tx.audit(&self.audit(caller, "user.create", user.id.as_str(), detail)).await?;
        tx.commit().await?;
        Ok(CreatedUser { user, token })
    }
}
