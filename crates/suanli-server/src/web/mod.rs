//! The web UI, rendered on the server: sign-in with a token, and the city overview (the policy's targets against what the platform measures), in Chinese or English, with SVG charts.
//!
//! Pages are plain HTML with one embedded stylesheet; they work without script, and one small
//! script of the server's own (`assets/suanli.js`) swaps sorted tables in place and refreshes
//! live pages; where the server embeds Apache ECharts, `assets/charts.js` redraws the charts
//! over time with it (`assets.rs`). Every data table sorts, filters, pages and exports as CSV (`table.rs`). A token signs the
//! browser in and opens a web session (`session.rs`: a revocable session id in an HttpOnly,
//! SameSite=Strict cookie, CSRF tokens in forms, an Origin check on posts); every page checks
//! the session's user like the API checks a bearer token, so what a role may not see is
//! neither shown nor served. The
//! language comes from `?lang=zh-CN|en`, then the `suanli_lang` cookie, then Chinese.

use crate::AppState;
use crate::auth::Caller;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use suanli_core::city::ComputeSlice;

mod assets;
mod audit;
mod bills;
mod centres;
mod charts;
mod collate;
mod confirm;
mod data;
mod data_supply;
mod declarations;
mod energy;
pub mod failure;
mod form;
mod incentive_apply;
mod incentive_steps;
mod incentives;
mod insight;
mod jobs;
mod labels;
mod ledger;
mod manage;
mod map;
mod meters;
mod model_admin;
mod model_keys;
mod models;
mod objections;
mod operate;
mod overview;
mod partners;
mod programmes;
mod provider;
mod range;
mod registry;
mod review;
pub mod routes;
pub mod session;
mod table;
mod trends;
mod upload;
mod vouchers;
pub use assets::{charts_script, echarts, interactive_charts, script};
pub use audit::audit_page;
pub use bills::bill_page;
pub use centres::{centre_page, centres_page};
use centres::{reach_text, render_centre};
pub use data::{
    create_request as create_data_request, data_page, decide as decide_data_request, link as data_link, set_page as data_set_page,
};
pub use data_supply::{
    register_set as register_data_set, set_policy as set_data_policy, set_supplier as set_data_supplier, upload as upload_data_content,
};
pub use declarations::{certify as declare_certification, green_power as declare_green_power};
pub use energy::energy_page;
pub use incentive_apply::apply as apply_for_incentive;
pub use incentive_steps::{add_expert, carry as carry_programme, rank as rank_programme};
pub use incentives::incentives_page;
pub use jobs::{cancel_job, cancel_page, job_page, jobs_page, submit_job};
use labels::region as region_name_html;
pub(crate) use labels::state_name;
pub use ledger::{ledger_page, verify_now as verify_ledger_now};
pub use manage::{set_backend as set_centre_backend, set_partner as set_centre_partner, set_price as set_pool_price};
pub use meters::{import_readings, set_facts as set_energy_facts, set_meters};
pub use model_admin::{deploy as deploy_model, register as register_model, undeploy as undeploy_model};
pub use model_keys::{
    create_key as create_model_key, revoke_key as revoke_model_key, rotate_key as rotate_model_key, top_up_key as top_up_model_key,
};
pub use models::models_page;
pub use objections::{decide as decide_incentive, object as object_to_incentive, resolve as resolve_objection};
pub use operate::{settle, top_up};
pub use overview::overview;
use overview::{over_limit_list, pue_limit_tile, target_badge};
pub use partners::{partners_page, run_round as run_partner_round, set_config as set_partner_config};
pub use programmes::{close as close_programme, open as open_programme};
pub use provider::my_centres_page;
pub use registry::{register, registry_page};
pub use review::{application_page as incentive_application_page, assign as assign_expert, review as review_application};
pub use upload::MAX_UPLOAD;
pub use vouchers::{apply, decide, vouchers_page};
const LANG_COOKIE: &str = "suanli_lang";

/// The two languages of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// One of two strings.
    fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// A name registered in both languages: the English one on English pages, unless empty.
    pub fn name<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        if self == Lang::En && !en.is_empty() { en } else { zh }
    }
}

/// The start of a table that scrolls sideways on a narrow screen: its column headers, escaped,
/// then `<tbody>` (close with `</tbody></table></div>`).
fn thead(cols: &[&str]) -> String {
    thead_id("", cols)
}

