//! Why a job is where it is, typed: one variant per kind of reason the platform writes, each with a stable code and its English and Chinese text from one table.
//!
//! The English (`Display`) is the text the API has always answered in a job's `reason`; the
//! Chinese (`zh`) is what Chinese pages show. Both come from [`JobReason::forms`], so a reworded
//! message cannot lose its translation. Money is whole yuan or fen (integers, never floats) and
//! times are UTC instants: English writes them in RFC 3339, Chinese in Beijing time.

use crate::id::{CentreId, JobId, PoolId};
use crate::money::Fen;
use crate::time::UnixMs;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a pool cannot run a job even when empty, in the order the scheduler checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Misfit {
    CentreNotPartner,
    ModelNotAccepted,
    TooSmall,
    TooExpensive,
    TooFar,
}

impl Misfit {
    pub const ALL: [Misfit; 5] =
        [Misfit::CentreNotPartner, Misfit::ModelNotAccepted, Misfit::TooSmall, Misfit::TooExpensive, Misfit::TooFar];

    pub fn describe(self) -> &'static str {
        match self {
            Misfit::CentreNotPartner => "no partner centre offers it (applicant and suspended centres take no jobs)",
            Misfit::ModelNotAccepted => "no pool has an accelerator model that meets the requirement",
            Misfit::TooSmall => "no pool of an acceptable model has enough accelerators for the whole gang",
            Misfit::TooExpensive => "every pool that fits costs more than the job's max price per accelerator-hour",
            Misfit::TooFar => "no pool that fits is within the latency SLO of the users' region",
        }
    }

    pub fn describe_zh(self) -> &'static str {
        match self {
            Misfit::CentreNotPartner => "没有合作中心提供（申请中和暂停的中心不接作业）",
            Misfit::ModelNotAccepted => "没有资源池的加速卡型号满足要求",
            Misfit::TooSmall => "满足要求的型号中没有资源池有足够的加速卡容纳整组作业",
            Misfit::TooExpensive => "满足要求的资源池价格都高于作业设定的每卡时最高价",
            Misfit::TooFar => "满足要求的资源池都不在用户所在区域的时延要求之内",
        }
    }
}

/// Who cancelled a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Canceller {
    Tenant,
    Operator,
}

