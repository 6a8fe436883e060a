//! Suanli's API contract: the bodies that cross the wire, the versioned agent protocol, and a typed client.
//!
//! The server (`suanli-server`) answers with these types and documents them in its OpenAPI
//! document; the CLI and the centre agent call the API through [`Client`] instead of building
//! paths and `json!` bodies by hand. This crate holds no rule of the platform: it is the shape
//! of the conversation, so that both ends compile against one definition.

pub mod agent;
pub mod client;
pub mod data;
pub mod dto;
pub mod energy;
pub mod incentives;
pub mod models;
pub mod money;

pub use client::{ApiFailure, BillsQuery, Client};
