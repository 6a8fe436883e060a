//! The one integration-test binary: store suite on SQLite and PostgreSQL, HTTP API, CLI and end-to-end runs of the real binary.

mod api;
mod backends;
mod data;
mod data_sharing;
mod e2e;
mod energy;
mod fuzz;
mod gateway;
mod gateway_keys;
mod gateway_settle;
mod gavel;
mod ha;
mod ha_balancer;
mod harness;
mod incentives;
mod ledger;
mod pool_prices;
mod rounds;
mod simulate;
mod slurm;
mod store;
mod tidy;
mod timeslice;
mod web_money;
mod workload;
