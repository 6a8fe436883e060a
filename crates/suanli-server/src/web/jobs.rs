//! The jobs pages: the jobs a role may see, a tenant's submit form with its quote step (cheapest, fastest, greenest before submitting), and a job's page with its placement explanation and its time-sliced runs.

use super::{ENDED_MARK, Lang, LangQuery, esc, gate, labels, notice, page, table, thead_id, with_cookie};
use crate::AppState;
use crate::auth::Caller;
use crate::dto::{DecisionOut, QuoteOut};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt::Write;
use suanli_core::id::CentreId;
use suanli_core::job::{Goal, Job, JobKind, JobSpec, JobState, Segment};
use suanli_core::tenant::Role;
use suanli_ledger::records::Bill;
use suanli_sched::EstimateView;
use suanli_store::JobFilter;
use suanli_store::listing::{Cut, JobListing, JobOrder, MAX_ROWS};

#[derive(Debug, Deserialize)]
pub struct JobsQuery {
    pub lang: Option<String>,
    /// A job just submitted (after the redirect of the submit form).
    pub submitted: Option<String>,
}

/// Centre names, looked up once per page.
#[derive(Default)]
struct Names(HashMap<String, String>);

impl Names {
    async fn of(&mut self, s: &AppState, lang: Lang, id: &str) -> String {
        if let Some(n) = self.0.get(id) {
            return n.clone();
        }
        let name = match CentreId::parse(id) {
            Ok(cid) => s.store.centre(&cid).await.ok().flatten().map(|c| lang.name(&c.name, &c.name_en).to_string()),
            Err(_) => None,
        }
        .unwrap_or_else(|| id.to_string());
        self.0.insert(id.to_string(), name.clone());
        name
    }
}

/// The values of the submit form (kept across the quote step), read by [`read_form`].
#[derive(Debug, Clone)]
pub struct JobForm {
    name: String,
    accelerators: u32,
    hours: f64,
    min_tflops: Option<f64>,
    /// `quote` or `submit`.
    step: Option<String>,
    goal: Option<String>,
    /// A form the server could not read: what was typed, and the error beside its field.
    refused: Option<Refused>,
}

/// What a refused job form had typed (every field as text) and which field is wrong, and why.
#[derive(Debug, Clone)]
struct Refused {
    values: HashMap<String, String>,
    field: &'static str,
    error: &'static str,
}

impl Default for JobForm {
    fn default() -> JobForm {
        JobForm { name: "finetune".into(), accelerators: 8, hours: 1.0, min_tflops: Some(300.0), step: None, goal: None, refused: None }
    }
}

/// Reads a posted job form field by field: the form, or the form to show again with what was
/// typed kept and the first wrong field's error beside it.
fn read_form(lang: Lang, body: &str) -> Result<JobForm, Box<JobForm>> {
    let values = super::operate::fields(body);
    let text = |k: &str| values.get(k).map_or("", |v| v.trim());
    let refuse = |field: &'static str, error: &'static str| {
        Box::new(JobForm { refused: Some(Refused { values: values.clone(), field, error }), ..JobForm::default() })
    };
    let name = text("name");
    if name.is_empty() {
        return Err(refuse("name", lang.t("请填写作业名称。", "Give the job a name.")));
    }
    let Some(accelerators) = text("accelerators").parse::<u32>().ok().filter(|n| (1..=1024).contains(n)) else {
        return Err(refuse(
            "accelerators",
            lang.t("加速卡数量须为 1 到 1024 之间的整数。", "Accelerators must be a whole number from 1 to 1024."),
        ));
    };
    let Some(hours) = text("hours").parse::<f64>().ok().filter(|h| h.is_finite() && *h > 0.0) else {
        return Err(refuse(
            "hours",
            lang.t("预计时长须为大于 0 的小时数，如 1.5。", "Estimated hours must be a number above 0, such as 1.5."),
        ));
    };
    let min_tflops = match text("min_tflops") {
        "" => None,
        t => match t.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0) {
            Some(v) => Some(v),
            None => {
                return Err(refuse(
                    "min_tflops",
                    lang.t("最低 FP16 TFLOPS 须为不小于 0 的数，或留空。", "Minimum FP16 TFLOPS must be a number of 0 or more, or empty."),
                ));
            }
        },
    };
    let opt = |k: &str| values.get(k).cloned();
    Ok(JobForm { name: name.to_string(), accelerators, hours, min_tflops, step: opt("step"), goal: opt("goal"), refused: None })
}

