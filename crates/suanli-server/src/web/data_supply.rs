//! The supply side of the data pages: a supplier lists a data set (`/data`) and uploads or replaces its content as a file (`/data/sets/{id}`); the operator admits a provider as a data supplier for domains or suspends it (after a confirmation), and sets a grade's de-identification policy for an opening, the policy in force (the built-in one until configured) as the form's starting point. Every rule is in `suanli_app::data`.

use super::operate::{Kept, code_of, field_error, fields};
use super::{Lang, confirm, error_notice, esc, gate, labels};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use std::fmt::Write;
use suanli_app::data::{Listing, UPDATE_FREQUENCIES};
use suanli_core::ErrorCode;
use suanli_core::id::ProviderId;
use suanli_data::catalogue::{self as cat, DataSet, SupplierStatus};
use suanli_data::{Encoding, Grade, Kind, OpeningMode, Operator, Policy};

const GRADES: [&str; 6] = ["core", "important", "general-1", "general-2", "general-3", "general-4"];
const MODES: [OpeningMode; 3] = [OpeningMode::Conditional, OpeningMode::Unconditional, OpeningMode::NotOpen];
const OPERATORS: [Operator; 6] =
    [Operator::Keep, Operator::Mask, Operator::Pseudonym, Operator::Generalise, Operator::Suppress, Operator::Redact];

/// An opening mode's code (as forms post it).
pub(super) fn mode_code(m: OpeningMode) -> &'static str {
    crate::api::data::mode_str(m)
}

fn option(value: &str, label: &str, chosen: &str) -> String {
    format!(r#"<option value="{}"{}>{}</option>"#, esc(value), if value == chosen { " selected" } else { "" }, esc(label))
}

/// An update frequency in words.
pub(super) fn frequency(lang: Lang, code: &str) -> String {
    let (zh, en) = match code {
        "once" => ("一次性", "once"),
        "realtime" => ("实时", "real time"),
        "daily" => ("每日", "daily"),
        "weekly" => ("每周", "weekly"),
        "monthly" => ("每月", "monthly"),
        "quarterly" => ("每季度", "quarterly"),
        "yearly" => ("每年", "yearly"),
        other => return esc(other),
    };
    lang.t(zh, en).to_string()
}

/// A data set's update frequency in words.
pub(super) fn frequency_of(lang: Lang, f: cat::UpdateFrequency) -> String {
    let code = serde_json::to_value(f).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
    frequency(lang, &code)
}

/// A de-identification operator in words.
pub(super) fn operator(lang: Lang, o: Operator) -> &'static str {
    match o {
        Operator::Keep => lang.t("保留原值", "keep as it is"),
        Operator::Mask => lang.t("部分遮盖", "mask"),
        Operator::Pseudonym => lang.t("假名化（按使用方加密散列）", "pseudonym (keyed per consumer)"),
        Operator::Generalise => lang.t("泛化（取较粗的值）", "generalise"),
        Operator::Suppress => lang.t("删除", "suppress"),
        Operator::Redact => lang.t("替换为类别名", "redact to its kind"),
    }
}

// ----- listing a data set -----

