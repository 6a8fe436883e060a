//! The merge rule of lifecycle evaluation: an under-used data centre is recommended to merge only into a named destination nearby with better PUE and the spare capacity for its load.
//!
//! # Rule
//!
//! A data centre is a **source** when the platform knows its load, its utilisation is below
//! `merge_below_utilisation` (0.30), it is not the best-ranked data centre (highest score, ties
//! by id) and it is not to be retired. Its load is its busy accelerators on average
//! (utilisation × accelerators).
//!
//! A **destination** for a source is another data centre that
//!
//! - is in the same area (the caller decides what an area is: Suanli uses Hangzhou for its
//!   districts and the enclosing province elsewhere),
//! - has an annualised PUE strictly below the source's (any known PUE is better than an unknown
//!   one),
//! - has its load known and spare capacity for the source's load: accelerators ×
//!   `utilisation_target` (0.70) − its own load − what earlier sources were sent to it,
//! - is neither a source that merges itself nor to be retired.
//!
//! Sources are taken worst PUE first (unknown PUE first of all), then lowest score, then id;
//! each takes the destination with the best PUE (then the most spare capacity, then the lowest
//! id), which from then on receives load and is no longer a source. A source without a
//! destination is not recommended to merge. Because a destination's PUE must be strictly
//! better, the data centre with the best PUE in an area never merges, and the best-ranked data
//! centre never does either.

use crate::grade::reported;
use crate::lifecycle::LifecycleConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use suanli_core::id::CentreId;

/// What the platform schedules at a data centre, for the merge rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Load {
    /// 0 to 1: accelerator-time used against capacity.
    pub utilisation: f64,
    /// Accelerators the platform schedules there.
    pub accelerators: u32,
    /// Data centres of one area are near enough to take each other's load.
    pub area: String,
}

impl Load {
    /// Busy accelerators on average.
    pub fn busy(&self) -> f64 {
        self.utilisation.clamp(0.0, 1.0) * f64::from(self.accelerators)
    }
}

/// One data centre as the merge rule sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate<'a> {
    pub dc: &'a CentreId,
    /// Annualised PUE, if known.
    pub pue: Option<f64>,
    /// Lifecycle score, 0 to 100.
    pub score: f64,
    /// Whether the retire rule holds for it.
    pub retiring: bool,
    pub load: Option<&'a Load>,
}

