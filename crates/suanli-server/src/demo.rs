//! The demo city: seeds a plausible Hangzhou from `data/demo-city.toml` and keeps it alive with a stream of jobs.
//!
//! The stream's gang sizes and durations follow the Microsoft Philly trace: the parameters
//! in the `[workload]` table were derived from `traces/philly-jobs.csv` of the shared data
//! (CC-BY-4.0) by `scripts/derive-philly-params.py`; the trace itself is not needed to run.

use crate::auth::{new_token, token_hash};
use crate::{AppState, audit_as};
use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use suanli_core::centre::{Centre, CentreKind, PartnerStatus};
use suanli_core::id::{ProviderId, TenantId, UserId};
use suanli_core::job::{JobKind, JobSpec};
use suanli_core::money::Fen;
use suanli_core::tenant::{Role, Tenant};
use suanli_core::time::UnixMs;
pub use suanli_sim::city::{DemoCentre, DemoCity, DemoPool, DemoProvider, DemoTenant, Workload};
use suanli_store::{NewUser, WriteTx};

pub use suanli_sim::city::DEMO_CITY_TOML;

/// The tokens file's path, one token per role, and the demo tenant's model key.
pub type DemoTokens = (PathBuf, Vec<(String, String)>, Option<String>);

/// The demo's tokens as the leader wrote them into `demo-tokens.json` (a follower seeds nothing:
/// its writes would be refused, and the leader's seeding is the city's), and the model key.
pub fn read_tokens(data_dir: &Path) -> anyhow::Result<DemoTokens> {
    let path = data_dir.join("demo-tokens.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (a follower takes the demo's tokens from the leader's seeding)", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).context("demo-tokens.json")?;
    let tokens = ["operator", "provider", "tenant", "regulator", "expert"]
        .iter()
        .filter_map(|r| v.get(r).and_then(|t| t.as_str()).map(|t| (r.to_string(), t.to_string())))
        .collect();
    Ok((path, tokens, v.get("model_key").and_then(|k| k.as_str()).map(str::to_string)))
}

/// Seeds the demo city once (a marker in the store says it was), and writes `demo-tokens.json`
/// with one token per role. Returns the file's path and the tokens.
pub async fn seed(s: &AppState, data_dir: &Path, url: &str) -> anyhow::Result<(PathBuf, Vec<(String, String)>)> {
    seed_with_history(s, data_dir, url, 0).await
}

/// [`seed`], with `history_days` of hourly energy telemetry before the last week's
/// 15-minute data, so that annualised PUE, grades and lifecycle recommendations have a year
/// to work from (`serve --demo` asks for 365).
pub async fn seed_with_history(
    s: &AppState,
    data_dir: &Path,
    url: &str,
    history_days: i64,
) -> anyhow::Result<(PathBuf, Vec<(String, String)>)> {
    let path = data_dir.join("demo-tokens.json");
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let seeded = s.store.meta("demo_seeded").await?.is_some();
    if seeded && let Ok(text) = std::fs::read_to_string(&path) {
        let v: serde_json::Value = serde_json::from_str(&text).context("demo-tokens.json")?;
        let tokens = ["operator", "provider", "tenant", "regulator"]
            .iter()
            .filter_map(|r| v.get(r).and_then(|t| t.as_str()).map(|t| (r.to_string(), t.to_string())))
            .collect();
        // A seeding killed after the city committed resumes here: each later step has its
        // own marker and picks up where it stopped.
        seed_after_city(s, s.ids.now_ms(), history_days).await?;
        return Ok((path, tokens));
    }
    let city = DemoCity::builtin();
    let now = s.ids.now_ms();
    let actor = "system:demo";
    let mut tx = s.store.begin().await?;
    let tokens = if !seeded {
        // Every entry is built and checked by the registry's own rules, then stored in this one
        // transaction with the tokens (a seeding that fails leaves nothing half-made).
        let (first_provider, first_tenant) = seed_registry(s, &mut tx, &city, now).await?;
        let tokens = seed_users(s, &mut tx, first_provider, first_tenant, now).await?;
        tx.set_meta("demo_seeded", "1").await?;
        tx.audit(&audit_as(
            s,
            actor,
            "demo.seed",
            "demo",
            json!({"providers": city.provider.len(), "centres": city.centre.len(), "tenants": city.tenant.len()}),
        ))
        .await?;
        tokens
    } else {
        // Seeded before, but the tokens file is gone: mint a fresh token for each demo user.
        let mut tokens = Vec::new();
        for role in Role::ALL {
            if let Some((user, _, _)) = tx.users_with_role(role).await?.into_iter().next() {
                let token = new_token(&s.ids);
                tx.insert_token(&user, &token_hash(&token), now).await?;
                tokens.push((role.as_str().to_string(), token));
            }
        }
        tx.audit(&audit_as(s, actor, "demo.tokens", "demo", json!({}))).await?;
        tokens
    };
    // Write the tokens before committing: if the write fails, nothing was seeded without them.
    let mut file = serde_json::Map::new();
    file.insert("server".into(), json!(url));
    for (role, token) in &tokens {
        file.insert(role.clone(), json!(token));
    }
    write_private(&path, &serde_json::to_string_pretty(&file)?)?;
    tx.commit().await?;
    seed_after_city(s, now, history_days).await?;
    Ok((path, tokens))
}

