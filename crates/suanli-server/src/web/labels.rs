//! Every code of the platform as the web UI writes it, in Chinese and English: states, kinds, billing rules, faults, grades, regions, accelerators, alerts and the reasons of jobs and partner scores; times in Asia/Shanghai and sums of money, each from one function.
//!
//! Pages call these and never print a code themselves, so a Chinese page shows no raw code in
//! its text (ids may stay in `title` attributes for programs and for people who need them).

use super::{Lang, esc};
use crate::AppState;
use suanli_core::centre::{CentreKind, PartnerStatus};
use suanli_core::job::{Fault, JobKind, JobState, SegmentEnd};
use suanli_core::money::Fen;
use suanli_core::reason::{Arg, Forms, StatedReason, fill, plain};
use suanli_core::tenant::Role;
use suanli_data::catalogue::RequestState;
use suanli_data::{Grade, Kind, OpeningMode};
use suanli_energy::alert::{Alert, AlertKind, Severity};
use suanli_incentives::Stage;
use suanli_incentives::partner::PartnerReason;
use suanli_ledger::records::ApplicationState;
use suanli_ledger::voucher::ChargeRule;

// ----- money -----

impl Lang {
    /// Every sum of money on a page — a bill, a balance, a price, an estimate — to the fen:
    /// "¥2,131.07" (never rounded to 万).
    pub fn fen(self, f: Fen) -> String {
        let sign = if f.0 < 0 { "-" } else { "" };
        let (yuan, fen) = (f.0.unsigned_abs() / 100, f.0.unsigned_abs() % 100);
        format!("{sign}¥{}.{fen:02}", group(yuan as f64))
    }

    /// A sum given in yuan as text (the API's form, "2131.07"), to the fen; "-" if unreadable.
    pub fn fen_str(self, yuan: &str) -> String {
        Fen::parse_yuan(yuan.trim()).map_or_else(|_| "-".to_string(), |f| self.fen(f))
    }

    /// A city-wide total in a headline tile only (never a bill or a balance): 万 and 亿 in
    /// Chinese, thousands separators in English.
    pub fn headline_yuan(self, yuan: f64) -> String {
        match self {
            Lang::Zh if yuan.abs() >= 1e8 => format!("¥{:.2}亿", yuan / 1e8),
            Lang::Zh if yuan.abs() >= 1e4 => format!("¥{:.1}万", yuan / 1e4),
            _ => format!("¥{}", group(yuan)),
        }
    }
}

/// 1234567.8 -> "1,234,568".
pub(super) fn group(x: f64) -> String {
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 { format!("-{out}") } else { out }
}

// ----- time -----

pub use suanli_charts::time::SHANGHAI_OFFSET_MS;

/// A moment as the whole web UI writes it: "2025-03-01 14:05:09 (UTC+8)".
pub fn when(ms: Option<i64>) -> String {
    ms.map_or("-".to_string(), |t| {
        let s = suanli_core::time::format_rfc3339(t + SHANGHAI_OFFSET_MS);
        format!("{} (UTC+8)", s.trim_end_matches('Z').replacen('T', " ", 1))
    })
}

// ----- enums -----

/// A status word of the platform in its string form (GB 40879 outcomes, the new-centre rule,
/// lifecycle recommendations and the enums below by their codes); unknown words are shown as they
/// are, escaped.
pub(crate) fn state_name(lang: Lang, code: &str) -> String {
    let (zh, en) = match code {
        "pending" => ("排队中", "pending"),
        "placed" => ("已调度", "placed"),
        "running" => ("运行中", "running"),
        "succeeded" => ("已完成", "succeeded"),
        "failed" => ("失败", "failed"),
        "cancelled" => ("已取消", "cancelled"),
        "keep" => ("保留", "keep"),
        "retrofit" => ("改造", "retrofit"),
        "merge" => ("整合", "merge"),
        "retire" => ("退出", "retire"),
        // GB 40879's grades: 1 is the most efficient.
        "grade1" => ("1 级", "Grade 1"),
        "grade2" => ("2 级", "Grade 2"),
        "grade3" => ("3 级", "Grade 3"),
        "does_not_meet" => ("未达 3 级", "below Grade 3"),
        "not_graded" => ("暂无评级", "not graded yet"),
        "out_of_scope" => ("不适用（边缘）", "not applicable (edge)"),
        "undecided" => ("待定", "undecided"),
        "pass" => ("达标", "pass"),
        "fail" => ("超标", "over the limit"),
        "not_applicable" => ("不适用", "not applicable"),
        "partner" => ("合作", "partner"),
        "applicant" => ("申请中", "applicant"),
        "suspended" => ("暂停", "suspended"),
        "cloud" => ("云", "cloud"),
        "intelligent-computing" => ("智算中心", "intelligent computing"),
        "edge" => ("边缘", "edge"),
        _ => return esc(code),
    };
    lang.t(zh, en).to_string()
}

