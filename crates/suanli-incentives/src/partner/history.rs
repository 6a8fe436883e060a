//! A centre's partner-status history: each change as the store records it (who, when, why), and the one rule for the status a centre had at a given time.

use super::PartnerReason;
use serde::{Deserialize, Serialize};
use suanli_core::centre::PartnerStatus;
use suanli_core::time::UnixMs;

/// One change of a centre's partner status. A centre's registration is its first change (no
/// `from`); migration 24 wrote one such entry per centre it found, at the centre's creation,
/// with the status the centre had then (what came before is not known).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartnerChange {
    pub centre_id: String,
    /// The status before; none for the registration.
    pub from: Option<PartnerStatus>,
    pub to: PartnerStatus,
    pub at_ms: UnixMs,
    /// Who: "operator:usr_…", "provider:usr_…", "migration", ...
    pub by: String,
    /// The operator's words, when a change by hand gave any.
    pub reason: Option<String>,
    /// A round's typed reasons (its score's shortfalls), empty otherwise.
    #[serde(default)]
    pub reasons: Vec<PartnerReason>,
}

/// The status a centre had at `t`: the `to` of its latest change at or before `t`. Before its
/// first change the centre was not registered, so it had none; a centre without any recorded
/// change has `current` throughout (history can only be missing for rows the store never saw).
/// `changes` may come in any order; ties at one instant go to the later one in the slice.
pub fn status_at<'a>(changes: impl IntoIterator<Item = &'a PartnerChange>, t: UnixMs, current: PartnerStatus) -> Option<PartnerStatus> {
    let mut any = false;
    // `max_by_key` keeps the last of equal keys: the later change of one instant.
    let latest = changes.into_iter().inspect(|_| any = true).filter(|c| c.at_ms <= t).max_by_key(|c| c.at_ms);
    if !any {
        return Some(current);
    }
    latest.map(|c| c.to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PartnerStatus::{Applicant, Partner, Suspended};

    fn change(from: Option<PartnerStatus>, to: PartnerStatus, at_ms: UnixMs) -> PartnerChange {
        PartnerChange { centre_id: "ctr_a".into(), from, to, at_ms, by: "operator:usr_a".into(), reason: None, reasons: vec![] }
    }

    #[test]
    fn a_centre_admitted_mid_month_is_a_partner_only_from_its_admission() {
        let h = [change(None, Applicant, 100), change(Some(Applicant), Partner, 500)];
        assert_eq!(status_at(&h, 50, Partner), None, "not registered yet");
        assert_eq!(status_at(&h, 100, Partner), Some(Applicant));
        assert_eq!(status_at(&h, 499, Partner), Some(Applicant));
        assert_eq!(status_at(&h, 500, Partner), Some(Partner));
        assert_eq!(status_at(&h, 10_000, Partner), Some(Partner));
    }

    #[test]
    fn a_suspended_then_readmitted_centre_is_out_only_in_between() {
        // Given newest first, as the store answers: the order does not matter.
        let h = [
            change(Some(Suspended), Partner, 900),
            change(Some(Partner), Suspended, 600),
            change(Some(Applicant), Partner, 300),
            change(None, Applicant, 100),
        ];
        let at = |t| status_at(&h, t, Partner);
        assert_eq!(
            [at(200), at(300), at(599), at(600), at(899), at(900)],
            [Some(Applicant), Some(Partner), Some(Partner), Some(Suspended), Some(Suspended), Some(Partner)]
        );
    }

    #[test]
    fn without_history_a_centre_has_its_current_status_throughout() {
        assert_eq!(status_at(&[], 0, Suspended), Some(Suspended));
        assert_eq!(status_at(&[], i64::MAX, Partner), Some(Partner));
    }

    #[test]
    fn changes_at_one_instant_end_at_the_last_recorded() {
        let h = [change(None, Applicant, 100), change(Some(Applicant), Partner, 100)];
        assert_eq!(status_at(&h, 100, Applicant), Some(Partner));
    }
}