/// What the demo seeds once its city is stored (each step skips what it already did), then a
/// first check of the ledger, so that the ledger page has one at once.
async fn seed_after_city(s: &AppState, now: i64, history_days: i64) -> anyhow::Result<()> {
    seed_money(s, now).await?;
    crate::demo_data::seed(s).await?;
    crate::demo_incentives::seed(s).await?;
    seed_telemetry(s, now, history_days).await?;
    s.money.check_ledger_on_schedule(s.ids.now_ms()).await?;
    Ok(())
}

/// The demo city's providers, centres with their pools, and tenants, each checked by the
/// registry's rules; the first provider and the first tenant (for the demo's users).
async fn seed_registry(
    s: &AppState,
    tx: &mut WriteTx<'_>,
    city: &DemoCity,
    now: UnixMs,
) -> anyhow::Result<(Option<ProviderId>, Option<TenantId>)> {
    let reg = &s.registry;
    let mut providers: HashMap<&str, ProviderId> = HashMap::new();
    for (i, p) in city.provider.iter().enumerate() {
        let r = demo_registration(i, city.centre.iter().find(|c| c.provider == p.key).map(|c| c.region.as_str()));
        let spec = suanli_app::registry::ProviderSpec {
            name: p.name_zh.clone(),
            name_en: p.name_en.clone(),
            uscc: r.as_ref().map(|r| r.uscc.as_str().to_string()),
            region: r.as_ref().map(|r| r.region.clone()),
            sme: r.as_ref().is_some_and(|r| r.sme),
        };
        let provider = reg.provider_of(&spec).with_context(|| format!("provider {}", p.key))?;
        tx.insert_provider(&provider, now).await?;
        providers.insert(&p.key, provider.id);
    }
    for c in &city.centre {
        let provider_id = providers
            .get(c.provider.as_str())
            .cloned()
            .with_context(|| format!("centre {} names unknown provider {}", c.key, c.provider))?;
        seed_centre(s, tx, c, provider_id).await?;
    }
    let mut first_tenant = None;
    for d in &city.tenant {
        let spec = suanli_app::registry::TenantSpec {
            name: d.name_zh.clone(),
            name_en: d.name_en.clone(),
            uscc: d.uscc.clone(),
            sme: d.sme,
            region: d.region.clone(),
        };
        let tenant = reg.tenant_of(&spec).with_context(|| format!("tenant {}", d.name_en))?;
        tx.insert_tenant(&tenant).await?;
        first_tenant.get_or_insert(tenant.id);
    }
    Ok((providers.get(city.provider[0].key.as_str()).cloned(), first_tenant))
}

