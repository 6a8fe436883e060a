//! The city's registry: new providers, centres, pools, tenants and users (`create.rs`), and changes after creation: a compute provider's enterprise registration (credit code, district, SME flag) — what incentive programmes judge a provider on — corrected or completed by the operator, and a pool's price and partner discount set by the operator or the pool's provider; each validated whole before anything is written, and audited with what it was and what it became.

mod create;

pub use create::{CentreSpec, CreatedUser, PoolSpec, ProviderSpec, TenantSpec, UserSpec};

use crate::caller::Caller;
use std::sync::Arc;
use suanli_core::catalogue::Catalogue;
use suanli_core::centre::{Pool, Provider, Registration};
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{AuditId, PoolId, ProviderId};
use suanli_core::ident::Uscc;
use suanli_core::money::Fen;
use suanli_core::region::Regions;
use suanli_dispatch::ids::Ids;
use suanli_store::{Audit, Store, StoreError};

/// What the operator changes of a provider's registration; a field left out keeps its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrationChange {
    pub uscc: Option<String>,
    pub region: Option<String>,
    pub sme: Option<bool>,
}

impl RegistrationChange {
    /// The registration after the change: a provider registered for the first time needs both
    /// its credit code and its district; every field is checked (the GB 32100 check character,
    /// a known region).
    pub fn apply(&self, before: Option<&Registration>, regions: &Regions) -> Result<Registration, Error> {
        if *self == RegistrationChange::default() {
            return Err(Error::new(ErrorCode::InvalidBody, "change at least one of uscc, region and sme"));
        }
        let uscc = match (&self.uscc, before) {
            (Some(code), _) => Uscc::parse(code)?,
            (None, Some(b)) => b.uscc.clone(),
            (None, None) => return Err(first_time()),
        };
        let region = match (&self.region, before) {
            (Some(r), _) => r.trim().to_string(),
            (None, Some(b)) => b.region.clone(),
            (None, None) => return Err(first_time()),
        };
        let sme = self.sme.or(before.map(|b| b.sme)).unwrap_or(false);
        let r = Registration { uscc, region, sme };
        r.validate(regions)?;
        Ok(r)
    }
}

fn first_time() -> Error {
    Error::new(
        ErrorCode::InvalidBody,
        "a provider registered for the first time needs both its credit code (uscc) and its district (region)",
    )
}

/// Changes to the registry made after creation.
#[derive(Clone)]
pub struct Registry {
    store: Store,
    ids: Ids,
    regions: Arc<Regions>,
    /// The accelerator models a new pool may hold.
    catalogue: Arc<Catalogue>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Registry")
    }
}

impl Registry {
    pub fn new(store: Store, ids: Ids, regions: Arc<Regions>, catalogue: Arc<Catalogue>) -> Registry {
        Registry { store, ids, regions, catalogue }
    }

    /// The operator sets a provider's registration. Applications already made keep the facts
    /// they were judged on; later ones are judged on the new registration.
    pub async fn update_provider(&self, caller: &Caller, id: &ProviderId, change: &RegistrationChange) -> Result<Provider, StoreError> {
        if !matches!(caller, Caller::Operator { .. }) {
            return Err(Error::new(ErrorCode::Forbidden, "a provider's registration is the operator's to record").into());
        }
        let mut p = self.store.provider(id).await?.ok_or_else(|| Error::new(ErrorCode::ProviderNotFound, format!("no provider {id}")))?;
        let after = change.apply(p.registration.as_ref(), &self.regions)?;
        let (t, e) = self.ids.parts();
        let audit = Audit {
            id: AuditId::generate(t, e),
            at_ms: t,
            actor: caller.actor(),
            action: "provider.registration".into(),
            subject: id.to_string(),
            detail: serde_json::json!({"before": p.registration, "after": after}),
        };
        let mut tx = self.store.begin().await?;
        tx.set_provider_registration(id, &after).await?;
        tx.audit(&audit).await?;
        tx.commit().await?;
        p.registration = Some(after);
        Ok(p)
    }
}

