//! The policy's targets month by month (Beijing calendar months), each defined once for the overview's trends chart and `GET /api/v1/city/trends`: open compute and its high-performance share at each month's end, the worst monthly PUE of the new data centres against the limit, and voucher spending in the year against the budget (in fen: money is never a float here).

use crate::Energy;
use serde::Serialize;
use std::collections::HashMap;
use suanli_core::catalogue::Catalogue;
use suanli_core::centre::PartnerStatus;
use suanli_core::city::{Policy, city_totals};
use suanli_core::error::{Error, ErrorCode};
use suanli_core::money::Fen;
use suanli_core::region::Regions;
use suanli_core::time::{MS_PER_DAY, UnixMs, civil_from_days, days_from_civil};
use suanli_energy::EnergyBook;
use suanli_incentives::partner::{self, PartnerChange};
use suanli_store::{Store, StoreError};

/// Beijing time's offset from UTC: months are the city's calendar months.
const OFFSET_MS: i64 = 8 * 3_600_000;

/// How many months the trends cover, the current one included.
pub const MONTHS: usize = 12;

/// One calendar month in Beijing time, cut at `now` for the current one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Month {
    /// `2026-11`.
    pub month: String,
    pub from_ms: UnixMs,
    /// The next month's start, or now for the current month.
    pub to_ms: UnixMs,
}

/// The last `n` calendar months up to `now_ms` (Beijing time), oldest first.
pub fn months(now_ms: UnixMs, n: usize) -> Vec<Month> {
    let now = month_index(now_ms);
    month_run(now - (n as i64 - 1), now, now_ms)
}

/// A calendar month as `year * 12 + month - 1`, the month of `ms` in Beijing time.
fn month_index(ms: UnixMs) -> i64 {
    let (y, m, _) = civil_from_days((ms + OFFSET_MS).div_euclid(MS_PER_DAY));
    y * 12 + (m - 1)
}

/// The months `first..=last` (as [`month_index`]), each cut at `now_ms`, oldest first.
fn month_run(first: i64, last: i64, now_ms: UnixMs) -> Vec<Month> {
    let start = |k: i64| days_from_civil(k.div_euclid(12), k.rem_euclid(12) + 1, 1) * MS_PER_DAY - OFFSET_MS;
    (first..=last)
        .map(|k| Month {
            month: format!("{}-{:02}", k.div_euclid(12), k.rem_euclid(12) + 1),
            from_ms: start(k),
            to_ms: start(k + 1).min(now_ms),
        })
        .collect()
}

/// The most months one request of the trends may span (ten years).
pub const MAX_MONTHS: usize = 120;

/// Which calendar months the trends cover: the web's month picker and the API's `span`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MonthSpan {
    /// The last 12 months, this one included.
    #[default]
    Last12,
    /// The last 24 months.
    Last24,
    /// January of this year (Beijing time) to now.
    YearToDate,
    /// Whole calendar months from the first to the last (as `year * 12 + month - 1`).
    Between(i64, i64),
}