impl JobForm {
    fn spec(&self) -> JobSpec {
        let mut spec = JobSpec::new(self.name.trim(), JobKind::Training, self.accelerators, (self.hours * 3600.0).round() as i64);
        spec.min_fp16_tflops = self.min_tflops.filter(|t| *t > 0.0);
        spec.goal = self.goal.as_deref().and_then(|g| Goal::ALL.into_iter().find(|x| x.as_str() == g)).unwrap_or_default();
        spec
    }
}

/// `GET /jobs`.
pub async fn jobs_page(State(s): State<AppState>, Query(q): Query<JobsQuery>, headers: HeaderMap) -> Response {
    let lq = LangQuery { lang: q.lang.clone() };
    match gate(&s, &lq, &headers).await {
        Ok((lang, set, c)) => {
            let done = q.submitted.as_deref().filter(|id| suanli_core::id::JobId::parse(id).is_ok()).map(|id| {
                format!(
                    r#"<p class="ok" role="status">{} <a class="job-link" href="/jobs/{id}">{id}</a></p>"#,
                    lang.t("已提交：", "Submitted:"),
                    id = esc(id)
                )
            });
            let html = render_jobs(&s, lang, &c, &JobForm::default(), None, done.as_deref()).await;
            with_cookie(Html(html).into_response(), set)
        }
        Err(r) => r,
    }
}

fn hours(lang: Lang, s: f64) -> String {
    if s < 60.0 { lang.t("立即", "now").to_string() } else { format!("{:.1} {}", s / 3600.0, lang.t("小时", "h")) }
}

async fn render_jobs(s: &AppState, lang: Lang, c: &Caller, form: &JobForm, quote: Option<&QuoteOut>, msg: Option<&str>) -> String {
    let mut names = Names::default();
    let mut body = format!("<h1>{}</h1>", lang.t("作业", "Jobs"));
    body.push_str(msg.unwrap_or_default());
    if c.role() == Role::Tenant {
        body.push_str(&job_form(lang, form));
        if let Some(q) = quote {
            body.push_str(&quotes(s, lang, form, q, &mut names).await);
        }
        body.push_str("</form>");
    }
    body.push_str(&job_table(s, lang, c).await);
    page(lang, lang.t("作业", "Jobs"), Some(c), &body)
}

/// The id of the quotes' box. The quote button posts to `/jobs#quote-result`, so the page that
/// answers opens at the quotes with the box focused (it has `tabindex="-1"`; suanli.js makes
/// sure), and a screen reader reads them out rather than the top of the page.
const QUOTE_RESULT: &str = "quote-result";

