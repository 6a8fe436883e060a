//! The demo's incentive round (奖补): a special-model application of a demo enterprise, scored by three experts of the pool and ranked into publicity through `suanli_app::Incentives` as the operator and the experts would; its publicity is then marked over (the demo has no five working days to wait), so that the operator can decide and pay it at once. The marking is written in the application's notes and the audit log.

use crate::AppState;
use crate::auth::{new_token, token_hash};
use suanli_app::Caller;
use suanli_app::incentives::{ApplyRequest, Document};
use suanli_core::id::{TenantId, UserId};
use suanli_core::money::Fen;
use suanli_incentives::Facts;

const MARKER: &str = "demo_incentives_seeded";
const PROGRAMME: &str = "hz55-special-model";

/// The experts who scored the demo's application: a university's, an institute's and a
/// hospital's (fictional organisations; none is a demo enterprise, and none is the demo's
/// signed-in expert, whose page stays empty until the operator assigns it).
const EXPERTS: [(&str, &str); 3] =
    [("王教授（浙江某大学）", "12330000MB0A1C2E"), ("李研究员（某研究院）", "12330100MB1B2D3F"), ("陈主任（某医院）", "12330106MB2C3E4G")];

/// A credit code from its first 17 characters and the check character GB 32100 gives them.
fn uscc(first: &str) -> String {
    let first17 = format!("{first:0<17}");
    format!("{first17}{}", suanli_core::ident::uscc_check_char(&first17).unwrap_or('0'))
}

/// Seeds the demo's incentive round once (a marker in the store says it was done). A step the
/// rules refuse (no eligible demo enterprise) leaves the round out with a warning.
pub async fn seed(s: &AppState) -> anyhow::Result<()> {
    if s.store.meta(MARKER).await?.is_some() {
        return Ok(());
    }
    if let Err(e) = round(s).await {
        tracing::warn!(error = %e, "the demo's incentive round was not seeded");
    }
    let mut tx = s.store.begin().await?;
    tx.set_meta(MARKER, "1").await?;
    tx.commit().await?;
    Ok(())
}

async fn round(s: &AppState) -> anyhow::Result<()> {
    let system = UserId::generate(0, 0);
    let op = Caller::Operator { user: system.clone() };
    let id = apply(s, &system).await?;
    let mut experts = Vec::new();
    for (name, first) in EXPERTS {
        // Experts of the pool sign in with their own tokens; the demo hands these out to nobody.
        let x = s.incentives.add_expert(&op, name, &uscc(first), token_hash(&new_token(&s.ids))).await?;
        s.incentives.assign(&op, &id, &x.id).await?;
        experts.push(x);
    }
    let criteria = s.incentives.programmes().await?.into_iter().find(|p| p.code == PROGRAMME).map(|p| p.criteria).unwrap_or_default();
    for (i, x) in experts.iter().enumerate() {
        let scores = criteria.iter().enumerate().map(|(k, c)| (c.key.clone(), 78.0 + ((i * 7 + k * 5) % 15) as f64)).collect();
        s.incentives.review(&Caller::Expert { user: UserId::parse(&x.id)? }, &id, scores).await?;
    }
    s.incentives.rank(&op, PROGRAMME).await?;
    s.incentives.end_publicity_for_demo(&id).await?;
    Ok(())
}

/// The application of the first demo enterprise (other than the signed-in tenant's) that the
/// programme admits.
async fn apply(s: &AppState, system: &UserId) -> anyhow::Result<String> {
    let city = crate::demo::DemoCity::builtin();
    let tenants = s.store.tenants().await?;
    let candidates: Vec<TenantId> =
        city.tenant.iter().skip(1).filter_map(|c| tenants.iter().find(|t| t.uscc.as_str() == c.uscc)).map(|t| t.id.clone()).collect();
    let mut last = None;
    for tenant in candidates {
        let caller = Caller::Tenant { user: system.clone(), tenant };
        let req = ApplyRequest {
            programme: PROGRAMME.into(),
            project: "城市治理视觉专用模型".into(),
            cost: Fen(120_000_000),
            requested: Fen(30_000_000),
            declared: Facts::default(),
            documents: vec![
                Document {
                    kind: "rd_cost_audit".into(),
                    name: "研发费用专项审计报告（演示）.txt".into(),
                    body: "演示材料：研发费用专项审计".into(),
                },
                Document {
                    kind: "model_evaluation".into(),
                    name: "模型评测报告（演示）.txt".into(),
                    body: "演示材料：第三方模型评测".into(),
                },
            ],
            on_behalf_of: None,
            volume_year: None,
        };
        match s.incentives.apply(&caller, req).await {
            Ok(a) => return Ok(a.id),
            Err(e) => last = Some(e),
        }
    }
    Err(anyhow::anyhow!("no demo enterprise may apply: {}", last.map_or("none".into(), |e| e.to_string())))
}
