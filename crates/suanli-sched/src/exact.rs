//! The batch objective of one round, its exact optimum by MILP (good_lp), and the heuristic's gap to it.
//!
//! A round assigns pending jobs to pools under the pools' free capacity. Its objective is the
//! sum of the placed jobs' scores plus, for each job left unplaced, a penalty: the job's best
//! score on any feasible pool, busy or not (it still has to run), plus [`crate::round::wait_cost`]. The MILP has one binary per feasible
//! (job, pool) pair; microlp (pure Rust) solves it by default, HiGHS with the `highs` feature.

use crate::round::{Board, RoundOutcome, Snapshot};
use good_lp::{Expression, Solution, SolverModel, Variable, constraint, variable, variables};
use std::collections::HashMap;
use suanli_core::id::JobId;
use suanli_core::job::Job;

/// One job of a batch: its gang and the score of each pool it may use.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchJob {
    pub job: JobId,
    pub accelerators: u32,
    pub penalty: f64,
    /// (pool index, score in yuan)
    pub options: Vec<(usize, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BatchInstance {
    /// Free accelerators per pool index (indexes of the snapshot's pools).
    pub capacity: Vec<u32>,
    pub jobs: Vec<BatchJob>,
}

/// The batch a round faces: every feasible (job, pool) pair whose pool could hold the gang now.
pub fn instance(snap: Snapshot<'_>, pending: &[Job]) -> BatchInstance {
    let mut board = Board::new(snap);
    let jobs = pending
        .iter()
        .map(|j| {
            let roomy: Vec<usize> = board.feasible(j).into_iter().filter(|&i| board.free[i] >= j.spec.accelerators).collect();
            let options: Vec<(usize, f64)> = roomy.into_iter().map(|i| (i, board.estimate_on(j, i, 0.0).score_yuan)).collect();
            let best = board.best_anywhere(j, f64::INFINITY).unwrap_or(f64::INFINITY);
            let wait = crate::round::wait_cost(snap.cfg, j, snap.now_ms);
            BatchJob {
                job: j.id.clone(),
                accelerators: j.spec.accelerators,
                penalty: if best.is_finite() { best + wait } else { wait },
                options,
            }
        })
        .collect();
    BatchInstance { capacity: board.free.clone(), jobs }
}

/// The objective of an assignment (job index -> pool index), or `None` if it breaks capacity or options.
pub fn objective(inst: &BatchInstance, assignment: &[Option<usize>]) -> Option<f64> {
    let mut used = vec![0u64; inst.capacity.len()];
    let mut total = 0.0;
    for (j, a) in inst.jobs.iter().zip(assignment) {
        match a {
            None => total += j.penalty,
            Some(p) => {
                total += j.options.iter().find(|(i, _)| i == p)?.1;
                used[*p] += j.accelerators as u64;
            }
        }
    }
    used.iter().zip(&inst.capacity).all(|(u, c)| *u <= *c as u64).then_some(total)
}

/// The assignment a round's outcome made, in the instance's job order.
pub fn assignment_of(inst: &BatchInstance, snap: Snapshot<'_>, outcome: &RoundOutcome) -> Vec<Option<usize>> {
    let index: HashMap<_, _> = snap.pools.iter().enumerate().map(|(i, p)| (&p.pool.id, i)).collect();
    let placed: HashMap<&JobId, usize> =
        outcome.placements.iter().filter_map(|p| index.get(&p.chosen.pool).map(|&i| (&p.job, i))).collect();
    inst.jobs.iter().map(|j| placed.get(&j.job).copied()).collect()
}

/// The optimal assignment by MILP.
pub fn solve_exact(inst: &BatchInstance) -> Result<Vec<Option<usize>>, String> {
    let mut vars = variables!();
    let mut x: Vec<Vec<(usize, Variable)>> = Vec::with_capacity(inst.jobs.len());
    let mut objective = Expression::from(0.0);
    for j in &inst.jobs {
        let mut row = Vec::with_capacity(j.options.len());
        for &(p, score) in &j.options {
            // Placing a job where it scores worse than its penalty never helps: leave it out.
            if score >= j.penalty {
                continue;
            }
            let v = vars.add(variable().binary());
            objective += (score - j.penalty) * v;
            row.push((p, v));
        }
        x.push(row);
    }
    #[cfg(feature = "highs")]
    let solver = good_lp::highs;
    #[cfg(not(feature = "highs"))]
    let solver = good_lp::microlp;
    let mut model = vars.minimise(objective).using(solver);
    for row in &x {
        if row.len() > 1 {
            let sum: Expression = row.iter().map(|(_, v)| *v).sum();
            model = model.with(constraint!(sum <= 1));
        }
    }
    for (p, cap) in inst.capacity.iter().enumerate() {
        let mut load = Expression::from(0.0);
        let mut any = false;
        for (j, row) in inst.jobs.iter().zip(&x) {
            for (q, v) in row {
                if *q == p {
                    load += j.accelerators as f64 * *v;
                    any = true;
                }
            }
        }
        if any {
            model = model.with(constraint!(load <= *cap as f64));
        }
    }
    let solution = model.solve().map_err(|e| format!("MILP: {e}"))?;
    Ok(x.iter().map(|row| row.iter().find(|(_, v)| solution.value(*v) > 0.5).map(|(p, _)| *p)).collect())
}

/// (heuristic objective, optimal objective, relative gap).
pub fn gap(heuristic: f64, optimum: f64) -> f64 {
    if optimum.abs() < 1e-9 { 0.0 } else { ((heuristic - optimum) / optimum.abs()).max(0.0) }
}

/// The MILP solver this build uses.
pub fn solver_name() -> &'static str {
    if cfg!(feature = "highs") { "highs" } else { "microlp" }
}
