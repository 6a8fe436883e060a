//! `GET /ledger`: for the operator and the regulator, the ledger's verification in words (whether it balances, every balance equals the replay of its history, the history has no gap), the reconciliation of bills, model calls and data deliveries against the ledger's transfers, and every account with its balances.

use super::{Lang, LangQuery, error_notice, esc, gate, labels, page, thead_id, with_cookie};
use crate::AppState;
use crate::error::ApiError;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::collections::HashMap;
use std::fmt::Write;
use suanli_app::ledger::StoredCheck;
use suanli_app::money::Reconciliation;
use suanli_core::money::Fen;
use suanli_ledger::AccountKind;
use suanli_store::StoredAccount;

/// `GET /ledger`: the latest check kept (the platform checks every hour; "verify now" checks at
/// once), so that a view never replays the whole ledger.
pub async fn ledger_page(State(s): State<AppState>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, set, c) = match gate(&s, &q, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let read = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let last = s.money.last_check(&caller).await?;
        let accounts = s.money.accounts(&caller, None).await?;
        Ok::<_, ApiError>((last, accounts))
    }
    .await;
    match read {
        Ok((last, accounts)) => with_cookie(
            Html(page(lang, lang.t("账本", "The ledger"), Some(&c), &body(&s, lang, last.as_ref(), &accounts).await)).into_response(),
            set,
        ),
        Err(e) => refused(lang, &c, &e, set),
    }
}

