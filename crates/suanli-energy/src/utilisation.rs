//! Utilisation of a compute centre for its lifecycle score: the accelerator-time its jobs ran against its pools' capacity over the last 30 days.

use std::collections::{BTreeMap, HashMap};
use suanli_core::id::CentreId;
use suanli_core::time::{MS_PER_DAY, UnixMs};

/// Utilisation looks back this far (or to the platform's first job, if later).
pub const UTILISATION_WINDOW_MS: i64 = 30 * MS_PER_DAY;

/// Where the utilisation window ending at `now_ms` starts: the earlier bound of the query for
/// the accelerator-time jobs ran.
pub fn window_start(now_ms: UnixMs) -> UnixMs {
    now_ms - UTILISATION_WINDOW_MS
}

/// Utilisation per centre at `now_ms`, in 0..=1: `busy` accelerator-milliseconds its jobs ran
/// since [`window_start`] over `capacity` accelerators (a centre's pools, summed) times the
/// window, which starts at the platform's `first_job_ms` when that is later. Empty (unknown)
/// until a job has started; centres without capacity are left out.
pub fn utilisation(
    now_ms: UnixMs,
    first_job_ms: Option<UnixMs>,
    busy: &[(CentreId, i64)],
    capacity: impl IntoIterator<Item = (CentreId, f64)>,
) -> BTreeMap<CentreId, f64> {
    let Some(first) = first_job_ms.filter(|f| *f < now_ms) else {
        return BTreeMap::new();
    };
    let from = first.max(window_start(now_ms));
    let span = (now_ms - from).max(1) as f64;
    let mut per_centre: HashMap<CentreId, f64> = HashMap::new();
    for (centre, accelerators) in capacity {
        *per_centre.entry(centre).or_default() += accelerators;
    }
    per_centre
        .into_iter()
        .filter(|(_, cap)| *cap > 0.0)
        .map(|(id, cap)| {
            let ms = busy.iter().find(|(c, _)| *c == id).map_or(0, |(_, ms)| *ms) as f64;
            (id, (ms / (cap * span)).clamp(0.0, 1.0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> CentreId {
        CentreId::generate(1, n)
    }

    #[test]
    fn utilisation_is_busy_time_over_capacity_and_window() {
        let now = 100 * MS_PER_DAY;
        let (a, b, c) = (id(1), id(2), id(3));
        let capacity = [(a.clone(), 4.0), (a.clone(), 4.0), (b.clone(), 2.0), (c.clone(), 0.0)];
        // `a` ran 8 accelerators for 15 of 30 days; `b` nothing; `c` has no capacity.
        let busy = [(a.clone(), 8 * 15 * MS_PER_DAY), (c.clone(), 1_000)];
        let u = utilisation(now, Some(0), &busy, capacity.clone());
        assert_eq!(u.len(), 2, "{u:?}");
        assert!((u[&a] - 0.5).abs() < 1e-12, "{u:?}");
        assert_eq!(u[&b], 0.0);
        // The platform started 10 days ago: the window is 10 days, and more than full is 1.
        let u = utilisation(now, Some(now - 10 * MS_PER_DAY), &busy, capacity.clone());
        assert_eq!(u[&a], 1.0);
        let u = utilisation(now, Some(now - 20 * MS_PER_DAY), &[(a.clone(), 8 * 5 * MS_PER_DAY)], capacity);
        assert!((u[&a] - 0.25).abs() < 1e-12, "{u:?}");
    }

    #[test]
    fn utilisation_is_unknown_before_the_first_job() {
        let now = 100 * MS_PER_DAY;
        assert!(utilisation(now, None, &[], [(id(1), 8.0)]).is_empty());
        assert!(utilisation(now, Some(now), &[], [(id(1), 8.0)]).is_empty());
        assert_eq!(window_start(now), 70 * MS_PER_DAY);
    }
}
