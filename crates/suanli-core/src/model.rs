//! Models as a service (MaaS): the model catalogue, deployments at centres, tenants' model keys, token estimates and the price of a call.
//!
//! A provider registers a model (what it is, who evaluated it) and one or more deployments of
//! it (where it runs, the upstream's OpenAI-compatible base URL, the price per million tokens).
//! A tenant calls it through the gateway with a model key, which is scoped to models, holds a
//! budget, rate limits, an expiry and the regions its data may be processed in (数据不出域).
//! Everything here is data and arithmetic; the gateway (I/O) routes and meters.

use crate::error::{Error, ErrorCode};
use crate::id::{CentreId, ProviderId, TenantId};
use crate::money::Fen;
use crate::region::Regions;
use crate::time::UnixMs;
use serde::{Deserialize, Serialize};

/// The longest context a model may declare (tokens), a bound that catches typos.
pub const MAX_CONTEXT_TOKENS: u32 = 10_000_000;
/// The highest price per million tokens accepted (¥100,000), a bound that catches typos.
pub const MAX_PRICE_PER_M: Fen = Fen(10_000_000);
/// The most deployments one model may have.
pub const MAX_DEPLOYMENTS: usize = 64;

/// The most a key's budget may reach, top-ups included (¥100 million).
pub const MAX_KEY_BUDGET: Fen = Fen(10_000_000_000);

/// General models are opened by head enterprises; special models are tuned for one domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    General,
    Special,
}

impl ModelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::General => "general",
            ModelKind::Special => "special",
        }
    }
    pub fn parse(s: &str) -> Option<ModelKind> {
        [ModelKind::General, ModelKind::Special].into_iter().find(|k| k.as_str() == s)
    }
}

/// The domains the policy names for special models, plus general use.
pub const DOMAINS: &[(&str, &str, &str)] = &[
    ("general", "通用", "General"),
    ("vision", "视觉", "Vision"),
    ("healthcare", "医疗", "Healthcare"),
    ("finance", "金融", "Finance"),
    ("e_commerce", "电商", "E-commerce"),
    ("gaming", "游戏", "Gaming"),
    ("biomedicine", "生物医药", "Biomedicine"),
    ("manufacturing", "制造", "Manufacturing"),
    ("education", "教育", "Education"),
    ("government", "政务", "Government services"),
    ("code", "代码", "Code"),
    ("retrieval", "检索", "Retrieval"),
];

/// What a model takes in or gives out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    Text,
    Image,
    Audio,
    Video,
}

/// The OpenAI endpoints a model serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `/v1/chat/completions`
    Chat,
    /// `/v1/completions`
    Completions,
    /// `/v1/embeddings`
    Embeddings,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Chat => "chat",
            Endpoint::Completions => "completions",
            Endpoint::Embeddings => "embeddings",
        }
    }
    pub fn parse(s: &str) -> Option<Endpoint> {
        [Endpoint::Chat, Endpoint::Completions, Endpoint::Embeddings].into_iter().find(|k| k.as_str() == s)
    }
    /// The upstream path under its base URL.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Chat => "/chat/completions",
            Endpoint::Completions => "/completions",
            Endpoint::Embeddings => "/embeddings",
        }
    }
}

/// An independent evaluation of a model (e.g. by a standards body), with the report's hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    pub evaluator: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The score the evaluator gave, 0 to 100.
    pub score: f64,
    /// SHA-256 of the evaluation report, 64 lowercase hex digits.
    pub document_sha256: String,
}

/// A model as its provider describes it (the body of a registration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The name clients call it by (`model` in OpenAI requests): lowercase letters, digits, `-._:/`.
    pub name: String,
    pub kind: ModelKind,
    pub domain: String,
    /// Parameters, in billions.
    pub parameters_b: f64,
    pub licence: String,
    pub context_tokens: u32,
    pub modalities: Vec<Modality>,
    pub endpoints: Vec<Endpoint>,
    #[serde(default)]
    pub evaluation: Option<Evaluation>,
    #[serde(default)]
    pub description: String,
    /// How calls pick among the model's deployments.
    #[serde(default)]
    pub routing: Strategy,
}

