//! The demo's data sharing: one admitted supplier, four graded data sets with generated (checksum-valid, fictional) personal data, and one delivery so that the ranking has a row. All through `suanli_app::DataSharing`, as a supplier and a consumer would.

use crate::AppState;
use suanli_app::Caller;
use suanli_core::id::UserId;
use suanli_core::money::Fen;
use suanli_data::catalogue::{DataSetSpec, RequestSpec, SupplierStatus, UpdateFrequency};
use suanli_data::corpus::{Rng, value};
use suanli_data::pipeline::Format;
use suanli_data::{Encoding, Grade, Kind, OpeningMode};

const MARKER: &str = "demo_data_seeded";
const ROWS: usize = 400;

struct DemoSet {
    name: &'static str,
    title: &'static str,
    title_en: &'static str,
    description: &'static str,
    domain: &'static str,
    mode: OpeningMode,
    grade: Grade,
    price_fen: i64,
    quasi: &'static [&'static str],
    content: fn(&mut Rng) -> String,
}

const STOPS: &[&str] = &["武林广场", "龙翔桥", "西湖文化广场", "杭州东站", "滨江区政府", "钱江世纪城", "西溪湿地", "浙大紫金港"];
const SIGHTS: &[&str] = &["断桥残雪", "苏堤春晓", "雷峰塔", "灵隐寺", "西溪湿地", "千岛湖"];

fn bus_taps(r: &mut Rng) -> String {
    let mut s = String::from("乘客姓名,手机,上车站点,下车站点,上车时间,年龄\n");
    for _ in 0..ROWS {
        let (name, phone) = (value(r, Kind::Name), value(r, Kind::Mobile));
        let (from, to) = (r.pick(STOPS), r.pick(STOPS));
        s.push_str(&format!(
            "{name},{phone},{from},{to},2026-11-{:02} {:02}:{:02},{}\n",
            1 + r.below(28),
            6 + r.below(16),
            r.below(60),
            16 + r.below(60)
        ));
    }
    s
}

fn clinic_visits(r: &mut Rng) -> String {
    let mut s = String::from("姓名,身份证号,联系电话,住址,年龄,就诊科室,诊断\n");
    for _ in 0..ROWS {
        let (name, id, phone, addr) = (value(r, Kind::Name), value(r, Kind::ResidentId), value(r, Kind::Mobile), value(r, Kind::Address));
        let dept = r.pick(&["全科", "内科", "儿科", "中医科"]);
        let dx = r.pick(&["上呼吸道感染", "高血压", "2 型糖尿病", "慢性胃炎"]);
        s.push_str(&format!("{name},{id},{phone},{addr},{},{dept},{dx}\n", 18 + r.below(70)));
    }
    s
}

fn visitors(r: &mut Rng) -> String {
    let mut s = String::from("日期,景点,入园人次,停车场车牌\n");
    for _ in 0..ROWS {
        s.push_str(&format!("2026-10-{:02},{},{},{}\n", 1 + r.below(31), r.pick(SIGHTS), 500 + r.below(20_000), value(r, Kind::Plate)));
    }
    s
}

fn insurance(r: &mut Rng) -> String {
    let mut s = String::from("姓名,身份证号,银行卡号,缴费基数\n");
    for _ in 0..ROWS / 4 {
        s.push_str(&format!(
            "{},{},{},{}\n",
            value(r, Kind::Name),
            value(r, Kind::ResidentId),
            value(r, Kind::BankCard),
            4000 + r.below(30_000)
        ));
    }
    s
}

