//! Failover at the start of a round: jobs placed at a dark centre are placed again elsewhere, restartable runs at a centre silent too long start again elsewhere.

use super::{Engine, RoundReport};
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use suanli_core::id::CentreId;
use suanli_core::job::{Job, JobState};
use suanli_core::reason::JobReason;
use suanli_store::StoreError;

impl Engine {
    /// Failover: a dark centre's jobs that have not started are placed again elsewhere (its
    /// backend is told to drop them, so a returning agent cancels rather than starts them);
    /// restartable running jobs of a centre silent past the restart threshold start again
    /// elsewhere (the lost run is the centre's and is not billed). Other running jobs stay.
    pub(super) async fn fail_over(
        &self,
        down: &HashSet<CentreId>,
        in_flight: &mut Vec<Job>,
        pending: &mut Vec<Arc<Job>>,
        report: &mut RoundReport,
    ) -> Result<(), StoreError> {
        let now = self.ids.now_ms();
        let stranded = |j: &Job| j.state == JobState::Placed && j.centre_id.as_ref().is_some_and(|c| down.contains(c));
        for j in in_flight.iter().filter(|j| stranded(j)) {
            let Some(centre) = j.centre_id.clone() else { continue };
            self.cancel_on(j.centre_id.as_ref(), &j.id, now).await;
            let audit = self.audit("job.replaced", &j.id, json!({"unavailable_centre": centre}));
            let reason = JobReason::CentreSilentBeforeStart { centre };
            if let Some(job) = self.back_to_pending(&j.id, now, audit, reason).await? {
                report.replaced += 1;
                pending.push(Arc::new(job));
            }
        }
        in_flight.retain(|j| !stranded(j));
        let abandoned = self.abandoned_centres(now);
        let gone =
            |j: &Job| j.state == JobState::Running && j.spec.restartable && j.centre_id.as_ref().is_some_and(|c| abandoned.contains(c));
        for j in in_flight.iter().filter(|j| gone(j)) {
            let Some(centre) = j.centre_id.clone() else { continue };
            self.cancel_on(j.centre_id.as_ref(), &j.id, now).await;
            let audit = self.audit("job.restarted", &j.id, json!({"silent_centre": centre, "lost_run_started_ms": j.started_ms}));
            let reason = JobReason::CentreSilentWhileRunning { centre };
            if let Some(job) = self.back_to_pending(&j.id, now, audit, reason).await? {
                report.replaced += 1;
                pending.push(Arc::new(job));
            }
        }
        in_flight.retain(|j| !gone(j));
        Ok(())
    }
}
