//! The data-sharing API's bodies: suppliers and their ranking, the graded catalogue, requests and decisions, deliveries, download links and de-identification policies.
//!
//! What de-identification found and did (`ColumnOut::found`, `DeliveryOut::report`) and a
//! policy (`PolicyOut::policy`) are `suanli-data`'s own shapes, carried as JSON: this crate
//! does not depend on the de-identification engine.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A supplier's admission.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SupplierOut {
    pub provider_id: String,
    /// admitted or suspended.
    pub status: String,
    pub domains: Vec<String>,
    pub reason: String,
    pub decided_by: String,
    pub decided: String,
}

/// The operator's decision on a supplier.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplierIn {
    /// `admitted` or `suspended`.
    pub status: String,
    /// Domains it may supply data in (see `GET /api/v1/data/sets` for the list).
    #[serde(default)]
    pub domains: Vec<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RankingQuery {
    /// The year (China Standard Time); default: this year.
    pub year: Option<i32>,
}

/// One supplier in the year's ranking.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RankOut {
    pub rank: usize,
    pub supplier_id: String,
    pub name: String,
    pub deliveries: u64,
    /// Delivery fees in the year, yuan.
    pub volume: String,
    /// Among the year's top five by volume.
    pub top: bool,
}

/// A data set to list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DataSetIn {
    /// Lowercase letters, digits and `-`.
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub title_en: Option<String>,
    #[serde(default)]
    pub description: String,
    /// traffic, healthcare, commerce, education, tourism, elder_care, finance, government, environment or manufacturing.
    pub domain: String,
    /// unconditional, conditional or not-open.
    pub mode: String,
    /// GB/T 43697: core, important, general-1 … general-4.
    pub grade: String,
    pub licence: String,
    /// once, realtime, daily, weekly, monthly, quarterly or yearly.
    pub update_frequency: String,
    /// Fee per delivery, yuan ("0" for free).
    pub price: String,
    /// Quasi-identifier columns for k-anonymity.
    #[serde(default)]
    pub quasi: Vec<String>,
}

/// A column of a data set with what a sample of it held.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ColumnOut {
    pub name: String,
    /// The kind of personal data the column holds (resident_id, mobile, name, address, …), if any.
    pub kind: Option<String>,
    /// Identifiers found in the sampled cells, by kind.
    #[schema(value_type = Object)]
    pub found: serde_json::Value,
    pub sampled: u64,
}

/// A data set of the catalogue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DataSetOut {
    pub id: String,
    pub name: String,
    pub supplier_id: String,
    pub title: String,
    pub title_en: Option<String>,
    pub description: String,
    pub domain: String,
    pub mode: String,
    pub grade: String,
    pub licence: String,
    pub update_frequency: String,
    pub price: String,
    pub quasi: Vec<String>,
    /// Whether consumers may request it (not core, open, content uploaded).
    pub requestable: bool,
    pub format: Option<String>,
    pub rows: u64,
    pub content_bytes: u64,
    pub content_sha256: Option<String>,
    pub columns: Vec<ColumnOut>,
    /// The first rows, already de-identified under the set's policy.
    pub preview: Option<String>,
    pub created: String,
    pub updated: String,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContentQuery {
    /// csv (default) or jsonl.
    pub format: Option<String>,
    /// utf-8 (default), gbk or gb18030.
    pub encoding: Option<String>,
}

/// A request for a data set.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestIn {
    /// ds_… or the set's name.
    pub data_set: String,
    pub purpose: String,
    /// The columns wanted.
    pub fields: Vec<String>,
    /// First day of access, YYYY-MM-DD (China Standard Time); default today.
    #[serde(default)]
    pub from: Option<String>,
    /// Last day of access, inclusive.
    pub to: String,
}

/// One step of a request's review.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DecisionOut {
    /// open (unconditional data), supplier or operator.
    pub step: String,
    pub by: String,
    pub approve: bool,
    pub reason: String,
    pub at: String,
}

/// A data request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RequestOut {
    pub id: String,
    pub data_set_id: String,
    pub tenant_id: String,
    pub supplier_id: String,
    pub purpose: String,
    pub fields: Vec<String>,
    pub from: String,
    pub to: String,
    /// awaiting_supplier, awaiting_operator, delivered, rejected or expired.
    pub state: String,
    pub fee: String,
    /// The voucher's share of the fee (SME data-purchase support).
    pub voucher: String,
    pub cash: String,
    pub decisions: Vec<DecisionOut>,
    pub created: String,
    pub expires: String,
    /// The delivery, once made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryOut>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// A decision on a request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionIn {
    pub approve: bool,
    pub reason: String,
}

/// A delivery: who got which columns under which policy, and what it cost.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryOut {
    pub id: String,
    pub request_id: String,
    pub data_set_id: String,
    pub tenant_id: String,
    pub supplier_id: String,
    pub columns: Vec<String>,
    pub grade: String,
    pub mode: String,
    /// The k-anonymity the policy asks over the set's quasi-identifiers.
    pub k: Option<usize>,
    /// What de-identification found and did.
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
    pub format: String,
    pub sha256: String,
    pub bytes: u64,
    pub fee: String,
    pub voucher: String,
    pub cash: String,
    pub access_until: String,
    pub created: String,
    pub statement_id: Option<String>,
}

/// A short-lived download link.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LinkOut {
    /// The path to GET (no bearer token needed; the link is the credential).
    pub url: String,
    pub expires: String,
}

/// A grade's de-identification policy for an opening, as deliveries use it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyOut {
    /// core, important, general-1 … general-4.
    pub grade: String,
    pub mode: String,
    /// Whether the operator configured it (else it is the built-in one).
    pub configured: bool,
    /// The policy, as `suanli data policy` prints it (PUT it back changed to configure it).
    #[schema(value_type = Object)]
    pub policy: serde_json::Value,
}
