//! Suanli's domain model: ids, money, time, regions, the accelerator catalogue, centres, pools, tenants, jobs and why they wait or end, hosted models and city totals.
//!
//! This crate is pure: it does no I/O, reads no clock (time comes from a [`time::Clock`]
//! the caller injects) and draws no random numbers (ids take their entropy as an argument).
//! Data files (the accelerator catalogue, the region table) are compiled in as text.

pub mod catalogue;
pub mod centre;
pub mod city;
pub mod error;
pub mod id;
pub mod ident;
pub mod job;
pub mod lease;
pub mod model;
pub mod money;
pub mod reason;
pub mod region;
pub mod rng;
pub mod span;
pub mod tenant;
pub mod time;

pub use error::{Error, ErrorCode, Result};
pub use money::Fen;
