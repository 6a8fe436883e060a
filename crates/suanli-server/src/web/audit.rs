//! The audit trail in the browser for the operator and the regulator: who did what to which subject, when (Beijing time), with its detail; filtered by action, actor, subject and time range, a page at a time from the store through the same service as `GET /api/v1/audit` and `suanli audit`.

use super::range::{Choice, Range, range_picker};
use super::{Lang, LangQuery, esc, gate, labels, page, table, thead_id, with_cookie};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::fmt::Write;
use suanli_core::tenant::Role;
use suanli_store::listing::{AuditListing, AuditOrder, Cut, MAX_ROWS};

/// Every action the platform records, with its Chinese and English labels.
const ACTIONS: &[(&str, &str, &str)] = &[
    ("job.submit", "提交作业", "job submitted"),
    ("job.placed", "作业已调度", "job placed"),
    ("job.started", "作业开始运行", "job started"),
    ("job.succeeded", "作业完成", "job succeeded"),
    ("job.failed", "作业失败", "job failed"),
    ("job.cancel", "请求取消作业", "job cancellation asked"),
    ("job.cancelled", "作业已取消", "job cancelled"),
    ("job.metered", "作业已计量", "job metered"),
    ("job.billed", "作业已出账", "job billed"),
    ("job.hold", "预留费用", "funds held"),
    ("job.hold_released", "释放预留", "hold released"),
    ("job.leased", "分时租约", "lease granted"),
    ("job.preempted", "作业被抢占", "job preempted"),
    ("job.migrated", "作业已迁移", "job migrated"),
    ("job.replaced", "作业重新调度", "job placed again"),
    ("job.restarted", "作业重新启动", "job restarted"),
    ("centre.create", "登记算力中心", "centre registered"),
    ("centre.partner_status", "更改伙伴状态", "partner status changed"),
    ("centre.bind_backend", "绑定集群", "backend bound"),
    ("centre.unbind_backend", "解绑集群", "backend unbound"),
    ("centre.certification", "申报认证", "certification declared"),
    ("centre.green_power", "申报绿电", "green power declared"),
    ("centre.alert", "能耗告警", "energy alert"),
    ("pool.create", "登记资源池", "pool registered"),
    ("pool.price", "调整资源池价格", "pool price changed"),
    ("provider.create", "登记算力服务商", "provider registered"),
    ("provider.registration", "更改服务商登记", "provider registration changed"),
    ("provider.settle", "结算", "provider settled"),
    ("tenant.create", "登记企业", "enterprise registered"),
    ("user.create", "创建用户", "user created"),
    ("user.role", "更改用户角色", "user role changed"),
    ("voucher.apply", "申请算力券", "voucher applied for"),
    ("voucher.approve", "批准算力券", "voucher approved"),
    ("voucher.reject", "驳回算力券申请", "voucher application rejected"),
    ("programme.create", "设立算力券计划", "voucher programme opened"),
    ("programme.close", "关闭算力券计划", "voucher programme closed"),
    ("cash.top_up", "充值", "cash topped up"),
    ("ledger.transfers", "账本转账", "ledger transfers"),
    ("energy.ingest", "导入能耗读数", "energy readings ingested"),
    ("energy.meters", "登记电表", "meters registered"),
    ("energy.facts", "登记能耗基础信息", "energy facts registered"),
    ("model.register", "登记模型", "model registered"),
    ("model.deploy", "部署模型", "model deployed"),
    ("model.undeploy", "下线模型部署", "model undeployed"),
    ("model_key.revoke", "吊销模型密钥", "model key revoked"),
    ("model_key.rotate", "轮换模型密钥", "model key rotated"),
    ("model_key.create", "创建模型密钥", "model key created"),
    ("model_key.top_up", "模型密钥充值", "model key topped up"),
    ("data_policy.set", "设置数据策略", "data policy set"),
    ("data_set.register", "登记数据集", "data set registered"),
    ("data_set.upload", "上传数据集内容", "data set content uploaded"),
    ("data_request.create", "申请数据", "data requested"),
    ("data_delivery.create", "交付数据", "data delivered"),
    ("data_delivery.link", "生成下载链接", "download link made"),
    ("data_delivery.download", "下载数据", "data downloaded"),
    ("incentive.apply", "申请奖补", "incentive applied for"),
    ("incentive.assign", "分配评审专家", "expert assigned"),
    ("incentive.review", "专家评分", "expert scored"),
    ("incentive.rank", "奖补排序公示", "incentives ranked"),
    ("incentive.demo_publicity_over", "演示：公示期标记为结束", "demo: publicity marked over"),
    ("incentive.object", "提出异议", "objection raised"),
    ("incentive.resolve", "处理异议", "objection resolved"),
    ("incentive.decide", "奖补决定", "incentive decided"),
    ("incentive.carry", "奖补结转", "incentive carried over"),
    ("incentive.holidays", "设置节假日", "holidays set"),
    ("incentive_expert.add", "添加评审专家", "expert added"),
    ("incentive_programme.create", "设立奖补项目", "incentive programme created"),
    ("partners.config", "更改伙伴评分配置", "partner scoring changed"),
    ("registry.seed", "初始化登记", "registry seeded"),
    ("demo.seed", "初始化演示数据", "demo seeded"),
    ("web.sign_in", "网页登录", "web sign-in"),
];