/// A kind of evidence an incentive programme asks for, in the page's language; a kind of a
/// programme's own by its code, as code.
pub fn evidence_kind(lang: Lang, kind: &str) -> String {
    let (zh, en) = match kind {
        "evaluation_report" => ("评测报告", "evaluation report"),
        "compute_contract" => ("算力服务合同", "compute contract"),
        "rd_cost_audit" => ("研发费用审计报告", "R&D cost audit"),
        "model_evaluation" => ("模型评测报告", "model evaluation"),
        "investment_audit" => ("投资审计报告", "investment audit"),
        "acceptance_report" => ("验收报告", "acceptance report"),
        "performance_evaluation" => ("绩效评价报告", "performance evaluation"),
        "recognition_certificate" => ("认定证书", "recognition certificate"),
        "service_report" => ("服务报告", "service report"),
        other => return format!("<code>{}</code>", esc(other)),
    };
    esc(lang.t(zh, en))
}

/// A task of the platform's own that changed something (`system:demo` in the audit trail), in
/// the page's language; an unknown one by its name.
pub fn system_actor(lang: Lang, task: &str) -> String {
    let (zh, en) = match task {
        "demo" => ("系统（演示数据）", "the system (demo data)"),
        "serve" => ("系统（启动时的配置）", "the system (its start-up settings)"),
        "billing" => ("系统（计费）", "the system (billing)"),
        "bootstrap" => ("系统（初始化）", "the system (set-up)"),
        _ => return format!(r#"{} <span class="user-text">{}</span>"#, lang.t("系统", "the system"), esc(task)),
    };
    lang.t(zh, en).to_string()
}

/// A centre's cluster backend by its kind (`slurm`, `agent`; `sim (demo)` the demo's simulator),
/// in the page's language.
pub fn backend(lang: Lang, name: &str) -> String {
    let kind = match name.strip_suffix(" (demo)").unwrap_or(name) {
        "sim" => lang.t("演示用的模拟后端", "the demo's simulated backend"),
        "slurm" => lang.t("Slurm 集群", "a Slurm cluster"),
        "agent" => lang.t("中心代理（suanli agent）", "the centre's agent (suanli agent)"),
        other => return format!(r#"<span class="user-text">{}</span>"#, esc(other)),
    };
    kind.to_string()
}

/// A scheduling policy by what it does, in the page's language.
pub fn policy(lang: Lang, code: &str) -> String {
    let (zh, en) = match code {
        "suanli" => ("算力平台综合调度（费用、碳排放、等待与公平）", "Suanli's own (cost, carbon, waiting and fairness)"),
        "fifo-firstfit" => ("先来先服务，首个可用资源池", "first come first served, first pool that fits"),
        "cheapest-first" => ("最低价优先", "cheapest first"),
        "fair-agnostic" => ("不计公平份额", "without fair share"),
        _ => return esc(code),
    };
    format!(r#"<span data-code="{}">{}</span>"#, esc(code), lang.t(zh, en))
}

pub fn job_state(lang: Lang, s: JobState) -> String {
    state_name(lang, s.as_str())
}

pub fn centre_kind(lang: Lang, k: CentreKind) -> String {
    state_name(lang, k.as_str())
}

pub fn partner_status(lang: Lang, p: PartnerStatus) -> String {
    state_name(lang, p.as_str())
}

pub fn job_kind(lang: Lang, k: JobKind) -> &'static str {
    match k {
        JobKind::Training => lang.t("训练", "training"),
        JobKind::Inference => lang.t("推理", "inference"),
        JobKind::Batch => lang.t("批处理", "batch"),
    }
}

/// How a time-sliced run ended.
pub fn segment_end(lang: Lang, e: SegmentEnd) -> &'static str {
    match e {
        SegmentEnd::Yielded => lang.t("租期结束，让出加速卡", "lease ended: yielded its accelerators"),
        SegmentEnd::Migrated => lang.t("租期结束，迁移到其他型号", "lease ended: moved to another type"),
        SegmentEnd::Preempted => lang.t("被抢占", "preempted"),
    }
}

/// Whose fault a failure was.
pub fn fault(lang: Lang, f: Fault) -> &'static str {
    match f {
        Fault::Job => lang.t("作业自身", "the job itself"),
        Fault::Centre => lang.t("算力中心", "the centre"),
    }
}

