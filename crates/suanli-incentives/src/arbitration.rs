//! 从优、就高、不重复: when one subject (an enterprise's project, or the enterprise for recognitions) qualifies under several programmes, of this policy or another the city registered, it keeps the most favourable award, the higher amount, and never two for the same thing; every arbitration says why.

use serde::{Deserialize, Serialize};
use suanli_core::money::Fen;
use suanli_core::time::UnixMs;

/// An award a subject holds or is about to hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub application: String,
    pub programme: String,
    pub policy: String,
    pub amount: Fen,
    pub created_ms: UnixMs,
    /// Already decided and paid: it stays unless a new claim is higher, and then the new one is
    /// paid only the difference (就高 without paying twice).
    pub awarded: bool,
}

/// What arbitration decided for one subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The claim kept (the highest; on a tie, the one already awarded, else the earlier).
    pub kept: String,
    /// What the kept claim is paid now: its amount less what the subject was already paid for
    /// the same thing.
    pub pay: Fen,
    /// Claims set aside, each with why.
    pub superseded: Vec<(String, String)>,
}

/// Arbitrates the claims of one subject (none when there are none).
pub fn arbitrate(claims: &[Claim]) -> Option<Outcome> {
    let best = claims.iter().max_by(|a, b| {
        a.amount
            .cmp(&b.amount)
            .then(a.awarded.cmp(&b.awarded))
            .then(b.created_ms.cmp(&a.created_ms))
            .then(b.application.cmp(&a.application))
    })?;
    let paid: i64 = claims.iter().filter(|c| c.awarded && c.application != best.application).map(|c| c.amount.0).sum();
    let pay = if best.awarded { Fen::ZERO } else { Fen((best.amount.0 - paid).max(0)) };
    let superseded = claims
        .iter()
        .filter(|c| c.application != best.application)
        .map(|c| {
            let why = format!(
                "从优、就高、不重复: {} under {} ({}) is higher than {} under {} ({}); one subject is awarded once{}",
                best.amount,
                best.programme,
                best.policy,
                c.amount,
                c.programme,
                c.policy,
                if c.awarded { ", and what it was already paid counts against the higher award" } else { "" }
            );
            (c.application.clone(), why)
        })
        .collect();
    Some(Outcome { kept: best.application.clone(), pay, superseded })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(id: &str, amount: i64, awarded: bool, at: i64) -> Claim {
        Claim {
            application: id.into(),
            programme: format!("p-{id}"),
            policy: "杭政办函〔2023〕55号".into(),
            amount: Fen(amount),
            created_ms: at,
            awarded,
        }
    }

    #[test]
    fn the_higher_award_is_kept_once_and_an_earlier_payment_counts_against_it() {
        assert_eq!(arbitrate(&[]), None);
        let o = arbitrate(&[claim("a", 100, false, 1), claim("b", 300, false, 2)]).unwrap();
        assert_eq!((o.kept.as_str(), o.pay), ("b", Fen(300)));
        assert_eq!(o.superseded.len(), 1);
        assert!(o.superseded[0].1.contains("从优"));
        let o = arbitrate(&[claim("paid", 100, true, 1), claim("new", 300, false, 2)]).unwrap();
        assert_eq!((o.kept.as_str(), o.pay), ("new", Fen(200)), "just the difference");
        let o = arbitrate(&[claim("paid", 300, true, 1), claim("new", 300, false, 2)]).unwrap();
        assert_eq!((o.kept.as_str(), o.pay), ("paid", Fen::ZERO), "a tie keeps what was awarded");
        let o = arbitrate(&[claim("x", 200, false, 5), claim("y", 200, false, 3)]).unwrap();
        assert_eq!(o.kept, "y", "a tie between new claims keeps the earlier");
    }
}
