//! The registry page: the operator registers compute providers, tenant enterprises, users, centres and pools in the browser, a provider its own centres and pools; each form posts to the registry service (the rules the API uses), and a refused form comes back with its error beside the field and what was typed kept.

use super::form::{Field, FormAt, Input, number, text};
use super::operate::{Kept, code_of, field_error, fields};
use super::*;
use crate::error::ApiError;
use std::collections::HashMap;
use suanli_app::registry::{CentreSpec, PoolSpec, ProviderSpec, TenantSpec, UserSpec};
use suanli_core::ErrorCode;
use suanli_core::centre::{CentreKind, PartnerStatus};
use suanli_core::id::CentreId;
use suanli_core::tenant::Role;

/// One form of the page, posting to `/registry/{form}`.
fn form_html(form: &str, title: &str, fields: &[Field], button: &str, kept: &Kept) -> String {
    let action = format!("/registry/{form}");
    super::form::form_html(&FormAt { form, action: &action, id: &format!("register-{form}") }, title, fields, button, kept)
}

fn regions(s: &AppState, lang: Lang) -> Vec<(String, String)> {
    s.regions.all().iter().map(|r| (r.id.clone(), lang.name(&r.name_zh, &r.name_en).to_string())).collect()
}

fn kinds(lang: Lang) -> Vec<(String, String)> {
    [CentreKind::IntelligentComputing, CentreKind::Cloud, CentreKind::Edge]
        .into_iter()
        .map(|k| (k.as_str().to_string(), labels::centre_kind(lang, k)))
        .collect()
}

async fn providers(s: &AppState, lang: Lang) -> Vec<(String, String)> {
    s.store
        .providers()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.id.to_string(), lang.name(&p.name, &p.name_en).to_string()))
        .collect()
}

/// The centres a caller may add pools to: all for the operator, its own for a provider.
pub(super) async fn own_centres(s: &AppState, lang: Lang, c: &Caller) -> Vec<(String, String)> {
    let mine = |p: &suanli_core::id::ProviderId| c.role() == Role::Operator || c.0.provider_id.as_ref() == Some(p);
    s.store
        .centres(None)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|x| mine(&x.provider_id))
        .map(|x| (x.id.to_string(), lang.name(&x.name, &x.name_en).to_string()))
        .collect()
}

/// The page's forms for this caller, with `notice` (a success, or a token shown once) on top.
async fn render(s: &AppState, lang: Lang, c: &Caller, notice: &str, kept: &Kept) -> String {
    let title = lang.t("登记", "Registry");
    let operator = c.role() == Role::Operator;
    let mut body = format!(
        "<h1>{title}</h1>{notice}<p>{}</p>",
        lang.t(
            "在此登记算力提供方、企业、用户、算力中心和资源池；规则与接口相同，每次登记都记入审计日志。",
            "Register compute providers, enterprises, users, centres and pools here; the rules are the API's, and every entry is audited.",
        )
    );
    // The providers to choose from (the user and centre forms), read once.
    let all_providers = if operator { providers(s, lang).await } else { Vec::new() };
    if operator {
        body.push_str(&enterprise_forms(s, lang, kept));
        body.push_str(&user_form(s, lang, &all_providers, kept).await);
    }
    body.push_str(&centre_form(s, lang, operator.then_some(all_providers), kept));
    body.push_str(&pool_form(s, lang, c, kept).await);
    page(lang, title, Some(c), &body)
}

/// The operator's forms for a new compute provider and a new enterprise (tenant).
fn enterprise_forms(s: &AppState, lang: Lang, kept: &Kept) -> String {
    let name = |zh: &'static str, en: &'static str| lang.t(zh, en).to_string();
    let mut body = String::new();
    // A provider's credit code is optional (registered later, for incentives); a tenant's is required.
    for (form, title, button, uscc_required) in [
        ("providers", lang.t("新增算力提供方", "New compute provider"), lang.t("登记提供方", "Register the provider"), false),
        ("tenants", lang.t("新增企业（租户）", "New enterprise (tenant)"), lang.t("登记企业", "Register the enterprise"), true),
    ] {
        let uscc = if uscc_required {
            name("统一社会信用代码", "Unified social credit code")
        } else {
            name("统一社会信用代码（可选）", "Unified social credit code (optional)")
        };
        let fields = [
            text("name", name("名称（中文）", "Name (Chinese)"), true),
            text("name_en", name("名称（英文）", "Name (English)"), false),
            text("uscc", uscc, uscc_required),
            Field { name: "region", label: name("注册地", "Registered in"), input: Input::Choice(regions(s, lang)) },
            Field { name: "sme", label: name("中小企业", "Small or medium enterprise"), input: Input::Check },
        ];
        body.push_str(&form_html(form, title, &fields, button, kept));
    }
    body
}

