//! The demo's models as a service: a general model and two special models from the demo providers, an embedding model, all served by a simulated upstream (labelled as such), and a model key for the demo tenant.
//!
//! The simulated upstream listens on a loopback port of its own, chosen anew at every start,
//! so the demo's deployments are pointed at it again each time (the old ones are taken out of
//! service, new ones added with the same terms). Seeding is idempotent: a model that exists
//! is kept, and the tenant's key is made once (its secret is in `demo-tokens.json`).

use crate::AppState;
use anyhow::Context;
use std::collections::HashMap;
use suanli_app::Caller;
use suanli_core::centre::Centre;
use suanli_core::id::{ProviderId, TenantId, UserId};
use suanli_core::model::{DeploymentSpec, Endpoint, Evaluation, KeySpec, Modality, ModelKind, ModelSpec, Strategy};
use suanli_core::money::Fen;
use suanli_core::region::HOME_CITY;

/// The path under which the demo's simulated upstream answers (its base URL ends with it).
pub const SIM_PATH: &str = "/simulated/v1";

struct DemoModel {
    name: &'static str,
    kind: ModelKind,
    domain: &'static str,
    parameters_b: f64,
    context_tokens: u32,
    endpoints: &'static [Endpoint],
    price: (i64, i64),
    description: &'static str,
    /// Which provider (index into the city's providers, wrapping) offers it.
    provider: usize,
    score: f64,
}

const MODELS: &[DemoModel] = &[
    DemoModel {
        name: "hz-general-7b",
        kind: ModelKind::General,
        domain: "general",
        parameters_b: 7.0,
        context_tokens: 32_768,
        endpoints: &[Endpoint::Chat, Endpoint::Completions],
        price: (200, 800),
        description: "通用对话模型（演示，模拟上游） / general chat model (demo, simulated upstream)",
        provider: 0,
        score: 82.5,
    },
    DemoModel {
        name: "hz-med-13b",
        kind: ModelKind::Special,
        domain: "healthcare",
        parameters_b: 13.0,
        context_tokens: 16_384,
        endpoints: &[Endpoint::Chat],
        price: (400, 1_200),
        description: "医疗问答专用模型（演示，模拟上游） / healthcare Q&A model (demo, simulated upstream)",
        provider: 1,
        score: 88.0,
    },
    DemoModel {
        name: "hz-ecom-7b",
        kind: ModelKind::Special,
        domain: "e_commerce",
        parameters_b: 7.0,
        context_tokens: 8_192,
        endpoints: &[Endpoint::Chat, Endpoint::Completions],
        price: (150, 600),
        description: "电商客服与文案模型（演示，模拟上游） / e-commerce service and copy model (demo, simulated upstream)",
        provider: 2,
        score: 79.0,
    },
    DemoModel {
        name: "hz-embed-zh",
        kind: ModelKind::General,
        domain: "retrieval",
        parameters_b: 0.1,
        context_tokens: 512,
        endpoints: &[Endpoint::Embeddings],
        price: (50, 0),
        description: "中文向量模型（演示，模拟上游） / Chinese embedding model (demo, simulated upstream)",
        provider: 0,
        score: 75.0,
    },
];

/// The names the simulated upstream answers to: the demo's models.
pub fn model_names() -> Vec<String> {
    MODELS.iter().map(|m| m.name.to_string()).collect()
}

fn provider_caller(p: &ProviderId) -> Caller {
    Caller::Provider { user: UserId::generate(0, 0), provider: p.clone() }
}

