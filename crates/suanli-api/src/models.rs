//! The models API's bodies: the catalogue and its deployments, model keys, usage, calls with their routes, and deployments' health (the OpenAI-compatible calls themselves are the gateway's, under `/v1`).

use serde::{Deserialize, Serialize};
use suanli_core::model::{ModelCall, ModelKey, ModelSpec};
use suanli_core::money::Fen;
use suanli_core::time::format_rfc3339;
use utoipa::ToSchema;

/// A deployment to add: where the model runs and what it costs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentIn {
    pub centre_id: String,
    /// The upstream's OpenAI-compatible base URL (e.g. `http://10.1.2.3:8000/v1`).
    pub base_url: String,
    /// The model name the upstream expects.
    pub upstream_model: String,
    /// Yuan per million input tokens, e.g. "2.00".
    pub price_input_per_m: String,
    /// Yuan per million output tokens, e.g. "8.00".
    pub price_output_per_m: String,
    /// Share of traffic under weighted routing, 1-1000 (default 100).
    #[serde(default)]
    pub weight: Option<u32>,
    /// Most calls in flight at once (default 64).
    #[serde(default)]
    pub max_concurrency: Option<u32>,
    /// A bearer token the upstream wants; stored, never shown again.
    #[serde(default)]
    pub upstream_key: Option<String>,
}

/// A deployment as shown; the upstream's address only to the model's provider and the operator.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeploymentOut {
    pub id: String,
    pub centre_id: String,
    pub region: String,
    pub price_input_per_m: String,
    pub price_output_per_m: String,
    pub weight: u32,
    pub max_concurrency: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_model: Option<String>,
}

/// A model of the catalogue with its deployments; its name is the description's `name`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ModelOut {
    pub provider_id: String,
    #[serde(flatten)]
    pub spec: ModelSpec,
    pub created: String,
    pub deployments: Vec<DeploymentOut>,
}

impl ModelOut {
    pub fn name(&self) -> &str {
        &self.spec.name
    }
}

/// A model key to make.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyIn {
    pub name: String,
    /// Models the key may call; empty or absent: all.
    #[serde(default)]
    pub models: Vec<String>,
    /// The most the key may spend, yuan.
    pub budget: String,
    /// Requests per minute (0 or absent: no limit).
    #[serde(default)]
    pub rpm: u32,
    /// Tokens per minute (0 or absent: no limit).
    #[serde(default)]
    pub tpm: u32,
    /// Last day the key works (`YYYY-MM-DD`, China Standard Time); absent: no expiry.
    #[serde(default)]
    pub expires: Option<String>,
    /// Regions the calls may be processed in, e.g. `["hangzhou"]` (数据不出域); absent: anywhere.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Models to fall back to, in order, when the asked model's deployments all fail.
    #[serde(default)]
    pub fallbacks: Vec<String>,
}

/// A model key. `key` (the secret) appears only in the answer that made it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyOut {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// The secret's first characters, to recognise it.
    pub prefix: String,
    pub models: Vec<String>,
    pub budget: String,
    /// What the budget has left (after calls and holds in flight).
    pub remaining: String,
    pub rpm: u32,
    pub tpm: u32,
    pub expires: Option<String>,
    pub regions: Vec<String>,
    pub fallbacks: Vec<String>,
    pub created: String,
    pub revoked: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl KeyOut {
    /// A key as shown, with what its budget has left; `secret` only in the answer that made it.
    pub fn of(k: &ModelKey, remaining: Fen, secret: Option<String>) -> KeyOut {
        KeyOut {
            id: k.id.clone(),
            tenant_id: k.tenant_id.to_string(),
            name: k.spec.name.clone(),
            prefix: k.prefix.clone(),
            models: k.spec.models.clone(),
            budget: k.spec.budget.to_yuan_string(),
            remaining: remaining.to_yuan_string(),
            rpm: k.spec.rpm,
            tpm: k.spec.tpm,
            expires: k.spec.expires_ms.map(format_rfc3339),
            regions: k.spec.regions.clone(),
            fallbacks: k.spec.fallbacks.clone(),
            created: format_rfc3339(k.created_ms),
            revoked: k.revoked_ms.map(format_rfc3339),
            key: secret,
        }
    }
}

