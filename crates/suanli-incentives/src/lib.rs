//! Incentive programmes as data, and the compute partners' scores: what a programme pays for and to whom, how much an award is, how experts' scores rank applications within a quota and a budget, when publicity ends, and which award a subject keeps when it qualifies under several programmes (从优、就高、不重复).
//!
//! Pure: no I/O, no clock (callers pass `now`), no randomness.

pub mod application;
pub mod arbitration;
pub mod certification;
pub mod partner;
pub mod programme;
pub mod review;

pub use application::{Applicant, Application, Objection, Stage};
pub use arbitration::{Claim, Outcome, arbitrate};
pub use programme::{Evidence, Facts, ProgrammeKind, ProgrammeSpec, Rule, policy_programmes};
pub use review::{Assignment, Expert, Review, rank, working_days_after};