impl MonthSpan {
    /// Its value in a query: `12m`, `24m`, `ytd` or `custom`.
    pub fn param(self) -> &'static str {
        match self {
            MonthSpan::Last12 => "12m",
            MonthSpan::Last24 => "24m",
            MonthSpan::YearToDate => "ytd",
            MonthSpan::Between(..) => "custom",
        }
    }

    /// Reads a span as a query writes it; `custom` takes `from` and `to` as `YYYY-MM`: the first
    /// not after the last, the last not after this month, from 2000-01, at most [`MAX_MONTHS`].
    pub fn parse(span: &str, from: &str, to: &str, now_ms: UnixMs) -> Result<MonthSpan, Error> {
        let bad = |m: &str| Error::new(ErrorCode::InvalidDate, m.to_string());
        match span {
            "" | "12m" => Ok(MonthSpan::Last12),
            "24m" => Ok(MonthSpan::Last24),
            "ytd" => Ok(MonthSpan::YearToDate),
            "custom" => {
                let month = |s: &str| -> Option<i64> {
                    let (y, m) = s.trim().split_once('-')?;
                    let (y, m): (i64, i64) = (y.parse().ok()?, m.parse().ok()?);
                    (y.to_string().len() == 4 && (1..=12).contains(&m)).then_some(y * 12 + m - 1)
                };
                let first = month(from).ok_or_else(|| bad("from: a month is written YYYY-MM"))?;
                let last = month(to).ok_or_else(|| bad("to: a month is written YYYY-MM"))?;
                if first > last {
                    return Err(bad("from may not be after to"));
                }
                if last > month_index(now_ms) {
                    return Err(bad("to may not be after this month (Beijing time)"));
                }
                if first < 2000 * 12 {
                    return Err(bad("from may not be before 2000-01"));
                }
                if (last - first + 1) as usize > MAX_MONTHS {
                    return Err(bad("a span covers at most 120 months"));
                }
                Ok(MonthSpan::Between(first, last))
            }
            _ => Err(bad("span is 12m, 24m, ytd or custom")),
        }
    }

    /// Its months up to `now_ms`, oldest first.
    pub fn months(self, now_ms: UnixMs) -> Vec<Month> {
        let now = month_index(now_ms);
        match self {
            MonthSpan::Last12 => month_run(now - 11, now, now_ms),
            MonthSpan::Last24 => month_run(now - 23, now, now_ms),
            MonthSpan::YearToDate => month_run(now - now.rem_euclid(12), now, now_ms),
            MonthSpan::Between(first, last) => month_run(first, last.min(now), now_ms),
        }
    }

    /// The first and last months, `YYYY-MM`, of a custom span.
    pub fn bounds(self) -> Option<(String, String)> {
        let ym = |k: i64| format!("{}-{:02}", k.div_euclid(12), k.rem_euclid(12) + 1);
        match self {
            MonthSpan::Between(a, b) => Some((ym(a), ym(b))),
            _ => None,
        }
    }
}

/// How a value meets its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// At least the target (open compute, high-performance share).
    AtLeast,
    /// Below the target (the new data centres' PUE).
    Below,
    /// At most the target (voucher spending against the budget).
    AtMost,
}

impl Rule {
    /// Whether `value` meets `target` (money compared in fen, exactly).
    pub fn met(self, value: Amount, target: Amount) -> bool {
        use std::cmp::Ordering::{Greater, Less};
        let order = match (value, target) {
            (Amount::Money(v), Amount::Money(t)) => Some(v.cmp(&t)),
            _ => value.as_f64().partial_cmp(&target.as_f64()),
        };
        match (self, order) {
            (_, None) => false,
            (Rule::AtLeast, Some(o)) => o != Less,
            (Rule::Below, Some(o)) => o == Less,
            (Rule::AtMost, Some(o)) => o != Greater,
        }
    }
}

/// A target's or a month's value: a measured figure, or money in fen (never a float).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Amount {
    Figure(f64),
    Money(Fen),
}

impl Amount {
    /// The value to draw: the figure, or the money in yuan (a chart's position, never a sum).
    pub fn as_f64(self) -> f64 {
        match self {
            Amount::Figure(x) => x,
            Amount::Money(f) => f.0 as f64 / 100.0,
        }
    }
}

/// One target's value at each month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    /// `open_compute`, `high_performance_share`, `new_dc_pue` or `voucher_spending`.
    pub key: &'static str,
    /// `PFLOPS`, `share` (0..1), `PUE` or `yuan` (whose amounts are [`Amount::Money`]).
    pub unit: &'static str,
    pub target: Amount,
    pub rule: Rule,
    /// One per month of [`Trends::months`]; none where nothing was measured.
    pub values: Vec<Option<Amount>>,
    /// Whether the latest month with a value meets the target (none without any value).
    pub met: Option<bool>,
}

impl Trend {
    fn new(key: &'static str, unit: &'static str, target: Amount, rule: Rule, values: Vec<Option<Amount>>) -> Trend {
        let met = values.iter().rev().find_map(|v| *v).map(|v| rule.met(v, target));
        Trend { key, unit, target, rule, values, met }
    }
}

/// The targets month by month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trends {
    pub months: Vec<Month>,
    pub trends: Vec<Trend>,
}