/// A tenant's job form as typed so far, up to its quote button (the form is closed by the caller);
/// a refused form shows what was typed and the error beside its field.
fn job_form(lang: Lang, form: &JobForm) -> String {
    let value = |k: &str, read: String| match &form.refused {
        Some(r) => esc(r.values.get(k).map_or("", String::as_str)),
        None => read,
    };
    // `aria-invalid` and the error's id on the wrong input, the error itself after it.
    let mark = |k: &str| match &form.refused {
        Some(r) if r.field == k => format!(r#" aria-invalid="true" aria-describedby="{k}-error""#),
        _ => String::new(),
    };
    let error = |k: &str| match &form.refused {
        Some(r) if r.field == k => format!(r#"<p id="{k}-error" class="error" role="alert">{}</p>"#, esc(r.error)),
        _ => String::new(),
    };
    format!(
        r#"<h2>{h}</h2><form id="job-form" method="post" action="/jobs"><label for="name">{n}</label><input id="name" name="name" required maxlength="100" value="{nv}"{ni}>{ne}
<label for="accelerators">{a}</label><input id="accelerators" name="accelerators" type="number" min="1" max="1024" value="{av}" required{ai}>{ae}
<label for="hours">{d}</label><input id="hours" name="hours" type="number" min="0.01" step="0.01" value="{hv}" required{hi}>{he}
<label for="min_tflops">{t}</label><input id="min_tflops" name="min_tflops" type="number" min="0" step="1" value="{tv}"{ti}>{te}
<p><button id="quote" type="submit" name="step" value="quote" formaction="/jobs#{QUOTE_RESULT}">{b}</button></p>"#,
        h = lang.t("提交作业", "Submit a job"),
        n = lang.t("名称", "Name"),
        nv = value("name", esc(&form.name)),
        ni = mark("name"),
        ne = error("name"),
        a = lang.t("加速卡数量", "Accelerators"),
        av = value("accelerators", form.accelerators.to_string()),
        ai = mark("accelerators"),
        ae = error("accelerators"),
        d = lang.t("预计时长（小时）", "Estimated hours"),
        hv = value("hours", form.hours.to_string()),
        hi = mark("hours"),
        he = error("hours"),
        t = lang.t("最低 FP16 TFLOPS", "Minimum FP16 TFLOPS"),
        tv = value("min_tflops", form.min_tflops.map_or(String::new(), |t| t.to_string())),
        ti = mark("min_tflops"),
        te = error("min_tflops"),
        b = lang.t("获取报价", "Get quotes"),
    )
}

/// The quotes for the form's job, a goal to choose for each, and the button that submits with it.
async fn quotes(s: &AppState, lang: Lang, form: &JobForm, q: &QuoteOut, names: &mut Names) -> String {
    let mut body = format!(
        r#"<fieldset id="{QUOTE_RESULT}" tabindex="-1"><legend>{}</legend>{}"#,
        lang.t("报价：选择一个目标后提交", "Quotes: choose a goal, then submit"),
        thead_id(
            "quotes",
            &[
                lang.t("目标", "Goal"),
                lang.t("算力中心", "Centre"),
                lang.t("加速卡", "Accelerator"),
                lang.t("单价（元/卡时）", "Price (¥/accelerator-hour)"),
                lang.t("预计费用", "Estimated cost"),
                lang.t("预计开始", "Starts in"),
                lang.t("碳排放", "Carbon"),
            ]
        )
    );
    let rows: [(&str, &Option<EstimateView>); 3] = [("cheapest", &q.cheapest), ("fastest", &q.fastest), ("greenest", &q.greenest)];
    let chosen = form.goal.as_deref().unwrap_or("cheapest");
    for (goal, est) in rows {
        let Some(e) = est else { continue };
        let centre = names.of(s, lang, &e.centre_id).await;
        let _ = write!(
            body,
            r#"<tr><td><input type="radio" id="goal-{goal}" name="goal" value="{goal}"{chk}><label class="inline" for="goal-{goal}">{gn}</label></td><td>{centre}</td><td>{acc}</td><td>{price}</td><td>{cost}</td><td>{wait}</td><td>{co2:.1} kg</td></tr>"#,
            chk = if goal == chosen { " checked" } else { "" },
            gn = labels::goal(lang, goal),
            centre = esc(&centre),
            acc = labels::accelerator(s, &e.accelerator),
            price = lang.fen_str(&e.price_per_hour),
            cost = lang.fen_str(&e.cost),
            wait = hours(lang, e.wait_s),
            co2 = e.carbon_kg,
        );
    }
    let _ = write!(
        body,
        r#"</tbody></table></div><p><button id="submit-job" type="submit" name="step" value="submit">{}</button></p></fieldset>"#,
        lang.t("按所选目标提交", "Submit with the chosen goal")
    );
    body
}

/// The listing a served jobs table's view asks for: its search, its state and centre filters
/// (columns 2 and 3) and its order.
fn job_listing(view: &table::ServedView, lang: Lang) -> JobListing {
    let mut filter = JobFilter::default();
    let mut centre_name = String::new();
    for (col, v) in &view.cols {
        match col {
            2 => filter.states.extend(JobState::parse(v)),
            // A centre chosen from the list, or part of a name typed where the list is too long.
            3 => match CentreId::parse(v) {
                Ok(id) => filter.centre_id = Some(id),
                Err(_) => centre_name.clone_from(v),
            },
            _ => {}
        }
    }
    let (order, desc) = match view.sort {
        None => (JobOrder::Id, true),
        Some((col, asc)) => {
            let order = [JobOrder::Id, JobOrder::Name, JobOrder::State, JobOrder::Centre, JobOrder::Charge, JobOrder::Voucher];
            (order.get(col).copied().unwrap_or_default(), !asc)
        }
    };
    JobListing {
        filter,
        search: view.search.clone(),
        centre_name,
        order,
        centre_en: lang == Lang::En,
        cut: Cut { offset: view.offset, limit: view.limit, desc },
    }
}

/// Every job the caller may see, a page at a time from the store (searched by id or name,
/// filtered by state and centre, sorted by any column), with what the tenant is billed: the
/// bill's amount, not the metered cost (a job failed by its centre is billed ¥0.00).
async fn job_table(s: &AppState, lang: Lang, c: &Caller) -> String {
    let view = table::served_view("jobs", MAX_ROWS);
    let mut listing = job_listing(&view, lang);
    // A user bound to nothing sees no jobs (the one visibility rule refuses it).
    let Ok(caller) = suanli_app::Caller::of(&c.0) else { return String::new() };
    let mut listed = suanli_app::jobs::listing(&s.store, &caller, listing.clone()).await.unwrap_or_default();
    if listed.rows.is_empty() && listed.total > 0 {
        // Past the last page: show the last one.
        listing.cut.offset = ((listed.total - 1) / table::PAGE_ROWS as u64 * table::PAGE_ROWS as u64) as u32;
        listed = suanli_app::jobs::listing(&s.store, &caller, listing).await.unwrap_or_default();
    }
    table::serve("jobs", table::Served { total: listed.total, choices: job_choices(s, lang, &caller).await });
    let mut body = format!(
        "<h2>{}</h2>{}",
        lang.t("我可见的作业", "Jobs you can see"),
        thead_id(
            "jobs",
            &[
                lang.t("作业", "Job"),
                lang.t("名称", "Name"),
                lang.t("状态", "State"),
                lang.t("算力中心", "Centre"),
                lang.t("账单金额（应付）", "Billed amount"),
                lang.t("算力券支付", "Paid by voucher"),
            ]
        )
    );
    for line in &listed.rows {
        let j = &line.job;
        let centre = line.centre.as_ref().map_or("-", |(zh, en)| lang.name(zh, en));
        let _ = write!(
            body,
            r#"<tr><td><a class="id" href="/jobs/{id}">{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(&j.spec.name),
            labels::job_state(lang, j.state),
            esc(centre),
            line.bill.as_ref().map_or("-".to_string(), |b| lang.fen(b.charge)),
            line.bill.as_ref().map_or("-".to_string(), |b| lang.fen(b.voucher)),
            id = esc(j.id.as_str()),
        );
    }
    body.push_str("</tbody></table></div>");
    body
}

/// The jobs table's filters: every state by its label, and the centres the caller's jobs may
/// run at (a provider's own, else the city's) by name.
async fn job_choices(s: &AppState, lang: Lang, caller: &suanli_app::Caller) -> Vec<(usize, Vec<(String, String)>)> {
    let states = JobState::ALL.iter().map(|st| (st.as_str().to_string(), labels::job_state(lang, *st))).collect();
    let provider = match caller {
        suanli_app::Caller::Provider { provider, .. } => Some(provider),
        _ => None,
    };
    let mut centres: Vec<(String, String)> = s
        .store
        .centres(provider)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.id.to_string(), lang.name(&c.name, &c.name_en).to_string()))
        .collect();
    super::collate::sort_by_text(lang, &mut centres, |c| c.1.as_str());
    vec![(2, states), (3, centres)]
}

