//! The typed client's calls for models as a service: the catalogue and its deployments, model keys, usage, calls and their routes, deployments' health.

use super::{Client, Result, query, urlencode};
use crate::models::{CallOut, DeploymentIn, DeploymentOut, HealthOut, KeyIn, KeyOut, KeyTopUpIn, ModelOut, UsageOut, UsageQuery};
use reqwest::Method;
use serde_json::Value;
use suanli_core::model::ModelSpec;

impl Client {
    /// The model catalogue with each model's deployments.
    pub async fn models(&self) -> Result<Vec<ModelOut>> {
        self.get_as("/api/v1/models").await
    }

    pub async fn model(&self, name: &str) -> Result<ModelOut> {
        self.get_as(&format!("/api/v1/models/{}", urlencode(name))).await
    }

    /// Registers a model the caller's provider offers.
    pub async fn register_model(&self, spec: &ModelSpec) -> Result<ModelOut> {
        self.post_as("/api/v1/models", spec).await
    }

    /// Deploys a model at one of the provider's centres.
    pub async fn deploy_model(&self, name: &str, d: &DeploymentIn) -> Result<DeploymentOut> {
        self.post_as(&format!("/api/v1/models/{}/deployments", urlencode(name)), d).await
    }

    /// Takes deployment `n` of a model (`name#n`) out of service.
    pub async fn undeploy_model(&self, name: &str, n: &str) -> Result<()> {
        let path = format!("/api/v1/models/{}/deployments/{}", urlencode(name), urlencode(n));
        self.send::<(), Value>(Method::DELETE, &path, None, &[]).await.map(|_| ())
    }

    /// Usage per day, key and model (`limit` is not read).
    pub async fn model_usage(&self, q: &UsageQuery) -> Result<Vec<UsageOut>> {
        self.get_as(&format!("/api/v1/model-usage{}", usage_query(q))).await
    }

    /// The newest metered calls.
    pub async fn model_calls(&self, q: &UsageQuery) -> Result<Vec<CallOut>> {
        self.get_as(&format!("/api/v1/model-calls{}", usage_query(q))).await
    }

    /// One call with its route: candidates, exclusions and attempts.
    pub async fn model_call(&self, id: &str) -> Result<CallOut> {
        self.get_as(&format!("/api/v1/model-calls/{}", urlencode(id))).await
    }

    /// Deployments' health as the gateway sees it now.
    pub async fn model_health(&self) -> Result<Vec<HealthOut>> {
        self.get_as("/api/v1/model-health").await
    }

    /// Makes a model key; the answer's `key` is its secret, shown this once.
    pub async fn create_model_key(&self, k: &KeyIn) -> Result<KeyOut> {
        self.post_as("/api/v1/model-keys", k).await
    }

    pub async fn model_keys(&self) -> Result<Vec<KeyOut>> {
        self.get_as("/api/v1/model-keys").await
    }

    pub async fn revoke_model_key(&self, id: &str) -> Result<()> {
        self.send::<(), Value>(Method::DELETE, &format!("/api/v1/model-keys/{}", urlencode(id)), None, &[]).await.map(|_| ())
    }

    pub async fn top_up_model_key(&self, id: &str, t: &KeyTopUpIn) -> Result<KeyOut> {
        self.post_as(&format!("/api/v1/model-keys/{}/top-up", urlencode(id)), t).await
    }

    /// Gives a key a new secret (the answer's `key`, shown this once).
    pub async fn rotate_model_key(&self, id: &str) -> Result<KeyOut> {
        self.send::<(), _>(Method::POST, &format!("/api/v1/model-keys/{}/rotate", urlencode(id)), None, &[]).await
    }
}

fn usage_query(q: &UsageQuery) -> String {
    let limit = q.limit.map(|l| l.to_string());
    query(&[
        ("from", q.from.as_deref()),
        ("to", q.to.as_deref()),
        ("key", q.key.as_deref()),
        ("model", q.model.as_deref()),
        ("limit", limit.as_deref()),
    ])
}
