//! The typed client's calls for the registry: providers, centres and their backends, pools, tenants, users, the caller itself.

use super::{Client, Result, query, urlencode};
use crate::dto::{
    BackendIn, BackendOut, CentreOut, Me, NewCentreIn, NewPoolIn, NewProviderIn, NewTenantIn, NewUserIn, Page, PartnerStatusIn, PoolOut,
    PoolPriceIn, ProviderOut, ProviderRegistrationIn, TenantOut, UserCreated,
};
use reqwest::Method;
use serde_json::Value;

impl Client {
    /// Who the token is.
    pub async fn me(&self) -> Result<Me> {
        self.get_as("/api/v1/me").await
    }

    pub async fn providers(&self) -> Result<Page<ProviderOut>> {
        self.get_as("/api/v1/providers").await
    }

    pub async fn create_provider(&self, p: &NewProviderIn) -> Result<ProviderOut> {
        self.post_as("/api/v1/providers", p).await
    }

    /// Completes or corrects a provider's registration (only the fields given change).
    pub async fn update_provider(&self, id: &str, p: &ProviderRegistrationIn) -> Result<ProviderOut> {
        self.send(Method::PATCH, &format!("/api/v1/providers/{}", urlencode(id)), Some(p), &[]).await
    }

    /// Centres, all or one provider's.
    pub async fn centres(&self, provider: Option<&str>) -> Result<Page<CentreOut>> {
        self.get_as(&format!("/api/v1/centres{}", query(&[("provider_id", provider)]))).await
    }

    pub async fn centre(&self, id: &str) -> Result<CentreOut> {
        self.get_as(&format!("/api/v1/centres/{}", urlencode(id))).await
    }

    pub async fn create_centre(&self, c: &NewCentreIn) -> Result<CentreOut> {
        self.post_as("/api/v1/centres", c).await
    }

    pub async fn set_partner_status(&self, id: &str, s: &PartnerStatusIn) -> Result<CentreOut> {
        self.post_as(&format!("/api/v1/centres/{}/partner-status", urlencode(id)), s).await
    }

    /// A centre's partner-status changes, newest first.
    pub async fn partner_history(&self, id: &str) -> Result<Vec<crate::incentives::PartnerChange>> {
        self.get_as(&format!("/api/v1/centres/{}/partner-history", urlencode(id))).await
    }

    /// Binds a centre to the backend its jobs go to.
    pub async fn bind_backend(&self, id: &str, url: &str) -> Result<BackendOut> {
        let body = BackendIn { url: url.to_string() };
        self.send(Method::PUT, &format!("/api/v1/centres/{}/backend", urlencode(id)), Some(&body), &[]).await
    }

    pub async fn backend(&self, id: &str) -> Result<BackendOut> {
        self.get_as(&format!("/api/v1/centres/{}/backend", urlencode(id))).await
    }

    /// Unbinds a centre: it takes no more jobs.
    pub async fn unbind_backend(&self, id: &str) -> Result<()> {
        self.send::<(), Value>(Method::DELETE, &format!("/api/v1/centres/{}/backend", urlencode(id)), None, &[]).await.map(|_| ())
    }

    pub async fn create_pool(&self, centre: &str, p: &NewPoolIn) -> Result<PoolOut> {
        self.post_as(&format!("/api/v1/centres/{}/pools", urlencode(centre)), p).await
    }

    pub async fn set_pool_price(&self, pool: &str, p: &PoolPriceIn) -> Result<PoolOut> {
        self.send(Method::PUT, &format!("/api/v1/pools/{}/price", urlencode(pool)), Some(p), &[]).await
    }

    pub async fn tenants(&self) -> Result<Page<TenantOut>> {
        self.get_as("/api/v1/tenants").await
    }

    pub async fn tenant(&self, id: &str) -> Result<TenantOut> {
        self.get_as(&format!("/api/v1/tenants/{}", urlencode(id))).await
    }

    pub async fn create_tenant(&self, t: &NewTenantIn) -> Result<TenantOut> {
        self.post_as("/api/v1/tenants", t).await
    }

    /// Creates a user; the answer carries its API token, shown once.
    pub async fn create_user(&self, u: &NewUserIn) -> Result<UserCreated> {
        self.post_as("/api/v1/users", u).await
    }
}