/// `POST /jobs` (form): `step=quote` shows the quotes for the form's job; `step=submit`
/// submits it with the chosen goal and redirects to `/jobs?submitted=ID`.
pub async fn submit_job(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    // `m` is the notice as HTML: a plain message, or an error from the table.
    let fail = |status: StatusCode, form: &JobForm, m: String| {
        let (s, c, form) = (s.clone(), c.clone(), form.clone());
        async move { (status, Html(render_jobs(&s, lang, &c, &form, None, Some(&m)).await)).into_response() }
    };
    let Some(tenant) = c.0.tenant_id.clone().filter(|_| c.role() == Role::Tenant) else {
        return fail(
            StatusCode::FORBIDDEN,
            &JobForm::default(),
            notice(Some(lang.t("只有企业用户可以提交作业。", "Only tenants submit jobs.")), true),
        )
        .await;
    };
    let form = match read_form(lang, &body) {
        Ok(f) => f,
        Err(kept) => return fail(StatusCode::UNPROCESSABLE_ENTITY, &kept, String::new()).await,
    };
    let spec = form.spec();
    if form.step.as_deref() == Some("submit") {
        return match crate::api::jobs::create_job(&s, &c.0.actor(), tenant, spec).await {
            Ok(job) => Redirect::to(&format!("/jobs?submitted={}", job.id)).into_response(),
            Err(e) => fail(StatusCode::UNPROCESSABLE_ENTITY, &form, super::error_notice(lang, &e)).await,
        };
    }
    let quote = async {
        spec.validate(&s.catalogue, &s.regions, s.ids.now_ms())?;
        let q = s.engine.quote(&tenant, &spec, 20).await?;
        if q.options.is_empty() {
            return Err(crate::error::ApiError::new(
                suanli_core::ErrorCode::JobUnsatisfiable,
                "no pool in the city could run this job now; change the accelerators or the minimum TFLOPS",
            ));
        }
        Ok(QuoteOut::from(&q))
    }
    .await;
    match quote {
        Ok(q) => Html(render_jobs(&s, lang, &c, &form, Some(&q), None).await).into_response(),
        Err(e) => fail(StatusCode::UNPROCESSABLE_ENTITY, &form, super::error_notice(lang, &e)).await,
    }
}