/// Why a job is where it is: waiting (and for what), moved back to waiting, cancelled, or failed.
/// Stored (and answered by the API as `reason_detail`) as JSON tagged by its `code`, its
/// arguments beside it: money in fen, times in Unix milliseconds, durations in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum JobReason {
    /// The city has no pools (or no catalogue) at all.
    NoPools,
    /// No pool could run it even when empty (a baseline policy's word for every misfit).
    NoFeasiblePool,
    /// No pool could run it even when empty, by the furthest check any pool passed.
    Misfit {
        misfit: Misfit,
    },
    /// FIFO: the head of the queue waits, and everything behind it.
    BehindHead,
    WaitingForAccelerators {
        accelerators: u32,
    },
    /// Placed in a round, then given back to a job that gains more from the pool.
    Displaced {
        accelerators: u32,
    },
    /// A busy pool, once free, beats the best free one by more than waiting costs (whole yuan).
    WaitingForBetterPool {
        best_free_yuan: i64,
        busy_yuan: i64,
        wait_yuan_per_hour: i64,
    },
    /// Deferred within its deadline to an hour when the region's grid is cleaner.
    DeferredToCleanerHour {
        hours: u32,
        region: String,
        cleaner_pct: i64,
    },
    /// Accelerators reserved for it; later jobs backfill around the reservation.
    Reserved {
        accelerators: u32,
        pool: PoolId,
        start_ms: UnixMs,
    },
    /// Its hold failed: the tenant's money cannot cover the estimate.
    WaitingForFunds {
        /// Fen.
        #[cfg_attr(feature = "openapi", schema(value_type = i64))]
        estimate: Fen,
        voucher_pct: u8,
        /// Fen.
        #[cfg_attr(feature = "openapi", schema(value_type = i64))]
        cash_available: Fen,
    },
    CentreSilentBeforeStart {
        centre: CentreId,
    },
    CentreSilentWhileRunning {
        centre: CentreId,
    },
    Preempted {
        by: JobId,
        progress_kept: bool,
    },
    /// Time-slicing: its lease ended and another job took its accelerators.
    LeaseYielded {
        policy: String,
        left_s: i64,
    },
    /// Time-slicing: its lease ended and it moved to another accelerator type of its centre.
    LeaseMoved {
        from_pool: PoolId,
        from_accelerator: String,
        to_pool: PoolId,
        to_accelerator: String,
        there_s: i64,
        here_s: i64,
        restore_s: i64,
    },
    /// Time-slicing: why a lease starts (what the audit record says).
    Lease {
        lease_s: i64,
        pool: PoolId,
        accelerator: String,
        policy: String,
    },
    /// Time-slicing: it ran before and waits for a lease at its checkpoint's centre.
    WaitingForLease {
        centre: Option<CentreId>,
        runs: u32,
    },
    Cancelled {
        by: Canceller,
        note: Option<String>,
    },
    CancelledUnfunded,
    /// The demo's simulated backend failing a run on purpose (its injected node failures): the
    /// centre's fault, typed so that it reads in both languages.
    SimulatedNodeFailure,
    /// A failed run as its centre's backend reported it, in the backend's own words.
    Failed {
        detail: String,
    },
    /// The centre's usage report contradicted itself or the platform: nothing is billed.
    UsageRefused {
        detail: String,
    },
}