/// A billing rule in words.
pub fn charge_rule(lang: Lang, rule: ChargeRule) -> &'static str {
    match rule {
        ChargeRule::Completed => lang.t("已完成，按实际运行计费", "completed: billed for what it ran"),
        ChargeRule::CancelledRan => lang.t("已取消，按已运行时长计费", "cancelled: billed for what it ran"),
        ChargeRule::FailedRan => lang.t("作业自身失败，按已运行时长计费", "failed by the job itself: billed for what it ran"),
        ChargeRule::CentreFault => lang.t("中心故障，不计费", "the centre's fault: not billed"),
        ChargeRule::NeverRan => lang.t("未运行，不计费", "never ran: not billed"),
    }
}

pub fn application_state(lang: Lang, s: ApplicationState) -> &'static str {
    match s {
        ApplicationState::Pending => lang.t("待审批", "pending"),
        ApplicationState::Approved => lang.t("已批准", "approved"),
        ApplicationState::Rejected => lang.t("已驳回", "rejected"),
    }
}

pub fn role(lang: Lang, r: Role) -> &'static str {
    match r {
        Role::Operator => lang.t("运营方", "operator"),
        Role::Provider => lang.t("算力服务商", "provider"),
        Role::Tenant => lang.t("企业", "tenant"),
        Role::Regulator => lang.t("监管方", "regulator"),
        Role::Expert => lang.t("评审专家", "expert"),
    }
}

/// A scheduling goal by its code.
pub fn goal(lang: Lang, g: &str) -> &'static str {
    match g {
        "cheapest" => lang.t("最便宜", "Cheapest"),
        "fastest" => lang.t("最快", "Fastest"),
        "greenest" => lang.t("最低碳", "Greenest"),
        _ => lang.t("均衡", "Balanced"),
    }
}

/// An accelerator model by its catalogue name ("NVIDIA H800"), its id in the title.
pub fn accelerator(s: &AppState, id: &str) -> String {
    match s.catalogue.get(id) {
        Some(a) => format!(r#"<span title="{}">{}</span>"#, esc(id), esc(&a.name)),
        None => esc(id),
    }
}

/// A region as people name it (西湖区 / Xihu District), its id kept in the title.
pub fn region(s: &AppState, lang: Lang, id: &str) -> String {
    match s.regions.get(id) {
        Some(r) => format!(r#"<span title="{}">{}</span>"#, esc(id), esc(lang.name(&r.name_zh, &r.name_en))),
        None => esc(id),
    }
}

/// A region's name as plain text (for lists joined into one cell); its id if unknown.
pub fn region_text(s: &AppState, lang: Lang, id: &str) -> String {
    s.regions.get(id).map_or(id.to_string(), |r| lang.name(&r.name_zh, &r.name_en).to_string())
}

/// The overview's wider scopes (the city, the province, the delta, East China), as plain text.
pub fn scope(lang: Lang, k: &str) -> String {
    let zh = match k {
        "hangzhou" => "杭州",
        "zhejiang" => "浙江（杭州以外）",
        "yrd" => "长三角（浙江以外）",
        "east-china" => "华东其他",
        _ => return k.to_string(),
    };
    let en = match k {
        "hangzhou" => "Hangzhou",
        "zhejiang" => "Zhejiang (outside Hangzhou)",
        "yrd" => "Yangtze River Delta (outside Zhejiang)",
        _ => "Rest of East China",
    };
    lang.t(zh, en).to_string()
}

// ----- models, data and incentives -----

pub fn model_domain(lang: Lang, d: &str) -> String {
    suanli_core::model::DOMAINS.iter().find(|(k, _, _)| *k == d).map_or(d.to_string(), |(_, zh, en)| lang.t(zh, en).to_string())
}

pub fn model_kind(lang: Lang, k: suanli_core::model::ModelKind) -> &'static str {
    use suanli_core::model::ModelKind;
    match k {
        ModelKind::General => lang.t("通用", "General"),
        ModelKind::Special => lang.t("专用", "Special"),
    }
}

pub fn data_grade(lang: Lang, g: Grade) -> String {
    match g {
        Grade::Core => lang.t("核心数据", "Core data").into(),
        Grade::Important => lang.t("重要数据", "Important data").into(),
        Grade::General { level } => match lang {
            Lang::Zh => format!("一般数据（{level} 级）"),
            Lang::En => format!("General data (level {level})"),
        },
    }
}

pub fn opening_mode(lang: Lang, m: OpeningMode) -> &'static str {
    match m {
        OpeningMode::Unconditional => lang.t("无条件开放", "Open to all"),
        OpeningMode::Conditional => lang.t("有条件开放", "Open on approval"),
        OpeningMode::NotOpen => lang.t("不予开放", "Not open"),
    }
}

