//! The typed client's calls for incentives: programmes, applications and their review, objections, decisions, totals, and partner selection with a centre's declarations.

use super::{Client, Result, urlencode};
use crate::incentives::{
    ApplicationOut, ApplyIn, AssignmentIn, Breach, CarryIn, CertificationIn, CertificationOut, DistrictTotalsOut, ExpertCreated, ExpertIn,
    ExpertOut, GreenPowerIn, GreenPowerOut, HolidaysIn, ObjectionIn, PartnerConfig, PartnerScoreOut, ProgrammeSpec, ResolutionIn, ReviewIn,
    RoundChangeOut, RoundIn, TotalsOut,
};
use reqwest::Method;

impl Client {
    pub async fn incentive_programmes(&self) -> Result<Vec<ProgrammeSpec>> {
        self.get_as("/api/v1/incentives/programmes").await
    }

    /// Defines a programme (the operator).
    pub async fn create_incentive_programme(&self, p: &ProgrammeSpec) -> Result<ProgrammeSpec> {
        self.post_as("/api/v1/incentives/programmes", p).await
    }

    /// Applies, with evidence (for itself, or the operator on another's behalf).
    pub async fn apply_for_incentive(&self, a: &ApplyIn) -> Result<ApplicationOut> {
        self.post_as("/api/v1/incentives/applications", a).await
    }

    pub async fn incentive_applications(&self) -> Result<Vec<ApplicationOut>> {
        self.get_as("/api/v1/incentives/applications").await
    }

    pub async fn incentive_application(&self, id: &str) -> Result<ApplicationOut> {
        self.get_as(&format!("/api/v1/incentives/applications/{}", urlencode(id))).await
    }

    /// An expert's own scores of an application assigned to it.
    pub async fn review_application(&self, id: &str, r: &ReviewIn) -> Result<ApplicationOut> {
        self.post_as(&format!("/api/v1/incentives/applications/{}/reviews", urlencode(id)), r).await
    }

    pub async fn experts(&self) -> Result<Vec<ExpertOut>> {
        self.get_as("/api/v1/incentives/experts").await
    }

    /// Adds an expert to the pool (the operator); the answer carries its token, shown once.
    pub async fn add_expert(&self, e: &ExpertIn) -> Result<ExpertCreated> {
        self.post_as("/api/v1/incentives/experts", e).await
    }

    pub async fn assign_expert(&self, id: &str, a: &AssignmentIn) -> Result<ApplicationOut> {
        self.post_as(&format!("/api/v1/incentives/applications/{}/assignments", urlencode(id)), a).await
    }

    /// Ranks a programme's reviewed applications into publicity (the operator).
    pub async fn rank_programme(&self, code: &str) -> Result<Vec<ApplicationOut>> {
        self.send::<(), _>(Method::POST, &format!("/api/v1/incentives/programmes/{}/ranking", urlencode(code)), None, &[]).await
    }

    pub async fn object_to_application(&self, id: &str, o: &ObjectionIn) -> Result<ApplicationOut> {
        self.post_as(&format!("/api/v1/incentives/applications/{}/objections", urlencode(id)), o).await
    }

    /// Resolves objection `n` (from 0) of an application (the operator).
    pub async fn resolve_objection(&self, id: &str, n: usize, r: &ResolutionIn) -> Result<ApplicationOut> {
        self.post_as(&format!("/api/v1/incentives/applications/{}/objections/{n}/resolution", urlencode(id)), r).await
    }

    /// Decides after publicity (the operator): arbitration, then payment.
    pub async fn decide_application(&self, id: &str) -> Result<ApplicationOut> {
        self.send::<(), _>(Method::POST, &format!("/api/v1/incentives/applications/{}/decision", urlencode(id)), None, &[]).await
    }

    /// Carries a closed programme's undecided applications to a successor (the operator).
    pub async fn carry_programme(&self, code: &str, c: &CarryIn) -> Result<Vec<ApplicationOut>> {
        self.post_as(&format!("/api/v1/incentives/programmes/{}/carry", urlencode(code)), c).await
    }

    /// Per programme this year: budget, committed, disbursed, the city's and districts' shares.
    pub async fn incentive_totals(&self) -> Result<Vec<TotalsOut>> {
        self.get_as("/api/v1/incentives/totals").await
    }

    /// One row per programme and district this year.
    pub async fn incentive_totals_by_district(&self) -> Result<Vec<DistrictTotalsOut>> {
        self.get_as("/api/v1/incentives/totals?by=district").await
    }

    /// The public holidays publicity skips.
    pub async fn holidays(&self) -> Result<HolidaysIn> {
        self.get_as("/api/v1/incentives/holidays").await
    }

    pub async fn set_holidays(&self, h: &HolidaysIn) -> Result<HolidaysIn> {
        self.send(Method::PUT, "/api/v1/incentives/holidays", Some(h), &[]).await
    }

    /// Every centre's partner score with what it was scored on, best first.
    pub async fn partner_scores(&self) -> Result<Vec<PartnerScoreOut>> {
        self.get_as("/api/v1/partners/scores").await
    }

    pub async fn partner_config(&self) -> Result<PartnerConfig> {
        self.get_as("/api/v1/partners/config").await
    }

    pub async fn set_partner_config(&self, c: &PartnerConfig) -> Result<PartnerConfig> {
        self.send(Method::PUT, "/api/v1/partners/config", Some(c), &[]).await
    }

    /// Runs a partner round (the operator); answers the changes with why.
    pub async fn partner_round(&self, r: &RoundIn) -> Result<Vec<RoundChangeOut>> {
        self.post_as("/api/v1/partners/rounds", r).await
    }

    /// Partners breaking the unified service standard.
    pub async fn partner_alerts(&self) -> Result<Vec<Breach>> {
        self.get_as("/api/v1/partners/alerts").await
    }

    pub async fn declare_certification(&self, centre: &str, c: &CertificationIn) -> Result<CertificationOut> {
        self.post_as(&format!("/api/v1/centres/{}/certifications", urlencode(centre)), c).await
    }

    pub async fn certifications(&self, centre: &str) -> Result<Vec<CertificationOut>> {
        self.get_as(&format!("/api/v1/centres/{}/certifications", urlencode(centre))).await
    }

    pub async fn declare_green_power(&self, centre: &str, g: &GreenPowerIn) -> Result<GreenPowerOut> {
        self.post_as(&format!("/api/v1/centres/{}/green-power", urlencode(centre)), g).await
    }

    pub async fn green_power(&self, centre: &str) -> Result<Vec<GreenPowerOut>> {
        self.get_as(&format!("/api/v1/centres/{}/green-power", urlencode(centre))).await
    }
}
