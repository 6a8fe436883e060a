//! Expert review: the expert pool, the operator's assignment of experts to applications (never to their own company's), an expert's weighted score on a programme's criteria, conflicts of interest refused, ranking within the quota and the budget, and publicity counted in working days.

use crate::programme::ProgrammeSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use suanli_core::error::{Error, ErrorCode};
use suanli_core::money::Fen;
use suanli_core::time::UnixMs;

/// A member of the expert pool: a user with the expert role, and the organisation it works for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expert {
    /// Its user id (`usr_…`): it signs in and scores as itself.
    pub id: String,
    pub name: String,
    /// Its employer's unified social credit code: it never scores its employer's applications.
    pub organisation_uscc: String,
    pub created_ms: UnixMs,
}

/// An expert assigned to score an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ExpertAssignment))]
pub struct Assignment {
    pub expert: String,
    pub name: String,
    pub by: String,
    pub at_ms: UnixMs,
}

impl Expert {
    /// Whether the operator may assign this expert to an application of `applicant_uscc` that
    /// already has `assigned`: never its own company's, never twice.
    pub fn check_assignment(&self, applicant_uscc: &str, assigned: &[Assignment]) -> Result<(), Error> {
        if self.organisation_uscc == applicant_uscc {
            return Err(Error::new(ErrorCode::ConflictOfInterest, format!("{} works for the applicant and may not score it", self.name)));
        }
        if assigned.iter().any(|a| a.expert == self.id) {
            return Err(Error::new(ErrorCode::AlreadyAssigned, format!("{} is already assigned to this application", self.name)));
        }
        Ok(())
    }
}

/// One expert's scores (0-100 per criterion) of one application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ExpertReview))]
pub struct Review {
    pub expert: String,
    /// The scoring expert's user id (`usr_…`); absent in reviews recorded before experts signed in.
    #[serde(default)]
    pub expert_id: Option<String>,
    /// The expert's employer's credit code: an expert never scores its own company's application.
    pub organisation_uscc: String,
    pub scores: BTreeMap<String, f64>,
    pub at_ms: UnixMs,
}

impl Review {
    /// Whether two reviews are by the same expert: by user id when both have one (two experts
    /// may share a name), else by name.
    fn same_expert(&self, other: &Review) -> bool {
        match (&self.expert_id, &other.expert_id) {
            (Some(a), Some(b)) => a == b,
            _ => self.expert == other.expert,
        }
    }

    /// Checks the scores against the programme's criteria and the conflict rule.
    pub fn check(&self, p: &ProgrammeSpec, applicant_uscc: &str, earlier: &[Review]) -> Result<(), Error> {
        if self.organisation_uscc == applicant_uscc {
            return Err(Error::new(ErrorCode::ConflictOfInterest, format!("{} works for the applicant and may not score it", self.expert)));
        }
        if earlier.iter().any(|r| r.same_expert(self)) {
            return Err(Error::new(ErrorCode::ConflictOfInterest, format!("{} has already scored this application", self.expert)));
        }
        for c in &p.criteria {
            match self.scores.get(&c.key) {
                Some(s) if (0.0..=100.0).contains(s) => {}
                _ => return Err(Error::new(ErrorCode::InvalidReview, format!("score '{}' from 0 to 100", c.key))),
            }
        }
        if let Some(k) = self.scores.keys().find(|k| !p.criteria.iter().any(|c| &c.key == *k)) {
            return Err(Error::new(ErrorCode::InvalidReview, format!("'{k}' is not a criterion of this programme")));
        }
        Ok(())
    }

    /// The weighted score, 0-100.
    pub fn total(&self, p: &ProgrammeSpec) -> f64 {
        p.criteria.iter().map(|c| self.scores.get(&c.key).copied().unwrap_or(0.0) * c.weight as f64 / 100.0).sum()
    }
}

/// The applications' mean scores: the mean of the reviewers' totals.
pub fn mean_score(p: &ProgrammeSpec, reviews: &[Review]) -> Option<f64> {
    (!reviews.is_empty()).then(|| reviews.iter().map(|r| r.total(p)).sum::<f64>() / reviews.len() as f64)
}

/// An application in a ranking: its id, score, amount asked and when it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub id: String,
    pub score: f64,
    pub amount: Fen,
    pub created_ms: UnixMs,
}

/// Ranks by score (earlier application first on a tie) and selects down the list while the
/// quota and the budget left allow; answers (selected, not selected), each in rank order.
pub fn rank(mut apps: Vec<Ranked>, quota: Option<u32>, budget_left: Fen) -> (Vec<Ranked>, Vec<Ranked>) {
    apps.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.created_ms.cmp(&b.created_ms)).then(a.id.cmp(&b.id)));
    let (mut chosen, mut rest, mut left) = (Vec::new(), Vec::new(), budget_left);
    for a in apps {
        if quota.is_none_or(|q| (chosen.len() as u32) < q) && a.amount <= left {
            left = Fen(left.0 - a.amount.0);
            chosen.push(a);
        } else {
            rest.push(a);
        }
    }
    (chosen, rest)
}

