//! The expert review of incentive applications: the operator's expert pool, assignments that refuse conflicts of interest, and experts scoring what they are assigned.

use super::*;

impl Incentives {
    /// The operator adds an expert to the pool: a user with the expert role (signing in with
    /// the token whose hash is given, as every user does) and the organisation it works for.
    pub async fn add_expert(
        &self,
        caller: &Caller,
        name: &str,
        organisation_uscc: &str,
        token_sha256_hex: String,
    ) -> Result<Expert, StoreError> {
        operator_only(caller, "the expert pool")?;
        suanli_core::centre::check_name("name", name)?;
        let organisation = suanli_core::ident::Uscc::parse(organisation_uscc)?;
        let (t, e) = self.ids.parts();
        let expert = Expert {
            id: UserId::generate(t, e).to_string(),
            name: name.trim().to_string(),
            organisation_uscc: organisation.as_str().into(),
            created_ms: t,
        };
        let user = NewUser {
            id: UserId::parse(&expert.id)?,
            name: expert.name.clone(),
            role: Role::Expert,
            tenant_id: None,
            provider_id: None,
            token_sha256_hex,
            created_ms: t,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_user(&user).await?;
        tx.insert_incentive_expert(&expert).await?;
        tx.audit(&self.audit(
            caller,
            "incentive_expert.add",
            &expert.id,
            serde_json::json!({"name": expert.name, "organisation_uscc": expert.organisation_uscc}),
        ))
        .await?;
        tx.commit().await?;
        Ok(expert)
    }

    /// The expert pool (the operator and the regulator).
    pub async fn experts(&self, caller: &Caller) -> Result<Vec<Expert>, StoreError> {
        if !matches!(caller, Caller::Operator { .. } | Caller::Regulator { .. }) {
            return Err(err(ErrorCode::Forbidden, "the expert pool is the operator's and the regulator's to read"));
        }
        self.store.incentive_experts().await
    }

    async fn expert(&self, id: &str) -> Result<Expert, StoreError> {
        self.store
            .incentive_expert(id)
            .await?
            .ok_or_else(|| err(ErrorCode::ExpertNotFound, format!("no expert {} in the pool", id.chars().take(40).collect::<String>())))
    }

    /// The operator assigns an expert from the pool to an application under review; never one
    /// who works for the applicant, never twice.
    pub async fn assign(&self, caller: &Caller, id: &str, expert: &str) -> Result<Application, StoreError> {
        operator_only(caller, "assigning experts")?;
        let _one = self.step.lock().await;
        let mut a = self.application(caller, id).await?;
        if a.stage != Stage::UnderReview {
            return Err(err(ErrorCode::WrongStage, format!("application {id} is {}, not under review", a.stage.as_str())));
        }
        let x = self.expert(expert).await?;
        x.check_assignment(&a.applicant_uscc, &a.assigned)?;
        let now = self.ids.now_ms();
        a.assigned.push(Assignment { expert: x.id.clone(), name: x.name.clone(), by: caller.actor(), at_ms: now });
        a.updated_ms = now;
        self.save(caller, &a, Stage::UnderReview, "incentive.assign", serde_json::json!({"expert": x.id, "name": x.name})).await?;
        Ok(a)
    }

    /// An expert scores an application it is assigned, on the programme's criteria (0-100
    /// each), once; the application's score is the mean of its experts' weighted totals.
    pub async fn review(
        &self,
        caller: &Caller,
        id: &str,
        scores: std::collections::BTreeMap<String, f64>,
    ) -> Result<Application, StoreError> {
        let Caller::Expert { user } = caller else {
            return Err(err(ErrorCode::Forbidden, "experts score for themselves, signed in; the operator assigns them"));
        };
        let _one = self.step.lock().await;
        let mut a = self.store.incentive_application(id).await?.filter(|a| visible_to(caller, a)).ok_or_else(|| {
            err(
                ErrorCode::IncentiveApplicationNotFound,
                format!("no incentive application {} assigned to you", id.chars().take(40).collect::<String>()),
            )
        })?;
        if a.stage != Stage::UnderReview {
            return Err(err(ErrorCode::WrongStage, format!("application {id} is {}, not under review", a.stage.as_str())));
        }
        let x = self.expert(user.as_str()).await?;
        let p = self.programme(&a.programme).await?;
        let now = self.ids.now_ms();
        let review = Review {
            expert: x.name.clone(),
            expert_id: Some(x.id.clone()),
            organisation_uscc: x.organisation_uscc.clone(),
            scores,
            at_ms: now,
        };
        review.check(&p, &a.applicant_uscc, &a.reviews)?;
        a.reviews.push(review.clone());
        a.score = mean_score(&p, &a.reviews);
        a.updated_ms = now;
        self.save(caller, &a, Stage::UnderReview, "incentive.review", serde_json::json!({"expert": x.id, "total": review.total(&p)}))
            .await?;
        Ok(as_seen_by(caller, a))
    }
}