/// A registered model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub name: String,
    pub provider_id: ProviderId,
    pub spec: ModelSpec,
    pub created_ms: UnixMs,
}

/// One place a model runs: a centre, an OpenAI-compatible upstream and its prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentSpec {
    pub centre_id: CentreId,
    /// The upstream's base URL, ending before `/chat/completions` (e.g. `http://10.0.0.5:8000/v1`).
    pub base_url: String,
    /// The model name the upstream expects.
    pub upstream_model: String,
    /// Price per million input (prompt) tokens.
    pub price_input_per_m: Fen,
    /// Price per million output (completion) tokens.
    pub price_output_per_m: Fen,
    /// Share of traffic under weighted routing, 1 to 1000.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// The most calls in flight at once; more wait for another deployment or are refused.
    #[serde(default = "default_concurrency")]
    pub max_concurrency: u32,
    /// A bearer token the upstream wants, if any (stored, never shown again).
    #[serde(default)]
    pub upstream_key: Option<String>,
}

fn default_weight() -> u32 {
    100
}
fn default_concurrency() -> u32 {
    64
}

/// A deployment as stored: its number within the model, and the region of its centre.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// `<model>#<n>`, stable for explanations and usage.
    pub id: String,
    pub model: String,
    pub spec: DeploymentSpec,
    pub created_ms: UnixMs,
}

/// How the gateway picks among a model's deployments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// By weight, drawn from a seeded generator.
    #[default]
    Weighted,
    /// The lowest moving average of time to first token.
    LeastLatency,
    /// The fewest calls in flight relative to the deployment's concurrency limit.
    LeastBusy,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Weighted => "weighted",
            Strategy::LeastLatency => "least_latency",
            Strategy::LeastBusy => "least_busy",
        }
    }
    pub fn parse(s: &str) -> Option<Strategy> {
        [Strategy::Weighted, Strategy::LeastLatency, Strategy::LeastBusy].into_iter().find(|k| k.as_str() == s)
    }
}

/// What a tenant asks for when it creates a model key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    pub name: String,
    /// Models the key may call; empty means every model.
    #[serde(default)]
    pub models: Vec<String>,
    /// The most the key may spend over its life.
    pub budget: Fen,
    /// Requests per minute; 0 means no limit.
    #[serde(default)]
    pub rpm: u32,
    /// Tokens (input + output) per minute; 0 means no limit.
    #[serde(default)]
    pub tpm: u32,
    #[serde(default)]
    pub expires_ms: Option<UnixMs>,
    /// Regions (or their ancestors) the key's calls may be processed in; empty means anywhere.
    /// `["hangzhou"]` keeps the data in Hangzhou (数据不出域).
    #[serde(default)]
    pub regions: Vec<String>,
    /// Models to fall back to, in order, when every deployment of the asked model fails.
    #[serde(default)]
    pub fallbacks: Vec<String>,
}

/// A stored model key. The secret is only ever shown once; the store keeps its SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelKey {
    pub id: String,
    pub tenant_id: TenantId,
    pub spec: KeySpec,
    /// The first characters of the secret, to recognise it in lists.
    pub prefix: String,
    pub secret_sha256: String,
    pub created_ms: UnixMs,
    pub revoked_ms: Option<UnixMs>,
}

impl ModelKey {
    /// Whether the key works now: not revoked, not expired.
    pub fn usable(&self, now: UnixMs) -> Result<(), Error> {
        if self.revoked_ms.is_some() {
            return Err(Error::new(ErrorCode::Unauthenticated, format!("the key {}… was revoked", self.prefix)));
        }
        if self.spec.expires_ms.is_some_and(|e| now >= e) {
            return Err(Error::new(ErrorCode::Unauthenticated, format!("the key {}… has expired", self.prefix)));
        }
        Ok(())
    }

