//! The operator's money forms on the vouchers page — a tenant's cash top-up, a provider's settlement for a period, an application approved for all or part of what it asked — each asked for again on a confirmation page before money moves; a refused form comes back with its error beside the field and what was typed kept.

use super::*;
use std::collections::HashMap;
use suanli_core::money::Fen;

/// A form that came back refused: which form, what was typed, and the error beside one field.
#[derive(Debug, Default)]
pub(super) struct Kept {
    form: String,
    values: HashMap<String, String>,
    field: String,
    error: String,
}

impl Kept {
    /// What was typed into a form, with the error (rendered) beside `field`.
    pub(super) fn new(form: impl Into<String>, body: &str, field: impl Into<String>, error: String) -> Kept {
        Kept { form: form.into(), values: fields(body), field: field.into(), error }
    }

    /// How many rows of `form` were typed: one more than the highest `n` of the fields `{prefix}-{n}` (0 if that form is not the one kept).
    pub(super) fn rows(&self, form: &str, prefix: &str) -> usize {
        if self.form != form {
            return 0;
        }
        let at = format!("{prefix}-");
        self.values.keys().filter_map(|k| k.strip_prefix(&at)?.parse::<usize>().ok()).map(|n| n + 1).max().unwrap_or(0)
    }

    /// What was typed into `name` of `form`, escaped; empty if that form is not the one kept.
    pub(super) fn value(&self, form: &str, name: &str) -> String {
        if self.form == form { esc(self.values.get(name).map_or("", String::as_str)) } else { String::new() }
    }

    /// Whether `form` came back refused.
    pub(super) fn is(&self, form: &str) -> bool {
        self.form == form
    }

    /// The error beside `field` of `form` (with `aria-describedby` on the input naming `id`), if it is there.
    pub(super) fn error(&self, form: &str, field: &str) -> &str {
        if self.form == form && self.field == field { &self.error } else { "" }
    }

    /// `aria-invalid` and `aria-describedby` for the input with the error beside it.
    pub(super) fn invalid(&self, form: &str, field: &str, id: &str) -> String {
        if self.form == form && self.field == field {
            format!(r#" aria-invalid="true" aria-describedby="{}-error""#, esc(id))
        } else {
            String::new()
        }
    }
}

impl Kept {
    /// A labelled text input `name` of `form` (its id `{form}-{name}`), the value kept and the
    /// error beside it; `attrs` are the input's other attributes.
    pub(super) fn input(&self, form: &str, name: &str, label: &str, attrs: &str) -> String {
        let id = format!("{form}-{name}");
        format!(
            r#"<label for="{id}">{label}</label><input id="{id}" name="{name}" value="{v}"{attrs}{inv}>{e}"#,
            v = self.value(form, name),
            inv = self.invalid(form, name, &id),
            e = self.error(form, name),
        )
    }

