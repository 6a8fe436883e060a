//! The one integration-test binary: store suite on SQLite and PostgreSQL, HTTP API, CLI and end-to-end runs of the real binary.

mod api;
mod backends;
mod data;
mod data_sharing;
mod e2e;
mod energy;
mod fair_share;
mod fuzz;
mod gateway;
mod gavel;
mod ha;
mod ha_balancer;
mod ha_standby;
mod harness;
mod incentives;
mod ledger;
mod rounds;
mod simulate;
mod slurm;
mod store;
mod tidy;
mod timeslice;
mod workload;