impl Registry {
    /// Sets a pool's price per accelerator-hour and, when given, its partner discount (the
    /// operator, or the provider whose centre holds the pool). Placements from the next round
    /// and bills made from now on use the new price; a bill keeps the price it was charged at.
    pub async fn set_pool_price(
        &self,
        caller: &Caller,
        pool: &PoolId,
        price_per_hour: Fen,
        partner_discount_pct: Option<u8>,
    ) -> Result<Pool, StoreError> {
        let (_, discount) = self.check_pool_price(caller, pool, price_per_hour, partner_discount_pct).await?;
        let (t, e) = self.ids.parts();
        let mut tx = self.store.begin().await?;
        let before = tx.set_pool_price(pool, price_per_hour, discount).await?;
        tx.audit(&Audit {
            id: AuditId::generate(t, e),
            at_ms: t,
            actor: caller.actor(),
            action: "pool.price".into(),
            subject: pool.to_string(),
            detail: serde_json::json!({
                "centre": before.centre_id,
                "before": {"price_per_hour": before.price_per_hour.to_yuan_string(), "partner_discount_pct": before.partner_discount_pct},
                "after": {"price_per_hour": price_per_hour.to_yuan_string(), "partner_discount_pct": discount},
            }),
        })
        .await?;
        tx.commit().await?;
        Ok(Pool { price_per_hour, partner_discount_pct: discount, ..before })
    }

    /// Whether `caller` may give the pool this price and discount: the pool as it is now and the
    /// discount it would have. What [`Registry::set_pool_price`] checks first, for a page that
    /// asks before changing a price.
    pub async fn check_pool_price(
        &self,
        caller: &Caller,
        pool: &PoolId,
        price_per_hour: Fen,
        partner_discount_pct: Option<u8>,
    ) -> Result<(Pool, u8), StoreError> {
        let not_found = || Error::new(ErrorCode::PoolNotFound, format!("no pool {pool}"));
        let current = self.store.pools().await?.into_iter().find(|p| &p.id == pool).ok_or_else(not_found)?;
        match caller {
            Caller::Operator { .. } => {}
            Caller::Provider { provider, .. } => {
                let centre = self.store.centre(&current.centre_id).await?.ok_or_else(not_found)?;
                if &centre.provider_id != provider {
                    return Err(Error::new(ErrorCode::Forbidden, "a provider prices only the pools of its own centres").into());
                }
            }
            _ => return Err(Error::new(ErrorCode::Forbidden, "a pool is priced by its provider or the operator").into()),
        }
        let discount = partner_discount_pct.unwrap_or(current.partner_discount_pct);
        suanli_core::centre::check_price(price_per_hour, discount)?;
        Ok((current, discount))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(first17: &str) -> String {
        format!("{first17}{}", suanli_core::ident::uscc_check_char(first17).unwrap())
    }

    #[test]
    fn a_change_keeps_what_it_leaves_out_and_checks_what_it_sets() {
        let regions = Regions::builtin();
        let good = code("91330106MA27XY7KL");
        let first = RegistrationChange { uscc: Some(good.clone()), region: Some("hz-xihu".into()), sme: None };
        let r = first.apply(None, &regions).unwrap();
        assert_eq!((r.uscc.as_str(), r.region.as_str(), r.sme), (good.as_str(), "hz-xihu", false));
        let sme_only = RegistrationChange { sme: Some(true), ..RegistrationChange::default() };
        assert_eq!(sme_only.apply(Some(&r), &regions).unwrap(), Registration { sme: true, ..r.clone() });
        assert_eq!(sme_only.apply(None, &regions).unwrap_err().code, ErrorCode::InvalidBody, "first time needs both");
        assert_eq!(RegistrationChange::default().apply(Some(&r), &regions).unwrap_err().code, ErrorCode::InvalidBody);
        let mut bad = good.clone();
        bad.replace_range(17..18, if good.ends_with('0') { "1" } else { "0" });
        let wrong_check = RegistrationChange { uscc: Some(bad), ..RegistrationChange::default() };
        assert_eq!(wrong_check.apply(Some(&r), &regions).unwrap_err().code, ErrorCode::InvalidUscc);
        let nowhere = RegistrationChange { region: Some("atlantis".into()), ..RegistrationChange::default() };
        assert_eq!(nowhere.apply(Some(&r), &regions).unwrap_err().code, ErrorCode::InvalidRegion);
    }
}
