//! `GET /partners` (算力伙伴遴选): for the operator and the regulator, every centre's score, the criteria in force (weights and thresholds) and, for the operator, the form that changes them (errors beside their field) and the partner round it runs after a confirmation, whose result says who was admitted, suspended or reinstated and why.

use super::form::{Field, FormAt, Input, form_html};
use super::operate::{Kept, fields, refusal};
use super::{Lang, LangQuery, confirm, error_notice, esc, gate, labels, page, thead, with_cookie};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::collections::HashMap;
use std::fmt::Write;
use suanli_app::Partners;
use suanli_app::partners::{RoundChange, RoundKind};
use suanli_core::ErrorCode;
use suanli_incentives::certification::CertificationKind;
use suanli_incentives::partner::{Config, Measures, Score};

/// A number of the criteria: its form field, its words, whether it is whole, and how it is read
/// from and written to the configuration.
struct Criterion {
    field: &'static str,
    zh: &'static str,
    en: &'static str,
    whole: bool,
    read: fn(&Config) -> f64,
    write: fn(&mut Config, f64),
}

const CRITERIA: [Criterion; 12] = [
    Criterion {
        field: "weight_performance",
        zh: "权重：性能",
        en: "Weight: performance",
        whole: true,
        read: |c| c.weight_performance as f64,
        write: |c, v| c.weight_performance = v as u32,
    },
    Criterion {
        field: "weight_security",
        zh: "权重：安全可控",
        en: "Weight: security",
        whole: true,
        read: |c| c.weight_security as f64,
        write: |c, v| c.weight_security = v as u32,
    },
    Criterion {
        field: "weight_green",
        zh: "权重：绿色",
        en: "Weight: green",
        whole: true,
        read: |c| c.weight_green as f64,
        write: |c, v| c.weight_green = v as u32,
    },
    Criterion {
        field: "weight_price",
        zh: "权重：价格",
        en: "Weight: price",
        whole: true,
        read: |c| c.weight_price as f64,
        write: |c, v| c.weight_price = v as u32,
    },
    Criterion {
        field: "weight_service",
        zh: "权重：服务（五项权重合计须为 100）",
        en: "Weight: service (the five weights add up to 100)",
        whole: true,
        read: |c| c.weight_service as f64,
        write: |c, v| c.weight_service = v as u32,
    },
    Criterion {
        field: "min_total",
        zh: "入选最低总分（0–100）",
        en: "Least total score admitted (0-100)",
        whole: false,
        read: |c| c.min_total,
        write: |c, v| c.min_total = v,
    },
    Criterion {
        field: "max_pue",
        zh: "实测 PUE 上限（1–4）",
        en: "Highest measured PUE (1-4)",
        whole: false,
        read: |c| c.max_pue,
        write: |c, v| c.max_pue = v,
    },
    Criterion {
        field: "max_centre_fault_share",
        zh: "中心原因失败占比上限（0–1）",
        en: "Highest share of failures the centre caused (0-1)",
        whole: false,
        read: |c| c.max_centre_fault_share,
        write: |c, v| c.max_centre_fault_share = v,
    },
    Criterion {
        field: "sla_max_start_latency_s",
        zh: "统一服务标准：作业启动时间中位数上限（秒）",
        en: "Service standard: longest median time to start a job (s)",
        whole: false,
        read: |c| c.sla_max_start_latency_s,
        write: |c, v| c.sla_max_start_latency_s = v,
    },
    Criterion {
        field: "sla_min_jobs",
        zh: "统一服务标准：启动作业满此数后考核",
        en: "Service standard: judged once this many jobs started",
        whole: true,
        read: |c| c.sla_min_jobs as f64,
        write: |c, v| c.sla_min_jobs = v as u32,
    },
    Criterion {
        field: "security_certifications_pct",
        zh: "安全可控分中认证所占百分比",
        en: "Percent of the security score given by certifications",
        whole: true,
        read: |c| c.security_certifications_pct as f64,
        write: |c, v| c.security_certifications_pct = v as u32,
    },
    Criterion {
        field: "green_renewable_pct",
        zh: "绿色分中绿电占比所占百分比",
        en: "Percent of the green score given by renewables",
        whole: true,
        read: |c| c.green_renewable_pct as f64,
        write: |c, v| c.green_renewable_pct = v as u32,
    },
];

