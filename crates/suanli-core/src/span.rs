//! A span of whole calendar days in China Standard Time as a person picks it (a first and a last date, both included): the one rule for reading it and for what it may cover.

use crate::error::ErrorCode;
use crate::time::{MS_PER_DAY, UnixMs, cst_day, cst_midnight, parse_date};

/// The first day a span may start on: 2000-01-01, before which the platform keeps nothing (the
/// energy book refuses readings older than that, and no record predates it).
pub const EARLIEST_DAY: i64 = 10_957;

/// The most days a span may cover: 20 years, what the energy book answers for one series.
pub const MAX_DAYS: i64 = 20 * 366;

/// A span of China Standard Time days, `from` to `to` included, as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaySpan {
    pub from: i64,
    pub to: i64,
}

/// Why a span was refused; each maps to a code of the error table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanError {
    /// The first date is missing or not a `YYYY-MM-DD` date.
    BadFrom,
    /// The last date is missing or not a `YYYY-MM-DD` date.
    BadTo,
    /// The first date is after the last.
    Reversed,
    /// The last date is after today.
    Future,
    /// The first date is before [`EARLIEST_DAY`].
    TooEarly,
    /// It covers more than [`MAX_DAYS`] days.
    TooLong,
}

impl SpanError {
    /// Its code in the error table.
    pub fn code(self) -> ErrorCode {
        match self {
            SpanError::BadFrom | SpanError::BadTo => ErrorCode::InvalidDate,
            _ => ErrorCode::InvalidWindow,
        }
    }
}

impl DaySpan {
    /// Reads a span from its first and last dates (`YYYY-MM-DD`, China Standard Time days) as of
    /// `now`: both dates valid, the first not after the last, the last not after today, the first
    /// not before [`EARLIEST_DAY`], at most [`MAX_DAYS`] days.
    pub fn parse(from: &str, to: &str, now: UnixMs) -> Result<DaySpan, SpanError> {
        let day = |s: &str| parse_date(s.trim()).ok().map(|ms| ms.div_euclid(MS_PER_DAY));
        let from = day(from).ok_or(SpanError::BadFrom)?;
        let to = day(to).ok_or(SpanError::BadTo)?;
        if from > to {
            return Err(SpanError::Reversed);
        }
        if to > cst_day(now) {
            return Err(SpanError::Future);
        }
        if from < EARLIEST_DAY {
            return Err(SpanError::TooEarly);
        }
        let span = DaySpan { from, to };
        if span.days() > MAX_DAYS {
            return Err(SpanError::TooLong);
        }
        Ok(span)
    }

    /// How many days it covers.
    pub fn days(self) -> i64 {
        self.to - self.from + 1
    }

    /// Its instants: from the first day's midnight to the day after the last's midnight (China
    /// Standard Time), the end no later than `now`.
    pub fn window(self, now: UnixMs) -> (UnixMs, UnixMs) {
        let (start, end) = (cst_midnight(self.from), cst_midnight(self.to + 1));
        (start, end.min(now).max(start + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{CST_OFFSET_MS, format_date};

    /// 2026-12-02 10:00 in Beijing.
    const NOW: UnixMs = 1_796_176_800_000;

    #[test]
    fn a_span_reads_two_dates_as_whole_beijing_days() {
        assert_eq!(format_date(NOW + CST_OFFSET_MS), "2026-12-02");
        let s = DaySpan::parse("2026-11-01", " 2026-11-30 ", NOW).unwrap();
        assert_eq!(s.days(), 30);
        let (a, b) = s.window(NOW);
        assert_eq!(format_date(a + CST_OFFSET_MS), "2026-11-01");
        assert_eq!((a + CST_OFFSET_MS) % MS_PER_DAY, 0, "from Beijing's midnight");
        assert_eq!(b - a, 30 * MS_PER_DAY, "to the midnight after the last day");
        let today = DaySpan::parse("2026-12-02", "2026-12-02", NOW).unwrap();
        assert_eq!(today.window(NOW).1, NOW, "today ends now");
        assert_eq!(DaySpan::parse("2000-01-01", "2000-01-01", NOW).unwrap().from, EARLIEST_DAY);
    }

    #[test]
    fn bad_spans_are_refused_with_their_reason_and_code() {
        for (from, to, why) in [
            ("", "2026-11-30", SpanError::BadFrom),
            ("2026-13-01", "2026-11-30", SpanError::BadFrom),
            ("2026-11-01", "30/11/2026", SpanError::BadTo),
            ("2026-11-30", "2026-11-01", SpanError::Reversed),
            ("2026-12-01", "2026-12-03", SpanError::Future),
            ("1999-12-31", "2000-01-05", SpanError::TooEarly),
            ("2000-01-01", "2026-01-01", SpanError::TooLong),
        ] {
            assert_eq!(DaySpan::parse(from, to, NOW), Err(why), "{from}..{to}");
        }
        assert_eq!(SpanError::BadTo.code(), ErrorCode::InvalidDate);
        assert_eq!(SpanError::TooLong.code(), ErrorCode::InvalidWindow);
        let longest = DaySpan { from: EARLIEST_DAY, to: EARLIEST_DAY + MAX_DAYS - 1 };
        assert_eq!(DaySpan::parse(&format_date(longest.from * MS_PER_DAY), &format_date(longest.to * MS_PER_DAY), NOW), Ok(longest));
    }
}