/// As [`thead`], with an `id` on the table (when not empty).
fn thead_id(id: &str, cols: &[&str]) -> String {
    let mut out = if id.is_empty() {
        String::from("<div class='scroll'><table><thead><tr>")
    } else {
        format!("<div class='scroll'><table id=\"{}\"><thead><tr>", esc(id))
    };
    for c in cols {
        let _ = write!(out, r#"<th scope="col">{}</th>"#, esc(c));
    }
    out.push_str("</tr></thead><tbody>");
    out
}

/// A chart in its own box: at least 640 px wide so its labels never shrink below 10 px, scrolling
/// sideways inside the box on a narrow screen rather than widening the page.
fn chart(svg: &str) -> String {
    format!(r#"<div class="chart">{svg}</div>"#)
}

/// Escapes text for HTML (the same rules as the SVG writer's, which HTML5 accepts).
pub use suanli_charts::esc;

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    pub lang: Option<String>,
}

/// The page's language, and the cookie to remember an explicit choice.
fn lang_of(q: &LangQuery, headers: &HeaderMap) -> (Lang, Option<String>) {
    let parse = |s: &str| match s {
        "en" => Some(Lang::En),
        "zh-CN" | "zh" => Some(Lang::Zh),
        _ => None,
    };
    if let Some(l) = q.lang.as_deref().and_then(parse) {
        return (l, Some(format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax", l.code())));
    }
    (cookie(headers, LANG_COOKIE).and_then(parse).unwrap_or(Lang::Zh), None)
}

async fn signed_in(s: &AppState, headers: &HeaderMap) -> Option<Caller> {
    session::principal(s, headers).await.map(Caller)
}

/// The main navigation, the current page marked with `aria-current`.
fn nav_links(lang: Lang, role: Option<suanli_core::tenant::Role>) -> String {
    let current = session::current_path().unwrap_or_default();
    let items = [
        ("/", lang.t("总览", "Overview")),
        ("/centres", lang.t("算力中心", "Centres")),
        ("/my-centres", lang.t("我的中心", "My centres")),
        ("/registry", lang.t("登记", "Registry")),
        ("/jobs", lang.t("作业", "Jobs")),
        ("/vouchers", lang.t("算力券", "Vouchers")),
        ("/energy", lang.t("能耗", "Energy")),
        ("/models", lang.t("模型服务", "Models")),
        ("/data", lang.t("数据开放", "Data")),
        ("/incentives", lang.t("奖补", "Incentives")),
        ("/ledger", lang.t("账本", "Ledger")),
        ("/audit", lang.t("审计", "Audit")),
        ("/api", lang.t("接口文档", "API")),
    ];
    let mut out = String::new();
    let shown = |href: &str| match role {
        Some(suanli_core::tenant::Role::Expert) => expert_page(href),
        Some(suanli_core::tenant::Role::Provider) => href != "/audit" && href != "/ledger",
        Some(suanli_core::tenant::Role::Operator) => href != "/my-centres",
        Some(suanli_core::tenant::Role::Regulator) => href != "/my-centres" && href != "/registry",
        _ => href != "/my-centres" && href != "/registry" && href != "/audit" && href != "/ledger",
    };
    for (href, label) in items.into_iter().filter(|(href, _)| shown(href)) {
        let here = if href == "/" { current == "/" } else { current == href || current.starts_with(&format!("{href}/")) };
        let mark = if here { r#" aria-current="page""# } else { "" };
        let _ = write!(out, r#"<a href="{href}"{mark}>{label}</a>"#);
    }
    out
}

fn page(lang: Lang, title: &str, caller: Option<&Caller>, body: &str) -> String {
    let body = table::enhance(lang, body);
    let path = session::current_path().unwrap_or_default();
    let live = if body.contains(ENDED_MARK) { String::new() } else { live_attrs(lang, &path) };
    if is_wall(&path) {
        return wall_page(lang, title, &body, &live);
    }
    let other = match lang {
        Lang::Zh => ("en", "English"),
        Lang::En => ("zh-CN", "中文"),
    };
    let who = caller.map_or(String::new(), |c| {
        format!(
            r#"<span class="who"><span class="user-text">{}</span> · {}</span><form method="post" action="/sign-out"><button type="submit">{}</button></form>"#,
            esc(&c.0.name),
            labels::role(lang, c.0.role),
            lang.t("退出", "Sign out")
        )
    });
    let wall = if path == "/" && caller.is_some() {
        format!(r#"<a class="wall-link" href="/wall">{}</a>"#, labels::ui(lang, labels::Ui::Wall))
    } else {
        String::new()
    };
    session::inject(format!(
        r##"<!doctype html><html lang="{code}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} · Suanli 算力</title><style>{STYLE}{TABLE_STYLE}</style>{script}</head>
<body><a class="skip" href="#main">{skip}</a><header><a class="brand" href="/">Suanli 算力</a><nav aria-label="{nav}">{links}</nav><a class="lang" href="?lang={olang}" hreflang="{olang}">{oname}</a>{wall}{who}</header>
<main id="main"{live}>{body}</main><footer>{foot}</footer></body></html>"##,
        code = lang.code(),
        title = esc(title),
        script = assets::script_tags(&body),
        nav = lang.t("主导航", "Main"),
        skip = lang.t("跳到正文", "Skip to content"),
        links = nav_links(lang, caller.map(|c| c.role())),
        olang = other.0,
        oname = other.1,
        foot = lang
            .t("杭州市人工智能算力调度平台 · 数据实时来自本平台", "Hangzhou city AI-compute platform · live figures from this platform"),
    ))
}

/// The overview as the operations centre's wall display (大屏): `/wall` or `/?wall=1`.
fn is_wall(path: &str) -> bool {
    path == "/wall" || (path == "/" && table::param("wall").as_deref() == Some("1"))
}

/// The attribute a page's body carries when what it shows can no longer change (an ended job):
/// the page is then not refreshed, and a refresh that finds it stops.
const ENDED_MARK: &str = "data-ended";

/// `<main>`'s attributes on a page that refreshes itself (the overview, the wall display, a
/// job's page that has not ended): every `?refresh=` seconds (2 to 600, default 10), and the words of the pause control.
fn live_attrs(lang: Lang, path: &str) -> String {
    let job = path.strip_prefix("/jobs/").is_some_and(|id| !id.is_empty() && !id.contains('/'));
    if !(path == "/" || path == "/wall" || job) {
        return String::new();
    }
    let every = table::param("refresh").and_then(|r| r.parse::<u32>().ok()).unwrap_or(10).clamp(2, 600);
    use labels::Ui;
    format!(
        r#" data-refresh="{every}" data-t-pause="{}" data-t-resume="{}" data-t-updated="{}" data-t-every="{}""#,
        labels::ui(lang, Ui::Pause),
        labels::ui(lang, Ui::Resume),
        labels::ui(lang, Ui::Updated),
        labels::ui(lang, Ui::Every)
    )
}

/// The wall display's frame: dark, full width, big tiles, no navigation; the overview's body.
fn wall_page(lang: Lang, title: &str, body: &str, live: &str) -> String {
    use labels::Ui;
    let other = match lang {
        Lang::Zh => ("en", "English"),
        Lang::En => ("zh-CN", "中文"),
    };
    format!(
        r##"<!doctype html><html lang="{code}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{wt} · {title}</title><style>{STYLE}{TABLE_STYLE}{WALL_STYLE}</style>{script}</head>
<body class="wall"><a class="skip" href="#main">{skip}</a><header><span class="brand">{wt}</span><span class="wall-nav"><a class="lang" href="/wall?lang={olang}" hreflang="{olang}">{oname}</a><a href="/">{leave}</a></span></header>
<main id="main"{live}>{body}</main></body></html>"##,
        code = lang.code(),
        wt = labels::ui(lang, Ui::WallTitle),
        title = esc(title),
        script = assets::script_tags(body),
        skip = lang.t("跳到正文", "Skip to content"),
        olang = other.0,
        oname = other.1,
        leave = labels::ui(lang, Ui::LeaveWall),
    )
}

/// Data tables' controls (`table.rs`) and the live pages' bar. A table never squeezes its
/// columns below about four characters: on a narrow screen its box (`.scroll`) scrolls sideways
/// instead, names wrap between words, and ids, codes, times and figures (`.nw`) stay on one line.
const TABLE_STYLE: &str = ".dt{margin:.4rem 0 1rem}.dt-tools{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center;margin:.3rem 0}\
.dt-tools label{display:inline;margin:0}.dt-tools input[type=search]{width:12rem;max-width:100%;padding:.25rem}\
.dt-tools button{padding:.25rem .6rem}.dt-count{color:#475467;font-size:.85rem}.dt-tools a.csv{margin-left:auto}\
th a.sort{color:inherit;text-decoration:none;display:block}th a.sort::after{content:' \\2195';color:#98a2b3;font-size:.8em}\
th[aria-sort=ascending] a.sort::after{content:' \\25B2';color:#0b3d91}th[aria-sort=descending] a.sort::after{content:' \\25BC';color:#0b3d91}\
tr.empty td{color:#475467;text-align:center}.pager{display:flex;gap:.8rem;align-items:center;margin:.4rem 0}.pager [aria-disabled]{color:#98a2b3}\
.dt[aria-busy=true]{opacity:.6}.live{display:flex;flex-wrap:wrap;gap:.6rem;align-items:center;justify-content:flex-end;max-width:72rem;margin:.4rem auto 0;padding:0 1rem;color:#475467;font-size:.85rem}\
.live.paused .live-when{text-decoration:line-through}.wall-link{font-weight:600}\
.range{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center;margin:.8rem 0 .2rem}.range a{padding:.2rem .6rem;border:1px solid #d0d5dd;border-radius:4px;text-decoration:none;background:#fff}\
.range a[aria-current]{background:#0b3d91;color:#fff;border-color:#0b3d91;font-weight:600}\
.range-custom{display:flex;flex-wrap:wrap;gap:.3rem;align-items:center}.range-custom label{display:inline;margin:0 0 0 .3rem}\
.range-custom input[type=date]{width:auto;max-width:11rem;padding:.2rem}.range-custom[aria-current] input[type=date]{border:2px solid #0b3d91}\
.range-custom .error{flex-basis:100%;margin:.2rem 0}.chart-csv{margin:.2rem 0 .8rem;font-size:.9rem}\
.scroll th,.scroll td{min-width:4em}.scroll .nw,.scroll a.id,.scroll code{white-space:nowrap;word-break:normal}\
.scroll:focus-visible{outline:3px solid #f79009;outline-offset:2px}";

/// The wall display (大屏): dark, full width, big figures; charts on light cards so their colours read.
const WALL_STYLE: &str = "body.wall{background:#0b1220;color:#e6edf3}.wall header{background:#0f1a33;justify-content:space-between}\
.wall .brand{font-size:1.4rem}.wall-nav{display:flex;gap:1rem}.wall main{max-width:none;padding:1rem 2rem}\
.wall h1{font-size:2rem}.wall h2{font-size:1.4rem;color:#cbd5e1}.wall h3{color:#cbd5e1}\
.wall .tiles{grid-template-columns:repeat(auto-fit,minmax(min(22rem,100%),1fr));gap:1.2rem}\
.wall .tile{background:#111a2e;border-color:#1f2b47;padding:1.2rem}.wall .tile .v{font-size:clamp(2rem,2.6vw,3rem)}\
.wall .tile .t{color:#9fb0cc;font-size:1.05rem}.wall table{background:#111a2e;color:#e6edf3}.wall th,.wall td{border-color:#1f2b47}\
.wall a{color:#8ab4ff}.wall .ok{color:#4ade80}.wall .warn{color:#fbbf24}.wall .error{color:#f87171}\
.wall .chart{background:#f8fafc;border-radius:8px;padding:.5rem;max-width:64rem}.wall .dt-tools,.wall .pager,.wall .chart-csv{display:none}\
.wall .live{max-width:none;color:#9fb0cc;padding:0 2rem}.wall .live button{background:#1f2b47;color:#e6edf3;border:1px solid #3b4a6b;padding:.3rem .8rem;border-radius:4px}\
@media (max-width:600px){.wall main{padding:.6rem}.wall .live{padding:0 .6rem}}";

const STYLE: &str = "body{font-family:system-ui,'PingFang SC','Noto Sans CJK SC',sans-serif;margin:0;color:#1a1a1a;background:#f6f7f9}\
header{display:flex;gap:1rem;align-items:center;flex-wrap:wrap;padding:.6rem 1rem;background:#0b3d91;color:#fff}\
header a{color:#fff}.brand{font-weight:700;text-decoration:none;font-size:1.1rem}nav{display:flex;flex-wrap:wrap;gap:.8rem;flex:1}\
header form{display:inline}header button{background:#fff;color:#0b3d91;border:0;padding:.25rem .6rem;border-radius:4px;cursor:pointer}\
main{max-width:72rem;margin:0 auto;padding:1rem}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}\
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:.8rem}\
.tile{background:#fff;border:1px solid #d0d5dd;border-radius:8px;padding:.8rem}.tile .v{font-size:1.5rem;font-weight:700}\
.tile .t{color:#475467;font-size:.9rem}progress{width:100%;height:.8rem}.ok{color:#067647}.warn{color:#b54708}\
.badge{display:inline-block;font-size:.85rem;font-weight:600;padding:.05rem .45rem;border-radius:.7rem;vertical-align:middle}.badge.ok{background:#e7f6ec}.badge.no{background:#fdecea;color:#b42318}\
.legend{list-style:none;padding:0;margin:.4rem 0;display:flex;flex-wrap:wrap;gap:.3rem 1.1rem;font-size:.9rem}.legend .sw{display:inline-block;width:1rem;height:.75rem;margin-right:.35rem;vertical-align:middle}\
.legend .ln{display:inline-block;width:1.5rem;border-top:2px dashed #1a1a1a;margin-right:.35rem;vertical-align:middle}.legend .dot{width:.8rem;height:.8rem;border-radius:50%;border:1px solid #1a1a1a}.legend .dot{box-shadow:0 0 0 1.5px #fff,0 0 0 2.5px #98a2b3}.legend .dot[style*=\"#ffffff\"]{border-style:dashed;box-shadow:none}\
table{border-collapse:collapse;width:100%;background:#fff}th,td{border:1px solid #d0d5dd;padding:.35rem .5rem;text-align:left}\
svg text{font-size:12px;fill:#1a1a1a}svg{max-width:100%;height:auto}.chart{overflow-x:auto;max-width:100%}.chart svg{min-width:640px}.echart{height:20rem;overflow:hidden}.tchart [hidden]{display:none}fieldset{min-width:0}select{max-width:100%}label{display:block;margin:.6rem 0 .2rem}label.inline{display:inline;margin-left:.3rem}\
input{padding:.4rem;width:100%;max-width:32rem;box-sizing:border-box}input[type=radio]{width:auto}.scroll{overflow-x:auto;max-width:100%;position:relative}\
a.id,code{word-break:break-all}fieldset{border:1px solid #d0d5dd;border-radius:8px;margin:1rem 0;background:#fff}tr.chosen{background:#ecfdf3}\
table.facts{max-width:40rem}td form{display:inline}td input{max-width:12rem}\
.error{color:#b42318;font-weight:600}.skip{position:absolute;left:-999px}\
.vh{position:absolute;width:1px;height:1px;margin:-1px;padding:0;border:0;overflow:hidden;clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap}.skip:focus{left:1rem;top:.5rem;background:#fff;color:#0b3d91;padding:.3rem .6rem;z-index:9}\
nav a[aria-current]{text-decoration:underline;font-weight:700}footer{color:#475467;font-size:.8rem;padding:1rem;text-align:center}\
a:focus,button:focus,input:focus{outline:3px solid #f79009;outline-offset:2px}\
a.button{display:inline-block;padding:.35rem .8rem;border:1px solid #b42318;border-radius:4px;color:#b42318;text-decoration:none}\
button.danger{background:#b42318;color:#fff;border:0;padding:.4rem .9rem;border-radius:4px;cursor:pointer;margin:.6rem .6rem .6rem 0}";

fn with_cookie(mut r: Response, set: Option<String>) -> Response {
    if let Some(c) = set.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

/// `GET /sign-in`.
pub async fn sign_in_page(Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, set) = lang_of(&q, &headers);
    with_cookie(Html(sign_in_html(lang, None)).into_response(), set)
}

fn sign_in_html(lang: Lang, error: Option<&str>) -> String {
    let err = error.map_or(String::new(), |e| format!(r#"<p class="error" role="alert">{}</p>"#, esc(e)));
    let body = format!(
        r#"<h1>{h}</h1><p>{p}</p>{err}<form method="post" action="/sign-in"><label for="token">{l}</label><input id="token" name="token" type="password" autocomplete="off" required><p><button type="submit">{b}</button></p></form>"#,
        h = lang.t("登录", "Sign in"),
        p = lang.t(
            "使用平台发放的访问令牌登录（演示环境在 demo-tokens.json 中为每个角色提供一个）。",
            "Sign in with the access token the platform issued you (the demo writes one per role to demo-tokens.json)."
        ),
        l = lang.t("访问令牌", "Access token"),
        b = lang.t("登录", "Sign in"),
    );
    page(lang, lang.t("登录", "Sign in"), None, &body)
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    token: String,
}

/// `POST /sign-in` (form): checks the token and sets the session cookie.
pub async fn sign_in(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let (lang, _) = lang_of(&LangQuery { lang: None }, &headers);
    let token = serde_urlencoded::from_str::<SignInForm>(&body).map(|f| f.token.trim().to_string()).unwrap_or_default();
    let who = if token.is_empty() { None } else { crate::auth::principal(&s, &token).await.ok().flatten() };
    let Some(who) = who else {
        let html = sign_in_html(lang, Some(lang.t("令牌无效，请检查后重试。", "That token is not valid; check it and try again.")));
        return (StatusCode::UNAUTHORIZED, Html(html)).into_response();
    };
    match session::open(&s, &who, &headers).await {
        Ok(cookie) => {
            let home = if who.role == suanli_core::tenant::Role::Expert { "/incentives" } else { "/" };
            with_cookie(Redirect::to(home).into_response(), Some(cookie))
        }
        Err(e) => {
            tracing::error!(error = %e, "could not open a web session");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Html(sign_in_html(
                    lang,
                    Some(lang.t("暂时无法登录，请稍后再试。", "Signing in is not possible right now; try again shortly.")),
                )),
            )
                .into_response()
        }
    }
}

/// `POST /sign-out`: revokes the session, so its cookie no longer signs anyone in.
pub async fn sign_out(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let cleared = session::close(&s, &headers).await;
    with_cookie(Redirect::to("/sign-in").into_response(), Some(cleared))
}

/// The pages an expert may open: the incentives page and its applications.
fn expert_page(path: &str) -> bool {
    path == "/incentives" || path.starts_with("/incentives/")
}

/// A signed-in page, or the redirect to sign in.
async fn gate(s: &AppState, q: &LangQuery, headers: &HeaderMap) -> Result<(Lang, Option<String>, Caller), Response> {
    let (lang, set) = lang_of(q, headers);
    match signed_in(s, headers).await {
        // An expert sees the incentive pages (its assignments) and nothing else of the platform.
        Some(c) if c.role() == suanli_core::tenant::Role::Expert && !session::current_path().is_some_and(|p| expert_page(&p)) => {
            Err(with_cookie(Redirect::to("/incentives").into_response(), set))
        }
        Some(c) => Ok((lang, set, c)),
        None => Err(with_cookie(Redirect::to("/sign-in").into_response(), set)),
    }
}

/// An error as the web UI shows it: the code's title in Chinese on Chinese pages, the message
/// on English ones (no raw code in the text); the stable code stays in `data-code`.
pub(crate) fn error_notice(lang: Lang, e: &crate::error::ApiError) -> String {
    use crate::error::ApiError;
    let (code, text) = match e {
        ApiError::Domain(e) => (
            e.code,
            match lang {
                Lang::Zh => e.code.title_zh().to_string(),
                Lang::En => e.message.clone(),
            },
        ),
        ApiError::Internal(m) => {
            tracing::error!(error = %m, "internal error behind a web page");
            (suanli_core::ErrorCode::Internal, lang.t("内部错误，已记录。", "An internal error occurred; it has been logged.").to_string())
        }
    };
    format!(r#"<p class="error" role="alert" data-code="{}">{}</p>"#, code.as_str(), esc(&text))
}

fn notice(msg: Option<&str>, error: bool) -> String {
    msg.map_or(String::new(), |m| {
        let class = if error { "error" } else { "ok" };
        format!(r#"<p class="{class}" role="{}">{}</p>"#, if error { "alert" } else { "status" }, esc(m))
    })
}

/// A member of a JSON value by its dotted path (`kpis.pue.value`); null when missing.
fn path<'a>(v: &'a serde_json::Value, p: &str) -> &'a serde_json::Value {
    p.split('.').fold(v, |v, k| v.get(k).unwrap_or(&serde_json::Value::Null))
}

/// Whether a path belongs to the API (JSON problems) rather than the web UI (HTML pages).
fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/healthz" || path == "/metrics"
}

/// Unknown paths: a problem document under the API, a page in the web UI. A web path with a
/// trailing slash goes to the page without it.
pub async fn not_found(uri: axum::http::Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    // `/api/` is the docs page's address with a slash, not a path of the API.
    if is_api(path) && path != "/api/" {
        return crate::error::ApiError::new(
            suanli_core::error::ErrorCode::NotFound,
            "no such path; the API lives under /api/v1 (GET /api/v1/openapi.json describes it)",
        )
        .into_response();
    }
    if path.len() > 1 && path.ends_with('/') {
        let query = uri.query().map_or(String::new(), |q| format!("?{q}"));
        return Redirect::permanent(&format!("{}{query}", path.trim_end_matches('/'))).into_response();
    }
    let lang = lang_of(&LangQuery { lang: None }, &headers).0;
    let body = format!(
        r#"<h1>{}</h1><p>{}</p><p><a href="/">{}</a></p>"#,
        lang.t("找不到这个页面", "Page not found"),
        lang.t("地址可能输错了，或者页面已经移走。", "The address may be mistyped, or the page has moved."),
        lang.t("返回总览", "Back to the overview")
    );
    (StatusCode::NOT_FOUND, Html(page(lang, "404", None, &body))).into_response()
}

/// A method a path does not take: under the API a problem document; in the web UI a GET of a
/// form's target (a language link after a form error) goes to the page the form is on.
pub async fn not_allowed(method: axum::http::Method, uri: axum::http::Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if is_api(path) {
        return crate::error::ApiError::new(suanli_core::error::ErrorCode::MethodNotAllowed, "this method is not allowed on this path")
            .into_response();
    }
    if method == axum::http::Method::GET {
        let query = uri.query().map_or(String::new(), |q| format!("?{q}"));
        return Redirect::to(&format!("{}{query}", page_of_form(path))).into_response();
    }
    let lang = lang_of(&LangQuery { lang: None }, &headers).0;
    let body = format!(
        r#"<h1>{}</h1><p><a href="/">{}</a></p>"#,
        lang.t("此页面不支持这个操作", "This page does not accept that request"),
        lang.t("返回总览", "Back to the overview")
    );
    (StatusCode::METHOD_NOT_ALLOWED, Html(page(lang, "405", None, &body))).into_response()
}

/// An OpenAPI tag (a group of the API's paths) by what it covers, in the page's language.
fn api_tag(lang: Lang, tag: &str) -> String {
    let (zh, en) = match tag {
        "agents" => ("中心代理", "Centre agents"),
        "billing" => ("账单与结算", "Bills and settlement"),
        "city" => ("城市总览", "The city"),
        "data" => ("数据开放", "Data sharing"),
        "energy" => ("能耗监测", "Energy"),
        "incentives" => ("奖补与算力伙伴", "Incentives and partners"),
        "jobs" => ("作业", "Jobs"),
        "ledger" => ("账本", "The ledger"),
        "models" => ("模型服务", "Models"),
        "ops" => ("运维", "Operations"),
        "registry" => ("登记", "Registry"),
        "tenants" => ("企业与用户", "Enterprises and users"),
        "vouchers" => ("算力券", "Vouchers"),
        other => return format!(r#"<span lang="en">{}</span>"#, esc(other)),
    };
    format!(r#"{} <code>{}</code>"#, lang.t(zh, en), esc(tag))
}

/// The pages a GET may open (`*` one segment of the path): what `page_of_form` walks back to.
/// Keep in step with the GET routes of `routes` in `web/routes.rs`.
pub(crate) const PAGES: &[&str] = &[
    "/",
    "/wall",
    "/sign-in",
    "/jobs",
    "/jobs/*",
    "/jobs/*/cancel",
    "/bills/*",
    "/vouchers",
    "/energy",
    "/centres",
    "/centres/*",
    "/my-centres",
    "/registry",
    "/models",
    "/partners",
    "/ledger",
    "/data",
    "/data/sets/*",
    "/incentives",
    "/incentives/applications/*",
    "/api",
];

/// The page a form's target belongs to: the path itself, or failing that the nearest page up
/// its segments (`/registry/centre` → `/registry`, `/centres/ctr_…/pools/pool_…/price` → the
/// centre, `/vouchers/applications/…/approve` → `/vouchers`); `/` at the end.
fn page_of_form(path: &str) -> String {
    let matches = |p: &str, pattern: &str| {
        let (a, b): (Vec<&str>, Vec<&str>) = (p.split('/').collect(), pattern.split('/').collect());
        a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| (*y == "*" && !x.is_empty()) || x == y)
    };
    let mut p = path.trim_end_matches('/');
    while !p.is_empty() {
        if PAGES.iter().any(|pattern| matches(p, pattern)) {
            return p.to_string();
        }
        p = &p[..p.rfind('/').unwrap_or(0)];
    }
    "/".to_string()
}

/// `GET /api`: the API described for people, from the OpenAPI document (which stays at
/// `/api/v1/openapi.json` for programs).
pub async fn api_docs(State(s): State<AppState>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, set) = lang_of(&q, &headers);
    let caller = signed_in(&s, &headers).await;
    let doc: serde_json::Value = serde_json::from_str(&crate::openapi::document()).unwrap_or_default();
    let mut body = format!(
        r#"<h1>{}</h1><p>{} <a href="/api/v1/openapi.json"><code>/api/v1/openapi.json</code></a></p>"#,
        lang.t("接口文档", "The API"),
        lang.t(
            "所有接口位于 <code>/api/v1</code>，请求携带 <code>Authorization: Bearer &lt;令牌&gt;</code>，错误以 <code>application/problem+json</code> 返回，并带稳定的错误码（<code>code</code>）。机器可读的 OpenAPI 3.1 文档：",
            "Everything is under <code>/api/v1</code>; requests carry <code>Authorization: Bearer &lt;token&gt;</code>; errors are <code>application/problem+json</code> with a stable <code>code</code>. The machine-readable OpenAPI 3.1 document:"
        )
    );
    if lang == Lang::Zh {
        // The descriptions come from the OpenAPI document, which is written in English for programs and their authors.
        body.push_str(
            r#"<p id="api-english">下表各接口的说明取自 OpenAPI 文档，该文档面向程序及其开发者，以英文撰写；方法和路径是接口本身的名称。</p>"#,
        );
    }
    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let tag = op["tags"][0].as_str().unwrap_or("").to_string();
            let what = op["summary"].as_str().or(op["description"].as_str()).unwrap_or("").to_string();
            rows.push((tag, path.clone(), method.to_uppercase(), what));
        }
    }
    rows.sort();
    let mut last_tag = String::new();
    for (tag, path, method, what) in rows {
        if tag != last_tag {
            if !last_tag.is_empty() {
                body.push_str("</tbody></table></div>");
            }
            let _ = write!(body, "<h2>{}</h2>", api_tag(lang, &tag));
            body.push_str(&thead(&[lang.t("方法", "Method"), lang.t("路径", "Path"), lang.t("说明", "What it does")]));
            last_tag = tag;
        }
        // English text on a Chinese page is marked as such (the paragraph above says why).
        let _ = write!(
            body,
            r#"<tr><td><code>{}</code></td><td><code>{}</code></td><td lang="en">{}</td></tr>"#,
            esc(&method),
            esc(&path),
            esc(&what)
        );
    }
    if !last_tag.is_empty() {
        body.push_str("</tbody></table></div>");
    }
    with_cookie(Html(page(lang, lang.t("接口文档", "The API"), caller.as_ref(), &body)).into_response(), set)
}

#[cfg(test)]
mod tests {
    use super::page_of_form;

    #[test]
    fn a_get_of_a_form_target_goes_to_the_page_the_form_is_on() {
        for (target, page) in [
            ("/registry/centre", "/registry"),
            ("/registry/pool", "/registry"),
            ("/vouchers/apply", "/vouchers"),
            ("/vouchers/applications/vap_1/approve", "/vouchers"),
            ("/centres/ctr_1/pools/pool_1/price", "/centres/ctr_1"),
            ("/centres/ctr_1/backend", "/centres/ctr_1"),
            ("/jobs/job_1/cancel", "/jobs/job_1/cancel"),
            ("/jobs", "/jobs"),
            ("/models/keys/mk_1/rotate", "/models"),
            ("/data/requests/drq_1/decision", "/data"),
            ("/data/deliveries/dlv_1/link", "/data"),
            ("/incentives/applications/iap_1/review", "/incentives/applications/iap_1"),
            ("/sign-out", "/"),
            ("/nothing/here", "/"),
        ] {
            assert_eq!(page_of_form(target), page, "{target}");
        }
    }
}
