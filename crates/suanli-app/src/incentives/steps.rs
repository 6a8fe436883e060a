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
