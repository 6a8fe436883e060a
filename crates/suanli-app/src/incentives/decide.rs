//! Deciding incentive applications: what makes one decidable, the subject's rival claims arbitrated (从优、就高、不重复), the award paid through the ledger, and carrying applications over to another programme.

use super::*;

/// Whether an application can be decided now: in publicity, its publicity over, and no
/// objection left open; the refusal otherwise.
pub(super) fn check_decidable(a: &Application, id: &str, now: i64) -> Result<(), StoreError> {
    if a.stage != Stage::Publicity {
        return Err(err(ErrorCode::WrongStage, format!("application {id} is {}, not in publicity", a.stage.as_str())));
    }
    if a.publicity_until.is_some_and(|u| now < u) {
        return Err(err(
            ErrorCode::WrongStage,
            format!("publicity runs until {}", suanli_core::time::format_rfc3339(a.publicity_until.unwrap_or(0))),
        ));
    }
    if a.objections.iter().any(|o| o.resolution.is_none()) {
        return Err(err(ErrorCode::WrongStage, "an objection is still open: resolve it first"));
    }
    Ok(())
}

/// Whether a programme's applications may be carried to another now: the first closed, the
/// second open.
pub(super) fn check_carriable(old: &ProgrammeSpec, new: &ProgrammeSpec, now: i64) -> Result<(), StoreError> {
    if old.is_open(now) || now < old.open_from_ms {
        return Err(err(ErrorCode::WrongStage, format!("{} is still open; its applications carry over once its window closes", old.code)));
    }
    if !new.is_open(now) {
        return Err(err(ErrorCode::ProgrammeClosed, format!("{} does not accept applications now", new.code)));
    }
    Ok(())
}

/// An application's claim in the arbitration of its subject's awards.
fn claim_of(x: &Application) -> Claim {
    Claim {
        application: x.id.clone(),
        programme: x.programme.clone(),
        policy: x.policy.clone(),
        amount: x.requested,
        created_ms: x.created_ms,
        awarded: x.stage == Stage::Awarded,
    }
}

/// Marks the kept application awarded `pay`, split between the city and the district by its
/// programme, and answers the transfers that pay it from their budgets.
fn award(y: &mut Application, p: &ProgrammeSpec, pay: Fen, now: i64) -> Vec<Transfer> {
    let (city, district) = p.split(pay);
    y.stage = Stage::Awarded;
    y.paid = pay;
    y.city_part = city;
    y.district_part = district;
    y.notes.push(format!("awarded {}: paid {} ({} city, {} district {})", y.requested, pay, city, district, y.district));
    let payout = chart::award_payout(y.applicant.id()).id;
    [(city, chart::city_treasury().id, "award-city"), (district, chart::district_treasury(&y.district).id, "award-district")]
        .into_iter()
        .filter(|(part, _, _)| part.is_positive())
        .map(|(part, from, tag)| {
            Transfer::single(TransferId::derive(tag, &y.id), from, payout, part, ReasonCode::IncentiveAward, &y.id, now)
        })
        .collect()
}