/// The form field of a certification's points.
fn cert_field(k: CertificationKind) -> &'static str {
    match k {
        CertificationKind::Mlps3 => "cert_mlps_3",
        CertificationKind::Mlps4 => "cert_mlps_4",
        CertificationKind::Iso27001 => "cert_iso_27001",
        CertificationKind::TrustedCloud => "cert_trusted_cloud",
        CertificationKind::DcTier3 => "cert_dc_tier_3",
        CertificationKind::DcTier4 => "cert_dc_tier_4",
    }
}

fn cert_label(lang: Lang, k: CertificationKind) -> String {
    format!(
        "{}{}",
        lang.t("每项有效认证的分值（0–100）：", "Points for a certification in force (0-100): "),
        lang.t(k.title().0, k.title().1)
    )
}

/// A number as the form shows it: whole numbers without a point.
fn shown(v: f64) -> String {
    if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v}") }
}

/// The criteria as a form body, so the form opens holding what is in force.
fn config_body(cfg: &Config) -> String {
    let mut pairs: Vec<(String, String)> = CRITERIA.iter().map(|k| (k.field.to_string(), shown((k.read)(cfg)))).collect();
    for k in CertificationKind::ALL {
        pairs.push((cert_field(k).to_string(), cfg.certification_points.get(&k).copied().unwrap_or(0).to_string()));
    }
    serde_urlencoded::to_string(&pairs).unwrap_or_default()
}

/// A refusal with the field it is about.
type Refusal = (&'static str, ApiError);

/// The criteria as the form posted them; a number that cannot be read is refused beside its field.
fn config_of(body: &str) -> Result<Config, Refusal> {
    let f = fields(body);
    let number = |field: &'static str, whole: bool| -> Result<f64, Refusal> {
        let v = f.get(field).map_or("", |v| v.trim());
        let n: Option<f64> = if whole { v.parse::<u32>().ok().map(f64::from) } else { v.parse::<f64>().ok().filter(|x| x.is_finite()) };
        n.ok_or_else(|| {
            let (code, what) = if whole { (ErrorCode::InvalidCount, "a whole number") } else { (ErrorCode::InvalidBody, "a number") };
            (field, ApiError::new(code, format!("{field} must be {what}, not '{v}'")))
        })
    };
    let mut cfg = Config::default();
    for k in &CRITERIA {
        (k.write)(&mut cfg, number(k.field, k.whole)?);
    }
    for k in CertificationKind::ALL {
        cfg.certification_points.insert(k, number(cert_field(k), true)? as u32);
    }
    Ok(cfg)
}

/// The field a refusal of the partner service names first (`weights: …`, `max_pue: …`).
fn config_field(e: &ApiError) -> &'static str {
    let ApiError::Domain(d) = e else { return "" };
    let named = d.message.split(':').next().unwrap_or("");
    if named == "weights" {
        return "weight_service";
    }
    if let Some(k) = CRITERIA.iter().find(|k| k.field == named) {
        return k.field;
    }
    CertificationKind::ALL.into_iter().find(|k| named == format!("certification_points.{}", k.as_str())).map_or("", cert_field)
}

/// `GET /partners`.
pub async fn partners_page(State(s): State<AppState>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, set, c) = match gate(&s, &q, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    with_cookie(render(&s, lang, &c, StatusCode::OK, "", &Kept::default()).await, set)
}

