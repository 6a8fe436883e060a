//! `GET /incentives`: the application form (`incentive_apply.rs`) for an enterprise and the operator, the operator's programme steps and expert pool (`incentive_steps.rs`), the applications in publicity a tenant may object to; for an expert, the applications assigned to it to score; for the others, the policy's incentive programmes (caps, quotas, evidence, window), this year's totals per programme (budget, committed, paid, the city's and the districts' shares), the applications the caller may see with their applicant (a tenant or a provider), stage and why — for the operator and the regulator every award with its evidence hashes, and a link to the compute-partner scores (on `/partners`).

use super::operate::Kept;
use super::{Lang, LangQuery, esc, gate, labels, page, thead, thead_id, with_cookie};
use crate::AppState;
use crate::auth::Caller;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use std::fmt::Write;
use suanli_app::incentives::ProgrammeTotals;
use suanli_core::tenant::Role;
use suanli_incentives::{Applicant, Application, ProgrammeSpec};

/// `GET /incentives`.
pub async fn incentives_page(State(s): State<AppState>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, set, c) = match gate(&s, &q, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    with_cookie(render(&s, lang, &c, "", &Kept::default()).await.into_response(), set)
}

/// The page, with a notice at the top and a refused form's input and error kept.
pub(super) async fn render(s: &AppState, lang: Lang, c: &Caller, top: &str, kept: &Kept) -> Html<String> {
    let Ok(caller) = suanli_app::Caller::of(&c.0) else {
        return Html(page(lang, lang.t("奖补政策", "Incentives"), Some(c), ""));
    };
    let programmes = s.incentives.programmes().await.unwrap_or_default();
    let totals = s.incentives.totals(s.ids.now_ms()).await.unwrap_or_default();
    let apps = s.incentives.applications(&caller).await.unwrap_or_default();
    let title =
        |code: &str| programmes.iter().find(|p| p.code == code).map_or(code.to_string(), |p| lang.name(&p.title, &p.title_en).to_string());
    let mut body = format!(
        "<h1>{}</h1>{top}<p>{}</p>",
        lang.t("人工智能产业奖补", "AI industry incentives"),
        lang.t(
            "政策的各项奖补按项目管理：申报与证明材料、专家评审、排名、公示五个工作日、异议处理、决定，按“从优、就高、不重复”裁决，市、区按财政体制分担拨付。",
            "Each incentive of the policy runs as a programme: application with evidence, expert review, ranking, five working days of publicity, objections, decision — arbitrated 从优、就高、不重复 (the higher award, never two for the same thing) — and payment shared by the city and the district."
        )
    );
    body.push_str(&programmes_table(lang, &programmes, &totals));
    body.push_str(&applications_section(lang, c.0.role, &apps, &title));
    if c.0.role == Role::Tenant {
        let public = s.incentives.in_publicity(&caller).await.unwrap_or_default();
        body.push_str(&publicity_section(lang, &public, &title));
    }
    let applicants = if c.0.role == Role::Operator { applicants(s, lang).await } else { Vec::new() };
    body.push_str(&super::incentive_apply::form(lang, c.0.role, &programmes, &applicants, kept));
    if c.0.role == Role::Operator {
        let experts = s.incentives.experts(&caller).await.unwrap_or_default();
        body.push_str(&super::incentive_steps::operator_section(lang, &programmes, &experts, kept));
    }
    if matches!(c.0.role, Role::Operator | Role::Regulator) {
        let _ = write!(
            body,
            r#"<p><a href="/partners" id="partners-link">{}</a></p>"#,
            lang.t("遴选轮次与评分标准（权重、门槛）", "Partner rounds and the scoring criteria (weights, thresholds)")
        );
    }
    let _ = write!(
        body,
        "<p>{}</p>",
        lang.t(
            "也可用命令行 <code>suanli incentives …</code> 或接口 <code>/api/v1/incentives</code>；中心的认证与绿电合同在各中心的页面上申报。",
            "The same with <code>suanli incentives …</code> or the API under <code>/api/v1/incentives</code>; a centre's certifications and green power are declared on the centre's page."
        )
    );
    Html(page(lang, lang.t("奖补政策", "Incentives"), Some(c), &body))
}

/// Whom the operator may apply for: every tenant and provider, by name.
async fn applicants(s: &AppState, lang: Lang) -> Vec<(String, String)> {
    let tenants = s.store.tenants().await.unwrap_or_default();
    let providers = s.store.providers().await.unwrap_or_default();
    tenants
        .iter()
        .map(|t| (t.id.to_string(), format!("{}（{}）", lang.name(&t.name, &t.name_en), lang.t("企业", "tenant"))))
        .chain(
            providers.iter().map(|p| (p.id.to_string(), format!("{}（{}）", lang.name(&p.name, &p.name_en), lang.t("服务商", "provider")))),
        )
        .collect()
}

