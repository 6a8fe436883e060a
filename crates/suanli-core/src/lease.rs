//! The leader lease as a replica believes it: when it may act as leader, from the answers of the store's conditional acquire-or-renew.
//!
//! The store grants or renews the lease by the database's clock; a replica only knows when it
//! *sent* the statement that was granted. The lease cannot have ended before `sent + lease`
//! by the database's clock, so a replica that stops acting as leader a margin before that, by
//! its own monotonic clock, never acts on a lease that has passed to another. Times here are a
//! monotonic clock's milliseconds, passed in (this crate reads no clock).

/// How long a lease lasts and how often its holder renews it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTerms {
    /// How long a granted lease lasts from the moment the database grants it.
    pub lease_ms: i64,
    /// How often a replica tries to acquire or renew.
    pub renew_ms: i64,
}

impl Default for LeaseTerms {
    fn default() -> LeaseTerms {
        LeaseTerms { lease_ms: 5_000, renew_ms: 1_000 }
    }
}

impl LeaseTerms {
    /// How long before the lease's end (as the replica computes it) it stops acting as leader,
    /// for a clock that runs a little fast and for scheduling delays: a tenth of the lease.
    pub fn margin_ms(self) -> i64 {
        self.lease_ms / 10
    }
}

/// What a replica believes of its leadership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Belief {
    /// The fencing term of the lease it last held (0: never held one).
    pub term: i64,
    /// Until when (monotonic ms) it may act as leader; `None` when it holds no lease.
    pub until_ms: Option<i64>,
}

impl Belief {
    /// The belief after an acquire-or-renew sent at `sent_ms`: `granted` is the term the store
    /// granted, or `None` when another holds an unexpired lease (or the store did not answer).
    pub fn after_attempt(self, granted: Option<i64>, sent_ms: i64, terms: LeaseTerms) -> Belief {
        match granted {
            Some(term) => Belief { term, until_ms: Some(sent_ms + terms.lease_ms - terms.margin_ms()) },
            None => Belief { term: self.term, until_ms: None },
        }
    }

    /// Whether the replica may act as leader at `now_ms`.
    pub fn leads(self, now_ms: i64) -> bool {
        self.until_ms.is_some_and(|u| now_ms < u)
    }

    /// The term to fence writes with at `now_ms`: the lease's term while it leads, else 0
    /// (which no lease row carries, so every fenced write is refused).
    pub fn fencing_term(self, now_ms: i64) -> i64 {
        if self.leads(now_ms) { self.term } else { 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_granted_lease_leads_until_a_margin_before_its_end() {
        let t = LeaseTerms::default();
        let b = Belief::default().after_attempt(Some(3), 10_000, t);
        let cases = [(10_000, true), (14_499, true), (14_500, false), (20_000, false)];
        for (now, leads) in cases {
            assert_eq!(b.leads(now), leads, "at {now}");
            assert_eq!(b.fencing_term(now), if leads { 3 } else { 0 }, "at {now}");
        }
    }

    #[test]
    fn a_refused_or_failed_attempt_stops_leading_at_once_and_keeps_the_last_term() {
        let t = LeaseTerms::default();
        let b = Belief::default().after_attempt(Some(2), 0, t).after_attempt(None, 1_000, t);
        assert!(!b.leads(1_000));
        assert_eq!(b.term, 2);
        assert_eq!(b.fencing_term(1_000), 0);
    }

    #[test]
    fn a_renewal_moves_the_end_from_when_it_was_sent() {
        let t = LeaseTerms { lease_ms: 1_000, renew_ms: 200 };
        let b = Belief::default().after_attempt(Some(1), 0, t).after_attempt(Some(1), 800, t);
        assert!(b.leads(1_600));
        assert!(!b.leads(1_700));
    }

    #[test]
    fn nobody_leads_before_a_first_grant() {
        assert!(!Belief::default().leads(0));
        assert_eq!(Belief::default().fencing_term(0), 0);
    }
}
