//! The API's core request and response bodies (registry, tenants, jobs, city): money is a yuan decimal string here and i64 fen inside.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use suanli_core::catalogue::{Accelerator, Catalogue};
use suanli_core::centre::{Centre, CentreKind, PartnerStatus, Pool, Provider};
use suanli_core::city::ComputeSlice;
use suanli_core::job::{Goal, Job, JobKind, JobState};
use suanli_core::reason::{JobReason, StatedReason};
use suanli_core::region::Region;
use suanli_core::tenant::{Principal, Role, Tenant};
use suanli_core::time::format_date;
use utoipa::ToSchema;

/// A page of a list: follow `next_cursor` (as `?cursor=`) until it is null.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub store: String,
    pub version: String,
    /// This replica's id (`serve --replica`, default `hostname:pid`).
    pub replica: String,
    /// Whether this replica holds the leader lease now: it runs the dispatch rounds and takes
    /// writes; a follower answers reads itself and relays writes to it (always true on SQLite).
    pub leader: bool,
    /// The lease's term (the fencing token) this replica holds or last held; 0 if never.
    pub term: i64,
}

/// The fair-share account the scheduler orders tenants by: compute each received, halved
/// every `half_life_h` hours.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FairShareOut {
    /// When the figures are decayed to (unix ms).
    pub as_of_ms: i64,
    pub half_life_h: f64,
    /// Largest first.
    pub items: Vec<FairShareRow>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FairShareRow {
    pub tenant_id: String,
    /// FP16 PFLOP-seconds received, decayed to `as_of_ms`.
    pub pflop_s: f64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProviderOut {
    pub id: String,
    pub name: String,
    pub name_en: String,
    /// Its unified social credit code, when registered (what incentive programmes judge it on).
    pub uscc: Option<String>,
    /// The district it is registered in (a region id), when registered.
    pub region: Option<String>,
    pub sme: bool,
}

impl From<&Provider> for ProviderOut {
    fn from(p: &Provider) -> Self {
        let reg = p.registration.as_ref();
        ProviderOut {
            id: p.id.to_string(),
            name: p.name.clone(),
            name_en: p.name_en.clone(),
            uscc: reg.map(|r| r.uscc.as_str().to_string()),
            region: reg.map(|r| r.region.clone()),
            sme: reg.is_some_and(|r| r.sme),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProviderIn {
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    /// Its unified social credit code and district (a region id): both or neither. A provider
    /// applies for incentive programmes only once registered.
    #[serde(default)]
    pub uscc: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    /// A small or medium enterprise.
    #[serde(default)]
    pub sme: bool,
}

/// A change to a provider's registration: a field left out keeps its value; a provider
/// registered for the first time needs both `uscc` and `region`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderRegistrationIn {
    /// Its unified social credit code (GB 32100, check character verified).
    #[serde(default)]
    pub uscc: Option<String>,
    /// The district it is registered in (a region id).
    #[serde(default)]
    pub region: Option<String>,
    /// A small or medium enterprise.
    #[serde(default)]
    pub sme: Option<bool>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PoolOut {
    pub id: String,
    pub centre_id: String,
    pub accelerator: String,
    pub vendor: String,
    pub domestic: bool,
    pub nodes: u32,
    pub accelerators_per_node: u32,
    pub capacity: u32,
    /// List price per accelerator-hour, yuan.
    pub price_per_hour: String,
    pub partner_discount_pct: u8,
    /// Price after the partner discount, yuan.
    pub effective_price_per_hour: String,
    pub pflops_fp16: f64,
}

impl PoolOut {
    pub fn new(p: &Pool, catalogue: &Catalogue) -> PoolOut {
        let acc = catalogue.get(&p.accelerator);
        PoolOut {
            id: p.id.to_string(),
            centre_id: p.centre_id.to_string(),
            accelerator: p.accelerator.clone(),
            vendor: acc.map(|a| a.vendor.clone()).unwrap_or_default(),
            domestic: acc.is_some_and(|a| a.domestic),
            nodes: p.nodes,
            accelerators_per_node: p.accelerators_per_node,
            capacity: p.capacity(),
            price_per_hour: p.price_per_hour.to_yuan_string(),
            partner_discount_pct: p.partner_discount_pct,
            effective_price_per_hour: p.effective_price().to_yuan_string(),
            pflops_fp16: acc.map_or(0.0, |a| p.capacity() as f64 * a.fp16_tflops / 1000.0),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPoolIn {
    /// A model key from `GET /api/v1/accelerators`.
    pub accelerator: String,
    pub nodes: u32,
    pub accelerators_per_node: u32,
    /// Yuan per accelerator-hour, e.g. "9.80".
    pub price_per_hour: String,
    #[serde(default)]
    pub partner_discount_pct: u8,
}

/// A pool's new price; the discount keeps its value when left out.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolPriceIn {
    /// Yuan per accelerator-hour, e.g. "9.80".
    pub price_per_hour: String,
    pub partner_discount_pct: Option<u8>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CentreOut {
    pub id: String,
    pub provider_id: String,
    pub name: String,
    pub name_en: String,
    pub kind: CentreKind,
    pub region: String,
    pub partner_status: PartnerStatus,
    /// YYYY-MM-DD.
    pub commissioned: String,
    pub declared_pue: f64,
    pub racks: u32,
    pub rtt_ms: BTreeMap<String, u32>,
    pub accelerators: u64,
    pub pflops_fp16: f64,
    pub pools: Vec<PoolOut>,
    /// The backend its jobs go to (`slurm`, `agent`, `sim (demo)`); absent when it takes no jobs.
    pub backend: Option<String>,
    /// Why the centre's pools take no jobs now (bound to nothing, or its backend is silent).
    pub not_taking_jobs: Option<String>,
}

impl CentreOut {
    /// Adds where the centre's jobs go, as the bindings service says.
    pub fn with_reach(mut self, reach: Result<String, String>) -> CentreOut {
        match reach {
            Ok(b) => self.backend = Some(b),
            Err(why) => self.not_taking_jobs = Some(why),
        }
        self
    }
}

/// A centre's backend binding, as stored.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackendIn {
    /// `slurm+http://HOST:PORT[?partition=P]` (the token comes from the server's `SLURM_JWT`),
    /// `slurm+https://…`, `agent` (a `suanli agent` in the centre connects out), or `sim` (demo only).
    pub url: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BackendOut {
    pub centre_id: String,
    pub url: String,
    pub bound_by: String,
    pub bound_ms: i64,
}

impl CentreOut {
    pub fn new(c: &Centre, pools: &[&Pool], catalogue: &Catalogue) -> CentreOut {
        let pools: Vec<PoolOut> = pools.iter().map(|p| PoolOut::new(p, catalogue)).collect();
        CentreOut {
            id: c.id.to_string(),
            provider_id: c.provider_id.to_string(),
            name: c.name.clone(),
            name_en: c.name_en.clone(),
            kind: c.kind,
            region: c.region.clone(),
            partner_status: c.partner_status,
            commissioned: format_date(c.commissioned_ms),
            declared_pue: c.declared_pue,
            racks: c.racks,
            rtt_ms: c.rtt_ms.clone(),
            accelerators: pools.iter().map(|p| p.capacity as u64).sum(),
            pflops_fp16: pools.iter().map(|p| p.pflops_fp16).sum(),
            pools,
            backend: None,
            not_taking_jobs: None,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCentreIn {
    /// Required for the operator; a provider registers centres for itself.
    #[serde(default)]
    pub provider_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    pub kind: CentreKind,
    /// A region id from `GET /api/v1/regions`, e.g. "hz-binjiang".
    pub region: String,
    /// Only the operator may set it; new centres are applicants otherwise.
    #[serde(default)]
    pub partner_status: Option<PartnerStatus>,
    /// YYYY-MM-DD.
    pub commissioned: String,
    pub declared_pue: f64,
    pub racks: u32,
    #[serde(default)]
    pub rtt_ms: BTreeMap<String, u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerStatusIn {
    pub status: PartnerStatus,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TenantOut {
    pub id: String,
    pub name: String,
    pub name_en: String,
    pub uscc: String,
    pub sme: bool,
    pub region: String,
    /// Characters 3-8 of the credit code.
    pub division_code: String,
}

impl From<&Tenant> for TenantOut {
    fn from(t: &Tenant) -> Self {
        TenantOut {
            id: t.id.to_string(),
            name: t.name.clone(),
            name_en: t.name_en.clone(),
            uscc: t.uscc.as_str().to_string(),
            sme: t.sme,
            region: t.region.clone(),
            division_code: t.uscc.division_code().to_string(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenantIn {
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    /// Unified social credit code (GB 32100), 18 characters with a valid check digit.
    pub uscc: String,
    pub sme: bool,
    pub region: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobIn {
    /// Required when the operator submits on a tenant's behalf; ignored otherwise.
    #[serde(default)]
    pub tenant_id: Option<String>,
    pub name: String,
    pub kind: JobKind,
    /// Accelerators needed at once (one gang).
    pub accelerators: u32,
    /// Acceptable accelerator models; empty means any that meets the minimums.
    #[serde(default)]
    pub models: Vec<String>,
    #[serde(default)]
    pub min_fp16_tflops: Option<f64>,
    #[serde(default)]
    pub min_memory_gb: Option<u32>,
    /// Estimated run time in seconds on the reference accelerator (A100 80GB); faster models take less.
    pub duration_s: i64,
    /// Unix ms by which the job should finish.
    #[serde(default)]
    pub deadline_ms: Option<i64>,
    #[serde(default)]
    pub latency_slo_ms: Option<u32>,
    #[serde(default)]
    pub users_region: Option<String>,
    #[serde(default)]
    pub data_region: Option<String>,
    /// 0 (lowest) to 9 (highest); default 4.
    #[serde(default)]
    pub priority: Option<u8>,
    /// Most the tenant pays per accelerator-hour after discounts, yuan.
    #[serde(default)]
    pub max_price_per_hour: Option<String>,
    /// A measured job class whose per-model speeds override the FP16 TFLOPS ratio.
    #[serde(default)]
    pub job_class: Option<String>,
    /// Input data set size in GB, moved from `data_region` to the chosen centre.
    #[serde(default)]
    pub data_gb: Option<f64>,
    /// May a higher-priority job stop this one (default false)?
    #[serde(default)]
    pub preemptible: Option<bool>,
    /// May the platform start it again elsewhere if its centre goes dark while it runs (default false)?
    #[serde(default)]
    pub restartable: Option<bool>,
    /// balanced (default), cheapest, fastest or greenest.
    #[serde(default)]
    pub goal: Option<Goal>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobOut {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub kind: JobKind,
    pub state: JobState,
    pub accelerators: u32,
    pub models: Vec<String>,
    pub min_fp16_tflops: Option<f64>,
    pub min_memory_gb: Option<u32>,
    pub duration_s: i64,
    pub deadline_ms: Option<i64>,
    pub latency_slo_ms: Option<u32>,
    pub users_region: Option<String>,
    pub data_region: Option<String>,
    pub priority: u8,
    pub max_price_per_hour: Option<String>,
    pub job_class: Option<String>,
    pub data_gb: Option<f64>,
    pub preemptible: bool,
    pub restartable: bool,
    pub goal: Goal,
    pub pool_id: Option<String>,
    pub centre_id: Option<String>,
    pub submitted_ms: i64,
    pub placed_ms: Option<i64>,
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    /// Why the job waits, failed, or was cancelled, in English.
    pub reason: Option<String>,
    /// The reason's stable code (`waiting_for_accelerators`, `reserved`, `preempted`,
    /// `cancelled`, …), for programs and translations; absent for a reason stored before
    /// reasons were typed.
    #[serde(default)]
    pub reason_code: Option<String>,
    /// The reason typed: its `code` with its arguments beside it (money in fen, times in Unix
    /// milliseconds, durations in seconds), so a program need not read the English; absent
    /// when `reason_code` is.
    #[serde(default, deserialize_with = "lenient")]
    pub reason_detail: Option<JobReason>,
    /// For a failed job: whose fault (`job`: the tenant pays for what ran; `centre`: nothing).
    pub fault: Option<suanli_core::job::Fault>,
    /// Seconds per accelerator it ran on its pool.
    pub usage_s: Option<i64>,
    /// Metered cost, yuan.
    pub cost: Option<String>,
}

impl From<&Job> for JobOut {
    fn from(j: &Job) -> Self {
        let s = &j.spec;
        JobOut {
            id: j.id.to_string(),
            tenant_id: j.tenant_id.to_string(),
            name: s.name.clone(),
            kind: s.kind,
            state: j.state,
            accelerators: s.accelerators,
            models: s.models.clone(),
            min_fp16_tflops: s.min_fp16_tflops,
            min_memory_gb: s.min_memory_gb,
            duration_s: s.duration_s,
            deadline_ms: s.deadline_ms,
            latency_slo_ms: s.latency_slo_ms,
            users_region: s.users_region.clone(),
            data_region: s.data_region.clone(),
            priority: s.priority,
            max_price_per_hour: s.max_price_per_hour.map(|p| p.to_yuan_string()),
            job_class: s.job_class.clone(),
            data_gb: s.data_gb,
            preemptible: s.preemptible,
            restartable: s.restartable,
            goal: s.goal,
            pool_id: j.pool_id.as_ref().map(|p| p.to_string()),
            centre_id: j.centre_id.as_ref().map(|c| c.to_string()),
            submitted_ms: j.submitted_ms,
            placed_ms: j.placed_ms,
            started_ms: j.started_ms,
            finished_ms: j.finished_ms,
            reason: j.reason.as_ref().map(ToString::to_string),
            reason_code: reason_code(j),
            reason_detail: reason_detail(j.reason.as_ref()),
            fault: j.fault,
            usage_s: j.usage_s,
            cost: j.cost.map(|c| c.to_yuan_string()),
        }
    }
}

/// The stable code of a job's typed reason, if it has one.
pub fn reason_code(j: &Job) -> Option<String> {
    j.reason.as_ref().and_then(|r| r.typed()).map(|r| r.code().to_string())
}

/// A reason's typed form, if it has one (not a reason stored before reasons were typed).
pub fn reason_detail(r: Option<&StatedReason>) -> Option<JobReason> {
    r.and_then(StatedReason::typed).cloned()
}

/// A typed field read leniently: a value this build cannot read (a code a newer server added)
/// reads as the default — none, or empty — rather than failing the whole body; the English
/// text beside it still says it.
pub(crate) fn lenient<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::de::DeserializeOwned,
{
    let v = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(v).unwrap_or_default())
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelIn {
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Targets {
    pub open_compute_pflops_fp16: f64,
    pub high_performance_share: f64,
    pub monitoring_coverage: f64,
    pub new_dc_pue_limit: f64,
    /// Yuan per year.
    pub voucher_budget: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct JobCounts {
    pub pending: i64,
    pub placed: i64,
    pub running: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub cancelled: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CitySummary {
    /// Dense FP16 peak of all pools in partner centres.
    pub open_compute_pflops_fp16: f64,
    /// High-performance (intelligent + supercomputing) share of the open compute, 0..1.
    pub high_performance_share: f64,
    pub domestic_share: f64,
    pub targets: Targets,
    /// Open compute as a share of its target, 0..1 (may exceed 1).
    pub open_compute_progress: f64,
    pub centres: u32,
    pub partner_centres: u32,
    pub pools: u32,
    /// Accelerators of the open compute (partner centres' pools).
    pub accelerators: u64,
    /// Of `accelerators`, those running jobs now; `by_region`'s `accelerators_in_use` sum to it.
    pub accelerators_in_use: u64,
    pub tenants: u32,
    /// Ids of the new data centres (commissioned on or after the policy's start) whose measured
    /// annualised PUE is at or over the limit: the energy evaluation's failing `policy` checks.
    pub new_centres_over_pue_limit: Vec<String>,
    /// The same data centres, named, with their annualised PUE, worst first.
    pub over_pue_limit: Vec<OverPueLimitOut>,
    pub jobs: JobCounts,
    pub by_region: BTreeMap<String, ComputeSlice>,
    pub by_scope: BTreeMap<String, ComputeSlice>,
    pub by_vendor: BTreeMap<String, ComputeSlice>,
    pub by_class: BTreeMap<String, ComputeSlice>,
    /// This year's voucher programme: spent against its budget (absent if none is open).
    pub vouchers: Option<VoucherSummary>,
}

/// The policy's targets month by month (`GET /api/v1/city/trends`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CityTrends {
    /// Calendar months in Beijing time (`2026-11`), oldest first; the last is the current month, up to now.
    pub months: Vec<String>,
    pub trends: Vec<TrendOut>,
}

/// One target's value at each month.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrendOut {
    /// `open_compute` (PFLOPS FP16 at the month's end), `high_performance_share` (0..1),
    /// `new_dc_pue` (the worst monthly PUE of the new data centres), `voucher_spending` (spent in
    /// the calendar year up to the month's end).
    pub key: String,
    /// `PFLOPS`, `share`, `PUE` or `yuan`; a `yuan` trend's target and values are yuan decimal
    /// strings (`"1234.50"`), as every sum of money in the API; the others' are numbers.
    pub unit: String,
    pub target: TrendValue,
    /// `at_least`, `below` or `at_most` the target.
    pub rule: String,
    /// One per month of `months`; null where nothing was measured.
    pub values: Vec<Option<TrendValue>>,
    /// Whether the latest month with a value meets the target; null without any value.
    pub met: Option<bool>,
}

/// A trend's target or monthly value: a measured figure, or money as a yuan decimal string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TrendValue {
    Number(f64),
    /// Yuan, to the fen (`"1234.50"`).
    Yuan(String),
}

/// A new data centre over the PUE limit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OverPueLimitOut {
    pub id: String,
    pub name: String,
    pub name_en: String,
    /// Measured over the last year, rounded to two decimals as reported.
    pub annualised_pue: f64,
}

/// The voucher programme's money, for the city summary. Yuan strings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VoucherSummary {
    pub programme_id: String,
    pub year: i32,
    pub budget: String,
    pub issued: String,
    pub spent: String,
    pub held: String,
    pub remaining: String,
    /// spent / budget, 0..1.
    pub spent_share: f64,
    pub enterprises: i64,
    pub pending_applications: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub user_id: String,
    pub name: String,
    pub role: Role,
    pub tenant_id: Option<String>,
    pub provider_id: Option<String>,
}

impl From<&Principal> for Me {
    fn from(p: &Principal) -> Self {
        Me {
            user_id: p.user_id.to_string(),
            name: p.name.clone(),
            role: p.role,
            tenant_id: p.tenant_id.as_ref().map(|t| t.to_string()),
            provider_id: p.provider_id.as_ref().map(|t| t.to_string()),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserIn {
    pub name: String,
    pub role: Role,
    /// Required for role tenant.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// Required for role provider.
    #[serde(default)]
    pub provider_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserCreated {
    pub user: Me,
    /// The bearer token; shown once, stored only as a hash.
    pub token: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditOut {
    pub id: String,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AcceleratorList {
    pub items: Vec<Accelerator>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RegionList {
    pub items: Vec<Region>,
}

/// A price comparison for a job before it is submitted.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QuoteOut {
    /// The best by the job's goal (the scheduler's choice if submitted now).
    pub recommended: Option<suanli_sched::EstimateView>,
    pub cheapest: Option<suanli_sched::EstimateView>,
    pub fastest: Option<suanli_sched::EstimateView>,
    pub greenest: Option<suanli_sched::EstimateView>,
    /// Every feasible pool (at most 20, plus the winners), best objective first.
    pub options: Vec<suanli_sched::EstimateView>,
}

impl From<&suanli_sched::quote::Quote> for QuoteOut {
    fn from(q: &suanli_sched::quote::Quote) -> QuoteOut {
        let at = |i: Option<usize>| i.and_then(|i| q.options.get(i)).map(|e| e.view());
        QuoteOut {
            recommended: at(q.recommended),
            cheapest: at(q.cheapest),
            fastest: at(q.fastest),
            greenest: at(q.greenest),
            options: q.options.iter().map(|e| e.view()).collect(),
        }
    }
}

/// Why the scheduler placed a job where it did.
// Its own schema name: data sharing's `DecisionOut` would otherwise replace it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = PlacementDecisionOut)]
pub struct DecisionOut {
    pub decided_ms: i64,
    pub policy: String,
    pub chosen: suanli_sched::EstimateView,
    /// The next-best pools that had room, best first.
    pub alternatives: Vec<suanli_sched::EstimateView>,
    /// Jobs preempted to make room.
    pub preempted: Vec<String>,
    /// Placed around a reservation for another job, without delaying it.
    pub backfilled: bool,
    /// The tenant's weighted fair share when the job was considered (lower goes first).
    pub fair_share_pflop_s: f64,
}

impl From<suanli_sched::Decision> for DecisionOut {
    fn from(d: suanli_sched::Decision) -> DecisionOut {
        let suanli_sched::Decision { decided_ms, policy, chosen, alternatives, preempted, backfilled, fair_share_pflop_s } = d;
        DecisionOut { decided_ms, policy, chosen, alternatives, preempted, backfilled, fair_share_pflop_s }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExplainOut {
    pub job_id: String,
    pub state: JobState,
    /// Why it waits, failed, or was cancelled, in English.
    pub reason: Option<String>,
    /// The reason's stable code, as in the job's body.
    #[serde(default)]
    pub reason_code: Option<String>,
    /// The reason typed, as in the job's body.
    #[serde(default, deserialize_with = "lenient")]
    pub reason_detail: Option<JobReason>,
    /// The placement decision, once the job was placed.
    pub decision: Option<DecisionOut>,
    /// For a pending job: the options it has now.
    pub options_now: Option<QuoteOut>,
    /// Under time-slicing: the job's stopped runs, oldest first, each with why it stopped
    /// (its lease ended and it yielded or moved to another type, or it was preempted). Its
    /// last run is the job's own `usage_s` and `cost`; its bill charges all of them.
    pub segments: Vec<SegmentOut>,
}

/// One stopped run of a time-sliced job.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SegmentOut {
    pub seq: u32,
    pub centre_id: String,
    pub pool_id: String,
    pub accelerator: String,
    pub started_ms: i64,
    pub ended_ms: i64,
    /// Seconds per accelerator it ran, as metered when it was stopped.
    pub usage_s: i64,
    /// Seconds of the job's reference duration it completed (restore time excluded).
    pub work_ref_s: i64,
    /// What it ran, at its pool's price, yuan.
    pub cost: String,
    pub ended_by: suanli_core::job::SegmentEnd,
    /// Why it stopped, in English.
    pub reason: String,
    /// The reason's stable code (`lease_yielded`, `lease_moved`, `preempted`); absent for a
    /// segment stored before segments' reasons were typed.
    #[serde(default)]
    pub reason_code: Option<String>,
    /// The reason typed, as in a job's body.
    #[serde(default, deserialize_with = "lenient")]
    pub reason_detail: Option<JobReason>,
}

impl From<&suanli_core::job::Segment> for SegmentOut {
    fn from(s: &suanli_core::job::Segment) -> SegmentOut {
        SegmentOut {
            seq: s.seq,
            centre_id: s.centre_id.to_string(),
            pool_id: s.pool_id.to_string(),
            accelerator: s.accelerator.clone(),
            started_ms: s.started_ms,
            ended_ms: s.ended_ms,
            usage_s: s.usage_s,
            work_ref_s: s.work_ref_s,
            cost: s.cost.to_yuan_string(),
            ended_by: s.end,
            reason: s.reason.to_string(),
            reason_code: s.reason.typed().map(|r| r.code().to_string()),
            reason_detail: reason_detail(Some(&s.reason)),
        }
    }
}
