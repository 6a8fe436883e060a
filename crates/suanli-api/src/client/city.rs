//! The typed client's calls for the city's figures: the summary against the policy's targets, the accelerator catalogue, regions, the audit trail.

use super::{Client, Result, query};
use crate::dto::{AcceleratorList, AuditOut, CitySummary, Page, RegionList};

impl Client {
    /// The city's totals against the policy's targets.
    pub async fn city_summary(&self) -> Result<CitySummary> {
        self.get_as("/api/v1/city/summary").await
    }

    pub async fn accelerators(&self) -> Result<AcceleratorList> {
        self.get_as("/api/v1/accelerators").await
    }

    pub async fn regions(&self) -> Result<RegionList> {
        self.get_as("/api/v1/regions").await
    }

    /// The audit trail, newest first, of one subject or all.
    pub async fn audit(&self, subject: Option<&str>, limit: u32) -> Result<Page<AuditOut>> {
        let limit = limit.to_string();
        self.get_as(&format!("/api/v1/audit{}", query(&[("limit", Some(&limit)), ("subject", subject)]))).await
    }
}