/// `GET /jobs/{id}`: a job with its state, cost, bill and placement explanation.
pub async fn job_page(State(s): State<AppState>, Path(id): Path<String>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, set, c) = match gate(&s, &q, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let job: Job = match crate::api::jobs::visible_job(&s, &c, &id).await {
        Ok(j) => j,
        Err(_) => {
            let body = format!("<h1>{}</h1><p>{}</p>", lang.t("找不到作业", "No such job"), esc(&id));
            return with_cookie((StatusCode::NOT_FOUND, Html(page(lang, lang.t("作业", "Jobs"), Some(&c), &body))).into_response(), set);
        }
    };
    let mut names = Names::default();
    // An ended job's page has nothing more to show: it is not refreshed (see `live_attrs`).
    let ended = if job.state.is_terminal() { format!(" {ENDED_MARK}") } else { String::new() };
    let mut body = format!("<h1{ended}>{}</h1>", esc(&job.spec.name));
    let centre = match &job.centre_id {
        Some(cid) => names.of(&s, lang, cid.as_str()).await,
        None => "-".into(),
    };
    let bill = s.store.bill_for_job(&job.id).await.ok().flatten();
    let decision = s.jobs.decision(&job.id).await.ok().flatten().map(crate::dto::DecisionOut::from);
    body.push_str(&job_facts(&s, lang, &job, &centre, bill.as_ref(), decision.as_ref()));
    body.push_str(&placement(&s, lang, decision.as_ref(), &mut names).await);
    let segments = s.store.job_segments(&job.id).await.unwrap_or_default();
    body.push_str(&runs(&s, lang, &segments, &mut names).await);
    if may_cancel(&c, &job) {
        let _ = write!(
            body,
            r#"<p><a class="button" id="cancel-job" href="/jobs/{}/cancel">{}</a></p>"#,
            esc(job.id.as_str()),
            lang.t("取消此作业…", "Cancel this job…")
        );
    }
    if let Some(d) = &decision {
        let _ = write!(
            body,
            "<p>{} {} · {} {}</p>",
            lang.t("调度策略：", "Policy:"),
            labels::policy(lang, &d.policy),
            lang.t("回填：", "Backfilled:"),
            if d.backfilled { lang.t("是", "yes") } else { lang.t("否", "no") }
        );
    }
    with_cookie(Html(page(lang, lang.t("作业", "Jobs"), Some(&c), &body)).into_response(), set)
}

