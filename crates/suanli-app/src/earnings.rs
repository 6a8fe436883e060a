//! A provider's earnings from every source — job bills, model calls, data deliveries — per China Standard Time day (per calendar month beyond 30 days), by source and by centre, settled and not, in fen: the one rule the API, the web page and the CLI show.
//!
//! What a provider earns from a record is what the ledger posted to its receivable for it: a
//! bill's voucher and cash parts (what a tenant still owes is not earned), a model call's
//! charge, a data delivery's fee. A statement pays exactly these for the records it takes, so
//! the settled sums here are the provider's statements' `settled`, and settled plus unsettled
//! is what the ledger credited to its receivable (`posted`, read in the same snapshot).

use crate::caller::Caller;
use std::collections::BTreeMap;
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{CentreId, ProviderId};
use suanli_core::money::Fen;
use suanli_core::time::{CST_OFFSET_MS, MS_PER_DAY, UnixMs, civil_from_days, cst_day, cst_midnight, days_from_civil, format_date};
use suanli_dispatch::ids::Ids;
pub use suanli_store::earnings::Source;
use suanli_store::{EarningsRecords, Store, StoreError};

/// A window of at most this many days is shown day by day; a longer one by calendar month.
pub const DAILY_UP_TO: i64 = 30;
/// The longest window, in days (ten years).
pub const MAX_DAYS: i64 = 3660;

/// One period of the trend: a Beijing calendar day or month, cut to the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// `2026-11-03` or `2026-11`.
    pub label: String,
    pub from_ms: UnixMs,
    pub to_ms: UnixMs,
    /// Earned in the period, by source in [`Source::ALL`]'s order.
    pub by_source: [Fen; 3],
}

impl Period {
    pub fn earned(&self) -> Fen {
        Fen(self.by_source.iter().map(|f| f.0).sum())
    }
}

/// One source's totals over the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceTotal {
    pub source: Source,
    /// Bills, charged calls or deliveries.
    pub records: u64,
    /// Taken by a statement (paid out to the provider).
    pub settled: Fen,
    /// Not yet taken by a statement.
    pub unsettled: Fen,
    /// What tenants still owe on the bills: charged, never paid, so not earned.
    pub outstanding: Fen,
    /// What the ledger credited to the provider's receivable for this source over the window's
    /// days, by the day it posted (a call is dated by its start and posted at its end).
    pub posted: Fen,
}

impl SourceTotal {
    pub fn earned(&self) -> Fen {
        Fen(self.settled.0 + self.unsettled.0)
    }
}

/// One centre's earnings from one source (jobs it ran, calls its deployments served).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentreTotal {
    pub centre_id: CentreId,
    pub source: Source,
    pub records: u64,
    pub settled: Fen,
    pub unsettled: Fen,
}

impl CentreTotal {
    pub fn earned(&self) -> Fen {
        Fen(self.settled.0 + self.unsettled.0)
    }
}

/// A provider's earnings over `[from_ms, to_ms)`, whole Beijing calendar days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarningsReport {
    pub provider_id: ProviderId,
    pub from_ms: UnixMs,
    pub to_ms: UnixMs,
    /// Periods are calendar months (the window is longer than [`DAILY_UP_TO`] days).
    pub monthly: bool,
    pub periods: Vec<Period>,
    /// Every source, in [`Source::ALL`]'s order.
    pub sources: Vec<SourceTotal>,
    /// By centre and source, centres in id order; data deliveries have no centre.
    pub centres: Vec<CentreTotal>,
}

impl EarningsReport {
    fn sum(&self, f: fn(&SourceTotal) -> Fen) -> Fen {
        Fen(self.sources.iter().map(|s| f(s).0).sum())
    }
    pub fn settled(&self) -> Fen {
        self.sum(|s| s.settled)
    }
    pub fn unsettled(&self) -> Fen {
        self.sum(|s| s.unsettled)
    }
    pub fn earned(&self) -> Fen {
        self.sum(SourceTotal::earned)
    }
    pub fn outstanding(&self) -> Fen {
        self.sum(|s| s.outstanding)
    }
    pub fn posted(&self) -> Fen {
        self.sum(|s| s.posted)
    }
    /// The window's first day and the day after its last, `YYYY-MM-DD` (Beijing time).
    pub fn dates(&self) -> (String, String) {
        (format_date(self.from_ms + CST_OFFSET_MS), format_date(self.to_ms + CST_OFFSET_MS))
    }
}

/// A month as one number (`year * 12 + month - 1`), of a China Standard Time day.
fn month_of(day: i64) -> i64 {
    let (y, m, _) = civil_from_days(day);
    y * 12 + m - 1
}