/// A part of a reason's text that varies, filling `{0}`, `{1}`, … of its forms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg<'a> {
    Count(i64),
    /// A measured figure written with this many decimals in both languages (a PUE, a score, a
    /// percentage).
    Fixed(f64, usize),
    /// An id or a code (pool, centre, job, policy), shown as it is.
    Id(&'a str),
    Region(&'a str),
    Accelerator(&'a str),
    Money(Fen),
    Time(UnixMs),
    /// What a person or a backend wrote: shown as written, never translated.
    Words(&'a str),
}

/// A reason's English form, Chinese form and the parts that fill them.
pub struct Forms<'a> {
    pub en: &'static str,
    pub zh: &'static str,
    pub args: Vec<Arg<'a>>,
}

impl JobReason {
    /// The stable snake_case code (also the `code` of its stored JSON).
    pub fn code(&self) -> &'static str {
        match self {
            JobReason::NoPools => "no_pools",
            JobReason::NoFeasiblePool => "no_feasible_pool",
            JobReason::Misfit { .. } => "misfit",
            JobReason::BehindHead => "behind_head",
            JobReason::WaitingForAccelerators { .. } => "waiting_for_accelerators",
            JobReason::Displaced { .. } => "displaced",
            JobReason::WaitingForBetterPool { .. } => "waiting_for_better_pool",
            JobReason::DeferredToCleanerHour { .. } => "deferred_to_cleaner_hour",
            JobReason::Reserved { .. } => "reserved",
            JobReason::WaitingForFunds { .. } => "waiting_for_funds",
            JobReason::CentreSilentBeforeStart { .. } => "centre_silent_before_start",
            JobReason::CentreSilentWhileRunning { .. } => "centre_silent_while_running",
            JobReason::Preempted { .. } => "preempted",
            JobReason::LeaseYielded { .. } => "lease_yielded",
            JobReason::LeaseMoved { .. } => "lease_moved",
            JobReason::Lease { .. } => "lease",
            JobReason::WaitingForLease { .. } => "waiting_for_lease",
            JobReason::Cancelled { .. } => "cancelled",
            JobReason::CancelledUnfunded => "cancelled_unfunded",
            JobReason::SimulatedNodeFailure => "simulated_node_failure",
            JobReason::Failed { .. } => "failed",
            JobReason::UsageRefused { .. } => "usage_refused",
        }
    }

    /// Whether room alone would end the wait (not a reservation, a deferral or a lack of money).
    pub fn waits_for_room(&self) -> bool {
        matches!(self, JobReason::WaitingForAccelerators { .. } | JobReason::Displaced { .. } | JobReason::WaitingForBetterPool { .. })
    }

    /// The one table of the platform's reasons: English and Chinese side by side.
    pub fn forms(&self) -> Forms<'_> {
        use Arg::*;
        let f = |en, zh, args| Forms { en, zh, args };
        match self {
            JobReason::NoPools => f("no pools in the city", "全市暂无资源池", vec![]),
            JobReason::NoFeasiblePool => f("no feasible pool", "暂无满足要求的资源池", vec![]),
            JobReason::Misfit { misfit } => f(misfit.describe(), misfit.describe_zh(), vec![]),
            JobReason::BehindHead => f("behind the head of the queue (FIFO)", "排在队首作业之后（先进先出）", vec![]),
            JobReason::WaitingForAccelerators { accelerators } => f(
                "waiting for {0} free accelerators in a feasible pool",
                "等待满足要求的资源池空出 {0} 张加速卡",
                vec![Count(i64::from(*accelerators))],
            ),
            JobReason::Displaced { accelerators } => f(
                "waiting for {0} free accelerators: displaced by a job that gains more from the pool",
                "等待 {0} 张空闲加速卡：资源池已让给收益更高的作业",
                vec![Count(i64::from(*accelerators))],
            ),
            JobReason::WaitingForBetterPool { best_free_yuan, busy_yuan, wait_yuan_per_hour } => f(
                "waiting for a better pool: the best free one scores ¥{0}, a busy one ¥{1}, and waiting costs about ¥{2} an hour",
                "等待更合适的资源池：空闲资源池中最优的综合成本为 ¥{0}，忙碌资源池为 ¥{1}，每等待一小时约折合 ¥{2}",
                vec![Count(*best_free_yuan), Count(*busy_yuan), Count(*wait_yuan_per_hour)],
            ),
            JobReason::DeferredToCleanerHour { hours, region, cleaner_pct } => f(
                "deferred {0} h to a cleaner hour: the grid at {1} is {2}% cleaner then, within the deadline",
                "推迟 {0} 小时到更清洁的时段：届时 {1} 电网的碳排放低 {2}%，仍在截止时间内",
                vec![Count(i64::from(*hours)), Region(region), Count(*cleaner_pct)],
            ),
            JobReason::Reserved { accelerators, pool, start_ms } => f(
                "reserved {0} accelerators of {1} from {2} (later jobs backfill without delaying it)",
                "已预留资源池 {1} 的 {0} 张加速卡，自 {2} 起（后续作业回填，不会推迟它）",
                vec![Count(i64::from(*accelerators)), Id(pool.as_str()), Time(*start_ms)],
            ),
            JobReason::WaitingForFunds { estimate, voucher_pct, cash_available } => f(
                "waiting for funds: placing it needs a hold of up to {0} (vouchers pay {1}% while they last), and the cash balance has {2} available (top up, or apply for vouchers)",
                "等待资金：调度此作业需预扣至多 {0}（算力券余额足够时承担 {1}%），现金余额可用 {2}（请充值或申请算力券）",
                vec![Money(*estimate), Count(i64::from(*voucher_pct)), Money(*cash_available)],
            ),
            JobReason::CentreSilentBeforeStart { centre } => f(
                "centre {0} stopped answering before the job started; it is placed again",
                "算力中心 {0} 在作业开始前失去响应，作业重新调度",
                vec![Id(centre.as_str())],
            ),
            JobReason::CentreSilentWhileRunning { centre } => f(
                "centre {0} went silent while it ran; it starts again elsewhere (the lost run is not billed)",
                "算力中心 {0} 在作业运行中失去响应，作业改在别处重新开始（丢失的运行不计费）",
                vec![Id(centre.as_str())],
            ),
            JobReason::Preempted { by, progress_kept: true } => f(
                "preempted by higher-priority job {0}; it resumes with its progress kept",
                "被更高优先级的作业 {0} 抢占，恢复时保留进度",
                vec![Id(by.as_str())],
            ),
            JobReason::Preempted { by, progress_kept: false } => f(
                "preempted by higher-priority job {0}; it restarts when placed again",
                "被更高优先级的作业 {0} 抢占，再次调度时从头开始",
                vec![Id(by.as_str())],
            ),
            _ => self.more_forms(),
        }
    }

    /// The rest of [`forms`](JobReason::forms): time-slicing, cancellations and failures.
    fn more_forms(&self) -> Forms<'_> {
        use Arg::*;
        let f = |en, zh, args| Forms { en, zh, args };
        match self {
            JobReason::LeaseYielded { policy, left_s } => f(
                "its lease ended and the {0} policy gave its accelerators to another job; it resumes with its progress kept ({1} s of work left here)",
                "租期结束，{0} 策略将加速卡分给了其他作业；恢复时保留进度（此处尚余 {1} 秒工作量）",
                vec![Id(policy), Count(*left_s)],
            ),
            JobReason::LeaseMoved { from_pool, from_accelerator, to_pool, to_accelerator, there_s, here_s, restore_s } => f(
                "its lease ended and it moved from {0} ({1}) to {2} ({3}): {4} s left there against {5} s here, {6} s of checkpoint restore included",
                "租期结束，作业从资源池 {0}（{1}）迁移到 {2}（{3}）：在新资源池尚需 {4} 秒，原资源池需 {5} 秒，含 {6} 秒检查点恢复",
                vec![
                    Id(from_pool.as_str()),
                    Accelerator(from_accelerator),
                    Id(to_pool.as_str()),
                    Accelerator(to_accelerator),
                    Count(*there_s),
                    Count(*here_s),
                    Count(*restore_s),
                ],
            ),
            JobReason::Lease { lease_s, pool, accelerator, policy } => f(
                "a {0} lease on {1} ({2}) under the {3} policy",
                "按 {3} 策略在资源池 {1}（{2}）上租用 {0} 秒",
                vec![Count(*lease_s), Id(pool.as_str()), Accelerator(accelerator), Id(policy)],
            ),
            JobReason::WaitingForLease { centre, runs } => f(
                "waiting for its next time-sliced lease at centre {0}, where its checkpoint is ({1} runs so far)",
                "等待在算力中心 {0}（检查点所在）的下一次分时租期（已运行 {1} 段）",
                vec![Id(centre.as_ref().map_or("", |c| c.as_str())), Count(i64::from(*runs))],
            ),
            JobReason::Cancelled { by: Canceller::Tenant, note: None } => f("cancelled by tenant", "已由企业取消", vec![]),
            JobReason::Cancelled { by: Canceller::Operator, note: None } => f("cancelled by operator", "已由运营方取消", vec![]),
            JobReason::Cancelled { by: Canceller::Tenant, note: Some(n) } => {
                f("cancelled by tenant: {0}", "已由企业取消，原因：{0}", vec![Words(n)])
            }
            JobReason::Cancelled { by: Canceller::Operator, note: Some(n) } => {
                f("cancelled by operator: {0}", "已由运营方取消，原因：{0}", vec![Words(n)])
            }
            JobReason::CancelledUnfunded => f(
                "cancelled: it waited for funds longer than the platform allows (top up or apply for vouchers, then submit again)",
                "已取消：等待资金的时间超过平台允许的上限（请充值或申请算力券后重新提交）",
                vec![],
            ),
            JobReason::SimulatedNodeFailure => f("simulated node failure", "运行失败：模拟的节点故障（演示用的模拟后端）", vec![]),
            JobReason::Failed { detail } => f("{0}", "运行失败，算力中心报告：{0}", vec![Words(detail)]),
            JobReason::UsageRefused { detail } => f(
                "the centre's report was refused ({0}); nothing is billed [usage_report_refused]",
                "算力中心的用量报告被拒绝（{0}），不计费",
                vec![Words(detail)],
            ),
            _ => unreachable!("forms() answers the others"),
        }
    }

    /// The Chinese text, times in Beijing time ("2026-12-02 15:04:05 (UTC+8)").
    pub fn zh(&self) -> String {
        let forms = self.forms();
        fill(forms.zh, &forms.args, |a| match a {
            Arg::Time(ms) => beijing(*ms),
            other => plain(other),
        })
    }
}