/// The page: `notice` (a round's result, the criteria saved, or an error) on top, a refused
/// form kept. The partner scores' own rule decides who may open it.
async fn render(s: &AppState, lang: Lang, c: &Caller, status: StatusCode, notice: &str, kept: &Kept) -> Response {
    let title = lang.t("算力伙伴遴选", "Compute-partner selection");
    let scored = match suanli_app::Caller::of(&c.0) {
        Ok(caller) => {
            let pues = s.energy.measured_pues(s.ids.now_ms()).await;
            s.partners
                .scores(&caller, &s.catalogue, &s.policy.high_performance_classes, &pues)
                .await
                .map(|scored| (caller, scored))
                .map_err(ApiError::from)
        }
        Err(e) => Err(ApiError::from(e)),
    };
    let (caller, (measures, scores)) = match scored {
        Ok(caller) => caller,
        Err(e) => {
            let body = format!("<h1>{title}</h1>{}", error_notice(lang, &e));
            return (StatusCode::FORBIDDEN, Html(page(lang, title, Some(c), &body))).into_response();
        }
    };
    let mut body = format!(
        "<h1>{title}</h1><p>{}</p>{notice}",
        lang.t(
            "按平台实测数据为每个算力中心评分（性能、安全可控、绿色、价格、服务）。准入轮次把达标的申请中心纳为伙伴；年度复核暂停不再达标的伙伴，并恢复重新达标的中心。",
            "Every centre is scored from what the platform measured (performance, security, green, price, service). An admission round makes the applicants that meet the criteria partners; the yearly review suspends partners that no longer do and reinstates suspended centres that do again."
        )
    );
    let operator = Partners::may_set_config(&caller).is_ok();
    if Partners::may_run_round(&caller).is_ok() {
        body.push_str(&round_form(lang, kept));
    }
    body.push_str(&partner_scores(lang, &measures, &scores));
    let cfg = s.partners.config().await.unwrap_or_default();
    if operator {
        body.push_str(&config_form(lang, &cfg, kept));
    } else {
        body.push_str(&config_table(lang, &cfg));
    }
    (status, Html(page(lang, title, Some(c), &body))).into_response()
}

fn round_kind(lang: Lang, k: RoundKind) -> &'static str {
    match k {
        RoundKind::Admission => lang.t("准入轮次：达标的申请中心成为伙伴", "Admission: applicants that meet the criteria become partners"),
        RoundKind::Review => lang.t(
            "年度复核：不再达标的伙伴暂停，重新达标的暂停中心恢复",
            "Yearly review: partners that no longer meet the criteria are suspended, suspended centres that do again reinstated",
        ),
    }
}

/// The operator's form to run a round.
fn round_form(lang: Lang, kept: &Kept) -> String {
    let kinds = [RoundKind::Admission, RoundKind::Review].map(|k| (k.as_str().to_string(), round_kind(lang, k).to_string()));
    let fields = [Field { name: "kind", label: lang.t("轮次", "Round").to_string(), input: Input::Choice(kinds.to_vec()) }];
    form_html(
        &FormAt { form: "round", action: "/partners/rounds", id: "partner-round" },
        lang.t("进行一轮遴选", "Run a partner round"),
        &fields,
        lang.t("进行遴选", "Run the round"),
        kept,
    )
}

/// The operator's form for the criteria, holding what is in force (or what was typed).
fn config_form(lang: Lang, cfg: &Config, kept: &Kept) -> String {
    let mut fields: Vec<Field> = CRITERIA
        .iter()
        .map(|k| Field {
            name: k.field,
            label: lang.t(k.zh, k.en).to_string(),
            input: Input::Text { required: true, mode: if k.whole { "numeric" } else { "decimal" } },
        })
        .collect();
    for k in CertificationKind::ALL {
        fields.push(Field { name: cert_field(k), label: cert_label(lang, k), input: Input::Text { required: true, mode: "numeric" } });
    }
    let now = Kept::new("config", &config_body(cfg), "", String::new());
    form_html(
        &FormAt { form: "config", action: "/partners/config", id: "partner-config" },
        lang.t("评分标准（权重与门槛）", "The criteria (weights and thresholds)"),
        &fields,
        lang.t("保存评分标准", "Save the criteria"),
        if kept.is("config") { kept } else { &now },
    )
}