/// A job's facts: its spec, times, what it was quoted and cost, and how the bill was paid.
fn job_facts(s: &AppState, lang: Lang, job: &Job, centre: &str, bill: Option<&Bill>, decision: Option<&DecisionOut>) -> String {
    // The quote of the pool it ran on against what it cost, and the rule that decided the bill.
    let quoted = decision.and_then(|d| suanli_core::money::Fen::parse_yuan(&d.chosen.compute_cost).ok());
    let acc_hours = job.usage_s.map(|u| u as f64 * job.spec.accelerators as f64 / 3600.0);
    let rows: Vec<(&str, String)> = vec![
        (lang.t("作业编号", "Job id"), esc(job.id.as_str())),
        (lang.t("状态", "State"), labels::job_state(lang, job.state).to_string()),
        (lang.t("类型", "Kind"), labels::job_kind(lang, job.spec.kind).to_string()),
        (lang.t("目标", "Goal"), labels::goal(lang, job.spec.goal.as_str()).to_string()),
        (lang.t("加速卡", "Accelerators"), job.spec.accelerators.to_string()),
        (lang.t("算力中心", "Centre"), esc(centre)),
        (lang.t("提交时间", "Submitted"), labels::when(Some(job.submitted_ms))),
        (lang.t("开始时间", "Started"), labels::when(job.started_ms)),
        (lang.t("结束时间", "Finished"), labels::when(job.finished_ms)),
        (lang.t("报价（所在资源池）", "Quoted (for its pool)"), quoted.map_or("-".into(), |f| lang.fen(f))),
        (lang.t("卡时", "Accelerator-hours"), acc_hours.map_or("-".into(), |h| format!("{h:.2}"))),
        (lang.t("按用量计价", "Metered at the pool's price"), job.cost.map_or("-".into(), |f| lang.fen(f))),
        (
            lang.t("计费规则", "Billing rule"),
            bill.map_or_else(|| lang.t("尚未出账", "not billed yet").into(), |b| labels::charge_rule(lang, b.rule).into()),
        ),
        (
            lang.t("账单金额", "Billed"),
            bill.map_or("-".into(), |b| format!(r#"<span id="billed">{}</span> · {}"#, lang.fen(b.charge), super::bills::link(lang, b))),
        ),
        (lang.t("算力券支付", "Paid by voucher"), bill.map_or("-".into(), |b| format!("{} ({}%)", lang.fen(b.voucher), b.ratio_pct))),
        (lang.t("现金支付", "Paid in cash"), bill.map_or("-".into(), |b| lang.fen(b.cash))),
        (lang.t("故障方", "Fault"), job.fault.map_or("-".into(), |f| labels::fault(lang, f).into())),
        (lang.t("说明", "Reason"), job.reason.as_ref().map_or("-".into(), |r| labels::job_reason(s, lang, r))),
    ];
    let mut body = String::from(r#"<div class="scroll"><table class="facts"><tbody>"#);
    for (k, v) in rows {
        let _ = write!(body, r#"<tr><th scope="row">{k}</th><td>{v}</td></tr>"#);
    }
    body.push_str("</tbody></table></div>");
    body
}

/// Why this centre: the chosen pool and the alternatives the round weighed, with their scores.
async fn placement(s: &AppState, lang: Lang, decision: Option<&DecisionOut>, names: &mut Names) -> String {
    let mut body = format!(
        "<h2>{}</h2>{}",
        lang.t("调度说明：为什么是这里", "Why this centre: the placement and its alternatives"),
        thead_id(
            "explanation",
            &[
                lang.t("选择", "Choice"),
                lang.t("算力中心", "Centre"),
                lang.t("加速卡", "Accelerator"),
                lang.t("预计费用", "Estimated cost"),
                lang.t("碳排放", "Carbon"),
                lang.t("综合得分（越低越好）", "Score (lower is better)"),
            ]
        )
    );
    let options: Vec<(bool, EstimateView)> = match decision {
        Some(d) => std::iter::once((true, d.chosen.clone())).chain(d.alternatives.iter().cloned().map(|a| (false, a))).collect(),
        None => Vec::new(),
    };
    for (chosen, e) in &options {
        let name = names.of(s, lang, &e.centre_id).await;
        let _ = write!(
            body,
            r#"<tr{cls}><td>{mark}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1} kg</td><td>{:.0}</td></tr>"#,
            esc(&name),
            labels::accelerator(s, &e.accelerator),
            lang.fen_str(&e.cost),
            e.carbon_kg,
            e.score_yuan,
            cls = if *chosen { r#" class="chosen""# } else { "" },
            mark = if *chosen { lang.t("✔ 已选", "✔ chosen") } else { lang.t("备选", "alternative") },
        );
    }
    if options.is_empty() {
        let _ = write!(body, r#"<tr><td colspan="6">{}</td></tr>"#, lang.t("尚未调度。", "Not placed yet."));
    }
    body.push_str("</tbody></table></div>");
    body
}

/// A time-sliced job's stopped runs, oldest first: where each ran, what it cost, how and why it
/// ended (its last run is the job's own facts above). Nothing for a job that never stopped.
async fn runs(s: &AppState, lang: Lang, segments: &[Segment], names: &mut Names) -> String {
    if segments.is_empty() {
        return String::new();
    }
    let mut body = format!(
        "<h2>{}</h2>{}",
        lang.t("分时运行记录", "Time-sliced runs"),
        thead_id(
            "segments",
            &[
                lang.t("段", "Run"),
                lang.t("算力中心", "Centre"),
                lang.t("加速卡", "Accelerator"),
                lang.t("开始时间", "Started"),
                lang.t("结束时间", "Ended"),
                lang.t("费用", "Cost"),
                lang.t("结束方式", "Ended by"),
                lang.t("说明", "Reason"),
            ]
        )
    );
    for seg in segments {
        let centre = names.of(s, lang, seg.centre_id.as_str()).await;
        let _ = write!(
            body,
            r#"<tr data-end="{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            seg.end.as_str(),
            seg.seq,
            esc(&centre),
            labels::accelerator(s, &seg.accelerator),
            labels::when(Some(seg.started_ms)),
            labels::when(Some(seg.ended_ms)),
            lang.fen(seg.cost),
            labels::segment_end(lang, seg.end),
            labels::job_reason(s, lang, &seg.reason),
        );
    }
    body.push_str("</tbody></table></div>");
    body
}

/// Whether the page offers to cancel: the job's own tenant or the operator, while it has not ended.
fn may_cancel(c: &Caller, job: &Job) -> bool {
    let own = c.role() == Role::Tenant && c.0.tenant_id.as_ref() == Some(&job.tenant_id);
    (own || c.role() == Role::Operator) && !job.state.is_terminal()
}

/// The confirmation before cancelling (an irreversible action), with an optional reason.
async fn render_cancel(s: &AppState, lang: Lang, c: &Caller, id: &str, msg: Option<&str>, reason: &str) -> Response {
    let job = match crate::api::jobs::visible_job(s, c, id).await {
        Ok(j) => j,
        Err(_) => {
            let body = format!("<h1>{}</h1><p>{}</p>", lang.t("找不到作业", "No such job"), esc(id));
            return (StatusCode::NOT_FOUND, Html(page(lang, lang.t("作业", "Jobs"), Some(c), &body))).into_response();
        }
    };
    let mut body = format!("<h1>{}</h1>", lang.t("取消作业？", "Cancel the job?"));
    let _ = write!(
        body,
        "<p>{} <strong>{}</strong> ({}) · {}</p><p>{}</p>",
        lang.t("作业", "Job"),
        esc(&job.spec.name),
        esc(job.id.as_str()),
        labels::job_state(lang, job.state),
        lang.t(
            "取消后不能恢复。运行中的作业按已运行时长计费；尚未开始的作业不收费，冻结的金额退回。",
            "This cannot be undone. A running job is billed for what it ran; one that has not started costs nothing and its hold is released."
        )
    );
    if let Some(m) = msg {
        body.push_str(m);
    }
    if may_cancel(c, &job) {
        let _ = write!(
            body,
            r#"<form method="post" action="/jobs/{id}/cancel"><label for="cancel-reason">{}</label> <input id="cancel-reason" name="reason" maxlength="200" value="{}"> <button type="submit" class="danger">{}</button> <a href="/jobs/{id}">{}</a></form>"#,
            lang.t("原因（可选）", "Reason (optional)"),
            esc(reason),
            lang.t("确认取消", "Yes, cancel it"),
            lang.t("返回，不取消", "Keep it"),
            id = esc(job.id.as_str()),
        );
    } else {
        let _ = write!(body, r#"<p><a href="/jobs/{}">{}</a></p>"#, esc(job.id.as_str()), lang.t("返回作业", "Back to the job"));
    }
    Html(page(lang, lang.t("作业", "Jobs"), Some(c), &body)).into_response()
}

/// `GET /jobs/{id}/cancel`: asks before cancelling.
pub async fn cancel_page(State(s): State<AppState>, Path(id): Path<String>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, set, c) = match gate(&s, &q, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    with_cookie(render_cancel(&s, lang, &c, &id, None, "").await, set)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelForm {
    #[serde(default)]
    reason: String,
}

/// `POST /jobs/{id}/cancel`: cancels through the jobs service, then back to the job's page.
pub async fn cancel_job(State(s): State<AppState>, Path(id): Path<String>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let form = serde_urlencoded::from_str::<CancelForm>(&body).unwrap_or_default();
    let done = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let job = s.jobs.cancel(&caller, &suanli_core::id::JobId::parse(&id)?, Some(&form.reason)).await?;
        Ok::<_, crate::error::ApiError>(job)
    }
    .await;
    match done {
        Ok(job) => Redirect::to(&format!("/jobs/{}", job.id)).into_response(),
        Err(e) => {
            let mut r = render_cancel(&s, lang, &c, &id, Some(&super::error_notice(lang, &e)), &form.reason).await;
            if r.status() == StatusCode::OK {
                *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            }
            r
        }
    }
}