/// Seeds (or re-points) the demo's models at the simulated upstream `sim_base` (…/simulated/v1), and
/// makes the demo tenant's key once. Returns the key's secret when it was made now.
pub async fn seed(s: &AppState, sim_base: &str, tenant: Option<&TenantId>) -> anyhow::Result<Option<String>> {
    let centres = s.store.centres(None).await?;
    let mut by_provider: HashMap<&ProviderId, Vec<&Centre>> = HashMap::new();
    for c in &centres {
        by_provider.entry(&c.provider_id).or_default().push(c);
    }
    let regions = s.regions.clone();
    // Providers with a centre in the city, by name: ids are random, so ordering by them would
    // give a model to a different provider (perhaps one with no centre in Hangzhou, which the
    // demo key, kept to Hangzhou, could not call) at every start.
    let mut providers = s.store.providers().await?;
    providers.retain(|p| by_provider.get(&p.id).is_some_and(|cs| cs.iter().any(|c| regions.is_within(&c.region, HOME_CITY))));
    providers.sort_by(|a, b| a.name_en.cmp(&b.name_en));
    anyhow::ensure!(!providers.is_empty(), "the demo city has no provider with a centre in {HOME_CITY}");
    for (i, m) in MODELS.iter().enumerate() {
        let provider = &providers[m.provider % providers.len()].id;
        let caller = provider_caller(provider);
        if s.store.model(m.name).await?.is_none() {
            let spec = model_spec(i, m);
            s.models.register(&caller, spec).await.with_context(|| format!("registering the demo model {}", m.name))?;
        }
        // Its centres in the city first (so a key kept to Hangzhou can call it), at most two.
        let mut homes: Vec<&Centre> = by_provider.get(provider).cloned().unwrap_or_default();
        homes.sort_by_key(|c| (!regions.is_within(&c.region, HOME_CITY), c.id.to_string()));
        homes.truncate(if i == 0 { 2 } else { 1 });
        deploy(s, &caller, m, &homes, sim_base).await?;
    }
    let Some(tenant) = tenant else { return Ok(None) };
    demo_key(s, tenant).await
}

/// A demo model's registration: the `i`th of the demo's models, the first routed by latency.
fn model_spec(i: usize, m: &DemoModel) -> ModelSpec {
    ModelSpec {
        name: m.name.into(),
        kind: m.kind,
        domain: m.domain.into(),
        parameters_b: m.parameters_b,
        licence: "Apache-2.0".into(),
        context_tokens: m.context_tokens,
        modalities: vec![Modality::Text],
        endpoints: m.endpoints.to_vec(),
        evaluation: Some(Evaluation {
            evaluator: "演示评测机构 / demo evaluator".into(),
            date: "2026-06-30".into(),
            score: m.score,
            document_sha256: format!("{:064x}", 0x5ea1_1000u64 + i as u64),
        }),
        description: m.description.into(),
        routing: if i == 0 { Strategy::LeastLatency } else { Strategy::Weighted },
    }
}

/// Deploys a demo model at the simulated upstream `sim_base` in each of its home centres,
/// first at weight 300 and the rest at 100, replacing deployments there at another simulated
/// upstream; one already at `sim_base` stays.
async fn deploy(s: &AppState, caller: &Caller, m: &DemoModel, homes: &[&Centre], sim_base: &str) -> anyhow::Result<()> {
    let live = s.store.deployments().await?;
    let want = sim_base.to_string();
    for (n, centre) in homes.iter().enumerate() {
        let old: Vec<_> =
            live.iter().filter(|d| d.model == m.name && d.spec.centre_id == centre.id && d.spec.base_url.ends_with(SIM_PATH)).collect();
        if old.iter().any(|d| d.spec.base_url == want) {
            continue;
        }
        for d in old {
            s.models.undeploy(caller, m.name, &d.id).await?;
        }
        let spec = DeploymentSpec {
            centre_id: centre.id.clone(),
            base_url: want.clone(),
            upstream_model: m.name.into(),
            price_input_per_m: Fen(m.price.0),
            price_output_per_m: Fen(m.price.1),
            weight: if n == 0 { 300 } else { 100 },
            max_concurrency: 256,
            upstream_key: None,
        };
        s.models.deploy(caller, m.name, spec).await.with_context(|| format!("deploying the demo model {}", m.name))?;
    }
    Ok(())
}

/// Makes the demo tenant's key, unless it has one; the key's secret when it was made now.
async fn demo_key(s: &AppState, tenant: &TenantId) -> anyhow::Result<Option<String>> {
    if !s.store.model_keys(Some(tenant)).await?.is_empty() {
        return Ok(None);
    }
    let spec = KeySpec {
        name: "演示密钥 / demo key".into(),
        models: Vec::new(),
        budget: Fen(50_000),
        rpm: 600,
        tpm: 2_000_000,
        expires_ms: None,
        regions: vec![HOME_CITY.into()],
        fallbacks: vec!["hz-general-7b".into()],
    };
    let (_, secret) = s.models.create_key_as_system(tenant, spec).await?;
    Ok(Some(secret))
}