/// The criteria in force, for who may read but not change them.
fn config_table(lang: Lang, cfg: &Config) -> String {
    let mut body = format!(r#"<h2 id="config-title">{}</h2>"#, lang.t("评分标准（权重与门槛）", "The criteria (weights and thresholds)"));
    body.push_str(&thead(&[lang.t("标准", "Criterion"), lang.t("取值", "Value")]));
    for k in &CRITERIA {
        let _ = write!(body, "<tr><td>{}</td><td>{}</td></tr>", esc(lang.t(k.zh, k.en)), shown((k.read)(cfg)));
    }
    for k in CertificationKind::ALL {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td></tr>",
            esc(&cert_label(lang, k)),
            cfg.certification_points.get(&k).copied().unwrap_or(0)
        );
    }
    body.push_str("</tbody></table></div>");
    body
}

/// A refused form: the role that may not use it gets the error on top (403), the rest beside its field (422).
async fn refused(s: &AppState, lang: Lang, c: &Caller, form: &str, body: &str, (field, e): Refusal) -> Response {
    match refusal(lang, form, body, field, &e) {
        Ok((kept, notice)) => render(s, lang, c, StatusCode::UNPROCESSABLE_ENTITY, &notice, &kept).await,
        Err(notice) => render(s, lang, c, StatusCode::FORBIDDEN, &notice, &Kept::default()).await,
    }
}