/// The supplier's listing form (on `/data`).
pub(super) fn listing_form(lang: Lang, kept: &Kept) -> String {
    let v = |f: &str| kept.value("listing", f);
    let at = |f: &str, id: &str| (kept.invalid("listing", f, id), kept.error("listing", f).to_string());
    let input = |f: &str, label: &str, extra: &str| {
        let id = format!("listing-{f}");
        let (inv, err) = at(f, &id);
        format!(r#"<label for="{id}">{label}</label><input id="{id}" name="{f}"{extra} value="{}"{inv}>{err}"#, v(f))
    };
    let select = |f: &str, label: &str, options: String| {
        let id = format!("listing-{f}");
        let (inv, err) = at(f, &id);
        format!(r#"<label for="{id}">{label}</label><select id="{id}" name="{f}"{inv}>{options}</select>{err}"#)
    };
    let chosen = |f: &str, default: &str| if kept.is("listing") { v(f) } else { default.to_string() };
    let domains: String = cat::DOMAINS.iter().map(|&(code, zh, en)| option(code, lang.t(zh, en), &v("domain"))).collect();
    let modes: String =
        MODES.iter().map(|m| option(mode_code(*m), labels::opening_mode(lang, *m), &chosen("mode", "conditional"))).collect();
    let grades: String = GRADES
        .iter()
        .filter_map(|g| Grade::parse(g).ok().map(|x| option(g, &labels::data_grade(lang, x), &chosen("grade", "general-1"))))
        .collect();
    let freqs: String = UPDATE_FREQUENCIES.iter().map(|f| option(f, &frequency(lang, f), &chosen("update_frequency", "monthly"))).collect();
    format!(
        r#"<h2 id="listing">{h}</h2><p>{p}</p><form method="post" action="/data/sets" id="listing-form">{name}{title}{title_en}{desc}{domain}{mode}{grade}{licence}{freq}{price}{quasi}<p><button type="submit" id="list-set">{b}</button></p></form>"#,
        h = lang.t("登记数据集", "List a data set"),
        p = lang.t(
            "已遴选的数据供应方可在其领域内登记数据集；登记后在数据集页面上传内容，上传后即可被申请。",
            "An admitted supplier lists a data set in one of its domains, then uploads its content on the set's page; it can be requested once uploaded."
        ),
        name = input("name", lang.t("编号（小写字母、数字和连字符）", "Name (lowercase letters, digits and hyphens)"), r#" required maxlength="64""#),
        title = input("title", lang.t("标题", "Title"), r#" required maxlength="200""#),
        title_en = input("title_en", lang.t("英文标题（可选）", "English title (optional)"), r#" maxlength="200""#),
        desc = input("description", lang.t("说明（可选）", "Description (optional)"), r#" maxlength="4000""#),
        domain = select("domain", lang.t("领域", "Domain"), domains),
        mode = select("mode", lang.t("开放方式", "Opening"), modes),
        grade = select("grade", lang.t("分级（GB/T 43697）", "Grade (GB/T 43697)"), grades),
        licence = input("licence", lang.t("许可", "Licence"), r#" required maxlength="200""#),
        freq = select("update_frequency", lang.t("更新频率", "Updated"), freqs),
        price = input("price", lang.t("每次交付费用（元）", "Fee per delivery (yuan)"), r#" required inputmode="decimal""#),
        quasi = input(
            "quasi",
            lang.t("准标识符列（逗号分隔，可选）", "Quasi-identifier columns (comma-separated, optional)"),
            r#" maxlength="1000""#
        ),
        b = lang.t("登记", "List it"),
    )
}

/// The listing's field a refusal is about.
fn listing_field(e: &ApiError) -> &'static str {
    let ApiError::Domain(d) = e else { return "name" };
    let m = d.message.as_str();
    match d.code {
        ErrorCode::DataSetExists => "name",
        ErrorCode::SupplierNotAdmitted => "domain",
        ErrorCode::InvalidAmount => "price",
        _ if m.contains("the name") => "name",
        _ if m.contains("English title") || m.contains("description") => "description",
        _ if m.contains("title") => "title",
        _ if m.contains("licence") => "licence",
        _ if m.contains("domain") => "domain",
        _ if m.contains("opening mode") => "mode",
        _ if m.contains("grade") => "grade",
        _ if m.contains("update frequency") => "update_frequency",
        _ if m.contains("price") => "price",
        _ if m.contains("quasi") => "quasi",
        _ => "name",
    }
}

/// `POST /data/sets` (form): a supplier lists a data set, then goes to its page to upload the content.
pub async fn register_set(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &super::LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f = fields(&body);
    let get = |k: &str| f.get(k).map_or(String::new(), |v| v.trim().to_string());
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let listing = Listing {
            name: get("name"),
            title: get("title"),
            title_en: Some(get("title_en")).filter(|t| !t.is_empty()),
            description: get("description"),
            domain: get("domain"),
            mode: get("mode"),
            grade: get("grade"),
            licence: get("licence"),
            update_frequency: get("update_frequency"),
            price: get("price"),
            quasi: get("quasi").split([',', '，', '、']).map(str::trim).filter(|q| !q.is_empty()).map(String::from).collect(),
        };
        Ok::<_, ApiError>(s.data.register(&caller, listing.spec()?).await?)
    }
    .await;
    match result {
        Ok(d) => Redirect::to(&format!("/data/sets/{}?done=listed#upload", esc(&d.spec.name))).into_response(),
        Err(e) => {
            let field = listing_field(&e);
            let kept = Kept::new("listing", &body, field, field_error(lang, &e, &format!("listing-{field}")));
            super::data::refused(&s, lang, &c, &e, kept).await
        }
    }
}

// ----- uploading its content -----

/// The supplier's upload form on its set's page.
pub(super) fn upload_form(lang: Lang, d: &DataSet, kept: &Kept) -> String {
    let formats = [
        ("csv", lang.t("CSV（首行为表头）", "CSV (a header row first)")),
        ("jsonl", lang.t("JSON Lines（每行一个对象）", "JSON Lines (an object a line)")),
    ];
    let encodings = [("utf-8", "UTF-8"), ("gbk", "GBK"), ("gb18030", "GB18030")];
    let chosen_format = if kept.is("upload") { kept.value("upload", "format") } else { d.format.clone().unwrap_or_else(|| "csv".into()) };
    let f: String = formats.iter().map(|(v, l)| option(v, l, &chosen_format)).collect();
    let e: String = encodings.iter().map(|(v, l)| option(v, l, &kept.value("upload", "encoding"))).collect();
    format!(
        r#"<h2 id="upload">{h}</h2><p>{p}</p><form method="post" action="/data/sets/{name}/content" enctype="multipart/form-data" id="upload-form"><label for="upload-file">{fl}</label><input id="upload-file" name="file" type="file" required accept=".csv,.jsonl,.ndjson,text/csv"{fi}>{fe}<label for="upload-format">{ml}</label><select id="upload-format" name="format">{f}</select><label for="upload-encoding">{el}</label><select id="upload-encoding" name="encoding"{ei}>{e}</select>{ee}<p><button type="submit" id="upload-content">{b}</button></p></form>"#,
        h = if d.rows > 0 { lang.t("替换内容", "Replace the content") } else { lang.t("上传内容", "Upload the content") },
        p = lang.t(
            "整份文件读取：任何一行格式错误都会整体拒收并指出行号；已有内容将被替换。上传后按分级策略生成脱敏预览。",
            "The file is read whole: if any row is malformed it is refused whole, naming the rows; any earlier content is replaced. A de-identified preview is made under the grade's policy."
        ),
        name = esc(&d.spec.name),
        fl = lang.t("文件", "File"),
        fi = kept.invalid("upload", "file", "upload-file"),
        fe = kept.error("upload", "file"),
        ml = lang.t("格式", "Format"),
        el = lang.t("编码", "Encoding"),
        ei = kept.invalid("upload", "encoding", "upload-encoding"),
        ee = kept.error("upload", "encoding"),
        b = lang.t("上传", "Upload"),
    )
}

/// A refused upload in the page's language: in Chinese the error's title and the rows it names.
fn upload_error(lang: Lang, e: &ApiError) -> String {
    let lines: Vec<&str> = match e {
        ApiError::Domain(d) if lang == Lang::Zh && d.code == ErrorCode::MalformedData => d
            .message
            .split("line ")
            .skip(1)
            .filter_map(|x| x.split(|c: char| !c.is_ascii_digit()).next().filter(|n| !n.is_empty()))
            .collect(),
        _ => Vec::new(),
    };
    let notice = field_error(lang, e, "upload-file");
    if lines.is_empty() {
        return notice;
    }
    notice.replacen("</p>", &format!("：第 {} 行</p>", lines.join("、")), 1)
}

/// `POST /data/sets/{id}/content` (a form with a file): the supplier uploads or replaces the set's content.
pub async fn upload(State(s): State<AppState>, Path(id): Path<String>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let (lang, _, c) = match gate(&s, &super::LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let parts = super::upload::boundary(&headers).and_then(|b| super::upload::parts(&body, &b)).unwrap_or_default();
    let (format, encoding) = (super::upload::field(&parts, "format"), super::upload::field(&parts, "encoding"));
    let mut field = "file";
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let file =
            super::upload::file(&parts, "file").ok_or_else(|| ApiError::new(ErrorCode::InvalidDataSet, "choose the data set's file"))?;
        let fmt = cat::parse_format(if format.is_empty() { "csv" } else { &format })?;
        field = "encoding";
        let enc = Encoding::parse(if encoding.is_empty() { "utf-8" } else { &encoding }).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidDataSet, format!("'{encoding}' is not an encoding: use utf-8, gbk or gb18030"))
        })?;
        field = "file";
        Ok::<_, ApiError>(s.data.upload(&caller, &id, file.body.clone(), fmt, enc).await?)
    }
    .await;
    match result {
        Ok(d) => Redirect::to(&format!("/data/sets/{}?done=uploaded", esc(&d.spec.name))).into_response(),
        Err(e) => {
            let error = if field == "file" { upload_error(lang, &e) } else { field_error(lang, &e, "upload-encoding") };
            let typed = serde_urlencoded::to_string([("format", &format), ("encoding", &encoding)]).unwrap_or_default();
            let kept = Kept::new("upload", &typed, field, error);
            match s.data.data_set(&id).await {
                Ok(d) => super::data::refused_set(&s, lang, &c, &d, &e, kept).await,
                Err(_) => super::data::refused(&s, lang, &c, &e, Kept::default()).await,
            }
        }
    }
}

// ----- admitting suppliers -----

/// The operator's form to admit a provider as a data supplier for domains, or suspend it.
pub(super) async fn supplier_form(s: &AppState, lang: Lang, kept: &Kept) -> String {
    let chosen = kept.value("supplier", "provider");
    let mut providers = String::new();
    for p in s.store.providers().await.unwrap_or_default() {
        providers.push_str(&option(p.id.as_str(), lang.name(&p.name, &p.name_en), &chosen));
    }
    let status = if kept.is("supplier") { kept.value("supplier", "status") } else { "admitted".into() };
    let statuses = option("admitted", lang.t("遴选为供应方", "admit"), &status) + &option("suspended", lang.t("暂停", "suspend"), &status);
    let picked: Vec<String> = kept.value("supplier", "domains").split(',').map(String::from).collect();
    let mut domains = String::new();
    for (i, &(code, zh, en)) in cat::DOMAINS.iter().enumerate() {
        let on = if picked.iter().any(|p| p == code) { " checked" } else { "" };
        let _ = write!(
            domains,
            r#"<input type="checkbox" id="supplier-domain-{i}" name="domain" value="{code}"{on}><label class="inline" for="supplier-domain-{i}">{}</label> "#,
            lang.t(zh, en)
        );
    }
    format!(
        r#"<h3>{h}</h3><form method="post" action="/data/suppliers" id="supplier-form"><label for="supplier-provider">{pl}</label><select id="supplier-provider" name="provider"{pi}>{providers}</select>{pe}<label for="supplier-status">{sl}</label><select id="supplier-status" name="status">{statuses}</select><fieldset id="supplier-domains"{di}><legend>{dl}</legend>{domains}</fieldset>{de}<label for="supplier-reason">{rl}</label><input id="supplier-reason" name="reason" required maxlength="500" value="{rv}"{ri}>{re}<p><button type="submit" id="set-supplier">{b}</button></p></form>"#,
        h = lang.t("遴选或暂停供应方", "Admit or suspend a supplier"),
        pl = lang.t("服务商", "Provider"),
        pi = kept.invalid("supplier", "provider", "supplier-provider"),
        pe = kept.error("supplier", "provider"),
        sl = lang.t("决定", "Decision"),
        dl = lang.t("开放领域（遴选时至少一个）", "Domains (at least one to admit)"),
        di = kept.invalid("supplier", "domains", "supplier-domains"),
        de = kept.error("supplier", "domains"),
        rl = lang.t("理由", "Reason"),
        rv = kept.value("supplier", "reason"),
        ri = kept.invalid("supplier", "reason", "supplier-reason"),
        re = kept.error("supplier", "reason"),
        b = lang.t("下一步：确认", "Next: confirm"),
    )
}

/// `POST /data/suppliers` (form): the operator admits or suspends a supplier, after a confirmation.
pub async fn set_supplier(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &super::LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(&body).unwrap_or_default();
    let get = |k: &str| pairs.iter().rev().find(|(n, _)| n == k).map_or(String::new(), |(_, v)| v.trim().to_string());
    let domains: Vec<String> = pairs.iter().filter(|(k, _)| k == "domain").map(|(_, v)| v.clone()).collect();
    let mut field = "provider";
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let provider = ProviderId::parse(&get("provider"))?;
        field = "reason";
        let status = SupplierStatus::parse(&get("status"))
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidBody, "the decision is to admit or to suspend"))?;
        if !confirm::confirmed(&body) {
            s.data.check_supplier(&caller, &provider, status, &domains, &get("reason")).await.map_err(|e| {
                let e = ApiError::from(e);
                field = supplier_field(&e);
                e
            })?;
            return Ok(Some(supplier_confirmation(&s, lang, &c, &provider, status, &domains, &get("reason"), &body).await));
        }
        s.data.set_supplier(&caller, &provider, status, domains.clone(), get("reason")).await.map_err(|e| {
            let e = ApiError::from(e);
            field = supplier_field(&e);
            e
        })?;
        Ok::<_, ApiError>(None)
    }
    .await;
    match result {
        Ok(Some(ask)) => ask,
        Ok(None) => Redirect::to("/data?done=supplier#suppliers").into_response(),
        Err(e) => {
            let mut typed: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "domain").cloned().collect();
            typed.push(("domains".into(), domains.join(",")));
            let typed = serde_urlencoded::to_string(&typed).unwrap_or_default();
            let id = if field == "domains" { "supplier-domains".to_string() } else { format!("supplier-{field}") };
            super::data::refused(&s, lang, &c, &e, Kept::new("supplier", &typed, field, field_error(lang, &e, &id))).await
        }
    }
}

