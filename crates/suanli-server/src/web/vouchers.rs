//! The vouchers page: the programme's money, the operator's applications to decide (approved for all or part of the amount), its cash top-ups and settlements, a tenant's balance, its own applications and the form to apply.

use super::operate::{self, Kept, field_error};
use super::*;

/// `GET /vouchers`: the programme's money; for the operator the applications to decide, for a
/// tenant its balance and the form to apply.
pub async fn vouchers_page(State(s): State<AppState>, Query(q): Query<VouchersQuery>, headers: HeaderMap) -> Response {
    match gate(&s, &LangQuery { lang: q.lang }, &headers).await {
        Ok((lang, set, c)) => {
            let done = match q.done.as_deref() {
                Some("applied") => Some(lang.t("申请已提交。", "Application submitted.")),
                Some("approved") => Some(lang.t("已批准。", "Approved.")),
                Some("rejected") => Some(lang.t("已驳回。", "Rejected.")),
                Some("topped-up") => Some(lang.t("已充值。", "Topped up.")),
                Some("settled") => Some(lang.t("已结算并付款。", "Settled and paid.")),
                Some("programme-opened") => {
                    Some(lang.t("算力券计划已开启，预算已由市财政划入。", "Programme opened; its budget came from the city treasury."))
                }
                Some("programme-closed") => Some(lang.t("算力券计划已结束。", "Programme closed.")),
                _ => None,
            };
            with_cookie(Html(render(&s, lang, &c, &notice(done, false), &Kept::default()).await).into_response(), set)
        }
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
pub struct VouchersQuery {
    pub lang: Option<String>,
    /// What the last form did (after its redirect): `applied`, `approved`, `rejected`, `topped-up` or `settled`.
    pub done: Option<String>,
    /// The statement a settlement made.
    pub statement: Option<String>,
}

/// The page, with a refused form's input and error (`kept`) where that form is.
pub(super) async fn render(s: &AppState, lang: Lang, c: &Caller, notice_html: &str, kept: &Kept) -> String {
    use suanli_core::tenant::Role;
    let mut body = format!("<h1>{}</h1>", lang.t("算力券", "Compute vouchers"));
    body.push_str(notice_html);
    body.push_str(&programme_tiles(s, lang).await);
    match c.role() {
        Role::Tenant => {
            if let Some(t) = &c.0.tenant_id {
                body.push_str(&balance(s, lang, t).await);
            }
            body.push_str(&apply_form(lang, kept));
            if let Some(t) = &c.0.tenant_id {
                body.push_str(&my_applications(s, lang, t).await);
            }
            body.push_str(&insight::bills_table(s, lang, c).await);
        }
        Role::Operator | Role::Regulator => {
            body.push_str(&applications_to_decide(s, lang, c.role() == Role::Operator, kept).await);
            if c.role() == Role::Operator {
                body.push_str(&operate::top_up_form(s, lang, kept).await);
                body.push_str(&operate::settle_form(s, lang, kept).await);
                body.push_str(&programmes::section(s, lang, kept).await);
            }
            let choice = super::range::Range::chosen(super::range::Range::All, s.ids.now_ms());
            body.push_str(&insight::spending(s, lang, &choice).await);
        }
        Role::Provider => {
            if let Some(p) = &c.0.provider_id {
                let report = insight::earnings_report(s, c, p, (None, None)).await;
                body.push_str(&insight::provider_earnings(s, lang, report.as_ref(), p).await);
            }
        }
        Role::Expert => {}
    }
    page(lang, lang.t("算力券", "Compute vouchers"), Some(c), &body)
}

/// The open programme's money: spent of the budget, issued and remaining; nothing when none is open.
async fn programme_tiles(s: &AppState, lang: Lang) -> String {
    let Ok(Some(p)) = s.store.programme_open_at(s.ids.now_ms()).await else { return String::new() };
    let Ok(o) = crate::api::vouchers::programme_out(s, &p).await else { return String::new() };
    format!(
        r#"<section class="tiles"><div class="tile"><div class="t">{}</div><div class="t" id="programme-spent-label">{}</div><div class="v" aria-describedby="programme-spent-label">{}</div><progress value="{:.4}" max="1" aria-label="{}">{:.1}%</progress><div class="t">{}</div></div><div class="tile"><div class="t">{}</div><div class="v">{}</div><div class="t">{} {}</div></div></section>"#,
        esc(&o.name),
        // What the vouchers of this programme have paid (bills, model calls, data fees), not holds.
        lang.t("已使用：算力券已支付的金额", "Spent: what its vouchers have paid"),
        lang.fen_str(&o.spent),
        o.spent_share,
        lang.t("预算已使用的比例", "Share of the budget spent"),
        o.spent_share * 100.0,
        match lang {
            Lang::Zh => format!("占预算 {} 的 {:.1}%", lang.fen_str(&o.budget), o.spent_share * 100.0),
            Lang::En => format!("{:.1}% of the budget, {}", o.spent_share * 100.0, lang.fen_str(&o.budget)),
        },
        lang.t("已发放", "Issued"),
        lang.fen_str(&o.issued),
        lang.t("剩余", "remaining"),
        lang.fen_str(&o.remaining),
    )
}

/// A tenant's vouchers and cash available and what it owes.
async fn balance(s: &AppState, lang: Lang, t: &suanli_core::id::TenantId) -> String {
    let Ok(b) = crate::api::vouchers::balance_of(s, t).await else { return String::new() };
    format!(
        "<h2>{}</h2><div class='scroll'><table><tbody><tr><th scope=\"row\">{}</th><td>{}</td></tr><tr><th scope=\"row\">{}</th><td>{}</td></tr><tr><th scope=\"row\">{}</th><td>{}</td></tr></tbody></table></div>",
        lang.t("我的余额", "My balance"),
        lang.t("算力券可用", "Vouchers available"),
        lang.fen_str(&b.voucher_available),
        lang.t("现金可用", "Cash available"),
        lang.fen_str(&b.cash_available),
        lang.t("欠费", "Outstanding"),
        lang.fen_str(&b.outstanding),
    )
}

/// A tenant's form to apply for vouchers, with what a refused one had typed.
fn apply_form(lang: Lang, kept: &Kept) -> String {
    format!(
        r#"<h2>{h}</h2><form method="post" action="/vouchers/apply"><label for="amount">{a}</label><input id="amount" name="amount" inputmode="decimal" required value="{av}"{ai}>{ae}<label for="purpose">{p}</label><input id="purpose" name="purpose" required maxlength="500" value="{pv}"{pi}>{pe}<p><button type="submit">{b}</button></p></form>"#,
        h = lang.t("申请算力券", "Apply for vouchers"),
        a = lang.t("金额（元）", "Amount (yuan)"),
        p = lang.t("用途", "Purpose"),
        b = lang.t("提交申请", "Apply"),
        av = kept.value("apply", "amount"),
        ai = kept.invalid("apply", "amount", "amount"),
        ae = kept.error("apply", "amount"),
        pv = kept.value("apply", "purpose"),
        pi = kept.invalid("apply", "purpose", "purpose"),
        pe = kept.error("apply", "purpose"),
    )
}

/// The pending applications; the operator (`decides`) approves or rejects each with a reason.
async fn applications_to_decide(s: &AppState, lang: Lang, decides: bool, kept: &Kept) -> String {
    let apps = s.store.applications(None, Some(suanli_ledger::records::ApplicationState::Pending), 100).await.unwrap_or_default();
    let mut body = format!("<h2>{}</h2>", esc(lang.t("待审批的申请", "Applications to decide")));
    body.push_str(&thead(&[
        lang.t("企业", "Enterprise"),
        lang.t("申请金额", "Requested"),
        lang.t("用途", "Purpose"),
        lang.t("决定", "Decision"),
    ]));
    for a in &apps {
        let name = s.store.tenant(&a.tenant_id).await.ok().flatten().map_or_else(|| a.tenant_id.to_string(), |t| t.name);
        let actions = if decides {
            let form = format!("reject-{}", a.id);
            format!(
                r#"{approve} <form method="post" action="/vouchers/applications/{id}/reject"><label for="r-{id}">{rl}</label><input id="r-{id}" name="reason" required value="{rv}"{ri}>{re}<button type="submit">{rj}</button></form>"#,
                approve = operate::approve_form(lang, a, &name, kept),
                id = esc(a.id.as_str()),
                rl = lang.t("驳回理由", "Reason to reject"),
                rj = lang.t("驳回", "Reject"),
                rv = kept.value(&form, "reason"),
                ri = kept.invalid(&form, "reason", &format!("r-{}", a.id)),
                re = kept.error(&form, "reason"),
            )
        } else {
            "-".to_string()
        };
        let _ = write!(
            body,
            r#"<tr><td>{}</td><td>{}</td><td class="user-text">{}</td><td>{actions}</td></tr>"#,
            esc(&name),
            lang.fen(a.requested),
            esc(&a.purpose)
        );
    }
    body.push_str("</tbody></table></div>");
    body
}

/// A tenant's own voucher applications with their state and, once decided, the reason.
async fn my_applications(s: &AppState, lang: Lang, t: &suanli_core::id::TenantId) -> String {
    let apps = s.store.applications(Some(t), None, 20).await.unwrap_or_default();
    let mut out = format!("<h2>{}</h2>", lang.t("我的申请", "My applications"));
    out.push_str(&thead_id(
        "my-applications",
        &[
            lang.t("提交时间", "Submitted"),
            lang.t("申请金额", "Requested"),
            lang.t("用途", "Purpose"),
            lang.t("状态", "State"),
            lang.t("批准金额", "Approved"),
            lang.t("审批说明", "Decision note"),
        ],
    ));
    for a in &apps {
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td>{}</td><td class="user-text">{}</td><td data-state="{}">{}</td><td>{}</td><td class="user-text">{}</td></tr>"#,
            labels::when(Some(a.created_ms)),
            lang.fen(a.requested),
            esc(&a.purpose),
            a.state.as_str(),
            labels::application_state(lang, a.state),
            a.approved.map_or("-".into(), |f| lang.fen(f)),
            esc(a.decision_reason.as_deref().unwrap_or("-")),
        );
    }
    if apps.is_empty() {
        let _ = write!(out, r#"<tr><td colspan="6">{}</td></tr>"#, lang.t("尚无申请。", "No applications yet."));
    }
    out.push_str("</tbody></table></div>");
    out
}

#[derive(Debug, Deserialize)]
struct ApplyForm {
    amount: String,
    purpose: String,
}

/// `POST /vouchers/apply` (form): a tenant applies.
pub async fn apply(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let f = serde_urlencoded::from_str::<ApplyForm>(&body)
            .map_err(|e| crate::error::ApiError::new(suanli_core::ErrorCode::InvalidBody, e.to_string()))?;
        let amount = suanli_core::Fen::parse_positive("amount", &f.amount)?;
        Ok::<_, crate::error::ApiError>(s.vouchers.apply(&caller, None, amount, &f.purpose, None).await?)
    }
    .await;
    match result {
        Ok(_) => Redirect::to("/vouchers?done=applied").into_response(),
        Err(e) => {
            // The error beside its field, in the form that keeps what was typed.
            let (field, id) =
                if operate::code_of(&e) == suanli_core::ErrorCode::InvalidName { ("purpose", "purpose") } else { ("amount", "amount") };
            operate::refused(&s, lang, &c, &e, Kept::new("apply", &body, field, field_error(lang, &e, id))).await
        }
    }
}

#[derive(Debug, Deserialize)]
struct RejectForm {
    reason: String,
}

/// `POST /vouchers/applications/{id}/approve|reject` (form): the operator decides; each asks
/// again first (an approval with the amount, a rejection with the reason).
pub async fn decide(
    State(s): State<AppState>,
    axum::extract::Path((id, what)): axum::extract::Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if what == "approve" {
        return operate::approve(&s, lang, &c, &id, &body).await;
    }
    let result = async {
        if what != "reject" {
            return Err(crate::error::ApiError::new(suanli_core::ErrorCode::NotFound, "no such decision"));
        }
        let caller = suanli_app::Caller::of(&c.0)?;
        let app = suanli_core::id::ApplicationId::parse(&id)?;
        let f = serde_urlencoded::from_str::<RejectForm>(&body)
            .map_err(|e| crate::error::ApiError::new(suanli_core::ErrorCode::InvalidBody, e.to_string()))?;
        if confirm::confirmed(&body) {
            s.vouchers.reject(&caller, &app, &f.reason).await?;
            return Ok(None);
        }
        let a = s.vouchers.check_reject(&caller, &app, &f.reason).await?;
        Ok(Some(reject_confirmation(&s, lang, &c, &a, &f.reason, &body).await))
    }
    .await;
    match result {
        Ok(Some(ask)) => ask,
        Ok(None) => Redirect::to("/vouchers?done=rejected").into_response(),
        Err(e) => {
            let kept = Kept::new(format!("reject-{id}"), &body, "reason", field_error(lang, &e, &format!("r-{id}")));
            operate::refused(&s, lang, &c, &e, kept).await
        }
    }
}

/// The question before rejecting: the enterprise, what it asked and why, and the reason it will read.
async fn reject_confirmation(
    s: &AppState,
    lang: Lang,
    c: &Caller,
    a: &suanli_ledger::records::Application,
    reason: &str,
    body: &str,
) -> Response {
    let name = s
        .store
        .tenant(&a.tenant_id)
        .await
        .ok()
        .flatten()
        .map_or_else(|| a.tenant_id.to_string(), |t| lang.name(&t.name, &t.name_en).to_string());
    let user = |t: &str| format!(r#"<span class="user-text">{}</span>"#, esc(t));
    let facts = [
        (lang.t("企业", "Enterprise"), user(&name)),
        (lang.t("用途", "Purpose"), user(&a.purpose)),
        (lang.t("申请金额", "Requested"), lang.fen(a.requested)),
        (
            lang.t("驳回理由", "Reason to reject"),
            format!(r#"<strong id="confirm-reason" class="user-text">{}</strong>"#, esc(reason.trim())),
        ),
    ];
    confirm::ask(
        lang,
        c,
        &confirm::Ask {
            title: lang.t("确认驳回此申请？", "Reject this application?"),
            facts: &facts,
            outcome: lang.t(
                "驳回后申请即告结束，不发放算力券，企业会在“我的申请”中看到驳回理由；不能撤销。",
                "The application ends with no vouchers issued, and the enterprise reads your reason under its applications; this cannot be undone.",
            ),
            action: &format!("/vouchers/applications/{}/reject", a.id),
            body,
            go: lang.t("确认驳回", "Yes, reject it"),
            back: "/vouchers",
        },
    )
}
