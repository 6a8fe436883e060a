//! Suanli's application layer: one service per workflow, taking a typed [`Caller`]; the API, the web UI, the CLI's server side, the demo and the benchmarks call these and hold no rule of their own.
//!
//! Data flows one way: edges → this crate → the pure crates and `suanli-store` /
//! `suanli-dispatch`. A service never calls an edge. This crate is growing: the caller type,
//! the one job-visibility rule and the backend bindings of centres live here now; jobs,
//! registry and money workflows move in as they are touched.

pub mod audit;
pub mod backends;
pub mod caller;
pub mod data;
pub mod earnings;
pub mod energy;
pub mod figures;
pub mod incentives;
pub mod jobs;
pub mod ledger;
pub mod models;
pub mod money;
pub mod partners;
pub mod registry;
pub mod tokens;
pub mod trends;
pub mod vouchers;

pub use backends::{BackendUrl, Backends};
pub use caller::Caller;
pub use data::DataSharing;
pub use earnings::Earnings;
pub use energy::Energy;
pub use incentives::Incentives;
pub use jobs::Jobs;
pub use models::Models;
pub use money::Money;
pub use partners::Partners;
pub use registry::Registry;
pub use vouchers::Vouchers;
