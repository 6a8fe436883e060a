//! `GET /data`: the graded data catalogue, the suppliers' ranking, and the caller's requests (a consumer's own with their downloads, a supplier's and the operator's to decide); `GET /data/sets/{id}`: a set's schema, de-identified preview and request form. All rules are in `suanli_app::data`.

use super::operate::Kept;
use super::{Lang, LangQuery, confirm, data_supply, error_notice, esc, gate, labels, notice, page, thead, with_cookie};
use crate::AppState;
use crate::auth::Caller;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt::Write;
use suanli_core::tenant::Role;
use suanli_data::catalogue::{self as cat, DataRequest, DataSet, RequestSpec, RequestState};
use suanli_data::{Encoding, Limits};

#[derive(Debug, Deserialize)]
pub struct DataQuery {
    pub lang: Option<String>,
    /// What the last form did: `requested`, `approved`, `rejected`, `supplier`, `policy`.
    pub done: Option<String>,
    /// The policy the operator's form shows (`general-2.conditional`).
    pub policy: Option<String>,
}

fn title(lang: Lang, d: &DataSet) -> String {
    lang.name(&d.spec.title, d.spec.title_en.as_deref().unwrap_or("")).to_string()
}

/// `GET /data`.
pub async fn data_page(State(s): State<AppState>, Query(q): Query<DataQuery>, headers: HeaderMap) -> Response {
    let (lang, set, c) = match gate(&s, &LangQuery { lang: q.lang.clone() }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let done = match q.done.as_deref() {
        Some("requested") => notice(Some(lang.t("已提交申请，费用已预留。", "Requested; the fee is held.")), false),
        Some("approved") => notice(Some(lang.t("已批准。", "Approved.")), false),
        Some("rejected") => notice(Some(lang.t("已驳回，预留费用已退回。", "Rejected; the held fee was released.")), false),
        Some("supplier") => notice(Some(lang.t("供应方资格已更新。", "The supplier's status is saved.")), false),
        Some("policy") => notice(
            Some(lang.t("脱敏策略已保存，此后的交付和预览按新策略执行。", "Policy saved; deliveries and previews from now on use it.")),
            false,
        ),
        _ => String::new(),
    };
    with_cookie(Html(render(&s, lang, &c, &done, &Kept::default(), q.policy.as_deref()).await).into_response(), set)
}

/// `/data` again after a refused form (403 with the error at the top for a role that may not).
pub(super) async fn refused(s: &AppState, lang: Lang, c: &Caller, e: &crate::error::ApiError, kept: Kept) -> Response {
    let (status, top, kept) = data_supply::refused_status(lang, e, kept);
    (status, Html(render(s, lang, c, &top, &kept, None).await)).into_response()
}

/// A set's page again after a refused upload.
pub(super) async fn refused_set(s: &AppState, lang: Lang, c: &Caller, d: &DataSet, e: &crate::error::ApiError, kept: Kept) -> Response {
    let (status, top, kept) = data_supply::refused_status(lang, e, kept);
    (status, Html(render_set(s, lang, c, d, &top, None, &kept).await)).into_response()
}

async fn render(s: &AppState, lang: Lang, c: &Caller, notice_html: &str, kept: &Kept, policy: Option<&str>) -> String {
    let Ok(caller) = suanli_app::Caller::of(&c.0) else {
        return page(lang, lang.t("数据开放", "Data sharing"), Some(c), "");
    };
    let providers = super::insight::provider_names(s, lang).await;
    let sets = s.data.catalogue().await.unwrap_or_default();
    let mut body = format!(
        "<h1>{}</h1><p>{}</p>{notice_html}",
        lang.t("公共数据分级分领域开放", "Graded data sharing"),
        lang.t(
            "经遴选的数据开放共享供应商按 GB/T 43697 分级、按领域开放数据；每次交付都按分级策略脱敏，并记录谁在什么策略下取得了哪些字段。",
            "Admitted suppliers open data by domain under GB/T 43697 grades; every delivery is de-identified under its grade's policy, and who got which fields under which policy is recorded."
        )
    );
    let _ = write!(body, "<h2>{}</h2>", lang.t("数据目录", "Catalogue"));
    body.push_str(&thead(&[
        lang.t("数据集", "Data set"),
        lang.t("领域", "Domain"),
        lang.t("分级", "Grade"),
        lang.t("开放方式", "Opening"),
        lang.t("行数", "Rows"),
        lang.t("每次交付费用", "Fee per delivery"),
        lang.t("供应方", "Supplier"),
    ]));
    for d in &sets {
        let _ = write!(
            body,
            r#"<tr><td><a href="/data/sets/{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(&d.spec.name),
            esc(&title(lang, d)),
            esc(&labels::data_domain(lang, &d.spec.domain)),
            esc(&labels::data_grade(lang, d.spec.grade)),
            labels::opening_mode(lang, d.spec.mode),
            d.rows,
            lang.fen(d.spec.price),
            esc(providers.get(d.supplier_id.as_str()).map_or(d.supplier_id.as_str(), |p| p.as_str())),
        );
    }
    body.push_str("</tbody></table></div>");
    if sets.is_empty() {
        let _ = write!(body, "<p>{}</p>", lang.t("目录中还没有数据集。", "No data set is listed yet."));
    }
    if c.0.role == Role::Provider {
        body.push_str(&data_supply::listing_form(lang, kept));
    }
    body.push_str(&requests_section(s, lang, c, &caller, &sets).await);
    body.push_str(&ranking(s, lang).await);
    body.push_str(&suppliers(s, lang, &providers).await);
    if c.0.role == Role::Operator {
        body.push_str(&data_supply::supplier_form(s, lang, kept).await);
        body.push_str(&data_supply::policies_section(s, lang, policy, kept).await);
    }
    page(lang, lang.t("数据开放", "Data sharing"), Some(c), &body)
}

/// This year's suppliers by data-service volume, the top five marked for their award.
async fn ranking(s: &AppState, lang: Lang) -> String {
    let year = suanli_core::time::civil_from_days((s.ids.now_ms() + 8 * 3_600_000).div_euclid(86_400_000)).0 as i32;
    let mut body =
        format!(r#"<h2 id="ranking">{} {year}</h2>"#, lang.t("供应方年度数据服务交易额排名", "Suppliers by data-service volume,"));
    let ranking = s.data.ranking(year).await.unwrap_or_default();
    if ranking.is_empty() {
        let _ = write!(body, "<p>{}</p>", lang.t("本年度还没有交付。", "No delivery this year yet."));
        return body;
    }
    body.push_str(&thead(&[
        lang.t("名次", "Rank"),
        lang.t("供应方", "Supplier"),
        lang.t("交付次数", "Deliveries"),
        lang.t("交易额", "Volume"),
        lang.t("前五名奖励", "Top-five award"),
    ]));
    for r in &ranking {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.rank,
            esc(&r.name),
            r.deliveries,
            lang.fen(r.volume),
            if r.top { lang.t("是", "yes") } else { "-" }
        );
    }
    body.push_str("</tbody></table></div>");
    body
}

/// The data-sharing suppliers: admitted or suspended, their domains and why.
async fn suppliers(s: &AppState, lang: Lang, providers: &HashMap<String, String>) -> String {
    let suppliers = s.data.suppliers().await.unwrap_or_default();
    let mut body = format!(r#"<h2 id="suppliers">{}</h2>"#, lang.t("数据开放共享供应商", "Data-sharing suppliers"));
    body.push_str(&thead(&[lang.t("供应方", "Supplier"), lang.t("状态", "Status"), lang.t("领域", "Domains"), lang.t("理由", "Reason")]));
    for sup in &suppliers {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(providers.get(sup.provider_id.as_str()).map_or(sup.provider_id.as_str(), |p| p.as_str())),
            if sup.status == cat::SupplierStatus::Admitted { lang.t("已遴选", "admitted") } else { lang.t("已暂停", "suspended") },
            esc(&sup.domains.iter().map(|d| labels::data_domain(lang, d)).collect::<Vec<_>>().join("、")),
            esc(&sup.reason),
        );
    }
    body.push_str("</tbody></table></div>");
    body
}

/// The caller's requests: a consumer's own (with downloads), a supplier's and the operator's to decide.
async fn requests_section(s: &AppState, lang: Lang, c: &Caller, caller: &suanli_app::Caller, sets: &[DataSet]) -> String {
    let requests = s.data.requests(caller, 200).await.unwrap_or_default();
    let deliveries = s.data.deliveries(caller, 200).await.unwrap_or_default();
    let title_of = |r: &DataRequest| sets.iter().find(|d| d.id == r.data_set_id).map_or(r.data_set_id.to_string(), |d| title(lang, d));
    let heading = match c.0.role {
        Role::Tenant => lang.t("我的数据申请", "Your data requests"),
        Role::Provider => lang.t("对本方数据集的申请", "Requests for your data sets"),
        _ => lang.t("全市数据申请", "Data requests city-wide"),
    };
    let mut out = format!(r#"<h2 id="requests">{heading}</h2>"#);
    if requests.is_empty() {
        let _ = write!(out, "<p>{}</p>", lang.t("还没有申请。", "No requests yet."));
        return out;
    }
    out.push_str(&thead(&[
        lang.t("数据集", "Data set"),
        lang.t("字段", "Fields"),
        lang.t("用途", "Purpose"),
        lang.t("状态", "State"),
        lang.t("费用", "Fee"),
        lang.t("算力券支付", "Paid by vouchers"),
        lang.t("操作", "Action"),
    ]));
    for r in &requests {
        let action = match (c.0.role, r.state) {
            (Role::Tenant, RequestState::Delivered) => deliveries.iter().find(|d| d.request_id == r.id).map_or(String::new(), |d| {
                format!(
                    r#"<form method="post" action="/data/deliveries/{}/link"><button type="submit">{}</button></form>"#,
                    d.id,
                    lang.t("下载（链接 15 分钟有效）", "Download (link valid 15 min)")
                )
            }),
            (Role::Provider, RequestState::AwaitingSupplier) | (Role::Operator, RequestState::AwaitingOperator) => decide_form(lang, r),
            _ => String::new(),
        };
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td>{}</td><td><span class="user-text">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{action}</td></tr>"#,
            esc(&title_of(r)),
            esc(&r.spec.fields.join("、")),
            esc(&r.spec.purpose),
            labels::data_request_state(lang, r.state),
            lang.fen(r.fee),
            lang.fen(r.voucher),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

fn decide_form(lang: Lang, r: &DataRequest) -> String {
    format!(
        r#"<form method="post" action="/data/requests/{id}/decision"><label for="reason-{id}">{why}</label><input id="reason-{id}" name="reason" required maxlength="500"><button type="submit" name="approve" value="1">{yes}</button> <button type="submit" name="approve" value="0">{no}</button></form>"#,
        id = r.id,
        why = lang.t("理由", "Reason"),
        yes = lang.t("批准", "Approve"),
        no = lang.t("驳回", "Reject"),
    )
}

/// The request form's fields, kept when refused.
#[derive(Debug, Default, Clone)]
pub struct RequestForm {
    fields: Vec<String>,
    purpose: String,
    to: String,
}

impl RequestForm {
    fn parse(body: &str) -> (String, RequestForm) {
        let mut f = RequestForm::default();
        let mut set = String::new();
        for (k, v) in serde_urlencoded::from_str::<Vec<(String, String)>>(body).unwrap_or_default() {
            match k.as_str() {
                "field" => f.fields.push(v),
                "purpose" => f.purpose = v,
                "to" => f.to = v,
                "data_set" => set = v,
                _ => {}
            }
        }
        (set, f)
    }
}

/// `GET /data/sets/{id}`.
pub async fn set_page(State(s): State<AppState>, Path(id): Path<String>, Query(q): Query<DataQuery>, headers: HeaderMap) -> Response {
    let (lang, set, c) = match gate(&s, &LangQuery { lang: q.lang.clone() }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let done = match q.done.as_deref() {
        Some("listed") => notice(Some(lang.t("数据集已登记，请上传内容。", "Listed; now upload its content.")), false),
        Some("uploaded") => {
            notice(Some(lang.t("内容已上传，已生成脱敏预览。", "Content uploaded; the de-identified preview is made.")), false)
        }
        _ => String::new(),
    };
    match s.data.data_set(&id).await {
        Ok(d) => with_cookie(Html(render_set(&s, lang, &c, &d, &done, None, &Kept::default()).await).into_response(), set),
        Err(_) => super::not_found(axum::http::Uri::from_static("/data"), headers).await,
    }
}

async fn render_set(
    s: &AppState,
    lang: Lang,
    c: &Caller,
    d: &DataSet,
    notice_html: &str,
    kept: Option<&RequestForm>,
    upload: &Kept,
) -> String {
    let providers = super::insight::provider_names(s, lang).await;
    let mut body = format!(
        r#"<p><a href="/data">{}</a></p><h1>{}</h1><p>{}</p><dl class="facts">"#,
        lang.t("← 数据目录", "← Catalogue"),
        esc(&title(lang, d)),
        esc(&d.spec.description)
    );
    for (k, v) in [
        (lang.t("编号", "Id"), format!("{} · {}", d.spec.name, d.id)),
        (lang.t("供应方", "Supplier"), providers.get(d.supplier_id.as_str()).cloned().unwrap_or_else(|| d.supplier_id.to_string())),
        (lang.t("领域", "Domain"), labels::data_domain(lang, &d.spec.domain)),
        (lang.t("分级（GB/T 43697）", "Grade (GB/T 43697)"), labels::data_grade(lang, d.spec.grade)),
        (lang.t("开放方式", "Opening"), labels::opening_mode(lang, d.spec.mode).to_string()),
        (lang.t("许可", "Licence"), d.spec.licence.clone()),
        (lang.t("更新频率", "Updated"), data_supply::frequency_of(lang, d.spec.update_frequency)),
        (lang.t("行数", "Rows"), d.rows.to_string()),
        (lang.t("每次交付费用", "Fee per delivery"), lang.fen(d.spec.price)),
        (lang.t("更新于", "Updated"), labels::when(Some(d.updated_ms))),
    ] {
        let _ = write!(body, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
    }
    body.push_str("</dl>");
    let _ = write!(body, "<h2>{}</h2>", lang.t("字段与识别出的个人信息", "Fields and the personal data found in them"));
    body.push_str(&thead(&[
        lang.t("字段", "Field"),
        lang.t("识别类型", "Detected kind"),
        lang.t("抽样单元格", "Cells sampled"),
        lang.t("准标识符", "Quasi-identifier"),
    ]));
    for col in &d.columns {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&col.name),
            esc(&labels::column_kind(lang, col.kind)),
            col.sampled,
            if d.spec.quasi.contains(&col.name) { lang.t("是", "yes") } else { "-" }
        );
    }
    body.push_str("</tbody></table></div>");
    if let Some(p) = &d.preview {
        let _ = write!(body, "<h2>{}</h2>", lang.t("预览（已按分级策略脱敏）", "Preview (already de-identified under the grade's policy)"));
        body.push_str(&preview_table(p, d.format.as_deref()));
    }
    body.push_str(notice_html);
    if c.0.provider_id.as_ref() == Some(&d.supplier_id) && c.0.role == Role::Provider {
        body.push_str(&data_supply::upload_form(lang, d, upload));
    }
    if c.0.role == Role::Tenant && d.spec.requestable().is_ok() && d.rows > 0 {
        body.push_str(&request_form(lang, d, kept));
    } else if d.spec.requestable().is_err() {
        let _ = write!(
            body,
            "<p>{}</p>",
            lang.t(
                "该数据集为核心数据或不予开放，只列入目录，不接受申请。",
                "This set is core data or not open: it is listed, never delivered."
            )
        );
    }
    page(lang, &title(lang, d), Some(c), &body)
}

/// The preview as a table (CSV) or as lines (JSON Lines).
fn preview_table(p: &str, format: Option<&str>) -> String {
    if format != Some("csv") {
        return format!(r#"<pre translate="no">{}</pre>"#, esc(p));
    }
    let mut r = suanli_data::CsvReader::new(p.as_bytes(), Encoding::Utf8, Limits::default());
    let header = r.header().unwrap_or_default();
    let refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut out = thead(&refs);
    for rec in r {
        let Ok(rec) = rec else { continue };
        out.push_str("<tr>");
        for f in &rec.fields {
            // The data's own values (pseudonyms, codes), never words of the page.
            let _ = write!(out, r#"<td><span class="user-text" translate="no">{}</span></td>"#, esc(f));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

fn request_form(lang: Lang, d: &DataSet, kept: Option<&RequestForm>) -> String {
    let mut out = format!(
        r#"<h2>{}</h2><form method="post" action="/data/requests"><input type="hidden" name="data_set" value="{}"><fieldset><legend>{}</legend>"#,
        lang.t("申请使用", "Request this data"),
        esc(&d.spec.name),
        lang.t("需要的字段", "Fields needed"),
    );
    for (i, col) in d.columns.iter().enumerate() {
        let checked = if kept.is_some_and(|k| k.fields.contains(&col.name)) { " checked" } else { "" };
        let _ = write!(
            out,
            r#"<input type="checkbox" id="f-{i}" name="field" value="{v}"{checked}><label class="inline" for="f-{i}">{v}</label> "#,
            v = esc(&col.name)
        );
    }
    let _ = write!(
        out,
        r#"</fieldset><label for="purpose">{p}</label><input id="purpose" name="purpose" required maxlength="1000" value="{vp}"><label for="to">{t}</label><input id="to" name="to" type="date" required value="{vt}"><p>{fee}</p><p><button type="submit">{go}</button></p></form>"#,
        p = lang.t("用途", "Purpose"),
        t = lang.t("使用期限至", "Access until"),
        fee = esc(&format!(
            "{} {}",
            lang.t(
                "提交后即预留费用（可用算力券按数据补贴比例抵扣）：",
                "The fee is held when you submit (vouchers pay their data share):"
            ),
            lang.fen(d.spec.price)
        )),
        go = lang.t("提交申请", "Submit the request"),
        vp = esc(kept.map_or("", |k| k.purpose.as_str())),
        vt = esc(kept.map_or("", |k| k.to.as_str())),
    );
    out
}

/// `POST /data/requests` (form): a consumer requests a data set.
pub async fn create_request(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (set, form) = RequestForm::parse(&body);
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let to_ms = suanli_core::time::parse_date(&form.to)? - labels::SHANGHAI_OFFSET_MS + 86_400_000;
        let spec = RequestSpec { purpose: form.purpose.clone(), fields: form.fields.clone(), from_ms: s.ids.now_ms(), to_ms };
        Ok::<_, crate::error::ApiError>(s.data.request(&caller, &set, spec).await?)
    }
    .await;
    match result {
        Ok(_) => Redirect::to("/data?done=requested#requests").into_response(),
        Err(e) => match s.data.data_set(&set).await {
            Ok(d) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(render_set(&s, lang, &c, &d, &error_notice(lang, &e), Some(&form), &Kept::default()).await),
            )
                .into_response(),
            Err(_) => refused(&s, lang, &c, &e, Kept::default()).await,
        },
    }
}

#[derive(Debug, Deserialize)]
struct DecisionForm {
    approve: String,
    #[serde(default)]
    reason: String,
}

/// `POST /data/requests/{id}/decision` (form): the supplier or the operator decides, after a confirmation.
pub async fn decide(State(s): State<AppState>, Path(id): Path<String>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let f = serde_urlencoded::from_str::<DecisionForm>(&body)
            .map_err(|e| crate::error::ApiError::new(suanli_core::ErrorCode::InvalidBody, e.to_string()))?;
        let approve = f.approve == "1";
        if !confirm::confirmed(&body) {
            let check = s.data.check_decision(&caller, &id, approve, &f.reason).await?;
            return Ok(decision_confirmation(&s, lang, &c, &check, approve, &f.reason, &body).await);
        }
        s.data.decide(&caller, &id, approve, f.reason).await?;
        let done = if approve { "approved" } else { "rejected" };
        Ok::<_, crate::error::ApiError>(Redirect::to(&format!("/data?done={done}#requests")).into_response())
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, Html(render(&s, lang, &c, &error_notice(lang, &e), &Kept::default(), None).await))
            .into_response(),
    }
}

/// The question before deciding a data request: the set, who asked for which fields and why,
/// the fee, the decision with its reason, and what follows from it.
async fn decision_confirmation(
    s: &AppState,
    lang: Lang,
    c: &Caller,
    check: &suanli_app::data::DecisionCheck,
    approve: bool,
    reason: &str,
    body: &str,
) -> Response {
    let r = &check.request;
    let tenant = s
        .store
        .tenant(&r.tenant_id)
        .await
        .ok()
        .flatten()
        .map_or_else(|| r.tenant_id.to_string(), |t| lang.name(&t.name, &t.name_en).to_string());
    let user = |t: &str| format!(r#"<span class="user-text">{}</span>"#, esc(t));
    let decision = if approve { lang.t("批准", "Approve") } else { lang.t("驳回", "Reject") };
    let facts = [
        (lang.t("数据集", "Data set"), esc(&title(lang, &check.set))),
        (lang.t("申请企业", "Requested by"), user(&tenant)),
        (lang.t("字段", "Fields"), esc(&r.spec.fields.join("、"))),
        (lang.t("用途", "Purpose"), user(&r.spec.purpose)),
        (lang.t("费用", "Fee"), lang.fen(r.fee)),
        (lang.t("其中算力券支付", "Of which vouchers"), lang.fen(r.voucher)),
        (lang.t("决定", "Decision"), format!(r#"<strong id="confirm-decision">{decision}</strong>"#)),
        (lang.t("理由", "Reason"), user(reason.trim())),
        (lang.t("之后的状态", "State after"), labels::data_request_state(lang, check.next).to_string()),
    ];
    let outcome = match check.next {
        RequestState::Delivered => lang.t(
            "批准后立即交付：按分级策略生成脱敏数据，扣除预留的费用并向供应方付款；不能撤销。",
            "Approving delivers at once: the de-identified extract is made, the held fee is charged and the supplier paid; this cannot be undone.",
        ),
        RequestState::Rejected => lang.t(
            "驳回后申请结束，预留的费用退回申请企业；不能撤销。",
            "Rejecting ends the request and releases the held fee to the enterprise; this cannot be undone.",
        ),
        _ => lang.t(
            "批准后申请转交平台审批（重要数据），费用继续预留；此决定不能撤销。",
            "Approving passes the request to the operator (important data) and the fee stays held; this decision cannot be undone.",
        ),
    };
    confirm::ask(
        lang,
        c,
        &confirm::Ask {
            title: if approve {
                lang.t("确认批准此数据申请？", "Approve this data request?")
            } else {
                lang.t("确认驳回此数据申请？", "Reject this data request?")
            },
            facts: &facts,
            outcome,
            action: &format!("/data/requests/{}/decision", r.id),
            body,
            go: if approve { lang.t("确认批准", "Yes, approve it") } else { lang.t("确认驳回", "Yes, reject it") },
            back: "/data#requests",
        },
    )
}

/// `POST /data/deliveries/{id}/link` (form): makes a link and goes to it (the browser downloads).
pub async fn link(State(s): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        Ok::<_, crate::error::ApiError>(s.data.link(&caller, &id).await?)
    }
    .await;
    match result {
        Ok((token, _)) => Redirect::to(&format!("/api/v1/data/downloads/{token}")).into_response(),
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, Html(render(&s, lang, &c, &error_notice(lang, &e), &Kept::default(), None).await))
            .into_response(),
    }
}