/// The applications in publicity, which a tenant may open and object to.
fn publicity_section(lang: Lang, apps: &[Application], title: &dyn Fn(&str) -> String) -> String {
    let mut body = format!(r#"<h2 id="in-publicity">{}</h2>"#, lang.t("公示中的申请", "Applications in publicity"));
    body.push_str(&thead_id(
        "in-publicity-table",
        &[
            lang.t("项目", "Programme"),
            lang.t("申请主体", "Applicant"),
            lang.t("申报内容", "Project"),
            lang.t("申请金额", "Requested"),
            lang.t("公示截止", "Publicity ends"),
        ],
    ));
    for a in apps {
        let _ = write!(
            body,
            r#"<tr><td>{}</td><td><span class="user-text">{}</span></td><td><a href="/incentives/applications/{}">{}</a></td><td>{}</td><td>{}</td></tr>"#,
            esc(&title(&a.programme)),
            esc(&a.applicant_name),
            esc(&a.id),
            esc(&a.project),
            lang.fen(a.requested),
            labels::when(a.publicity_until),
        );
    }
    body.push_str("</tbody></table></div>");
    body
}

/// This year's programmes: their terms and totals.
fn programmes_table(lang: Lang, programmes: &[ProgrammeSpec], totals: &[ProgrammeTotals]) -> String {
    let mut body = format!("<h2>{}</h2>", lang.t("本年度各项目", "Programmes this year"));
    body.push_str(&thead(&[
        lang.t("项目", "Programme"),
        lang.t("比例", "Ratio"),
        lang.t("单项上限", "Cap per award"),
        lang.t("年度名额", "Quota a year"),
        lang.t("年度预算", "Budget a year"),
        lang.t("申请数", "Applications"),
        lang.t("已承诺", "Committed"),
        lang.t("已拨付", "Paid"),
        lang.t("市级 / 区级", "City / district"),
        lang.t("证明材料", "Evidence"),
    ]));
    for p in programmes {
        let t = totals.iter().find(|t| t.programme == p.code);
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(lang.name(&p.title, &p.title_en)),
            p.ratio_pct.map_or(lang.t("定额", "fixed").to_string(), |r| format!("{r}%")),
            lang.fen(p.cap_per_award),
            p.quota_per_year.map_or("-".to_string(), |q| q.to_string()),
            lang.fen(p.budget_per_year),
            t.map_or(0, |t| t.applications),
            t.map_or("-".into(), |t| lang.fen(t.committed)),
            t.map_or("-".into(), |t| lang.fen(t.disbursed)),
            t.map_or("-".into(), |t| format!("{} / {}", lang.fen(t.city), lang.fen(t.district))),
            p.evidence.iter().map(|k| labels::evidence_kind(lang, k)).collect::<Vec<_>>().join(lang.t("、", ", ")),
        );
    }
    body.push_str("</tbody></table></div>");
    body
}

/// The applications the caller may see, linked to their own page for the expert, the operator
/// and the regulator; with the evidence's hashes for the operator and the regulator.
fn applications_section(lang: Lang, role: Role, apps: &[Application], title: &dyn Fn(&str) -> String) -> String {
    let heading = match role {
        Role::Tenant => lang.t("本企业的申请", "Your applications"),
        Role::Provider => lang.t("本机构的申请与公示中的申请", "Your applications and those in publicity"),
        Role::Expert => lang.t("分配给您评审的申请", "Applications assigned to you to score"),
        Role::Operator | Role::Regulator => lang.t("全部申请与奖励", "Every application and award"),
    };
    // The application's own page: its evidence, the expert's scoring or the operator's
    // assignment form, and its publicity with objections.
    let mut body = format!(r#"<h2 id="applications">{heading}</h2>"#);
    if apps.is_empty() {
        let _ = write!(body, "<p>{}</p>", lang.t("还没有申请。", "No applications yet."));
        return body;
    }
    let evidence = matches!(role, Role::Operator | Role::Regulator);
    let mut cols = vec![
        lang.t("项目", "Programme"),
        lang.t("申请主体", "Applicant"),
        lang.t("申报内容", "Project"),
        lang.t("阶段", "Stage"),
        lang.t("申请金额", "Requested"),
        lang.t("评分", "Score"),
        lang.t("排名", "Rank"),
        lang.t("拨付", "Paid"),
        lang.t("说明", "Why"),
    ];
    if evidence {
        cols.push(lang.t("证明材料（SHA-256）", "Evidence (SHA-256)"));
    }
    body.push_str(&thead(&cols));
    for a in apps {
        let _ = write!(
            body,
            r#"<tr><td>{}</td><td>{} <small>{}</small></td><td><a href="/incentives/applications/{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"#,
            esc(&title(&a.programme)),
            esc(&a.applicant_name),
            match a.applicant {
                Applicant::Tenant(_) => lang.t("企业", "tenant"),
                Applicant::Provider(_) => lang.t("算力/数据服务商", "provider"),
            },
            esc(&a.id),
            esc(&a.project),
            labels::stage(lang, a.stage),
            lang.fen(a.requested),
            a.score.map_or("-".into(), |s| format!("{s:.1}")),
            a.rank.map_or("-".into(), |r| r.to_string()),
            lang.fen(a.paid),
            labels::application_why(lang, a),
        );
        if evidence {
            let docs: Vec<String> = a
                .evidence
                .iter()
                .map(|e| format!("{} <code>{}…</code>", labels::evidence_kind(lang, &e.kind), esc(&e.sha256[..12.min(e.sha256.len())])))
                .collect();
            let _ = write!(body, "<td>{}</td>", docs.join(lang.t("；", "; ")));
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table></div>");
    body
}
