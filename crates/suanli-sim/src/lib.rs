//! Suanli's simulator: trace readers, a deterministic discrete-event replay on a city, baselines, reports and charts.
//!
//! Pure like the scheduler it drives: it parses text it is handed and returns values and
//! strings; reading files, progress bars and writing reports happen in the binary.

pub mod city;
pub mod engine;
pub mod gavel;
pub mod gavel_trace;
pub mod metrics;
pub mod report;
pub mod rng;
pub mod timesliced;
pub mod trace;