pub fn data_domain(lang: Lang, d: &str) -> String {
    suanli_data::catalogue::domain(d).map_or(d.to_string(), |(zh, en)| lang.t(zh, en).to_string())
}

/// A column's kind of personal data, if any.
pub fn column_kind(lang: Lang, k: Option<Kind>) -> String {
    match (k, lang) {
        (None, _) => "-".into(),
        (Some(k), Lang::Zh) => k.label_zh().into(),
        (Some(k), Lang::En) => k.as_str().replace('_', " "),
    }
}

pub fn data_request_state(lang: Lang, s: RequestState) -> &'static str {
    match s {
        RequestState::AwaitingSupplier => lang.t("待供应方审批", "awaiting the supplier"),
        RequestState::AwaitingOperator => lang.t("待平台审批（重要数据）", "awaiting the operator (important data)"),
        RequestState::Delivered => lang.t("已交付", "delivered"),
        RequestState::Rejected => lang.t("已驳回", "rejected"),
        RequestState::Expired => lang.t("已过期", "expired"),
    }
}

/// An incentive application's stage.
pub fn stage(lang: Lang, s: Stage) -> &'static str {
    match s {
        Stage::UnderReview => lang.t("评审中", "under review"),
        Stage::Publicity => lang.t("公示中", "in publicity"),
        Stage::NotSelected => lang.t("未入选", "not selected"),
        Stage::Withdrawn => lang.t("因异议撤销", "withdrawn on objection"),
        Stage::Superseded => lang.t("从优就高不重复，未予支持", "superseded (higher award kept)"),
        Stage::Awarded => lang.t("已拨付", "awarded and paid"),
    }
}

/// Why an application stands where it does, in the page's language, from its recorded facts
/// (the service's notes are English for the API and the CLI, with UTC times).
pub fn application_why(lang: Lang, a: &suanli_incentives::Application) -> String {
    let rank = a.rank.map_or("-".to_string(), |r| r.to_string());
    let mut why = match (a.stage, lang) {
        (Stage::UnderReview, Lang::Zh) => format!("已有 {} 份专家评分", a.reviews.len()),
        (Stage::UnderReview, Lang::En) => format!("{} expert scores so far", a.reviews.len()),
        (Stage::Publicity, Lang::Zh) => format!("第 {rank} 名，公示至 {}", when(a.publicity_until)),
        (Stage::Publicity, Lang::En) => format!("ranked {rank}; publicity until {}", when(a.publicity_until)),
        (Stage::NotSelected, Lang::Zh) => format!("第 {rank} 名，超出名额或年度预算"),
        (Stage::NotSelected, Lang::En) => format!("ranked {rank}: beyond the quota or the year's budget"),
        (Stage::Withdrawn, _) => lang.t("异议成立", "an objection was upheld").to_string(),
        (Stage::Superseded, _) => lang.t("同一事项已有更高的奖补", "the same subject holds a higher award").to_string(),
        (Stage::Awarded, _) => {
            format!("{} {} / {}", lang.t("市级 / 区级：", "city / district:"), lang.fen(a.city_part), lang.fen(a.district_part))
        }
    };
    if let Some(y) = a.facts.volume_year {
        why.push_str(&match lang {
            Lang::Zh => format!("；按 {y} 年度平台数据评审"),
            Lang::En => format!("; judged on the platform's figures for {y}"),
        });
    }
    esc(&why)
}

// ----- alerts -----

pub fn severity(lang: Lang, s: Severity) -> &'static str {
    match s {
        Severity::Warning => lang.t("警告", "warning"),
        Severity::Critical => lang.t("严重", "critical"),
    }
}

