//! Calendar time on a chart's axis, in Asia/Shanghai (UTC+8 all year, no daylight saving): Beijing's date and hour of a moment, ticks on hour and day boundaries, and moments as hover titles write them.

use suanli_core::time::{MS_PER_DAY, civil_from_days, days_from_civil};

/// Asia/Shanghai is UTC+8 all year (no daylight saving).
pub const SHANGHAI_OFFSET_MS: i64 = 8 * HOUR;
/// An hour in milliseconds.
pub const HOUR: i64 = suanli_core::time::MS_PER_HOUR;

/// Unix ms as Beijing time: (year, month, day, hour, minute).
pub fn local(ms: i64) -> (i64, i64, i64, i64, i64) {
    let t = ms + SHANGHAI_OFFSET_MS;
    let (y, m, d) = civil_from_days(t.div_euclid(MS_PER_DAY));
    let in_day = t.rem_euclid(MS_PER_DAY);
    (y, m, d, in_day / HOUR, in_day % HOUR / 60_000)
}

/// A moment for a hover title: "2026-12-01 14:05".
pub fn moment(ms: i64) -> String {
    let (y, m, d, h, min) = local(ms);
    format!("{y}-{m:02}-{d:02} {h:02}:{min:02}")
}

/// What a time axis's ticks fall on, and so how they are labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickUnit {
    /// Hours ("14:00"; the date at midnight).
    Hour,
    /// Days ("12-01").
    Day,
    /// Months ("2026-12"), for spans of more than 24 weeks.
    Month,
}

/// Ticks on calendar boundaries in Beijing time (hours, days or months), at most about six; and
/// what they fall on.
pub fn time_ticks(from: i64, to: i64) -> (Vec<i64>, TickUnit) {
    let span = (to - from).max(1);
    if span > 24 * 7 * MS_PER_DAY {
        return (month_ticks(from, to), TickUnit::Month);
    }
    let steps =
        [HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, MS_PER_DAY, 2 * MS_PER_DAY, 7 * MS_PER_DAY, 14 * MS_PER_DAY, 28 * MS_PER_DAY];
    let step = steps.iter().copied().find(|s| span / s <= 6).unwrap_or(28 * MS_PER_DAY);
    let first = (from + SHANGHAI_OFFSET_MS).div_euclid(step) * step - SHANGHAI_OFFSET_MS;
    let ticks = (0..).map(|i| first + i * step).skip_while(|t| *t < from).take_while(|t| *t <= to).collect();
    (ticks, if step < MS_PER_DAY { TickUnit::Hour } else { TickUnit::Day })
}

/// Ticks on the first of Beijing months, every 1, 2, 3, 6 or 12 months (or whole years beyond),
/// on months that the step divides (January and July for six), at most about six.
fn month_ticks(from: i64, to: i64) -> Vec<i64> {
    let index = |ms: i64| {
        let (y, m, ..) = local(ms);
        y * 12 + m - 1
    };
    let (first, last) = (index(from), index(to));
    let months = last - first + 1;
    let step = [1, 2, 3, 6, 12].into_iter().find(|k| months / k <= 6).unwrap_or((months / 6 / 12 + 1) * 12);
    let start = |i: i64| days_from_civil(i.div_euclid(12), i.rem_euclid(12) + 1, 1) * MS_PER_DAY - SHANGHAI_OFFSET_MS;
    (first..=last).filter(|i| i.rem_euclid(step) == 0).map(start).filter(|t| (from..=to).contains(t)).collect()
}

/// A time tick's label: the hour ("14:00") on hourly ticks other than midnight, the date
/// ("12-01") on daily ones, the month ("2026-12") on monthly ones.
pub fn tick_label(t: i64, unit: TickUnit) -> String {
    let (y, m, d, hh, mm) = local(t);
    match unit {
        TickUnit::Hour if (hh, mm) != (0, 0) => format!("{hh:02}:{mm:02}"),
        TickUnit::Month => format!("{y}-{m:02}"),
        _ => format!("{m:02}-{d:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ticks_fall_on_beijing_hours_and_days() {
        // 2026-12-01 00:00 Beijing is 2026-11-30 16:00 UTC.
        let midnight = suanli_core::time::parse_date("2026-12-01").unwrap() - SHANGHAI_OFFSET_MS;
        assert_eq!(moment(midnight), "2026-12-01 00:00");
        let (t, unit) = time_ticks(midnight + 30 * 60_000, midnight + 10 * HOUR);
        assert_eq!(unit, TickUnit::Hour);
        assert_eq!(t.first().map(|t| moment(*t)), Some("2026-12-01 02:00".to_string()));
        let (t, unit) = time_ticks(midnight, midnight + 29 * MS_PER_DAY);
        assert!(
            unit == TickUnit::Day && t.iter().all(|t| moment(*t).ends_with("00:00")),
            "{:?}",
            t.iter().map(|t| moment(*t)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_year_or_more_has_ticks_on_beijing_months() {
        let day = |s: &str| suanli_core::time::parse_date(s).unwrap() - SHANGHAI_OFFSET_MS;
        let labels = |from: &str, to: &str| {
            let (t, unit) = time_ticks(day(from), day(to));
            assert_eq!(unit, TickUnit::Month);
            t.iter().map(|t| tick_label(*t, unit)).collect::<Vec<_>>()
        };
        assert_eq!(labels("2025-12-02", "2026-12-02"), ["2026-01", "2026-03", "2026-05", "2026-07", "2026-09", "2026-11"]);
        assert_eq!(labels("2026-01-01", "2026-09-01"), ["2026-01", "2026-03", "2026-05", "2026-07", "2026-09"]);
        assert_eq!(labels("2006-01-01", "2026-01-01"), ["2008-01", "2012-01", "2016-01", "2020-01", "2024-01"]);
        assert_eq!(moment(day("2026-03-01")), "2026-03-01 00:00", "on Beijing's first of the month");
    }
}
