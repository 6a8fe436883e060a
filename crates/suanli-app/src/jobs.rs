//! Jobs: the one rule of who sees which job, for lists and for single jobs alike.

use crate::Caller;
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::JobId;
use suanli_core::job::Job;
use suanli_store::{JobFilter, Store, StoreError};

/// Narrows a job listing to what the caller may see: the operator and regulator all jobs, a
/// tenant its own, a provider those placed on its centres. A tenant asking for another
/// tenant's jobs is refused rather than silently narrowed.
pub fn scope(caller: &Caller, filter: &mut JobFilter) -> Result<(), Error> {
    match caller {
        Caller::Operator { .. } | Caller::Regulator { .. } => {}
        Caller::Tenant { tenant, .. } => {
            if filter.tenant_id.as_ref().is_some_and(|t| t != tenant) {
                return Err(Error::new(ErrorCode::Forbidden, "a tenant lists only its own jobs"));
            }
            filter.tenant_id = Some(tenant.clone());
        }
        Caller::Provider { provider, .. } => filter.provider_id = Some(provider.clone()),
    }
    Ok(())
}

/// A job the caller may see; others' jobs are "not found", so their existence does not leak.
pub async fn visible_job(store: &Store, caller: &Caller, id: &JobId) -> Result<Job, StoreError> {
    let not_found = || StoreError::Domain(Error::new(ErrorCode::JobNotFound, format!("no job {id} that you can see")));
    let job = store.job(id).await?.ok_or_else(not_found)?;
    let visible = match caller {
        Caller::Operator { .. } | Caller::Regulator { .. } => true,
        Caller::Tenant { tenant, .. } => *tenant == job.tenant_id,
        Caller::Provider { provider, .. } => match &job.centre_id {
            Some(c) => store.centre(c).await?.is_some_and(|centre| centre.provider_id == *provider),
            None => false,
        },
    };
    if visible { Ok(job) } else { Err(not_found()) }
}
