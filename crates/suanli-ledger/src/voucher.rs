//! The voucher programme's rules (算力券): eligibility, subsidy ratios, the yearly cap, and how a job's charge splits between voucher and cash.
//!
//! Everything here is configuration and arithmetic; the money itself only moves as ledger
//! transfers. The billing rule, which the README quotes:
//!
//! 1. **Hold at placement.** When a job is placed, its estimated charge `E` (the pool's price
//!    after discount, for the gang, for [`HOLD_FACTOR`] times the estimated run time on that
//!    pool) is reserved with two pending transfers: the voucher's share
//!    `min(⌊E × ratio⌋, voucher available)` and the rest from the enterprise's cash balance.
//!    If the cash balance cannot hold its part, the job is not placed and waits, saying why.
//! 2. **Charge at the end.** The charge `C` is metered: accelerator-seconds that actually ran,
//!    at the pool's price and discount. A job cancelled while running pays for what ran; a job
//!    that failed pays for what ran, except when the centre failed it
//!    ([`ChargeRule::CentreFault`]), which costs the tenant nothing; a run lost to preemption is
//!    not billed. A job that never ran costs nothing.
//! 3. **Who pays.** The voucher pays `v = min(⌊C × ratio⌋, voucher hold)`; cash pays `C − v`, first
//!    from its hold, then (if the run overran its estimate) from the cash balance; what the
//!    balance still cannot cover is recorded on the bill as outstanding. Both holds are posted
//!    for what they pay and released for the rest. One bill per job: every transfer id is derived
//!    from the job id, so a retry or a restart can never bill twice.

use serde::{Deserialize, Serialize};
use suanli_core::error::{Error, ErrorCode};
use suanli_core::money::Fen;
use suanli_core::time::{UnixMs, cst_midnight, days_from_civil};

/// A job's hold is its estimated charge times this, so that an ordinary overrun is covered.
pub const HOLD_FACTOR: f64 = 1.5;

/// What a voucher pays for; each use has its own ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Use {
    /// Accelerator time on a partner centre.
    Compute,
    /// Calls to hosted models (MaaS).
    ModelCalls,
    /// Data sets bought through the platform.
    Data,
}

/// A voucher programme's rules, as the operator configures them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgrammeRules {
    pub year: i32,
    /// The most the programme issues in its year (the policy's ¥50,000,000 by default).
    pub budget: Fen,
    /// Share of a compute bill on domestic accelerators the voucher pays, in percent.
    pub ratio_domestic_pct: u8,
    /// Share of a compute bill on other accelerators.
    pub ratio_other_pct: u8,
    pub ratio_model_calls_pct: u8,
    pub ratio_data_pct: u8,
    /// The most vouchers one enterprise may be issued in the programme's year.
    pub cap_per_enterprise: Fen,
    /// Only small and medium enterprises may apply.
    pub sme_only: bool,
    /// Only enterprises whose credit code's division code starts with this may apply
    /// ("3301" for Hangzhou); empty admits any.
    pub division_prefix: String,
    /// Vouchers pay only at partner centres.
    pub partner_only: bool,
}

impl ProgrammeRules {
    /// Hangzhou's defaults: the policy's ¥50M budget, and the ratios and cap of the city's 2024
    /// measures (30% on domestic chips and MaaS, 20% on other hardware, ¥8M per enterprise).
    pub fn hangzhou(year: i32) -> ProgrammeRules {
        ProgrammeRules {
            year,
            budget: Fen(5_000_000_000),
            ratio_domestic_pct: 30,
            ratio_other_pct: 20,
            ratio_model_calls_pct: 30,
            ratio_data_pct: 30,
            cap_per_enterprise: Fen(800_000_000),
            sme_only: true,
            division_prefix: "3301".to_string(),
            partner_only: true,
        }
    }

