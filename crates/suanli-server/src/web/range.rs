//! The time range a page's charts over time show (`?range=24h|7d|30d|1y|all`, or `?range=custom&from=YYYY-MM-DD&to=YYYY-MM-DD` in Beijing calendar days): reading it from the request, the window and step it gives, and the picker (links and a small GET form that work without script, a refused custom range answered beside the form with the input kept).

use super::{Lang, esc};
use std::fmt::Write;
use suanli_app::trends::MonthSpan;
use suanli_charts::time::HOUR;
use suanli_core::span::{DaySpan, SpanError};
use suanli_core::time::{MS_PER_DAY, UnixMs, format_date};

// A custom range never asks the energy book for more than it keeps and answers.
const _: () = assert!(suanli_core::span::EARLIEST_DAY * MS_PER_DAY == suanli_energy::series::EARLIEST_TS_MS);
const _: () = assert!(suanli_core::span::MAX_DAYS * MS_PER_DAY <= suanli_energy::pue::MAX_WINDOW_MS);

/// A time range of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Day,
    Week,
    Month,
    Year,
    All,
    /// Whole Beijing days a person chose.
    Custom(DaySpan),
}

/// The size of the steps a chart over a range sums or averages its values in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Hour,
    Day,
    Month,
}

/// The range a request asks for, and what it typed for a custom one (kept for the form, with the
/// reason when it was refused: the page then shows its default range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub range: Range,
    from: String,
    to: String,
    refused: Option<SpanError>,
}

impl Range {
    /// The ranges chosen by a link, in order.
    pub const EVERY: [Range; 5] = [Range::Day, Range::Week, Range::Month, Range::Year, Range::All];

    /// Its value in the query.
    pub fn param(self) -> &'static str {
        match self {
            Range::Day => "24h",
            Range::Week => "7d",
            Range::Month => "30d",
            Range::Year => "1y",
            Range::All => "all",
            Range::Custom(_) => "custom",
        }
    }

    /// The range the request asks for (`?range=`, with `from` and `to` for a custom one) as of
    /// `now`, else `default`.
    pub fn chosen(default: Range, now: UnixMs) -> Choice {
        let param = super::table::param;
        let (from, to) = (param("from").unwrap_or_default(), param("to").unwrap_or_default());
        let asked = param("range");
        let mut choice = Choice { range: default, from, to, refused: None };
        if asked.as_deref() == Some("custom") {
            match DaySpan::parse(&choice.from, &choice.to, now) {
                Ok(span) => choice.range = Range::Custom(span),
                Err(why) => choice.refused = Some(why),
            }
        } else if let Some(r) = Range::EVERY.into_iter().find(|r| asked.as_deref() == Some(r.param())) {
            choice.range = r;
        }
        choice
    }

    /// Its length, or none for everything recorded.
    pub fn span_ms(self) -> Option<i64> {
        match self {
            Range::Day => Some(MS_PER_DAY),
            Range::Week => Some(7 * MS_PER_DAY),
            Range::Month => Some(30 * MS_PER_DAY),
            Range::Year => Some(365 * MS_PER_DAY),
            Range::All => None,
            Range::Custom(span) => Some(span.days() * MS_PER_DAY),
        }
    }

    /// The step of its charts, by its length: hours up to two days, days up to three months,
    /// months beyond (and for everything recorded).
    pub fn bucket(self) -> Bucket {
        match self.span_ms() {
            Some(ms) if ms <= 2 * MS_PER_DAY => Bucket::Hour,
            Some(ms) if ms <= 92 * MS_PER_DAY => Bucket::Day,
            _ => Bucket::Month,
        }
    }

    /// Its name on a page.
    pub fn label(self, lang: Lang) -> String {
        let words = match self {
            Range::Day => lang.t("近 24 小时", "Last 24 h"),
            Range::Week => lang.t("近 7 天", "Last 7 days"),
            Range::Month => lang.t("近 30 天", "Last 30 days"),
            Range::Year => lang.t("近一年", "Last 12 months"),
            Range::All => lang.t("全部", "All"),
            Range::Custom(s) => {
                let day = |d: i64| format_date(d * MS_PER_DAY);
                return format!("{} {} {}", day(s.from), lang.t("至", "to"), day(s.to));
            }
        };
        words.to_string()
    }

    /// The window it shows as of `now`: up to `now`, from `earliest` (the first thing recorded)
    /// for everything; a custom range's own days.
    pub fn window(self, now: UnixMs, earliest: UnixMs) -> (UnixMs, UnixMs) {
        match self {
            Range::Custom(span) => span.window(now),
            _ => match self.span_ms() {
                Some(span) => (now - span, now),
                None => (earliest.min(now - HOUR), now),
            },
        }
    }
}

