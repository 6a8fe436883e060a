//! The Models page's section for who offers models: a provider registers a model (every field of its description) and deploys a model at one of its centres behind an OpenAI-compatible upstream; the provider and the operator see the deployments and take one out of service after a confirmation. Each form calls the models service (its rules are the API's); a refused form comes back with its error beside the field and what was typed kept.

use super::form::{Field, FormAt, Input, form_html, number, text};
use super::model_keys::Kept as PageKept;
use super::operate::{Kept, fields, refusal};
use super::{Lang, LangQuery, confirm, esc, gate, labels, thead_id};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::collections::HashMap;
use std::fmt::Write;
use suanli_app::models::CatalogueEntry;
use suanli_core::ErrorCode;
use suanli_core::id::CentreId;
use suanli_core::model::{DOMAINS, DeploymentSpec, Endpoint, Evaluation, Modality, ModelKind, ModelSpec, Strategy};
use suanli_core::money::Fen;
use suanli_core::tenant::Role;

const MODALITIES: [(Modality, &str, &str, &str); 4] = [
    (Modality::Text, "modality_text", "文本", "Text"),
    (Modality::Image, "modality_image", "图像", "Images"),
    (Modality::Audio, "modality_audio", "音频", "Audio"),
    (Modality::Video, "modality_video", "视频", "Video"),
];

const ENDPOINTS: [(Endpoint, &str, &str, &str); 3] = [
    (Endpoint::Chat, "endpoint_chat", "对话补全", "Chat completions (/v1/chat/completions)"),
    (Endpoint::Completions, "endpoint_completions", "文本补全", "Completions (/v1/completions)"),
    (Endpoint::Embeddings, "endpoint_embeddings", "向量嵌入", "Embeddings (/v1/embeddings)"),
];

fn strategy(lang: Lang, s: Strategy) -> &'static str {
    match s {
        Strategy::Weighted => lang.t("按权重分配", "By weight"),
        Strategy::LeastLatency => lang.t("首字延迟最低优先", "Lowest time to first token"),
        Strategy::LeastBusy => lang.t("负载最低优先", "Least busy"),
    }
}