    /// Checks that the rules make sense; a refusal names the field.
    pub fn validate(&self) -> Result<(), Error> {
        if !(2000..=2100).contains(&self.year) {
            return Err(Error::new(ErrorCode::InvalidDate, format!("programme year {} is outside 2000..2100", self.year)));
        }
        for (name, pct) in [
            ("ratio_domestic_pct", self.ratio_domestic_pct),
            ("ratio_other_pct", self.ratio_other_pct),
            ("ratio_model_calls_pct", self.ratio_model_calls_pct),
            ("ratio_data_pct", self.ratio_data_pct),
        ] {
            if pct > 100 {
                return Err(Error::new(ErrorCode::InvalidRatio, format!("{name} is {pct}%, above 100%")));
            }
        }
        if !self.budget.is_positive() {
            return Err(Error::new(ErrorCode::InvalidAmount, "the budget must be positive"));
        }
        if !self.cap_per_enterprise.is_positive() || self.cap_per_enterprise > self.budget {
            return Err(Error::new(ErrorCode::InvalidAmount, "the cap per enterprise must be positive and at most the budget"));
        }
        if self.division_prefix.len() > 6 || !self.division_prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::new(ErrorCode::InvalidRegion, "the division prefix must be up to 6 digits (e.g. 3301 for Hangzhou)"));
        }
        Ok(())
    }

    /// The programme's year in China Standard Time: `[start, end)` in unix ms.
    pub fn year_bounds_ms(&self) -> (UnixMs, UnixMs) {
        let start = |y: i64| cst_midnight(days_from_civil(y, 1, 1));
        (start(self.year as i64), start(self.year as i64 + 1))
    }

    /// Whether an enterprise may apply: SME if required, registered in the programme's city.
    pub fn check_eligible(&self, sme: bool, division_code: &str) -> Result<(), Error> {
        if self.sme_only && !sme {
            return Err(Error::new(ErrorCode::NotEligible, "the programme is for small and medium enterprises only"));
        }
        if !division_code.starts_with(&self.division_prefix) {
            return Err(Error::new(
                ErrorCode::NotEligible,
                format!(
                    "the enterprise is registered in division {division_code}, outside the programme's area (codes starting {})",
                    self.division_prefix
                ),
            ));
        }
        Ok(())
    }

    /// The share of a bill the voucher pays, in percent.
    pub fn ratio_pct(&self, what: Use, domestic: bool) -> u8 {
        match what {
            Use::Compute if domestic => self.ratio_domestic_pct,
            Use::Compute => self.ratio_other_pct,
            Use::ModelCalls => self.ratio_model_calls_pct,
            Use::Data => self.ratio_data_pct,
        }
    }

    /// The ratio for compute at a centre: zero at a non-partner centre when the programme is
    /// partner-only.
    pub fn compute_ratio_pct(&self, domestic: bool, partner: bool) -> u8 {
        if self.partner_only && !partner { 0 } else { self.ratio_pct(Use::Compute, domestic) }
    }

    /// Whether issuing `amount` more is allowed, given what this enterprise was already issued
    /// in the programme and what the budget still holds.
    pub fn check_issue(&self, issued_to_enterprise: Fen, budget_available: Fen, amount: Fen) -> Result<(), Error> {
        if !amount.is_positive() {
            return Err(Error::new(ErrorCode::ZeroAmount, "the amount to issue must be positive"));
        }
        let after = issued_to_enterprise.0.saturating_add(amount.0);
        if after > self.cap_per_enterprise.0 {
            return Err(Error::new(
                ErrorCode::CapExceeded,
                format!(
                    "issuing {} would bring the enterprise to {}, above its yearly cap of {}",
                    amount,
                    Fen(after),
                    self.cap_per_enterprise
                ),
            ));
        }
        if amount > budget_available {
            return Err(Error::new(
                ErrorCode::BudgetExceeded,
                format!("the programme has {budget_available} left to issue, {amount} requested"),
            ));
        }
        Ok(())
    }
}

/// `⌊amount × pct / 100⌋`, never negative.
pub fn share(amount: Fen, pct: u8) -> Fen {
    Fen(((amount.0.max(0) as i128 * pct.min(100) as i128) / 100) as i64)
}

/// The two holds for a job about to be placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holds {
    pub voucher: Fen,
    pub cash: Fen,
}

/// Splits an estimated charge into holds: the voucher's share as far as the voucher has money.
pub fn holds(estimate: Fen, ratio_pct: u8, voucher_available: Fen) -> Holds {
    let voucher = share(estimate, ratio_pct).min(voucher_available.max(Fen::ZERO));
    Holds { voucher, cash: Fen(estimate.0.max(0) - voucher.0) }
}

/// Why a job's charge is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeRule {
    /// Ran to the end: every metered second is billed.
    Completed,
    /// Cancelled by the tenant while running: the seconds that ran are billed.
    CancelledRan,
    /// Failed by its own doing: the seconds that ran are billed.
    FailedRan,
    /// Failed because its centre failed: the tenant pays nothing.
    CentreFault,
    /// Never ran: nothing is billed and the holds are released.
    NeverRan,
}

impl ChargeRule {
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeRule::Completed => "completed",
            ChargeRule::CancelledRan => "cancelled_ran",
            ChargeRule::FailedRan => "failed_ran",
            ChargeRule::CentreFault => "centre_fault",
            ChargeRule::NeverRan => "never_ran",
        }
    }

    /// The charge under this rule for a metered amount.
    pub fn charge(self, metered: Fen) -> Fen {
        match self {
            ChargeRule::Completed | ChargeRule::CancelledRan | ChargeRule::FailedRan => metered,
            ChargeRule::CentreFault | ChargeRule::NeverRan => Fen::ZERO,
        }
    }
}

