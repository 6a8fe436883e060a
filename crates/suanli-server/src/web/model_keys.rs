//! The Models page's keys: the table of a tenant's keys with top-up, rotation and revocation (each asked for again on a confirmation page; the operator may revoke any key), and the form that makes a key with every field a key has (errors beside the field at fault, the input kept).

use super::{Lang, LangQuery, confirm, esc, gate, labels, thead};
use crate::AppState;
use crate::error::ApiError;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::fmt::Write;
use suanli_app::models::CatalogueEntry;
use suanli_core::ErrorCode;
use suanli_core::model::{KeySpec, ModelKey};
use suanli_core::money::Fen;
use suanli_core::tenant::Role;

/// The key form as typed. Every field is text so that a refused form comes back as it was.
#[derive(Debug, Default, Clone)]
pub struct KeyForm {
    name: String,
    budget: String,
    /// Checked models; none means every model.
    models: Vec<String>,
    rpm: String,
    tpm: String,
    /// `YYYY-MM-DD`, the last day the key works (China Standard Time); empty: no expiry.
    expires: String,
    /// Checked regions; none means anywhere.
    regions: Vec<String>,
    /// Model names in order, separated by commas or spaces.
    fallbacks: String,
}

/// What the page shows again after a refused form.
#[derive(Debug, Default)]
pub enum Kept {
    #[default]
    Nothing,
    /// The key form as typed, with the field at fault (`""`: none in particular) and its error.
    Key { form: KeyForm, field: &'static str, error: String },
    /// A refused top-up: the key, the amount typed and the error.
    TopUp { key: String, amount: String, error: String },
    /// A form of the section for who offers models (`model_admin.rs`): refused and kept, or
    /// done, with the notice to show on top of that section.
    Form { kept: super::operate::Kept, notice: String },
}

fn form_pairs(body: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(body).unwrap_or_default()
}

impl KeyForm {
    fn parse(body: &str) -> KeyForm {
        let mut f = KeyForm::default();
        for (k, v) in form_pairs(body) {
            match k.as_str() {
                "name" => f.name = v,
                "budget" => f.budget = v,
                "models" if f.models.len() < 100 && !f.models.contains(&v) => f.models.push(v),
                "rpm" => f.rpm = v,
                "tpm" => f.tpm = v,
                "expires" => f.expires = v,
                "regions" if f.regions.len() < 50 && !f.regions.contains(&v) => f.regions.push(v),
                "fallbacks" => f.fallbacks = v,
                _ => {}
            }
        }
        f
    }