/// Open compute (PFLOPS FP16) and its high-performance share at each month's end: the pools
/// registered by then, at centres that were partners then (by their partner-status `history`,
/// any order, through [`partner::status_at`]), by the same `city_totals` as the overview's tiles.
pub fn compute_trends(
    registry: &crate::figures::Registry,
    history: &[PartnerChange],
    catalogue: &Catalogue,
    regions: &Regions,
    policy: &Policy,
    months: &[Month],
) -> [Trend; 2] {
    let mut by_centre: HashMap<&str, Vec<&PartnerChange>> = HashMap::new();
    for ch in history {
        by_centre.entry(ch.centre_id.as_str()).or_default().push(ch);
    }
    let idle = HashMap::new();
    let (mut open, mut share) = (Vec::new(), Vec::new());
    // The registry's centres once, their partner status set to each month's in place: only
    // partners' pools count, and a centre not registered by then has no pools by then either.
    let mut centres = registry.centres.clone();
    for m in months {
        let end = m.to_ms - 1;
        for (c, now) in centres.iter_mut().zip(&registry.centres) {
            let changes = by_centre.get(c.id.as_str()).map_or(&[][..], Vec::as_slice);
            c.partner_status = partner::status_at(changes.iter().copied(), end, now.partner_status).unwrap_or(PartnerStatus::Applicant);
        }
        let by_then: Vec<_> = registry.pools.iter().filter(|p| p.created_ms < m.to_ms).cloned().collect();
        let t = city_totals(&centres, &by_then, &idle, catalogue, regions, policy);
        open.push(Some(Amount::Figure(round(t.open_compute_pflops_fp16, 3))));
        share.push((t.open_compute_pflops_fp16 > 0.0).then(|| Amount::Figure(round(t.high_performance_share, 4))));
    }
    [
        Trend::new("open_compute", "PFLOPS", Amount::Figure(policy.open_compute_target_pflops), Rule::AtLeast, open),
        Trend::new("high_performance_share", "share", Amount::Figure(policy.high_performance_share_target), Rule::AtLeast, share),
    ]
}

/// The worst monthly PUE among the new data centres the rule covers
/// ([`EnergyBook::new_dc_pue_in`]): the month meets the limit when every one is below it.
pub fn pue_trend(book: &EnergyBook, months: &[Month], limit: f64) -> Trend {
    let values = months
        .iter()
        .map(|m| book.new_dc_pue_in(m.from_ms, m.to_ms).into_iter().map(|(_, pue, _)| pue).reduce(f64::max).map(Amount::Figure))
        .collect();
    Trend::new("new_dc_pue", "PUE", Amount::Figure(limit), Rule::Below, values)
}

/// Vouchers spent (fen) from the start of each month's calendar year to the month's end,
/// against the yearly budget.
pub async fn voucher_trend(store: &Store, policy: &Policy, months: &[Month]) -> Result<Trend, StoreError> {
    let Some(first) = months.first() else {
        return Ok(Trend::new("voucher_spending", "yuan", Amount::Money(policy.voucher_budget), Rule::AtMost, Vec::new()));
    };
    let year_start = |ms: UnixMs| {
        let (y, _, _) = civil_from_days((ms + OFFSET_MS).div_euclid(MS_PER_DAY));
        days_from_civil(y, 1, 1) * MS_PER_DAY - OFFSET_MS
    };
    let from = year_start(first.from_ms);
    let mut by_day: Vec<(UnixMs, i64)> =
        store.voucher_spending(from, i64::MAX, MS_PER_DAY).await?.into_iter().map(|(at, _, _, fen)| (at, fen)).collect();
    by_day.sort_unstable();
    let values = months
        .iter()
        .map(|m| {
            let since = year_start(m.from_ms);
            let fen: i64 = by_day.iter().filter(|(at, _)| *at >= since && *at < m.to_ms).map(|(_, f)| f).sum();
            Some(Amount::Money(Fen(fen)))
        })
        .collect();
    Ok(Trend::new("voucher_spending", "yuan", Amount::Money(policy.voucher_budget), Rule::AtMost, values))
}