/// `days` working days (Monday to Friday, China Standard Time, except the given public holidays,
/// as days since 1970-01-01) after `from`: the end of the day the last one falls on.
pub fn working_days_after(from: UnixMs, days: u32, holidays: &[i64]) -> UnixMs {
    const DAY: i64 = 86_400_000;
    let cst = 8 * 3_600_000;
    let mut day = (from + cst).div_euclid(DAY);
    let mut left = days;
    while left > 0 {
        day += 1;
        // 1970-01-01 was a Thursday: day % 7 == 2 is Saturday, 3 is Sunday.
        if !matches!(day.rem_euclid(7), 2 | 3) && !holidays.contains(&day) {
            left -= 1;
        }
    }
    (day + 1) * DAY - cst
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::programme::policy_programmes;

    fn review(expert: &str, org: &str, s: f64) -> Review {
        Review {
            expert: expert.into(),
            expert_id: None,
            organisation_uscc: org.into(),
            scores: [("innovation", s), ("application", s), ("team", s)].iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            at_ms: 0,
        }
    }

    #[test]
    fn experts_score_on_the_criteria_and_never_their_own_company() {
        let p = &policy_programmes()[1];
        assert_eq!(review("王", "ORG", 80.0).check(p, "ORG", &[]).unwrap_err().code, ErrorCode::ConflictOfInterest);
        assert_eq!(review("王", "A", 80.0).check(p, "ORG", &[review("王", "A", 70.0)]).unwrap_err().code, ErrorCode::ConflictOfInterest);
        assert_eq!(review("王", "A", 101.0).check(p, "ORG", &[]).unwrap_err().code, ErrorCode::InvalidReview);
        let mut extra = review("王", "A", 80.0);
        extra.scores.insert("luck".into(), 1.0);
        assert_eq!(extra.check(p, "ORG", &[]).unwrap_err().code, ErrorCode::InvalidReview);
        assert!(review("王", "A", 80.0).check(p, "ORG", &[]).is_ok());
        assert_eq!(mean_score(p, &[review("a", "A", 80.0), review("b", "B", 60.0)]), Some(70.0));
    }

    #[test]
    fn experts_are_assigned_once_and_never_to_their_own_company_and_two_of_one_name_both_score() {
        let wang = Expert { id: "usr_1".into(), name: "王".into(), organisation_uscc: "A".into(), created_ms: 0 };
        assert_eq!(wang.check_assignment("A", &[]).unwrap_err().code, ErrorCode::ConflictOfInterest);
        let once = Assignment { expert: "usr_1".into(), name: "王".into(), by: "operator:usr_0".into(), at_ms: 0 };
        assert_eq!(wang.check_assignment("ORG", std::slice::from_ref(&once)).unwrap_err().code, ErrorCode::AlreadyAssigned);
        assert!(wang.check_assignment("ORG", &[]).is_ok());
        let p = &policy_programmes()[1];
        let by = |id: &str| Review { expert_id: Some(id.into()), ..review("王", "A", 80.0) };
        assert!(by("usr_2").check(p, "ORG", &[by("usr_1")]).is_ok(), "another expert of the same name");
        assert_eq!(by("usr_1").check(p, "ORG", &[by("usr_1")]).unwrap_err().code, ErrorCode::ConflictOfInterest);
    }

    #[test]
    fn ranking_fills_the_quota_in_score_order_within_the_budget() {
        let r = |id: &str, score: f64, amount: i64, at: i64| Ranked { id: id.into(), score, amount: Fen(amount), created_ms: at };
        let (chosen, rest) =
            rank(vec![r("a", 70.0, 50, 1), r("b", 90.0, 60, 2), r("c", 90.0, 30, 1), r("d", 80.0, 10, 1)], Some(3), Fen(100));
        let ids = |v: &[Ranked]| v.iter().map(|x| x.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&chosen), ["c", "b", "d"], "90 (earlier first), 90, 80; quota 3");
        assert_eq!(ids(&rest), ["a"]);
        let (chosen, _) = rank(vec![r("a", 90.0, 80, 1), r("b", 80.0, 30, 1), r("c", 70.0, 20, 1)], None, Fen(100));
        assert_eq!(ids(&chosen), ["a", "c"], "b does not fit what the budget has left");
    }

    #[test]
    fn publicity_counts_working_days() {
        // 2026-11-30 is a Monday; five working days after it end on Monday 2026-12-07.
        let monday = suanli_core::time::days_from_civil(2026, 11, 30) * 86_400_000 - 8 * 3_600_000 + 10 * 3_600_000;
        let end = working_days_after(monday, 5, &[]);
        assert_eq!(end, suanli_core::time::days_from_civil(2026, 12, 8) * 86_400_000 - 8 * 3_600_000);
        let friday = monday + 4 * 86_400_000;
        assert_eq!(working_days_after(friday, 1, &[]), suanli_core::time::days_from_civil(2026, 12, 8) * 86_400_000 - 8 * 3_600_000);
        // With Tuesday 2026-12-01 a holiday, five working days after Monday end a day later.
        let holiday = suanli_core::time::days_from_civil(2026, 12, 1);
        assert_eq!(working_days_after(monday, 5, &[holiday]), end + 86_400_000);
    }
}
