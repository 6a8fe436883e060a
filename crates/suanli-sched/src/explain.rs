//! A placement's explanation as the store keeps it: the candidates' names, figures and money in rows of a fixed order (about 700 bytes a job rather than 1.6 KB of named fields), read back as the object clients see.
//!
//! Every placed job gets one, written in the transaction that places it, so its size is paid by
//! every placement: at 1.6 KB of JSON with the field names repeated for each of four
//! candidates, the explanations were most of the bytes a round wrote. Rows written before this
//! form, as objects, are still read.

use crate::costing::EstimateView;
use crate::round::Placement;
use serde::{Deserialize, Serialize};

/// The stored form's version, its first element.
const PACKED: u8 = 2;

/// Why the scheduler placed a job where it did, as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub decided_ms: i64,
    pub policy: String,
    pub chosen: EstimateView,
    /// The next-best pools that had room, best first.
    pub alternatives: Vec<EstimateView>,
    /// Jobs preempted to make room.
    pub preempted: Vec<String>,
    /// Placed around a reservation for another job, without delaying it.
    pub backfilled: bool,
    /// The tenant's weighted fair share when the job was considered (lower goes first).
    pub fair_share_pflop_s: f64,
}

/// One candidate as a row: (pool, centre, region, accelerator), (wait, transfer, run and
/// completion seconds, carbon kg, carbon, time and score yuan), (cost, compute, transfer and
/// price per hour in yuan), RTT.
type Row<S> = ((S, S, S, S), (f64, f64, f64, f64, f64, f64, f64, f64), (S, S, S, S), Option<u32>);

/// The stored form: version, when, policy, chosen, alternatives, preempted, backfilled, share.
type Packed<S> = (u8, i64, S, Row<S>, Vec<Row<S>>, Vec<S>, bool, f64);

fn row(v: &EstimateView) -> Row<&str> {
    (
        (&v.pool_id, &v.centre_id, &v.region, &v.accelerator),
        (v.wait_s, v.transfer_s, v.run_s, v.completion_s, v.carbon_kg, v.carbon_cost_yuan, v.time_cost_yuan, v.score_yuan),
        (&v.cost, &v.compute_cost, &v.transfer_cost, &v.price_per_hour),
        v.rtt_ms,
    )
}

fn view(r: Row<String>) -> EstimateView {
    let ((pool_id, centre_id, region, accelerator), figures, (cost, compute_cost, transfer_cost, price_per_hour), rtt_ms) = r;
    let (wait_s, transfer_s, run_s, completion_s, carbon_kg, carbon_cost_yuan, time_cost_yuan, score_yuan) = figures;
    EstimateView {
        pool_id,
        centre_id,
        region,
        accelerator,
        wait_s,
        transfer_s,
        run_s,
        completion_s,
        cost,
        compute_cost,
        transfer_cost,
        carbon_kg,
        carbon_cost_yuan,
        time_cost_yuan,
        score_yuan,
        price_per_hour,
        rtt_ms,
    }
}

impl Decision {
    /// The decision behind `p`, made at `decided_ms` under `policy`.
    pub fn of(p: &Placement, decided_ms: i64, policy: &str) -> Decision {
        Decision {
            decided_ms,
            policy: policy.to_string(),
            chosen: p.chosen.view(),
            alternatives: p.alternatives.iter().map(|a| a.view()).collect(),
            preempted: p.preempted.iter().map(ToString::to_string).collect(),
            backfilled: p.backfilled,
            fair_share_pflop_s: p.fair_share,
        }
    }

    /// The stored form (JSON text).
    pub fn packed(&self) -> String {
        let packed: Packed<&str> = (
            PACKED,
            self.decided_ms,
            &self.policy,
            row(&self.chosen),
            self.alternatives.iter().map(row).collect(),
            self.preempted.iter().map(String::as_str).collect(),
            self.backfilled,
            self.fair_share_pflop_s,
        );
        serde_json::to_string(&packed).unwrap_or_default()
    }

    /// Reads a stored explanation: the packed form, or an object as written before it.
    pub fn from_stored(stored: serde_json::Value) -> Result<Decision, String> {
        if !stored.is_array() {
            return serde_json::from_value(stored).map_err(|e| e.to_string());
        }
        let (version, decided_ms, policy, chosen, alternatives, preempted, backfilled, fair_share_pflop_s): Packed<String> =
            serde_json::from_value(stored).map_err(|e| e.to_string())?;
        if version != PACKED {
            return Err(format!("explanation form {version} is not known (this build reads {PACKED})"));
        }
        Ok(Decision {
            decided_ms,
            policy,
            chosen: view(chosen),
            alternatives: alternatives.into_iter().map(view).collect(),
            preempted,
            backfilled,
            fair_share_pflop_s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(pool: &str, rtt_ms: Option<u32>) -> EstimateView {
        EstimateView {
            pool_id: pool.into(),
            centre_id: "ctr_a".into(),
            region: "hz-xiaoshan".into(),
            accelerator: "l40s".into(),
            wait_s: 0.0,
            transfer_s: 58.8,
            run_s: 51.7,
            completion_s: 110.5,
            cost: "0.57".into(),
            compute_cost: "0.57".into(),
            transfer_cost: "0.00".into(),
            carbon_kg: 0.024,
            carbon_cost_yuan: 0.0,
            time_cost_yuan: 0.74,
            score_yuan: 1.31,
            price_per_hour: "4.95".into(),
            rtt_ms,
        }
    }

    fn decision() -> Decision {
        Decision {
            decided_ms: 1_764_900_000_123,
            policy: "suanli".into(),
            chosen: candidate("pool_a", None),
            alternatives: vec![candidate("pool_b", Some(12)), candidate("pool_c", None)],
            preempted: vec!["job_x".into()],
            backfilled: true,
            fair_share_pflop_s: 0.125,
        }
    }

    #[test]
    fn the_packed_form_reads_back_as_written_and_is_less_than_half_the_object() {
        let d = decision();
        let packed = d.packed();
        let read = Decision::from_stored(serde_json::from_str(&packed).unwrap()).unwrap();
        assert_eq!(read, d);
        let object = serde_json::to_string(&d).unwrap();
        assert!(packed.len() * 2 < object.len(), "{} bytes packed, {} as an object", packed.len(), object.len());
        // Clients see the same object as before.
        assert_eq!(serde_json::to_value(&read).unwrap(), serde_json::to_value(&d).unwrap());
    }

    #[test]
    fn objects_written_before_the_packed_form_are_read() {
        let d = decision();
        assert_eq!(Decision::from_stored(serde_json::to_value(&d).unwrap()).unwrap(), d);
    }

    #[test]
    fn an_unknown_form_or_a_short_row_is_an_error_not_a_guess() {
        let mut v: serde_json::Value = serde_json::from_str(&decision().packed()).unwrap();
        v[0] = 3.into();
        assert!(Decision::from_stored(v.clone()).unwrap_err().contains("form 3"));
        v[0] = 2.into();
        v[3][1] = serde_json::json!([0.0, 1.0]);
        assert!(Decision::from_stored(v).is_err());
        assert!(Decision::from_stored(serde_json::json!({"chosen": "pool_a"})).is_err());
    }
}