/// A refusal with the field it is about (`""`: none in particular).
type Refusal = (&'static str, ApiError);

fn at(field: &'static str) -> impl Fn(suanli_core::Error) -> Refusal {
    move |e| (field, ApiError::from(e))
}

/// The section: the deployments the caller may manage, the form to register a model (a
/// provider) and the form to deploy one. Empty for the roles that offer no models.
pub(super) async fn section(s: &AppState, lang: Lang, c: &Caller, catalogue: &[CatalogueEntry], kept: &PageKept) -> String {
    if !matches!(c.role(), Role::Provider | Role::Operator) {
        return String::new();
    }
    let (kept, notice) = match kept {
        PageKept::Form { kept, notice } => (kept, notice.as_str()),
        _ => (&Kept::default(), ""),
    };
    let mut body = format!(r#"<h2 id="manage">{}</h2>{notice}"#, lang.t("提供模型", "Offer models"));
    let centres = super::registry::own_centres(s, lang, c).await;
    body.push_str(&deployments_table(s, lang, catalogue, &centres));
    if c.role() == Role::Provider {
        body.push_str(&register_form(lang, kept));
    }
    body.push_str(&deploy_form(lang, c, catalogue, centres, kept));
    body
}

/// Every deployment the caller runs (its upstream shown, as the service shows it only to the
/// model's provider and the operator), each with its undeploy button.
fn deployments_table(s: &AppState, lang: Lang, catalogue: &[CatalogueEntry], centres: &[(String, String)]) -> String {
    let mut body = format!(r#"<h3 id="deployments">{}</h3>"#, lang.t("部署", "Deployments"));
    body.push_str(&thead_id(
        "deployments-table",
        &[
            lang.t("部署", "Deployment"),
            lang.t("算力中心", "Centre"),
            lang.t("所在地", "Located in"),
            lang.t("上游地址", "Upstream base URL"),
            lang.t("上游模型名", "Upstream model"),
            lang.t("输入价（每百万令牌）", "Input price (per M tokens)"),
            lang.t("输出价（每百万令牌）", "Output price (per M tokens)"),
            lang.t("权重", "Weight"),
            lang.t("最大并发", "Most calls at once"),
            lang.t("操作", "Actions"),
        ],
    ));
    for d in catalogue.iter().flat_map(|e| e.deployments.iter()) {
        let Some(base_url) = &d.base_url else { continue };
        let centre = centres.iter().find(|(id, _)| *id == d.centre_id).map_or(d.centre_id.as_str(), |(_, n)| n.as_str());
        let _ = write!(
            body,
            r#"<tr><td><code>{id}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><form method="post" action="/models/undeploy"><input type="hidden" name="deployment" value="{id}"><button type="submit" class="danger" aria-label="{ul} {id}">{u}</button></form></td></tr>"#,
            esc(centre),
            esc(&labels::region_text(s, lang, &d.region)),
            esc(base_url),
            esc(d.upstream_model.as_deref().unwrap_or("")),
            lang.fen(d.price_input_per_m),
            lang.fen(d.price_output_per_m),
            d.weight,
            d.max_concurrency,
            id = esc(&d.id),
            u = lang.t("下线", "Undeploy"),
            ul = lang.t("下线部署", "Undeploy"),
        );
    }
    body.push_str("</tbody></table></div>");
    body
}

/// The provider's form to register a model: what the API's JSON holds, field by field.
fn register_form(lang: Lang, kept: &Kept) -> String {
    let name = |zh: &'static str, en: &'static str| lang.t(zh, en).to_string();
    let kinds = [ModelKind::General, ModelKind::Special].map(|k| (k.as_str().to_string(), labels::model_kind(lang, k).to_string()));
    let domains = DOMAINS.iter().map(|(d, zh, en)| (d.to_string(), lang.t(zh, en).to_string())).collect();
    let routing =
        [Strategy::Weighted, Strategy::LeastLatency, Strategy::LeastBusy].map(|k| (k.as_str().to_string(), strategy(lang, k).to_string()));
    let mut fields = vec![
        text("name", name("调用名（小写字母、数字和 -._:）", "Name clients call it by (a-z, 0-9, -._:)"), true),
        Field { name: "kind", label: name("类型", "Kind"), input: Input::Choice(kinds.to_vec()) },
        Field { name: "domain", label: name("领域", "Domain"), input: Input::Choice(domains) },
        number("parameters_b", name("参数量（十亿）", "Parameters (billions)"), "decimal"),
        text("licence", name("许可协议", "Licence"), true),
        number("context_tokens", name("上下文长度（令牌）", "Context (tokens)"), "numeric"),
    ];
    for (_, field, zh, en) in MODALITIES {
        fields.push(Field { name: field, label: format!("{}{}", lang.t("模态：", "Modality: "), lang.t(zh, en)), input: Input::Check });
    }
    for (_, field, zh, en) in ENDPOINTS {
        fields.push(Field { name: field, label: format!("{}{}", lang.t("接口：", "Endpoint: "), lang.t(zh, en)), input: Input::Check });
    }
    fields.extend([
        Field {
            name: "routing", label: name("部署间的路由方式", "How calls pick a deployment"), input: Input::Choice(routing.to_vec())
        },
        text("evaluator", name("评测机构（可选）", "Evaluated by (optional)"), false),
        Field {
            name: "eval_date", label: name("评测日期（可选）", "Evaluated on (optional)"), input: Input::Date { required: false }
        },
        Field {
            name: "score",
            label: name("评测得分，0–100（可选）", "Score, 0-100 (optional)"),
            input: Input::Text { required: false, mode: "decimal" },
        },
        text("document_sha256", name("评测报告的 SHA-256（可选）", "The evaluation report's SHA-256 (optional)"), false),
        Field { name: "description", label: name("说明", "Description"), input: Input::Area { max: 2000 } },
    ]);
    let fresh = Kept::new("model", "modality_text=1&endpoint_chat=1", "", String::new());
    let kept = if kept.is("model") { kept } else { &fresh };
    form_html(
        &FormAt { form: "model", action: "/models/register", id: "register-model" },
        lang.t("登记模型", "Register a model"),
        &fields,
        lang.t("登记模型", "Register the model"),
        kept,
    )
}

/// The form to deploy a model the caller may deploy at one of its centres.
fn deploy_form(lang: Lang, c: &Caller, catalogue: &[CatalogueEntry], centres: Vec<(String, String)>, kept: &Kept) -> String {
    let name = |zh: &'static str, en: &'static str| lang.t(zh, en).to_string();
    let own = |e: &&CatalogueEntry| c.role() == Role::Operator || c.0.provider_id.as_ref() == Some(&e.model.provider_id);
    let models = catalogue.iter().filter(own).map(|e| (e.model.name.clone(), e.model.name.clone())).collect();
    let fields = [
        Field { name: "model", label: name("模型", "Model"), input: Input::Choice(models) },
        Field { name: "centre", label: name("算力中心", "Centre"), input: Input::Choice(centres) },
        text("base_url", name("上游地址（OpenAI 兼容接口的 /v1）", "Upstream base URL (the OpenAI-compatible /v1)"), true),
        text("upstream_model", name("上游模型名（空为调用名）", "Upstream model name (empty: the catalogue name)"), false),
        number("price_input", name("输入价（元/百万令牌）", "Input price (yuan per million tokens)"), "decimal"),
        number("price_output", name("输出价（元/百万令牌）", "Output price (yuan per million tokens)"), "decimal"),
        Field {
            name: "weight",
            label: name("权重，1–1000（空为 100）", "Weight, 1-1000 (empty: 100)"),
            input: Input::Text { required: false, mode: "numeric" },
        },
        Field {
            name: "max_concurrency",
            label: name("最大并发调用数（空为 64）", "Most calls at once (empty: 64)"),
            input: Input::Text { required: false, mode: "numeric" },
        },
    ];
    form_html(
        &FormAt { form: "deploy", action: "/models/deploy", id: "deploy-form" },
        lang.t("部署模型", "Deploy a model"),
        &fields,
        lang.t("部署", "Deploy"),
        kept,
    )
}

/// The models page again: with `notice` on top of this section, or a refused form kept.
async fn again(s: &AppState, lang: Lang, c: &Caller, status: StatusCode, kept: Kept, notice: String) -> Response {
    (status, Html(super::models::render(s, lang, c, &[], "", PageKept::Form { kept, notice }).await)).into_response()
}

/// The page after a refusal: a role that may not do this at all gets the error on top (403),
/// anything else comes back beside its field (422).
async fn refused(s: &AppState, lang: Lang, c: &Caller, form: &str, body: &str, (field, e): Refusal) -> Response {
    match refusal(lang, form, body, field, &e) {
        Ok((kept, notice)) => again(s, lang, c, StatusCode::UNPROCESSABLE_ENTITY, kept, notice).await,
        Err(notice) => again(s, lang, c, StatusCode::FORBIDDEN, Kept::default(), notice).await,
    }
}

fn done(lang: Lang, zh: &'static str, en: &'static str, what: &str) -> String {
    format!(r#"<p class="ok" role="status" id="done">{}：<code>{}</code></p>"#, lang.t(zh, en), esc(what))
}

/// `POST /models/register` (form): a provider registers a model.
pub async fn register(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f = fields(&body);
    let result = async {
        let caller = suanli_app::Caller::of(&c.0).map_err(at(""))?;
        let spec = model_spec(&f)?;
        s.models.register(&caller, spec).await.map_err(|e| {
            let e = ApiError::from(e);
            (model_field(&f, &e), e)
        })
    }
    .await;
    match result {
        Ok(m) => again(&s, lang, &c, StatusCode::OK, Kept::default(), done(lang, "已登记模型", "Model registered", &m.name)).await,
        Err(r) => refused(&s, lang, &c, "model", &body, r).await,
    }
}

/// A number typed into `field`, refused beside it when it is not one.
fn parsed<T: std::str::FromStr>(f: &HashMap<String, String>, field: &'static str, what: &str) -> Result<T, Refusal> {
    let v = f.get(field).map_or("", |v| v.trim());
    v.parse().map_err(|_| (field, ApiError::new(ErrorCode::InvalidModel, format!("{what} '{v}' is not a number"))))
}

fn get(f: &HashMap<String, String>, k: &str) -> String {
    f.get(k).map(|v| v.trim().to_string()).unwrap_or_default()
}

/// The model as its form describes it; the numbers it cannot read are refused beside their field.
fn model_spec(f: &HashMap<String, String>) -> Result<ModelSpec, Refusal> {
    let on = |k: &str| f.get(k).is_some_and(|v| v == "1");
    let kind =
        ModelKind::parse(&get(f, "kind")).ok_or_else(|| ("kind", ApiError::new(ErrorCode::InvalidModel, "kind is general or special")))?;
    let routing = Strategy::parse(&get(f, "routing"))
        .ok_or_else(|| ("routing", ApiError::new(ErrorCode::InvalidModel, "routing is weighted, least_latency or least_busy")))?;
    let evaluated = ["evaluator", "eval_date", "score", "document_sha256"].iter().any(|k| !get(f, k).is_empty());
    let evaluation = if evaluated {
        if get(f, "eval_date").is_empty() {
            return Err(("eval_date", ApiError::new(ErrorCode::InvalidDate, "an evaluation has the date it was made")));
        }
        Some(Evaluation {
            evaluator: get(f, "evaluator"),
            date: get(f, "eval_date"),
            score: parsed(f, "score", "the score")?,
            document_sha256: get(f, "document_sha256").to_lowercase(),
        })
    } else {
        None
    };
    Ok(ModelSpec {
        name: get(f, "name"),
        kind,
        domain: get(f, "domain"),
        parameters_b: parsed(f, "parameters_b", "parameters (billions)")?,
        licence: get(f, "licence"),
        context_tokens: parsed(f, "context_tokens", "context tokens")?,
        modalities: MODALITIES.iter().filter(|(_, k, _, _)| on(k)).map(|(m, ..)| *m).collect(),
        endpoints: ENDPOINTS.iter().filter(|(_, k, _, _)| on(k)).map(|(e, ..)| *e).collect(),
        evaluation,
        description: f.get("description").map_or(String::new(), |d| d.trim().to_string()),
        routing,
    })
}

/// The field of the model form a refusal of the models service is about.
fn model_field(f: &HashMap<String, String>, e: &ApiError) -> &'static str {
    let ApiError::Domain(d) = e else { return "" };
    let m = d.message.as_str();
    let none_of = |fields: &[&str]| !fields.iter().any(|k| f.get(*k).is_some_and(|v| v == "1"));
    match d.code {
        ErrorCode::ModelExists => "name",
        ErrorCode::InvalidName if m.starts_with("licence") => "licence",
        ErrorCode::InvalidName if m.starts_with("evaluation.evaluator") => "evaluator",
        ErrorCode::InvalidName => "name",
        ErrorCode::InvalidDate => "eval_date",
        ErrorCode::InvalidModel if m.starts_with("unknown domain") => "domain",
        ErrorCode::InvalidModel if m.starts_with("parameters_b") => "parameters_b",
        ErrorCode::InvalidModel if m.starts_with("context_tokens") => "context_tokens",
        ErrorCode::InvalidModel if m.contains("modality") && none_of(&MODALITIES.map(|x| x.1)) => "modality_text",
        ErrorCode::InvalidModel if m.contains("endpoint") => "endpoint_chat",
        ErrorCode::InvalidModel if m.contains("description") => "description",
        ErrorCode::InvalidModel if m.starts_with("evaluation.score") => "score",
        ErrorCode::InvalidModel if m.starts_with("evaluation.document_sha256") => "document_sha256",
        _ => "",
    }
}

/// `POST /models/deploy` (form): a model's provider (or the operator) deploys it at one of the provider's centres.
pub async fn deploy(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f = fields(&body);
    let result = async {
        let caller = suanli_app::Caller::of(&c.0).map_err(at(""))?;
        let spec = deployment_spec(&f)?;
        s.models.deploy(&caller, &get(&f, "model"), spec).await.map_err(|e| {
            let e = ApiError::from(e);
            (deploy_field(&e), e)
        })
    }
    .await;
    match result {
        Ok(d) => again(&s, lang, &c, StatusCode::OK, Kept::default(), done(lang, "已部署", "Deployed", &d.id)).await,
        Err(r) => refused(&s, lang, &c, "deploy", &body, r).await,
    }
}

/// The deployment as its form describes it.
fn deployment_spec(f: &HashMap<String, String>) -> Result<DeploymentSpec, Refusal> {
    let optional = |k: &'static str, what: &str, default: u32| -> Result<u32, Refusal> {
        if get(f, k).is_empty() { Ok(default) } else { parsed(f, k, what) }
    };
    let upstream = get(f, "upstream_model");
    Ok(DeploymentSpec {
        centre_id: CentreId::parse(&get(f, "centre")).map_err(at("centre"))?,
        base_url: get(f, "base_url"),
        upstream_model: if upstream.is_empty() { get(f, "model") } else { upstream },
        price_input_per_m: Fen::parse_yuan(&get(f, "price_input")).map_err(at("price_input"))?,
        price_output_per_m: Fen::parse_yuan(&get(f, "price_output")).map_err(at("price_output"))?,
        weight: optional("weight", "the weight", 100)?,
        max_concurrency: optional("max_concurrency", "the most calls at once", 64)?,
        upstream_key: None,
    })
}

/// The field of the deploy form a refusal of the models service is about.
fn deploy_field(e: &ApiError) -> &'static str {
    let ApiError::Domain(d) = e else { return "" };
    let m = d.message.as_str();
    match d.code {
        ErrorCode::ModelNotFound => "model",
        ErrorCode::CentreNotFound | ErrorCode::InvalidId => "centre",
        ErrorCode::Forbidden if m.contains("centre of its own provider") => "centre",
        ErrorCode::InvalidModel if m.starts_with("base_url") => "base_url",
        ErrorCode::InvalidModel if m.starts_with("weight") => "weight",
        ErrorCode::InvalidModel if m.starts_with("max_concurrency") => "max_concurrency",
        ErrorCode::InvalidModel => "model",
        ErrorCode::InvalidName => "upstream_model",
        ErrorCode::InvalidAmount if m.starts_with("price_output") => "price_output",
        ErrorCode::InvalidAmount => "price_input",
        _ => "",
    }
}

/// `POST /models/undeploy` (form, `deployment=name#n`): takes a deployment out of service after a confirmation.
pub async fn undeploy(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let id = get(&fields(&body), "deployment");
    let model = id.rsplit_once('#').map_or(id.as_str(), |(m, _)| m).to_string();
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let d = s.models.check_undeploy(&caller, &model, &id).await?;
        if !confirm::confirmed(&body) {
            return Ok(Err(undeploy_confirmation(&s, lang, &c, &d, &body).await));
        }
        s.models.undeploy(&caller, &model, &id).await?;
        Ok::<_, ApiError>(Ok(()))
    }
    .await;
    match result {
        Ok(Err(ask)) => ask,
        Ok(Ok(())) => again(&s, lang, &c, StatusCode::OK, Kept::default(), done(lang, "已下线部署", "Undeployed", &id)).await,
        Err(e) => refused(&s, lang, &c, "undeploy", &body, ("", e)).await,
    }
}