/// The periods of a window: its days when it spans at most [`DAILY_UP_TO`], else its calendar
/// months (the first and last cut to the window); and whether they are months.
pub fn periods(from: UnixMs, to: UnixMs) -> (Vec<Period>, bool) {
    let (first, last) = (cst_day(from), cst_day(to - 1));
    let period = |label: String, a: UnixMs, b: UnixMs| Period { label, from_ms: a.max(from), to_ms: b.min(to), by_source: [Fen::ZERO; 3] };
    if last - first < DAILY_UP_TO {
        return ((first..=last).map(|d| period(format_date(d * MS_PER_DAY), cst_midnight(d), cst_midnight(d + 1))).collect(), false);
    }
    let month_start = |k: i64| cst_midnight(days_from_civil(k.div_euclid(12), k.rem_euclid(12) + 1, 1));
    let months = (month_of(first)..=month_of(last))
        .map(|k| period(format!("{:04}-{:02}", k.div_euclid(12), k.rem_euclid(12) + 1), month_start(k), month_start(k + 1)))
        .collect();
    (months, true)
}

/// The report of a window from its records (pure: the rule, apart from reading them).
pub fn report_of(provider: ProviderId, from: UnixMs, to: UnixMs, records: &EarningsRecords) -> EarningsReport {
    let (mut periods, monthly) = periods(from, to);
    let first = if monthly { month_of(cst_day(from)) } else { cst_day(from) };
    let mut sources: Vec<SourceTotal> = Source::ALL
        .iter()
        .map(|&source| SourceTotal {
            source,
            records: 0,
            settled: Fen::ZERO,
            unsettled: Fen::ZERO,
            outstanding: Fen::ZERO,
            posted: records.posted.get(&source).copied().unwrap_or(Fen::ZERO),
        })
        .collect();
    let mut centres: BTreeMap<(CentreId, Source), CentreTotal> = BTreeMap::new();
    let add = |a: &mut Fen, b: Fen| *a = Fen(a.0 + b.0);
    for row in &records.rows {
        let at = (if monthly { month_of(row.day) } else { row.day }) - first;
        if let Some(p) = usize::try_from(at).ok().and_then(|i| periods.get_mut(i)) {
            add(&mut p.by_source[row.source as usize], row.earned);
        }
        let s = &mut sources[row.source as usize];
        s.records += row.records;
        add(if row.settled { &mut s.settled } else { &mut s.unsettled }, row.earned);
        add(&mut s.outstanding, row.outstanding);
        if let Some(c) = &row.centre_id {
            let t = centres.entry((c.clone(), row.source)).or_insert_with(|| CentreTotal {
                centre_id: c.clone(),
                source: row.source,
                records: 0,
                settled: Fen::ZERO,
                unsettled: Fen::ZERO,
            });
            t.records += row.records;
            add(if row.settled { &mut t.settled } else { &mut t.unsettled }, row.earned);
        }
    }
    EarningsReport { provider_id: provider, from_ms: from, to_ms: to, monthly, periods, sources, centres: centres.into_values().collect() }
}

/// The earnings service.
#[derive(Debug, Clone)]
pub struct Earnings {
    store: Store,
    ids: Ids,
}

fn err(code: ErrorCode, why: impl Into<String>) -> StoreError {
    Error::new(code, why).into()
}

impl Earnings {
    pub fn new(store: Store, ids: Ids) -> Earnings {
        Earnings { store, ids }
    }

    /// The window of the last `days` Beijing calendar days, today included: what a page's
    /// "last 7 days" or "last 12 months" of earnings asks [`Earnings::report`] for.
    pub fn last_days(&self, days: i64) -> (UnixMs, UnixMs) {
        let to = cst_midnight(cst_day(self.ids.now_ms()) + 1);
        (to - days.clamp(1, MAX_DAYS) * MS_PER_DAY, to)
    }