/// Where each merging data centre's load goes: source → destination. Pure and deterministic.
pub fn plan(candidates: &[Candidate<'_>], cfg: &LifecycleConfig) -> BTreeMap<CentreId, CentreId> {
    let best = candidates.iter().max_by(|a, b| a.score.total_cmp(&b.score).then_with(|| b.dc.cmp(a.dc))).map(|c| c.dc);
    let is_source =
        |c: &Candidate<'_>| Some(c.dc) != best && !c.retiring && c.load.is_some_and(|l| l.utilisation < cfg.merge_below_utilisation);
    let mut sources: Vec<&Candidate<'_>> = candidates.iter().filter(|c| is_source(c)).collect();
    // Worst PUE first (unknown as infinitely bad), then lowest score, then id.
    let pue_key = |c: &Candidate<'_>| c.pue.map_or(f64::INFINITY, reported);
    sources.sort_by(|a, b| pue_key(b).total_cmp(&pue_key(a)).then(a.score.total_cmp(&b.score)).then_with(|| a.dc.cmp(b.dc)));
    let mut received: BTreeMap<&CentreId, f64> = BTreeMap::new();
    let mut merged: BTreeMap<CentreId, CentreId> = BTreeMap::new();
    for source in sources {
        if received.contains_key(source.dc) {
            continue;
        }
        let Some(load) = source.load else { continue };
        let need = load.busy();
        let spare = |d: &Candidate<'_>| {
            d.load.map_or(0.0, |l| f64::from(l.accelerators) * cfg.utilisation_target - l.busy())
                - received.get(d.dc).copied().unwrap_or(0.0)
        };
        let destination = candidates
            .iter()
            .filter(|d| d.dc != source.dc && !d.retiring && !merged.contains_key(d.dc))
            .filter(|d| d.load.is_some_and(|l| l.area == load.area))
            .filter(|d| d.pue.is_some_and(|p| reported(p) < pue_key(source)))
            .filter(|d| spare(d) >= need)
            .min_by(|a, b| pue_key(a).total_cmp(&pue_key(b)).then(spare(b).total_cmp(&spare(a))).then_with(|| a.dc.cmp(b.dc)));
        if let Some(d) = destination {
            *received.entry(d.dc).or_default() += need;
            merged.insert(source.dc.clone(), d.dc.clone());
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> CentreId {
        CentreId::generate(0, n)
    }

    fn load(utilisation: f64, accelerators: u32, area: &str) -> Load {
        Load { utilisation, accelerators, area: area.into() }
    }

    /// A candidate as (id, pue, score, retiring, load).
    type Row = (u64, Option<f64>, f64, bool, Option<Load>);

    /// The plan over candidates, as (source, destination) numbers.
    fn run(rows: &[Row]) -> Vec<(u64, u64)> {
        let ids: Vec<CentreId> = rows.iter().map(|r| id(r.0)).collect();
        let candidates: Vec<Candidate<'_>> =
            rows.iter().zip(&ids).map(|(r, dc)| Candidate { dc, pue: r.1, score: r.2, retiring: r.3, load: r.4.as_ref() }).collect();
        let number = |c: &CentreId| ids.iter().position(|x| x == c).map(|i| rows[i].0).unwrap();
        plan(&candidates, &LifecycleConfig::default()).iter().map(|(s, d)| (number(s), number(d))).collect()
    }

    #[test]
    fn all_under_used_merge_only_into_a_better_centre_nearby_and_never_the_best() {
        // Every centre is under the 0.30 line, as in the demo city; 1 is the best.
        let plan = run(&[
            (1, Some(1.15), 90.0, false, Some(load(0.10, 1000, "hangzhou"))),
            (2, Some(1.30), 70.0, false, Some(load(0.10, 200, "hangzhou"))),
            (3, Some(1.40), 60.0, false, Some(load(0.20, 100, "hangzhou"))),
            (4, Some(1.20), 80.0, false, Some(load(0.05, 500, "shanghai"))),
        ]);
        // 3 (worst) and 2 go to 1; 4 is alone in its area; 1 is never a source.
        assert_eq!(plan, [(2, 1), (3, 1)]);
    }

    #[test]
    fn capacity_is_shared_between_sources_and_the_next_best_takes_the_rest() {
        // 1 can take 1000 x 0.7 - 600 = 100 busy accelerators; 2 can take 500 x 0.7 - 50 = 300.
        let plan = run(&[
            (1, Some(1.10), 95.0, false, Some(load(0.60, 1000, "hangzhou"))),
            (2, Some(1.20), 80.0, false, Some(load(0.10, 500, "hangzhou"))),
            (3, Some(1.50), 40.0, false, Some(load(0.25, 320, "hangzhou"))), // 80 busy: fits in 1
            (4, Some(1.40), 50.0, false, Some(load(0.25, 200, "hangzhou"))), // 50 busy: 1 has 20 left, 2 takes it
        ]);
        assert_eq!(plan, [(3, 1), (4, 2)]);
    }

    #[test]
    fn no_destination_no_merge() {
        // No spare capacity anywhere nearby, or only worse PUE, or unknown load.
        assert!(
            run(&[(1, Some(1.10), 90.0, false, Some(load(0.69, 100, "a"))), (2, Some(1.3), 50.0, false, Some(load(0.2, 1000, "a")))])
                .is_empty()
        );
        assert!(
            run(&[(1, Some(1.40), 90.0, false, Some(load(0.1, 100, "a"))), (2, Some(1.3), 50.0, false, Some(load(0.2, 100, "a")))])
                .is_empty()
        );
        assert!(run(&[(1, Some(1.10), 90.0, false, None), (2, Some(1.3), 50.0, false, Some(load(0.2, 100, "a")))]).is_empty());
        // Equal reported PUE is not better.
        assert!(
            run(&[(1, Some(1.301), 90.0, false, Some(load(0.1, 100, "a"))), (2, Some(1.299), 50.0, false, Some(load(0.1, 10, "a")))])
                .is_empty()
        );
    }

    #[test]
    fn unknown_pue_merges_first_and_retiring_centres_neither_send_nor_receive() {
        let plan = run(&[
            (1, Some(1.20), 90.0, false, Some(load(0.1, 100, "a"))),
            (2, None, 30.0, false, Some(load(0.1, 100, "a"))),
            (3, Some(1.10), 20.0, true, Some(load(0.0, 1000, "a"))),
            (4, Some(1.9), 10.0, true, Some(load(0.1, 100, "a"))),
        ]);
        assert_eq!(plan, [(2, 1)]);
    }

    #[test]
    fn a_destination_does_not_merge_itself_later() {
        // 2 receives 3's load first (3 has the worse PUE), so it stays even though 1 could take it.
        let plan = run(&[
            (1, Some(1.10), 95.0, false, Some(load(0.5, 100, "a"))),
            (2, Some(1.20), 80.0, false, Some(load(0.1, 1000, "a"))),
            (3, Some(1.30), 60.0, false, Some(load(0.2, 1000, "a"))),
        ]);
        // 3 needs 200: 1 has 20 spare, 2 has 600: 3 → 2; 2 is then a destination and stays.
        assert_eq!(plan, [(3, 2)]);
    }
}
