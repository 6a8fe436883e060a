//! Routing, as a pure function: a model's deployments and their live state in, an ordered list of attempts and the reasons for it out.
//!
//! Deployments outside the key's regions, cooling down after failures, or at their concurrency
//! limit are excluded (and say why). The rest are ordered by the model's strategy: weighted
//! (drawn without replacement from a seeded generator, so a failover goes to another one),
//! least latency (moving average of time to first token; untried deployments first, so each
//! gets measured), or least busy (calls in flight over the concurrency limit). Ties keep the
//! catalogue's order, so the same inputs and seed always give the same route.

use serde::Serialize;
use suanli_core::model::Strategy;
use suanli_core::rng::SplitMix;

/// A deployment as routing sees it at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub deployment: String,
    pub model: String,
    pub centre: String,
    pub region: String,
    pub weight: u32,
    pub in_flight: u32,
    pub max_concurrency: u32,
    /// Moving average of time to first token, ms; `None` until measured.
    pub ewma_ttft_ms: Option<f64>,
    /// Cooling down after failures until this time (unix ms).
    pub cooldown_until_ms: Option<i64>,
    pub region_allowed: bool,
    /// What the last health check found (shown in explanations; failures count toward cooldown).
    pub probe: Probe,
    /// When that check ran (unix ms).
    pub probed_ms: Option<i64>,
}

/// What a deployment's last health check (`GET /models`, every few seconds) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    /// Not checked yet.
    #[default]
    Unchecked = 0,
    /// Answered.
    Up = 1,
    /// Did not answer, or answered with an error.
    Down = 2,
}

impl Probe {
    pub fn as_str(self) -> &'static str {
        match self {
            Probe::Unchecked => "unchecked",
            Probe::Up => "up",
            Probe::Down => "down",
        }
    }
}

/// Why a candidate was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// The key keeps its data in other regions (数据不出域).
    RegionNotAllowed,
    /// Failed recently and is cooling down.
    CoolingDown,
    /// Has as many calls in flight as it may.
    AtConcurrencyLimit,
}

/// The outcome of routing: who to try, in order, and who was left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Route {
    pub strategy: Strategy,
    pub order: Vec<String>,
    pub excluded: Vec<(String, Exclusion)>,
}

/// Orders a model's deployments for one call.
pub fn route(strategy: Strategy, candidates: &[Candidate], now_ms: i64, seed: u64) -> Route {
    let mut excluded = Vec::new();
    let mut open: Vec<&Candidate> = Vec::new();
    for c in candidates {
        let why = if !c.region_allowed {
            Some(Exclusion::RegionNotAllowed)
        } else if c.cooldown_until_ms.is_some_and(|t| t > now_ms) {
            Some(Exclusion::CoolingDown)
        } else if c.in_flight >= c.max_concurrency {
            Some(Exclusion::AtConcurrencyLimit)
        } else {
            None
        };
        match why {
            Some(w) => excluded.push((c.deployment.clone(), w)),
            None => open.push(c),
        }
    }
    let order = match strategy {
        Strategy::Weighted => weighted_order(&open, seed),
        Strategy::LeastLatency => {
            let mut v = open.clone();
            // Unmeasured first (each deployment gets measured), then by moving average.
            v.sort_by(|a, b| {
                let key = |c: &Candidate| c.ewma_ttft_ms.unwrap_or(f64::NEG_INFINITY);
                key(a).total_cmp(&key(b))
            });
            v.into_iter().map(|c| c.deployment.clone()).collect()
        }
        Strategy::LeastBusy => {
            let mut v = open.clone();
            v.sort_by(|a, b| {
                let load = |c: &Candidate| c.in_flight as f64 / c.max_concurrency.max(1) as f64;
                load(a).total_cmp(&load(b))
            });
            v.into_iter().map(|c| c.deployment.clone()).collect()
        }
    };
    Route { strategy, order, excluded }
}

/// Weighted draw without replacement: each next deployment with probability weight / remaining.
fn weighted_order(open: &[&Candidate], seed: u64) -> Vec<String> {
    let mut rng = SplitMix::new(seed);
    let mut left: Vec<&Candidate> = open.to_vec();
    let mut out = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let total: u64 = left.iter().map(|c| c.weight.max(1) as u64).sum();
        let mut pick = rng.next_u64() % total;
        let mut i = 0;
        while pick >= left[i].weight.max(1) as u64 {
            pick -= left[i].weight.max(1) as u64;
            i += 1;
        }
        out.push(left.remove(i).deployment.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, weight: u32) -> Candidate {
        Candidate {
            deployment: id.into(),
            model: "m".into(),
            centre: "ctr".into(),
            region: "xihu".into(),
            weight,
            in_flight: 0,
            max_concurrency: 10,
            ewma_ttft_ms: None,
            cooldown_until_ms: None,
            region_allowed: true,
            probe: Probe::Unchecked,
            probed_ms: None,
        }
    }

    #[test]
    fn weighted_routing_follows_weights_and_is_deterministic() {
        let cs = [c("a", 300), c("b", 100)];
        let mut first_a = 0;
        for seed in 0..4_000 {
            let r = route(Strategy::Weighted, &cs, 0, seed);
            assert_eq!(r.order.len(), 2);
            if r.order[0] == "a" {
                first_a += 1;
            }
            assert_eq!(r, route(Strategy::Weighted, &cs, 0, seed));
        }
        let share = first_a as f64 / 4_000.0;
        assert!((share - 0.75).abs() < 0.03, "a went first {share}");
    }

    #[test]
    fn exclusions_say_why() {
        let mut cold = c("cold", 1);
        cold.cooldown_until_ms = Some(100);
        let mut full = c("full", 1);
        full.in_flight = 10;
        let mut away = c("away", 1);
        away.region_allowed = false;
        let r = route(Strategy::LeastBusy, &[cold.clone(), full, away, c("ok", 1)], 50, 1);
        assert_eq!(r.order, vec!["ok"]);
        assert_eq!(
            r.excluded,
            vec![
                ("cold".into(), Exclusion::CoolingDown),
                ("full".into(), Exclusion::AtConcurrencyLimit),
                ("away".into(), Exclusion::RegionNotAllowed)
            ]
        );
        // The cooldown ends.
        assert_eq!(route(Strategy::LeastBusy, &[cold], 100, 1).order, vec!["cold"]);
    }

    #[test]
    fn least_latency_measures_new_deployments_first_then_takes_the_fastest() {
        let mut slow = c("slow", 1);
        slow.ewma_ttft_ms = Some(300.0);
        let mut fast = c("fast", 1);
        fast.ewma_ttft_ms = Some(20.0);
        assert_eq!(route(Strategy::LeastLatency, &[slow.clone(), fast.clone(), c("new", 1)], 0, 0).order, vec!["new", "fast", "slow"]);
        let mut busy = c("busy", 1);
        busy.in_flight = 9;
        let mut idle = c("idle", 1);
        idle.in_flight = 1;
        assert_eq!(route(Strategy::LeastBusy, &[busy, idle], 0, 0).order, vec!["idle", "busy"]);
    }
}
