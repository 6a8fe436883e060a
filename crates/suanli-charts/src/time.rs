//! Calendar time on a chart's axis, in Asia/Shanghai (UTC+8 all year, no daylight saving): Beijing's date and hour of a moment, ticks on hour and day boundaries, and moments as hover titles write them.

use suanli_core::time::{MS_PER_DAY, civil_from_days};

/// Asia/Shanghai is UTC+8 all year (no daylight saving).
pub const SHANGHAI_OFFSET_MS: i64 = 8 * HOUR;
/// An hour in milliseconds.
pub const HOUR: i64 = 3_600_000;

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

/// Ticks on calendar boundaries in Beijing time (hours or days), at most about six; and whether
/// they are hourly.
pub fn time_ticks(from: i64, to: i64) -> (Vec<i64>, bool) {
    let steps =
        [HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, MS_PER_DAY, 2 * MS_PER_DAY, 7 * MS_PER_DAY, 14 * MS_PER_DAY, 28 * MS_PER_DAY];
    let span = (to - from).max(1);
    let step = steps.iter().copied().find(|s| span / s <= 6).unwrap_or(((span / 6 / MS_PER_DAY) + 1) * MS_PER_DAY);
    let first = (from + SHANGHAI_OFFSET_MS).div_euclid(step) * step - SHANGHAI_OFFSET_MS;
    let ticks = (0..).map(|i| first + i * step).skip_while(|t| *t < from).take_while(|t| *t <= to).collect();
    (ticks, step < MS_PER_DAY)
}

/// A time tick's label: the hour ("14:00") on hourly ticks other than midnight, else the date ("12-01").
pub fn tick_label(t: i64, hourly: bool) -> String {
    let (_, m, d, hh, mm) = local(t);
    if hourly && (hh, mm) != (0, 0) { format!("{hh:02}:{mm:02}") } else { format!("{m:02}-{d:02}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ticks_fall_on_beijing_hours_and_days() {
        // 2026-12-01 00:00 Beijing is 2026-11-30 16:00 UTC.
        let midnight = suanli_core::time::parse_date("2026-12-01").unwrap() - SHANGHAI_OFFSET_MS;
        assert_eq!(moment(midnight), "2026-12-01 00:00");
        let (t, hourly) = time_ticks(midnight + 30 * 60_000, midnight + 10 * HOUR);
        assert!(hourly);
        assert_eq!(t.first().map(|t| moment(*t)), Some("2026-12-01 02:00".to_string()));
        let (t, hourly) = time_ticks(midnight, midnight + 29 * MS_PER_DAY);
        assert!(!hourly && t.iter().all(|t| moment(*t).ends_with("00:00")), "{:?}", t.iter().map(|t| moment(*t)).collect::<Vec<_>>());
    }
}
