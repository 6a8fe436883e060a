//! The centres pages: the registry filterable by region and kind, and one centre's page with its pools, utilisation, PUE, grade, backend reach and the management forms (`manage.rs`).

use super::range::{Bucket, Range, range_picker};
use super::*;
use suanli_core::centre::{Centre, Pool};

#[derive(Debug, Deserialize)]
pub struct CentresQuery {
    pub lang: Option<String>,
    /// Only centres whose region id starts with this (e.g. `hz-` for Hangzhou's districts).
    pub region: Option<String>,
    /// cloud, intelligent-computing or edge.
    pub kind: Option<String>,
}

/// `GET /centres`: the registry, filterable by region and kind, with each centre's capacity,
/// running accelerators and measured PUE.
pub async fn centres_page(State(s): State<AppState>, Query(q): Query<CentresQuery>, headers: HeaderMap) -> Response {
    let (lang, set, c) = match gate(&s, &LangQuery { lang: q.lang.clone() }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let centres = s.store.centres(None).await.unwrap_or_default();
    let (_, _, per_centre) = insight::busy_now(&s).await;
    let now = s.ids.now_ms();
    let pue30: BTreeMap<String, f64> = {
        let book = s.energy.read().await;
        centres
            .iter()
            .filter_map(|c| book.pue(&c.id, now - 30 * 86_400_000, now).ok().and_then(|f| f.value).map(|v| (c.id.to_string(), v)))
            .collect()
    };
    let region = q.region.clone().unwrap_or_default();
    let kind = q.kind.clone().unwrap_or_default();
    let mut body = format!("<h1>{}</h1>", lang.t("算力中心", "Compute centres"));
    body.push_str(&centres_filter(&s, lang, &centres, &region, &kind));
    body.push_str(&thead(&[
        lang.t("名称", "Name"),
        lang.t("区域", "Region"),
        lang.t("类型", "Kind"),
        lang.t("合作状态", "Partner status"),
        lang.t("加速卡（使用中 / 总数）", "Accelerators (busy / total)"),
        lang.t("申报 PUE", "Declared PUE"),
        lang.t("实测 PUE（30 天）", "Measured PUE (30 d)"),
    ]));
    for ctr in centres.iter().filter(|x| x.region.starts_with(&region) && (kind.is_empty() || x.kind.as_str() == kind)) {
        let (busy, total) = per_centre.get(&ctr.id).copied().unwrap_or((0, 0));
        let _ = write!(
            body,
            r#"<tr><td><a href="/centres/{id}">{name}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{busy} / {total}</td><td>{:.2}</td><td>{}</td></tr>"#,
            region_name_html(&s, lang, &ctr.region),
            labels::centre_kind(lang, ctr.kind),
            labels::partner_status(lang, ctr.partner_status),
            ctr.declared_pue,
            pue30.get(ctr.id.as_str()).map_or("-".to_string(), |p| format!("{p:.2}")),
            id = esc(ctr.id.as_str()),
            name = esc(lang.name(&ctr.name, &ctr.name_en)),
        );
    }
    body.push_str("</tbody></table></div>");
    with_cookie(Html(page(lang, lang.t("算力中心", "Compute centres"), Some(&c), &body)).into_response(), set)
}

/// The centres page's filter: regions and kinds by their names (their codes are the values).
fn centres_filter(s: &AppState, lang: Lang, centres: &[suanli_core::centre::Centre], region: &str, kind: &str) -> String {
    use suanli_core::centre::CentreKind;
    let opt = |value: &str, label: &str, chosen: &str| {
        format!(r#"<option value="{}"{}>{}</option>"#, esc(value), if value == chosen { " selected" } else { "" }, label)
    };
    let mut regions: Vec<&str> = centres.iter().map(|c| c.region.as_str()).collect();
    regions.sort_unstable();
    regions.dedup();
    let mut r = opt("", lang.t("全部", "All"), region) + &opt("hz-", lang.t("杭州各区县", "Hangzhou's districts"), region);
    for id in regions {
        r.push_str(&opt(id, &esc(&labels::region_text(s, lang, id)), region));
    }
    let mut k = opt("", lang.t("全部", "All"), kind);
    for x in [CentreKind::Cloud, CentreKind::IntelligentComputing, CentreKind::Edge] {
        k.push_str(&opt(x.as_str(), &labels::centre_kind(lang, x), kind));
    }
    format!(
        r#"<form method="get" action="/centres"><label for="region">{}</label><select id="region" name="region">{r}</select><label for="kind">{}</label><select id="kind" name="kind">{k}</select><p><button type="submit">{}</button></p></form>"#,
        lang.t("区域", "Region"),
        lang.t("类型", "Kind"),
        lang.t("筛选", "Filter"),
    )
}

#[derive(Debug, Deserialize)]
pub struct CentreQuery {
    pub lang: Option<String>,
    /// What the last form did (after its redirect): `partner`, `bound`, `unbound`, `priced`, `meters` or `facts`.
    pub done: Option<String>,
}

/// `GET /centres/{id}`: a centre's pools with prices and what runs on them, its PUE over the
/// last 30 days, its grade and lifecycle recommendation; for the operator and the centre's
/// provider the forms to bind its backend and price its pools, for the operator its partner status.
pub async fn centre_page(
    State(s): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Query(q): Query<CentreQuery>,
    headers: HeaderMap,
) -> Response {
    let (lang, set, c) = match gate(&s, &LangQuery { lang: q.lang.clone() }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let done = match q.done.as_deref() {
        Some("partner") => Some(lang.t("合作伙伴资格已更新。", "Partner status saved.")),
        Some("bound") => Some(lang.t("已绑定集群后端。", "Backend bound.")),
        Some("unbound") => Some(lang.t("已解除绑定。", "Backend unbound.")),
        Some("priced") => Some(lang.t("价格已更新。", "Price saved.")),
        Some("meters") => Some(lang.t("电表已登记。", "Meters registered.")),
        Some("facts") => Some(lang.t("制冷方式与额定容量已保存。", "Cooling and rated capacity saved.")),
        Some("certified") => Some(lang.t("认证已申报。", "Certification declared.")),
        Some("green") => Some(lang.t("绿电合同已申报。", "Green-power contract declared.")),
        _ => None,
    };
    with_cookie(render_centre(&s, lang, &c, &id, &notice(done, false), &operate::Kept::default()).await, set)
}

/// A centre's page, with a notice at the top and a refused form's input and error kept.
pub(super) async fn render_centre(s: &AppState, lang: Lang, c: &Caller, id: &str, top: &str, kept: &operate::Kept) -> Response {
    let centre = match suanli_core::id::CentreId::parse(id) {
        Ok(cid) => s.store.centre(&cid).await.ok().flatten(),
        Err(_) => None,
    };
    let Some(ctr) = centre else {
        return (
            StatusCode::NOT_FOUND,
            Html(page(
                lang,
                lang.t("找不到算力中心", "No such centre"),
                Some(c),
                &format!(
                    r#"<h1>{}</h1>{}<p><a href="/centres">{}</a></p>"#,
                    lang.t("找不到算力中心", "No such centre"),
                    notice(Some(lang.t("没有这个算力中心。", "No such centre.")), true),
                    lang.t("返回算力中心列表", "Back to the centres")
                ),
            )),
        )
            .into_response();
    };
    let pools = s.store.pools_of(&ctr.id).await.unwrap_or_default();
    let now = s.ids.now_ms();
    let choice = Range::chosen(Range::Month, now);
    let range = choice.range;
    let name = lang.name(&ctr.name, &ctr.name_en);
    let mut body = format!(
        r#"<h1>{}</h1>{top}<p>{} · {} · <span id="partner-state" data-state="{}">{}</span></p>"#,
        esc(name),
        region_name_html(s, lang, &ctr.region),
        labels::centre_kind(lang, ctr.kind),
        ctr.partner_status.as_str(),
        labels::partner_status(lang, ctr.partner_status)
    );
    // Where its jobs go, or why it takes none.
    let (reached, reach) = reach_text(s, lang, &ctr.id, now);
    let _ = write!(body, r#"<p id="backend"{}>{reach}</p>"#, if reached { "" } else { r#" class="warn""# });
    let manage = manage::may_manage(c, &ctr);
    if manage {
        body.push_str(&manage::backend_form(s, lang, &ctr, kept).await);
    }
    body.push_str(&pools_table(s, lang, &ctr, &pools, manage.then_some(kept)).await);
    if c.role() == suanli_core::tenant::Role::Operator {
        body.push_str(&manage::partner_form(lang, &ctr, kept));
    }
    body.push_str(&partner_history(s, lang, c, &ctr).await);
    body.push_str(&super::declarations::section(s, lang, c, &ctr, kept).await);
    let capacity: u32 = pools.iter().map(|p| p.capacity()).sum();
    body.push_str(&range_picker(lang, &choice));
    body.push_str(&insight::centre_utilisation(s, lang, &ctr.id, capacity, range, ctr.created_ms).await);
    let (points, assessment) = energy_of(s, lang, &ctr, range, now).await;
    let (_, until) = range.window(now, ctr.created_ms);
    body.push_str(&pue_chart(s, lang, &points, range, until));
    if let Some(a) = assessment {
        body.push_str(&evaluation(s, lang, &a).await);
    }
    body.push_str(&meters::section(s, lang, &ctr, manage, kept).await);
    Html(page(lang, name, Some(c), &body)).into_response()
}

/// The centre's partner-status changes, newest first, as `Partners::history` answers them:
/// statuses by their labels, times in Asia/Shanghai, the reasons in the page's language (the
/// operator's own words as written).
async fn partner_history(s: &AppState, lang: Lang, c: &Caller, ctr: &Centre) -> String {
    let Ok(caller) = suanli_app::Caller::of(&c.0) else { return String::new() };
    let Ok(changes) = s.partners.history(&caller, &ctr.id).await else { return String::new() };
    let mut body = format!("<h2>{}</h2>", esc(lang.t("合作伙伴资格变更", "Partner status history")));
    let cols = [lang.t("时间", "When"), lang.t("原状态", "From"), lang.t("新状态", "To"), lang.t("操作人", "By"), lang.t("原因", "Reason")];
    body.push_str(&thead_id("partner-history", &cols));
    for ch in &changes {
        let from = ch.from.map_or_else(|| lang.t("（登记）", "(registered)").to_string(), |f| labels::partner_status(lang, f));
        let by = actor(lang, &ch.by);
        let why: Vec<String> = ch
            .reason
            .iter()
            .filter(|r| !r.is_empty())
            .map(|r| format!(r#"<span class="user-text">{}</span>"#, esc(r)))
            .chain(ch.reasons.iter().map(|r| labels::partner_reason(lang, r)))
            .collect();
        let _ = write!(
            body,
            r#"<tr data-to="{}"><td>{}</td><td>{from}</td><td>{}</td><td>{by}</td><td>{}</td></tr>"#,
            ch.to.as_str(),
            labels::when(Some(ch.at_ms)),
            labels::partner_status(lang, ch.to),
            if why.is_empty() { "-".to_string() } else { why.join(lang.t("；", "; ")) }
        );
    }
    body.push_str("</tbody></table></div>");
    body
}

/// Who made a change, in the page's language: a role by its label with the user's id, the
/// migration's backfill in words, anything else (a system task) as recorded.
pub(super) fn actor(lang: Lang, by: &str) -> String {
    if by == "migration" {
        return lang.t("（迁移时按当时状态补记）", "(recorded by the migration)").to_string();
    }
    if let Some(task) = by.strip_prefix("system:") {
        return labels::system_actor(lang, task);
    }
    match by.split_once(':').and_then(|(role, user)| Some((suanli_core::tenant::Role::parse(role)?, user))) {
        Some((role, user)) => format!(r#"{} <span class="user-text">{}</span>"#, labels::role(lang, role), esc(user)),
        None => format!(r#"<span class="user-text">{}</span>"#, esc(by)),
    }
}

/// The centre's pools: accelerators busy of their capacity and the price; with a price form
/// each when the caller may manage the centre (`kept`: what a refused form had typed).
async fn pools_table(s: &AppState, lang: Lang, ctr: &Centre, pools: &[Pool], manage: Option<&operate::Kept>) -> String {
    let running = s.store.busy_accelerators(Some(&ctr.id)).await.unwrap_or_default();
    let mut body = format!("<h2>{}</h2>", esc(lang.t("资源池", "Pools")));
    let mut cols = vec![
        lang.t("加速卡型号", "Accelerator"),
        lang.t("使用中 / 总数", "Busy / total"),
        lang.t("价格（元/卡时）", "Price (¥ per accelerator-hour)"),
        lang.t("伙伴折扣", "Partner discount"),
    ];
    if manage.is_some() {
        cols.push(lang.t("调整价格", "Change the price"));
    }
    body.push_str(&thead_id("pools", &cols));
    for p in pools {
        let busy: i64 = running.iter().filter(|(_, pool, _)| *pool == p.id).map(|(_, _, n)| n).sum();
        let _ = write!(
            body,
            r#"<tr data-pool="{}"><td>{}</td><td>{busy} / {}</td><td class="price">{}</td><td>{}%</td>"#,
            esc(p.id.as_str()),
            labels::accelerator(s, &p.accelerator),
            p.capacity(),
            lang.fen(p.price_per_hour),
            p.partner_discount_pct
        );
        if let Some(kept) = manage {
            let _ = write!(body, "<td>{}</td>", manage::price_form(lang, ctr, p, kept));
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table></div>");
    body
}

/// The centre's PUE series over the range (from its first value, for everything recorded) and its evaluation now.
async fn energy_of(
    s: &AppState,
    lang: Lang,
    ctr: &Centre,
    range: Range,
    now: i64,
) -> (Vec<suanli_energy::SeriesPoint>, Option<serde_json::Value>) {
    let evaluated = s.energy.evaluation_recent(&s.regions, now).await;
    let (pue_step, _) = pue_step(lang, range);
    let (pue_from, pue_to) = range.window(now, ctr.created_ms.min(now - 800 * 86_400_000));
    let book = s.energy.read().await;
    let mut points = book.series(&ctr.id, pue_from, pue_to, pue_step).unwrap_or_default();
    if range == Range::All {
        // Everything recorded: from the first step with a value.
        let first = points.iter().position(|p| p.pue.is_some()).unwrap_or(points.len());
        points.drain(..first);
    }
    let a = evaluated.iter().find(|a| a.dc == ctr.id).and_then(|a| serde_json::to_value(a).ok());
    (points, a)
}

/// The PUE series as a line against the new-data-centre limit, its time axis up to `until` (the range's end).
fn pue_chart(s: &AppState, lang: Lang, points: &[suanli_energy::SeriesPoint], range: Range, until: i64) -> String {
    let (_, pue_words) = pue_step(lang, range);
    let daily = charts::Line { name: pue_words.to_string(), points: points.iter().filter_map(|p| p.pue.map(|v| (p.from_ms, v))).collect() };
    let window = points.first().map(|p| (p.from_ms, until));
    let limit = charts::Limit { value: s.policy.new_dc_pue_limit, label: charts::limit_label(lang, s.policy.new_dc_pue_limit) };
    let mut body = format!("<h2>{pue_words} · {}</h2>", range.label(lang));
    body.push_str(&charts::time_lines(
        lang,
        "daily-pue",
        pue_words,
        "PUE",
        &[daily],
        charts::Scale::Fit,
        Some(&limit),
        charts::Formats::same(&|v| format!("{v:.2}")),
        window,
    ));
    body
}

/// The centre's evaluation: annualised PUE, its GB 40879 grade, the new-DC rule and the recommendation (naming a merge's destination).
async fn evaluation(s: &AppState, lang: Lang, a: &serde_json::Value) -> String {
    let mut names = BTreeMap::new();
    if let Some(to) = path(a, "lifecycle.merge_into").as_str()
        && let Ok(id) = suanli_core::id::CentreId::parse(to)
        && let Ok(Some(dest)) = s.store.centre(&id).await
    {
        names.insert(to.to_string(), lang.name(&dest.name, &dest.name_en).to_string());
    }
    format!(
        "<h2>{}</h2><div class='scroll'><table><tbody><tr><th scope=\"row\">{}</th><td>{}</td></tr><tr><th scope=\"row\">GB 40879</th><td>{}</td></tr><tr><th scope=\"row\">{}</th><td>{}</td></tr><tr><th scope=\"row\">{}</th><td>{}</td></tr></tbody></table></div>",
        lang.t("评价", "Evaluation"),
        lang.t("年化 PUE", "Annualised PUE"),
        path(a, "kpis.pue.value").as_f64().map_or("-".to_string(), |p| format!("{p:.2}")),
        state_name(lang, path(a, "grading.outcome").as_str().unwrap_or("-")),
        esc(&format!("{} {}", lang.t("新建限值", "New-DC limit"), s.policy.new_dc_pue_limit)),
        state_name(lang, path(a, "policy.outcome").as_str().unwrap_or("-")),
        lang.t("建议", "Recommendation"),
        energy::recommendation(lang, a, &names),
    )
}

/// The step of a centre's PUE series over a time range (the range's bucket: hourly over a day,
/// daily over a week or a month, monthly over a year or everything recorded), and its name.
fn pue_step(lang: Lang, range: Range) -> (suanli_energy::Step, &'static str) {
    match range.bucket() {
        Bucket::Hour => (suanli_energy::Step::Hour, lang.t("每小时 PUE", "Hourly PUE")),
        Bucket::Day => (suanli_energy::Step::Day, lang.t("每日 PUE", "Daily PUE")),
        Bucket::Month => (suanli_energy::Step::Month, lang.t("每月 PUE", "Monthly PUE")),
    }
}

/// Where a centre's jobs go, or why it takes none: whether it is reachable, and the text.
pub(super) fn reach_text(s: &AppState, lang: Lang, centre: &suanli_core::id::CentreId, now: i64) -> (bool, String) {
    match s.backends.reach(centre, now) {
        Ok(backend) => (true, format!("{}{}", lang.t("作业运行于：", "Jobs run on: "), labels::backend(lang, &backend))),
        Err(why) => (
            false,
            format!(
                "{}: {}",
                lang.t("暂不接收作业", "Takes no jobs now"),
                esc(if why.starts_with("bound to no backend") {
                    lang.t(
                        "尚未绑定集群后端（由运营方或该中心的算力提供方绑定）",
                        "no cluster backend is bound yet (the operator or the centre's provider binds one)",
                    )
                } else {
                    lang.t("集群后端近期无响应，作业等待中", "its cluster backend has not been heard from recently; jobs wait")
                })
            ),
        ),
    }
}
