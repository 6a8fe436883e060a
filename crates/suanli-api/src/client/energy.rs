//! The typed client's calls for energy monitoring: readings, meters, facts, PUE, coverage, evaluation, alerts.

use super::{Client, Result, query};
use crate::energy;
use reqwest::Method;
use suanli_core::id::CentreId;

impl Client {
    /// Sends meter readings; accepted ones are durable when this answers.
    pub async fn energy_ingest(&self, readings: &energy::ReadingsIn) -> Result<energy::IngestOut> {
        self.post_as("/api/v1/energy/readings", readings).await
    }

    /// A centre's PUE over a window (unix ms, RFC 3339 or YYYY-MM-DD; default the last 24 hours).
    pub async fn energy_pue(&self, centre: &CentreId, from: Option<&str>, to: Option<&str>) -> Result<energy::CentrePueOut> {
        let q = query(&[("from", from), ("to", to)]);
        self.get_as(&format!("/api/v1/energy/centres/{centre}/pue{q}")).await
    }

    /// Registers a centre's meters (they replace the unused ones).
    pub async fn energy_register_meters(&self, centre: &CentreId, meters: &energy::MetersIn) -> Result<energy::MetersOut> {
        self.post_as(&format!("/api/v1/energy/centres/{centre}/meters"), meters).await
    }

    /// A centre's meters with what each reported.
    pub async fn energy_meters(&self, centre: &CentreId) -> Result<energy::CentreMetersOut> {
        self.get_as(&format!("/api/v1/energy/centres/{centre}/meters")).await
    }

    /// Sets a centre's cooling and rated capacity.
    pub async fn energy_set_facts(&self, centre: &CentreId, facts: &energy::FactsIn) -> Result<energy::FactsOut> {
        self.send(Method::PUT, &format!("/api/v1/energy/centres/{centre}/facts"), Some(facts), &[]).await
    }

    /// Monitoring coverage against the policy's target.
    pub async fn energy_coverage(&self) -> Result<energy::CoverageReport> {
        self.get_as("/api/v1/energy/coverage").await
    }

    /// The lifecycle evaluation, as at the end of `year` (or now).
    pub async fn energy_evaluation(&self, year: Option<i32>) -> Result<energy::EvaluationOut> {
        let year = year.map(|y| y.to_string());
        self.get_as(&format!("/api/v1/energy/evaluation{}", query(&[("year", year.as_deref())]))).await
    }

    /// Open energy alerts.
    pub async fn energy_alerts(&self) -> Result<energy::AlertsOut> {
        self.get_as("/api/v1/energy/alerts").await
    }
}
