//! Time as i64 unix milliseconds, read only through an injected [`Clock`]; civil dates for registries.

use crate::error::{Error, ErrorCode};
use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type UnixMs = i64;

pub const MS_PER_SECOND: i64 = 1_000;
pub const MS_PER_HOUR: i64 = 3_600_000;
pub const MS_PER_DAY: i64 = 86_400_000;
/// China Standard Time (Asia/Shanghai, UTC+8 all year): what the platform's days and years are.
pub const CST_OFFSET_MS: i64 = 8 * 3_600_000;

/// The China Standard Time day of an instant, as days since 1970-01-01.
pub fn cst_day(ms: UnixMs) -> i64 {
    (ms + CST_OFFSET_MS).div_euclid(MS_PER_DAY)
}

/// The instant the China Standard Time day numbered `day` (as [`cst_day`] numbers them) starts.
pub fn cst_midnight(day: i64) -> UnixMs {
    day * MS_PER_DAY - CST_OFFSET_MS
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

/// The instant a Beijing calendar day (`YYYY-MM-DD`, Asia/Shanghai) starts: 00:00 China
/// Standard Time, which is 16:00 UTC the day before.
pub fn cst_day_start(date: &str) -> Result<UnixMs, Error> {
    Ok(parse_date(date)? - CST_OFFSET_MS)
}

/// A money date parameter (a settlement's period, a bill filter, an earnings window): a date
/// `YYYY-MM-DD` is the start of that Beijing calendar day ([`cst_day_start`]); an RFC 3339
/// instant ([`parse_rfc3339`]) is that instant. The one reading of such parameters.
pub fn parse_cst_day_or_instant(s: &str) -> Result<UnixMs, Error> {
    let s = s.trim();
    if s.len() == 10 {
        return cst_day_start(s);
    }
    parse_rfc3339(s).ok_or_else(|| {
        let shown = s.chars().take(40).collect::<String>();
        Error::new(ErrorCode::InvalidDate, format!("'{shown}' is neither a Beijing date YYYY-MM-DD nor an RFC 3339 instant"))
    })
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` into unix ms.
pub fn parse_rfc3339(s: &str) -> Option<UnixMs> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).filter(|t| t.bytes().all(|c| c.is_ascii_digit())).and_then(|t| t.parse::<i64>().ok());
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let frac = &s[start..i.min(start + 3)];
        ms = frac.parse::<i64>().ok()? * 10_i64.pow(3 - frac.len() as u32);
    }
    let offset_min = match s.get(i..)? {
        "Z" | "z" => 0,
        t if t.len() == 6 && (t.starts_with('+') || t.starts_with('-')) && &t[3..4] == ":" => {
            let m = num(i + 1..i + 3)? * 60 + num(i + 4..i + 6)?;
            if t.starts_with('-') { -m } else { m }
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * MS_PER_DAY + ((h * 60 + mi - offset_min) * 60 + se) * 1000 + ms)
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
    fn money_dates_are_beijing_days_and_instants_stay_instants() {
        // A date is 00:00 in Beijing: 16:00 UTC the day before.
        let d = parse_cst_day_or_instant("2026-11-03").unwrap();
        assert_eq!(format_rfc3339(d), "2026-11-02T16:00:00Z");
        assert_eq!(d, cst_day_start("2026-11-03").unwrap());
        // 23:30 UTC on the 2nd is 07:30 on the 3rd in Beijing: in the 3rd's day, not the 2nd's.
        let t = parse_cst_day_or_instant("2026-11-02T23:30:00Z").unwrap();
        assert_eq!(format_date(t + CST_OFFSET_MS), "2026-11-03");
        assert!(d <= t && t < parse_cst_day_or_instant("2026-11-04").unwrap());
        assert_eq!(parse_cst_day_or_instant("2026-11-03T07:30:00+08:00").unwrap(), t);
        assert_eq!(parse_cst_day_or_instant(" 2026-11-03T00:00:00.250Z ").unwrap(), parse_date("2026-11-03").unwrap() + 250);
        for bad in ["2026-13-01", "yesterday", "2026-11-03T25:00:00Z", ""] {
            assert_eq!(parse_cst_day_or_instant(bad).unwrap_err().code, ErrorCode::InvalidDate, "{bad}");
        }
    }

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
