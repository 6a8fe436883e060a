//! `GET /models`: the model catalogue to browse and compare side by side, a provider's deployments with the forms to register, deploy and undeploy models (`model_admin.rs`), a tenant's keys (`model_keys.rs`), and model-call usage: a tenant's own keys and calls, a provider's calls served, the city's for the operator and the regulator.

use super::model_keys::Kept;
use super::{Lang, LangQuery, esc, gate, labels, page, thead, with_cookie};
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use std::collections::HashMap;
use std::fmt::Write;
use suanli_app::models::CatalogueEntry;
use suanli_core::money::Fen;
use suanli_core::tenant::Role;
use suanli_store::models::UsageFilter;

/// How one row of the comparison reads a model.
type Cell<'a> = Box<dyn Fn(&CatalogueEntry) -> String + 'a>;

/// The cheapest and dearest price per million tokens across a model's deployments.
fn price_range(lang: Lang, e: &CatalogueEntry, output: bool) -> String {
    let prices: Vec<Fen> = e.deployments.iter().map(|d| if output { d.price_output_per_m } else { d.price_input_per_m }).collect();
    match (prices.iter().min(), prices.iter().max()) {
        (Some(a), Some(b)) if a == b => lang.fen(*a),
        (Some(a), Some(b)) => format!("{} – {}", lang.fen(*a), lang.fen(*b)),
        _ => "-".into(),
    }
}

/// Reads `lang` and every `m` (models to compare) from the query string.
fn parse_query(raw: Option<&str>) -> (LangQuery, Vec<String>) {
    let mut lang = None;
    let mut compare = Vec::new();
    for (k, v) in serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or("")).unwrap_or_default() {
        match k.as_str() {
            "lang" => lang = Some(v),
            "m" if compare.len() < 6 && !compare.contains(&v) => compare.push(v),
            _ => {}
        }
    }
    (LangQuery { lang }, compare)
}