/// `POST /partners/config` (form): the operator sets the criteria.
pub async fn set_config(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = async {
        let caller = suanli_app::Caller::of(&c.0).map_err(|e| ("", ApiError::from(e)))?;
        let cfg = config_of(&body)?;
        s.partners.set_config(&caller, cfg).await.map_err(|e| {
            let e = ApiError::from(e);
            (config_field(&e), e)
        })
    }
    .await;
    match result {
        Ok(_) => {
            let done = format!(r#"<p class="ok" role="status" id="done">{}</p>"#, lang.t("已保存评分标准", "The criteria are saved"));
            render(&s, lang, &c, StatusCode::OK, &done, &Kept::default()).await
        }
        Err(r) => refused(&s, lang, &c, "config", &body, r).await,
    }
}

/// `POST /partners/rounds` (form): the operator runs a round after a confirmation, and sees who changed and why.
pub async fn run_round(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let typed = fields(&body).get("kind").cloned().unwrap_or_default();
    let result = async {
        let caller = suanli_app::Caller::of(&c.0).map_err(|e| ("", ApiError::from(e)))?;
        Partners::may_run_round(&caller).map_err(|e| ("", ApiError::from(e)))?;
        let kind = RoundKind::parse(&typed)
            .ok_or_else(|| ("kind", ApiError::new(ErrorCode::InvalidBody, format!("kind must be admission or review, not '{typed}'"))))?;
        if !confirm::confirmed(&body) {
            return Ok(Err(round_confirmation(lang, &c, kind, &body)));
        }
        let pues = s.energy.measured_pues(s.ids.now_ms()).await;
        let changes =
            s.partners.round(&caller, kind, &s.catalogue, &s.policy.high_performance_classes, &pues).await.map_err(|e| ("", e.into()))?;
        s.engine.wake();
        Ok(Ok(round_result(lang, kind, &changes)))
    }
    .await;
    match result {
        Ok(Err(ask)) => ask,
        Ok(Ok(done)) => render(&s, lang, &c, StatusCode::OK, &done, &Kept::default()).await,
        Err(r) => refused(&s, lang, &c, "round", &body, r).await,
    }
}

/// The question before a round: which round, and that its changes take effect at once.
fn round_confirmation(lang: Lang, c: &Caller, kind: RoundKind, body: &str) -> Response {
    let facts = [(lang.t("轮次", "Round"), esc(round_kind(lang, kind)))];
    confirm::ask(
        lang,
        c,
        &confirm::Ask {
            title: lang.t("确认进行此轮遴选？", "Run this partner round?"),
            facts: &facts,
            outcome: lang.t(
                "确认后按当前评分立即改变各中心的伙伴资格（伙伴折扣随之生效或停止），每项变更记入审计日志；轮次不能撤销，只能再逐个手工调整。",
                "Centres' partner status changes at once by their current scores (partner discounts start or stop with it), and every change is audited; a round cannot be undone, only changed back centre by centre.",
            ),
            action: "/partners/rounds",
            body,
            go: lang.t("确认进行", "Yes, run it"),
            back: "/partners",
        },
    )
}

/// What a round did: who changed from what to what, with the total score and why.
fn round_result(lang: Lang, kind: RoundKind, changes: &[RoundChange]) -> String {
    let mut out = format!(
        r#"<section id="round-result"><h2>{}</h2><p class="ok" role="status">{}</p>"#,
        lang.t("本轮遴选结果", "The round's result"),
        esc(round_kind(lang, kind))
    );
    if changes.is_empty() {
        let _ = write!(out, "<p>{}</p>", lang.t("没有中心的伙伴资格发生变化。", "No centre's partner status changed."));
    }
    out.push_str(&super::thead_id(
        "round-changes",
        &[lang.t("中心", "Centre"), lang.t("原资格", "Was"), lang.t("新资格", "Now"), lang.t("总分", "Total"), lang.t("原因", "Why")],
    ));
    for ch in changes {
        let why = if ch.reasons.is_empty() {
            lang.t("达到全部标准", "meets every criterion").to_string()
        } else {
            ch.reasons.iter().map(|r| labels::partner_reason(lang, r)).collect::<Vec<_>>().join(lang.t("；", "; "))
        };
        let _ = write!(
            out,
            r#"<tr><td><a href="/centres/{}">{}</a></td><td>{}</td><td>{}</td><td>{:.1}</td><td>{why}</td></tr>"#,
            esc(&ch.centre_id),
            esc(&ch.name),
            labels::partner_status(lang, ch.from),
            labels::partner_status(lang, ch.to),
            ch.total,
        );
    }
    out.push_str("</tbody></table></div></section>");
    out
}

/// The compute-partner scores from measured data, with the certifications and renewable share
/// that count.
fn partner_scores(lang: Lang, measures: &[Measures], scores: &[Score]) -> String {
    let by_centre: HashMap<&str, &Measures> = measures.iter().map(|m| (m.centre_id.as_str(), m)).collect();
    let mut body =
        format!(r#"<h2 id="partners">{}</h2>"#, lang.t("算力伙伴遴选评分（按实测数据）", "Compute-partner scores (from measured data)"));
    body.push_str(&thead(&[
        lang.t("中心", "Centre"),
        lang.t("性能", "Performance"),
        lang.t("安全可控", "Security"),
        lang.t("绿色", "Green"),
        lang.t("价格", "Price"),
        lang.t("服务", "Service"),
        lang.t("总分", "Total"),
        lang.t("有效认证", "Certifications in force"),
        lang.t("绿电占比", "Renewable share"),
        lang.t("结论", "Verdict"),
    ]));
    for sc in scores {
        let m = by_centre.get(sc.centre_id.as_str()).copied();
        let certs: Vec<&str> =
            m.map_or(&[][..], |m| m.certifications.as_slice()).iter().map(|k| lang.t(k.title().0, k.title().1)).collect();
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{:.0}</td><td>{:.0}</td><td>{:.0}</td><td>{:.0}</td><td>{:.0}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&sc.name),
            sc.performance,
            sc.security,
            sc.green,
            sc.price,
            sc.service,
            sc.total,
            if certs.is_empty() { "-".to_string() } else { esc(&certs.join(lang.t("、", ", "))) },
            m.and_then(|m| m.renewable_share).map_or("-".to_string(), |r| format!("{:.0}%", r * 100.0)),
            if sc.admitted {
                lang.t("达标", "meets the criteria").to_string()
            } else {
                sc.reasons.iter().map(|r| labels::partner_reason(lang, r)).collect::<Vec<_>>().join(lang.t("；", "; "))
            },
        );
    }
    body.push_str("</tbody></table></div>");
    body
}
