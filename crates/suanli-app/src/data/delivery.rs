//! Deliveries: making a request's extract under its grade's policy with the consumer's key, the audit of who got which columns, and the short-lived links a consumer downloads through.

use super::{DataSharing, LINK_TTL_MS, err, forbidden, scope, sha256_hex, visible};
use crate::caller::Caller;
use std::sync::Arc;
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{AuditId, DeliveryId};
use suanli_core::time::UnixMs;
use suanli_data::catalogue::{self as cat, DataRequest, DataSet, Delivery};
use suanli_data::pipeline::{Format, Options, deidentify};
use suanli_data::{Policy, PseudonymKey};
use suanli_store::data::Extract;
use suanli_store::{Audit, Effect, StoreError};

impl DataSharing {
    fn delivery_audit(&self, caller: &Caller, d: &Delivery) -> Audit {
        self.audit(
            caller,
            "data_delivery.create",
            d.id.as_str(),
            serde_json::json!({
                "consumer": d.tenant_id, "data_set": d.data_set_id, "request": d.request_id, "columns": d.columns,
                "policy": {"grade": d.policy.grade, "mode": d.policy.mode, "k": d.policy.k}, "sha256": d.sha256, "bytes": d.bytes,
            }),
        )
    }

    /// A delivery's row, its extract and its audit record, to commit with the fee's transfers.
    pub(super) fn delivery_effect(&self, caller: &Caller, d: &Delivery, body: Vec<u8>) -> Effect {
        Effect::InsertDelivery {
            delivery: Box::new(d.clone()),
            body: Extract(Arc::new(body)),
            audit: Box::new(self.delivery_audit(caller, d)),
        }
    }

    /// Makes a request's extract: the asked fields, de-identified under the set's policy with
    /// the consumer's own pseudonym key (none for data opened unconditionally).
    pub(super) async fn make_delivery(&self, d: &DataSet, r: &DataRequest) -> Result<(Delivery, Vec<u8>), StoreError> {
        let policy = self.policy(d.spec.grade, d.spec.mode).await?;
        let content = self.store.data_content(&d.id).await?.ok_or_else(|| err(ErrorCode::NotDeliverable, "the data set has no content"))?;
        let format = cat::parse_format(d.format.as_deref().unwrap_or("csv"))?;
        let key = (d.spec.mode == suanli_data::OpeningMode::Conditional).then(|| cat::consumer_key(&self.secret, r.tenant_id.as_str()));
        let fields = r.spec.fields.clone();
        // k-anonymity where the grade's policy asks for it, over the asked quasi-identifiers.
        let quasi: Vec<String> =
            if policy.k.is_some() { d.spec.quasi.iter().filter(|q| fields.contains(q)).cloned().collect() } else { Vec::new() };
        let p = policy.clone();
        let (body, report) = tokio::task::spawn_blocking(move || -> Result<_, Error> {
            let projected = cat::project(&content, format, &fields, None)?;
            run_policy(&projected, format, p, key, &quasi)
        })
        .await
        .map_err(|e| err(ErrorCode::Internal, e.to_string()))??;
        let (t, e) = self.ids.parts();
        let delivery = Delivery {
            id: DeliveryId::generate(t, e),
            request_id: r.id.clone(),
            data_set_id: d.id.clone(),
            tenant_id: r.tenant_id.clone(),
            supplier_id: d.supplier_id.clone(),
            columns: r.spec.fields.clone(),
            policy,
            report,
            format: cat::format_name(format).into(),
            sha256: sha256_hex(&body),
            bytes: body.len() as u64,
            fee: r.fee,
            voucher: r.voucher,
            cash: r.cash,
            programme_id: r.programme_id.clone(),
            access_from_ms: r.spec.from_ms,
            access_to_ms: r.spec.to_ms,
            created_ms: t,
            statement_id: None,
        };
        Ok((delivery, body))
    }

    // ----- deliveries -----