/// An action's label in the page's language; one not in the table keeps its code.
pub fn action(lang: Lang, code: &str) -> String {
    ACTIONS.iter().find(|(c, _, _)| *c == code).map_or_else(|| code.to_string(), |(_, zh, en)| lang.t(zh, en).to_string())
}

/// Who acted, in the page's language: a role and its user's id, or the platform itself.
fn actor(lang: Lang, who: &str) -> String {
    let (kind, id) = who.split_once(':').unwrap_or((who, ""));
    if kind == "system" {
        let part = match id {
            "dispatch" | "engine" => lang.t("调度引擎", "the dispatch engine"),
            "billing" => lang.t("计费", "billing"),
            "demo" => lang.t("演示数据", "the demo"),
            "energy" => lang.t("能耗监测", "energy monitoring"),
            "" => "",
            other => other,
        };
        return format!("{} {part}", lang.t("系统", "system")).trim().to_string();
    }
    match Role::parse(kind) {
        Some(r) => format!("{} {id}", labels::role(lang, r)),
        None => who.to_string(),
    }
}

/// `GET /audit`: the operator's and the regulator's audit trail; others are refused.
pub async fn audit_page(State(s): State<AppState>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, set, c) = match gate(&s, &q, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let title = lang.t("审计记录", "Audit trail");
    let Ok(caller) = suanli_app::Caller::of(&c.0) else {
        return with_cookie((StatusCode::FORBIDDEN, Html(page(lang, title, Some(&c), ""))).into_response(), set);
    };
    if !matches!(c.role(), Role::Operator | Role::Regulator) {
        let body = format!(
            r#"<h1>{title}</h1><p class="error" role="alert">{}</p>"#,
            lang.t("审计记录仅供平台运营方和监管部门查看。", "Only the platform's operator and the regulator read the audit trail.")
        );
        return with_cookie((StatusCode::FORBIDDEN, Html(page(lang, title, Some(&c), &body))).into_response(), set);
    }
    let now = s.ids.now_ms();
    let choice = Range::chosen(Range::All, now);
    let mut body = format!(
        r#"<h1>{title}</h1><p>{}</p>{}{}"#,
        lang.t(
            "平台上每一次重要变更的记录：谁、做了什么、对象、时间（北京时间）和详情。可按操作、操作人、对象和时间范围筛选，并导出 CSV。",
            "Every change that matters on the platform: who, what, on which subject, when (Beijing time), and its detail. Filter by action, actor, subject and time range, and export as CSV."
        ),
        range_picker(lang, &choice),
        filter_form(lang),
    );
    body.push_str(&trail(&s, lang, &caller, &choice, now).await);
    with_cookie(Html(page(lang, title, Some(&c), &body)).into_response(), set)
}

