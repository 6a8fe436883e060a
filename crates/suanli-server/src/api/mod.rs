//! The HTTP API under `/api/v1`, one module per area.

pub mod centres;
pub mod city;
pub mod jobs;
pub mod tenants;