    fn fallback_names(&self) -> Vec<String> {
        self.fallbacks
            .split(|c: char| c == ',' || c == '，' || c == '、' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The key to make, or the field at fault and why.
    fn spec(&self) -> Result<KeySpec, (&'static str, ApiError)> {
        let count = |field: &'static str, v: &str, what: &str| -> Result<u32, (&'static str, ApiError)> {
            if v.trim().is_empty() {
                return Ok(0);
            }
            v.trim().parse::<u32>().map_err(|_| (field, ApiError::new(ErrorCode::InvalidCount, format!("{what} must be a whole number"))))
        };
        let expires_ms = if self.expires.trim().is_empty() {
            None
        } else {
            Some(crate::api::models::expiry_of(self.expires.trim()).map_err(|e| ("expires", e))?)
        };
        Ok(KeySpec {
            name: self.name.trim().to_string(),
            models: self.models.clone(),
            budget: Fen::parse_positive("budget", self.budget.trim()).map_err(|e| ("budget", ApiError::from(e)))?,
            rpm: count("rpm", &self.rpm, "requests per minute")?,
            tpm: count("tpm", &self.tpm, "tokens per minute")?,
            expires_ms,
            regions: self.regions.clone(),
            fallbacks: self.fallback_names(),
        })
    }

    /// The field a refusal of the key's service is about.
    fn field_of(&self, e: &ApiError) -> &'static str {
        let ApiError::Domain(e) = e else { return "" };
        match e.code {
            ErrorCode::InvalidName => "name",
            ErrorCode::InvalidAmount | ErrorCode::NegativeAmount | ErrorCode::ZeroAmount => "budget",
            ErrorCode::InvalidDate => "expires",
            ErrorCode::InvalidRegion => "regions",
            ErrorCode::ModelNotFound | ErrorCode::InvalidModel => {
                let in_fallbacks = self.fallback_names().iter().any(|f| e.message.contains(&format!("'{f}'")) && !self.models.contains(f));
                if in_fallbacks || self.models.is_empty() { "fallbacks" } else { "models" }
            }
            _ => "",
        }
    }
}

/// The error shown beside a field, with the id its input points to.
fn field_error(lang: Lang, id: &str, e: &ApiError) -> String {
    super::error_notice(lang, e).replacen("<p ", &format!(r#"<p id="{id}-error" "#), 1)
}

/// `POST /models/keys` (form): a tenant makes a model key; the page shows its secret once.
pub async fn create_key(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let form = KeyForm::parse(&body);
    let result = async {
        let caller = suanli_app::Caller::of(&c.0).map_err(|e| ("", ApiError::from(e)))?;
        let spec = form.spec()?;
        s.models.create_key(&caller, spec).await.map_err(|e| {
            let e = ApiError::from(e);
            (form.field_of(&e), e)
        })
    }
    .await;
    match result {
        Ok((key, secret)) => {
            let shown = secret_notice(lang, lang.t("已新建密钥", "Made the key"), &key, &secret);
            Html(super::models::render(&s, lang, &c, &[], &shown, Kept::Nothing).await).into_response()
        }
        Err((field, e)) => {
            let kept = Kept::Key { form, field, error: field_error(lang, &format!("key-{field}"), &e) };
            (StatusCode::UNPROCESSABLE_ENTITY, Html(super::models::render(&s, lang, &c, &[], "", kept).await)).into_response()
        }
    }
}

fn secret_notice(lang: Lang, what: &str, key: &ModelKey, secret: &str) -> String {
    format!(
        r#"<p class="ok" role="status">{} <code id="new-key">{}</code></p>"#,
        esc(&format!(
            "{what} {} — {}",
            key.spec.name,
            lang.t("请立即保存，密钥只显示这一次：", "keep it now, it is shown only this once:")
        )),
        esc(secret)
    )
}

/// `POST /models/keys/{id}/top-up` (form): a tenant adds to a key's budget, after a confirmation.
pub async fn top_up_key(State(s): State<AppState>, Path(id): Path<String>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let amount = form_pairs(&body).into_iter().find(|(k, _)| k == "amount").map(|(_, v)| v).unwrap_or_default();
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let fen = Fen::parse_positive("amount", amount.trim())?;
        if !confirm::confirmed(&body) {
            let (key, total) = s.models.check_top_up_key(&caller, &id, fen).await?;
            return Ok(top_up_confirmation(lang, &c, &key, fen, total, &body));
        }
        let (key, left) = s.models.top_up_key(&caller, &id, fen).await?;
        let shown = format!(
            r#"<p class="ok" role="status">{}</p>"#,
            esc(&format!(
                "{} {} {} {} {}",
                key.spec.name,
                lang.t("已充值", "topped up by"),
                lang.fen(fen),
                lang.t("，剩余", "; it has left"),
                lang.fen(left)
            ))
        );
        Ok::<_, ApiError>(Html(super::models::render(&s, lang, &c, &[], &shown, Kept::Nothing).await).into_response())
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => {
            let error = field_error(lang, &format!("topup-{}", esc(&id)), &e);
            let kept = Kept::TopUp { key: id, amount, error };
            (StatusCode::UNPROCESSABLE_ENTITY, Html(super::models::render(&s, lang, &c, &[], "", kept).await)).into_response()
        }
    }
}

/// A key as a confirmation names it: its name and the start of its secret.
fn key_facts(lang: Lang, key: &ModelKey) -> [(&'static str, String); 2] {
    [
        (lang.t("密钥", "Key"), format!(r#"<span class="user-text">{}</span>"#, esc(&key.spec.name))),
        (lang.t("前缀", "Prefix"), format!("<code>{}…</code>", esc(&key.prefix))),
    ]
}

/// The question before topping up a key: its budget now, the amount and the budget after.
fn top_up_confirmation(lang: Lang, c: &crate::auth::Caller, key: &ModelKey, amount: Fen, total: Fen, body: &str) -> Response {
    let [name, prefix] = key_facts(lang, key);
    let facts = [
        name,
        prefix,
        (lang.t("当前预算", "Budget now"), lang.fen(key.spec.budget)),
        (lang.t("充值金额", "Top-up"), format!(r#"<strong id="confirm-amount">{}</strong>"#, lang.fen(amount))),
        (lang.t("充值后预算", "Budget after"), lang.fen(total)),
    ];
    confirm::ask(
        lang,
        c,
        &confirm::Ask {
            title: lang.t("确认为此密钥充值？", "Top up this key?"),
            facts: &facts,
            outcome: lang.t(
                "确认后此密钥的预算立即增加该金额（调用仍按用量计费）；增加的预算不能撤回。",
                "The key's budget grows by this amount at once (calls are still billed as they are made); a top-up cannot be taken back.",
            ),
            action: &format!("/models/keys/{}/top-up", key.id),
            body,
            go: lang.t("确认充值", "Yes, top it up"),
            back: "/models#keys",
        },
    )
}

/// `POST /models/keys/{id}/rotate` (form): a tenant gives a key a new secret, shown once, after a confirmation.
pub async fn rotate_key(State(s): State<AppState>, Path(id): Path<String>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        if !confirm::confirmed(&body) {
            let key = s.models.check_rotate_key(&caller, &id).await?;
            return Ok(rotate_confirmation(lang, &c, &key, &body));
        }
        let (key, secret) = s.models.rotate_key(&caller, &id).await?;
        let shown =
            secret_notice(lang, lang.t("已更换密钥（旧密钥即刻失效）", "Rotated the key (the old secret no longer works)"), &key, &secret);
        Ok::<_, ApiError>(Html(super::models::render(&s, lang, &c, &[], &shown, Kept::Nothing).await).into_response())
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(super::models::render(&s, lang, &c, &[], &super::error_notice(lang, &e), Kept::Nothing).await),
        )
            .into_response(),
    }
}

/// The question before rotating a key: which key, and that its secret stops working.
fn rotate_confirmation(lang: Lang, c: &crate::auth::Caller, key: &ModelKey, body: &str) -> Response {
    confirm::ask(
        lang,
        c,
        &confirm::Ask {
            title: lang.t("确认更换此密钥？", "Rotate this key?"),
            facts: &key_facts(lang, key),
            outcome: lang.t(
                "确认后立即生成新密钥，只显示这一次；旧密钥立即失效，仍在使用它的程序会被拒绝。",
                "A new secret is made and shown only this once; the old secret stops working at once, and programs still using it are refused.",
            ),
            action: &format!("/models/keys/{}/rotate", key.id),
            body,
            go: lang.t("确认更换", "Yes, rotate it"),
            back: "/models#keys",
        },
    )
}

/// `POST /models/keys/{id}/revoke` (form): a key's tenant, or the operator, revokes it after a confirmation.
pub async fn revoke_key(State(s): State<AppState>, Path(id): Path<String>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let key = s.models.check_revoke_key(&caller, &id).await?;
        if !confirm::confirmed(&body) {
            return Ok(revoke_confirmation(lang, &c, &key, &body));
        }
        s.models.revoke_key(&caller, &id).await?;
        let shown = format!(
            r#"<p class="ok" role="status" id="revoked">{} <span class="user-text">{}</span></p>"#,
            lang.t("已吊销密钥", "Revoked the key"),
            esc(&key.spec.name)
        );
        Ok::<_, ApiError>(Html(super::models::render(&s, lang, &c, &[], &shown, Kept::Nothing).await).into_response())
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => {
            let status =
                if super::operate::code_of(&e) == ErrorCode::Forbidden { StatusCode::FORBIDDEN } else { StatusCode::UNPROCESSABLE_ENTITY };
            (status, Html(super::models::render(&s, lang, &c, &[], &super::error_notice(lang, &e), Kept::Nothing).await)).into_response()
        }
    }
}

/// The question before revoking a key: which key, and that calls with it are refused from now on.
fn revoke_confirmation(lang: Lang, c: &crate::auth::Caller, key: &ModelKey, body: &str) -> Response {
    confirm::ask(
        lang,
        c,
        &confirm::Ask {
            title: lang.t("确认吊销此密钥？", "Revoke this key?"),
            facts: &key_facts(lang, key),
            outcome: lang.t(
                "确认后此密钥立即失效，使用它的调用都会被拒绝；吊销不能撤销，预算中未用的部分不再可用。",
                "The key stops working at once and every call with it is refused; a revocation cannot be undone, and what its budget has left can no longer be spent.",
            ),
            action: &format!("/models/keys/{}/revoke", key.id),
            body,
            go: lang.t("确认吊销", "Yes, revoke it"),
            back: "/models#keys",
        },
    )
}

/// The keys section: the table (with top-up and rotation for the tenant's live keys), the
/// notice, then the form to make a key.
pub fn section(
    s: &AppState,
    lang: Lang,
    role: Role,
    keys: &[(ModelKey, Fen)],
    catalogue: &[CatalogueEntry],
    notice: &str,
    kept: &Kept,
) -> String {
    let tenant = role == Role::Tenant;
    let mut body = format!("<h2 id=\"keys\">{}</h2>", lang.t("模型密钥", "Model keys"));
    let mut cols = vec![
        lang.t("名称", "Name"),
        lang.t("前缀", "Prefix"),
        lang.t("预算", "Budget"),
        lang.t("剩余", "Left"),
        lang.t("可调用模型", "Models"),
        lang.t("每分钟请求 / 令牌", "Requests / tokens per minute"),
        lang.t("到期", "Expires"),
        lang.t("允许地区", "Regions allowed"),
        lang.t("备用模型", "Fallbacks"),
        lang.t("状态", "State"),
    ];
    let operator = role == Role::Operator;
    if tenant || operator {
        cols.push(lang.t("操作", "Actions"));
    }
    body.push_str(&thead(&cols));
    for (k, left) in keys {
        let limit = |n: u32| if n == 0 { lang.t("不限", "no limit").to_string() } else { n.to_string() };
        let list = |v: &[String], empty: &str| if v.is_empty() { empty.to_string() } else { esc(&v.join(", ")) };
        let _ = write!(
            body,
            "<tr><td><span class=\"user-text\">{}</span></td><td><code>{}…</code></td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            esc(&k.spec.name),
            esc(&k.prefix),
            lang.fen(k.spec.budget),
            lang.fen(*left),
            list(&k.spec.models, lang.t("全部", "all")),
            limit(k.spec.rpm),
            limit(k.spec.tpm),
            k.spec.expires_ms.map_or_else(|| lang.t("不到期", "never").to_string(), |t| esc(&labels::when(Some(t)))),
            if k.spec.regions.is_empty() {
                lang.t("不限", "anywhere").to_string()
            } else {
                esc(&k.spec.regions.iter().map(|r| labels::region_text(s, lang, r)).collect::<Vec<_>>().join(", "))
            },
            list(&k.spec.fallbacks, "-"),
            if k.revoked_ms.is_some() { lang.t("已吊销", "revoked") } else { lang.t("有效", "active") },
        );
        if tenant || operator {
            body.push_str("<td>");
            if k.revoked_ms.is_none() {
                if tenant {
                    body.push_str(&key_actions(lang, k, kept));
                }
                body.push_str(&revoke_form(lang, k));
            }
            body.push_str("</td>");
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table></div>");
    body.push_str(notice);
    if tenant {
        body.push_str(&key_form(s, lang, catalogue, kept));
    }
    body
}

/// A live key's top-up and rotation forms.
fn key_actions(lang: Lang, k: &ModelKey, kept: &Kept) -> String {
    let id = esc(&k.id);
    let (amount, error) = match kept {
        Kept::TopUp { key, amount, error } if *key == k.id => (esc(amount), error.as_str()),
        _ => (String::new(), ""),
    };
    let invalid = if error.is_empty() { String::new() } else { format!(r#" aria-invalid="true" aria-describedby="topup-{id}-error""#) };
    format!(
        r#"<form method="post" action="/models/keys/{id}/top-up"><label for="topup-{id}">{l} <span class="user-text">{name}</span></label><input id="topup-{id}" name="amount" required inputmode="decimal" placeholder="50.00" value="{amount}"{invalid}>{error}<button type="submit">{go}</button></form><form method="post" action="/models/keys/{id}/rotate"><button type="submit" aria-label="{rl} {name}">{r}</button></form>"#,
        l = lang.t("充值（元）", "Top up (yuan)"),
        go = lang.t("充值", "Top up"),
        r = lang.t("更换密钥", "Rotate"),
        rl = lang.t("更换密钥", "Rotate the secret of"),
        name = esc(&k.spec.name),
    )
}

/// A live key's revocation form (its tenant's and the operator's).
fn revoke_form(lang: Lang, k: &ModelKey) -> String {
    format!(
        r#"<form method="post" action="/models/keys/{id}/revoke"><button type="submit" class="danger" aria-label="{rl} {name}">{r}</button></form>"#,
        id = esc(&k.id),
        r = lang.t("吊销", "Revoke"),
        rl = lang.t("吊销密钥", "Revoke the key"),
        name = esc(&k.spec.name),
    )
}

/// The regions a key may be limited to: the city, and every region (with its wider ones, up to
/// the province) that a deployment runs in.
fn region_choices(s: &AppState, catalogue: &[CatalogueEntry]) -> Vec<String> {
    let mut out: Vec<String> = vec!["hangzhou".into()];
    for d in catalogue.iter().flat_map(|e| e.deployments.iter()) {
        for r in s.regions.ancestry(&d.region) {
            if matches!(
                r.kind,
                suanli_core::region::RegionKind::District
                    | suanli_core::region::RegionKind::City
                    | suanli_core::region::RegionKind::Province
            ) && !out.contains(&r.id)
            {
                out.push(r.id.clone());
            }
        }
    }
    // Widest first, then by id.
    let depth = |id: &String| s.regions.ancestry(id).count();
    out.sort_by(|a, b| depth(a).cmp(&depth(b)).then(a.cmp(b)));
    out
}

/// The form to make a key: every field of a key, the input kept and the error beside its field
/// when the last try was refused.
fn key_form(s: &AppState, lang: Lang, catalogue: &[CatalogueEntry], kept: &Kept) -> String {
    let (form, field, error) = match kept {
        Kept::Key { form, field, error } => (Some(form), *field, error.as_str()),
        _ => (None, "", ""),
    };
    let fresh = KeyForm { regions: vec!["hangzhou".into()], ..KeyForm::default() };
    let f = form.unwrap_or(&fresh);
    let marks = Marks { field, error };
    let (at, aria) = (|name: &str| marks.at(name), |name: &str| marks.aria(name));
    let mut out = format!(r#"<h3>{}</h3>"#, lang.t("新建模型密钥", "Make a model key"));
    if field.is_empty() {
        out.push_str(error);
    }
    let _ = write!(
        out,
        r#"<form method="post" action="/models/keys"><label for="key-name">{n}</label><input id="key-name" name="name" required maxlength="100" value="{vn}"{an}>{en}<label for="key-budget">{b}</label><input id="key-budget" name="budget" required inputmode="decimal" placeholder="200.00" value="{vb}"{ab}>{eb}"#,
        n = lang.t("名称", "Name"),
        b = lang.t("预算（元）", "Budget (yuan)"),
        vn = esc(&f.name),
        vb = esc(&f.budget),
        an = aria("name"),
        en = at("name"),
        ab = aria("budget"),
        eb = at("budget"),
    );
    out.push_str(&models_fieldset(lang, catalogue, f, &marks));
    let _ = write!(
        out,
        r#"<label for="key-rpm">{r}</label><input id="key-rpm" name="rpm" inputmode="numeric" placeholder="600" value="{vr}"{ar}>{er}<label for="key-tpm">{t}</label><input id="key-tpm" name="tpm" inputmode="numeric" placeholder="100000" value="{vt}"{at_}>{et}<label for="key-expires">{x}</label><input id="key-expires" name="expires" type="date" value="{vx}"{ax}>{ex}"#,
        r = lang.t("每分钟请求上限（空为不限）", "Requests per minute (empty: no limit)"),
        t = lang.t("每分钟令牌上限（空为不限）", "Tokens per minute (empty: no limit)"),
        x = lang.t("最后可用日（北京时间，空为不到期）", "Last day the key works (China Standard Time; empty: never)"),
        vr = esc(&f.rpm),
        vt = esc(&f.tpm),
        vx = esc(&f.expires),
        ar = aria("rpm"),
        er = at("rpm"),
        at_ = aria("tpm"),
        et = at("tpm"),
        ax = aria("expires"),
        ex = at("expires"),
    );
    out.push_str(&regions_fieldset(s, lang, catalogue, f, &marks));
    let _ = write!(
        out,
        r#"<label for="key-fallbacks">{l}</label><input id="key-fallbacks" name="fallbacks" maxlength="800" placeholder="{ph}" value="{v}"{a}>{e}<p><button type="submit">{go}</button></p></form><p>{cli}</p>"#,
        l = lang.t(
            "备用模型（按顺序，用逗号分隔；所选模型的部署都失败时改用）",
            "Fallback models, in order, separated by commas (used when every deployment of the asked model fails)"
        ),
        ph = esc(&catalogue.iter().take(2).map(|e| e.model.name.as_str()).collect::<Vec<_>>().join(", ")),
        v = esc(&f.fallbacks),
        a = aria("fallbacks"),
        e = at("fallbacks"),
        go = lang.t("新建密钥", "Make the key"),
        cli = lang.t(
            "也可用命令行：<code>suanli models keys create | topup | rotate | revoke</code>",
            "Or from the command line: <code>suanli models keys create | topup | rotate | revoke</code>"
        ),
    );
    out
}

/// Where a refused key form's error goes: beside `field`, or above the form when it names none.
struct Marks<'a> {
    field: &'a str,
    error: &'a str,
}

impl Marks<'_> {
    /// The error, if it belongs beside the field `name`.
    fn at(&self, name: &str) -> &str {
        if self.field == name && !self.error.is_empty() { self.error } else { "" }
    }

    /// The attributes that tie the field `name` to its error.
    fn aria(&self, name: &str) -> String {
        if self.field == name && !self.error.is_empty() {
            format!(r#" aria-invalid="true" aria-describedby="key-{name}-error""#)
        } else {
            String::new()
        }
    }
}

/// The models a key may call, one checkbox each (none ticked: all).
fn models_fieldset(lang: Lang, catalogue: &[CatalogueEntry], f: &KeyForm, marks: &Marks<'_>) -> String {
    let mut out = format!(
        r#"<fieldset id="key-models"{am}><legend>{l}</legend>"#,
        l = lang.t("可调用的模型（都不选为全部）", "Models the key may call (none ticked: all)"),
        am = marks.aria("models"),
    );
    for (i, e) in catalogue.iter().enumerate() {
        let name = esc(&e.model.name);
        let checked = if f.models.contains(&e.model.name) { " checked" } else { "" };
        let _ = write!(
            out,
            r#"<input type="checkbox" id="key-model-{i}" name="models" value="{name}"{checked}><label class="inline" for="key-model-{i}">{name}</label><br>"#
        );
    }
    let _ = write!(out, "{}</fieldset>", marks.at("models"));
    out
}

/// Where a key's calls may be processed, one checkbox per region with a deployment (none ticked: anywhere).
fn regions_fieldset(s: &AppState, lang: Lang, catalogue: &[CatalogueEntry], f: &KeyForm, marks: &Marks<'_>) -> String {
    let mut out = format!(
        r#"<fieldset id="key-regions"{ar}><legend>{l}</legend>"#,
        l = lang.t(
            "数据处理地区（都不选为不限；选杭州即数据不出域）",
            "Where calls may be processed (none ticked: anywhere; Hangzhou keeps data in the city)"
        ),
        ar = marks.aria("regions"),
    );
    for r in region_choices(s, catalogue) {
        let checked = if f.regions.contains(&r) { " checked" } else { "" };
        let _ = write!(
            out,
            r#"<input type="checkbox" id="key-region-{id}" name="regions" value="{id}"{checked}><label class="inline" for="key-region-{id}">{label}</label><br>"#,
            id = esc(&r),
            label = esc(&labels::region_text(s, lang, &r)),
        );
    }
    let _ = write!(out, "{}</fieldset>", marks.at("regions"));
    out
}