impl fmt::Display for JobReason {
    /// The English text, times in RFC 3339 UTC: what the API's `reason` has always said.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let forms = self.forms();
        f.write_str(&fill(forms.en, &forms.args, |a| match a {
            Arg::Time(ms) => crate::time::format_rfc3339(*ms),
            other => plain(other),
        }))
    }
}

/// An argument as plain text (times excepted: each language writes them its own way).
pub fn plain(a: &Arg<'_>) -> String {
    match a {
        Arg::Count(n) => n.to_string(),
        Arg::Fixed(x, places) => format!("{x:.places$}"),
        Arg::Id(s) | Arg::Region(s) | Arg::Accelerator(s) | Arg::Words(s) => (*s).to_string(),
        Arg::Money(f) => f.to_string(),
        Arg::Time(ms) => crate::time::format_rfc3339(*ms),
    }
}

/// "2026-12-02 15:04:05 (UTC+8)" for a UTC instant.
pub fn beijing(ms: UnixMs) -> String {
    let s = crate::time::format_rfc3339(ms + 8 * 3_600_000);
    format!("{} (UTC+8)", s.trim_end_matches('Z').replacen('T', " ", 1))
}

/// `form` with each `{i}` replaced by `show(&args[i])`, in one pass (an argument's own text is
/// never read as a placeholder).
pub fn fill(form: &str, args: &[Arg<'_>], mut show: impl FnMut(&Arg<'_>) -> String) -> String {
    let mut out = String::with_capacity(form.len() + 16);
    let mut rest = form;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map(|c| open + c);
        let index = close.and_then(|c| rest[open + 1..c].parse::<usize>().ok()).filter(|&i| i < args.len());
        match (close, index) {
            (Some(c), Some(i)) => {
                out.push_str(&rest[..open]);
                out.push_str(&show(&args[i]));
                rest = &rest[c + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = &rest[open + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A whole number of yuan from a score the scheduler computed in floating point, rounded as the
/// English text has always printed it (`{:.0}`: half to even).
pub fn whole(x: f64) -> i64 {
    x.round_ties_even() as i64
}

/// A job's reason as the store holds it: typed, or only the English text of a row written
/// before reasons were typed (which Chinese pages show as untranslated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StatedReason {
    Typed(JobReason),
    Untyped(String),
}

impl StatedReason {
    pub fn typed(&self) -> Option<&JobReason> {
        match self {
            StatedReason::Typed(r) => Some(r),
            StatedReason::Untyped(_) => None,
        }
    }

    /// Whether this is the same reason as `r` (an untyped one never is).
    pub fn is(&self, r: &JobReason) -> bool {
        self.typed() == Some(r)
    }
}

impl From<JobReason> for StatedReason {
    fn from(r: JobReason) -> StatedReason {
        StatedReason::Typed(r)
    }
}

impl fmt::Display for StatedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatedReason::Typed(r) => r.fmt(f),
            StatedReason::Untyped(t) => f.write_str(t),
        }
    }
}

#[cfg(test)]
mod tests;
