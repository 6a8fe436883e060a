//! The operator's irreversible steps (ranking, resolving an objection, deciding, carrying) checked without being taken, so that a confirmation can name what a step will do and a refusal comes before it; and the applications in publicity, which every enterprise may read and object to.

use super::*;

impl Incentives {
    /// A programme's applications of this year.
    pub(super) async fn this_years(&self, code: &str, now: i64) -> Result<Vec<Application>, StoreError> {
        let year = year_of(now);
        Ok(self.store.incentive_applications(Some(("programme", code))).await?.into_iter().filter(|a| a.year == year).collect())
    }

    /// What ranking `code` would rank: the programme and how many applications have their
    /// reviews; refused as [`Incentives::rank`] would be.
    pub async fn check_rank(&self, caller: &Caller, code: &str) -> Result<(ProgrammeSpec, usize), StoreError> {
        operator_only(caller, "ranking a programme")?;
        let p = self.programme(code).await?;
        let all = self.this_years(code, self.ids.now_ms()).await?;
        let ready = ready_to_rank(&all, &p)?.len();
        Ok((p, ready))
    }

    /// The application objection `index` is about, if the operator may resolve it with this
    /// reason; refused as [`Incentives::resolve`] would be.
    pub async fn check_resolve(&self, caller: &Caller, id: &str, index: usize, reason: &str) -> Result<Application, StoreError> {
        operator_only(caller, "resolving an objection")?;
        let mut a = self.application(caller, id).await?;
        open_objection(&mut a, index)?;
        resolution_reason(reason)?;
        Ok(a)
    }

    /// The application, if the operator may decide it now; refused as [`Incentives::decide`]
    /// would be.
    pub async fn check_decide(&self, caller: &Caller, id: &str) -> Result<Application, StoreError> {
        operator_only(caller, "deciding an award")?;
        let a = self.application(caller, id).await?;
        decide::check_decidable(&a, id, self.ids.now_ms())?;
        Ok(a)
    }

    /// The two programmes and how many undecided applications carrying `from` to `to` would
    /// move at most; refused as [`Incentives::carry`] would be.
    pub async fn check_carry(&self, caller: &Caller, from: &str, to: &str) -> Result<(ProgrammeSpec, ProgrammeSpec, usize), StoreError> {
        operator_only(caller, "carrying applications to a successor policy")?;
        let (old, new) = (self.programme(from).await?, self.programme(to).await?);
        decide::check_carriable(&old, &new, self.ids.now_ms())?;
        let undecided = self
            .store
            .incentive_applications(Some(("programme", from)))
            .await?
            .iter()
            .filter(|a| matches!(a.stage, Stage::UnderReview | Stage::Publicity))
            .count();
        Ok((old, new, undecided))
    }

    /// The demo's round only (`serve --demo` has no five working days to wait): ends the
    /// publicity of an application that the operator ranked, so that it can be decided at once.
    /// The application's notes and the audit log say so; an objection still stops a decision.
    pub async fn end_publicity_for_demo(&self, id: &str) -> Result<Application, StoreError> {
        let system = Caller::Operator { user: suanli_core::id::UserId::generate(0, 0) };
        let _one = self.step.lock().await;
        let mut a = self.application(&system, id).await?;
        if a.stage != Stage::Publicity {
            return Err(err(ErrorCode::WrongStage, format!("application {id} is {}, not in publicity", a.stage.as_str())));
        }
        let now = self.ids.now_ms();
        a.publicity_until = Some(now);
        a.updated_ms = now;
        a.notes.push(format!(
            "demo: publicity marked over at {}, so that the operator can decide at once",
            suanli_core::time::format_rfc3339(now)
        ));
        self.save(&system, &a, Stage::Publicity, "incentive.demo_publicity_over", serde_json::json!({"publicity_until": now})).await?;
        Ok(a)
    }

    /// The applications in publicity (公示), which every enterprise, the operator and the
    /// regulator may read and object to; nothing for an expert, who sees only its assignments.
    pub async fn in_publicity(&self, caller: &Caller) -> Result<Vec<Application>, StoreError> {
        if matches!(caller, Caller::Expert { .. }) {
            return Ok(Vec::new());
        }
        let now = self.ids.now_ms();
        Ok(self
            .store
            .incentive_applications(None)
            .await?
            .into_iter()
            .filter(|a| a.stage == Stage::Publicity && a.publicity_until.is_none_or(|u| now < u))
            .collect())
    }
}