/// One demo centre and its pools.
async fn seed_centre(s: &AppState, tx: &mut WriteTx<'_>, c: &DemoCentre, provider_id: ProviderId) -> anyhow::Result<()> {
    let reg = &s.registry;
    let spec = suanli_app::registry::CentreSpec {
        provider_id: None,
        name: c.name_zh.clone(),
        name_en: c.name_en.clone(),
        kind: CentreKind::parse(&c.kind).with_context(|| format!("centre {}: kind {}", c.key, c.kind))?,
        region: c.region.clone(),
        partner_status: Some(PartnerStatus::parse(&c.partner_status).with_context(|| format!("centre {}: status", c.key))?),
        commissioned: c.commissioned.clone(),
        declared_pue: c.declared_pue,
        racks: c.racks,
        rtt_ms: c.rtt_ms.iter().map(|(k, v)| (k.clone(), v.round().max(1.0) as u32)).collect(),
    };
    let centre = reg.centre_of(provider_id, &spec).with_context(|| format!("centre {}", c.key))?;
    tx.insert_centre(&centre, "system:demo").await?;
    for p in &c.pool {
        let spec = suanli_app::registry::PoolSpec {
            accelerator: p.accelerator.clone(),
            nodes: p.nodes,
            accelerators_per_node: p.accelerators_per_node,
            price_per_hour: p.price_yuan_per_hour.clone(),
            partner_discount_pct: p.partner_discount_pct,
        };
        let pool = reg.pool_of(&centre.id, &spec).with_context(|| format!("centre {} pool {}", c.key, p.accelerator))?;
        tx.insert_pool(&pool).await?;
    }
    Ok(())
}

/// One demo user per role with a fresh token (the expert also joins the expert pool); the tokens by role.
async fn seed_users(
    s: &AppState,
    tx: &mut WriteTx<'_>,
    first_provider: Option<ProviderId>,
    first_tenant: Option<TenantId>,
    now: UnixMs,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut tokens = Vec::new();
    for (role, name, tenant_id, provider_id) in [
        (Role::Operator, "杭州市算力调度平台运营 / city platform operator", None, None),
        (Role::Provider, "算力伙伴 / compute provider", None, first_provider),
        (Role::Tenant, "中小企业用户 / SME user", first_tenant, None),
        (Role::Regulator, "能耗与数据监管 / regulator", None, None),
        (Role::Expert, "评审专家 / review expert", None, None),
    ] {
        let (t, e) = s.ids.parts();
        let token = new_token(&s.ids);
        let id = UserId::generate(t, e);
        tx.insert_user(&NewUser {
            id: id.clone(),
            name: name.into(),
            role,
            tenant_id,
            provider_id,
            token_sha256_hex: token_hash(&token),
            created_ms: now,
        })
        .await?;
        if role == Role::Expert {
            // The expert pool's first member, from a (fictional) university: not a demo tenant.
            let first17 = "12330000MB0A1C2D4";
            let organisation_uscc = format!("{first17}{}", suanli_core::ident::uscc_check_char(first17).unwrap_or('0'));
            let expert = suanli_incentives::Expert { id: id.to_string(), name: name.into(), organisation_uscc, created_ms: now };
            tx.insert_incentive_expert(&expert).await?;
        }
        tokens.push((role.as_str().to_string(), token));
    }
    Ok(tokens)
}

/// The demo's models (re-pointed at this start's simulated upstream) and, once, the demo
/// tenant's model key, whose secret joins the tokens file as `model_key`. Answers the secret
/// (from the file when it was made before).
pub async fn seed_models(s: &AppState, path: &Path, tokens: &[(String, String)], sim_base: &str) -> anyhow::Result<Option<String>> {
    let tenant = match tokens.iter().find(|(r, _)| r == "tenant") {
        Some((_, t)) => s.store.principal_by_token(&token_hash(t)).await?.and_then(|p| p.tenant_id),
        None => None,
    };
    let made = crate::demo_models::seed(s, sim_base, tenant.as_ref()).await?;
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut v: serde_json::Value = serde_json::from_str(&text).context("demo-tokens.json")?;
    if let Some(k) = &made {
        v["model_key"] = json!(k);
        write_private(path, &serde_json::to_string_pretty(&v)?)?;
    }
    Ok(made.or_else(|| v.get("model_key").and_then(|k| k.as_str()).map(str::to_string)))
}

