//! The overview's trends against the policy's targets: each target month by month (suanli-app's `trends`, the figures `GET /api/v1/city/trends` serves) as a line with its target, and whether it is met stated in words.

use super::charts::{Formats, Limit, Line, Scale, time_lines};
use super::range::{MonthChoice, month_label, month_picker};
use super::{Lang, esc, target_badge};
use crate::AppState;
use std::fmt::Write;
use suanli_app::trends::{Amount, Rule, Trend, Trends};

/// A target's name on a page.
fn name(lang: Lang, key: &str) -> &'static str {
    match key {
        "open_compute" => lang.t("可开放算力 (FP16)", "Open compute (FP16)"),
        "high_performance_share" => lang.t("高性能算力占比", "High-performance share"),
        "new_dc_pue" => lang.t("新建数据中心月度 PUE（最差者）", "New data centres' monthly PUE (the worst)"),
        "voucher_spending" => lang.t("算力券年内累计使用", "Vouchers spent in the year"),
        _ => lang.t("指标", "Figure"),
    }
}

/// A value of a target as a page writes it (money to the fen).
fn value(lang: Lang, t: &Trend, v: Amount) -> String {
    match (v, t.unit) {
        (Amount::Money(f), _) => lang.fen(f),
        (Amount::Figure(v), "share") => format!("{:.1}%", v * 100.0),
        (Amount::Figure(v), "PUE") => format!("{v:.2}"),
        (Amount::Figure(v), unit) => format!("{v:.1} {unit}"),
    }
}

/// The target in words: "目标 ≥ 5000 PFLOPS".
fn target(lang: Lang, t: &Trend) -> String {
    let sign = match t.rule {
        Rule::AtLeast => "≥",
        Rule::Below => "<",
        Rule::AtMost => "≤",
    };
    let v = match t.unit {
        "PFLOPS" => format!("{:.0} PFLOPS", t.target.as_f64()),
        _ => value(lang, t, t.target),
    };
    let what = if t.unit == "PUE" { lang.t("限值", "limit") } else { lang.t("目标", "target") };
    format!("{what} {sign} {v}")
}

/// One target's chart and its state in words.
fn trend_section(lang: Lang, trends: &Trends, t: &Trend) -> String {
    let label = name(lang, t.key);
    let scaled = |v: f64| if t.unit == "share" { v * 100.0 } else { v };
    let points: Vec<(i64, f64)> =
        trends.months.iter().zip(&t.values).filter_map(|(m, v)| v.map(|v| (m.from_ms, scaled(v.as_f64())))).collect();
    let met_months = t.values.iter().filter(|v| v.is_some_and(|v| t.rule.met(v, t.target))).count();
    let measured = t.values.iter().filter(|v| v.is_some()).count();
    let latest = trends.months.iter().zip(&t.values).rev().find_map(|(m, v)| v.map(|v| (m.month.as_str(), v)));
    let state = match (latest, t.met) {
        (Some((month, v)), Some(met)) => format!(
            "{month}: {} · {} {} · {} {measured} {} {met_months} {}",
            esc(&value(lang, t, v)),
            esc(&target(lang, t)),
            target_badge(lang, met),
            lang.t("近", "of the last"),
            lang.t("个有数据的月份中", "months with data,"),
            lang.t("个月达标", "met it"),
        ),
        _ => format!("{} · {}", lang.t("暂无数据", "No data yet"), esc(&target(lang, t))),
    };
    let limit = Limit { value: scaled(t.target.as_f64()), label: target(lang, t) };
    let (unit, scale) = match t.unit {
        "share" => ("%", Scale::Fixed(0.0, 100.0)),
        "PUE" => ("PUE", Scale::Fit),
        "yuan" => (lang.t("元", "yuan"), Scale::FromZero),
        u => (u, Scale::FromZero),
    };
    let tick = |v: f64| match t.unit {
        "share" => format!("{v:.0}%"),
        "PUE" => format!("{v:.2}"),
        _ => super::labels::group(v.round()),
    };
    let hover = |v: f64| match t.unit {
        "share" => format!("{v:.1}%"),
        "yuan" => value(lang, t, Amount::Money(suanli_core::money::Fen((v * 100.0).round() as i64))),
        _ => value(lang, t, Amount::Figure(v)),
    };
    let line = Line { name: label.to_string(), points };
    let chart = time_lines(
        lang,
        &format!("trend-{}", t.key.replace('_', "-")),
        label,
        unit,
        &[line],
        scale,
        Some(&limit),
        Formats { tick: &tick, value: &hover },
        None,
    );
    let met_attr = t.met.map_or("", |m| if m { "true" } else { "false" });
    format!(r#"<h3>{}</h3><p class="trend-state" data-trend="{}" data-met="{met_attr}">{state}</p>{chart}"#, esc(label), esc(t.key))
}

/// The overview's section of the policy's targets month by month.
pub async fn section(s: &AppState, lang: Lang, registry: &suanli_app::figures::Registry) -> String {
    let choice = MonthChoice::chosen(s.ids.now_ms());
    let mut out = format!(
        r#"<section id="trends" aria-labelledby="trends-h"><h2 id="trends-h">{}</h2>{}<p class="t">{}{}</p>"#,
        lang.t("政策目标逐月趋势", "The policy's targets month by month"),
        month_picker(lang, &choice),
        esc(&month_label(lang, choice.span)),
        lang.t(
            "：自然月（北京时间），本月截至现在；达标与否以最近一个有数据的月份为准。",
            ": calendar months (Beijing time), this month up to now; met or not met by the latest month with data."
        )
    );
    match crate::api::city::city_trends(s, registry, choice.span).await {
        Ok(trends) => {
            for t in &trends.trends {
                out.push_str(&trend_section(lang, &trends, t));
            }
        }
        Err(_) => {
            let _ = write!(out, "<p>{}</p>", lang.t("趋势暂时无法计算。", "The trends cannot be computed right now."));
        }
    }
    out.push_str("</section>");
    out
}