impl Incentives {
    /// The operator decides an application whose publicity has ended with no open objection:
    /// the subject's awards are arbitrated (从优、就高、不重复) and the kept one is paid, the
    /// city's and the district's shares from their budgets, in one ledger commit with the records.
    pub async fn decide(&self, caller: &Caller, id: &str) -> Result<Application, StoreError> {
        operator_only(caller, "deciding an award")?;
        let _one = self.step.lock().await;
        let a = self.application(caller, id).await?;
        let now = self.ids.now_ms();
        check_decidable(&a, id, now)?;
        let others = self.rival_claims(&a, now).await?;
        let claims: Vec<Claim> = std::iter::once(claim_of(&a)).chain(others.iter().map(claim_of)).collect();
        let outcome = arbitrate(&claims).ok_or_else(|| err(ErrorCode::Internal, "nothing to arbitrate"))?;
        let p = self.programme(&a.programme).await?;
        let mut changed: Vec<(Application, Stage)> = Vec::new();
        let mut transfers = Vec::new();
        let mut result = a.clone();
        for x in std::iter::once(&a).chain(&others) {
            // An award already made stays as it is, kept or not.
            if x.stage == Stage::Awarded {
                continue;
            }
            let mut y = x.clone();
            y.updated_ms = now;
            if y.id == outcome.kept {
                let kept_p = if y.programme == p.code { p.clone() } else { self.programme(&y.programme).await? };
                transfers.extend(award(&mut y, &kept_p, outcome.pay, now));
            } else {
                let why = outcome.superseded.iter().find(|(i, _)| *i == y.id).map(|(_, w)| w.clone()).unwrap_or_default();
                y.stage = Stage::Superseded;
                y.notes.push(why);
            }
            if y.id == a.id {
                result = y.clone();
            }
            changed.push((y, x.stage));
        }
        let audit = self.audit(
            caller,
            "incentive.decide",
            id,
            serde_json::json!({"kept": outcome.kept, "pay": outcome.pay.to_yuan_string(), "superseded": outcome.superseded}),
        );
        let accounts = vec![
            StoredAccount::of(&chart::city_treasury(), now),
            StoredAccount::of(&chart::district_treasury(&a.district), now),
            StoredAccount::of(&chart::award_payout(a.applicant.id()), now),
        ];
        self.ledger
            .submit_all(LedgerRequest {
                accounts,
                transfers,
                linked: true,
                effects: vec![Effect::UpdateIncentiveApplications(changed)],
                audit: Some(audit),
                ..LedgerRequest::default()
            })
            .await?;
        Ok(result)
    }

    /// The subject's other claims that join the arbitration, across programmes and policies:
    /// those awarded, and those decidable now themselves (publicity over, no objection open).
    async fn rival_claims(&self, a: &Application, now: i64) -> Result<Vec<Application>, StoreError> {
        Ok(self
            .store
            .incentive_applications(Some(("subject", &a.subject)))
            .await?
            .into_iter()
            .filter(|o| {
                let decidable = o.stage == Stage::Publicity
                    && o.publicity_until.is_some_and(|u| now >= u)
                    && o.objections.iter().all(|x| x.resolution.is_some());
                o.id != a.id && (o.stage == Stage::Awarded || decidable)
            })
            .collect())
    }

    /// When a policy's window has closed, the operator carries its programme's undecided
    /// applications (under review or in publicity) to a successor programme that is open: they
    /// keep their evidence, and their reviews when the criteria are the same; those in publicity go
    /// back to review under the successor's rules. One whose subject already applied to the
    /// successor this year is left where it is, and said so.
    pub async fn carry(&self, caller: &Caller, from: &str, to: &str) -> Result<Vec<Application>, StoreError> {
        operator_only(caller, "carrying applications to a successor policy")?;
        let _one = self.step.lock().await;
        let (old, new) = (self.programme(from).await?, self.programme(to).await?);
        let now = self.ids.now_ms();
        check_carriable(&old, &new, now)?;
        let same_criteria = old.criteria.iter().map(|c| &c.key).eq(new.criteria.iter().map(|c| &c.key));
        let year = year_of(now);
        let mut moved = Vec::new();
        let mut tx = self.store.begin().await?;
        for a in self.store.incentive_applications(Some(("programme", from))).await? {
            if !matches!(a.stage, Stage::UnderReview | Stage::Publicity) {
                continue;
            }
            let taken = self
                .store
                .incentive_applications(Some(("subject", &a.subject)))
                .await?
                .iter()
                .any(|o| o.programme == new.code && o.year == year);
            let mut b = a.clone();
            b.updated_ms = now;
            if taken {
                b.notes.push(format!("not carried to {to}: the subject already applied to it"));
                tx.update_incentive_application(&b, a.stage).await?;
                continue;
            }
            b.programme = new.code.clone();
            b.policy = new.policy.clone();
            b.year = year;
            b.stage = Stage::UnderReview;
            b.publicity_until = None;
            b.rank = None;
            if !same_criteria {
                b.reviews.clear();
                b.score = None;
            }
            b.notes.push(format!("carried from {from} ({}) to {to} ({}) when the former closed", old.policy, new.policy));
            tx.move_incentive_application(&b, from).await?;
            moved.push(b);
        }
        tx.audit(&self.audit(
            caller,
            "incentive.carry",
            from,
            serde_json::json!({"to": to, "moved": moved.iter().map(|a| &a.id).collect::<Vec<_>>()}),
        ))
        .await?;
        tx.commit().await?;
        Ok(moved)
    }
}