/// The operator's form for a new user: its role and the enterprise or provider it acts for.
async fn user_form(s: &AppState, lang: Lang, all_providers: &[(String, String)], kept: &Kept) -> String {
    let name = |zh: &'static str, en: &'static str| lang.t(zh, en).to_string();
    let roles = [Role::Tenant, Role::Provider, Role::Operator, Role::Regulator]
        .into_iter()
        .map(|r| (r.as_str().to_string(), labels::role(lang, r).to_string()))
        .collect();
    let mut tenants = vec![(String::new(), name("（无）", "(none)"))];
    tenants.extend(
        s.store.tenants().await.unwrap_or_default().into_iter().map(|t| (t.id.to_string(), lang.name(&t.name, &t.name_en).to_string())),
    );
    let mut provs = vec![(String::new(), name("（无）", "(none)"))];
    provs.extend(all_providers.iter().cloned());
    let user = [
        text("name", name("姓名", "Name"), true),
        Field { name: "role", label: name("角色", "Role"), input: Input::Choice(roles) },
        Field {
            name: "tenant_id", label: name("所属企业（企业用户）", "Enterprise (for a tenant user)"), input: Input::Choice(tenants)
        },
        Field {
            name: "provider_id",
            label: name("所属提供方（提供方用户）", "Provider (for a provider user)"),
            input: Input::Choice(provs),
        },
    ];
    form_html("users", lang.t("新增用户", "New user"), &user, lang.t("创建用户并生成令牌", "Create the user and its token"), kept)
}

/// The form for a new centre; the operator (who passes the `providers` to choose from) also
/// names its provider and partner status.
fn centre_form(s: &AppState, lang: Lang, providers: Option<Vec<(String, String)>>, kept: &Kept) -> String {
    let name = |zh: &'static str, en: &'static str| lang.t(zh, en).to_string();
    let operator = providers.is_some();
    let mut centre = Vec::new();
    if let Some(all_providers) = providers {
        centre.push(Field { name: "provider_id", label: name("算力提供方", "Compute provider"), input: Input::Choice(all_providers) });
    }
    centre.extend([
        text("name", name("名称（中文）", "Name (Chinese)"), true),
        text("name_en", name("名称（英文）", "Name (English)"), false),
        Field { name: "kind", label: name("类型", "Kind"), input: Input::Choice(kinds(lang)) },
        Field { name: "region", label: name("所在地", "Located in"), input: Input::Choice(regions(s, lang)) },
    ]);
    if operator {
        let statuses = [PartnerStatus::Applicant, PartnerStatus::Partner]
            .into_iter()
            .map(|p| (p.as_str().to_string(), labels::partner_status(lang, p)))
            .collect();
        centre.push(Field { name: "partner_status", label: name("合作伙伴资格", "Partner status"), input: Input::Choice(statuses) });
    }
    centre.extend([
        Field { name: "commissioned", label: name("投运日期", "Commissioned on"), input: Input::Date { required: true } },
        number("declared_pue", name("申报 PUE", "Declared PUE"), "decimal"),
        number("racks", name("机架数", "Racks"), "numeric"),
    ]);
    form_html("centres", lang.t("登记算力中心", "Register a centre"), &centre, lang.t("登记中心", "Register the centre"), kept)
}

/// The form for a new pool at one of the centres the caller may add pools to.
async fn pool_form(s: &AppState, lang: Lang, c: &Caller, kept: &Kept) -> String {
    let name = |zh: &'static str, en: &'static str| lang.t(zh, en).to_string();
    let accelerators = s.catalogue.all().iter().map(|a| (a.model.clone(), format!("{} ({})", a.name, a.vendor))).collect();
    let pool = [
        Field { name: "centre", label: name("算力中心", "Centre"), input: Input::Choice(own_centres(s, lang, c).await) },
        Field { name: "accelerator", label: name("加速卡型号", "Accelerator model"), input: Input::Choice(accelerators) },
        number("nodes", name("节点数", "Nodes"), "numeric"),
        number("accelerators_per_node", name("每节点加速卡数", "Accelerators per node"), "numeric"),
        number("price", name("价格（元/卡时）", "Price (¥ per accelerator-hour)"), "decimal"),
        number("discount", name("伙伴折扣（%）", "Partner discount (%)"), "numeric"),
    ];
    form_html("pools", lang.t("新增资源池", "New pool"), &pool, lang.t("新增资源池", "Add the pool"), kept)
}