    /// Whether the key may call this model now.
    pub fn check(&self, model: &str, now: UnixMs) -> Result<(), Error> {
        self.usable(now)?;
        if !self.spec.models.is_empty() && !self.spec.models.iter().any(|m| m == model) {
            return Err(Error::new(ErrorCode::Forbidden, format!("the key {}… may not call the model '{model}'", self.prefix)));
        }
        Ok(())
    }

    /// Whether a deployment at a centre in `region` may serve this key's calls.
    pub fn allows_region(&self, regions: &Regions, region: &str) -> bool {
        self.spec.regions.is_empty() || self.spec.regions.iter().any(|r| regions.is_within(region, r))
    }
}

fn check_name(field: &str, s: &str, max: usize) -> Result<(), Error> {
    if s.trim().is_empty() || s.chars().count() > max {
        return Err(Error::new(ErrorCode::InvalidName, format!("{field} must be 1 to {max} characters")));
    }
    Ok(())
}

/// How a metered call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// The whole answer was served.
    Ok,
    /// A stream broke after some of it was served (billed for what was served).
    Partial,
    /// Nothing was served (no charge).
    Failed,
}

impl CallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Ok => "ok",
            CallStatus::Partial => "partial",
            CallStatus::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<CallStatus> {
        [CallStatus::Ok, CallStatus::Partial, CallStatus::Failed].into_iter().find(|k| k.as_str() == s)
    }
}

/// Where a call's token counts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UsageSource {
    /// The upstream's `usage`.
    Upstream,
    /// The gateway's own estimate ([`estimate_tokens`]), when the upstream reported none.
    Estimate,
}

impl UsageSource {
    pub fn as_str(self) -> &'static str {
        match self {
            UsageSource::Upstream => "upstream",
            UsageSource::Estimate => "estimate",
        }
    }
    pub fn parse(s: &str) -> Option<UsageSource> {
        [UsageSource::Upstream, UsageSource::Estimate].into_iter().find(|k| k.as_str() == s)
    }
}

/// The usage record of one metered call, written in the same commit as its charge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCall {
    /// The request id the client saw (`x-request-id`).
    pub id: String,
    pub key_id: String,
    pub tenant_id: TenantId,
    pub model: String,
    pub endpoint: Endpoint,
    /// The deployment that served it, if any did.
    pub deployment: Option<String>,
    pub provider_id: Option<ProviderId>,
    pub status: CallStatus,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub usage_source: UsageSource,
    pub charge: Fen,
    pub voucher: Fen,
    pub cash: Fen,
    pub programme_id: Option<String>,
    pub started_ms: UnixMs,
    pub ttft_ms: Option<i64>,
    pub duration_ms: i64,
    /// Why it went where it went: candidates, exclusions, attempts (JSON).
    pub route: serde_json::Value,
    pub error_code: Option<String>,
}

/// A model name is what OpenAI clients send as `model`: 1-64 of `a-z 0-9 - . _ :`, starting
/// with a letter or digit (no `/`, so that a name is one segment of a URL path).
pub fn check_model_name(s: &str) -> Result<(), Error> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._:".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::InvalidName,
            format!(
                "'{}' is not a model name: 1-64 of a-z 0-9 - . _ :, starting with a letter or digit",
                s.chars().take(70).collect::<String>()
            ),
        ))
    }
}