    pub async fn deliveries(&self, caller: &Caller, limit: u32) -> Result<Vec<Delivery>, StoreError> {
        match scope(caller) {
            Some(filter) => self.store.data_deliveries(&filter, limit).await,
            None => Ok(Vec::new()),
        }
    }

    pub async fn delivery(&self, caller: &Caller, id: &str) -> Result<Delivery, StoreError> {
        let id = DeliveryId::parse(id)?;
        let not_found = || err(ErrorCode::DeliveryNotFound, format!("no delivery {id}"));
        let d = self.store.data_delivery(&id).await?.ok_or_else(not_found)?;
        if !visible(caller, &d.tenant_id, &d.supplier_id) {
            return Err(not_found());
        }
        Ok(d)
    }

    /// The consumer makes a short-lived download link for its delivery, within its access period.
    /// Answers the token (shown once; only its hash is kept) and when it stops working.
    pub async fn link(&self, caller: &Caller, id: &str) -> Result<(String, UnixMs), StoreError> {
        let d = self.delivery(caller, id).await?;
        if !matches!(caller, Caller::Tenant { tenant, .. } if *tenant == d.tenant_id) {
            return Err(forbidden("only the consumer it was delivered to downloads an extract"));
        }
        let now = self.ids.now_ms();
        if now >= d.access_to_ms {
            return Err(err(ErrorCode::LinkExpired, "the request's access period has ended; request the data again"));
        }
        let mut raw = [0u8; 24];
        self.ids.fill(&mut raw);
        let token = format!("dl_{}", hex::encode(raw));
        let expires = now + LINK_TTL_MS;
        let mut tx = self.store.begin().await?;
        tx.insert_data_link(&sha256_hex(token.as_bytes()), &d.id, now, expires).await?;
        tx.audit(&self.audit(caller, "data_delivery.link", d.id.as_str(), serde_json::json!({"expires_ms": expires}))).await?;
        tx.commit().await?;
        Ok((token, expires))
    }

    /// What a link opens, while it works; every download is audited.
    pub async fn download(&self, token: &str) -> Result<(Delivery, Vec<u8>), StoreError> {
        let expired = || err(ErrorCode::LinkExpired, "this download link has expired or is unknown; make a new one");
        let (id, expires) = self.store.data_link(&sha256_hex(token.as_bytes())).await?.ok_or_else(expired)?;
        let now = self.ids.now_ms();
        if now >= expires {
            return Err(expired());
        }
        let d = self.store.data_delivery(&id).await?.ok_or_else(expired)?;
        if now >= d.access_to_ms {
            return Err(expired());
        }
        let body = self.store.delivery_body(&id).await?.ok_or_else(expired)?;
        let (t, e) = self.ids.parts();
        let mut tx = self.store.begin().await?;
        tx.audit(&Audit {
            id: AuditId::generate(t, e),
            at_ms: t,
            actor: format!("link:{}", d.tenant_id),
            action: "data_delivery.download".into(),
            subject: d.id.to_string(),
            detail: serde_json::json!({"bytes": body.len(), "sha256": d.sha256}),
        })
        .await?;
        tx.commit().await?;
        Ok((d, body))
    }
}

/// Runs one policy over UTF-8 content: the extract and the report (as JSON).
pub(super) fn run_policy(
    content: &[u8],
    format: Format,
    policy: Policy,
    key: Option<PseudonymKey>,
    quasi: &[String],
) -> Result<(Vec<u8>, serde_json::Value), Error> {
    let opts = Options { format, quasi: quasi.to_vec(), ..Options::default() };
    let mut out = Vec::with_capacity(content.len());
    let outcome = deidentify(&mut || Ok(std::io::Cursor::new(content)), &mut out, policy, key, &opts)
        .map_err(|e| Error::new(ErrorCode::NotDeliverable, format!("the extract could not be made: {e} ({})", e.code())))?;
    if !outcome.problems.is_empty() {
        return Err(Error::new(
            ErrorCode::MalformedData,
            format!("{} row(s) of the stored content cannot be read", outcome.problems.len()),
        ));
    }
    Ok((out, serde_json::to_value(&outcome.report).unwrap_or_default()))
}