/// `POST /ledger/verify`: verifies and reconciles now, keeps the result and shows the page again.
pub async fn verify_now(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let (lang, set, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let done = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        s.money.check_ledger(&caller, s.ids.now_ms()).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match done {
        Ok(()) => with_cookie(Redirect::to("/ledger#verify").into_response(), set),
        Err(e) => refused(lang, &c, &e, set),
    }
}

fn refused(lang: Lang, c: &crate::auth::Caller, e: &ApiError, set: Option<String>) -> Response {
    let title = lang.t("账本", "The ledger");
    let body = format!("<h1>{title}</h1>{}", error_notice(lang, e));
    let status = StatusCode::from_u16(super::operate::code_of(e).http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    with_cookie((status, Html(page(lang, title, Some(c), &body))).into_response(), set)
}

async fn body(s: &AppState, lang: Lang, last: Option<&StoredCheck>, accounts: &[StoredAccount]) -> String {
    let mut body = format!(
        "<h1>{}</h1><p>{}</p>",
        lang.t("账本", "The ledger"),
        lang.t(
            "平台的资金与算力券都记在复式账本上：每笔转账借贷相等，账户不得越过其规则。平台每小时重放一次账本核对，并把账单、模型调用和数据交付与账本转账逐一对账；此页显示最近一次的结果，也可立即核对。",
            "The platform's money and vouchers are kept in a double-entry ledger: every transfer debits what it credits, and no account may cross its rule. Every hour the platform replays the ledger to check it and ties every bill, model call and data delivery to the ledger's transfers; this page shows the latest result, and can check again now."
        )
    );
    match last {
        Some(k) => {
            body.push_str(&verification(lang, k));
            body.push_str(&reconciliation(lang, &k.reconciliation, k.mismatches_total));
        }
        None => {
            let _ = write!(
                body,
                r#"<h2 id="verify">{}</h2><p role="status" id="ledger-unchecked">{}</p>{}"#,
                lang.t("账本核对", "Verification"),
                lang.t("账本尚未核对过。", "The ledger has not been checked yet."),
                verify_form(lang)
            );
        }
    }
    body.push_str(&accounts_table(s, lang, accounts).await);
    let _ = write!(
        body,
        "<p>{}</p>",
        lang.t(
            "命令行：<code>suanli ledger verify | accounts | reconcile</code>；接口：<code>/api/v1/ledger</code>。",
            "From the command line: <code>suanli ledger verify | accounts | reconcile</code>; the API: <code>/api/v1/ledger</code>."
        )
    );
    body
}

/// The button that checks the ledger now.
fn verify_form(lang: Lang) -> String {
    format!(
        r#"<form method="post" action="/ledger/verify" id="verify-now"><button type="submit">{}</button></form>"#,
        lang.t("立即核对", "Verify now")
    )
}

/// The verification in words, and each broken invariant if there is one.
fn verification(lang: Lang, k: &StoredCheck) -> String {
    let r = &k.check;
    let mut out = format!(r#"<h2 id="verify">{}</h2>"#, lang.t("账本核对", "Verification"));
    let by = if k.by == "schedule" {
        lang.t("平台的定时核对", "the platform's hourly check").to_string()
    } else {
        format!("{}<code>{}</code>", lang.t("用户 ", "user "), esc(&k.by))
    };
    let _ = write!(
        out,
        r#"<p id="checked-at" data-at="{}">{} {}{} {by}{}</p>{}"#,
        k.at,
        lang.t("最近一次核对：", "Last checked"),
        labels::when(Some(k.at)),
        lang.t("，由", ", by"),
        lang.t("发起。", "."),
        verify_form(lang)
    );
    if r.ok {
        let _ = write!(
            out,
            r#"<p class="ok" role="status" id="ledger-ok" data-ok="true">{}</p>"#,
            lang.t(
                "账本平衡：借方合计等于贷方合计，没有账户越过其规则，每个账户的余额都与重放全部历史的结果一致，历史没有缺漏或重复。",
                "The ledger balances: debits add up to credits, no account crosses its rule, every balance equals the replay of the whole history, and the history has no gap or repeat."
            )
        );
    } else {
        let _ = write!(
            out,
            r#"<p class="error" role="alert" id="ledger-ok" data-ok="false">{}</p><ul>"#,
            lang.t("账本核对未通过，违反的规则如下：", "The ledger fails its checks; what is broken:")
        );
        for v in &r.violations {
            let _ = write!(out, "<li>{}</li>", labels::untranslated(lang, v));
        }
        out.push_str("</ul>");
    }
    out.push_str(&facts(&[
        (lang.t("账户数", "Accounts"), r.accounts.to_string()),
        (lang.t("转账笔数", "Transfers"), r.transfers.to_string()),
        (lang.t("未决转账（尚未过账或作废）", "Pending transfers not yet posted or voided"), r.open_pending.to_string()),
        (lang.t("已过账合计", "Posted in all"), lang.fen(r.posted_total)),
        (lang.t("未决合计", "Pending in all"), lang.fen(r.pending_total)),
        (lang.t("重放用时（毫秒）", "Replayed in (ms)"), r.elapsed_ms.to_string()),
        (lang.t("核对与对账用时（毫秒）", "Checked and reconciled in (ms)"), k.elapsed_ms.to_string()),
    ]));
    out
}

/// Rows of a label and a value (HTML).
fn facts(rows: &[(&str, String)]) -> String {
    let mut out = String::from(r#"<div class='scroll'><table class="facts"><tbody>"#);
    for (k, v) in rows {
        let _ = write!(out, r#"<tr><th scope="row">{}</th><td>{v}</td></tr>"#, esc(k));
    }
    out.push_str("</tbody></table></div>");
    out
}

/// The reconciliation: what matched, the sums, and each record the ledger disagrees with.
fn reconciliation(lang: Lang, r: &Reconciliation, total: usize) -> String {
    let mut out = format!(r#"<h2 id="reconciliation">{}</h2>"#, lang.t("对账", "Reconciliation"));
    let of = |matched: usize, all: usize| format!("{matched} / {all}");
    out.push_str(&facts(&[
        (lang.t("账单（相符 / 全部）", "Bills (matched / all)"), of(r.bills_matched, r.bills)),
        (lang.t("账单应收", "Charged on bills"), lang.fen(r.charged)),
        (lang.t("已过账：算力券", "Posted from vouchers"), lang.fen(r.posted_voucher)),
        (lang.t("已过账：现金", "Posted from cash"), lang.fen(r.posted_cash)),
        (lang.t("待付", "Outstanding"), lang.fen(r.outstanding)),
        (lang.t("模型调用（相符 / 全部）", "Model calls (matched / all)"), of(r.model_calls_matched, r.model_calls)),
        (lang.t("模型调用费用", "Charged for model calls"), lang.fen(r.model_calls_charged)),
        (lang.t("数据交付（相符 / 全部）", "Data deliveries (matched / all)"), of(r.data_deliveries_matched, r.data_deliveries)),
        (lang.t("数据费用", "Data fees"), lang.fen(r.data_fees)),
    ]));
    if r.mismatches.is_empty() {
        let _ = write!(
            out,
            r#"<p class="ok" role="status" id="reconciled">{}</p>"#,
            lang.t(
                "全部相符：每张账单、每次调用和每次交付都与账本转账一致。",
                "Everything matches: every bill, call and delivery agrees with the ledger's transfers."
            )
        );
    }
    let _ = write!(out, r#"<h3 id="mismatches">{}</h3>"#, lang.t("不符的记录", "Records that do not match"));
    if total > r.mismatches.len() {
        let _ = write!(
            out,
            "<p>{}</p>",
            match lang {
                Lang::Zh =>
                    format!("共 {total} 条不符，下表列出前 {} 条；全部请用 <code>suanli ledger reconcile</code>。", r.mismatches.len()),
                Lang::En => format!(
                    "{total} records do not match; the first {} are listed (all of them: <code>suanli ledger reconcile</code>).",
                    r.mismatches.len()
                ),
            }
        );
    }
    out.push_str(&thead_id("mismatch-table", &[lang.t("对象", "About"), lang.t("账单", "Bill"), lang.t("问题", "Problem")]));
    for m in &r.mismatches {
        let bill = m.bill_id.as_deref().map_or("-".to_string(), |b| format!(r#"<a href="/bills/{0}"><code>{0}</code></a>"#, esc(b)));
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{bill}</td><td>{}</td></tr>",
            esc(&m.subject),
            labels::untranslated(lang, &m.problem)
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

fn account_kind(lang: Lang, k: AccountKind) -> &'static str {
    match k {
        AccountKind::ProgrammeBudget => lang.t("算力券项目预算", "Voucher programme budget"),
        AccountKind::EnterpriseVoucher => lang.t("企业算力券", "Enterprise vouchers"),
        AccountKind::EnterpriseCash => lang.t("企业现金", "Enterprise cash"),
        AccountKind::ProviderReceivable => lang.t("提供方应收", "Owed to a provider"),
        AccountKind::Platform => lang.t("平台", "The platform"),
        AccountKind::ExternalFunding => lang.t("外部资金来源", "Outside funding"),
        AccountKind::ProviderPayout => lang.t("已付提供方", "Paid out to a provider"),
        AccountKind::ModelKeyBudget => lang.t("模型密钥预算（备查）", "Model key budget (memo)"),
        AccountKind::ModelKeyLimits => lang.t("模型密钥额度来源（备查）", "Model key limits (memo)"),
        AccountKind::AwardPayout => lang.t("已拨付奖补", "Incentive awards paid out"),
    }
}

/// Every enterprise's and provider's name in the page's language, by id.
async fn owner_names(s: &AppState, lang: Lang) -> HashMap<String, String> {
    let mut names = super::insight::provider_names(s, lang).await;
    for t in s.store.tenants().await.unwrap_or_default() {
        names.insert(t.id.to_string(), lang.name(&t.name, &t.name_en).to_string());
    }
    names
}

/// Every account with its balances.
async fn accounts_table(s: &AppState, lang: Lang, accounts: &[StoredAccount]) -> String {
    let names = owner_names(s, lang).await;
    let mut out = format!(r#"<h2 id="accounts">{}</h2>"#, lang.t("账户", "Accounts"));
    out.push_str(&thead_id(
        "accounts-table",
        &[
            lang.t("类型", "Kind"),
            lang.t("所有者", "Owner"),
            lang.t("借方已过账", "Debits posted"),
            lang.t("贷方已过账", "Credits posted"),
            lang.t("借方未决", "Debits pending"),
            lang.t("贷方未决", "Credits pending"),
            lang.t("可用", "Available"),
        ],
    ));
    let fen = |v: i128| lang.fen(Fen(v.clamp(i64::MIN as i128, i64::MAX as i128) as i64));
    for a in accounts {
        let owner = names.get(&a.owner).map_or_else(|| format!("<code>{}</code>", esc(&a.owner)), |n| esc(n));
        let _ = write!(
            out,
            r#"<tr><td title="{}">{}</td><td>{owner}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(&a.account.id.to_hex()),
            account_kind(lang, a.account.kind),
            fen(a.account.debits_posted),
            fen(a.account.credits_posted),
            fen(a.account.debits_pending),
            fen(a.account.credits_pending),
            lang.fen(a.account.available()),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}