impl ModelSpec {
    pub fn validate(&self) -> Result<(), Error> {
        check_model_name(&self.name)?;
        if !DOMAINS.iter().any(|(d, _, _)| *d == self.domain) {
            let known: Vec<&str> = DOMAINS.iter().map(|(d, _, _)| *d).collect();
            return Err(Error::new(ErrorCode::InvalidModel, format!("unknown domain '{}': one of {}", self.domain, known.join(", "))));
        }
        if !(self.parameters_b.is_finite() && self.parameters_b > 0.0 && self.parameters_b <= 100_000.0) {
            return Err(Error::new(ErrorCode::InvalidModel, "parameters_b must be above 0 and at most 100000 (billions)"));
        }
        check_name("licence", &self.licence, 100)?;
        if self.context_tokens == 0 || self.context_tokens > MAX_CONTEXT_TOKENS {
            return Err(Error::new(ErrorCode::InvalidModel, format!("context_tokens must be 1 to {MAX_CONTEXT_TOKENS}")));
        }
        if self.modalities.is_empty() || self.endpoints.is_empty() {
            return Err(Error::new(ErrorCode::InvalidModel, "a model needs at least one modality and one endpoint"));
        }
        if self.description.chars().count() > 2_000 {
            return Err(Error::new(ErrorCode::InvalidModel, "the description is longer than 2000 characters"));
        }
        if let Some(e) = &self.evaluation {
            check_name("evaluation.evaluator", &e.evaluator, 200)?;
            crate::time::parse_date(&e.date)?;
            if !(e.score.is_finite() && (0.0..=100.0).contains(&e.score)) {
                return Err(Error::new(ErrorCode::InvalidModel, "evaluation.score must be between 0 and 100"));
            }
            if e.document_sha256.len() != 64 || !e.document_sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                return Err(Error::new(ErrorCode::InvalidModel, "evaluation.document_sha256 must be 64 lowercase hex digits"));
            }
        }
        Ok(())
    }

    pub fn serves(&self, e: Endpoint) -> bool {
        self.endpoints.contains(&e)
    }
}

impl DeploymentSpec {
    pub fn validate(&self) -> Result<(), Error> {
        let url = self.base_url.trim_end_matches('/');
        let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
        if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) || url.len() > 500 || url.contains(char::is_whitespace) {
            return Err(Error::new(ErrorCode::InvalidModel, "base_url must be an http:// or https:// URL of the upstream's /v1"));
        }
        check_name("upstream_model", &self.upstream_model, 200)?;
        for (field, p) in [("price_input_per_m", self.price_input_per_m), ("price_output_per_m", self.price_output_per_m)] {
            if p.0 < 0 || p > MAX_PRICE_PER_M {
                return Err(Error::new(ErrorCode::InvalidAmount, format!("{field} must be between 0 and {MAX_PRICE_PER_M}")));
            }
        }
        if !(1..=1000).contains(&self.weight) {
            return Err(Error::new(ErrorCode::InvalidModel, "weight must be 1 to 1000"));
        }
        if !(1..=100_000).contains(&self.max_concurrency) {
            return Err(Error::new(ErrorCode::InvalidModel, "max_concurrency must be 1 to 100000"));
        }
        Ok(())
    }

    /// The price of a call that used these tokens, rounded up to the fen.
    pub fn price(&self, input_tokens: u64, output_tokens: u64) -> Fen {
        price(self.price_input_per_m, self.price_output_per_m, input_tokens, output_tokens)
    }
}

/// `⌈(input × price_in + output × price_out) / 1,000,000⌉` fen.
pub fn price(price_input_per_m: Fen, price_output_per_m: Fen, input_tokens: u64, output_tokens: u64) -> Fen {
    let total = input_tokens as i128 * price_input_per_m.0.max(0) as i128 + output_tokens as i128 * price_output_per_m.0.max(0) as i128;
    let fen = (total + 999_999) / 1_000_000;
    Fen(fen.min(i64::MAX as i128) as i64)
}

impl KeySpec {
    pub fn validate(&self, regions: &Regions, now: UnixMs) -> Result<(), Error> {
        check_name("name", &self.name, 100)?;
        if !self.budget.is_positive() {
            return Err(Error::new(ErrorCode::InvalidAmount, "a key's budget must be positive"));
        }
        if self.budget > MAX_KEY_BUDGET {
            return Err(Error::new(ErrorCode::InvalidAmount, format!("a key's budget is at most {}", MAX_KEY_BUDGET.to_yuan_string())));
        }
        if self.models.len() > 100 || self.fallbacks.len() > 8 {
            return Err(Error::new(ErrorCode::InvalidModel, "a key names at most 100 models and 8 fallbacks"));
        }
        for m in self.models.iter().chain(&self.fallbacks) {
            check_model_name(m)?;
        }
        for r in &self.regions {
            regions.require(r)?;
        }
        if self.expires_ms.is_some_and(|e| e <= now) {
            return Err(Error::new(ErrorCode::InvalidDate, "the key's expiry is in the past"));
        }
        Ok(())
    }
}