/// The actor and subject filters (the action is the table's own choice, the range the picker's).
fn filter_form(lang: Lang) -> String {
    let mut out = String::from(r##"<form method="get" class="audit-filter" action="#dt-audit">"##);
    let skip = ["actor", "subject", "audit.page", "format", "table"];
    for (k, v) in table::query().into_iter().filter(|(k, _)| !skip.contains(&k.as_str())) {
        let _ = write!(out, r#"<input type="hidden" name="{}" value="{}">"#, esc(&k), esc(&v));
    }
    let _ = write!(
        out,
        r#"<label for="audit-actor">{a}</label><input id="audit-actor" name="actor" value="{av}"><label for="audit-subject">{s}</label><input id="audit-subject" name="subject" value="{sv}"><button type="submit">{go}</button></form>"#,
        a = lang.t("操作人（包含）", "Actor (contains)"),
        av = esc(&table::param("actor").unwrap_or_default()),
        s = lang.t("对象编号（如作业或中心编号）", "Subject id (such as a job or centre id)"),
        sv = esc(&table::param("subject").unwrap_or_default()),
        go = lang.t("筛选", "Filter"),
    );
    out
}

/// The records of the view, a page at a time from the store.
async fn trail(s: &AppState, lang: Lang, caller: &suanli_app::Caller, choice: &Choice, now: i64) -> String {
    let view = table::served_view("audit", MAX_ROWS);
    let (from, to) = match choice.range {
        Range::All => (None, None),
        r => {
            let (f, t) = r.window(now, 0);
            (Some(f), Some(t))
        }
    };
    let mut l = AuditListing {
        action: view.cols.iter().find(|(c, _)| *c == 2).map(|(_, v)| v.clone()),
        actor: table::param("actor").unwrap_or_default(),
        subject: table::param("subject").unwrap_or_default(),
        any: view.search.clone(),
        from_ms: from,
        to_ms: to,
        order: match view.sort.map(|(c, _)| c) {
            Some(1) => AuditOrder::Actor,
            Some(2) => AuditOrder::Action,
            Some(3) => AuditOrder::Subject,
            _ => AuditOrder::Time,
        },
        cut: Cut { offset: view.offset, limit: view.limit, desc: view.sort.is_none_or(|(_, asc)| !asc) },
    };
    let mut listed = suanli_app::audit::listing(&s.store, caller, l.clone()).await.unwrap_or_default();
    if listed.rows.is_empty() && listed.total > 0 {
        l.cut.offset = ((listed.total - 1) / table::PAGE_ROWS as u64 * table::PAGE_ROWS as u64) as u32;
        listed = suanli_app::audit::listing(&s.store, caller, l).await.unwrap_or_default();
    }
    let mut actions: Vec<(String, String)> = ACTIONS.iter().map(|(c, _, _)| (c.to_string(), action(lang, c))).collect();
    super::collate::sort_by_text(lang, &mut actions, |a| a.1.as_str());
    table::serve("audit", table::Served { total: listed.total, choices: vec![(2, actions)] });
    let mut out = thead_id(
        "audit",
        &[lang.t("时间", "When"), lang.t("操作人", "Actor"), lang.t("操作", "Action"), lang.t("对象", "Subject"), lang.t("详情", "Detail")],
    );
    for a in &listed.rows {
        let mut detail = a.detail.to_string();
        if detail.chars().count() > 240 {
            detail = detail.chars().take(240).chain("…".chars()).collect();
        }
        let _ = write!(
            out,
            r#"<tr data-action="{code}"><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td><code class="detail">{}</code></td></tr>"#,
            labels::when(Some(a.at_ms)),
            esc(&actor(lang, &a.actor)),
            esc(&action(lang, &a.action)),
            esc(&a.subject),
            esc(&detail),
            code = esc(&a.action),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}