    /// A provider's earnings over `[from, to)` (starts of Beijing calendar days), for the
    /// provider itself, the operator or the regulator. `to` defaults to the end of today;
    /// `from` to the last 30 days, or to the day of the provider's first earning when that is
    /// earlier (so the trend then runs by month from it).
    pub async fn report(
        &self,
        caller: &Caller,
        provider: &ProviderId,
        from: Option<UnixMs>,
        to: Option<UnixMs>,
    ) -> Result<EarningsReport, StoreError> {
        match caller {
            Caller::Operator { .. } | Caller::Regulator { .. } => {}
            Caller::Provider { provider: own, .. } if own == provider => {}
            _ => return Err(err(ErrorCode::Forbidden, "a provider's earnings are for it, the operator and the regulator")),
        }
        self.store.provider(provider).await?.ok_or_else(|| err(ErrorCode::ProviderNotFound, format!("no provider {provider}")))?;
        let to = to.unwrap_or_else(|| cst_midnight(cst_day(self.ids.now_ms()) + 1));
        let from = match from {
            Some(f) => f,
            None => {
                let last_30 = to - DAILY_UP_TO * MS_PER_DAY;
                match self.store.provider_first_earning(provider).await? {
                    Some(first) if first < last_30 => cst_midnight(cst_day(first)),
                    _ => last_30,
                }
            }
        };
        if from >= to {
            return Err(err(ErrorCode::InvalidPeriod, "the window is empty: `from` must be before `to`"));
        }
        if to - from > MAX_DAYS * MS_PER_DAY {
            return Err(err(ErrorCode::InvalidPeriod, format!("the window spans more than {MAX_DAYS} days")));
        }
        let records = self.store.provider_earnings(provider, from, to).await?;
        Ok(report_of(provider.clone(), from, to, &records))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use suanli_core::time::cst_day_start;
    use suanli_store::EarningsRow;

    fn row(source: Source, date: &str, centre: Option<&CentreId>, settled: bool, earned: i64) -> EarningsRow {
        let day = cst_day(cst_day_start(date).unwrap());
        EarningsRow { source, day, centre_id: centre.cloned(), settled, records: 1, earned: Fen(earned), outstanding: Fen::ZERO }
    }

    #[test]
    fn thirty_days_run_by_day_and_longer_windows_by_calendar_month() {
        let (days, monthly) = periods(cst_day_start("2026-11-01").unwrap(), cst_day_start("2026-12-01").unwrap());
        assert!(!monthly);
        assert_eq!(days.len(), 30);
        assert_eq!((days[0].label.as_str(), days[29].label.as_str()), ("2026-11-01", "2026-11-30"));
        // Beijing midnight is 16:00 UTC the day before.
        assert_eq!(suanli_core::time::format_rfc3339(days[0].from_ms), "2026-10-31T16:00:00Z");
        let (months, monthly) = periods(cst_day_start("2026-10-15").unwrap(), cst_day_start("2027-01-02").unwrap());
        assert!(monthly);
        let labels: Vec<&str> = months.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, ["2026-10", "2026-11", "2026-12", "2027-01"]);
        assert_eq!(months[0].from_ms, cst_day_start("2026-10-15").unwrap(), "cut to the window");
        assert_eq!(months[1].from_ms, cst_day_start("2026-11-01").unwrap());
        assert_eq!(months[3].to_ms, cst_day_start("2027-01-02").unwrap());
    }

    #[test]
    fn earnings_split_by_period_source_centre_and_settlement() {
        let (a, b) = (CentreId::generate(1, 1), CentreId::generate(2, 2));
        let records = EarningsRecords {
            rows: vec![
                row(Source::Jobs, "2026-11-02", Some(&a), true, 10_000),
                row(Source::Jobs, "2026-11-02", Some(&b), false, 2_500),
                row(Source::ModelCalls, "2026-11-03", Some(&a), false, 37),
                row(Source::DataDeliveries, "2026-11-30", None, true, 100_000),
            ],
            posted: [(Source::Jobs, Fen(12_500)), (Source::ModelCalls, Fen(37)), (Source::DataDeliveries, Fen(100_000))].into(),
        };
        let p = ProviderId::generate(3, 3);
        let r = report_of(p, cst_day_start("2026-11-01").unwrap(), cst_day_start("2026-12-01").unwrap(), &records);
        assert_eq!(r.periods[1].by_source, [Fen(12_500), Fen::ZERO, Fen::ZERO]);
        assert_eq!(r.periods[2].earned(), Fen(37));
        assert_eq!(r.periods[29].by_source[Source::DataDeliveries as usize], Fen(100_000));
        assert_eq!((r.settled(), r.unsettled(), r.earned(), r.posted()), (Fen(110_000), Fen(2_537), Fen(112_537), Fen(112_537)));
        assert_eq!(r.sources[0].records, 2);
        // Data deliveries have no centre; centre a earned from jobs and calls.
        assert_eq!(r.centres.len(), 3);
        let of_a: Vec<(Source, Fen)> = r.centres.iter().filter(|c| c.centre_id == a).map(|c| (c.source, c.earned())).collect();
        assert_eq!(of_a, [(Source::Jobs, Fen(10_000)), (Source::ModelCalls, Fen(37))]);
        assert_eq!(r.dates(), ("2026-11-01".to_string(), "2026-12-01".to_string()));
        // By month, the same records fall in November.
        let r = report_of(r.provider_id, cst_day_start("2026-09-01").unwrap(), cst_day_start("2026-12-01").unwrap(), &records);
        assert!(r.monthly);
        assert_eq!(r.periods.iter().map(Period::earned).collect::<Vec<_>>(), [Fen::ZERO, Fen::ZERO, Fen(112_537)]);
    }
}
