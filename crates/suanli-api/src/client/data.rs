//! The typed client's calls for data sharing: suppliers and their ranking, the catalogue and content uploads, requests and decisions, deliveries and download links, de-identification policies.

use super::{Client, Result, query, urlencode};
use crate::data::{
    DataSetIn, DataSetOut, DecisionIn, DeliveryOut, LinkOut, PolicyOut, RankOut, RequestIn, RequestOut, SupplierIn, SupplierOut,
};
use reqwest::Method;
use serde_json::Value;

impl Client {
    /// The data catalogue.
    pub async fn data_sets(&self) -> Result<Vec<DataSetOut>> {
        self.get_as("/api/v1/data/sets").await
    }

    /// One data set, by id (`ds_…`) or name.
    pub async fn data_set(&self, id: &str) -> Result<DataSetOut> {
        self.get_as(&format!("/api/v1/data/sets/{}", urlencode(id))).await
    }

    /// Lists a data set (an admitted supplier); its content is uploaded next.
    pub async fn register_data_set(&self, d: &DataSetIn) -> Result<DataSetOut> {
        self.post_as("/api/v1/data/sets", d).await
    }

    /// Uploads a data set's content: `format` csv or jsonl, `encoding` utf-8, gbk or gb18030.
    pub async fn upload_data_set(&self, id: &str, body: Vec<u8>, format: &str, encoding: &str) -> Result<DataSetOut> {
        let ctype = if format == "jsonl" { "application/x-ndjson" } else { "text/csv" };
        let path =
            format!("/api/v1/data/sets/{}/content{}", urlencode(id), query(&[("format", Some(format)), ("encoding", Some(encoding))]));
        self.put_bytes(&path, body, ctype).await
    }

    /// Requests a data set (a tenant); its fee is held now.
    pub async fn request_data(&self, r: &RequestIn) -> Result<RequestOut> {
        self.post_as("/api/v1/data/requests", r).await
    }

    pub async fn data_requests(&self) -> Result<Vec<RequestOut>> {
        self.get_as("/api/v1/data/requests").await
    }

    /// Approves or rejects a request (its supplier, then the operator for important data).
    pub async fn decide_data_request(&self, id: &str, d: &DecisionIn) -> Result<RequestOut> {
        self.post_as(&format!("/api/v1/data/requests/{}/decision", urlencode(id)), d).await
    }

    pub async fn data_deliveries(&self) -> Result<Vec<DeliveryOut>> {
        self.get_as("/api/v1/data/deliveries").await
    }

    /// A fresh short-lived download link for a delivery (its consumer); GET its `url` with
    /// [`Client::get_bytes`].
    pub async fn data_link(&self, delivery: &str) -> Result<LinkOut> {
        self.send::<(), _>(Method::POST, &format!("/api/v1/data/deliveries/{}/links", urlencode(delivery)), None, &[]).await
    }

    pub async fn data_suppliers(&self) -> Result<Vec<SupplierOut>> {
        self.get_as("/api/v1/data/suppliers").await
    }

    /// Admits a provider as a data supplier or suspends it (the operator).
    pub async fn set_data_supplier(&self, provider: &str, s: &SupplierIn) -> Result<SupplierOut> {
        self.send(Method::PUT, &format!("/api/v1/data/suppliers/{}", urlencode(provider)), Some(s), &[]).await
    }

    /// Suppliers by data-service volume in a year (default: this year).
    pub async fn data_ranking(&self, year: Option<i32>) -> Result<Vec<RankOut>> {
        let year = year.map(|y| y.to_string());
        self.get_as(&format!("/api/v1/data/suppliers/ranking{}", query(&[("year", year.as_deref())]))).await
    }

    pub async fn data_policies(&self) -> Result<Vec<PolicyOut>> {
        self.get_as("/api/v1/data/policies").await
    }

    /// Configures a grade's policy for an opening (the operator); the policy as
    /// `suanli data policy` prints it.
    pub async fn set_data_policy(&self, policy: &Value) -> Result<PolicyOut> {
        self.send(Method::PUT, "/api/v1/data/policies", Some(policy), &[]).await
    }
}
