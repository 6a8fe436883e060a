//! The HTTP API under `/api/v1`, one module per area.

pub mod agents;
pub mod billing;
pub mod centres;
pub mod city;
pub mod data;
pub mod energy;
pub mod incentives;
pub mod jobs;
pub mod ledger;
pub mod models;
pub mod remote_write;
pub mod tenants;
pub mod vouchers;