/// The question before undeploying: which deployment, where, and what happens to its calls.
async fn undeploy_confirmation(s: &AppState, lang: Lang, c: &Caller, d: &suanli_core::model::Deployment, body: &str) -> Response {
    let centre = s.store.centre(&d.spec.centre_id).await.ok().flatten();
    let centre = centre.map_or(d.spec.centre_id.to_string(), |x| lang.name(&x.name, &x.name_en).to_string());
    let facts = [
        (lang.t("部署", "Deployment"), format!("<code>{}</code>", esc(&d.id))),
        (lang.t("算力中心", "Centre"), esc(&centre)),
        (lang.t("上游地址", "Upstream base URL"), format!("<code>{}</code>", esc(&d.spec.base_url))),
        (lang.t("输入价（每百万令牌）", "Input price (per M tokens)"), lang.fen(d.spec.price_input_per_m)),
        (lang.t("输出价（每百万令牌）", "Output price (per M tokens)"), lang.fen(d.spec.price_output_per_m)),
    ];
    confirm::ask(
        lang,
        c,
        &confirm::Ask {
            title: lang.t("确认下线此部署？", "Undeploy this deployment?"),
            facts: &facts,
            outcome: lang.t(
                "确认后网关不再把新调用发往此部署（进行中的调用照常完成）；下线不能撤销，需要时可重新部署。",
                "The gateway sends it no new calls (calls in flight finish); this cannot be undone, though the model can be deployed again.",
            ),
            action: "/models/undeploy",
            body,
            go: lang.t("确认下线", "Yes, undeploy it"),
            back: "/models#deployments",
        },
    )
}