const SETS: &[DemoSet] = &[
    DemoSet {
        name: "hz-bus-taps",
        title: "杭州公交刷卡出行记录",
        title_en: "Hangzhou bus card trips",
        description: "演示数据：公交刷卡上下车站点与时间，供出行规划与客流模型训练。",
        domain: "traffic",
        mode: OpeningMode::Conditional,
        grade: Grade::General { level: 2 },
        price_fen: 50_000,
        quasi: &["年龄"],
        content: bus_taps,
    },
    DemoSet {
        name: "hz-community-clinics",
        title: "社区卫生服务中心就诊记录",
        title_en: "Community clinic visits",
        description: "演示数据：社区医院门诊记录，重要数据，经供应方与平台两级审批后脱敏交付。",
        domain: "healthcare",
        mode: OpeningMode::Conditional,
        grade: Grade::Important,
        price_fen: 200_000,
        quasi: &["年龄"],
        content: clinic_visits,
    },
    DemoSet {
        name: "westlake-visitors",
        title: "西湖景区客流统计",
        title_en: "West Lake visitor counts",
        description: "演示数据：各景点每日入园人次，无条件开放。",
        domain: "tourism",
        mode: OpeningMode::Unconditional,
        grade: Grade::General { level: 1 },
        price_fen: 2_000,
        quasi: &[],
        content: visitors,
    },
    DemoSet {
        name: "hz-social-insurance",
        title: "社会保险缴费明细",
        title_en: "Social insurance contributions",
        description: "演示数据：核心数据，只列入目录，不对外交付。",
        domain: "finance",
        mode: OpeningMode::NotOpen,
        grade: Grade::Core,
        price_fen: 0,
        quasi: &[],
        content: insurance,
    },
];

/// Seeds the demo's data sharing once (a marker in the store says it was done).
pub async fn seed(s: &AppState) -> anyhow::Result<()> {
    if s.store.meta(MARKER).await?.is_some() {
        return Ok(());
    }
    // The city's last provider supplies data, so the demo's provider user (the first's) starts unadmitted.
    let city = crate::demo::DemoCity::builtin();
    let providers = s.store.providers().await?;
    let Some(supplier) = city.provider.last().and_then(|p| providers.iter().find(|x| x.name == p.name_zh)) else { return Ok(()) };
    let system = UserId::generate(0, 0);
    let op = Caller::Operator { user: system.clone() };
    let prov = Caller::Provider { user: system.clone(), provider: supplier.id.clone() };
    let domains = SETS.iter().map(|d| d.domain.to_string()).collect();
    s.data.set_supplier(&op, &supplier.id, SupplierStatus::Admitted, domains, "演示：2026 年度数据开放共享供应商遴选".into()).await?;
    let mut rng = Rng::new(2026);
    for d in SETS {
        if s.store.data_set(d.name).await?.is_some() {
            continue;
        }
        let spec = DataSetSpec {
            name: d.name.into(),
            title: d.title.into(),
            title_en: Some(d.title_en.into()),
            description: d.description.into(),
            domain: d.domain.into(),
            mode: d.mode,
            grade: d.grade,
            licence: "杭州市公共数据授权运营协议（演示）".into(),
            update_frequency: UpdateFrequency::Monthly,
            price: Fen(d.price_fen),
            quasi: d.quasi.iter().map(|q| q.to_string()).collect(),
        };
        let set = s.data.register(&prov, spec).await?;
        let content = (d.content)(&mut rng);
        s.data.upload(&prov, set.id.as_str(), content.into_bytes(), Format::Csv, Encoding::Utf8).await?;
    }
    // One delivery, to a tenant other than the demo's signed-in one, so the ranking has a row.
    let tenants = s.store.tenants().await?;
    if let Some(t) = city.tenant.get(1).and_then(|c| tenants.iter().find(|t| t.uscc.as_str() == c.uscc)) {
        let consumer = Caller::Tenant { user: system, tenant: t.id.clone() };
        let now = s.ids.now_ms();
        let spec = RequestSpec {
            purpose: "演示：景区客流预测".into(),
            fields: vec!["日期".into(), "景点".into(), "入园人次".into()],
            from_ms: now,
            to_ms: now + 30 * 86_400_000,
        };
        if let Err(e) = s.data.request(&consumer, "westlake-visitors", spec).await {
            tracing::warn!(error = %e, "the demo's data delivery was not made");
        }
    }
    let mut tx = s.store.begin().await?;
    tx.set_meta(MARKER, "1").await?;
    tx.commit().await?;
    Ok(())
}