/// An estimate of the tokens a text takes, for holds and for upstreams that report no usage:
/// each CJK character counts one token, other text one token per four bytes (rounded up), and
/// every whitespace-separated word at least one. Real tokenisers give fewer for ordinary
/// English; the estimate errs high, so a hold covers the call.
pub fn estimate_tokens(text: &str) -> u64 {
    let mut cjk = 0u64;
    let mut other_bytes = 0u64;
    for c in text.chars() {
        if is_cjk(c) {
            cjk += 1;
        } else {
            other_bytes += c.len_utf8() as u64;
        }
    }
    let words = text.split_whitespace().filter(|w| !w.chars().all(is_cjk)).count() as u64;
    cjk + other_bytes.div_ceil(4).max(words)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303f | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xf900..=0xfaff | 0xff00..=0xffef)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_rounds_up_to_the_fen() {
        // ¥2 per million input (200 fen), ¥8 per million output (800 fen).
        assert_eq!(price(Fen(200), Fen(800), 1_000_000, 0), Fen(200));
        assert_eq!(price(Fen(200), Fen(800), 1, 0), Fen(1));
        assert_eq!(price(Fen(200), Fen(800), 0, 0), Fen(0));
        assert_eq!(price(Fen(200), Fen(800), 5_000, 1_250), Fen(2));
        assert_eq!(price(Fen(200), Fen(800), 500_000, 500_000), Fen(500));
    }

    #[test]
    fn token_estimates_err_high_and_count_chinese_by_character() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("hello"), 2);
        assert_eq!(estimate_tokens("a b c d"), 4);
        assert_eq!(estimate_tokens("杭州人工智能"), 6);
        assert!(estimate_tokens("The quick brown fox jumps over the lazy dog") >= 9);
    }

    #[test]
    fn model_names_are_what_openai_clients_send() {
        for ok in ["qwen2-7b-instruct", "hz-med-7b", "bge-small-zh-v1.5", "m:1"] {
            check_model_name(ok).unwrap();
        }
        for bad in ["", "Qwen", "-x", "a b", "a/b", &"x".repeat(65)] {
            assert_eq!(check_model_name(bad).unwrap_err().code, ErrorCode::InvalidName, "{bad}");
        }
    }

    #[test]
    fn keys_check_revocation_expiry_scope_and_regions() {
        let regions = Regions::builtin();
        let mut key = ModelKey {
            id: "key_1".into(),
            tenant_id: TenantId::generate(1, 1),
            spec: KeySpec {
                name: "k".into(),
                models: vec!["a".into()],
                budget: Fen(100),
                rpm: 0,
                tpm: 0,
                expires_ms: Some(1_000),
                regions: vec!["hangzhou".into()],
                fallbacks: vec![],
            },
            prefix: "sk-sl-ab".into(),
            secret_sha256: String::new(),
            created_ms: 0,
            revoked_ms: None,
        };
        key.check("a", 999).unwrap();
        assert_eq!(key.check("b", 999).unwrap_err().code, ErrorCode::Forbidden);
        assert_eq!(key.check("a", 1_000).unwrap_err().code, ErrorCode::Unauthenticated);
        let district = regions.all().iter().find(|r| r.parent.as_deref() == Some("hangzhou")).unwrap();
        assert!(key.allows_region(&regions, &district.id));
        assert!(key.allows_region(&regions, "hangzhou"));
        assert!(!key.allows_region(&regions, "zhejiang"));
        key.revoked_ms = Some(5);
        assert_eq!(key.check("a", 0).unwrap_err().code, ErrorCode::Unauthenticated);
    }
}
