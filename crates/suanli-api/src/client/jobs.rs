//! The typed client's calls for jobs: submit, quote, read, list, explain, cancel.

use super::{Client, Result, query, urlencode};
use crate::dto::{CancelIn, ExplainOut, JobIn, JobOut, Page, QuoteOut};

impl Client {
    /// Submits a job (a tenant for itself, the operator for a tenant).
    pub async fn submit_job(&self, job: &JobIn) -> Result<JobOut> {
        self.post_as("/api/v1/jobs", job).await
    }

    /// Every feasible pool's cost, time and carbon for a job not yet submitted.
    pub async fn quote(&self, job: &JobIn) -> Result<QuoteOut> {
        self.post_as("/api/v1/quotes", job).await
    }

    pub async fn job(&self, id: &str) -> Result<JobOut> {
        self.get_as(&format!("/api/v1/jobs/{}", urlencode(id))).await
    }

    /// Jobs the caller may see, newest first: `states` comma-separated, at most `limit`.
    pub async fn jobs(&self, states: Option<&str>, tenant: Option<&str>, centre: Option<&str>, limit: u32) -> Result<Page<JobOut>> {
        let limit = limit.to_string();
        let q = query(&[("limit", Some(&limit)), ("state", states), ("tenant_id", tenant), ("centre_id", centre)]);
        self.get_as(&format!("/api/v1/jobs{q}")).await
    }

    /// Why the scheduler placed a job where it did, or why it waits.
    pub async fn explain_job(&self, id: &str) -> Result<ExplainOut> {
        self.get_as(&format!("/api/v1/jobs/{}/explain", urlencode(id))).await
    }

    pub async fn cancel_job(&self, id: &str, reason: Option<String>) -> Result<JobOut> {
        self.post_as(&format!("/api/v1/jobs/{}/cancel", urlencode(id)), &CancelIn { reason }).await
    }
}