/// A top-up of a key's budget.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyTopUpIn {
    /// Yuan to add to the key's budget, e.g. "50.00".
    pub amount: String,
}

/// Usage of one key on one model on one day (China Standard Time).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UsageOut {
    pub day: String,
    pub tenant_id: String,
    pub key_id: String,
    pub model: String,
    pub calls: u64,
    pub failed_calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub charge: String,
    pub voucher: String,
    pub cash: String,
}

/// One metered call with where it went and why.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CallOut {
    pub id: String,
    pub key_id: String,
    pub tenant_id: String,
    pub model: String,
    pub endpoint: String,
    pub deployment: Option<String>,
    pub provider_id: Option<String>,
    /// ok, partial (a stream broke off; billed for what was served) or failed (no charge).
    pub status: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// upstream (its usage) or estimate (the gateway's count).
    pub usage_source: String,
    pub charge: String,
    pub voucher: String,
    pub cash: String,
    pub started: String,
    pub ttft_ms: Option<i64>,
    pub duration_ms: i64,
    pub error_code: Option<String>,
    /// Candidates, exclusions and attempts, per model of the fallback chain.
    #[schema(value_type = Object)]
    pub route: serde_json::Value,
}

impl From<ModelCall> for CallOut {
    fn from(c: ModelCall) -> CallOut {
        CallOut {
            id: c.id,
            key_id: c.key_id,
            tenant_id: c.tenant_id.to_string(),
            model: c.model,
            endpoint: c.endpoint.as_str().into(),
            deployment: c.deployment,
            provider_id: c.provider_id.map(|p| p.to_string()),
            status: c.status.as_str().into(),
            input_tokens: c.input_tokens,
            output_tokens: c.output_tokens,
            usage_source: c.usage_source.as_str().into(),
            charge: c.charge.to_yuan_string(),
            voucher: c.voucher.to_yuan_string(),
            cash: c.cash.to_yuan_string(),
            started: format_rfc3339(c.started_ms),
            ttft_ms: c.ttft_ms,
            duration_ms: c.duration_ms,
            error_code: c.error_code,
            route: c.route,
        }
    }
}

/// Filters for usage and calls.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// First day, `YYYY-MM-DD` (China Standard Time).
    pub from: Option<String>,
    /// Last day, inclusive.
    pub to: Option<String>,
    pub key: Option<String>,
    pub model: Option<String>,
    /// At most this many calls (calls list only; default 100, at most 1000).
    pub limit: Option<u32>,
}

/// A deployment's health as the gateway sees it now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HealthOut {
    pub deployment: String,
    pub model: String,
    pub centre_id: String,
    /// `up`, `down` or `unchecked`: what the last `GET /models` check (every few seconds) found.
    pub probe: String,
    /// When that check ran.
    pub probed: Option<String>,
    /// How long it took, ms.
    pub probe_ms: Option<f64>,
    /// Why it failed.
    pub probe_error: Option<String>,
    /// Left out of routing until then after failures.
    pub cooldown_until: Option<String>,
    pub in_flight: u32,
    /// Moving average of time to first token, ms.
    pub ttft_ms: Option<f64>,
    pub served: u64,
    pub failed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_answer_names_the_model_once_and_reads_back() {
        let spec: ModelSpec = serde_json::from_value(serde_json::json!({
            "name": "hz-general-7b", "kind": "general", "domain": "general", "parameters_b": 7.0, "licence": "apache-2.0",
            "context_tokens": 8192, "modalities": ["text"], "endpoints": ["chat"]
        }))
        .unwrap();
        let out = ModelOut {
            provider_id: "prv_00000000000000000000ff".into(),
            spec,
            created: "2026-01-01T00:00:00Z".into(),
            deployments: Vec::new(),
        };
        let text = serde_json::to_string(&out).unwrap();
        assert_eq!(text.matches("\"name\":").count(), 1, "{text}");
        let back: ModelOut = serde_json::from_str(&text).unwrap();
        assert_eq!((back.name(), back.provider_id.as_str()), ("hz-general-7b", out.provider_id.as_str()));
        assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::to_value(&out).unwrap());
    }
}