/// `GET /models`.
pub async fn models_page(State(s): State<AppState>, RawQuery(raw): RawQuery, headers: HeaderMap) -> Response {
    let (q, compare) = parse_query(raw.as_deref());
    let (lang, set, c) = match gate(&s, &q, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    with_cookie(Html(render(&s, lang, &c, &compare, "", Kept::Nothing).await).into_response(), set)
}

/// Each deployment's last health check (`GET /models`, every few seconds), cooldown and load.
fn health_table(lang: Lang, health: &[suanli_gateway::DeploymentHealth]) -> String {
    use suanli_gateway::route::Probe;
    let mut out = format!(r#"<h2 id="health">{}</h2>"#, lang.t("部署健康状况", "Deployments' health"));
    out.push_str(&thead(&[
        lang.t("部署", "Deployment"),
        lang.t("健康检查", "Health check"),
        lang.t("检查时间", "Checked"),
        lang.t("响应（毫秒）", "Answered in (ms)"),
        lang.t("冷却至", "Cooling down until"),
        lang.t("进行中", "In flight"),
        lang.t("成功 / 失败", "Served / failed"),
    ]));
    for h in health {
        let state = match h.probe {
            Probe::Up => lang.t("正常", "up").to_string(),
            Probe::Down => format!(
                "{}{}",
                lang.t("无响应", "down"),
                h.probe_error.as_ref().filter(|_| lang == Lang::En).map_or(String::new(), |e| format!(" ({})", esc(e)))
            ),
            Probe::Unchecked => lang.t("尚未检查", "not checked yet").to_string(),
        };
        let _ = write!(
            out,
            r#"<tr data-probe="{}"><td><code>{}</code></td><td>{state}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td></tr>"#,
            h.probe.as_str(),
            esc(&h.deployment),
            esc(&labels::when(h.probed_ms)),
            h.probe_ms.map_or("-".to_string(), |m| format!("{m:.1}")),
            esc(&h.cooldown_until_ms.map_or("-".to_string(), |t| labels::when(Some(t)))),
            h.in_flight,
            h.served,
            h.failed,
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

/// The page, with a notice below the keys and what a refused form had typed.
pub(super) async fn render(s: &AppState, lang: Lang, c: &crate::auth::Caller, compare: &[String], notice: &str, kept: Kept) -> String {
    let Ok(caller) = suanli_app::Caller::of(&c.0) else {
        return page(lang, lang.t("模型服务", "Models"), Some(c), "");
    };
    let catalogue = s.models.catalogue(&caller).await.unwrap_or_default();
    let providers = super::insight::provider_names(s, lang).await;
    let mut body = format!(
        "<h1>{}</h1><p>{}</p>",
        lang.t("模型服务（MaaS）", "Models as a service (MaaS)"),
        lang.t(
            "城市算力中心托管的模型，以 OpenAI 兼容接口 /v1 提供；企业用模型密钥调用，按令牌计费，可用算力券抵扣。",
            "Models hosted by the city's centres, offered through the OpenAI-compatible /v1; enterprises call them with a model key, pay per token, partly with vouchers."
        )
    );
    body.push_str(&catalogue_form(lang, &catalogue, &providers, compare));
    let chosen: Vec<&CatalogueEntry> = compare.iter().filter_map(|n| catalogue.iter().find(|e| &e.model.name == n)).collect();
    if chosen.len() >= 2 {
        body.push_str(&side_by_side(s, lang, &chosen));
    }
    // Deployments' health, for their provider and the operator.
    if let Ok(health) = s.models.health(&caller)
        && !health.is_empty()
    {
        body.push_str(&health_table(lang, &health));
    }
    // Deployments and the forms to register and deploy models (providers and the operator).
    body.push_str(&super::model_admin::section(s, lang, c, &catalogue, &kept).await);
    // Keys (tenants and the operator) and usage (everyone, as far as they may see).
    if matches!(c.0.role, Role::Tenant | Role::Operator)
        && let Ok(keys) = s.models.keys(&caller).await
    {
        body.push_str(&super::model_keys::section(s, lang, c.0.role, &keys, &catalogue, notice, &kept));
    }
    body.push_str(&usage_section(s, lang, &caller, c.0.role).await);
    page(lang, lang.t("模型服务", "Models"), Some(c), &body)
}

/// The catalogue, with a checkbox per model to compare.
fn catalogue_form(lang: Lang, catalogue: &[CatalogueEntry], providers: &HashMap<String, String>, compare: &[String]) -> String {
    let mut body = format!(r#"<h2>{}</h2><form method="get" action="/models">"#, lang.t("模型目录", "Catalogue"));
    body.push_str(&thead(&[
        lang.t("对比", "Compare"),
        lang.t("模型", "Model"),
        lang.t("类型", "Kind"),
        lang.t("领域", "Domain"),
        lang.t("参数量（十亿）", "Parameters (B)"),
        lang.t("上下文（令牌）", "Context (tokens)"),
        lang.t("提供方", "Provider"),
        lang.t("部署数", "Deployments"),
        lang.t("输入价（每百万令牌）", "Input price (per M tokens)"),
        lang.t("输出价（每百万令牌）", "Output price (per M tokens)"),
        lang.t("评测得分", "Evaluation score"),
    ]));
    for e in catalogue {
        let m = &e.model;
        let checked = if compare.contains(&m.name) { " checked" } else { "" };
        let _ = write!(
            body,
            r#"<tr><td><input type="checkbox" name="m" value="{name}" id="m-{name}" aria-label="{cmp} {name}"{checked}></td><td><code>{name}</code></td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            labels::model_kind(lang, m.spec.kind),
            esc(&labels::model_domain(lang, &m.spec.domain)),
            m.spec.parameters_b,
            m.spec.context_tokens,
            esc(providers.get(m.provider_id.as_str()).map_or(m.provider_id.as_str(), |p| p.as_str())),
            e.deployments.len(),
            price_range(lang, e, false),
            price_range(lang, e, true),
            m.spec.evaluation.as_ref().map_or("-".to_string(), |v| format!("{:.1}", v.score)),
            name = esc(&m.name),
            cmp = lang.t("对比", "compare"),
        );
    }
    let _ = write!(
        body,
        r#"</tbody></table></div><p><button type="submit">{}</button></p></form>"#,
        lang.t("对比所选模型", "Compare the chosen models")
    );
    if catalogue.is_empty() {
        let _ = write!(body, "<p>{}</p>", lang.t("目录中还没有模型。", "No model is in the catalogue yet."));
    }
    body
}

/// The chosen models side by side, an attribute a row.
fn side_by_side(s: &AppState, lang: Lang, chosen: &[&CatalogueEntry]) -> String {
    let mut body = format!(r#"<h2 id="compare">{}</h2>"#, lang.t("模型对比", "Side by side"));
    let mut cols = vec![lang.t("项目", "Attribute").to_string()];
    cols.extend(chosen.iter().map(|e| e.model.name.clone()));
    let refs: Vec<&str> = cols.iter().map(String::as_str).collect();
    body.push_str(&thead(&refs));
    // What the model's provider registered (its licence, endpoints, evaluator, description) is
    // shown as written, marked as such; the rest is in the page's language.
    let as_written = [lang.t("许可", "Licence"), lang.t("接口", "Endpoints"), lang.t("评测", "Evaluation"), lang.t("说明", "Description")];
    for (label, f) in comparison_rows(s, lang) {
        let _ = write!(body, "<tr><th scope=\"row\">{}</th>", esc(label));
        for e in chosen {
            if as_written.contains(&label) {
                let _ = write!(body, r#"<td><span class="user-text" translate="no">{}</span></td>"#, esc(&f(e)));
            } else {
                let _ = write!(body, "<td>{}</td>", esc(&f(e)));
            }
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table></div>");
    body
}

/// The comparison's rows: each attribute's name and how a model reads it.
fn comparison_rows(s: &AppState, lang: Lang) -> Vec<(&'static str, Cell<'_>)> {
    vec![
        (lang.t("类型", "Kind"), Box::new(move |e: &CatalogueEntry| labels::model_kind(lang, e.model.spec.kind).to_string())),
        (lang.t("领域", "Domain"), Box::new(move |e: &CatalogueEntry| labels::model_domain(lang, &e.model.spec.domain))),
        (lang.t("参数量（十亿）", "Parameters (B)"), Box::new(|e: &CatalogueEntry| format!("{:.1}", e.model.spec.parameters_b))),
        (lang.t("上下文（令牌）", "Context (tokens)"), Box::new(|e: &CatalogueEntry| e.model.spec.context_tokens.to_string())),
        (lang.t("许可", "Licence"), Box::new(|e: &CatalogueEntry| e.model.spec.licence.clone())),
        (
            lang.t("接口", "Endpoints"),
            Box::new(|e: &CatalogueEntry| e.model.spec.endpoints.iter().map(|x| x.path()).collect::<Vec<_>>().join(" ")),
        ),
        (lang.t("输入价（每百万令牌）", "Input price (per M tokens)"), Box::new(move |e: &CatalogueEntry| price_range(lang, e, false))),
        (lang.t("输出价（每百万令牌）", "Output price (per M tokens)"), Box::new(move |e: &CatalogueEntry| price_range(lang, e, true))),
        (
            lang.t("部署地区", "Regions deployed"),
            Box::new(move |e: &CatalogueEntry| {
                e.deployments.iter().map(|d| labels::region_text(s, lang, &d.region)).collect::<Vec<_>>().join(", ")
            }),
        ),
        (
            lang.t("评测", "Evaluation"),
            Box::new(|e: &CatalogueEntry| {
                e.model.spec.evaluation.as_ref().map_or("-".into(), |v| format!("{:.1} · {} · {}", v.score, v.evaluator, v.date))
            }),
        ),
        (lang.t("说明", "Description"), Box::new(|e: &CatalogueEntry| e.model.spec.description.clone())),
    ]
}

/// Model calls over the last 30 days as far as the caller may see them: totals, then a row per day, model and key.
async fn usage_section(s: &AppState, lang: Lang, caller: &suanli_app::Caller, role: Role) -> String {
    let now = s.ids.now_ms();
    let filter = UsageFilter { from_ms: Some(now - 30 * 86_400_000), ..UsageFilter::default() };
    let usage = s.models.usage(caller, filter).await.unwrap_or_default();
    let title = match role {
        Role::Tenant => lang.t("近 30 天调用（本企业）", "Calls in the last 30 days (yours)"),
        Role::Provider => lang.t("近 30 天调用（本方提供）", "Calls in the last 30 days (served by you)"),
        _ => lang.t("近 30 天调用（全市）", "Calls in the last 30 days (city-wide)"),
    };
    let mut body = format!(r#"<h2 id="usage">{title}</h2>"#);
    if usage.is_empty() {
        let _ = write!(body, "<p>{}</p>", lang.t("还没有调用。", "No calls yet."));
        return body;
    }
    let total_calls: u64 = usage.iter().map(|u| u.calls).sum();
    let total: i64 = usage.iter().map(|u| u.charge.0).sum();
    let voucher: i64 = usage.iter().map(|u| u.voucher.0).sum();
    let _ = write!(
        body,
        r#"<div class="tiles"><div class="tile"><div class="v">{total_calls}</div><div class="t">{}</div></div><div class="tile"><div class="v">{}</div><div class="t">{}</div></div><div class="tile"><div class="v">{}</div><div class="t">{}</div></div></div>"#,
        lang.t("次调用", "calls"),
        lang.fen(Fen(total)),
        lang.t("费用", "charged"),
        lang.fen(Fen(voucher)),
        lang.t("其中算力券支付", "of it paid by vouchers"),
    );
    body.push_str(&thead(&[
        lang.t("日期", "Day"),
        lang.t("模型", "Model"),
        lang.t("密钥", "Key"),
        lang.t("调用", "Calls"),
        lang.t("失败", "Failed"),
        lang.t("输入令牌", "Input tokens"),
        lang.t("输出令牌", "Output tokens"),
        lang.t("费用", "Charge"),
        lang.t("算力券", "Vouchers"),
        lang.t("现金", "Cash"),
    ]));
    for u in usage.iter().rev().take(200) {
        let _ = write!(
            body,
            "<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&u.day),
            esc(&u.model),
            esc(&u.key_id),
            u.calls,
            u.failed_calls,
            u.input_tokens,
            u.output_tokens,
            lang.fen(u.charge),
            lang.fen(u.voucher),
            lang.fen(u.cash),
        );
    }
    body.push_str("</tbody></table></div>");
    body
}
