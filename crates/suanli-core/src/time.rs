//! Time as i64 unix milliseconds, read only through an injected [`Clock`]; civil dates for registries.

use crate::error::{Error, ErrorCode};
use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type UnixMs = i64;

pub const MS_PER_SECOND: i64 = 1_000;
pub const MS_PER_DAY: i64 = 86_400_000;
/// China Standard Time (Asia/Shanghai, UTC+8 all year): what the platform's days and years are.
pub const CST_OFFSET_MS: i64 = 8 * 3_600_000;

/// The China Standard Time day of an instant, as days since 1970-01-01.
pub fn cst_day(ms: UnixMs) -> i64 {
    (ms + CST_OFFSET_MS).div_euclid(MS_PER_DAY)
}

/// The only way code in Suanli learns the time. Edge crates supply the system clock;
/// tests and the simulator supply [`ManualClock`].
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> UnixMs;
}

/// A clock that moves only when told to: for tests and simulation.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: UnixMs) -> ManualClock {
        ManualClock(AtomicI64::new(start))
    }
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
    pub fn set(&self, ms: UnixMs) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> UnixMs {
        self.0.load(Ordering::SeqCst)
    }
}

/// Parses "YYYY-MM-DD" (proleptic Gregorian, UTC midnight) into unix ms.
pub fn parse_date(s: &str) -> Result<UnixMs, Error> {
    let bad =
        || Error::new(ErrorCode::InvalidDate, format!("'{}' is not a date of the form YYYY-MM-DD", s.chars().take(20).collect::<String>()));
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<i64>().map_err(|_| bad());
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1900..=2200).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return Err(bad());
    }
    Ok(days_from_civil(y, m, d) * MS_PER_DAY)
}

/// Formats unix ms as "YYYY-MM-DD" (UTC).
pub fn format_date(ms: UnixMs) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(MS_PER_DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Formats unix ms as RFC 3339 UTC with seconds, e.g. "2026-11-29T08:20:16Z".
pub fn format_rfc3339(ms: UnixMs) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, s % 3600 / 60, s % 60)
}

/// Gregorian leap year.
pub fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days in a month of a year (proleptic Gregorian).
pub fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm: years start in March so
/// the leap day falls at the end and months have a closed form).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_date("1970-01-01").unwrap(), 0);
        assert_eq!(parse_date("2023-08-25").unwrap(), 1_692_921_600_000);
        assert_eq!(format_date(1_692_921_600_000), "2023-08-25");
        assert_eq!(format_rfc3339(1_692_921_601_000), "2023-08-25T00:00:01Z");
        assert_eq!(parse_date("2024-02-29").map(format_date).unwrap(), "2024-02-29");
        for bad in ["2023-02-29", "2023-13-01", "2023-1-01", "20230825", "", "2023-08-32"] {
            assert_eq!(parse_date(bad).unwrap_err().code, ErrorCode::InvalidDate, "{bad}");
        }
    }

    #[test]
    fn manual_clock_moves_when_told() {
        let c = ManualClock::new(5);
        c.advance(10);
        assert_eq!(c.now_ms(), 15);
    }
}