/// The demo's money, once: this year's voucher programme with Hangzhou's rules, a prepaid
/// cash balance for every tenant, and voucher applications from the eligible ones, most
/// approved and a few left for the operator to decide. Resumable: every step finds what an
/// earlier, interrupted run did (the programme by its year, top-ups and issues by their
/// derived transfer ids, a tenant's application in the programme) and does only the rest.
async fn seed_money(s: &AppState, now: i64) -> anyhow::Result<()> {
    use suanli_ledger::records::ApplicationState;
    use suanli_ledger::voucher::ProgrammeRules;
    if s.store.meta("demo_money_seeded").await?.is_some() {
        return Ok(());
    }
    let actor = "system:demo";
    let year = suanli_core::time::format_date(now + 8 * 3_600_000)[..4].parse::<i32>()?;
    let of_year = || async { anyhow::Ok(s.store.programmes().await?.into_iter().find(|p| p.rules.year == year)) };
    let programme = match of_year().await? {
        Some(p) => p,
        None => match s.vouchers.open_programme_as(actor, ProgrammeRules::hangzhou(year), None).await {
            Ok(p) => p,
            // An interrupted run's creation committed after all.
            Err(suanli_store::StoreError::Domain(e)) if e.code == suanli_core::error::ErrorCode::ProgrammeExists => {
                of_year().await?.context("the year's programme exists but cannot be read")?
            }
            Err(e) => anyhow::bail!("opening the demo's programme: {e}"),
        },
    };
    // Every provider's receivable and payout accounts, so the ledger names them from the start.
    let provider_accounts = s
        .store
        .providers()
        .await?
        .iter()
        .flat_map(|p| [suanli_ledger::chart::receivable(p.id.as_str()), suanli_ledger::chart::payout(p.id.as_str())])
        .map(|c| suanli_store::StoredAccount::of(&c, now))
        .collect();
    s.ledger
        .submit_all(suanli_store::LedgerRequest { accounts: provider_accounts, ..Default::default() })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let purposes =
        ["大模型微调 / fine-tuning a model", "视觉检测训练 / training visual inspection", "推理服务上线 / launching an inference service"];
    // In the city file's order, not the ids' (ids made in one millisecond sort at random), so
    // that each tenant's application and its outcome are the same on every seeding: the demo's
    // SME user, the first tenant, always holds an approved voucher.
    let order = DemoCity::builtin().tenant.into_iter().map(|d| d.uscc).collect::<Vec<_>>();
    let mut tenants = s.store.tenants().await?;
    tenants.sort_by_key(|t| order.iter().position(|u| u.eq_ignore_ascii_case(t.uscc.as_str())).unwrap_or(usize::MAX));
    for (i, t) in tenants.iter().enumerate() {
        let id = suanli_ledger::TransferId::derive("demo-top-up", t.id.as_str());
        s.vouchers
            .top_up_as(actor, &t.id, Fen(100_000_000), id, Some("demo opening balance".into()))
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        if programme.rules.check_eligible(t.sme, t.uscc.division_code()).is_err() {
            continue;
        }
        let requested = Fen([30_000_000, 80_000_000, 150_000_000][i % 3]);
        let earlier = s.store.applications(Some(&t.id), None, 1000).await?.into_iter().find(|a| a.programme_id == programme.id);
        let app = match earlier {
            Some(app) => app,
            None => {
                let app = new_application(s, &programme.id, &t.id, requested, purposes[i % purposes.len()]);
                let audit = audit_as(s, actor, "voucher.apply", app.id.as_str(), json!({"amount": requested.to_yuan_string()}));
                s.store.insert_application(&app, &audit).await?;
                app
            }
        };
        if i % 4 != 3 && app.state == ApplicationState::Pending {
            let amount = if i % 5 == 0 { Fen(requested.0 / 2) } else { requested };
            s.vouchers.issue_as(actor, &app, amount, Some("demo: approved".into())).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
    }
    let mut tx = s.store.begin().await?;
    tx.set_meta("demo_money_seeded", "1").await?;
    tx.commit().await?;
    Ok(())
}

/// A pending demo application.
fn new_application(
    s: &AppState,
    programme: &suanli_core::id::ProgrammeId,
    tenant: &TenantId,
    requested: Fen,
    purpose: &str,
) -> suanli_ledger::records::Application {
    use suanli_ledger::records::{Application, ApplicationState};
    let (ms, e) = s.ids.parts();
    Application {
        id: suanli_core::id::ApplicationId::generate(ms, e),
        programme_id: programme.clone(),
        tenant_id: tenant.clone(),
        requested,
        purpose: purpose.to_string(),
        state: ApplicationState::Pending,
        approved: None,
        decision_reason: None,
        decided_by: None,
        decided_ms: None,
        created_ms: ms,
    }
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// A seeded generator of demo jobs following the workload parameters.
#[derive(Debug)]
pub struct JobGenerator {
    rng: StdRng,
    workload: Workload,
}

impl JobGenerator {
    pub fn new(workload: Workload, seed: u64) -> JobGenerator {
        JobGenerator { rng: StdRng::seed_from_u64(seed), workload }
    }

    /// Seconds to wait before the next job (Poisson arrivals).
    pub fn next_gap_s(&mut self) -> f64 {
        let rate = self.workload.jobs_per_minute.max(0.001) / 60.0;
        -(1.0 - self.rng.random::<f64>()).ln() / rate
    }

    /// An index drawn with the given weights (the last one if rounding leaves the draw over).
    fn pick(rng: &mut StdRng, weights: impl Iterator<Item = f64> + Clone) -> usize {
        let mut x = rng.random::<f64>() * weights.clone().sum::<f64>();
        let mut last = 0;
        for (i, w) in weights.enumerate() {
            if x < w {
                return i;
            }
            x -= w;
            last = i;
        }
        last
    }

    pub fn gang(&mut self) -> u32 {
        let w = &self.workload;
        let i = Self::pick(&mut self.rng, w.gang_weights.iter().copied().take(w.gang_sizes.len()));
        w.gang_sizes[i]
    }

    /// A lognormal duration (Box-Muller), clipped to the workload's bounds.
    pub fn duration_s(&mut self) -> i64 {
        let (u1, u2): (f64, f64) = (1.0 - self.rng.random::<f64>(), self.rng.random::<f64>());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let d = (self.workload.duration_lognormal_mu + self.workload.duration_lognormal_sigma * z).exp();
        (d.round() as i64).clamp(self.workload.duration_min_s, self.workload.duration_max_s)
    }

    pub fn kind(&mut self) -> JobKind {
        let kinds = &self.workload.kind_weights;
        let i = Self::pick(&mut self.rng, kinds.values().copied());
        kinds.keys().nth(i).and_then(|name| JobKind::parse(name)).unwrap_or(JobKind::Batch)
    }

    /// A whole job spec for a tenant in `region`.
    pub fn spec(&mut self, n: u64, region: &str) -> JobSpec {
        let kind = self.kind();
        let accelerators = self.gang();
        let duration_s = self.duration_s();
        let latency = kind == JobKind::Inference && accelerators <= 8 && self.rng.random::<f64>() < 0.5;
        JobSpec {
            name: format!("{}-{n:05}", kind.as_str()),
            kind,
            accelerators,
            models: vec![],
            min_fp16_tflops: match kind {
                JobKind::Training => Some(100.0),
                JobKind::Inference => Some(60.0),
                JobKind::Batch => None,
            },
            min_memory_gb: (kind == JobKind::Training && accelerators >= 8).then_some(32),
            duration_s,
            deadline_ms: None,
            latency_slo_ms: latency.then_some(10),
            users_region: latency.then(|| region.to_string()),
            data_region: Some(region.to_string()),
            priority: self.rng.random_range(2..=6),
            max_price_per_hour: None,
            job_class: None,
            data_gb: (kind == JobKind::Training).then(|| (self.rng.random::<f64>() * 200.0).round()),
            preemptible: kind == JobKind::Batch,
            restartable: kind != JobKind::Inference,
            goal: Default::default(),
        }
    }
}

/// Submits demo jobs for the demo's SME tenants forever (until the task is dropped).
pub async fn job_stream(s: AppState, seed: u64) -> anyhow::Result<()> {
    let city = DemoCity::builtin();
    let mut generator = JobGenerator::new(city.workload, seed);
    let tenants: Vec<Tenant> = s.store.tenants().await?.into_iter().filter(|t| t.sme).collect();
    anyhow::ensure!(!tenants.is_empty(), "the demo city has no SME tenants");
    let mut n = 0u64;
    loop {
        let gap = generator.next_gap_s();
        tokio::time::sleep(std::time::Duration::from_secs_f64(gap.min(120.0))).await;
        // Only the leader's stream submits: a follower's writes would be refused.
        if !s.fence.leads() {
            continue;
        }
        n += 1;
        let tenant = &tenants[generator.rng.random_range(0..tenants.len())];
        let spec = generator.spec(n, &tenant.region);
        match crate::api::jobs::create_job(&s, "system:demo", tenant.id.clone(), spec).await {
            Ok(job) => tracing::debug!(job = %job.id, "demo job submitted"),
            Err(e) => tracing::debug!(error = ?e, "demo job refused"),
        }
    }
}

// ----- energy telemetry -----

const STEP_MS: i64 = 900_000;
const STEPS_PER_DAY: i64 = 96;
const LOCAL_OFFSET_MS: i64 = 8 * 3_600_000;
/// Counters start at local midnight of 2020-01-01 (days since the epoch), so a counter's value
/// at any moment is the same across restarts.
const COUNTER_EPOCH_DAY: i64 = 18_262;
/// Days of counters precomputed from the epoch (to 2060).
const COUNTER_DAYS: i64 = 40 * 366;
/// The telemetry's seed: fixed, so the seeded history and the live stream agree.
const TELEMETRY_SEED: u64 = 0x5a_2026;
/// Days of history the demo seeds.
pub const TELEMETRY_DAYS: i64 = 7;
/// Demo centres that fell silent a day ago (so coverage is below 100%).
pub const SILENT_CENTRES: usize = 2;

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A number in [-1, 1] from the seed, the centre and a key.
fn noise(seed: u64, centre: u64, key: i64) -> f64 {
    let h = splitmix(seed ^ splitmix(centre ^ splitmix(key as u64)));
    (h >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

fn name_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// One demo centre's meters as closed-form counters: IT power follows a diurnal curve scaled
/// by the racks and a per-day load; facility power is IT times a PUE that swings with the
/// afternoon heat and a per-day "weather" term around the centre's declared PUE.
#[derive(Debug, Clone)]
pub struct DemoMeters {
    key: u64,
    seed: u64,
    it_kw_base: f64,
    pue: f64,
    /// Per quarter-hour of the local day: IT load factor and PUE swing, with prefix sums.
    prefix_it: Vec<f64>,
    prefix_it_pue: Vec<f64>,
    shape_it: Vec<f64>,
    shape_pue: Vec<f64>,
    /// (facility, IT) counters at the start of each local day from the counter epoch.
    day_start: Vec<(f64, f64)>,
}

impl DemoMeters {
    pub fn new(centre: &Centre, seed: u64) -> DemoMeters {
        let key = name_hash(&centre.name_en);
        let (mut shape_it, mut shape_pue) = (Vec::new(), Vec::new());
        for j in 0..STEPS_PER_DAY {
            let hour = (j as f64 + 0.5) / 4.0;
            let phase = std::f64::consts::TAU * (hour - 9.0) / 24.0;
            shape_it.push(0.62 + 0.16 * phase.sin());
            shape_pue.push(0.05 * (std::f64::consts::TAU * (hour - 11.0) / 24.0).sin());
        }
        let (mut prefix_it, mut prefix_it_pue) = (vec![0.0], vec![0.0]);
        for j in 0..STEPS_PER_DAY as usize {
            prefix_it.push(prefix_it[j] + shape_it[j]);
            prefix_it_pue.push(prefix_it_pue[j] + shape_it[j] * shape_pue[j]);
        }
        let pue = centre.declared_pue + 0.02 + 0.04 * noise(seed, key, -2);
        let mut m = DemoMeters {
            key,
            seed,
            it_kw_base: centre.racks as f64 * (5.0 + 1.5 * noise(seed, key, -1)),
            pue,
            prefix_it,
            prefix_it_pue,
            shape_it,
            shape_pue,
            day_start: Vec::with_capacity(COUNTER_DAYS as usize),
        };
        let f0 = 1_000_000.0 * (1.0 + noise(seed, key, -3).abs());
        let (mut f, mut it) = (f0, f0 / pue);
        for d in 0..COUNTER_DAYS {
            m.day_start.push((f, it));
            let (df, di) = m.day_energy(COUNTER_EPOCH_DAY + d, STEPS_PER_DAY as usize);
            f += df;
            it += di;
        }
        m
    }

    /// The day's load factor and PUE offset.
    fn day(&self, d: i64) -> (f64, f64) {
        (1.0 + 0.06 * noise(self.seed, self.key, 2 * d), self.pue + 0.04 * noise(self.seed, self.key, 2 * d + 1))
    }

    /// (facility, IT) kWh of the first `j` quarter-hours of local day `d`.
    fn day_energy(&self, d: i64, j: usize) -> (f64, f64) {
        let (load, pue) = self.day(d);
        let it = self.it_kw_base * load * 0.25;
        (it * (pue * self.prefix_it[j] + self.prefix_it_pue[j]), it * self.prefix_it[j])
    }

    /// The (facility, IT) counters in kWh at `ts_ms`.
    pub fn counters(&self, ts_ms: UnixMs) -> (f64, f64) {
        let local = ts_ms + LOCAL_OFFSET_MS;
        let (d, in_day) = (local.div_euclid(86_400_000), local.rem_euclid(86_400_000));
        let (j, frac) = ((in_day / STEP_MS) as usize, (in_day % STEP_MS) as f64 / STEP_MS as f64);
        let d = d.clamp(COUNTER_EPOCH_DAY, COUNTER_EPOCH_DAY + COUNTER_DAYS - 1);
        let (f, it) = self.day_start[(d - COUNTER_EPOCH_DAY) as usize];
        let (df, di) = self.day_energy(d, j);
        let (load, pue) = self.day(d);
        let step_it = self.it_kw_base * load * 0.25 * self.shape_it[j.min(95)];
        let step_f = step_it * (pue + self.shape_pue[j.min(95)]);
        ((f + df + step_f * frac).max(0.0), (it + di + step_it * frac).max(0.0))
    }
}

/// The demo's live centres and the silent ones (chosen by the seed), by id.
async fn demo_meters(s: &AppState, seed: u64) -> anyhow::Result<(Vec<(Centre, DemoMeters)>, Vec<(Centre, DemoMeters)>)> {
    // Only the demo city's own centres: a centre someone registers later sends its own readings.
    let demo: std::collections::HashSet<String> = DemoCity::builtin().centre.into_iter().map(|c| c.name_en).collect();
    let mut centres: Vec<Centre> = s.store.centres(None).await?.into_iter().filter(|c| demo.contains(&c.name_en)).collect();
    centres.sort_by_key(|c| (splitmix(seed ^ name_hash(&c.name_en)), c.id.clone()));
    let all: Vec<(Centre, DemoMeters)> = centres.into_iter().map(|c| (c.clone(), DemoMeters::new(&c, seed))).collect();
    let cut = SILENT_CENTRES.min(all.len().saturating_sub(1));
    let (silent, live) = all.split_at(cut);
    Ok((live.to_vec(), silent.to_vec()))
}

fn readings_at(m: &DemoMeters, ts: UnixMs) -> [suanli_energy::Reading; 2] {
    use suanli_energy::{MeterId, Reading, ReadingValue};
    let (f, it) = m.counters(ts);
    let id = |s: &str| MeterId::parse(s).unwrap_or_else(|_| unreachable!("the default meter ids are valid"));
    [
        Reading { meter: id(suanli_energy::FACILITY_METER), ts_ms: ts, value: ReadingValue::CumulativeKwh((f * 1000.0).round() / 1000.0) },
        Reading { meter: id(suanli_energy::IT_METER), ts_ms: ts, value: ReadingValue::CumulativeKwh((it * 1000.0).round() / 1000.0) },
    ]
}

/// Seven days of 15-minute telemetry for every demo centre, through the ingest path, once; two
/// centres stop 26 hours ago.
async fn seed_telemetry(s: &AppState, now: UnixMs, history_days: i64) -> anyhow::Result<()> {
    if s.store.meta("demo_energy_seeded").await?.is_some() {
        return Ok(());
    }
    let (live, silent) = demo_meters(s, TELEMETRY_SEED).await?;
    let end = now.div_euclid(STEP_MS) * STEP_MS;
    let start = end - TELEMETRY_DAYS * 86_400_000;
    for (i, (centre, m)) in live.iter().chain(silent.iter()).enumerate() {
        let stop = if i >= live.len() { end - 26 * 3_600_000 } else { end };
        let mut readings = Vec::new();
        // Hourly history first (the ingest path takes each meter's readings in time order).
        let mut t = start - history_days.clamp(0, 800) * 86_400_000;
        while t < start {
            readings.extend(readings_at(m, t));
            t += 3_600_000;
        }
        let mut t = start;
        while t <= stop {
            readings.extend(readings_at(m, t));
            t += STEP_MS;
        }
        let report =
            s.energy.ingest_centre_as(Some("system:demo"), &centre.id, readings, now).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
        if !report.rejected.is_empty() {
            tracing::warn!(centre = %centre.id, rejected = report.rejected.len(), first = ?report.rejected.first(), "demo telemetry refused");
        }
    }
    let mut tx = s.store.begin().await?;
    tx.set_meta("demo_energy_seeded", "1").await?;
    tx.commit().await?;
    Ok(())
}

/// Appends a reading of each live demo centre's meters every minute of wall time.
pub async fn telemetry_stream(s: AppState) -> anyhow::Result<()> {
    let (live, _) = demo_meters(&s, TELEMETRY_SEED).await?;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // Only the leader's meters report: a follower's readings would be refused.
        if !s.fence.leads() {
            continue;
        }
        let now = s.ids.now_ms();
        let ts = now.div_euclid(60_000) * 60_000;
        for (centre, m) in &live {
            if let Err(e) = s.energy.ingest_centre_as(None, &centre.id, readings_at(m, ts).to_vec(), now).await {
                tracing::warn!(centre = %centre.id, error = ?e, "demo telemetry refused");
            }
        }
    }
}

/// A demo provider's registration as a Hangzhou enterprise (a made-up, well-formed credit code),
/// in its first centre's district, so it can apply for the providers' incentive programmes.
fn demo_registration(i: usize, region: Option<&str>) -> Option<suanli_core::centre::Registration> {
    let first17 = format!("91330100MA2P{i:02}XY7");
    let check = suanli_core::ident::uscc_check_char(&first17)?;
    Some(suanli_core::centre::Registration {
        uscc: suanli_core::ident::Uscc::parse(&format!("{first17}{check}")).ok()?,
        region: region.unwrap_or("hz-xihu").to_string(),
        sme: false,
    })
}