    /// A labelled `<select>` `name` of `form` over `(value, label)` choices, the kept one selected.
    pub(super) fn select(&self, form: &str, name: &str, label: &str, choices: &[(String, String)]) -> String {
        let id = format!("{form}-{name}");
        let chosen = self.value(form, name);
        let mut out = format!(r#"<label for="{id}">{label}</label><select id="{id}" name="{name}"{}>"#, self.invalid(form, name, &id));
        for (v, l) in choices {
            let sel = if esc(v) == chosen { " selected" } else { "" };
            let _ = write!(out, r#"<option value="{}"{sel}>{}</option>"#, esc(v), esc(l));
        }
        let _ = write!(out, "</select>{}", self.error(form, name));
        out
    }
}

/// A form body's fields (the last value of a repeated name).
pub(super) fn fields(body: &str) -> HashMap<String, String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(body).unwrap_or_default().into_iter().collect()
}

/// An error beside a field: like [`error_notice`], with the id the field's `aria-describedby` names.
pub(super) fn field_error(lang: Lang, e: &crate::error::ApiError, id: &str) -> String {
    error_notice(lang, e).replacen("<p ", &format!(r#"<p id="{}-error" "#, esc(id)), 1)
}

/// What a page shows after a form of `form` was refused: `Err(notice)`, the error on top, when
/// the caller may not use the form at all (403); else what was typed kept with the error beside
/// `field`, and the error on top too when it names no field (422).
pub(super) fn refusal(
    lang: Lang,
    form: &str,
    body: &str,
    field: &'static str,
    e: &crate::error::ApiError,
) -> Result<(Kept, String), String> {
    if field.is_empty() && code_of(e) == suanli_core::ErrorCode::Forbidden {
        return Err(error_notice(lang, e));
    }
    let kept = Kept::new(form, body, field, field_error(lang, e, &format!("{form}-{field}")));
    Ok((kept, if field.is_empty() { error_notice(lang, e) } else { String::new() }))
}

/// The code of an error (internal errors have none of the table's field-specific ones).
pub(super) fn code_of(e: &crate::error::ApiError) -> suanli_core::ErrorCode {
    match e {
        crate::error::ApiError::Domain(d) => d.code,
        crate::error::ApiError::Internal(_) => suanli_core::ErrorCode::Internal,
    }
}

fn bad_form(e: serde_urlencoded::de::Error) -> crate::error::ApiError {
    crate::error::ApiError::new(suanli_core::ErrorCode::InvalidBody, e.to_string())
}

/// What a confirmation says of a form that moves money.
pub(super) fn money_moves(lang: Lang) -> &'static str {
    lang.t("确认后资金立即划转，不能撤销。", "Money moves as soon as you confirm; this cannot be undone.")
}

/// The vouchers page again, with a refused form's error beside its field; a role that may not
/// use the form at all gets the error at the top (403).
pub(super) async fn refused(s: &AppState, lang: Lang, c: &Caller, e: &crate::error::ApiError, kept: Kept) -> Response {
    if code_of(e) == suanli_core::ErrorCode::Forbidden {
        return (StatusCode::FORBIDDEN, Html(vouchers::render(s, lang, c, &error_notice(lang, e), &Kept::default()).await)).into_response();
    }
    (StatusCode::UNPROCESSABLE_ENTITY, Html(vouchers::render(s, lang, c, "", &kept).await)).into_response()
}

// ----- top-ups -----

/// The operator's top-up form: the enterprise, the amount, the bank's reference.
pub(super) async fn top_up_form(s: &AppState, lang: Lang, kept: &Kept) -> String {
    let chosen = kept.value("top-up", "tenant");
    let mut options = String::new();
    for t in s.store.tenants().await.unwrap_or_default() {
        let id = esc(t.id.as_str());
        let sel = if id == chosen { " selected" } else { "" };
        let _ = write!(options, r#"<option value="{id}"{sel}>{}</option>"#, esc(lang.name(&t.name, &t.name_en)));
    }
    format!(
        r#"<h2>{h}</h2><form method="post" action="/vouchers/top-ups" id="top-up"><label for="top-up-tenant">{e}</label><select id="top-up-tenant" name="tenant"{ti}>{options}</select>{te}<label for="top-up-amount">{a}</label><input id="top-up-amount" name="amount" inputmode="decimal" required value="{av}"{ai}>{ae}<label for="top-up-reference">{r}</label><input id="top-up-reference" name="reference" maxlength="200" value="{rv}"{ri}>{re}<p><button type="submit">{b}</button></p></form>"#,
        h = lang.t("企业现金充值", "Top up an enterprise's cash"),
        e = lang.t("企业", "Enterprise"),
        a = lang.t("金额（元）", "Amount (yuan)"),
        r = lang.t("银行流水号（可选）", "Bank reference (optional)"),
        b = lang.t("下一步：确认", "Next: confirm"),
        ti = kept.invalid("top-up", "tenant", "top-up-tenant"),
        te = kept.error("top-up", "tenant"),
        av = kept.value("top-up", "amount"),
        ai = kept.invalid("top-up", "amount", "top-up-amount"),
        ae = kept.error("top-up", "amount"),
        rv = kept.value("top-up", "reference"),
        ri = kept.invalid("top-up", "reference", "top-up-reference"),
        re = kept.error("top-up", "reference"),
    )
}

#[derive(Debug, Deserialize)]
struct TopUpForm {
    tenant: String,
    amount: String,
    #[serde(default)]
    reference: String,
    /// Chosen when the confirmation is shown, so a confirmation sent twice tops up once.
    #[serde(default)]
    transfer_id: String,
}

/// `POST /vouchers/top-ups` (form): the operator tops up an enterprise's cash, after confirming.
pub async fn top_up(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let checked = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let f = serde_urlencoded::from_str::<TopUpForm>(&body).map_err(bad_form)?;
        let tenant = suanli_core::id::TenantId::parse(&f.tenant)?;
        let amount = Fen::parse_positive("amount", &f.amount)?;
        Ok::<_, crate::error::ApiError>((caller, f, tenant, amount))
    }
    .await;
    let result = match checked {
        Ok((caller, f, tenant, amount)) if confirm::confirmed(&body) => {
            let reference = Some(f.reference).filter(|r| !r.trim().is_empty());
            let transfer_id = suanli_ledger::TransferId::parse_hex(f.transfer_id.trim());
            s.vouchers.top_up(&caller, &tenant, amount, transfer_id, reference).await.map_err(crate::error::ApiError::from)
        }
        Ok((caller, f, tenant, amount)) => match suanli_app::vouchers::operator_only(&caller, "recording cash top-ups") {
            Err(e) => Err(e.into()),
            Ok(()) => {
                let name = s.store.tenant(&tenant).await.ok().flatten().map(|t| lang.name(&t.name, &t.name_en).to_string());
                let Some(name) = name else {
                    let e = crate::error::ApiError::new(suanli_core::ErrorCode::TenantNotFound, format!("no tenant {tenant}"));
                    return refused(&s, lang, &c, &e, Kept::new("top-up", &body, "tenant", field_error(lang, &e, "top-up-tenant"))).await;
                };
                let mut facts = vec![(lang.t("企业", "Enterprise"), esc(&name)), (lang.t("充值金额", "Amount"), lang.fen(amount))];
                if !f.reference.trim().is_empty() {
                    facts.push((lang.t("银行流水号", "Bank reference"), esc(f.reference.trim())));
                }
                let (ms, e) = s.ids.parts();
                let once = suanli_ledger::TransferId::derive("web-top-up", &format!("{tenant}/{ms}/{e}"));
                let body = serde_urlencoded::to_string(
                    fields(&body)
                        .into_iter()
                        .filter(|(k, _)| k != "transfer_id")
                        .chain([("transfer_id".to_string(), once.to_hex())])
                        .collect::<Vec<_>>(),
                )
                .unwrap_or_default();
                return confirm::ask(
                    lang,
                    &c,
                    &confirm::Ask {
                        title: lang.t("确认充值？", "Top up this enterprise?"),
                        facts: &facts,
                        outcome: money_moves(lang),
                        action: "/vouchers/top-ups",
                        body: &body,
                        go: lang.t("确认充值", "Yes, top it up"),
                        back: "/vouchers",
                    },
                );
            }
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Redirect::to("/vouchers?done=topped-up").into_response(),
        Err(e) => {
            let (field, id) = match code_of(&e) {
                suanli_core::ErrorCode::TenantNotFound | suanli_core::ErrorCode::InvalidId => ("tenant", "top-up-tenant"),
                suanli_core::ErrorCode::InvalidName => ("reference", "top-up-reference"),
                _ => ("amount", "top-up-amount"),
            };
            refused(&s, lang, &c, &e, Kept::new("top-up", &body, field, field_error(lang, &e, id))).await
        }
    }
}

// ----- settlements -----

/// The operator's settlement form: the provider and the period, as calendar days in Beijing time.
pub(super) async fn settle_form(s: &AppState, lang: Lang, kept: &Kept) -> String {
    let chosen = kept.value("settle", "provider");
    let mut options = String::new();
    for p in s.store.providers().await.unwrap_or_default() {
        let id = esc(p.id.as_str());
        let sel = if id == chosen { " selected" } else { "" };
        let _ = write!(options, r#"<option value="{id}"{sel}>{}</option>"#, esc(lang.name(&p.name, &p.name_en)));
    }
    format!(
        r#"<h2>{h}</h2><p>{note}</p><form method="post" action="/vouchers/settlements" id="settle"><label for="settle-provider">{p}</label><select id="settle-provider" name="provider"{pi}>{options}</select>{pe}<label for="settle-from">{f}</label><input id="settle-from" name="from" type="date" required value="{fv}"{fi}>{fe}<label for="settle-to">{t}</label><input id="settle-to" name="to" type="date" required value="{tv}"{ti}>{te}<p><button type="submit">{b}</button></p></form>"#,
        h = lang.t("与算力服务商结算", "Settle a provider"),
        note = lang.t(
            "结算该服务商在期间内尚未结算的作业账单、模型调用和数据交付，生成结算单并一次付款。",
            "Settles the provider's unsettled job bills, model calls and data deliveries in the period: one statement, one payment."
        ),
        p = lang.t("算力服务商", "Provider"),
        f = lang.t("起始日期（含，北京时间）", "From (inclusive, Beijing time)"),
        t = lang.t("结束日期（含，北京时间）", "To (inclusive, Beijing time)"),
        b = lang.t("下一步：确认", "Next: confirm"),
        pi = kept.invalid("settle", "provider", "settle-provider"),
        pe = kept.error("settle", "provider"),
        fv = kept.value("settle", "from"),
        fi = kept.invalid("settle", "from", "settle-from"),
        fe = kept.error("settle", "from"),
        tv = kept.value("settle", "to"),
        ti = kept.invalid("settle", "to", "settle-to"),
        te = kept.error("settle", "to"),
    )
}

#[derive(Debug, Deserialize)]
struct SettleForm {
    provider: String,
    from: String,
    to: String,
    /// When the confirmation was shown (ms): nothing billed later joins this settlement.
    #[serde(default)]
    until: String,
    /// The amount the confirmation showed (yuan); the settlement is refused if it would pay another.
    #[serde(default)]
    expected: String,
}

/// A period of whole days in Beijing time, the last one included: `[from 00:00, to + 1 day 00:00)` in UTC+8.
fn beijing_days(from: &str, to: &str) -> Result<(i64, i64), suanli_core::error::Error> {
    let day = suanli_core::time::MS_PER_DAY;
    let start = suanli_core::time::cst_day_start(from.trim())?;
    let end = suanli_core::time::cst_day_start(to.trim())? + day;
    Ok((start, end))
}

/// `POST /vouchers/settlements` (form): the operator settles a provider, after confirming.
pub async fn settle(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let checked = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let f = serde_urlencoded::from_str::<SettleForm>(&body).map_err(bad_form)?;
        let provider = suanli_core::id::ProviderId::parse(&f.provider)?;
        let (from, to) = beijing_days(&f.from, &f.to)?;
        let until = f.until.trim().parse::<i64>().unwrap_or_else(|_| s.ids.now_ms());
        let expected = Some(f.expected.trim()).filter(|x| !x.is_empty()).map(Fen::parse_yuan).transpose()?;
        Ok::<_, crate::error::ApiError>((caller, confirm::confirmed(&body), provider, from, to.min(until), expected))
    }
    .await;
    let result = match checked {
        Ok((caller, true, provider, from, to, expected)) => {
            s.money.settle_expecting(&caller, &provider, from, to, expected).await.map_err(crate::error::ApiError::from)
        }
        Ok((caller, _, provider, from, to, _)) => match s.money.preview(&caller, &provider, from, to).await {
            Err(e) => Err(e.into()),
            Ok(plan) => {
                let name = s
                    .store
                    .provider(&provider)
                    .await
                    .ok()
                    .flatten()
                    .map_or_else(|| provider.to_string(), |p| lang.name(&p.name, &p.name_en).to_string());
                let facts = settlement_facts(lang, &name, from, to, &plan);
                let body = confirmed_settlement(&body, to, &plan);
                return confirm::ask(
                    lang,
                    &c,
                    &confirm::Ask {
                        title: lang.t("确认结算？", "Settle this provider?"),
                        facts: &facts,
                        outcome: money_moves(lang),
                        action: "/vouchers/settlements",
                        body: &body,
                        go: lang.t("确认结算并付款", "Yes, settle and pay"),
                        back: "/vouchers",
                    },
                );
            }
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(st) => Redirect::to(&format!("/vouchers?done=settled&statement={}", st.id)).into_response(),
        Err(e) => {
            let (field, id) = match code_of(&e) {
                suanli_core::ErrorCode::InvalidDate => {
                    if fields(&body).get("from").is_some_and(|f| suanli_core::time::parse_date(f.trim()).is_err()) {
                        ("from", "settle-from")
                    } else {
                        ("to", "settle-to")
                    }
                }
                suanli_core::ErrorCode::InvalidPeriod => ("to", "settle-to"),
                _ => ("provider", "settle-provider"),
            };
            refused(&s, lang, &c, &e, Kept::new("settle", &body, field, field_error(lang, &e, id))).await
        }
    }
}

/// What a settlement would pay, for the person to confirm.
fn settlement_facts(lang: Lang, name: &str, from: i64, to: i64, plan: &suanli_app::money::SettlementPlan) -> [(&'static str, String); 11] {
    [
        (lang.t("算力服务商", "Provider"), esc(name)),
        (lang.t("期间开始", "Period from"), labels::when(Some(from))),
        (lang.t("期间结束（不含）", "Period to (exclusive)"), labels::when(Some(to))),
        (lang.t("作业账单", "Job bills"), plan.bills.len().to_string()),
        (lang.t("模型调用", "Model calls"), plan.calls.to_string()),
        (lang.t("数据交付", "Data deliveries"), plan.deliveries.to_string()),
        (lang.t("费用合计", "Charged"), lang.fen(plan.charge)),
        (lang.t("其中算力券", "Of which vouchers"), lang.fen(plan.voucher)),
        (lang.t("其中现金", "Of which cash"), lang.fen(plan.cash)),
        (lang.t("企业欠费（不在本次支付）", "Owed by tenants (not paid now)"), lang.fen(plan.outstanding)),
        (lang.t("本次支付", "To pay now"), format!(r#"<strong id="confirm-amount">{}</strong>"#, lang.fen(plan.settled))),
    ]
}

/// The form's body as its confirmation posts it: the provider and period, the moment the period
/// was cut at, and the amount shown (a settlement that would pay otherwise is refused).
fn confirmed_settlement(body: &str, to: i64, plan: &suanli_app::money::SettlementPlan) -> String {
    let keep = ["provider", "from", "to"];
    serde_urlencoded::to_string(
        fields(body)
            .into_iter()
            .filter(|(k, _)| keep.contains(&k.as_str()))
            .chain([("until".to_string(), to.to_string()), ("expected".to_string(), plan.settled.to_yuan_string())])
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default()
}

// ----- approving with an amount -----

/// The approve form of one pending application: the amount (all that was asked, unless changed).
pub(super) fn approve_form(lang: Lang, a: &suanli_ledger::records::Application, name: &str, kept: &Kept) -> String {
    let form = format!("approve-{}", a.id);
    let id = format!("amount-{}", a.id);
    let typed = kept.value(&form, "amount");
    let value = if kept.is(&form) { typed } else { esc(&a.requested.to_yuan_string()) };
    format!(
        r#"<form method="post" action="/vouchers/applications/{aid}/approve"><label for="{id}">{l}</label><input id="{id}" name="amount" inputmode="decimal" required value="{value}"{inv}>{err}<button type="submit" aria-label="{al} {n}">{b}</button></form>"#,
        aid = esc(a.id.as_str()),
        id = esc(&id),
        l = lang.t("批准金额（元）", "Amount to approve (yuan)"),
        inv = kept.invalid(&form, "amount", &id),
        err = kept.error(&form, "amount"),
        al = lang.t("批准", "Approve"),
        n = esc(name),
        b = lang.t("批准", "Approve"),
    )
}

#[derive(Debug, Deserialize)]
struct ApproveForm {
    amount: String,
}

/// `POST /vouchers/applications/{id}/approve` (form): the operator approves all or part of an
/// application, after a confirmation showing the amount.
pub(super) async fn approve(s: &AppState, lang: Lang, c: &Caller, id: &str, body: &str) -> Response {
    let form = format!("approve-{id}");
    let checked = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let app = suanli_core::id::ApplicationId::parse(id)?;
        let f = serde_urlencoded::from_str::<ApproveForm>(body).map_err(bad_form)?;
        let amount = Fen::parse_positive("amount", &f.amount)?;
        Ok::<_, crate::error::ApiError>((caller, app, confirm::confirmed(body), amount))
    }
    .await;
    let result = match checked {
        Ok((caller, app, true, amount)) => {
            s.vouchers.approve(&caller, &app, Some(amount), None).await.map_err(crate::error::ApiError::from)
        }
        Ok((caller, app, _, amount)) => match suanli_app::vouchers::operator_only(&caller, "approving voucher applications") {
            Err(e) => Err(e.into()),
            Ok(()) => {
                let Ok(Some(a)) = s.store.application(&app).await else {
                    let e = crate::error::ApiError::new(suanli_core::ErrorCode::ApplicationNotFound, format!("no application {app}"));
                    return (StatusCode::NOT_FOUND, Html(vouchers::render(s, lang, c, &error_notice(lang, &e), &Kept::default()).await))
                        .into_response();
                };
                let name = s.store.tenant(&a.tenant_id).await.ok().flatten().map_or_else(|| a.tenant_id.to_string(), |t| t.name);
                let facts = [
                    (lang.t("企业", "Enterprise"), format!(r#"<span class="user-text">{}</span>"#, esc(&name))),
                    (lang.t("用途", "Purpose"), format!(r#"<span class="user-text">{}</span>"#, esc(&a.purpose))),
                    (lang.t("申请金额", "Requested"), lang.fen(a.requested)),
                    (lang.t("批准金额", "To approve"), format!(r#"<strong id="confirm-amount">{}</strong>"#, lang.fen(amount))),
                ];
                return confirm::ask(
                    lang,
                    c,
                    &confirm::Ask {
                        title: lang.t("确认批准？", "Approve this application?"),
                        facts: &facts,
                        outcome: money_moves(lang),
                        action: &format!("/vouchers/applications/{}/approve", a.id),
                        body,
                        go: lang.t("确认批准并发放", "Yes, approve and issue"),
                        back: "/vouchers",
                    },
                );
            }
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Redirect::to("/vouchers?done=approved").into_response(),
        Err(e) => {
            let kept = Kept::new(form, body, "amount", field_error(lang, &e, &format!("amount-{id}")));
            refused(s, lang, c, &e, kept).await
        }
    }
}