/// How a charge is paid against the holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// Posted from the voucher hold (the rest of it is released).
    pub voucher: Fen,
    /// Posted from the cash hold (the rest of it is released).
    pub cash_from_hold: Fen,
    /// Beyond the cash hold: charged from the cash balance if it can be.
    pub cash_overrun: Fen,
}

/// Pays `charge` against the holds by the billing rule (module docs, step 3).
pub fn pay(charge: Fen, ratio_pct: u8, held: Holds) -> Payment {
    let charge = Fen(charge.0.max(0));
    let voucher = share(charge, ratio_pct).min(held.voucher);
    let cash = charge.0 - voucher.0;
    let cash_from_hold = Fen(cash.min(held.cash.0));
    Payment { voucher, cash_from_hold, cash_overrun: Fen(cash - cash_from_hold.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eligibility_needs_sme_and_the_city_division() {
        let r = ProgrammeRules::hangzhou(2026);
        assert!(r.check_eligible(true, "330106").is_ok());
        assert_eq!(r.check_eligible(false, "330106").unwrap_err().code, ErrorCode::NotEligible);
        assert_eq!(r.check_eligible(true, "310115").unwrap_err().code, ErrorCode::NotEligible);
        let open = ProgrammeRules { sme_only: false, division_prefix: String::new(), ..r };
        assert!(open.check_eligible(false, "110108").is_ok());
    }

    #[test]
    fn issue_respects_cap_then_budget() {
        let r = ProgrammeRules { cap_per_enterprise: Fen(1_000), budget: Fen(5_000), ..ProgrammeRules::hangzhou(2026) };
        assert!(r.check_issue(Fen(600), Fen(5_000), Fen(400)).is_ok());
        assert_eq!(r.check_issue(Fen(600), Fen(5_000), Fen(401)).unwrap_err().code, ErrorCode::CapExceeded);
        assert_eq!(r.check_issue(Fen(0), Fen(300), Fen(400)).unwrap_err().code, ErrorCode::BudgetExceeded);
        assert_eq!(r.check_issue(Fen(0), Fen(300), Fen(0)).unwrap_err().code, ErrorCode::ZeroAmount);
    }

    #[test]
    fn ratios_follow_origin_use_and_partnership() {
        let r = ProgrammeRules::hangzhou(2026);
        assert_eq!(r.compute_ratio_pct(true, true), 30);
        assert_eq!(r.compute_ratio_pct(false, true), 20);
        assert_eq!(r.compute_ratio_pct(true, false), 0);
        assert_eq!(r.ratio_pct(Use::ModelCalls, false), 30);
        let bad = ProgrammeRules { ratio_other_pct: 101, ..r.clone() };
        assert_eq!(bad.validate().unwrap_err().code, ErrorCode::InvalidRatio);
        assert!(r.validate().is_ok());
    }

    #[test]
    fn year_is_in_china_standard_time() {
        let (start, end) = ProgrammeRules::hangzhou(2026).year_bounds_ms();
        // 2026-01-01T00:00+08:00 = 2025-12-31T16:00Z.
        assert_eq!(start, 1_767_196_800_000);
        assert_eq!(end - start, 365 * 86_400_000);
    }

    #[test]
    fn holds_and_payment_follow_the_rule() {
        // Estimate ¥100.00 at 30%: voucher holds ¥30.00 when it has it, less when it does not.
        assert_eq!(holds(Fen(10_000), 30, Fen(1_000_000)), Holds { voucher: Fen(3_000), cash: Fen(7_000) });
        assert_eq!(holds(Fen(10_000), 30, Fen(1_200)), Holds { voucher: Fen(1_200), cash: Fen(8_800) });
        let held = Holds { voucher: Fen(3_000), cash: Fen(7_000) };
        // Ran shorter: ¥40.01 charge, voucher pays ⌊12.003⌋ = ¥12.00, cash ¥28.01.
        assert_eq!(pay(Fen(4_001), 30, held), Payment { voucher: Fen(1_200), cash_from_hold: Fen(2_801), cash_overrun: Fen(0) });
        // Ran longer: ¥150 charge, voucher capped at its hold, cash overruns by ¥50.
        assert_eq!(pay(Fen(15_000), 30, held), Payment { voucher: Fen(3_000), cash_from_hold: Fen(7_000), cash_overrun: Fen(5_000) });
        assert_eq!(pay(Fen(0), 30, held), Payment { voucher: Fen(0), cash_from_hold: Fen(0), cash_overrun: Fen(0) });
        assert_eq!(ChargeRule::CentreFault.charge(Fen(500)), Fen::ZERO);
        assert_eq!(ChargeRule::CancelledRan.charge(Fen(500)), Fen(500));
    }
}