/// An energy alert in words, from its typed form (times in UTC+8).
pub fn alert(lang: Lang, a: &Alert) -> String {
    let text = match (&a.alert, lang) {
        (AlertKind::PueOverThreshold { label, kind, value, threshold, .. }, Lang::Zh) => {
            let k = if *kind == suanli_energy::pue::PueKind::Annualised { "年化" } else { "阶段" };
            format!("{k} {label} 为 {value:.2}，超过限值 {threshold:.2}")
        }
        (AlertKind::PueOverThreshold { label, kind, value, threshold, .. }, Lang::En) => {
            let k = if *kind == suanli_energy::pue::PueKind::Annualised { "annualised" } else { "interim" };
            format!("{k} {label} is {value:.2}, over the limit {threshold:.2}")
        }
        (AlertKind::MeterSilent { last_seen_ms: None, .. }, _) => {
            format!("{} {METER} {}", lang.t("电表", "meter"), lang.t("从未发送有效读数", "has never sent an accepted reading"))
        }
        (AlertKind::MeterSilent { last_seen_ms, silent_for_ms, .. }, Lang::Zh) => {
            format!("电表 {METER} 已 {:.1} 小时无读数（最后读数 {}）", silent_for_ms.unwrap_or(0) as f64 / 3_600_000.0, when(*last_seen_ms))
        }
        (AlertKind::MeterSilent { last_seen_ms, silent_for_ms, .. }, Lang::En) => format!(
            "meter {METER} silent for {:.1} hours (last reading {})",
            silent_for_ms.unwrap_or(0) as f64 / 3_600_000.0,
            when(*last_seen_ms)
        ),
        (AlertKind::DataQuality { count, from_ms, .. }, Lang::Zh) => format!("自 {} 起收到 {count} 个数据质量问题", when(Some(*from_ms))),
        (AlertKind::DataQuality { count, from_ms, .. }, Lang::En) => {
            format!("{count} data-quality issues received since {}", when(Some(*from_ms)))
        }
    };
    match &a.alert {
        // A meter's id is the name its centre registered it under, shown as a name (not text to translate).
        // Escaped around the placeholder (escaping drops control characters such as it).
        AlertKind::MeterSilent { meter, .. } => text
            .split(METER)
            .map(esc)
            .collect::<Vec<_>>()
            .join(&format!(r#"<span class="user-text" translate="no">{}</span>"#, esc(&meter.to_string()))),
        _ => esc(&text),
    }
}

/// Where a meter's id goes in an alert's text (a character no text contains).
const METER: &str = "\u{1}";

// ----- reasons -----

/// A job's reason as HTML in the page's language, from its typed form (`JobReason::forms`, the
/// one table of English and Chinese): times in UTC+8, regions and accelerators by their names,
/// what a person or a backend wrote kept as written. A reason stored before reasons were typed
/// shows its English text, marked on Chinese pages as untranslated.
pub fn job_reason(s: &AppState, lang: Lang, reason: &StatedReason) -> String {
    match reason {
        StatedReason::Typed(r) => reason_html(Some(s), lang, r.code(), &r.forms(), &r.to_string()),
        StatedReason::Untyped(text) => untranslated(lang, text),
    }
}

/// A compute-partner score's shortfall as HTML in the page's language, from its typed form
/// (`PartnerReason::forms`: figures only, so no names to look up).
pub fn partner_reason(lang: Lang, reason: &PartnerReason) -> String {
    reason_html(None, lang, reason.code(), &reason.forms(), &reason.to_string())
}

/// A typed reason's form in the page's language with its parts filled in, its code and English
/// text as attributes. Regions and accelerators are named from `names`' registry when given,
/// else shown by their ids.
fn reason_html(names: Option<&AppState>, lang: Lang, code: &str, forms: &Forms<'_>, english: &str) -> String {
    let form = lang.t(forms.zh, forms.en);
    let text = fill(form, &forms.args, |a| match (a, names) {
        (Arg::Region(id), Some(s)) => region(s, lang, id),
        (Arg::Accelerator(id), Some(s)) => accelerator(s, id),
        (Arg::Count(_) | Arg::Fixed(..), _) => plain(a),
        (Arg::Id(id) | Arg::Region(id) | Arg::Accelerator(id), _) => esc(id),
        (Arg::Money(f), _) => lang.fen(*f),
        (Arg::Time(ms), _) => when(Some(*ms)),
        (Arg::Words(w), _) => format!(r#"<span class="user-text">{}</span>"#, esc(w)),
    });
    // The forms hold no `&`, `<` or `>` (their crates' tests check), so only the parts need escaping.
    format!(r#"<span class="reason" data-code="{code}" title="{}">{text}</span>"#, esc(english))
}

/// A text the platform wrote in English and has no typed form for.
pub fn untranslated(lang: Lang, text: &str) -> String {
    match lang {
        Lang::Zh => format!(r#"<span class="reason raw">{}<span lang="en">{}</span></span>"#, "（原文，未翻译）", esc(text)),
        Lang::En => format!(r#"<span class="reason">{}</span>"#, esc(text)),
    }
}

// ----- energy metering -----

/// A code with its words in both languages: what a form offers and a table shows.
pub type Coded = (&'static str, &'static str, &'static str);

/// What a meter measures (`kind` of the meters API).
pub const METER_KINDS: [Coded; 5] = [
    ("facility_total", "数据中心总耗电", "Facility total"),
    ("it", "信息设备耗电", "IT equipment"),
    ("cooling", "制冷耗电", "Cooling"),
    ("renewable", "自有可再生能源发电", "On-site renewable"),
    ("water", "用水", "Water"),
];

/// Where an IT meter measures (ISO/IEC 30134-2 categories 1 to 3).
pub const METER_POINTS: [Coded; 3] = [
    ("ups_output", "不间断电源输出端（类别 1）", "UPS output (category 1)"),
    ("pdu_output", "配电单元输出端（类别 2）", "PDU output (category 2)"),
    ("it_input", "信息设备输入端（类别 3）", "IT equipment input (category 3)"),
];

/// How a meter reports.
pub const METER_UNITS: [Coded; 3] = [
    ("cumulative_kwh", "累计电量（kWh）", "Cumulative energy (kWh)"),
    ("instant_kw", "瞬时功率（kW）", "Instantaneous power (kW)"),
    ("cumulative_m3", "累计用水（立方米）", "Cumulative water (m³)"),
];

/// A data centre's cooling.
pub const COOLINGS: [Coded; 5] = [
    ("air", "风冷", "Air"),
    ("chilled_water", "冷冻水", "Chilled water"),
    ("free_cooling", "自然冷却", "Free cooling"),
    ("liquid", "冷板液冷", "Liquid (cold plate)"),
    ("immersion", "浸没式液冷", "Immersion"),
];

/// A code's words from its table; an unknown code as it is, escaped.
pub fn coded(lang: Lang, table: &[Coded], code: &str) -> String {
    table.iter().find(|(c, _, _)| *c == code).map_or_else(|| esc(code), |&(_, zh, en)| lang.t(zh, en).to_string())
}

/// A select's options from a code table, `chosen` selected; `none` (words) first as the empty value when given.
pub fn options(lang: Lang, table: &[Coded], chosen: &str, none: Option<&str>) -> String {
    let mut out = none.map_or(String::new(), |n| format!(r#"<option value="">{}</option>"#, esc(n)));
    for &(code, zh, en) in table {
        let sel = if code == chosen { " selected" } else { "" };
        out.push_str(&format!(r#"<option value="{code}"{sel}>{}</option>"#, lang.t(zh, en)));
    }
    out
}

/// A meter's kind, metering point (IT meters) and unit as the codes of the tables above.
pub fn meter_codes(m: &suanli_energy::Meter) -> (&'static str, &'static str, &'static str) {
    use suanli_energy::{Category, MeterKind, MeterUnit};
    let (kind, point) = match m.kind {
        MeterKind::FacilityTotal => ("facility_total", ""),
        MeterKind::It { category: Category::Category1 } => ("it", "ups_output"),
        MeterKind::It { category: Category::Category2 } => ("it", "pdu_output"),
        MeterKind::It { category: Category::Category3 } => ("it", "it_input"),
        MeterKind::Cooling => ("cooling", ""),
        MeterKind::Renewable => ("renewable", ""),
        MeterKind::Water => ("water", ""),
    };
    let unit = match m.unit {
        MeterUnit::CumulativeKwh => "cumulative_kwh",
        MeterUnit::InstantKw => "instant_kw",
        MeterUnit::CumulativeM3 => "cumulative_m3",
    };
    (kind, point, unit)
}

/// What is wrong with an imported readings file, in the page's language, naming its line.
pub fn csv_error(lang: Lang, e: &suanli_energy::csv::CsvError) -> String {
    use suanli_energy::csv::CsvFault;
    let code = |t: &str| format!(r#"<code class="user-text">{}</code>"#, esc(t));
    let what = match (&e.fault, lang) {
        (CsvFault::Empty, _) => lang.t("文件是空的", "the file is empty").to_string(),
        (CsvFault::NoColumn("ts"), Lang::Zh) => format!("表头缺少时间列（{} 或 {}）", code("ts"), code("ts_ms")),
        (CsvFault::NoColumn("ts"), Lang::En) => format!("the header has no time column ({} or {})", code("ts"), code("ts_ms")),
        (CsvFault::NoColumn(c), Lang::Zh) => format!("表头缺少 {} 列", code(c)),
        (CsvFault::NoColumn(c), Lang::En) => format!("the header has no {} column", code(c)),
        (CsvFault::NoValueColumn, Lang::Zh) => format!("表头没有读数列（{}、{} 或 {}）", code("kwh"), code("kw"), code("m3")),
        (CsvFault::NoValueColumn, Lang::En) => {
            format!("the header names no value column ({}, {} or {})", code("kwh"), code("kw"), code("m3"))
        }
        (CsvFault::TooFewFields, _) => lang.t("字段太少", "too few fields").to_string(),
        (CsvFault::NotANumber(v), Lang::Zh) => format!("{} 不是数字", code(v)),
        (CsvFault::NotANumber(v), Lang::En) => format!("{} is not a number", code(v)),
        (CsvFault::TsMsNotInteger, Lang::Zh) => format!("{} 不是整数毫秒", code("ts_ms")),
        (CsvFault::TsMsNotInteger, Lang::En) => format!("{} is not a whole number of milliseconds", code("ts_ms")),
        (CsvFault::TsNotRfc3339(t), Lang::Zh) => format!("时间 {} 格式不对（应如 {}）", code(t), code("2026-05-01T08:00:00+08:00")),
        (CsvFault::TsNotRfc3339(t), Lang::En) => format!("the time {} is not RFC 3339 (as 2026-05-01T08:00:00+08:00)", code(t)),
        (CsvFault::BadMeter(m), Lang::Zh) => format!("{} 不是有效的电表编号", code(m)),
        (CsvFault::BadMeter(m), Lang::En) => format!("{} is not a meter id", code(m)),
        (CsvFault::BadCentre(c), Lang::Zh) => format!("{} 不是有效的算力中心编号", code(c)),
        (CsvFault::BadCentre(c), Lang::En) => format!("{} is not a centre id", code(c)),
    };
    match (e.line, lang) {
        (Some(n), Lang::Zh) => format!("第 {n} 行：{what}"),
        (Some(n), Lang::En) => format!("Line {n}: {what}"),
        (None, _) => what,
    }
}

// ----- tables, live pages and the wall display -----

/// The words of a data table's controls (`table.rs`) and of live pages (`suanli.js` reads them
/// from `data-` attributes, so the script itself holds no text).
#[derive(Debug, Clone, Copy)]
pub enum Ui {
    Filter,
    FilterHint,
    Export,
    ExportHint,
    NoRows,
    NoMatch,
    Pages,
    PagePrev,
    PageNext,
    SortBy,
    AllValues,
    NameContains,
    Pause,
    Resume,
    Updated,
    Every,
    Wall,
    WallTitle,
    LeaveWall,
}

pub fn ui(lang: Lang, w: Ui) -> &'static str {
    match w {
        Ui::Filter => lang.t("筛选", "Filter"),
        Ui::FilterHint => lang.t("按表中显示的文字筛选", "Filter by the text shown in the table"),
        Ui::Export => lang.t("导出 CSV", "Export CSV"),
        Ui::ExportHint => lang.t("下载本表（含全部页）为 CSV 文件", "Download this table (every page) as a CSV file"),
        Ui::NoRows => lang.t("暂无记录。", "Nothing to show yet."),
        Ui::NoMatch => lang.t("没有符合筛选条件的记录。", "No rows match the filter."),
        Ui::Pages => lang.t("分页", "Pages"),
        Ui::PagePrev => lang.t("上一页", "Previous"),
        Ui::PageNext => lang.t("下一页", "Next"),
        Ui::SortBy => lang.t("排序：", "Sort by "),
        Ui::AllValues => lang.t("全部", "All"),
        Ui::NameContains => lang.t("（名称包含）", " (name contains)"),
        Ui::Pause => lang.t("暂停自动刷新", "Pause auto-refresh"),
        Ui::Resume => lang.t("恢复自动刷新", "Resume auto-refresh"),
        Ui::Updated => lang.t("数据更新于", "Updated at"),
        Ui::Every => lang.t("秒自动刷新", "s auto-refresh"),
        Ui::Wall => lang.t("大屏", "Wall display"),
        Ui::WallTitle => lang.t("杭州市算力运行大屏", "Hangzhou compute operations wall"),
        Ui::LeaveWall => lang.t("退出大屏", "Leave the wall display"),
    }
}

/// "共 120 条" / "120 rows".
pub fn rows(lang: Lang, n: usize) -> String {
    match lang {
        Lang::Zh => format!("共 {n} 条"),
        Lang::En => format!("{n} rows"),
    }
}

/// "第 2 / 5 页" / "Page 2 of 5".
pub fn page_of(lang: Lang, n: usize, of: usize) -> String {
    match lang {
        Lang::Zh => format!("第 {n} / {of} 页"),
        Lang::En => format!("Page {n} of {of}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_to_the_fen_everywhere_but_headlines() {
        assert_eq!(Lang::Zh.fen(Fen(213_107)), "¥2,131.07");
        assert_eq!(Lang::En.fen(Fen(5)), "¥0.05");
        assert_eq!(Lang::En.fen(Fen(-100_000_000)), "-¥1,000,000.00");
        assert_eq!(Lang::Zh.fen_str("50000000"), "¥50,000,000.00");
        assert_eq!(Lang::Zh.fen_str("1.13"), "¥1.13");
        assert_eq!(Lang::Zh.headline_yuan(50_000_000.0), "¥5000.0万");
        assert_eq!(Lang::Zh.headline_yuan(250_000_000.0), "¥2.50亿");
        assert_eq!(Lang::En.headline_yuan(50_000_000.0), "¥50,000,000");
    }

    #[test]
    fn a_silent_meter_is_named_in_its_alert_in_each_language() {
        let silent = |meter: &str, last: Option<i64>| Alert {
            dc: suanli_core::id::CentreId::generate(0, 1),
            severity: Severity::Warning,
            alert: AlertKind::MeterSilent {
                meter: suanli_energy::meter::MeterId::parse(meter).unwrap(),
                last_seen_ms: last,
                silent_for_ms: Some(94_680_000),
            },
            message: String::new(),
        };
        let span = |m: &str| format!(r#"<span class="user-text" translate="no">{m}</span>"#);
        let zh = alert(Lang::Zh, &silent("facility", Some(0)));
        assert_eq!(zh, format!("电表 {} 已 26.3 小时无读数（最后读数 1970-01-01 08:00:00 (UTC+8)）", span("facility")));
        let en = alert(Lang::En, &silent("it", Some(0)));
        assert_eq!(en, format!("meter {} silent for 26.3 hours (last reading 1970-01-01 08:00:00 (UTC+8))", span("it")));
        assert!(!en.contains(['（', '）']), "{en}");
        assert_ne!(alert(Lang::Zh, &silent("facility", None)), alert(Lang::Zh, &silent("it", None)), "two meters, two rows");
    }

    #[test]
    fn grades_read_as_words_in_both_languages() {
        for (code, zh, en) in [("grade1", "1 级", "Grade 1"), ("grade2", "2 级", "Grade 2"), ("grade3", "3 级", "Grade 3")] {
            assert_eq!((state_name(Lang::Zh, code), state_name(Lang::En, code)), (zh.to_string(), en.to_string()));
        }
        assert_eq!(state_name(Lang::En, "does_not_meet"), "below Grade 3");
        assert_eq!(system_actor(Lang::Zh, "demo"), "系统（演示数据）");
        assert_eq!(backend(Lang::Zh, "sim (demo)"), "演示用的模拟后端");
        assert!(policy(Lang::Zh, "suanli").contains("综合调度") && policy(Lang::En, "fifo-firstfit").contains("first come"));
    }

    #[test]
    fn times_are_in_shanghai() {
        assert_eq!(when(Some(0)), "1970-01-01 08:00:00 (UTC+8)");
        assert_eq!(when(None), "-");
    }

    #[test]
    fn partner_reasons_are_written_from_their_typed_form_in_each_language() {
        let low = PartnerReason::TotalBelowAdmission { total: 55.04, min: 60.0 };
        let english = r#"title="total 55.0 is below the admission score 60.0""#;
        assert_eq!(
            partner_reason(Lang::Zh, &low),
            format!(r#"<span class="reason" data-code="total_below_admission" {english}>总分 55.0 低于准入分 60.0</span>"#)
        );
        assert_eq!(
            partner_reason(Lang::En, &low),
            format!(
                r#"<span class="reason" data-code="total_below_admission" {english}>total 55.0 is below the admission score 60.0</span>"#
            )
        );
        let dark = partner_reason(Lang::Zh, &PartnerReason::NoMeasuredPue);
        assert!(dark.contains(">无实测 PUE：该中心的能耗未接入平台计量<") && !dark.contains("原文"), "{dark}");
    }

    #[test]
    fn an_untyped_job_reason_is_marked_as_the_original_english_on_chinese_pages() {
        assert!(untranslated(Lang::Zh, "node exploded").contains("原文"));
        assert_eq!(untranslated(Lang::En, "node <b>"), r#"<span class="reason">node &lt;b&gt;</span>"#);
    }
}