/// The policy's targets over a span of months up to `now_ms`, over the registry as `registry`
/// read it.
#[allow(clippy::too_many_arguments)]
pub async fn city_trends(
    store: &Store,
    registry: &crate::figures::Registry,
    catalogue: &Catalogue,
    regions: &Regions,
    policy: &Policy,
    energy: &Energy,
    span: MonthSpan,
    now_ms: UnixMs,
) -> Result<Trends, StoreError> {
    let months = span.months(now_ms);
    let history = store.partner_history(None).await?;
    let [open, share] = compute_trends(registry, &history, catalogue, regions, policy, &months);
    let vouchers = voucher_trend(store, policy, &months).await?;
    energy.sync_with(&registry.centres).await?;
    let pue = pue_trend(&*energy.read().await, &months, policy.new_dc_pue_limit);
    Ok(Trends { months, trends: vec![open, share, pue, vouchers] })
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_beijing_calendar_months_ending_now() {
        // 2026-12-01 03:00 Beijing is 2026-11-30 19:00 UTC: December in Beijing.
        let now = suanli_core::time::parse_date("2026-11-30").unwrap() + 19 * 3_600_000;
        let m = months(now, 3);
        assert_eq!(m.iter().map(|m| m.month.as_str()).collect::<Vec<_>>(), ["2026-10", "2026-11", "2026-12"]);
        assert_eq!(m[2].to_ms, now);
        assert_eq!(m[1].to_ms, m[2].from_ms);
        assert_eq!(m[2].from_ms, now - 3 * 3_600_000);
        let jan = months(suanli_core::time::parse_date("2027-01-15").unwrap(), 2);
        assert_eq!(jan[0].month, "2026-12");
    }

    #[test]
    fn a_span_of_months_is_read_from_a_query_and_gives_its_calendar_months() {
        let now = suanli_core::time::parse_date("2026-12-02").unwrap();
        let names = |s: MonthSpan| s.months(now).into_iter().map(|m| m.month).collect::<Vec<_>>();
        assert_eq!(names(MonthSpan::parse("", "", "", now).unwrap()).len(), 12);
        assert_eq!(names(MonthSpan::parse("24m", "", "", now).unwrap()).first().map(String::as_str), Some("2025-01"));
        assert_eq!(names(MonthSpan::parse("ytd", "", "", now).unwrap()).len(), 12, "January to December");
        let custom = MonthSpan::parse("custom", "2026-03", "2026-05", now).unwrap();
        assert_eq!(names(custom), ["2026-03", "2026-04", "2026-05"]);
        assert_eq!(custom.bounds(), Some(("2026-03".into(), "2026-05".into())));
        assert_eq!(MonthSpan::Last12.months(now), months(now, MONTHS));
        for (from, to) in [
            ("2026-05", "2026-03"),
            ("2026-13", "2027-01"),
            ("x", "2026-01"),
            ("2026-01", "2027-01"),
            ("1999-12", "2000-01"),
            ("2000-01", "2026-12"),
        ] {
            let e = MonthSpan::parse("custom", from, to, now).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidDate, "{from}..{to}");
        }
        assert!(MonthSpan::parse("9y", "", "", now).is_err());
    }

    #[test]
    fn a_trend_is_met_by_its_latest_value() {
        let f = Amount::Figure;
        let t = Trend::new("new_dc_pue", "PUE", f(1.25), Rule::Below, vec![Some(f(1.31)), Some(f(1.22)), None]);
        assert_eq!(t.met, Some(true));
        let t = Trend::new("open_compute", "PFLOPS", f(5000.0), Rule::AtLeast, vec![Some(f(6000.0)), Some(f(4000.0))]);
        assert_eq!(t.met, Some(false));
        assert_eq!(Trend::new("x", "PUE", f(1.25), Rule::Below, vec![None]).met, None);
        assert!(Rule::AtMost.met(f(50.0), f(50.0)) && !Rule::Below.met(f(1.25), f(1.25)));
        // Money to the fen: a fen over the budget is over it.
        let m = |x| Amount::Money(Fen(x));
        assert!(Rule::AtMost.met(m(5_000_000_000), m(5_000_000_000)) && !Rule::AtMost.met(m(5_000_000_001), m(5_000_000_000)));
        assert_eq!(m(123_456).as_f64(), 1234.56);
    }
}