/// The supplier form's field a refusal is about.
fn supplier_field(e: &ApiError) -> &'static str {
    match e {
        ApiError::Domain(d) if d.code == ErrorCode::ProviderNotFound || d.code == ErrorCode::Forbidden => "provider",
        ApiError::Domain(d) if d.message.contains("domain") => "domains",
        _ => "reason",
    }
}

/// The question before admitting or suspending a supplier.
#[allow(clippy::too_many_arguments)]
async fn supplier_confirmation(
    s: &AppState,
    lang: Lang,
    c: &Caller,
    provider: &ProviderId,
    status: SupplierStatus,
    domains: &[String],
    reason: &str,
    body: &str,
) -> Response {
    let name = s
        .store
        .provider(provider)
        .await
        .ok()
        .flatten()
        .map_or_else(|| provider.to_string(), |p| lang.name(&p.name, &p.name_en).to_string());
    let now = s.data.suppliers().await.unwrap_or_default().into_iter().find(|x| &x.provider_id == provider);
    let state = |st: Option<SupplierStatus>| match st {
        Some(SupplierStatus::Admitted) => lang.t("已遴选", "admitted"),
        Some(SupplierStatus::Suspended) => lang.t("已暂停", "suspended"),
        None => lang.t("尚未遴选", "not a supplier yet"),
    };
    let admit = status == SupplierStatus::Admitted;
    let facts = [
        (lang.t("服务商", "Provider"), format!(r#"<span class="user-text">{}</span>"#, esc(&name))),
        (lang.t("当前状态", "Status now"), state(now.as_ref().map(|x| x.status)).to_string()),
        (lang.t("改为", "Changed to"), format!(r#"<strong id="confirm-supplier">{}</strong>"#, state(Some(status)))),
        (
            lang.t("领域", "Domains"),
            if domains.is_empty() {
                "-".into()
            } else {
                esc(&domains.iter().map(|d| labels::data_domain(lang, d)).collect::<Vec<_>>().join("、"))
            },
        ),
        (lang.t("理由", "Reason"), format!(r#"<span class="user-text">{}</span>"#, esc(reason))),
    ];
    confirm::ask(
        lang,
        c,
        &confirm::Ask {
            title: if admit {
                lang.t("确认遴选该供应方？", "Admit this data supplier?")
            } else {
                lang.t("确认暂停该供应方？", "Suspend this data supplier?")
            },
            facts: &facts,
            outcome: if admit {
                lang.t(
                    "确认后该服务商可在所选领域登记数据集，并记入审计。",
                    "Once confirmed the provider may list data sets in these domains; the decision is audited.",
                )
            } else {
                lang.t(
                    "确认后该服务商不能再登记数据集，已登记的数据集不再交付，并记入审计。",
                    "Once confirmed the provider may list no more data sets and its sets are no longer delivered; the decision is audited.",
                )
            },
            action: "/data/suppliers",
            body,
            go: if admit { lang.t("确认遴选", "Yes, admit it") } else { lang.t("确认暂停", "Yes, suspend it") },
            back: "/data#suppliers",
        },
    )
}

// ----- policies -----

/// A grade and opening as the policy form names them (`general-2.conditional`).
pub(super) fn policy_key(p: &Policy) -> String {
    format!("{}.{}", p.grade.label(), mode_code(p.mode))
}

/// The operator's policies: each deliverable grade and opening (configured or built in), and the
/// form for the chosen one (`which`, else the first), its current policy as the starting point.
pub(super) async fn policies_section(s: &AppState, lang: Lang, which: Option<&str>, kept: &Kept) -> String {
    let all = s.data.policies().await.unwrap_or_default();
    let mut out = format!("<h2 id=\"policies\">{}</h2>", lang.t("脱敏策略", "De-identification policies"));
    out.push_str(&super::thead_id(
        "policies-table",
        &[
            lang.t("分级", "Grade"),
            lang.t("开放方式", "Opening"),
            lang.t("来源", "Source"),
            lang.t("k 匿名", "k-anonymity"),
            lang.t("修改", "Change"),
        ],
    ));
    for (p, configured) in &all {
        let _ = write!(
            out,
            r##"<tr data-policy="{key}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href="/data?policy={key}#policy-form">{}</a></td></tr>"##,
            esc(&labels::data_grade(lang, p.grade)),
            labels::opening_mode(lang, p.mode),
            if *configured { lang.t("平台配置", "configured") } else { lang.t("内置", "built in") },
            p.k.map_or("-".to_string(), |k| k.to_string()),
            lang.t("修改", "Change"),
            key = esc(&policy_key(p)),
        );
    }
    out.push_str("</tbody></table></div>");
    let chosen = if kept.is("policy") { Some(kept.value("policy", "which")) } else { which.map(String::from) };
    let Some((p, configured)) = all.iter().find(|(p, _)| Some(policy_key(p)) == chosen).or(all.first()) else { return out };
    out.push_str(&policy_form(lang, p, *configured, kept));
    out
}

fn policy_form(lang: Lang, p: &Policy, configured: bool, kept: &Kept) -> String {
    let builtin = Policy::for_grade(p.grade, p.mode).ok();
    let is_kept = kept.is("policy");
    let mut rows = String::new();
    for kind in Kind::ALL {
        let now = p.actions.get(&kind).map_or("", |o| o.as_str());
        let chosen = if is_kept { kept.value("policy", kind.as_str()) } else { now.to_string() };
        let options: String = OPERATORS.iter().map(|o| option(o.as_str(), operator(lang, *o), &chosen)).collect();
        let base = builtin.as_ref().and_then(|b| b.actions.get(&kind)).map_or("-", |o| operator(lang, *o));
        let id = format!("policy-{}", kind.as_str());
        let _ = write!(
            rows,
            r#"<tr><th scope="row"><label for="{id}">{}</label></th><td><select id="{id}" name="{k}">{options}</select></td><td>{base}</td></tr>"#,
            esc(&labels::column_kind(lang, Some(kind))),
            k = kind.as_str(),
        );
    }
    let (k, share) = if is_kept {
        (kept.value("policy", "k"), kept.value("policy", "max_suppressed_share"))
    } else {
        (p.k.map_or(String::new(), |k| k.to_string()), format!("{}", p.max_suppressed_share))
    };
    format!(
        r#"<h3 id="policy-form">{h}：{grade} · {mode}</h3><p>{src}</p><form method="post" action="/data/policies" id="policy-edit"><input type="hidden" name="which" value="{which}"><div class='scroll'><table id="policy-actions"><thead><tr><th scope="col">{c1}</th><th scope="col">{c2}</th><th scope="col">{c3}</th></tr></thead><tbody>{rows}</tbody></table></div>{ae}<label for="policy-k">{kl}</label><input id="policy-k" name="k" inputmode="numeric" value="{k}"{ki}>{ke}<label for="policy-share">{sl}</label><input id="policy-share" name="max_suppressed_share" inputmode="decimal" required value="{share}"{si}>{se}<p><button type="submit" id="save-policy">{b}</button></p></form>"#,
        h = lang.t("修改策略", "Change the policy"),
        grade = esc(&labels::data_grade(lang, p.grade)),
        mode = labels::opening_mode(lang, p.mode),
        src = if configured {
            lang.t(
                "当前为平台配置的策略；右列为内置策略，可作对照。",
                "This is the operator's configured policy; the right-hand column is the built-in one, for comparison.",
            )
        } else {
            lang.t("当前为内置策略，以此为起点修改。", "This is the built-in policy: change it from here.")
        },
        which = esc(&policy_key(p)),
        c1 = lang.t("个人信息类型", "Kind of personal data"),
        c2 = lang.t("处理方式", "What is done"),
        c3 = lang.t("内置策略", "Built in"),
        ae = kept.error("policy", "actions"),
        kl = lang.t("k 匿名的 k（留空表示不做 k 匿名）", "k of k-anonymity (empty for none)"),
        ki = kept.invalid("policy", "k", "policy-k"),
        ke = kept.error("policy", "k"),
        sl = lang.t("为达到 k 最多删除的行比例（0 到 1）", "Most rows suppressed to reach k (a share, 0 to 1)"),
        si = kept.invalid("policy", "max_suppressed_share", "policy-share"),
        se = kept.error("policy", "max_suppressed_share"),
        b = lang.t("保存策略", "Save the policy"),
    )
}

/// `POST /data/policies` (form): the operator sets a grade's policy for an opening.
pub async fn set_policy(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &super::LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f = fields(&body);
    let which = f.get("which").cloned().unwrap_or_default();
    let mut field = "actions";
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let (grade, mode) = which.split_once('.').unwrap_or((&which, ""));
        let bad = |why: String| ApiError::new(ErrorCode::InvalidDataPolicy, why);
        let grade = Grade::parse(grade).map_err(|e| bad(e.to_string()))?;
        let mode = OpeningMode::parse(mode).map_err(|e| bad(e.to_string()))?;
        let mut actions = std::collections::BTreeMap::new();
        for kind in Kind::ALL {
            let code = f.get(kind.as_str()).map_or("", String::as_str);
            let op = OPERATORS
                .iter()
                .find(|o| o.as_str() == code)
                .ok_or_else(|| bad(format!("'{code}' is not an operator for {}", kind.as_str())))?;
            actions.insert(kind, *op);
        }
        field = "k";
        let k = match f.get("k").map(|k| k.trim()).filter(|k| !k.is_empty()) {
            Some(k) => Some(k.parse::<usize>().map_err(|_| bad(format!("k '{k}' is not a whole number")))?),
            None => None,
        };
        field = "max_suppressed_share";
        let share = f.get("max_suppressed_share").map_or("", |x| x.trim());
        let max_suppressed_share = share.parse::<f64>().map_err(|_| bad(format!("the share '{share}' is not a number")))?;
        field = "actions";
        s.data.set_policy(&caller, Policy { grade, mode, actions, k, max_suppressed_share }).await.map_err(|e| {
            let e = ApiError::from(e);
            if let ApiError::Domain(d) = &e {
                field = if d.message.contains("share") {
                    "max_suppressed_share"
                } else if d.message.contains(" k ") || d.message.starts_with("k ") {
                    "k"
                } else {
                    "actions"
                };
            }
            e
        })?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/data?done=policy&policy={}#policy-form", esc(&which))).into_response(),
        Err(e) => {
            let id = match field {
                "k" => "policy-k",
                "max_suppressed_share" => "policy-share",
                _ => "save-policy",
            };
            super::data::refused(&s, lang, &c, &e, Kept::new("policy", &body, field, field_error(lang, &e, id))).await
        }
    }
}

/// A page again after a refused form: 403 with the error at the top for a role that may not,
/// else 422 with the form kept.
pub(super) fn refused_status(lang: Lang, e: &ApiError, kept: Kept) -> (StatusCode, String, Kept) {
    if code_of(e) == ErrorCode::Forbidden {
        (StatusCode::FORBIDDEN, error_notice(lang, e), Kept::default())
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, String::new(), kept)
    }
}