/// `GET /registry`: the operator's and providers' registration forms.
pub async fn registry_page(State(s): State<AppState>, Query(q): Query<RegistryQuery>, headers: HeaderMap) -> Response {
    let (lang, set, c) = match gate(&s, &LangQuery { lang: q.lang.clone() }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !matches!(c.role(), Role::Operator | Role::Provider) {
        let e = ApiError::new(ErrorCode::Forbidden, "the registry is the operator's and the compute providers'");
        let body = format!("<h1>{}</h1>{}", lang.t("登记", "Registry"), error_notice(lang, &e));
        return with_cookie((StatusCode::FORBIDDEN, Html(page(lang, lang.t("登记", "Registry"), Some(&c), &body))).into_response(), set);
    }
    let notice = match (q.done.as_deref(), q.id.as_deref()) {
        (Some(what), Some(id)) => done_notice(lang, what, id),
        _ => String::new(),
    };
    with_cookie(Html(render(&s, lang, &c, &notice, &Kept::default()).await).into_response(), set)
}

#[derive(Debug, serde::Deserialize)]
pub struct RegistryQuery {
    pub lang: Option<String>,
    pub done: Option<String>,
    pub id: Option<String>,
}

/// What was registered, with a link to it where it has a page.
fn done_notice(lang: Lang, what: &str, id: &str) -> String {
    let (zh, en, link) = match what {
        "providers" => ("已登记算力提供方", "Provider registered", None),
        "tenants" => ("已登记企业", "Enterprise registered", None),
        "centres" => ("已登记算力中心", "Centre registered", Some(format!("/centres/{}", esc(id)))),
        "pools" => ("已新增资源池", "Pool added", Some(format!("/centres/{}", esc(id)))),
        _ => return String::new(),
    };
    let id_html = match link {
        Some(href) => format!(r#"<a href="{href}"><code>{}</code></a>"#, esc(id)),
        None => format!("<code>{}</code>", esc(id)),
    };
    format!(r#"<p class="ok" role="status" id="done">{}：{id_html}</p>"#, lang.t(zh, en))
}

/// The field a refusal is about, so that its error shows beside it.
fn field_at_fault(form: &str, e: &ApiError) -> &'static str {
    let msg = match e {
        ApiError::Domain(d) => d.message.as_str(),
        ApiError::Internal(_) => "",
    };
    match code_of(e) {
        ErrorCode::InvalidName if msg.starts_with("name_en") => "name_en",
        ErrorCode::InvalidUscc => "uscc",
        ErrorCode::InvalidRegion => "region",
        ErrorCode::InvalidDate => "commissioned",
        ErrorCode::InvalidPue => "declared_pue",
        ErrorCode::InvalidCount if form == "centres" => "racks",
        ErrorCode::InvalidCount if msg.contains("per_node") || msg.contains("per node") => "accelerators_per_node",
        ErrorCode::InvalidCount => "nodes",
        ErrorCode::UnknownAccelerator => "accelerator",
        ErrorCode::InvalidAmount if msg.contains("discount") => "discount",
        ErrorCode::InvalidAmount => "price",
        ErrorCode::UnknownProvider | ErrorCode::ProviderNotFound => "provider_id",
        ErrorCode::TenantNotFound => "tenant_id",
        ErrorCode::CentreNotFound => "centre",
        ErrorCode::InvalidId if msg.contains("ten_") || msg.contains("tenant") => "tenant_id",
        ErrorCode::InvalidId if msg.contains("prv_") || msg.contains("provider") => "provider_id",
        ErrorCode::InvalidBody if msg.contains("tenant") => "tenant_id",
        ErrorCode::InvalidBody if msg.contains("provider") => "provider_id",
        _ if form == "pools" => "centre",
        _ => "name",
    }
}

fn whole<T: std::str::FromStr>(
    f: &std::collections::HashMap<String, String>,
    name: &str,
    code: ErrorCode,
    what: &str,
) -> Result<T, ApiError> {
    let v = f.get(name).map_or("", |v| v.trim());
    v.parse().map_err(|_| ApiError::new(code, format!("{what} '{v}' is not a number")))
}

/// `POST /registry/{form}`: registers what the form describes through the registry service.
pub async fn register(
    State(s): State<AppState>,
    axum::extract::Path(form): axum::extract::Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f = fields(&body);
    let result = create(&s, &c, &form, &f).await;
    match result {
        Ok((id, None)) => Redirect::to(&format!("/registry?done={}&id={}", esc(&form), esc(&id))).into_response(),
        Ok((id, Some(token))) => Html(render(&s, lang, &c, &token_notice(lang, &id, &token), &Kept::default()).await).into_response(),
        Err(e) => {
            if code_of(&e) == ErrorCode::Forbidden || code_of(&e) == ErrorCode::NotFound {
                let status = if code_of(&e) == ErrorCode::Forbidden { StatusCode::FORBIDDEN } else { StatusCode::NOT_FOUND };
                return (status, Html(render(&s, lang, &c, &error_notice(lang, &e), &Kept::default()).await)).into_response();
            }
            let field = field_at_fault(&form, &e);
            let kept = Kept::new(form.clone(), &body, field, field_error(lang, &e, &format!("{form}-{field}")));
            (StatusCode::UNPROCESSABLE_ENTITY, Html(render(&s, lang, &c, "", &kept).await)).into_response()
        }
    }
}

/// Registers what `form` posted through the registry service: the new entry's id (a pool's
/// centre), and a new user's token.
async fn create(s: &AppState, c: &Caller, form: &str, f: &HashMap<String, String>) -> Result<(String, Option<String>), ApiError> {
    let get = |k: &str| f.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let opt = |k: &str| Some(get(k)).filter(|v| !v.is_empty());
    let caller = suanli_app::Caller::of(&c.0)?;
    let reg = &s.registry;
    Ok(match form {
        "providers" => {
            let spec = ProviderSpec {
                name: get("name"),
                name_en: get("name_en"),
                uscc: opt("uscc"),
                region: opt("uscc").and(opt("region")),
                sme: f.contains_key("sme"),
            };
            (reg.create_provider(&caller, &spec).await?.id.to_string(), None)
        }
        "tenants" => {
            let spec = TenantSpec {
                name: get("name"),
                name_en: get("name_en"),
                uscc: get("uscc"),
                sme: f.contains_key("sme"),
                region: get("region"),
            };
            (reg.create_tenant(&caller, &spec).await?.id.to_string(), None)
        }
        "users" => {
            let role = Role::parse(&get("role"))
                .ok_or_else(|| ApiError::new(ErrorCode::InvalidBody, "role is tenant, provider, operator or regulator"))?;
            let spec = UserSpec { name: get("name"), role, tenant_id: opt("tenant_id"), provider_id: opt("provider_id") };
            let created = reg.create_user(&caller, &spec).await?;
            (created.user.id.to_string(), Some(created.token))
        }
        "centres" => (reg.create_centre(&caller, &centre_spec(f)?).await?.id.to_string(), None),
        "pools" => {
            let centre = CentreId::parse(&get("centre"))?;
            let spec = PoolSpec {
                accelerator: get("accelerator"),
                nodes: whole(f, "nodes", ErrorCode::InvalidCount, "nodes")?,
                accelerators_per_node: whole(f, "accelerators_per_node", ErrorCode::InvalidCount, "accelerators per node")?,
                price_per_hour: get("price"),
                partner_discount_pct: whole(f, "discount", ErrorCode::InvalidAmount, "partner discount")?,
            };
            reg.create_pool(&caller, &centre, &spec).await?;
            s.engine.wake();
            (centre.to_string(), None)
        }
        _ => return Err(ApiError::new(ErrorCode::NotFound, format!("nothing is registered as '{form}'"))),
    })
}

/// A new centre as its form posted it.
fn centre_spec(f: &HashMap<String, String>) -> Result<CentreSpec, ApiError> {
    let get = |k: &str| f.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let opt = |k: &str| Some(get(k)).filter(|v| !v.is_empty());
    Ok(CentreSpec {
        provider_id: opt("provider_id"),
        name: get("name"),
        name_en: get("name_en"),
        kind: CentreKind::parse(&get("kind"))
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidBody, "kind is cloud, intelligent-computing or edge"))?,
        region: get("region"),
        partner_status: opt("partner_status").map(|p| PartnerStatus::parse(&p).unwrap_or(PartnerStatus::Applicant)),
        commissioned: get("commissioned"),
        declared_pue: whole(f, "declared_pue", ErrorCode::InvalidPue, "declared PUE")?,
        racks: whole(f, "racks", ErrorCode::InvalidCount, "racks")?,
        rtt_ms: Default::default(),
    })
}

/// A new user's token, shown this once.
fn token_notice(lang: Lang, id: &str, token: &str) -> String {
    format!(
        r#"<div class="ok" role="status" id="done"><p>{}：<code>{}</code></p><p>{}</p><p><code id="new-token" class="user-text">{}</code></p></div>"#,
        lang.t("已创建用户", "User created"),
        esc(id),
        lang.t(
            "这是该用户的接口令牌，只显示这一次，请转交给本人并妥善保存。",
            "This is the user's API token, shown this once: hand it to them to keep safe."
        ),
        esc(token),
    )
}