/// Why a custom range was refused, in the page's language.
fn refusal(lang: Lang, why: SpanError) -> &'static str {
    match why {
        SpanError::BadFrom => lang.t("开始日期须为 YYYY-MM-DD 格式的有效日期。", "The first day must be a date written YYYY-MM-DD."),
        SpanError::BadTo => lang.t("结束日期须为 YYYY-MM-DD 格式的有效日期。", "The last day must be a date written YYYY-MM-DD."),
        SpanError::Reversed => lang.t("开始日期不能晚于结束日期。", "The first day may not be after the last."),
        SpanError::Future => lang.t("结束日期不能晚于今天（北京时间）。", "The last day may not be after today (Beijing time)."),
        SpanError::TooEarly => lang
            .t("开始日期不能早于 2000-01-01：平台没有更早的记录。", "The first day may not be before 2000-01-01: nothing older is kept."),
        SpanError::TooLong => lang.t("时间范围最长 20 年（7320 天）。", "A range may span at most 20 years (7,320 days)."),
    }
}

/// The links that choose the page's time range (they keep the rest of the query), the chosen
/// one marked `aria-current`, and a form for a custom range of days; all work without script.
pub fn range_picker(lang: Lang, choice: &Choice) -> String {
    let mut out = format!(
        r#"<nav class="range" id="range" aria-label="{}"><span>{}</span>"#,
        lang.t("时间范围", "Time range"),
        lang.t("时间范围：", "Time range:")
    );
    let unset = |k: &str| (k.to_string(), None);
    for r in Range::EVERY {
        let href = super::table::relink(&[("range".to_string(), Some(r.param().to_string())), unset("from"), unset("to")]);
        let mark = if r == choice.range { r#" aria-current="true""# } else { "" };
        let _ = write!(out, r##"<a href="{}#range" data-range="{}"{mark}>{}</a>"##, esc(&href), r.param(), r.label(lang));
    }
    out.push_str(&custom_form(lang, choice));
    out.push_str("</nav>");
    out
}

/// The custom range's GET form: the rest of the query kept in hidden fields, the two days (what
/// was typed, or the chosen range's days), and the reason beside it when they were refused.
fn custom_form(lang: Lang, choice: &Choice) -> String {
    let mark = if matches!(choice.range, Range::Custom(_)) { r#" aria-current="true""# } else { "" };
    let mut out = format!(r##"<form method="get" class="range-custom" action="#range" data-range="custom"{mark}>"##);
    let skip = ["range", "from", "to", "format", "table"];
    for (k, v) in super::table::query().into_iter().filter(|(k, _)| !skip.contains(&k.as_str())) {
        let _ = write!(out, r#"<input type="hidden" name="{}" value="{}">"#, esc(&k), esc(&v));
    }
    let (from, to) = match choice.range {
        Range::Custom(s) if choice.refused.is_none() => (format_date(s.from * MS_PER_DAY), format_date(s.to * MS_PER_DAY)),
        _ => (choice.from.clone(), choice.to.clone()),
    };
    let invalid = if choice.refused.is_some() { r#" aria-invalid="true" aria-describedby="range-error""# } else { "" };
    let _ = write!(
        out,
        r#"<input type="hidden" name="range" value="custom"><label for="range-from">{f}</label><input type="date" id="range-from" name="from" value="{fv}" min="2000-01-01"{invalid}><label for="range-to">{t}</label><input type="date" id="range-to" name="to" value="{tv}" min="2000-01-01"{invalid}><button type="submit">{go}</button>"#,
        f = lang.t("自", "From"),
        fv = esc(&from),
        t = lang.t("至", "to"),
        tv = esc(&to),
        go = lang.t("显示", "Show"),
    );
    if let Some(why) = choice.refused {
        let _ =
            write!(out, r#"<p class="error" role="alert" id="range-error" data-code="{}">{}</p>"#, why.code().as_str(), refusal(lang, why));
    }
    out.push_str("</form>");
    out
}

/// A span of calendar months as a request asks it (`?months=12m|24m|ytd`, or
/// `?months=custom&months_from=YYYY-MM&months_to=YYYY-MM`), what was typed for a custom one, and
/// why it was refused (the page then shows the last 12 months).
#[derive(Debug, Clone, PartialEq)]
pub struct MonthChoice {
    pub span: MonthSpan,
    from: String,
    to: String,
    refused: Option<String>,
}

impl MonthChoice {
    /// The span the request asks for as of `now`.
    pub fn chosen(now: UnixMs) -> MonthChoice {
        let param = |k: &str| super::table::param(k).unwrap_or_default();
        let (asked, from, to) = (param("months"), param("months_from"), param("months_to"));
        match MonthSpan::parse(&asked, &from, &to, now) {
            Ok(span) => MonthChoice { span, from, to, refused: None },
            Err(e) => MonthChoice { span: MonthSpan::Last12, from, to, refused: Some(e.message) },
        }
    }
}

/// A span of months' name on a page.
pub fn month_label(lang: Lang, span: MonthSpan) -> String {
    match span {
        MonthSpan::Last12 => lang.t("近 12 个月", "Last 12 months").to_string(),
        MonthSpan::Last24 => lang.t("近 24 个月", "Last 24 months").to_string(),
        MonthSpan::YearToDate => lang.t("今年以来", "Year to date").to_string(),
        MonthSpan::Between(..) => {
            let (a, b) = span.bounds().unwrap_or_default();
            format!("{a} {} {b}", lang.t("至", "to"))
        }
    }
}

/// The month picker of the charts by calendar month (the overview's trends): links for 12 and
/// 24 months and the year to date, and a form for a custom span of months; without script.
pub fn month_picker(lang: Lang, choice: &MonthChoice) -> String {
    let mut out = format!(
        r#"<nav class="range" id="months" aria-label="{}"><span>{}</span>"#,
        lang.t("月份范围", "Months shown"),
        lang.t("月份范围：", "Months shown:")
    );
    let unset = |k: &str| (k.to_string(), None);
    for span in [MonthSpan::Last12, MonthSpan::Last24, MonthSpan::YearToDate] {
        let href =
            super::table::relink(&[("months".to_string(), Some(span.param().to_string())), unset("months_from"), unset("months_to")]);
        let mark = if span == choice.span { r#" aria-current="true""# } else { "" };
        let _ = write!(out, r##"<a href="{}#months" data-range="{}"{mark}>{}</a>"##, esc(&href), span.param(), month_label(lang, span));
    }
    let custom = matches!(choice.span, MonthSpan::Between(..));
    let mark = if custom { r#" aria-current="true""# } else { "" };
    let _ = write!(out, r##"<form method="get" class="range-custom" action="#months" data-range="custom"{mark}>"##);
    let skip = ["months", "months_from", "months_to", "format", "table"];
    for (k, v) in super::table::query().into_iter().filter(|(k, _)| !skip.contains(&k.as_str())) {
        let _ = write!(out, r#"<input type="hidden" name="{}" value="{}">"#, esc(&k), esc(&v));
    }
    let (from, to) = match choice.span.bounds() {
        Some(b) if choice.refused.is_none() => b,
        _ => (choice.from.clone(), choice.to.clone()),
    };
    let invalid = if choice.refused.is_some() { r#" aria-invalid="true" aria-describedby="months-error""# } else { "" };
    let _ = write!(
        out,
        r#"<input type="hidden" name="months" value="custom"><label for="months-from">{f}</label><input type="month" id="months-from" name="months_from" value="{fv}" min="2000-01" placeholder="YYYY-MM"{invalid}><label for="months-to">{t}</label><input type="month" id="months-to" name="months_to" value="{tv}" min="2000-01" placeholder="YYYY-MM"{invalid}><button type="submit">{go}</button>"#,
        f = lang.t("自", "From"),
        fv = esc(&from),
        t = lang.t("至", "to"),
        tv = esc(&to),
        go = lang.t("显示", "Show"),
    );
    if choice.refused.is_some() {
        let _ = write!(
            out,
            r#"<p class="error" role="alert" id="months-error" data-code="invalid_date">{}</p>"#,
            lang.t(
                "月份须写作 YYYY-MM：开始不晚于结束，结束不晚于本月，自 2000-01 起，最长 120 个月。",
                "Months are written YYYY-MM: the first not after the last, the last not after this month, from 2000-01, at most 120 months."
            )
        );
    }
    out.push_str("</form></nav>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use suanli_core::span::MAX_DAYS;

    #[test]
    fn each_range_has_its_window_and_step() {
        let now = 400 * MS_PER_DAY;
        assert_eq!(Range::chosen(Range::Month, now).range, Range::Month, "no request: the default");
        assert_eq!(Range::Week.window(10 * MS_PER_DAY, 0), (3 * MS_PER_DAY, 10 * MS_PER_DAY));
        assert_eq!(Range::Year.window(now, 0), (35 * MS_PER_DAY, now));
        assert_eq!(Range::All.window(10 * MS_PER_DAY, 5), (5, 10 * MS_PER_DAY));
        let steps: Vec<Bucket> = Range::EVERY.iter().map(|r| r.bucket()).collect();
        assert_eq!(steps, [Bucket::Hour, Bucket::Day, Bucket::Day, Bucket::Month, Bucket::Month]);
        for (days, step) in [(1, Bucket::Hour), (2, Bucket::Hour), (3, Bucket::Day), (92, Bucket::Day), (93, Bucket::Month)] {
            let r = Range::Custom(DaySpan { from: 100, to: 100 + days - 1 });
            assert_eq!(r.bucket(), step, "{days} days");
        }
        let custom = Range::Custom(DaySpan { from: 20_393, to: 20_422 });
        assert_eq!(custom.label(Lang::Zh), "2025-11-01 至 2025-11-30");
        assert_eq!(custom.window(i64::MAX, 0), ((20_393 * MS_PER_DAY - 8 * HOUR), 20_423 * MS_PER_DAY - 8 * HOUR));
    }

    #[test]
    fn the_picker_marks_its_range_and_a_refused_custom_range_keeps_the_input_beside_the_reason() {
        let shown = Choice { range: Range::Day, from: String::new(), to: String::new(), refused: None };
        let picker = range_picker(Lang::Zh, &shown);
        assert_eq!(picker.matches("<a href=").count(), 5);
        assert!(picker.contains(r#"data-range="24h" aria-current="true">近 24 小时</a>"#), "{picker}");
        assert!(picker.contains(r##"<form method="get" class="range-custom" action="#range" data-range="custom">"##), "{picker}");
        assert!(!picker.contains("role=\"alert\""));
        let refused = Choice { range: Range::Month, from: "2026-11-30".into(), to: "<x>".into(), refused: Some(SpanError::BadTo) };
        let en = range_picker(Lang::En, &refused);
        assert!(en.contains(r#"name="from" value="2026-11-30""#) && en.contains(r#"name="to" value="&lt;x&gt;""#), "{en}");
        assert!(en.contains(r#"data-code="invalid_date">The last day must be a date"#), "{en}");
        let zh = range_picker(Lang::Zh, &Choice { refused: Some(SpanError::TooLong), ..refused });
        assert!(zh.contains("时间范围最长 20 年") && zh.contains(&format!("{MAX_DAYS}")), "{zh}");
        assert!(zh.contains(r#"data-range="30d" aria-current="true""#), "the default shown is marked");
    }
}
